// SPDX-License-Identifier: MIT

package nice_test

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/pion/stun"
)

func TestRetransmissionAndFailure(t *testing.T) {
	for _, eoc := range []bool{true, false} {
		t.Run(fmt.Sprintf("end-of-candidates=%v", eoc), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testRetransmissionAndFailure(t, eoc) })
		})
	}
}

func testRetransmissionAndFailure(t *testing.T, endOfCandidates bool) {
	e := newEnv(t)
	defer e.net.Close()
	a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
	defer a.Close()
	peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
	defer peer.close()
	attach(t, a, sid, peer, true)
	if endOfCandidates {
		if err := a.PeerCandidateGatheringDone(sid); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
		t.Fatal(err)
	}
	// RTO 500 ms doubling, 3 retransmissions: sends at 0, 0.5, 1.5, 3.5 s.
	var at []time.Duration
	var ids [][stun.TransactionIDSize]byte
	for range 4 {
		req := peer.nextRequest(10 * time.Second)
		at = append(at, req.at.Sub(start))
		ids = append(ids, req.m.TransactionID)
	}
	want := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond}
	if !slices.Equal(at, want) {
		t.Errorf("check sent at %v, want %v", at, want)
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("retransmission changed the transaction id")
		}
	}
	peer.none(3 * time.Second)
	// The last transmission times out 4 s after it was sent (7.5 s).
	time.Sleep(start.Add(7500*time.Millisecond - time.Millisecond).Sub(time.Now()))
	synctest.Wait()
	if st := r.state(sid, 1); st != nice.ComponentStateConnecting {
		t.Fatalf("state before the last timeout = %v, want connecting", st)
	}
	time.Sleep(2 * time.Millisecond)
	synctest.Wait()
	if endOfCandidates {
		if st := r.state(sid, 1); st != nice.ComponentStateFailed {
			t.Fatalf("state after the checks failed = %v, want failed", st)
		}
		return
	}
	// Without end-of-candidates the component waits IdleTimeout for more.
	if st := r.state(sid, 1); st != nice.ComponentStateConnecting {
		t.Fatalf("state = %v, want connecting until the idle timeout", st)
	}
	time.Sleep(nice.DefaultIdleTimeout)
	synctest.Wait()
	if st := r.state(sid, 1); st != nice.ComponentStateFailed {
		t.Fatalf("state after the idle timeout = %v, want failed", st)
	}
}
