// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(ents)
}

// TestCloseReleasesEverything: after Close no goroutine and no socket of
// the agents is left, and every method reports ErrClosed.
func TestCloseReleasesEverything(t *testing.T) {
	fds, gs := openFDs(t), runtime.NumGoroutine()
	a, b, sa, _ := connectedPair(t, 2, nice.Config{Controlling: true}, nice.Config{})
	if n := openFDs(t); n < fds+4 {
		t.Fatalf("%d fds open with two 2-component agents, want at least %d", n, fds+4)
	}
	a.Close()
	b.Close()
	a.Close() // idempotent
	checkNoLeak(t, gs)
	if n := openFDs(t); n > fds {
		t.Errorf("%d fds open after Close, %d before", n, fds)
	}
	if _, err := a.Send(sa, 1, []byte("x")); !errors.Is(err, nice.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := a.GatherCandidates(sa); !errors.Is(err, nice.ErrClosed) {
		t.Errorf("GatherCandidates after Close = %v, want ErrClosed", err)
	}
	if st := a.ComponentState(sa, 1); st != nice.ComponentStateFailed {
		t.Errorf("ComponentState after Close = %v, want failed", st)
	}
}

// TestCloseFromCallback: a signal handler may close its own agent.
func TestCloseFromCallback(t *testing.T) {
	gs := runtime.NumGoroutine()
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	a.OnCandidateGatheringDone(func(int) {
		a.Close()
		close(closed)
	})
	_ = a.AddLocalAddress(loopback)
	sid, _ := a.AddStream(1)
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close from a handler did not return")
	}
	a.Close()
	checkNoLeak(t, gs)
}

// TestCloseFromReceiveFunction: a receive function may close its own
// agent; Close returns there without waiting for the function's goroutine,
// and Done is closed once the function has returned.
func TestCloseFromReceiveFunction(t *testing.T) {
	gs := runtime.NumGoroutine()
	a, b, sa, sb := connectedPair(t, 1, nice.Config{Controlling: true}, nice.Config{})
	returned := make(chan struct{})
	if err := b.AttachRecv(sb, 1, func(int, int, []byte) {
		b.Close()
		close(returned)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 1, []byte("close")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Close from a receive function did not return")
	}
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the receive function returned")
	}
	a.Close()
	<-a.Done()
	checkNoLeak(t, gs)
}

// TestCloseDoesNotWaitForUserCode: Close from another goroutine does not
// wait for a receive function that blocks, and Done waits for it.
func TestCloseDoesNotWaitForUserCode(t *testing.T) {
	a, b, sa, sb := connectedPair(t, 1, nice.Config{Controlling: true}, nice.Config{})
	entered, release := make(chan struct{}), make(chan struct{})
	var once bool
	if err := b.AttachRecv(sb, 1, func(int, int, []byte) {
		if !once {
			once = true
			close(entered)
			<-release
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 1, []byte("block")); err != nil {
		t.Fatal(err)
	}
	<-entered
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a blocked receive function")
	}
	select {
	case <-b.Done():
		t.Fatal("Done closed while a receive function still runs")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case <-b.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the receive function returned")
	}
}
