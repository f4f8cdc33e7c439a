// SPDX-License-Identifier: MIT

package nice_test

import (
	"net/netip"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
)

func TestTrickleAfterChecksStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, ra, sa, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		b, rb, sb, _ := e.agent("10.0.0.2", nice.Config{}, 1)
		defer a.Close()
		defer b.Close()
		synctest.Wait()
		// Credentials both ways; A first gets only a dead candidate of B's,
		// and B gets none of A's.
		ua, pa, _ := a.LocalCredentials(sa)
		ub, pb, _ := b.LocalCredentials(sb)
		_ = a.SetRemoteCredentials(sa, ub, pb)
		_ = b.SetRemoteCredentials(sb, ua, pa)
		dead := nice.Candidate{Type: nice.CandidateTypeHost, Addr: netip.MustParseAddrPort("10.9.9.9:9999"), Priority: 2130706431, Foundation: "9", ComponentID: 1}
		if _, err := a.SetRemoteCandidates(sa, 1, []nice.Candidate{dead}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // checks on the dead pair are under way
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateConnecting {
			t.Fatalf("A = %v, want connecting", st)
		}
		// Trickle B's real candidate.
		cands, _ := b.LocalCandidates(sb, 1)
		if n, err := a.SetRemoteCandidates(sa, 1, cands); err != nil || n != 1 {
			t.Fatalf("trickle: %d, %v", n, err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateReady {
			t.Errorf("A = %v, want ready; %q", st, ra.all())
		}
		if st := rb.state(sb, 1); st != nice.ComponentStateReady {
			t.Errorf("B = %v, want ready (via a peer-reflexive candidate); %q", st, rb.all())
		}
		if !rb.has("remote c1 prflx 10.0.0.1:" + strings.Split(localAddr(t, a, sa, 1).String(), ":")[1]) {
			t.Errorf("B learned no peer-reflexive candidate: %q", rb.all())
		}
	})
}
