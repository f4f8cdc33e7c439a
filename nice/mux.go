// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/gonice/gonice/nice/internal/stunx"
)

// Server mode: many agents on one UDP socket (ARCHITECTURE.md, "Server
// mode: the UDP mux").

// UDPMux is a UDP socket shared by many agents: a media server's one port
// for all its peers. An agent whose Config.Muxes lists it puts component 1
// of each stream on it (one host candidate per mux, the mux's Address),
// instead of binding sockets of its own.
//
// One reader goroutine reads the socket, in batches (recvmmsg(2) on Linux),
// and hands each datagram to its agent on that goroutine: a Binding request
// by the local ufrag in its USERNAME (the stream's local ufrag, unique on
// the mux), a STUN response by the transaction it answers, anything else
// (media, indications) by its source address, which must be a remote
// candidate of the component. A datagram that matches no agent is dropped
// and counted (MuxStats); a Binding request with an unknown ufrag is first
// shown to the OnUnknownUfrag function, which may create the agent for it.
// Routing allocates nothing per datagram, and a check that matches no
// agent leaves nothing behind.
//
// What differs for an agent on a mux: receive functions (AttachRecv) and
// the agent's handling of STUN run on the mux's reader, so a slow receive
// function delays every agent on the mux, not only its own; components
// other than 1 bind their own sockets, as without a mux; and an agent that
// has UDP TURN servers also binds sockets of its own for them, because a
// TURN allocation is one per 5-tuple (RFC 8656 §2.2) and the mux's socket
// is one 5-tuple for all its agents. Close the agents on a mux before the
// mux: once it is closed their sends fail.
type UDPMux struct {
	conn     PacketConn
	local    netip.AddrPort // what host candidates on the mux carry
	log      *slog.Logger
	maxDgram int

	mu     sync.RWMutex
	ufrags map[string]*muxEntry         // a stream's local ufrag → its component 1
	routes map[netip.AddrPort]*muxRoute // a remote candidate's address → who has it
	// unknown is the OnUnknownUfrag function.
	unknown atomic.Pointer[func(UnknownCheck)]

	// Transactions of requests sent through the mux (connectivity,
	// consent and server-reflexive checks): a response goes to the entry
	// that sent the request, whoever else has its source address. Two
	// generations, swapped every muxTxLifetime, so that a request never
	// answered is forgotten without a timer or a scan. The entries are
	// weak: a closed agent's last unanswered request does not keep the
	// agent in memory until its generation is dropped.
	txMu      sync.Mutex
	txCur     map[[12]byte]weak.Pointer[muxEntry]
	txPrev    map[[12]byte]weak.Pointer[muxEntry]
	txRotated time.Time

	closed atomic.Bool
	done   chan struct{} // closed when the reader has returned

	stats muxCounters
}

// muxTxLifetime is how long a request's transaction is kept at least (and
// at most twice that): longer than any of the agent's transactions lasts
// (a check's 7.5 s; discovery's and consent's are shorter than 40 s).
const muxTxLifetime = 40 * time.Second

// muxRoute lists the components that have one remote address as a remote
// candidate: nearly always one; more when two peers' private addresses
// happen to be equal.
type muxRoute struct {
	owners []*muxEntry // replaced, never modified in place (read without the lock by dispatch)
}

// muxEntry is one component on the mux (its socket).
type muxEntry struct {
	m  *UDPMux
	a  *Agent
	sk *socket
	// w is the agent's worker that stands for the mux's reader while it
	// runs the agent's code: marked as running user code while idle, so
	// that Close waits only for a delivery in progress.
	w *worker
	// Under m.mu.
	ufrag string
	// addrs are the remote addresses routed to the entry: the
	// component's peer set as last published (its counters unused here).
	addrs *peerSet
	// refs is 1 while the entry is registered, plus one per delivery in
	// progress; the worker exits when it drops to 0.
	refs atomic.Int32
	gone atomic.Bool
	weak weak.Pointer[muxEntry] // made once (weak.Make allocates), for the transaction maps
}

// UnknownCheck is a Binding request that reached a mux for a ufrag no
// agent on it has: what an ICE-lite server needs to create the agent the
// check is for (libjuice's juice_mux_listen callback). Nothing in it is
// authenticated: the check has not been verified by anyone.
type UnknownCheck struct {
	LocalUfrag  string         // the ufrag the check is for (the first half of its USERNAME)
	RemoteUfrag string         // the sender's ufrag (the second half)
	From        netip.AddrPort // where the check came from
	Local       netip.AddrPort // the mux's Address
}

