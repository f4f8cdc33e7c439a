// SPDX-License-Identifier: MIT

package nice

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// The agent's concurrency model (DESIGN.md "Inside the agent"):
//
//   - One loop goroutine (run) owns all control state: streams, components,
//     candidates, checklists, credentials, role and transactions. Public
//     methods post a closure onto it with do and wait for the result.
//   - One timer (a.timer) is re-armed after every loop event to the earliest
//     deadline of every sub-state (pacing, retransmissions, nomination,
//     keepalive/consent, idle and gathering timeouts). No tickers.
//   - One reader goroutine per socket. STUN goes to the loop through a.stunIn;
//     everything else is delivered from the reader goroutine to the
//     component's receive path, never through the loop.
//   - Signals are queued by the loop and delivered in order by one
//     dispatcher goroutine, never on the loop and never under a lock.

// op is a closure run on the loop.
type op struct {
	f    func(now time.Time) error
	done chan error
}

// do runs f on the loop and returns its result. It returns ErrClosed when
// the agent is closed before or while f runs.
func (a *Agent) do(f func(now time.Time) error) error {
	o := op{f: f, done: make(chan error, 1)}
	select {
	case a.ops <- o:
	case <-a.loopDone:
		return ErrClosed
	}
	select {
	case err := <-o.done:
		return err
	case <-a.loopDone:
		// The loop may have run f just before exiting.
		select {
		case err := <-o.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// run is the loop goroutine.
func (a *Agent) run() {
	defer close(a.loopDone)
	for {
		var now time.Time
		select {
		case o := <-a.ops:
			now = time.Now()
			o.done <- o.f(now)
		case p := <-a.stunIn:
			now = time.Now()
			a.handleSTUN(now, p)
			putPacket(p)
		case <-a.wake:
			now = time.Now()
			a.onTimer(now)
		case <-a.quit:
			a.shutdown()
			return
		}
		a.afterEvent(now)
	}
}

// afterEvent runs after every loop event: sends what pacing allows, re-arms
// the timer and wakes the dispatcher. Called on the loop.
func (a *Agent) afterEvent(now time.Time) {
	a.pace(now)
	a.rearm(now)
	a.events.flush()
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

// fireTimer is the timer's function: it only wakes the loop.
func (a *Agent) fireTimer() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// onTimer runs every expired deadline. Called on the loop.
func (a *Agent) onTimer(now time.Time) {
	a.timerAt = time.Time{}
	a.expireTransactions(now)
	for _, s := range a.streams {
		a.tickStream(s, now)
	}
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
	pending bool    // owned by the loop: something was pushed since the last flush
	notify  chan struct{}
}

// push queues ev. Called on the loop.
func (q *eventQueue) push(ev event) {
	q.mu.Lock()
	q.q = append(q.q, ev)
	q.mu.Unlock()
	q.pending = true
}

// flush wakes the dispatcher if something was queued. Called on the loop.
func (q *eventQueue) flush() {
	if !q.pending {
		return
	}
	q.pending = false
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take removes and returns everything queued, reusing buf.
func (q *eventQueue) take(buf []event) []event {
	q.mu.Lock()
	buf = append(buf[:0], q.q...)
	clear(q.q)
	q.q = q.q[:0]
	q.mu.Unlock()
	return buf
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
// until the agent is closed, then delivers what is left and exits.
func (a *Agent) dispatch() {
	a.dispatcherID.Store(goid())
	defer close(a.dispatchDone)
	var buf []event
	for {
		quit := false
		select {
		case <-a.events.notify:
		case <-a.dispatchQuit:
			quit = true
		}
		buf = a.events.take(buf)
		for i := range buf {
			a.deliver(&buf[i])
		}
		clear(buf)
		if quit {
			return
		}
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
