// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonice/gonice/nice"
)

// The mux test (tests/bench/README.md, "mux"): server mode. Server agents
// share one nice.UDPMux on 127.0.0.1, each made by the mux's
// OnUnknownUfrag function when its client's first check arrives (the
// libjuice shape: the server knows the credentials it handed out, not
// yet the agent). Clients are agents on muxes of their own, 100 per mux,
// each mux on an address of 127.2.0.0/16, so that the process has one
// socket for every server agent and one per 100 clients. Between two
// muxes everything is STUN (checks by ufrag, responses by transaction),
// so 100 clients may share a client mux while idle; a pair that carries
// data needs a client address of its own (the latency pair below).

const (
	muxClientsPerMux = 100
	muxServerPwd     = "serverpasswordof22chars"
	muxClientPwd     = "clientpasswordof22chars"
)

// muxServerUfrag names server agent i.
func muxServerUfrag(i int) string { return fmt.Sprintf("s%06d", i) }

// muxScale runs the test: connect o.agents/2 pairs at most 256 at a
// time (the connect rate), then the idle figures of idleMeasure's kind
// over every agent, a consent probe over a sample, and Send's latency on
// a pair whose server is on the mux, with one agent and with all.
func muxScale(o options) {
	n := o.agents / 2
	base := takeSnapshot()
	srv, err := nice.NewUDPMux(netip.AddrPortFrom(loopback, 0), nice.UDPMuxConfig{})
	if err != nil {
		fatalf("server mux: %v", err)
	}
	defer srv.Close()
	serverCfg := nice.Config{Lite: o.lite, Muxes: []*nice.UDPMux{srv}, DisableConsentFreshness: consentOff}

	// Send latency with one agent on the mux (before the others).
	lat1 := muxSendLatency(serverCfg, o.sends)

	servers := make([]*nice.Agent, n)
	serverReady := make([]chan time.Time, n)
	for i := range serverReady {
		serverReady[i] = make(chan time.Time, 1)
	}
	var made, refused atomic.Int64
	srv.OnUnknownUfrag(func(u nice.UnknownCheck) {
		i, ok := muxServerIndex(u.LocalUfrag, n)
		if !ok || servers[i] != nil { // servers[i] is written only here, on the mux's reader
			refused.Add(1)
			return
		}
		a, sid, err := muxAgent(serverCfg, serverReady[i], u.LocalUfrag, muxServerPwd, u.RemoteUfrag, muxClientPwd)
		if err != nil {
			fatalf("server agent %d: %v", i, err)
		}
		_ = sid
		servers[i] = a
		made.Add(1)
	})

	nClientMuxes := (n + muxClientsPerMux - 1) / muxClientsPerMux
	clientMuxes := make([]*nice.UDPMux, nClientMuxes)
	for k := range clientMuxes {
		addr := netip.AddrFrom4([4]byte{127, 2, byte(k / 250), byte(k%250 + 1)})
		if clientMuxes[k], err = nice.NewUDPMux(netip.AddrPortFrom(addr, 0), nice.UDPMuxConfig{}); err != nil {
			fatalf("client mux %v: %v", addr, err)
		}
		defer clientMuxes[k].Close()
	}
	host := nice.Candidate{Type: nice.CandidateTypeHost, Transport: nice.TransportUDP, Addr: srv.LocalAddr(),
		ComponentID: 1, Foundation: "1", Priority: 2130706431}

	// Connect: at most 256 clients connecting at once, in two parts: the
	// first 5,000 pairs (10,000 agents: Send's latency is timed with them,
	// the figure), then the rest. The connect rate counts the
	// time of both parts, not the timing between them.
	clients := make([]*nice.Agent, n)
	csids := make([]int, n)
	var lastReady time.Time
	var mu sync.Mutex
	sem := make(chan struct{}, 256)
	rb0 := rcvbufErrors()
	connect := func(from, to int) time.Duration {
		if from >= to {
			return 0
		}
		var wg sync.WaitGroup
		var phaseReady time.Time
		start := time.Now()
		for i := from; i < to; i++ {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				ready := make(chan time.Time, 1)
				cfg := nice.Config{Controlling: true, Muxes: []*nice.UDPMux{clientMuxes[i/muxClientsPerMux]}, DisableConsentFreshness: consentOff}
				a, sid, err := muxAgent(cfg, ready, fmt.Sprintf("c%06d", i), muxClientPwd, muxServerUfrag(i), muxServerPwd)
				if err != nil {
					fatalf("client %d: %v", i, err)
				}
				if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{host}); err != nil {
					fatalf("client %d: %v", i, err)
				}
				clients[i], csids[i] = a, sid
				timeout := time.After(30 * time.Second)
				var last time.Time
				for _, ch := range []chan time.Time{ready, serverReady[i]} {
					select {
					case t := <-ch:
						last = later(last, t)
					case <-timeout:
						cst := a.ComponentState(sid, 1)
						fatalf("pair %d did not become READY in 30 s: client %v, %d server agents made so far; server mux %+v; UDP receive-buffer drops since the start %d",
							i, cst, made.Load(), srv.Stats(), rcvbufErrors()-rb0)
					}
				}
				mu.Lock()
				lastReady = later(lastReady, last)
				phaseReady = later(phaseReady, last)
				mu.Unlock()
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return phaseReady.Sub(start)
	}
	first := min(n, 5000)
	took := connect(0, first)
	lat10k := muxSendLatency(serverCfg, o.sends)
	took += connect(first, n)
	connectSeconds := took.Seconds()
	rbConnect := rcvbufErrors() - rb0

	// Idle: memory, then CPU over the window, as idleMeasure.
	time.Sleep(time.Until(lastReady.Add(secs(o.memAt))))
	s := takeSnapshot()
	writeProfiles()
	time.Sleep(time.Until(lastReady.Add(secs(o.cpuFrom))))
	stop := startCPUProfile()
	c0, w0, rb1 := cpuUS(), time.Now(), rcvbufErrors()
	time.Sleep(time.Until(lastReady.Add(secs(o.cpuTo))))
	c1, w1, rbIdle := cpuUS(), time.Now(), rcvbufErrors()-rb1
	stop()
	st := srv.Stats()

	// Consent timing over a sample of pairs (both sides if the servers
	// check consent; clients always do).
	var sample []*gnPair
	for i := 0; i < n; i += max(1, n/2000) {
		sample = append(sample, &gnPair{a: clients[i], sa: csids[i], b: servers[i], sb: 1})
	}
	var consent map[string]any
	if !consentOff {
		consent = consentProbe(sample, secs(o.probeFor), !o.lite)
	}
	latN := muxSendLatency(serverCfg, o.sends)

	ready := 0
	for i := range n {
		if clients[i].ComponentState(csids[i], 1) == nice.ComponentStateReady {
			ready++
		}
		if servers[i].ComponentState(1, 1) == nice.ComponentStateReady {
			ready++
		}
	}
	emit(map[string]any{
		"pairs": n, "agents": 2 * n, "server_agents": made.Load(), "refused": refused.Load(),
		"client_muxes": nClientMuxes, "lite": o.lite,
		"connect_s": connectSeconds, "connect_rate": float64(n) / connectSeconds,
		"rss_kb": s.rss - base.rss, "heap_kb": s.heap - base.heap,
		"fds": s.fds - base.fds, "threads": s.threads - base.threads, "goroutines": s.gorouts - base.gorouts,
		"cpu_us": c1 - c0, "cpu_seconds": w1.Sub(w0).Seconds(),
		"rcvbuf_errors_connect": rbConnect, "rcvbuf_errors_idle": rbIdle,
		"mux_received": st.Received, "mux_batches": st.Batches, "mux_unknown": st.UnknownUfrag, "mux_noroute": st.NoRoute,
		"consent": consent, "still_ready": ready,
		"send_p50_us_1": lat1[0], "send_p99_us_1": lat1[1], "send_p50_us_n": latN[0], "send_p99_us_n": latN[1],
		"send_p50_us_10k": lat10k[0], "send_p99_us_10k": lat10k[1], "send_agents_10k": 2*first + 2,
	})
	var cw sync.WaitGroup
	for i := range n {
		cw.Go(func() { clients[i].Close(); servers[i].Close() })
	}
	cw.Wait()
}

