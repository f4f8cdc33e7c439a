// SPDX-License-Identifier: MIT

package nice

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestSharedTimers has many agents on the operating system's network wait
// for deadlines of their own at once, through the process-wide timer
// (timers.go): each one's gathering times out against a STUN server that
// never answers (a socket that reads nothing, so no ICMP error either),
// and must end no earlier than its own timeout, and end. Closed, no agent
// stays in the heap.
func TestSharedTimers(t *testing.T) {
	silent, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	const n = 60
	type result struct {
		i       int
		elapsed time.Duration
	}
	done := make(chan result, n)
	agents := make([]*Agent, n)
	timeouts := make([]time.Duration, n)
	for i := range agents {
		// 20 ms apart, and some equal: deadlines both spread and tied.
		timeouts[i] = 100*time.Millisecond + time.Duration(i/2)*20*time.Millisecond
		a, err := NewAgent(Config{STUNServer: silent.LocalAddr().String(), GatheringTimeout: timeouts[i]})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if a.timer != nil {
			t.Fatal("an agent on the operating system's network has a timer of its own")
		}
		agents[i] = a
		if err := a.AddLocalAddress(netip.MustParseAddr("127.0.0.1")); err != nil {
			t.Fatal(err)
		}
		sid, err := a.AddStream(1)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		a.OnCandidateGatheringDone(func(int) { done <- result{i, time.Since(start)} })
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		select {
		case r := <-done:
			if r.elapsed < timeouts[r.i] {
				t.Errorf("agent %d: gathering done after %v, before its timeout of %v", r.i, r.elapsed, timeouts[r.i])
			}
		case <-time.After(30 * time.Second):
			t.Fatal("an agent's gathering never timed out")
		}
	}
	for _, a := range agents {
		a.Close()
	}
	sharedTimers.mu.Lock()
	defer sharedTimers.mu.Unlock()
	for i, a := range agents {
		if a.tslot.index >= 0 {
			t.Errorf("agent %d is still in the timer heap after Close", i)
		}
	}
	for i, e := range sharedTimers.agents {
		if e.a.tslot.index != i {
			t.Fatalf("heap entry %d records index %d", i, e.a.tslot.index)
		}
		if parent := sharedTimers.agents[(i-1)/2]; i > 0 && parent.when > e.when {
			t.Fatalf("heap entry %d (when %d) is before its parent (when %d)", i, e.when, parent.when)
		}
	}
}

// TestTimerHeap: the heap gives agents back in deadline order whatever
// was pushed, moved and removed, keeps each agent's index, and enters and
// leaves agents without allocating.
func TestTimerHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	agents := make([]*Agent, 500)
	for i := range agents {
		agents[i] = &Agent{tslot: timerSlot{index: -1}}
		h.push(timerEntry{when: rng.Int64N(1000), a: agents[i]})
	}
	check := func() {
		t.Helper()
		for i, e := range h {
			if e.a.tslot.index != i {
				t.Fatalf("entry %d records index %d", i, e.a.tslot.index)
			}
			if i > 0 && h[(i-1)/2].when > e.when {
				t.Fatalf("entry %d (%d) is earlier than its parent (%d)", i, e.when, h[(i-1)/2].when)
			}
		}
	}
	check()
	for range 2000 {
		a := agents[rng.IntN(len(agents))]
		switch {
		case a.tslot.index < 0:
			h.push(timerEntry{when: rng.Int64N(1000), a: a})
		case rng.IntN(3) == 0:
			h.remove(a.tslot.index)
			if a.tslot.index != -1 {
				t.Fatal("a removed agent keeps its index")
			}
		default:
			h[a.tslot.index].when = rng.Int64N(1000)
			h.fix(a.tslot.index)
		}
		check()
	}
	last := int64(-1)
	for len(h) > 0 {
		if h[0].when < last {
			t.Fatalf("%d after %d: not in order", h[0].when, last)
		}
		last = h[0].when
		h.remove(0)
		check()
	}
	a := agents[0]
	if n := testing.AllocsPerRun(100, func() {
		h.push(timerEntry{when: 5, a: a})
		h.remove(a.tslot.index)
	}); n != 0 {
		t.Errorf("%v allocations to enter and leave the heap, want 0", n)
	}
}
