// SPDX-License-Identifier: MIT

package nice

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

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

// pairState is the state of a candidate pair (RFC 8445 §6.1.2.6).
type pairState int

const (
	pairFrozen pairState = iota
	pairWaiting
	pairInProgress
	pairSucceeded
	pairFailed
)

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

// txKind is what a STUN transaction is for.
type txKind int

const (
	txDiscovery txKind = iota // Binding request to the STUN server
	txCheck                   // connectivity check
	txConsent                 // consent freshness / keepalive request
)

// transaction is an outstanding STUN request. Owned by the loop.
type transaction struct {
	id       [stun.TransactionIDSize]byte
	kind     txKind
	stream   *stream
	comp     *component
	sock     *socket
	dest     netip.AddrPort
	raw      []byte
	gen      uint32
	rto      time.Duration
	sends    int
	deadline time.Time
	pair     *pair
	nominate bool
	control  bool // the role the request claimed
	priority uint32
	pwd      string // the remote password that signed the request
}

// newTransaction registers a transaction. Called on the loop.
func (a *Agent) newTransaction(kind txKind, s *stream, c *component, sk *socket, dest netip.AddrPort) *transaction {
	tx := &transaction{kind: kind, stream: s, comp: c, sock: sk, dest: dest, gen: s.gen, rto: a.cfg.STUNInitialTimeout}
	tx.id = stun.NewTransactionID()
	if a.txs == nil {
		a.txs = map[[stun.TransactionIDSize]byte]*transaction{}
	}
	a.txs[tx.id] = tx
	return tx
}

// buildDiscovery encodes a Binding request for the STUN server.
func (a *Agent) buildDiscovery(tx *transaction) error {
	m := a.out
	m.Reset()
	setters := []stun.Setter{stun.BindingRequest, stun.NewTransactionIDSetter(tx.id)}
	if a.cfg.Software != "" {
		setters = append(setters, stun.NewSoftware(a.cfg.Software))
	}
	setters = append(setters, stun.Fingerprint)
	if err := m.Build(setters...); err != nil {
		return err
	}
	tx.raw = append(tx.raw[:0], m.Raw...)
	return nil
}

// buildCheck encodes a connectivity check (RFC 8445 §7.2.2) for tx.
func (a *Agent) buildCheck(tx *transaction) error {
	s := tx.stream
	m := a.out
	m.Reset()
	setters := []stun.Setter{
		stun.BindingRequest, stun.NewTransactionIDSetter(tx.id),
		stun.NewUsername(s.rufrag + ":" + s.ufrag),
		stunx.Priority(tx.priority),
	}
	if tx.control {
		setters = append(setters, stunx.ICEControlling(a.tieBreaker))
	} else {
		setters = append(setters, stunx.ICEControlled(a.tieBreaker))
	}
	if tx.nominate {
		setters = append(setters, stunx.UseCandidate{})
	}
	if a.cfg.Software != "" {
		setters = append(setters, stun.NewSoftware(a.cfg.Software))
	}
	setters = append(setters, stun.NewShortTermIntegrity(s.rpwd), stun.Fingerprint)
	if err := m.Build(setters...); err != nil {
		return err
	}
	tx.pwd = s.rpwd
	tx.raw = append(tx.raw[:0], m.Raw...)
	return nil
}

// sendTransaction (re)transmits tx and sets its retransmission deadline.
// Called on the loop.
func (a *Agent) sendTransaction(tx *transaction, now time.Time) {
	tx.sends++
	tx.deadline = now.Add(tx.rto)
	if _, err := tx.sock.conn.WriteToUDPAddrPort(tx.raw, tx.dest); err != nil {
		a.log.Debug("nice: send failed", "local", tx.sock.local, "remote", tx.dest, "err", err)
	}
}

