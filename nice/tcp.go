// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"
)

// ICE-TCP (RFC 6544), as libnice does it: per host address, a passive
// candidate (a listening socket) and an active one (port 0, "9" in SDP).
// A local active candidate pairs with a remote passive one, and the check
// dials a connection; a peer's active candidate connects to our passive
// one, and its check makes a peer-reflexive remote candidate (tcptype
// active) at the connection's source and a pair on that connection (RFC
// 6544 §6.2: pairs of a local passive candidate are never checked first).
// Every connection is a socket of its own (socket.tcp.conn), read by a
// reader goroutine; checks, answers, consent and data of its pair go over
// it in RFC 4571 frames (tcp_frame.go, tcp_conn.go). See ARCHITECTURE.md,
// "ICE-TCP".

// tcpMaxConns bounds the connections of one component: what peers can
// make it hold.
const tcpMaxConns = 64

// tcpUnauthTimeout is how long an accepted connection may stay without an
// authenticated check before it is closed.
var tcpUnauthTimeout = 10 * time.Second

// tcpSocket is what a socket of ICE-TCP has: the base of a TCP candidate
// (a passive one listens), or one connection.
type tcpSocket struct {
	cand     *localCandidate // the TCP candidate: its own for a base, the one it belongs to for a connection
	ln       net.Listener    // passive base
	conn     *tcpConn        // a connection
	accepted bool            // the peer connected (to a passive or S-O candidate)
	authed   bool            // an authenticated check came on it (loop-owned)
	// stopDiscovery ends an S-O base's STUN Binding over TCP in progress
	// (nil when none runs); loop-owned.
	stopDiscovery context.CancelFunc
}

// close closes a TCP socket of ICE-TCP: a base's listener (and STUN over
// TCP in progress) or a connection. Called on the loop.
func (sk *socket) closeTCP() {
	sk.closed.Store(true)
	t := sk.tcp
	if t.stopDiscovery != nil {
		t.stopDiscovery()
		t.stopDiscovery = nil
	}
	if t.ln != nil {
		_ = t.ln.Close()
	}
	if t.conn != nil {
		_ = t.conn.Close()
	}
}

// TCPListener is implemented by a Net that can listen on TCP, which
// passive ICE-TCP candidates need (Config.ICETCP). The operating system's
// network implements it.
type TCPListener interface {
	// ListenTCP listens on laddr; port 0 asks for any port.
	ListenTCP(laddr netip.AddrPort) (net.Listener, error)
}

func (osNet) ListenTCP(laddr netip.AddrPort) (net.Listener, error) {
	return net.ListenTCP("tcp", net.TCPAddrFromAddrPort(laddr))
}

// noConn is the PacketConn of a TCP candidate's base: a base sends and
// receives nothing itself (its connections do).
type noConn struct{ local netip.AddrPort }

var errTCPBase = errors.New("nice: a TCP candidate sends only on its connections")

func (n noConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, net.ErrClosed
}
func (n noConn) WriteToUDPAddrPort([]byte, netip.AddrPort) (int, error) { return 0, errTCPBase }
func (n noConn) LocalAddrPort() netip.AddrPort                          { return n.local }
func (n noConn) Close() error                                           { return nil }

// isTCP reports whether t is one of the TCP transports.
func (t Transport) isTCP() bool {
	return t == TransportTCPActive || t == TransportTCPPassive || t == TransportTCPSO
}

// tcpTypePreference is libnice's type preference of a TCP candidate: half
// the UDP one (candidate.c: a non-reliable agent prefers UDP).
func tcpTypePreference(t CandidateType) uint32 { return t.typePreference() / 2 }

// tcpLocalPreference is libnice's local preference of a TCP candidate:
// (direction_pref << 13) + other_pref, other_pref the index of its base
// address, direction_pref for host and server-reflexive candidates active
// 4, passive 2, so 6, and for the others active 6, passive 4, so 2.
func tcpLocalPreference(typ CandidateType, tr Transport, addrIndex int) uint32 {
	var dir uint32
	hostish := typ == CandidateTypeHost || typ == CandidateTypeServerReflexive
	switch tr {
	case TransportTCPActive:
		dir = 6
		if hostish {
			dir = 4
		}
	case TransportTCPPassive:
		dir = 4
		if hostish {
			dir = 2
		}
	case TransportTCPSO:
		dir = 2
		if hostish {
			dir = 6
		}
	}
	return dir<<13 + uint32(addrIndex&0x3f)
}

