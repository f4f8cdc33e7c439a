// SPDX-License-Identifier: MIT

package nice

import "time"

// pacer sends the agent's checks one at a time, Ta apart, over every
// checklist (RFC 8445 §6.1.4.2). It looks for a pair to check only after
// something changed that may give it one (checklist.changed), so an event
// that changes no checklist costs no scan of the pairs. Owned by the loop.
type pacer struct {
	next time.Time // no new check before this
	rr   int       // round robin over streams for triggered checks
	idle bool      // the last look found nothing, and nothing changed since
}

// wake makes the pacer look again (a stream was removed: its foundations
// no longer hold frozen pairs of other streams).
func (pc *pacer) wake() { pc.idle = false }

// checksPossible reports whether s can send checks.
func (a *Agent) checksPossible(s *stream) bool {
	return !a.cfg.Lite && s.rufrag != "" && s.rpwd != ""
}

// checksPending reports whether the pacer may have a check to send: it has
// not looked since a checklist changed. O(streams). Called on the loop.
func (a *Agent) checksPending() bool {
	for _, s := range a.streams {
		if s.checks.changed {
			s.checks.changed = false
			a.pacer.idle = false
		}
	}
	return !a.pacer.idle
}

// pace sends the next check if Ta allows (RFC 8445 §6.1.4.2): the first
// check goes out at once, later ones no sooner than Ta after the previous.
// Called on the loop.
func (a *Agent) pace(now time.Time) {
	if now.Before(a.pacer.next) || !a.checksPending() {
		return
	}
	p := a.nextPair()
	if p == nil {
		a.pacer.idle = true
		return
	}
	// Renomination disables aggressive nomination (draft-thatcher-ice-
	// renomination-01 §3): every nomination would be the latest.
	a.sendCheck(p, now, a.controlling && a.cfg.Nomination == NominationAggressive && !a.renominating(p.comp.s))
	a.pacer.next = now.Add(a.cfg.Ta)
}

// nextPair picks the pair to check next: a triggered check first, else the
// highest-priority Waiting pair, else a Frozen one is unfrozen.
// Called on the loop.
func (a *Agent) nextPair() *pair {
	n := len(a.streams)
	for i := range n {
		s := a.streams[(a.pacer.rr+i)%n]
		if !a.checksPossible(s) {
			continue
		}
		for p := s.checks.popTriggered(); p != nil; p = s.checks.popTriggered() {
			if p.state == pairWaiting || p.state == pairFrozen || p.state == pairInProgress && p.tx != nil && !p.tx.nominate {
				a.pacer.rr = (a.pacer.rr + i + 1) % n
				return p
			}
		}
	}
	for _, s := range a.streams {
		if !a.checksPossible(s) {
			continue
		}
		for _, p := range s.checks.pairs {
			if p.state == pairWaiting && a.checking(p.comp) {
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
		for _, p := range s.checks.pairs {
			if p.state == pairFrozen && a.checking(p.comp) && !a.foundationActive(p.foundation) {
				return p
			}
		}
	}
	return nil
}

// checking reports whether c's pairs are still checked: until it is READY,
// or for good on a controlling agent that may renominate (see stopChecks).
func (a *Agent) checking(c *component) bool {
	return c.state != ComponentStateReady || a.controlling && a.renominating(c.s)
}

// foundationActive reports whether a pair of this foundation is Waiting or
// In-Progress in any checklist. O(streams). Called on the loop.
func (a *Agent) foundationActive(f string) bool {
	for _, s := range a.streams {
		if s.checks.activeCount(f) > 0 {
			return true
		}
	}
	return false
}
