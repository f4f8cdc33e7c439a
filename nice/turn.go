// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun"
)

// TURN relays (RFC 5766), libnice's nice_agent_set_relay_info.
//
// The TURN client is the agent's own, in these files:
//
//   - turn.go: the API, and the life of an allocation on the agent:
//     started by GatherCandidates (startRelays), its result turned into
//     candidates (relayAlloc.allocated), given up at the gathering timeout
//     (cancelRelays), released when the component ends (endRelays on the
//     loop, then releaseRelays on the component's releaser goroutine).
//   - turn_alloc.go: turnAlloc, the protocol state of one allocation
//     (Allocate with the long-term credential dance, Refresh,
//     CreatePermission, ChannelBind, their retransmissions and timeouts).
//     It takes now and does no I/O; the loop drives it like every other
//     transaction (relayDeadline, tickRelays), then the releaser does.
//   - turn_data.go: the relay socket's writes (ChannelData once a channel
//     is bound, else Send indications, held while the permission is
//     pending) and what the server sends (ChannelData and Data indications
//     routed as if they came from the peer on the relay socket; answers to
//     the transactions to the loop).
//   - turn_stream.go: TURN over TCP and TLS: the dial, and the connection's
//     reader and writer.
//
// Over UDP an allocation is made from the host socket itself (its reader
// hands what the server sends to the allocation, toRelay), so the
// XOR-MAPPED-ADDRESS of the allocation is a true server-reflexive address
// of that socket. Over TCP and TLS each allocation has its own connection,
// dialled from the socket's address.

// RelayType is the transport to a TURN server, with libnice's names and
// numeric values (NiceRelayType). The relayed address is always UDP.
type RelayType int

// Relay types. The values equal libnice's NICE_RELAY_TYPE_*.
const (
	// RelayTypeTURNUDP: TURN over UDP, from the component's host socket.
	RelayTypeTURNUDP RelayType = 0
	// RelayTypeTURNTCP: TURN over TCP (RFC 5766 §2.1), one connection per
	// allocation.
	RelayTypeTURNTCP RelayType = 1
	// RelayTypeTURNTLS: TURN over TLS. Unlike libnice, whose TURN_TLS is
	// plain TCP in RFC 5245 mode (or a fixed fake handshake for Google and
	// Microsoft compatibility), gonice speaks real TLS with certificate
	// verification (crypto/tls; see Config.TURNTLSConfig).
	RelayTypeTURNTLS RelayType = 2
)

var relayTypeNames = [...]string{"udp", "tcp", "tls"}

// String returns "udp", "tcp" or "tls".
func (t RelayType) String() string {
	if t >= 0 && int(t) < len(relayTypeNames) {
		return relayTypeNames[t]
	}
	return "invalid"
}

// typePreference is libnice's type preference of a relayed candidate:
// 30 over UDP, 20 over TCP or TLS (candidate-priv.h).
func (t RelayType) typePreference() uint32 {
	if t == RelayTypeTURNUDP {
		return 30
	}
	return 20
}

// Defaults for TURN.
const (
	// MaxRelayServers bounds the TURN servers of one component, as
	// libnice's NICE_CANDIDATE_MAX_TURN_SERVERS.
	MaxRelayServers = 8
	// DefaultTURNPort is the TURN server port over UDP and TCP when none is given.
	DefaultTURNPort = 3478
	// DefaultTURNTLSPort is the TURN server port over TLS when none is given.
	DefaultTURNTLSPort = 5349
	// DefaultTURNReleaseTimeout bounds how long releasing an allocation
	// waits for the server's answer (Config.TURNReleaseTimeout).
	DefaultTURNReleaseTimeout = 2 * time.Second
	// turnReliableRTO is the RTO of TURN transactions over TCP and TLS,
	// where a request is sent once and given up after turnReliableRTOs of
	// them, 8 s (libnice's stun-reliable-timeout is 7.9 s).
	turnReliableRTO  = 2 * time.Second
	turnReliableRTOs = 4
)

