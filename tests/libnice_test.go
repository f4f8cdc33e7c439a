// SPDX-License-Identifier: MIT

package tests

// Interop with libnice 0.1.21 (Debian's libnice-dev): a gonice agent in this
// process against tests/libnice/peer.c, a libnice agent in a child process
// driven over its stdin/stdout (the line protocol is documented at the top
// of peer.c). Credentials and candidates cross as SDP both ways:
// nice_agent_generate_local_sdp's text goes to gonice's ParseRemoteSDP, and
// gonice's GenerateLocalSDP goes to nice_agent_parse_remote_sdp.
//
// A failing case logs both agents' debug logs; GONICE_LIBNICE_LOGS=1 logs
// them for every case.
//
// Needs gcc, pkg-config and libnice-dev. Without them the tests skip, except
// under CI=true, where they fail: CI must install
//
//	apt-get install -y libnice-dev pkg-config

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// libniceTimeout bounds every single wait of the libnice tests. It is
// generous (these tests run under -race on small machines) and no test
// asserts a duration.
const libniceTimeout = 20 * time.Second

// libniceInstallHint is what the test command must install.
const libniceInstallHint = "apt-get install -y libnice-dev pkg-config"

// requireLibnice returns the compiler flags for libnice. When gcc,
// pkg-config or libnice-dev is missing it skips the test, or fails it under
// CI=true, where the interop tests must run.
func requireLibnice(t *testing.T) []string {
	t.Helper()
	missing := func(reason string) {
		t.Helper()
		msg := fmt.Sprintf("the libnice interop tests need gcc, pkg-config and libnice-dev (%s): %s", libniceInstallHint, reason)
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s. CI=true, so this is a failure, not a skip: the test command must install them", msg)
		}
		t.Skip(msg)
	}
	for _, tool := range []string{"gcc", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(tool + " not found")
		}
	}
	if out, err := exec.Command("pkg-config", "--exists", "--print-errors", "nice").CombinedOutput(); err != nil {
		missing(fmt.Sprintf("pkg-config --exists nice failed (%v): %s", err, strings.Join(strings.Fields(string(out)), " ")))
	}
	out, err := exec.Command("pkg-config", "--cflags", "--libs", "nice").Output()
	if err != nil {
		missing(fmt.Sprintf("pkg-config --cflags --libs nice: %v", err))
	}
	return strings.Fields(string(out))
}

// buildLibniceProgram compiles tests/libnice/<name>.c into t.TempDir() and
// returns the path of the program.
func buildLibniceProgram(t *testing.T, name string) string {
	t.Helper()
	flags := requireLibnice(t)
	src := filepath.Join("libnice", name+".c")
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"-Wall", "-Wextra", "-Werror", "-o", bin, src}, flags...)
	if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// lockedBuffer is a bytes.Buffer for several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines left out ...]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// board is state that several goroutines update and a test waits on.
type board struct {
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every update
}

func (b *board) init() { b.changed = make(chan struct{}) }

// update runs f with the lock held and wakes the waiters.
func (b *board) update(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
}

// read runs f with the lock held.
func (b *board) read(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	f()
}

// waitFor waits until cond, called with the lock held, returns true or an
// error; it gives up after libniceTimeout.
func (b *board) waitFor(what string, cond func() (bool, error)) error {
	return b.waitForUpTo(libniceTimeout, what, cond)
}

// waitForUpTo is waitFor with a timeout of d.
func (b *board) waitForUpTo(d time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		ok, err := cond()
		ch := b.changed
		b.mu.Unlock()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("timed out after %v waiting for %s", d, what)
		}
	}
}

// sideState is what one agent's signals said, per component.
type sideState struct {
	gathered       bool
	state          map[int]string    // libnice's state names
	readyAt        map[int]time.Time // when the component first reached READY
	failed         map[int]bool      // the component went FAILED at some point
	selected       map[int]string    // "local remote" of the last new-selected-pair
	pairTransports map[int]string    // "local remote" transports of that pair (the peer's TRANSPORTS line)
	recv           map[int][]string  // data received
	prflx          int               // remote candidates learned from checks
}

func newSideState() sideState {
	return sideState{
		state:          map[int]string{},
		readyAt:        map[int]time.Time{},
		failed:         map[int]bool{},
		selected:       map[int]string{},
		pairTransports: map[int]string{},
		recv:           map[int][]string{},
	}
}

