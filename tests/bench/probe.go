// SPDX-License-Identifier: MIT

package main

import (
	"slices"
	"time"

	"github.com/gonice/gonice/nice"
)

// consentProbe checks, for d, that every agent's consent freshness runs on
// time. It reads nice.ConsentStats of every agent once a second. Consent
// checks go out every 5 s ±20 % (RFC 7675 §5.1), so no two are closer than
// 4 s: each read sees every new request, and LastRequestSent gives its
// exact time. The intervals between an agent's consecutive requests must
// lie in 4–6 s; one longer than 6 s is a late timer (or a loop that did not
// keep up). It also reports the age of the last consent response (consent
// expires at 30 s).
func consentProbe(all []*gnPair, d time.Duration, bothSides bool) map[string]any {
	type side struct {
		a    *nice.Agent
		sid  int
		last time.Time // LastRequestSent seen last
	}
	var sides []*side
	for _, p := range all {
		sides = append(sides, &side{a: p.a, sid: p.sa})
		if bothSides {
			sides = append(sides, &side{a: p.b, sid: p.sb})
		}
	}
	var intervals, ages, sweeps []float64
	responses0, responses := uint64(0), uint64(0)
	start := time.Now()
	for first := true; time.Since(start) < d; first = false {
		t := time.Now()
		responses = 0
		for _, s := range sides {
			st, err := s.a.ConsentStats(s.sid, 1)
			if err != nil {
				fatalf("ConsentStats: %v", err)
			}
			responses += st.ResponsesReceived
			if !first && !s.last.IsZero() && st.LastRequestSent.After(s.last) {
				intervals = append(intervals, st.LastRequestSent.Sub(s.last).Seconds())
			}
			s.last = st.LastRequestSent
			if !st.LastResponse.IsZero() {
				ages = append(ages, t.Sub(st.LastResponse).Seconds())
			}
		}
		if first {
			responses0 = responses
		}
		sweeps = append(sweeps, time.Since(t).Seconds())
		time.Sleep(time.Until(t.Add(time.Second)))
	}
	elapsed := time.Since(start).Seconds()
	late := 0
	for _, iv := range intervals {
		if iv > 6.05 {
			late++
		}
	}
	q := func(xs []float64, f float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[min(len(s)-1, int(f*float64(len(s))))]
	}
	var sum float64
	for _, iv := range intervals {
		sum += iv
	}
	mean := 0.0
	if len(intervals) > 0 {
		mean = sum / float64(len(intervals))
	}
	return map[string]any{
		"agents": len(sides), "seconds": elapsed,
		"intervals": len(intervals), "interval_min_s": q(intervals, 0), "interval_mean_s": mean,
		"interval_p99_s": q(intervals, 0.99), "interval_max_s": q(intervals, 1), "late": late,
		"age_p99_s": q(ages, 0.99), "age_max_s": q(ages, 1),
		"responses": responses - responses0, "sweep_max_s": slices.Max(sweeps),
	}
}
