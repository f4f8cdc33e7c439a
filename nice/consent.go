// SPDX-License-Identifier: MIT

package nice

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/stun"
)

// keepaliveInterval is the interval of keepalives or consent checks.
func (a *Agent) keepaliveInterval() time.Duration {
	if !a.cfg.DisableConsentFreshness {
		// RFC 7675 §5.1: uniformly 0.8–1.2 times the interval.
		f := 0.8 + 0.4*rand.Float64()
		return time.Duration(float64(a.cfg.ConsentInterval) * f)
	}
	return a.cfg.KeepaliveInterval
}

// keepaliveSlack is the grid keepalive and consent deadlines are put on.
// Deadlines on one grid, in every agent of the process, fire together: a
// server with hundreds of agents wakes a few times per grid step instead of
// once per agent (each wake-up of an idle Go process costs far more CPU
// than the check itself; see BENCHMARKS.md). Like Linux's timer slack.
const keepaliveSlack = 200 * time.Millisecond

// nextKeepaliveAt is when the next keepalive or consent check is due after
// one sent at now: keepaliveInterval later, moved down onto the slack grid,
// or up when moving down would make it shorter than RFC 7675 allows.
func (a *Agent) nextKeepaliveAt(now time.Time) time.Time {
	iv := a.keepaliveInterval()
	due := now.Add(iv)
	// Truncate drops the monotonic reading: take only the remainder from
	// it, so the deadline keeps now's monotonic clock.
	iv -= due.Sub(due.Truncate(keepaliveSlack))
	floor := a.cfg.KeepaliveInterval
	if !a.cfg.DisableConsentFreshness {
		floor = a.cfg.ConsentInterval * 4 / 5
	}
	if iv < floor {
		iv += keepaliveSlack
	}
	return now.Add(iv)
}

// tickConsent sends keepalives and consent checks on the selected pair and
// declares consent lost after ConsentTimeout (RFC 7675 §5.1). Called on the loop.
func (a *Agent) tickConsent(c *component, now time.Time) {
	consent := !a.cfg.DisableConsentFreshness && !a.cfg.Lite
	if consent && !c.consentExpiry.IsZero() && !now.Before(c.consentExpiry) {
		a.log.Debug("consent expired", "stream", c.s.id, "component", c.id)
		a.loseConsent(c, now)
		return
	}
	if c.nextKeepalive.IsZero() || now.Before(c.nextKeepalive) {
		return
	}
	c.nextKeepalive = a.nextKeepaliveAt(now)
	p := c.selected
	if consent || a.cfg.KeepaliveConncheck && !a.cfg.Lite {
		if c.consentTx != nil || !a.checksPossible(c.s) {
			return
		}
		tx := a.newTransaction(txConsent, c.s, c, p.local.sock, p.remote.Addr)
		tx.control = a.controlling
		tx.priority = p.local.sock.checkPriority(c.id)
		if err := a.buildCheck(tx); err != nil {
			a.txs.remove(tx)
			return
		}
		c.consentTx = tx
		a.sendTransaction(tx, now)
		c.consent.RequestsSent++
		c.consent.LastRequestSent = now
		return
	}
	// A Binding indication (RFC 8445 §11).
	m := a.out
	m.Reset()
	if err := m.Build(stun.TransactionID, stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.Fingerprint); err != nil {
		return
	}
	if _, err := p.local.sock.conn.WriteToUDPAddrPort(m.Raw, p.remote.Addr); err == nil {
		c.consent.IndicationsSent++
	}
}

// onConsentResponse refreshes consent on a success response.
// Called on the loop.
func (a *Agent) onConsentResponse(tx *transaction, from netip.AddrPort, m *stun.Message, now time.Time) {
	c := tx.comp
	if c.consentTx == tx {
		c.consentTx = nil
	}
	if tx.gen != tx.stream.gen || from != tx.dest {
		return
	}
	if m.Type.Class == stun.ClassErrorResponse {
		var ec stun.ErrorCodeAttribute
		if ec.GetFrom(m) == nil && ec.Code == stun.CodeRoleConflict {
			if tx.control == a.controlling {
				a.switchRole(!tx.control)
			}
			return
		}
		// RFC 7675 §5.1: an authenticated error means consent is gone.
		if !a.cfg.DisableConsentFreshness {
			a.loseConsent(c, now)
		}
		return
	}
	c.consentExpiry = now.Add(a.cfg.ConsentTimeout)
	c.consent.ResponsesReceived++
	c.consent.LastResponse = now
}

// loseConsent stops sending on a component and fails it (RFC 7675 §5.1).
// Called on the loop.
func (a *Agent) loseConsent(c *component, now time.Time) {
	c.lost.Store(true)
	c.path.Store(nil)
	c.selected = nil
	c.nominating = nil
	c.consentExpiry = time.Time{}
	c.nextKeepalive = time.Time{}
	for _, p := range c.s.checks.pairs {
		if p.comp == c {
			p.valid = false
			p.nominated = false
			if p.state != pairSucceeded {
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
		st = c.consent
		if !a.cfg.DisableConsentFreshness && !a.cfg.Lite {
			st.Expiry = c.consentExpiry
		}
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
		c.consentRevoked = true
		a.loseConsent(c, now)
		return nil
	})
}