func (s *sideState) setState(comp int, state string) {
	s.state[comp] = state
	switch state {
	case "ready":
		if s.readyAt[comp].IsZero() {
			s.readyAt[comp] = time.Now()
		}
	case "failed":
		s.failed[comp] = true
	}
}

// reachedReady reports whether components 1..n have all been READY.
func (s *sideState) reachedReady(n int) bool {
	for c := 1; c <= n; c++ {
		if s.readyAt[c].IsZero() {
			return false
		}
	}
	return true
}

// lastReady returns when the last of components 1..n first became READY.
func (s *sideState) lastReady(n int) time.Time {
	var last time.Time
	for c := 1; c <= n; c++ {
		if s.readyAt[c].After(last) {
			last = s.readyAt[c]
		}
	}
	return last
}

// anyFailed returns an error if a component of 1..n went FAILED.
func (s *sideState) anyFailed(who string, n int) error {
	for c := 1; c <= n; c++ {
		if s.failed[c] {
			return fmt.Errorf("%s component %d went FAILED", who, c)
		}
	}
	return nil
}

// session is one gonice agent and one libnice peer.
type session struct {
	board
	gonice, libnice sideState
	libniceSDP      string   // the peer's local SDP (decoded)
	replies         []string // the peer's OK/ERR lines, in order
	bye             bool
	exited          bool
	exitErr         error
	protocolErr     error // an output line the test does not understand
}

func newSession() *session {
	s := &session{gonice: newSideState(), libnice: newSideState()}
	s.init()
	return s
}

// peerError returns an error once the peer has exited (other than after
// QUIT) or printed something unexpected. Called with the lock held.
func (s *session) peerError() error {
	if s.protocolErr != nil {
		return s.protocolErr
	}
	if s.exited && !s.bye {
		return fmt.Errorf("the libnice peer exited (%v)", s.exitErr)
	}
	return nil
}

// handleLine records one line of the peer's output. Called with the lock held.
func (s *session) handleLine(line string) {
	verb, rest, _ := strings.Cut(line, " ")
	comp := func() (int, string, bool) {
		n, text, _ := strings.Cut(rest, " ")
		c, err := strconv.Atoi(n)
		return c, text, err == nil
	}
	bad := func() { s.protocolErr = fmt.Errorf("unexpected line from the libnice peer: %q", line) }
	switch verb {
	case "SDP":
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			bad()
			return
		}
		s.libniceSDP = string(b)
		s.libnice.gathered = true
	case "STATE":
		c, state, ok := comp()
		if !ok {
			bad()
			return
		}
		s.libnice.setState(c, state)
	case "SELECTED":
		c, pair, ok := comp()
		if !ok {
			bad()
			return
		}
		s.libnice.selected[c] = pair
	case "TRANSPORTS":
		c, transports, ok := comp()
		if !ok {
			bad()
			return
		}
		s.libnice.pairTransports[c] = transports
	case "REMOTE":
		s.libnice.prflx++
	case "RECV":
		c, text, ok := comp()
		if !ok {
			bad()
			return
		}
		s.libnice.recv[c] = append(s.libnice.recv[c], text)
	case "OK", "ERR":
		s.replies = append(s.replies, line)
	case "BYE":
		s.bye = true
	default:
		bad()
	}
}

// libnicePeer is a running tests/libnice/peer.
type libnicePeer struct {
	s        *session
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stdout   lockedBuffer // everything it printed
	stderr   lockedBuffer // libnice's debug log
	done     chan struct{}
	nreplies int // replies consumed by command
}

// startLibnicePeer starts the peer; t.Cleanup ends it (closing its stdin,
// then killing it if it has not exited within 5 s) and waits for it.
func startLibnicePeer(t *testing.T, bin string, s *session, args ...string) *libnicePeer {
	t.Helper()
	p := &libnicePeer{s: s, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	// libnice's debug log goes to stderr; it is shown when a test fails.
	p.cmd.Env = append(os.Environ(), "G_MESSAGES_DEBUG=libnice", "NICE_DEBUG=nice")
	p.cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintf(&p.stdout, "%s %s\n", time.Now().Format("15:04:05.000"), line)
			s.update(func() { s.handleLine(line) })
		}
		err := p.cmd.Wait() // after every read from stdout, as os/exec requires
		s.update(func() { s.exited, s.exitErr = true, err })
	}()
	t.Cleanup(p.stop)
	return p
}

