// SPDX-License-Identifier: MIT

// Package natdisco discovers what lies between a UDP socket and a STUN
// server: the socket's mapped (server-reflexive) address, as libnice's
// stunbdc reports it; the NAT type of the classic STUN algorithm
// (RFC 3489 §10.1); and the NAT's mapping and filtering behaviour
// (RFC 5780 §4.3, §4.4, with the terms of RFC 4787 §4.1 and §5), plus
// whether it hairpins (RFC 5780 §3.4).
//
// The NAT type and behaviour tests need a server with two IP addresses and
// two ports, such as stunserver.Server.ListenAndServeBehavior or Debian's
// stund. Against a server with one address they fail with ErrNotSupported
// (RFC 5780 §5 and §6: no OTHER-ADDRESS, and a 420 to CHANGE-REQUEST).
//
// # Sockets and goroutines
//
// Every function takes the socket to test as a Conn: *net.UDPConn, a
// gonice nice.PacketConn, or an in-memory socket such as those of
// nicetest. A call reads the socket in a goroutine of its own and waits
// on channels and timers only, so it runs under testing/synctest. Several
// transactions of one call may be outstanding at once; they are told
// apart by transaction ID, and started at most ten per second
// (RFC 5780 §5).
//
// The socket must not be read by anyone else during a call. When the call
// returns, its reading goroutine is stopped if the socket has a
// SetReadDeadline method (as *net.UDPConn has): the deadline is set in
// the past, then cleared. Otherwise the goroutine stays blocked in
// ReadFromUDPAddrPort until the next datagram, which it discards, or until
// the socket is closed; give such sockets to one call and close them
// afterwards.
//
// The tests depend on the state of the NAT: RFC 3489 §10.1 and RFC 5780
// §4.1 ask for a socket that has not sent anything recently, so that no
// earlier mapping or filter entry changes the outcome. Use a fresh socket
// for each call.
//
// # Retransmissions
//
// Each test is a STUN transaction retransmitted as RFC 5389 §7.2.1
// describes: the request is sent Rc times, at 0, RTO, 3 RTO, 7 RTO... (the
// interval doubles), and the transaction fails when Rm times RTO pass
// after the last one without a response. The defaults (RTO 500 ms, Rc 3,
// Rm 4) end a test without answer after 3.5 s; RFC 5389's own defaults
// (Rc 7, Rm 16) take 39.5 s. A test without answer is how the algorithms
// detect filtering, so a run behind a port-restricted NAT takes two such
// timeouts.
//
// # Verdicts
//
// ClassicResult and BehaviorResult print (String) the verdict in the words
// of Debian's stun client (Vovida.org's STUN client 0.97) after
// "Primary: ", such as "Independent Mapping, Port Dependent Filter,
// preserves ports, no hairpin", so that the two tools can be compared.
// NATType and BehaviorType print the names of RFC 3489 and RFC 4787.
package natdisco
