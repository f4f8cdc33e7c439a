// SPDX-License-Identifier: MIT

package nice_test

import (
	"fmt"
	"net/netip"
	"sync"

	"github.com/gonice/gonice/nice"
)

// An ICE-lite server on one UDP port: its agent for a session is made when
// the client's first check arrives, with the credentials the server's
// signalling handed out. The client is an ordinary agent.
func ExampleUDPMux() {
	lo := netip.MustParseAddr("127.0.0.1")
	mux, err := nice.NewUDPMux(netip.AddrPortFrom(lo, 0), nice.UDPMuxConfig{})
	if err != nil {
		panic(err)
	}
	defer mux.Close() // after the agents: deferred first, runs last

	// What the signalling agreed: the server's credentials for the
	// session, and the client's password.
	const srvUfrag, srvPwd, cliPwd = "sess1", "serversecret22chars0000", "clientsecret22chars0000"
	var (
		mu     sync.Mutex
		server *nice.Agent
	)
	serverReady := make(chan struct{})
	mux.OnUnknownUfrag(func(u nice.UnknownCheck) { // on the mux's reader: do not block
		mu.Lock()
		defer mu.Unlock()
		if u.LocalUfrag != srvUfrag || server != nil {
			return // not a session of ours
		}
		a, err := nice.NewAgent(nice.Config{Lite: true, Muxes: []*nice.UDPMux{mux}})
		if err != nil {
			panic(err)
		}
		a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				close(serverReady)
			}
		})
		sid, _ := a.AddStream(1)
		must(a.SetLocalCredentials(sid, srvUfrag, srvPwd))
		must(a.SetRemoteCredentials(sid, u.RemoteUfrag, cliPwd))
		must(a.GatherCandidates(sid)) // on the mux now: this check is delivered to it
		server = a
	})

	client, _ := nice.NewAgent(nice.Config{Controlling: true})
	defer client.Close()
	clientReady := make(chan struct{})
	client.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			close(clientReady)
		}
	})
	must(client.AddLocalAddress(lo))
	cs, _ := client.AddStream(1)
	must(client.SetLocalCredentials(cs, "cli1", cliPwd))
	must(client.SetRemoteCredentials(cs, srvUfrag, srvPwd))
	must(client.GatherCandidates(cs))
	// The server's one candidate: the mux's address.
	host := nice.Candidate{Type: nice.CandidateTypeHost, Transport: nice.TransportUDP, Addr: mux.LocalAddr(),
		ComponentID: 1, Foundation: "1", Priority: 2130706431}
	if _, err := client.SetRemoteCandidates(cs, 1, []nice.Candidate{host}); err != nil {
		panic(err)
	}
	<-serverReady
	<-clientReady
	mu.Lock()
	defer server.Close()
	mu.Unlock()
	fmt.Println("connected; checks for unknown ufrags:", mux.Stats().UnknownUfrag)
	// Output:
	// connected; checks for unknown ufrags: 0
}

// must panics on an error: an example that failed must not wait forever.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
