// SPDX-License-Identifier: MIT

package nice

import (
	"slices"
	"sync"
)

// eventKind names a signal.
type eventKind int

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
	mu        sync.Mutex
	q         []event        // guarded by mu
	running   bool           // a dispatcher goroutine runs; guarded by mu
	pending   bool           // owned by the loop: something was pushed since the last flush
	pushed    uint64         // signals queued so far; guarded by mu
	delivered uint64         // signals delivered so far; guarded by mu
	waiters   []signalWaiter // WaitSignals calls; guarded by mu
}

// signalWaiter is a WaitSignals call: done is closed once delivered
// reaches upto.
type signalWaiter struct {
	upto uint64
	done chan struct{}
}

// push queues ev. Called on the loop.
func (q *eventQueue) push(ev event) {
	q.mu.Lock()
	q.q = append(q.q, ev)
	q.pushed++
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
		go a.dispatch(a.workers.start()) // the dispatcher, until no signal is queued
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
func (a *Agent) dispatch(w *worker) {
	defer w.exit()
	q := &a.events
	var buf []event
	for {
		q.mu.Lock()
		if len(q.q) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		buf = q.takeLocked(buf)
		q.mu.Unlock()
		w.enterUser()
		for i := range buf {
			a.deliver(&buf[i])
		}
		w.leaveUser()
		q.mu.Lock()
		q.delivered += uint64(len(buf))
		q.waiters = slices.DeleteFunc(q.waiters, func(sw signalWaiter) bool {
			if sw.upto <= q.delivered {
				close(sw.done)
				return true
			}
			return false
		})
		q.mu.Unlock()
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

// WaitSignals returns once every signal queued before the call has been
// delivered to its handlers (and they have returned). libnice emits some
// signals inside the call that causes them (the host candidates inside
// nice_agent_gather_candidates); gonice delivers them from its dispatcher,
// and WaitSignals after such a call gives libnice's order to a caller that
// needs it (the C library does, for its libnice drop-in). It must not be
// called from a signal handler, which would wait for itself.
func (a *Agent) WaitSignals() {
	q := &a.events
	q.mu.Lock()
	if q.delivered >= q.pushed {
		q.mu.Unlock()
		return
	}
	sw := signalWaiter{upto: q.pushed, done: make(chan struct{})}
	q.waiters = append(q.waiters, sw)
	q.mu.Unlock()
	<-sw.done
}

// OnCandidateGatheringDone connects a handler to candidate-gathering-done:
// every local candidate of the stream has been found.
func (a *Agent) OnCandidateGatheringDone(fn func(streamID int)) {
	a.handlers.mu.Lock()
	a.handlers.gatheringDone = append(a.handlers.gatheringDone, fn)
	a.handlers.mu.Unlock()
}

// OnNewCandidate connects a handler to new-candidate(-full): a local
// candidate was found (host, server-reflexive, or peer-reflexive during checks).
func (a *Agent) OnNewCandidate(fn func(c Candidate)) {
	a.handlers.mu.Lock()
	a.handlers.newCandidate = append(a.handlers.newCandidate, fn)
	a.handlers.mu.Unlock()
}

// OnNewRemoteCandidate connects a handler to new-remote-candidate(-full): a
// peer-reflexive remote candidate was learned from a check.
func (a *Agent) OnNewRemoteCandidate(fn func(c Candidate)) {
	a.handlers.mu.Lock()
	a.handlers.newRemote = append(a.handlers.newRemote, fn)
	a.handlers.mu.Unlock()
}

// OnComponentStateChanged connects a handler to component-state-changed.
// States change only along libnice's allowed transitions.
func (a *Agent) OnComponentStateChanged(fn func(streamID, componentID int, s ComponentState)) {
	a.handlers.mu.Lock()
	a.handlers.stateChanged = append(a.handlers.stateChanged, fn)
	a.handlers.mu.Unlock()
}

// OnNewSelectedPair connects a handler to new-selected-pair(-full): the
// pair data is sent on changed.
func (a *Agent) OnNewSelectedPair(fn func(streamID, componentID int, local, remote Candidate)) {
	a.handlers.mu.Lock()
	a.handlers.newSelectedPair = append(a.handlers.newSelectedPair, fn)
	a.handlers.mu.Unlock()
}

// OnInitialBindingRequestReceived connects a handler to
// initial-binding-request-received: the first authenticated check from the
// peer arrived on the stream.
func (a *Agent) OnInitialBindingRequestReceived(fn func(streamID int)) {
	a.handlers.mu.Lock()
	a.handlers.initialBindingReq = append(a.handlers.initialBindingReq, fn)
	a.handlers.mu.Unlock()
}

// OnStreamsRemoved connects a handler to streams-removed.
func (a *Agent) OnStreamsRemoved(fn func(streamIDs []int)) {
	a.handlers.mu.Lock()
	a.handlers.streamsRemoved = append(a.handlers.streamsRemoved, fn)
	a.handlers.mu.Unlock()
}

// setState changes a component's state along libnice's allowed transitions,
// passing through the states in between, and signals every change.
// Called on the loop.
func (a *Agent) setState(c *component, next ComponentState) {
	c.s.checks.changed = true // the pacer skips the pairs of a READY component
	for c.state != next {
		step := next
		if !c.state.validTransition(next) {
			switch {
			case next == ComponentStateReady && c.state != ComponentStateConnected:
				step = ComponentStateConnected
				if !c.state.validTransition(step) {
					step = ComponentStateConnecting
				}
			case next == ComponentStateConnected:
				step = ComponentStateConnecting
			default:
				a.log.Error("nice: invalid state transition", "stream", c.s.id, "component", c.id, "from", c.state, "to", next)
				return
			}
		}
		if a.debugOn(LogState) {
			a.log.Debug("component.state", "stream", c.s.id, "component", c.id, "from", c.state, "to", step)
		}
		c.state = step
		a.events.push(event{kind: evStateChanged, streamID: c.s.id, componentID: c.id, state: step})
	}
}
