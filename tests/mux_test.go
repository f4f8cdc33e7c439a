// SPDX-License-Identifier: MIT

package tests

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// The interop tests' agents on a nice.UDPMux: TestLibniceMux
// (libnice_test.go) and the mux cases of TestPionInterop.

// sharedMux returns a mux on addr that two other gonice agents, connected
// to each other (one on the mux), already use, so that the agent under
// test is not alone on it. t's cleanup closes them and the mux (after the
// agent under test, whose cleanup is registered later).
func sharedMux(t *testing.T, addr netip.Addr) *nice.UDPMux {
	t.Helper()
	m, neighbour := muxWithNeighbour(t, addr)
	t.Cleanup(func() { closeAgents(t, neighbour...); m.Close() })
	return m
}

// muxWithNeighbour opens a mux on addr and connects a gonice agent on it
// to one with a socket of its own, on addr; it returns the mux and the
// two agents, for the caller to close.
func muxWithNeighbour(t *testing.T, addr netip.Addr) (*nice.UDPMux, []*nice.Agent) {
	t.Helper()
	m, err := nice.NewUDPMux(netip.AddrPortFrom(addr, 0), nice.UDPMuxConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var agents []*nice.Agent
	ready := make(chan struct{}, 2)
	gathered := make(chan struct{}, 2)
	sids := make([]int, 2)
	for i, cfg := range []nice.Config{{Controlling: true}, {Muxes: []*nice.UDPMux{m}}} {
		a, err := nice.NewAgent(cfg)
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a)
		a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				ready <- struct{}{}
			}
		})
		var once sync.Once
		a.OnCandidateGatheringDone(func(int) { once.Do(func() { gathered <- struct{}{} }) })
		if err := a.AddLocalAddress(addr); err != nil {
			t.Fatal(err)
		}
		if sids[i], err = a.AddStream(1); err != nil {
			t.Fatal(err)
		}
		if err := a.GatherCandidates(sids[i]); err != nil {
			t.Fatal(err)
		}
	}
	<-gathered
	<-gathered
	for i, j := range []int{1, 0} {
		u, p, _ := agents[i].LocalCredentials(sids[i])
		cands, _ := agents[i].LocalCandidates(sids[i], 1)
		if err := agents[j].SetRemoteCredentials(sids[j], u, p); err != nil {
			t.Fatal(err)
		}
		if _, err := agents[j].SetRemoteCandidates(sids[j], 1, cands); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case <-ready:
		case <-time.After(interopTimeout):
			t.Fatal("the mux's neighbour pair did not connect")
		}
	}
	return m, agents
}

// closeAgents closes agents and waits until they are done.
func closeAgents(t *testing.T, agents ...*nice.Agent) {
	for _, a := range agents {
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-a.Done()
	}
}
