// SPDX-License-Identifier: MIT

package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// soakRun makes one sample a minute for n minutes from rss(t) and heap(t).
func soakRun(n int, rss, heap func(min int) int64) []soakSample {
	var ss []soakSample
	for i := 0; i <= n; i++ {
		ss = append(ss, soakSample{at: time.Duration(i) * time.Minute, rssKB: rss(i), heapKB: heap(i),
			goroutines: 1004, fds: 1010, mem: soakMem{m: map[string]int64{}}})
	}
	return ss
}

// verdictOf is the verdict soakReport gives ss.
func verdictOf(ss []soakSample, warmup time.Duration) string {
	rep := soakReport(ss, warmup, 500, "test", loopbackSides(5).where, "test")
	i := strings.Index(rep, "verdict: ")
	if i < 0 {
		return ""
	}
	return strings.SplitN(rep[i+len("verdict: "):], " (", 2)[0]
}

func TestSoakVerdict(t *testing.T) {
	flat := func(int) int64 { return 7300 }
	// The shape of the 25-minute run of 2026-12-06: RSS rises by 8 % over
	// the first 10 minutes, then by 1 %.
	warm := func(m int) int64 { return 29000 + 2400*min(int64(m), 10)/10 + 30*max(int64(m)-10, 0) }
	leak := func(m int) int64 { return 7300 + 50*int64(m) } // 0.7 % a minute, for ever
	for _, c := range []struct {
		name      string
		n         int
		warmup    time.Duration
		rss, heap func(int) int64
		want      string
	}{
		{"warm-up growth, default warm-up", 25, soakWarmup, warm, flat, "flat"},
		{"warm-up growth, measured from 2 minutes", 25, 2 * time.Minute, warm, flat, "NOT flat"},
		{"live heap grows", 25, soakWarmup, flat, leak, "NOT flat"},
		{"too short", 10, soakWarmup, flat, flat, "too short"},
	} {
		if got := verdictOf(soakRun(c.n, c.rss, c.heap), c.warmup); got != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSoakStreamCycleForgets: a stream cycle leaves no record of its
// stream in the pair (they made the live heap grow in a long soak).
func TestSoakStreamCycleForgets(t *testing.T) {
	var c soakCounters
	p, err := newSoakPair(&c, loopbackSides(0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for range 3 {
		if err := p.streamCycle(&c); err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ag := range []*nice.Agent{p.a, p.b} {
		if n, m := len(p.state[ag]), len(p.done[ag]); n != 1 || m != 1 {
			t.Errorf("after 3 stream cycles an agent has records of %d and %d streams, want 1 (stream 1)", n, m)
		}
	}
}

// TestSoakFailedStreamCycleRemoves: a stream cycle that fails (here: no
// time at all to become READY) still removes the streams it added; kept,
// each held a socket and its reader (the lab soak's fds grew by one per
// FAILED component).
func TestSoakFailedStreamCycleRemoves(t *testing.T) {
	var c soakCounters
	p, err := newSoakPair(&c, loopbackSides(0))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.readyWithin = time.Nanosecond
	if err := p.streamCycle(&c); err == nil {
		t.Fatal("a stream cycle with no time to become READY did not fail")
	}
	for _, ag := range []*nice.Agent{p.a, p.b} {
		if _, err := ag.Stats(2); !errors.Is(err, nice.ErrInvalidStream) {
			t.Errorf("stream 2 after the failed cycle: %v, want it removed (ErrInvalidStream)", err)
		}
		if _, err := ag.Stats(1); err != nil {
			t.Errorf("stream 1: %v", err)
		}
	}
}
