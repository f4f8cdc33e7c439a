// SPDX-License-Identifier: MIT

package nice_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// TestWaitSignals: after GatherCandidates, WaitSignals returns only once the
// host candidate's new-candidate and the gathering-done it caused have been
// delivered (and their handlers have returned), however slow the handlers.
func TestWaitSignals(t *testing.T) {
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var cands, done atomic.Int32
	a.OnNewCandidate(func(nice.Candidate) {
		time.Sleep(20 * time.Millisecond)
		cands.Add(1)
	})
	a.OnCandidateGatheringDone(func(int) {
		time.Sleep(20 * time.Millisecond)
		done.Add(1)
	})
	if err := a.AddLocalAddress(loopback); err != nil {
		t.Fatal(err)
	}
	sid, err := a.AddStream(2)
	if err != nil {
		t.Fatal(err)
	}
	a.WaitSignals() // nothing queued: returns at once
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	a.WaitSignals()
	if cands.Load() != 2 || done.Load() != 1 {
		t.Errorf("after WaitSignals: %d new-candidate, %d gathering-done delivered; want 2 and 1", cands.Load(), done.Load())
	}
}
