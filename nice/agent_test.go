// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
)

// recorder records the signals of one agent, in order.
type recorder struct {
	mu     sync.Mutex
	events []string
	done   map[int]chan struct{} // gathering done, per stream
	states map[[2]int]nice.ComponentState
	change chan struct{}
}

func newRecorder(a *nice.Agent) *recorder {
	r := &recorder{done: map[int]chan struct{}{}, states: map[[2]int]nice.ComponentState{}, change: make(chan struct{}, 1)}
	a.OnCandidateGatheringDone(func(sid int) {
		r.add(fmt.Sprintf("gathering-done s%d", sid))
		r.mu.Lock()
		ch := r.doneCh(sid)
		r.mu.Unlock()
		close(ch)
	})
	a.OnNewCandidate(func(c nice.Candidate) {
		r.add(fmt.Sprintf("new-candidate s%d c%d %s", c.StreamID, c.ComponentID, c.Type))
	})
	a.OnNewRemoteCandidate(func(c nice.Candidate) {
		r.add(fmt.Sprintf("new-remote-candidate s%d c%d %s", c.StreamID, c.ComponentID, c.Type))
	})
	a.OnComponentStateChanged(func(sid, cid int, s nice.ComponentState) {
		r.mu.Lock()
		r.states[[2]int{sid, cid}] = s
		r.mu.Unlock()
		r.add(fmt.Sprintf("state s%d c%d %s", sid, cid, s))
	})
	a.OnNewSelectedPair(func(sid, cid int, l, rc nice.Candidate) { r.add(fmt.Sprintf("selected-pair s%d c%d", sid, cid)) })
	a.OnInitialBindingRequestReceived(func(sid int) { r.add(fmt.Sprintf("initial-binding-request s%d", sid)) })
	a.OnStreamsRemoved(func(ids []int) { r.add(fmt.Sprintf("streams-removed %v", ids)) })
	return r
}

func (r *recorder) doneCh(sid int) chan struct{} {
	ch, ok := r.done[sid]
	if !ok {
		ch = make(chan struct{})
		r.done[sid] = ch
	}
	return ch
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
	select {
	case r.change <- struct{}{}:
	default:
	}
}

func (r *recorder) snapshot() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder) waitGathered(t *testing.T, sid int) {
	t.Helper()
	r.mu.Lock()
	ch := r.doneCh(sid)
	r.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("gathering of stream %d did not finish", sid)
	}
}

// waitState waits until every component of sid reached st.
func (r *recorder) waitState(t *testing.T, sid, ncomp int, st nice.ComponentState, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := true
		for c := 1; c <= ncomp; c++ {
			if r.states[[2]int{sid, c}] != st {
				ok = false
			}
		}
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.change:
		case <-deadline:
			t.Fatalf("stream %d did not reach %s; events: %q", sid, st, r.snapshot())
		}
	}
}

// exchange gives to's stream from's credentials and candidates.
func exchange(t *testing.T, from, to *nice.Agent, fromSID, toSID, ncomp int) {
	t.Helper()
	agentpair.Exchange(t, from, to, fromSID, toSID, ncomp)
}

var loopback = agentpair.Loopback

// newLoopbackAgent makes an agent restricted to 127.0.0.1 with one stream.
func newLoopbackAgent(t *testing.T, cfg nice.Config, ncomp int) (*nice.Agent, *recorder, int) {
	t.Helper()
	a, err := nice.NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	r := newRecorder(a)
	if err := a.AddLocalAddress(loopback); err != nil {
		t.Fatal(err)
	}
	sid, err := a.AddStream(ncomp)
	if err != nil {
		t.Fatal(err)
	}
	return a, r, sid
}

// checkNoLeak fails if goroutines started by the test are still running.
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLoopbackConnect(t *testing.T) {
	for _, ncomp := range []int{1, 2} {
		for _, mode := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
			for _, controllingFirst := range []bool{true, false} {
				name := fmt.Sprintf("comps=%d/%s/controlling-is-A=%v", ncomp, mode, controllingFirst)
				t.Run(name, func(t *testing.T) {
					before := runtime.NumGoroutine()
					testLoopbackConnect(t, ncomp, mode, controllingFirst)
					checkNoLeak(t, before)
				})
			}
		}
	}
}

