// SPDX-License-Identifier: MIT

// Package nicetest is an in-memory UDP network for testing ICE agents: hosts
// with addresses on a public segment, NAT routers with the mapping and
// filtering behaviours of RFC 4787, and private segments behind them.
// A [Host] implements [nice.Net] and its sockets implement [nice.PacketConn],
// so an agent runs over it unchanged through Config.Net.
//
// # Topology
//
// [NewNetwork] creates the public segment. [Network.NewHost] attaches a host
// to it; [Network.NewNAT] attaches a NAT router by its public (external)
// address, and [NAT.NewHost] attaches hosts to the private segment behind
// it. NATs nest: [NAT.NewNAT] puts a NAT behind a NAT, as carrier-grade NAT
// does. Every segment is its own address space, so two private segments may
// reuse the same private addresses.
//
// A datagram is routed from the sender's segment: a destination address on
// that segment is reached directly; any other destination leaves through the
// segment's NAT, which rewrites the source to its mapped address
// (RFC 4787 §4.1) and routes it on the outer segment. A datagram to a NAT's
// public address is passed inwards only if a mapping for the destination
// port exists and its filtering allows the source (RFC 4787 §5). A datagram
// whose destination is on no segment, or whose port has no socket, is
// dropped silently, as UDP does. Hairpinning (RFC 4787 §6) follows from
// these rules: a host may reach another host behind the same NAT through
// that host's mapped address, and sees the external source address.
//
// # Time and goroutines
//
// The package keeps no goroutine running and blocks only on channels, so it
// fits [testing/synctest]: inside a bubble, reads are durably blocking and
// the fake clock drives delays ([Network.SetDelay]) and mapping expiry
// ([NATConfig.MappingLifetime]). With no delay a datagram is queued at the
// receiving socket before WriteToUDPAddrPort returns; with a delay, one
// [time.AfterFunc] timer per network delivers the datagrams in flight as
// they fall due, and [Network.Close] stops it and waits for its callback. A Network and all that
// is created from it must live either inside one bubble or outside every
// bubble: channels and timers created in a bubble may not be used from
// outside it.
//
// Random packet loss ([Network.SetLoss], [Host.SetLoss]) draws from a
// math/rand/v2 generator with a fixed seed ([Network.SetSeed]), so a test
// that sends the same datagrams in the same order sees the same losses.
package nicetest
