// SPDX-License-Identifier: MIT

package tests

// examples/sendrecv against libnice's own examples, as two humans would run
// them in two terminals, with pipes instead of terminals: simple-example
// (tests/libnice/simple.c) with sendrecv, and sdp-example
// (tests/libnice/sdp.c) with sendrecv --sdp. Debian's libnice-dev does not
// ship libnice's examples, so these are re-implementations that make the
// same libnice calls and print the same text (see the top of each file).
//
// Each test copies each program's line to the other's prompt, waits for both
// to connect, sends one line each way and ends with end of input on one side
// (which sends the lone NUL byte that ends the other). Both programs' standard
// output must follow the examples' text exactly.

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// textProc is a running program whose standard output is text for a human.
type textProc struct {
	board
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	out     []byte // its standard output so far; under board.mu
	exited  bool
	exitErr error
	stderr  lockedBuffer
	done    chan struct{}
}

// startTextProc starts a program; t.Cleanup ends it (closing its stdin,
// then killing it if it has not exited within 5 s) and waits for it.
func startTextProc(t *testing.T, name string, env []string, bin string, args ...string) *textProc {
	t.Helper()
	p := &textProc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.init()
	p.cmd.Env = append(os.Environ(), env...)
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
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				chunk := append([]byte(nil), buf[:n]...)
				p.update(func() { p.out = append(p.out, chunk...) })
			}
			if err != nil {
				break
			}
		}
		err := p.cmd.Wait() // after every read from stdout, as os/exec requires
		p.update(func() { p.exited, p.exitErr = true, err })
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s: standard output:\n%s", p.name, p.output())
			t.Logf("%s: standard error:\n%s", p.name, tail(p.stderr.String(), 100))
		}
	})
	return p
}

// output returns the standard output so far.
func (p *textProc) output() string {
	var s string
	p.read(func() { s = string(p.out) })
	return s
}

// waitMatch waits until re matches the standard output and returns the
// submatches.
func (p *textProc) waitMatch(what string, re *regexp.Regexp) ([]string, error) {
	var m []string
	err := p.waitFor(p.name+" to print "+what, func() (bool, error) {
		if m = re.FindStringSubmatch(string(p.out)); m != nil {
			return true, nil
		}
		if p.exited {
			return false, fmt.Errorf("%s exited (%v)", p.name, p.exitErr)
		}
		return false, nil
	})
	return m, err
}

// write writes s to the standard input.
func (p *textProc) write(s string) error {
	if _, err := io.WriteString(p.stdin, s); err != nil {
		return fmt.Errorf("writing to %s: %w", p.name, err)
	}
	return nil
}

// waitExit waits for the program to exit and returns its status error.
func (p *textProc) waitExit() error {
	if err := p.waitFor(p.name+" to exit", func() (bool, error) { return p.exited, nil }); err != nil {
		return err
	}
	var err error
	p.read(func() { err = p.exitErr })
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	return nil
}

