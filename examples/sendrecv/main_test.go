// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/stunserver"
	"github.com/pion/logging"
	"github.com/pion/turn/v2"
)

// testTimeout bounds every wait of these tests. It is generous: the tests
// run under -race on small machines next to other tests.
const testTimeout = 30 * time.Second

func TestParseArgs(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	v6 := netip.MustParseAddr("::1")
	tests := []struct {
		name string
		args []string
		want options
		bad  bool
	}{
		{name: "none", args: nil, want: options{}},
		{name: "flags", args: []string{"--controlling", "--stun", "192.0.2.1:3478", "--address", "127.0.0.1", "--address", "::1", "--sdp", "--aggressive"},
			want: options{controlling: true, stun: "192.0.2.1:3478", addresses: []netip.Addr{lo, v6}, sdp: true, aggressive: true}},
		{name: "single dash", args: []string{"-controlling", "-address=127.0.0.1"}, want: options{controlling: true, addresses: []netip.Addr{lo}}},
		{name: "libnice controlled", args: []string{"0"}, want: options{}},
		{name: "libnice controlling", args: []string{"1"}, want: options{controlling: true}},
		{name: "libnice stun default port", args: []string{"1", "192.0.2.1"}, want: options{controlling: true, stun: "192.0.2.1:3478"}},
		{name: "libnice stun port", args: []string{"0", "stun.example.org", "19302"}, want: options{stun: "stun.example.org:19302"}},
		{name: "libnice stun ipv6", args: []string{"0", "2001:db8::1", "3479"}, want: options{stun: "[2001:db8::1]:3479"}},
		{name: "flags after positional", args: []string{"1", "--address", "127.0.0.1", "--sdp"}, want: options{controlling: true, addresses: []netip.Addr{lo}, sdp: true}},
		{name: "demo", args: []string{"--demo", "--sdp"}, want: options{demo: true, sdp: true}},
		{name: "bad role", args: []string{"2"}, bad: true},
		{name: "role contradiction", args: []string{"--controlling", "0"}, bad: true},
		{name: "bad port", args: []string{"1", "192.0.2.1", "x"}, bad: true},
		{name: "port zero", args: []string{"1", "192.0.2.1", "0"}, bad: true},
		{name: "too many", args: []string{"1", "192.0.2.1", "3478", "extra"}, bad: true},
		{name: "stun twice", args: []string{"--stun", "192.0.2.1", "1", "192.0.2.2"}, bad: true},
		{name: "bad address", args: []string{"--address", "localhost"}, bad: true},
		{name: "unknown flag", args: []string{"--nope"}, bad: true},
		{name: "demo with role", args: []string{"--demo", "--controlling"}, bad: true},
		{name: "turn", args: []string{"--turn", "192.0.2.9", "--turn-user", "u", "--turn-pass", "p", "--force-relay"},
			want: options{turns: []turnOption{{server: "192.0.2.9", user: "u", pass: "p"}}, forceRelay: true}},
		{name: "turn defaults and own", args: []string{"--turn-user", "d", "--turn-pass", "dp", "--turn", "192.0.2.9:3478", "--turn", "192.0.2.10", "--turn-transport", "tls", "--turn-user", "x"},
			want: options{turns: []turnOption{{server: "192.0.2.9:3478", user: "d", pass: "dp"}, {server: "192.0.2.10", user: "x", pass: "dp", transport: nice.RelayTypeTURNTLS}}}},
		{name: "turn tcp", args: []string{"--turn", "192.0.2.9", "--turn-transport", "tcp"}, want: options{turns: []turnOption{{server: "192.0.2.9", transport: nice.RelayTypeTURNTCP}}}},
		{name: "turn bad transport", args: []string{"--turn", "192.0.2.9", "--turn-transport", "sctp"}, bad: true},
		{name: "turn user twice", args: []string{"--turn", "192.0.2.9", "--turn-user", "a", "--turn-user", "b"}, bad: true},
		{name: "turn user without server", args: []string{"--turn-user", "a"}, bad: true},
		{name: "force relay without turn", args: []string{"--force-relay"}, bad: true},
		{name: "demo with turn", args: []string{"--demo", "--turn", "192.0.2.9"}, bad: true},
		{name: "verbose stats", args: []string{"--verbose", "--stats", "2.5"}, want: options{verbose: true, stats: 2500 * time.Millisecond}},
		{name: "stats too often", args: []string{"--stats", "0.01"}, bad: true},
		{name: "stats not a number", args: []string{"--stats", "often"}, bad: true},
		{name: "demo verbose", args: []string{"--demo", "--verbose"}, want: options{demo: true, verbose: true}},
		{name: "demo stats", args: []string{"--demo", "--stats", "1"}, bad: true},
		{name: "ice-tcp", args: []string{"--sdp", "--ice-tcp"}, want: options{sdp: true, iceTCP: true}},
		{name: "tcp only", args: []string{"--no-udp", "--sdp", "--ice-tcp"}, want: options{sdp: true, iceTCP: true, noUDP: true}},
		{name: "demo tcp only", args: []string{"--demo", "--sdp", "--ice-tcp", "--no-udp"}, want: options{demo: true, sdp: true, iceTCP: true, noUDP: true}},
		{name: "ice-tcp without sdp", args: []string{"--ice-tcp"}, bad: true},
		{name: "no-udp without ice-tcp", args: []string{"--sdp", "--no-udp"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseArgs(tt.args)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseArgs(%q) = %+v, want an error", tt.args, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if got.controlling != tt.want.controlling || got.stun != tt.want.stun || got.sdp != tt.want.sdp ||
				got.demo != tt.want.demo || got.aggressive != tt.want.aggressive || !slices.Equal(got.addresses, tt.want.addresses) ||
				got.forceRelay != tt.want.forceRelay || !slices.Equal(got.turns, tt.want.turns) ||
				got.verbose != tt.want.verbose || got.stats != tt.want.stats ||
				got.iceTCP != tt.want.iceTCP || got.noUDP != tt.want.noUDP {
				t.Fatalf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestHelpAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, strings.NewReader(""), &out, &errb); code != exitOK {
		t.Fatalf("--help: exit %d, want %d; stderr:\n%s", code, exitOK, errb.String())
	}
	for _, want := range []string{"--controlling", "--stun", "--address", "--sdp", "--demo", "--aggressive", "--turn", "--turn-user", "--turn-pass", "--turn-transport", "--force-relay", "--ice-tcp", "--no-udp", "--verbose", "--stats SECONDS", "0|1 [stun_addr [stun_port]]", "terminal 1$", "terminal 2$"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help output lacks %q", want)
		}
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"7"}, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Fatalf("bad argument: exit %d, want %d", code, exitUsage)
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "Usage:") {
		t.Fatalf("bad argument: stdout %q, stderr %q; want the usage on stderr only", out.String(), errb.String())
	}
}

// TestDemo runs --demo in this process, in both exchange modes.
func TestDemo(t *testing.T) {
	for _, args := range [][]string{{"--demo"}, {"--demo", "--sdp", "--aggressive"}, {"--demo", "--sdp", "--ice-tcp", "--no-udp"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			base := runtime.NumGoroutine()
			var out, errb bytes.Buffer
			code := run(args, strings.NewReader(""), &out, &errb)
			t.Logf("output of sendrecv %s:\n%s", strings.Join(args, " "), out.String())
			if code != exitOK {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitOK, errb.String())
			}
			tcp := slices.Contains(args, "--no-udp")
			newCand, pair := "[left ] signal new-candidate: host udp 127.0.0.1:", "[left ] signal new-selected-pair: stream 1 component 1 local host 127.0.0.1:"
			if tcp {
				// TCP only: candidates, pairs and the SDP say so.
				newCand = "[left ] signal new-candidate: host tcp-pass 127.0.0.1:"
				if !regexp.MustCompile(`\[left \] signal new-selected-pair: .* over tcp-(act|pass) remote .* over tcp-(act|pass)\n`).MatchString(out.String()) {
					t.Errorf("--ice-tcp: left's selected pair is not a TCP pair")
				}
				for _, bad := range []string{" udp ", " 1 UDP "} { // a candidate's signal, an SDP line
					if strings.Contains(out.String(), bad) {
						t.Errorf("--no-udp: the output has %q", bad)
					}
				}
				if !strings.Contains(out.String(), " typ host tcptype passive") {
					t.Errorf("--ice-tcp: the SDP has no passive TCP candidate")
				}
			}
			for _, want := range []string{
				"STUN server on 127.0.0.1:",
				"[left ] signal candidate-gathering-done: stream 1",
				"[right] signal candidate-gathering-done: stream 1",
				newCand,
				"[right] signal component-state-changed: stream 1 component 1 ready",
				pair,
				"demo: left is READY on ([127.0.0.1]:",
				`demo: right received "hello from left\n"`,
				`demo: left received "hello from right\n"`,
				"demo: OK: ",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("demo output lacks %q", want)
				}
			}
			// On loopback the STUN server maps each socket to its own address,
			// so gonice adds no srflx candidate and the demo says why.
			if !strings.Contains(out.String(), "note: no srflx candidate, as expected") && !strings.Contains(out.String(), "new-candidate: srflx") {
				t.Errorf("demo output has neither a srflx candidate nor the note on its absence")
			}
			if slices.Contains(args, "--sdp") && !strings.Contains(out.String(), "m=text ") {
				t.Errorf("demo --sdp output lacks the SDP's m=text line")
			}
			waitGoroutines(t, base)
		})
	}
}