// turnServer is one server configured on a component. Owned by the loop.
type turnServer struct {
	addr       netip.AddrPort
	host       string // as given to SetRelayInfo: for errors and TLS server names
	user, pass string
	typ        RelayType
}

// RelayError is a TURN allocation that failed while gathering (see
// Agent.RelayErrors). It wraps ErrRelayUnauthorized when the server refused
// the credentials and ErrRelayTimeout when it did not answer in time.
type RelayError struct {
	ComponentID int
	Server      string         // as given to SetRelayInfo
	Type        RelayType      // transport to the server
	Local       netip.AddrPort // the host socket it was made from (its address for TCP/TLS)
	Err         error
}

func (e RelayError) Error() string {
	return fmt.Sprintf("TURN allocation on %s (%s) from %s for component %d: %v", e.Server, e.Type, e.Local, e.ComponentID, e.Err)
}

func (e RelayError) Unwrap() error { return e.Err }

// SetRelayInfo adds a TURN server to a component, as
// nice_agent_set_relay_info: GatherCandidates then makes an allocation on
// it from every host address of the server's family, and adds a relayed
// candidate for each (and, over UDP, the server-reflexive candidate the
// allocation reveals, if no STUN server found it already). server is
// "host:port", "host" or an IP address; the port defaults to 3478, or 5349
// for TLS. A host name is resolved now, in the caller's goroutine (libnice
// resolves asynchronously). username and password are the server's
// long-term credentials (RFC 5389 §10.2); they are never logged.
//
// Over UDP the allocation is made from the component's host socket itself,
// so the relay shares the host candidate's NAT mapping, as in libnice; over
// TCP and TLS each allocation has its own connection, dialled from the host
// address. TLS is real TLS (see RelayTypeTURNTLS and Config.TURNTLSConfig).
// A permission is created for each remote candidate's address as soon as
// it pairs with the relay, then a channel is bound to the candidate; the
// allocation, permissions and channels are refreshed 60 s before they
// expire, as libnice does.
//
// Up to MaxRelayServers servers per component; the order gives the
// candidates' priority (libnice's turn_pref is the server's index). It must
// be called before GatherCandidates (ErrAlreadyGathering after). An ICE-lite
// agent (Config.Lite) makes no allocation, as libnice.
func (a *Agent) SetRelayInfo(streamID, componentID int, server, username, password string, t RelayType) error {
	if t < RelayTypeTURNUDP || t > RelayTypeTURNTLS {
		return fmt.Errorf("%w: relay type %d", ErrInvalidArgument, t)
	}
	if server == "" {
		return fmt.Errorf("%w: empty TURN server", ErrInvalidArgument)
	}
	port := uint16(DefaultTURNPort)
	if t == RelayTypeTURNTLS {
		port = DefaultTURNTLSPort
	}
	addr, err := resolveServer(server, port)
	if err != nil {
		return fmt.Errorf("%w: TURN server %q: %v", ErrInvalidArgument, server, err)
	}
	addr = netip.AddrPortFrom(addr.Addr().Unmap(), addr.Port())
	if !addr.Addr().IsValid() || addr.Addr().IsUnspecified() || addr.Port() == 0 {
		return fmt.Errorf("%w: TURN server %q", ErrInvalidArgument, server)
	}
	srv := turnServer{addr: addr, host: server, user: username, pass: password, typ: t}
	return a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		if c.s.gathering {
			return ErrAlreadyGathering
		}
		if len(c.turn) >= MaxRelayServers {
			return fmt.Errorf("%w: more than %d TURN servers on component %d", ErrInvalidArgument, MaxRelayServers, componentID)
		}
		c.turn = append(c.turn, srv)
		return nil
	})
}

// ForgetRelays drops the TURN servers configured on a component, as
// nice_agent_forget_relays. Allocations already made are kept until the
// stream is removed or the agent closed.
func (a *Agent) ForgetRelays(streamID, componentID int) error {
	return a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		c.turn = nil
		return nil
	})
}

