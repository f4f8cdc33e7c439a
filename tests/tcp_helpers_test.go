// SPDX-License-Identifier: MIT

package tests

// The other side of the ICE-TCP (RFC 6544) interop tests, proven on its own
// before gonice does ICE-TCP: libnice 0.1.21 against libnice (two
// tests/libnice/peer processes with --ice-tcp --no-udp) and pion/ice v4
// against pion/ice v4 (TCP4 only: a passive candidate on a TCPMux, active
// candidates made for the remote passive ones), and the two against each
// other, on 127.0.0.1 (TestLibniceTCPSelf, TestPionTCPSelf,
// TestPionLibniceTCP). tcp_test.go (build tag icetcp) uses the same helpers
// against gonice.

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
)

// libniceTCPArgs are the peer's arguments for ICE-TCP only on addr.
func libniceTCPArgs(controlling bool, comps int, addr string) []string {
	c := "0"
	if controlling {
		c = "1"
	}
	return []string{"--controlling", c, "--components", strconv.Itoa(comps),
		"--address", addr, "--ice-tcp", "--no-udp"}
}

// checkTCPOnlySDP checks that an SDP has candidates and that all of them
// are TCP, one active and one passive per component (RFC 6544 §4.5 host
// candidates: the active one with port 9).
func checkTCPOnlySDP(t *testing.T, who, sdp string, comps int) {
	t.Helper()
	_, _, cands := sdpParts(sdp)
	active, passive := map[int]int{}, map[int]int{}
	for _, l := range cands {
		f := strings.Fields(l)
		if len(f) < 8 || f[2] != "TCP" {
			t.Errorf("%s's candidate %q is not TCP", who, l)
			continue
		}
		comp, _ := strconv.Atoi(f[1])
		switch {
		case strings.HasSuffix(l, " tcptype active"):
			active[comp]++
			if f[5] != "9" {
				t.Errorf("%s's active candidate %q: port %s, want 9", who, l, f[5])
			}
		case strings.HasSuffix(l, " tcptype passive"):
			passive[comp]++
		default:
			t.Errorf("%s's candidate %q: no tcptype active or passive", who, l)
		}
	}
	for c := 1; c <= comps; c++ {
		if active[c] != 1 || passive[c] != 1 {
			t.Errorf("%s's component %d: %d active and %d passive TCP candidates, want 1 and 1:\n%s", who, c, active[c], passive[c], sdp)
		}
	}
}

// tcpDirection says which end of the TCP connection a test wants and how
// the signalling forces it: an agent whose peer is not told its passive
// candidates cannot connect, so it can only be the passive end.
type tcpDirection int

const (
	tcpEither      tcpDirection = iota // both get every candidate: priorities decide
	tcpFirstDials                      // the second agent is not told the first one's passive candidates
	tcpSecondDials                     // the first agent is not told the second one's passive candidates
)

func (d tcpDirection) String() string {
	return [...]string{"either-dials", "first-dials", "second-dials"}[d]
}

