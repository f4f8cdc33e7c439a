// SPDX-License-Identifier: MIT

package nice

import (
	"sync"
	"time"

	"github.com/pion/stun"
)

// The loop: one serial owner of the agent's control state, run only while
// it has work, on the goroutine that gave it work (ARCHITECTURE.md, "The
// loop"). This file is the loop's queue and its dispatch: what handles each
// item lives in the files named after it (checks_in.go for STUN, the public
// methods' files for ops, deadlines.go for the timer).

// op is a closure run on the loop.
type op struct {
	f    func(now time.Time) error
	done chan error
}

// work is one item of the loop's queue: an op, or a STUN message.
type work struct {
	op *op
	pk *packet
}

// maxQueuedSTUN bounds the STUN messages waiting for the loop; more are
// dropped, as a full socket buffer would.
const maxQueuedSTUN = 256

// workQueue is the loop's queue.
type workQueue struct {
	mu sync.Mutex
	q  []work // q[head:] waits; in small while it fits
	// small holds the queue while it is short, as it nearly always is: an
	// idle agent keeps no queue on the heap, and waking it allocates none.
	small    [2]work
	head     int
	packets  int  // STUN messages in q
	timerDue bool // the timer fired
	running  bool // a loop goroutine runs
	quit     bool // Close asked the loop to shut down
	stopped  bool // the loop has shut down: nothing more is accepted
}

// claimLocked reports whether the caller must run the loop: true when no
// loop runs, and the caller then is the loop (runLoop). a.work.mu is held.
//
// Whoever hands the loop work while it is idle runs it on its own goroutine
// (a reader, the caller of a method, the timer): no goroutine is started
// and no hand-off is paid on the way to the loop. That is safe because the
// loop never blocks and never calls out to user code.
func (a *Agent) claimLocked() bool {
	if a.work.running {
		return false
	}
	a.work.running = true
	return true
}

// post queues w for the loop. It reports whether w was accepted (false if
// the agent is closing or, for a STUN message, the queue is full) and
// whether the caller must now run the loop (a.runLoop).
func (a *Agent) post(w work) (ok, run bool) {
	q := &a.work
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.quit || q.stopped || w.pk != nil && q.packets >= maxQueuedSTUN {
		return false, false
	}
	if w.pk != nil {
		q.packets++
	}
	if q.q == nil {
		q.q = q.small[:0]
	}
	q.q = append(q.q, w)
	return true, a.claimLocked()
}

// requestShutdown asks the loop to shut down (Close).
func (a *Agent) requestShutdown() {
	a.work.mu.Lock()
	a.work.quit = true
	run := a.claimLocked()
	a.work.mu.Unlock()
	if run {
		a.runLoop()
	}
}

// do runs f on the loop and returns its result. It returns ErrClosed when
// the agent is closed before f runs.
func (a *Agent) do(f func(now time.Time) error) error {
	o := &op{f: f, done: make(chan error, 1)}
	ok, run := a.post(work{op: o})
	if !ok {
		return ErrClosed
	}
	if run {
		a.runLoop()
	}
	return <-o.done
}

// next takes the loop's next item. It reports what to do: run w, run the
// timer, shut down, or (idle) exit the goroutine.
func (a *Agent) next() (w work, timer, quit, idle bool) {
	q := &a.work
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.quit:
		q.stopped = true
		for _, w := range q.q[q.head:] {
			if w.op != nil {
				w.op.done <- ErrClosed
			} else {
				putPacket(w.pk)
			}
		}
		q.q, q.head, q.packets = q.small[:0], 0, 0
		return w, false, true, false
	case q.head < len(q.q):
		w = q.q[q.head]
		q.q[q.head] = work{}
		q.head++
		if w.pk != nil {
			q.packets--
		}
		if q.head == len(q.q) {
			q.head = 0
			q.q = q.q[:0]
			if cap(q.q) > 32 {
				q.q = q.small[:0] // a burst is over: do not keep its memory
			}
		}
		return w, false, false, false
	case q.timerDue:
		q.timerDue = false
		return w, true, false, false
	}
	// Idle: give the scratch back while this goroutine still is the loop;
	// once running is false another goroutine may claim it.
	a.returnScratch()
	q.running = false
	if cap(q.q) > len(q.small) {
		q.q = q.small[:0]
	}
	return w, false, false, true
}

// inlineBudget is how many items a goroutine that became the loop runs
// before it hands the rest to a goroutine of the loop's own: a caller of a
// method, or a reader, must not be kept from its own work by a stream of
// others' (a flood of checks).
const inlineBudget = 64

// runLoop runs queued work until there is none, or hands it over to a new
// goroutine after inlineBudget items. The caller must have claimed the loop
// (post, claimLocked).
func (a *Agent) runLoop() {
	a.borrowScratch()
	for n := 0; ; n++ {
		if n == inlineBudget {
			a.returnScratch()
			go a.runLoop() // still claimed: the loop moves to a goroutine of its own
			return
		}
		w, timer, quit, idle := a.next()
		if idle {
			return // next gave the scratch back before it released the loop
		}
		now := time.Now()
		switch {
		case quit:
			a.shutdown()
			a.returnScratch()
			close(a.loopDone)
			return
		case timer:
			a.onTimer(now)
		case w.op != nil:
			w.op.done <- w.op.f(now)
		default:
			a.handleSTUN(now, w.pk)
			putPacket(w.pk)
		}
		a.afterEvent(now)
	}
}

// scratchPool holds the STUN messages the loop decodes into and encodes
// with: an agent borrows two while its loop runs, so idle agents hold none.
var scratchPool = sync.Pool{New: func() any { return new(stun.Message) }}

// borrowScratch gives the loop its scratch messages. Called on the loop.
func (a *Agent) borrowScratch() {
	if a.msg == nil {
		a.msg = scratchPool.Get().(*stun.Message)
		a.out = scratchPool.Get().(*stun.Message)
	}
}

// returnScratch gives them back when the loop goes idle. Nothing keeps a
// reference into them from one event to the next (they were always reused
// between events). Called on the loop.
func (a *Agent) returnScratch() {
	if a.msg != nil {
		a.msg.Reset()
		a.out.Reset()
		scratchPool.Put(a.msg)
		scratchPool.Put(a.out)
		a.msg, a.out = nil, nil
	}
}

// afterEvent runs after every loop event: sends what pacing allows, re-arms
// the timer and wakes the dispatcher. Called on the loop.
func (a *Agent) afterEvent(now time.Time) {
	for _, s := range a.streams {
		if s.failureCheckDue {
			s.failureCheckDue = false
			for _, c := range s.comps {
				a.checkFailure(c, now)
			}
		}
		if s.checks.tcpPrune {
			s.checks.tcpPrune = false
			for _, c := range s.comps {
				if len(c.tcp) > 0 {
					a.pruneTCP(c)
				}
			}
		}
	}
	a.pace(now)
	a.rearm(now)
	a.flushEvents()
}

const (
	evGatheringDone eventKind = iota
	evNewCandidate
	evNewRemoteCandidate
	evStateChanged
	evNewSelectedPair
	evInitialBindingRequest
	evStreamsRemoved
)