// SetForceRelay turns force-relay (Config.ForceRelay, libnice's writable
// force-relay property) on or off while the agent runs, as libnice allows:
// Janus sets it on an agent that has already gathered. From then on only
// relayed local candidates are listed, put in SDP and paired, and a host
// socket drops what does not come from a TURN server; pairs of other local
// candidates fail (a selected one too: the component selects another pair or
// none). Candidates already signalled stay signalled, and server-reflexive
// discovery already done is not undone. Turning it off pairs the host
// candidates with the remote ones.
func (a *Agent) SetForceRelay(on bool) error {
	return a.do(func(now time.Time) error {
		if a.forceRelay.Swap(on) == on {
			return nil
		}
		for _, s := range a.streams {
			for _, c := range s.comps {
				if on {
					for _, p := range s.checks.pairs {
						if p.comp == c && p.local.sock.relay == nil && p.state != pairFailed {
							a.failPair(p, now)
						}
					}
					a.checkFailure(c, now)
					continue
				}
				for _, l := range c.local {
					if l.c.Type == CandidateTypeHost {
						for _, r := range c.remote {
							a.addPair(c, l, r, now)
						}
					}
				}
			}
		}
		return nil
	})
}

// RelayErrors returns the TURN allocations of the stream that failed while
// gathering, and those lost later (ErrRelayLost: the agent then allocates
// again, and signals the new relayed candidate), in the order they failed
// (the latest 32 per component);
// each is also logged (at Warn, key "err"). Gathering completes whether or
// not allocations fail.
func (a *Agent) RelayErrors(streamID int) ([]RelayError, error) {
	var out []RelayError
	err := a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err == nil {
			out = slices.Clone(s.relayErrors)
		}
		return err
	})
	return out, err
}

// relayAlloc is one TURN allocation of a component: the agent's side of a
// turnAlloc (its candidates, sockets and data path).
type relayAlloc struct {
	a     *Agent
	c     *component
	srv   turnServer
	index int     // the server's index in the component's list (turn_pref)
	host  *socket // the host socket it is made from (UDP) or dialled from (TCP/TLS)

	// Owned by the loop until the component ends (ended), then by the
	// component's releaser (releaseRelays).
	t       *turnAlloc
	pending bool // allocating, result not yet reported
	ended   bool // the component ended: the loop no longer drives t
	// again is 0 for an allocation made by gathering or an ICE restart, n
	// for the nth attempt to make again one that was lost; such an attempt
	// that fails is tried again at retryAt (relayRetryDelay).
	again      int
	retryAt    time.Time
	sock       *socket // the relay socket, once allocated
	cancelDial context.CancelFunc

	// The data path (turn_data.go), safe for concurrent use.
	closed    atomic.Bool                      // the component ended: data writes fail
	relaySock atomic.Pointer[socket]           // sock, for the readers
	chans     atomic.Pointer[turnChannels]     // channels, replaced by the loop
	stream    atomic.Pointer[turnStream]       // TCP/TLS: the connection, once dialled
	inbox     atomic.Pointer[chan turnInbound] // releasing: where answers go
	posted    atomic.Int32                     // answers queued for the loop
	dmu       sync.Mutex                       // guards perms and held
	perms     map[netip.Addr]bool              // asked-for peers: granted or pending
	held      []*packet                        // sent to pending peers, in order
}

// turnInbound is an answer from the server for the releaser.
type turnInbound struct {
	ra *relayAlloc
	pk *packet
}

// startRelays starts an allocation for every TURN server of c and every
// host socket of the server's address family. Called on the loop.
func (a *Agent) startRelays(c *component) {
	for i, srv := range c.turn {
		for _, sk := range c.socks {
			ip := sk.local.Addr()
			if ip.Is4() != srv.addr.Addr().Is4() || ip.IsLinkLocalUnicast() {
				continue
			}
			if sk.mux != nil && srv.typ == RelayTypeTURNUDP {
				continue // a mux's socket is one 5-tuple for all its agents: UDP allocations go from the agent's own sockets
			}
			if slices.ContainsFunc(c.relays, func(r *relayAlloc) bool {
				return r.host == sk && r.srv.typ == srv.typ && r.srv.addr == srv.addr && r.live()
			}) {
				continue // one allocation per 5-tuple (RFC 5766 §2.2), and one per server and socket over TCP
			}
			a.dropFailedRelays(c, sk, srv)
			a.startRelay(c, i, srv, sk, time.Now(), 0)
		}
	}
}