// withoutPassive returns an SDP (or candidate lines) without its tcptype
// passive candidate lines.
func withoutPassive(sdp string) string {
	var out []string
	for _, l := range strings.Split(sdp, "\n") {
		if strings.HasPrefix(l, "a=candidate:") && strings.Contains(l, " tcptype passive") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// TestLibniceTCPSelf: two libnice 0.1.21 peers, ICE-TCP only (ice-udp
// FALSE, ice-tcp TRUE) on 127.0.0.1, 1 and 2 components, with every
// candidate signalled and with one peer's passive candidates kept from the
// other (so that the direction of the connection is forced both ways): both
// READY, the same pair seen from both ends, one end tcp-active and the other
// tcp-passive, and data both ways on every component. It proves the peer
// that TestLibniceTCP puts against gonice.
func TestLibniceTCPSelf(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	for _, dir := range []tcpDirection{tcpEither, tcpFirstDials, tcpSecondDials} {
		for _, comps := range []int{1, 2} {
			name := map[tcpDirection]string{tcpEither: "either-dials", tcpFirstDials: "controlling-dials", tcpSecondDials: "controlled-dials"}[dir]
			t.Run(fmt.Sprintf("%dcomp/%s", comps, name), func(t *testing.T) {
				runLibniceTCPSelf(t, bin, comps, dir)
			})
		}
	}
}

// runLibniceTCPSelf runs one case; the controlling peer is the first of dir.
func runLibniceTCPSelf(t *testing.T, bin string, comps int, dir tcpDirection) {
	// Each peer is the "libnice" side of a session of its own.
	sa, sb := newSession(), newSession()
	a := startLibnicePeer(t, bin, sa, libniceTCPArgs(true, comps, "127.0.0.1")...)
	b := startLibnicePeer(t, bin, sb, libniceTCPArgs(false, comps, "127.0.0.1")...)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("GONICE_LIBNICE_LOGS") != "" {
			for _, p := range []struct {
				name string
				p    *libnicePeer
			}{{"controlling", a}, {"controlled", b}} {
				t.Logf("%s libnice peer stdout:\n%s", p.name, p.p.stdout.String())
				t.Logf("%s libnice peer stderr, last lines:\n%s", p.name, tail(p.p.stderr.String(), 150))
			}
		}
	})
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var sdps [2]string
	for i, s := range []*session{sa, sb} {
		check(s.waitFor("gathering", func() (bool, error) { return s.libnice.gathered, s.peerError() }))
		s.read(func() { sdps[i] = s.libniceSDP })
	}
	checkTCPOnlySDP(t, "the controlling peer", sdps[0], comps)
	checkTCPOnlySDP(t, "the controlled peer", sdps[1], comps)
	t.Logf("the controlling peer's SDP:\n%s", sdps[0])

	toB, toA := sdps[0], sdps[1]
	switch dir {
	case tcpFirstDials:
		toB = withoutPassive(toB)
	case tcpSecondDials:
		toA = withoutPassive(toA)
	case tcpEither:
	}
	start := time.Now()
	_, _, candsA := sdpParts(toB)
	_, _, candsB := sdpParts(toA)
	reply, err := b.command("SDP " + base64.StdEncoding.EncodeToString([]byte(toB)))
	check(err)
	if want := fmt.Sprintf("OK %d", len(candsA)); reply != want {
		t.Errorf("controlled peer parsed the SDP: %q, want %q", reply, want)
	}
	reply, err = a.command("SDP " + base64.StdEncoding.EncodeToString([]byte(toA)))
	check(err)
	if want := fmt.Sprintf("OK %d", len(candsB)); reply != want {
		t.Errorf("controlling peer parsed the SDP: %q, want %q", reply, want)
	}
	for _, s := range []*session{sa, sb} {
		check(s.waitFor("READY on every component", func() (bool, error) {
			return s.libnice.reachedReady(comps), errjoin(s.peerError(), s.libnice.anyFailed("libnice", comps))
		}))
	}
	t.Logf("both READY %v after the SDP exchange", time.Since(start).Round(time.Millisecond))

	// Data both ways on every component.
	for c := 1; c <= comps; c++ {
		_, err := a.command(fmt.Sprintf("SEND %d controlling to controlled on %d", c, c))
		check(err)
		_, err = b.command(fmt.Sprintf("SEND %d controlled to controlling on %d", c, c))
		check(err)
	}
	for c := 1; c <= comps; c++ {
		for _, x := range []struct {
			s    *session
			want string
		}{{sb, fmt.Sprintf("controlling to controlled on %d", c)}, {sa, fmt.Sprintf("controlled to controlling on %d", c)}} {
			check(x.s.waitFor(fmt.Sprintf("%q", x.want), func() (bool, error) {
				for _, got := range x.s.libnice.recv[c] {
					if got == x.want {
						return true, nil
					}
				}
				return false, x.s.peerError()
			}))
		}
	}

	// The selected pairs: TCP, the same pair from both ends (the active
	// end's local address is its connection's, not port 9).
	for c := 1; c <= comps; c++ {
		var selA, selB, trA, trB string
		sa.read(func() { selA, trA = sa.libnice.selected[c], sa.libnice.pairTransports[c] })
		sb.read(func() { selB, trB = sb.libnice.selected[c], sb.libnice.pairTransports[c] })
		t.Logf("component %d: controlling selected %s (%s), controlled %s (%s)", c, selA, trA, selB, trB)
		la, ra, _ := strings.Cut(selA, " ")
		lb, rb, _ := strings.Cut(selB, " ")
		if la != rb || ra != lb {
			t.Errorf("component %d: the controlling peer selected %q, the controlled %q: not the same pair", c, selA, selB)
		}
		want := map[string]string{"tcp-active tcp-passive": "tcp-passive tcp-active", "tcp-passive tcp-active": "tcp-active tcp-passive"}
		if w, ok := want[trA]; !ok || trB != w {
			t.Errorf("component %d: pair transports %q (controlling) and %q (controlled), want tcp-active/tcp-passive at opposite ends", c, trA, trB)
		}
		if dir == tcpFirstDials && trA != "tcp-active tcp-passive" || dir == tcpSecondDials && trA != "tcp-passive tcp-active" {
			t.Errorf("component %d: the controlling peer's pair is %q, but %s", c, trA, dir)
		}
	}
	check(a.quit())
	check(b.quit())
}

