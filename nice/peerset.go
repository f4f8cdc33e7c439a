// SPDX-License-Identifier: MIT

package nice

import "net/netip"

// peerSet is the set of remote addresses that may send data to a
// component, each with the counters of what it sent: made by the loop,
// immutable once published (component.peers), read by the data path for
// every datagram. A component has a handful of remote addresses, where a
// slice searched in order is as fast as a map and a quarter of its size
// (ARCHITECTURE.md, "Memory of an idle agent"); beyond peerSetSmall the
// set also has a map.
type peerSet struct {
	list []peerEntry
	m    map[netip.AddrPort]*flowCounters // only with more than peerSetSmall
}

type peerEntry struct {
	addr netip.AddrPort
	rx   *flowCounters
}

const peerSetSmall = 8

// emptyPeers is every new component's set.
var emptyPeers = &peerSet{}

// newPeerSet makes a set of list, whose addresses are distinct.
func newPeerSet(list []peerEntry) *peerSet {
	ps := &peerSet{list: list}
	if len(list) > peerSetSmall {
		ps.m = make(map[netip.AddrPort]*flowCounters, len(list))
		for _, e := range list {
			ps.m[e.addr] = e.rx
		}
	}
	return ps
}

// get returns the counters of addr, and whether it is in the set.
func (ps *peerSet) get(addr netip.AddrPort) (*flowCounters, bool) {
	if ps.m != nil {
		rx, ok := ps.m[addr]
		return rx, ok
	}
	for i := range ps.list {
		if ps.list[i].addr == addr {
			return ps.list[i].rx, true
		}
	}
	return nil, false
}

// has reports whether addr is in the set.
func (ps *peerSet) has(addr netip.AddrPort) bool {
	_, ok := ps.get(addr)
	return ok
}