// live reports whether the allocation is being made or is made: not
// failed, lost or ended. Called on the loop.
func (ra *relayAlloc) live() bool {
	return !ra.ended && (ra.pending || ra.t.state == turnAllocated)
}

// dropFailedRelays forgets the failed allocations from host socket sk to
// srv (their errors stay in RelayErrors) before a new one is made.
// Called on the loop.
func (a *Agent) dropFailedRelays(c *component, sk *socket, srv turnServer) {
	c.relays = slices.DeleteFunc(c.relays, func(r *relayAlloc) bool {
		if r.host != sk || r.srv.typ != srv.typ || r.srv.addr != srv.addr || r.live() || r.ended {
			return false
		}
		if st := r.stream.Load(); st != nil {
			st.close()
		}
		if r.srv.typ == RelayTypeTURNUDP {
			list := slices.DeleteFunc(slices.Clone(sk.turnList()), func(x *relayAlloc) bool { return x == r })
			sk.turn.Store(&list)
		}
		return true
	})
}

// startRelay creates one allocation and starts it: over UDP its first
// Allocate leaves now, over TCP and TLS once the connection is up. again
// is relayAlloc.again. Called on the loop.
func (a *Agent) startRelay(c *component, index int, srv turnServer, sk *socket, now time.Time, again int) {
	ra := &relayAlloc{a: a, c: c, srv: srv, index: index, host: sk, pending: true, again: again}
	rto := a.cfg.STUNInitialTimeout
	if srv.typ != RelayTypeTURNUDP {
		rto = turnReliableRTO
	}
	ra.t = &turnAlloc{
		user: srv.user, pass: srv.pass, software: a.cfg.Software,
		reliable: srv.typ != RelayTypeTURNUDP, rto: rto,
		out: ra.sendControl, ev: ra,
		log:   a.log.With("server", srv.addr, "transport", srv.typ.String(), "local", sk.local),
		debug: a.debugOn(LogTURN),
	}
	c.relays = append(c.relays, ra)
	c.s.pendingRelays++
	if srv.typ != RelayTypeTURNUDP {
		var ctx context.Context
		ctx, ra.cancelDial = context.WithCancel(context.Background())
		go ra.dial(a.workers.start(), ctx) // dials the server and hands the connection to the loop; ends then
		return
	}
	// From now on the host socket's reader hands the server's packets to ra.
	list := append(slices.Clone(sk.turnList()), ra)
	sk.turn.Store(&list)
	ra.t.start(now)
}

// allocated adds the server-reflexive and relayed candidates of a granted
// allocation. Called on the loop (turnEvents).
func (ra *relayAlloc) allocated(now time.Time, relayed, mapped netip.AddrPort) {
	a, c := ra.a, ra.c
	s := c.s
	if !ra.pending {
		return
	}
	ra.pending = false
	defer a.relayDone(s)
	base := mapped
	if !base.IsValid() {
		base = ra.host.local
		if st := ra.stream.Load(); st != nil {
			if la, ok := st.conn.LocalAddr().(*net.TCPAddr); ok {
				base = unmap(la.AddrPort())
			}
		}
	}
	sk := &socket{comp: c, local: relayed, addrIndex: ra.host.addrIndex, turnIndex: ra.index, relay: ra}
	sk.conn = &relayConn{ra: ra, local: relayed}
	ra.sock = sk
	ra.relaySock.Store(sk)
	if a.debugOn(LogTURN) {
		a.log.Debug("turn.allocated", "stream", s.id, "component", c.id, "server", ra.srv.addr, "transport", ra.srv.typ,
			"relayed", relayed, "mapped", mapped)
	}
	if ra.srv.typ == RelayTypeTURNUDP && mapped.IsValid() && !a.forceRelay.Load() {
		a.addServerReflexive(c, ra.host, mapped, ra.srv.addr, now)
	}
	cand := Candidate{
		Type:        CandidateTypeRelayed,
		Transport:   TransportUDP,
		Addr:        relayed,
		Base:        base,
		Priority:    candidatePriorityPref(ra.srv.typ.typePreference(), udpLocalPreference(ra.host.addrIndex, ra.index), c.id),
		Foundation:  a.foundationRelay(base.Addr(), ra.srv),
		StreamID:    s.id,
		ComponentID: c.id,
		Server:      ra.srv.addr,
	}
	a.addLocalCandidate(c, &localCandidate{c: cand, sock: sk}, now)
}

