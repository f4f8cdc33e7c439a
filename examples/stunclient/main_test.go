// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/natdisco"
	"github.com/gonice/gonice/nice/stunserver"
)

// testTimeout bounds each run of the program in these tests.
const testTimeout = 30 * time.Second

func TestParseArgs(t *testing.T) {
	def := natdisco.Client{RTO: natdisco.DefaultRTO, Rc: natdisco.DefaultRc}
	tests := []struct {
		name string
		args []string
		want options
		bad  bool
	}{
		{name: "server", args: []string{"192.0.2.1"},
			want: options{network: "ip", host: "192.0.2.1", srvPort: 3478, client: def}},
		{name: "server and port", args: []string{"192.0.2.1:3479"},
			want: options{network: "ip", host: "192.0.2.1", srvPort: 3479, client: def}},
		{name: "stunbdc port operand", args: []string{"-4", "stun.example.org", "19302"},
			want: options{network: "ip4", host: "stun.example.org", srvPort: 19302, client: def}},
		{name: "bare IPv6", args: []string{"-6", "2001:db8::1"},
			want: options{network: "ip6", host: "2001:db8::1", srvPort: 3478, client: def}},
		{name: "bracketed IPv6 with port", args: []string{"[2001:db8::1]:3479"},
			want: options{network: "ip", host: "2001:db8::1", srvPort: 3479, client: def}},
		{name: "nat type after the server", args: []string{"192.0.2.1", "--nat-type", "--port", "40000"},
			want: options{network: "ip", port: 40000, mode: modeNATType, host: "192.0.2.1", srvPort: 3478, client: def}},
		{name: "behavior with timers", args: []string{"--behavior", "--rto", "100ms", "--rc", "2", "-p", "5000", "192.0.2.1"},
			want: options{network: "ip", port: 5000, mode: modeBehavior, host: "192.0.2.1", srvPort: 3478,
				client: natdisco.Client{RTO: 100 * time.Millisecond, Rc: 2}}},
		{name: "no server", args: []string{"--nat-type"}, bad: true},
		{name: "two modes", args: []string{"--nat-type", "--behavior", "192.0.2.1"}, bad: true},
		{name: "two families", args: []string{"-4", "-6", "192.0.2.1"}, bad: true},
		{name: "port twice", args: []string{"192.0.2.1:3478", "3479"}, bad: true},
		{name: "bad port", args: []string{"192.0.2.1:x"}, bad: true},
		{name: "port 0", args: []string{"192.0.2.1", "0"}, bad: true},
		{name: "local port out of range", args: []string{"--port", "70000", "192.0.2.1"}, bad: true},
		{name: "rc 0", args: []string{"--rc", "0", "192.0.2.1"}, bad: true},
		{name: "too many operands", args: []string{"192.0.2.1", "3478", "x"}, bad: true},
		{name: "unknown flag", args: []string{"--nope", "192.0.2.1"}, bad: true},
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
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("parseArgs(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
			}
		})
	}
}

// runProgram runs the program with args and returns its exit status and
// outputs.
func runProgram(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHelpAndUsage(t *testing.T) {
	if code, out, _ := runProgram(t, "--help"); code != exitOK || !strings.HasPrefix(out, "Usage:") {
		t.Errorf("--help: exit %d, output %q", code, out)
	}
	if code, _, errOut := runProgram(t, "--bogus"); code != exitUsage || !strings.Contains(errOut, "Usage:") ||
		strings.Count(errOut, "-bogus") != 1 || strings.Count(errOut, "\n") > 6 || !strings.Contains(errOut, "--help") {
		t.Errorf("--bogus: exit %d, stderr %q; want the error once, the Usage lines and a --help hint", code, errOut)
	}
}

// loopbackServer starts a behaviour discovery server on 127.0.0.1 and
// 127.0.0.2, or a plain one on 127.0.0.1 if plain is set, and returns the
// primary address.
func loopbackServer(t *testing.T, plain bool) netip.AddrPort {
	t.Helper()
	srv := &stunserver.Server{Software: "test"}
	t.Cleanup(func() { srv.Close() })
	if plain {
		a, err := srv.ListenAndServe("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	sa, err := srv.ListenAndServeBehavior(stunserver.BehaviorConfig{
		Primary: netip.MustParseAddr("127.0.0.1"), Alternate: netip.MustParseAddr("127.0.0.2"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sa.A1P1
}

func TestRunOnLoopback(t *testing.T) {
	srv := loopbackServer(t, false)
	plain := loopbackServer(t, true)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dead := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()

	sp := func(a netip.AddrPort) string { return fmt.Sprintf("%v port %d", a.Addr(), a.Port()) }
	mappedLine := `Mapped address: 127\.0\.0\.1 port \d+\n`
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  string // regular expression for the whole output
		stderr  string // substring; "" for an empty stderr
		timeout bool
	}{
		{name: "mapped address", args: []string{srv.String()}, code: exitOK,
			stdout: `^Server address: ` + sp(srv) + `\n` + mappedLine + `$`},
		{name: "stunbdc operands", args: []string{"-4", "127.0.0.1", fmt.Sprint(srv.Port())}, code: exitOK,
			stdout: `^Server address: ` + sp(srv) + `\n` + mappedLine + `$`},
		{name: "nat type", args: []string{"--nat-type", srv.String()}, code: exitOK,
			stdout: `^Server address: ` + sp(srv) + `\n` + mappedLine + `Changed address: 127\.0\.0\.2 port \d+\nNAT type: Open Internet\nPrimary: Open\n$`},
		{name: "behavior", args: []string{"--behavior", srv.String()}, code: exitOK,
			stdout: `^Server address: ` + sp(srv) + `\n` + mappedLine + `Response origin address: ` + sp(srv) + `\nOther address: 127\.0\.0\.2 port \d+\n` +
				`NAT: no\nMapping behaviour: Endpoint-Independent\nFiltering behaviour: Endpoint-Independent\nHairpinning: yes\nNAT type: Open Internet\nPrimary: Open\n$`},
		{name: "behavior against a single-address server", args: []string{"--behavior", plain.String()}, code: exitFailed,
			stdout: `^Server address: ` + sp(plain) + `\n` + mappedLine + `$`, stderr: "does not support NAT behaviour discovery"},
		{name: "nat type against a single-address server", args: []string{"--nat-type", plain.String()}, code: exitFailed,
			stdout: `^Server address: ` + sp(plain) + `\n` + mappedLine + `$`, stderr: "does not support NAT behaviour discovery"},
		{name: "no answer", args: []string{"--rto", "10ms", "--rc", "2", dead.String()}, code: exitFailed,
			stdout: `^Server address: ` + sp(dead) + `\n$`, stderr: "no response"},
		{name: "UDP blocked", args: []string{"--nat-type", "--rto", "10ms", "--rc", "2", dead.String()}, code: exitFailed,
			stdout: `^Server address: ` + sp(dead) + `\nNAT type: UDP Blocked\nPrimary: Blocked or could not reach STUN server\n$`},
		{name: "blocked behavior", args: []string{"--behavior", "--rto", "10ms", "--rc", "2", dead.String()}, code: exitFailed,
			stdout: `^Server address: ` + sp(dead) + `\nNAT type: UDP Blocked\nPrimary: Blocked or could not reach STUN server\n$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runProgram(t, tt.args...)
			if code != tt.code || !regexp.MustCompile(tt.stdout).MatchString(out) ||
				(tt.stderr == "") != (errOut == "") || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stunclient %s: exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(tt.args, " "), code, tt.code, out, tt.stdout, errOut)
			}
		})
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