// stop ends the peer and waits for it.
func (p *libnicePeer) stop() {
	_ = p.stdin.Close() // the peer exits at the end of its input
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// command sends one command line and returns the peer's reply ("OK ..."),
// or an error for "ERR ..." or no reply.
func (p *libnicePeer) command(line string) (string, error) {
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		return "", fmt.Errorf("writing %q to the libnice peer: %w", line, err)
	}
	verb, _, _ := strings.Cut(line, " ")
	var reply string
	err := p.s.waitFor("the libnice peer's reply to "+verb, func() (bool, error) {
		if len(p.s.replies) > p.nreplies {
			reply = p.s.replies[p.nreplies]
			return true, nil
		}
		return false, p.s.peerError()
	})
	if err != nil {
		return "", err
	}
	p.nreplies++
	if strings.HasPrefix(reply, "ERR") {
		return "", fmt.Errorf("libnice peer: %s: %s", verb, reply)
	}
	return reply, nil
}

// quit sends QUIT and waits for BYE and a clean exit.
func (p *libnicePeer) quit() error {
	if _, err := io.WriteString(p.stdin, "QUIT\n"); err != nil {
		return err
	}
	err := p.s.waitFor("the libnice peer to exit after QUIT", func() (bool, error) {
		return p.s.bye && p.s.exited, p.s.protocolErr
	})
	if err != nil {
		return err
	}
	var exitErr error
	p.s.read(func() { exitErr = p.s.exitErr })
	if exitErr != nil {
		return fmt.Errorf("the libnice peer exited with %v after QUIT", exitErr)
	}
	return nil
}

// sdpParts returns the credentials and candidate lines of a one-stream SDP.
func sdpParts(sdp string) (ufrag, pwd string, cands []string) {
	for _, l := range strings.Split(sdp, "\n") {
		switch {
		case strings.HasPrefix(l, "a=ice-ufrag:"):
			ufrag = strings.TrimPrefix(l, "a=ice-ufrag:")
		case strings.HasPrefix(l, "a=ice-pwd:"):
			pwd = strings.TrimPrefix(l, "a=ice-pwd:")
		case strings.HasPrefix(l, "a=candidate:"):
			cands = append(cands, l)
		}
	}
	return ufrag, pwd, cands
}

// candidateComponent returns the component id of an a=candidate line.
func candidateComponent(line string) (int, error) {
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, fmt.Errorf("short candidate line %q", line)
	}
	return strconv.Atoi(f[1])
}

// trickle says which side gets the other's candidates late.
type trickle int

const (
	trickleNone      trickle = iota // both get the whole SDP
	trickleToGonice                 // gonice gets libnice's credentials and first candidate, the rest once checks ran
	trickleToLibnice                // the same, for libnice (CRED and CAND commands)
)

// libniceCase is one row of the interop matrix.
type libniceCase struct {
	goniceControlling bool
	sameRole          bool // libnice starts in gonice's role (a role conflict); else in the other
	comps             int
	goniceNomination  nice.NominationMode
	libniceNomination nice.NominationMode
	trickle           trickle
	libniceICETCP     bool          // libnice also gathers (and signals) TCP candidates
	consentHold       time.Duration // stay connected this long with consent checks both ways, then send again
	addrs             []string      // local addresses of both agents; none: every interface
	mux               bool          // gonice's component 1 on a nice.UDPMux (on addrs[0]) shared with other agents
}

// variant names what the case adds to plain SDP signalling.
func (tc libniceCase) variant() string {
	var v []string
	switch tc.trickle {
	case trickleToGonice:
		v = append(v, "trickle->gonice")
	case trickleToLibnice:
		v = append(v, "trickle->libnice")
	}
	if tc.sameRole {
		v = append(v, "role-conflict")
	}
	if tc.libniceICETCP {
		v = append(v, "libnice-ice-tcp")
	}
	if tc.consentHold > 0 {
		v = append(v, fmt.Sprintf("consent-%v", tc.consentHold))
	}
	if len(tc.addrs) > 1 {
		v = append(v, fmt.Sprintf("%daddrs", len(tc.addrs)))
	}
	if len(tc.addrs) == 0 {
		v = append(v, "all-interfaces")
	}
	if tc.mux {
		v = append(v, "mux")
	}
	if len(v) == 0 {
		return "SDP"
	}
	return strings.Join(v, ",")
}

