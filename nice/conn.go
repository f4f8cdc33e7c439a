// SPDX-License-Identifier: MIT

package nice

import (
	"net"
	"sync"
	"time"
)

// Conn returns the component as a net.Conn, for protocols layered on top
// (DTLS): Write sends on the selected pair, Read receives the component's
// data. Reads need no receive function attached (AttachRecv(nil)).
// Closing the Conn does not close the agent; it ends pending and later
// Reads and Writes with net.ErrClosed.
func (a *Agent) Conn(streamID, componentID int) (net.Conn, error) {
	c, err := a.lookup(streamID, componentID)
	if err != nil {
		return nil, err
	}
	return &componentConn{a: a, c: c, done: make(chan struct{})}, nil
}

// componentConn adapts a component to net.Conn.
type componentConn struct {
	a    *Agent
	c    *component
	done chan struct{}
	once sync.Once

	mu       sync.Mutex
	deadline time.Time // read deadline
	wdead    time.Time // write deadline
}

var _ net.Conn = (*componentConn)(nil)

func (cc *componentConn) Read(p []byte) (int, error) {
	select {
	case <-cc.done:
		return 0, net.ErrClosed
	default:
	}
	cc.mu.Lock()
	dl := cc.deadline
	cc.mu.Unlock()
	var timeout chan struct{}
	if !dl.IsZero() {
		d := time.Until(dl)
		if d <= 0 {
			return 0, &timeoutError{}
		}
		timeout = make(chan struct{})
		t := time.AfterFunc(d, func() { close(timeout) })
		defer t.Stop()
	}
	n, err := cc.c.readOr(p, timeout, cc.done)
	if err == ErrTimeout {
		return 0, &timeoutError{}
	}
	return n, err
}

// readOr waits for a queued datagram; the component's closing and done
// (nil: never) end the wait with net.ErrClosed, timeout with ErrTimeout.
func (c *component) readOr(p []byte, timeout <-chan struct{}, done <-chan struct{}) (int, error) {
	if c.recv.Load() != nil {
		return 0, ErrRecvAttached
	}
	select {
	case pk := <-c.queue():
		n := copy(p, pk.b[:pk.n])
		putPacket(pk)
		return n, nil
	case <-c.closed:
		return 0, net.ErrClosed
	case <-done:
		return 0, net.ErrClosed
	case <-timeout:
		return 0, ErrTimeout
	}
}

func (cc *componentConn) Write(p []byte) (int, error) {
	select {
	case <-cc.done:
		return 0, net.ErrClosed
	default:
	}
	cc.mu.Lock()
	wd := cc.wdead
	cc.mu.Unlock()
	if !wd.IsZero() && !time.Now().Before(wd) {
		return 0, &timeoutError{}
	}
	return cc.a.Send(cc.c.s.id, cc.c.id, p)
}

func (cc *componentConn) Close() error {
	cc.once.Do(func() { close(cc.done) })
	return nil
}

func (cc *componentConn) LocalAddr() net.Addr {
	if p := cc.c.path.Load(); p != nil {
		return net.UDPAddrFromAddrPort(p.conn.LocalAddrPort())
	}
	return nil
}

func (cc *componentConn) RemoteAddr() net.Addr {
	if p := cc.c.path.Load(); p != nil {
		return net.UDPAddrFromAddrPort(p.remote)
	}
	return nil
}

func (cc *componentConn) SetDeadline(t time.Time) error {
	cc.mu.Lock()
	cc.deadline, cc.wdead = t, t
	cc.mu.Unlock()
	return nil
}

func (cc *componentConn) SetReadDeadline(t time.Time) error {
	cc.mu.Lock()
	cc.deadline = t
	cc.mu.Unlock()
	return nil
}

func (cc *componentConn) SetWriteDeadline(t time.Time) error {
	cc.mu.Lock()
	cc.wdead = t
	cc.mu.Unlock()
	return nil
}

// timeoutError is the net.Error of a passed deadline.
type timeoutError struct{}

func (*timeoutError) Error() string   { return ErrTimeout.Error() }
func (*timeoutError) Timeout() bool   { return true }
func (*timeoutError) Temporary() bool { return true }
func (*timeoutError) Unwrap() error   { return ErrTimeout }
