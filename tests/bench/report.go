// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"io"
	"strings"
)

// Figures of ../shared/reference/perf-baselines.md (same machine type, same
// method), printed next to the harness's own libnice and pion figures so
// that a reader can see the comparison is fair.
var baselines = map[string]map[string]string{
	"connect": {
		"libnice aggressive": "20.47 ms", "libnice regular": "60.96 ms", "pion": "0.153 ms",
	},
	"throughput": {
		"libnice": "260,922 pps, loss 0.98 %", "pion": "218,204 pps, loss 4.0 %",
		"raw-c": "271,734 pps", "raw-go": "242,036 pps",
	},
	"idle": {
		"libnice": "56.2 KB RSS, 4 fds, 0 threads, 42 µs/s",
		"pion":    "104 KB RSS (62 KB heap), 8 goroutines, 2 fds, 58 µs/s",
	},
}

// verdict says whether a goal is met; a quick run gives none.
func (d *driver) verdict(ok bool) string {
	switch {
	case d.quick:
		return "no verdict in a quick run"
	case ok:
		return "met"
	}
	return "NOT met"
}

func (d *driver) report(w io.Writer, rounds int) {
	if rs := d.results["connect"]; rs != nil {
		d.reportConnect(w, rs)
	}
	if rs := d.results["throughput"]; rs != nil {
		d.reportThroughput(w, rs)
	}
	if rs := d.results["mux-pps"]; rs != nil {
		d.reportMuxPPS(w, rs)
	}
	if rs := d.results["idle"]; rs != nil {
		d.reportIdle(w, rs)
	}
	if rs := d.results["scale"]; rs != nil {
		d.reportScale(w, rs["gonice"])
	}
	if rs := d.results["srtp"]; rs != nil {
		d.reportSRTP(w, rs)
	}
	if rs := d.results["srtp-path"]; rs != nil {
		d.reportSRTPPath(w, rs)
	}
	if rs := d.results["mux"]; rs != nil {
		d.reportMux(w, rs)
	}
}

func samples(r result) []float64 {
	raw, _ := r["samples_ms"].([]any)
	out := make([]float64, 0, len(raw))
	for _, v := range raw {
		if f, ok := v.(float64); ok {
			out = append(out, f)
		}
	}
	return out
}

// perRound applies f to round i of variants a and b and returns the median
// of f's values over the rounds both have.
func perRound(rs map[string][]result, a, b string, f func(x, y result) float64) (float64, bool) {
	xa, xb := rs[a], rs[b]
	var vals []float64
	for i := 0; i < len(xa) && i < len(xb); i++ {
		vals = append(vals, f(xa[i], xb[i]))
	}
	return median(vals), len(vals) > 0
}

func ratioCell(rs map[string][]result, a, b string, f func(x, y result) float64) string {
	if a == b {
		return "1"
	}
	if v, ok := perRound(rs, a, b, f); ok {
		return fmt.Sprintf("%.3g", v)
	}
	return "–"
}

func (d *driver) reportConnect(w io.Writer, rs map[string][]result) {
	fmt.Fprintf(w, "## Connect: checks start → both sides READY (127.0.0.1, host candidates)\n\n")
	fmt.Fprintf(w, "Median and p90 over all runs; ratios are medians of per-round ratios of the round medians.\n\n")
	fmt.Fprintf(w, "| variant | median ms | p90 ms | round medians ms | ÷ libnice (same nomination) | ÷ pion | baseline |\n|---|---|---|---|---|---|---|\n")
	med := func(x, y result) float64 { return median(samples(x)) / median(samples(y)) }
	for _, v := range variants("connect") {
		runs := rs[v.name]
		if len(runs) == 0 {
			continue
		}
		var all, rm []string
		var pooled []float64
		for _, r := range runs {
			s := samples(r)
			pooled = append(pooled, s...)
			rm = append(rm, fmt.Sprintf("%.3g", median(s)))
		}
		_ = all
		ln := "libnice aggressive"
		if strings.HasSuffix(v.name, "regular") {
			ln = "libnice regular"
		}
		lnCell := ratioCell(rs, v.name, ln, med)
		if v.impl == "raw-go" || v.impl == "raw-c" {
			lnCell = "–"
		}
		fmt.Fprintf(w, "| %s | **%.3g** | %.3g | %s | %s | %s | %s |\n", v.name, median(pooled), quantile(pooled, 0.9),
			strings.Join(rm, ", "), lnCell, ratioCell(rs, v.name, "pion", med), baselines["connect"][v.name])
	}
	if v, ok := perRound(rs, "gonice regular", "gonice regular", func(x, _ result) float64 { return median(samples(x)) }); ok {
		fmt.Fprintf(w, "\nGoal ≤ 0.2 ms for gonice regular (median of round medians %.3g ms): %s.\n", v, d.verdict(v <= 0.2))
	}
	d.reportConnectRaw(w, rs, med)
	fmt.Fprintln(w)
}

