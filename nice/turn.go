// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/logging"
	"github.com/pion/stun"
	"github.com/pion/transport/v2/stdnet"
	"github.com/pion/turn/v2"
)

// TURN relays (RFC 5766), libnice's nice_agent_set_relay_info.
//
// How an allocation lives (one goroutine per allocation, relayAlloc.run):
//
//  1. GatherCandidates (on the loop) creates a relayAlloc for every
//     configured server and every host socket of the server's address
//     family, and starts run. Over UDP the allocation is made from the host
//     socket itself: pion's client writes through the socket, and the
//     socket's reader hands what comes from the server to the client
//     (relayAlloc.handleInbound), so the XOR-MAPPED-ADDRESS of the
//     allocation is a true server-reflexive address of that socket. Over
//     TCP and TLS run dials a connection from the socket's address, and a
//     reader goroutine of that connection does the same.
//  2. run allocates (network round trips, off the loop) and posts the
//     result to the loop (onRelayResult), which adds the candidates, or
//     records the error. The gathering timeout and the component's end
//     cancel an allocation still in progress.
//  3. Once accepted, run writes what the loop sends through the relay
//     (checks, answers, keepalives: pion's first write to a peer blocks
//     until its permission is created, which the loop must not wait for).
//     A reader goroutine per relay (readLoop on the relay socket) feeds the
//     loop and the component, as for a host socket.
//  4. When the component ends (RemoveStream, Close), run releases the
//     allocation: a Refresh with LIFETIME 0, retransmitted by pion until the
//     server answers or TURNReleaseTimeout passes, as libnice's close_async.
//     Only then are the host sockets that carried allocations closed.

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
	// turnReliableRTO is the first retransmission timeout of TURN
	// transactions over TCP and TLS (libnice's stun-reliable-timeout).
	turnReliableRTO = 2 * time.Second
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
// it pairs with the relay; channel bindings and refreshes are pion/turn's:
// the allocation is refreshed at half its lifetime (libnice: 60 s before it
// ends), permissions every two minutes (libnice: 4), and a channel is bound
// to each peer on first use and refreshed when used after five minutes.
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

// RelayErrors returns the TURN allocations of the stream that failed while
// gathering, in the order they failed; each is also logged (at Warn, key
// "err"). Gathering completes whether or not allocations fail.
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

// relayAlloc is one TURN allocation of a component.
type relayAlloc struct {
	a     *Agent
	c     *component
	srv   turnServer
	index int     // the server's index in the component's list (turn_pref)
	host  *socket // the host socket it is made from (UDP) or dialled from (TCP/TLS)
	conn  *turnConn
	sAddr *net.UDPAddr // the server, for pion's client

	ctx       context.Context
	ctxCancel context.CancelFunc

	// Owned by the loop.
	pending bool    // allocating, result not yet taken
	sock    *socket // the relay socket, once accepted

	client atomic.Pointer[turn.Client]
	relay  net.PacketConn // pion's relayed conn; set by the loop when accepted
	// chans finds the peer of a channel number (pion's relayed conn), and
	// chanSock is the relay socket, published once accepted: ChannelData
	// is then routed without going through pion's read queue.
	chans    channelFinder
	chanSock atomic.Pointer[socket]

	sendq    chan *packet        // what the loop sends through the relay
	permq    chan netip.Addr     // peers to permit ahead of the checks
	permits  map[netip.Addr]bool // owned by the loop: peers asked for
	stop     chan struct{}       // closed when the component ends
	stopOnce sync.Once
	finished chan struct{} // closed when run has released everything

	releasing atomic.Bool
	writing   atomic.Bool // serve is in pion's WriteTo

	mu          sync.Mutex // guards what follows
	cancelled   bool
	timedOut    bool
	tcp         net.Conn
	mapped      netip.AddrPort // XOR-MAPPED-ADDRESS of the Allocate response
	challenged  bool           // a 401 answered the first Allocate request
	refused     bool           // the authenticated Allocate was refused (401, or 400 from pion's server)
	releaseTx   [stun.TransactionIDSize]byte
	releaseDone chan struct{} // closed when the release's Refresh is answered
	staleNonce  stun.Nonce    // from a 438 answer to the release
}

