// SPDX-License-Identifier: MIT

package nice

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/stun"
)

// consent keeps a component's selected pair alive and tracks whether the
// peer still consents to receive (RFC 7675 consent freshness; with it off,
// the keepalives of RFC 8445 §11). It does no I/O: tick says what is due at
// now, and the agent sends it and reports back (sent, refreshed). Owned by
// the loop; the zero value is stopped.
type consent struct {
	next    time.Time    // the next keepalive or consent request; zero when stopped
	expiry  time.Time    // consent runs out unless refreshed; zero when not running
	revoked bool         // local consent withdrawn (ConsentLost) until a restart
	tx      *transaction // the consent request in flight
	stats   ConsentStats
}

// consentAction is what consent.tick asks the agent to do.
type consentAction int

const (
	consentNothing    consentAction = iota
	consentExpired                  // consent ran out: fail the component
	consentRequest                  // send a consent (or keepalive) Binding request
	consentIndication               // send a keepalive Binding indication
)

// freshness reports whether cfg runs RFC 7675 consent freshness.
func freshness(cfg *Config) bool { return !cfg.DisableConsentFreshness && !cfg.Lite }

// start runs consent on a newly selected pair: an expiry ConsentTimeout
// away (kept if the component stays READY, as a re-selection does not prove
// consent), and the first request one interval away if none is scheduled.
func (k *consent) start(now time.Time, cfg *Config, ready bool) {
	if k.expiry.IsZero() || !ready {
		k.expiry = now.Add(cfg.ConsentTimeout)
	}
	if k.next.IsZero() {
		k.next = nextKeepaliveAt(now, cfg)
	}
}

// stop ends consent (lost, or restart). The counters stay.
func (k *consent) stop() {
	k.next, k.expiry, k.tx = time.Time{}, time.Time{}, nil
}

// deadline is when tick must next run; zero if never.
func (k *consent) deadline(cfg *Config) time.Time {
	if freshness(cfg) {
		return earliest(k.next, k.expiry)
	}
	return k.next
}

// tick says what is due at now, and schedules the next keepalive when one
// is.
func (k *consent) tick(now time.Time, cfg *Config) consentAction {
	if freshness(cfg) && !k.expiry.IsZero() && !now.Before(k.expiry) {
		return consentExpired
	}
	if k.next.IsZero() || now.Before(k.next) {
		return consentNothing
	}
	k.next = nextKeepaliveAt(now, cfg)
	if freshness(cfg) || cfg.KeepaliveConncheck && !cfg.Lite {
		if k.tx != nil {
			return consentNothing // the last request is still being retransmitted
		}
		return consentRequest
	}
	return consentIndication
}

// sent records a request that went out.
func (k *consent) sent(tx *transaction, now time.Time) {
	k.tx = tx
	k.stats.RequestsSent++
	k.stats.LastRequestSent = now
}

// refreshed records a success response: consent lasts ConsentTimeout more.
func (k *consent) refreshed(now time.Time, cfg *Config) {
	k.expiry = now.Add(cfg.ConsentTimeout)
	k.stats.ResponsesReceived++
	k.stats.LastResponse = now
}

// snapshot returns the counters, with the expiry when consent freshness runs.
func (k *consent) snapshot(cfg *Config) ConsentStats {
	st := k.stats
	if freshness(cfg) {
		st.Expiry = k.expiry
	}
	return st
}

// keepaliveInterval is the interval of keepalives or consent checks.
func keepaliveInterval(cfg *Config) time.Duration {
	if !cfg.DisableConsentFreshness {
		// RFC 7675 §5.1: uniformly 0.8–1.2 times the interval.
		f := 0.8 + 0.4*rand.Float64()
		return time.Duration(float64(cfg.ConsentInterval) * f)
	}
	return cfg.KeepaliveInterval
}

// keepaliveSlack is the grid keepalive and consent deadlines are put on.
// Deadlines on one grid, in every agent of the process, fire together: a
// server with hundreds of agents wakes a few times per grid step instead of
// once per agent (each wake-up of an idle Go process costs far more CPU
// than the check itself; see BENCHMARKS.md). Like Linux's timer slack.
const keepaliveSlack = 200 * time.Millisecond

