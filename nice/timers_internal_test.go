// SPDX-License-Identifier: MIT

package nice

import (
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
	for i, a := range sharedTimers.agents {
		if a.tslot.index != i {
			t.Fatalf("heap entry %d records index %d", i, a.tslot.index)
		}
	}
}