// relaySendQueueLen bounds what the loop queues on one relay; beyond it a
// packet is dropped, as by a full socket buffer.
const relaySendQueueLen = 64

// startRelays starts an allocation for every TURN server of c and every
// host socket of the server's address family. Called on the loop.
func (a *Agent) startRelays(c *component) {
	for i, srv := range c.turn {
		for _, sk := range c.socks {
			ip := sk.local.Addr()
			if ip.Is4() != srv.addr.Addr().Is4() || ip.IsLinkLocalUnicast() {
				continue
			}
			if srv.typ == RelayTypeTURNUDP && slices.ContainsFunc(c.relays, func(r *relayAlloc) bool {
				return r.host == sk && r.srv.typ == RelayTypeTURNUDP && r.srv.addr == srv.addr
			}) {
				continue // one allocation per 5-tuple (RFC 5766 §2.2)
			}
			a.startRelay(c, i, srv, sk)
		}
	}
}

// startRelay creates one allocation and its goroutine. Called on the loop.
func (a *Agent) startRelay(c *component, index int, srv turnServer, sk *socket) {
	ra := &relayAlloc{
		a: a, c: c, srv: srv, index: index, host: sk,
		sAddr:    net.UDPAddrFromAddrPort(srv.addr),
		pending:  true,
		sendq:    make(chan *packet, relaySendQueueLen),
		permq:    make(chan netip.Addr, relaySendQueueLen),
		permits:  map[netip.Addr]bool{},
		stop:     make(chan struct{}),
		finished: make(chan struct{}),
	}
	ra.conn = &turnConn{ra: ra}
	ra.ctx, ra.ctxCancel = context.WithCancel(context.Background())
	if srv.typ == RelayTypeTURNUDP {
		ra.conn.udp = sk.conn
		cl, err := a.newTURNClient(ra)
		if err != nil {
			ra.pending = false
			a.relayFailed(ra, err)
			return
		}
		ra.client.Store(cl)
		// From now on the host socket's reader hands the server's
		// packets to the client.
		list := append(slices.Clone(sk.turnList()), ra)
		sk.turn.Store(&list)
	}
	c.relays = append(c.relays, ra)
	c.s.pendingRelays++
	go ra.run(a.workers.start()) // the allocation: allocate, serve, release; ends when released
}

// newTURNClient makes pion's client for ra; it writes through ra.conn and
// reads nothing itself: the agent feeds it (handleInbound).
func (a *Agent) newTURNClient(ra *relayAlloc) (*turn.Client, error) {
	rto := a.cfg.STUNInitialTimeout
	if ra.srv.typ != RelayTypeTURNUDP {
		rto = turnReliableRTO
	}
	return turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: ra.srv.addr.String(),
		Username:       ra.srv.user,
		Password:       ra.srv.pass,
		Software:       a.cfg.Software,
		RTO:            rto,
		Conn:           ra.conn,
		Net:            turnNet{Net: &stdnet.Net{}},
		LoggerFactory:  pionLogs{log: a.log.With("turn", ra.srv.addr.String(), "transport", ra.srv.typ.String())},
	})
}

// run is the allocation's goroutine: allocate, hand the result to the
// loop, write what the loop sends, release.
func (ra *relayAlloc) run(w *worker) {
	a := ra.a
	defer w.exit()
	defer close(ra.finished)
	relay, err := ra.allocate()
	accepted := false
	if e := a.do(func(now time.Time) error {
		accepted = a.onRelayResult(ra, relay, err, now)
		return nil
	}); e != nil {
		accepted = false
	}
	if accepted {
		ra.serve(relay)
	}
	ra.release(relay)
	ra.ctxCancel()
}

