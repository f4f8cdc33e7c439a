// SPDX-License-Identifier: MIT

package nice

import (
	"crypto/rand"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// stream is a media stream with its components. Owned by the loop.
type stream struct {
	id    int
	name  string
	comps []*component // comps[i].id == i+1

	ufrag, pwd   string // local credentials
	ufragSet     bool   // ufrag came from SetLocalCredentials (else generated: a mux may replace it)
	rufrag, rpwd string // remote credentials, empty until set

	gen uint32 // incremented by restart; stale transactions are dropped
	tos int    // IP TOS / traffic class for the stream's sockets (SetStreamTOS)

	gathering          bool // GatherCandidates was called
	gatheringDone      bool
	failureCheckDue    bool // gathering finished: checkFailure runs after the event
	pendingDiscoveries int  // server-reflexive requests outstanding
	pendingRelays      int  // TURN allocations outstanding
	gatherDeadline     time.Time
	relayErrors        []RelayError // failed TURN allocations (RelayErrors)
	stunErrors         []STUNError  // failed server-reflexive requests (STUNErrors)

	peerGatheringDone bool
	initialRequest    bool // initial-binding-request-received was signalled
	// renomDeclined: the peer's SDP had a=ice-options without
	// "renomination" (Config.Renomination).
	renomDeclined bool

	checks checklist

	// pendingRequests are checks received before the remote credentials
	// were known; their triggered checks run once they are (libnice's
	// conn_check_remote_credentials_set).
	pendingRequests []pendingRequest
}

// pendingRequest records a request answered before remote credentials.
type pendingRequest struct {
	sock     *socket
	from     netip.AddrPort
	priority uint32
	useCand  bool
	nom      uint32 // NOMINATION, 0 if none
}

// component is one component of a stream.
type component struct {
	s  *stream
	id int

	// Owned by the loop.
	state            ComponentState
	minPort, maxPort uint16
	socks            []*socket     // host sockets
	tcp              []*socket     // ICE-TCP: candidates' bases and connections (tcp.go)
	turn             []turnServer  // SetRelayInfo
	relays           []*relayAlloc // TURN allocations, in progress or made
	local            []*localCandidate
	remote           []*Candidate
	selected         *pair // the pair data is sent on
	firstValid       time.Time
	nominating       *pair // regular nomination in flight (controlling)
	// Renomination (Config.Renomination). nomSent is the last NOMINATION
	// value sent (controlling); nomSeen the largest received (controlled);
	// renominate the pair Renominate chose that is being checked before
	// its nomination is sent.
	nomSent, nomSeen uint32
	renominate       *pair
	failAt           time.Time // idle timeout before FAILED
	consent          consent   // keepalives and consent freshness of the selected pair
	remotePrflxCount int
	rids             []uint32    // remote candidates' stats ids ("R<id>"), given by addRemote: rids[i] is remote[i]'s
	rx               []peerEntry // data received per remote address (what the peer sets hold)
	selectedChanges  uint64      // times a pair was selected (stats)

	// Read by the data path without the loop.
	path    atomic.Pointer[sendPath]
	peers   atomic.Pointer[peerSet] // remote addresses that may send data, and their counters
	recv    atomic.Pointer[recvHandler]
	recvq   atomic.Pointer[chan *packet] // made on first use: see queue
	recvqMu sync.Mutex
	closed  chan struct{} // closed when the stream is removed or the agent closed
	closeMu sync.Once
	lost    atomic.Bool // consent lost: Send fails with ErrConsentLost
}

// sendPath is what Send needs of the selected pair.
type sendPath struct {
	conn   PacketConn
	remote netip.AddrPort
	// For SendMessages on a host socket: the socket (for its batch writer)
	// and the remote address in the form x/net wants.
	sock    *socket
	udpAddr *net.UDPAddr
	out     *flowCounters // the pair's sent-data counters
}

// recvHandler is an attached receive callback.
type recvHandler struct {
	fn func(streamID, componentID int, p []byte)
}

// localCandidate is a local candidate and the socket its base is bound to.
type localCandidate struct {
	c    Candidate
	sock *socket
	id   uint32 // stats id ("L<id>"), given by addLocalCandidate
}

// socket is one bound UDP socket of a component, or the relayed address
// of a TURN allocation (relay != nil; conn is then a *relayConn, which
// writes through the allocation and is read through the host socket).
type socket struct {
	conn      PacketConn
	comp      *component
	local     netip.AddrPort
	addrIndex int // index of the address in the agent's address list
	turnIndex int // relay: the TURN server's index in the component's list
	relay     *relayAlloc
	// mux: the socket is a component's place on a UDPMux (conn is then
	// a *muxConn, and the mux's reader reads for it).
	mux *muxEntry
	// tcp: the socket is the base of an ICE-TCP candidate (conn is then a
	// noConn) or one of its connections (conn is the *tcpConn).
	tcp    *tcpSocket
	closed atomic.Bool
	// draining: the component ended but the socket still carries TURN
	// allocations being released; only their servers' packets are read.
	draining atomic.Bool
	// turn lists the UDP allocations made from this host socket: the
	// reader hands their servers' packets to them. Replaced by the loop.
	turn atomic.Pointer[[]*relayAlloc]
	// batch is the socket's batch writer, made by the first SendMessages
	// on it (most agents never batch; it costs a few hundred bytes).
	batch     batchWriter
	batchOnce sync.Once
	// icmpPosted counts the ICMP errors of the socket waiting for the loop
	// (watchICMP).
	icmpPosted atomic.Int32
}

// pendingICMP reports whether err, from a send or receive on the socket,
// may be the socket's pending ICMP error, and if so drains its error queue
// (icmp_linux.go). Safe for concurrent use.
func (sk *socket) pendingICMP(err error) bool {
	oc, ok := sk.conn.(*osConn)
	return ok && oc.pendingICMP(err)
}

// batchWriter returns the socket's batch writer (nil if it has none).
// Safe for concurrent use.
func (sk *socket) batchWriter() batchWriter {
	sk.batchOnce.Do(func() { sk.batch = newBatchWriter(sk.conn) })
	return sk.batch
}

// checkPriority is the PRIORITY of checks sent from the socket: that of a
// peer-reflexive candidate with the socket's local preference
// (RFC 8445 §7.2.2).
func (sk *socket) checkPriority(componentID int) uint32 {
	if sk.tcp != nil {
		return tcpPriority(CandidateTypePeerReflexive, sk.tcp.cand.c.Transport, sk.addrIndex, componentID)
	}
	return candidatePriority(CandidateTypePeerReflexive, udpLocalPreference(sk.addrIndex, sk.turnIndex), componentID)
}

// turnList returns the allocations made from the socket.
func (sk *socket) turnList() []*relayAlloc {
	if l := sk.turn.Load(); l != nil {
		return *l
	}
	return nil
}

// recvQueueLen bounds the packets queued for Recv on one component.
const recvQueueLen = 512

func newComponent(s *stream, id int) *component {
	c := &component{s: s, id: id, closed: make(chan struct{})}
	c.peers.Store(emptyPeers)
	return c
}

// queue returns the queue of data waiting for Recv, making it on first use:
// most users attach a receive function and never need it.
func (c *component) queue() chan *packet {
	if q := c.recvq.Load(); q != nil {
		return *q
	}
	c.recvqMu.Lock()
	defer c.recvqMu.Unlock()
	if q := c.recvq.Load(); q != nil {
		return *q
	}
	q := make(chan *packet, recvQueueLen)
	c.recvq.Store(&q)
	return q
}

// close ends the component: it wakes blocked readers and closes its
// sockets. TURN allocations are released first (by the component's
// releaser goroutine), and the host sockets that carry them are closed
// once they are.
// Called on the loop.
func (a *Agent) closeComponent(c *component) {
	c.path.Store(nil)
	c.closeMu.Do(func() { close(c.closed) })
	a.closeTCP(c)
	socks := c.socks
	closeSocks := func() {
		for _, sk := range socks {
			sk.closed.Store(true)
			_ = sk.conn.Close()
		}
	}
	if len(c.relays) == 0 {
		closeSocks()
		return
	}
	relays := c.relays
	a.endRelays(relays)
	for _, sk := range socks {
		sk.draining.Store(true)
	}
	go func(w *worker) { // the component's releaser: releases its allocations (at most TURNReleaseTimeout), then closes the host sockets
		defer w.exit()
		a.releaseRelays(relays)
		closeSocks()
	}(a.workers.start())
}

// updatePeers publishes the set of remote addresses that may send data,
// each with the counters of what it sent. Called on the loop.
func (c *component) updatePeers() {
	list := make([]peerEntry, 0, len(c.remote))
	for _, r := range c.remote {
		if !slices.ContainsFunc(list, func(e peerEntry) bool { return e.addr == r.Addr }) {
			list = append(list, peerEntry{r.Addr, c.rxFor(r.Addr)})
		}
	}
	c.publishPeers(newPeerSet(list))
}

// publishPeers publishes ps as the remote addresses that may send data, to
// the data path and to the muxes the component is on. Called on the loop.
func (c *component) publishPeers(ps *peerSet) {
	c.peers.Store(ps)
	for _, sk := range c.socks {
		if sk.mux != nil {
			sk.mux.setRoutes(ps)
		}
	}
}

// rxFor returns the receive counters of a remote address, made on first
// use; they live as long as the component (ComponentStats totals).
// Called on the loop.
func (c *component) rxFor(addr netip.AddrPort) *flowCounters {
	for _, e := range c.rx {
		if e.addr == addr {
			return e.rx
		}
	}
	f := new(flowCounters)
	c.rx = append(c.rx, peerEntry{addr, f})
	return f
}

// rxOf returns the receive counters of a remote address, nil if nothing
// was ever expected from it. Called on the loop.
func (c *component) rxOf(addr netip.AddrPort) *flowCounters {
	for _, e := range c.rx {
		if e.addr == addr {
			return e.rx
		}
	}
	return nil
}

// findRemote returns the remote candidate with this address. SDP carries no
// IPv6 zone, so a link-local candidate signalled by the peer has none while
// its packets arrive with one: such a candidate matches, and adopts the
// zone, without which nothing can be sent to it. Called on the loop.
func (c *component) findRemote(addr netip.AddrPort) *Candidate {
	for _, r := range c.remote {
		if r.Transport == TransportUDP && r.Addr == addr {
			return r
		}
	}
	if addr.Addr().Zone() == "" {
		return nil
	}
	bare := netip.AddrPortFrom(addr.Addr().WithZone(""), addr.Port())
	for _, r := range c.remote {
		if r.Transport == TransportUDP && r.Addr == bare {
			r.Addr = addr
			c.updatePeers()
			return r
		}
	}
	return nil
}

// findRemoteOn returns the remote candidate that a message from addr on
// socket sk comes from: on a TCP connection, a TCP candidate at the
// connection's remote end, of the kind that pairs with the connection's
// local candidate (passive for a connection we made, active for one the
// peer made); else findRemote's. Called on the loop.
func (c *component) findRemoteOn(sk *socket, addr netip.AddrPort) *Candidate {
	if sk.tcp == nil {
		return c.findRemote(addr)
	}
	want := tcpRemoteTransport(sk.tcp.cand.c.Transport)
	for _, r := range c.remote {
		if r.Transport == want && r.Addr == addr {
			return r
		}
	}
	return nil
}

// findLocal returns the local candidate with this address on sock.
func (c *component) findLocal(addr netip.AddrPort, sock *socket) *localCandidate {
	for _, l := range c.local {
		if l.c.Addr == addr && l.sock == sock {
			return l
		}
	}
	return nil
}

// baseOf returns the candidate whose base is sock: its host candidate, or
// for a relay socket the relayed candidate.
func (c *component) baseOf(sock *socket) *localCandidate {
	if sock.tcp != nil {
		return sock.tcp.cand
	}
	want := CandidateTypeHost
	if sock.relay != nil {
		want = CandidateTypeRelayed
	}
	for _, l := range c.local {
		if l.sock == sock && l.c.Type == want {
			return l
		}
	}
	return nil
}

const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// randomICEString returns n random ice-chars (RFC 8839 §5.4), as libnice's
// nice_rng_generate_bytes_print.
func randomICEString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)]
	}
	return string(b)
}

// validICEString reports whether s is 1..256 ice-chars.
func validICEString(s string, minLen int) bool {
	if len(s) < minLen || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