// expireTransactions retransmits or fails transactions whose deadline
// passed (RFC 5389 §7.2.1, with libnice's Rc and RTO). Called on the loop.
func (a *Agent) expireTransactions(now time.Time) {
	for id, tx := range a.txs {
		if tx.deadline.After(now) {
			continue
		}
		if tx.sends <= a.cfg.STUNMaxRetransmissions {
			tx.rto *= 2
			a.sendTransaction(tx, now)
			continue
		}
		delete(a.txs, id)
		a.transactionFailed(tx, now)
	}
}

// transactionFailed handles a transaction that got no response.
// Called on the loop.
func (a *Agent) transactionFailed(tx *transaction, now time.Time) {
	switch tx.kind {
	case txDiscovery:
		a.log.Debug("nice: STUN server did not answer", "server", tx.dest, "local", tx.sock.local)
		a.discoveryDone(tx.stream)
	case txCheck:
		p := tx.pair
		p.tx = nil
		if tx.gen != tx.stream.gen {
			return
		}
		if p.state == pairInProgress {
			p.state = pairFailed
		}
		if tx.nominate && p.comp.nominating == p {
			p.comp.nominating = nil
		}
		a.log.Debug("check timed out", "stream", tx.stream.id, "component", tx.comp.id, "remote", tx.dest)
		a.checkFailure(tx.comp, now)
	case txConsent:
		if tx.comp.consentTx == tx {
			tx.comp.consentTx = nil
		}
	}
}

// setRemoteCredentials stores the peer's credentials and runs the checks
// that waited for them. Called on the loop.
func (a *Agent) setRemoteCredentials(s *stream, ufrag, pwd string, now time.Time) {
	s.rufrag, s.rpwd = ufrag, pwd
	pend := s.pendingRequests
	s.pendingRequests = nil
	for _, r := range pend {
		a.onAuthenticatedRequest(r.sock, r.from, r.priority, r.useCand, now)
	}
}

// addRemoteCandidates adds candidates to a component and pairs them.
// Called on the loop.
func (a *Agent) addRemoteCandidates(c *component, cands []Candidate, now time.Time) int {
	n := 0
	for _, rc := range cands {
		rc.StreamID, rc.ComponentID = c.s.id, c.id
		rc.Addr = netip.AddrPortFrom(rc.Addr.Addr().Unmap().WithZone(""), rc.Addr.Port())
		if old := c.findRemoteTarget(rc); old != nil {
			// RFC 8838 §11.4: a signalled candidate replaces a
			// peer-reflexive one with the same address.
			if old.Type == CandidateTypePeerReflexive && rc.Type != CandidateTypePeerReflexive {
				old.Type, old.Foundation, old.Base = rc.Type, rc.Foundation, rc.Base
				old.Priority = rc.Priority
				a.recomputePriorities(c.s)
				n++
			}
			continue
		}
		r := new(Candidate)
		*r = rc
		c.remote = append(c.remote, r)
		n++
		if r.Transport == TransportUDP {
			for _, l := range c.local {
				if a.pairable(l) {
					a.addPair(c, l, r, now)
				}
			}
		}
	}
	if n > 0 {
		c.updatePeers()
		c.failAt = time.Time{}
		if c.state == ComponentStateDisconnected || c.state == ComponentStateGathering || c.state == ComponentStateFailed && !c.consentRevoked && c.selected == nil {
			a.setState(c, ComponentStateConnecting)
		}
	}
	return n
}