// errjoin is errors.Join for two.
func errjoin(a, b error) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return fmt.Errorf("%w; %w", a, b)
}

// pionTCPAgent is a pion/ice v4 agent that does ICE-TCP only on 127.0.0.1:
// network type TCP4 alone, host candidates alone. Its passive candidate is
// the listener of a TCPMux (ice.NewTCPMuxDefault over a net.TCPListener);
// pion gathers no active candidate: it makes one, with a connection dialed
// from a real local port (not 9), for each remote passive candidate it is
// given (AddRemoteCandidate), and it ignores remote active candidates.
type pionTCPAgent struct {
	*ice.Agent
	mux      *ice.TCPMuxDefault
	log      lockedBuffer // pion's debug log
	gathered chan struct{}

	mu    sync.Mutex
	cands []ice.Candidate // every local candidate signalled, also those after gathering (active ones)
}

// newPionTCPAgent makes the agent and gathers its candidates; t.Cleanup
// closes the agent and then the mux (which closes the listener), and logs
// pion's debug log if t failed.
func newPionTCPAgent(t *testing.T, name string) *pionTCPAgent {
	t.Helper()
	pa := &pionTCPAgent{gathered: make(chan struct{})}
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	lf := &logging.DefaultLoggerFactory{Writer: &pa.log, DefaultLogLevel: logging.LogLevelDebug}
	pa.mux = ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: l, Logger: lf.NewLogger("tcpmux"), ReadBufferSize: 32})
	pa.Agent, err = ice.NewAgentWithOptions(
		ice.WithNetworkTypes([]ice.NetworkType{ice.NetworkTypeTCP4}),
		ice.WithCandidateTypes([]ice.CandidateType{ice.CandidateTypeHost}),
		ice.WithTCPMux(pa.mux),
		ice.WithIncludeLoopback(),
		ice.WithIPFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }),
		ice.WithMulticastDNSMode(ice.MulticastDNSModeDisabled),
		ice.WithLoggerFactory(lf),
	)
	if err != nil {
		_ = pa.mux.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pa.Close(); err != nil {
			t.Errorf("pion %s Close: %v", name, err)
		}
		if err := pa.mux.Close(); err != nil {
			t.Errorf("pion %s TCPMux Close: %v", name, err)
		}
		if t.Failed() || os.Getenv("GONICE_PION_LOGS") != "" {
			t.Logf("pion %s debug log, last lines:\n%s", name, tail(pa.log.String(), 150))
		}
	})
	var once sync.Once
	if err := pa.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			once.Do(func() { close(pa.gathered) })
			return
		}
		pa.mu.Lock()
		pa.cands = append(pa.cands, c)
		pa.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := pa.GatherCandidates(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pa.gathered:
	case <-time.After(interopTimeout):
		t.Fatalf("pion %s: gathering did not end within %v", name, interopTimeout)
	}
	return pa
}

// candidateLines returns the a=candidate lines of the local candidates
// signalled so far. pion/ice v4.4.8's Marshal of the gathered passive one:
// "<foundation> 1 tcp 1671430143 127.0.0.1 <port> typ host tcptype passive
// ufrag <ufrag> generation 0"; of an active one (signalled after gathering
// is done, once a remote passive candidate made it): "<foundation> 1 tcp
// 1675624447 127.0.0.1 <its real port> typ host tcptype active".
func (pa *pionTCPAgent) candidateLines() []string {
	pa.mu.Lock()
	defer pa.mu.Unlock()
	var lines []string
	for _, c := range pa.cands {
		lines = append(lines, "a=candidate:"+c.Marshal())
	}
	return lines
}

