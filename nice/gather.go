// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/pion/stun"
)

// foundAddrs are the interfaces' addresses, listed by findAddrs.
type foundAddrs struct {
	addrs []netip.Addr
	err   error
}

// findAddrs lists the interfaces' addresses when no local address was
// added (AddLocalAddress), off the loop: interface discovery may block (a
// netlink dump). Called by a method, not on the loop.
func (a *Agent) findAddrs(streamID int) (foundAddrs, error) {
	var detect bool
	if err := a.do(func(time.Time) error {
		detect = len(a.localAddrs) == 0
		if s, err := a.stream(streamID); err == nil && !slices.ContainsFunc(s.comps, a.needsOwnSockets) && !a.cfg.ICETCP {
			detect = false // every component is on the muxes: no interface is needed
		}
		return nil
	}); err != nil {
		return foundAddrs{}, err
	}
	var f foundAddrs
	if detect {
		f.addrs, f.err = a.net.InterfaceAddrs()
	}
	return f, nil
}

// gatherAddrs returns the addresses to gather on: the local addresses
// added, or else those found. Called on the loop.
func (a *Agent) gatherAddrs(found foundAddrs) ([]netip.Addr, error) {
	addrs := a.localAddrs
	if len(addrs) == 0 {
		if found.err != nil {
			return nil, fmt.Errorf("%w: listing interfaces: %v", ErrNoAddress, found.err)
		}
		addrs = found.addrs
	}
	if a.cfg.DisableUDP && !a.cfg.ICETCP || len(addrs) == 0 {
		return nil, ErrNoAddress
	}
	if a.cfg.DisableUDP {
		_, l := a.net.(TCPListener)
		_, d := a.net.(TCPDialer)
		if !l && !d {
			return nil, fmt.Errorf("%w: UDP is disabled and Config.Net cannot listen or dial on TCP", ErrNoAddress)
		}
	}
	return addrs, nil
}

// GatherCandidates opens the stream's sockets and starts gathering: host
// candidates at once, server-reflexive ones from the STUN server, relayed
// ones from the TURN servers (SetRelayInfo). Each candidate is signalled
// with new-candidate, then candidate-gathering-done, at the latest
// Config.GatheringTimeout after this call.
// A second call is a no-op, as in libnice. It fails with ErrNoAddress when
// no usable address or port exists.
func (a *Agent) GatherCandidates(streamID int) error {
	found, err := a.findAddrs(streamID)
	if err != nil {
		return err
	}
	return a.do(func(now time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		if s.gathering {
			return nil
		}
		// Addresses are needed only by components not on a mux.
		addrs, addrErr := a.gatherAddrs(found)
		if err := a.openSockets(s, addrs, addrErr); err != nil {
			return err
		}
		s.gathering = true
		for _, c := range s.comps {
			a.setState(c, ComponentStateGathering)
		}
		for _, c := range s.comps {
			for _, sk := range c.socks {
				a.addHostCandidate(c, sk, now)
			}
		}
		if a.cfg.ICETCP && addrErr == nil {
			for _, c := range s.comps {
				first := 0 // address index of the first own address, as for UDP (openSockets)
				for _, sk := range c.socks {
					if sk.mux != nil {
						first++
					}
				}
				a.gatherTCP(c, addrs, first, now)
			}
		}
		for _, c := range s.comps {
			for _, sk := range c.socks {
				if sk.mux == nil { // the mux's reader reads for a socket on a mux
					go a.readLoop(a.workers.start(), sk) // the socket's reader, until the socket closes
				}
			}
		}
		// No server-reflexive discovery under force-relay (libnice).
		if a.stunServer.IsValid() && !a.cfg.Lite && !a.forceRelay.Load() {
			for _, c := range s.comps {
				for _, sk := range c.socks {
					if sk.local.Addr().Is4() == a.stunServer.Addr().Is4() {
						a.startDiscovery(s, c, sk, now)
					}
				}
			}
		}
		if !a.cfg.Lite {
			for _, c := range s.comps {
				a.startRelays(c)
			}
		}
		if a.debugOn(LogGather) {
			socks := 0
			for _, c := range s.comps {
				socks += len(c.socks)
			}
			a.log.Debug("gather.start", "stream", s.id, "components", len(s.comps), "sockets", socks,
				"stun", s.pendingDiscoveries, "turn", s.pendingRelays)
		}
		if s.pendingDiscoveries > 0 || s.pendingRelays > 0 {
			s.gatherDeadline = now.Add(a.cfg.GatheringTimeout)
		} else {
			a.finishGathering(s)
		}
		return nil
	})
}

