// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
)

func TestNominationScripted(t *testing.T) {
	for _, mode := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.net.Close()
				a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true, Nomination: mode}, 1)
				defer a.Close()
				peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
				defer peer.close()
				attach(t, a, sid, peer, true)
				if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
					t.Fatal(err)
				}
				req := peer.nextRequest(time.Second)
				if got, want := stunx.HasUseCandidate(req.m), mode == nice.NominationAggressive; got != want {
					t.Fatalf("first check USE-CANDIDATE = %v, want %v", got, want)
				}
				peer.respond(req)
				if mode == nice.NominationRegular {
					synctest.Wait()
					if st := r.state(sid, 1); st != nice.ComponentStateConnected {
						t.Fatalf("state after first success = %v, want connected", st)
					}
					t0 := time.Now()
					nom := peer.nextRequest(time.Second)
					if !stunx.HasUseCandidate(nom.m) {
						t.Fatalf("second check lacks USE-CANDIDATE")
					}
					if d := nom.at.Sub(t0); d != 0 {
						t.Errorf("nomination sent %v after the success, want at once", d)
					}
					peer.respond(nom)
				}
				synctest.Wait()
				if st := r.state(sid, 1); st != nice.ComponentStateReady {
					t.Fatalf("state = %v, want ready; events %q", st, r.all())
				}
				if err := inOrder(r.all(), []string{"state c1 connecting", "state c1 connected", "selected c1 " + peer.addr().String(), "state c1 ready"}); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// TestEndOfCandidatesBeforeGathering: the peer's candidates and its
// end-of-candidates arrive before local gathering; the component must not
// fail on an empty checklist (RFC 8838 §8), checks start once gathering has
// made candidates, and it fails only after they have failed.
func TestEndOfCandidatesBeforeGathering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, err := nice.NewAgent(nice.Config{Controlling: true, Net: e.net.NewHost(netip.MustParseAddr("10.0.0.1"))})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		r := newSyncRecorder(a)
		sid, err := a.AddStream(1)
		if err != nil {
			t.Fatal(err)
		}
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		if err := a.PeerCandidateGatheringDone(sid); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := r.state(sid, 1); st == nice.ComponentStateFailed {
			t.Fatal("FAILED before local gathering made a candidate")
		}
		start := time.Now()
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		peer.nextRequest(time.Second) // the check goes out
		// Unanswered, it fails at 7.5 s, and so does the component.
		time.Sleep(start.Add(7499 * time.Millisecond).Sub(time.Now()))
		synctest.Wait()
		if st := r.state(sid, 1); st == nice.ComponentStateFailed {
			t.Fatal("FAILED while the check was still retransmitted")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateFailed {
			t.Fatalf("state after the check failed = %v, want failed", st)
		}
	})
}

// A controlled agent facing a peer that nominates aggressively (libnice's
// default) ends on the peer's highest-priority nominated pair, even when
// the peer's check of that pair arrives just before the component becomes
// READY on a lower one: its triggered check, still queued, is not dropped
// with the other waiting checks (libnice interop over IPv6 link-local
// addresses showed the two sides on different pairs when it was).
func TestAggressivePeerHigherPairAtReady(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, _ := e.agent("10.0.0.1", nice.Config{}, 1) // controlled
		defer a.Close()
		low := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer low.close()
		high := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.3")), 5000)
		defer high.close()
		attach(t, a, sid, low, true)
		high.ufrag, high.pwd, high.rufrag, high.rpwd = low.ufrag, low.pwd, low.rufrag, low.rpwd // one peer, two addresses
		lowCand := low.candidate(1, "1")
		lowCand.Priority = 1000 // below the prflx priority of high's checks
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{lowCand}); err != nil {
			t.Fatal(err)
		}
		to := localAddr(t, a, sid, 1)
		ours := low.nextRequest(time.Second) // the agent checks the low pair
		// The peer nominates the low pair, then (same instant) a new,
		// higher one; then the agent's own check of the low pair succeeds.
		low.nextResponse(low.check(to, true, 1, true), time.Second)
		high.nextResponse(high.check(to, true, 1, true), time.Second)
		low.respond(ours)
		synctest.Wait()
		if st := a.ComponentState(sid, 1); st != nice.ComponentStateReady {
			t.Fatalf("state %v, want ready on the low pair", st)
		}
		// The triggered check of the high pair still goes out.
		req := high.nextRequest(time.Second)
		high.respond(req)
		synctest.Wait()
		_, r, err := a.SelectedPair(sid, 1)
		if err != nil || r.Addr != high.addr() {
			t.Fatalf("selected remote %v, %v; want %v (the peer's highest nominated pair)", r.Addr, err, high.addr())
		}
	})
}
