// SPDX-License-Identifier: MIT

package nicetest_test

import (
	"fmt"
	"net/netip"

	"github.com/gonice/gonice/nice/nicetest"
)

// This example puts a client behind a port-restricted cone NAT, lets it
// learn its server-reflexive address from a STUN-like echo server, and shows
// the NAT filtering out a datagram from an endpoint the client never
// contacted. An agent would get the Host as its Config.Net instead.
func Example() {
	n := nicetest.NewNetwork()
	defer n.Close()

	server := n.NewHost(netip.MustParseAddr("203.0.113.1"))
	stranger := n.NewHost(netip.MustParseAddr("203.0.113.2"))
	nat := n.NewNAT(nicetest.PortRestrictedCone, netip.MustParseAddr("198.51.100.1"))
	client := nat.NewHost(netip.MustParseAddr("192.168.1.2"))

	srv, _ := server.ListenUDP(netip.MustParseAddrPort("203.0.113.1:3478"))
	str, _ := stranger.ListenUDP(netip.MustParseAddrPort("203.0.113.2:3478"))
	cli, _ := client.ListenUDP(netip.AddrPortFrom(netip.IPv4Unspecified(), 0))
	fmt.Println("client bound to", cli.LocalAddrPort())

	// With no delay, a datagram is queued at the receiving socket by the
	// time the write returns, so no goroutine is needed here.
	cli.WriteToUDPAddrPort([]byte("where am I?"), srv.LocalAddrPort())
	buf := make([]byte, 1500)
	k, mapped, _ := srv.ReadFromUDPAddrPort(buf)
	fmt.Printf("server got %q from %v\n", buf[:k], mapped)

	srv.WriteToUDPAddrPort([]byte(mapped.String()), mapped)
	k, from, _ := cli.ReadFromUDPAddrPort(buf)
	fmt.Printf("client learned %s from %v\n", buf[:k], from)

	str.WriteToUDPAddrPort([]byte("hello?"), mapped)
	fmt.Println("filtered by the NAT:", n.Stats().Filtered)

	// Output:
	// client bound to 0.0.0.0:49152
	// server got "where am I?" from 198.51.100.1:20000
	// client learned 198.51.100.1:20000 from 203.0.113.1:3478
	// filtered by the NAT: 1
}
