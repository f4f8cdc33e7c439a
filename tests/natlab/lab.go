// SPDX-License-Identifier: MIT

// Package natlab is a NAT lab in Linux network namespaces: two private LANs,
// each behind its own NAT router, and a public segment with the project's
// STUN server on two addresses and coturn as TURN server. See
// ../../shared/reference/natlab.md (the recipe this follows) and issue 4.
//
// Topology (names carry the test process id, so runs never collide):
//
//	gnl-PID-h1 10.0.1.10 --eth0|lan-- gnl-PID-r1 10.0.1.1 | wan 203.0.113.11 --+
//	                                                            bridge br0 in gnl-PID-pub:
//	gnl-PID-h2 10.0.2.10 --eth0|lan-- gnl-PID-r2 10.0.2.1 | wan 203.0.113.12 --+  203.0.113.1, .2 stunserver
//	                                                                              203.0.113.3 coturn
//
// Only TEST-NET-3 and 10.0.x addresses are used, and only inside the lab's
// namespaces; nothing is routed to or from the root namespace.
package natlab

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Addresses of the public segment.
const (
	STUNAddr    = "203.0.113.1:3478" // project's stunserver, primary
	STUNAltIP   = "203.0.113.2"      // its alternate address
	TURNAddr    = "203.0.113.3:3478" // coturn, UDP and TCP
	TURNUser    = "u"
	TURNPass    = "p"
	TURNRealm   = "natlab.test"
	nsPrefix    = "gnl-"
	stunIP      = "203.0.113.1"
	turnIP      = "203.0.113.3"
	commandWait = 10 * time.Second
)

// NAT is the behaviour of a router.
type NAT string

// The four classic NAT types.
const (
	FullCone       NAT = "fullcone"
	Restricted     NAT = "restricted"     // address-restricted cone
	PortRestricted NAT = "portrestricted" // port-restricted cone
	Symmetric      NAT = "symmetric"
)

// AllNATs lists the four NAT types in the order of the matrix.
var AllNATs = []NAT{FullCone, Restricted, PortRestricted, Symmetric}

// Site configures one LAN and its router.
type Site struct {
	NAT       NAT
	LossPct   int  // random drop of this percentage of the packets arriving on the WAN link
	BlockSTUN bool // drop everything the LAN sends to the STUN server (it does not answer)
	BlockUDP  bool // drop every UDP datagram the router would forward, both ways (a network that allows only TCP)
}

// Lab is one running lab.
type Lab struct {
	Dir    string // working directory: logs, user database
	prefix string // gnl-PID-
	gen    [3]int // generation of each site, for unique veth names in pub
	mu     sync.Mutex
	procs  []*exec.Cmd
	turn   *exec.Cmd // coturn, for RestartTURN
	logf   func(format string, args ...any)
}

// Requirements returns why the lab cannot run here, or "" when it can:
// root, ip, nft, turnserver, and a network namespace can be made.
func Requirements() string {
	if os.Geteuid() != 0 {
		return "not root (the NAT lab needs root for network namespaces and nftables)"
	}
	for _, bin := range []string{"ip", "nft", "turnserver", "sysctl"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Sprintf("%s not found (apt-get install -y iproute2 nftables coturn procps): %v", bin, err)
		}
	}
	probe := fmt.Sprintf("%sprobe-%d", nsPrefix, os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		return fmt.Sprintf("cannot create a network namespace: %v: %s", err, bytes.TrimSpace(out))
	}
	defer exec.Command("ip", "netns", "del", probe).Run()
	if out, err := exec.Command("ip", "netns", "exec", probe, "nft", "list", "ruleset").CombinedOutput(); err != nil {
		return fmt.Sprintf("nftables does not work in a network namespace: %v: %s", err, bytes.TrimSpace(out))
	}
	return ""
}

