// SPDX-License-Identifier: MIT

package nice

import (
	"testing"
	"time"
)

// TestLoopWakeNoAlloc: handing an idle agent's loop one item and running
// it allocates nothing: the queue's first items live in the agent
// (workQueue.small), and the loop gives its memory back when idle without
// dropping that.
func TestLoopWakeNoAlloc(t *testing.T) {
	a, err := NewAgent(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	o := &op{f: func(time.Time) error { return nil }, done: make(chan error, 1)}
	wake := func() {
		ok, run := a.post(work{op: o})
		if !ok {
			t.Fatal("post refused")
		}
		if run {
			a.runLoop()
		}
		<-o.done
	}
	wake()
	if n := testing.AllocsPerRun(200, wake); n != 0 {
		t.Errorf("%v allocations per wake, want 0", n)
	}
	// A burst moves the queue to the heap; once idle, it is back in place.
	a.work.mu.Lock()
	for range 40 {
		a.work.q = append(a.work.q, work{op: &op{f: func(time.Time) error { return nil }, done: make(chan error, 1)}})
	}
	run := a.claimLocked()
	a.work.mu.Unlock()
	if run {
		a.runLoop()
	}
	a.work.mu.Lock()
	inPlace := cap(a.work.q) == len(a.work.small)
	a.work.mu.Unlock()
	if !inPlace {
		t.Error("after a burst the idle queue is not back in the agent")
	}
}
