// SPDX-License-Identifier: MIT

package nice

import (
	"testing"
	"time"
)

// TestPacerIdleUntilChange: once the pacer found nothing to check, an event
// that changes no checklist leaves it idle (no scan, no pacing deadline),
// and a change wakes it.
func TestPacerIdleUntilChange(t *testing.T) {
	a := eventAgent(t, 3, true) // one In-Progress, two Frozen behind it
	_ = a.do(func(now time.Time) error {
		a.pace(now.Add(time.Second))
		if !a.pacer.idle || a.checksPending() {
			t.Errorf("pacer idle = %v with every foundation busy", a.pacer.idle)
		}
		if next := a.nextDeadline(now); !next.After(now.Add(time.Minute)) {
			t.Errorf("next deadline %v after now: the idle pacer still sets one", next.Sub(now))
		}
		// The In-Progress pair fails: its foundation is free, a Frozen
		// pair may be checked.
		var busy *pair
		for _, p := range a.streams[0].checks.pairs {
			if p.state == pairInProgress {
				busy = p
			}
		}
		a.streams[0].checks.setState(busy, pairFailed)
		if !a.checksPending() {
			t.Error("a freed foundation did not wake the pacer")
		}
		if p := a.nextPair(); p == nil || p.state != pairFrozen {
			t.Errorf("nextPair = %v, want a Frozen pair to unfreeze", p)
		}
		return nil
	})
}