// allocFailed records a failed allocation. One that was to replace a lost
// allocation is tried again later (relayRetryDelay): the server may be
// restarting; only the first failure of such a run is recorded. Called on
// the loop (turnEvents).
func (ra *relayAlloc) allocFailed(err error) {
	if !ra.pending {
		return
	}
	ra.pending = false
	switch {
	case ra.again <= 1:
		ra.a.relayFailed(ra, printable(err))
	case ra.a.debugOn(LogTURN):
		ra.a.log.Debug("turn.retry-failed", "server", ra.srv.addr, "transport", ra.srv.typ, "local", ra.host.local,
			"attempt", ra.again, "err", err)
	}
	if ra.again > 0 {
		ra.retryAt = time.Now().Add(relayRetryDelay(ra.again))
	}
	ra.a.relayDone(ra.c.s)
}

// relayRetryDelay is how long after the nth failed attempt to make a lost
// allocation again the next one starts: 1 s for the first
// relayRetryQuick attempts (a TURN server that restarts is back within
// seconds, and each try is one small request), then doubling, at most
// 32 s. An ICE restart tries at once (startRelays).
func relayRetryDelay(n int) time.Duration {
	if n <= relayRetryQuick {
		return time.Second
	}
	return time.Second << min(n-relayRetryQuick, 5)
}

// relayRetryQuick is how many failed attempts to make a lost allocation
// again are followed by another one a second later.
const relayRetryQuick = 10

// retryRelays starts again the failed re-allocations whose time came.
// Called on the loop.
func (a *Agent) retryRelays(c *component, now time.Time) {
	var due []*relayAlloc
	for _, ra := range c.relays {
		if !ra.ended && !ra.pending && !ra.retryAt.IsZero() && !now.Before(ra.retryAt) {
			due = append(due, ra)
		}
	}
	for _, ra := range due {
		ra.retryAt = time.Time{}
		if ra.host.closed.Load() || slices.ContainsFunc(c.relays, func(r *relayAlloc) bool {
			return r.host == ra.host && r.srv.typ == ra.srv.typ && r.srv.addr == ra.srv.addr && r.live()
		}) {
			continue
		}
		a.dropFailedRelays(c, ra.host, ra.srv)
		a.startRelay(c, ra.index, ra.srv, ra.host, now, ra.again+1)
	}
}

// lost handles an allocation the server no longer has (turnAlloc.lose):
// it is reported (RelayErrors, ErrRelayLost), its relayed candidate is
// withdrawn (no longer listed by LocalCandidates or paired; its pairs fail,
// so a selected pair on it is replaced by another valid one, or none), and
// a new allocation is made from the same host socket, whose relayed
// candidate is signalled as new. Called on the loop (turnEvents).
func (ra *relayAlloc) lost(now time.Time, err error) {
	a, c := ra.a, ra.c
	if ra.ended {
		return
	}
	a.relayFailed(ra, printable(err))
	ra.ended = true
	ra.closed.Store(true)
	ra.dropHeld(func(netip.Addr) bool { return true })
	c.relays = slices.DeleteFunc(c.relays, func(r *relayAlloc) bool { return r == ra })
	if ra.srv.typ == RelayTypeTURNUDP {
		list := slices.DeleteFunc(slices.Clone(ra.host.turnList()), func(r *relayAlloc) bool { return r == ra })
		ra.host.turn.Store(&list)
	} else if st := ra.stream.Load(); st != nil {
		st.close()
	}
	if sk := ra.sock; sk != nil {
		sk.closed.Store(true)
		c.local = slices.DeleteFunc(c.local, func(l *localCandidate) bool { return l.sock == sk })
		// The selected pair last: failing it selects another valid pair,
		// which must not be one of the relay's.
		sel := c.selected
		for _, p := range c.s.checks.pairs {
			if p.comp == c && p.local.sock == sk && p.state != pairFailed && p != sel {
				a.failPair(p, now)
			}
		}
		if sel != nil && sel.local.sock == sk {
			a.failPair(sel, now)
		}
		a.checkFailure(c, now) // no pair left: FAILED, the signal to restart
	}
	if c.s.comps[c.id-1] != c || a.workers.closing.Load() || ra.host.closed.Load() {
		return
	}
	a.log.Info("nice: TURN allocation lost: allocating again", "stream", c.s.id, "component", c.id,
		"server", ra.srv.host, "transport", ra.srv.typ, "local", ra.host.local)
	a.startRelay(c, ra.index, ra.srv, ra.host, now, 1)
}

