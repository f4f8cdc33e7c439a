// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/pion/stun"
)

// TestInProgressRetriggered: a check from the peer on a pair whose own
// check is still unanswered makes the agent check again at once (RFC 8445
// §7.3.1.4), not at the retransmission 500 ms later: the first check was
// likely dropped before the peer's NAT or TURN server let it through. It
// happens once per pair.
func TestInProgressRetriggered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		first := peer.nextRequest(time.Second) // not answered: "dropped"
		time.Sleep(100 * time.Millisecond)
		to := localAddr(t, a, sid, 1)
		id := peer.check(to, false, 1, false)
		var second rawMsg
		for {
			m := peer.next(time.Second)
			if m.m.TransactionID == id {
				continue // the answer to the peer's check
			}
			if m.m.Type == stun.BindingRequest {
				second = m
				break
			}
		}
		if second.m.TransactionID == first.m.TransactionID {
			t.Fatalf("got the retransmission of the first check, want a new check")
		}
		if d := second.at.Sub(first.at); d != 100*time.Millisecond {
			t.Errorf("second check %v after the first, want at once after the peer's check (100ms)", d)
		}
		// Once only: another check from the peer does not repeat it again;
		// the next request is the retransmission, one RTO later.
		id = peer.check(to, false, 1, false)
		for {
			m := peer.next(time.Second)
			if m.m.TransactionID == id {
				continue
			}
			if m.m.Type != stun.BindingRequest {
				continue
			}
			if m.m.TransactionID != second.m.TransactionID || m.at.Sub(second.at) != nice.DefaultSTUNInitialTimeout {
				t.Errorf("next request %x at +%v, want the retransmission of %x at +%v",
					m.m.TransactionID, m.at.Sub(second.at), second.m.TransactionID, nice.DefaultSTUNInitialTimeout)
			}
			break
		}
	})
}
