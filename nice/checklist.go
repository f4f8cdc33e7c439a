// SPDX-License-Identifier: MIT

package nice

import (
	"slices"
	"time"
)

// pairState is the state of a candidate pair (RFC 8445 §6.1.2.6).
type pairState int

var pairStateNames = [...]string{"frozen", "waiting", "in-progress", "succeeded", "failed"}

func (s pairState) String() string { return pairStateNames[s] }

// pair is a candidate pair of a checklist.
type pair struct {
	comp        *component
	local       *localCandidate
	remote      *Candidate
	prio        uint64
	state       pairState
	foundation  string
	valid       bool // in the valid list (RFC 8445 §7.2.5.3.2)
	nominated   bool
	useCandIn   bool // the peer sent USE-CANDIDATE for this pair (controlled)
	tx          *transaction
	validPair   *pair // the valid pair this check produced
	triggered   bool  // queued in the triggered-check queue
	retriggered bool  // an In-Progress check was repeated for a peer's check
}

// computePriority sets the pair priority for the agent's current role.
func (p *pair) computePriority(controlling bool) {
	if controlling {
		p.prio = pairPriority(p.local.c.Priority, p.remote.Priority)
	} else {
		p.prio = pairPriority(p.remote.Priority, p.local.c.Priority)
	}
}

// addPair forms the pair (l, r) if usable and new, and returns it.
// Called on the loop.
func (a *Agent) addPair(c *component, l *localCandidate, r *Candidate, now time.Time) *pair {
	if l.c.Addr.Addr().Is4() != r.Addr.Addr().Is4() || r.Transport != TransportUDP || !r.Addr.Addr().IsValid() || r.Addr.Port() == 0 {
		return nil
	}
	s := c.s
	for _, p := range s.checklist {
		if p.local == l && p.remote == r {
			return p
		}
	}
	p := &pair{comp: c, local: l, remote: r, foundation: l.c.Foundation + ":" + r.Foundation}
	p.computePriority(a.controlling)
	if ra := l.sock.relay; ra != nil {
		ra.permit(r.Addr.Addr())
	}
	// RFC 8445 §6.1.2.6: one pair per foundation starts Waiting, the others
	// Frozen until a pair of their foundation succeeds.
	p.state = pairWaiting
	for _, o := range s.checklist {
		if o.foundation == p.foundation && o.state != pairFailed {
			p.state = pairFrozen
			break
		}
	}
	s.insert(p)
	// Bound the checklist (RFC 8445 §6.1.2.5): drop the lowest-priority
	// pair that is not being checked.
	if len(s.checklist) > a.cfg.MaxChecks {
		for j := len(s.checklist) - 1; j >= 0; j-- {
			q := s.checklist[j]
			if q.state == pairFrozen || q.state == pairWaiting || q.state == pairFailed {
				s.checklist = slices.Delete(s.checklist, j, j+1)
				s.triggered = slices.DeleteFunc(s.triggered, func(x *pair) bool { return x == q })
				if q == p {
					return nil
				}
				break
			}
		}
	}
	return p
}

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

// insert adds p to the checklist in priority order. Called on the loop.
func (s *stream) insert(p *pair) {
	i, _ := slices.BinarySearchFunc(s.checklist, p, byPriority)
	s.checklist = slices.Insert(s.checklist, i, p)
}

// recomputePriorities re-sorts every checklist of s (role change, updated
// candidate priority). Called on the loop.
func (a *Agent) recomputePriorities(s *stream) {
	for _, p := range s.checklist {
		p.computePriority(a.controlling)
	}
	slices.SortStableFunc(s.checklist, byPriority)
}

const (
	pairFrozen pairState = iota
	pairWaiting
	pairInProgress
	pairSucceeded
	pairFailed
)