// UDPMuxConfig configures a UDPMux. The zero value is sound.
type UDPMuxConfig struct {
	// Net opens the socket (nil: the operating system's network).
	Net Net
	// Address is the address host candidates on the mux carry: zero
	// means the socket's own address. It must be given when the socket is
	// bound to an unspecified address (0.0.0.0 or ::): then it is the
	// address peers reach the server at (a server with several addresses
	// opens a mux for each).
	Address netip.Addr
	// Logger receives the mux's warnings (nil: slog's default).
	Logger *slog.Logger
	// MaxDatagram is the largest datagram the mux reads whole (default
	// DefaultMuxMaxDatagram, at most 65536): its reader has 32 slots of
	// this size (one recvmmsg fills them), so a server with many muxes
	// pays for it per mux. A larger datagram is dropped and counted
	// (MuxStats.Truncated); ICE, DTLS, SCTP and RTP on the Internet stay
	// under the path MTU.
	MaxDatagram int
}

// DefaultMuxMaxDatagram is UDPMuxConfig.MaxDatagram's default: an
// Ethernet MTU's datagram with room to spare.
const DefaultMuxMaxDatagram = 2048

// MuxStats counts what a mux's reader did.
type MuxStats struct {
	Agents        int    // components registered (agents' streams on the mux)
	Routes        int    // remote addresses routed
	Received      uint64 // datagrams read
	Batches       uint64 // reads (recvmmsg calls) that returned datagrams
	Delivered     uint64 // datagrams handed to an agent
	UnknownUfrag  uint64 // Binding requests for a ufrag no agent had (after OnUnknownUfrag)
	NoRoute       uint64 // other datagrams from an address no agent has
	DroppedClosed uint64 // datagrams for an agent that was closing
	Truncated     uint64 // datagrams larger than UDPMuxConfig.MaxDatagram, dropped
}

type muxCounters struct {
	received, batches, delivered, unknown, noRoute, droppedClosed, truncated atomic.Uint64
}

// ErrMuxClosed is returned by an agent's sends and gathering on a mux
// that was closed.
var ErrMuxClosed = errors.New("nice: mux closed")

// ErrUfragInUse is returned when an agent on a mux is given a local ufrag
// that another agent on that mux has.
var ErrUfragInUse = errors.New("nice: ufrag in use on the mux")

// NewUDPMux opens a UDP socket on laddr and starts its reader. Port 0 asks
// for any port; LocalAddr tells which.
func NewUDPMux(laddr netip.AddrPort, cfg UDPMuxConfig) (*UDPMux, error) {
	n := cfg.Net
	if n == nil {
		n = osNet{}
	}
	adv := cfg.Address
	if !adv.IsValid() {
		adv = laddr.Addr()
	}
	if !adv.IsValid() || adv.IsUnspecified() {
		return nil, fmt.Errorf("%w: a mux on %v needs UDPMuxConfig.Address, the address its candidates carry", ErrInvalidArgument, laddr)
	}
	maxDgram := cfg.MaxDatagram
	if maxDgram == 0 {
		maxDgram = DefaultMuxMaxDatagram
	}
	if maxDgram < 576 || maxDgram > maxDatagram {
		return nil, fmt.Errorf("%w: MaxDatagram %d (576–65536)", ErrInvalidArgument, cfg.MaxDatagram)
	}
	if adv.Unmap().Is4() != laddr.Addr().Unmap().Is4() {
		return nil, fmt.Errorf("%w: mux address %v is not of the family of %v", ErrInvalidArgument, adv, laddr)
	}
	conn, err := n.ListenUDP(laddr)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	m := &UDPMux{
		conn:     conn,
		local:    netip.AddrPortFrom(adv.Unmap(), conn.LocalAddrPort().Port()),
		log:      log,
		maxDgram: maxDgram,
		ufrags:   map[string]*muxEntry{},
		routes:   map[netip.AddrPort]*muxRoute{},
		done:     make(chan struct{}),
	}
	go m.readLoop() // the mux's reader, until Close
	return m, nil
}

