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
//   - Both agents behind NATs (port-restricted cone: a port keeps its
//     mapping for every destination) with simultaneous-open candidates:
//     each learns its S-O port's mapping by STUN over TCP, both connect
//     at once, the SYNs cross the NATs, and the selected pair is so–so
//     (to the peer's server-reflexive S-O candidate).
//   - Without that (active and passive candidates only: private
//     addresses, and no TCP connection gets through a NAT without a
//     mapping): they connect through TURN over TCP, relay candidates on
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
	t.Run("both behind NATs: simultaneous open", func(t *testing.T) {
		for i := 1; i <= 2; i++ {
			if err := l.SetSite(i, Site{NAT: PortRestricted, BlockUDP: true}); err != nil {
				t.Fatal(err)
			}
		}
		// The server-reflexive S-O candidates come from a STUN Binding
		// over TCP: coturn answers STUN over TCP (the lab's stunserver is
		// UDP only). No TURN: TCP must get through by itself.
		so := []string{"--ice-tcp", "--tcp-so", "--stun", TURNAddr, "--turn", ""}
		r := connectPair(t, l, 40*time.Second, so, so)
		if !r.ok {
			t.Fatalf("no connection: %s", r.err)
		}
		t.Logf("A selected %s %s (%s) – %s %s (%s); B's local %s; connected in %v",
			r.local, r.localAddr, r.localTr, r.remote, r.remoteAddr, r.remoteTr, r.peerLocal, r.connect.Round(time.Millisecond))
		if r.localTr != "tcp-so" || r.remoteTr != "tcp-so" || r.remote != "srflx" {
			t.Errorf("A selected %s %s – %s %s, want its S-O candidate to B's server-reflexive S-O candidate", r.local, r.localTr, r.remote, r.remoteTr)
		}
		checkUDPDropped(t, l, 1)
		checkUDPDropped(t, l, 2)
	})
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

// TestICETCPPathLoss: a session over ICE-TCP (UDP blocked, A behind a NAT,
// B on the public segment) whose path goes silent (router 1 drops
// everything: the connection stalls, TCP retransmits into nothing).
// Consent expires on both sides and FAILED is signalled at about
// ConsentTimeout, and the stalled connection is closed. When the path
// returns, an ICE restart connects over a new TCP connection and media
// flows.
func TestICETCPPathLoss(t *testing.T) {
	const consentTimeout = 3 * time.Second
	l := newLab(t)
	if err := l.SetSite(1, Site{NAT: PortRestricted, BlockUDP: true}); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--ice-tcp", "--turn-transport", "tcp"}, mediaArgs...)
	s := startSessionOn(t, l, "h1", "pub", args, args)
	before := selected(s.wa, 0)
	t.Logf("connected: A selected %s, B selected %s", before, selected(s.wb, 0))
	if f := strings.Fields(before); len(f) != 6 || f[4] != "tcp-act" {
		t.Fatalf("A selected %q, want its active TCP candidate", before)
	}
	s.settle(consentTimeout)
	ma, mb := s.wa.mark(), s.wb.mark()
	t0 := time.Now()
	if err := l.Blackhole(1, true); err != nil {
		t.Fatal(err)
	}
	s.waitFailedAtConsent(ma, mb, t0, consentTimeout, "TCP path loss")
	// The stalled connection was given up: A (behind the NAT) has no
	// established TCP connection left but its TURN server's.
	var est string
	for i := 0; i < 50; i++ {
		out, _, err := l.Exec("h1", commandWait, "ss", "-Htn", "state", "established")
		if err != nil {
			t.Fatal(err)
		}
		est = ""
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line != "" && !strings.Contains(line, TURNAddr) {
				est += line + "\n"
			}
		}
		if est == "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if est != "" {
		t.Errorf("A still has established TCP connections after FAILED:\n%s", est)
	}
	if err := l.Blackhole(1, false); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	s.restart()
	for _, w := range []*watcher{s.wa, s.wb} {
		m := ma
		if w == s.wb {
			m = mb
		}
		if _, ok := w.wait(m, isKind("state", "ready"), 15*time.Second); !ok {
			t.Fatalf("%s not READY after the restart:\n%s", w.a.Name, s.logs())
		}
	}
	ra, okA := s.wa.wait(ma, gapAtLeast(1000), 10*time.Second)
	rb, okB := s.wb.wait(mb, gapAtLeast(1000), 10*time.Second)
	if !okA || !okB {
		t.Fatalf("media did not resume after the restart:\n%s", s.logs())
	}
	after := selected(s.wa, ma)
	t.Logf("TCP path loss: after the path returned, the restart brought media back in %s (B→A) and %s (A→B); A selected %s",
		ms(ra.At.Sub(t1)), ms(rb.At.Sub(t1)), after)
	if f := strings.Fields(after); len(f) != 6 || f[4] != "tcp-act" {
		t.Errorf("A selected %q after the restart, want its active TCP candidate", after)
	}
}
