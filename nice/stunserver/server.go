// SPDX-License-Identifier: MIT

// Package stunserver is a small STUN server (RFC 5389) for tests and demos,
// the counterpart of libnice's stund: it answers Binding requests with the
// address they came from, so that an ICE agent can gather server-reflexive
// candidates (RFC 8445 §5.1.1.2). On two IP addresses it also serves NAT
// behaviour discovery: RFC 5780, and the classic STUN of RFC 3489 that
// tools such as Debian's stun client still speak.
//
// A Server serves any number of sockets. Each socket is a PacketConn, which
// *net.UDPConn implements and which an in-memory socket can implement too;
// the server only blocks in ReadFromUDPAddrPort and never uses timers, so it
// runs under testing/synctest. Each socket is served by one goroutine that
// reuses one receive buffer and one request and response message, so the
// server allocates nothing per request (the socket itself may), PADDING
// aside.
//
// # Plain server
//
// Serve, ListenAndServe and the package-level ListenAndServe serve single
// sockets. Binding requests get XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS when
// they lack the magic cookie and so come from an RFC 3489 client
// (RFC 5389 §12.2). Requests with unknown comprehension-required
// attributes get a 420 and other methods a 400 (RFC 5389 §7.3.1);
// indications, responses and anything that is not STUN are dropped
// silently. Such a server has no alternate address, so, as RFC 5780 §6
// requires, its responses carry no OTHER-ADDRESS and requests with
// CHANGE-REQUEST (and the other RFC 5780 and RFC 3489 request attributes:
// RESPONSE-PORT, PADDING, RESPONSE-ADDRESS) get a 420 (Unknown
// Attribute), which RFC 5780 §5 clients take as "not supported".
//
// # NAT behaviour discovery
//
// ListenAndServeBehavior serves the four sockets A1:P1, A1:P2, A2:P1 and
// A2:P2 of two IP addresses and two ports (RFC 3489 §8.1, RFC 5780 §6),
// over the operating system's UDP or any other network (BehaviorConfig).
// Every success response then also tells the client the socket that sent
// it and the alternate address and port (the socket with the other IP
// address and the other port): RESPONSE-ORIGIN and OTHER-ADDRESS for
// RFC 5389 clients, along with both MAPPED-ADDRESS and XOR-MAPPED-ADDRESS
// (RFC 5780 §6.1); SOURCE-ADDRESS and CHANGED-ADDRESS for RFC 3489
// clients (RFC 3489 §8.1). A CHANGE-REQUEST is honoured by sending the
// response from the socket with the other IP address ("change IP"), the
// other port ("change port") or both (RFC 5780 §6.1 Table 1).
// RESPONSE-PORT sends the response to another port of the requesting
// address (RFC 5780 §7.5) and PADDING is echoed with the length of the
// request's (RFC 5780 §7.6; see discoveryResponse). RESPONSE-ADDRESS
// (RFC 3489 §11.2.2) is honoured only when enabled, because it makes the
// server a reflector; see BehaviorConfig.ResponseAddress.
//
// For RFC 3489 clients, which expect no padding after attribute values,
// attribute values should have a length that is a multiple of 4
// (RFC 3489 §11.2): the server pads reason phrases with spaces and repeats
// a type in UNKNOWN-ATTRIBUTES, but sends the Software field as it is, so
// give it a length that is a multiple of 4 when serving such clients.
//
// The server does not authenticate requests and does not implement TURN.
// Request processing is a function of the datagram, its source and the
// socket it arrived on, separate from the socket loop.
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
	return s.serve(id, c, newHandler(s.Software))
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
	go func() { // the socket's server loop, until Close closes the socket
		if err := s.serve(id, c, newHandler(s.Software)); err != nil {
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

// untrack undoes a track whose Serve loop never started.
func (s *Server) untrack(id uint64) {
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
	s.wg.Done()
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

// serve is the loop of Serve for c, registered as id, answering with h.
// On a behaviour discovery server, h may send a response from another of
// the server's sockets.
func (s *Server) serve(id uint64, c PacketConn, h *handler) (err error) {
	log := s.logger()
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, id)
		s.mu.Unlock()
		s.wg.Done()
	}()

	buf := make([]byte, maxDatagram)
	debug := log.Enabled(context.Background(), slog.LevelDebug)
	if h.disco != nil {
		log.Info("stunserver: serving", "local", h.disco.addrs[h.self], "socket", sockNames[h.self])
	} else {
		log.Info("stunserver: serving", "local", localAddr(c))
	}
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
		res, r, why := h.process(buf[:n], peer)
		if res == nil {
			if debug {
				log.Debug("stunserver: datagram dropped", "from", peer, "size", n, "reason", why)
			}
			continue
		}
		out := c
		if h.disco != nil {
			out = h.disco.conns[r.via]
		}
		if _, err := out.WriteToUDPAddrPort(res, r.to); err != nil && debug {
			log.Debug("stunserver: cannot send response", "to", r.to, "err", err)
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
