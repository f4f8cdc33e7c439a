// SPDX-License-Identifier: MIT

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/natdisco"
)

// testTimeout bounds every wait of these tests. It is generous: the tests
// run under -race on small machines next to other tests.
const testTimeout = 30 * time.Second

var (
	lo1 = netip.MustParseAddr("127.0.0.1")
	lo2 = netip.MustParseAddr("127.0.0.2")
)

func TestParseArgs(t *testing.T) {
	sw := "gonice stunserver   "
	tests := []struct {
		name string
		args []string
		want options
		bad  bool
	}{
		{name: "none", args: nil,
			want: options{addr: netip.IPv4Unspecified(), port: 3478, software: sw}},
		{name: "IPv6 wildcard", args: []string{"-6", "--port", "3480"},
			want: options{addr: netip.IPv6Unspecified(), port: 3480, software: sw}},
		{name: "address", args: []string{"127.0.0.1"},
			want: options{addr: lo1, port: 3478, software: sw}},
		{name: "behaviour", args: []string{"--alt-addr", "127.0.0.2", "127.0.0.1"},
			want: options{addr: lo1, alt: lo2, port: 3478, altPort: 3479, software: sw}},
		{name: "behaviour, options after the operand", args: []string{"127.0.0.1", "--alt-addr", "127.0.0.2", "--port", "4000", "--alt-port", "5000", "--response-address", "-v"},
			want: options{addr: lo1, alt: lo2, port: 4000, altPort: 5000, responseAddress: true, software: sw, verbose: true}},
		{name: "stund-like short options", args: []string{"-a", "127.0.0.2", "-p", "4000", "-o", "4001", "127.0.0.1"},
			want: options{addr: lo1, alt: lo2, port: 4000, altPort: 4001, software: sw}},
		{name: "free ports", args: []string{"--port", "0", "--alt-addr", "127.0.0.2", "127.0.0.1"},
			want: options{addr: lo1, alt: lo2, software: sw}},
		{name: "software padded", args: []string{"--software", "abcde"},
			want: options{addr: netip.IPv4Unspecified(), port: 3478, software: "abcde   "}},
		{name: "alternate without primary", args: []string{"--alt-addr", "127.0.0.2"}, bad: true},
		{name: "alternate port without alternate", args: []string{"--alt-port", "4000", "127.0.0.1"}, bad: true},
		{name: "response address without alternate", args: []string{"--response-address"}, bad: true},
		{name: "same address twice", args: []string{"--alt-addr", "127.0.0.1", "127.0.0.1"}, bad: true},
		{name: "families differ", args: []string{"--alt-addr", "::1", "127.0.0.1"}, bad: true},
		{name: "wildcard with alternate", args: []string{"--alt-addr", "127.0.0.2", "0.0.0.0"}, bad: true},
		{name: "same ports", args: []string{"--alt-addr", "127.0.0.2", "--port", "4000", "--alt-port", "4000", "127.0.0.1"}, bad: true},
		{name: "port out of range", args: []string{"--port", "65536"}, bad: true},
		{name: "-6 with IPv4", args: []string{"-6", "127.0.0.1"}, bad: true},
		{name: "two operands", args: []string{"127.0.0.1", "127.0.0.2"}, bad: true},
		{name: "bad address", args: []string{"localhost"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			if tt.bad {
				if err == nil {
					t.Errorf("parseArgs(%q) = %+v, want an error", tt.args, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

func TestHelpAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, &out, &errOut); code != exitOK || !strings.HasPrefix(out.String(), "Usage:") {
		t.Errorf("--help: exit %d, output %q", code, out.String())
	}
	if code := run(t.Context(), []string{"--bogus"}, &out, &errOut); code != exitUsage || !strings.Contains(errOut.String(), "Usage:") ||
		strings.Count(errOut.String(), "-bogus") != 1 || strings.Count(errOut.String(), "\n") > 7 || !strings.Contains(errOut.String(), "--help") {
		t.Errorf("--bogus: exit %d, stderr %q; want the error once, the Usage lines and a --help hint", code, errOut.String())
	}
}

func TestCannotListen(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(t.Context(), []string{"--alt-addr", "192.0.2.1", "127.0.0.1"}, &out, &errOut)
	if code != exitFailed || !strings.Contains(errOut.String(), "192.0.2.1") {
		t.Errorf("exit %d, stderr %q; want %d and an error about 192.0.2.1", code, errOut.String(), exitFailed)
	}
}

// listeningRE matches the lines the program prints for its sockets.
var listeningRE = regexp.MustCompile(`^Listening on (\S+)`)

// readListening reads the "Listening on" lines from r until it has n of
// them and returns their addresses.
func readListening(t *testing.T, r io.Reader, n int) []netip.AddrPort {
	t.Helper()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var addrs []netip.AddrPort
	timeout := time.After(testTimeout)
	for len(addrs) < n {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("output ended after %d addresses", len(addrs))
			}
			m := listeningRE.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("unexpected line %q", line)
			}
			addrs = append(addrs, netip.MustParseAddrPort(m[1]))
		case <-timeout:
			t.Fatalf("no %d Listening lines within %v", n, testTimeout)
		}
	}
	go func() {
		for range lines { // drain the rest
		}
	}()
	return addrs
}

func TestRunInProcess(t *testing.T) {
	tests := []struct {
		name string
		args []string
		n    int // sockets
	}{
		{"plain", []string{"--port", "0", "127.0.0.1"}, 1},
		{"behaviour", []string{"--port", "0", "--alt-addr", "127.0.0.2", "127.0.0.1"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			pr, pw := io.Pipe()
			var errOut bytes.Buffer
			done := make(chan int, 1)
			go func() {
				code := run(ctx, tt.args, pw, &errOut)
				pw.Close()
				done <- code
			}()
			addrs := readListening(t, pr, tt.n)
			if tt.n == 4 && (addrs[0].Addr() != lo1 || addrs[2].Addr() != lo2 || addrs[3] != netip.AddrPortFrom(lo2, addrs[1].Port())) {
				t.Errorf("sockets %v are not A1:P1, A1:P2, A2:P1, A2:P2", addrs)
			}
			c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			qctx, qcancel := context.WithTimeout(ctx, testTimeout)
			defer qcancel()
			r, err := natdisco.Behavior(qctx, c, addrs[0])
			if tt.n == 4 && (err != nil || r.String() != "Open") {
				t.Errorf("Behavior = %+v, %v; want Open", r, err)
			}
			if tt.n == 1 && (err == nil || !r.Mapped.IsValid()) {
				t.Errorf("Behavior against the plain server = %+v, %v; want the mapped address and an error", r, err)
			}
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Errorf("exit %d after cancel; stderr:\n%s", code, errOut.String())
				}
			case <-time.After(testTimeout):
				t.Fatal("run did not return after its context ended")
			}
		})
	}
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// buildTools builds stunserver and stunclient once for all tests of this
// run and returns their paths.
func buildTools(t *testing.T) (server, client string) {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "stuntools-test-"); buildErr != nil {
			return
		}
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			goTool = "go"
		}
		out, err := exec.Command(goTool, "build", "-o", buildDir, ".", "../stunclient").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "stunserver"), filepath.Join(buildDir, "stunclient")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// TestToolsOnLoopback runs the stunserver and stunclient programs against