// openSockets binds one UDP socket per component and address, and puts
// the components that go on the agent's muxes on them (addrs, or addrErr
// why there are none, matter only to the others). Called on the loop. On
// failure nothing stays open.
func (a *Agent) openSockets(s *stream, addrs []netip.Addr, addrErr error) error {
	var opened []*socket
	fail := func(err error) error {
		for _, sk := range opened {
			_ = sk.conn.Close()
		}
		for _, c := range s.comps {
			c.socks = nil
		}
		return err
	}
	for _, c := range s.comps {
		first := 0 // address index of the first own socket (local preference)
		if a.onMux(c) {
			socks, err := a.joinMuxes(c)
			if err != nil {
				return fail(err)
			}
			c.socks = append(c.socks, socks...)
			opened = append(opened, socks...)
			first = len(socks)
		}
		if !a.needsOwnSockets(c) {
			continue
		}
		if addrErr != nil {
			return fail(addrErr)
		}
		if a.cfg.DisableUDP {
			continue // ICE-TCP only (gatherTCP)
		}
		for i, ip := range addrs {
			if sk := a.openSocket(c, ip, first+i); sk != nil {
				c.socks = append(c.socks, sk)
				opened = append(opened, sk)
			}
		}
		if len(c.socks) == 0 {
			return fail(fmt.Errorf("%w: component %d of stream %d", ErrNoAddress, c.id, s.id))
		}
	}
	return nil
}

// openSocket opens component c's socket on ip (the addrIndex-th address
// gathered on), with the stream's TOS; nil if it cannot be bound. Called
// on the loop.
func (a *Agent) openSocket(c *component, ip netip.Addr, addrIndex int) *socket {
	s := c.s
	conn, err := a.bind(ip, c.minPort, c.maxPort)
	if err != nil {
		if a.debugOn(LogGather) {
			a.log.Debug("gather.bind-failed", "stream", s.id, "component", c.id, "addr", ip, "err", err)
		}
		return nil
	}
	if s.tos != 0 {
		if err := applyTOS(conn, s.tos); err != nil {
			a.log.Warn("nice: cannot set TOS", "stream", s.id, "addr", ip, "err", err)
		}
	}
	sk := &socket{conn: conn, comp: c, local: conn.LocalAddrPort(), addrIndex: addrIndex}
	a.watchICMP(sk)
	return sk
}

// bind opens a socket on ip within [minPort, maxPort] (any port if 0): the
// search starts at a random port and wraps, as libnice does.
func (a *Agent) bind(ip netip.Addr, minPort, maxPort uint16) (PacketConn, error) {
	if minPort == 0 {
		return a.net.ListenUDP(netip.AddrPortFrom(ip, 0))
	}
	n := int(maxPort) - int(minPort) + 1
	start := rand.IntN(n)
	var err error
	for i := range n {
		port := uint16(int(minPort) + (start+i)%n)
		var conn PacketConn
		conn, err = a.net.ListenUDP(netip.AddrPortFrom(ip, port))
		if err == nil {
			return conn, nil
		}
	}
	return nil, errors.Join(errors.New("no free port in range"), err)
}

// foundation returns the foundation shared by candidates of the same type,
// base address and server (RFC 8445 §5.1.1.3): a decimal counter per agent,
// as libnice. Called on the loop.
func (a *Agent) foundation(t CandidateType, base netip.Addr, server netip.AddrPort) string {
	return a.foundationOf(foundationKey{typ: t, base: base, server: server})
}

// foundationRelay returns the foundation of a relayed candidate: shared by
// the relayed candidates with the same related address IP and the same
// server and transport (libnice: same type, base and TURN server).
// Called on the loop.
func (a *Agent) foundationRelay(base netip.Addr, srv turnServer) string {
	return a.foundationOf(foundationKey{typ: CandidateTypeRelayed, base: base, server: srv.addr, relay: srv.typ})
}

func (a *Agent) foundationOf(k foundationKey) string {
	for _, f := range a.foundations {
		if f.key == k {
			return f.id
		}
	}
	a.nextFoundation++
	f := foundation{key: k, id: strconv.Itoa(a.nextFoundation)}
	a.foundations = append(a.foundations, f)
	return f.id
}

