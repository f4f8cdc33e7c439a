// SPDX-License-Identifier: MIT

package nice

import (
	"runtime"
	"sync"
	"time"
)

// The agents' deadlines on one clock (ARCHITECTURE.md, "Deadlines"). Every
// agent on the operating system's network has its earliest deadline in
// one process-wide min-heap, served by one runtime timer. When it fires, a
// runner goroutine runs the due agents one after the other (fireTimer: the
// agent's loop, inline if it is idle), with up to GOMAXPROCS runners when
// many are due. Before, each agent had a runtime timer of its own
// (time.AfterFunc), which starts a goroutine per firing: with consent
// freshness on, the runtime made a goroutine for every consent check,
// and every one grew its stack to run the loop. Keepalive and consent
// deadlines are on a 200 ms grid (keepaliveSlack), so an idle server's
// checks come due in batches, and a batch costs one or two goroutines.
//
// An agent on a Net of the application's keeps a timer of its own
// (Agent.timer): such a network may be an in-memory one in a
// testing/synctest bubble, whose fake clock a process-wide timer does not
// follow (and a bubble's timer must not be used from outside it).

// timerSlot is an agent's place in sharedTimers, guarded by its mutex; its
// deadline is the heap entry's (timerEntry.when).
type timerSlot struct {
	index int // its index in the heap; -1 when not in it
}

// timerEntry is one agent in the heap, with its deadline as monotonic
// nanoseconds since timerEpoch: the heap compares entries without reading
// the agents (at 100,000 agents, each a cache miss: comparisons were 4 %
// of an idle process's CPU when they read Agent.tslot).
type timerEntry struct {
	when int64
	a    *Agent
}

// timerEpoch is the origin of timerEntry.when. A difference of two times
// that both carry the monotonic clock is taken on it: a step of the wall
// clock does not reorder deadlines.
var timerEpoch = time.Now()

// sinceEpoch is t as a timerEntry.when.
func sinceEpoch(t time.Time) int64 { return int64(t.Sub(timerEpoch)) }

// at is the entry's deadline as a time (with the monotonic clock).
func (e timerEntry) at() time.Time { return timerEpoch.Add(time.Duration(e.when)) }

// timerQueue is the process-wide deadline heap.
type timerQueue struct {
	mu      sync.Mutex
	agents  timerHeap
	t       *time.Timer // fires run when agents[0] is due
	armedAt time.Time   // when t fires; zero when it is stopped or has fired
	runners int         // goroutines running due agents (run)
}

var sharedTimers timerQueue

// maxTimerRunners bounds the goroutines that run due agents at once: more
// cannot run in parallel.
var maxTimerRunners = max(runtime.GOMAXPROCS(0), 1)

// set makes a due at at, whether or not it was in the heap.
func (q *timerQueue) set(a *Agent, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	when := sinceEpoch(at)
	if a.tslot.index < 0 {
		q.agents.push(timerEntry{when: when, a: a})
	} else {
		q.agents[a.tslot.index].when = when
		q.agents.fix(a.tslot.index)
	}
	// With runners at work, the last one to finish arms the timer.
	if q.runners == 0 && q.agents[0].a == a && (q.armedAt.IsZero() || at.Before(q.armedAt)) {
		q.armLocked(at)
	}
}

// remove takes a out of the heap, if it is there. The runtime timer is left
// as it is: firing early finds nothing due and re-arms for the next.
func (q *timerQueue) remove(a *Agent) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if a.tslot.index >= 0 {
		q.agents.remove(a.tslot.index)
	}
}

// armLocked sets the runtime timer to fire at at. q.mu is held.
func (q *timerQueue) armLocked(at time.Time) {
	d := max(time.Until(at), 0)
	if q.t == nil {
		q.t = time.AfterFunc(d, q.fire)
	} else {
		q.t.Reset(d)
	}
	q.armedAt = at
}

// fire is the runtime timer's function: it becomes a runner unless runners
// are at work (they take what is due before they finish).
func (q *timerQueue) fire() {
	q.mu.Lock()
	q.armedAt = time.Time{}
	if q.runners > 0 {
		q.mu.Unlock()
		return
	}
	q.runners++
	q.mu.Unlock()
	q.run()
}

// run fires due agents until none is due, starting another runner while
// more are due and the bound allows; the last runner to finish arms the
// timer for the next deadline. A fired agent's loop runs here if it was
// idle: the loop never blocks (ARCHITECTURE.md, "The loop").
func (q *timerQueue) run() {
	for {
		q.mu.Lock()
		now := sinceEpoch(time.Now())
		if len(q.agents) > 0 && q.agents[0].when <= now {
			a := q.agents[0].a
			q.agents.remove(0)
			if len(q.agents) > 0 && q.agents[0].when <= now && q.runners < maxTimerRunners {
				q.runners++
				go q.run()
			}
			q.mu.Unlock()
			a.fireTimer()
			continue
		}
		q.runners--
		if q.runners == 0 && len(q.agents) > 0 {
			q.armLocked(q.agents[0].at())
		}
		q.mu.Unlock()
		return
	}
}

// timerHeap is a binary min-heap of agents by deadline, each entry's
// index kept in its agent's tslot. Not container/heap: its Push and Pop
// take and return the entry as an interface, which allocates for a
// two-word struct, and an agent enters the heap again after every firing.
type timerHeap []timerEntry

// push adds e.
func (h *timerHeap) push(e timerEntry) {
	*h = append(*h, e)
	e.a.tslot.index = len(*h) - 1
	h.up(len(*h) - 1)
}

// remove takes out the entry at index i.
func (h *timerHeap) remove(i int) {
	s := *h
	last := len(s) - 1
	s[i].a.tslot.index = -1
	if i != last {
		s[i] = s[last]
		s[i].a.tslot.index = i
	}
	s[last] = timerEntry{}
	*h = s[:last]
	if i != last {
		h.fix(i)
	}
}

// fix restores the order after the entry at i changed its deadline.
func (h timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].a.tslot.index = i
	h[j].a.tslot.index = j
}

func (h timerHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].when <= h[i].when {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down moves the entry at i down to its place; it reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	for {
		least := i
		if l := 2*i + 1; l < len(h) && h[l].when < h[least].when {
			least = l
		}
		if r := 2*i + 2; r < len(h) && h[r].when < h[least].when {
			least = r
		}
		if least == i {
			return i > start
		}
		h.swap(i, least)
		i = least
	}
}

// armTimer makes the agent's timer fire at at, d from now. Called on the
// loop (rearm).
func (a *Agent) armTimer(at time.Time, d time.Duration) {
	if a.timer == nil {
		sharedTimers.set(a, at)
		return
	}
	a.timer.Reset(d)
}

// stopTimer stops the agent's timer: on the loop (rearm), and by Close
// after the loop has ended.
func (a *Agent) stopTimer() {
	if a.timer == nil {
		sharedTimers.remove(a)
		return
	}
	a.timer.Stop()
}
