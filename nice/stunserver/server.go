// SPDX-License-Identifier: MIT

// Package stunserver is a small STUN server (RFC 5389) for tests and demos,
// the counterpart of libnice's stund: it answers Binding requests with the
// address they came from, so that an ICE agent can gather server-reflexive
// candidates (RFC 8445 §5.1.1.2).
//
// A Server serves any number of sockets. Each socket is a PacketConn, which
// *net.UDPConn implements and which an in-memory socket can implement too;
// the server only blocks in ReadFromUDPAddrPort and never uses timers, so it
// runs under testing/synctest. Each socket is served by one goroutine that
// reuses one receive buffer and one request and response message, so the
// server allocates nothing per request (the socket itself may).
//
// Binding requests get XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS when they lack
// the magic cookie and so come from an RFC 3489 client (RFC 5389 §12.2).
// Requests with unknown comprehension-required attributes get a 420 and
// other methods a 400 (RFC 5389 §7.3.1); indications, responses and
// anything that is not STUN are dropped silently.
//
// The server does not authenticate requests and implements neither TURN
// nor the NAT behaviour discovery of RFC 5780 (CHANGE-REQUEST,
// OTHER-ADDRESS, RESPONSE-ORIGIN); requests asking for the latter get a
// 420 (Unknown Attribute) error response, which RFC 5780 clients take as
// "not supported". Request processing is a function of the datagram and
// its source alone, separate from the socket loop, so that RFC 5780 can be
// added by giving it the receiving socket's address and letting it choose
// the socket that answers.
package stunserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"unicode/utf8"
)

// PacketConn is a datagram socket a Server answers on. *net.UDPConn
// implements it, so do the sockets of gonice's nice.Net, and FromPacketConn
// adapts any net.PacketConn. ReadFromUDPAddrPort must block until a
// datagram arrives or the socket is closed, and must return an error
// wrapping net.ErrClosed once Close was called.
type PacketConn interface {
	// ReadFromUDPAddrPort reads one datagram into b and returns its size
	// and source address.
	ReadFromUDPAddrPort(b []byte) (n int, addr netip.AddrPort, err error)
	// WriteToUDPAddrPort sends b as one datagram to addr.
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	// Close closes the socket, unblocking ReadFromUDPAddrPort.
	Close() error
}

var _ PacketConn = (*net.UDPConn)(nil)

// ErrServerClosed is returned by Serve and ListenAndServe once Close was
// called.
var ErrServerClosed = errors.New("stunserver: server closed")

// maxDatagram is the size of the receive buffer: any UDP payload fits.
const maxDatagram = 1 << 16

// Server is a STUN server. The zero value is ready to use; set its fields
// before the first call to Serve or ListenAndServe and do not change them
// afterwards. A Server must not be copied after first use.
type Server struct {
	// Software, if not empty, is sent in the SOFTWARE attribute of every
	// response (RFC 5389 §15.10). It must be valid UTF-8 of fewer than 128
	// characters and at most 763 bytes.
	Software string

	// Logger receives a record for each socket served and, at debug
	// level, for each datagram not answered. Nil discards them.
	Logger *slog.Logger

	mu     sync.Mutex
	closed bool
	nextID uint64
	conns  map[uint64]PacketConn
	wg     sync.WaitGroup // one per Serve loop
}

// Serve answers the STUN requests that arrive on c until c is closed,
// either by Close or by the caller. It takes ownership of c and closes it
// before returning. It returns nil when c was closed, ErrServerClosed
// without serving if Close was already called, an error if the Software
// field is invalid, or the first read error other than a closed socket or
// an ICMP-induced ECONNREFUSED or ECONNRESET, which are skipped.
func (s *Server) Serve(c PacketConn) error {
	if err := s.validate(); err != nil {
		c.Close()
		return err
	}
	id, ok := s.track(c)
	if !ok {
		c.Close()
		return ErrServerClosed
	}
	return s.serve(id, c)
}