func (tc libniceCase) name() string {
	role := "gonice-controlled"
	if tc.goniceControlling {
		role = "gonice-controlling"
	}
	n := fmt.Sprintf("%s/%dcomp/gonice-%s/libnice-%s", role, tc.comps, tc.goniceNomination, tc.libniceNomination)
	if v := tc.variant(); v != "SDP" {
		n += "/" + v
	}
	return n
}

// libniceResult is one printed row.
type libniceResult struct {
	tc                       libniceCase
	roleNote                 string // role changes by role-conflict resolution
	pairs                    string // gonice's selected pairs, local->remote
	goniceReady, libniceRdy  time.Duration
	gonicePrflx, libnicePrfx int
	failed                   bool
}

// TestLibniceInterop is the interop matrix: gonice controlling and
// controlled, 1 and 2 components, regular and aggressive nomination on each
// side independently (16 cases; a side's nomination mode matters while it
// is controlling). Then: libnice with ICE-TCP on, so that gonice gets (and
// must skip) TCP candidates in libnice's SDP; both agents starting in the
// same role (role conflict, RFC 8445 §7.3.1.1); and a connection kept for
// a few seconds with RFC 7675 consent checks both ways (libnice's
// consent-freshness option; gonice with a short consent interval) before
// data crosses again.
func TestLibniceInterop(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	loopback := []string{"127.0.0.1"}
	var cases []libniceCase
	for _, controlling := range []bool{true, false} {
		for _, comps := range []int{1, 2} {
			for _, gn := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
				for _, ln := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
					cases = append(cases, libniceCase{goniceControlling: controlling, comps: comps,
						goniceNomination: gn, libniceNomination: ln, addrs: loopback})
				}
			}
		}
	}
	defaults := libniceCase{comps: 2, goniceNomination: nice.NominationRegular,
		libniceNomination: nice.NominationAggressive, addrs: loopback}
	for _, variant := range []func(*libniceCase){
		func(tc *libniceCase) { tc.libniceICETCP = true },
		func(tc *libniceCase) { tc.sameRole = true },
	} {
		for _, controlling := range []bool{true, false} {
			tc := defaults
			tc.goniceControlling = controlling
			variant(&tc)
			cases = append(cases, tc)
		}
	}
	tc := defaults
	tc.comps, tc.consentHold = 1, 6*time.Second
	cases = append(cases, tc)
	runLibniceMatrix(t, bin, cases)
}

// TestLibniceTrickle gives one side's candidates to the other after the
// connectivity checks started: first the credentials and the first
// candidate, then, once component 1 has a working pair, the rest. Both
// agents have two addresses (127.0.0.1 and 127.0.0.2) and two components,
// so the late side sees checks come from addresses it does not know yet
// (peer-reflexive candidates, counted in the table), which the late
// candidates must then match.
func TestLibniceTrickle(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	two := []string{"127.0.0.1", "127.0.0.2"}
	var cases []libniceCase
	for _, tr := range []trickle{trickleToGonice, trickleToLibnice} {
		for _, controlling := range []bool{true, false} {
			cases = append(cases, libniceCase{goniceControlling: controlling, comps: 2,
				goniceNomination: nice.NominationRegular, libniceNomination: nice.NominationAggressive,
				trickle: tr, addrs: two})
		}
	}
	runLibniceMatrix(t, bin, cases)
}

// TestLibniceMux: gonice's agent on a nice.UDPMux (server mode) that
// other gonice agents share: its component 1 is the mux's one host
// candidate; both roles, 1 and 2 components (component 2 binds its own
// socket), and trickle to gonice, where libnice's first checks reach the
// mux before gonice knows its candidates.
func TestLibniceMux(t *testing.T) {
	bin := buildLibniceProgram(t, "peer")
	loopback := []string{"127.0.0.1"}
	var cases []libniceCase
	for _, controlling := range []bool{true, false} {
		for _, comps := range []int{1, 2} {
			cases = append(cases, libniceCase{goniceControlling: controlling, comps: comps, mux: true,
				goniceNomination: nice.NominationRegular, libniceNomination: nice.NominationAggressive, addrs: loopback})
		}
		cases = append(cases, libniceCase{goniceControlling: controlling, comps: 1, mux: true, trickle: trickleToGonice,
			goniceNomination: nice.NominationRegular, libniceNomination: nice.NominationAggressive,
			addrs: []string{"127.0.0.1", "127.0.0.2"}})
	}
	runLibniceMatrix(t, bin, cases)
}

