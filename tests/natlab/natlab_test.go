// SPDX-License-Identifier: MIT

package natlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binaries built once per test process.
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gonice-natlab-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// refuse fails the test under CI=true and skips it otherwise.
func refuse(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := "natlab: " + fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: the NAT lab must run)")
	}
	t.Skip(msg)
}

// build builds the project's stunserver and the natagent helper.
func build() error {
	buildOnce.Do(func() {
		for _, b := range []struct{ out, pkg string }{
			{"stunserver", "github.com/gonice/gonice/examples/stunserver"},
			{"natagent", "github.com/gonice/gonice/tests/natlab/cmd/natagent"},
			{"ctflush", "github.com/gonice/gonice/tests/natlab/cmd/ctflush"},
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), b.pkg)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
				return
			}
		}
	})
	return buildErr
}

// newLab checks the requirements, sweeps stale namespaces and starts a lab
// that is closed when the test ends.
func newLab(t *testing.T) *Lab {
	t.Helper()
	if testing.Short() {
		t.Skip("natlab: skipped in -short mode")
	}
	if why := Requirements(); why != "" {
		refuse(t, "%s", why)
	}
	SweepStale(t.Logf)
	err := build()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if os.Getenv("NATLAB_KEEP") != "" { // keep logs (agents' stderr, turnserver.log) for debugging
		if dir, err = os.MkdirTemp("", "gonice-natlab-"); err != nil {
			t.Fatal(err)
		}
		t.Logf("natlab: logs kept in %s", dir)
	}
	start := time.Now()
	l, err := Up(dir, filepath.Join(binDir, "stunserver"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := time.Now()
		l.Close()
		t.Logf("natlab: teardown took %v", time.Since(c).Round(time.Millisecond))
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "turnserver.log")); err == nil && len(b) > 0 {
				if len(b) > 4000 {
					b = b[len(b)-4000:]
				}
				t.Logf("turnserver.log (tail):\n%s", b)
			}
		}
	})
	t.Logf("natlab: public segment and servers up in %v", time.Since(start).Round(time.Millisecond))
	return l
}

func agentArgs(controlling bool, extra ...string) []string {
	args := []string{"--stun", STUNAddr, "--turn", TURNAddr, "--turn-user", TURNUser, "--turn-pass", TURNPass}
	if controlling {
		args = append(args, "--controlling")
	}
	if os.Getenv("NATLAB_DEBUG") != "" {
		args = append(args, "--debug")
	}
	return append(args, extra...)
}

// gathered is what an agent reported until its gathering was done.
type gathered struct {
	creds  string
	cands  []string
	types  map[string]int
	first  map[string]int // ms of the first candidate of each type
	doneMS int
}

// waitGathered reads an agent's lines until "gathered".
func waitGathered(t *testing.T, a *Agent, timeout time.Duration) (gathered, error) {
	t.Helper()
	g := gathered{types: map[string]int{}, first: map[string]int{}}
	tm := time.After(timeout)
	for {
		select {
		case ln, ok := <-a.Lines:
			if !ok {
				return g, fmt.Errorf("%s exited during gathering:\n%s", a.Name, a.Log())
			}
			switch ln.Kind {
			case "creds":
				g.creds = ln.Arg
			case "cand":
				g.cands = append(g.cands, ln.Arg)
				typ := candType(ln.Arg)
				if _, ok := g.first[typ]; !ok {
					g.first[typ] = ln.MS
				}
				g.types[typ]++
			case "gathered":
				g.doneMS = ln.MS
				return g, nil
			case "error":
				return g, fmt.Errorf("%s: %s", a.Name, ln.Arg)
			}
		case <-tm:
			return g, fmt.Errorf("%s: no gathering-done within %v:\n%s", a.Name, timeout, a.Log())
		}
	}
}

// candType returns the typ of an a=candidate line.
func candType(line string) string {
	f := strings.Fields(line)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "typ" {
			return f[i+1]
		}
	}
	return "?"
}