// findRemoteTarget returns the remote candidate with rc's transport and address.
func (c *component) findRemoteTarget(rc Candidate) *Candidate {
	for _, r := range c.remote {
		if r.EqualTarget(rc) {
			return r
		}
	}
	return nil
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
		ra.permit(r.Addr)
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

// switchRole changes the role after a role conflict (RFC 8445 §7.3.1.1).
// Called on the loop.
func (a *Agent) switchRole(controlling bool) {
	if a.controlling == controlling {
		return
	}
	a.log.Debug("role conflict: switching role", "controlling", controlling)
	a.controlling = controlling
	for _, s := range a.streams {
		a.recomputePriorities(s)
	}
}

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

// sendCheck starts a connectivity check on p. Called on the loop.
func (a *Agent) sendCheck(p *pair, now time.Time, nominate bool) {
	c := p.comp
	s := c.s
	if p.tx != nil {
		// A check is in flight: a new one replaces it (RFC 8445 §7.2.5.4).
		delete(a.txs, p.tx.id)
		p.tx = nil
	}
	tx := a.newTransaction(txCheck, s, c, p.local.sock, p.remote.Addr)
	tx.pair = p
	tx.nominate = nominate
	tx.control = a.controlling
	// PRIORITY: the priority a peer-reflexive candidate from this base
	// would have (RFC 8445 §7.2.2).
	tx.priority = p.local.sock.checkPriority(c.id)
	if err := a.buildCheck(tx); err != nil {
		a.log.Warn("nice: building check", "err", err)
		delete(a.txs, tx.id)
		return
	}
	p.tx = tx
	if p.state != pairSucceeded {
		p.state = pairInProgress
	}
	if nominate {
		c.nominating = p
	}
	a.log.Debug("check", "stream", s.id, "component", c.id, "local", p.local.c.Addr, "remote", p.remote.Addr, "nominate", nominate)
	a.sendTransaction(tx, now)
}

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
	if s.rufrag != "" && u[colon+1:] != s.rufrag {
		// A check for an older or newer generation of the peer's
		// credentials: authenticated, but not for this session.
		a.sendError(sk, from, m, stun.CodeUnauthorized, s.pwd)
		return
	}
	if c.consentRevoked {
		a.sendError(sk, from, m, stun.CodeForbidden, s.pwd)
		return
	}
	// Role conflict (RFC 8445 §7.3.1.1).
	var ctl stunx.ICEControlling
	var ctd stunx.ICEControlled
	switch {
	case ctl.GetFrom(m) == nil && a.controlling:
		if a.tieBreaker >= uint64(ctl) {
			a.sendError(sk, from, m, stun.CodeRoleConflict, s.pwd)
			return
		}
		a.switchRole(false)
	case ctd.GetFrom(m) == nil && !a.controlling:
		if a.tieBreaker >= uint64(ctd) {
			a.switchRole(true)
		} else {
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
	a.sendSuccess(sk, from, m, s.pwd)
	if !s.initialRequest {
		s.initialRequest = true
		a.events.push(event{kind: evInitialBindingRequest, streamID: s.id})
	}
	if s.rufrag == "" && !a.cfg.Lite {
		if len(s.pendingRequests) < 2*a.cfg.MaxChecks {
			s.pendingRequests = append(s.pendingRequests, pendingRequest{sock: sk, from: from, priority: uint32(prio), useCand: useCand})
		}
		return
	}
	a.onAuthenticatedRequest(sk, from, uint32(prio), useCand, now)
}

// onAuthenticatedRequest does what an answered check implies: learn a
// peer-reflexive candidate, queue a triggered check, note a nomination
// (RFC 8445 §7.3.1.3–§7.3.1.5). Called on the loop.
func (a *Agent) onAuthenticatedRequest(sk *socket, from netip.AddrPort, prio uint32, useCand bool, now time.Time) {
	c := sk.comp
	if c.s.comps[c.id-1] != c || sk.closed.Load() {
		return
	}
	r := c.findRemote(from)
	if r == nil && len(c.remote) >= a.cfg.MaxChecks {
		return // bound what a peer can make us allocate
	}
	if r == nil {
		c.remotePrflxCount++
		r = &Candidate{
			Type:        CandidateTypePeerReflexive,
			Transport:   TransportUDP,
			Addr:        from,
			Base:        from,
			Priority:    prio,
			Foundation:  "remote" + strconv.Itoa(c.remotePrflxCount),
			StreamID:    c.s.id,
			ComponentID: c.id,
		}
		c.remote = append(c.remote, r)
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
	p := a.addPair(c, l, r, now)
	if p == nil {
		return
	}
	if useCand && !a.controlling {
		p.useCandIn = true
	}
	if a.cfg.Lite {
		// A lite agent does not check: a request proves the path, and
		// USE-CANDIDATE selects it (RFC 8445 §7.3.1.5).
		p.state = pairSucceeded
		p.valid = true
		if useCand {
			p.nominated = true
		}
		a.updateSelection(c, now)
		return
	}
	switch p.state {
	case pairSucceeded:
		if vp := p.validPair; vp != nil && p.useCandIn && !vp.nominated {
			vp.nominated = true
		} else if p.valid && p.useCandIn && !p.nominated {
			p.nominated = true
		}
		a.updateSelection(c, now)
	case pairInProgress:
		// RFC 8445 §7.3.1.4: check again at once rather than wait for the
		// retransmission: the first check was likely dropped (by the peer's
		// NAT before it punched, or by its TURN server before it permitted
		// us), and the peer's check shows that the path now works. Only
		// once, and not for a nominating check, whose answer matters.
		if tx := p.tx; tx != nil && tx.sends == 1 && !tx.nominate && !p.triggered && !p.retriggered {
			p.triggered, p.retriggered = true, true
			c.s.triggered = append(c.s.triggered, p)
		}
	default:
		if c.state == ComponentStateReady && !useCand {
			// Checks of a nominated component stop (RFC 8445 §8.1.2),
			// but the peer may still be checking: answering is enough.
			return
		}
		p.state = pairWaiting
		if !p.triggered {
			p.triggered = true
			c.s.triggered = append(c.s.triggered, p)
		}
	}
}

// sendSuccess answers a Binding request (RFC 8445 §7.3.1.2): the source as
// XOR-MAPPED-ADDRESS, signed with our password. Called on the loop.
func (a *Agent) sendSuccess(sk *socket, from netip.AddrPort, req *stun.Message, pwd string) {
	m := a.out
	m.Reset()
	setters := []stun.Setter{
		stun.NewTransactionIDSetter(req.TransactionID),
		stun.BindingSuccess,
		stunx.XORMappedAddress(from),
	}
	if a.cfg.Software != "" {
		setters = append(setters, stun.NewSoftware(a.cfg.Software))
	}
	setters = append(setters, stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err := m.Build(setters...); err != nil {
		return
	}
	_, _ = sk.conn.WriteToUDPAddrPort(m.Raw, from)
}

// sendError answers a request with an error (RFC 5389 §10.1.2). pwd empty
// means the request was not authenticated, so the answer is not signed.
// Called on the loop.
func (a *Agent) sendError(sk *socket, from netip.AddrPort, req *stun.Message, code stun.ErrorCode, pwd string) {
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
	_, _ = sk.conn.WriteToUDPAddrPort(m.Raw, from)
}

// handleResponse matches a response to its transaction. Called on the loop.
func (a *Agent) handleResponse(now time.Time, sk *socket, from netip.AddrPort, m *stun.Message) {
	tx, ok := a.txs[m.TransactionID]
	if !ok || tx.sock != sk {
		return
	}
	switch tx.kind {
	case txDiscovery:
		if from != tx.dest {
			return
		}
		delete(a.txs, tx.id)
		var mapped netip.AddrPort
		if m.Type.Class == stun.ClassSuccessResponse {
			mapped = mappedAddress(m)
		}
		a.onDiscoveryResponse(tx, mapped, now)
	case txCheck, txConsent:
		if checkIntegrity(m, tx.pwd) != nil {
			return // not from our peer: ignore, keep waiting (RFC 8445 §7.2.5.2)
		}
		delete(a.txs, tx.id)
		if tx.kind == txConsent {
			a.onConsentResponse(tx, from, m, now)
			return
		}
		a.onCheckResponse(tx, from, m, now)
	}
}

// mappedAddress reads XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an old
// server. Both getters validate lengths: pion's would panic on a short value.
func mappedAddress(m *stun.Message) netip.AddrPort {
	var xa stunx.XORMappedAddress
	if xa.GetFrom(m) == nil {
		ap := netip.AddrPort(xa)
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	var ma stunx.MappedAddress
	if ma.GetFrom(m) == nil {
		ap := netip.AddrPort(ma)
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// checkIntegrity verifies MESSAGE-INTEGRITY with a short-term password
// (RFC 5389 §15.4).
func checkIntegrity(m *stun.Message, pwd string) error {
	return stunx.CheckIntegrity(m, []byte(pwd))
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
	if m.Type.Class == stun.ClassErrorResponse {
		var ec stun.ErrorCodeAttribute
		if ec.GetFrom(m) == nil && ec.Code == stun.CodeRoleConflict {
			// RFC 8445 §7.2.5.1: switch role and retry the pair.
			if tx.control == a.controlling {
				a.switchRole(!tx.control)
			}
			if p.state != pairSucceeded {
				p.state = pairWaiting
			}
			if !p.triggered {
				p.triggered = true
				s.triggered = append(s.triggered, p)
			}
			return
		}
		a.log.Debug("check failed", "stream", s.id, "component", c.id, "remote", tx.dest, "code", ec.Code)
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
		p.state = pairFailed
		a.checkFailure(c, now)
		return
	}
	mapped := mappedAddress(m)
	if !mapped.IsValid() {
		p.state = pairFailed
		a.checkFailure(c, now)
		return
	}
	// The valid pair (§7.2.5.3.2): the local candidate whose address is the
	// mapped address; a new peer-reflexive one if none is (§7.2.5.3.1).
	l := c.findLocal(mapped, tx.sock)
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
		for _, q := range s.checklist {
			if q.local == l && q.remote == p.remote {
				vp = q
			}
		}
		if vp == nil && len(s.checklist) >= 2*a.cfg.MaxChecks {
			vp = p
		}
		if vp == nil {
			vp = &pair{comp: c, local: l, remote: p.remote, foundation: l.c.Foundation + ":" + p.remote.Foundation}
			vp.computePriority(a.controlling)
			s.insert(vp)
		}
		vp.state = pairSucceeded
	}
	p.state = pairSucceeded
	p.validPair = vp
	if !vp.valid {
		vp.valid = true
		if c.firstValid.IsZero() {
			c.firstValid = now
		}
	}
	// §7.2.5.3.3: unfreeze pairs of the same foundation.
	for _, st := range a.streams {
		for _, q := range st.checklist {
			if q.state == pairFrozen && q.foundation == p.foundation {
				q.state = pairWaiting
			}
		}
	}
	// §7.2.5.3.4: nomination.
	if tx.nominate && tx.control {
		vp.nominated = true
	}
	if !a.controlling && (p.useCandIn || vp.useCandIn) {
		vp.nominated = true
	}
	a.log.Debug("check succeeded", "stream", s.id, "component", c.id, "local", vp.local.c.Addr, "remote", vp.remote.Addr, "nominated", vp.nominated)
	a.updateSelection(c, now)
}

// failPair fails p and takes it, and the pairs whose checks produced it,
// off the valid list; if data was sent on it, another valid pair is
// selected, or none. Called on the loop.
func (a *Agent) failPair(p *pair, now time.Time) {
	c := p.comp
	wasValid := p.valid
	p.state, p.valid, p.nominated = pairFailed, false, false
	for _, q := range c.s.checklist {
		if q.validPair == p {
			q.validPair = nil
			q.state = pairFailed
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

// updateSelection picks the pair data is sent on and moves the component
// to CONNECTED or READY; as controlling agent with regular nomination it
// nominates when the time has come. Called on the loop.
func (a *Agent) updateSelection(c *component, now time.Time) {
	if c.consentRevoked {
		return
	}
	var best, bestNom *pair
	for _, p := range c.s.checklist {
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
		if c.consentExpiry.IsZero() || c.state != ComponentStateReady {
			c.consentExpiry = now.Add(a.cfg.ConsentTimeout)
		}
		if c.nextKeepalive.IsZero() {
			c.nextKeepalive = a.nextKeepaliveAt(now)
		}
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
	for _, p := range c.s.checklist {
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
	for _, p := range c.s.checklist {
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
	for _, p := range s.checklist {
		if p.comp == c && (p.state == pairWaiting || p.state == pairFrozen) {
			p.state = pairFailed
		}
	}
	s.triggered = slices.DeleteFunc(s.triggered, func(p *pair) bool {
		if p.comp == c {
			p.triggered = false
			return true
		}
		return false
	})
}

// checkFailure moves a component to FAILED when every pair has failed and
// the peer will send no more candidates; without end-of-candidates it waits
// IdleTimeout first. Called on the loop.
func (a *Agent) checkFailure(c *component, now time.Time) {
	if c.state == ComponentStateFailed || c.selected != nil || len(c.remote) == 0 {
		return
	}
	for _, p := range c.s.checklist {
		if p.comp == c && p.state != pairFailed {
			return
		}
	}
	if a.cfg.Lite {
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

// tickStream runs a stream's expired deadlines. Called on the loop.
func (a *Agent) tickStream(s *stream, now time.Time) {
	if !s.gatherDeadline.IsZero() && !now.Before(s.gatherDeadline) {
		for id, tx := range a.txs {
			if tx.kind == txDiscovery && tx.stream == s {
				delete(a.txs, id)
			}
		}
		s.pendingDiscoveries = 0
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
			delete(a.txs, tx.id)
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
	for _, p := range c.s.checklist {
		if p.comp == c {
			p.valid = false
			p.nominated = false
			if p.state != pairSucceeded {
				p.state = pairFailed
			}
		}
	}
	a.setState(c, ComponentStateFailed)
}

// restartStream restarts ICE on s (RFC 8445 §9). Called on the loop.
func (a *Agent) restartStream(s *stream, now time.Time) {
	s.gen++
	s.ufrag, s.pwd = randomICEString(4), randomICEString(22)
	s.rufrag, s.rpwd = "", ""
	s.checklist, s.triggered, s.pendingRequests = nil, nil, nil
	s.peerGatheringDone = false
	s.initialRequest = false
	a.controlling = a.cfg.Controlling
	for id, tx := range a.txs {
		if tx.stream == s && tx.kind != txDiscovery {
			delete(a.txs, id)
		}
	}
	for _, c := range s.comps {
		c.remote = nil
		c.selected = nil
		c.nominating = nil
		c.firstValid = time.Time{}
		c.failAt = time.Time{}
		c.consentRevoked = false
		c.consentTx = nil
		c.consentExpiry = time.Time{}
		c.nextKeepalive = time.Time{}
		// Local peer-reflexive candidates belong to the old session.
		c.local = slices.DeleteFunc(c.local, func(l *localCandidate) bool { return l.c.Type == CandidateTypePeerReflexive })
		// Keep the old path's peer allowed until a new pair is selected,
		// so data keeps flowing during the restart.
		if p := c.path.Load(); p != nil {
			m := map[netip.AddrPort]struct{}{p.remote: {}}
			c.peers.Store(&m)
		} else {
			c.updatePeers()
		}
		c.lost.Store(false)
		a.setState(c, ComponentStateGathering)
	}
}

// nextDeadline is the earliest time the loop must wake. Called on the loop.
func (a *Agent) nextDeadline(now time.Time) time.Time {
	var next time.Time
	for _, tx := range a.txs {
		next = earliest(next, tx.deadline)
	}
	next = earliest(next, a.relayDeadline())
	if a.hasPendingChecks() {
		next = earliest(next, a.nextCheck)
	}
	for _, s := range a.streams {
		next = earliest(next, s.gatherDeadline)
		for _, c := range s.comps {
			next = earliest(next, c.failAt)
			if c.selected != nil && c.state != ComponentStateFailed {
				if c.state == ComponentStateConnected && a.controlling && c.nominating == nil && !c.firstValid.IsZero() {
					next = earliest(next, c.firstValid.Add(a.cfg.NominationDelay))
				}
				next = earliest(next, c.nextKeepalive)
				if !a.cfg.DisableConsentFreshness && !a.cfg.Lite {
					next = earliest(next, c.consentExpiry)
				}
			}
		}
	}
	if !next.IsZero() && next.Before(now) {
		next = now
	}
	return next
}
