// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"time"
	"unsafe"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// maxPeerReflexive bounds the local peer-reflexive candidates of a
// component: one per distinct mapping a peer reports.
const maxPeerReflexive = 16

// localPrflx counts the component's local peer-reflexive candidates.
func (c *component) localPrflx() int {
	n := 0
	for _, l := range c.local {
		if l.c.Type == CandidateTypePeerReflexive {
			n++
		}
	}
	return n
}

// buildCheck encodes a connectivity check (RFC 8445 §7.2.2) for tx. The
// attributes are added one by one, not as a list of stun.Setters: the list
// and the values boxed in it would allocate for every check, consent
// checks included (BenchmarkBuildCheck).
func (a *Agent) buildCheck(tx *transaction) error {
	s := tx.stream
	m := a.out
	m.Reset()
	m.Type = stun.BindingRequest
	m.TransactionID = tx.id
	m.WriteHeader()
	var ub [64]byte
	user := append(append(append(ub[:0], s.rufrag...), ':'), s.ufrag...)
	if err := stun.CheckOverflow(stun.AttrUsername, len(user), maxUsernameB); err != nil {
		return err
	}
	m.Add(stun.AttrUsername, user)
	err := stunx.Priority(tx.priority).AddTo(m)
	if err == nil && tx.control {
		err = stunx.ICEControlling(a.tieBreaker).AddTo(m)
	} else if err == nil {
		err = stunx.ICEControlled(a.tieBreaker).AddTo(m)
	}
	if err == nil && tx.nominate {
		err = stunx.UseCandidate{}.AddTo(m)
	}
	if err == nil && tx.nomValue != 0 {
		err = stunx.Nomination(tx.nomValue).AddTo(m)
	}
	if err == nil {
		err = a.sign(m, s.rpwd)
	}
	if err != nil {
		return err
	}
	tx.pwd = s.rpwd
	tx.raw = append(tx.raw[:0], m.Raw...)
	return nil
}

// maxUsernameB is the longest USERNAME (RFC 5389 §15.3), as pion's
// stun.Username checks it.
const maxUsernameB = 513

// sign ends m with the agent's SOFTWARE, if configured, MESSAGE-INTEGRITY
// with the short-term password pwd (none if pwd is empty) and FINGERPRINT.
func (a *Agent) sign(m *stun.Message, pwd string) error {
	if a.cfg.Software != "" {
		if err := stun.Software(stringBytes(a.cfg.Software)).AddTo(m); err != nil {
			return err
		}
	}
	if pwd != "" {
		if err := stun.MessageIntegrity(stringBytes(pwd)).AddTo(m); err != nil {
			return err
		}
	}
	return stun.Fingerprint.AddTo(m)
}

// stringBytes returns the bytes of s without a copy, for a value that is
// only read: an attribute's value that is copied into a message, or an
// HMAC key (pion copies it into its pads). A conversion would allocate per
// message.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// sendCheck starts a connectivity check on p. Called on the loop.
func (a *Agent) sendCheck(p *pair, now time.Time, nominate bool) {
	c := p.comp
	s := c.s
	if p.tx != nil {
		// A check is in flight: a new one replaces it (RFC 8445 §7.2.5.4).
		a.txs.remove(p.tx)
		p.tx = nil
	}
	if p.local.c.Transport.isTCP() && (p.sk == nil || p.sk.closed.Load()) {
		// ICE-TCP: the check goes on the pair's connection. A local
		// active candidate connects (the check is sent once it is made);
		// a passive one cannot: its connection is gone.
		p.sk = nil
		if p.local.c.Transport == TransportTCPPassive {
			if p.state != pairSucceeded {
				s.checks.setState(p, pairFailed)
			}
			return
		}
		a.tcpConnect(p, now)
	}
	tx := a.newPairTransaction(txCheck, p)
	tx.nominate = nominate
	tx.control = a.controlling
	if nominate && a.renominating(s) && c.nomSent < stunx.MaxNomination {
		c.nomSent++
		tx.nomValue = c.nomSent
	}
	// PRIORITY: the priority a peer-reflexive candidate from this base
	// would have (RFC 8445 §7.2.2).
	tx.priority = p.local.sock.checkPriority(c.id)
	if err := a.buildCheck(tx); err != nil {
		a.log.Warn("nice: building check", "err", err)
		a.txs.remove(tx)
		return
	}
	p.tx = tx
	if p.state != pairSucceeded {
		s.checks.setState(p, pairInProgress)
	}
	if nominate {
		c.nominating = p
	}
	a.sendTransaction(tx, now)
	if a.debugOn(LogChecks) {
		a.logPair("check.sent", p, "tx", txID(tx), "nominate", nominate, "controlling", tx.control, "priority", tx.priority)
	}
}

