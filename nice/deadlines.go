// SPDX-License-Identifier: MIT

package nice

import "time"

// tickStream runs a stream's expired deadlines. Called on the loop.
func (a *Agent) tickStream(s *stream, now time.Time) {
	if !s.gatherDeadline.IsZero() && !now.Before(s.gatherDeadline) {
		a.txs.removeFunc(func(tx *transaction) bool {
			if tx.kind != txDiscovery || tx.stream != s {
				return false
			}
			a.stunFailed(tx, ErrSTUNTimeout)
			return true
		})
		s.pendingDiscoveries = 0
		if a.debugOn(LogGather) && !s.gatheringDone {
			a.log.Debug("gather.timeout", "stream", s.id, "after", a.cfg.GatheringTimeout)
		}
		a.cancelRelays(s)
		if !s.gatheringDone {
			a.finishGathering(s)
		}
	}
	for _, c := range s.comps {
		if !c.failAt.IsZero() && !now.Before(c.failAt) {
			c.failAt = time.Time{}
			if c.selected == nil {
				a.setState(c, ComponentStateFailed)
			}
		}
		if c.selected != nil && c.state != ComponentStateFailed {
			if c.state == ComponentStateConnected {
				a.maybeNominate(c, now)
			}
			a.tickConsent(c, now)
		}
	}
}

// nextDeadline is the earliest time the loop must wake. Called on the loop.
func (a *Agent) nextDeadline(now time.Time) time.Time {
	var next time.Time
	next = earliest(next, a.txs.next())
	next = earliest(next, a.relayDeadline())
	if a.checksPending() {
		next = earliest(next, a.pacer.next)
	}
	for _, s := range a.streams {
		next = earliest(next, s.gatherDeadline)
		for _, c := range s.comps {
			next = earliest(next, c.failAt)
			if c.selected != nil && c.state != ComponentStateFailed {
				if c.state == ComponentStateConnected && a.controlling && c.nominating == nil && !c.firstValid.IsZero() {
					next = earliest(next, c.firstValid.Add(a.cfg.NominationDelay))
				}
				next = earliest(next, c.consent.deadline(&a.cfg))
			}
		}
	}
	if !next.IsZero() && next.Before(now) {
		next = now
	}
	return next
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

// rearm sets the timer to the earliest deadline. Called on the loop.
func (a *Agent) rearm(now time.Time) {
	next := a.nextDeadline(now)
	if next.IsZero() {
		if !a.timerAt.IsZero() {
			a.stopTimer()
			a.timerAt = time.Time{}
		}
		return
	}
	if next.Equal(a.timerAt) {
		return
	}
	a.timerAt = next
	a.armTimer(next, max(next.Sub(now), 0))
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
