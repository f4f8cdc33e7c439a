// SPDX-License-Identifier: MIT

package natdisco

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// NATType is one of the outcomes of the classic STUN discovery process
// (RFC 3489 §10.1).
type NATType int

// The outcomes of RFC 3489 §10.1, from the least to the most restrictive
// among the NATs (RFC 3489 §5).
const (
	// UnknownNATType is the zero value: no verdict.
	UnknownNATType NATType = iota
	// UDPBlocked: test I got no response, so the socket cannot reach
	// the server over UDP.
	UDPBlocked
	// OpenInternet: no NAT, and test II (another address and port)
	// answered, so nothing filters.
	OpenInternet
	// SymmetricUDPFirewall: no NAT, but only the address contacted may
	// answer.
	SymmetricUDPFirewall
	// FullCone: a NAT through which test II answered: one mapping per
	// socket, open to anyone (RFC 3489 §5).
	FullCone
	// RestrictedCone: one mapping per socket, open to the IP addresses
	// the socket sent to; test III (another port) answered.
	RestrictedCone
	// PortRestrictedCone: one mapping per socket, open only to the
	// addresses and ports the socket sent to.
	PortRestrictedCone
	// SymmetricNAT: a new mapping for each destination, so test I at
	// CHANGED-ADDRESS reported another mapped address.
	SymmetricNAT
)

// String returns the name RFC 3489 §10.1 uses, such as "Port Restricted
// Cone".
func (t NATType) String() string {
	switch t {
	case UDPBlocked:
		return "UDP Blocked"
	case OpenInternet:
		return "Open Internet"
	case SymmetricUDPFirewall:
		return "Symmetric UDP Firewall"
	case FullCone:
		return "Full Cone"
	case RestrictedCone:
		return "Restricted Cone"
	case PortRestrictedCone:
		return "Port Restricted Cone"
	case SymmetricNAT:
		return "Symmetric NAT"
	case UnknownNATType:
		return "Unknown"
	}
	return fmt.Sprintf("NATType(%d)", int(t))
}

// ClassicResult is the outcome of ClassicNATType.
type ClassicResult struct {
	// Type is the verdict of RFC 3489 §10.1.
	Type NATType
	// Server is the server tested against.
	Server netip.AddrPort
	// Local is the socket's local address, if it tells; its IP address
	// is unspecified for a socket bound to a wildcard address.
	Local netip.AddrPort
	// Mapped is the mapped address of test I; zero if UDP is blocked.
	Mapped netip.AddrPort
	// Changed is the CHANGED-ADDRESS (or OTHER-ADDRESS) of test I: the
	// server's other IP address and port.
	Changed netip.AddrPort
	// PreservesPort reports whether the mapped port is the socket's own.
	PreservesPort bool
	// Hairpin reports whether a request sent to the mapped address came
	// back to the socket (RFC 5780 §3.4), as Debian's stun client checks.
	Hairpin bool
}

// String returns the verdict as Debian's stun client words it after
// "Primary: ", such as "Independent Mapping, Address Dependent Filter,
// preserves ports, no hairpin", "Open" or "Firewall".
func (r ClassicResult) String() string {
	switch r.Type {
	case UDPBlocked:
		return verdictBlocked
	case OpenInternet:
		return verdictOpen
	case SymmetricUDPFirewall:
		return verdictFirewall
	case FullCone:
		return natVerdict(verdictEIMEIF, r.PreservesPort, r.Hairpin)
	case RestrictedCone:
		return natVerdict(verdictEIMADF, r.PreservesPort, r.Hairpin)
	case PortRestrictedCone:
		return natVerdict(verdictEIMAPDF, r.PreservesPort, r.Hairpin)
	case SymmetricNAT:
		return natVerdict(verdictDM, r.PreservesPort, r.Hairpin)
	}
	return verdictUnknown
}

// The words of Debian's stun client (Vovida.org STUN client 0.97,
// client.cxx) for its verdicts.
const (
	verdictBlocked  = "Blocked or could not reach STUN server"
	verdictOpen     = "Open"
	verdictFirewall = "Firewall"
	verdictEIMEIF   = "Independent Mapping, Independent Filter"
	verdictEIMADF   = "Independent Mapping, Address Dependent Filter"
	verdictEIMAPDF  = "Independent Mapping, Port Dependent Filter"
	verdictDM       = "Dependent Mapping"
	verdictUnknown  = "Unknown NAT type"
)

// natVerdict completes the verdict for a NAT as Debian's stun client does.
func natVerdict(kind string, preservesPort, hairpin bool) string {
	if preservesPort {
		kind += ", preserves ports"
	} else {
		kind += ", random port"
	}
	if hairpin {
		return kind + ", will hairpin"
	}
	return kind + ", no hairpin"
}

// ClassicNATType runs the discovery process of RFC 3489 §10.1 from conn
// against server with the default settings; see Client.ClassicNATType.
func ClassicNATType(ctx context.Context, conn Conn, server netip.AddrPort) (ClassicResult, error) {
	return new(Client).ClassicNATType(ctx, conn, server)
}

