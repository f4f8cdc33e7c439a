// SPDX-License-Identifier: MIT

package nice_test

import (
	"bufio"
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
	"github.com/gonice/gonice/nice/nicetest"
)

// syncBuffer is a bytes.Buffer safe for the agents' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLine is one slog text line: its message and its keys.
type logLine struct {
	msg  string
	keys map[string]string
}

// parseLog splits slog text output into lines. Values are kept as slog
// printed them (quoted when they have spaces).
func parseLog(t *testing.T, text string) []logLine {
	t.Helper()
	var out []logLine
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := logLine{keys: map[string]string{}}
		rest := sc.Text()
		for rest != "" {
			k, v, ok := strings.Cut(rest, "=")
			if !ok {
				t.Fatalf("not a key=value log line: %q", sc.Text())
			}
			if strings.HasPrefix(v, `"`) {
				end := strings.Index(v[1:], `"`)
				for end >= 0 && v[end] == '\\' { // an escaped quote: look further
					n := strings.Index(v[end+2:], `"`)
					if n < 0 {
						end = -1
						break
					}
					end += n + 1
				}
				if end < 0 {
					t.Fatalf("unterminated quote in %q", sc.Text())
				}
				l.keys[k], rest = v[:end+2], strings.TrimPrefix(v[end+2:], " ")
			} else {
				val, r, _ := strings.Cut(v, " ")
				l.keys[k], rest = val, r
			}
		}
		l.msg = l.keys["msg"]
		out = append(out, l)
	}
	return out
}