// nextKeepaliveAt is when the next keepalive or consent check is due after
// one sent at now: keepaliveInterval later, moved down onto the slack grid,
// or up when moving down would make it shorter than RFC 7675 allows, and
// a consent check at most one step short of the RFC's longest interval
// where that keeps the floor.
func nextKeepaliveAt(now time.Time, cfg *Config) time.Time {
	iv := keepaliveInterval(cfg)
	due := now.Add(iv)
	// Truncate drops the monotonic reading: take only the remainder from
	// it, so the deadline keeps now's monotonic clock.
	iv -= due.Sub(due.Truncate(keepaliveSlack))
	floor, ceiling := cfg.KeepaliveInterval, time.Duration(0)
	if !cfg.DisableConsentFreshness {
		floor = cfg.ConsentInterval * 4 / 5
		// One step under RFC 7675's 1.2 times the interval: a check sent up
		// to a step late (a server whose timer runners have thousands of
		// agents due at once) is still within the RFC's 6 s.
		ceiling = cfg.ConsentInterval*6/5 - keepaliveSlack
	}
	switch {
	case iv < floor:
		iv += keepaliveSlack
	case ceiling > 0 && iv > ceiling && iv-keepaliveSlack >= floor:
		// (Not when that would break the floor: an interval near the
		// grid step, as tests and labs set, keeps its 0.8 ×.)
		iv -= keepaliveSlack
	}
	return now.Add(iv)
}

// tickConsent runs a component's consent at now: keepalives and consent
// checks on the selected pair, and the loss of consent after ConsentTimeout
// (RFC 7675 §5.1). Called on the loop.
func (a *Agent) tickConsent(c *component, now time.Time) {
	act := c.consent.tick(now, &a.cfg)
	p := c.selected
	switch act {
	case consentExpired:
		if a.debugOn(LogConsent) {
			a.log.Debug("consent.expired", "stream", c.s.id, "component", c.id)
		}
		a.consentExpired(c, now)
	case consentRequest:
		if !a.checksPossible(c.s) {
			return
		}
		tx := a.newPairTransaction(txConsent, p)
		tx.control = a.controlling
		// The controlling agent's consent checks repeat the nomination
		// of its selected pair (USE-CANDIDATE on the pair it nominated;
		// RFC 8445 §8.1.1 forbids nominating another pair, not this one
		// again). When its NAT maps it to a new port, the peer sees this
		// pair as a new peer-reflexive one (RFC 8445 §7.3.1.3), checks it
		// and selects it on the first consent check that comes through,
		// instead of sending to the dead mapping until its own consent
		// expires (ARCHITECTURE.md, "Faults").
		tx.nominate = a.controlling && p.nominated
		tx.priority = p.local.sock.checkPriority(c.id)
		if err := a.buildCheck(tx); err != nil {
			a.txs.remove(tx)
			return
		}
		a.sendTransaction(tx, now)
		c.consent.sent(tx, now)
		if a.debugOn(LogConsent) {
			a.logPair("consent.sent", p, "tx", txID(tx))
		}
	case consentIndication:
		// A Binding indication (RFC 8445 §11).
		m := a.out
		m.Reset()
		if err := m.Build(stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.Fingerprint); err != nil {
			return
		}
		if _, err := p.sk.conn.WriteToUDPAddrPort(m.Raw, p.remote.Addr); err == nil {
			c.consent.stats.IndicationsSent++
			if a.debugOn(LogConsent) {
				a.logPair("consent.keepalive", p)
			}
		}
	}
}

// onConsentResponse refreshes consent on a success response.
// Called on the loop.
func (a *Agent) onConsentResponse(tx *transaction, from netip.AddrPort, m *stun.Message, now time.Time) {
	c := tx.comp
	if c.consent.tx == tx {
		c.consent.tx = nil
	}
	if tx.gen != tx.stream.gen || from != tx.dest {
		return
	}
	if m.Type.Class == stun.ClassErrorResponse {
		var ec stun.ErrorCodeAttribute
		if ec.GetFrom(m) == nil && ec.Code == stun.CodeRoleConflict {
			if a.debugOn(LogChecks) && tx.pair != nil {
				a.logPair("check.role-conflict", tx.pair, "reason", "487 received to a consent check", "controlling", !tx.control)
			}
			if tx.control == a.controlling {
				a.switchRole(!tx.control)
			}
			return
		}
		// RFC 7675 §5.1: an authenticated error means consent is gone.
		if a.debugOn(LogConsent) {
			a.log.Debug("consent.revoked", "stream", c.s.id, "component", c.id, "code", ec.Code)
		}
		if !a.cfg.DisableConsentFreshness {
			a.loseConsent(c, now)
		}
		return
	}
	c.consent.refreshed(now, &a.cfg)
}

