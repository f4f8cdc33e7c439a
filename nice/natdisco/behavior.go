// SPDX-License-Identifier: MIT

package natdisco

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// BehaviorType is a NAT's mapping behaviour (RFC 4787 §4.1) or filtering
// behaviour (RFC 4787 §5), as RFC 5780 §4.3 and §4.4 determine them.
type BehaviorType int

// The behaviours of RFC 4787, for both mapping and filtering.
const (
	// UnknownBehavior is the zero value: not determined.
	UnknownBehavior BehaviorType = iota
	// EndpointIndependent mapping keeps one mapped address for a socket
	// whatever the destination; EndpointIndependent filtering lets any
	// host send through the mapping. Without a NAT, mapping is
	// EndpointIndependent (RFC 5780 §4.3).
	EndpointIndependent
	// AddressDependent mapping makes one mapping per destination IP
	// address; AddressDependent filtering accepts datagrams from the IP
	// addresses the socket sent to, from any port.
	AddressDependent
	// AddressAndPortDependent mapping makes one mapping per destination
	// address and port; AddressAndPortDependent filtering accepts
	// datagrams only from the addresses and ports the socket sent to.
	AddressAndPortDependent
)

// String returns the name of the behaviour as RFC 4787 spells it, such as
// "Address and Port-Dependent".
func (b BehaviorType) String() string {
	switch b {
	case UnknownBehavior:
		return "Unknown"
	case EndpointIndependent:
		return "Endpoint-Independent"
	case AddressDependent:
		return "Address-Dependent"
	case AddressAndPortDependent:
		return "Address and Port-Dependent"
	}
	return fmt.Sprintf("BehaviorType(%d)", int(b))
}

// BehaviorResult is the outcome of Behavior.
type BehaviorResult struct {
	// Blocked reports that test I got no response: no UDP connectivity
	// with the server (RFC 5780 §4.2). Nothing else is known then.
	Blocked bool
	// Server is the server tested against.
	Server netip.AddrPort
	// Local is the socket's local address, if it tells; its IP address
	// is unspecified for a socket bound to a wildcard address.
	Local netip.AddrPort
	// Mapped is the XOR-MAPPED-ADDRESS of test I.
	Mapped netip.AddrPort
	// Origin is the RESPONSE-ORIGIN of test I (RFC 5780 §7.3); it differs
	// from Server when the server is behind a NAT itself.
	Origin netip.AddrPort
	// Other is the OTHER-ADDRESS of test I (RFC 5780 §7.4).
	Other netip.AddrPort
	// NATed reports that the mapped address is not the socket's own.
	NATed bool
	// Mapping is the mapping behaviour (RFC 5780 §4.3).
	Mapping BehaviorType
	// Filtering is the filtering behaviour (RFC 5780 §4.4). Without a
	// NAT, anything but EndpointIndependent means a firewall.
	Filtering BehaviorType
	// PreservesPort reports whether the mapped port is the socket's own.
	PreservesPort bool
	// Hairpin reports whether a request sent to the mapped address came
	// back to the socket (RFC 5780 §3.4).
	Hairpin bool
}

// NATType returns the RFC 3489 §10.1 type that the behaviours make: with a
// NAT, any mapping but EndpointIndependent is SymmetricNAT, and
// EndpointIndependent mapping is FullCone, RestrictedCone or
// PortRestrictedCone by filtering (RFC 4787 §4.1, §5); without one,
// OpenInternet or SymmetricUDPFirewall by filtering.
func (r BehaviorResult) NATType() NATType {
	switch {
	case r.Blocked:
		return UDPBlocked
	case r.Mapping == UnknownBehavior || r.Filtering == UnknownBehavior:
		return UnknownNATType
	case !r.NATed && r.Filtering == EndpointIndependent:
		return OpenInternet
	case !r.NATed:
		return SymmetricUDPFirewall
	case r.Mapping != EndpointIndependent:
		return SymmetricNAT
	case r.Filtering == EndpointIndependent:
		return FullCone
	case r.Filtering == AddressDependent:
		return RestrictedCone
	}
	return PortRestrictedCone
}

// String returns the verdict as Debian's stun client words it after
// "Primary: ", such as "Independent Mapping, Port Dependent Filter,
// preserves ports, no hairpin", "Dependent Mapping, random port, no
// hairpin", "Open" or "Firewall".
func (r BehaviorResult) String() string {
	return ClassicResult{Type: r.NATType(), PreservesPort: r.PreservesPort, Hairpin: r.Hairpin}.String()
}

