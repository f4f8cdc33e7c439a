// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"io"
	"strings"
)

// reportMux prints the mux test (server mode): one run per variant
// (full and ICE-lite server agents), with issue 12's goals.
func (d *driver) reportMux(w io.Writer, rs map[string][]result) {
	names := []string{"full server agents", "ICE-lite server agents"}
	found := false
	for _, n := range names {
		found = found || len(rs[n]) > 0
	}
	if !found {
		return
	}
	fmt.Fprintf(w, "## Server mode: agents on one UDP port (nice.UDPMux)\n\n")
	fmt.Fprintf(w, "Server agents share one mux on 127.0.0.1, each made by OnUnknownUfrag on its client's first check; "+
		"clients are agents on muxes of 100 each (127.2.0.0/16), in the same process. RSS, heap, goroutines and fds are per agent over both sides; "+
		"idle CPU is the whole process (clients included) over the window.\n\n")
	fmt.Fprintf(w, "| server agents | pairs | server fds | connect rate (pairs/s to both READY) | RSS KB/agent | Go heap KB/agent | goroutines/agent | idle CPU (%% of one core, all agents) | idle CPU µs/s per agent | consent intervals (min–max s, late) | still READY | Send p50/p99 µs: 1 agent | 10,000 agents | all |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, n := range names {
		for _, r := range rs[n] {
			agents := r.f("agents")
			cpu := r.f("cpu_us") / r.f("cpu_seconds")
			cons := "consent off"
			if c, ok := r["consent"].(map[string]any); ok {
				g := func(k string) float64 { v, _ := c[k].(float64); return v }
				cons = fmt.Sprintf("%.2f–%.2f, %.0f late of %.0f", g("interval_min_s"), g("interval_max_s"), g("late"), g("intervals"))
			}
			fmt.Fprintf(w, "| %s | %.0f | 1 | **%s** | **%.1f** | %.1f | %.3f | **%.1f %%** | %.2f | %s | %.0f / %.0f | %.1f / %.1f | %.1f / %.1f (%.0f agents) | %.1f / %.1f |\n",
				n, r.f("pairs"), thousands(r.f("connect_rate")), perUnit(r, "rss_kb", agents), perUnit(r, "heap_kb", agents),
				perUnit(r, "goroutines", agents), cpu/1e4, cpu/agents, cons, r.f("still_ready"), agents,
				r.f("send_p50_us_1"), r.f("send_p99_us_1"), r.f("send_p50_us_10k"), r.f("send_p99_us_10k"), r.f("send_agents_10k"),
				r.f("send_p50_us_n"), r.f("send_p99_us_n"))
		}
	}
	fmt.Fprintln(w)
	for _, n := range names {
		for _, r := range rs[n] {
			agents := r.f("agents")
			cpu := r.f("cpu_us") / r.f("cpu_seconds")
			late := -1.0
			if c, ok := r["consent"].(map[string]any); ok {
				late, _ = c["late"].(float64)
			}
			fmt.Fprintf(w, "Goals (%s, %.0f on one port): ≤ 10 KB RSS per agent: %.1f, %s; consent intervals within RFC 7675: %s; ≤ 1 core in all while idle: %.0f %%, %s; ≥ 5,000 agents/s to READY: %s pairs/s, %s; Send p99 with 10,000 agents ≤ 2× with one: %.2f×, %s.\n\n",
				n, r.f("pairs"), perUnit(r, "rss_kb", agents), d.verdict(perUnit(r, "rss_kb", agents) <= 10),
				d.verdict(late == 0), cpu/1e4, d.verdict(cpu/1e4 <= 100),
				thousands(r.f("connect_rate")), d.verdict(r.f("connect_rate") >= 5000),
				r.f("send_p99_us_10k")/r.f("send_p99_us_1"), d.verdict(r.f("send_p99_us_10k") <= 2*r.f("send_p99_us_1")))
		}
	}
}

// lossAll is the exact loss of a mux-pps run: every datagram sent against
// every one received once the senders stopped and the socket drained.
func lossAll(r result) float64 {
	if r.f("tx_all") == 0 {
		return loss(r)
	}
	return max(0, 100*(1-r.f("rx_all")/r.f("tx_all")))
}

// offered is what the senders sent per second in the window.
func offered(r result) float64 { return r.f("tx") / r.f("seconds") }

// muxPPSRef is the reference of each gonice mux-pps variant: raw C with
// the same process arrangement.
var muxPPSRef = map[string]string{"gonice": "raw-c", "gonice 2 processes": "raw-c 2 processes",
	"raw-c": "raw-c", "raw-c 2 processes": "raw-c 2 processes"}