// probeRelays asks the server of every allocation of s whether it still
// has it (turnAlloc.probe). Called on the loop.
func (a *Agent) probeRelays(s *stream, now time.Time) {
	for _, c := range s.comps {
		for _, ra := range c.relays {
			if !ra.ended {
				ra.t.probe(now)
			}
		}
	}
}

// relayFailed records and logs a failed allocation. Called on the loop.
func (a *Agent) relayFailed(ra *relayAlloc, err error) {
	e := RelayError{ComponentID: ra.c.id, Server: ra.srv.host, Type: ra.srv.typ, Local: ra.host.local, Err: err}
	s := ra.c.s
	// Bounded; the oldest go first, so that a long session whose server
	// restarts again and again still reports its latest losses.
	if limit := 4 * MaxRelayServers * len(s.comps); len(s.relayErrors) >= limit {
		s.relayErrors = slices.Delete(s.relayErrors, 0, len(s.relayErrors)-limit+1)
	}
	s.relayErrors = append(s.relayErrors, e)
	a.log.Warn("nice: TURN allocation failed", "stream", s.id, "component", ra.c.id, "server", ra.srv.host,
		"transport", ra.srv.typ, "local", ra.host.local, "err", err)
}

// relayDone accounts for one finished allocation. Called on the loop.
func (a *Agent) relayDone(s *stream) {
	if s.pendingRelays > 0 {
		s.pendingRelays--
	}
	if s.pendingRelays == 0 && s.pendingDiscoveries == 0 && s.gathering && !s.gatheringDone {
		a.finishGathering(s)
	}
}

// cancelRelays gives up the stream's allocations still in progress, at the
// gathering timeout. Called on the loop.
func (a *Agent) cancelRelays(s *stream) {
	for _, c := range s.comps {
		for _, ra := range c.relays {
			if ra.pending {
				ra.pending = false
				ra.cancel()
				a.relayFailed(ra, fmt.Errorf("%w within the gathering timeout (%v)", ErrRelayTimeout, a.cfg.GatheringTimeout))
			}
		}
	}
	s.pendingRelays = 0
}

// cancel stops an allocation in progress (a dial, the Allocate
// transactions). Called on the loop.
func (ra *relayAlloc) cancel() {
	if ra.cancelDial != nil {
		ra.cancelDial()
	}
	ra.t.cancel()
}

// permit asks the server, ahead of the first check, to let peer's packets
// through the relay (RFC 5766 §8), then to bind a channel to peer: the
// peer's checks may arrive before ours leave, and would be dropped
// without it. Called on the loop (addPair).
func (ra *relayAlloc) permit(peer netip.AddrPort) {
	if ra.ended {
		return
	}
	ra.dmu.Lock()
	if _, ok := ra.perms[peer.Addr()]; !ok {
		if ra.perms == nil {
			ra.perms = map[netip.Addr]bool{}
		}
		ra.perms[peer.Addr()] = false
	}
	ra.dmu.Unlock()
	ra.t.permit(time.Now(), peer)
}

