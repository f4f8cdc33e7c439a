// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"slices"
	"time"
)

// pairState is the state of a candidate pair (RFC 8445 §6.1.2.6).
type pairState int

const (
	pairFrozen pairState = iota
	pairWaiting
	pairInProgress
	pairSucceeded
	pairFailed
)

var pairStateNames = [...]string{"frozen", "waiting", "in-progress", "succeeded", "failed"}

func (s pairState) String() string { return pairStateNames[s] }

// pair is a candidate pair of a checklist. Its state changes only through
// checklist.setState, which keeps the checklist's counts.
type pair struct {
	comp   *component
	local  *localCandidate
	remote *Candidate
	// sk is the socket the pair's checks and data go on: the local
	// candidate's for UDP; for ICE-TCP its connection, nil until one is
	// made (dialCancel stops a dial in progress).
	sk          *socket
	dialCancel  context.CancelFunc
	prio        uint64
	state       pairState
	foundation  string
	valid       bool // in the valid list (RFC 8445 §7.2.5.3.2)
	nominated   bool
	useCandIn   bool // the peer sent USE-CANDIDATE for this pair (controlled)
	tx          *transaction
	ctr         checkCounters // stats: connectivity checks (loop-owned)
	out         *flowCounters // stats: data sent on the pair (the data path adds)
	validPair   *pair         // the valid pair this check produced
	triggered   bool          // queued in the triggered-check queue (checklist.trigger)
	retriggered bool          // an In-Progress check was repeated for a peer's check
	// succeededAt is when a check of this valid pair last succeeded: a
	// success response is consent for its 5-tuple (RFC 7675 §5.1), which
	// consentExpired looks for.
	succeededAt time.Time
}

// newPair makes the pair (l, r) of component c, not yet in a checklist.
func newPair(c *component, l *localCandidate, r *Candidate) *pair {
	p := &pair{comp: c, local: l, remote: r, foundation: l.c.Foundation + ":" + r.Foundation, out: new(flowCounters)}
	if !l.c.Transport.isTCP() {
		p.sk = l.sock
	}
	return p
}

// computePriority sets the pair priority for the agent's current role.
func (p *pair) computePriority(controlling bool) {
	if controlling {
		p.prio = pairPriority(p.local.c.Priority, p.remote.Priority)
	} else {
		p.prio = pairPriority(p.remote.Priority, p.local.c.Priority)
	}
}

// checklist is a stream's checklist (RFC 8445 §6.1.2): its pairs in
// priority order, the triggered-check queue, and the counts the pacer reads
// instead of scanning every pair after every event. Owned by the loop.
type checklist struct {
	pairs     []*pair // highest priority first
	triggered []*pair // FIFO triggered-check queue (RFC 8445 §6.1.4.1)
	// active counts, per foundation, the pairs of this checklist that are
	// Waiting or In-Progress (the frozen-pair rule of §6.1.2.6 looks at
	// every checklist: see Agent.foundationActive). Few foundations are
	// active at a time: a slice, not a map (a map per agent costs more
	// than the pairs it counts).
	active []foundationCount
	// changed is set by every change that may give the pacer a check to
	// send; the pacer clears it when it finds none (pacer.idle).
	changed bool
	// trace, when set, is told every state change (the debug event
	// pair.state): the agent sets it when LogState is on.
	trace func(p *pair, from, to pairState)
	// tcpPrune is set when an ICE-TCP connection may have lost its last
	// user (a pair on one failed, a new pair was selected, a restart):
	// the agent looks for connections to close after the event.
	tcpPrune bool
}

// setState moves p to st, keeping the counts.
func (cl *checklist) setState(p *pair, st pairState) {
	if p.state == st {
		return
	}
	if isActive(p.state) {
		if i := cl.activeIndex(p.foundation); i >= 0 {
			if cl.active[i].n--; cl.active[i].n <= 0 {
				cl.active = slices.Delete(cl.active, i, i+1)
			}
		}
	}
	if isActive(st) {
		if i := cl.activeIndex(p.foundation); i >= 0 {
			cl.active[i].n++
		} else {
			cl.active = append(cl.active, foundationCount{p.foundation, 1})
		}
	}
	if cl.trace != nil {
		cl.trace(p, p.state, st)
	}
	if st == pairFailed && p.sk != nil && p.sk.tcp != nil {
		cl.tcpPrune = true
	}
	p.state = st
	cl.changed = true
}

// foundationCount is a foundation and how many pairs hold it.
type foundationCount struct {
	foundation string
	n          int
}

// activeIndex returns the index of foundation f in cl.active, or -1.
func (cl *checklist) activeIndex(f string) int {
	for i := range cl.active {
		if cl.active[i].foundation == f {
			return i
		}
	}
	return -1
}

// activeCount returns how many pairs of the checklist hold foundation f.
func (cl *checklist) activeCount(f string) int {
	if i := cl.activeIndex(f); i >= 0 {
		return cl.active[i].n
	}
	return 0
}

