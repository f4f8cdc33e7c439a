// SPDX-License-Identifier: MIT

package nice_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
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

// exchange gives each agent the other's credentials and candidates.
func exchange(t *testing.T, from, to *nice.Agent, fromSID, toSID, ncomp int) {
	t.Helper()
	u, p, err := from.LocalCredentials(fromSID)
	if err != nil {
		t.Fatal(err)
	}
	if err := to.SetRemoteCredentials(toSID, u, p); err != nil {
		t.Fatal(err)
	}
	for c := 1; c <= ncomp; c++ {
		cands, err := from.LocalCandidates(fromSID, c)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := to.SetRemoteCandidates(toSID, c, cands); err != nil || n != len(cands) {
			t.Fatalf("SetRemoteCandidates = %d, %v; want %d", n, err, len(cands))
		}
	}
}

var loopback = netip.MustParseAddr("127.0.0.1")

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
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestRecvAndConn(t *testing.T) {
	a, ra, sa := newLoopbackAgent(t, nice.Config{Controlling: true}, 1)
	b, rb, sb := newLoopbackAgent(t, nice.Config{}, 1)
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}} {
		if err := x.ag.GatherCandidates(x.sid); err != nil {
			t.Fatal(err)
		}
	}
	ra.waitGathered(t, sa)
	rb.waitGathered(t, sb)
	exchange(t, a, b, sa, sb, 1)
	exchange(t, b, a, sb, sa, 1)
	ra.waitState(t, sa, 1, nice.ComponentStateReady, 10*time.Second)
	rb.waitState(t, sb, 1, nice.ComponentStateReady, 10*time.Second)

	conn, err := b.Conn(sb, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 1, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := conn.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	n, err = a.Recv(sa, 1, buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("Recv = %q, %v", buf[:n], err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := conn.Read(buf); err == nil || !errors.Is(err, nice.ErrTimeout) {
		t.Fatalf("Read after deadline = %v, want timeout", err)
	}
	// Recv unblocks on Close.
	done := make(chan error, 1)
	go func() {
		_, err := a.Recv(sa, 1, buf)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, nice.ErrClosed) {
			t.Fatalf("Recv after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return after Close")
	}
	if _, err := a.AddStream(1); !errors.Is(err, nice.ErrClosed) {
		t.Fatalf("AddStream after Close = %v, want ErrClosed", err)
	}
	_ = bytes.MinRead
	_ = strings.TrimSpace
}

// TestSendMessages: a batch of datagrams crosses in order and whole, in
// several sendmmsg calls (more than one batch's worth), and before a pair
// is selected SendMessages fails as Send does.
func TestSendMessages(t *testing.T) {
	lone, _, sl := newLoopbackAgent(t, nice.Config{}, 1)
	if n, err := lone.SendMessages(sl, 1, [][]byte{[]byte("early")}); n != 0 || !errors.Is(err, nice.ErrNotReady) {
		t.Fatalf("SendMessages before READY = %d, %v; want 0, ErrNotReady", n, err)
	}
	if _, err := lone.SendMessages(sl, 7, nil); !errors.Is(err, nice.ErrInvalidComponent) {
		t.Fatalf("SendMessages to component 7 = %v, want ErrInvalidComponent", err)
	}
	a, b, sa, sb := connectedPair(t, 1, nice.Config{Controlling: true}, nice.Config{})

	const count = 150 // three sendmmsg calls of at most 64
	got := make(chan string, count)
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("message %03d %s", i, strings.Repeat("x", i)))
	}
	if n, err := a.SendMessages(sa, 1, msgs); n != count || err != nil {
		t.Fatalf("SendMessages = %d, %v; want %d, nil", n, err, count)
	}
	for i := range count {
		select {
		case s := <-got:
			if s != string(msgs[i]) {
				t.Fatalf("datagram %d = %q, want %q", i, s, msgs[i])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d datagrams arrived", i, count)
		}
	}
	if n, err := a.SendMessages(sa, 1, nil); n != 0 || err != nil {
		t.Fatalf("SendMessages of nothing = %d, %v", n, err)
	}
}