// result of one connection attempt between two agents.
type result struct {
	ok         bool
	local      string // selected local candidate type, controlling side
	remote     string // selected remote candidate type, controlling side
	localAddr  string
	remoteAddr string
	localTr    string // selected local candidate's transport (udp, tcp-act, tcp-pass), controlling side
	remoteTr   string
	peerLocal  string // selected local candidate type, controlled side
	connect    time.Duration
	gatherA    gathered
	gatherB    gathered
	err        string
}

func (r result) direct() bool {
	return r.local != "relay" && r.remote != "relay" && r.peerLocal != "relay"
}

// connectPair starts agents in h1 (controlling) and h2, exchanges their
// credentials and candidates once both finished gathering, waits until
// both are ready and sends data both ways.
func connectPair(t *testing.T, l *Lab, timeout time.Duration, extraA, extraB []string) result {
	t.Helper()
	return connectPairOn(t, l, "h1", "h2", true, timeout, extraA, extraB)
}

// connectPairOn is connectPair with agent A in node nodeA, B in nodeB and
// A controlling or not (B the other role).
func connectPairOn(t *testing.T, l *Lab, nodeA, nodeB string, aControlling bool, timeout time.Duration, extraA, extraB []string) result {
	t.Helper()
	bin := filepath.Join(binDir, "natagent")
	var r result
	a, err := l.StartAgent("A", nodeA, bin, agentArgs(aControlling, extraA...)...)
	if err != nil {
		r.err = err.Error()
		return r
	}
	defer a.Stop()
	b, err := l.StartAgent("B", nodeB, bin, agentArgs(!aControlling, extraB...)...)
	if err != nil {
		r.err = err.Error()
		return r
	}
	defer b.Stop()
	if r.gatherA, err = waitGathered(t, a, 10*time.Second); err != nil {
		r.err = err.Error()
		return r
	}
	if r.gatherB, err = waitGathered(t, b, 10*time.Second); err != nil {
		r.err = err.Error()
		return r
	}
	t0 := time.Now()
	for _, p := range []struct {
		to   *Agent
		from gathered
	}{{a, r.gatherB}, {b, r.gatherA}} {
		_ = p.to.Send("creds " + p.from.creds)
		for _, c := range p.from.cands {
			_ = p.to.Send("cand " + c)
		}
		_ = p.to.Send("done")
	}

	// Wait for ready on both sides and for the echo in both directions.
	deadline := time.After(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var readyA, readyB, echoA, echoB bool
	for !(readyA && readyB && echoA && echoB) {
		select {
		case ln, ok := <-a.Lines:
			if !ok {
				r.err = "A exited:\n" + a.Log()
				return r
			}
			switch ln.Kind {
			case "selected":
				f := strings.Fields(ln.Arg)
				if len(f) == 6 {
					r.local, r.remote, r.localAddr, r.remoteAddr, r.localTr, r.remoteTr = f[0], f[1], f[2], f[3], f[4], f[5]
				}
			case "state":
				if ln.Arg == "ready" && !readyA {
					readyA = true
					r.connect = ln.At.Sub(t0)
				}
				if ln.Arg == "failed" {
					r.err = "A failed\nA:\n" + a.Log() + "\nB:\n" + b.Log()
					return r
				}
			case "recv":
				if ln.Arg == "echo A" {
					echoA = true
				}
			}
		case ln, ok := <-b.Lines:
			if !ok {
				r.err = "B exited:\n" + b.Log()
				return r
			}
			switch ln.Kind {
			case "selected":
				if f := strings.Fields(ln.Arg); len(f) == 6 {
					r.peerLocal = f[0]
				}
			case "state":
				if ln.Arg == "ready" {
					readyB = true
				}
				if ln.Arg == "failed" {
					r.err = "B failed\nA:\n" + a.Log() + "\nB:\n" + b.Log()
					return r
				}
			case "recv":
				if ln.Arg == "echo B" {
					echoB = true
				}
			}
		case <-tick.C:
			if readyA && !echoA {
				_ = a.Send("send ping A")
			}
			if readyB && !echoB {
				_ = b.Send("send ping B")
			}
		case <-deadline:
			r.err = fmt.Sprintf("timeout after %v (readyA=%v readyB=%v echoA=%v echoB=%v)\nA:\n%s\nB:\n%s",
				timeout, readyA, readyB, echoA, echoB, a.Log(), b.Log())
			return r
		}
	}
	r.ok = true
	return r
}

// punchable reports whether UDP hole punching works between the two NAT
// types (natlab.md §0): everything but port-restricted↔symmetric and
// symmetric↔symmetric.
func punchable(a, b NAT) bool {
	hard := func(x, y NAT) bool { return x == PortRestricted && y == Symmetric }
	return !(hard(a, b) || hard(b, a) || (a == Symmetric && b == Symmetric))
}

// matrixOpts: the controlling agent waits 1.5 s (Config.NominationDelay,
// default 200 ms) for a better pair before it nominates. With the default,
// symmetric/restricted selected a relayed pair in 1 of 4 full runs on
// 2026-11-25: there the direct pair only succeeds with the first
// retransmission of a check (RTO 500 ms), after the peer's own check has
// opened its NAT, while the relayed pair succeeds within ~50 ms.
var matrixOpts = []string{"--nomination-delay", "1500ms"}

// TestNATMatrix connects two agents for each of the 16 NAT-type pairs.
func TestNATMatrix(t *testing.T) {
	l := newLab(t)
	start := time.Now()
	var rows []string
	failed := 0
	for _, na := range AllNATs {
		for _, nb := range AllNATs {
			if only := os.Getenv("NATLAB_CELLS"); only != "" && !strings.Contains(" "+only+" ", " "+string(na)+"/"+string(nb)+" ") {
				continue
			}
			if err := l.SetSite(1, Site{NAT: na}); err != nil {
				t.Fatal(err)
			}
			if err := l.SetSite(2, Site{NAT: nb}); err != nil {
				t.Fatal(err)
			}
			r := connectPair(t, l, 20*time.Second, matrixOpts, matrixOpts)
			want := "direct"
			if !punchable(na, nb) {
				want = "relay"
			}
			got := "relay"
			if r.direct() {
				got = "direct"
			}
			verdict := "ok"
			switch {
			case !r.ok:
				verdict = "FAIL (no connection)"
			case got != want:
				verdict = "FAIL (" + got + ")"
			}
			if verdict != "ok" {
				failed++
				t.Errorf("%s/%s: %s: %s", na, nb, verdict, r.err)
			}
			rows = append(rows, fmt.Sprintf("%-15s %-15s %-6s %-6s %-6s %8s  %-7s %-7s %s",
				na, nb, r.local, r.remote, r.peerLocal, r.connect.Round(time.Millisecond), want, got, verdict))
			t.Logf("%s/%s: A %s %s -> %s %s", na, nb, r.local, r.localAddr, r.remote, r.remoteAddr)
		}
	}
	table := fmt.Sprintf("%-15s %-15s %-6s %-6s %-6s %8s  %-7s %-7s %s\n", "NAT A", "NAT B", "A loc", "A rem", "B loc", "connect", "expect", "got", "verdict") +
		strings.Join(rows, "\n")
	t.Logf("NAT matrix (A controlling in LAN 1, B in LAN 2; %d failures; %v):\n%s",
		failed, time.Since(start).Round(time.Millisecond), table)
}

// TestForceRelay: with ForceRelay on both agents, even two full-cone NATs
// connect through coturn.
func TestForceRelay(t *testing.T) {
	l := newLab(t)
	// With ForceRelay every NAT-type pair connects through coturn.
	for _, na := range AllNATs {
		for _, nb := range AllNATs {
			if err := l.SetSite(1, Site{NAT: na}); err != nil {
				t.Fatal(err)
			}
			if err := l.SetSite(2, Site{NAT: nb}); err != nil {
				t.Fatal(err)
			}
			r := connectPair(t, l, 20*time.Second, []string{"--force-relay"}, []string{"--force-relay"})
			if !r.ok {
				t.Errorf("force-relay %v/%v: no connection: %s", na, nb, r.err)
				continue
			}
			for name, g := range map[string]gathered{"A": r.gatherA, "B": r.gatherB} {
				if len(g.types) != 1 || g.types["relay"] == 0 {
					t.Errorf("force-relay %v/%v: %s signalled candidate types %v, want relay only", na, nb, name, g.types)
				}
			}
			if r.local != "relay" || r.remote != "relay" || r.peerLocal != "relay" {
				t.Errorf("force-relay %v/%v: selected A %s->%s, B local %s; want relay everywhere", na, nb, r.local, r.remote, r.peerLocal)
			}
			t.Logf("force-relay %-15v %-15v A %s %s -> %s %s, B local %s, connect %v",
				na, nb, r.local, r.localAddr, r.remote, r.remoteAddr, r.peerLocal, r.connect.Round(time.Millisecond))
		}
	}
}

// TestLoss: 30 % random loss on both WAN links (of every packet arriving
// from the public segment, so 30 % one way and 51 % round trip on every
// path), the agents still connect and exchange data. With gonice's
// defaults (RTO 500 ms, 3 retransmissions) the only working pair failed in
// about half of the runs on 2026-11-25 (4 sends of a check that succeeds
// with p = 0.49, the first of them dropped by the peer's NAT until its own
// check opens the hole), so the agents are configured for a lossy network:
// STUNInitialTimeout 200 ms, 7 retransmissions, GatheringTimeout 10 s.
func TestLoss(t *testing.T) {
	l := newLab(t)
	for i := 1; i <= 2; i++ {
		if err := l.SetSite(i, Site{NAT: PortRestricted, LossPct: 30}); err != nil {
			t.Fatal(err)
		}
	}
	lossy := []string{"--stun-rto", "200ms", "--stun-retrans", "7", "--gather-timeout", "10s"}
	r := connectPair(t, l, 40*time.Second, lossy, lossy)
	if !r.ok {
		t.Fatalf("no connection with 30%% loss: %s", r.err)
	}
	t.Logf("30%% loss portrestricted/portrestricted: A %s %s -> %s %s, B local %s, gathering A %dms B %dms, connect %v",
		r.local, r.localAddr, r.remote, r.remoteAddr, r.peerLocal, r.gatherA.doneMS, r.gatherB.doneMS, r.connect.Round(time.Millisecond))
}

// TestSTUNServerSilent: the router drops everything to the STUN server.
// The host candidate comes at once and gathering-done within
// Config.GatheringTimeout, with STUN alone and with STUN and TURN (the
// relay, and the server-reflexive candidate that TURN's XOR-MAPPED-ADDRESS
// gives, still come).
func TestSTUNServerSilent(t *testing.T) {
	l := newLab(t)
	if err := l.SetSite(1, Site{NAT: PortRestricted, BlockSTUN: true}); err != nil {
		t.Fatal(err)
	}
	const gatherTimeout = 2 * time.Second
	bin := filepath.Join(binDir, "natagent")
	stunOnly, err := l.StartAgent("stun-only", "h1", bin, "--controlling", "--stun", STUNAddr, "--gather-timeout", gatherTimeout.String())
	if err != nil {
		t.Fatal(err)
	}
	defer stunOnly.Stop()
	withTURN, err := l.StartAgent("stun-turn", "h1", bin, agentArgs(true, "--gather-timeout", gatherTimeout.String())...)
	if err != nil {
		t.Fatal(err)
	}
	defer withTURN.Stop()
	for _, a := range []*Agent{stunOnly, withTURN} {
		g, err := waitGathered(t, a, gatherTimeout+5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("silent STUN server, %s: first host candidate at %dms, gathering-done at %dms (GatheringTimeout %v); candidates %v",
			a.Name, g.first["host"], g.doneMS, gatherTimeout, g.types)
		if ms, ok := g.first["host"]; !ok || ms > 300 {
			t.Errorf("%s: host candidate at %dms (present %v), want at once (<= 300ms)", a.Name, ms, ok)
		}
		if limit := int(gatherTimeout/time.Millisecond) + 300; g.doneMS > limit {
			t.Errorf("%s: gathering-done at %dms, want within the %v GatheringTimeout (+300ms)", a.Name, g.doneMS, gatherTimeout)
		}
		if a == stunOnly && g.types["srflx"] != 0 {
			t.Errorf("%s: %d srflx candidates from a STUN server that cannot be reached", a.Name, g.types["srflx"])
		}
		if a == withTURN && g.types["relay"] == 0 {
			t.Errorf("%s: no relayed candidate, though coturn answers:\n%s", a.Name, a.Log())
		}
	}
}