// TestLibniceAllInterfaces runs both agents with their default addresses,
// as two peers on one machine without --address would: every interface
// (gonice: loopback and link-local left out; libnice: loopback left out),
// IPv4 and IPv6. The pairs that work depend on the machine; the test needs
// one address that is neither loopback nor link-local.
//
// Not tested, because it cannot work: gonice on 127.0.0.1 against libnice on
// every interface. libnice 0.1.21 pins each UDP socket to its interface
// with IP_UNICAST_IF (socket/udp-bsd.c), so its packets to 127.0.0.1 leave
// on eth0 and never arrive.
func TestLibniceAllInterfaces(t *testing.T) {
	if !hasGlobalAddress() {
		t.Skip("no interface address other than loopback and link-local: gonice would gather nothing")
	}
	bin := buildLibniceProgram(t, "peer")
	var cases []libniceCase
	for _, controlling := range []bool{true, false} {
		cases = append(cases, libniceCase{goniceControlling: controlling, comps: 2,
			goniceNomination: nice.NominationRegular, libniceNomination: nice.NominationAggressive})
	}
	runLibniceMatrix(t, bin, cases)
}

// hasGlobalAddress reports whether an interface that is up has an address
// that is neither loopback nor link-local.
func hasGlobalAddress() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				return true
			}
		}
	}
	return false
}

// runLibniceMatrix runs each case as a subtest and logs the table.
func runLibniceMatrix(t *testing.T, bin string, cases []libniceCase) {
	var results []libniceResult
	for _, tc := range cases {
		t.Run(tc.name(), func(t *testing.T) {
			r := &libniceResult{tc: tc}
			defer func() { // also after t.Fatal: the table shows failed rows
				r.failed = t.Failed()
				results = append(results, *r)
			}()
			runLibniceCase(t, bin, tc, r)
		})
	}
	var b strings.Builder
	row := "%-36s  %-5s  %-10s  %-11s  %-26s  %-12s  %-13s  %-9s  %s\n"
	fmt.Fprintf(&b, row, "gonice role", "comps", "nom gonice", "nom libnice", "variant",
		"READY gonice", "READY libnice", "prflx g/l", "selected pairs (gonice local->libnice local)")
	for _, r := range results {
		role := roleName(r.tc.goniceControlling) + r.roleNote
		pairs := r.pairs
		if r.failed {
			pairs = "FAILED " + pairs
		}
		fmt.Fprintf(&b, row, role, strconv.Itoa(r.tc.comps), r.tc.goniceNomination, r.tc.libniceNomination, r.tc.variant(),
			r.goniceReady.Round(time.Millisecond), r.libniceRdy.Round(time.Millisecond),
			fmt.Sprintf("%d/%d", r.gonicePrflx, r.libnicePrfx), pairs)
	}
	t.Logf("gonice <-> libnice %s; READY: time from the start of signalling to READY on every component:\n%s",
		libniceVersion(), b.String())
}

// roleName names an ICE role.
func roleName(controlling bool) string {
	if controlling {
		return "controlling"
	}
	return "controlled"
}

// libniceRoleChangeRE matches the line libnice 0.1.21's debug log prints
// when role-conflict resolution changes its role (conncheck.c,
// priv_check_for_role_conflict).
var libniceRoleChangeRE = regexp.MustCompile(`Role conflict, changing agent role to "(controlling|controlled)"`)

// libniceConsentRE matches the line libnice 0.1.21's debug log prints when
// the answer to its consent (keepalive) check on the selected pair arrives
// (conncheck.c, priv_map_reply_to_keepalive_conncheck).
var libniceConsentRE = regexp.MustCompile(`Keepalive for selected pair 0x[0-9a-f]+ received`)

