// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/gonice/gonice/nice/internal/stunx"
)

// packet is a pooled buffer carrying one datagram off a reader goroutine.
type packet struct {
	b    []byte
	n    int
	sock *socket
	from netip.AddrPort
}

// packetBufSize covers STUN and ordinary media; a larger datagram gets a
// buffer of its own (rare; not the steady state).
const packetBufSize = 2048

var packetPool = sync.Pool{New: func() any { return &packet{b: make([]byte, packetBufSize)} }}

func getPacket(p []byte) *packet {
	pk := packetPool.Get().(*packet)
	if cap(pk.b) < len(p) {
		pk.b = make([]byte, len(p))
	}
	pk.b = pk.b[:cap(pk.b)]
	pk.n = copy(pk.b, p)
	return pk
}

func putPacket(pk *packet) {
	if pk == nil {
		return
	}
	pk.sock = nil
	if cap(pk.b) > packetBufSize {
		pk.b = make([]byte, packetBufSize)
	}
	packetPool.Put(pk)
}

// maxDatagram is the largest UDP payload.
const maxDatagram = 65536

// readLoop is the one reader goroutine of a socket. STUN goes to the loop;
// anything else is delivered to the component from this goroutine. On a
// host socket that carries TURN allocations, what their servers send (but
// Binding responses to the agent's own requests) goes to the allocations.
// The reader runs until its socket is closed.
func (a *Agent) readLoop(w *worker, s *socket) {
	defer w.exit()
	var (
		raw = newRawReader(s.conn)
		buf []byte // the portable reader's buffer
	)
	if raw != nil {
		defer raw.release()
	} else {
		buf = make([]byte, maxDatagram)
	}
	for {
		var (
			p    []byte
			from netip.AddrPort
			err  error
		)
		if raw != nil {
			p, from, err = raw.read()
		} else {
			var n int
			n, from, err = s.conn.ReadFromUDPAddrPort(buf)
			p = buf[:n]
		}
		if err != nil {
			if s.closed.Load() || isClosedErr(err) {
				return
			}
			if isTransientErr(err) {
				s.pendingICMP(err) // drains the error queue (icmp_linux.go)
				continue
			}
			a.log.Warn("nice: socket read failed; socket abandoned", "local", s.local, "err", err)
			return
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if turns := s.turn.Load(); turns != nil && a.toRelay(w, *turns, from, p) {
			continue
		}
		if s.draining.Load() || a.forceRelay.Load() && s.relay == nil {
			// force-relay: only what comes through a relay counts (libnice
			// drops non-TURN packets).
			continue
		}
		a.route(w, s, from, p)
	}
}

// route hands a datagram that arrived on s from from: STUN to the loop,
// anything else to the component. Called on a reader goroutine: the
// socket's own, which runs the loop itself if it was idle, or a mux's
// (s.mux set), which serves every agent on the mux and starts the loop on
// a goroutine of its own instead.
func (a *Agent) route(w *worker, s *socket, from netip.AddrPort, p []byte) {
	if stunx.IsSTUN(p) {
		pk := getPacket(p)
		pk.sock, pk.from = s, from
		ok, run := a.post(work{pk: pk})
		if !ok {
			// Closing (keep reading until the socket is closed, for the
			// answers to the TURN releases) or the loop is overloaded:
			// drop, as a full socket buffer would.
			putPacket(pk)
		}
		switch {
		case run && s.mux != nil:
			go a.runLoop() // the loop was idle: it runs off the mux's reader (the loop is claimed; Close waits for loopDone)
		case run:
			a.runLoop() // the loop was idle: this reader runs it
		}
		return
	}
	s.comp.deliver(w, from, p)
}

// toRelay hands p to the allocation whose server sent it, and reports
// whether it did. Binding messages from a TURN server that is also the
// STUN server stay with the agent.
func (a *Agent) toRelay(w *worker, turns []*relayAlloc, from netip.AddrPort, p []byte) bool {
	for _, ra := range turns {
		if ra.srv.addr == from {
			if stunx.IsSTUN(p) && isBindingMethod(p) {
				return false
			}
			ra.handleInbound(w, p)
			return true
		}
	}
	return false
}

// deliver hands application data to the component's receiver, on worker
// w. Data from an address that is not a known remote candidate is dropped.
func (c *component) deliver(w *worker, from netip.AddrPort, p []byte) {
	rx, ok := c.peers.Load().get(from)
	if !ok {
		return
	}
	rx.add(len(p))
	if h := c.recv.Load(); h != nil {
		w.enterUser()
		h.fn(c.s.id, c.id, p)
		w.leaveUser()
		return
	}
	pk := getPacket(p)
	pk.from = from
	select {
	case c.queue() <- pk:
	default:
		putPacket(pk) // queue full: drop, as a socket would
	}
}

// Send sends p on the component's selected pair, from the caller's
// goroutine. It needs a selected pair (CONNECTED or READY) and returns
// ErrNotReady before, ErrConsentLost after consent was lost.
func (a *Agent) Send(streamID, componentID int, p []byte) (int, error) {
	path, err := a.sendPath(streamID, componentID)
	if err != nil {
		return 0, err
	}
	return path.write(p)
}

// sendPath returns what Send needs of a component's selected pair, or
// Send's error when it has none.
func (a *Agent) sendPath(streamID, componentID int) (*sendPath, error) {
	c, err := a.lookup(streamID, componentID)
	if err != nil {
		return nil, err
	}
	path := c.path.Load()
	if path == nil {
		if c.lost.Load() {
			return nil, ErrConsentLost
		}
		return nil, ErrNotReady
	}
	return path, nil
}

// write sends one datagram on the path (a relay socket's conn writes
// through its TURN allocation).
func (path *sendPath) write(p []byte) (int, error) {
	n, err := path.conn.WriteToUDPAddrPort(p, path.remote)
	if err == nil {
		path.out.add(len(p))
	}
	return n, err
}

// AttachRecv sets the function that receives the component's data, called
// on the socket's reader goroutine with a buffer valid only during the call.
// fn nil detaches it; data then queues for Recv. STUN is handled by the agent
// whether or not a function is attached. fn must not block: while it runs,
// its socket is not read, so a stalled fn also stalls the checks and
// consent refreshes of that socket (as a stalled GMainContext does for
// libnice); hand data to another goroutine if processing may wait.
func (a *Agent) AttachRecv(streamID, componentID int, fn func(streamID, componentID int, p []byte)) error {
	c, err := a.lookup(streamID, componentID)
	if err != nil {
		return err
	}
	if fn == nil {
		c.recv.Store(nil)
		return nil
	}
	c.recv.Store(&recvHandler{fn: fn})
	return nil
}

// Recv blocks until a datagram arrives on the component, copies it into p
// and returns its length (truncated to len(p)), like nice_agent_recv. It
// returns ErrClosed when the agent is closed or the stream removed, and
// ErrRecvAttached while a receive function is attached.
func (a *Agent) Recv(streamID, componentID int, p []byte) (int, error) {
	c, err := a.lookup(streamID, componentID)
	if err != nil {
		return 0, err
	}
	return c.read(p, nil)
}

// read waits for a queued datagram, or until the component is closed or
// timeout fires.
func (c *component) read(p []byte, timeout <-chan struct{}) (int, error) {
	n, err := c.readOr(p, timeout, nil)
	if errors.Is(err, net.ErrClosed) {
		return 0, ErrClosed
	}
	return n, err
}