// checkPionTCPPair checks that pion's selected pair is TCP, one end active
// and the other passive, and returns its candidates. A remote candidate pion
// learned from a connection to its TCPMux is peer-reflexive and has no
// tcptype (TCPTypeUnspecified); with a local passive one it counts as active.
func checkPionTCPPair(t *testing.T, name string, pa *pionTCPAgent) (local, remote ice.Candidate) {
	t.Helper()
	pair, err := pa.GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("pion %s GetSelectedCandidatePair: %v, %v", name, pair, err)
	}
	l, r := pair.Local, pair.Remote
	if l.NetworkType() != ice.NetworkTypeTCP4 || r.NetworkType() != ice.NetworkTypeTCP4 {
		t.Errorf("pion %s selected %s -> %s: not TCP4", name, l, r)
	}
	remoteActive := r.TCPType() == ice.TCPTypeActive ||
		r.TCPType() == ice.TCPTypeUnspecified && r.Type() == ice.CandidateTypePeerReflexive
	if !(l.TCPType() == ice.TCPTypeActive && r.TCPType() == ice.TCPTypePassive ||
		l.TCPType() == ice.TCPTypePassive && remoteActive) {
		t.Errorf("pion %s selected %s (tcptype %s) -> %s (tcptype %s): want active and passive", name, l, l.TCPType(), r, r.TCPType())
	}
	return l, r
}

