// SPDX-License-Identifier: MIT

package tests

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gonice/gonice/nice"
)

// libniceValidRE matches libnice 0.1.21's debug lines that count the
// valid pairs of the (one) stream: on its timer tick (every 50 ticks) and
// on a checklist update.
var libniceValidRE = regexp.MustCompile(`(?:timer tick #\d+: .*?|conn\.check list status: \d+ nominated, )(\d+) valid`)

// TestLibniceRenomination moves the selected pair between gonice and
// libnice 0.1.21 without an ICE restart, in both directions of control.
//
// gonice controlling, libnice controlled with support-renomination: gonice
// has 127.0.0.1 and 127.0.0.2, libnice too (four pairs). gonice renominates
// the pair whose two candidates both differ from the selected one's, then
// the first one again: libnice follows each NOMINATION (it raises the
// nominated pair's priority above the selected pair's, and does so only
// when both candidates differ and the pair is valid:
// conn_check_handle_renomination). Once libnice has selected a pair it
// drops its pending pairs and creates none of lower priority ("do not
// create a pair that would have a priority lower than selected pair"), so
// libnice can be renominated only to pairs it validated before its first
// nomination: libnice gets gonice's SDP first and checks every pair before
// gonice, given libnice's SDP, checks and nominates.
//
// libnice controlling, gonice controlled with Config.Renomination: libnice
// never sends NOMINATION (it only reads it, as controlled agent), so the
// move it can make is a later nomination of a better pair: libnice
// (aggressive nomination, its default) knows only gonice's lower-priority
// candidate at first; once READY it is given the other one, checks it with
// USE-CANDIDATE, and both agents move to the better pair.
//
// Both ways, after READY each agent signals new-selected-pair and no state
// change (libnice's order: conn_check_update_selected_pair signals
// new-selected-pair and the component stays READY), data goes both ways on
// the new pair, and the credentials do not change.
func TestLibniceRenomination(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	t.Run("gonice controlling renominates, libnice follows", func(t *testing.T) { runLibniceRenomination(t, bin, true) })
	t.Run("libnice controlling nominates a better pair, gonice follows", func(t *testing.T) { runLibniceRenomination(t, bin, false) })
}