// onCheckResponse processes the response to a connectivity check
// (RFC 8445 §7.2.5). Called on the loop.
func (a *Agent) onCheckResponse(tx *transaction, from netip.AddrPort, m *stun.Message, now time.Time) {
	p, c, s := tx.pair, tx.comp, tx.stream
	if p.tx == tx {
		p.tx = nil
	}
	if tx.gen != s.gen || s.comps[c.id-1] != c {
		return
	}
	if tx.nominate && c.nominating == p {
		c.nominating = nil
	}
	renominate := !tx.nominate && c.renominate == p
	if renominate {
		c.renominate = nil
	}
	if m.Type.Class == stun.ClassErrorResponse {
		var ec stun.ErrorCodeAttribute
		if ec.GetFrom(m) == nil && ec.Code == stun.CodeRoleConflict {
			if a.debugOn(LogChecks) {
				a.logPair("check.role-conflict", p, "reason", "487 received", "controlling", !tx.control)
			}
			// RFC 8445 §7.2.5.1: switch role and retry the pair.
			if tx.control == a.controlling {
				a.switchRole(!tx.control)
			}
			if p.state != pairSucceeded {
				s.checks.setState(p, pairWaiting)
			}
			s.checks.trigger(p)
			return
		}
		// RFC 8445 §7.2.5.2.4: an error other than 487 fails the pair,
		// also one that had succeeded before (a peer that changed its
		// credentials, or refuses us): it leaves the valid list, so that
		// it is neither used nor nominated again.
		a.failPair(p, now)
		a.checkFailure(c, now)
		return
	}
	// RFC 8445 §7.2.5.2.1: the response must come from where the request
	// went, on the socket it left from.
	if from != tx.dest {
		if a.debugOn(LogChecks) {
			a.logPair("check.failed", p, "reason", "asymmetric response", "from", from)
		}
		s.checks.setState(p, pairFailed)
		a.checkFailure(c, now)
		return
	}
	mapped := mappedAddress(m)
	if !mapped.IsValid() {
		s.checks.setState(p, pairFailed)
		a.checkFailure(c, now)
		return
	}
	// The valid pair (§7.2.5.3.2): the local candidate whose address is the
	// mapped address; a new peer-reflexive one if none is (§7.2.5.3.1).
	l := c.findLocal(mapped, tx.sock)
	if tx.sock.tcp != nil {
		// ICE-TCP: the mapped address is the connection's source port,
		// which no candidate advertises (an active one says 9); the pair's
		// own candidate is the valid one. (Peer-reflexive TCP candidates
		// behind a NAT are not learned, as libnice does not.)
		l = p.local
	}
	if l == nil && c.localPrflx() >= maxPeerReflexive {
		// Bound what a peer can make us allocate: use the base.
		l = p.local
	}
	if l == nil {
		cand := Candidate{
			Type:        CandidateTypePeerReflexive,
			Transport:   TransportUDP,
			Addr:        mapped,
			Base:        tx.sock.local,
			Priority:    tx.priority,
			Foundation:  a.foundation(CandidateTypePeerReflexive, tx.sock.local.Addr(), netip.AddrPort{}),
			StreamID:    s.id,
			ComponentID: c.id,
		}
		l = &localCandidate{c: cand, sock: tx.sock}
		a.addLocalCandidate(c, l, now)
	}
	vp := p
	if l != p.local {
		vp = nil
		for _, q := range s.checks.pairs {
			if q.local == l && q.remote == p.remote {
				vp = q
			}
		}
		if vp == nil && len(s.checks.pairs) >= 2*a.cfg.MaxChecks {
			vp = p
		}
		if vp == nil {
			vp = newPair(c, l, p.remote)
			vp.computePriority(a.controlling)
			s.checks.insert(vp, pairSucceeded)
		}
		s.checks.setState(vp, pairSucceeded)
	}
	s.checks.setState(p, pairSucceeded)
	p.validPair = vp
	vp.succeededAt = now
	if !vp.valid {
		vp.valid = true
		if c.firstValid.IsZero() {
			c.firstValid = now
		}
	}
	// §7.2.5.3.3: unfreeze pairs of the same foundation.
	for _, st := range a.streams {
		for _, q := range st.checks.pairs {
			if q.state == pairFrozen && q.foundation == p.foundation {
				st.checks.setState(q, pairWaiting)
			}
		}
	}
	// §7.2.5.3.4: nomination. With renomination the latest nomination
	// wins: a nomination answered after a newer one was sent is stale.
	wasNominated := vp.nominated
	if tx.nominate && tx.control && (tx.nomValue == 0 || tx.nomValue == c.nomSent) {
		a.markNominated(c, vp, tx.nomValue != 0)
	}
	if !a.controlling && (p.useCandIn || vp.useCandIn) {
		a.markNominated(c, vp, c.nomSeen != 0)
	}
	if renominate && a.controlling {
		// Renominate chose a pair that was not valid: now it is.
		if a.debugOn(LogChecks) {
			a.logPair("check.renominate", vp)
		}
		a.sendCheck(vp, now, true)
	}
	if a.debugOn(LogChecks) {
		a.logPair("check.succeeded", vp, "checked", c.pairID(p), "nominated", vp.nominated)
		if vp.nominated && !wasNominated {
			a.logPair("check.nominated", vp, "by", "response")
		}
	}
	a.updateSelection(c, now)
}

// failPair fails p and takes it, and the pairs whose checks produced it,
// off the valid list; if data was sent on it, another valid pair is
// selected, or none. Called on the loop.
func (a *Agent) failPair(p *pair, now time.Time) {
	c := p.comp
	wasValid := p.valid
	c.s.checks.setState(p, pairFailed)
	p.valid, p.nominated = false, false
	for _, q := range c.s.checks.pairs {
		if q.validPair == p {
			q.validPair = nil
			c.s.checks.setState(q, pairFailed)
		}
	}
	if c.nominating == p {
		c.nominating = nil
	}
	if !wasValid || c.selected != p {
		return
	}
	c.selected = nil
	c.path.Store(nil)
	a.updateSelection(c, now)
}