// allocate dials (TCP, TLS) and makes the allocation.
func (ra *relayAlloc) allocate() (net.PacketConn, error) {
	a := ra.a
	if ra.srv.typ != RelayTypeTURNUDP {
		d, ok := a.net.(TCPDialer)
		if !ok {
			return nil, errors.New("Config.Net cannot open TCP connections (it is no nice.TCPDialer)")
		}
		conn, err := d.DialTCP(ra.ctx, ra.host.local.Addr(), ra.srv.addr)
		if err != nil {
			return nil, ra.wrapErr(err)
		}
		if ra.srv.typ == RelayTypeTURNTLS {
			tc := tls.Client(conn, a.tlsConfig(ra.srv))
			if err := tc.HandshakeContext(ra.ctx); err != nil {
				_ = conn.Close()
				return nil, ra.wrapErr(fmt.Errorf("TLS handshake: %w", err))
			}
			conn = tc
		}
		stream := turn.NewSTUNConn(conn)
		ra.conn.stream = stream
		cl, err := a.newTURNClient(ra)
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
		ra.mu.Lock()
		if ra.cancelled {
			ra.mu.Unlock()
			_ = conn.Close()
			return nil, ra.wrapErr(context.Canceled)
		}
		ra.tcp = conn
		ra.client.Store(cl)
		ra.mu.Unlock()
		go ra.readStream(a.workers.start(), stream) // the connection's reader, until it closes
	}
	cl := ra.client.Load()
	relay, err := cl.Allocate()
	if err != nil {
		return nil, ra.wrapErr(err)
	}
	return relay, nil
}

// wrapErr turns a failure into what RelayErrors reports.
func (ra *relayAlloc) wrapErr(err error) error {
	err = printable(err)
	ra.mu.Lock()
	defer ra.mu.Unlock()
	switch {
	case ra.timedOut:
		return fmt.Errorf("%w within the gathering timeout", ErrRelayTimeout)
	case ra.refused:
		return fmt.Errorf("%w: %v", ErrRelayUnauthorized, err)
	case ra.cancelled:
		return fmt.Errorf("allocation cancelled: %w", err)
	}
	var ne net.Error
	// pion's "all retransmissions failed" is unexported.
	if errors.As(err, &ne) && ne.Timeout() || strings.Contains(err.Error(), "all retransmissions failed") {
		return fmt.Errorf("%w: %v", ErrRelayTimeout, err)
	}
	return err
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

// tlsConfig returns the TLS configuration for srv: Config.TURNTLSConfig
// (or the system roots) with the server's host name as ServerName.
func (a *Agent) tlsConfig(srv turnServer) *tls.Config {
	var cfg *tls.Config
	if a.cfg.TURNTLSConfig != nil {
		cfg = a.cfg.TURNTLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(srv.host)
		if err != nil {
			host = srv.host
		}
		cfg.ServerName = host
	}
	return cfg
}

// cancel stops an allocation in progress: pion's transactions end, its
// writes fail, a dial or handshake stops. Called on the loop.
func (ra *relayAlloc) cancel(timedOut bool) {
	ra.mu.Lock()
	ra.cancelled = true
	ra.timedOut = ra.timedOut || timedOut
	ra.mu.Unlock()
	ra.conn.blocked.Store(true)
	ra.ctxCancel()
	if cl := ra.client.Load(); cl != nil {
		cl.Close()
	}
}

// end tells run that the component is gone. Called on the loop.
func (ra *relayAlloc) end() {
	ra.stopOnce.Do(func() { close(ra.stop) })
}

// onRelayResult takes an allocation's result: adds the server-reflexive
// and relayed candidates, or records the failure. It reports whether the
// allocation is kept. Called on the loop.
func (a *Agent) onRelayResult(ra *relayAlloc, relay net.PacketConn, err error, now time.Time) bool {
	if !ra.pending {
		return false // cancelled: gathering timed out or the component ended
	}
	ra.pending = false
	c := ra.c
	s := c.s
	defer a.relayDone(s)
	if err != nil {
		a.relayFailed(ra, err)
		return false
	}
	ua, ok := relay.LocalAddr().(*net.UDPAddr)
	if !ok {
		a.relayFailed(ra, fmt.Errorf("relayed address %v is not UDP", relay.LocalAddr()))
		return false
	}
	relayed := ua.AddrPort()
	relayed = netip.AddrPortFrom(relayed.Addr().Unmap(), relayed.Port())
	ra.mu.Lock()
	mapped := ra.mapped
	tcp := ra.tcp
	ra.mu.Unlock()
	base := mapped
	if !base.IsValid() {
		base = ra.host.local
		if tcp != nil {
			if la, ok := tcp.LocalAddr().(*net.TCPAddr); ok {
				base = la.AddrPort()
			}
		}
	}
	ra.relay = relay
	sk := &socket{comp: c, local: relayed, addrIndex: ra.host.addrIndex, turnIndex: ra.index, relay: ra}
	sk.conn = &relayConn{ra: ra, relay: relay, local: relayed}
	ra.sock = sk
	if f, ok := relay.(channelFinder); ok {
		ra.chans = f
		ra.chanSock.Store(sk)
	}
	a.log.Debug("TURN allocation", "stream", s.id, "component", c.id, "server", ra.srv.addr, "transport", ra.srv.typ,
		"relayed", relayed, "mapped", mapped)
	if ra.srv.typ == RelayTypeTURNUDP && mapped.IsValid() && !a.cfg.ForceRelay {
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
	}
	a.addLocalCandidate(c, &localCandidate{c: cand, sock: sk}, now)
	go a.readLoop(a.workers.start(), sk) // the relay socket's reader, until the relay ends
	return true
}

// relayFailed records and logs a failed allocation. Called on the loop.
func (a *Agent) relayFailed(ra *relayAlloc, err error) {
	e := RelayError{ComponentID: ra.c.id, Server: ra.srv.host, Type: ra.srv.typ, Local: ra.host.local, Err: err}
	s := ra.c.s
	if len(s.relayErrors) < 4*MaxRelayServers*len(s.comps) {
		s.relayErrors = append(s.relayErrors, e)
	}
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
				ra.cancel(true)
				a.relayFailed(ra, fmt.Errorf("%w within the gathering timeout (%v)", ErrRelayTimeout, a.cfg.GatheringTimeout))
			}
		}
	}
	s.pendingRelays = 0
}

