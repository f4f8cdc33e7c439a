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
