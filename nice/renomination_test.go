// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// nominate sends the agent a check as controlling agent with USE-CANDIDATE
// if useCand and NOMINATION nom if nom > 0 (libwebrtc sends NOMINATION
// alone, pion/ice v4 both), and waits for its success response, answering
// the agent's own checks meanwhile.
func (p *rawPeer) nominate(to netip.AddrPort, useCand bool, nom uint32) {
	p.t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(p.rufrag + ":" + p.ufrag),
		stunx.Priority(1853817087), stunx.ICEControlling(1)}
	if useCand {
		setters = append(setters, stunx.UseCandidate{})
	}
	if nom > 0 {
		setters = append(setters, stunx.Nomination(nom))
	}
	setters = append(setters, stun.NewShortTermIntegrity(p.rpwd), stun.Fingerprint)
	m := stun.MustBuild(setters...)
	if _, err := p.conn.WriteToUDPAddrPort(m.Raw, to); err != nil {
		p.t.Fatal(err)
	}
	for {
		r := p.next(time.Second)
		if r.m.TransactionID == m.TransactionID {
			if r.m.Type != stun.BindingSuccess {
				p.t.Fatalf("nomination answered with %v", r.m.Type)
			}
			return
		}
		if r.m.Type == stun.BindingRequest {
			p.respond(r)
		}
	}
}

// serve answers the agent's requests for d of fake time and returns them.
func (p *rawPeer) serve(d time.Duration, answer bool) []rawMsg {
	var got []rawMsg
	end := time.After(d)
	for {
		select {
		case r := <-p.in:
			if r.m.Type == stun.BindingRequest {
				got = append(got, r)
				if answer {
					p.respond(r)
				}
			}
		case <-end:
			return got
		}
	}
}

// serveAll runs serve on every peer at once.
func serveAll(d time.Duration, peers ...*rawPeer) [][]rawMsg {
	out := make([][]rawMsg, len(peers))
	done := make(chan struct{})
	for i, p := range peers {
		go func() {
			out[i] = p.serve(d, true)
			done <- struct{}{}
		}()
	}
	for range peers {
		<-done
	}
	return out
}

// nominationOf returns a request's USE-CANDIDATE and NOMINATION.
func nominationOf(r rawMsg) (bool, uint32) {
	var n stunx.Nomination
	if n.GetFrom(r.m) != nil {
		n = 0
	}
	return stunx.HasUseCandidate(r.m), uint32(n)
}

// renomSetup makes an agent and two scripted peers, p1 (priority higher)
// and p2, on another host, both signalled as its remote candidates.
func renomSetup(t *testing.T, e *env, cfg nice.Config) (*nice.Agent, *syncRecorder, int, *rawPeer, *rawPeer) {
	t.Helper()
	a, r, sid, _ := e.agent("10.0.0.1", cfg, 1)
	h := e.net.NewHost(netip.MustParseAddr("10.0.0.2"))
	p1, p2 := newRawPeer(t, h, 5001), newRawPeer(t, h, 5002)
	attach(t, a, sid, p1, true)
	attach(t, a, sid, p2, false)
	p2.ufrag, p2.pwd = p1.ufrag, p1.pwd
	c1, c2 := p1.candidate(1, "1"), p2.candidate(1, "2")
	c2.Priority -= 1000
	if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{c1, c2}); err != nil {
		t.Fatal(err)
	}
	return a, r, sid, p1, p2
}

func selectedRemote(t *testing.T, a *nice.Agent, sid int) netip.AddrPort {
	t.Helper()
	_, rc, err := a.SelectedPair(sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	return rc.Addr
}

// TestRenominationControlled: a controlled agent with renomination follows
// the nomination with the largest NOMINATION value, whether or not
// USE-CANDIDATE comes with it; older values and USE-CANDIDATE without a
// value change nothing once a value was seen. The selected pair moves with
// one new-selected-pair and no state change, as libnice signals it.
func TestRenominationControlled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, p1, p2 := renomSetup(t, e, nice.Config{Renomination: true})
		defer a.Close()
		defer p1.close()
		defer p2.close()
		local := localAddr(t, a, sid, 1)
		serveAll(2*time.Second, p1, p2) // both pairs valid
		p1.nominate(local, true, 1)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Fatalf("state = %v, want ready; %q", st, r.all())
		}
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v, want %v", got, p1.addr())
		}
		before := len(r.all())
		steps := []struct {
			peer    *rawPeer
			useCand bool
			nom     uint32
			want    *rawPeer
		}{
			{p2, false, 2, p2}, // NOMINATION alone, as libwebrtc sends it: lower priority, still followed
			{p1, true, 1, p2},  // an older value
			{p1, true, 0, p2},  // USE-CANDIDATE without a value
			{p1, false, 3, p1}, // the latest wins
			{p2, true, 3, p1},  // the same value again
			{p2, true, 7, p2},  // values may skip
		}
		var want []string
		for i, s := range steps {
			s.peer.nominate(local, s.useCand, s.nom)
			serveAll(100*time.Millisecond, p1, p2)
			synctest.Wait()
			if got := selectedRemote(t, a, sid); got != s.want.addr() {
				t.Fatalf("step %d (USE-CANDIDATE %v, NOMINATION %d from %v): selected %v, want %v", i, s.useCand, s.nom, s.peer.addr(), got, s.want.addr())
			}
			if i == 0 || steps[i-1].want != s.want {
				want = append(want, "selected c1 "+s.want.addr().String())
			}
		}
		if got := r.all()[before:]; !slices.Equal(got, want) {
			t.Errorf("signals after READY = %q, want %q", got, want)
		}
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Errorf("state = %v, want ready", st)
		}
	})
}