// serve writes what the loop queued until the component ends.
func (ra *relayAlloc) serve(relay net.PacketConn) {
	for {
		// The end comes first: queued packets are then dropped.
		select {
		case <-ra.stop:
			ra.drain()
			return
		default:
		}
		select {
		case ip := <-ra.permq:
			ra.writing.Store(true)
			if cl := ra.client.Load(); cl != nil {
				if err := cl.CreatePermission(&net.UDPAddr{IP: ip.AsSlice()}); err != nil {
					ra.a.log.Debug("nice: TURN permission refused", "server", ra.srv.addr, "peer", ip, "err", err)
				}
			}
			ra.writing.Store(false)
		case pk := <-ra.sendq:
			// The first write to a peer waits for its permission
			// (CreatePermission); the component's end cuts that short
			// (unblock).
			ra.writing.Store(true)
			if _, err := relay.WriteTo(pk.b[:pk.n], net.UDPAddrFromAddrPort(pk.from)); err != nil {
				ra.a.log.Debug("nice: send through TURN relay failed", "server", ra.srv.addr, "remote", pk.from, "err", err)
			}
			ra.writing.Store(false)
			putPacket(pk)
		case <-ra.stop:
			ra.drain()
			return
		}
	}
}

// permit asks the server, ahead of the first check, to let ip's packets
// through the relay (RFC 5766 §8): the peer's checks may arrive before
// ours leave, and would be dropped without it. pion's client creates
// permissions itself only on the first write to a peer. Called on the loop.
func (ra *relayAlloc) permit(ip netip.Addr) {
	if ra.permits[ip] {
		return
	}
	select {
	case ra.permq <- ip:
		ra.permits[ip] = true
	default:
	}
}

// drain drops what is queued.
func (ra *relayAlloc) drain() {
	for {
		select {
		case pk := <-ra.sendq:
			putPacket(pk)
		default:
			return
		}
	}
}

// unblock ends a write of serve that waits for a permission: pion's
// pending transactions end with an error. Called when the component ends.
func (ra *relayAlloc) unblock() {
	if ra.writing.Load() {
		if cl := ra.client.Load(); cl != nil {
			cl.Close()
		}
	}
}

