// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"testing"
)

// TestFindRemoteAdoptsZone: a link-local candidate from SDP (no zone)
// matches the first packet from it, which has a zone, and keeps that zone.
func TestFindRemoteAdoptsZone(t *testing.T) {
	t.Parallel()
	s := &stream{id: 1}
	c := newComponent(s, 1)
	bare := netip.MustParseAddrPort("[fe80::1]:5000")
	c.remote = []*Candidate{{Type: CandidateTypeHost, Addr: bare, Priority: 1}}
	c.updatePeers()
	if r := c.findRemote(netip.MustParseAddrPort("[fe80::2%eth0]:5000")); r != nil {
		t.Fatalf("findRemote matched another address: %v", r)
	}
	from := netip.MustParseAddrPort("[fe80::1%eth0]:5000")
	r := c.findRemote(from)
	if r == nil || r.Addr != from {
		t.Fatalf("findRemote(%v) = %v, want the candidate with the zone adopted", from, r)
	}
	if !c.peers.Load().has(from) {
		t.Errorf("data from %v would be dropped: peers not updated", from)
	}
	if r2 := c.findRemote(from); r2 != r {
		t.Errorf("second lookup = %v, want the same candidate", r2)
	}
}
