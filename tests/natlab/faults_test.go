// SPDX-License-Identifier: MIT

package natlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault tests (issue 14): two agents connected through the lab with media
// flowing (natagent --media: a datagram every 20 ms each way, and a "gap"
// line from the receiver for every pause longer than gapMin), then a fault
// on the path; each test prints the interruption it measured.

// mediaArgs are the natagent options of every fault test: media every
// 20 ms; consent checked every 500 ms and lost after 3 s without an answer
// (Config.ConsentInterval and ConsentTimeout; RFC 7675's 5 s and 30 s
// would make each test last a minute).
var mediaArgs = []string{"--media", "20ms", "--gap", gapMin.String(), "--consent-interval", "500ms", "--consent-timeout", "3s"}

// gapMin is the shortest pause in media that natagent reports: shorter
// interruptions are reported as "< gapMin".
const gapMin = 100 * time.Millisecond

// watcher keeps every line of an agent, for tests that wait on both agents
// at once.
type watcher struct {
	a     *Agent
	mu    sync.Mutex
	lines []Line
	done  bool
}

func watch(a *Agent) *watcher {
	w := &watcher{a: a}
	go func() {
		for ln := range a.Lines {
			w.mu.Lock()
			w.lines = append(w.lines, ln)
			w.mu.Unlock()
		}
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	}()
	return w
}

// mark is the index of the next line.
func (w *watcher) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.lines)
}

// since returns the lines from index i on.
func (w *watcher) since(i int) []Line {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Line(nil), w.lines[i:]...)
}