// SweepStale removes lab namespaces left by earlier runs whose process is
// gone (a crashed or killed test), killing what still runs in them.
func SweepStale(logf func(string, ...any)) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], nsPrefix) {
			continue
		}
		name := f[0]
		pidText, _, _ := strings.Cut(strings.TrimPrefix(name, nsPrefix), "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil {
			pidText = strings.TrimPrefix(strings.TrimPrefix(name, nsPrefix), "probe-")
			pid, err = strconv.Atoi(pidText)
		}
		if err == nil && pid != os.Getpid() && alive(pid) {
			continue // its run is still alive
		}
		if err == nil && pid == os.Getpid() {
			continue
		}
		logf("natlab: removing stale namespace %s", name)
		killNetnsPids(name)
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Fields after "(comm)": state is the first.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// killNetnsPids ends every process in the namespace: SIGTERM, then SIGKILL.
func killNetnsPids(ns string) {
	pids := func() []int {
		out, _ := exec.Command("ip", "netns", "pids", ns).Output()
		var ps []int
		for _, f := range strings.Fields(string(out)) {
			if p, err := strconv.Atoi(f); err == nil {
				ps = append(ps, p)
			}
		}
		return ps
	}
	ps := pids()
	if len(ps) == 0 {
		return
	}
	for _, p := range ps {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && len(pids()) > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	for _, p := range pids() {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
}

// NS returns the namespace name of a lab node: "pub", "r1", "r2", "h1", "h2".
func (l *Lab) NS(node string) string { return l.prefix + node }

// run runs a command and returns an error with its output when it fails.
func run(stdin string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
		}
		return nil
	case <-time.After(commandWait):
		_ = cmd.Process.Kill()
		return fmt.Errorf("%s %s: timed out", name, strings.Join(args, " "))
	}
}

// in runs a command inside a lab namespace.
func (l *Lab) in(node string, args ...string) error {
	return run("", "ip", append([]string{"netns", "exec", l.NS(node)}, args...)...)
}

// Up builds the public segment and starts the servers; stunserver is the
// path of the project's examples/stunserver binary. Sites are added with
// SetSite. Close tears everything down.
func Up(dir, stunserver string, logf func(string, ...any)) (*Lab, error) {
	l := &Lab{Dir: dir, prefix: fmt.Sprintf("%s%d-", nsPrefix, os.Getpid()), logf: logf}
	if err := l.upPub(stunserver); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) upPub(stunserver string) error {
	pub := l.NS("pub")
	steps := [][]string{
		{"ip", "netns", "add", pub},
		{"ip", "-n", pub, "link", "set", "lo", "up"},
		{"ip", "-n", pub, "link", "add", "br0", "type", "bridge"},
		{"ip", "-n", pub, "link", "set", "br0", "up"},
	}
	for _, a := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		steps = append(steps, []string{"ip", "-n", pub, "addr", "add", a + "/24", "dev", "br0"})
	}
	// A default route to an address nobody answers (ARP fails), so that
	// what the servers send to private addresses (a relay's checks toward a
	// peer's host candidate 10.0.x.10) silently disappears, as on the
	// Internet. Without it sendto fails with ENETUNREACH and coturn closes
	// the whole allocation ("closed (2nd stage) ... reason: general"),
	// after which every request gets 438 and then 400.
	steps = append(steps, []string{"ip", "-n", pub, "route", "add", "default", "via", "203.0.113.254", "dev", "br0"})
	for _, s := range steps {
		if err := run("", s[0], s[1:]...); err != nil {
			return err
		}
	}
	// br_netfilter may be built in: keep bridged frames out of netfilter.
	// The key is missing when br_netfilter is not loaded, which is fine.
	_ = l.in("pub", "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0")

	if err := l.start("stunserver", "pub", stunserver, "--alt-addr", STUNAltIP, "--port", "3478", stunIP); err != nil {
		return err
	}
	if err := l.startTURN(); err != nil {
		return err
	}
	return l.waitListening(STUNAddr, TURNAddr)
}

