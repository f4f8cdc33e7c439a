// SPDX-License-Identifier: MIT

package tests

// ICE-TCP (RFC 6544) interop: gonice with Config{ICETCP: true, DisableUDP:
// true} against libnice 0.1.21 (tests/libnice/peer --ice-tcp --no-udp) and
// pion/ice v4 (newPionTCPAgent), TCP host candidates only on 127.0.0.1, in
// both roles, with the direction of the TCP connection left to the agents
// and forced both ways (a side that is not told the other's passive
// candidates cannot connect, so it can only be the passive end). The other
// side of every case is proven on its own in tcp_helpers_test.go
// (TestLibniceTCPSelf, TestPionTCPSelf, TestPionLibniceTCP).

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/pion/ice/v4"
)

// peerTransportName is the peer's TRANSPORTS name of a transport.
func peerTransportName(t nice.Transport) string {
	switch t {
	case nice.TransportUDP:
		return "udp"
	case nice.TransportTCPActive:
		return "tcp-active"
	case nice.TransportTCPPassive:
		return "tcp-passive"
	case nice.TransportTCPSO:
		return "tcp-so"
	}
	return "invalid"
}

// checkGoniceTCPPair checks gonice's selected pair of a component: both
// candidates TCP, one active and the other passive, gonice's end the one
// that dir wants (tcpFirstDials: gonice dials, so its local candidate is
// active; tcpSecondDials: the peer dials). It returns the pair.
func checkGoniceTCPPair(t *testing.T, ga *nice.Agent, sid, comp int, dir tcpDirection) (local, remote nice.Candidate) {
	t.Helper()
	local, remote, err := ga.SelectedPair(sid, comp)
	if err != nil {
		t.Fatalf("gonice SelectedPair(%d, %d): %v", sid, comp, err)
	}
	ok := local.Transport == nice.TransportTCPActive && remote.Transport == nice.TransportTCPPassive ||
		local.Transport == nice.TransportTCPPassive && remote.Transport == nice.TransportTCPActive
	if !ok {
		t.Errorf("component %d: gonice selected %v -> %v: want TCP, one end active and the other passive", comp, local, remote)
	}
	switch dir {
	case tcpFirstDials:
		if local.Transport != nice.TransportTCPActive {
			t.Errorf("component %d: gonice selected %v -> %v, but only gonice can connect: want its active candidate", comp, local, remote)
		}
	case tcpSecondDials:
		if local.Transport != nice.TransportTCPPassive {
			t.Errorf("component %d: gonice selected %v -> %v, but only the peer can connect: want gonice's passive candidate", comp, local, remote)
		}
	case tcpEither:
	}
	for _, c := range []nice.Candidate{local, remote} {
		if c.Addr.Addr() != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("component %d: gonice's selected pair has %v, not on 127.0.0.1", comp, c)
		}
	}
	// The remote end of a pair is a connection's: never the discard port.
	if remote.Addr.Port() == 9 || remote.Addr.Port() == 0 {
		t.Errorf("component %d: gonice's selected remote candidate %v has port %d: the active end's address must be its connection's", comp, remote, remote.Addr.Port())
	}
	return local, remote
}

// sameLocalEnd compares gonice's local candidate with the peer's view of
// it. A passive end's address is the listener's, exactly. gonice's active
// end may be shown as its host candidate (port 9 as in SDP, or 0) or as the
// connection's address, which is what the peer sees.
func sameLocalEnd(gl nice.Candidate, peerView netip.AddrPort) bool {
	if gl.Transport == nice.TransportTCPActive && gl.Addr.Addr() == peerView.Addr() && (gl.Addr.Port() == 9 || gl.Addr.Port() == 0) {
		return true
	}
	return gl.Addr == peerView
}