// Behavior determines the NAT mapping and filtering behaviour between conn
// and server with the default settings; see Client.Behavior.
func Behavior(ctx context.Context, conn Conn, server netip.AddrPort) (BehaviorResult, error) {
	return new(Client).Behavior(ctx, conn, server)
}

// Behavior determines the NAT mapping and filtering behaviour between conn
// and server, which must support NAT behaviour discovery (RFC 5780 §6):
//
//   - Test I, a Binding request to server (RFC 5780 §4.2): no response
//     means no UDP connectivity, reported as Blocked; otherwise the
//     response gives the mapped address and the server's other address
//     and port (OTHER-ADDRESS).
//   - Filtering (RFC 5780 §4.4), first, since its tests are the ones
//     sensitive to earlier traffic: test II asks the server to answer
//     from its other address and port (CHANGE-REQUEST "change IP" and
//     "change port"), test III from its other port only. A response to
//     test II means EndpointIndependent filtering; else one to test III
//     AddressDependent; else AddressAndPortDependent. The two run in
//     parallel (RFC 5780 §4.5).
//   - Mapping (RFC 5780 §4.3), if the mapped address is not the socket's
//     own: test II goes to the other IP address and the primary port,
//     and the same mapped address as test I means EndpointIndependent;
//     else test III goes to the other address and port, and the same
//     mapped address as test II means AddressDependent, another one
//     AddressAndPortDependent.
//
// Meanwhile a request sent to the mapped address tells whether the NAT
// hairpins (RFC 5780 §3.4).
//
// Blocked is a verdict, not an error. Errors: ErrNotSupported when the
// server gives no usable OTHER-ADDRESS or refuses CHANGE-REQUEST, an error
// wrapping ErrNoResponse if the other address does not answer a mapping
// test, a *ResponseError for another error response, ErrBadResponse,
// ctx.Err() or a socket error. The result holds what was learnt before
// the error.
func (c *Client) Behavior(ctx context.Context, conn Conn, server netip.AddrPort) (BehaviorResult, error) {
	server = unmap(server)
	s := c.start(conn)
	defer s.close()
	r := BehaviorResult{Server: server}
	r.Local, _ = s.local()

	t1, err := s.binding(ctx, server, 0)
	if errors.Is(err, ErrNoResponse) {
		r.Blocked = true
		return r, nil
	}
	if err != nil {
		return r, err
	}
	r.Mapped, r.Origin, r.Other = t1.mapped, t1.origin, t1.other
	r.NATed, r.PreservesPort = !s.own(t1.mapped), s.preservesPort(t1.mapped)
	if err := checkOther(server, t1); err != nil {
		return r, err
	}
	hairpin := s.startHairpin(ctx, t1.mapped)
	r.Filtering, err = s.filtering(ctx, server)
	if err == nil {
		r.Mapping, err = s.mapping(ctx, server, t1, r.NATed)
	}
	r.Hairpin = <-hairpin
	return r, err
}

// filtering runs tests II and III of RFC 5780 §4.4 in parallel.
func (s *session) filtering(ctx context.Context, server netip.AddrPort) (BehaviorType, error) {
	type outcome struct {
		got bool
		err error
	}
	third := make(chan outcome, 1)
	go func() { // test III beside test II, until it answers or ctx ends
		got, err := s.changeTest(ctx, server, flagChangePort)
		third <- outcome{got, err}
	}()
	got2, err2 := s.changeTest(ctx, server, flagChangeIP|flagChangePort)
	t3 := <-third
	switch {
	case err2 != nil:
		return UnknownBehavior, err2
	case got2:
		return EndpointIndependent, nil
	case t3.err != nil:
		return UnknownBehavior, t3.err
	case t3.got:
		return AddressDependent, nil
	}
	return AddressAndPortDependent, nil
}

// mapping runs tests II and III of RFC 5780 §4.3 after test I, whose
// response was t1.
func (s *session) mapping(ctx context.Context, server netip.AddrPort, t1 reply, natted bool) (BehaviorType, error) {
	if !natted {
		return EndpointIndependent, nil
	}
	alt := netip.AddrPortFrom(t1.other.Addr(), server.Port())
	t2, err := s.binding(ctx, alt, 0)
	if err != nil {
		return UnknownBehavior, fmt.Errorf("natdisco: mapping test II at %v: %w", alt, err)
	}
	if t2.mapped == t1.mapped {
		return EndpointIndependent, nil
	}
	t3, err := s.binding(ctx, t1.other, 0)
	if err != nil {
		return UnknownBehavior, fmt.Errorf("natdisco: mapping test III at %v: %w", t1.other, err)
	}
	if t3.mapped == t2.mapped {
		return AddressDependent, nil
	}
	return AddressAndPortDependent, nil
}