// wait returns the first line from index i on that matches, waiting at most
// timeout.
func (w *watcher) wait(i int, match func(Line) bool, timeout time.Duration) (Line, bool) {
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		for ; i < len(w.lines); i++ {
			if match(w.lines[i]) {
				ln := w.lines[i]
				w.mu.Unlock()
				return ln, true
			}
		}
		done := w.done
		w.mu.Unlock()
		if done || time.Now().After(deadline) {
			return Line{}, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func isKind(kind, arg string) func(Line) bool {
	return func(ln Line) bool { return ln.Kind == kind && (arg == "" || ln.Arg == arg) }
}

// gapAtLeast matches a media gap of at least ms milliseconds.
func gapAtLeast(ms int) func(Line) bool {
	return func(ln Line) bool { return ln.Kind == "gap" && gapMS(ln) >= ms }
}

func gapMS(ln Line) int {
	f := strings.Fields(ln.Arg)
	if len(f) == 0 {
		return -1
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1
	}
	return n
}

// session is two connected agents, A (controlling) in h1 and B in h2.
type session struct {
	t      *testing.T
	a, b   *Agent
	wa, wb *watcher
}

// startSession starts the agents, exchanges their candidates and waits
// until both are READY and receive media.
func startSession(t *testing.T, l *Lab, extraA, extraB []string) *session {
	t.Helper()
	return startSessionOn(t, l, "h1", "h2", extraA, extraB)
}

// startSessionOn is startSession with A in node nodeA and B in nodeB.
func startSessionOn(t *testing.T, l *Lab, nodeA, nodeB string, extraA, extraB []string) *session {
	t.Helper()
	bin := filepath.Join(binDir, "natagent")
	a, err := l.StartAgent("A", nodeA, bin, agentArgs(true, extraA...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	b, err := l.StartAgent("B", nodeB, bin, agentArgs(false, extraB...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Stop)
	ga, err := waitGathered(t, a, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := waitGathered(t, b, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, a: a, b: b, wa: watch(a), wb: watch(b)}
	s.exchange(ga.creds, ga.cands, gb.creds, gb.cands)
	for _, w := range []*watcher{s.wa, s.wb} {
		if _, ok := w.wait(0, isKind("state", "ready"), 15*time.Second); !ok {
			t.Fatalf("%s not READY:\n%s", w.a.Name, s.logs())
		}
		if _, ok := w.wait(0, isKind("media", ""), 5*time.Second); !ok {
			t.Fatalf("%s receives no media:\n%s", w.a.Name, s.logs())
		}
	}
	return s
}

// settle waits until the checks made while connecting are older than
// ConsentTimeout (timeout): a pair whose check succeeded within it has
// consent, and an agent whose selected pair loses consent moves there
// instead of failing (consentExpired). Tests that expect FAILED wait, so
// that the outcome does not depend on how soon after connecting the fault
// comes.
func (s *session) settle(timeout time.Duration) {
	time.Sleep(timeout + 500*time.Millisecond)
}

// exchange gives each agent the other's credentials and candidates, and
// end-of-candidates.
func (s *session) exchange(credsA string, candsA []string, credsB string, candsB []string) {
	for _, p := range []struct {
		to    *Agent
		creds string
		cands []string
	}{{s.a, credsB, candsB}, {s.b, credsA, candsA}} {
		_ = p.to.Send("creds " + p.creds)
		for _, c := range p.cands {
			_ = p.to.Send("cand " + c)
		}
		_ = p.to.Send("done")
	}
}

// restart restarts ICE on both agents, as an application would (new
// credentials both ways, candidates sent again), and returns when the new
// descriptions were exchanged.
func (s *session) restart() {
	s.t.Helper()
	ma, mb := s.wa.mark(), s.wb.mark()
	_ = s.a.Send("restart")
	_ = s.b.Send("restart")
	desc := func(w *watcher, m int) (string, []string) {
		if _, ok := w.wait(m, isKind("restarted", ""), 5*time.Second); !ok {
			s.t.Fatalf("%s: no restart:\n%s", w.a.Name, s.logs())
		}
		var creds string
		var cands []string
		for _, ln := range w.since(m) {
			switch ln.Kind {
			case "creds":
				creds = ln.Arg
			case "cand":
				cands = append(cands, ln.Arg)
			}
			if ln.Kind == "restarted" {
				break
			}
		}
		return creds, cands
	}
	ca, la := desc(s.wa, ma)
	cb, lb := desc(s.wb, mb)
	s.exchange(ca, la, cb, lb)
}

// waitFailedAtConsent waits until both agents signal FAILED (after marks
// ma and mb) and checks that each did about consentTimeout after t0, when
// the path went silent. what names the case in the log.
func (s *session) waitFailedAtConsent(ma, mb int, t0 time.Time, consentTimeout time.Duration, what string) {
	t := s.t
	t.Helper()
	for _, w := range []*watcher{s.wa, s.wb} {
		m := ma
		if w == s.wb {
			m = mb
		}
		ln, ok := w.wait(m, isKind("state", "failed"), consentTimeout+10*time.Second)
		if !ok {
			t.Fatalf("%s: no FAILED within %v of the blackhole:\n%s", w.a.Name, consentTimeout+10*time.Second, s.logs())
		}
		d := ln.At.Sub(t0)
		t.Logf("%s: %s signalled FAILED %s after the path went silent (ConsentTimeout %v)", what, w.a.Name, ms(d), consentTimeout)
		// Consent was last refreshed at most one check interval (at most
		// 600 ms, plus the grid's 200 ms) before the blackhole; the upper
		// bound leaves room for a loaded machine.
		if d < consentTimeout-time.Second || d > consentTimeout+3*time.Second {
			t.Errorf("%s: FAILED %v after the blackhole, want about ConsentTimeout (%v)", w.a.Name, d, consentTimeout)
		}
	}
}

func (s *session) logs() string {
	return "A:\n" + s.a.Log() + "\nB:\n" + s.b.Log()
}

// interruption waits until media flows again both ways after a fault that
// is in effect when it is called: the count of media received grows on both
// sides between two polls 200 ms apart. It returns the longest gap
// after the marks in each direction (A→B is what B saw; 0 when no gap
// exceeded gapMin).
func (s *session) interruption(ma, mb int, timeout time.Duration) (ab, ba time.Duration, ok bool) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	count := func(w *watcher) int {
		m := w.mark()
		_ = w.a.Send("count")
		ln, found := w.wait(m, isKind("count", ""), 2*time.Second)
		if !found {
			return -1
		}
		n, _ := strconv.Atoi(ln.Arg)
		return n
	}
	prevA, prevB := count(s.wa), count(s.wb)
	for !ok && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		nA, nB := count(s.wa), count(s.wb)
		ok = nA > prevA && nB > prevB && prevA >= 0 && prevB >= 0
		prevA, prevB = nA, nB
	}
	longest := func(w *watcher, m int) time.Duration {
		best := 0
		for _, ln := range w.since(m) {
			if ln.Kind == "gap" && gapMS(ln) > best {
				best = gapMS(ln)
			}
		}
		return time.Duration(best) * time.Millisecond
	}
	return longest(s.wb, mb), longest(s.wa, ma), ok
}

// selected returns the last "selected" line of w from index m on.
func selected(w *watcher, m int) string {
	sel := "(unchanged)"
	for _, ln := range w.since(m) {
		if ln.Kind == "selected" {
			sel = ln.Arg
		}
	}
	return sel
}

func ms(d time.Duration) string { return fmt.Sprintf("%d ms", d.Milliseconds()) }

// gapText is an interruption as measured by the receiver's gap reports.
func gapText(d time.Duration) string {
	if d == 0 {
		return "< " + ms(gapMin)
	}
	return ms(d)
}

// TestPathLoss: the selected path goes silent (router 1 drops everything
// it forwards). Consent expires on both sides (ConsentTimeout 3 s after the
// last answer) and FAILED is signalled; when the path returns, an ICE
// restart reconnects and media flows again.
func TestPathLoss(t *testing.T) {
	l := newLab(t)
	for i := 1; i <= 2; i++ {
		if err := l.SetSite(i, Site{NAT: PortRestricted}); err != nil {
			t.Fatal(err)
		}
	}
	s := startSession(t, l, mediaArgs, mediaArgs)
	t.Logf("connected: A selected %s, B selected %s", selected(s.wa, 0), selected(s.wb, 0))
	s.settle(3 * time.Second)
	ma, mb := s.wa.mark(), s.wb.mark()
	t0 := time.Now()
	if err := l.Blackhole(1, true); err != nil {
		t.Fatal(err)
	}
	const consentTimeout = 3 * time.Second
	s.waitFailedAtConsent(ma, mb, t0, consentTimeout, "path loss")
	if err := l.Blackhole(1, false); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	s.restart()
	ab, ba, ok := s.interruption(ma, mb, 15*time.Second)
	if !ok {
		t.Fatalf("media did not resume after the restart:\n%s", s.logs())
	}
	for _, w := range []*watcher{s.wa, s.wb} {
		m := ma
		if w == s.wb {
			m = mb
		}
		if _, ok := w.wait(m, isKind("state", "ready"), 5*time.Second); !ok {
			t.Errorf("%s not READY after the restart", w.a.Name)
		}
	}
	ra, okA := s.wa.wait(ma, gapAtLeast(1000), 0)
	rb, okB := s.wb.wait(mb, gapAtLeast(1000), 0)
	if !okA || !okB {
		t.Fatalf("no media gap of a second or more, though the path was dead for %v:\n%s", t1.Sub(t0), s.logs())
	}
	t.Logf("path loss: media interrupted %s A→B, %s B→A in all (blackhole %s); after the path returned, the restart brought media back in %s (B→A) and %s (A→B)",
		ms(ab), ms(ba), ms(t1.Sub(t0)), ms(ra.At.Sub(t1)), ms(rb.At.Sub(t1)))
	t.Logf("after the restart: A selected %s, B selected %s", selected(s.wa, ma), selected(s.wb, mb))
	if d := ra.At.Sub(t1); d > 5*time.Second {
		t.Errorf("restart took %v to bring media back B→A, want under 5 s", d)
	}
	if d := rb.At.Sub(t1); d > 5*time.Second {
		t.Errorf("restart took %v to bring media back A→B, want under 5 s", d)
	}
}

// TestNATRebinding: a router maps the session to a new external port
// while media flows (Lab.Rebind: new masquerade port range, conntrack
// flushed). What the peer sent to the old mapping is dropped, and what the
// rebound side sends arrives from a new address.
//
//   - controlling: A (controlling) is rebound; B's NAT (address-restricted)
//     lets the new port through. A's next consent check, which repeats
//     USE-CANDIDATE on its selected pair, reaches B from the new address: B
//     learns it as peer-reflexive, checks it, and selects it (it is A's
//     nominated pair). Both directions are back within about one consent
//     interval.
//   - controlled: B is rebound. A learns B's new address from B's consent
//     check and checks it, but may not nominate another pair (RFC 8445
//     §8.1.1) until consent on the old one runs out (ConsentTimeout); then
//     it moves to the new pair, which has consent, without FAILED.
//   - portrestricted: A is rebound, B's NAT (port-restricted) drops the new
//     port: nothing gets through either way, consent expires on both sides,
//     FAILED is the signal, and the application's ICE restart reconnects.
//   - restart: as "controlling", but the application restarts ICE as soon
//     as the mapping changed (it learnt of a network change).
func TestNATRebinding(t *testing.T) {
	const (
		consentInterval = 500 * time.Millisecond
		consentTimeout  = 3 * time.Second
		// slack for a loaded machine (the test shares 2 cores)
		slack = 2 * time.Second
	)
	oneInterval := consentInterval*6/5 + slack
	cases := []struct {
		name       string
		rebind     int // the site whose router rebinds
		peer       NAT // the other site's NAT
		restart    string
		maxAB      time.Duration // interruption bounds
		maxBA      time.Duration
		wantFailed bool
	}{
		{name: "controlling", rebind: 1, peer: Restricted, maxAB: oneInterval, maxBA: oneInterval},
		{name: "controlled", rebind: 2, peer: Restricted, maxAB: consentTimeout + slack, maxBA: oneInterval},
		{name: "portrestricted", rebind: 1, peer: PortRestricted, restart: "on FAILED", maxAB: consentTimeout + slack + 3*time.Second, maxBA: consentTimeout + slack + 3*time.Second, wantFailed: true},
		{name: "restart", rebind: 1, peer: Restricted, restart: "at once", maxAB: oneInterval, maxBA: oneInterval},
	}
	l := newLab(t)
	ctflush := filepath.Join(binDir, "ctflush")
	var summary []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := l.SetSite(tc.rebind, Site{NAT: PortRestricted}); err != nil {
				t.Fatal(err)
			}
			if err := l.SetSite(3-tc.rebind, Site{NAT: tc.peer}); err != nil {
				t.Fatal(err)
			}
			s := startSession(t, l, mediaArgs, mediaArgs)
			before := fmt.Sprintf("A %s; B %s", selected(s.wa, 0), selected(s.wb, 0))
			time.Sleep(300 * time.Millisecond) // media flowing both ways
			if tc.wantFailed {
				s.settle(consentTimeout)
			}
			ma, mb := s.wa.mark(), s.wb.mark()
			t0 := time.Now()
			if err := l.Rebind(tc.rebind, ctflush, 20000, 29999); err != nil {
				t.Fatal(err)
			}
			failed := ""
			switch tc.restart {
			case "at once":
				s.restart()
			case "on FAILED":
				for _, w := range []*watcher{s.wa, s.wb} {
					m := ma
					if w == s.wb {
						m = mb
					}
					ln, ok := w.wait(m, isKind("state", "failed"), consentTimeout+slack+time.Second)
					if !ok {
						t.Fatalf("%s: no FAILED within %v:\n%s", w.a.Name, consentTimeout+slack+time.Second, s.logs())
					}
					failed += fmt.Sprintf(" %s FAILED after %s;", w.a.Name, ms(ln.At.Sub(t0)))
				}
				s.restart()
			}
			ab, ba, ok := s.interruption(ma, mb, consentTimeout+2*slack+3*time.Second)
			if !ok {
				t.Fatalf("media did not come back both ways (A→B %v, B→A %v):\n%s", ab, ba, s.logs())
			}
			time.Sleep(500 * time.Millisecond) // media flows on the new path
			after := fmt.Sprintf("A %s; B %s", selected(s.wa, ma), selected(s.wb, mb))
			msg := fmt.Sprintf("rebinding %-14s (router %d rebinds, peer %s, restart %q): media interrupted A→B %s, B→A %s;%s selected before: %s; after: %s",
				tc.name, tc.rebind, tc.peer, tc.restart, gapText(ab), gapText(ba), failed, before, after)
			t.Log(msg)
			summary = append(summary, msg)
			if ab > tc.maxAB || ba > tc.maxBA {
				t.Errorf("interruption A→B %v (bound %v), B→A %v (bound %v)", ab, tc.maxAB, ba, tc.maxBA)
			}
			if !tc.wantFailed {
				for _, w := range []*watcher{s.wa, s.wb} {
					m := ma
					if w == s.wb {
						m = mb
					}
					if ln, bad := w.wait(m, isKind("state", "failed"), 0); bad {
						t.Errorf("%s signalled FAILED at %s, want a move to the new path", w.a.Name, ms(ln.At.Sub(t0)))
					}
				}
			}
		})
	}
	t.Logf("NAT rebinding (ConsentInterval %v, ConsentTimeout %v):\n%s", consentInterval, consentTimeout, strings.Join(summary, "\n"))
}

// TestTURNRestart: A sends and receives through its TURN relay
// (--force-relay; B has its relay too but reaches A's directly) when
// coturn is killed and started again: every allocation is gone. A learns
// it from the ICMP port unreachable its media brings while coturn is down
// (or, if none came, from the 437 to the Refresh it sends when consent on
// its relayed pair runs out), reports it (RelayErrors, ErrRelayLost),
// allocates again (at once, or 1 s later if coturn still refused) and
// signals the new relayed candidate; FAILED is signalled on both sides
// (A's at the loss, B's when its consent runs out), and the application's
// ICE restart (which also makes B check its own allocation) reconnects
// through the new relay.
func TestTURNRestart(t *testing.T) {
	const consentTimeout = 3 * time.Second
	l, s, before, oldRelay := relaySession(t, consentTimeout, false)
	ma, mb := s.wa.mark(), s.wb.mark()
	t0 := time.Now()
	if err := l.RestartTURN(0); err != nil {
		t.Fatal(err)
	}
	t.Logf("TURN restart: coturn killed and listening again after %s", ms(time.Since(t0)))

	// A's new relayed candidate.
	newCand, ok := s.wa.wait(ma, func(ln Line) bool { return ln.Kind == "cand" && candType(ln.Arg) == "relay" }, consentTimeout+5*time.Second)
	if !ok {
		t.Fatalf("A signalled no new relayed candidate:\n%s", s.logs())
	}
	if strings.Contains(newCand.Arg, " "+strings.Replace(oldRelay, ":", " ", 1)+" ") {
		t.Errorf("the new relayed candidate has the old address %s: %s", oldRelay, newCand.Arg)
	}
	t.Logf("TURN restart: A's new relayed candidate %s after %s", newCand.Arg, ms(newCand.At.Sub(t0)))
	m := s.wa.mark()
	_ = s.a.Send("relayerrors")
	if _, ok := s.wa.wait(m, isKind("relayerrors", ""), 5*time.Second); !ok {
		t.Fatalf("no answer to relayerrors:\n%s", s.logs())
	}
	lost := false
	for _, ln := range s.wa.since(m) {
		if ln.Kind == "relayerr" {
			t.Logf("TURN restart: A RelayErrors: %s", ln.Arg)
			lost = lost || strings.Contains(ln.Arg, "TURN allocation lost")
		}
	}
	if !lost {
		t.Errorf("RelayErrors does not report the lost allocation")
	}
	for _, w := range []*watcher{s.wa, s.wb} {
		mk := ma
		if w == s.wb {
			mk = mb
		}
		ln, ok := w.wait(mk, isKind("state", "failed"), consentTimeout+5*time.Second)
		if !ok {
			t.Fatalf("%s: no FAILED:\n%s", w.a.Name, s.logs())
		}
		t.Logf("TURN restart: %s signalled FAILED after %s", w.a.Name, ms(ln.At.Sub(t0)))
	}
	ab, ba, back, after := s.restartOnNewRelay(ma, mb, oldRelay)
	t.Logf("TURN restart: media interrupted A→B %s, B→A %s; back %s after the ICE restart; A selected before: %s; after: %s",
		gapText(ab), gapText(ba), ms(back), before, after)
	if bound := consentTimeout + 5*time.Second; ab > bound || ba > bound {
		t.Errorf("interruption A→B %v, B→A %v, want under %v", ab, ba, bound)
	}
}

// TestTURNServerDown: as TestTURNRestart, but coturn stays down for 3 s.
// Its host answers A's media to the relay with ICMP port unreachable,
// which A's NAT carries back to A: A finds its allocation lost from that
// ICMP error (RelayErrors says so), well before consent would have run
// out, and signals FAILED (its only pair was relayed); the new allocation
// is refused the same way and tried again by itself (a second apart)
// until coturn is back, when the new relayed candidate is signalled
// without an ICE restart. The application's restart then reconnects.
func TestTURNServerDown(t *testing.T) {
	const (
		consentTimeout = 3 * time.Second
		pause          = 3 * time.Second
	)
	l, s, _, oldRelay := relaySession(t, consentTimeout, true)
	ma, mb := s.wa.mark(), s.wb.mark()
	t0 := time.Now()
	if err := l.RestartTURN(pause); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	t.Logf("TURN down: coturn killed, listening again after %s", ms(back.Sub(t0)))

	failed, ok := s.wa.wait(ma, isKind("state", "failed"), 0)
	if !ok {
		t.Fatalf("A did not signal FAILED while coturn was down:\n%s", s.logs())
	}
	t.Logf("TURN down: A signalled FAILED %s after coturn was killed (ConsentTimeout %v)", ms(failed.At.Sub(t0)), consentTimeout)
	if d := failed.At.Sub(t0); d >= consentTimeout {
		t.Errorf("A signalled FAILED %v after coturn was killed: at consent's timeout, not from the ICMP error", d)
	}
	m := s.wa.mark()
	_ = s.a.Send("relayerrors")
	if _, ok := s.wa.wait(m, isKind("relayerrors", ""), 5*time.Second); !ok {
		t.Fatalf("no answer to relayerrors:\n%s", s.logs())
	}
	var lost, refused bool
	for _, ln := range s.wa.since(m) {
		if ln.Kind == "relayerr" {
			t.Logf("TURN down: A RelayErrors: %s", ln.Arg)
			icmp := strings.Contains(ln.Arg, "ICMP error")
			lost = lost || icmp && strings.Contains(ln.Arg, "TURN allocation lost")
			refused = refused || icmp && !strings.Contains(ln.Arg, "TURN allocation lost")
		}
	}
	if !lost || !refused {
		t.Errorf("RelayErrors does not report the allocation lost (%v) and the new one refused (%v) by ICMP errors", lost, refused)
	}

	// Made again by itself once coturn is back: the tries are 1 s
	// apart after the first refusal.
	newCand, ok := s.wa.wait(ma, func(ln Line) bool { return ln.Kind == "cand" && candType(ln.Arg) == "relay" }, 10*time.Second)
	if !ok {
		t.Fatalf("A signalled no new relayed candidate within 10 s of coturn's return:\n%s", s.logs())
	}
	t.Logf("TURN down: A's new relayed candidate %s after coturn was back", ms(newCand.At.Sub(back)))
	ab, ba, restored, after := s.restartOnNewRelay(ma, mb, oldRelay)
	t.Logf("TURN down: media interrupted A→B %s, B→A %s (coturn down %s); back %s after the ICE restart; A selected after: %s",
		gapText(ab), gapText(ba), ms(back.Sub(t0)), ms(restored), after)
}

// relaySession starts a lab with both sites behind port-restricted NATs
// and a session in which A sends and receives through its TURN relay
// (--force-relay), and waits until consent of the pairs checked while
// connecting is old (settle). It returns A's selected pair and the
// relayed address on it. debug: A's debug log is shown if the test fails.
func relaySession(t *testing.T, consentTimeout time.Duration, debug bool) (l *Lab, s *session, selectedPair, relay string) {
	t.Helper()
	l = newLab(t)
	for i := 1; i <= 2; i++ {
		if err := l.SetSite(i, Site{NAT: PortRestricted}); err != nil {
			t.Fatal(err)
		}
	}
	argsA := append([]string{"--force-relay"}, mediaArgs...)
	if debug {
		argsA = append(argsA, "--debug")
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(l.Dir, "A.stderr"))
				t.Logf("A's log:\n%s", b)
			}
		})
	}
	s = startSession(t, l, argsA, mediaArgs)
	selectedPair = selected(s.wa, 0)
	if f := strings.Fields(selectedPair); len(f) != 6 || f[0] != "relay" {
		t.Fatalf("A selected %q, want a relayed local candidate", selectedPair)
	}
	s.settle(consentTimeout)
	return l, s, selectedPair, strings.Fields(selectedPair)[2]
}

