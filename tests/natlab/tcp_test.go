// SPDX-License-Identifier: MIT

package natlab

import (
	"strings"
	"testing"
	"time"
)

// TestICETCPNoUDP: the routers drop every UDP datagram they would forward
// (nftables, Site.BlockUDP), a network that allows only TCP. The agents
// keep UDP on (they cannot know), with ICE-TCP on, and a TURN server they
// reach over TCP.
//
//   - Where the NAT allows TCP: one agent behind a NAT (h1), the other on
//     the public segment (a server with a public address): the agent behind
//     the NAT connects from its active TCP candidate to the server's
//     passive one; the selected pair is TCP, host to host, in both roles.
//   - Where it does not: both agents behind NATs (their TCP candidates are
//     private addresses, and no TCP connection gets through a NAT without
//     a mapping): they connect through TURN over TCP, relay candidates on
//     the selected pair.
//
// Each case also reads the routers' counter of dropped UDP datagrams: the
// agents' UDP checks must have been dropped (else UDP was not tried, and
// the test would prove nothing).
func TestICETCPNoUDP(t *testing.T) {
	l := newLab(t)
	tcp := []string{"--ice-tcp", "--turn-transport", "tcp"}
	for _, aControlling := range []bool{true, false} {
		name := "public server, NAT side controlling"
		if !aControlling {
			name = "public server, server controlling"
		}
		t.Run(name, func(t *testing.T) {
			if err := l.SetSite(1, Site{NAT: PortRestricted, BlockUDP: true}); err != nil {
				t.Fatal(err)
			}
			r := connectPairOn(t, l, "h1", "pub", aControlling, 30*time.Second, tcp, tcp)
			if !r.ok {
				t.Fatalf("no connection: %s", r.err)
			}
			t.Logf("A (behind the NAT) selected %s %s (%s) – %s %s (%s); connected in %v",
				r.local, r.localAddr, r.localTr, r.remote, r.remoteAddr, r.remoteTr, r.connect.Round(time.Millisecond))
			if r.localTr != "tcp-act" || r.remoteTr != "tcp-pass" || r.local != "host" || !strings.HasPrefix(r.remoteAddr, "203.0.113.") {
				t.Errorf("A selected %s %s %s – %s %s %s, want its active TCP host candidate to the server's passive one",
					r.local, r.localTr, r.localAddr, r.remote, r.remoteTr, r.remoteAddr)
			}
			checkUDPDropped(t, l, 1)
		})
	}
	t.Run("both behind NATs: TURN over TCP", func(t *testing.T) {
		for i := 1; i <= 2; i++ {
			if err := l.SetSite(i, Site{NAT: PortRestricted, BlockUDP: true}); err != nil {
				t.Fatal(err)
			}
		}
		r := connectPair(t, l, 40*time.Second, tcp, tcp)
		if !r.ok {
			t.Fatalf("no connection: %s", r.err)
		}
		t.Logf("A selected %s %s (%s) – %s %s (%s); B's local %s; connected in %v",
			r.local, r.localAddr, r.localTr, r.remote, r.remoteAddr, r.remoteTr, r.peerLocal, r.connect.Round(time.Millisecond))
		if r.local != "relay" && r.remote != "relay" {
			t.Errorf("A selected %s – %s, want a relayed candidate on the pair", r.local, r.remote)
		}
		checkUDPDropped(t, l, 1)
		checkUDPDropped(t, l, 2)
	})
}

// checkUDPDropped fails t unless site i's router dropped UDP.
func checkUDPDropped(t *testing.T, l *Lab, i int) {
	t.Helper()
	n, err := l.UDPDropped(i)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("router %d dropped no UDP datagram: the agents did not try UDP", i)
	}
	t.Logf("router %d dropped %d UDP datagrams", i, n)
}
