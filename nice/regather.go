// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Regather brings a gathered stream's sockets in line with the local
// addresses as they are now, after an address was added to or removed from
// an interface (the application learns that from its OS; gonice does not
// watch). The addresses are those given to AddLocalAddress, or else the
// interfaces' addresses listed again.
//
// For an address that is gone, the component's socket on it is closed
// (nothing stays bound to it) and its candidates are withdrawn: the host
// candidate, the server-reflexive and peer-reflexive ones based on it, and
// the relayed ones allocated from it (the allocations are dropped, not
// released: the address that made them can no longer reach the server).
// They are no longer listed by LocalCandidates or put in SDP, and their
// pairs fail; a selected pair among them is replaced by another valid pair,
// or none. For a new address a socket is opened and gathered like at
// GatherCandidates: host candidate, server-reflexive discovery, TURN
// allocations; each new candidate is signalled, then
// candidate-gathering-done again.
//
// The peer learns of the new candidates by trickle or, with new
// credentials, by an ICE restart (RestartStream after this call lists only
// the candidates that remain). Regather before GatherCandidates fails with
// ErrInvalidArgument; with no usable address left it fails with
// ErrNoAddress and changes nothing. Sockets on a UDPMux are not bound to
// an interface's address and stay as they are (a stream with no other
// socket has nothing to regather).
func (a *Agent) Regather(streamID int) error {
	found, err := a.findAddrs(streamID)
	if err != nil {
		return err
	}
	return a.do(func(now time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		if !s.gathering {
			return fmt.Errorf("%w: stream %d has not gathered", ErrInvalidArgument, streamID)
		}
		if !slices.ContainsFunc(s.comps, a.needsOwnSockets) {
			return nil // only sockets on muxes
		}
		addrs, err := a.gatherAddrs(found)
		if err != nil {
			return err
		}
		a.regather(s, addrs, now)
		return nil
	})
}

// regather closes the sockets of addresses not in addrs and gathers on
// the new ones. Called on the loop.
func (a *Agent) regather(s *stream, addrs []netip.Addr, now time.Time) {
	started := false
	for _, c := range s.comps {
		if !a.needsOwnSockets(c) {
			continue
		}
		for _, sk := range slices.Clone(c.socks) {
			if sk.mux == nil && !slices.Contains(addrs, sk.local.Addr()) {
				if a.debugOn(LogGather) {
					a.log.Debug("gather.address-gone", "stream", s.id, "component", c.id, "local", sk.local)
				}
				a.dropSocket(c, sk, now)
			}
		}
		next := 0
		for _, sk := range c.socks {
			next = max(next, sk.addrIndex+1)
		}
		for _, ip := range addrs {
			if a.cfg.DisableUDP || slices.ContainsFunc(c.socks, func(sk *socket) bool { return sk.mux == nil && sk.local.Addr() == ip }) {
				continue
			}
			sk := a.openSocket(c, ip, next)
			if sk == nil {
				continue
			}
			next++
			c.socks = append(c.socks, sk)
			if a.debugOn(LogGather) {
				a.log.Debug("gather.address-new", "stream", s.id, "component", c.id, "local", sk.local)
			}
			a.addHostCandidate(c, sk, now)
			go a.readLoop(a.workers.start(), sk) // the socket's reader, until the socket closes
			if a.stunServer.IsValid() && !a.cfg.Lite && !a.forceRelay.Load() && ip.Is4() == a.stunServer.Addr().Is4() {
				a.startDiscovery(s, c, sk, now)
			}
			started = true
		}
		if started && !a.cfg.Lite {
			a.startRelays(c) // only the new sockets: one allocation per 5-tuple
		}
		if a.cfg.ICETCP && a.regatherTCP(c, addrs, now) {
			started = true
		}
	}
	if !started {
		return
	}
	s.gatheringDone = false
	if s.pendingDiscoveries > 0 || s.pendingRelays > 0 {
		s.gatherDeadline = now.Add(a.cfg.GatheringTimeout)
	} else {
		a.finishGathering(s)
	}
}

// regatherTCP withdraws component c's TCP candidates on addresses not in
// addrs and gathers TCP candidates on the new ones. It reports whether it
// added any. Called on the loop.
func (a *Agent) regatherTCP(c *component, addrs []netip.Addr, now time.Time) bool {
	next := 0
	for _, sk := range slices.Clone(c.tcp) {
		if sk.tcp.conn != nil {
			continue
		}
		next = max(next, sk.addrIndex+1)
		if !slices.Contains(addrs, sk.local.Addr()) && slices.Contains(c.tcp, sk) {
			if a.debugOn(LogGather) {
				a.log.Debug("gather.address-gone", "stream", c.s.id, "component", c.id, "local", sk.local, "transport", sk.tcp.cand.c.Transport)
			}
			a.dropTCPBase(c, sk, now)
		}
	}
	var fresh []netip.Addr
	for _, ip := range addrs {
		if !slices.ContainsFunc(c.tcp, func(sk *socket) bool { return sk.tcp.conn == nil && sk.local.Addr() == ip }) {
			fresh = append(fresh, ip)
		}
	}
	return len(fresh) > 0 && a.gatherTCP(c, fresh, next, now)
}

// dropSocket withdraws a host socket whose address is gone: its
// candidates, its pairs, its transactions and TURN allocations, and
// closes it. Called on the loop.
func (a *Agent) dropSocket(c *component, sk *socket, now time.Time) {
	s := c.s
	gone := map[*socket]bool{sk: true}
	var ended []*relayAlloc
	for _, ra := range c.relays {
		if ra.host == sk {
			ended = append(ended, ra)
			if ra.sock != nil {
				gone[ra.sock] = true
			}
			if ra.pending {
				a.relayDone(s)
			}
		}
	}
	if len(ended) > 0 {
		a.endRelays(ended)
		for _, ra := range ended {
			ra.t.state = turnDone // dropped, not released: nothing will answer
			if st := ra.stream.Load(); st != nil {
				st.close()
			}
		}
		c.relays = slices.DeleteFunc(c.relays, func(ra *relayAlloc) bool { return ra.host == sk })
	}
	discoveries := 0
	a.txs.removeFunc(func(tx *transaction) bool {
		if !gone[tx.sock] {
			return false
		}
		if tx.kind == txDiscovery {
			discoveries++
		}
		if c.consent.tx == tx {
			c.consent.tx = nil
		}
		if tx.pair != nil && tx.pair.tx == tx {
			tx.pair.tx = nil
		}
		return true
	})
	for range discoveries {
		a.discoveryDone(s)
	}
	c.local = slices.DeleteFunc(c.local, func(l *localCandidate) bool { return gone[l.sock] })
	for _, p := range s.checks.pairs {
		if p.comp == c && gone[p.local.sock] && p.state != pairFailed {
			a.failPair(p, now)
		}
	}
	s.checks.untrigger(func(p *pair) bool { return gone[p.local.sock] })
	c.socks = slices.DeleteFunc(c.socks, func(x *socket) bool { return x == sk })
	for x := range gone {
		x.closed.Store(true)
	}
	_ = sk.conn.Close()
}
