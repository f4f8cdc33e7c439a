// SPDX-License-Identifier: MIT

package tests

// Interop with aioice 0.8 (Debian's python3-aioice): a gonice agent in this
// process against tests/aioice/peer.py, an aioice.Connection in a child
// process driven over its stdin/stdout (the line protocol is documented at
// the top of peer.py). Credentials and candidates cross as "a=candidate:"
// lines: GenerateLocalCandidateSDP / ParseRemoteCandidateSDP on the gonice
// side, to_sdp / from_sdp on the aioice side.
//
// aioice never uses 127.0.0.1, so the test builds its own network: a network
// namespace with one end of a veth pair (10.99.n.2/24) where aioice runs
// (ip netns exec), the other end in this namespace (10.99.n.1/24), the only
// address gonice may use (AddLocalAddress). The namespace is deleted when the
// test ends, whatever happened; the veth goes with it.
//
// Needs root, iproute2 and python3-aioice for /usr/bin/python3. Without them
// the test skips, except under CI=true, where it fails: CI must run as root
// and install
//
//	apt-get install -y python3-aioice iproute2
//
// A failing case logs aioice's debug log; GONICE_AIOICE_LOGS=1 logs it for
// every case.

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// aioiceTimeout bounds every single wait of the aioice tests.
const aioiceTimeout = 20 * time.Second

// aioiceInstallHint is what the test command must install.
const aioiceInstallHint = "apt-get install -y python3-aioice iproute2"

// aioicePython is Debian's python, the one python3-aioice installs into.
const aioicePython = "/usr/bin/python3"

