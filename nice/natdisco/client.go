// SPDX-License-Identifier: MIT

package natdisco

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/pion/stun"
)

// Conn is the UDP socket a test runs on. *net.UDPConn implements it, and so
// do gonice's nice.PacketConn sockets. ReadFromUDPAddrPort must block until
// a datagram arrives or the socket is closed, and return an error then.
//
// If the socket also has a LocalAddrPort() netip.AddrPort or LocalAddr()
// net.Addr method, its local address is used to tell whether the mapped
// address is the socket's own (no NAT); see Client.LocalAddrs.
type Conn interface {
	// ReadFromUDPAddrPort reads one datagram into b and returns its size
	// and source address.
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	// WriteToUDPAddrPort sends b as one datagram to addr.
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// Default retransmission parameters (RFC 5389 §7.2.1): the initial RTO
// RFC 5389 recommends, and a number of requests and a final wait that end
// a transaction without answer after 3.5 s, as the 500 ms and 3 tries of
// libnice's stunbdc do.
const (
	DefaultRTO = 500 * time.Millisecond
	DefaultRc  = 3
	DefaultRm  = 4
)

// pace is the shortest interval between the starts of two transactions of
// one call: RFC 5780 §5 allows at most ten new transactions per second.
const pace = 100 * time.Millisecond

// Errors returned by the discovery functions, possibly wrapped with
// details; test them with errors.Is.
var (
	// ErrNoResponse means that a transaction got no response after all
	// its retransmissions (RFC 5389 §7.2.1).
	ErrNoResponse = errors.New("natdisco: no response from the STUN server")
	// ErrNotSupported means that the server cannot run the NAT type or
	// behaviour tests: its response has no OTHER-ADDRESS (nor
	// CHANGED-ADDRESS) with another IP address and port (RFC 5780 §4.3,
	// §4.4), it answered CHANGE-REQUEST with a 420 (RFC 5780 §5), or it
	// ignored CHANGE-REQUEST.
	ErrNotSupported = errors.New("natdisco: the STUN server does not support NAT behaviour discovery")
	// ErrBadResponse means that a success response could not be used:
	// no mapped address, a malformed address attribute, or an unknown
	// comprehension-required attribute (RFC 5389 §7.3.3).
	ErrBadResponse = errors.New("natdisco: invalid response from the STUN server")
)

// ResponseError is an error response of the server (RFC 5389 §7.3.4).
type ResponseError struct {
	// Server is where the request went.
	Server netip.AddrPort
	// Code is the ERROR-CODE number, such as 420 (RFC 5389 §15.6).
	Code int
	// Reason is the reason phrase of the ERROR-CODE.
	Reason string
}

// Error describes the response.
func (e *ResponseError) Error() string {
	return fmt.Sprintf("natdisco: STUN server %v answered with error %d %q", e.Server, e.Code, e.Reason)
}

// Client holds the settings of the discovery functions. The zero value
// uses the defaults; the package-level functions use a zero Client. A
// Client may be used concurrently on different sockets.
type Client struct {
	// RTO is the initial retransmission timeout (RFC 5389 §7.2.1). 0
	// means DefaultRTO.
	RTO time.Duration
	// Rc is the number of times a request is sent (RFC 5389 §7.2.1). 0
	// means DefaultRc.
	Rc int
	// Rm is how many RTOs to wait for a response after the last request
	// (RFC 5389 §7.2.1). 0 means DefaultRm.
	Rm int
	// LocalAddrs are the host's IP addresses. When the socket is bound to
	// a wildcard address, or does not tell its address, a mapped address
	// with one of these IP addresses (and the socket's port, if known)
	// means that there is no NAT (RFC 3489 §10.1, RFC 5780 §4.3). Nil
	// means the operating system's interface addresses
	// (net.InterfaceAddrs), which suits *net.UDPConn; in-memory sockets
	// should be bound to a specific address or come with LocalAddrs.
	LocalAddrs []netip.Addr
}

// MappedAddress sends a Binding request to server from conn and returns
// the mapped address of its response: XOR-MAPPED-ADDRESS, or
// MAPPED-ADDRESS from an RFC 3489 server (RFC 5389 §7.3.3, §12.2), as
// libnice's stunbdc does. It uses the default settings; see
// Client.MappedAddress.
func MappedAddress(ctx context.Context, conn Conn, server netip.AddrPort) (netip.AddrPort, error) {
	return new(Client).MappedAddress(ctx, conn, server)
}

// MappedAddress sends a Binding request to server from conn and returns
// the mapped address of its response: XOR-MAPPED-ADDRESS, or
// MAPPED-ADDRESS from an RFC 3489 server (RFC 5389 §7.3.3, §12.2). It
// fails with an error wrapping ErrNoResponse when the transaction times
// out, a *ResponseError for an error response, an error wrapping
// ErrBadResponse for an unusable response, ctx.Err() when ctx ends, or
// the error of the socket.
func (c *Client) MappedAddress(ctx context.Context, conn Conn, server netip.AddrPort) (netip.AddrPort, error) {
	s := c.start(conn)
	defer s.close()
	r, err := s.binding(ctx, server, 0)
	return r.mapped, err
}

// session is one call of a discovery function: the socket, its reading
// goroutine and the transactions in progress.
type session struct {
	conn       Conn
	rto        time.Duration
	rc, rm     int
	localAddrs []netip.Addr // nil: ask the operating system

	mu      sync.Mutex
	waiting map[[stun.TransactionIDSize]byte]chan inbound
	next    time.Time // earliest start of the next transaction
	readErr error     // why the reader stopped, once failed is closed

	failed chan struct{} // closed when reading fails
	stop   chan struct{} // closed by close
	done   chan struct{} // closed when the reader returns
}

// inbound is a STUN message received for a transaction.
type inbound struct {
	m    *stun.Message
	from netip.AddrPort
}

// start starts a session on conn.
func (c *Client) start(conn Conn) *session {
	s := &session{
		conn:       conn,
		rto:        c.RTO,
		rc:         c.Rc,
		rm:         c.Rm,
		localAddrs: c.LocalAddrs,
		waiting:    make(map[[stun.TransactionIDSize]byte]chan inbound),
		failed:     make(chan struct{}),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	if s.rto <= 0 {
		s.rto = DefaultRTO
	}
	if s.rc <= 0 {
		s.rc = DefaultRc
	}
	if s.rm <= 0 {
		s.rm = DefaultRm
	}
	go s.read() // the session's reader, until close unblocks it
	return s
}

// aLongTimeAgo is a read deadline in the past, to unblock a reader.
var aLongTimeAgo = time.Unix(1, 0)

// close ends the session. If the socket has read deadlines, it stops the
// reader and waits for it; see the package documentation.
func (s *session) close() {
	close(s.stop)
	d, ok := s.conn.(interface{ SetReadDeadline(time.Time) error })
	if !ok || d.SetReadDeadline(aLongTimeAgo) != nil {
		return
	}
	<-s.done
	_ = d.SetReadDeadline(time.Time{})
}

// read receives datagrams and hands the STUN messages of the Binding
// method to the transactions waiting for their transaction IDs, until the
// session ends or the socket fails.
func (s *session) read() {
	defer close(s.done)
	buf := make([]byte, 1<<16)
	for {
		n, from, err := s.conn.ReadFromUDPAddrPort(buf)
		select {
		case <-s.stop:
			return
		default:
		}
		if err != nil {
			if transient(err) {
				continue
			}
			s.mu.Lock()
			s.readErr = err
			s.mu.Unlock()
			close(s.failed)
			return
		}
		m, ok := decodeDatagram(buf[:n])
		if !ok {
			continue
		}
		s.mu.Lock()
		ch := s.waiting[m.TransactionID]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- inbound{m: m, from: unmap(from)}:
			default: // a flood of duplicates: the first ones will do
			}
		}
	}
}