// reportMuxPPS prints the mux-pps test: the packet rate into one mux port
// against the raw C reference of the same process arrangement, with issue
// 12's goal.
func (d *driver) reportMuxPPS(w io.Writer, rs map[string][]result) {
	if len(rs["gonice"]) == 0 && len(rs["gonice 2 processes"]) == 0 {
		return
	}
	r0 := rs["gonice"]
	if len(r0) == 0 {
		r0 = rs["gonice 2 processes"]
	}
	fmt.Fprintf(w, "## Aggregate packets into one mux port: %.0f connected pairs, 1200-byte datagrams\n\n", r0[0].f("pairs"))
	fmt.Fprintf(w, "gonice: %.0f server agents on one nice.UDPMux (127.0.0.1), each connected to a client agent on a socket of its own; "+
		"%.0f sender goroutines, each looping over its share of the clients, `SendMessages` of %.0f datagrams per call (sendmmsg); "+
		"the server agents' receive functions count. raw-c: one socket read by one thread with recvmmsg (32 slots of 2 KB, the mux's), "+
		"%.0f sockets sending with sendmmsg from %.0f threads, same burst. Two arrangements: everything in one process, "+
		"or (\"2 processes\", `--clients process`) the clients and their senders in a second process (raw C: a forked child); "+
		"each gonice arrangement is compared with raw C's same arrangement, and CPU is both processes'. %s window after the warm-up. "+
		"pps is what was received in the window; loss is exact (all sent against all received after the senders stopped and the socket drained); "+
		"offered is what the senders sent per second; per read is datagrams per recvmmsg. Ratios are medians of per-round ratios.\n\n",
		r0[0].f("pairs"), r0[0].f("senders"), r0[0].f("burst"), r0[0].f("pairs"), r0[0].f("senders"), d.muxPPSWindow())
	fmt.Fprintf(w, "| variant | rx pps | round values | offered pps | loss %% (rounds) | RcvbufErrors window / whole run | per read | CPU %% (clients') | CPU µs/pkt | × raw-c, same arrangement (rounds) |\n|---|---|---|---|---|---|---|---|---|---|\n")
	ratio := func(x, y result) float64 { return pps(x) / pps(y) }
	for _, v := range variants("mux-pps") {
		runs := rs[v.name]
		if len(runs) == 0 {
			continue
		}
		var p, off, l, rb, rba, per, cpu, ccpu, cpp []float64
		var rounds, lrounds []string
		for _, r := range runs {
			p = append(p, pps(r))
			rounds = append(rounds, thousands(pps(r)))
			off = append(off, offered(r))
			l = append(l, lossAll(r))
			lrounds = append(lrounds, fmt.Sprintf("%.2f", lossAll(r)))
			rb = append(rb, r.f("rcvbuf_errors"))
			rba = append(rba, r.f("rcvbuf_errors_all"))
			per = append(per, r.f("read")/max(1, r.f("batches")))
			cpu = append(cpu, 100*r.f("cpu_s")/r.f("seconds"))
			ccpu = append(ccpu, 100*r.f("cpu_s_clients")/r.f("seconds"))
			cpp = append(cpp, 1e6*r.f("cpu_s")/max(1, r.f("rx")))
		}
		ref := muxPPSRef[v.name]
		rcell := ratioCell(rs, v.name, ref, ratio)
		if ref != v.name {
			var rr []string
			for i := 0; i < len(runs) && i < len(rs[ref]); i++ {
				rr = append(rr, fmt.Sprintf("%.3g", ratio(runs[i], rs[ref][i])))
			}
			rcell += " (" + strings.Join(rr, ", ") + ")"
		}
		cpuCell := fmt.Sprintf("%.0f", median(cpu))
		if strings.HasSuffix(v.name, "2 processes") {
			cpuCell += fmt.Sprintf(" (%.0f)", median(ccpu))
		}
		fmt.Fprintf(w, "| %s | **%s** | %s | %s | %.2f (%s) | %.0f / %.0f | %.1f | %s | %.2f | %s |\n", v.name, thousands(median(p)),
			strings.Join(rounds, ", "), thousands(median(off)), median(l), strings.Join(lrounds, ", "), median(rb), median(rba), median(per),
			cpuCell, median(cpp), rcell)
	}
	for _, g := range []string{"gonice", "gonice 2 processes"} {
		d.muxPPSGoal(w, rs, g, muxPPSRef[g])
	}
	fmt.Fprintln(w)
}

// muxPPSGoal gives issue 12's goal for one arrangement and, when it is
// missed, which side limits.
func (d *driver) muxPPSGoal(w io.Writer, rs map[string][]result, g, ref string) {
	ratio := func(x, y result) float64 { return pps(x) / pps(y) }
	x, ok := perRound(rs, g, ref, ratio)
	if !ok {
		return
	}
	var lg, lc []float64
	for _, r := range rs[g] {
		lg = append(lg, lossAll(r))
	}
	for _, r := range rs[ref] {
		lc = append(lc, lossAll(r))
	}
	met := x >= 0.9 && median(lg) < 0.1
	fmt.Fprintf(w, "\nGoal ≥ 0.9× raw C (recvmmsg/sendmmsg) with loss < 0.1 %% (%s ÷ %s): %.3g×, loss %.2f %% (raw C %.2f %%): %s.\n",
		g, ref, x, median(lg), median(lc), d.verdict(met))
	if !met && !d.quick {
		// Which side limits: did the senders offer less, or did the
		// receiver not take what they offered?
		offRatio, _ := perRound(rs, g, ref, func(x, y result) float64 { return offered(x) / offered(y) })
		fmt.Fprintf(w, "What limits it: gonice's senders offered %.3g× raw C's rate; its receiver took %.1f %% of what was sent (raw C's %.1f %%). ",
			offRatio, 100-median(lg), 100-median(lc))
		if median(lg) > median(lc)+0.1 {
			fmt.Fprintf(w, "The mux's reader (one goroutine: recvmmsg, routing, the agent's receive path, the receive function) does not keep up "+
				"with what the clients send: the rest overflows its socket's receive buffer (RcvbufErrors) before it is read. "+
				"tests/bench/README.md (mux-pps) gives what a CPU profile of the window (NICEBENCH_CPUPROFILE) showed.\n")
		} else {
			fmt.Fprintf(w, "The receiver keeps up with what it is sent: the send side (SendMessages from the clients) is the limit.\n")
		}
	}
}

func (d *driver) muxPPSWindow() string {
	if d.quick {
		return "0.3 s"
	}
	return "3 s"
}