func pps(r result) float64 { return r.f("rx") / r.f("seconds") }

func loss(r result) float64 {
	if r.f("tx") == 0 {
		return 0
	}
	// Packets sent in the warm-up may arrive in the window: rx can exceed
	// tx by a few.
	return max(0, 100*(1-r.f("rx")/r.f("tx")))
}

func (d *driver) reportThroughput(w io.Writer, rs map[string][]result) {
	fmt.Fprintf(w, "## Data path: 1200-byte packets, one sender, %s window after 200 ms warm-up\n\n", d.windowText())
	fmt.Fprintf(w, "pps is what the receiver counted; loss = 1 − rx/tx; CPU is the whole process (2 CPUs = 200 %%); ratios are medians of per-round ratios.\n\n")
	fmt.Fprintf(w, "| variant | rx pps | Mbit/s | loss %% | RcvbufErrors | CPU %% | CPU µs/pkt | × raw-c | × libnice | baseline |\n|---|---|---|---|---|---|---|---|---|---|\n")
	ratio := func(x, y result) float64 { return pps(x) / pps(y) }
	for _, v := range variants("throughput") {
		runs := rs[v.name]
		if len(runs) == 0 {
			continue
		}
		var p, l, rb, cpu, per []float64
		for _, r := range runs {
			p = append(p, pps(r))
			l = append(l, loss(r))
			rb = append(rb, r.f("rcvbuf_errors"))
			cpu = append(cpu, 100*r.f("cpu_s")/r.f("seconds"))
			per = append(per, 1e6*r.f("cpu_s")/max(1, r.f("rx")))
		}
		fmt.Fprintf(w, "| %s | **%s** | %.0f | %.2f | %.0f | %.0f | %.2f | %s | %s | %s |\n", v.name, thousands(median(p)),
			median(p)*1200*8/1e6, median(l), median(rb), median(cpu), median(per),
			ratioCell(rs, v.name, "raw-c", ratio), ratioCell(rs, v.name, "libnice", ratio), baselines["throughput"][v.name])
	}
	if v, ok := perRound(rs, "gonice", "libnice", func(x, y result) float64 { return pps(x) / pps(y) }); ok {
		var l []float64
		for _, r := range rs["gonice"] {
			l = append(l, loss(r))
		}
		fmt.Fprintf(w, "\nGoal ≥ 1.0× libnice with loss < 0.1 %% (Go API): %.3g×, loss %.2f %%: %s.\n", v, median(l), d.verdict(v >= 1 && median(l) < 0.1))
	}
	if v, ok := perRound(rs, "gonice burst 32", "libnice burst 32", func(x, y result) float64 { return pps(x) / pps(y) }); ok {
		fmt.Fprintf(w, "\nBatched, 32 datagrams per call: gonice ÷ libnice %.3g×", v)
		if v2, ok := perRound(rs, "gonice burst 32", "libnice", func(x, y result) float64 { return pps(x) / pps(y) }); ok {
			fmt.Fprintf(w, "; gonice batched ÷ libnice one at a time %.3g×", v2)
		}
		fmt.Fprintf(w, ".\n")
	}
	fmt.Fprintln(w)
}

func (d *driver) windowText() string {
	if d.quick {
		return "0.5 s"
	}
	return "3 s"
}