// restartOnNewRelay restarts ICE on both agents and waits for media to
// flow again both ways; A must then be on a relayed candidate other than
// oldRelay. It returns the longest gaps since the marks, how long media
// took to come back after the restart, and A's selected pair.
func (s *session) restartOnNewRelay(ma, mb int, oldRelay string) (ab, ba, back time.Duration, after string) {
	t := s.t
	t.Helper()
	t1 := time.Now()
	s.restart()
	ab, ba, ok := s.interruption(ma, mb, 10*time.Second)
	if !ok {
		t.Fatalf("media did not come back after the restart:\n%s", s.logs())
	}
	back = time.Since(t1)
	after = selected(s.wa, ma)
	if f := strings.Fields(after); len(f) != 6 || f[0] != "relay" || f[2] == oldRelay {
		t.Errorf("A selected %q after the restart, want the new relayed candidate", after)
	}
	return ab, ba, back, after
}

// TestAddressChange: A's host gets a new address (10.0.1.20) and loses the
// one its session runs on (10.0.1.10), as when a DHCP lease renumbers it.
// The application asks A to gather again (Agent.Regather): the socket on
// the old address is closed and its candidates (host, server-reflexive,
// relayed) withdrawn, the new address is gathered (host, server-reflexive
// and relayed candidates signalled), and an ICE restart with the new
// candidates brings media back.
func TestAddressChange(t *testing.T) {
	const oldIP, newIP = "10.0.1.10", "10.0.1.20"
	l := newLab(t)
	for i := 1; i <= 2; i++ {
		if err := l.SetSite(i, Site{NAT: PortRestricted}); err != nil {
			t.Fatal(err)
		}
	}
	s := startSession(t, l, mediaArgs, mediaArgs)
	before := selected(s.wa, 0)
	var oldRelay string
	for _, ln := range s.wa.since(0) {
		if ln.Kind == "cand" && candType(ln.Arg) == "relay" {
			f := strings.Fields(ln.Arg)
			oldRelay = f[4] + " " + f[5]
		}
	}
	exec := func(args ...string) string {
		out, code, err := l.Exec("h1", 5*time.Second, args...)
		if err != nil || code != 0 {
			t.Fatalf("%s: %v (exit %d): %s", strings.Join(args, " "), err, code, out)
		}
		return out
	}
	// Keep the new (secondary) address when the primary one goes.
	exec("sysctl", "-qw", "net.ipv4.conf.eth0.promote_secondaries=1")
	ma, mb := s.wa.mark(), s.wb.mark()
	t0 := time.Now()
	exec("ip", "addr", "add", newIP+"/24", "dev", "eth0")
	exec("ip", "addr", "del", oldIP+"/24", "dev", "eth0")
	if !strings.Contains(exec("ip", "route", "show", "default"), "default") {
		exec("ip", "route", "add", "default", "via", "10.0.1.1")
	}
	_ = s.a.Send("regather")
	if _, ok := s.wa.wait(ma, isKind("gathered", ""), 10*time.Second); !ok {
		t.Fatalf("A: no gathering-done after regather:\n%s", s.logs())
	}
	types := map[string]int{}
	for _, ln := range s.wa.since(ma) {
		if ln.Kind == "cand" {
			types[candType(ln.Arg)]++
			if strings.Contains(ln.Arg, " "+oldIP+" ") {
				t.Errorf("a new candidate on the old address: %s", ln.Arg)
			}
		}
		if ln.Kind == "error" {
			t.Errorf("A: %s", ln.Arg)
		}
	}
	t.Logf("address change: regathered %v in %s", types, ms(time.Since(t0)))
	if types["host"] != 1 || types["srflx"] != 1 || types["relay"] != 1 {
		t.Errorf("new candidates %v, want one host, one srflx and one relay", types)
	}
	if ss := exec("ss", "-uan"); strings.Contains(ss, oldIP+":") {
		t.Errorf("a socket is still bound to %s:\n%s", oldIP, ss)
	}
	mr := s.wa.mark()
	s.restart()
	for _, ln := range s.wa.since(mr) {
		if ln.Kind == "cand" && (strings.Contains(ln.Arg, " "+oldIP+" ") || oldRelay != "" && strings.Contains(ln.Arg, " "+oldRelay+" ")) {
			t.Errorf("a withdrawn candidate is still listed after regather: %s", ln.Arg)
		}
	}
	ab, ba, ok := s.interruption(ma, mb, 10*time.Second)
	if !ok {
		t.Fatalf("media did not come back after regather and restart:\n%s", s.logs())
	}
	after := selected(s.wa, ma)
	t.Logf("address change: media interrupted A→B %s, B→A %s (address changed, regather, ICE restart); A selected before: %s; after: %s",
		gapText(ab), gapText(ba), before, after)
	if bound := 5 * time.Second; ab > bound || ba > bound {
		t.Errorf("interruption A→B %v, B→A %v, want under %v", ab, ba, bound)
	}
}