// pollUntil calls f every 50 ms until it returns true (then it returns
// true) or d has passed (false).
func pollUntil(d time.Duration, f func() bool) bool {
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// libniceVersion returns pkg-config's version of libnice.
func libniceVersion() string {
	out, err := exec.Command("pkg-config", "--modversion", "nice").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimSpace(string(out))
}

// logLibniceOnFailure logs, when the test fails (or GONICE_LIBNICE_LOGS is
// set), both SDPs, the libnice peer's output and gonice's debug log, as
// they are when the test ends. Register it first, so that it runs last.
func logLibniceOnFailure(t *testing.T, peer **libnicePeer, libSDP, goSDP *string, goniceLog *lockedBuffer) {
	t.Cleanup(func() {
		if !t.Failed() && os.Getenv("GONICE_LIBNICE_LOGS") == "" {
			return
		}
		t.Logf("libnice's SDP:\n%s", *libSDP)
		t.Logf("gonice's SDP:\n%s", *goSDP)
		if p := *peer; p != nil {
			t.Logf("libnice peer stdout:\n%s", p.stdout.String())
			t.Logf("libnice peer stderr (libnice debug log), last lines:\n%s", tail(p.stderr.String(), 150))
		}
		t.Logf("gonice debug log, last lines:\n%s", tail(goniceLog.String(), 150))
	})
}

// runLibniceCase runs one case and fills in res as it goes.
func runLibniceCase(t *testing.T, bin string, tc libniceCase, res *libniceResult) {
	s := newSession()
	var (
		peer          *libnicePeer
		libSDP, goSDP string
	)
	goniceLog := &lockedBuffer{}
	logLibniceOnFailure(t, &peer, &libSDP, &goSDP, goniceLog) // registered first, so it runs last

	// The gonice agent, one stream "text" with tc.comps components.
	cfg := nice.Config{
		Controlling: tc.goniceControlling,
		Nomination:  tc.goniceNomination,
		Logger:      slog.New(slog.NewTextHandler(goniceLog, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tc.consentHold > 0 {
		// Many consent checks to libnice during the hold, and a loss of
		// consent would show within it.
		cfg.ConsentInterval, cfg.ConsentTimeout = 250*time.Millisecond, 3*time.Second
	}
	var mux *nice.UDPMux
	if tc.mux {
		mux = sharedMux(t, netip.MustParseAddr(tc.addrs[0]))
		cfg.Muxes = []*nice.UDPMux{mux}
	}
	ga, err := nice.NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ga.Close(); err != nil {
			t.Errorf("gonice Close: %v", err)
		}
	})
	for _, a := range tc.addrs {
		if err := ga.AddLocalAddress(netip.MustParseAddr(a)); err != nil {
			t.Fatal(err)
		}
	}
	sid, err := ga.AddStream(tc.comps)
	if err != nil {
		t.Fatal(err)
	}
	if err := ga.SetStreamName(sid, "text"); err != nil {
		t.Fatal(err)
	}
	ga.OnCandidateGatheringDone(func(int) { s.update(func() { s.gonice.gathered = true }) })
	ga.OnComponentStateChanged(func(_, c int, st nice.ComponentState) {
		s.update(func() { s.gonice.setState(c, st.String()) })
	})
	ga.OnNewSelectedPair(func(_, c int, l, r nice.Candidate) {
		// Without IPv6 zones, as libnice prints addresses.
		noZone := func(ap netip.AddrPort) string {
			return netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port()).String()
		}
		s.update(func() { s.gonice.selected[c] = noZone(l.Addr) + " " + noZone(r.Addr) })
	})
	ga.OnNewRemoteCandidate(func(nice.Candidate) { s.update(func() { s.gonice.prflx++ }) })
	for c := 1; c <= tc.comps; c++ {
		err := ga.AttachRecv(sid, c, func(_, c int, p []byte) {
			text := string(p)
			s.update(func() { s.gonice.recv[c] = append(s.gonice.recv[c], text) })
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := ga.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}

	// The libnice peer.
	libniceControlling := !tc.goniceControlling
	if tc.sameRole {
		libniceControlling = tc.goniceControlling
	}
	args := []string{"--controlling", "0", "--components", strconv.Itoa(tc.comps), "--nomination", tc.libniceNomination.String()}
	if libniceControlling {
		args[1] = "1"
	}
	for _, a := range tc.addrs {
		args = append(args, "--address", a)
	}
	if tc.libniceICETCP {
		args = append(args, "--ice-tcp")
	}
	if tc.consentHold > 0 {
		args = append(args, "--consent-freshness")
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
	s.read(func() { libSDP = s.libniceSDP })
	goSDP = ga.GenerateLocalSDP()
	libUfrag, libPwd, libCands := sdpParts(libSDP)
	goUfrag, goPwd, goCands := sdpParts(goSDP)
	if len(libCands) == 0 || len(goCands) == 0 {
		t.Fatalf("no candidates: libnice %d, gonice %d", len(libCands), len(goCands))
	}

	// Signalling. Each side starts checking as soon as it has the other's
	// data, so the second side gets checks before it knows the first.
	start := time.Now()
	if tc.trickle == trickleToGonice {
		check(ga.SetRemoteCredentials(sid, libUfrag, libPwd))
		giveGonice(t, ga, sid, libCands[:1])
	} else {
		n, err := ga.ParseRemoteSDP(libSDP)
		if err != nil {
			t.Fatalf("gonice ParseRemoteSDP of libnice's SDP: %v", err)
		}
		if n != len(libCands) {
			t.Errorf("gonice ParseRemoteSDP added %d candidates, libnice's SDP has %d", n, len(libCands))
		}
	}
	if tc.trickle == trickleToLibnice {
		_, err := peer.command("CRED " + goUfrag + " " + goPwd)
		check(err)
		giveLibnice(t, peer, goCands[:1])
	} else {
		reply, err := peer.command("SDP " + base64.StdEncoding.EncodeToString([]byte(goSDP)))
		if err != nil {
			t.Fatalf("libnice cannot parse gonice's SDP: %v", err)
		}
		if want := fmt.Sprintf("OK %d", len(goCands)); reply != want {
			t.Errorf("nice_agent_parse_remote_sdp of gonice's SDP: %q, want %q", reply, want)
		}
	}
	// Trickle: the rest, once component 1 of the late side has a working pair.
	if tc.trickle != trickleNone {
		late, lateName := &s.gonice, "gonice"
		if tc.trickle == trickleToLibnice {
			late, lateName = &s.libnice, "libnice"
		}
		check(s.waitFor(lateName+" component 1 to connect with the first candidate only", func() (bool, error) {
			st := late.state[1]
			return st == "connected" || st == "ready", errors.Join(s.peerError(), late.anyFailed(lateName, tc.comps))
		}))
		// Let the other side's checks from addresses the late side does not
		// know yet arrive first (they make peer-reflexive candidates), if
		// they come within a second; then the late candidates must match them.
		_ = s.waitForUpTo(time.Second, "", func() (bool, error) { return late.prflx > 0, nil })
		if tc.trickle == trickleToGonice {
			giveGonice(t, ga, sid, libCands[1:])
			check(ga.PeerCandidateGatheringDone(sid))
		} else {
			giveLibnice(t, peer, goCands[1:])
		}
	}

	noFailure := func() error {
		return errors.Join(s.peerError(), s.gonice.anyFailed("gonice", tc.comps), s.libnice.anyFailed("libnice", tc.comps))
	}
	check(s.waitFor("READY on every component of both agents", func() (bool, error) {
		return s.gonice.reachedReady(tc.comps) && s.libnice.reachedReady(tc.comps), noFailure()
	}))
	s.read(func() {
		res.goniceReady = s.gonice.lastReady(tc.comps).Sub(start)
		res.libniceRdy = s.libnice.lastReady(tc.comps).Sub(start)
	})

	// Exactly one side is controlling now. libnice does not tell its role
	// after a role conflict (its controlling-mode property keeps the role
	// the application set: agent.c, saved_controlling_mode), but its debug
	// log says when it changes.
	goController := ga.Controlling()
	libController := libniceControlling
	if m := libniceRoleChangeRE.FindAllStringSubmatch(peer.stderr.String(), -1); len(m) > 0 {
		libController = m[len(m)-1][1] == "controlling"
	}
	if goController == libController {
		t.Errorf("both agents are %s after connecting (gonice started %s, libnice %s)",
			roleName(goController), roleName(tc.goniceControlling), roleName(libniceControlling))
	}
	if goController != tc.goniceControlling {
		res.roleNote = "->" + roleName(goController)
	}
	if libController != libniceControlling {
		res.roleNote += " (libnice->" + roleName(libController) + ")"
	}

	// Data, both ways, on every component.
	exchangeLibniceData(t, s, ga, sid, peer, tc.comps, 1)
	if mux != nil {
		if local, _, err := ga.SelectedPair(sid, 1); err != nil || local.Addr != mux.LocalAddr() {
			t.Errorf("gonice's component 1 selected %v (%v), want its local candidate on the mux %v", local, err, mux.LocalAddr())
		}
	}
	if tc.consentHold > 0 {
		time.Sleep(tc.consentHold)
		check(noFailure())
		// libnice sends its first consent check 4 to 6 s after READY; its
		// debug log says when gonice's answer arrives.
		if !pollUntil(libniceTimeout, func() bool { return libniceConsentRE.MatchString(peer.stderr.String()) }) {
			t.Errorf("libnice never logged an answer to its consent checks (%q)", libniceConsentRE)
		}
		exchangeLibniceData(t, s, ga, sid, peer, tc.comps, 2)
	}

	// Both sides must end up on the same pair, seen from either end.
	err = s.waitFor("both agents to select the same pairs", func() (bool, error) {
		for c := 1; c <= tc.comps; c++ {
			gl, gr, _ := strings.Cut(s.gonice.selected[c], " ")
			ll, lr, _ := strings.Cut(s.libnice.selected[c], " ")
			if gl == "" || ll == "" || gl != lr || gr != ll {
				return false, s.peerError()
			}
		}
		return true, nil
	})
	var pairs []string
	s.read(func() {
		for c := 1; c <= tc.comps; c++ {
			gl, gr, _ := strings.Cut(s.gonice.selected[c], " ")
			pairs = append(pairs, fmt.Sprintf("c%d %s->%s", c, gl, gr))
			if err != nil {
				t.Errorf("component %d: gonice selected %q (local remote), libnice %q (local remote)", c, s.gonice.selected[c], s.libnice.selected[c])
			}
			if g, l := s.gonice.state[c], s.libnice.state[c]; g != "ready" || l != "ready" {
				t.Errorf("component %d after the data: gonice %s, libnice %s; want ready", c, g, l)
			}
		}
		res.gonicePrflx, res.libnicePrfx = s.gonice.prflx, s.libnice.prflx
	})
	res.pairs = strings.Join(pairs, ", ")
	if err := peer.quit(); err != nil {
		t.Error(err)
	}
}

// exchangeLibniceData sends one datagram each way on every component and
// waits for them: round n is the n-th datagram of each direction.
func exchangeLibniceData(t *testing.T, s *session, ga *nice.Agent, sid int, peer *libnicePeer, comps, round int) {
	t.Helper()
	toLibnice := func(c int) string { return fmt.Sprintf("gonice to libnice on component %d, round %d", c, round) }
	toGonice := func(c int) string { return fmt.Sprintf("libnice to gonice on component %d, round %d", c, round) }
	for c := 1; c <= comps; c++ {
		if _, err := ga.Send(sid, c, []byte(toLibnice(c))); err != nil {
			t.Fatalf("gonice Send on component %d: %v", c, err)
		}
		if _, err := peer.command(fmt.Sprintf("SEND %d %s", c, toGonice(c))); err != nil {
			t.Fatal(err)
		}
	}
	err := s.waitFor(fmt.Sprintf("data round %d on every component, both ways", round), func() (bool, error) {
		for c := 1; c <= comps; c++ {
			if len(s.libnice.recv[c]) < round || len(s.gonice.recv[c]) < round {
				return false, s.peerError()
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.read(func() {
		for c := 1; c <= comps; c++ {
			if got := s.libnice.recv[c]; len(got) != round || got[round-1] != toLibnice(c) {
				t.Errorf("libnice received %q on component %d, want %q last", got, c, toLibnice(c))
			}
			if got := s.gonice.recv[c]; len(got) != round || got[round-1] != toGonice(c) {
				t.Errorf("gonice received %q on component %d, want %q last", got, c, toGonice(c))
			}
		}
	})
}

// giveGonice gives gonice remote candidates one by one, as trickle does.
func giveGonice(t *testing.T, ga *nice.Agent, sid int, lines []string) {
	t.Helper()
	for _, l := range lines {
		c, err := ga.ParseRemoteCandidateSDP(sid, l)
		if err != nil {
			t.Fatalf("gonice cannot parse libnice's %q: %v", l, err)
		}
		if n, err := ga.SetRemoteCandidates(sid, c.ComponentID, []nice.Candidate{c}); err != nil || n != 1 {
			t.Fatalf("gonice SetRemoteCandidates(%q) = %d, %v; want 1, nil", l, n, err)
		}
	}
}

// giveLibnice gives the libnice peer remote candidates one by one.
func giveLibnice(t *testing.T, p *libnicePeer, lines []string) {
	t.Helper()
	for _, l := range lines {
		comp, err := candidateComponent(l)
		if err != nil {
			t.Fatal(err)
		}
		reply, err := p.command(fmt.Sprintf("CAND %d %s", comp, l))
		if err != nil {
			t.Fatalf("libnice cannot take gonice's %q: %v", l, err)
		}
		if reply != "OK 1" {
			t.Fatalf("libnice set_remote_candidates(%q): %q, want \"OK 1\"", l, reply)
		}
	}
}