// TestRenominationControlledNotValid: a nomination of a pair the agent has
// not validated yet triggers a check; the pair is selected once it
// succeeds (RFC 8445 §7.3.1.5), and a newer nomination of another pair
// meanwhile takes that pending nomination away.
func TestRenominationControlledNotValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, p1, p2 := renomSetup(t, e, nice.Config{Renomination: true})
		defer a.Close()
		defer p1.close()
		defer p2.close()
		local := localAddr(t, a, sid, 1)
		// p2 stays silent: its pair fails.
		go p2.serve(10*time.Second, false)
		p1.serve(10*time.Second, true)
		p1.nominate(local, true, 1)
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v, want %v", got, p1.addr())
		}
		p2.nominate(local, false, 2)
		trig := p2.nextRequest(time.Second) // the triggered check
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v before the pair was valid", got)
		}
		p2.respond(trig)
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p2.addr() {
			t.Fatalf("selected %v after the triggered check succeeded, want %v", got, p2.addr())
		}
	})
}

// TestRenominationOff: without Config.Renomination a controlled agent
// ignores NOMINATION, as libnice does without support-renomination.
func TestRenominationOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, p1, p2 := renomSetup(t, e, nice.Config{})
		defer a.Close()
		defer p1.close()
		defer p2.close()
		local := localAddr(t, a, sid, 1)
		serveAll(2*time.Second, p1, p2)
		p1.nominate(local, true, 1)
		p2.nominate(local, false, 5)
		serveAll(100*time.Millisecond, p1, p2)
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v, want %v", got, p1.addr())
		}
		if err := a.Renominate(sid, 1, "x", "1"); !errors.Is(err, nice.ErrRenomination) {
			t.Errorf("Renominate on a controlled agent = %v, want ErrRenomination", err)
		}
	})
}

// TestRenominationControlling: a controlling agent with renomination puts
// NOMINATION on its first nomination, keeps checking after READY, and
// Renominate moves the selected pair with the next value, back and forth.
func TestRenominationControlling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, p1, p2 := renomSetup(t, e, nice.Config{Controlling: true, Renomination: true})
		defer a.Close()
		defer p1.close()
		defer p2.close()
		reqs := serveAll(2*time.Second, p1, p2)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Fatalf("state = %v, want ready; %q", st, r.all())
		}
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v, want %v", got, p1.addr())
		}
		var noms []uint32
		for _, q := range reqs[0] {
			if uc, n := nominationOf(q); uc {
				noms = append(noms, n)
			}
		}
		if !slices.Equal(noms, []uint32{1}) {
			t.Fatalf("nominations to p1 carried NOMINATION %v, want [1]", noms)
		}
		if len(reqs[1]) == 0 {
			t.Fatal("p2's pair was never checked")
		}
		lf := ""
		if cs, err := a.LocalCandidates(sid, 1); err == nil {
			lf = cs[0].Foundation
		}
		if err := a.Renominate(sid, 1, lf, "nope"); !errors.Is(err, nice.ErrNoPair) {
			t.Errorf("Renominate of an unknown pair = %v, want ErrNoPair", err)
		}
		before := len(r.all())
		for i, s := range []struct {
			foundation string
			peer       *rawPeer
			nom        uint32
		}{{"2", p2, 2}, {"1", p1, 3}, {"2", p2, 4}} {
			if err := a.Renominate(sid, 1, lf, s.foundation); err != nil {
				t.Fatal(err)
			}
			q := s.peer.nextRequest(time.Second)
			if uc, n := nominationOf(q); !uc || n != s.nom {
				t.Fatalf("step %d: renomination carries USE-CANDIDATE %v, NOMINATION %d; want true, %d", i, uc, n, s.nom)
			}
			synctest.Wait()
			if got := selectedRemote(t, a, sid); got == s.peer.addr() {
				t.Fatalf("step %d: selected before the peer answered", i)
			}
			s.peer.respond(q)
			synctest.Wait()
			if got := selectedRemote(t, a, sid); got != s.peer.addr() {
				t.Fatalf("step %d: selected %v, want %v", i, got, s.peer.addr())
			}
		}
		want := []string{"selected c1 " + p2.addr().String(), "selected c1 " + p1.addr().String(), "selected c1 " + p2.addr().String()}
		if got := r.all()[before:]; !slices.Equal(got, want) {
			t.Errorf("signals after READY = %q, want %q", got, want)
		}
	})
}

