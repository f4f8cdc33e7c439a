// SPDX-License-Identifier: MIT

package nice_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
)

func TestRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, b, ra, rb, sa, sb, _, _ := twoAgents(t, e, 2, nice.Config{}, nice.Config{})
		defer a.Close()
		defer b.Close()
		oldU, oldP, _ := a.LocalCredentials(sa)
		if err := a.Restart(); err != nil {
			t.Fatal(err)
		}
		if err := b.Restart(); err != nil {
			t.Fatal(err)
		}
		newU, newP, _ := a.LocalCredentials(sa)
		if newU == oldU || newP == oldP {
			t.Errorf("credentials unchanged by restart")
		}
		synctest.Wait()
		for cid := 1; cid <= 2; cid++ {
			if st := ra.state(sa, cid); st != nice.ComponentStateGathering {
				t.Errorf("A component %d after restart = %v, want gathering", cid, st)
			}
		}
		if rc, _ := a.RemoteCandidates(sa, 1); len(rc) != 0 {
			t.Errorf("remote candidates kept across restart: %v", rc)
		}
		// Data still flows on the old pair during the restart.
		if _, err := a.Send(sa, 1, []byte("during restart")); err != nil {
			t.Errorf("Send during restart: %v", err)
		}
		exchange(t, a, b, sa, sb, 2)
		exchange(t, b, a, sb, sa, 2)
		time.Sleep(time.Second)
		synctest.Wait()
		for cid := 1; cid <= 2; cid++ {
			if st := ra.state(sa, cid); st != nice.ComponentStateReady {
				t.Errorf("A component %d = %v, want ready; %q", cid, st, ra.all())
			}
			if st := rb.state(sb, cid); st != nice.ComponentStateReady {
				t.Errorf("B component %d = %v, want ready", cid, st)
			}
		}
	})
}