// waitGoroutines fails the test if the number of goroutines does not fall
// back to base: the demo must leave nothing running.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after the demo, %d before:\n%s", runtime.NumGoroutine(), base, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTwoProcesses runs two sendrecv processes connected through pipes, as
// two humans in two terminals would: each one's line is given to the other,
// a line is sent one way, and closing one's input ends both.
func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	bin := buildSendrecv(t)
	for _, mode := range []string{"simple", "sdp", "sdp over ICE-TCP only", "simple with STUN", "simple through TURN", "simple verbose with stats"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var extra []string
			switch mode {
			case "sdp":
				extra = []string{"--sdp"}
			case "sdp over ICE-TCP only":
				extra = []string{"--sdp", "--ice-tcp", "--no-udp"}
				mode = "sdp"
			case "simple with STUN":
				srv, addr, err := stunserver.ListenAndServe("127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { srv.Close() })
				extra = []string{"--stun", addr.String()}
				mode = "simple"
			case "simple through TURN":
				extra = []string{"--turn", turnServer(t), "--turn-user", "u", "--turn-pass", "p", "--force-relay"}
				mode = "simple"
			case "simple verbose with stats":
				extra = []string{"--verbose", "--stats", "0.2"}
				mode = "simple"
			}
			a := startProc(t, bin, append([]string{"--controlling", "--address", "127.0.0.1"}, extra...)...)
			b := startProc(t, bin, append([]string{"--address", "127.0.0.1"}, extra...)...)

			lineA := a.localData(t, mode)
			lineB := b.localData(t, mode)

			// A bad line first: the error goes to stderr and the prompt is
			// printed again, as libnice does.
			a.write(t, "this is not remote data\n")
			a.stderr.waitFor(t, "ERROR: failed to parse remote data\n")
			a.stdout.waitForCount(t, enterRemotePrompt, 2)

			a.write(t, lineB+"\n")
			b.write(t, lineA+"\n")

			if mode == "simple" {
				for _, p := range []*proc{a, b} {
					p.stdout.waitFor(t, "\nNegotiation complete: ([127.0.0.1]:")
				}
			}
			for _, p := range []*proc{a, b} {
				p.stdout.waitFor(t, sendLinesPrompt)
			}

			a.write(t, "hello\n")
			b.stdout.waitFor(t, sendLinesPrompt+"hello\n")
			a.stdout.waitFor(t, sendLinesPrompt+linePrompt)

			// Closing A's input makes A send the NUL byte and exit; B exits
			// when it arrives.
			if err := a.stdin.Close(); err != nil {
				t.Fatal(err)
			}
			a.wait(t)
			b.wait(t)

			// Both outputs are byte for byte libnice's, from start to end.
			var wantA, wantB string
			if mode == "simple" {
				portA, portB := simplePort(t, lineA), simplePort(t, lineB)
				wantA = fmt.Sprintf(copyLinePrompt+enterRemotePrompt+enterRemotePrompt+negotiationDone+sendLinesPrompt+linePrompt,
					lineA, "127.0.0.1", portA, "127.0.0.1", portB)
				wantB = fmt.Sprintf(copyLinePrompt+enterRemotePrompt+negotiationDone+sendLinesPrompt+"hello\n",
					lineB, "127.0.0.1", portB, "127.0.0.1", portA)
			} else {
				wantA = sdpBlock(t, lineA) + enterRemotePrompt + enterRemotePrompt + sendLinesPrompt + linePrompt
				wantB = sdpBlock(t, lineB) + enterRemotePrompt + sendLinesPrompt + "hello\n"
			}
			if slices.Contains(extra, "--stats") {
				// The last statistics line of each, printed as it quits:
				// A sent "hello\n" and the NUL byte, B received them.
				sa, sb := lastStats(t, a.stderr.String()), lastStats(t, b.stderr.String())
				if sa.PacketsSent != 2 || sa.BytesSent != 7 || sb.PacketsReceived != 2 || sb.BytesReceived != 7 {
					t.Errorf("stats: A sent %d/%d bytes, B received %d/%d; want 2/7 both", sa.PacketsSent, sa.BytesSent, sb.PacketsReceived, sb.BytesReceived)
				}
				if sa.RequestsSent == 0 || sb.RequestsReceived == 0 || sa.ResponsesReceived == 0 {
					t.Errorf("stats: no checks counted: %+v %+v", sa, sb)
				}
			}
			if got := a.stdout.String(); got != wantA {
				t.Errorf("stdout of A:\n%q\nwant\n%q", got, wantA)
			}
			if got := b.stdout.String(); got != wantB {
				t.Errorf("stdout of B:\n%q\nwant\n%q", got, wantB)
			}
			for _, p := range []*proc{a, b} {
				if slices.Contains(extra, "--stun") && !strings.Contains(p.stderr.String(), "note: no srflx candidate") &&
					!strings.Contains(p.stderr.String(), "new-candidate: srflx") {
					t.Errorf("stderr of %s has neither a srflx candidate nor the note on its absence:\n%s", p.name, p.stderr.String())
				}
				if slices.Contains(extra, "--verbose") {
					for _, want := range []string{" level=DEBUG msg=check.sent ", " msg=component.state ", " msg=pair.selected "} {
						if !strings.Contains(p.stderr.String(), want) {
							t.Errorf("--verbose: stderr of %s lacks %q:\n%s", p.name, want, p.stderr.String())
						}
					}
				}
				if slices.Contains(extra, "--no-udp") {
					// Only TCP candidates in the SDP, and a TCP pair selected.
					sdp := sdpBlock(t, map[*proc]string{a: lineA, b: lineB}[p])
					if strings.Contains(sdp, " 1 UDP ") || !strings.Contains(sdp, " TCP ") || !strings.Contains(sdp, " typ host tcptype passive") ||
						!strings.Contains(sdp, " 9 typ host tcptype active") {
						t.Errorf("--ice-tcp --no-udp: SDP of %s:\n%s", p.name, sdp)
					}
					if !regexp.MustCompile(`signal new-selected-pair: .* over tcp-(act|pass) remote .* over tcp-(act|pass)\n`).MatchString(p.stderr.String()) {
						t.Errorf("stderr of %s: no TCP pair selected:\n%s", p.name, p.stderr.String())
					}
				}
				if slices.Contains(extra, "--force-relay") && !strings.Contains(p.stderr.String(), "signal new-selected-pair: stream 1 component 1 local relay 127.0.0.1:") {
					t.Errorf("stderr of %s: no relayed pair selected:\n%s", p.name, p.stderr.String())
				}
				for _, want := range []string{"signal candidate-gathering-done", "signal component-state-changed: stream 1 component 1 connected", "signal new-selected-pair"} {
					if !strings.Contains(p.stderr.String(), want) {
						t.Errorf("stderr of %s lacks %q:\n%s", p.name, want, p.stderr.String())
					}
				}
			}
		})
	}
}