// tcpPriority is the priority of a TCP candidate.
func tcpPriority(typ CandidateType, tr Transport, addrIndex, componentID int) uint32 {
	return candidatePriorityPref(tcpTypePreference(typ), tcpLocalPreference(typ, tr, addrIndex), componentID)
}

// tcpCheckTimeout is how long a check over TCP waits for its answer,
// connecting included: no retransmissions on a reliable transport, and as
// long as the last retransmission of a check over UDP would wait.
func (a *Agent) tcpCheckTimeout() time.Duration {
	total := time.Duration(0)
	rto := a.cfg.STUNInitialTimeout
	for range a.cfg.STUNMaxRetransmissions + 1 {
		total += rto
		rto *= 2
	}
	return total
}

// gatherTCP adds component c's TCP host candidates on addrs, the first
// being the first-th address gathered on: passive (not when the agent
// cannot listen) and active (not for an ICE-lite agent, which only
// answers). It reports whether it added any. Called on the loop.
func (a *Agent) gatherTCP(c *component, addrs []netip.Addr, first int, now time.Time) bool {
	l, canListen := a.net.(TCPListener)
	_, canDial := a.net.(TCPDialer)
	added := false
	for j, ip := range addrs {
		i := first + j
		if canListen {
			ln, err := a.listenTCP(l, ip, c.minPort, c.maxPort)
			if err == nil && !listenerAddr(ln).IsValid() {
				_ = ln.Close()
				err = fmt.Errorf("the listener's address %q is not an IP address and port", ln.Addr())
			}
			if err != nil {
				a.log.Warn("nice: cannot listen for ICE-TCP", "stream", c.s.id, "component", c.id, "addr", ip, "err", err)
			} else {
				sk := a.addTCPBase(c, TransportTCPPassive, listenerAddr(ln), i, ln, now)
				go a.acceptLoop(a.workers.start(), sk) // accepts connections until the listener closes
				added = true
			}
		}
		if canDial && !a.cfg.Lite {
			a.addTCPBase(c, TransportTCPActive, netip.AddrPortFrom(ip, 0), i, nil, now)
			added = true
		}
		if a.cfg.TCPSimultaneousOpen && !a.cfg.Lite && a.gatherTCPSO(c, ip, i, now) {
			added = true
		}
	}
	return added
}

// addTCPBase adds a TCP host candidate and the socket that is its base.
// Called on the loop.
func (a *Agent) addTCPBase(c *component, tr Transport, addr netip.AddrPort, addrIndex int, ln net.Listener, now time.Time) *socket {
	sk := &socket{conn: noConn{addr}, comp: c, local: addr, addrIndex: addrIndex}
	l := &localCandidate{c: Candidate{
		Type:        CandidateTypeHost,
		Transport:   tr,
		Addr:        addr,
		Base:        addr,
		Priority:    tcpPriority(CandidateTypeHost, tr, addrIndex, c.id),
		Foundation:  a.foundationOf(foundationKey{typ: CandidateTypeHost, base: addr.Addr(), transport: tr}),
		StreamID:    c.s.id,
		ComponentID: c.id,
	}, sock: sk}
	sk.tcp = &tcpSocket{cand: l, ln: ln}
	c.tcp = append(c.tcp, sk)
	a.addLocalCandidate(c, l, now)
	return sk
}

// listenerAddr is the address a listener listens on.
func listenerAddr(ln net.Listener) netip.AddrPort { return tcpAddrPort(ln.Addr()) }

// listenTCP listens on ip within [minPort, maxPort] (any port if 0), the
// search starting at a random port, as bind does for UDP.
func (a *Agent) listenTCP(l TCPListener, ip netip.Addr, minPort, maxPort uint16) (net.Listener, error) {
	if minPort == 0 {
		return l.ListenTCP(netip.AddrPortFrom(ip, 0))
	}
	n := int(maxPort) - int(minPort) + 1
	start := rand.IntN(n)
	var err error
	for i := range n {
		var ln net.Listener
		ln, err = l.ListenTCP(netip.AddrPortFrom(ip, uint16(int(minPort)+(start+i)%n)))
		if err == nil {
			return ln, nil
		}
	}
	return nil, errors.Join(errors.New("no free port in range"), err)
}