// requireAioice skips the test, or fails it under CI=true, when root, ip or
// python3-aioice is missing.
func requireAioice(t *testing.T) {
	t.Helper()
	missing := func(reason string) {
		t.Helper()
		msg := fmt.Sprintf("the aioice interop test needs root, iproute2 and python3-aioice (%s): %s", aioiceInstallHint, reason)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s. CI=true, so this is a failure, not a skip: the test must run as root with them installed", msg)
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		missing("not running as root (network namespaces and veth pairs need it)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		missing("ip not found")
	}
	if _, err := os.Stat(aioicePython); err != nil {
		missing(aioicePython + " not found")
	}
	out, err := exec.Command(aioicePython, "-c", "import aioice, netifaces; print(aioice.__version__)").CombinedOutput()
	if err != nil {
		missing(fmt.Sprintf("%s cannot import aioice (%v): %s", aioicePython, err, strings.TrimSpace(string(out))))
	}
	t.Logf("aioice %s", strings.TrimSpace(string(out)))
}

// aioiceNet is the test network: a namespace for aioice and the address
// gonice uses.
type aioiceNet struct {
	ns     string
	host   netip.Addr // 10.99.n.1, in this namespace
	remote netip.Addr // 10.99.n.2, in ns
}

// runIP runs ip with args and fails the test on error.
func runIP(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

// setupAioiceNet creates the namespace and the veth pair; t.Cleanup deletes
// them.
func setupAioiceNet(t *testing.T) aioiceNet {
	t.Helper()
	pid := os.Getpid()
	// Pick a 10.99.n.0/24 that no interface of this namespace uses yet.
	out, err := exec.Command("ip", "-4", "-o", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip -4 -o addr show: %v", err)
	}
	n := -1
	for i := 0; i < 250; i++ {
		cand := 1 + (pid+i)%250
		if !strings.Contains(string(out), fmt.Sprintf(" 10.99.%d.", cand)) {
			n = cand
			break
		}
	}
	if n < 0 {
		t.Fatal("no free 10.99.n.0/24 subnet")
	}
	an := aioiceNet{
		ns:     fmt.Sprintf("gonice-aioice-%d", pid),
		host:   netip.AddrFrom4([4]byte{10, 99, byte(n), 1}),
		remote: netip.AddrFrom4([4]byte{10, 99, byte(n), 2}),
	}
	hostIf := fmt.Sprintf("gna%d", pid) // at most 10 characters; the limit is 15
	nsIf := "eth0"

	runIP(t, "netns", "add", an.ns)
	t.Cleanup(func() {
		// Processes started in the namespace are killed by their own
		// cleanups, which run before this one.
		if out, err := exec.Command("ip", "netns", "del", an.ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", an.ns, err, strings.TrimSpace(string(out)))
		}
		// The veth normally dies with the namespace; make sure.
		if exec.Command("ip", "link", "show", hostIf).Run() == nil {
			_ = exec.Command("ip", "link", "del", hostIf).Run()
		}
	})
	// Create the pair with its far end directly inside the namespace.
	runIP(t, "link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", an.ns)
	runIP(t, "addr", "add", an.host.String()+"/24", "dev", hostIf)
	runIP(t, "link", "set", hostIf, "up")
	runIP(t, "-n", an.ns, "link", "set", "lo", "up")
	runIP(t, "-n", an.ns, "addr", "add", an.remote.String()+"/24", "dev", nsIf)
	runIP(t, "-n", an.ns, "link", "set", nsIf, "up")
	// The path is symmetric, but a strict rp_filter inherited from the host
	// costs nothing to rule out.
	for _, c := range []string{"all", "default", nsIf} {
		_ = exec.Command("ip", "netns", "exec", an.ns, "sysctl", "-qw", "net.ipv4.conf."+c+".rp_filter=0").Run()
	}
	// Wait until the link carries traffic both ways.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := exec.Command("ip", "netns", "exec", an.ns, "ping", "-c", "1", "-W", "1", an.host.String()).Run()
		if err == nil {
			break
		}
		if _, lerr := exec.LookPath("ping"); lerr != nil {
			// No ping: give the links a moment instead.
			time.Sleep(200 * time.Millisecond)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("veth %s <-> %s in %s does not carry traffic: %v", an.host, an.remote, an.ns, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("network: gonice %s (%s) <-> aioice %s (%s in netns %s)", an.host, hostIf, an.remote, nsIf, an.ns)
	return an
}

// aioicePeer is peer.py running in the namespace.
type aioicePeer struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	st     board
	// Guarded by st.mu:
	ufrag, pwd string
	cands      []string
	gathered   bool
	connected  bool
	failed     string
	recv       map[int][]string
	errs       []string
	exited     bool
}

// startAioicePeer starts peer.py; t.Cleanup stops it.
func startAioicePeer(t *testing.T, an aioiceNet, controlling bool, comps int) *aioicePeer {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("aioice", "peer.py"))
	if err != nil {
		t.Fatal(err)
	}
	ctl := "0"
	if controlling {
		ctl = "1"
	}
	p := &aioicePeer{t: t, stderr: &lockedBuffer{}, recv: map[int][]string{}}
	p.st.init()
	p.cmd = exec.Command("ip", "netns", "exec", an.ns, aioicePython, "-u", script,
		"--controlling", ctl, "--components", strconv.Itoa(comps), "--debug")
	p.cmd.Stderr = p.stderr
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start peer.py: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.readLoop(stdout)
	}()
	t.Cleanup(func() {
		_, _ = io.WriteString(p.stdin, "quit\n")
		_ = p.stdin.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-done
		}
		_ = p.cmd.Wait()
		if t.Failed() || os.Getenv("GONICE_AIOICE_LOGS") == "1" {
			t.Logf("aioice stderr:\n%s", tail(p.stderr.String(), 150))
		}
	})
	return p
}

func (p *aioicePeer) readLoop(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		verb, rest, _ := strings.Cut(line, " ")
		p.st.update(func() {
			switch verb {
			case "creds":
				f := strings.Fields(rest)
				if len(f) == 2 {
					p.ufrag, p.pwd = f[0], f[1]
				}
			case "cand":
				p.cands = append(p.cands, rest)
			case "gathered":
				p.gathered = true
			case "connected":
				p.connected = true
			case "failed":
				p.failed = rest
			case "recv":
				c, text, _ := strings.Cut(rest, " ")
				n, _ := strconv.Atoi(c)
				p.recv[n] = append(p.recv[n], text)
			case "error":
				p.errs = append(p.errs, rest)
			}
		})
	}
	p.st.update(func() { p.exited = true })
}

// send writes one command line to the peer.
func (p *aioicePeer) send(line string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		p.t.Fatalf("write %q to peer.py: %v", line, err)
	}
}