// relayDeadline is the earliest deadline of the TURN allocations the loop
// drives. Called on the loop.
func (a *Agent) relayDeadline() time.Time {
	var next time.Time
	for _, s := range a.streams {
		for _, c := range s.comps {
			for _, ra := range c.relays {
				if !ra.ended {
					next = earliest(next, ra.t.deadline())
					next = earliest(next, ra.retryAt)
				}
			}
		}
	}
	return next
}

// tickRelays runs the TURN allocations' expired deadlines. Called on the loop.
func (a *Agent) tickRelays(now time.Time) {
	for _, s := range a.streams {
		for _, c := range s.comps {
			for _, ra := range c.relays {
				if ra.ended {
					continue
				}
				if d := ra.t.deadline(); !d.IsZero() && !now.Before(d) {
					ra.t.tick(now)
				}
			}
			a.retryRelays(c, now)
		}
	}
}

// onControl hands an answer of the server to the allocation. Called on the
// loop.
func (ra *relayAlloc) onControl(now time.Time, pk *packet) {
	if ra.ended {
		return // the releaser owns t now
	}
	m := ra.a.msg
	if stun.Decode(pk.b[:pk.n], m) != nil {
		return
	}
	ra.t.handle(now, m)
}

// endRelays ends the allocations of a component that ends: the loop stops
// driving them and data writes fail. Called on the loop, before the
// component's releaser (releaseRelays) takes them over.
func (a *Agent) endRelays(relays []*relayAlloc) {
	for _, ra := range relays {
		if ra.pending {
			ra.pending = false
			ra.cancel()
		}
		if ra.sock != nil {
			ra.sock.closed.Store(true)
		}
		ra.ended = true
		ra.closed.Store(true)
		ra.dropHeld(func(netip.Addr) bool { return true })
	}
}

// releaseRelays frees the allocations of a component that ended (a Refresh
// with LIFETIME 0, RFC 5766 §7, as libnice's close_async), waiting at most
// TURNReleaseTimeout for the answers while retransmitting, then closes their
// TCP and TLS connections. It runs on the component's releaser goroutine,
// which owns the allocations from endRelays on.
func (a *Agent) releaseRelays(relays []*relayAlloc) {
	inbox := make(chan turnInbound, 4*len(relays)+4)
	now := time.Now()
	var live []*relayAlloc
	for _, ra := range relays {
		ra.inbox.Store(&inbox)
		if ra.t.release(now) {
			live = append(live, ra)
		}
	}
	if timeout := a.cfg.TURNReleaseTimeout; timeout > 0 && len(live) > 0 {
		end := now.Add(timeout)
		timer := time.NewTimer(timeout)
		m := new(stun.Message)
		for len(live) > 0 && now.Before(end) {
			next := end
			for _, ra := range live {
				next = earliest(next, ra.t.deadline())
			}
			timer.Reset(next.Sub(now))
			select {
			case in := <-inbox:
				if stun.Decode(in.pk.b[:in.pk.n], m) == nil {
					in.ra.t.handle(time.Now(), m)
				}
				putPacket(in.pk)
			case <-timer.C:
			}
			now = time.Now()
			for _, ra := range live {
				if d := ra.t.deadline(); !d.IsZero() && !now.Before(d) {
					ra.t.tick(now)
				}
			}
			live = slices.DeleteFunc(live, func(ra *relayAlloc) bool { return ra.t.done() })
		}
		timer.Stop()
		for _, ra := range live {
			if a.debugOn(LogTURN) {
				a.log.Debug("turn.release-unconfirmed", "server", ra.srv.addr, "transport", ra.srv.typ, "timeout", timeout)
			}
		}
	}
	for _, ra := range relays {
		if st := ra.stream.Load(); st != nil {
			st.close()
		}
	}
}

// printable returns err with its text cleaned of control characters (a
// server's reason phrase may carry NUL padding), still wrapping err.
func printable(err error) error {
	msg := err.Error()
	if !strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return err
	}
	clean := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, msg)
	return &cleanError{msg: clean, err: err}
}

type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }
