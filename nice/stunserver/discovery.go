// SPDX-License-Identifier: MIT

package stunserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// Attributes of RFC 3489 that pion/stun v0.6.1 does not name.
const (
	// attrResponseAddress is RESPONSE-ADDRESS (RFC 3489 §11.2.2): where
	// the client wants the response sent.
	attrResponseAddress stun.AttrType = 0x0002
	// attrReflectedFrom is REFLECTED-FROM (RFC 3489 §11.2.11): the source
	// of a request whose response went to its RESPONSE-ADDRESS.
	attrReflectedFrom stun.AttrType = 0x000B
)

// The flags of CHANGE-REQUEST (RFC 5780 §7.2, RFC 3489 §11.2.4), in the
// last byte of its 32-bit value.
const (
	flagChangeIP   = 0x04 // A: answer from the other IP address
	flagChangePort = 0x02 // B: answer from the other port
)

// Indexes of the four sockets of a behaviour discovery server in
// discovery.addrs and discovery.conns. Bit 1 selects the alternate IP
// address and bit 0 the alternate port, so that "change IP" is index^2,
// "change port" index^1 and the other address and port of RFC 5780 §6.1
// Table 1 (Ca:Cp) index^3.
const (
	sockA1P1 = iota
	sockA1P2
	sockA2P1
	sockA2P2
	numSockets
)

// sockNames are the names of the sockets in RFC 3489 §8.1 notation, for
// logging.
var sockNames = [numSockets]string{"A1:P1", "A1:P2", "A2:P1", "A2:P2"}

// maxPadding bounds the PADDING of a response, so that the response fits
// in one UDP datagram whatever else it carries (RFC 5780 §7.6 allows at
// most what brings the IP datagram to 64 KiB).
const maxPadding = 64000

// Reason phrases of the 400 responses to malformed behaviour discovery
// attributes (RFC 5389 §15.6).
const (
	reasonBadAttribute = "Bad Request: malformed attribute"
	reasonPortAndPad   = "Bad Request: RESPONSE-PORT with PADDING"
)

// discovery is what the four sockets of a behaviour discovery server share.
// It is not modified once serving starts.
type discovery struct {
	addrs           [numSockets]netip.AddrPort
	conns           [numSockets]PacketConn
	responseAddress bool // honour RESPONSE-ADDRESS (RFC 3489 §8.1)
}

// knownAttribute reports whether the comprehension-required attribute t of
// a Binding request is understood by a behaviour discovery server, beyond
// the RFC 5389 ones of the package-level knownAttribute. d may be nil (a
// plain server), which understands none of them.
//
// CHANGE-REQUEST is understood from every client (RFC 5780 §7.2,
// RFC 3489 §11.2.4). RESPONSE-PORT and PADDING are RFC 5780 attributes and
// understood only in RFC 5389 requests (RFC 5780 §7.5, §7.6);
// RESPONSE-ADDRESS is an RFC 3489 attribute and understood only in RFC 3489
// requests, and only when enabled (BehaviorConfig.ResponseAddress).
// Anything else gets a 420, as RFC 5389 §12.2 says RFC 3489 attributes
// do.
func (d *discovery) knownAttribute(t stun.AttrType, classic bool) bool {
	if d == nil {
		return false
	}
	switch t {
	case stun.AttrChangeRequest:
		return true
	case attrResponseAddress:
		return classic && d.responseAddress
	case stun.AttrResponsePort, stun.AttrPadding:
		return !classic
	}
	return false
}

// discoveryResponse answers the Binding request in h.req from peer on a
// behaviour discovery server.
//
// The response is sent from the socket RFC 5780 §6.1 Table 1 (the same as
// RFC 3489 §8.1 Table 1) selects: the one that received the request, with
// the other IP address if CHANGE-REQUEST has the "change IP" flag and the
// other port if it has the "change port" flag. It goes to peer, to the
// port in RESPONSE-PORT (RFC 5780 §7.5), or, for an RFC 3489 client when
// enabled, to the address in RESPONSE-ADDRESS (RFC 3489 §8.1).
//
// An RFC 5389 client gets XOR-MAPPED-ADDRESS and MAPPED-ADDRESS (both
// required by RFC 5780 §6.1), RESPONSE-ORIGIN (the sending socket) and
// OTHER-ADDRESS (the socket with the other IP address and the other port,
// whatever the flags), plus PADDING if the request had some. An RFC 3489
// client gets MAPPED-ADDRESS, SOURCE-ADDRESS and CHANGED-ADDRESS, which
// carry the same information (RFC 3489 §8.1), plus REFLECTED-FROM when its
// RESPONSE-ADDRESS was honoured.
//
// A CHANGE-REQUEST or RESPONSE-PORT whose value is not 4 bytes long, a
// RESPONSE-PORT of 0, a RESPONSE-ADDRESS that is malformed, of the wrong
// family or not a unicast address, and a request with both RESPONSE-PORT
// and PADDING (RFC 5780 §6.1) get a 400 from the receiving socket.
func (h *handler) discoveryResponse(classic, fingerprint bool, peer netip.AddrPort) ([]byte, route, error) {
	d := h.disco
	req := &h.req
	back := route{to: peer, via: h.self}
	out := route{to: peer, via: h.self}
	bad := func(reason string) ([]byte, route, error) {
		return h.errorResponse(codeBadRequest, reason, classic, fingerprint), back, nil
	}

	// Only the first occurrence of an attribute counts (RFC 5389 §15).
	if v, err := req.Get(stun.AttrChangeRequest); err == nil {
		if len(v) != 4 {
			return bad(reasonBadAttribute)
		}
		if v[3]&flagChangeIP != 0 {
			out.via ^= 2
		}
		if v[3]&flagChangePort != 0 {
			out.via ^= 1
		}
	}
	reflected := false
	padding := -1
	if classic {
		if v, err := req.Get(attrResponseAddress); err == nil {
			to, ok := responseAddress(v, d.addrs[h.self].Addr())
			if !ok {
				return bad(reasonBadAttribute)
			}
			out.to = to
			reflected = true
		}
	} else {
		v, err := req.Get(stun.AttrResponsePort)
		hasPort := err == nil
		if hasPort {
			if len(v) != 4 || binary.BigEndian.Uint16(v) == 0 {
				return bad(reasonBadAttribute)
			}
			out.to = netip.AddrPortFrom(peer.Addr(), binary.BigEndian.Uint16(v))
		}
		if v, err := req.Get(stun.AttrPadding); err == nil {
			if hasPort {
				return bad(reasonPortAndPad)
			}
			padding = min((len(v)+3)&^3, maxPadding)
		}
	}

	h.begin(stun.ClassSuccessResponse)
	r := &h.res
	origin, other := d.addrs[out.via], d.addrs[h.self^3]
	if classic {
		if stunx.MappedAddress(peer).AddTo(r) != nil {
			return nil, back, errNoPeerAddress
		}
		addAddress(r, stun.AttrSourceAddress, origin)
		addAddress(r, stun.AttrChangedAddress, other)
		if reflected {
			addAddress(r, attrReflectedFrom, peer)
		}
	} else {
		if stunx.XORMappedAddress(peer).AddTo(r) != nil {
			return nil, back, errNoPeerAddress
		}
		_ = stunx.MappedAddress(peer).AddTo(r) // the same address: cannot fail
		addAddress(r, stun.AttrResponseOrigin, origin)
		addAddress(r, stun.AttrOtherAddress, other)
		if padding >= 0 {
			addPadding(r, padding)
		}
	}
	return h.finish(classic, fingerprint), out, nil
}

// responseAddress decodes the value v of a RESPONSE-ADDRESS attribute
// (RFC 3489 §11.2.2, the format of MAPPED-ADDRESS) and checks that the
// server can send there from a socket bound to local: the same address
// family, a unicast address and a port other than 0.
func responseAddress(v []byte, local netip.Addr) (netip.AddrPort, bool) {
	var ip netip.Addr
	switch {
	case len(v) == 8 && v[1] == 0x01:
		ip = netip.AddrFrom4([4]byte(v[4:8]))
	case len(v) == 20 && v[1] == 0x02:
		ip = netip.AddrFrom16([16]byte(v[4:20]))
	default:
		return netip.AddrPort{}, false
	}
	port := binary.BigEndian.Uint16(v[2:4])
	ip = ip.Unmap()
	if port == 0 || ip.Is4() != local.Unmap().Is4() || ip.IsUnspecified() ||
		ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, port), true
}

// addAddress appends to m an attribute of type t in the format of
// MAPPED-ADDRESS (RFC 5389 §15.1) holding ap, which must be valid: the
// format of SOURCE-ADDRESS and CHANGED-ADDRESS (RFC 3489 §11.2.5,
// §11.2.3), RESPONSE-ORIGIN and OTHER-ADDRESS (RFC 5780 §7.1) and
// REFLECTED-FROM (RFC 3489 §11.2.11). An IPv4-mapped IPv6 address is
// encoded as IPv4.
func addAddress(m *stun.Message, t stun.AttrType, ap netip.AddrPort) {
	var v [20]byte
	binary.BigEndian.PutUint16(v[2:4], ap.Port())
	ip := ap.Addr().Unmap()
	n := 20
	if ip.Is4() {
		v[1] = 0x01
		a := ip.As4()
		copy(v[4:], a[:])
		n = 8
	} else {
		v[1] = 0x02
		a := ip.As16()
		copy(v[4:], a[:])
	}
	m.Add(t, v[:n])
}

// addPadding appends a PADDING attribute (RFC 5780 §7.6) of n zero bytes
// to m.
func addPadding(m *stun.Message, n int) {
	// Grow m.Raw by hand: m.Add copies the value, and a zero-filled value
	// of n bytes would have to be allocated first.
	start := len(m.Raw)
	m.Raw = slices.Grow(m.Raw, 4+n)[:start+4+n]
	clear(m.Raw[start+4:])
	binary.BigEndian.PutUint16(m.Raw[start:], uint16(stun.AttrPadding))
	binary.BigEndian.PutUint16(m.Raw[start+2:], uint16(n))
	m.Attributes = append(m.Attributes, stun.RawAttribute{
		Type: stun.AttrPadding, Length: uint16(n), Value: m.Raw[start+4 : start+4+n],
	})
	m.Length += uint32(4 + n)
	m.WriteLength()
}

// BehaviorConfig describes a server for NAT behaviour discovery
// (RFC 5780, and the classic STUN of RFC 3489): two IP addresses A1 and A2
// of the same family and two ports P1 and P2, served on the four
// combinations (RFC 3489 §8.1, RFC 5780 §6).
type BehaviorConfig struct {
	// Primary is A1, the address clients are given. It must be a
	// specific address (not 0.0.0.0 or ::): it is reported in
	// RESPONSE-ORIGIN and SOURCE-ADDRESS.
	Primary netip.Addr
	// Alternate is A2, reported in OTHER-ADDRESS and CHANGED-ADDRESS: a
	// specific address of the same family as Primary, and another one.
	// Clients behind a NAT must see it as another host, so it must not
	// be an alias that a NAT could treat as Primary.
	Alternate netip.Addr
	// Port is P1, usually 3478. 0 picks a port that is free on both
	// addresses.
	Port uint16
	// AltPort is P2, another port than Port. 0 picks a port that is free
	// on both addresses.
	AltPort uint16
	// Listen opens a UDP socket bound to the given address and port. Nil
	// opens operating system sockets with net.ListenUDP. Any in-memory
	// network works, such as a nicetest.Host:
	//
	//	Listen: func(a netip.AddrPort) (stunserver.PacketConn, error) { return host.ListenUDP(a) }
	//
	// To pick a port (Port or AltPort 0), Listen is called with port 0
	// and the socket must report the port it got, with a
	// LocalAddrPort() netip.AddrPort or LocalAddr() net.Addr method.
	Listen func(netip.AddrPort) (PacketConn, error)
	// ResponseAddress, if set, makes the server honour the
	// RESPONSE-ADDRESS attribute of RFC 3489 requests: the response goes
	// to the address it names, from the socket CHANGE-REQUEST selects,
	// with a REFLECTED-FROM attribute naming the real source
	// (RFC 3489 §8.1). This is off by default, and requests carrying
	// RESPONSE-ADDRESS then get a 420 as RFC 5389 §12.2 describes:
	// without authentication it lets anyone make the server send
	// datagrams to any host, a reflector for denial-of-service attacks
	// that REFLECTED-FROM only makes traceable (RFC 3489 §11.2.11,
	// §12.1). Do not enable it on a server reachable from the Internet.
	// No RFC 5780 test needs it; RESPONSE-PORT (RFC 5780 §7.5), which
	// can only name another port of the requester's own address, is
	// always supported.
	ResponseAddress bool
}

// BehaviorAddrs are the four transport addresses a behaviour discovery
// server answers on, named as in RFC 3489 §8.1 and RFC 5780 §6.1.
type BehaviorAddrs struct {
	// A1P1 is the primary address and port: the one clients are given
	// and send their first test to.
	A1P1 netip.AddrPort
	// A1P2 answers "change port" requests sent to A1P1.
	A1P2 netip.AddrPort
	// A2P1 answers "change IP" requests sent to A1P1, and is where the
	// RFC 5780 §4.3 mapping test II goes.
	A2P1 netip.AddrPort
	// A2P2 answers requests sent to A1P1 with both flags; it is the
	// OTHER-ADDRESS and CHANGED-ADDRESS of a response from A1P1.
	A2P2 netip.AddrPort
}

// ErrNoAlternate is returned by ListenAndServeBehavior when the
// configuration cannot provide two addresses and two ports, which RFC 5780
// §6 requires of a server that reports OTHER-ADDRESS and honours
// CHANGE-REQUEST.
var ErrNoAlternate = errors.New("stunserver: behaviour discovery needs two different specific IP addresses of one family and two different ports (RFC 5780 §6)")

// maxPortTries bounds the attempts to find a port free on both addresses.
const maxPortTries = 16

// ListenAndServeBehavior opens the four sockets of cfg and serves NAT
// behaviour discovery on them in new goroutines until Close: RFC 5780 for
// clients that send the magic cookie, RFC 3489 for the others (such as
// Debian's stun client). It returns the four bound transport addresses.
//
// Each socket answers as RFC 5780 §6.1 and RFC 3489 §8.1 describe (see
// the package documentation). Close closes the four sockets. If opening a socket fails, the
// ones already open are closed and the error returned; ErrNoAlternate
// reports an unusable configuration and ErrServerClosed a closed Server.
func (s *Server) ListenAndServeBehavior(cfg BehaviorConfig) (BehaviorAddrs, error) {
	if err := s.validate(); err != nil {
		return BehaviorAddrs{}, err
	}
	a1, a2 := cfg.Primary.Unmap().WithZone(""), cfg.Alternate.Unmap().WithZone("")
	if !a1.IsValid() || !a2.IsValid() || a1.IsUnspecified() || a2.IsUnspecified() ||
		a1.Is4() != a2.Is4() || a1 == a2 || (cfg.Port != 0 && cfg.Port == cfg.AltPort) {
		return BehaviorAddrs{}, ErrNoAlternate
	}
	listen := cfg.Listen
	if listen == nil {
		listen = listenUDP
	}
	d := &discovery{responseAddress: cfg.ResponseAddress}
	closeAll := func() {
		for _, c := range d.conns {
			if c != nil {
				c.Close()
			}
		}
	}
	for i, port := range [2]uint16{cfg.Port, cfg.AltPort} {
		// Socket i is A1 with port i, socket i|2 the same port on A2.
		c1, c2, p, err := listenPair(listen, a1, a2, port)
		if err != nil {
			closeAll()
			return BehaviorAddrs{}, err
		}
		d.conns[i], d.conns[i|2] = c1, c2
		d.addrs[i], d.addrs[i|2] = netip.AddrPortFrom(a1, p), netip.AddrPortFrom(a2, p)
	}
	var ids [numSockets]uint64
	for i, c := range d.conns {
		id, ok := s.track(c)
		if !ok {
			for _, id := range ids[:i] {
				s.untrack(id)
			}
			closeAll()
			return BehaviorAddrs{}, ErrServerClosed
		}
		ids[i] = id
	}
	log := s.logger()
	log.Info("stunserver: NAT behaviour discovery", "A1:P1", d.addrs[sockA1P1], "A1:P2", d.addrs[sockA1P2],
		"A2:P1", d.addrs[sockA2P1], "A2:P2", d.addrs[sockA2P2], "response-address", cfg.ResponseAddress)
	for i, c := range d.conns {
		h := newDiscoveryHandler(s.Software, d, i)
		go func() { // one socket's server loop, until Close closes the socket
			if err := s.serve(ids[i], c, h); err != nil {
				log.Error("stunserver: serve failed", "socket", sockNames[i], "addr", d.addrs[i], "err", err)
			}
		}()
	}
	return BehaviorAddrs{
		A1P1: d.addrs[sockA1P1], A1P2: d.addrs[sockA1P2],
		A2P1: d.addrs[sockA2P1], A2P2: d.addrs[sockA2P2],
	}, nil
}

// listenPair opens sockets on a1 and a2 with the same port. With port 0,
// the first socket gets a free port and the second one is bound to it;
// if that port is taken on a2, both are closed and another one is tried.
func listenPair(listen func(netip.AddrPort) (PacketConn, error), a1, a2 netip.Addr, port uint16) (c1, c2 PacketConn, p uint16, err error) {
	for range maxPortTries {
		c1, err = listen(netip.AddrPortFrom(a1, port))
		if err != nil {
			return nil, nil, 0, err
		}
		p = port
		if p == 0 {
			bound, ok := boundAddr(c1)
			if !ok || bound.Port() == 0 {
				c1.Close()
				return nil, nil, 0, fmt.Errorf("stunserver: the socket bound to %v does not report its port", netip.AddrPortFrom(a1, 0))
			}
			p = bound.Port()
		}
		c2, err = listen(netip.AddrPortFrom(a2, p))
		if err == nil {
			return c1, c2, p, nil
		}
		c1.Close()
		if port != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, 0, err
		}
	}
	return nil, nil, 0, fmt.Errorf("stunserver: no port free on both %v and %v after %d tries: %w", a1, a2, maxPortTries, err)
}

// listenUDP opens an operating system UDP socket bound to a.
func listenUDP(a netip.AddrPort) (PacketConn, error) {
	network := "udp4"
	if !a.Addr().Is4() {
		network = "udp6"
	}
	return net.ListenUDP(network, net.UDPAddrFromAddrPort(a))
}

// boundAddr returns the local address of c, if c can tell.
func boundAddr(c PacketConn) (netip.AddrPort, bool) {
	switch c := c.(type) {
	case interface{ LocalAddrPort() netip.AddrPort }:
		return c.LocalAddrPort(), true
	case interface{ LocalAddr() net.Addr }:
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
			return a.AddrPort(), true
		}
	}
	return netip.AddrPort{}, false
}