// TestRenominateNotValid: Renominate on a pair that failed checks it
// first, without USE-CANDIDATE, and nominates it once it works; if the
// check fails the selected pair stays.
func TestRenominateNotValid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, p1, p2 := renomSetup(t, e, nice.Config{Controlling: true, Renomination: true})
		defer a.Close()
		defer p1.close()
		defer p2.close()
		go p2.serve(10*time.Second, false) // p2's pair fails
		p1.serve(10*time.Second, true)
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v, want %v", got, p1.addr())
		}
		lf := ""
		if cs, err := a.LocalCandidates(sid, 1); err == nil {
			lf = cs[0].Foundation
		}
		// Unanswered: nothing moves.
		if err := a.Renominate(sid, 1, lf, "2"); err != nil {
			t.Fatal(err)
		}
		for _, q := range p2.serve(10*time.Second, false) {
			if uc, n := nominationOf(q); uc || n != 0 {
				t.Fatalf("check of a pair not valid carries USE-CANDIDATE %v, NOMINATION %d", uc, n)
			}
		}
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p1.addr() {
			t.Fatalf("selected %v after a failed renomination, want %v", got, p1.addr())
		}
		// Answered: checked, then nominated.
		if err := a.Renominate(sid, 1, lf, "2"); err != nil {
			t.Fatal(err)
		}
		q := p2.nextRequest(time.Second)
		if uc, n := nominationOf(q); uc || n != 0 {
			t.Fatalf("check of a pair not valid carries USE-CANDIDATE %v, NOMINATION %d", uc, n)
		}
		p2.respond(q)
		q = p2.nextRequest(time.Second)
		if uc, n := nominationOf(q); !uc || n != 2 {
			t.Fatalf("nomination carries USE-CANDIDATE %v, NOMINATION %d; want true, 2", uc, n)
		}
		p2.respond(q)
		synctest.Wait()
		if got := selectedRemote(t, a, sid); got != p2.addr() {
			t.Fatalf("selected %v, want %v", got, p2.addr())
		}
	})
}

// TestRenominationSDP: with Config.Renomination the local SDP carries
// a=ice-options:renomination, libwebrtc's signal; a remote SDP with
// a=ice-options but without "renomination" declines it: the nomination
// carries no NOMINATION and Renominate fails. Without a=ice-options
// (libnice's SDP) nothing is declined.
func TestRenominationSDP(t *testing.T) {
	for _, tc := range []struct {
		options  string
		declined bool
	}{{"", false}, {"a=ice-options:trickle\n", true}, {"a=ice-options:trickle renomination\n", false}} {
		t.Run(tc.options, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.net.Close()
				a, _, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true, Renomination: true}, 1)
				defer a.Close()
				p := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5001)
				defer p.close()
				attach(t, a, sid, p, false)
				sdp, err := a.GenerateLocalStreamSDP(sid, false)
				if err != nil || !strings.Contains(sdp, "\na=ice-options:renomination\n") {
					t.Fatalf("local SDP %q, %v: no a=ice-options:renomination", sdp, err)
				}
				remote := "m=- 5001 ICE/SDP\nc=IN IP4 10.0.0.2\na=ice-ufrag:" + p.ufrag + "\na=ice-pwd:" + p.pwd + "\n" + tc.options +
					"a=candidate:1 1 UDP 2130706430 10.0.0.2 5001 typ host\n"
				if _, err := a.ParseRemoteSDP(remote); err != nil {
					t.Fatal(err)
				}
				var noms []uint32
				for _, q := range p.serve(2*time.Second, true) {
					if uc, n := nominationOf(q); uc {
						noms = append(noms, n)
					}
				}
				want := []uint32{1}
				if tc.declined {
					want = []uint32{0}
				}
				if !slices.Equal(noms, want) {
					t.Errorf("NOMINATION of the nominations = %v, want %v", noms, want)
				}
				cs, _ := a.LocalCandidates(sid, 1)
				err = a.Renominate(sid, 1, cs[0].Foundation, "1")
				if got := errors.Is(err, nice.ErrRenomination); got != tc.declined {
					t.Errorf("Renominate = %v; declined %v", err, tc.declined)
				}
			})
		})
	}
}

// TestRenominationNotAggressive: renomination turns aggressive nomination
// off (draft-thatcher-ice-renomination-01 §3): the first check carries no
// USE-CANDIDATE, the nomination that follows carries NOMINATION 1.
func TestRenominationNotAggressive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, _, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true, Renomination: true, Nomination: nice.NominationAggressive}, 1)
		defer a.Close()
		p := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5001)
		defer p.close()
		attach(t, a, sid, p, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{p.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		q := p.nextRequest(time.Second)
		if uc, n := nominationOf(q); uc || n != 0 {
			t.Fatalf("first check: USE-CANDIDATE %v, NOMINATION %d; want neither", uc, n)
		}
		p.respond(q)
		q = p.nextRequest(time.Second)
		if uc, n := nominationOf(q); !uc || n != 1 {
			t.Fatalf("nomination: USE-CANDIDATE %v, NOMINATION %d; want true, 1", uc, n)
		}
	})
}
