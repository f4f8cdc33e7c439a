// SPDX-License-Identifier: MIT

package nice

import (
	"crypto/rand"
	"net/netip"
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
	rufrag, rpwd string // remote credentials, empty until set

	gen uint32 // incremented by restart; stale transactions are dropped

	gathering          bool // GatherCandidates was called
	gatheringDone      bool
	pendingDiscoveries int // server-reflexive requests outstanding
	gatherDeadline     time.Time

	peerGatheringDone bool
	initialRequest    bool // initial-binding-request-received was signalled

	checklist []*pair // sorted by priority, highest first
	triggered []*pair // FIFO triggered-check queue (RFC 8445 §6.1.4.1)

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
}

// component is one component of a stream.
type component struct {
	s  *stream
	id int

	// Owned by the loop.
	state            ComponentState
	minPort, maxPort uint16
	socks            []*socket
	local            []*localCandidate
	remote           []*Candidate
	selected         *pair // the pair data is sent on
	firstValid       time.Time
	nominating       *pair     // regular nomination in flight (controlling)
	failAt           time.Time // idle timeout before FAILED
	nextKeepalive    time.Time
	consentExpiry    time.Time
	consentRevoked   bool // nice_agent_consent_lost
	consentTx        *transaction
	remotePrflxCount int

	// Read by the data path without the loop.
	path    atomic.Pointer[sendPath]
	peers   atomic.Pointer[map[netip.AddrPort]struct{}]
	recv    atomic.Pointer[recvHandler]
	recvq   chan *packet
	closed  chan struct{} // closed when the stream is removed or the agent closed
	closeMu sync.Once
	lost    atomic.Bool // consent lost: Send fails with ErrConsentLost
}

// sendPath is what Send needs of the selected pair.
type sendPath struct {
	conn   PacketConn
	remote netip.AddrPort
}

// recvHandler is an attached receive callback.
type recvHandler struct {
	fn func(streamID, componentID int, p []byte)
}

// localCandidate is a local candidate and the socket its base is bound to.
type localCandidate struct {
	c    Candidate
	sock *socket
}

// socket is one bound UDP socket of a component.
type socket struct {
	conn      PacketConn
	comp      *component
	local     netip.AddrPort
	addrIndex int // index of the address in the agent's address list
	closed    atomic.Bool
}

// recvQueueLen bounds the packets queued for Recv on one component.
const recvQueueLen = 512

func newComponent(s *stream, id int) *component {
	c := &component{s: s, id: id, recvq: make(chan *packet, recvQueueLen), closed: make(chan struct{})}
	empty := map[netip.AddrPort]struct{}{}
	c.peers.Store(&empty)
	return c
}

// close releases the component's sockets and wakes blocked readers.
// Called on the loop.
func (c *component) close() {
	for _, sk := range c.socks {
		sk.closed.Store(true)
		_ = sk.conn.Close()
	}
	c.path.Store(nil)
	c.closeMu.Do(func() { close(c.closed) })
}

// updatePeers publishes the set of remote addresses that may send data.
// Called on the loop.
func (c *component) updatePeers() {
	m := make(map[netip.AddrPort]struct{}, len(c.remote))
	for _, r := range c.remote {
		m[r.Addr] = struct{}{}
	}
	c.peers.Store(&m)
}

// findRemote returns the remote candidate with this address.
func (c *component) findRemote(addr netip.AddrPort) *Candidate {
	for _, r := range c.remote {
		if r.Transport == TransportUDP && r.Addr == addr {
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

// hostOf returns the host candidate of sock.
func (c *component) hostOf(sock *socket) *localCandidate {
	for _, l := range c.local {
		if l.sock == sock && l.c.Type == CandidateTypeHost {
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