// ClassicNATType runs the discovery process of RFC 3489 §10.1 from conn
// against server, which must have a second IP address and port:
//
//   - Test I, a Binding request: no response means UDPBlocked.
//     Otherwise the mapped address is compared with the socket's own
//     address, and the response tells the server's other address
//     (CHANGED-ADDRESS, or OTHER-ADDRESS from an RFC 5780 server).
//   - Test II, with CHANGE-REQUEST "change IP" and "change port": without
//     a NAT, a response means OpenInternet and none SymmetricUDPFirewall;
//     behind a NAT, a response means FullCone.
//   - Test I again, to the other address and port: another mapped
//     address means SymmetricNAT.
//   - Test III, with "change port" only: a response means RestrictedCone,
//     none PortRestrictedCone.
//
// Meanwhile a request sent to the mapped address tells whether the NAT
// hairpins, as Debian's stun client checks. The requests are RFC 5389
// ones with the magic cookie; RFC 3489 servers echo it in their
// transaction ID.
//
// UDP blocked is a verdict, not an error. Errors: ErrNotSupported when the
// server has no usable alternate address or refuses CHANGE-REQUEST, an
// error wrapping ErrNoResponse if the other address does not answer test
// I, a *ResponseError for another error response, ErrBadResponse,
// ctx.Err() or a socket error. The result holds what was learnt before
// the error.
func (c *Client) ClassicNATType(ctx context.Context, conn Conn, server netip.AddrPort) (ClassicResult, error) {
	server = unmap(server)
	s := c.start(conn)
	defer s.close()
	r := ClassicResult{Server: server}
	r.Local, _ = s.local()

	t1, err := s.binding(ctx, server, 0)
	if errors.Is(err, ErrNoResponse) {
		r.Type = UDPBlocked
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.Mapped, r.Changed, r.PreservesPort = t1.mapped, t1.other, s.preservesPort(t1.mapped)
	if err := checkOther(server, t1); err != nil {
		return r, err
	}
	hairpin := s.startHairpin(ctx, t1.mapped)
	typ, err := s.classify(ctx, server, t1)
	r.Hairpin = <-hairpin
	if err != nil {
		return r, err
	}
	r.Type = typ
	return r, nil
}

// classify runs tests II, I at CHANGED-ADDRESS and III of RFC 3489 §10.1
// after test I, whose response was t1.
func (s *session) classify(ctx context.Context, server netip.AddrPort, t1 reply) (NATType, error) {
	natted := !s.own(t1.mapped)
	got2, err := s.changeTest(ctx, server, flagChangeIP|flagChangePort)
	switch {
	case err != nil:
		return UnknownNATType, err
	case !natted && got2:
		return OpenInternet, nil
	case !natted:
		return SymmetricUDPFirewall, nil
	case got2:
		return FullCone, nil
	}
	t1b, err := s.binding(ctx, t1.other, 0)
	if err != nil {
		return UnknownNATType, fmt.Errorf("natdisco: test I at the CHANGED-ADDRESS %v: %w", t1.other, err)
	}
	if t1b.mapped != t1.mapped {
		return SymmetricNAT, nil
	}
	got3, err := s.changeTest(ctx, server, flagChangePort)
	switch {
	case err != nil:
		return UnknownNATType, err
	case got3:
		return RestrictedCone, nil
	}
	return PortRestrictedCone, nil
}

// changeTest sends server a Binding request with CHANGE-REQUEST flags and
// reports whether a response came back. A 420 or a response from server
// itself means that the server does not honour CHANGE-REQUEST.
func (s *session) changeTest(ctx context.Context, server netip.AddrPort, flags byte) (bool, error) {
	r, err := s.binding(ctx, server, flags)
	var re *ResponseError
	switch {
	case errors.Is(err, ErrNoResponse):
		return false, nil
	case errors.As(err, &re) && re.Code == codeUnknownAttribute:
		return false, fmt.Errorf("%w: %v answered CHANGE-REQUEST with %d %q (RFC 5780 §5)", ErrNotSupported, server, re.Code, re.Reason)
	case err != nil:
		return false, err
	case r.from == server:
		return false, fmt.Errorf("%w: %v ignored CHANGE-REQUEST and answered from its own address", ErrNotSupported, server)
	}
	return true, nil
}

// checkOther checks that the response t1 of test I names an alternate
// address and port usable for the tests: another IP address of the
// server's family, and another port (RFC 5780 §4.3, §6).
func checkOther(server netip.AddrPort, t1 reply) error {
	o := t1.other
	switch {
	case !o.IsValid():
		return fmt.Errorf("%w: the response of %v has no OTHER-ADDRESS or CHANGED-ADDRESS (RFC 5780 §4.3)", ErrNotSupported, server)
	case o.Addr().IsUnspecified() || o.Addr().Is4() != server.Addr().Is4() ||
		o.Addr() == server.Addr() || o.Port() == server.Port() || o.Port() == 0:
		return fmt.Errorf("%w: %v reports %v as its other address, which is not another IP address and port (RFC 5780 §6)", ErrNotSupported, server, o)
	}
	return nil
}
