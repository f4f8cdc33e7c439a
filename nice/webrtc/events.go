// SPDX-License-Identifier: MIT

package webrtc

import (
	"strconv"
	"sync"
)

// Event is an erizo WebRtcConnection event; the numbers are erizo's
// (WebRtcConnection.h).
type Event int

const (
	ConnInitial      Event = 101
	ConnStarted      Event = 102
	ConnGathered     Event = 103
	ConnReady        Event = 104
	ConnFinished     Event = 105
	ConnCandidate    Event = 201
	ConnSDP          Event = 202
	ConnSDPProcessed Event = 203
	ConnFailed       Event = 500
)

func (e Event) String() string {
	switch e {
	case ConnInitial:
		return "CONN_INITIAL"
	case ConnStarted:
		return "CONN_STARTED"
	case ConnGathered:
		return "CONN_GATHERED"
	case ConnReady:
		return "CONN_READY"
	case ConnFinished:
		return "CONN_FINISHED"
	case ConnCandidate:
		return "CONN_CANDIDATE"
	case ConnSDP:
		return "CONN_SDP"
	case ConnSDPProcessed:
		return "CONN_SDP_PROCESSED"
	case ConnFailed:
		return "CONN_FAILED"
	}
	return "Event(" + strconv.Itoa(int(e)) + ")"
}

// emitter delivers events in order, one at a time, with no lock held: the
// goroutine that finds it idle delivers until the queue is empty; others
// only queue. After CONN_FAILED only CONN_FINISHED passes; after
// CONN_FINISHED nothing does.
type emitter struct {
	fn func(Event, string)

	mu     sync.Mutex
	q      []event
	busy   bool
	failed bool
	done   bool
}

type event struct {
	ev  Event
	msg string
}

func (e *emitter) emit(ev Event, msg string) {
	e.mu.Lock()
	if e.done || e.failed && ev != ConnFinished {
		e.mu.Unlock()
		return
	}
	switch ev {
	case ConnFailed:
		e.failed = true
	case ConnFinished:
		e.done = true
	}
	e.q = append(e.q, event{ev, msg})
	if e.busy {
		e.mu.Unlock()
		return
	}
	e.busy = true
	for len(e.q) > 0 {
		x := e.q[0]
		e.q = e.q[1:]
		e.mu.Unlock()
		if e.fn != nil {
			e.fn(x.ev, x.msg)
		}
		e.mu.Lock()
	}
	e.q = nil
	e.busy = false
	e.mu.Unlock()
}