// muxServerIndex parses a server ufrag.
func muxServerIndex(ufrag string, n int) (int, bool) {
	if !strings.HasPrefix(ufrag, "s") {
		return 0, false
	}
	i, err := strconv.Atoi(ufrag[1:])
	return i, err == nil && i >= 0 && i < n
}

// muxAgent makes an agent with one stream of one component, with the
// given local credentials (empty: generated) and remote ones, gathered;
// ready gets the time it is READY.
func muxAgent(cfg nice.Config, ready chan<- time.Time, ufrag, pwd, rufrag, rpwd string) (*nice.Agent, int, error) {
	a, err := nice.NewAgent(cfg)
	if err != nil {
		return nil, 0, err
	}
	var once sync.Once
	a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			now := time.Now()
			once.Do(func() { ready <- now })
		}
	})
	sid, err := a.AddStream(1)
	if err == nil && ufrag != "" {
		err = a.SetLocalCredentials(sid, ufrag, pwd)
	}
	if err == nil {
		err = a.SetRemoteCredentials(sid, rufrag, rpwd)
	}
	if err == nil {
		err = a.GatherCandidates(sid)
	}
	if err != nil {
		a.Close()
		return nil, 0, err
	}
	return a, sid, nil
}

// muxSendLatency connects one pair, the server on the mux (cfg) and the
// client on a socket of its own, and times sends Sends of 1200 bytes from
// the server, 2,000 a second: the p50 and p99 of a Send call in µs
// (Janus #1625 timed nice_agent_send).
func muxSendLatency(cfg nice.Config, sends int) [2]float64 {
	readyA, readyB := make(chan time.Time, 1), make(chan time.Time, 1)
	scfg := cfg
	scfg.Lite = false // the pair connects by signalled candidates, both full
	p := &gnPair{}
	var err error
	if p.b, p.sb, err = gnAgent(nice.Config{DisableConsentFreshness: consentOff}, readyB); err != nil {
		fatalf("latency client: %v", err)
	}
	defer p.b.Close()
	a, err := nice.NewAgent(scfg)
	if err != nil {
		fatalf("latency server: %v", err)
	}
	defer a.Close()
	var once sync.Once
	a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			once.Do(func() { readyA <- time.Now() })
		}
	})
	ss, err := a.AddStream(1)
	if err == nil {
		err = a.GatherCandidates(ss)
	}
	if err != nil {
		fatalf("latency server: %v", err)
	}
	p.a, p.sa = a, ss
	ua, pa, _ := p.a.LocalCredentials(p.sa)
	ub, pb, _ := p.b.LocalCredentials(p.sb)
	ca, _ := p.a.LocalCandidates(p.sa, 1)
	cb, _ := p.b.LocalCandidates(p.sb, 1)
	if err := errorsJoin(p.a.SetRemoteCredentials(p.sa, ub, pb), p.b.SetRemoteCredentials(p.sb, ua, pa)); err != nil {
		fatalf("latency pair: %v", err)
	}
	if _, err := p.a.SetRemoteCandidates(p.sa, 1, cb); err != nil {
		fatalf("latency pair: %v", err)
	}
	if _, err := p.b.SetRemoteCandidates(p.sb, 1, ca); err != nil {
		fatalf("latency pair: %v", err)
	}
	for _, ch := range []chan time.Time{readyA, readyB} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			fatalf("latency pair did not connect")
		}
	}
	var got atomic.Int64
	_ = p.b.AttachRecv(p.sb, 1, func(_, _ int, _ []byte) { got.Add(1) })
	buf := make([]byte, 1200)
	buf[0] = 0x80
	durs := make([]float64, 0, sends)
	tick := time.NewTicker(500 * time.Microsecond)
	defer tick.Stop()
	for range sends {
		<-tick.C
		t := time.Now()
		if _, err := p.a.Send(p.sa, 1, buf); err != nil {
			fatalf("latency Send: %v", err)
		}
		durs = append(durs, float64(time.Since(t).Nanoseconds())/1e3)
	}
	slices.Sort(durs)
	return [2]float64{durs[len(durs)/2], durs[len(durs)*99/100]}
}

// errorsJoin returns the first non-nil error.
func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