// TestPionTCPSelf: two pion/ice v4 agents made by newPionTCPAgent connect
// over ICE-TCP on 127.0.0.1 (one Dials, the other Accepts), and data goes
// both ways. It proves the helper that TestPionTCP puts against gonice.
func TestPionTCPSelf(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	a := newPionTCPAgent(t, "dialer")
	b := newPionTCPAgent(t, "acceptor")
	linesA, linesB := a.candidateLines(), b.candidateLines()
	t.Logf("pion's candidates after gathering: %q", linesA)
	for _, x := range []struct {
		who   string
		lines []string
	}{{"dialer", linesA}, {"acceptor", linesB}} {
		if len(x.lines) != 1 || !strings.Contains(x.lines[0], " tcp ") || !strings.Contains(x.lines[0], " typ host tcptype passive") {
			t.Fatalf("pion %s's candidates %q, want one TCP host candidate, tcptype passive", x.who, x.lines)
		}
	}
	give := func(to *pionTCPAgent, lines []string) {
		for _, l := range lines {
			c, err := ice.UnmarshalCandidate(strings.TrimPrefix(l, "a="))
			if err != nil {
				t.Fatalf("pion cannot parse %q: %v", l, err)
			}
			if err := to.AddRemoteCandidate(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	give(a, linesB)
	give(b, linesA)
	ua, pwa, err := a.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	ub, pwb, err := b.GetLocalUserCredentials()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		conn *ice.Conn
		err  error
	}
	accepted := make(chan result, 1)
	go func() {
		c, err := b.Accept(ctx, ua, pwa)
		accepted <- result{c, err}
	}()
	ca, err := a.Dial(ctx, ub, pwb)
	if err != nil {
		t.Fatalf("pion Dial: %v", err)
	}
	r := <-accepted
	if r.err != nil {
		t.Fatalf("pion Accept: %v", r.err)
	}
	cb := r.conn
	transfer(t, ctx, "dialer -> acceptor", ca, cb, []byte("hello acceptor, over TCP"))
	transfer(t, ctx, "acceptor -> dialer", cb, ca, []byte("hello dialer, over TCP"))
	la, ra := checkPionTCPPair(t, "dialer", a)
	lb, rb := checkPionTCPPair(t, "acceptor", b)
	t.Logf("dialer selected %s -> %s; acceptor selected %s -> %s", la, ra, lb, rb)
	t.Logf("pion's candidates at the end: dialer %q, acceptor %q", a.candidateLines(), b.candidateLines())
	if la.Port() != rb.Port() || ra.Port() != lb.Port() {
		t.Errorf("not the same pair from both ends")
	}
}

// TestPionLibniceTCP puts the two proven peers against each other: pion/ice
// v4 (newPionTCPAgent) and libnice 0.1.21 (peer --ice-tcp --no-udp), ICE-TCP
// only on 127.0.0.1, both roles, data both ways; with every candidate
// signalled, with libnice not told pion's passive candidate (pion must
// dial), and with pion not told libnice's (libnice must dial pion's
// TCPMux; pion then has no remote candidate at all, as it drops remote
// active ones).
func TestPionLibniceTCP(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	for _, pionControlling := range []bool{true, false} {
		for _, dir := range []tcpDirection{tcpEither, tcpFirstDials, tcpSecondDials} {
			name := map[tcpDirection]string{tcpEither: "either-dials", tcpFirstDials: "pion-dials", tcpSecondDials: "libnice-dials"}[dir]
			t.Run("pion-"+roleName(pionControlling)+"/"+name, func(t *testing.T) {
				runPionLibniceTCP(t, bin, pionControlling, dir)
			})
		}
	}
}

// runPionLibniceTCP runs one case; in dir, pion is the first agent.
func runPionLibniceTCP(t *testing.T, bin string, pionControlling bool, dir tcpDirection) {
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()
	s := newSession()
	peer := startLibnicePeer(t, bin, s, libniceTCPArgs(!pionControlling, 1, "127.0.0.1")...)
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("GONICE_LIBNICE_LOGS") != "" {
			t.Logf("libnice peer stdout:\n%s", peer.stdout.String())
			t.Logf("libnice peer stderr, last lines:\n%s", tail(peer.stderr.String(), 150))
		}
	})
	pa := newPionTCPAgent(t, roleName(pionControlling))
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.waitFor("libnice to gather", func() (bool, error) { return s.libnice.gathered, s.peerError() }))
	var libSDP string
	s.read(func() { libSDP = s.libniceSDP })
	libUfrag, libPwd, libCands := sdpParts(libSDP)

	// pion's candidates and credentials to libnice.
	pUfrag, pPwd, err := pa.GetLocalUserCredentials()
	check(err)
	_, err = peer.command("CRED " + pUfrag + " " + pPwd)
	check(err)
	if dir != tcpFirstDials {
		giveLibnice(t, peer, pa.candidateLines())
	}
	// libnice's to pion (it drops the active one).
	if dir == tcpSecondDials {
		libCands = strings.Split(withoutPassive(strings.Join(libCands, "\n")), "\n")
	}
	for _, l := range libCands {
		c, err := ice.UnmarshalCandidate(strings.TrimPrefix(l, "a="))
		if err != nil {
			t.Fatalf("pion cannot parse libnice's %q: %v", l, err)
		}
		check(pa.AddRemoteCandidate(c))
	}
	var conn *ice.Conn
	if pionControlling {
		conn, err = pa.Dial(ctx, libUfrag, libPwd)
	} else {
		conn, err = pa.Accept(ctx, libUfrag, libPwd)
	}
	if err != nil {
		t.Fatalf("pion connect: %v", err)
	}
	check(s.waitFor("libnice READY", func() (bool, error) {
		return s.libnice.reachedReady(1), errjoin(s.peerError(), s.libnice.anyFailed("libnice", 1))
	}))
	// pion -> libnice.
	if _, err := conn.Write([]byte("pion to libnice over TCP")); err != nil {
		t.Fatal(err)
	}
	check(s.waitFor("libnice to receive pion's data", func() (bool, error) {
		return len(s.libnice.recv[1]) > 0, s.peerError()
	}))
	s.read(func() {
		if got := s.libnice.recv[1]; got[0] != "pion to libnice over TCP" {
			t.Errorf("libnice received %q", got)
		}
	})
	// libnice -> pion.
	_, err = peer.command("SEND 1 libnice to pion over TCP")
	check(err)
	check(conn.SetReadDeadline(time.Now().Add(interopTimeout)))
	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	check(err)
	if string(buf[:n]) != "libnice to pion over TCP" {
		t.Errorf("pion received %q", buf[:n])
	}
	l, r := checkPionTCPPair(t, "pion", pa)
	if dir == tcpFirstDials && l.TCPType() != ice.TCPTypeActive || dir == tcpSecondDials && l.TCPType() != ice.TCPTypePassive {
		t.Errorf("pion's selected local candidate %s has tcptype %s, but %s", l, l.TCPType(), dir)
	}
	var libSel, libTr string
	s.read(func() { libSel, libTr = s.libnice.selected[1], s.libnice.pairTransports[1] })
	t.Logf("pion selected %s -> %s; libnice selected %s (%s)", l, r, libSel, libTr)
	if want := fmt.Sprintf("127.0.0.1:%d 127.0.0.1:%d", r.Port(), l.Port()); libSel != want {
		t.Errorf("libnice selected %q, pion the reverse of %q", libSel, want)
	}
	check(peer.quit())
}
