// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// tcpQueueLimit bounds the bytes an ICE-TCP connection holds for a peer
// that reads more slowly than we send: beyond it datagrams are dropped, as
// a full UDP socket buffer drops them, rather than blocking the sender.
const tcpQueueLimit = 256 << 10

// errTCPQueueFull is Send's error when a datagram is dropped because the
// connection's send queue is full: it wraps syscall.EAGAIN, as a full UDP
// socket buffer's error does (the C API's GONICE_EAGAIN).
var errTCPQueueFull = fmt.Errorf("nice: ICE-TCP send queue full: datagram dropped: %w", syscall.EAGAIN)

// tcpConn is one ICE-TCP connection as the agent's PacketConn: each
// datagram is one RFC 4571 frame, and the only address it sends to or
// receives from is the connection's remote end.
//
// Writes never block: a frame is written at once with a non-blocking
// write(2) when nothing is queued before it; what the kernel does not take
// is queued (at most tcpQueueLimit bytes) and written by a writer goroutine
// that lives while the queue is not empty. A write error breaks the
// connection for good. Safe for concurrent use.
type tcpConn struct {
	c             net.Conn
	local, remote netip.AddrPort
	// spawn starts the writer goroutine (the agent's worker accounting).
	spawn func(func())

	fr frameReader // used by the connection's reader only

	mu      sync.Mutex
	scratch []byte // the frame being written directly
	queue   []byte // bytes waiting for the writer
	writing bool   // the writer goroutine runs
	err     error  // a write failed or the connection was closed: sticky
	nb      *nonblockWriter
}

// newTCPConn wraps an established connection. spawn runs a function on a
// goroutine the agent accounts for.
func newTCPConn(c net.Conn, spawn func(func())) *tcpConn {
	t := &tcpConn{c: c, spawn: spawn}
	t.fr.r = c
	t.local, t.remote = tcpAddrPort(c.LocalAddr()), tcpAddrPort(c.RemoteAddr())
	t.nb = newNonblockWriter(c)
	return t
}

// tcpAddrPort is a connection's or listener's address as an AddrPort (a
// Net's own connections may not give *net.TCPAddr: the text is parsed
// then); invalid if it is none.
func tcpAddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return unmapAddrPort(ta.AddrPort())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return unmapAddrPort(ap)
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// readFrame returns the next frame, valid until the next call. Called by
// the connection's reader only.
func (t *tcpConn) readFrame() ([]byte, error) { return t.fr.next() }

// ReadFromUDPAddrPort reads one frame (PacketConn; the agent's reader uses
// readFrame, which does not copy).
func (t *tcpConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	p, err := t.fr.next()
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	return copy(b, p), t.remote, nil
}

// WriteToUDPAddrPort sends p as one frame to the connection's remote end;
// any other address is an error.
func (t *tcpConn) WriteToUDPAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	if addr != t.remote {
		return 0, fmt.Errorf("nice: ICE-TCP connection %v–%v cannot send to %v", t.local, t.remote, addr)
	}
	if len(p) > maxFrame {
		return 0, fmt.Errorf("nice: datagram of %d bytes is larger than an ICE-TCP frame (%d)", len(p), maxFrame)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return 0, t.err
	}
	if len(t.queue) > 0 || t.writing || t.nb == nil {
		if len(t.queue)+2+len(p) > tcpQueueLimit {
			return 0, errTCPQueueFull
		}
		t.queue = appendFrame(t.queue, p)
		t.startWriter()
		return len(p), nil
	}
	t.scratch = appendFrame(t.scratch[:0], p)
	n, err := t.nb.write(t.scratch)
	if err != nil {
		t.err = err
		return 0, err
	}
	if n < len(t.scratch) {
		// The kernel's buffer is full: the rest of the frame goes first
		// in the queue, and the writer waits until the socket is writable.
		t.queue = append(t.queue, t.scratch[n:]...)
		t.startWriter()
	}
	return len(p), nil
}

// startWriter starts the writer goroutine unless it runs. Called with mu
// held.
func (t *tcpConn) startWriter() {
	if t.writing {
		return
	}
	t.writing = true
	t.spawn(t.flush)
}

// flush writes the queue, blocking in the netpoller until the kernel
// takes it, until the queue is empty or a write fails.
func (t *tcpConn) flush() {
	var buf []byte
	for {
		t.mu.Lock()
		if len(t.queue) == 0 || t.err != nil {
			t.writing = false
			t.mu.Unlock()
			return
		}
		// Swap the queue for the buffer written last time, so that
		// senders append while the writer writes.
		buf, t.queue = t.queue, buf[:0]
		t.mu.Unlock()
		if _, err := t.c.Write(buf); err != nil {
			t.mu.Lock()
			t.err = err
			t.writing = false
			t.mu.Unlock()
			return
		}
	}
}

// LocalAddrPort returns the connection's local address.
func (t *tcpConn) LocalAddrPort() netip.AddrPort { return t.local }

// Close closes the connection; a blocked reader or writer returns.
func (t *tcpConn) Close() error {
	t.mu.Lock()
	if t.err == nil {
		t.err = net.ErrClosed
	}
	t.mu.Unlock()
	return t.c.Close()
}

// SetTOS sets the IP TOS byte (IPv4) or traffic class (IPv6) of what the
// connection sends (tosSetter).
func (t *tcpConn) SetTOS(tos int) error {
	if t.local.Addr().Is4() {
		return ipv4.NewConn(t.c).SetTOS(tos)
	}
	return ipv6.NewConn(t.c).SetTrafficClass(tos)
}

// setReadDeadline bounds the wait for the next frame (zero: none).
func (t *tcpConn) setReadDeadline(d time.Time) { _ = t.c.SetReadDeadline(d) }

// nonblockWriter writes to an operating-system socket without blocking.
type nonblockWriter struct {
	rc      syscall.RawConn
	b       []byte
	n       int
	err     error
	writeFn func(fd uintptr) bool // rc.Write's function, made once: a closure per write would allocate
}

// newNonblockWriter returns a writer for c, or nil if c is not an
// operating-system socket (then every frame goes through the writer
// goroutine).
func newNonblockWriter(c net.Conn) *nonblockWriter {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &nonblockWriter{rc: rc}
	w.writeFn = w.tryWrite
	return w
}

// write writes what the kernel takes of b now and returns how much that
// was. Called with the connection's mu held.
func (w *nonblockWriter) write(b []byte) (int, error) {
	w.b, w.n, w.err = b, 0, nil
	if err := w.rc.Write(w.writeFn); err != nil {
		return 0, err
	}
	w.b = nil
	return w.n, w.err
}
