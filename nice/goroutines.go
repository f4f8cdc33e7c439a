// SPDX-License-Identifier: MIT

package nice

import (
	"slices"
	"sync"
	"sync/atomic"
)

// The agent's goroutines and how Close waits for them (ARCHITECTURE.md,
// "Goroutines").
//
// Every goroutine the agent starts (socket readers, the signal dispatcher,
// TURN connections and releases) is a worker: it registers before its go
// statement and unregisters when it returns. Some run user code (a signal
// handler, a receive function), and user code may call Close. Close cannot
// wait for the goroutine it runs on, and Go does not say which one that is,
// so the rule needs no identity: Close waits until every worker has either
// exited or is running user code at that moment. A worker that leaves user
// code after Close touches nothing more of the agent and exits; Done is
// closed when the last one has.

// workers tracks the agent's goroutines.
type workers struct {
	mu      sync.Mutex
	cond    sync.Cond   // signalled when a worker exits or enters user code while closing
	set     []*worker   // a handful: a slice costs less than a map
	closing atomic.Bool // Close has begun (the agent's one flag for it): workers report entering user code
	done    chan struct{}
	once    sync.Once
}

// worker is one goroutine of the agent.
type worker struct {
	ws     *workers
	inUser atomic.Bool // running a handler or receive function
}

func (ws *workers) init() {
	ws.cond.L = &ws.mu
	ws.done = make(chan struct{})
}

// start registers a goroutine about to be started. Every go statement of the
// agent is paired with it, and the goroutine defers w.exit().
func (ws *workers) start() *worker {
	w := &worker{ws: ws}
	ws.mu.Lock()
	ws.set = append(ws.set, w)
	ws.mu.Unlock()
	return w
}

// exit unregisters the goroutine. Deferred by it.
func (w *worker) exit() {
	ws := w.ws
	ws.mu.Lock()
	if i := slices.Index(ws.set, w); i >= 0 {
		end := len(ws.set) - 1
		ws.set[i] = ws.set[end]
		ws.set[end] = nil
		ws.set = ws.set[:end]
	}
	last := len(ws.set) == 0
	ws.cond.Broadcast()
	ws.mu.Unlock()
	if last && ws.closing.Load() {
		ws.once.Do(func() { close(ws.done) })
	}
}

// enterUser marks the start of user code on w: a Close waiting from now on
// does not wait for w. A nil w (the caller's own goroutine, not the agent's)
// is allowed and tracks nothing.
func (w *worker) enterUser() {
	if w == nil {
		return
	}
	w.inUser.Store(true)
	if w.ws.closing.Load() {
		w.ws.mu.Lock()
		w.ws.cond.Broadcast()
		w.ws.mu.Unlock()
	}
}

// leaveUser marks the end of user code on w.
func (w *worker) leaveUser() {
	if w != nil {
		w.inUser.Store(false)
	}
}

// wait returns once every worker has exited or is running user code, after
// closing was set.
func (ws *workers) wait() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for {
		busy := false
		for _, w := range ws.set {
			if !w.inUser.Load() {
				busy = true
				break
			}
		}
		if !busy {
			break
		}
		ws.cond.Wait()
	}
	if len(ws.set) == 0 {
		ws.once.Do(func() { close(ws.done) })
	}
}
