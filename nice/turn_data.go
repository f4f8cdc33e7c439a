// SPDX-License-Identifier: MIT

package nice

// The data path of a TURN allocation (RFC 5766 §10, §11): what the relay
// socket sends, and what the server sends to the host socket (or the TCP
// or TLS connection). Once a channel is bound to a peer, neither way
// allocates.

import (
	"encoding/binary"
	"errors"
	"maps"
	"net"
	"net/netip"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// turnChannels is the data path's view of an allocation's channels. It is
// immutable: the loop replaces it (binding, bound).
type turnChannels struct {
	byPeer map[netip.AddrPort]uint16 // bound: Send uses ChannelData
	byNum  map[uint16]netip.AddrPort // asked for: received ChannelData is from
}

// turnHeldMax bounds what is held for peers whose permission is pending;
// beyond it packets are dropped, as by a full socket buffer.
const turnHeldMax = 16

// maxRelayedDatagram is the largest datagram a relay sends: what fits a
// Send indication (a 16-bit length, with the header and XOR-PEER-ADDRESS).
const maxRelayedDatagram = 0xFFFF - 64

// maxPostedAnswers bounds the server's answers waiting for the loop.
const maxPostedAnswers = 16

// relayConn is the relay socket's PacketConn: it writes through the
// allocation. Nothing reads it: the host socket's reader (or the TCP/TLS
// connection's) routes what arrives for it.
type relayConn struct {
	ra    *relayAlloc
	local netip.AddrPort
}

var _ PacketConn = (*relayConn)(nil)

func (rc *relayConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	return 0, netip.AddrPort{}, errors.New("nice: a relay socket is read through its host socket")
}

// WriteToUDPAddrPort sends b to peer through the relay. Safe for
// concurrent use; called by the loop (checks) and by Send.
func (rc *relayConn) WriteToUDPAddrPort(b []byte, peer netip.AddrPort) (int, error) {
	return rc.ra.write(b, peer)
}

func (rc *relayConn) LocalAddrPort() netip.AddrPort { return rc.local }

// Close does nothing: the allocation is released when its component ends.
func (rc *relayConn) Close() error { return nil }

// write sends p to peer: as ChannelData when a channel is bound, else in a
// Send indication once the peer's permission is granted; while it is
// pending p is held (flushed by permitted), and without a permission it is
// dropped, as the server would.
func (ra *relayAlloc) write(p []byte, peer netip.AddrPort) (int, error) {
	if ra.closed.Load() {
		return 0, net.ErrClosed
	}
	if len(p) > maxRelayedDatagram {
		return 0, errors.New("nice: datagram too large for a TURN relay")
	}
	if ch := ra.chans.Load(); ch != nil {
		if num, ok := ch.byPeer[peer]; ok {
			return len(p), ra.sendChannelData(num, p)
		}
	}
	ra.dmu.Lock()
	granted, asked := ra.perms[peer.Addr()]
	if !granted {
		if asked && len(ra.held) < turnHeldMax {
			pk := getPacket(p)
			pk.from = peer
			ra.held = append(ra.held, pk)
		}
		ra.dmu.Unlock()
		return len(p), nil
	}
	ra.dmu.Unlock()
	return len(p), ra.sendIndication(peer, p)
}

// sendChannelData frames p for channel num in a pooled buffer (padded to 4
// bytes over TCP and TLS, RFC 5766 §11.5) and sends it.
func (ra *relayAlloc) sendChannelData(num uint16, p []byte) error {
	pad := ra.srv.typ != RelayTypeTURNUDP
	pk := packetPool.Get().(*packet)
	if n := stunx.ChannelDataLen(len(p), pad); cap(pk.b) < n {
		pk.b = make([]byte, n)
	}
	pk.n = len(stunx.PutChannelData(pk.b[:cap(pk.b)], num, p, pad))
	return ra.sendPacket(pk)
}

// sendIndication sends p to peer in a Send indication (RFC 5766 §10.1),
// built in a pooled message.
func (ra *relayAlloc) sendIndication(peer netip.AddrPort, p []byte) error {
	m := scratchPool.Get().(*stun.Message)
	defer func() {
		m.Reset()
		scratchPool.Put(m)
	}()
	m.Reset()
	m.Type = stun.MessageType{Method: stun.MethodSend, Class: stun.ClassIndication}
	m.WriteHeader()
	if err := m.NewTransactionID(); err != nil {
		return err
	}
	if err := stunx.XORPeerAddress(peer).AddTo(m); err != nil {
		return err
	}
	m.Add(stun.AttrData, p)
	return ra.toServer(m.Raw)
}

// sendControl sends a TURN request (turnAlloc.out).
func (ra *relayAlloc) sendControl(p []byte) {
	if err := ra.toServer(p); err != nil {
		if ra.t.debug {
			ra.t.log.Debug("turn.send-failed", "err", err)
		}
	}
}

// toServer sends b, which the caller keeps, to the server.
func (ra *relayAlloc) toServer(b []byte) error {
	if ra.srv.typ == RelayTypeTURNUDP {
		_, err := ra.host.conn.WriteToUDPAddrPort(b, ra.srv.addr)
		return err
	}
	return ra.sendPacket(getPacket(b))
}

// sendPacket sends pk to the server and gives it back to the pool.
func (ra *relayAlloc) sendPacket(pk *packet) error {
	if ra.srv.typ == RelayTypeTURNUDP {
		_, err := ra.host.conn.WriteToUDPAddrPort(pk.b[:pk.n], ra.srv.addr)
		putPacket(pk)
		return err
	}
	st := ra.stream.Load()
	if st == nil {
		putPacket(pk)
		return net.ErrClosed
	}
	return st.send(pk)
}

// permitted publishes a permission's outcome to the data path: what was
// held for ip leaves once granted, and is dropped if refused. Called on
// the loop (turnEvents).
func (ra *relayAlloc) permitted(ip netip.Addr, ok bool) {
	if !ok {
		if ra.a.debugOn(LogTURN) {
			ra.a.log.Debug("turn.permission-refused", "server", ra.srv.addr, "peer", ip)
		}
		ra.dmu.Lock()
		delete(ra.perms, ip)
		ra.dmu.Unlock()
		ra.dropHeld(func(a netip.Addr) bool { return a == ip })
		return
	}
	ra.dmu.Lock()
	defer ra.dmu.Unlock()
	ra.perms[ip] = true
	kept := ra.held[:0]
	for _, pk := range ra.held {
		if pk.from.Addr() != ip {
			kept = append(kept, pk)
			continue
		}
		// Under dmu, so that a Send racing with this one follows it.
		_ = ra.sendIndication(pk.from, pk.b[:pk.n])
		putPacket(pk)
	}
	clear(ra.held[len(kept):])
	ra.held = kept
}

// dropHeld drops the held packets to the addresses drop selects.
func (ra *relayAlloc) dropHeld(drop func(netip.Addr) bool) {
	ra.dmu.Lock()
	defer ra.dmu.Unlock()
	kept := ra.held[:0]
	for _, pk := range ra.held {
		if drop(pk.from.Addr()) {
			putPacket(pk)
		} else {
			kept = append(kept, pk)
		}
	}
	clear(ra.held[len(kept):])
	ra.held = kept
}

// binding publishes a channel asked for: what arrives on it is from peer.
// A number is never given to another peer, so it stays. Called on the loop
// (turnEvents).
func (ra *relayAlloc) binding(peer netip.AddrPort, num uint16) {
	next := ra.chans.Load().clone()
	next.byNum[num] = peer
	ra.chans.Store(next)
}

// bound publishes a channel's binding (or its loss) to Send. Called on the
// loop (turnEvents).
func (ra *relayAlloc) bound(peer netip.AddrPort, num uint16, ok bool) {
	next := ra.chans.Load().clone()
	if ok {
		next.byPeer[peer] = num
	} else {
		delete(next.byPeer, peer)
	}
	ra.chans.Store(next)
}

// clone returns a copy to modify (of an empty view if ch is nil).
func (ch *turnChannels) clone() *turnChannels {
	next := &turnChannels{byPeer: map[netip.AddrPort]uint16{}, byNum: map[uint16]netip.AddrPort{}}
	if ch != nil {
		maps.Copy(next.byPeer, ch.byPeer)
		maps.Copy(next.byNum, ch.byNum)
	}
	return next
}

// isBindingMethod reports whether a STUN message is of the Binding method.
func isBindingMethod(p []byte) bool {
	return binary.BigEndian.Uint16(p[0:2])&0x3eef == 0x0001
}

// handleInbound takes what the server sent: ChannelData and Data
// indications are routed as if they came from the peer on the relay
// socket, answers to the allocation's requests go to the loop (or, once
// the component ended, to its releaser). Called on the reader of the host
// socket or of the TCP/TLS connection; p is valid during the call only.
func (ra *relayAlloc) handleInbound(w *worker, p []byte) {
	if ch, data, ok := stunx.ParseChannelData(p); ok {
		if peer, ok := ra.chans.Load().peer(ch); ok {
			ra.deliver(w, peer, data)
		}
		return
	}
	if !stunx.IsSTUN(p) {
		return
	}
	var t stun.MessageType
	t.ReadValue(binary.BigEndian.Uint16(p[0:2]))
	switch {
	case t.Method == stun.MethodData && t.Class == stun.ClassIndication:
		ra.dataIndication(w, p)
	case t.Class == stun.ClassSuccessResponse || t.Class == stun.ClassErrorResponse:
		ra.answer(p)
	}
}

func (ch *turnChannels) peer(num uint16) (netip.AddrPort, bool) {
	if ch == nil {
		return netip.AddrPort{}, false
	}
	p, ok := ch.byNum[num]
	return p, ok
}

// deliver routes data from peer as if it arrived on the relay socket.
func (ra *relayAlloc) deliver(w *worker, peer netip.AddrPort, data []byte) {
	sk := ra.relaySock.Load()
	if sk == nil || sk.closed.Load() {
		return
	}
	ra.a.route(w, sk, peer, data)
}

// dataIndication routes the DATA of a Data indication (RFC 5766 §10.4),
// decoded into a pooled message.
func (ra *relayAlloc) dataIndication(w *worker, p []byte) {
	m := scratchPool.Get().(*stun.Message)
	defer func() {
		m.Reset()
		scratchPool.Put(m)
	}()
	if stun.Decode(p, m) != nil {
		return
	}
	var peer stunx.XORPeerAddress
	data, err := stunx.Data(m)
	if err != nil || peer.GetFrom(m) != nil {
		return
	}
	ra.deliver(w, unmap(netip.AddrPort(peer)), data)
}

// answer hands an answer of the server to whoever drives the allocation:
// the loop, or once the component ended its releaser. A copy is queued, and
// at most maxPostedAnswers wait for the loop.
func (ra *relayAlloc) answer(p []byte) {
	if in := ra.inbox.Load(); in != nil {
		pk := getPacket(p)
		select {
		case *in <- turnInbound{ra: ra, pk: pk}:
		default:
			putPacket(pk)
		}
		return
	}
	if ra.posted.Add(1) > maxPostedAnswers {
		ra.posted.Add(-1)
		return
	}
	pk := getPacket(p)
	o := &op{done: make(chan error, 1), f: func(now time.Time) error {
		ra.posted.Add(-1)
		ra.onControl(now, pk)
		putPacket(pk)
		return nil
	}}
	ok, run := ra.a.post(work{op: o})
	if !ok {
		putPacket(pk)
	}
	if run {
		ra.a.runLoop() // the loop was idle: this reader runs it
	}
}
