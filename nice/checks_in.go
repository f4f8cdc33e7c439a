// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// handleSTUN processes one STUN message from a socket. Called on the loop.
func (a *Agent) handleSTUN(now time.Time, pk *packet) {
	sk := pk.sock
	if sk.closed.Load() || sk.draining.Load() {
		return
	}
	m := a.msg
	m.Reset()
	m.Raw = append(m.Raw[:0], pk.b[:pk.n]...)
	if err := m.Decode(); err != nil {
		return
	}
	if m.Contains(stun.AttrFingerprint) {
		if err := stunx.CheckFingerprint(m); err != nil {
			return
		}
	}
	switch m.Type.Class {
	case stun.ClassRequest:
		if m.Type.Method == stun.MethodBinding {
			a.handleRequest(now, sk, pk.from, m)
		}
	case stun.ClassSuccessResponse, stun.ClassErrorResponse:
		a.handleResponse(now, sk, pk.from, m)
	}
	// Indications (keepalives) need nothing.
}

// handleRequest answers a connectivity check (RFC 8445 §7.3).
// Called on the loop.
func (a *Agent) handleRequest(now time.Time, sk *socket, from netip.AddrPort, m *stun.Message) {
	c := sk.comp
	s := c.s
	var user stun.Username
	if user.GetFrom(m) != nil || !m.Contains(stun.AttrMessageIntegrity) {
		a.sendError(sk, from, m, stun.CodeBadRequest, "")
		return
	}
	u := string(user)
	colon := -1
	for i := 0; i < len(u); i++ {
		if u[i] == ':' {
			colon = i
			break
		}
	}
	if colon < 0 || u[:colon] != s.ufrag {
		a.sendError(sk, from, m, stun.CodeUnauthorized, "")
		return
	}
	if err := checkIntegrity(m, s.pwd); err != nil {
		a.sendError(sk, from, m, stun.CodeUnauthorized, "")
		return
	}
	sk.tcpAuthenticated()
	if s.rufrag != "" && u[colon+1:] != s.rufrag {
		// A check for an older or newer generation of the peer's
		// credentials: authenticated, but not for this session.
		a.sendError(sk, from, m, stun.CodeUnauthorized, s.pwd)
		return
	}
	if c.consent.revoked {
		a.sendError(sk, from, m, stun.CodeForbidden, s.pwd)
		return
	}
	// Role conflict (RFC 8445 §7.3.1.1).
	var ctl stunx.ICEControlling
	var ctd stunx.ICEControlled
	switch {
	case ctl.GetFrom(m) == nil && a.controlling:
		if a.tieBreaker >= uint64(ctl) {
			a.logRoleConflict(c, sk, from, "both controlling: 487 sent")
			a.sendError(sk, from, m, stun.CodeRoleConflict, s.pwd)
			return
		}
		a.logRoleConflict(c, sk, from, "both controlling: switching to controlled")
		a.switchRole(false)
	case ctd.GetFrom(m) == nil && !a.controlling:
		if a.tieBreaker >= uint64(ctd) {
			a.logRoleConflict(c, sk, from, "both controlled: switching to controlling")
			a.switchRole(true)
		} else {
			a.logRoleConflict(c, sk, from, "both controlled: 487 sent")
			a.sendError(sk, from, m, stun.CodeRoleConflict, s.pwd)
			return
		}
	}
	var prio stunx.Priority
	if prio.GetFrom(m) != nil {
		a.sendError(sk, from, m, stun.CodeBadRequest, s.pwd)
		return
	}
	useCand := stunx.HasUseCandidate(m)
	var nom stunx.Nomination
	if !a.cfg.Renomination || nom.GetFrom(m) != nil {
		nom = 0 // without renomination NOMINATION is ignored, as libnice does
	}
	a.sendSuccess(sk, from, m, s.pwd)
	if a.debugOn(LogChecks) {
		a.log.Debug("check.received", "stream", s.id, "component", c.id, "local", sk.local, "remote", from,
			"use_candidate", useCand, "priority", uint32(prio), "queued", s.rufrag == "" && !a.cfg.Lite)
	}
	if !s.initialRequest {
		s.initialRequest = true
		a.events.push(event{kind: evInitialBindingRequest, streamID: s.id})
	}
	if s.rufrag == "" && !a.cfg.Lite {
		if len(s.pendingRequests) < 2*a.cfg.MaxChecks {
			s.pendingRequests = append(s.pendingRequests, pendingRequest{sock: sk, from: from, priority: uint32(prio), useCand: useCand, nom: uint32(nom)})
		}
		return
	}
	a.onAuthenticatedRequest(sk, from, uint32(prio), useCand, uint32(nom), now)
}