// release frees the allocation on the server (a Refresh with LIFETIME 0,
// RFC 5766 §7), waiting at most TURNReleaseTimeout for the answer, then
// closes the client and the connection.
func (ra *relayAlloc) release(relay net.PacketConn) {
	a := ra.a
	cl := ra.client.Load()
	if relay != nil && cl != nil {
		done := make(chan struct{})
		ra.mu.Lock()
		ra.releaseDone = done
		ra.mu.Unlock()
		ra.releasing.Store(true)
		// A cancelled allocation that the server granted anyway is
		// released too.
		ra.conn.blocked.Store(false)
		// pion's Close stops the refresh timers and sends the Refresh
		// without waiting; its retransmission timer repeats it until the
		// answer arrives or the client is closed.
		_ = relay.Close()
		timeout := a.cfg.TURNReleaseTimeout
		if timeout > 0 {
			t := time.NewTimer(timeout)
			released := false
			select {
			case <-done:
				released = true
			case <-t.C:
			}
			if released {
				if nonce := ra.takeStaleNonce(); nonce != nil {
					// 438 Stale Nonce: once more with the new nonce.
					released = false
					done2 := make(chan struct{})
					ra.mu.Lock()
					ra.releaseDone = done2
					ra.mu.Unlock()
					if err := ra.sendRelease(cl, nonce); err == nil {
						select {
						case <-done2:
							released = ra.takeStaleNonce() == nil
						case <-t.C:
						}
					}
				}
			}
			t.Stop()
			if released {
				a.log.Debug("TURN allocation released", "server", ra.srv.addr, "transport", ra.srv.typ)
			} else {
				a.log.Debug("nice: TURN server did not confirm the release", "server", ra.srv.addr, "transport", ra.srv.typ, "timeout", timeout)
			}
		}
	}
	ra.conn.blocked.Store(true)
	if cl != nil {
		cl.Close()
	}
	ra.mu.Lock()
	tcp := ra.tcp
	ra.mu.Unlock()
	if tcp != nil {
		_ = tcp.Close()
	}
}

// sendRelease sends a Refresh with LIFETIME 0 and the given nonce, signed
// with the long-term credentials.
func (ra *relayAlloc) sendRelease(cl *turn.Client, nonce stun.Nonce) error {
	realm := cl.Realm()
	msg, err := stun.Build(
		stun.TransactionID,
		stun.NewType(stun.MethodRefresh, stun.ClassRequest),
		stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}},
		stun.NewUsername(ra.srv.user),
		realm,
		nonce,
		stun.NewLongTermIntegrity(ra.srv.user, realm.String(), ra.srv.pass),
		stun.Fingerprint,
	)
	if err != nil {
		return err
	}
	_, err = cl.PerformTransaction(msg, ra.sAddr, true)
	return err
}

func (ra *relayAlloc) takeStaleNonce() stun.Nonce {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	n := ra.staleNonce
	ra.staleNonce = nil
	return n
}

// readStream reads the TCP or TLS connection to the server.
func (ra *relayAlloc) readStream(w *worker, sc *turn.STUNConn) {
	defer w.exit()
	buf := make([]byte, maxDatagram)
	for {
		n, _, err := sc.ReadFrom(buf)
		if err != nil {
			if !ra.conn.blocked.Load() {
				ra.a.log.Debug("nice: TURN connection ended", "server", ra.srv.addr, "transport", ra.srv.typ, "err", err)
			}
			return
		}
		ra.handleInbound(w, buf[:n])
	}
}

// STUN message types the agent watches on a TURN connection.
const (
	typeAllocateSuccess = 0x0103
	typeAllocateError   = 0x0113
	typeRefreshRequest  = 0x0004
	typeRefreshSuccess  = 0x0104
	typeRefreshError    = 0x0114
)

// isBindingMethod reports whether a STUN message is of the Binding method.
func isBindingMethod(p []byte) bool {
	return binary.BigEndian.Uint16(p[0:2])&0x3eef == 0x0001
}

