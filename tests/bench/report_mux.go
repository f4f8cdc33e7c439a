// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"io"
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
	fmt.Fprintf(w, "| server agents | pairs | server fds | connect rate (pairs/s to both READY) | RSS KB/agent | Go heap KB/agent | goroutines/agent | idle CPU (%% of one core, all agents) | idle CPU µs/s per agent | consent intervals (min–max s, late) | still READY | Send p50/p99 µs, 1 agent | Send p50/p99 µs, all |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, n := range names {
		for _, r := range rs[n] {
			agents := r.f("agents")
			cpu := r.f("cpu_us") / r.f("cpu_seconds")
			cons := "consent off"
			if c, ok := r["consent"].(map[string]any); ok {
				g := func(k string) float64 { v, _ := c[k].(float64); return v }
				cons = fmt.Sprintf("%.2f–%.2f, %.0f late of %.0f", g("interval_min_s"), g("interval_max_s"), g("late"), g("intervals"))
			}
			fmt.Fprintf(w, "| %s | %.0f | 1 | **%s** | **%.1f** | %.1f | %.3f | **%.1f %%** | %.2f | %s | %.0f / %.0f | %.1f / %.1f | %.1f / %.1f |\n",
				n, r.f("pairs"), thousands(r.f("connect_rate")), perUnit(r, "rss_kb", agents), perUnit(r, "heap_kb", agents),
				perUnit(r, "goroutines", agents), cpu/1e4, cpu/agents, cons, r.f("still_ready"), agents,
				r.f("send_p50_us_1"), r.f("send_p99_us_1"), r.f("send_p50_us_n"), r.f("send_p99_us_n"))
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
			fmt.Fprintf(w, "Goals (%s, %.0f on one port): ≤ 10 KB RSS per agent: %.1f, %s; consent intervals within RFC 7675: %s; ≤ 1 core in all while idle: %.0f %%, %s; ≥ 5,000 agents/s to READY: %s pairs/s, %s; Send p99 with all ≤ 2× with one: %.2f×, %s.\n\n",
				n, r.f("pairs"), perUnit(r, "rss_kb", agents), d.verdict(perUnit(r, "rss_kb", agents) <= 10),
				d.verdict(late == 0), cpu/1e4, d.verdict(cpu/1e4 <= 100),
				thousands(r.f("connect_rate")), d.verdict(r.f("connect_rate") >= 5000),
				r.f("send_p99_us_n")/r.f("send_p99_us_1"), d.verdict(r.f("send_p99_us_n") <= 2*r.f("send_p99_us_1")))
		}
	}
}