// acceptLoop accepts the connections of a passive candidate's listener
// and hands them to the loop, until the listener is closed.
func (a *Agent) acceptLoop(w *worker, base *socket) {
	defer w.exit()
	for {
		conn, err := base.tcp.ln.Accept()
		if err != nil {
			if base.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTransientErr(err) {
				continue
			}
			a.log.Warn("nice: ICE-TCP accept failed; listener abandoned", "local", base.local, "err", err)
			return
		}
		if e := a.do(func(time.Time) error {
			a.addTCPConn(base.comp, base.tcp.cand, conn, true)
			return nil
		}); e != nil {
			_ = conn.Close() // the agent closed
		}
	}
}

// addTCPConn makes a socket of a new connection of local candidate l and
// starts its reader; a connection the component cannot take (closed, or
// tcpMaxConns reached) is closed instead. An accepted connection that
// brings no authenticated check within tcpUnauthTimeout is closed by its
// reader. Called on the loop.
func (a *Agent) addTCPConn(c *component, l *localCandidate, conn net.Conn, accepted bool) *socket {
	conns := 0
	for _, sk := range c.tcp {
		if sk.tcp.conn != nil {
			conns++
		}
	}
	if c.s.comps[c.id-1] != c || l.sock.closed.Load() || conns >= tcpMaxConns || !slices.Contains(c.local, l) {
		_ = conn.Close()
		return nil
	}
	t := newTCPConn(conn, func(f func()) {
		go func(w *worker) { // the connection's writer, while frames wait for the kernel
			defer w.exit()
			f()
		}(a.workers.start())
	})
	if !t.local.IsValid() || !t.remote.IsValid() {
		_ = conn.Close() // a Net whose connections have no IP addresses
		return nil
	}
	sk := &socket{conn: t, comp: c, local: t.local, addrIndex: l.sock.addrIndex,
		tcp: &tcpSocket{cand: l, conn: t, accepted: accepted}}
	if c.s.tos != 0 {
		if err := applyTOS(t, c.s.tos); err != nil {
			a.log.Warn("nice: cannot set TOS", "stream", c.s.id, "addr", sk.local, "err", err)
		}
	}
	c.tcp = append(c.tcp, sk)
	if accepted {
		t.setReadDeadline(time.Now().Add(tcpUnauthTimeout))
	}
	if a.debugOn(LogChecks) {
		a.log.Debug("tcp.connected", "stream", c.s.id, "component", c.id, "local", t.local, "remote", t.remote,
			"candidate", localID(l), "accepted", accepted)
	}
	go a.tcpReadLoop(a.workers.start(), sk) // the connection's reader, until it closes
	return sk
}

// tcpReadLoop reads a connection's frames: STUN to the loop, data to the
// component, as readLoop does for a UDP socket. When the connection ends
// (the peer closed or reset it, a framing error, no authenticated check in
// time) it tells the loop.
func (a *Agent) tcpReadLoop(w *worker, sk *socket) {
	defer w.exit()
	t := sk.tcp.conn
	for {
		p, err := t.readFrame()
		if err != nil {
			_ = t.Close()
			if !sk.closed.Load() {
				_ = a.do(func(now time.Time) error {
					a.tcpClosed(sk, err, now)
					return nil
				})
			}
			return
		}
		if a.forceRelay.Load() {
			continue // force-relay: only what comes through a relay counts
		}
		a.route(w, sk, t.remote, p)
	}
}

// tcpAuthenticated notes an authenticated check on a connection: it is
// the peer's, and stays open without a deadline. Called on the loop.
func (sk *socket) tcpAuthenticated() {
	if t := sk.tcp; t != nil && t.conn != nil && !t.authed {
		t.authed = true
		if t.accepted {
			t.conn.setReadDeadline(time.Time{})
		}
	}
}

