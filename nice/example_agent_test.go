// SPDX-License-Identifier: MIT

package nice_test

import (
	"fmt"
	"net/netip"

	"github.com/gonice/gonice/nice"
)

// Two agents in one process connect on loopback and send a message.
func Example() {
	newPeer := func(controlling bool) (*nice.Agent, int, chan struct{}, chan struct{}) {
		a, err := nice.NewAgent(nice.Config{Controlling: controlling})
		if err != nil {
			panic(err)
		}
		gathered, ready := make(chan struct{}), make(chan struct{})
		a.OnCandidateGatheringDone(func(int) { close(gathered) })
		a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				close(ready)
			}
		})
		_ = a.AddLocalAddress(netip.MustParseAddr("127.0.0.1"))
		sid, _ := a.AddStream(1)
		if err := a.GatherCandidates(sid); err != nil {
			panic(err)
		}
		return a, sid, gathered, ready
	}
	left, ls, lg, lr := newPeer(true)
	right, rs, rg, rr := newPeer(false)
	defer left.Close()
	defer right.Close()
	<-lg
	<-rg

	// The signalling: here, each agent's SDP handed to the other.
	if _, err := right.ParseRemoteSDP(left.GenerateLocalSDP()); err != nil {
		panic(err)
	}
	if _, err := left.ParseRemoteSDP(right.GenerateLocalSDP()); err != nil {
		panic(err)
	}
	<-lr
	<-rr

	got := make(chan string)
	_ = right.AttachRecv(rs, 1, func(_, _ int, p []byte) { got <- string(p) })
	if _, err := left.Send(ls, 1, []byte("hello over ICE")); err != nil {
		panic(err)
	}
	fmt.Println(<-got)
	fmt.Println(left.ComponentState(ls, 1), right.ComponentState(rs, 1))
	// Output:
	// hello over ICE
	// ready ready
}

// The SDP of a stream, as libnice writes it.
func ExampleAgent_GenerateLocalCandidateSDP() {
	a, _ := nice.NewAgent(nice.Config{})
	defer a.Close()
	c := nice.Candidate{
		Type:        nice.CandidateTypeServerReflexive,
		Addr:        netip.MustParseAddrPort("203.0.113.7:61000"),
		Base:        netip.MustParseAddrPort("192.168.1.2:5000"),
		Priority:    1694498815,
		Foundation:  "2",
		ComponentID: 1,
	}
	fmt.Println(a.GenerateLocalCandidateSDP(c))
	// Output:
	// a=candidate:2 1 UDP 1694498815 203.0.113.7 61000 typ srflx raddr 192.168.1.2 rport 5000
}

// ComponentState values and names are libnice's.
func ExampleComponentState() {
	for s := nice.ComponentStateDisconnected; s <= nice.ComponentStateFailed; s++ {
		fmt.Println(int(s), s)
	}
	// Output:
	// 0 disconnected
	// 1 gathering
	// 2 connecting
	// 3 connected
	// 4 ready
	// 5 failed
}
