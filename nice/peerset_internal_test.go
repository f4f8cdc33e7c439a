// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"testing"
)

// TestPeerSet: a set answers for its addresses alone, small (searched in
// order) and large (with a map) alike, IPv6 zones told apart.
func TestPeerSet(t *testing.T) {
	for _, n := range []int{0, 1, peerSetSmall, peerSetSmall + 1, 40} {
		var list []peerEntry
		for i := range n {
			list = append(list, peerEntry{netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 5000), new(flowCounters)})
		}
		ps := newPeerSet(list)
		if (ps.m != nil) != (n > peerSetSmall) {
			t.Errorf("%d addresses: map %v", n, ps.m != nil)
		}
		for _, e := range list {
			if rx, ok := ps.get(e.addr); !ok || rx != e.rx {
				t.Errorf("%d addresses: get(%v) = %p, %v; want %p", n, e.addr, rx, ok, e.rx)
			}
		}
		for _, other := range []netip.AddrPort{
			netip.MustParseAddrPort("10.0.0.0:5001"), netip.MustParseAddrPort("10.0.1.0:5000"), {},
		} {
			if ps.has(other) {
				t.Errorf("%d addresses: has(%v)", n, other)
			}
		}
	}
	ll := netip.MustParseAddrPort("[fe80::1%eth0]:5000")
	ps := newPeerSet([]peerEntry{{ll, new(flowCounters)}})
	if !ps.has(ll) || ps.has(netip.MustParseAddrPort("[fe80::1]:5000")) || ps.has(netip.MustParseAddrPort("[fe80::1%eth1]:5000")) {
		t.Error("zones not told apart")
	}
	if allocs := testing.AllocsPerRun(100, func() { ps.get(ll) }); allocs != 0 {
		t.Errorf("get allocates %v times", allocs)
	}
}
