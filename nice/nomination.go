// SPDX-License-Identifier: MIT

package nice

import (
	"net"
	"time"
)

// updateSelection picks the pair data is sent on and moves the component
// to CONNECTED or READY; as controlling agent with regular nomination it
// nominates when the time has come. Called on the loop.
func (a *Agent) updateSelection(c *component, now time.Time) {
	if c.consent.revoked {
		return
	}
	var best, bestNom *pair
	for _, p := range c.s.checks.pairs {
		if p.comp != c || !p.valid {
			continue
		}
		if best == nil || p.prio > best.prio {
			best = p
		}
		if p.nominated && (bestNom == nil || p.prio > bestNom.prio) {
			bestNom = p
		}
	}
	if best == nil {
		return
	}
	sel := best
	if bestNom != nil {
		sel = bestNom
	} else if c.selected != nil && c.selected.nominated {
		sel = c.selected
	}
	if c.state < ComponentStateConnected || c.state == ComponentStateFailed {
		a.setState(c, ComponentStateConnected)
	}
	if sel != c.selected {
		c.selected = sel
		path := &sendPath{conn: sel.local.sock.conn, remote: sel.remote.Addr}
		if sel.local.sock.relay == nil {
			path.sock, path.udpAddr = sel.local.sock, net.UDPAddrFromAddrPort(sel.remote.Addr)
		}
		c.path.Store(path)
		c.lost.Store(false)
		if tx := c.consent.tx; tx != nil && (tx.sock != sel.local.sock || tx.dest != sel.remote.Addr) {
			// A consent request of the old pair, still retransmitted
			// (for up to 7.5 s with the defaults), would hold back the
			// new pair's requests (consent.tick sends one at a time), and
			// its consent would run out though the new path answers: seen
			// in the NAT lab after a rebinding (TestNATRebinding).
			a.txs.remove(tx)
			c.consent.tx = nil
		}
		c.consent.start(now, &a.cfg, c.state == ComponentStateReady)
		a.log.Debug("selected pair", "stream", c.s.id, "component", c.id, "local", sel.local.c.Addr, "remote", sel.remote.Addr)
		a.events.push(event{kind: evNewSelectedPair, streamID: c.s.id, componentID: c.id, cand: sel.local.c, remote: *sel.remote})
	}
	if sel.nominated {
		if c.state != ComponentStateReady {
			a.setState(c, ComponentStateReady)
			a.stopChecks(c)
		}
		return
	}
	a.maybeNominate(c, now)
}

// maybeNominate runs regular nomination (RFC 8445 §8.1.1): once no pair of
// higher priority than the best valid pair is still pending, or
// NominationDelay after the first valid pair, the controlling agent repeats
// the check on the best valid pair with USE-CANDIDATE. The nominating check
// is sent at once, outside Ta pacing: it re-checks a pair already proven, and
// waiting a Ta would add Ta to every connection's setup. Called on the loop.
func (a *Agent) maybeNominate(c *component, now time.Time) {
	if !a.controlling || a.cfg.Lite || c.nominating != nil || c.state == ComponentStateReady {
		return
	}
	var best *pair
	pendingHigher := false
	for _, p := range c.s.checks.pairs {
		if p.comp != c {
			continue
		}
		if p.valid && (best == nil || p.prio > best.prio) {
			best = p
		}
	}
	if best == nil || best.nominated {
		return
	}
	for _, p := range c.s.checks.pairs {
		if p.comp == c && p.prio > best.prio && (p.state == pairWaiting || p.state == pairInProgress || p.state == pairFrozen) {
			pendingHigher = true
			break
		}
	}
	if pendingHigher && now.Before(c.firstValid.Add(a.cfg.NominationDelay)) {
		return
	}
	a.sendCheck(best, now, true)
}

// stopChecks drops the Waiting and Frozen pairs of a component that is
// READY (RFC 8445 §8.1.2). Called on the loop.
func (a *Agent) stopChecks(c *component) {
	s := c.s
	for _, p := range s.checks.pairs {
		if p.comp == c && (p.state == pairWaiting || p.state == pairFrozen) {
			s.checks.setState(p, pairFailed)
		}
	}
	s.checks.untrigger(func(p *pair) bool { return p.comp == c })
}

// checkFailure moves a component to FAILED when every pair has failed, the
// peer will send no more candidates and local gathering is done (RFC 8838
// §8: a candidate still being gathered may form a working pair); without
// end-of-candidates it waits IdleTimeout first. finishGathering has it run
// again. Called on the loop.
func (a *Agent) checkFailure(c *component, now time.Time) {
	if c.state == ComponentStateFailed || c.selected != nil || len(c.remote) == 0 {
		return
	}
	for _, p := range c.s.checks.pairs {
		if p.comp == c && p.state != pairFailed {
			return
		}
	}
	if a.cfg.Lite || !c.s.gatheringDone {
		return
	}
	if c.s.peerGatheringDone {
		a.setState(c, ComponentStateFailed)
		return
	}
	if c.failAt.IsZero() {
		c.failAt = now.Add(a.cfg.IdleTimeout)
	}
}
