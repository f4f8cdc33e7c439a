// SPDX-License-Identifier: MIT

package natdisco_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gonice/gonice/nice/natdisco"
	"github.com/gonice/gonice/nice/nicetest"
	"github.com/gonice/gonice/nice/stunserver"
)

// A host behind a full-cone NAT asks a behaviour discovery server on two
// public addresses, all on an in-memory network.
func ExampleBehavior() {
	n := nicetest.NewNetwork()
	defer n.Close()
	serverHost := n.NewHost(netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2"))
	srv := new(stunserver.Server)
	defer srv.Close()
	addrs, err := srv.ListenAndServeBehavior(stunserver.BehaviorConfig{
		Primary:   netip.MustParseAddr("198.51.100.1"),
		Alternate: netip.MustParseAddr("198.51.100.2"),
		Port:      3478,
		AltPort:   3479,
		Listen:    func(a netip.AddrPort) (stunserver.PacketConn, error) { return serverHost.ListenUDP(a) },
	})
	if err != nil {
		panic(err)
	}

	nat := n.NewNAT(nicetest.FullCone, netip.MustParseAddr("203.0.113.1"))
	host := nat.NewHost(netip.MustParseAddr("10.0.0.2"))
	conn, err := host.ListenUDP(netip.MustParseAddrPort("10.0.0.2:0"))
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	r, err := natdisco.Behavior(context.Background(), conn, addrs.A1P1)
	if err != nil {
		panic(err)
	}
	fmt.Println("mapped:", r.Mapped)
	fmt.Println("mapping:", r.Mapping)
	fmt.Println("filtering:", r.Filtering)
	fmt.Println("RFC 3489:", r.NATType())
	fmt.Println("Primary:", r)
	// Output:
	// mapped: 203.0.113.1:20000
	// mapping: Endpoint-Independent
	// filtering: Endpoint-Independent
	// RFC 3489: Full Cone
	// Primary: Independent Mapping, Independent Filter, random port, will hairpin
}