// consentExpired handles the selected pair's consent running out. If the
// pair is relayed, the TURN server is asked whether it still has the
// allocation (turnAlloc.probe). A valid pair on another 5-tuple whose check
// succeeded within ConsentTimeout has consent of its own (a success
// response is consent, RFC 7675 §5.1; not through the same relay, which may
// be what went silent): after a NAT rebinding it is the pair the peer's
// checks from its new address made (checks_in.go). Then the component
// moves there instead of failing: CONNECTED, the pair selected, and
// nominated by the controlling agent (READY again). Valid pairs without
// fresh consent are dropped, as loseConsent drops them all. Without such a
// pair the component fails. Called on the loop.
func (a *Agent) consentExpired(c *component, now time.Time) {
	old := c.selected
	if old != nil && old.local.sock.relay != nil && !old.local.sock.relay.ended {
		// A relayed path went silent: the TURN server may have lost the
		// allocation (restarted); a Refresh tells (turn.go, lost).
		old.local.sock.relay.t.probe(now)
	}
	var next *pair
	if old != nil && freshness(&a.cfg) {
		for _, p := range c.s.checks.pairs {
			if p.comp != c || !p.valid || p == old || (p.sk == old.sk && p.remote.Addr == old.remote.Addr) {
				continue
			}
			if p.local.sock == old.local.sock && old.local.sock.relay != nil {
				continue // the relay itself may be what went silent
			}
			if now.Sub(p.succeededAt) < a.cfg.ConsentTimeout && (next == nil || p.prio > next.prio) {
				next = p
			}
		}
	}
	if next == nil {
		a.loseConsent(c, now)
		return
	}
	for _, p := range c.s.checks.pairs {
		if p.comp == c && p.valid && now.Sub(p.succeededAt) >= a.cfg.ConsentTimeout || p == old {
			p.valid, p.nominated = false, false
		}
	}
	if a.debugOn(LogConsent) {
		a.log.Debug("consent.moved", "stream", c.s.id, "component", c.id,
			"old", old.remote.Addr, "local", next.local.c.Addr, "remote", next.remote.Addr)
	}
	c.consent.stop()
	c.selected, c.nominating = nil, nil
	if c.state == ComponentStateReady {
		a.setState(c, ComponentStateConnected)
	}
	a.updateSelection(c, now)
	if c.selected == next {
		// Its consent dates from its last successful check: ask again at
		// once, as it may run out within a consent interval.
		c.consent.expiry = next.succeededAt.Add(a.cfg.ConsentTimeout)
		c.consent.next = now
	}
}

// loseConsent stops sending on a component and fails it (RFC 7675 §5.1).
// Called on the loop.
func (a *Agent) loseConsent(c *component, now time.Time) {
	c.lost.Store(true)
	c.path.Store(nil)
	c.selected = nil
	c.nominating = nil
	c.consent.stop()
	for _, p := range c.s.checks.pairs {
		if p.comp == c {
			p.valid = false
			p.nominated = false
			// A pair over ICE-TCP fails too: its connection carried
			// nothing back for ConsentTimeout (stalled, or dead without a
			// reset), and is closed (pruneTCP); a restart connects anew.
			if p.state != pairSucceeded || p.sk != nil && p.sk.tcp != nil {
				c.s.checks.setState(p, pairFailed)
			}
		}
	}
	a.setState(c, ComponentStateFailed)
}

// ConsentStats returns the keepalive and consent-freshness counters of a
// component (RFC 7675; pion's and the browsers' consentRequestsSent and
// lastResponseTimestamp). Expiry is when consent runs out unless a response
// refreshes it; zero when consent is not running (before READY, with
// consent freshness off, or after consent was lost).
func (a *Agent) ConsentStats(streamID, componentID int) (ConsentStats, error) {
	var st ConsentStats
	err := a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		st = c.consent.snapshot(&a.cfg)
		return nil
	})
	return st, err
}

// ConsentLost revokes local consent on a component (RFC 7675 §5.2,
// nice_agent_consent_lost): the peer's checks are answered with 403, Send
// fails with ErrConsentLost, and the component goes FAILED. A restart
// restores consent.
func (a *Agent) ConsentLost(streamID, componentID int) error {
	return a.do(func(now time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		c.consent.revoked = true
		a.loseConsent(c, now)
		return nil
	})
}
