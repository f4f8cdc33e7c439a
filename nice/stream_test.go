// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"testing"
	"time"
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
	if _, ok := (*c.peers.Load())[from]; !ok {
		t.Errorf("data from %v would be dropped: peers not updated", from)
	}
	if r2 := c.findRemote(from); r2 != r {
		t.Errorf("second lookup = %v, want the same candidate", r2)
	}
}

// TestNextKeepaliveAt: consent checks stay within RFC 7675's 0.8–1.2 ×
// interval and land on the process-wide slack grid, so that many agents'
// checks fire together; keepalives (consent off) every 25 s on the grid.
func TestNextKeepaliveAt(t *testing.T) {
	for _, off := range []bool{false, true} {
		a := newAgent(Config{DisableConsentFreshness: off}.withDefaults(), netip.AddrPort{})
		lo, hi := a.cfg.ConsentInterval*4/5, a.cfg.ConsentInterval*6/5
		if off {
			lo, hi = a.cfg.KeepaliveInterval, a.cfg.KeepaliveInterval+keepaliveSlack
		}
		start := time.Now()
		for i := range 2000 {
			now := start.Add(time.Duration(i) * 7919 * time.Microsecond)
			at := a.nextKeepaliveAt(now)
			if d := at.Sub(now); d < lo || d > hi {
				t.Fatalf("consent off %v: next check %v after now, want %v-%v", off, d, lo, hi)
			}
			if at.UnixNano()%int64(keepaliveSlack) != 0 {
				t.Fatalf("consent off %v: deadline %v is not on the %v grid", off, at, keepaliveSlack)
			}
		}
	}
}
