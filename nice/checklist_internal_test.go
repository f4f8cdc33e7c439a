// SPDX-License-Identifier: MIT

package nice

import "testing"

// TestChecklistCounts: the checklist alone keeps, per foundation, the count
// of Waiting and In-Progress pairs through every way a pair changes or
// leaves, and flags each change for the pacer.
func TestChecklistCounts(t *testing.T) {
	var cl checklist
	mk := func(prio uint64, f string) *pair { return &pair{prio: prio, foundation: f} }
	a, b, c := mk(30, "x"), mk(20, "x"), mk(10, "y")
	cl.insert(b, pairWaiting)
	cl.insert(a, pairFrozen)
	cl.insert(c, pairInProgress)
	if cl.pairs[0] != a || cl.pairs[1] != b || cl.pairs[2] != c {
		t.Fatal("pairs not in priority order")
	}
	if cl.activeCount("x") != 1 || cl.activeCount("y") != 1 {
		t.Fatalf("active = %v, want x:1 y:1", cl.active)
	}
	cl.changed = false
	cl.setState(a, pairWaiting)
	if cl.activeCount("x") != 2 || !cl.changed {
		t.Errorf("after Frozen→Waiting: active %v, changed %v", cl.active, cl.changed)
	}
	cl.setState(a, pairInProgress) // Waiting→In-Progress keeps the count
	cl.setState(b, pairSucceeded)
	cl.setState(c, pairFailed)
	if cl.activeCount("x") != 1 || cl.activeCount("y") != 0 {
		t.Errorf("active = %v, want x:1 and no y", cl.active)
	}
	if cl.activeIndex("y") >= 0 {
		t.Error("a foundation with no active pair is kept in the list")
	}
	cl.trigger(a)
	cl.trigger(a)
	if len(cl.triggered) != 1 || !a.triggered {
		t.Errorf("triggered twice: queue %d", len(cl.triggered))
	}
	cl.removeAt(0) // a: leaves the list, the queue and the count
	if len(cl.pairs) != 2 || len(cl.triggered) != 0 || a.triggered || cl.activeCount("x") != 0 {
		t.Errorf("after removing a: %d pairs, %d queued, active %v", len(cl.pairs), len(cl.triggered), cl.active)
	}
	cl.trigger(b)
	cl.trigger(c)
	if p := cl.popTriggered(); p != b || b.triggered {
		t.Errorf("popTriggered = %v, want the oldest", p)
	}
	cl.untrigger(func(p *pair) bool { return p == c })
	if cl.popTriggered() != nil || c.triggered {
		t.Error("untrigger left c queued")
	}
	cl.reset()
	if len(cl.pairs) != 0 || len(cl.active) != 0 || !cl.changed {
		t.Error("reset kept state")
	}
}
