// SPDX-License-Identifier: MIT

package nice

import "time"

// checksPossible reports whether s can send checks.
func (a *Agent) checksPossible(s *stream) bool {
	return !a.cfg.Lite && s.rufrag != "" && s.rpwd != ""
}

// pace sends the next check if Ta allows (RFC 8445 §6.1.4.2): the first
// check goes out at once, later ones no sooner than Ta after the previous.
// Called on the loop.
func (a *Agent) pace(now time.Time) {
	if now.Before(a.nextCheck) {
		return
	}
	p := a.nextPair()
	if p == nil {
		return
	}
	a.sendCheck(p, now, a.controlling && a.cfg.Nomination == NominationAggressive)
	a.nextCheck = now.Add(a.cfg.Ta)
}

// nextPair picks the pair to check next: a triggered check first, else the
// highest-priority Waiting pair, else a Frozen one is unfrozen.
// Called on the loop.
func (a *Agent) nextPair() *pair {
	n := len(a.streams)
	for i := range n {
		s := a.streams[(a.rr+i)%n]
		if !a.checksPossible(s) {
			continue
		}
		for len(s.triggered) > 0 {
			p := s.triggered[0]
			s.triggered = s.triggered[1:]
			p.triggered = false
			if p.state == pairWaiting || p.state == pairFrozen || p.state == pairInProgress && p.tx != nil && !p.tx.nominate {
				a.rr = (a.rr + i + 1) % n
				return p
			}
		}
	}
	for _, s := range a.streams {
		if !a.checksPossible(s) {
			continue
		}
		for _, p := range s.checklist {
			if p.state == pairWaiting && p.comp.state != ComponentStateReady {
				return p
			}
		}
	}
	// No Waiting pair: unfreeze the best Frozen pair whose foundation has
	// no pair Waiting or In-Progress in any checklist.
	for _, s := range a.streams {
		if !a.checksPossible(s) {
			continue
		}
		for _, p := range s.checklist {
			if p.state == pairFrozen && p.comp.state != ComponentStateReady && !a.foundationActive(p.foundation) {
				return p
			}
		}
	}
	return nil
}

// foundationActive reports whether a pair of this foundation is Waiting or
// In-Progress in any checklist. Called on the loop.
func (a *Agent) foundationActive(f string) bool {
	for _, s := range a.streams {
		for _, p := range s.checklist {
			if p.foundation == f && (p.state == pairWaiting || p.state == pairInProgress) {
				return true
			}
		}
	}
	return false
}

// hasPendingChecks reports whether pacing has work.
func (a *Agent) hasPendingChecks() bool {
	for _, s := range a.streams {
		if !a.checksPossible(s) {
			continue
		}
		if len(s.triggered) > 0 {
			return true
		}
		for _, p := range s.checklist {
			if p.comp.state == ComponentStateReady {
				continue
			}
			if p.state == pairWaiting || p.state == pairFrozen && !a.foundationActive(p.foundation) {
				return true
			}
		}
	}
	return false
}