// isActive reports whether a pair in state st holds its foundation
// (Waiting or In-Progress).
func isActive(st pairState) bool { return st == pairWaiting || st == pairInProgress }

// find returns the pair (l, r), or nil.
func (cl *checklist) find(l *localCandidate, r *Candidate) *pair {
	for _, p := range cl.pairs {
		if p.local == l && p.remote == r {
			return p
		}
	}
	return nil
}

// insert adds p, in priority order, in state st.
func (cl *checklist) insert(p *pair, st pairState) {
	p.state = pairFailed // counted from nothing
	i, _ := slices.BinarySearchFunc(cl.pairs, p, byPriority)
	cl.pairs = slices.Insert(cl.pairs, i, p)
	cl.setState(p, st)
}

// removeAt drops the i-th pair.
func (cl *checklist) removeAt(i int) {
	p := cl.pairs[i]
	cl.setState(p, pairFailed)
	cl.pairs = slices.Delete(cl.pairs, i, i+1)
	cl.untrigger(func(x *pair) bool { return x == p })
}

// trigger queues p for a triggered check unless it is queued.
func (cl *checklist) trigger(p *pair) {
	if !p.triggered {
		p.triggered = true
		cl.triggered = append(cl.triggered, p)
		cl.changed = true
	}
}

// popTriggered takes the oldest queued pair, or nil.
func (cl *checklist) popTriggered() *pair {
	if len(cl.triggered) == 0 {
		return nil
	}
	p := cl.triggered[0]
	cl.triggered[0] = nil
	cl.triggered = cl.triggered[1:]
	if len(cl.triggered) == 0 {
		cl.triggered = nil
	}
	p.triggered = false
	return p
}

// untrigger drops the queued pairs for which drop is true.
func (cl *checklist) untrigger(drop func(*pair) bool) {
	cl.triggered = slices.DeleteFunc(cl.triggered, func(p *pair) bool {
		if drop(p) {
			p.triggered = false
			return true
		}
		return false
	})
}

// resort recomputes every priority for the role and re-sorts (role change,
// a candidate's priority updated).
func (cl *checklist) resort(controlling bool) {
	for _, p := range cl.pairs {
		p.computePriority(controlling)
	}
	slices.SortStableFunc(cl.pairs, byPriority)
}

// reset empties the checklist (restart).
func (cl *checklist) reset() { *cl = checklist{changed: true, trace: cl.trace, tcpPrune: true} }

// byPriority orders pairs by priority, highest first.
func byPriority(x, y *pair) int {
	switch {
	case x.prio > y.prio:
		return -1
	case x.prio < y.prio:
		return 1
	}
	return 0
}

// addPair forms the pair (l, r) if usable and new, and returns it.
// Called on the loop.
func (a *Agent) addPair(c *component, l *localCandidate, r *Candidate, now time.Time) *pair {
	return a.addPairOn(c, l, r, nil, now)
}

// addPairOn is addPair for a check that came on socket sk (nil: none):
// an ICE-TCP connection the peer made pairs our passive candidate with
// the peer's active one. Called on the loop.
func (a *Agent) addPairOn(c *component, l *localCandidate, r *Candidate, sk *socket, now time.Time) *pair {
	if l.c.Addr.Addr().Is4() != r.Addr.Addr().Is4() || !r.Addr.Addr().IsValid() {
		return nil
	}
	if l.c.Transport.isTCP() {
		if !tcpPairable(l.c.Transport, r, sk != nil && sk.tcp != nil && sk.tcp.accepted) {
			return nil
		}
	} else if r.Transport != TransportUDP || r.Addr.Port() == 0 {
		return nil
	}
	cl := &c.s.checks
	if p := cl.find(l, r); p != nil {
		return p
	}
	p := newPair(c, l, r)
	p.computePriority(a.controlling)
	if ra := l.sock.relay; ra != nil {
		ra.permit(r.Addr)
	}
	// RFC 8445 §6.1.2.6: one pair per foundation starts Waiting, the others
	// Frozen until a pair of their foundation succeeds.
	st := pairWaiting
	if slices.ContainsFunc(cl.pairs, func(o *pair) bool { return o.foundation == p.foundation && o.state != pairFailed }) {
		st = pairFrozen
	}
	cl.insert(p, st)
	// Bound the checklist (RFC 8445 §6.1.2.5): drop the lowest-priority
	// pair that is not being checked.
	if len(cl.pairs) > a.cfg.MaxChecks {
		for j := len(cl.pairs) - 1; j >= 0; j-- {
			q := cl.pairs[j]
			if q.state == pairFrozen || q.state == pairWaiting || q.state == pairFailed {
				cl.removeAt(j)
				if q == p {
					return nil
				}
				break
			}
		}
	}
	return p
}