// handleInbound takes a packet from the server: it notes what the agent
// needs (the mapped address, a refused password, the release's answer)
// and hands the packet to pion's client. Called on the reader of the host
// socket or of the TCP connection.
func (ra *relayAlloc) handleInbound(w *worker, p []byte) {
	if len(p) >= 4 && p[0]&0xc0 == 0x40 && ra.channelData(w, p) {
		return
	}
	if stunx.IsSTUN(p) {
		ra.sniffIn(p)
	}
	if cl := ra.client.Load(); cl != nil {
		_, _ = cl.HandleInbound(p, ra.sAddr)
	}
}

// channelFinder is what the agent uses of pion's relayed conn
// (*client.UDPConn) to route ChannelData itself.
type channelFinder interface {
	FindAddrByChannelNumber(chNum uint16) (net.Addr, bool)
}

// channelData routes a ChannelData message (RFC 5766 §11.4) of a bound
// channel as if it came from the peer on the relay socket: checks to the
// loop, media to the component, without allocating (pion's client copies
// twice). It reports whether it did; if not, pion's client handles p.
func (ra *relayAlloc) channelData(w *worker, p []byte) bool {
	sk := ra.chanSock.Load()
	if sk == nil {
		return false
	}
	n := int(binary.BigEndian.Uint16(p[2:4]))
	if 4+n > len(p) {
		return false
	}
	addr, ok := ra.chans.FindAddrByChannelNumber(binary.BigEndian.Uint16(p[0:2]))
	if !ok {
		return false
	}
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return false
	}
	if sk.closed.Load() {
		return true
	}
	from := ua.AddrPort()
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	ra.a.route(w, sk, from, p[4:4+n])
	return true
}

func (ra *relayAlloc) sniffIn(p []byte) {
	t := binary.BigEndian.Uint16(p[0:2])
	switch t {
	case typeAllocateSuccess, typeAllocateError, typeRefreshSuccess, typeRefreshError:
	default:
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), p...)}
	if m.Decode() != nil {
		return
	}
	var ec stun.ErrorCodeAttribute
	hasCode := m.Contains(stun.AttrErrorCode) && ec.GetFrom(m) == nil
	ra.mu.Lock()
	defer ra.mu.Unlock()
	switch t {
	case typeAllocateSuccess:
		var xa stunx.XORMappedAddress
		if xa.GetFrom(m) == nil {
			ap := netip.AddrPort(xa)
			ra.mapped = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	case typeAllocateError:
		// The first 401 is the long-term credential challenge; an error to
		// the signed request that follows refuses the credentials: 401
		// (RFC 5389 §10.2.2; coturn), or 400 (pion's server).
		switch {
		case !hasCode:
		case !ra.challenged && ec.Code == stun.CodeUnauthorized:
			ra.challenged = true
		case ra.challenged && (ec.Code == stun.CodeUnauthorized || ec.Code == stun.CodeBadRequest):
			ra.refused = true
		}
	case typeRefreshSuccess, typeRefreshError:
		if !ra.releasing.Load() || ra.releaseDone == nil || m.TransactionID != ra.releaseTx {
			return
		}
		if t == typeRefreshError && hasCode && ec.Code == stun.CodeStaleNonce {
			var n stun.Nonce
			if n.GetFrom(m) == nil {
				ra.staleNonce = n
			}
		}
		close(ra.releaseDone)
		ra.releaseDone = nil
	}
}

// sniffOut notes the transaction of a Refresh with LIFETIME 0 sent while
// releasing, to recognise its answer.
func (ra *relayAlloc) sniffOut(p []byte) {
	if !ra.releasing.Load() || len(p) < stunx.HeaderSize || binary.BigEndian.Uint16(p[0:2]) != typeRefreshRequest || !stunx.IsSTUN(p) {
		return
	}
	m := &stun.Message{Raw: append([]byte(nil), p...)}
	if m.Decode() != nil {
		return
	}
	v, err := m.Get(stun.AttrLifetime)
	if err != nil || len(v) != 4 || binary.BigEndian.Uint32(v) != 0 {
		return
	}
	ra.mu.Lock()
	ra.releaseTx = m.TransactionID
	ra.mu.Unlock()
}