// onAuthenticatedRequest does what an answered check implies: learn a
// peer-reflexive candidate, queue a triggered check, note a nomination
// (RFC 8445 §7.3.1.3–§7.3.1.5), or a renomination (nom, the NOMINATION
// value, 0 if none). Called on the loop.
func (a *Agent) onAuthenticatedRequest(sk *socket, from netip.AddrPort, prio uint32, useCand bool, nom uint32, now time.Time) {
	c := sk.comp
	if c.s.comps[c.id-1] != c || sk.closed.Load() {
		return
	}
	r := c.findRemoteOn(sk, from)
	if r == nil && len(c.remote) >= a.cfg.MaxChecks {
		return // bound what a peer can make us allocate
	}
	learned := r == nil
	if r == nil {
		tr := TransportUDP
		if sk.tcp != nil {
			// ICE-TCP: the peer's end of a connection (RFC 6544 §7.2:
			// one the peer made is its active candidate).
			tr = tcpRemoteTransport(sk.tcp.cand.c.Transport)
		}
		c.remotePrflxCount++
		r = &Candidate{
			Type:        CandidateTypePeerReflexive,
			Transport:   tr,
			Addr:        from,
			Base:        from,
			Priority:    prio,
			Foundation:  "remote" + strconv.Itoa(c.remotePrflxCount),
			StreamID:    c.s.id,
			ComponentID: c.id,
		}
		a.addRemote(c, r)
		c.updatePeers()
		c.failAt = time.Time{}
		a.events.push(event{kind: evNewRemoteCandidate, streamID: c.s.id, componentID: c.id, cand: *r})
		if c.state == ComponentStateGathering || c.state == ComponentStateDisconnected {
			a.setState(c, ComponentStateConnecting)
		}
	}
	l := c.baseOf(sk)
	if l == nil || !a.pairable(l) {
		return
	}
	p := a.addPairOn(c, l, r, sk, now)
	if p == nil {
		return
	}
	if sk.tcp != nil && (p.sk == nil || p.sk.closed.Load()) {
		a.tcpAdopt(p, sk) // the pair's connection is the one its peer checks on
	}
	p.ctr.requestsReceived++
	p.ctr.responsesSent++
	if a.controlling {
		useCand = false
	} else if a.cfg.Renomination {
		useCand = a.acceptNomination(c, p, useCand, nom)
	}
	if useCand {
		p.useCandIn = true
	}
	exclusive := c.nomSeen != 0 // renomination: the latest nomination wins
	if a.cfg.Lite {
		// A lite agent does not check: a request proves the path, and
		// USE-CANDIDATE selects it (RFC 8445 §7.3.1.5).
		c.s.checks.setState(p, pairSucceeded)
		p.valid = true
		if useCand {
			a.nominatedByRequest(c, p, exclusive)
		}
		a.updateSelection(c, now)
		return
	}
	switch p.state {
	case pairSucceeded:
		if vp := p.validPair; vp != nil && p.useCandIn && (!vp.nominated || useCand && exclusive) {
			a.nominatedByRequest(c, vp, exclusive)
		} else if p.valid && p.useCandIn && (!p.nominated || useCand && exclusive) {
			a.nominatedByRequest(c, p, exclusive)
		}
		a.updateSelection(c, now)
	case pairInProgress:
		// RFC 8445 §7.3.1.4: check again at once rather than wait for the
		// retransmission: the first check was likely dropped (by the peer's
		// NAT before it punched, or by its TURN server before it permitted
		// us), and the peer's check shows that the path now works. Only
		// once, and not for a nominating check, whose answer matters.
		if tx := p.tx; tx != nil && tx.sends == 1 && !tx.nominate && !p.triggered && !p.retriggered {
			p.retriggered = true
			c.s.checks.trigger(p)
			if a.debugOn(LogChecks) {
				a.logPair("check.triggered", p, "reason", "request while in progress")
			}
		}
	default:
		if c.state == ComponentStateReady && !useCand && !learned {
			// Checks of a nominated component stop (RFC 8445 §8.1.2),
			// but the peer may still be checking: answering is enough.
			// A peer-reflexive address learned now is checked all the
			// same (§7.3.1.4): the peer's NAT has most likely mapped it
			// anew, and the check gives the new path consent, to move to
			// if the selected one's runs out (consentExpired).
			return
		}
		c.s.checks.setState(p, pairWaiting)
		c.s.checks.trigger(p)
		if a.debugOn(LogChecks) {
			a.logPair("check.triggered", p, "reason", "request")
		}
	}
}