// tcpConnect gives pair p, whose local candidate is TCP active or S-O, its
// connection: an open one of the same candidate to the same address (kept
// across an ICE restart, or for S-O accepted from the peer's own attempt),
// or a new one, dialed on a goroutine of its own; p.sk is nil until it is
// made. Called on the loop.
func (a *Agent) tcpConnect(p *pair, now time.Time) {
	c := p.comp
	for _, sk := range c.tcp {
		if t := sk.tcp; t.conn != nil && t.cand == p.local && t.conn.remote == p.remote.Addr && !sk.closed.Load() {
			p.sk = sk
			return
		}
	}
	if p.dialCancel != nil {
		return // dialing
	}
	var dial func(ctx context.Context) (net.Conn, error)
	raddr := p.remote.Addr
	if p.local.c.Transport == TransportTCPSO {
		so, ok := a.net.(soNet)
		if !ok {
			return // gatherTCPSO made no S-O candidate
		}
		laddr := p.local.sock.local // from the S-O port, which the peer's check may be coming to at the same time
		dial = func(ctx context.Context) (net.Conn, error) { return so.dialTCPFrom(ctx, laddr, raddr) }
	} else {
		d, ok := a.net.(TCPDialer)
		if !ok {
			return // no pair without a dialer: gatherTCP made no active candidate
		}
		laddr := p.local.c.Base.Addr()
		dial = func(ctx context.Context) (net.Conn, error) { return d.DialTCP(ctx, laddr, raddr) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.tcpCheckTimeout())
	p.dialCancel = cancel
	if a.debugOn(LogChecks) {
		a.logPair("tcp.dial", p)
	}
	go func(w *worker) { // dials the pair's connection and hands it to the loop; ends then
		defer w.exit()
		conn, err := dial(ctx)
		cancel()
		if e := a.do(func(now time.Time) error {
			a.tcpDialed(p, conn, err, now)
			return nil
		}); e != nil && conn != nil {
			_ = conn.Close() // the agent closed
		}
	}(a.workers.start())
}

// tcpAdopt makes sk, a connection the peer checks p on, p's connection: for
// a simultaneous-open pair, the peer's attempt reached our listener first
// (then our own dial fails, or is not needed): a check waiting for our
// dial goes out on sk at once, and the dial is stopped. Called on the loop.
func (a *Agent) tcpAdopt(p *pair, sk *socket) {
	p.sk = sk
	if p.dialCancel != nil {
		p.dialCancel()
		p.dialCancel = nil
	}
	if tx := p.tx; tx != nil && tx.sock == nil {
		tx.sock = sk
		a.writeTransaction(tx)
	}
}

// tcpDialed gives p the connection dialed for it and sends the check that
// waits, or fails the check if the connection could not be made. Called on
// the loop.
func (a *Agent) tcpDialed(p *pair, conn net.Conn, err error, now time.Time) {
	p.dialCancel = nil
	c := p.comp
	live := c.s.comps[c.id-1] == c && p.state != pairFailed && slices.Contains(c.s.checks.pairs, p)
	if p.sk != nil && !p.sk.closed.Load() {
		// The pair got a connection meanwhile (tcpAdopt: the peer's
		// simultaneous-open attempt came first): ours is not needed, and
		// its failure (the 4-tuple is taken) means nothing.
		if conn != nil {
			_ = conn.Close()
		}
		return
	}
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		if a.debugOn(LogChecks) {
			a.logPair("tcp.dial-failed", p, "err", err)
		}
		if tx := p.tx; live && tx != nil && tx.sock == nil {
			a.txs.remove(tx)
			a.transactionFailed(tx, now)
		}
		return
	}
	if !live {
		_ = conn.Close()
		return
	}
	sk := a.addTCPConn(c, p.local, conn, false)
	if sk == nil {
		if tx := p.tx; tx != nil && tx.sock == nil {
			a.txs.remove(tx)
			a.transactionFailed(tx, now)
		}
		return
	}
	p.sk = sk
	sk.tcp.authed = true // we dialed it: no deadline
	if tx := p.tx; tx != nil && tx.sock == nil {
		tx.sock = sk
		a.writeTransaction(tx)
	}
}

// tcpClosed handles the end of a connection: its pairs fail (a selected
// one gives way to another valid pair, or none), and it is forgotten.
// Called on the loop.
func (a *Agent) tcpClosed(sk *socket, err error, now time.Time) {
	c := sk.comp
	if sk.closed.Swap(true) {
		return
	}
	c.tcp = slices.DeleteFunc(c.tcp, func(x *socket) bool { return x == sk })
	if a.debugOn(LogChecks) {
		a.log.Debug("tcp.closed", "stream", c.s.id, "component", c.id, "local", sk.local, "remote", sk.tcp.conn.remote, "err", err)
	}
	if c.s.comps[c.id-1] != c {
		return
	}
	failed := false
	for _, p := range c.s.checks.pairs {
		if p.sk != sk {
			continue
		}
		if tx := p.tx; tx != nil {
			a.txs.remove(tx)
			p.tx = nil
			if c.nominating == p {
				c.nominating = nil
			}
		}
		if p.state != pairFailed {
			a.failPair(p, now)
			failed = true
		}
	}
	if tx := c.consent.tx; tx != nil && tx.sock == sk {
		a.txs.remove(tx)
		c.consent.tx = nil
	}
	if failed {
		a.checkFailure(c, now)
	}
}