// transient reports whether a socket error concerns one datagram rather
// than the socket: ICMP errors reported on a later read or write, or a
// destination without a route, which for discovery is no different from
// a lost datagram.
func transient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH)
}

// readError returns the error that stopped the reader.
func (s *session) readError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Errorf("natdisco: reading the socket: %w", s.readErr)
}

// pace waits until the session may start another transaction (RFC 5780
// §5).
func (s *session) pace(ctx context.Context) error {
	s.mu.Lock()
	now := time.Now()
	at := s.next
	if at.Before(now) {
		at = now
	}
	s.next = at.Add(pace)
	s.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// transact sends req to to, retransmitting it as RFC 5389 §7.2.1 says,
// until a message with its transaction ID arrives: a response, or, with
// hairpin set, the request itself. It fails with an error wrapping
// ErrNoResponse after the last wait.
func (s *session) transact(ctx context.Context, to netip.AddrPort, req *stun.Message, hairpin bool) (inbound, error) {
	ch := make(chan inbound, 8)
	s.mu.Lock()
	s.waiting[req.TransactionID] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, req.TransactionID)
		s.mu.Unlock()
	}()
	if err := s.pace(ctx); err != nil {
		return inbound{}, err
	}
	rto := s.rto
	for sent := 1; ; sent++ {
		if _, err := s.conn.WriteToUDPAddrPort(req.Raw, to); err != nil && !transient(err) {
			return inbound{}, fmt.Errorf("natdisco: sending to %v: %w", to, err)
		}
		wait := rto
		if sent == s.rc {
			wait = time.Duration(s.rm) * s.rto
		}
		in, err := s.await(ctx, ch, wait, hairpin)
		if err != nil || in.m != nil {
			return in, err
		}
		if sent == s.rc {
			return inbound{}, fmt.Errorf("%w: %v did not answer %d requests", ErrNoResponse, to, s.rc)
		}
		rto *= 2
	}
}