// pairStats is what the tests read of a selected pair in --stats output.
type pairStats struct {
	Selected          bool   `json:"selected"`
	RequestsSent      uint64 `json:"requestsSent"`
	RequestsReceived  uint64 `json:"requestsReceived"`
	ResponsesReceived uint64 `json:"responsesReceived"`
	PacketsSent       uint64 `json:"packetsSent"`
	PacketsReceived   uint64 `json:"packetsReceived"`
	BytesSent         uint64 `json:"bytesSent"`
	BytesReceived     uint64 `json:"bytesReceived"`
}

// lastStats returns the selected pair of the last --stats line in stderr.
func lastStats(t *testing.T, stderr string) pairStats {
	t.Helper()
	lines := strings.Split(stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.HasPrefix(lines[i], "{") {
			continue
		}
		var doc struct {
			Stream     int `json:"stream"`
			Components []struct {
				CandidatePairs []pairStats `json:"candidatePairs"`
			} `json:"components"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &doc); err != nil {
			t.Fatalf("stats line %q: %v", lines[i], err)
		}
		if doc.Stream != 1 || len(doc.Components) != 1 {
			t.Fatalf("stats line %q: want stream 1 with one component", lines[i])
		}
		for _, p := range doc.Components[0].CandidatePairs {
			if p.Selected {
				return p
			}
		}
		t.Fatalf("stats line %q has no selected pair", lines[i])
	}
	t.Fatalf("no stats line in:\n%s", stderr)
	return pairStats{}
}

// turnServer runs pion/turn's server on 127.0.0.1 (user u, password p)
// for the test and returns its address.
func turnServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelDisabled
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "sendrecv",
		AuthHandler: func(user, realm string, _ net.Addr) ([]byte, bool) {
			return turn.GenerateAuthKey("u", realm, "p"), user == "u"
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: pc, RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{
			RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}}},
		LoggerFactory: logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return pc.LocalAddr().String()
}

// simplePort returns the port of the only candidate of a simple line.
func simplePort(t *testing.T, line string) int {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 3 {
		t.Fatalf("line %q: want ufrag, password and one candidate", line)
	}
	var port int
	if _, err := fmt.Sscanf(strings.Split(f[2], ",")[3], "%d", &port); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return port
}

// sdpBlock returns what sdp-example prints for the base64 line b64.
func sdpBlock(t *testing.T, b64 string) string {
	t.Helper()
	sdp, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("line %q is not base64: %v", b64, err)
	}
	if !strings.HasPrefix(string(sdp), "m=text ") || !strings.HasSuffix(string(sdp), "\n") {
		t.Fatalf("SDP %q: want an m=text section ending in a newline", sdp)
	}
	return fmt.Sprintf(copySDPPrompt, sdp, b64)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
	buildDir  string
)

// buildSendrecv builds the program once for all tests of this run.
func buildSendrecv(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sendrecv-test-")
		if buildErr != nil {
			return
		}
		builtBin = filepath.Join(buildDir, "sendrecv")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		out, err := exec.Command(goTool, "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// proc is a running sendrecv process.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *watchBuffer
	stderr *watchBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit error, set before done is closed
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{
		name:   "sendrecv " + strings.Join(args, " "),
		cmd:    exec.Command(bin, args...),
		stdout: newWatchBuffer(),
		stderr: newWatchBuffer(),
		done:   make(chan struct{}),
	}
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stdout.owner, p.stderr.owner = p, p
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// localData waits for the prompt and returns the line to copy to the peer.
func (p *proc) localData(t *testing.T, mode string) string {
	t.Helper()
	out := p.stdout.waitFor(t, enterRemotePrompt)
	re := regexp.MustCompile(`(?s)^Copy this line to remote client:\n\n  ([^\n]+)\n\n` + regexp.QuoteMeta(enterRemotePrompt) + `$`)
	if mode == "sdp" {
		re = regexp.MustCompile(`(?s)^Generated SDP from agent :\n.*\n\nCopy the following line to remote client:\n\n  ([^\n]+)\n` + regexp.QuoteMeta(enterRemotePrompt) + `$`)
	}
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s: unexpected output before the prompt:\n%q", p.name, out)
	}
	return m[1]
}

func (p *proc) write(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, s); err != nil {
		t.Fatalf("%s: writing its input: %v", p.name, err)
	}
}

// wait waits for the process to exit with status 0.
func (p *proc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(testTimeout):
		t.Fatalf("%s did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.name, testTimeout, p.stdout, p.stderr)
	}
	if p.err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", p.name, p.err, p.stdout, p.stderr)
	}
}

// watchBuffer is an output buffer that can be waited on.
type watchBuffer struct {
	owner  *proc
	mu     sync.Mutex
	buf    bytes.Buffer
	change chan struct{} // closed and replaced at every write
}

func newWatchBuffer() *watchBuffer {
	return &watchBuffer{change: make(chan struct{})}
}

func (w *watchBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.change)
	w.change = make(chan struct{})
	return w.buf.Write(p)
}

func (w *watchBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the output contains s and returns all of it.
func (w *watchBuffer) waitFor(t *testing.T, s string) string {
	t.Helper()
	return w.waitForCount(t, s, 1)
}

// waitForCount waits until the output contains s n times and returns all of it.
func (w *watchBuffer) waitForCount(t *testing.T, s string, n int) string {
	t.Helper()
	timeout := time.After(testTimeout)
	for {
		w.mu.Lock()
		out, change := w.buf.String(), w.change
		w.mu.Unlock()
		if strings.Count(out, s) >= n {
			return out
		}
		select {
		case <-change:
		case <-w.owner.done:
			// The process exited: no more output will come.
			w.mu.Lock()
			out = w.buf.String()
			w.mu.Unlock()
			if strings.Count(out, s) >= n {
				return out
			}
			t.Fatalf("%s exited (%v) before printing %q\nstdout:\n%s\nstderr:\n%s", w.owner.name, w.owner.err, s, w.owner.stdout, w.owner.stderr)
		case <-timeout:
			t.Fatalf("%s: %q not printed within %v\nstdout:\n%s\nstderr:\n%s", w.owner.name, s, testTimeout, w.owner.stdout, w.owner.stderr)
		}
	}
}

// TestUnknownFlag: a bad flag prints its error once and the synopsis, not
// the whole help.
func TestUnknownFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--nope"}, strings.NewReader(""), &out, &errb); code != exitUsage {
		t.Fatalf("--nope: exit %d, want %d", code, exitUsage)
	}
	got := errb.String()
	if n := strings.Count(got, "flag provided but not defined: -nope"); n != 1 {
		t.Errorf("stderr has the error %d times, want once:\n%s", n, got)
	}
	if !strings.HasPrefix(got, "sendrecv: flag provided but not defined") {
		t.Errorf("stderr does not start with the error:\n%s", got)
	}
	if lines := strings.Count(got, "\n"); lines > 8 {
		t.Errorf("stderr has %d lines, want at most 8 (the error, the synopsis, a hint):\n%s", lines, got)
	}
	if !strings.Contains(got, "Usage:") || !strings.Contains(got, `"sendrecv --help"`) {
		t.Errorf("stderr lacks the synopsis or the --help hint:\n%s", got)
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", out.String())
	}
}

// TestConsolePrompt: on a terminal shared by both streams, a status line
// never lands on an open "> " prompt, and standard output stays exactly
// what was written to it.
func TestConsolePrompt(t *testing.T) {
	var term, outOnly bytes.Buffer
	con := &console{out: io.MultiWriter(&term, &outOnly), err: &term}
	out, errw := con.stdout(), con.stderr()
	fmt.Fprint(out, "Enter remote data (single line, no wrapping):\n> ")
	fmt.Fprint(errw, "sendrecv: status one\n")
	fmt.Fprint(errw, "sendrecv: status two\n")
	con.lineEntered() // the user typed a line and Enter
	fmt.Fprint(out, "\nSend lines to remote (Ctrl-D to quit):\n")
	fmt.Fprint(errw, "sendrecv: no prompt open\n")
	want := "Enter remote data (single line, no wrapping):\n> " +
		"\nsendrecv: status one\n> " +
		"\nsendrecv: status two\n> " +
		"\nSend lines to remote (Ctrl-D to quit):\n" +
		"sendrecv: no prompt open\n"
	if got := term.String(); got != want {
		t.Errorf("terminal:\n%q\nwant\n%q", got, want)
	}
	if got, want := outOnly.String(), "Enter remote data (single line, no wrapping):\n> \nSend lines to remote (Ctrl-D to quit):\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

// TestSTUNNotAnswering: with a STUN server that never answers, the note
// says that it did not answer (not "equals a host candidate, or ...").
func TestSTUNNotAnswering(t *testing.T) {
	silent, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var buf bytes.Buffer
	log := &logger{w: &syncWriter{w: &buf}, prefix: ""}
	cfg := nice.Config{STUNServer: silent.LocalAddr().String(), STUNInitialTimeout: 20 * time.Millisecond, STUNMaxRetransmissions: 1}
	p, err := newPeer(cfg, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil, "", log, func([]byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	select {
	case <-p.gathered:
	case <-time.After(10 * time.Second):
		t.Fatal("gathering did not end")
	}
	p.srflxNote(cfg.STUNServer, false, false)
	got := buf.String()
	if !strings.Contains(got, "note: no srflx candidate: STUN request to "+cfg.STUNServer) || !strings.Contains(got, "no answer from the STUN server") {
		t.Errorf("log lacks the note that the server did not answer:\n%s", got)
	}
	if strings.Contains(got, "equals a host candidate") {
		t.Errorf("log blames the mapped address:\n%s", got)
	}
}
