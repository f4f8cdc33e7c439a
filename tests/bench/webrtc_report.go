// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"io"
	"strings"
)

// reportWebRTC prints, per variant, the medians and spread of the
// session times, and per DTLS role the per-round ratios gonice / pion.
func reportWebRTC(w io.Writer, vs []*wrVariant, all []wrSample, rounds int, quick bool) {
	// by[variant][round] = samples
	type series struct{ ready, ice, dtls [][]float64 }
	by := map[string]*series{}
	for _, v := range vs {
		by[v.name] = &series{ready: make([][]float64, rounds), ice: make([][]float64, rounds), dtls: make([][]float64, rounds)}
	}
	for _, s := range all {
		x := by[s.Variant]
		r := s.Round - 1
		x.ready[r] = append(x.ready[r], s.ReadyMS)
		x.ice[r] = append(x.ice[r], s.ICEMS)
		if s.DTLSMS != nil {
			x.dtls[r] = append(x.dtls[r], *s.DTLSMS)
		}
	}
	flat := func(xs [][]float64) []float64 {
		var out []float64
		for _, x := range xs {
			out = append(out, x...)
		}
		return out
	}
	roundMedians := func(xs [][]float64) []float64 {
		var out []float64
		for _, x := range xs {
			if len(x) > 0 {
				out = append(out, median(x))
			}
		}
		return out
	}
	list := func(xs []float64) string {
		var p []string
		for _, x := range xs {
			p = append(p, fmt.Sprintf("%.1f", x))
		}
		return strings.Join(p, ", ")
	}
	fmt.Fprintf(w, "## Answer → ready (server side, ms)\n\n")
	fmt.Fprintf(w, "ready: gonice CONN_READY, pion PeerConnectionState connected (both: handshake done, fingerprint checked, SRTP keyed). ")
	fmt.Fprintf(w, "ICE: gonice's first selected pair (component CONNECTED), pion's ICEConnectionState connected. ")
	fmt.Fprintf(w, "Role: the server's DTLS role. Median, p10–p90 over all sessions; round medians in the order of the rounds.\n\n")
	fmt.Fprintf(w, "| variant | sessions | ready median | ready p10–p90 | ready round medians | ICE median | ICE p10–p90 | pion DTLS connected median |\n|---|---|---|---|---|---|---|---|\n")
	for _, v := range vs {
		x := by[v.name]
		r, i, d := flat(x.ready), flat(x.ice), flat(x.dtls)
		dc := "–"
		if len(d) > 0 {
			dc = fmt.Sprintf("%.1f", median(d))
		}
		fmt.Fprintf(w, "| %s | %d | **%.1f** | %.1f–%.1f | %s | %.1f | %.1f–%.1f | %s |\n", v.name, len(r), median(r),
			quantile(r, 0.1), quantile(r, 0.9), list(roundMedians(x.ready)), median(i), quantile(i, 0.1), quantile(i, 0.9), dc)
	}
	fmt.Fprintf(w, "\n## gonice ÷ pion, per round (same role, same round; ratio of the round medians)\n\n")
	fmt.Fprintf(w, "ICE is given as a difference: gonice's is near 0 (it may even come before the answer is written), so its ratio means little.\n\n")
	fmt.Fprintf(w, "| role | ready: median ratio | per round | ICE: median of gonice − pion, ms | per round |\n|---|---|---|---|---|\n")
	for _, role := range []string{"client", "server"} {
		g, p := by["gonice/"+role], by["pion/"+role]
		if g == nil || p == nil {
			continue
		}
		perRound := func(a, b [][]float64, f func(x, y float64) float64) []float64 {
			var out []float64
			for r := range a {
				if len(a[r]) > 0 && len(b[r]) > 0 {
					out = append(out, f(median(a[r]), median(b[r])))
				}
			}
			return out
		}
		rr := perRound(g.ready, p.ready, func(x, y float64) float64 { return x / y })
		di := perRound(g.ice, p.ice, func(x, y float64) float64 { return x - y })
		fmt.Fprintf(w, "| server is DTLS %s | **%.2f** (%.2f–%.2f) | %s | %.1f | %s |\n", role, median(rr), quantile(rr, 0), quantile(rr, 1), list2(rr), median(di), list1(di))
	}
	if quick {
		fmt.Fprintf(w, "\n(quick run: one session per variant; these figures mean nothing)\n")
	}
}

func list1(xs []float64) string {
	var p []string
	for _, x := range xs {
		p = append(p, fmt.Sprintf("%.1f", x))
	}
	return strings.Join(p, ", ")
}

func list2(xs []float64) string {
	var p []string
	for _, x := range xs {
		p = append(p, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(p, ", ")
}