func testLoopbackConnect(t *testing.T, ncomp int, mode nice.NominationMode, aControls bool) {
	a, ra, sa := newLoopbackAgent(t, nice.Config{Controlling: aControls, Nomination: mode}, ncomp)
	b, rb, sb := newLoopbackAgent(t, nice.Config{Controlling: !aControls, Nomination: mode}, ncomp)
	defer a.Close()
	defer b.Close()

	type rx struct {
		mu  sync.Mutex
		got map[int][]string
	}
	recvA, recvB := &rx{got: map[int][]string{}}, &rx{got: map[int][]string{}}
	for c := 1; c <= ncomp; c++ {
		if err := a.AttachRecv(sa, c, func(_, cid int, p []byte) {
			recvA.mu.Lock()
			recvA.got[cid] = append(recvA.got[cid], string(p))
			recvA.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.AttachRecv(sb, c, func(_, cid int, p []byte) {
			recvB.mu.Lock()
			recvB.got[cid] = append(recvB.got[cid], string(p))
			recvB.mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.GatherCandidates(sa); err != nil {
		t.Fatal(err)
	}
	if err := b.GatherCandidates(sb); err != nil {
		t.Fatal(err)
	}
	ra.waitGathered(t, sa)
	rb.waitGathered(t, sb)
	exchange(t, a, b, sa, sb, ncomp)
	exchange(t, b, a, sb, sa, ncomp)
	ra.waitState(t, sa, ncomp, nice.ComponentStateReady, 10*time.Second)
	rb.waitState(t, sb, ncomp, nice.ComponentStateReady, 10*time.Second)

	for c := 1; c <= ncomp; c++ {
		msgA, msgB := fmt.Sprintf("from A on %d", c), fmt.Sprintf("from B on %d", c)
		if _, err := a.Send(sa, c, []byte(msgA)); err != nil {
			t.Fatalf("A Send: %v", err)
		}
		if _, err := b.Send(sb, c, []byte(msgB)); err != nil {
			t.Fatalf("B Send: %v", err)
		}
		waitFor(t, func() bool {
			recvA.mu.Lock()
			defer recvA.mu.Unlock()
			recvB.mu.Lock()
			defer recvB.mu.Unlock()
			return slices.Contains(recvB.got[c], msgA) && slices.Contains(recvA.got[c], msgB)
		})
		la, lr, err := a.SelectedPair(sa, c)
		if err != nil {
			t.Fatal(err)
		}
		if la.Addr.Addr() != loopback || lr.Addr.Addr() != loopback {
			t.Errorf("selected pair %v -> %v, want loopback", la, lr)
		}
	}
	// Signal order per component: GATHERING, then candidates, gathering
	// done, CONNECTING, CONNECTED, selected pair, READY.
	for _, r := range []*recorder{ra, rb} {
		ev := r.snapshot()
		for c := 1; c <= ncomp; c++ {
			want := []string{
				fmt.Sprintf("state s1 c%d gathering", c),
				fmt.Sprintf("new-candidate s1 c%d host", c),
				"gathering-done s1",
				fmt.Sprintf("state s1 c%d connecting", c),
				fmt.Sprintf("state s1 c%d connected", c),
				fmt.Sprintf("selected-pair s1 c%d", c),
				fmt.Sprintf("state s1 c%d ready", c),
			}
			if err := inOrder(ev, want); err != nil {
				t.Errorf("signals: %v\nall: %q", err, ev)
			}
		}
		if !slices.Contains(ev, "initial-binding-request s1") {
			t.Errorf("no initial-binding-request-received: %q", ev)
		}
	}
}

// inOrder checks that want appears in ev as a subsequence.
func inOrder(ev, want []string) error {
	i := 0
	for _, e := range ev {
		if i < len(want) && e == want[i] {
			i++
		}
	}
	if i < len(want) {
		return fmt.Errorf("missing %q (after %q)", want[i], want[:i])
	}
	return nil
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	waitUntil(t, 5*time.Second, cond, func() string { return "condition not met in 5s" })
}

// waitUntil polls cond until it holds, or fails t with why() after
// timeout.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, why func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(why())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInvalidIDs(t *testing.T) {
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	sid, _ := a.AddStream(2)
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"GatherCandidates bad stream", a.GatherCandidates(99), nice.ErrInvalidStream},
		{"SetRemoteCredentials bad stream", a.SetRemoteCredentials(0, "abcd", "0123456789012345678901"), nice.ErrInvalidStream},
		{"SetRemoteCredentials bad chars", a.SetRemoteCredentials(sid, "a b", "pwd"), nice.ErrInvalidArgument},
		{"SetPortRange bad component", a.SetPortRange(sid, 3, 1000, 2000), nice.ErrInvalidComponent},
		{"SetPortRange inverted", a.SetPortRange(sid, 1, 2000, 1000), nice.ErrInvalidArgument},
		{"RemoveStream bad stream", a.RemoveStream(7), nice.ErrInvalidStream},
		{"AddLocalAddress invalid", a.AddLocalAddress(netip.Addr{}), nice.ErrInvalidArgument},
		{"PeerCandidateGatheringDone bad stream", a.PeerCandidateGatheringDone(5), nice.ErrInvalidStream},
		{"RestartStream bad stream", a.RestartStream(5), nice.ErrInvalidStream},
		{"ConsentLost bad component", a.ConsentLost(sid, 0), nice.ErrInvalidComponent},
	}
	_, err = a.AddStream(0)
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"AddStream 0 components", err, nice.ErrInvalidArgument})
	_, err = a.Send(sid, 3, []byte("x"))
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"Send bad component", err, nice.ErrInvalidComponent})
	_, err = a.Send(sid, 1, []byte("x"))
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"Send before a pair", err, nice.ErrNotReady})
	_, err = a.SetRemoteCandidates(sid, 1, []nice.Candidate{{Addr: netip.MustParseAddrPort("10.0.0.1:1")}})
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"SetRemoteCandidates priority 0", err, nice.ErrInvalidArgument})
	_, err = a.ParseRemoteSDP("m=text 9 ICE/SDP\nm=text 9 ICE/SDP\n")
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"ParseRemoteSDP more m= than streams", err, nice.ErrSDP})
	_, err = a.ParseRemoteCandidateSDP(sid, "a=candidate:1 3 UDP 1 10.0.0.1 1 typ host")
	cases = append(cases, struct {
		name string
		err  error
		want error
	}{"ParseRemoteCandidateSDP bad component", err, nice.ErrSDP})
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if st := a.ComponentState(42, 1); st != nice.ComponentStateFailed {
		t.Errorf("ComponentState of a bad stream = %v, want failed (as libnice)", st)
	}
}