// turnConn is what pion's client writes to: the host socket (UDP) or the
// framed TCP/TLS connection. The agent reads for the client, so ReadFrom
// is never used.
type turnConn struct {
	ra      *relayAlloc
	udp     PacketConn     // UDP: the host socket
	stream  net.PacketConn // TCP, TLS: the STUN-framed connection
	blocked atomic.Bool    // writes fail: cancelled or released
}

var _ net.PacketConn = (*turnConn)(nil)

func (tc *turnConn) ReadFrom([]byte) (int, net.Addr, error) {
	return 0, nil, errors.New("nice: the agent reads for the TURN client")
}

// WriteTo sends to the server (pion's client writes nowhere else).
func (tc *turnConn) WriteTo(p []byte, _ net.Addr) (int, error) {
	if tc.blocked.Load() {
		return 0, net.ErrClosed
	}
	tc.ra.sniffOut(p)
	if tc.udp != nil {
		return tc.udp.WriteToUDPAddrPort(p, tc.ra.srv.addr)
	}
	return tc.stream.WriteTo(p, nil)
}

func (tc *turnConn) Close() error { return nil }

func (tc *turnConn) LocalAddr() net.Addr {
	if tc.udp != nil {
		return net.UDPAddrFromAddrPort(tc.udp.LocalAddrPort())
	}
	return tc.stream.LocalAddr()
}

func (tc *turnConn) SetDeadline(time.Time) error      { return nil }
func (tc *turnConn) SetReadDeadline(time.Time) error  { return nil }
func (tc *turnConn) SetWriteDeadline(time.Time) error { return nil }

// relayConn is the relay socket's PacketConn: reads come from pion's
// relayed conn; writes (from the loop) are queued for the allocation's
// goroutine, because pion's first write to a peer waits for the permission.
type relayConn struct {
	ra    *relayAlloc
	relay net.PacketConn
	local netip.AddrPort
}

var _ PacketConn = (*relayConn)(nil)

func (rc *relayConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := rc.relay.ReadFrom(b)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return 0, netip.AddrPort{}, err
		}
		if ua, ok := addr.(*net.UDPAddr); ok {
			return n, ua.AddrPort(), nil
		}
	}
}

// WriteToUDPAddrPort queues b for the relay and never blocks: a full queue
// drops it, as a full socket buffer does.
func (rc *relayConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	select {
	case <-rc.ra.stop:
		return 0, net.ErrClosed
	default:
	}
	pk := getPacket(b)
	pk.from = addr
	select {
	case rc.ra.sendq <- pk:
	default:
		putPacket(pk)
	}
	return len(b), nil
}

func (rc *relayConn) LocalAddrPort() netip.AddrPort { return rc.local }

// Close ends the relay; run releases it.
func (rc *relayConn) Close() error {
	rc.ra.end()
	return nil
}

// turnNet is the transport.Net given to pion's client: the standard one
// without its interface list (the client only resolves the server, which
// is an IP literal, of either family).
type turnNet struct {
	*stdnet.Net
}

func (turnNet) ResolveUDPAddr(_, address string) (*net.UDPAddr, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, err
	}
	return net.UDPAddrFromAddrPort(ap), nil
}

// pionLogs sends pion's logs to the agent's logger.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger { return p }

func (pionLogs) Trace(string)          {}
func (pionLogs) Tracef(string, ...any) {}
func (p pionLogs) Debug(msg string)    { p.log.Debug("pion: " + msg) }
func (p pionLogs) Debugf(f string, args ...any) {
	if p.log.Enabled(context.Background(), slog.LevelDebug) {
		p.log.Debug("pion: " + fmt.Sprintf(f, args...))
	}
}
func (p pionLogs) Info(msg string)             { p.log.Debug("pion: " + msg) }
func (p pionLogs) Infof(f string, args ...any) { p.Debugf(f, args...) }
func (p pionLogs) Warn(msg string)             { p.log.Warn("pion: " + msg) }
func (p pionLogs) Warnf(f string, args ...any) { p.log.Warn("pion: " + fmt.Sprintf(f, args...)) }
func (p pionLogs) Error(msg string)            { p.log.Error("pion: " + msg) }
func (p pionLogs) Errorf(f string, args ...any) {
	p.log.Error("pion: " + fmt.Sprintf(f, args...))
}