// addHostCandidate adds the host candidate of sk. Called on the loop.
func (a *Agent) addHostCandidate(c *component, sk *socket, now time.Time) {
	cand := Candidate{
		Type:        CandidateTypeHost,
		Transport:   TransportUDP,
		Addr:        sk.local,
		Base:        sk.local,
		Priority:    candidatePriority(CandidateTypeHost, udpLocalPreference(sk.addrIndex, 0), c.id),
		Foundation:  a.foundation(CandidateTypeHost, sk.local.Addr(), netip.AddrPort{}),
		StreamID:    c.s.id,
		ComponentID: c.id,
		Hostname:    a.mdnsHostName(sk),
	}
	a.addLocalCandidate(c, &localCandidate{c: cand, sock: sk}, now)
}

// addLocalCandidate records a local candidate, signals it and pairs it with
// the remote candidates when it is pairable. Under force-relay only relayed
// candidates are signalled and paired. Called on the loop.
func (a *Agent) addLocalCandidate(c *component, l *localCandidate, now time.Time) {
	a.nextCandID++
	l.id = a.nextCandID
	c.local = append(c.local, l)
	if a.debugOn(LogGather) {
		a.log.Debug("gather.candidate", "stream", c.s.id, "component", c.id, "id", localID(l), "type", l.c.Type, "transport", l.c.Transport,
			"addr", l.c.Addr, "base", l.c.Base, "priority", l.c.Priority, "foundation", l.c.Foundation, "server", l.c.Server)
	}
	if !a.visible(l.c) {
		return
	}
	a.events.push(event{kind: evNewCandidate, streamID: c.s.id, componentID: c.id, cand: l.c})
	if a.pairable(l) {
		for _, r := range c.remote {
			a.addPair(c, l, r, now)
		}
	}
}

// visible reports whether a local candidate is signalled, listed and put in
// SDP: every one, or under force-relay only relayed ones.
func (a *Agent) visible(c Candidate) bool {
	return !a.forceRelay.Load() || c.Type == CandidateTypeRelayed
}

// pairable reports whether a local candidate forms pairs (RFC 8445 §6.1.2.2:
// server-reflexive and peer-reflexive candidates are replaced by their
// base): host and relayed candidates, only relayed ones under force-relay.
func (a *Agent) pairable(l *localCandidate) bool {
	if a.forceRelay.Load() {
		return l.c.Type == CandidateTypeRelayed
	}
	return l.c.Type == CandidateTypeHost || l.c.Type == CandidateTypeRelayed
}

// startDiscovery sends a Binding request to the STUN server from sk.
// Called on the loop.
func (a *Agent) startDiscovery(s *stream, c *component, sk *socket, now time.Time) {
	tx := a.newTransaction(txDiscovery, s, c, sk, a.stunServer)
	if err := a.buildDiscovery(tx); err != nil {
		a.log.Warn("nice: building STUN request", "err", err)
		a.txs.remove(tx)
		return
	}
	s.pendingDiscoveries++
	a.sendTransaction(tx, now)
	if a.debugOn(LogGather) {
		a.log.Debug("gather.stun-sent", "stream", s.id, "component", c.id, "local", sk.local, "server", tx.dest, "tx", txID(tx))
	}
}

// discoveryDone accounts for one finished server-reflexive request.
// Called on the loop.
func (a *Agent) discoveryDone(s *stream) {
	if s.pendingDiscoveries > 0 {
		s.pendingDiscoveries--
	}
	if s.pendingDiscoveries == 0 && s.pendingRelays == 0 && !s.gatheringDone {
		a.finishGathering(s)
	}
}

// onDiscoveryResponse adds the server-reflexive candidate from a Binding
// response. Called on the loop.
func (a *Agent) onDiscoveryResponse(tx *transaction, mapped netip.AddrPort, now time.Time) {
	defer a.discoveryDone(tx.stream)
	if a.debugOn(LogGather) && mapped.IsValid() {
		a.log.Debug("gather.stun-response", "stream", tx.stream.id, "component", tx.comp.id, "local", tx.sock.local,
			"server", tx.dest, "tx", txID(tx), "mapped", mapped)
	}
	a.addServerReflexive(tx.comp, tx.sock, mapped, tx.dest, now)
}

