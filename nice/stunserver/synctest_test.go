// SPDX-License-Identifier: MIT

package stunserver

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"

	"github.com/pion/stun"
)

// memNet is an in-memory datagram network: sockets are channels, so that
// blocking on them is durable under testing/synctest.
type memNet struct {
	mu    sync.Mutex
	conns map[netip.AddrPort]*memConn
}

type memPacket struct {
	b    []byte
	from netip.AddrPort
}

// memConn is a socket of a memNet. It implements PacketConn.
type memConn struct {
	net   *memNet
	local netip.AddrPort
	in    chan memPacket
	done  chan struct{}
	once  sync.Once
}

func (n *memNet) listen(local netip.AddrPort) *memConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conns == nil {
		n.conns = make(map[netip.AddrPort]*memConn)
	}
	c := &memConn{net: n, local: local, in: make(chan memPacket, 16), done: make(chan struct{})}
	n.conns[local] = c
	return c
}

func (c *memConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	default:
	}
	select {
	case p := <-c.in:
		return copy(b, p.b), p.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

// WriteToUDPAddrPort delivers b to the socket bound to to, if any and if
// its queue has room; otherwise the datagram is lost, as with UDP.
func (c *memConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	c.net.mu.Lock()
	dst := c.net.conns[to]
	c.net.mu.Unlock()
	if dst != nil {
		select {
		case dst.in <- memPacket{append([]byte(nil), b...), c.local}:
		default:
		}
	}
	return len(b), nil
}

func (c *memConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		close(c.done)
		c.net.mu.Lock()
		delete(c.net.conns, c.local)
		c.net.mu.Unlock()
		err = nil
	})
	return err
}

func (c *memConn) LocalAddrPort() netip.AddrPort { return c.local }

// memExchange sends req from c to server and returns the next datagram c
// receives.
func memExchange(t *testing.T, c *memConn, server netip.AddrPort, req []byte) []byte {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(req, server); err != nil {
		t.Fatalf("send: %v", err)
	}
	buf := make([]byte, 1500)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if from != server {
		t.Fatalf("response from %v, want %v", from, server)
	}
	return buf[:n]
}

// TestServeInMemory runs the server on in-memory sockets inside a synctest
// bubble. synctest.Test fails if a goroutine of the bubble is left blocked,
// which makes it a leak check too.
func TestServeInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mn memNet
		server4 := netip.MustParseAddrPort("198.51.100.1:3478")
		server6 := netip.MustParseAddrPort("[2001:db8::1]:3478")
		s := &Server{Software: testSoftware}
		errs := make(chan error, 2)
		go func() { errs <- s.Serve(mn.listen(server4)) }()
		go func() { errs <- s.Serve(mn.listen(server6)) }()
		synctest.Wait() // both loops are blocked reading

		c4 := mn.listen(netip.MustParseAddrPort("203.0.113.7:50000"))
		c6 := mn.listen(netip.MustParseAddrPort("[2001:db8:ffff::7]:50000"))
		req := request(t, stun.BindingRequest, stun.Fingerprint)
		checkResponse(t, req, memExchange(t, c4, server4, req),
			want{typ: stun.BindingSuccess, mapped: c4.local, fingerprint: true})
		checkResponse(t, req, memExchange(t, c6, server6, req),
			want{typ: stun.BindingSuccess, mapped: c6.local, fingerprint: true})

		// Garbage and indications get nothing, and the server goes on.
		for _, b := range [][]byte{{1, 2, 3}, request(t, stun.NewType(stun.MethodBinding, stun.ClassIndication))} {
			if _, err := c4.WriteToUDPAddrPort(b, server4); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		select {
		case p := <-c4.in:
			t.Fatalf("server answered garbage with %x", p.b)
		default:
		}
		classic := classicRequest(t, stun.BindingRequest)
		checkResponse(t, classic, memExchange(t, c4, server4, classic),
			want{typ: stun.BindingSuccess, mapped: c4.local, classic: true})

		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Serve = %v, want nil", err)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		c4.Close()
		c6.Close()
	})
}

// scriptedConn returns the errors of script from successive reads, then
// blocks until closed. Writes are recorded.
type scriptedConn struct {
	script  []error
	reads   int
	written [][]byte
	done    chan struct{}
	once    sync.Once
}

func newScriptedConn(script ...error) *scriptedConn {
	return &scriptedConn{script: script, done: make(chan struct{})}
}

func (c *scriptedConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	if c.reads < len(c.script) {
		err := c.script[c.reads]
		c.reads++
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		return copy(b, stun.MustBuild(stun.BindingRequest, stun.TransactionID).Raw), peer4, nil
	}
	<-c.done
	return 0, netip.AddrPort{}, net.ErrClosed
}

func (c *scriptedConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) {
	c.written = append(c.written, append([]byte(nil), b...))
	return len(b), nil
}

func (c *scriptedConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func TestServeReadErrors(t *testing.T) {
	errBroken := errors.New("broken socket")
	tests := []struct {
		name    string
		script  []error // nil entries deliver a Binding request
		want    error   // what Serve returns; nil: it keeps serving until Close
		answers int
	}{
		{"ICMP errors are skipped", []error{syscall.ECONNREFUSED, nil, &net.OpError{Op: "read", Err: syscall.ECONNRESET}, nil}, nil, 2},
		{"other errors stop Serve", []error{nil, errBroken, nil}, errBroken, 1},
		{"net.ErrClosed ends Serve quietly", []error{nil, net.ErrClosed}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := new(Server)
				c := newScriptedConn(tt.script...)
				errc := make(chan error, 1)
				go func() { errc <- s.Serve(c) }()
				synctest.Wait()
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := <-errc; !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
					t.Errorf("Serve = %v, want %v", err, tt.want)
				}
				if len(c.written) != tt.answers {
					t.Errorf("%d responses sent, want %d", len(c.written), tt.answers)
				}
				select {
				case <-c.done:
				default:
					t.Error("Serve did not close its socket")
				}
			})
		})
	}
}