func thousands(f float64) string {
	s := fmt.Sprintf("%.0f", f)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// perUnit is a field of an idle or scale result divided by the number of
// pairs (or agents).
func perUnit(r result, key string, units float64) float64 { return r.f(key) / units }

func (d *driver) reportIdle(w io.Writer, rs map[string][]result) {
	fmt.Fprintf(w, "## Idle connected pairs: memory, goroutines/threads, fds and idle CPU per pair\n\n")
	fmt.Fprintf(w, "Deltas against a baseline taken after one warm-up pair; memory 2 s after the last pair is READY, CPU from 12 s to 37 s after: steady state, and 25 s is one period of libnice's keepalives (its only idle traffic), five of gonice's consent checks (RFC 7675, 5 s ±20 %%) and 12.5 of pion's 2 s keepalive checks. Quick runs use shorter windows. Medians over rounds.\n\n")
	fmt.Fprintf(w, "| variant | pairs | RSS KB/pair | Go heap KB/pair | goroutines/pair | threads/pair | fds/pair | idle CPU µs/s per pair | still READY | baseline |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range variants("idle") {
		runs := rs[v.name]
		if len(runs) == 0 {
			continue
		}
		var rss, heap, gr, th, fds, cpu, ready []float64
		pairs := runs[0].f("pairs")
		for _, r := range runs {
			n := r.f("pairs")
			rss = append(rss, perUnit(r, "rss_kb", n))
			heap = append(heap, perUnit(r, "heap_kb", n))
			gr = append(gr, perUnit(r, "goroutines", n))
			th = append(th, perUnit(r, "threads", n))
			fds = append(fds, perUnit(r, "fds", n))
			cpu = append(cpu, r.f("cpu_us")/r.f("cpu_seconds")/n)
			ready = append(ready, r.f("still_ready")/(2*n))
		}
		opt := func(x float64, f string) string {
			if x < 0 {
				return "–"
			}
			return fmt.Sprintf(f, x)
		}
		fmt.Fprintf(w, "| %s | %.0f | **%.1f** | %s | %s | %.2f | %.2f | **%.1f** | %.0f %% | %s |\n", v.name, pairs, median(rss),
			opt(median(heap), "%.1f"), opt(median(gr), "%.2f"), median(th), median(fds), median(cpu), 100*median(ready),
			baselines["idle"][v.name])
	}
	if runs := rs["gonice"]; len(runs) > 0 {
		var rss, cpu []float64
		for _, r := range runs {
			rss = append(rss, perUnit(r, "rss_kb", r.f("pairs")))
			cpu = append(cpu, r.f("cpu_us")/r.f("cpu_seconds")/r.f("pairs"))
		}
		verdict := d.verdict
		fmt.Fprintf(w, "\nGoals per idle pair (Go API): ≤ 40 KB: %.1f KB, %s; ≤ 20 µs/s: %.1f µs/s, %s.\n",
			median(rss), verdict(median(rss) <= 40), median(cpu), verdict(median(cpu) <= 20))
	}
	fmt.Fprintln(w)
}

func (d *driver) reportScale(w io.Writer, runs []result) {
	if len(runs) == 0 {
		return
	}
	r := runs[0]
	agents := 2 * r.f("pairs")
	fmt.Fprintf(w, "## Scale: %.0f gonice agents (%.0f connected pairs) in one process\n\n", agents, r.f("pairs"))
	fmt.Fprintf(w, "| RSS KB/agent | Go heap KB/agent | goroutines/agent | fds/agent | threads (total) | idle CPU µs/s per agent (%% of one CPU in all) | still READY |\n|---|---|---|---|---|---|---|\n")
	cpu := r.f("cpu_us") / r.f("cpu_seconds")
	fmt.Fprintf(w, "| **%.1f** | %.1f | %.2f | %.2f | %+.0f | %.1f (%.1f %%) | %.0f / %.0f |\n\n",
		perUnit(r, "rss_kb", agents), perUnit(r, "heap_kb", agents), perUnit(r, "goroutines", agents),
		perUnit(r, "fds", agents), r.f("threads"), cpu/agents, cpu/1e4, r.f("still_ready"), agents)
	if c, ok := r["consent"].(map[string]any); ok {
		g := func(k string) float64 { v, _ := c[k].(float64); return v }
		fmt.Fprintf(w, "Consent freshness on time? For %.0f s after the CPU window, every agent's consent stats were read once a second: %.0f intervals between consecutive consent requests of one agent: min %.2f s, mean %.2f s, p99 %.2f s, max %.2f s (RFC 7675: 4–6 s); **%.0f later than 6.05 s**. Age of the last consent response: p99 %.2f s, max %.2f s (expiry at 30 s). Longest sweep over all agents %.2f s.\n\n",
			g("seconds"), g("intervals"), g("interval_min_s"), g("interval_mean_s"), g("interval_p99_s"), g("interval_max_s"), g("late"), g("age_p99_s"), g("age_max_s"), g("sweep_max_s"))
	}
	fmt.Fprintf(w, "Goal ≤ 20 KB per agent: %.1f KB, %s.\n\n", perUnit(r, "rss_kb", agents), d.verdict(perUnit(r, "rss_kb", agents) <= 20))
}

func protectRate(r result) float64 { return r.f("protected") / r.f("seconds") }

func (d *driver) reportSRTP(w io.Writer, rs map[string][]result) {
	fmt.Fprintf(w, "## SRTP protect: 1200-byte RTP packets, one thread, %s window\n\n", d.windowText())
	fmt.Fprintf(w, "gonice is `Transport.ProtectRTP` after a real DTLS handshake (its lock included); pion/srtp/v2 is `Context.EncryptRTP` into a reused buffer; libsrtp2 is Debian's (NSS crypto), `srtp_protect` in place after copying the packet in. Ratios are medians of per-round ratios.\n\n")
	fmt.Fprintf(w, "| variant | packets/s | µs/packet | × libsrtp2 | × pion/srtp |\n|---|---|---|---|---|\n")
	ratio := func(x, y result) float64 { return protectRate(x) / protectRate(y) }
	for _, v := range variants("srtp") {
		runs := rs[v.name]
		if len(runs) == 0 {
			continue
		}
		var p []float64
		for _, r := range runs {
			p = append(p, protectRate(r))
		}
		prof := v.args[1]
		fmt.Fprintf(w, "| %s | **%s** | %.2f | %s | %s |\n", v.name, thousands(median(p)), 1e6/median(p),
			ratioCell(rs, v.name, "libsrtp2 "+prof, ratio), ratioCell(rs, v.name, "pion/srtp "+prof, ratio))
	}
	if v, ok := perRound(rs, "gonice gcm-128", "libsrtp2 gcm-128", ratio); ok {
		fmt.Fprintf(w, "\nGoal: AES-GCM protect ≥ libsrtp2's (gonice/libsrtp2 %.2f): %s.\n", v, d.verdict(v >= 1))
	}
	fmt.Fprintln(w)
}

func (d *driver) reportSRTPPath(w io.Writer, rs map[string][]result) {
	fmt.Fprintf(w, "## Protected data path: 1200-byte RTP through DTLS-SRTP beside the plain path, %s window\n\n", d.windowText())
	fmt.Fprintf(w, "One connected gonice pair on 127.0.0.1 in one process; plain is `Agent.Send` to a receive function, the others `Transport.WriteRTP` to `OnRTP` (protect, send, receive, unprotect). Ratios are medians of per-round ratios.\n\n")
	fmt.Fprintf(w, "| variant | rx pps | loss %% | CPU µs/pkt | × plain |\n|---|---|---|---|---|\n")
	ratio := func(x, y result) float64 { return pps(x) / pps(y) }
	worst, all := 1e9, true
	for _, v := range variants("srtp-path") {
		runs := rs[v.name]
		if len(runs) == 0 {
			continue
		}
		var p, l, per []float64
		for _, r := range runs {
			p = append(p, pps(r))
			l = append(l, loss(r))
			per = append(per, 1e6*r.f("cpu_s")/max(1, r.f("rx")))
		}
		fmt.Fprintf(w, "| %s | **%s** | %.2f | %.2f | %s |\n", v.name, thousands(median(p)), median(l), median(per),
			ratioCell(rs, v.name, "plain", ratio))
		if v.name != "plain" {
			x, ok := perRound(rs, v.name, "plain", ratio)
			all = all && ok
			worst = min(worst, x)
		}
	}
	if all && worst < 1e9 {
		fmt.Fprintf(w, "\nGoal: protected path ≥ 0.8× plain for every profile (lowest %.2f): %s.\n", worst, d.verdict(worst >= 0.8))
	}
	fmt.Fprintln(w)
}

// reportConnectRaw gives issue 12's connect goal: gonice regular ≤ 1.5×
// two raw-UDP round trips measured in the same run (the ping-pong
// variants), per round, for the Go API against raw Go and the C API
// against raw C.
func (d *driver) reportConnectRaw(w io.Writer, rs map[string][]result, med func(x, y result) float64) {
	for _, c := range []struct{ agent, ref, what string }{
		{"gonice regular", "raw-go ping-pong", "Go API against goroutines"},
		{"gonice-c regular", "raw-c ping-pong", "C API against threads"},
	} {
		xa, xb := rs[c.agent], rs[c.ref]
		var vals []string
		for i := 0; i < len(xa) && i < len(xb); i++ {
			vals = append(vals, fmt.Sprintf("%.2f", med(xa[i], xb[i])))
		}
		v, ok := perRound(rs, c.agent, c.ref, med)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "\nGoal ≤ 1.5× two raw-UDP round trips in the same run (%s ÷ %s, %s; per round %s): %.2f×, %s.\n",
			c.agent, c.ref, c.what, strings.Join(vals, ", "), v, d.verdict(v <= 1.5))
	}
}