// each other on 127.0.0.1 and 127.0.0.2, and Debian's stun client against
// stunserver if it is installed.
func TestToolsOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	serverBin, clientBin := buildTools(t)
	srv := exec.Command(serverBin, "--port", "0", "--alt-addr", "127.0.0.2", "127.0.0.1")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{}) // closed once waitErr is set
	go func() {
		waitErr = srv.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			srv.Process.Kill()
			<-exited
		}
	})
	addrs := readListening(t, stdout, 4)
	primary := addrs[0]

	tests := []struct {
		name string
		args []string
		want string // regular expression for the last line
	}{
		{"mapped address", []string{primary.String()}, `^Mapped address: 127\.0\.0\.1 port \d+$`},
		{"nat type", []string{"--nat-type", primary.String()}, `^Primary: Open$`},
		{"behavior", []string{"--behavior", primary.String()}, `^Primary: Open$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			out, err := exec.CommandContext(ctx, clientBin, tt.args...).CombinedOutput()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if err != nil || !regexp.MustCompile(tt.want).MatchString(lines[len(lines)-1]) {
				t.Errorf("stunclient %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
		})
	}

	t.Run("Debian stun client", func(t *testing.T) {
		stun, err := exec.LookPath("stun")
		if err != nil {
			t.Skip("Debian's stun client is not installed (apt-get install stun-client)")
		}
		ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
		defer cancel()
		// stun prints "Primary: <verdict>" and a tab; its exit status
		// is the verdict code, not success or failure.
		out, _ := exec.CommandContext(ctx, stun, primary.String(), "-v").CombinedOutput()
		for _, want := range []string{"test I = 1", "test II = 1", "test III = 1", "test I(2) = 1", "Primary: Open\t"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("stun %v: no %q in its output:\n%s", primary, want, out)
			}
		}
		if want := fmt.Sprintf("ChangedAddress = %v", addrs[3]); !strings.Contains(string(out), want) {
			t.Errorf("stun %v: no %q in its output:\n%s", primary, want, out)
		}
	})

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("stunserver after SIGTERM: %v\nstderr:\n%s", waitErr, srvErr.String())
		}
	case <-time.After(testTimeout):
		t.Fatal("stunserver did not stop on SIGTERM")
	}
}

// TestUsageListsEveryOption: every option the help's Options section
// documents appears in the Usage lines too, in one of its spellings.
func TestUsageListsEveryOption(t *testing.T) {
	usage, _, _ := strings.Cut(usageText, "\n\n")
	_, opts, ok := strings.Cut(usageText, "\nOptions:\n")
	if !ok {
		t.Fatal("the help has no Options section")
	}
	opts, _, _ = strings.Cut(opts, "\n\n")
	names := regexp.MustCompile(`(?m)^  (-[\w-]+)(?:, (--[\w-]+))?`).FindAllStringSubmatch(opts, -1)
	if len(names) < 5 {
		t.Fatalf("found %d options in the help, want more:\n%s", len(names), opts)
	}
	// An option is listed when one of its spellings is (-4 for -4, --ipv4).
	for _, m := range names {
		found := false
		for _, name := range m[1:] {
			if name != "" && regexp.MustCompile(`(^|[^\w-])`+regexp.QuoteMeta(name)+`($|[^\w-])`).MatchString(usage) {
				found = true
			}
		}
		if !found {
			t.Errorf("the Usage lines lack %s:\n%s", strings.TrimSpace(m[0]), usage)
		}
	}
}