// TestIPv6Loopback connects two agents over ::1.
func TestIPv6Loopback(t *testing.T) {
	if c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback}); err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	} else {
		c.Close()
	}
	v6 := netip.MustParseAddr("::1")
	mk := func(ctl bool) (*nice.Agent, *recorder, int) {
		a, err := nice.NewAgent(nice.Config{Controlling: ctl})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		r := newRecorder(a)
		_ = a.AddLocalAddress(v6)
		_ = a.AddLocalAddress(loopback) // both families: pairs stay within one
		sid, _ := a.AddStream(1)
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		r.waitGathered(t, sid)
		return a, r, sid
	}
	a, ra, sa := mk(true)
	b, rb, sb := mk(false)
	exchange(t, a, b, sa, sb, 1)
	exchange(t, b, a, sb, sa, 1)
	ra.waitState(t, sa, 1, nice.ComponentStateReady, 10*time.Second)
	rb.waitState(t, sb, 1, nice.ComponentStateReady, 10*time.Second)
	l, r, err := a.SelectedPair(sa, 1)
	if err != nil {
		t.Fatal(err)
	}
	if l.Addr.Addr().Is4() != r.Addr.Addr().Is4() {
		t.Errorf("selected pair mixes families: %v / %v", l, r)
	}
	// The IPv6 host candidate has the higher priority (listed later, as libnice).
	cs, _ := a.LocalCandidates(sa, 1)
	if len(cs) != 2 || cs[0].Priority >= cs[1].Priority {
		t.Errorf("candidates %v: want two, the later with the higher priority", cs)
	}
}

// TestLite: an ICE-lite agent answers checks and is selected by a full
// controlling agent; it never sends checks itself.
func TestLite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		full, rf, sf, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		lite, rl, sl, _ := e.agent("10.0.0.2", nice.Config{Lite: true, Controlling: true}, 1)
		defer full.Close()
		defer lite.Close()
		synctest.Wait()
		if lite.Controlling() {
			t.Fatal("a lite agent must be controlled")
		}
		exchange(t, full, lite, sf, sl, 1)
		exchange(t, lite, full, sl, sf, 1)
		time.Sleep(time.Second)
		synctest.Wait()
		if st := rf.state(sf, 1); st != nice.ComponentStateReady {
			t.Errorf("full agent = %v, want ready; %q", st, rf.all())
		}
		if st := rl.state(sl, 1); st != nice.ComponentStateReady {
			t.Errorf("lite agent = %v, want ready; %q", st, rl.all())
		}
		// Both stay up: the full agent's consent checks are answered.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if st := rf.state(sf, 1); st != nice.ComponentStateReady {
			t.Errorf("full agent after 2 min = %v, want ready", st)
		}
	})
}