// buildSendrecv builds examples/sendrecv into t.TempDir().
func buildSendrecv(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go") // go test puts its GOROOT/bin first in PATH
	if err != nil {
		t.Fatalf("go not found in PATH: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "sendrecv")
	cmd := exec.Command(goBin, "build", "-o", bin, "./examples/sendrecv")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("examples/sendrecv does not build: %v\n%s", err, out)
	}
	return bin
}

// The examples' text, as regular expressions over the whole of standard
// output up to the point reached.
const (
	simpleIntroRe = `^Copy this line to remote client:\n\n  ([^\n]+)\n\nEnter remote data \(single line, no wrapping\):\n> `
	simpleNegoRe  = `\nNegotiation complete: \(\[([^\]]+)\]:(\d+), \[([^\]]+)\]:(\d+)\)\n`
	sendLinesRe   = `\nSend lines to remote \(Ctrl-D to quit\):\n> `
	sdpIntroRe    = `(?s)^Generated SDP from agent :\n(.*?)\n\nCopy the following line to remote client:\n\n  ([A-Za-z0-9+/=]+)\nEnter remote data \(single line, no wrapping\):\n> `
)

// exampleCase is one run of sendrecv against a libnice example.
type exampleCase struct {
	name              string
	goniceControlling bool
	goniceQuits       bool // sendrecv gets end of input (else the libnice example does)
}

var exampleCases = []exampleCase{
	{name: "sendrecv-controlling/sendrecv-quits", goniceControlling: true, goniceQuits: true},
	{name: "sendrecv-controlled/libnice-quits", goniceControlling: false, goniceQuits: false},
}

// TestSimpleExampleLibnice runs examples/sendrecv against libnice's
// simple-example (tests/libnice/simple.c), both on 127.0.0.1, in each role.
// simple-example keeps ICE-TCP on, so its line carries TCP candidates
// (unmarked: a TCP-active one has port 0) that sendrecv must tolerate.
func TestSimpleExampleLibnice(t *testing.T) {
	simple := buildLibniceProgram(t, "simple")
	sendrecv := buildSendrecv(t)
	for _, tc := range exampleCases {
		t.Run(tc.name, func(t *testing.T) {
			runExamplePair(t, tc, false, simple, sendrecv)
		})
	}
}

// TestLibniceSDPExample runs "examples/sendrecv --sdp" against libnice's
// sdp-example (tests/libnice/sdp.c): base64 SDP lines, READY before sending.
func TestLibniceSDPExample(t *testing.T) {
	sdp := buildLibniceProgram(t, "sdp")
	sendrecv := buildSendrecv(t)
	for _, tc := range exampleCases {
		t.Run(tc.name, func(t *testing.T) {
			runExamplePair(t, tc, true, sdp, sendrecv)
		})
	}
}

func runExamplePair(t *testing.T, tc exampleCase, sdpMode bool, libniceBin, sendrecvBin string) {
	// sendrecv's role: --controlling, or libnice's positional 0 (controlled).
	libArgs := []string{"1"}
	goArgs := []string{"0", "--address", "127.0.0.1"}
	if tc.goniceControlling {
		libArgs[0] = "0"
		goArgs = []string{"--controlling", "--address", "127.0.0.1"}
	}
	if sdpMode {
		goArgs = append(goArgs, "--sdp")
	}
	libName := "simple-example"
	if sdpMode {
		libName = "sdp-example"
	}
	lib := startTextProc(t, libName, []string{"EXAMPLE_LOCAL_ADDRESS=127.0.0.1"}, libniceBin, libArgs...)
	gon := startTextProc(t, "sendrecv", nil, sendrecvBin, goArgs...)
	procs := []*textProc{lib, gon}
	t.Logf("EXAMPLE_LOCAL_ADDRESS=127.0.0.1 %s %s  <->  sendrecv %s", libName, strings.Join(libArgs, " "), strings.Join(goArgs, " "))

	// Each prints its line; each line goes to the other's prompt.
	introRe := regexp.MustCompile(simpleIntroRe)
	if sdpMode {
		introRe = regexp.MustCompile(sdpIntroRe)
	}
	lines := map[*textProc]string{}
	for _, p := range procs {
		m, err := p.waitMatch("its line", introRe)
		if err != nil {
			t.Fatal(err)
		}
		line := m[1]
		if sdpMode {
			line = m[2]
			sdp, err := base64.StdEncoding.DecodeString(line)
			if err != nil || string(sdp) != m[1] {
				t.Errorf("%s: the base64 line is not the SDP it printed (%v):\nSDP:\n%s\ndecoded line:\n%s", p.name, err, m[1], sdp)
			}
			if !strings.HasPrefix(m[1], "m=text ") {
				t.Errorf("%s: SDP does not start with an m=text line:\n%s", p.name, m[1])
			}
		}
		lines[p] = line
	}
	if sdpMode {
		t.Logf("sdp-example's SDP:\n%s", mustDecode(lines[lib]))
		t.Logf("sendrecv's SDP:\n%s", mustDecode(lines[gon]))
	} else {
		t.Logf("simple-example's line: %s", lines[lib])
		t.Logf("sendrecv's line:       %s", lines[gon])
		if !strings.Contains(lines[lib], ",0,host") {
			t.Logf("note: simple-example's line has no TCP-active candidate (port 0); is ICE-TCP off?")
		}
	}
	start := time.Now()
	if err := gon.write(lines[lib] + "\n"); err != nil {
		t.Fatal(err)
	}
	if err := lib.write(lines[gon] + "\n"); err != nil {
		t.Fatal(err)
	}

	// Both connect: simple-example says so at CONNECTED with the selected
	// pair, sdp-example just asks for lines at READY.
	readyRe := regexp.MustCompile(simpleIntroRe + simpleNegoRe + sendLinesRe)
	if sdpMode {
		readyRe = regexp.MustCompile(sdpIntroRe + sendLinesRe)
	}
	prefix := map[*textProc]string{}
	var pairs [][]string
	for _, p := range procs {
		m, err := p.waitMatch(`"Send lines to remote"`, readyRe)
		if err != nil {
			t.Fatal(err)
		}
		prefix[p] = m[0]
		if !sdpMode {
			pairs = append(pairs, m[2:6]) // local ip, port, remote ip, port
		}
	}
	connected := time.Since(start)
	if !sdpMode {
		l, g := pairs[0], pairs[1]
		if l[0] != g[2] || l[1] != g[3] || l[2] != g[0] || l[3] != g[1] {
			t.Errorf("the two sides report different pairs: simple-example [%s]:%s -> [%s]:%s, sendrecv [%s]:%s -> [%s]:%s",
				l[0], l[1], l[2], l[3], g[0], g[1], g[2], g[3])
		}
		t.Logf("connected in %v: simple-example [%s]:%s <-> sendrecv [%s]:%s", connected.Round(time.Millisecond), l[0], l[1], l[2], l[3])
	} else {
		t.Logf("both READY in %v", connected.Round(time.Millisecond))
	}

	// A line each way.
	const fromGonice, fromLibnice = "hello from gonice\n", "hello from libnice\n"
	if err := gon.write(fromGonice); err != nil {
		t.Fatal(err)
	}
	if err := lib.write(fromLibnice); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.waitMatch("gonice's line", regexp.MustCompile(regexp.QuoteMeta(fromGonice))); err != nil {
		t.Fatal(err)
	}
	if _, err := gon.waitMatch("libnice's line", regexp.MustCompile(regexp.QuoteMeta(fromLibnice))); err != nil {
		t.Fatal(err)
	}

	// End of input on one side: it sends the NUL byte, both exit with 0.
	quitter, other := lib, gon
	if tc.goniceQuits {
		quitter, other = gon, lib
	}
	_ = quitter.stdin.Close()
	for _, p := range []*textProc{quitter, other} {
		if err := p.waitExit(); err != nil {
			t.Error(err)
		}
	}

	// After the prompt: only the line received and "> " prompts.
	for p, want := range map[*textProc]string{lib: fromGonice, gon: fromLibnice} {
		rest := strings.TrimPrefix(p.output(), prefix[p])
		if got := strings.ReplaceAll(rest, "> ", ""); got != want {
			t.Errorf("%s printed %q after the send prompt; want the received line %q and prompts", p.name, rest, want)
		}
	}
}

// mustDecode returns the base64-decoded s, or s if it is not base64.
func mustDecode(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return s
	}
	return string(b)
}
