// SPDX-License-Identifier: MIT

//go:build linux

package nice_test

// ICMP errors from servers (icmp.go, icmp_linux.go), on real loopback
// sockets: a closed UDP port on 127.0.0.1 answers with ICMP port
// unreachable, which loopback never rate-limits.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// closedPort returns 127.0.0.1 and a UDP port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	return closedPortOn(t, "udp4", "127.0.0.1:0")
}

// closedPortOn returns an address of network on which nothing listens.
func closedPortOn(t *testing.T, network, addr string) string {
	t.Helper()
	c, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	addr = c.LocalAddr().String()
	_ = c.Close()
	return addr
}

// TestSTUNServerUnreachable: the STUN server's port is closed. The
// server-reflexive request ends with the ICMP error (STUNErrors:
// ErrUnreachable, ECONNREFUSED), not with ErrSTUNTimeout after its
// retransmissions, and gathering completes. Over IPv4 and IPv6
// (IPV6_RECVERR, ICMPv6 port unreachable).
func TestSTUNServerUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short")
	}
	t.Run("ipv4", func(t *testing.T) { stunServerUnreachable(t, loopback, closedPort(t)) })
	t.Run("ipv6", func(t *testing.T) {
		if c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback}); err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		} else {
			c.Close()
		}
		stunServerUnreachable(t, netip.MustParseAddr("::1"), closedPortOn(t, "udp6", "[::1]:0"))
	})
}

func stunServerUnreachable(t *testing.T, local netip.Addr, server string) {
	a, err := nice.NewAgent(nice.Config{STUNServer: server})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r := newRecorder(a)
	if err := a.AddLocalAddress(local); err != nil {
		t.Fatal(err)
	}
	sid, _ := a.AddStream(1)
	start := time.Now()
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	waitGatheredTB(t, r, sid)
	took := time.Since(start)
	errs, _ := a.STUNErrors(sid)
	if len(errs) != 1 || !errors.Is(errs[0], nice.ErrUnreachable) || !errors.Is(errs[0], syscall.ECONNREFUSED) {
		t.Fatalf("STUN errors %v, want one ErrUnreachable (connection refused)", errs)
	}
	t.Logf("gathering done %v after it began: %v", took.Round(time.Millisecond), errs[0])
}

// TestTURNServerUnreachable: the TURN server's port is closed before
// gathering: the Allocate ends with the ICMP error (RelayErrors:
// ErrUnreachable), not after RFC 5389's 39.5 s, and gathering completes.
func TestTURNServerUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short")
	}
	a, r, sid := newLoopbackAgent(t, nice.Config{}, 1)
	if err := a.SetRelayInfo(sid, 1, closedPort(t), "u", "p", nice.RelayTypeTURNUDP); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	waitGatheredTB(t, r, sid)
	errs, _ := a.RelayErrors(sid)
	if len(errs) != 1 || !errors.Is(errs[0], nice.ErrUnreachable) || errors.Is(errs[0], nice.ErrRelayTimeout) {
		t.Fatalf("relay errors %v, want one ErrUnreachable", errs)
	}
}

// TestTURNUDPServerGone: two agents connected through pion's TURN server
// over UDP; the server goes away (its socket closed: the port answers
// port unreachable). The first datagram sent to it brings the ICMP error;
// the allocation is probed, the probe's Refresh ends with the next ICMP
// error and the allocation is reported lost (ErrRelayLost wrapping
// ErrUnreachable) with its relayed candidate withdrawn, without waiting
// for consent to run out (30 s) and a probe to time out. The new
// allocation fails the same way. Data keeps being sent meanwhile; a send
// never reports an ICMP error that belonged to an earlier datagram. When
// the server is back, the agents make their allocations again by
// themselves.
func TestTURNUDPServerGone(t *testing.T) {
	if testing.Short() {
		t.Skip("real sockets; skipped in -short")
	}
	udp, _, srv := pionLoopbackServer(t)
	a, b, sa, sb := relayPair(t, udp, nice.RelayTypeTURNUDP)
	defer a.Close()
	defer b.Close()
	relayEcho(t, a, b, sa, sb)
	start := time.Now()
	_ = srv.Close()
	stop := make(chan struct{})
	sendErrs := make(chan error, 1)
	go func() {
		// Media, 100 packets a second each way, until the test ends.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				close(sendErrs)
				return
			case <-tick.C:
			}
			for _, x := range []struct {
				ag  *nice.Agent
				sid int
			}{{a, sa}, {b, sb}} {
				if _, err := x.ag.Send(x.sid, 1, []byte("media")); err != nil && !errors.Is(err, nice.ErrNotReady) {
					select {
					case sendErrs <- err:
					default:
					}
				}
			}
		}
	}()
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}} {
		var errs []nice.RelayError
		lost := func(e nice.RelayError) bool {
			return errors.Is(e, nice.ErrRelayLost) && errors.Is(e, nice.ErrUnreachable)
		}
		refused := func(e nice.RelayError) bool {
			return !errors.Is(e, nice.ErrRelayLost) && errors.Is(e, nice.ErrUnreachable)
		}
		waitUntil(t, 10*time.Second, func() bool {
			errs, _ = x.ag.RelayErrors(x.sid)
			return slices.ContainsFunc(errs, lost) && slices.ContainsFunc(errs, refused)
		}, func() string {
			return fmt.Sprintf("relay errors %v: want the allocation lost and the new one refused, both by ICMP errors", errs)
		})
		t.Logf("allocation lost and the new one refused %v after the server went away: %v", time.Since(start).Round(time.Millisecond), errs)
		if !errors.Is(errs[slices.IndexFunc(errs, lost)], syscall.ECONNREFUSED) {
			t.Errorf("lost allocation's error %v does not wrap ECONNREFUSED", errs[0])
		}
		cands, _ := x.ag.LocalCandidates(x.sid, 1)
		for _, c := range cands {
			if c.Type == nice.CandidateTypeRelayed {
				t.Errorf("relayed candidate %v still listed after its allocation was lost", c.Addr)
			}
		}
	}
	close(stop)
	if err := <-sendErrs; err != nil && isICMPErrno(err) {
		t.Errorf("a send failed with %v: an earlier datagram's ICMP error", err)
	}

	// The server comes back on its address after a while. Each agent keeps
	// trying to make the lost allocation again (a second apart), so a
	// relayed candidate comes back without an ICE restart, and the failed
	// tries meanwhile are not added to RelayErrors.
	time.Sleep(1500 * time.Millisecond)
	pc, err := net.ListenPacket("udp4", udp)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := pionServer(t, pc, nil)
	defer srv2.Close()
	back := time.Now()
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}} {
		waitRelayedCandidate(t, x.ag, x.sid, "10 s after the server came back")
		t.Logf("relayed candidate back %v after the server", time.Since(back).Round(time.Millisecond))
		if errs, _ := x.ag.RelayErrors(x.sid); len(errs) != 2 {
			t.Errorf("%d relay errors, want 2 (the loss and the first refused try): %v", len(errs), errs)
		}
	}
	if n := srv2.AllocationCount(); n != 2 {
		t.Errorf("the server has %d allocations, want 2", n)
	}
}

func isICMPErrno(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && (errno == syscall.ECONNREFUSED || errno == syscall.EHOSTUNREACH)
}