// LocalAddr is the address and port host candidates on the mux carry.
func (m *UDPMux) LocalAddr() netip.AddrPort { return m.local }

// OnUnknownUfrag sets the function called, on the mux's reader goroutine,
// for each Binding request whose ufrag no agent on the mux has (nil: such
// checks are dropped). If the function creates an agent on the mux with
// that local ufrag and gathers its stream before it returns, the check is
// delivered to it: an ICE-lite server loses no first check. The function
// must not block (no datagram is read while it runs), and is called for
// every such check, including spoofed ones: it is the application's to
// decide which deserve an agent.
func (m *UDPMux) OnUnknownUfrag(fn func(UnknownCheck)) {
	if fn == nil {
		m.unknown.Store(nil)
		return
	}
	m.unknown.Store(&fn)
}

// Stats returns the mux's counters.
func (m *UDPMux) Stats() MuxStats {
	m.mu.RLock()
	st := MuxStats{Agents: len(m.ufrags), Routes: len(m.routes)}
	m.mu.RUnlock()
	st.Received = m.stats.received.Load()
	st.Batches = m.stats.batches.Load()
	st.Delivered = m.stats.delivered.Load()
	st.UnknownUfrag = m.stats.unknown.Load()
	st.NoRoute = m.stats.noRoute.Load()
	st.DroppedClosed = m.stats.droppedClosed.Load()
	st.Truncated = m.stats.truncated.Load()
	return st
}

// Close closes the socket and waits for the reader to return. Agents still
// on the mux can no longer send. Close is idempotent.
func (m *UDPMux) Close() error {
	if m.closed.Swap(true) {
		<-m.done
		return nil
	}
	err := m.conn.Close()
	<-m.done
	return err
}

// join puts component c of agent a on the mux under the stream's local
// ufrag and returns its socket. Called on a's loop.
func (m *UDPMux) join(a *Agent, c *component, addrIndex int) (*socket, error) {
	if m.closed.Load() {
		return nil, fmt.Errorf("%w: %v", ErrMuxClosed, m.local)
	}
	e := &muxEntry{m: m, a: a}
	e.weak = weak.Make(e)
	e.refs.Store(1)
	sk := &socket{comp: c, local: m.local, addrIndex: addrIndex, mux: e}
	sk.conn = &muxConn{e: e}
	e.sk = sk
	m.mu.Lock()
	if _, taken := m.ufrags[c.s.ufrag]; taken {
		m.mu.Unlock()
		return nil, fmt.Errorf("%w: %q (mux %v)", ErrUfragInUse, c.s.ufrag, m.local)
	}
	e.ufrag = c.s.ufrag
	m.ufrags[e.ufrag] = e
	m.mu.Unlock()
	e.w = a.workers.start()
	e.w.inUser.Store(true) // idle: see muxEntry.w
	return sk, nil
}

// ufragFree reports whether ufrag may be given to e (no other entry has it).
func (m *UDPMux) ufragFree(e *muxEntry, ufrag string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	o, taken := m.ufrags[ufrag]
	return !taken || o == e
}

// rekey moves e to a new local ufrag (credentials set, ICE restart). It
// fails with ErrUfragInUse if another entry has it. Called on the loop.
func (e *muxEntry) rekey(ufrag string) error {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.gone.Load() {
		return nil
	}
	if o, taken := m.ufrags[ufrag]; taken && o != e {
		return fmt.Errorf("%w: %q (mux %v)", ErrUfragInUse, ufrag, m.local)
	}
	if m.ufrags[e.ufrag] == e {
		delete(m.ufrags, e.ufrag)
	}
	e.ufrag = ufrag
	m.ufrags[ufrag] = e
	return nil
}

// setRoutes makes the remote addresses routed to e those of peers (the
// component's remote candidates, as published to the data path: such a
// map is never modified once published, so e keeps it rather than a
// copy). Called on the loop.
func (e *muxEntry) setRoutes(peers *peerSet) {
	m := e.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.gone.Load() {
		return
	}
	old := e.addrs
	if old == nil {
		old = emptyPeers
	}
	e.addrs = peers
	for _, pe := range old.list {
		if !peers.has(pe.addr) {
			m.removeRouteLocked(pe.addr, e)
		}
	}
	for _, pe := range peers.list {
		addr := pe.addr
		if old.has(addr) {
			continue
		}
		r := m.routes[addr]
		if r == nil {
			r = &muxRoute{}
			m.routes[addr] = r
		}
		owners := make([]*muxEntry, len(r.owners), len(r.owners)+1)
		copy(owners, r.owners)
		r.owners = append(owners, e)
	}
}