func runLibniceRenomination(t *testing.T, bin string, goniceControlling bool) {
	s := newSession()
	var peer *libnicePeer
	goniceLog := &lockedBuffer{}
	var (
		mu          sync.Mutex
		goniceAfter []string // gonice's signals after READY
		goniceReady bool
	)
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("GONICE_LIBNICE_LOGS") == "" {
			return
		}
		if peer != nil {
			t.Logf("libnice peer stdout:\n%s", peer.stdout.String())
			t.Logf("libnice peer stderr (libnice debug log), last lines:\n%s", tail(peer.stderr.String(), 200))
		}
		t.Logf("gonice debug log, last lines:\n%s", tail(goniceLog.String(), 200))
	})
	ga, err := nice.NewAgent(nice.Config{
		Controlling:  goniceControlling,
		Renomination: true,
		Logger:       slog.New(slog.NewTextHandler(goniceLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ga.Close(); err != nil {
			t.Errorf("gonice Close: %v", err)
		}
	})
	addrs := []string{"127.0.0.1", "127.0.0.2"}
	for _, a := range addrs {
		if err := ga.AddLocalAddress(netip.MustParseAddr(a)); err != nil {
			t.Fatal(err)
		}
	}
	sid, err := ga.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.SetStreamName(sid, "text"); err != nil {
		t.Fatal(err)
	}
	ga.OnCandidateGatheringDone(func(int) { s.update(func() { s.gonice.gathered = true }) })
	ga.OnComponentStateChanged(func(_, c int, st nice.ComponentState) {
		mu.Lock()
		if goniceReady {
			goniceAfter = append(goniceAfter, "state "+st.String())
		}
		goniceReady = goniceReady || st == nice.ComponentStateReady
		mu.Unlock()
		s.update(func() { s.gonice.setState(c, st.String()) })
	})
	ga.OnNewSelectedPair(func(_, c int, l, r nice.Candidate) {
		pair := l.Addr.String() + " " + r.Addr.String()
		mu.Lock()
		if goniceReady {
			goniceAfter = append(goniceAfter, "selected "+pair)
		}
		mu.Unlock()
		s.update(func() { s.gonice.selected[c] = pair })
	})
	if err := ga.AttachRecv(sid, 1, func(_, c int, p []byte) {
		text := string(p)
		s.update(func() { s.gonice.recv[c] = append(s.gonice.recv[c], text) })
	}); err != nil {
		t.Fatal(err)
	}
	if err := ga.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}

	args := []string{"--controlling", "1", "--renomination"}
	libAddrs := addrs
	if goniceControlling {
		args[1] = "0"
	} else {
		libAddrs = addrs[:1]
	}
	for _, a := range libAddrs {
		args = append(args, "--address", a)
	}
	peer = startLibnicePeer(t, bin, s, args...)
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.waitFor("both agents to gather", func() (bool, error) {
		return s.gonice.gathered && s.libnice.gathered, s.peerError()
	}))
	var libSDP string
	s.read(func() { libSDP = s.libniceSDP })
	goSDP := ga.GenerateLocalSDP()
	if !strings.Contains(goSDP, "\na=ice-options:renomination\n") {
		t.Errorf("gonice's SDP lacks a=ice-options:renomination:\n%s", goSDP)
	}
	libUfrag, libPwd, libCands := sdpParts(libSDP)
	goUfrag, goPwd, goCands := sdpParts(goSDP)
	if len(libCands) != len(libAddrs) || len(goCands) != 2 {
		t.Fatalf("candidates: libnice %q, gonice %q", libCands, goCands)
	}
	goLocal, err := ga.LocalCandidates(sid, 1)
	if err != nil || len(goLocal) != 2 {
		t.Fatalf("gonice LocalCandidates = %v, %v", goLocal, err)
	}
	hi, lo := goLocal[0], goLocal[1]
	if lo.Priority > hi.Priority {
		hi, lo = lo, hi
	}
	candLine := func(c nice.Candidate) string {
		for _, l := range goCands {
			if strings.Contains(l, " "+c.Addr.Addr().String()+" "+strconv.Itoa(int(c.Addr.Port()))+" ") {
				return l
			}
		}
		t.Fatalf("no SDP line for %v in %q", c.Addr, goCands)
		return ""
	}

	if goniceControlling {
		// SDP both ways: libnice's SDP has no a=ice-options, so gonice
		// renominates as its application asked; libnice's parser ignores
		// gonice's a=ice-options line.
		reply, err := peer.command("SDP " + base64.StdEncoding.EncodeToString([]byte(goSDP)))
		check(err)
		if reply != "OK 2" {
			t.Fatalf("libnice parse_remote_sdp of gonice's SDP: %q", reply)
		}
		check(waitLibniceValid(peer, 4))
		if _, err := ga.ParseRemoteSDP(libSDP); err != nil {
			t.Fatal(err)
		}
	} else {
		// gonice gets libnice's credentials only (it learns libnice's
		// candidate from its checks); libnice gets the lower one of
		// gonice's candidates only.
		check(ga.SetRemoteCredentials(sid, libUfrag, libPwd))
		_, err := peer.command("CRED " + goUfrag + " " + goPwd)
		check(err)
		giveLibnice(t, peer, []string{candLine(lo)})
	}
	check(s.waitFor("READY on both agents", func() (bool, error) {
		return s.gonice.reachedReady(1) && s.libnice.reachedReady(1), s.peerError()
	}))
	libReadyLines := len(stdoutEvents(peer))

	// samePair waits until both agents report the pair with gonice's
	// candidate local (and libnice's remoteLib, if not empty), seen from
	// both ends, then sends data both ways on it.
	round := 0
	samePair := func(step string, local netip.AddrPort, remoteLib string) {
		t.Helper()
		err := s.waitFor(step+": both agents on the same pair", func() (bool, error) {
			gl, gr, _ := strings.Cut(s.gonice.selected[1], " ")
			ll, lr, _ := strings.Cut(s.libnice.selected[1], " ")
			ok := gl == local.String() && gl == lr && gr == ll && (remoteLib == "" || gr == remoteLib)
			return ok, s.peerError()
		})
		if err != nil {
			var g, l string
			s.read(func() { g, l = s.gonice.selected[1], s.libnice.selected[1] })
			t.Fatalf("%v (gonice selected %q, libnice %q; want gonice local %v)", err, g, l, local)
		}
		round++
		exchangeLibniceData(t, s, ga, sid, peer, 1, round)
	}

	var wantGonice []string
	if goniceControlling {
		var first string
		s.read(func() { first = s.gonice.selected[1] })
		fl, fr, _ := strings.Cut(first, " ")
		samePair("after connecting", netip.MustParseAddrPort(fl), fr)
		// The pair where both candidates differ from the first one's.
		var to, toRemote nice.Candidate
		for _, c := range goLocal {
			if c.Addr.String() != fl {
				to = c
			}
		}
		remotes, err := ga.RemoteCandidates(sid, 1)
		check(err)
		var back nice.Candidate
		for _, r := range remotes {
			if r.Addr.String() != fr {
				toRemote = r
			} else {
				back = r
			}
		}
		var backLocal nice.Candidate
		for _, c := range goLocal {
			if c.Addr.String() == fl {
				backLocal = c
			}
		}
		for i, step := range []struct{ l, r nice.Candidate }{{to, toRemote}, {backLocal, back}} {
			check(ga.Renominate(sid, 1, step.l.Foundation, step.r.Foundation))
			samePair(fmt.Sprintf("renomination %d", i+1), step.l.Addr, step.r.Addr.String())
			wantGonice = append(wantGonice, "selected "+step.l.Addr.String()+" "+step.r.Addr.String())
		}
	} else {
		var first string
		s.read(func() { first = s.gonice.selected[1] })
		fl, fr, _ := strings.Cut(first, " ")
		if fl != lo.Addr.String() {
			t.Fatalf("gonice selected %q first, want its candidate %v", first, lo.Addr)
		}
		samePair("after connecting", lo.Addr, fr)
		giveLibnice(t, peer, []string{candLine(hi)})
		samePair("after libnice nominated the better pair", hi.Addr, fr)
		wantGonice = append(wantGonice, "selected "+hi.Addr.String()+" "+fr)
	}

	mu.Lock()
	got := slices.Clone(goniceAfter)
	mu.Unlock()
	if !slices.Equal(got, wantGonice) {
		t.Errorf("gonice signals after READY = %q, want %q", got, wantGonice)
	}
	// libnice as controlled agent signals a renomination as gonice does:
	// new-selected-pair only. As controlling agent, given a candidate after
	// READY, it goes back to CONNECTED while it checks, then READY.
	libAfter := stdoutEvents(peer)[libReadyLines:]
	var libSelected int
	for _, l := range libAfter {
		if strings.HasPrefix(l, "SELECTED 1 ") {
			libSelected++
		} else if goniceControlling {
			t.Errorf("libnice signalled %q after READY; want new-selected-pair only", l)
		}
	}
	if libSelected != len(wantGonice) {
		t.Errorf("libnice signalled %q after READY; want %d new-selected-pair", libAfter, len(wantGonice))
	}
	if !goniceControlling && (len(libAfter) == 0 || libAfter[len(libAfter)-1] != "STATE 1 ready") {
		t.Errorf("libnice signalled %q after READY; want READY last", libAfter)
	}
	if u, p, err := ga.LocalCredentials(sid); err != nil || u != goUfrag || p != goPwd {
		t.Errorf("gonice credentials changed: %q %q, %v", u, p, err)
	}
	t.Logf("gonice signals after READY: %q; libnice's: %q", got, libAfter)
	if err := peer.quit(); err != nil {
		t.Error(err)
	}
}

// stdoutEvents returns the STATE and SELECTED lines the peer printed, in
// order, without their time stamps.
func stdoutEvents(p *libnicePeer) []string {
	var out []string
	for _, l := range strings.Split(p.stdout.String(), "\n") {
		_, line, _ := strings.Cut(l, " ")
		if strings.HasPrefix(line, "STATE ") || strings.HasPrefix(line, "SELECTED ") {
			out = append(out, line)
		}
	}
	return out
}

// waitLibniceValid waits until libnice's debug log counts n valid pairs on
// component 1.
func waitLibniceValid(p *libnicePeer, n int) error {
	if pollUntil(libniceTimeout, func() bool {
		m := libniceValidRE.FindAllStringSubmatch(p.stderr.String(), -1)
		if len(m) == 0 {
			return false
		}
		v, _ := strconv.Atoi(m[len(m)-1][1])
		return v >= n
	}) {
		return nil
	}
	return fmt.Errorf("libnice's log never counted %d valid pairs within %v", n, libniceTimeout)
}