// ListenAndServe binds a UDP socket to addr, such as "127.0.0.1:0" or
// "[::1]:3478", and serves it in a new goroutine until Close. It returns
// the bound address, with an IPv4 address unmapped.
func (s *Server) ListenAndServe(addr string) (netip.AddrPort, error) {
	if err := s.validate(); err != nil {
		return netip.AddrPort{}, err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	c := pc.(*net.UDPConn)
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	// Register the socket before starting the goroutine, so that a Close
	// right after ListenAndServe returns waits for it.
	id, ok := s.track(c)
	if !ok {
		c.Close()
		return netip.AddrPort{}, ErrServerClosed
	}
	go func() {
		if err := s.serve(id, c); err != nil {
			s.logger().Error("stunserver: serve failed", "addr", local, "err", err)
		}
	}()
	return local, nil
}

// ListenAndServe starts a Server with default settings on a UDP socket
// bound to addr, as Server.ListenAndServe does, and returns the server and
// the bound address. Close the server to stop it.
func ListenAndServe(addr string) (*Server, netip.AddrPort, error) {
	s := new(Server)
	local, err := s.ListenAndServe(addr)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	return s, local, nil
}

// Close closes every socket the server serves, waits for their Serve loops
// to return, and makes later calls to Serve fail. It is safe to call more
// than once and from several goroutines; every call waits for the loops.
// It returns the errors of closing the sockets, other than net.ErrClosed.
func (s *Server) Close() error {
	s.mu.Lock()
	first := !s.closed
	s.closed = true
	var conns []PacketConn
	if first {
		for _, c := range s.conns {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()

	var errs []error
	for _, c := range conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

// validate checks the fields of s.
func (s *Server) validate() error {
	if len(s.Software) > maxSoftware || utf8.RuneCountInString(s.Software) >= 128 || !utf8.ValidString(s.Software) {
		return fmt.Errorf("stunserver: Software must be valid UTF-8 of fewer than 128 characters and at most %d bytes (RFC 5389 §15.10)", maxSoftware)
	}
	return nil
}

// track registers c as served, unless the server is closed.
func (s *Server) track(c PacketConn) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, false
	}
	if s.conns == nil {
		s.conns = make(map[uint64]PacketConn)
	}
	s.nextID++
	s.conns[s.nextID] = c
	s.wg.Add(1)
	return s.nextID, true
}

// isClosed reports whether Close was called.
func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// logger returns s.Logger, or a logger that discards everything.
func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// serve is the loop of Serve for c, registered as id.
func (s *Server) serve(id uint64, c PacketConn) (err error) {
	log := s.logger()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, id)
		s.mu.Unlock()
		s.wg.Done()
	}()

	h := newHandler(s.Software)
	buf := make([]byte, maxDatagram)
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	log.Info("stunserver: serving", "local", localAddr(c))
	for {
		n, peer, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosed() {
				log.Info("stunserver: stopped")
				return nil
			}
			if transient(err) {
				continue
			}
			return err
		}
		res, why := h.handle(buf[:n], peer)
		if res == nil {
			if debug {
				log.Debug("stunserver: datagram dropped", "from", peer, "size", n, "reason", why)
			}
			continue
		}
		if _, err := c.WriteToUDPAddrPort(res, peer); err != nil && debug {
			log.Debug("stunserver: cannot send response", "to", peer, "err", err)
		}
	}
}

// localAddr returns the local address of c for logging, if c can tell.
func localAddr(c PacketConn) any {
	switch c := c.(type) {
	case interface{ LocalAddrPort() netip.AddrPort }:
		return c.LocalAddrPort()
	case interface{ LocalAddr() net.Addr }:
		return c.LocalAddr()
	}
	return nil
}

// transient reports whether a read error concerns an earlier datagram
// rather than the socket: an ICMP error reported on a later read.
func transient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// FromPacketConn adapts a net.PacketConn to PacketConn. If c already
// implements PacketConn, as *net.UDPConn does, it is returned as is.
// Otherwise each read and write converts addresses, which allocates; a
// source address that is neither a *net.UDPAddr nor parsable by
// netip.ParseAddrPort is reported as the zero netip.AddrPort, and the
// server does not answer it.
func FromPacketConn(c net.PacketConn) PacketConn {
	if pc, ok := c.(PacketConn); ok {
		return pc
	}
	return packetConnAdapter{c}
}

// packetConnAdapter is the PacketConn of FromPacketConn.
type packetConnAdapter struct {
	net.PacketConn
}

// ReadFromUDPAddrPort reads a datagram with ReadFrom and converts its
// source address.
func (a packetConnAdapter) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	n, addr, err := a.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	var ap netip.AddrPort
	switch addr := addr.(type) {
	case *net.UDPAddr:
		ap = addr.AddrPort()
	case interface{ AddrPort() netip.AddrPort }:
		ap = addr.AddrPort()
	default:
		ap, _ = netip.ParseAddrPort(addr.String())
	}
	return n, ap, nil
}

// WriteToUDPAddrPort sends b with WriteTo.
func (a packetConnAdapter) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return a.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}
