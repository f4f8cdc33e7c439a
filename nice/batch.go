// SPDX-License-Identifier: MIT

package nice

import (
	"io"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchWriter sends several datagrams in one system call where the
// platform has one (sendmmsg on Linux, through golang.org/x/net). ipv4 and
// ipv6 PacketConns both implement it (their Message is x/net's
// socket.Message).
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// newBatchWriter returns the batch writer of an operating-system socket,
// or nil (the in-memory network of nicetest: SendMessages then sends one
// datagram at a time).
func newBatchWriter(conn PacketConn) batchWriter {
	if mc, ok := conn.(*muxConn); ok {
		conn = mc.shared() // a socket on a mux batches on the mux's socket
	}
	oc, ok := conn.(*osConn)
	if !ok {
		return nil
	}
	if oc.local.Addr().Is4() {
		return ipv4.NewPacketConn(oc.UDPConn)
	}
	return ipv6.NewPacketConn(oc.UDPConn)
}

// maxBatch is how many datagrams one sendmmsg carries.
const maxBatch = 64

// batch is the scratch of one SendMessages call, pooled: a send must not
// allocate.
type batch struct {
	ms   [maxBatch]ipv4.Message
	bufs [maxBatch][1][]byte
}

var batchPool = sync.Pool{New: func() any {
	b := new(batch)
	for i := range b.ms {
		b.ms[i].Buffers = b.bufs[i][:]
	}
	return b
}}

// SendMessages sends datagrams on the component's selected pair, in order,
// with as few system calls as the platform allows (sendmmsg(2) on Linux,
// up to 64 datagrams per call): the Go twin of libnice's
// nice_agent_send_messages_nonblocking with one buffer per message. It
// returns how many datagrams were sent; if that is fewer than len(msgs),
// err says why the next one was not. Errors are Send's. Through a TURN
// relay the datagrams are sent one at a time.
func (a *Agent) SendMessages(streamID, componentID int, msgs [][]byte) (int, error) {
	path, err := a.sendPath(streamID, componentID)
	if err != nil {
		return 0, err
	}
	var bw batchWriter
	if path.sock != nil {
		bw = path.sock.batchWriter()
	}
	if bw == nil { // a relay, or a socket without batch I/O
		for i, p := range msgs {
			if _, err := path.write(p); err != nil {
				return i, err
			}
		}
		return len(msgs), nil
	}
	b := batchPool.Get().(*batch)
	defer func() {
		// Drop the references to the caller's buffers before pooling.
		for i := range b.bufs {
			b.bufs[i][0] = nil
			b.ms[i].Addr = nil
		}
		batchPool.Put(b)
	}()
	sent := 0
	for sent < len(msgs) {
		n := min(len(msgs)-sent, maxBatch)
		for i := range n {
			b.bufs[i][0] = msgs[sent+i]
			b.ms[i].Addr = path.udpAddr
		}
		k, err := bw.WriteBatch(b.ms[:n], 0)
		if k == 0 && err != nil && path.sock.pendingICMP(err) {
			// An earlier datagram's ICMP error, not this one's: again, once.
			k, err = bw.WriteBatch(b.ms[:n], 0)
		}
		if k > 0 {
			path.out.addBatch(msgs[sent : sent+k])
		}
		sent += k
		if err != nil {
			return sent, err
		}
		if k == 0 {
			return sent, io.ErrShortWrite // WriteBatch sends at least one or fails: not reached
		}
	}
	return sent, nil
}
