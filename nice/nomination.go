// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"net"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
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
		c.selectedChanges++
		path := &sendPath{conn: sel.sk.conn, remote: sel.remote.Addr, out: sel.out}
		if sel.sk.relay == nil && sel.sk.tcp == nil {
			path.sock, path.udpAddr = sel.sk, net.UDPAddrFromAddrPort(sel.remote.Addr)
		}
		c.path.Store(path)
		c.lost.Store(false)
		if len(c.tcp) > 0 {
			c.s.checks.tcpPrune = true // the old path's connection may be unused now
		}
		if tx := c.consent.tx; tx != nil && (tx.sock != sel.sk || tx.dest != sel.remote.Addr) {
			// A consent request of the old pair, still retransmitted
			// (for up to 7.5 s with the defaults), would hold back the
			// new pair's requests (consent.tick sends one at a time), and
			// its consent would run out though the new path answers: seen
			// in the NAT lab after a rebinding (TestNATRebinding).
			a.txs.remove(tx)
			c.consent.tx = nil
		}
		c.consent.start(now, &a.cfg, c.state == ComponentStateReady)
		if a.debugOn(LogState) {
			a.logPair("pair.selected", sel, "nominated", sel.nominated, "changes", c.selectedChanges)
		}
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
// READY (RFC 8445 §8.1.2). A controlling agent that may renominate goes on
// checking them, as libwebrtc does, so that the pairs it may nominate next
// are valid on both sides (the peer answers with triggered checks). A
// controlled agent keeps the pairs of higher priority than the selected one
// that the peer has nominated (USE-CANDIDATE): a peer nominating
// aggressively (RFC 5245 §8.1.1.2; libnice's default) selects the
// highest-priority nominated pair, and its check of such a pair may have
// arrived just before the component became READY, its triggered check
// still queued; dropped, the pair never became valid here, and the two
// sides stayed on different pairs. Called on the loop.
func (a *Agent) stopChecks(c *component) {
	s := c.s
	if a.controlling && a.renominating(s) {
		return
	}
	keep := func(p *pair) bool {
		return !a.controlling && p.useCandIn && c.selected != nil && p.prio > c.selected.prio
	}
	for _, p := range s.checks.pairs {
		if p.comp == c && (p.state == pairWaiting || p.state == pairFrozen) && !keep(p) {
			s.checks.setState(p, pairFailed)
		}
	}
	s.checks.untrigger(func(p *pair) bool { return p.comp == c && !keep(p) })
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

// renominating reports whether nominations on s carry NOMINATION and
// Renominate may move the selected pair: Config.Renomination is on and the
// peer did not decline it in its SDP (libwebrtc sends NOMINATION only when
// both descriptions have a=ice-options:renomination; libnice and pion/ice
// signal nothing, and their applications turn it on, as ours does).
func (a *Agent) renominating(s *stream) bool {
	return a.cfg.Renomination && !a.cfg.Lite && !s.renomDeclined
}

// markNominated sets p's nominated flag. With renomination (exclusive) the
// latest nomination wins, so every other pair of the component loses it;
// updateSelection then selects p. Called on the loop.
func (a *Agent) markNominated(c *component, p *pair, exclusive bool) {
	p.nominated = true
	if !exclusive {
		return
	}
	for _, q := range c.s.checks.pairs {
		if q.comp == c && q != p {
			q.nominated = false
		}
	}
}

// nominatedByRequest is markNominated for a nomination in a request
// (USE-CANDIDATE, NOMINATION), logged when it is new.
func (a *Agent) nominatedByRequest(c *component, p *pair, exclusive bool) {
	was := p.nominated
	a.markNominated(c, p, exclusive)
	if !was && a.debugOn(LogChecks) {
		a.logPair("check.nominated", p, "by", "USE-CANDIDATE")
	}
}

// acceptNomination applies draft-thatcher-ice-renomination's rules to a
// request for pair p received by a controlled agent with renomination on:
// the largest NOMINATION value wins, and any value wins over none. It
// reports whether the request nominates p. A new value takes the pending
// nominations (USE-CANDIDATE on pairs still being checked) off the other
// pairs, so that only p can become nominated. Called on the loop.
func (a *Agent) acceptNomination(c *component, p *pair, useCand bool, nom uint32) bool {
	if nom == 0 {
		return useCand && c.nomSeen == 0
	}
	if nom <= c.nomSeen {
		return false // an older nomination, delivered late or retransmitted
	}
	c.nomSeen = nom
	for _, q := range c.s.checks.pairs {
		if q.comp == c && q != p && q != p.validPair {
			q.useCandIn = false
		}
	}
	return true
}

// Renominate nominates the pair of the given local and remote candidate
// foundations (as libnice's nice_agent_set_selected_pair names a pair) on
// a controlling agent with Config.Renomination: a check with USE-CANDIDATE
// and the next NOMINATION value (draft-thatcher-ice-renomination-01). When
// the peer answers, the pair is the only nominated one and becomes the
// selected pair on both sides, without an ICE restart: the agent signals
// new-selected-pair and the component stays READY. A pair that is not
// valid yet is checked first and nominated once the check succeeds. If the
// check fails, the selected pair stays. It returns ErrRenomination when
// the agent cannot renominate (see Config.Renomination) and ErrNoPair when
// no pair of the component has these foundations.
func (a *Agent) Renominate(streamID, componentID int, localFoundation, remoteFoundation string) error {
	return a.do(func(now time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		if !a.controlling || !a.renominating(c.s) {
			return ErrRenomination
		}
		if c.nomSent >= stunx.MaxNomination {
			return fmt.Errorf("%w: NOMINATION counter exhausted", ErrRenomination)
		}
		var p *pair
		for _, q := range c.s.checks.pairs {
			if q.comp == c && q.local.c.Foundation == localFoundation && q.remote.Foundation == remoteFoundation {
				p = q
				break
			}
		}
		if p == nil {
			return ErrNoPair
		}
		if vp := p.validPair; vp != nil && vp.valid {
			p = vp
		}
		if p.valid {
			c.renominate = nil
			a.sendCheck(p, now, true)
			return nil
		}
		c.renominate = p
		a.sendCheck(p, now, false)
		return nil
	})
}