// TestLibniceTCP: gonice and libnice 0.1.21 over ICE-TCP only (UDP off on
// both sides) on 127.0.0.1: gonice controlling and controlled, 1 and 2
// components, the connection's direction left to the agents, gonice
// dialing libnice's passive candidate, and libnice dialing gonice's. Both
// reach READY, select the same pair (TCP, active at one end and passive at
// the other, on both views), and data crosses both ways on every component.
func TestLibniceTCP(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	for _, controlling := range []bool{true, false} {
		for _, comps := range []int{1, 2} {
			for _, dir := range []tcpDirection{tcpEither, tcpFirstDials, tcpSecondDials} {
				name := map[tcpDirection]string{tcpEither: "either-dials", tcpFirstDials: "gonice-dials", tcpSecondDials: "libnice-dials"}[dir]
				t.Run(fmt.Sprintf("gonice-%s/%dcomp/%s", roleName(controlling), comps, name), func(t *testing.T) {
					runLibniceTCP(t, bin, controlling, comps, dir)
				})
			}
		}
	}
}

// newGoniceTCPAgent makes a gonice agent with TCP host candidates only
// and its debug log in log.
func newGoniceTCPAgent(controlling bool, log *lockedBuffer) (*nice.Agent, error) {
	return nice.NewAgent(nice.Config{
		Controlling: controlling,
		ICETCP:      true,
		DisableUDP:  true,
		Logger:      slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
}

// runLibniceTCP runs one case; in dir, gonice is the first agent.
func runLibniceTCP(t *testing.T, bin string, goniceControlling bool, comps int, dir tcpDirection) {
	s := newSession()
	var (
		peer          *libnicePeer
		libSDP, goSDP string
	)
	goniceLog := &lockedBuffer{}
	logLibniceOnFailure(t, &peer, &libSDP, &goSDP, goniceLog) // registered first, so it runs last
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The gonice agent: TCP host candidates only, one stream "text".
	ga, err := newGoniceTCPAgent(goniceControlling, goniceLog)
	check(err)
	t.Cleanup(func() {
		if err := ga.Close(); err != nil {
			t.Errorf("gonice Close: %v", err)
		}
	})
	check(ga.AddLocalAddress(netip.MustParseAddr("127.0.0.1")))
	sid, err := ga.AddStream(comps)
	check(err)
	check(ga.SetStreamName(sid, "text"))
	ga.OnCandidateGatheringDone(func(int) { s.update(func() { s.gonice.gathered = true }) })
	ga.OnComponentStateChanged(func(_, c int, st nice.ComponentState) {
		s.update(func() { s.gonice.setState(c, st.String()) })
	})
	ga.OnNewSelectedPair(func(_, c int, l, r nice.Candidate) {
		s.update(func() {
			s.gonice.selected[c] = l.Addr.String() + " " + r.Addr.String()
			s.gonice.pairTransports[c] = peerTransportName(l.Transport) + " " + peerTransportName(r.Transport)
		})
	})
	ga.OnNewRemoteCandidate(func(nice.Candidate) { s.update(func() { s.gonice.prflx++ }) })
	for c := 1; c <= comps; c++ {
		check(ga.AttachRecv(sid, c, func(_, c int, p []byte) {
			text := string(p)
			s.update(func() { s.gonice.recv[c] = append(s.gonice.recv[c], text) })
		}))
	}
	check(ga.GatherCandidates(sid))

	peer = startLibnicePeer(t, bin, s, libniceTCPArgs(!goniceControlling, comps, "127.0.0.1")...)
	check(s.waitFor("both agents to gather", func() (bool, error) {
		return s.gonice.gathered && s.libnice.gathered, s.peerError()
	}))
	s.read(func() { libSDP = s.libniceSDP })
	goSDP = ga.GenerateLocalSDP()
	checkTCPOnlySDP(t, "gonice", goSDP, comps)
	checkTCPOnlySDP(t, "libnice", libSDP, comps)
	for c := 1; c <= comps; c++ {
		cands, err := ga.LocalCandidates(sid, c)
		check(err)
		var act, pas int
		for _, lc := range cands {
			switch {
			case lc.Transport == nice.TransportTCPActive && lc.Type == nice.CandidateTypeHost:
				act++
			case lc.Transport == nice.TransportTCPPassive && lc.Type == nice.CandidateTypeHost && lc.Addr.Port() != 0 && lc.Addr.Port() != 9:
				pas++
			default:
				t.Errorf("gonice local candidate %v: want a TCP host candidate, active or passive (listening)", lc)
			}
		}
		if act != 1 || pas != 1 {
			t.Errorf("gonice component %d: %d active and %d passive local candidates, want 1 and 1", c, act, pas)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Signalling, libnice first: libnice 0.1.21 as controlling agent in
	// its default aggressive nomination switches to regular nomination when
	// it is given a TCP candidate, but refuses the candidate if its own
	// checks have already started (agent.c, nice_agent_add_remote_candidate
	// path: "we have a TCP candidate, but conncheck has started already in
	// aggressive mode, ignore it").
	toGonice, toLibnice := libSDP, goSDP
	switch dir {
	case tcpFirstDials:
		toLibnice = withoutPassive(goSDP) // libnice cannot connect to gonice
	case tcpSecondDials:
		toGonice = withoutPassive(libSDP) // gonice cannot connect to libnice
	case tcpEither:
	}
	_, _, goCands := sdpParts(toLibnice)
	_, _, libCands := sdpParts(toGonice)
	start := time.Now()
	reply, err := peer.command("SDP " + base64.StdEncoding.EncodeToString([]byte(toLibnice)))
	if err != nil {
		t.Fatalf("libnice cannot parse gonice's SDP: %v", err)
	}
	if want := fmt.Sprintf("OK %d", len(goCands)); reply != want {
		t.Errorf("nice_agent_parse_remote_sdp of gonice's SDP: %q, want %q", reply, want)
	}
	n, err := ga.ParseRemoteSDP(toGonice)
	if err != nil {
		t.Fatalf("gonice ParseRemoteSDP of libnice's SDP: %v", err)
	}
	if n != len(libCands) {
		t.Errorf("gonice ParseRemoteSDP added %d candidates, libnice's SDP has %d", n, len(libCands))
	}

	noFailure := func() error {
		return errjoin(s.peerError(), errjoin(s.gonice.anyFailed("gonice", comps), s.libnice.anyFailed("libnice", comps)))
	}
	check(s.waitFor("READY on every component of both agents", func() (bool, error) {
		return s.gonice.reachedReady(comps) && s.libnice.reachedReady(comps), noFailure()
	}))
	var goReady, libReady time.Duration
	s.read(func() {
		goReady, libReady = s.gonice.lastReady(comps).Sub(start), s.libnice.lastReady(comps).Sub(start)
	})

	// Data, both ways, on every component.
	exchangeLibniceData(t, s, ga, sid, peer, comps, 1)

	// The same pair, TCP, seen from both ends.
	for c := 1; c <= comps; c++ {
		gl, gr := checkGoniceTCPPair(t, ga, sid, c, dir)
		var libSel, libTr, goTr string
		s.read(func() {
			libSel, libTr, goTr = s.libnice.selected[c], s.libnice.pairTransports[c], s.gonice.pairTransports[c]
		})
		if want := peerTransportName(gl.Transport) + " " + peerTransportName(gr.Transport); goTr != want {
			t.Errorf("component %d: gonice's last new-selected-pair had transports %q, SelectedPair %q", c, goTr, want)
		}
		ll, lr, _ := strings.Cut(libSel, " ")
		libLocal, err1 := netip.ParseAddrPort(ll)
		libRemote, err2 := netip.ParseAddrPort(lr)
		if err1 != nil || err2 != nil {
			t.Errorf("component %d: libnice selected %q", c, libSel)
			continue
		}
		if gr.Addr != libLocal || !sameLocalEnd(gl, libRemote) {
			t.Errorf("component %d: gonice selected %v -> %v, libnice %s -> %s: not the same pair", c, gl.Addr, gr.Addr, libLocal, libRemote)
		}
		if want := peerTransportName(gr.Transport) + " " + peerTransportName(gl.Transport); libTr != want {
			t.Errorf("component %d: libnice's pair transports %q, want %q (gonice's pair %v -> %v, reversed)", c, libTr, want, gl, gr)
		}
		t.Logf("component %d: gonice %s %s %s -> %s %s %s; libnice %s (%s); READY after %v (gonice), %v (libnice)", c,
			gl.Type, gl.Transport, gl.Addr, gr.Type, gr.Transport, gr.Addr, libSel, libTr,
			goReady.Round(time.Millisecond), libReady.Round(time.Millisecond))
	}
	// Still READY after the data, and again data both ways.
	exchangeLibniceData(t, s, ga, sid, peer, comps, 2)
	s.read(func() {
		for c := 1; c <= comps; c++ {
			if g, l := s.gonice.state[c], s.libnice.state[c]; g != "ready" || l != "ready" {
				t.Errorf("component %d after the data: gonice %s, libnice %s; want ready", c, g, l)
			}
		}
	})
	check(peer.quit())
}

// TestPionTCP: gonice and pion/ice v4 over ICE-TCP only (gonice with UDP
// off, pion with network type TCP4 alone) on 127.0.0.1: gonice controlling
// (pion Accepts) and controlled (pion Dials); the connection's direction left
// to the agents (pion's active candidate, which it signals only once it has
// dialed a passive candidate of gonice's, is trickled to gonice), gonice
// dialing pion's TCPMux, and pion dialing gonice's passive candidate. Both
// connect on the same TCP pair and data crosses both ways (net.Conn and
// Agent.Send).
func TestPionTCP(t *testing.T) {
	for _, controlling := range []bool{true, false} {
		for _, dir := range []tcpDirection{tcpEither, tcpFirstDials, tcpSecondDials} {
			name := map[tcpDirection]string{tcpEither: "either-dials", tcpFirstDials: "gonice-dials", tcpSecondDials: "pion-dials"}[dir]
			t.Run(fmt.Sprintf("gonice-%s/%s", roleName(controlling), name), func(t *testing.T) {
				runPionTCP(t, controlling, dir)
			})
		}
	}
}

// runPionTCP runs one case; in dir, gonice is the first agent.
func runPionTCP(t *testing.T, controlling bool, dir tcpDirection) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	goniceLog := &lockedBuffer{}
	pa := newPionTCPAgent(t, "pion") // its cleanup logs pion's log on failure
	ga, err := newGoniceTCPAgent(controlling, goniceLog)
	check(err)
	t.Cleanup(func() {
		if err := ga.Close(); err != nil {
			t.Errorf("gonice Close: %v", err)
		}
		if t.Failed() || os.Getenv("GONICE_PION_LOGS") != "" {
			t.Logf("gonice debug log, last lines:\n%s", tail(goniceLog.String(), 150))
		}
	})
	check(ga.AddLocalAddress(netip.MustParseAddr("127.0.0.1")))
	sid, err := ga.AddStream(1)
	check(err)
	gathered, ready, failed := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var gatheredOnce, readyOnce, failedOnce sync.Once
	ga.OnCandidateGatheringDone(func(int) { gatheredOnce.Do(func() { close(gathered) }) })
	ga.OnComponentStateChanged(func(_, _ int, st nice.ComponentState) {
		switch st {
		case nice.ComponentStateReady:
			readyOnce.Do(func() { close(ready) })
		case nice.ComponentStateFailed:
			failedOnce.Do(func() { close(failed) })
		case nice.ComponentStateDisconnected, nice.ComponentStateGathering, nice.ComponentStateConnecting, nice.ComponentStateConnected:
		}
	})
	check(ga.GatherCandidates(sid))
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("timed out waiting for gonice to gather")
	}
	goSDP := ga.GenerateLocalSDP()
	checkTCPOnlySDP(t, "gonice", goSDP, 1)
	if t.Failed() {
		t.FailNow()
	}

	// Signalling. gonice's candidates to pion (pion drops the active one,
	// and dials the passive one at once, before Dial or Accept).
	gUfrag, gPwd, err := ga.LocalCredentials(sid)
	check(err)
	pUfrag, pPwd, err := pa.GetLocalUserCredentials()
	check(err)
	check(ga.SetRemoteCredentials(sid, pUfrag, pPwd))
	_, _, goLines := sdpParts(goSDP)
	if dir == tcpFirstDials {
		goLines = strings.Split(withoutPassive(strings.Join(goLines, "\n")), "\n")
	}
	for _, l := range goLines {
		pc, err := ice.UnmarshalCandidate(strings.TrimPrefix(l, "a="))
		if err != nil {
			t.Fatalf("pion cannot parse gonice's %q: %v", l, err)
		}
		check(pa.AddRemoteCandidate(pc))
	}
	// pion's to gonice: its passive candidate, unless pion must dial; and
	// when it may dial, also the active candidate it made to dial gonice's
	// passive one (tcptype active with its real port: not 9).
	var toGonice []string
	switch dir {
	case tcpEither:
		if !pollUntil(interopTimeout, func() bool { return len(pa.candidateLines()) >= 2 }) {
			t.Fatalf("pion signalled no active candidate after gonice's passive one: %q", pa.candidateLines())
		}
		toGonice = pa.candidateLines()
	case tcpFirstDials:
		toGonice = pa.candidateLines()
	case tcpSecondDials: // gonice learns pion's active candidate from its connection
	}
	for _, l := range toGonice {
		gc, err := ga.ParseRemoteCandidateSDP(sid, l)
		if err != nil {
			t.Fatalf("gonice cannot parse pion's %q: %v", l, err)
		}
		if n, err := ga.SetRemoteCandidates(sid, 1, []nice.Candidate{gc}); err != nil || n != 1 {
			t.Fatalf("gonice SetRemoteCandidates(%v) = %d, %v; want 1, nil", gc, n, err)
		}
	}
	if len(toGonice) > 0 {
		check(ga.PeerCandidateGatheringDone(sid))
	}

	pconn := pionConnect(t, ctx, pa.Agent, controlling, gUfrag, gPwd)
	select {
	case <-ready:
	case <-failed:
		t.Fatal("gonice: component FAILED")
	case <-ctx.Done():
		t.Fatal("timed out waiting for gonice to be READY")
	}

	gconn, err := ga.Conn(sid, 1)
	check(err)
	toPion := []byte("hello pion, this is gonice over TCP")
	transfer(t, ctx, "gonice -> pion", gconn, pconn, toPion)
	transfer(t, ctx, "pion -> gonice", pconn, gconn, []byte("hello gonice, this is pion over TCP"))
	send := writerFunc(func(p []byte) (int, error) { return ga.Send(sid, 1, p) })
	transfer(t, ctx, "gonice Send -> pion", send, pconn, []byte("sent with Agent.Send over TCP"), toPion)

	// The same pair from both ends.
	gl, gr := checkGoniceTCPPair(t, ga, sid, 1, dir)
	pl, pr := checkPionTCPPair(t, "pion", pa)
	pionLocal := netip.AddrPortFrom(netip.MustParseAddr(pl.Address()), uint16(pl.Port()))
	pionRemote := netip.AddrPortFrom(netip.MustParseAddr(pr.Address()), uint16(pr.Port()))
	if gr.Addr != pionLocal || !sameLocalEnd(gl, pionRemote) {
		t.Errorf("gonice selected %v -> %v, pion %v -> %v: not the same pair", gl.Addr, gr.Addr, pionLocal, pionRemote)
	}
	t.Logf("gonice %s %s %s -> %s %s %s; pion %s -> %s", gl.Type, gl.Transport, gl.Addr, gr.Type, gr.Transport, gr.Addr, pl, pr)
	check(gconn.Close())
}