// pruneTCP closes the connections of c that nothing uses any more: no
// pair that has not failed is on them and data does not go over them.
// Accepted connections not yet authenticated have their own deadline.
// Called on the loop.
func (a *Agent) pruneTCP(c *component) {
	path := c.path.Load()
	c.tcp = slices.DeleteFunc(c.tcp, func(sk *socket) bool {
		t := sk.tcp
		if t.conn == nil || !t.authed || path != nil && path.conn == PacketConn(t.conn) {
			return false
		}
		for _, p := range c.s.checks.pairs {
			if p.sk == sk && p.state != pairFailed {
				return false
			}
		}
		if a.debugOn(LogChecks) {
			a.log.Debug("tcp.pruned", "stream", c.s.id, "component", c.id, "local", sk.local, "remote", t.conn.remote)
		}
		sk.closeTCP()
		return true
	})
}

// pruneTCPAll runs pruneTCP on every component with connections, once
// something may have left one unused (a pair failed, a restart, a new
// selected pair). Called on the loop, after an event.
func (a *Agent) pruneTCPAll() {
	for _, s := range a.streams {
		for _, c := range s.comps {
			if len(c.tcp) > 0 {
				a.pruneTCP(c)
			}
		}
	}
}

// closeTCP closes component c's TCP sockets and stops its dials. Called on
// the loop.
func (a *Agent) closeTCP(c *component) {
	for _, p := range c.s.checks.pairs {
		if p.comp == c && p.dialCancel != nil {
			p.dialCancel()
			p.dialCancel = nil
		}
	}
	for _, sk := range c.tcp {
		sk.closeTCP()
	}
	c.tcp = nil
}

// dropTCPBase withdraws a TCP candidate whose address is gone (Regather):
// the candidate, its connections, pairs and transactions; the listener of
// a passive one is closed. Called on the loop.
func (a *Agent) dropTCPBase(c *component, base *socket, now time.Time) {
	s := c.s
	l := base.tcp.cand
	mine := func(sk *socket) bool { return sk != nil && sk.tcp != nil && sk.tcp.cand == l }
	a.txs.removeFunc(func(tx *transaction) bool {
		if !mine(tx.sock) && (tx.pair == nil || tx.pair.local != l) {
			return false
		}
		if c.consent.tx == tx {
			c.consent.tx = nil
		}
		if tx.pair != nil && tx.pair.tx == tx {
			tx.pair.tx = nil
		}
		return true
	})
	for _, p := range s.checks.pairs {
		if p.local != l {
			continue
		}
		if p.dialCancel != nil {
			p.dialCancel()
			p.dialCancel = nil
		}
		if p.state != pairFailed {
			a.failPair(p, now)
		}
	}
	s.checks.untrigger(func(p *pair) bool { return p.local == l })
	c.local = slices.DeleteFunc(c.local, func(x *localCandidate) bool { return x == l })
	c.tcp = slices.DeleteFunc(c.tcp, func(sk *socket) bool {
		if !mine(sk) {
			return false
		}
		sk.closeTCP()
		return true
	})
}

// cancelDials stops the dials of the pairs of s (a restart drops them).
// Called on the loop.
func (a *Agent) cancelDials(s *stream) {
	for _, p := range s.checks.pairs {
		if p.dialCancel != nil {
			p.dialCancel()
			p.dialCancel = nil
		}
	}
}

// tcpPairable reports whether a local candidate of transport l and remote
// candidate r form a pair (RFC 6544 §6.2): local active with remote
// passive, checked over a connection we make; local passive with remote
// active only on a connection the peer made (accepted), whose check found
// or made r (onAuthenticatedRequest): such pairs are never checked first.
func tcpPairable(l Transport, r *Candidate, accepted bool) bool {
	switch l {
	case TransportTCPActive:
		return r.Transport == TransportTCPPassive && r.Addr.Port() != 0
	case TransportTCPPassive:
		return accepted && r.Transport == TransportTCPActive
	case TransportTCPSO:
		return r.Transport == TransportTCPSO && r.Addr.Port() != 0
	}
	return false
}

// tcpRemoteTransport is the transport of the remote candidate at the other
// end of a connection of a local candidate with transport l.
func tcpRemoteTransport(l Transport) Transport {
	switch l {
	case TransportTCPActive:
		return TransportTCPPassive
	case TransportTCPPassive:
		return TransportTCPActive
	}
	return TransportTCPSO
}