// startTURN starts coturn in the public namespace.
func (l *Lab) startTURN() error {
	cmd, err := l.startCmd("turnserver", "pub", "turnserver", "-n",
		"--listening-ip="+turnIP, "--relay-ip="+turnIP, "--listening-port=3478",
		"--min-port=49152", "--max-port=65535",
		"--lt-cred-mech", "--user="+TURNUser+":"+TURNPass, "--realm="+TURNRealm,
		"--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780",
		"--userdb="+filepath.Join(l.Dir, "turndb"),
		"--log-file="+filepath.Join(l.Dir, "turnserver.log"), "--simple-log", "--verbose",
		"--pidfile="+filepath.Join(l.Dir, "turnserver.pid"))
	if err == nil {
		l.mu.Lock()
		l.turn = cmd
		l.mu.Unlock()
	}
	return err
}

// RestartTURN kills coturn (SIGKILL: every allocation is gone, none is
// released) and starts it again after pause; it returns once the new
// one listens.
func (l *Lab) RestartTURN(pause time.Duration) error {
	l.mu.Lock()
	cmd := l.turn
	l.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return fmt.Errorf("coturn is not running")
	}
	_ = cmd.Process.Kill()
	deadline := time.Now().Add(5 * time.Second)
	for alive(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("coturn (pid %d) did not exit", cmd.Process.Pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(pause)
	if err := l.startTURN(); err != nil {
		return err
	}
	return l.waitListening(TURNAddr)
}

// waitListening waits until the public namespace has UDP sockets bound to
// every one of addrs, at most 5 s.
func (l *Lab) waitListening(addrs ...string) error {
	pub := l.NS("pub")
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", pub, "ss", "-lnu").Output()
		s := string(out)
		all := true
		for _, a := range addrs {
			if !strings.Contains(s, a) {
				all = false
			}
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			tl, _ := os.ReadFile(filepath.Join(l.Dir, "turnserver.log"))
			return fmt.Errorf("servers did not start listening; ss -lnu:\n%s\nturnserver.log:\n%s", s, tl)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// start starts a long-running server in a namespace, with its output in
// Dir/NAME.out; Close stops it.
func (l *Lab) start(name, node string, args ...string) error {
	_, err := l.startCmd(name, node, args...)
	return err
}

func (l *Lab) startCmd(name, node string, args ...string) (*exec.Cmd, error) {
	out, err := os.OpenFile(filepath.Join(l.Dir, name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.NS(node)}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %v", name, err)
	}
	go func() { _ = cmd.Wait(); out.Close() }()
	l.mu.Lock()
	l.procs = append(l.procs, cmd)
	l.mu.Unlock()
	return cmd, nil
}

// SetSite (re)builds LAN i (1 or 2) and its router with the given NAT type,
// loss and STUN blocking. Switching the NAT type makes new router and host
// namespaces, so no conntrack entry, NAT mapping or learned full-cone map
// survives from the previous type (which "nft -f" plus "conntrack -F"
// would otherwise have to guarantee). Processes in the old host namespace
// are killed.
func (l *Lab) SetSite(i int, s Site) error {
	h, r := fmt.Sprintf("h%d", i), fmt.Sprintf("r%d", i)
	l.delNS(h)
	l.delNS(r)
	l.gen[i]++
	pubIf := fmt.Sprintf("n%dg%d", i, l.gen[i])
	wanIP := fmt.Sprintf("203.0.113.1%d", i)
	lanNet := fmt.Sprintf("10.0.%d", i)
	H, R, P := l.NS(h), l.NS(r), l.NS("pub")
	steps := [][]string{
		{"ip", "netns", "add", R},
		{"ip", "netns", "add", H},
		{"ip", "-n", R, "link", "set", "lo", "up"},
		{"ip", "-n", H, "link", "set", "lo", "up"},
		{"ip", "-n", R, "link", "add", "wan", "type", "veth", "peer", "name", pubIf, "netns", P},
		{"ip", "-n", P, "link", "set", pubIf, "master", "br0", "up"},
		{"ip", "-n", R, "addr", "add", wanIP + "/24", "dev", "wan"},
		{"ip", "-n", R, "link", "set", "wan", "up"},
		{"ip", "-n", R, "link", "add", "lan", "type", "veth", "peer", "name", "eth0", "netns", H},
		{"ip", "-n", R, "addr", "add", lanNet + ".1/24", "dev", "lan"},
		{"ip", "-n", R, "link", "set", "lan", "up"},
		{"ip", "-n", H, "addr", "add", lanNet + ".10/24", "dev", "eth0"},
		{"ip", "-n", H, "link", "set", "eth0", "up"},
		{"ip", "-n", H, "route", "add", "default", "via", lanNet + ".1"},
		{"ip", "netns", "exec", R, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
	}
	for _, c := range []string{"all", "default", "wan", "lan"} {
		steps = append(steps, []string{"ip", "netns", "exec", R, "sysctl", "-qw", "net.ipv4.conf." + c + ".rp_filter=0"})
	}
	for _, st := range steps {
		if err := run("", st[0], st[1:]...); err != nil {
			return fmt.Errorf("site %d: %w", i, err)
		}
	}
	// The kernel turns a veth's carrier on asynchronously (linkwatch may
	// defer it up to a second), and an agent started before the host's
	// eth0 is RUNNING finds no usable address: seen under load in
	// TestNATRebinding ("GatherCandidates: no usable local address").
	if err := waitRunning(H, "eth0"); err != nil {
		return fmt.Errorf("site %d: %w", i, err)
	}
	rules, err := Ruleset(s)
	if err != nil {
		return err
	}
	if err := run(rules, "ip", "netns", "exec", R, "nft", "-f", "-"); err != nil {
		return fmt.Errorf("site %d: load nftables ruleset: %w\n%s", i, err, rules)
	}
	return nil
}

// Ruleset returns the router's nftables ruleset for s (natlab.md §4.1, plus
// the loss knob and STUN blocking).
func Ruleset(s Site) (string, error) {
	masq, pre, learn := "masquerade", "", ""
	const learnRules = `
    oifname "wan" ct direction original update @fc { udp sport : ct original ip saddr . ct original proto-src }
    oifname "wan" ct direction reply ct status dnat update @fc { udp sport : ct reply ip saddr . ct reply proto-src }
    oifname "wan" update @ar { udp sport . ip daddr }`
	switch s.NAT {
	case PortRestricted:
	case Symmetric:
		masq = "masquerade fully-random"
	case FullCone:
		pre = `iifname "wan" dnat ip to udp dport map @fc`
		learn = learnRules
	case Restricted:
		pre = `iifname "wan" udp dport . ip saddr @ar dnat ip to udp dport map @fc`
		learn = learnRules
	default:
		return "", fmt.Errorf("unknown NAT type %q", s.NAT)
	}
	loss, block, udp := "", "", ""
	if s.BlockUDP {
		udp = `meta l4proto udp counter drop comment "blockudp"`
	}
	if s.LossPct > 0 {
		// Drop N % of what arrives from the public segment, before
		// conntrack (raw priority). Every packet between the two LANs, and
		// between a LAN and the servers, crosses exactly one such point, so
		// N is the one-way loss of every path (the round-trip loss of a
		// check between the LANs is 1-(1-N/100)^2).
		loss = fmt.Sprintf(`
  chain lossin { type filter hook prerouting priority raw; policy accept;
    iifname "wan" numgen random mod 100 < %d counter drop
  }`, s.LossPct)
	}
	if s.BlockSTUN {
		block = fmt.Sprintf(`iifname "lan" ip daddr %s counter drop`, stunIP)
	}
	return fmt.Sprintf(`table ip natlab {
  map fc { type inet_service : ipv4_addr . inet_service; flags dynamic,timeout; timeout 120s; }
  set ar { type inet_service . ipv4_addr; flags dynamic,timeout; timeout 120s; }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    %s
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" %s
  }
  chain learn { type filter hook postrouting priority srcnat + 10; policy accept;%s
  }
  chain input { type filter hook input priority filter; policy accept;
    iifname "wan" ct state established,related accept
    iifname "wan" icmp type echo-request accept
    iifname "wan" counter drop
  }
  chain forward { type filter hook forward priority filter; policy accept;
    %s
    %s
    iifname "wan" ct state established,related accept
    iifname "wan" ct status dnat accept
    iifname "wan" counter drop
  }%s
}
`, pre, masq, learn, udp, block, loss), nil
}

// delNS kills the processes in a lab namespace and deletes it, if it exists.
func (l *Lab) delNS(node string) {
	ns := l.NS(node)
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		return
	}
	killNetnsPids(ns)
	_ = exec.Command("ip", "netns", "del", ns).Run()
}

// Close stops the servers and deletes every namespace of the lab.
func (l *Lab) Close() {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for _, n := range []string{"h1", "h2", "r1", "r2", "pub"} {
		l.delNS(n)
	}
	for _, p := range procs {
		if p.Process != nil {
			_ = p.Process.Kill() // already ended with its namespace, normally
		}
	}
}

// Agent is a natagent process in a host namespace.
type Agent struct {
	Name  string
	cmd   *exec.Cmd
	stdin interface {
		Write([]byte) (int, error)
		Close() error
	}
	Lines chan Line // every output line, in order; closed at exit
	mu    sync.Mutex
	log   []string
	done  chan struct{}
}

// Line is one output line of natagent.
type Line struct {
	MS   int    // milliseconds since the agent started
	Kind string // creds, cand, gathered, state, selected, recv, relayerr, error
	Arg  string
	At   time.Time // when the test read it
}

// StartAgent runs the natagent binary in host namespace hN with args.
func (l *Lab) StartAgent(name string, node string, bin string, args ...string) (*Agent, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.NS(node), bin}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	errf, err := os.Create(filepath.Join(l.Dir, name+".stderr"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = errf
	if err := cmd.Start(); err != nil {
		errf.Close()
		return nil, err
	}
	a := &Agent{Name: name, cmd: cmd, stdin: stdin, Lines: make(chan Line, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			text := sc.Text()
			a.mu.Lock()
			a.log = append(a.log, text)
			a.mu.Unlock()
			ms, rest, _ := strings.Cut(text, " ")
			kind, arg, _ := strings.Cut(rest, " ")
			n, _ := strconv.Atoi(ms)
			a.Lines <- Line{MS: n, Kind: kind, Arg: arg, At: time.Now()}
		}
		close(a.Lines)
		_ = cmd.Wait()
		errf.Close()
		close(a.done)
	}()
	return a, nil
}

// Send writes one protocol line to the agent.
func (a *Agent) Send(line string) error {
	_, err := a.stdin.Write([]byte(line + "\n"))
	return err
}

// Log returns every output line so far.
func (a *Agent) Log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.log, "\n")
}

// Stop closes the agent's input (it closes its agent and exits) and kills
// it if it has not exited within 3 s.
func (a *Agent) Stop() {
	_ = a.stdin.Close()
	go func() {
		for range a.Lines { // drain so the reader never blocks
		}
	}()
	select {
	case <-a.done:
	case <-time.After(3 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// Debian's stund (Vovida 0.97, package stun-server) runs on two more
// addresses of the public segment, so that it and the project's
// stunserver can serve at the same time: stund binds both ports on both
// of its addresses, like the project's stunserver in two-address mode.
const (
	StundIP    = "203.0.113.4" // primary, ports 3478 and 3479
	StundAltIP = "203.0.113.5" // alternate (CHANGED-ADDRESS), ports 3478 and 3479
)

// StartStund adds StundIP and StundAltIP to the public bridge and starts
// Debian's stund (bin, normally /usr/sbin/stund) on them, with its output
// in Dir/stund.out; Close stops it. It returns once all four sockets listen.
func (l *Lab) StartStund(bin string) error {
	for _, a := range []string{StundIP, StundAltIP} {
		if err := run("", "ip", "-n", l.NS("pub"), "addr", "add", a+"/24", "dev", "br0"); err != nil {
			return err
		}
	}
	if err := l.start("stund", "pub", bin, "-h", StundIP, "-a", StundAltIP, "-p", "3478", "-o", "3479"); err != nil {
		return err
	}
	want := []string{StundIP + ":3478", StundIP + ":3479", StundAltIP + ":3478", StundAltIP + ":3479"}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", l.NS("pub"), "ss", "-lnu").Output()
		missing := ""
		for _, w := range want {
			if !strings.Contains(string(out), w+" ") {
				missing = w
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			so, _ := os.ReadFile(filepath.Join(l.Dir, "stund.out"))
			return fmt.Errorf("stund does not listen on %s; ss -lnu:\n%s\nstund.out:\n%s", missing, out, so)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Exec runs a command in a lab namespace ("h1", "pub", ...) and returns
// its standard output and error, combined, and its exit status. The
// command is killed after timeout; then err says so and the status is -1.
// A command that ran and exited non-zero gives its status and a nil err.
func (l *Lab) Exec(node string, timeout time.Duration, args ...string) (string, int, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.NS(node)}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", -1, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil && cmd.ProcessState == nil {
			return out.String(), -1, err
		}
		return out.String(), cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), -1, fmt.Errorf("%s: timed out after %v", strings.Join(args, " "), timeout)
	}
}

// UDPDropped returns how many UDP datagrams site i's router dropped
// because of Site.BlockUDP.
func (l *Lab) UDPDropped(i int) (int, error) {
	out, _, err := l.Exec(fmt.Sprintf("r%d", i), commandWait, "nft", "list", "chain", "ip", "natlab", "forward")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "blockudp") {
			continue
		}
		f := strings.Fields(line)
		for j := 0; j+1 < len(f); j++ {
			if f[j] == "packets" {
				return strconv.Atoi(f[j+1])
			}
		}
	}
	return 0, fmt.Errorf("no blockudp rule in site %d's router:\n%s", i, out)
}

// Blackhole drops (on) or stops dropping (off) every packet that router i
// forwards, both ways, without touching its conntrack entries or NAT
// mappings: the path through it goes silent, as when a link dies. It is a
// table of its own ("fault"), so the NAT ruleset is left as it is.
func (l *Lab) Blackhole(i int, on bool) error {
	r := fmt.Sprintf("r%d", i)
	if !on {
		return run("", "ip", "netns", "exec", l.NS(r), "nft", "delete", "table", "ip", "fault")
	}
	// Priority raw (-300): before conntrack, so that nothing the router
	// drops refreshes or creates a mapping.
	const rules = `table ip fault {
  chain pre { type filter hook prerouting priority raw; policy accept;
    iifname { "wan", "lan" } counter drop
  }
}
`
	return run(rules, "ip", "netns", "exec", l.NS(r), "nft", "-f", "-")
}

// Rebind makes router i (a cone NAT: full cone, restricted or
// port-restricted) map every flow to a new external port: its
// masquerade takes ports from lo-hi from now on, and ctflush (the path of
// the lab's cmd/ctflush) deletes its conntrack entries, so the next
// packet of each flow gets a new mapping and what the public side sends to
// the old one is dropped. Each call should give a range the router has
// not used.
func (l *Lab) Rebind(i int, ctflush string, lo, hi int) error {
	R := l.NS(fmt.Sprintf("r%d", i))
	rule := fmt.Sprintf(`flush chain ip natlab postrouting
add rule ip natlab postrouting oifname "wan" meta l4proto { tcp, udp } masquerade to :%d-%d
add rule ip natlab postrouting oifname "wan" masquerade
`, lo, hi)
	if err := run(rule, "ip", "netns", "exec", R, "nft", "-f", "-"); err != nil {
		return err
	}
	return run("", "ip", "netns", "exec", R, ctflush)
}

// waitRunning waits until link dev in namespace ns is up with its carrier
// on (IFF_RUNNING), at most 5 s.
func waitRunning(ns, dev string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := exec.Command("ip", "-n", ns, "-o", "link", "show", "dev", dev).Output()
		if err == nil && strings.Contains(string(out), "LOWER_UP") && strings.Contains(string(out), "state UP") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s in %s has no carrier after 5 s: %s", dev, ns, bytes.TrimSpace(out))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