// removeRouteLocked takes e off addr's route. m.mu is held.
func (m *UDPMux) removeRouteLocked(addr netip.AddrPort, e *muxEntry) {
	r := m.routes[addr]
	if r == nil {
		return
	}
	owners := make([]*muxEntry, 0, len(r.owners))
	for _, o := range r.owners {
		if o != e {
			owners = append(owners, o)
		}
	}
	if len(owners) == 0 {
		delete(m.routes, addr)
		return
	}
	r.owners = owners
}

// unregister takes e off the mux: its ufrag and routes are released at
// once; its worker exits when no delivery is in progress.
func (e *muxEntry) unregister() {
	m := e.m
	m.mu.Lock()
	if e.gone.Swap(true) {
		m.mu.Unlock()
		return
	}
	if m.ufrags[e.ufrag] == e {
		delete(m.ufrags, e.ufrag)
	}
	if e.addrs != nil {
		for _, pe := range e.addrs.list {
			m.removeRouteLocked(pe.addr, e)
		}
	}
	e.addrs = nil
	m.mu.Unlock()
	e.release()
}

// acquire takes a reference for a delivery; false once e is unregistered.
func (e *muxEntry) acquire() bool {
	for {
		r := e.refs.Load()
		if r <= 0 {
			return false
		}
		if e.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

// release drops a reference; the last one ends the worker.
func (e *muxEntry) release() {
	if e.refs.Add(-1) == 0 {
		e.w.exit()
	}
}

// deliver runs the agent's reader code for one datagram on the mux's
// reader: what readLoop does after a read. e was acquired.
func (e *muxEntry) deliver(from netip.AddrPort, p []byte) {
	defer e.release()
	w, a, sk := e.w, e.a, e.sk
	w.leaveUser() // busy: a Close from now on waits for this delivery
	if w.ws.closing.Load() || sk.closed.Load() || sk.draining.Load() || a.forceRelay.Load() {
		// Closing (a Close that began before leaveUser does not wait for
		// us: touch nothing), or force-relay, under which only what comes
		// through a relay counts.
		e.m.stats.droppedClosed.Add(1)
		w.enterUser()
		return
	}
	e.m.stats.delivered.Add(1)
	a.route(w, sk, from, p)
	w.enterUser()
}

// muxMsg is one datagram of a batch, and where dispatch sends it.
type muxMsg struct {
	p       []byte
	from    netip.AddrPort
	e       *muxEntry // acquired
	unknown bool      // a Binding request for a ufrag no agent has
}

// readLoop is the mux's reader: it reads batches of datagrams and
// dispatches them until the socket is closed.
func (m *UDPMux) readLoop() {
	defer close(m.done)
	r := newMuxReader(m.conn, m.maxDgram)
	defer r.release()
	for {
		batch, err := r.read()
		if err != nil {
			if m.closed.Load() || isClosedErr(err) {
				return
			}
			if isTransientErr(err) {
				continue
			}
			m.log.Warn("nice: mux socket read failed; mux stopped", "local", m.local, "err", err)
			return
		}
		m.stats.batches.Add(1)
		m.stats.received.Add(uint64(len(batch)))
		if t := r.truncated(); t > 0 {
			if m.stats.truncated.Add(uint64(t)) == uint64(t) {
				m.log.Warn("nice: a datagram larger than the mux's MaxDatagram was dropped (MuxStats.Truncated counts them)",
					"local", m.local, "max", m.maxDgram)
			}
		}
		m.dispatch(batch)
	}
}

// dispatch routes a batch: the lookups under one read lock, the
// deliveries after it (a delivery may run an agent's loop, which takes the
// lock to change routes).
func (m *UDPMux) dispatch(batch []muxMsg) {
	m.mu.RLock()
	for i := range batch {
		m.lookupLocked(&batch[i])
	}
	m.mu.RUnlock()
	for i := range batch {
		d := &batch[i]
		if d.unknown {
			m.unknownCheck(d)
		}
		if d.e != nil {
			d.e.deliver(d.from, d.p)
			d.e = nil
		}
		d.p = nil
	}
}

// lookupLocked finds the entry a datagram is for and acquires it. m.mu is
// read-locked.
func (m *UDPMux) lookupLocked(d *muxMsg) {
	d.e, d.unknown = nil, false
	p := d.p
	if local, _, ok := stunx.BindingRequestUsername(p); ok {
		if e := m.ufrags[string(local)]; e != nil && e.acquire() {
			d.e = e
			return
		}
		d.unknown = true
		return
	}
	if len(p) >= stunx.HeaderSize && p[0]&0x01 != 0 && stunx.IsSTUN(p) {
		// A response (class bits 0b10 or 0b11): to the entry that asked.
		if e := m.takeTx(p); e != nil && e.acquire() {
			d.e = e
			return
		}
	}
	r := m.routes[d.from]
	if r == nil {
		m.stats.noRoute.Add(1)
		return
	}
	e := r.owners[0]
	if len(r.owners) > 1 {
		// Two components have this address as a remote candidate: the
		// one that sends to it owns its data.
		for _, o := range r.owners {
			if path := o.sk.comp.path.Load(); path != nil && path.remote == d.from {
				e = o
				break
			}
		}
	}
	if e.acquire() {
		d.e = e
	}
}

// unknownCheck shows a Binding request for an unknown ufrag to the
// OnUnknownUfrag function, then looks again: the function may have made
// the agent.
func (m *UDPMux) unknownCheck(d *muxMsg) {
	fnp := m.unknown.Load()
	if fnp != nil {
		local, remote, _ := stunx.BindingRequestUsername(d.p)
		(*fnp)(UnknownCheck{LocalUfrag: string(local), RemoteUfrag: string(remote), From: d.from, Local: m.local})
		m.mu.RLock()
		m.lookupLocked(d)
		m.mu.RUnlock()
		if d.e != nil {
			return
		}
	}
	m.stats.unknown.Add(1)
}

// noteTx records that e sent the request p, if p is a STUN request:
// its response is e's whatever address it comes from.
func (m *UDPMux) noteTx(p []byte, e *muxEntry) {
	if len(p) < stunx.HeaderSize || p[0]&0x01 != 0 || p[1]&0x10 != 0 || !stunx.IsSTUN(p) {
		return // not a request
	}
	var id [12]byte
	copy(id[:], p[8:20])
	now := time.Now()
	m.txMu.Lock()
	if m.txCur == nil || now.Sub(m.txRotated) >= muxTxLifetime {
		m.txPrev, m.txCur, m.txRotated = m.txCur, map[[12]byte]weak.Pointer[muxEntry]{}, now
	}
	m.txCur[id] = e.weak
	m.txMu.Unlock()
}

// takeTx returns the entry that sent the request p answers, and forgets
// it.
func (m *UDPMux) takeTx(p []byte) *muxEntry {
	id := [12]byte(p[8:20])
	m.txMu.Lock()
	defer m.txMu.Unlock()
	if e, ok := m.txCur[id]; ok {
		delete(m.txCur, id)
		return e.Value()
	}
	if e, ok := m.txPrev[id]; ok {
		delete(m.txPrev, id)
		return e.Value()
	}
	return nil
}

// muxConn is the PacketConn of a component's socket on a mux: it writes
// through the mux's socket; the mux's reader does its reading.
type muxConn struct {
	e *muxEntry
}

var errMuxRead = errors.New("nice: a mux socket is read by its mux")

func (c *muxConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, errMuxRead
}

func (c *muxConn) WriteToUDPAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	e := c.e
	if e.gone.Load() {
		return 0, net.ErrClosed
	}
	if e.m.closed.Load() {
		return 0, ErrMuxClosed
	}
	if len(p) > 0 && p[0] < 2 {
		e.m.noteTx(p, e)
	}
	return e.m.conn.WriteToUDPAddrPort(p, addr)
}

func (c *muxConn) LocalAddrPort() netip.AddrPort { return c.e.m.local }

// Close takes the component off the mux; the mux's socket stays open.
func (c *muxConn) Close() error {
	c.e.unregister()
	return nil
}

// shared returns the mux's socket, for batched sends (SendMessages).
func (c *muxConn) shared() PacketConn { return c.e.m.conn }