// wait waits for cond on the peer's state, failing early when the peer
// exited or reported an error.
func (p *aioicePeer) wait(what string, cond func() bool) {
	p.t.Helper()
	err := p.st.waitForUpTo(aioiceTimeout, "aioice: "+what, func() (bool, error) {
		if cond() {
			return true, nil
		}
		if len(p.errs) > 0 {
			return false, fmt.Errorf("peer.py reported: %s", strings.Join(p.errs, "; "))
		}
		if p.failed != "" {
			return false, fmt.Errorf("aioice connect() failed: %s", p.failed)
		}
		if p.exited {
			return false, fmt.Errorf("peer.py exited")
		}
		return false, nil
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// aioiceResult is one row of the result table.
type aioiceResult struct {
	name     string
	status   string
	connect  time.Duration
	pairs    string
	dataSent int
}

func TestAioice(t *testing.T) {
	requireAioice(t)
	an := setupAioiceNet(t)

	var mu sync.Mutex
	var results []aioiceResult
	for _, goControlling := range []bool{true, false} {
		for _, comps := range []int{1, 2} {
			role := "controlled"
			if goControlling {
				role = "controlling"
			}
			name := fmt.Sprintf("gonice_%s/components_%d", role, comps)
			t.Run(name, func(t *testing.T) {
				res := aioiceResult{name: name, status: "FAIL"}
				defer func() {
					if !t.Failed() && !t.Skipped() {
						res.status = "ok"
					}
					mu.Lock()
					results = append(results, res)
					mu.Unlock()
				}()
				runAioiceCase(t, an, goControlling, comps, &res)
			})
		}
	}
	t.Logf("%-36s %-6s %-10s %-6s %s", "case", "result", "connect", "msgs", "selected pairs (gonice local -> aioice remote)")
	for _, r := range results {
		t.Logf("%-36s %-6s %-10s %-6d %s", r.name, r.status, r.connect.Round(time.Millisecond), r.dataSent, r.pairs)
	}
}

// goSide is what the gonice agent's callbacks reported.
type goSide struct {
	st       board
	gathered bool
	state    map[int]nice.ComponentState
	failed   map[int]bool
	selected map[int]string
	recv     map[int][]string
}

func runAioiceCase(t *testing.T, an aioiceNet, goControlling bool, comps int, res *aioiceResult) {
	peer := startAioicePeer(t, an, !goControlling, comps)

	g := &goSide{state: map[int]nice.ComponentState{}, failed: map[int]bool{}, selected: map[int]string{}, recv: map[int][]string{}}
	g.st.init()
	agent, err := nice.NewAgent(nice.Config{Controlling: goControlling})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Close() })
	if err := agent.AddLocalAddress(an.host); err != nil {
		t.Fatal(err)
	}
	sid, err := agent.AddStream(comps)
	if err != nil {
		t.Fatal(err)
	}
	agent.OnCandidateGatheringDone(func(int) { g.st.update(func() { g.gathered = true }) })
	agent.OnComponentStateChanged(func(_, comp int, s nice.ComponentState) {
		g.st.update(func() {
			g.state[comp] = s
			if s == nice.ComponentStateFailed {
				g.failed[comp] = true
			}
		})
	})
	agent.OnNewSelectedPair(func(_, comp int, l, r nice.Candidate) {
		g.st.update(func() { g.selected[comp] = fmt.Sprintf("%s:%s -> %s:%s", l.Type, l.Addr, r.Type, r.Addr) })
	})
	for c := 1; c <= comps; c++ {
		err := agent.AttachRecv(sid, c, func(_, comp int, p []byte) {
			text := string(p)
			g.st.update(func() { g.recv[comp] = append(g.recv[comp], text) })
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := agent.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	waitGo := func(what string, cond func() bool) {
		t.Helper()
		err := g.st.waitForUpTo(aioiceTimeout, "gonice: "+what, func() (bool, error) {
			if cond() {
				return true, nil
			}
			for c, f := range g.failed {
				if f {
					return false, fmt.Errorf("component %d went failed", c)
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	waitGo("candidate gathering done", func() bool { return g.gathered })
	peer.wait("candidates gathered", func() bool { return peer.gathered })

	// gonice -> aioice: credentials and candidates.
	ufrag, pwd, err := agent.LocalCredentials(sid)
	if err != nil {
		t.Fatal(err)
	}
	peer.send("creds " + ufrag + " " + pwd)
	var goCands []string
	for c := 1; c <= comps; c++ {
		lc, err := agent.LocalCandidates(sid, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(lc) == 0 {
			t.Fatalf("gonice has no local candidate for component %d", c)
		}
		for _, cand := range lc {
			line := agent.GenerateLocalCandidateSDP(cand)
			goCands = append(goCands, line)
			peer.send("cand " + line)
		}
	}

	// aioice -> gonice.
	var rUfrag, rPwd string
	var rCands []string
	peer.st.read(func() {
		rUfrag, rPwd = peer.ufrag, peer.pwd
		rCands = append(rCands, peer.cands...)
	})
	t.Logf("gonice candidates: %q", goCands)
	t.Logf("aioice candidates: %q (ufrag %q)", rCands, rUfrag)
	if err := agent.SetRemoteCredentials(sid, rUfrag, rPwd); err != nil {
		t.Fatalf("SetRemoteCredentials(%q, pwd of %d chars): %v", rUfrag, len(rPwd), err)
	}
	perComp := map[int][]nice.Candidate{}
	for _, line := range rCands {
		c, err := agent.ParseRemoteCandidateSDP(sid, line)
		if err != nil {
			t.Fatalf("ParseRemoteCandidateSDP(%q): %v", line, err)
		}
		perComp[c.ComponentID] = append(perComp[c.ComponentID], c)
	}
	for c := 1; c <= comps; c++ {
		if len(perComp[c]) == 0 {
			t.Fatalf("aioice signalled no candidate for component %d: %q", c, rCands)
		}
		if n, err := agent.SetRemoteCandidates(sid, c, perComp[c]); err != nil || n != len(perComp[c]) {
			t.Fatalf("SetRemoteCandidates(component %d) = %d, %v; want %d", c, n, err, len(perComp[c]))
		}
	}
	if err := agent.PeerCandidateGatheringDone(sid); err != nil {
		t.Fatal(err)
	}
	peer.send("done")

	waitGo("every component ready", func() bool {
		for c := 1; c <= comps; c++ {
			if g.state[c] != nice.ComponentStateReady {
				return false
			}
		}
		return true
	})
	peer.wait("connect() returned", func() bool { return peer.connected })
	res.connect = time.Since(start)
	g.st.read(func() {
		var pairs []string
		for c := 1; c <= comps; c++ {
			pairs = append(pairs, fmt.Sprintf("c%d %s", c, g.selected[c]))
		}
		res.pairs = strings.Join(pairs, "; ")
	})

	// Data both ways on every component.
	const rounds = 3
	for c := 1; c <= comps; c++ {
		for i := 0; i < rounds; i++ {
			msg := fmt.Sprintf("go-to-aioice-c%d-%d", c, i)
			if _, err := agent.Send(sid, c, []byte(msg)); err != nil {
				t.Fatalf("Send(component %d): %v", c, err)
			}
			peer.send(fmt.Sprintf("send %d aioice-to-go-c%d-%d", c, c, i))
			res.dataSent += 2
		}
	}
	for c := 1; c <= comps; c++ {
		peer.wait(fmt.Sprintf("data on component %d", c), func() bool { return len(peer.recv[c]) >= rounds })
		waitGo(fmt.Sprintf("data on component %d", c), func() bool { return len(g.recv[c]) >= rounds })
	}
	// Each message must arrive on its own component, in full.
	peer.st.read(func() {
		for c := 1; c <= comps; c++ {
			for _, m := range peer.recv[c] {
				if !strings.HasPrefix(m, fmt.Sprintf("go-to-aioice-c%d-", c)) {
					t.Errorf("aioice component %d received %q", c, m)
				}
			}
		}
	})
	g.st.read(func() {
		for c := 1; c <= comps; c++ {
			for _, m := range g.recv[c] {
				if !strings.HasPrefix(m, fmt.Sprintf("aioice-to-go-c%d-", c)) {
					t.Errorf("gonice component %d received %q", c, m)
				}
			}
		}
	})
}