// logRoleConflict logs a role conflict found in a request (RFC 8445
// §7.3.1.1). Called on the loop.
func (a *Agent) logRoleConflict(c *component, sk *socket, from netip.AddrPort, what string) {
	if a.debugOn(LogChecks) {
		a.log.Debug("check.role-conflict", "stream", c.s.id, "component", c.id, "local", sk.local, "remote", from, "reason", what)
	}
}

// sendSuccess answers a Binding request (RFC 8445 §7.3.1.2): the source as
// XOR-MAPPED-ADDRESS, signed with our password. Called on the loop.
func (a *Agent) sendSuccess(sk *socket, from netip.AddrPort, req *stun.Message, pwd string) {
	m := a.out
	m.Reset()
	m.Type = stun.BindingSuccess
	m.TransactionID = req.TransactionID
	m.WriteHeader()
	if stunx.XORMappedAddress(from).AddTo(m) != nil || a.sign(m, pwd) != nil {
		return
	}
	if len(m.Raw) > len(req.Raw) {
		// No answer larger than its request: a flood of tiny requests
		// from spoofed sources must not make the agent an amplifier.
		// Real checks carry USERNAME, MESSAGE-INTEGRITY and PRIORITY and
		// are larger than any error answer.
		return
	}
	_, _ = sk.conn.WriteToUDPAddrPort(m.Raw, from)
}

// sendError answers a request with an error (RFC 5389 §10.1.2). pwd empty
// means the request was not authenticated, so the answer is not signed.
// Called on the loop.
func (a *Agent) sendError(sk *socket, from netip.AddrPort, req *stun.Message, code stun.ErrorCode, pwd string) {
	if a.debugOn(LogChecks) {
		a.log.Debug("check.rejected", "stream", sk.comp.s.id, "component", sk.comp.id, "local", sk.local, "remote", from,
			"code", int(code), "authenticated", pwd != "")
	}
	m := a.out
	m.Reset()
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.NewType(req.Type.Method, stun.ClassErrorResponse),
		code,
	}
	if pwd != "" {
		setters = append(setters, stun.NewShortTermIntegrity(pwd))
	}
	setters = append(setters, stun.Fingerprint)
	if err := m.Build(setters...); err != nil {
		return
	}
	if len(m.Raw) > len(req.Raw) {
		// No answer larger than its request: a flood of tiny requests
		// from spoofed sources must not make the agent an amplifier.
		// Real checks carry USERNAME, MESSAGE-INTEGRITY and PRIORITY and
		// are larger than any error answer.
		return
	}
	_, _ = sk.conn.WriteToUDPAddrPort(m.Raw, from)
}
