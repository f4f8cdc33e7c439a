// SPDX-License-Identifier: MIT

package nice

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/pion/stun"
)

// The agent's concurrency model (DESIGN.md "Inside the agent"):
//
//   - One loop owns all control state: streams, components, candidates,
//     checklists, credentials, role and transactions. Public methods post a
//     closure onto its queue with do and wait for the result; readers post
//     STUN messages; the timer posts a wake-up. The loop runs only while its
//     queue has work, on the goroutine that gave it work while it was idle
//     (see claimLocked), so an idle agent has no loop goroutine (10,000 idle
//     agents must cost little memory) and a check costs no goroutine
//     hand-off. At most one goroutine is the loop at a time: it is serial.
//   - One timer (a.timer) is re-armed after every loop event to the earliest
//     deadline of every sub-state (pacing, retransmissions, nomination,
//     keepalive/consent, idle and gathering timeouts). No tickers.
//   - One reader goroutine per socket. STUN goes to the loop; everything
//     else is delivered from the reader goroutine to the component's receive
//     path, never through the loop.
//   - Signals are queued by the loop and delivered in order by the
//     dispatcher, a goroutine that runs while signals are queued (at most one
//     at a time), never on the loop and never under a lock.

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
	mu       sync.Mutex
	q        []work // q[head:] waits
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
		q.q, q.head, q.packets = nil, 0, 0
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
				q.q = nil // a burst is over: do not keep its memory
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
	if cap(q.q) > 0 {
		q.q = nil
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
	a.pace(now)
	a.rearm(now)
	a.flushEvents()
	if a.txs != nil && len(a.txs) == 0 {
		a.txs = nil // Go maps never shrink: an idle agent keeps none
	}
}

// rearm sets the timer to the earliest deadline. Called on the loop.
func (a *Agent) rearm(now time.Time) {
	next := a.nextDeadline(now)
	if next.IsZero() {
		if !a.timerAt.IsZero() {
			a.timer.Stop()
			a.timerAt = time.Time{}
		}
		return
	}
	if next.Equal(a.timerAt) {
		return
	}
	a.timerAt = next
	d := next.Sub(now)
	if d < 0 {
		d = 0
	}
	a.timer.Reset(d)
}

// fireTimer is the timer's function: it wakes the loop (and, if the loop
// is idle, runs it).
func (a *Agent) fireTimer() {
	q := &a.work
	q.mu.Lock()
	run := false
	if !q.stopped {
		q.timerDue = true
		run = a.claimLocked()
	}
	q.mu.Unlock()
	if run {
		a.runLoop()
	}
}

// onTimer runs every expired deadline. Called on the loop.
func (a *Agent) onTimer(now time.Time) {
	a.timerAt = time.Time{}
	a.expireTransactions(now)
	for _, s := range a.streams {
		a.tickStream(s, now)
	}
	a.tickRelays(now)
}

// earliest returns the earlier of two deadlines, treating zero as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// eventKind names a signal.
type eventKind int

const (
	evGatheringDone eventKind = iota
	evNewCandidate
	evNewRemoteCandidate
	evStateChanged
	evNewSelectedPair
	evInitialBindingRequest
	evStreamsRemoved
)

// event is one queued signal.
type event struct {
	kind                  eventKind
	streamID, componentID int
	state                 ComponentState
	cand, remote          Candidate
	ids                   []int
}

// eventQueue is the ordered queue between the loop and the dispatcher.
type eventQueue struct {
	mu      sync.Mutex
	q       []event // guarded by mu
	running bool    // a dispatcher goroutine runs; guarded by mu
	pending bool    // owned by the loop: something was pushed since the last flush
}

// push queues ev. Called on the loop.
func (q *eventQueue) push(ev event) {
	q.mu.Lock()
	q.q = append(q.q, ev)
	q.mu.Unlock()
	q.pending = true
}

// take removes and returns everything queued, reusing buf.
func (q *eventQueue) take(buf []event) []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.takeLocked(buf)
}

func (q *eventQueue) takeLocked(buf []event) []event {
	buf = append(buf[:0], q.q...)
	// Signals come in bursts (gathering, connecting): an idle agent keeps
	// no queue memory.
	q.q = nil
	return buf
}

// flushEvents starts the dispatcher if something was queued and none runs.
// Called on the loop.
func (a *Agent) flushEvents() {
	q := &a.events
	if !q.pending {
		return
	}
	q.pending = false
	q.mu.Lock()
	if !q.running && len(q.q) > 0 {
		q.running = true
		a.dispatchWG.Add(1)
		go a.dispatch()
	}
	q.mu.Unlock()
}

// handlers holds the connected signal handlers. Handlers are only appended,
// so a snapshot of a slice header stays valid after the lock is released.
type handlers struct {
	mu                sync.Mutex
	gatheringDone     []func(streamID int)
	newCandidate      []func(c Candidate)
	newRemote         []func(c Candidate)
	stateChanged      []func(streamID, componentID int, s ComponentState)
	newSelectedPair   []func(streamID, componentID int, local, remote Candidate)
	initialBindingReq []func(streamID int)
	streamsRemoved    []func(streamIDs []int)
}

// dispatch is the dispatcher goroutine: it delivers queued signals in order
// and exits when none is left (flushEvents starts it again).
func (a *Agent) dispatch() {
	defer a.dispatchWG.Done()
	a.dispatcherID.Store(goid())
	q := &a.events
	var buf []event
	for {
		q.mu.Lock()
		if len(q.q) == 0 {
			a.dispatcherID.Store(0)
			q.running = false
			q.mu.Unlock()
			return
		}
		buf = q.takeLocked(buf)
		q.mu.Unlock()
		for i := range buf {
			a.deliver(&buf[i])
		}
		clear(buf)
	}
}

// deliver calls every handler of ev's signal.
func (a *Agent) deliver(ev *event) {
	h := &a.handlers
	h.mu.Lock()
	gd, nc, nr, sc, sp, ib, sr := h.gatheringDone, h.newCandidate, h.newRemote, h.stateChanged, h.newSelectedPair, h.initialBindingReq, h.streamsRemoved
	h.mu.Unlock()
	switch ev.kind {
	case evGatheringDone:
		for _, f := range gd {
			f(ev.streamID)
		}
	case evNewCandidate:
		for _, f := range nc {
			f(ev.cand)
		}
	case evNewRemoteCandidate:
		for _, f := range nr {
			f(ev.cand)
		}
	case evStateChanged:
		for _, f := range sc {
			f(ev.streamID, ev.componentID, ev.state)
		}
	case evNewSelectedPair:
		for _, f := range sp {
			f(ev.streamID, ev.componentID, ev.cand, ev.remote)
		}
	case evInitialBindingRequest:
		for _, f := range ib {
			f(ev.streamID)
		}
	case evStreamsRemoved:
		for _, f := range sr {
			f(ev.ids)
		}
	}
}

// goid returns the current goroutine's id. It is used only by Close, to
// know whether it runs inside a signal handler (on the dispatcher).
func goid() uint64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := bytes.TrimPrefix(b[:n], []byte("goroutine "))
	if i := bytes.IndexByte(f, ' '); i > 0 {
		id, _ := strconv.ParseUint(string(f[:i]), 10, 64)
		return id
	}
	return 0
}