// find returns the lines with message msg whose keys include want.
func find(lines []logLine, msg string, want map[string]string) []logLine {
	var out []logLine
next:
	for _, l := range lines {
		if l.msg != msg {
			continue
		}
		for k, v := range want {
			if l.keys[k] != v {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// TestDebugEnvToStderr: GONICE_DEBUG=1 and no Config.Logger put every
// category's debug events of a connect on standard error, with the
// documented keys.
func TestDebugEnvToStderr(t *testing.T) {
	t.Setenv(nice.DebugEnv, "1")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { // drains the pipe until it is closed
		_, _ = out.ReadFrom(r)
		close(copied)
	}()
	func() {
		defer func() { os.Stderr = saved }()
		a, b, sa, _ := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{})
		if _, err := a.Send(sa, 1, []byte("x")); err != nil {
			t.Fatal(err)
		}
		a.Close()
		b.Close()
	}()
	w.Close()
	<-copied
	lines := parseLog(t, out.String())
	if len(lines) == 0 {
		t.Fatal("no log line on standard error")
	}
	for _, l := range lines {
		if l.keys["level"] != "DEBUG" || l.keys["agent"] == "" || l.keys["time"] == "" {
			t.Fatalf("line without level=DEBUG, time or agent: %+v", l.keys)
		}
	}
	agents := map[string]bool{}
	for _, l := range lines {
		agents[l.keys["agent"]] = true
	}
	if len(agents) != 2 {
		t.Errorf("lines of %d agents, want 2: %v", len(agents), agents)
	}
	for _, want := range []struct {
		msg  string
		keys map[string]string
	}{
		{"gather.start", map[string]string{"stream": "1", "components": "1"}},
		{"gather.candidate", map[string]string{"stream": "1", "component": "1", "type": "host"}},
		{"gather.done", map[string]string{"stream": "1"}},
		{"check.sent", map[string]string{"stream": "1", "component": "1", "nominate": "false", "controlling": "true"}},
		{"check.sent", map[string]string{"nominate": "true", "controlling": "true"}}, // regular nomination
		{"check.received", map[string]string{"stream": "1", "use_candidate": "true"}},
		{"check.response", map[string]string{"code": "0"}},
		{"check.succeeded", map[string]string{"nominated": "true"}},
		{"check.nominated", map[string]string{"by": "response"}},
		{"check.nominated", map[string]string{"by": "USE-CANDIDATE"}},
		{"pair.state", map[string]string{"to": "in-progress"}},
		{"pair.state", map[string]string{"to": "succeeded"}},
		{"component.state", map[string]string{"from": "gathering", "to": "connecting"}},
		{"component.state", map[string]string{"to": "connected"}},
		{"component.state", map[string]string{"from": "connected", "to": "ready"}},
		{"pair.selected", map[string]string{"stream": "1", "component": "1"}},
	} {
		if len(find(lines, want.msg, want.keys)) == 0 {
			t.Errorf("no %s line with %v in:\n%s", want.msg, want.keys, out.String())
		}
	}
	for _, l := range find(lines, "check.sent", nil) {
		for _, k := range []string{"stream", "component", "pair", "local", "remote", "tx", "nominate", "controlling", "priority"} {
			if l.keys[k] == "" {
				t.Errorf("check.sent without %q: %v", k, l.keys)
			}
		}
		if !strings.HasPrefix(l.keys["pair"], "CPL") || len(l.keys["tx"]) != 24 {
			t.Errorf("check.sent pair %q tx %q: want CPL<n>_R<n> and 24 hex digits", l.keys["pair"], l.keys["tx"])
		}
	}
	for _, l := range find(lines, "check.response", nil) {
		if l.keys["rtt"] == "" || l.keys["tx"] == "" || l.keys["mapped"] == "" {
			t.Errorf("check.response without rtt, tx or mapped: %v", l.keys)
		}
	}
}

// TestDebugCategoriesAndEvents runs, on the in-memory network, two agents
// that both start controlling (a role conflict) and a third agent whose remote candidate
// never answers (retransmissions and a timeout), with GONICE_DEBUG=checks
// and a Logger of the application: only check events are logged, among
// them every kind the issue asks for.
func TestDebugCategoriesAndEvents(t *testing.T) {
	t.Setenv(nice.DebugEnv, "checks")
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		var buf syncBuffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		mk := func(ip string) (*nice.Agent, int) {
			a, err := nice.NewAgent(nice.Config{Net: n.NewHost(netip.MustParseAddr(ip)), Controlling: true, Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			sid, _ := a.AddStream(1)
			if err := a.GatherCandidates(sid); err != nil {
				t.Fatal(err)
			}
			return a, sid
		}
		a, sa := mk("10.0.0.1")
		b, sb := mk("10.0.0.2")
		defer a.Close()
		defer b.Close()
		synctest.Wait()
		agentpair.Exchange(t, a, b, sa, sb, 1)
		agentpair.Exchange(t, b, a, sb, sa, 1)
		// A third agent checks a remote candidate that never answers.
		c, sc := mk("10.0.0.3")
		defer c.Close()
		if err := c.SetRemoteCredentials(sc, "ufrg", "passwordpasswordpasswo"); err != nil {
			t.Fatal(err)
		}
		silent := nice.Candidate{Type: nice.CandidateTypeHost, Transport: nice.TransportUDP, Addr: netip.MustParseAddrPort("10.0.0.9:4000"),
			Priority: 1, Foundation: "9"}
		if _, err := c.SetRemoteCandidates(sc, 1, []nice.Candidate{silent}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		lines := parseLog(t, buf.String())
		for _, l := range lines {
			if !strings.HasPrefix(l.msg, "check.") && l.msg != "role.switched" {
				t.Errorf("GONICE_DEBUG=checks logged %s: %v", l.msg, l.keys)
			}
		}
		for _, want := range []struct {
			msg  string
			keys map[string]string
		}{
			{"check.sent", map[string]string{"remote": "10.0.0.9:4000"}},
			{"check.retransmit", map[string]string{"remote": "10.0.0.9:4000", "attempt": "2"}},
			{"check.timeout", map[string]string{"remote": "10.0.0.9:4000"}},
			{"check.role-conflict", nil},
			{"role.switched", map[string]string{"controlling": "false"}},
			{"check.response", map[string]string{"code": "0"}},
			{"check.nominated", nil},
		} {
			if len(find(lines, want.msg, want.keys)) == 0 {
				t.Errorf("no %s line with %v in:\n%s", want.msg, want.keys, buf.String())
			}
		}
		// The agent that sees the conflict first answers 487 or switches,
		// by the tie-breakers (random): when it switches, the other never
		// sees a conflict; when it answers 487, the other logs the 487
		// response.
		if len(find(lines, "check.role-conflict", map[string]string{"reason": "both controlling: 487 sent"})) > 0 &&
			len(find(lines, "check.response", map[string]string{"code": "487"})) == 0 {
			t.Errorf("a 487 was sent for the role conflict, but no check.response with code 487 was logged:\n%s", buf.String())
		}
	})
}

// TestDebugOff: without GONICE_DEBUG and without a Logger nothing is
// logged and no debug category is on; ParseLogCategories reads the
// variable's forms.
func TestDebugOff(t *testing.T) {
	t.Setenv(nice.DebugEnv, "0")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() { // drains the pipe until it is closed
		_, _ = out.ReadFrom(r)
		close(copied)
	}()
	func() {
		defer func() { os.Stderr = saved }()
		agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{})
	}()
	w.Close()
	<-copied
	if out.Len() != 0 {
		t.Errorf("GONICE_DEBUG=0 logged:\n%s", out.String())
	}
	for _, tt := range []struct {
		in   string
		want nice.LogCategory
		bad  bool
	}{
		{"", 0, false}, {"0", 0, false}, {"off", 0, false}, {"1", nice.LogAll, false}, {"all", nice.LogAll, false},
		{"checks,state", nice.LogChecks | nice.LogState, false}, {"TURN, consent", nice.LogTURN | nice.LogConsent, false},
		{"gather,bogus", nice.LogGather, true},
	} {
		got, err := nice.ParseLogCategories(tt.in)
		if got != tt.want || (err != nil) != tt.bad {
			t.Errorf("ParseLogCategories(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
		if err != nil && !errors.Is(err, nice.ErrInvalidArgument) {
			t.Errorf("ParseLogCategories(%q) error %v does not wrap ErrInvalidArgument", tt.in, err)
		}
	}
	if s := (nice.LogChecks | nice.LogTURN).String(); s != "checks,turn" {
		t.Errorf("String() = %q", s)
	}
}

// TestLogEventsDocumented: every debug event the package logs has a row
// in docs/logging.md, and every row names an event the package logs.
func TestLogEventsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/logging.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z]+\\.[a-z-]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]bool{}
	re := regexp.MustCompile(`(?:Debug|logPair)\("([a-z]+\.[a-z-]+)"`)
	// Every debug line is an event of the table: no free-text messages.
	any := regexp.MustCompile(`\.(?:Debug|logPair)\("([^"]*)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			logged[m[1]] = true
		}
		for _, m := range any.FindAllStringSubmatch(string(src), -1) {
			if !re.MatchString(`Debug("` + m[1] + `"`) {
				t.Errorf("%s: debug line %q is not an event name (category.event, docs/logging.md)", f, m[1])
			}
		}
	}
	if len(logged) < 30 {
		t.Fatalf("found only %d events in the code", len(logged))
	}
	for e := range logged {
		if !documented[e] {
			t.Errorf("event %s is logged but not in docs/logging.md", e)
		}
	}
	for e := range documented {
		if !logged[e] {
			t.Errorf("docs/logging.md documents %s, which is never logged", e)
		}
	}
}

// FuzzParseLogCategories: any GONICE_DEBUG value parses without panicking
// into known categories; a value without error prints back to the same
// categories.
func FuzzParseLogCategories(f *testing.F) {
	for _, s := range []string{"", "1", "all", "checks,state", "TURN, consent", "gather,bogus", ",,", "off", "none,checks"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := nice.ParseLogCategories(s)
		if c&^nice.LogAll != 0 {
			t.Fatalf("ParseLogCategories(%q) = %#x: unknown bits", s, uint32(c))
		}
		if err != nil {
			if !errors.Is(err, nice.ErrInvalidArgument) {
				t.Fatalf("ParseLogCategories(%q) error %v does not wrap ErrInvalidArgument", s, err)
			}
			return
		}
		back, err := nice.ParseLogCategories(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseLogCategories(%q) = %v; its String %q parses to %v, %v", s, c, c.String(), back, err)
		}
	})
}
