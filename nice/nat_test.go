// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/nicetest"
	"github.com/gonice/gonice/nice/stunserver"
)

// TestNATTraversal runs two agents behind in-memory NATs with a STUN server
// on the public segment: server-reflexive candidates are gathered, and hole
// punching connects every pair of NAT types where it can work.
func TestNATTraversal(t *testing.T) {
	types := []struct {
		name string
		cfg  nicetest.NATConfig
	}{
		{"full-cone", nicetest.FullCone},
		{"restricted", nicetest.RestrictedCone},
		{"port-restricted", nicetest.PortRestrictedCone},
		{"symmetric", nicetest.Symmetric},
	}
	for _, ta := range types {
		for _, tb := range types {
			// Symmetric against port-restricted or symmetric cannot punch.
			sym := func(n string) bool { return n == "symmetric" }
			pr := func(n string) bool { return n == "port-restricted" || n == "symmetric" }
			works := !(sym(ta.name) && pr(tb.name) || sym(tb.name) && pr(ta.name))
			t.Run(ta.name+"/"+tb.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { testNATPair(t, ta.cfg, tb.cfg, works) })
			})
		}
	}
}

func testNATPair(t *testing.T, natA, natB nicetest.NATConfig, works bool) {
	n := nicetest.NewNetwork()
	defer n.Close()
	stunHost := n.NewHost(netip.MustParseAddr("203.0.113.1"))
	srvConn, err := stunHost.ListenUDP(netip.MustParseAddrPort("203.0.113.1:3478"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &stunserver.Server{}
	go srv.Serve(srvConn)
	defer srv.Close()
	ha := n.NewNAT(natA, netip.MustParseAddr("198.51.100.1")).NewHost(netip.MustParseAddr("192.168.1.2"))
	hb := n.NewNAT(natB, netip.MustParseAddr("198.51.100.2")).NewHost(netip.MustParseAddr("192.168.2.2"))
	mk := func(h *nicetest.Host, controlling bool) (*nice.Agent, *syncRecorder, int) {
		a, err := nice.NewAgent(nice.Config{Net: h, Controlling: controlling, STUNServer: "203.0.113.1:3478"})
		if err != nil {
			t.Fatal(err)
		}
		r := newSyncRecorder(a)
		sid, _ := a.AddStream(1)
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		return a, r, sid
	}
	a, ra, sa := mk(ha, true)
	b, rb, sb := mk(hb, false)
	defer a.Close()
	defer b.Close()
	synctest.Wait()
	for _, x := range []struct {
		ag  *nice.Agent
		r   *syncRecorder
		sid int
	}{{a, ra, sa}, {b, rb, sb}} {
		if !x.r.has("gathering-done") {
			t.Fatalf("gathering not done: %q", x.r.all())
		}
		cs, _ := x.ag.LocalCandidates(x.sid, 1)
		if len(cs) != 2 || cs[1].Type != nice.CandidateTypeServerReflexive || cs[1].Base != cs[0].Addr {
			t.Fatalf("local candidates = %v, want host and srflx with the host as base", cs)
		}
		if want := netip.MustParseAddrPort("203.0.113.1:3478"); cs[1].Server != want || cs[0].Server.IsValid() {
			t.Fatalf("Server of host, srflx = %v, %v; want none, the STUN server %v", cs[0].Server, cs[1].Server, want)
		}
	}
	exchange(t, a, b, sa, sb, 1)
	exchange(t, b, a, sb, sa, 1)
	time.Sleep(30 * time.Second)
	synctest.Wait()
	stA, stB := ra.state(sa, 1), rb.state(sb, 1)
	if !works {
		if stA != nice.ComponentStateFailed || stB != nice.ComponentStateFailed {
			t.Fatalf("states %v/%v, want failed/failed (no direct path)", stA, stB)
		}
		return
	}
	if stA != nice.ComponentStateReady || stB != nice.ComponentStateReady {
		t.Fatalf("states %v/%v, want ready/ready\nA %q\nB %q", stA, stB, ra.all(), rb.all())
	}
	got := make(chan string, 1)
	_ = b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- string(p) })
	if _, err := a.Send(sa, 1, []byte("through the NATs")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "through the NATs" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(time.Second):
		t.Fatal("data did not arrive")
	}
}