// addServerReflexive adds the server-reflexive candidate mapped of host
// socket sk, which server (STUN or TURN) reported, unless it is known. For
// the base of a simultaneous-open TCP candidate (STUN over TCP) it is an
// S-O candidate too. Called on the loop.
func (a *Agent) addServerReflexive(c *component, sk *socket, mapped, server netip.AddrPort, now time.Time) {
	if !mapped.IsValid() || mapped == sk.local {
		return
	}
	tr, prio := TransportUDP, candidatePriority(CandidateTypeServerReflexive, udpLocalPreference(sk.addrIndex, 0), c.id)
	if sk.tcp != nil {
		tr = sk.tcp.cand.c.Transport
		prio = tcpPriority(CandidateTypeServerReflexive, tr, sk.addrIndex, c.id)
	}
	for _, l := range c.local {
		if l.c.Type == CandidateTypeServerReflexive && l.c.Transport == tr && l.c.Addr == mapped {
			return
		}
	}
	cand := Candidate{
		Type:        CandidateTypeServerReflexive,
		Transport:   tr,
		Addr:        mapped,
		Base:        sk.local,
		Priority:    prio,
		Foundation:  a.foundationOf(foundationKey{typ: CandidateTypeServerReflexive, base: sk.local.Addr(), server: server, transport: tr}),
		StreamID:    c.s.id,
		ComponentID: c.id,
		Server:      server,
	}
	a.addLocalCandidate(c, &localCandidate{c: cand, sock: sk}, now)
}

// finishGathering signals candidate-gathering-done. Called on the loop.
func (a *Agent) finishGathering(s *stream) {
	if a.debugOn(LogGather) {
		n := 0
		for _, c := range s.comps {
			n += len(c.local)
		}
		a.log.Debug("gather.done", "stream", s.id, "candidates", n, "stun_errors", len(s.stunErrors), "relay_errors", len(s.relayErrors))
	}
	s.gatheringDone = true
	s.gatherDeadline = time.Time{}
	s.failureCheckDue = true // afterEvent: pairs that all failed while gathering may fail the component now
	a.events.push(event{kind: evGatheringDone, streamID: s.id})
	// Components that already have the peer's candidates are checking.
	for _, c := range s.comps {
		if c.state == ComponentStateGathering && len(c.remote) > 0 {
			a.setState(c, ComponentStateConnecting)
		}
	}
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

// STUNError is a server-reflexive request that failed while gathering (see
// Agent.STUNErrors). It wraps ErrSTUNTimeout when the STUN server did not
// answer before the retransmissions or the gathering timeout ran out, and
// ErrSTUNRefused when it answered with an error or without a mapped address.
type STUNError struct {
	ComponentID int
	Server      netip.AddrPort // the STUN server (Config.STUNServer, resolved)
	Local       netip.AddrPort // the host socket the request left from
	Err         error
}

func (e STUNError) Error() string {
	return fmt.Sprintf("STUN request to %s from %s for component %d: %v", e.Server, e.Local, e.ComponentID, e.Err)
}

func (e STUNError) Unwrap() error { return e.Err }

// STUNErrors returns the server-reflexive requests of the stream that
// failed while gathering, in the order they failed. A stream with a STUN
// server, no server-reflexive candidate and no STUNErrors got answers whose
// mapped address was a host candidate's (no NAT in between).
func (a *Agent) STUNErrors(streamID int) ([]STUNError, error) {
	var out []STUNError
	err := a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err == nil {
			out = slices.Clone(s.stunErrors)
		}
		return err
	})
	return out, err
}

// stunFailed records a failed server-reflexive request (at most one per
// host socket and component, as gathering sends one each) and logs it.
// Called on the loop.
func (a *Agent) stunFailed(tx *transaction, err error) {
	e := STUNError{ComponentID: tx.comp.id, Server: tx.dest, Local: tx.sock.local, Err: err}
	if a.debugOn(LogGather) {
		a.log.Debug("gather.stun-failed", "stream", tx.stream.id, "component", tx.comp.id, "local", tx.sock.local,
			"server", tx.dest, "tx", txID(tx), "err", err)
	}
	if len(tx.stream.stunErrors) < 64*len(tx.stream.comps) {
		tx.stream.stunErrors = append(tx.stream.stunErrors, e)
	}
}

// errorCode returns the code of a STUN error response, 0 if it has none.
func errorCode(m *stun.Message) int {
	var ec stun.ErrorCodeAttribute
	if ec.GetFrom(m) != nil {
		return 0
	}
	return int(ec.Code)
}