// await waits up to d for a message on ch: a response, or a request when
// hairpin is set. It returns a zero inbound when d passes.
func (s *session) await(ctx context.Context, ch <-chan inbound, d time.Duration, hairpin bool) (inbound, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case in := <-ch:
			isRequest := in.m.Type.Class == stun.ClassRequest
			if isRequest == hairpin && in.m.Type.Class != stun.ClassIndication {
				return in, nil
			}
		case <-t.C:
			return inbound{}, nil
		case <-ctx.Done():
			return inbound{}, ctx.Err()
		case <-s.failed:
			return inbound{}, s.readError()
		}
	}
}

// binding runs one Binding transaction with server, with a CHANGE-REQUEST
// attribute holding flags if they are not 0, and returns the parsed
// success response.
func (s *session) binding(ctx context.Context, server netip.AddrPort, flags byte) (reply, error) {
	in, err := s.transact(ctx, server, newRequest(flags), false)
	if err != nil {
		return reply{}, err
	}
	if in.m.Type.Class == stun.ClassErrorResponse {
		return reply{}, responseError(in.m, server)
	}
	r, err := parseSuccess(in.m)
	r.from = in.from
	return r, err
}

// hairpin reports whether a Binding request sent from the socket to its
// own mapped address comes back to it (RFC 5780 §3.4). The request leaves
// from the tested socket itself, as Debian's stun client sends it, rather
// than from a second port.
func (s *session) hairpin(ctx context.Context, mapped netip.AddrPort) bool {
	_, err := s.transact(ctx, mapped, newRequest(0), true)
	return err == nil
}

// startHairpin runs hairpin in a goroutine and returns where its result
// will be.
func (s *session) startHairpin(ctx context.Context, mapped netip.AddrPort) <-chan bool {
	ch := make(chan bool, 1)
	go func() { ch <- s.hairpin(ctx, mapped) }() // the hairpin test, until it answers or ctx ends
	return ch
}

// local returns the socket's local address, if it tells.
func (s *session) local() (netip.AddrPort, bool) {
	switch c := s.conn.(type) {
	case interface{ LocalAddrPort() netip.AddrPort }:
		return unmap(c.LocalAddrPort()), true
	case interface{ LocalAddr() net.Addr }:
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			return unmap(a.AddrPort()), true
		}
	}
	return netip.AddrPort{}, false
}

// own reports whether mapped is the socket's own address, so that no NAT
// lies between the socket and the server (RFC 3489 §10.1, RFC 5780 §4.3).
func (s *session) own(mapped netip.AddrPort) bool {
	mapped = unmap(mapped)
	local, ok := s.local()
	if ok && local.Addr().IsValid() && !local.Addr().IsUnspecified() {
		return local == mapped
	}
	if ok && local.Port() != mapped.Port() {
		return false
	}
	addrs := s.localAddrs
	if addrs == nil {
		addrs = interfaceAddrs()
	}
	for _, a := range addrs {
		if a.Unmap().WithZone("") == mapped.Addr() {
			return true
		}
	}
	return false
}

// preservesPort reports whether the mapped port is the socket's own.
func (s *session) preservesPort(mapped netip.AddrPort) bool {
	local, ok := s.local()
	return ok && local.Port() == mapped.Port()
}

// interfaceAddrs returns the operating system's interface addresses.
func interfaceAddrs() []netip.Addr {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var addrs []netip.Addr
	for _, a := range ifaddrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				addrs = append(addrs, ip.Unmap())
			}
		}
	}
	return addrs
}

// unmap returns ap with an IPv4-mapped IPv6 address turned into IPv4 and
// no zone.
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}
