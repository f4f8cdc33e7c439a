// SPDX-License-Identifier: MIT

package nice_test

// TURN against a real coturn (Debian package "coturn", binary turnserver)
// on loopback. Without turnserver the test is skipped, unless CI=true: then
// it fails, so that CI cannot pass without having run it.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// coturn is a turnserver process with its log file.
type coturn struct {
	addr string // 127.0.0.1:port, UDP and TCP
	log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startCoturn starts turnserver on a free loopback port with user u:p,
// realm gonice, loopback peers allowed, no TLS, DTLS or CLI, its own user
// database and a verbose log file.
func startCoturn(t testing.TB) *coturn {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("turnserver not found (install Debian's coturn package): %v", err)
		}
		t.Skipf("turnserver not found (apt-get install coturn to run this test): %v", err)
	}
	dir := t.TempDir()
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		c := &coturn{addr: fmt.Sprintf("127.0.0.1:%d", port), log: filepath.Join(dir, fmt.Sprintf("turn%d.log", attempt)), done: make(chan struct{})}
		c.cmd = exec.Command(bin, "-n",
			"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port),
			"--lt-cred-mech", "--user=u:p", "--realm=gonice",
			"--no-tls", "--no-dtls", "--no-cli", "--no-rfc5780", "--allow-loopback-peers",
			"--userdb="+filepath.Join(dir, "turndb"),
			"--log-file="+c.log, "--simple-log", "--verbose",
			"--pidfile="+filepath.Join(dir, "turnserver.pid"))
		out, _ := os.Create(filepath.Join(dir, fmt.Sprintf("stdout%d", attempt)))
		c.cmd.Stdout, c.cmd.Stderr = out, out
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			_ = c.cmd.Wait()
			out.Close()
			close(c.done)
		}()
		if c.ready(5 * time.Second) {
			t.Cleanup(c.stop)
			return c
		}
		c.stop()
		t.Logf("turnserver on port %d did not start; log:\n%s", port, c.logText())
	}
	t.Fatal("turnserver did not start")
	return nil
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			pc.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

// ready waits until coturn's UDP and TCP listeners are open.
func (c *coturn) ready(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return false
		default:
		}
		log := c.logText()
		// coturn opens its TCP listeners first: wait for the UDP one too,
		// or the first Allocate over UDP may reach a closed port.
		if strings.Contains(log, "UDP listener opened on") && strings.Contains(log, "TCP listener opened on") {
			if conn, err := net.DialTimeout("tcp4", c.addr, 100*time.Millisecond); err == nil {
				conn.Close()
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func (c *coturn) logText() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

func (c *coturn) stop() {
	if c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-c.done:
	case <-time.After(3 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// coturn log lines (coturn 4.6, --simple-log --verbose).
var (
	coturnNew     = regexp.MustCompile(`session (\d+): new, realm=<gonice>, username=<u>, lifetime=\d+`)
	coturnRelease = regexp.MustCompile(`session (\d+): refreshed, realm=<gonice>, username=<u>, lifetime=0\b`)
	coturnDeleted = regexp.MustCompile(`session (\d+): (closed|delete|deleted)`)
)

// sessions returns the sessions that allocated, were refreshed with
// lifetime 0, and closed, by id.
func (c *coturn) sessions() (allocated, released, closed map[string]bool) {
	allocated, released, closed = map[string]bool{}, map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(c.logText()))
	for sc.Scan() {
		line := sc.Text()
		if m := coturnNew.FindStringSubmatch(line); m != nil {
			allocated[m[1]] = true
		}
		if m := coturnRelease.FindStringSubmatch(line); m != nil {
			released[m[1]] = true
		}
		if m := coturnDeleted.FindStringSubmatch(line); m != nil {
			closed[m[1]] = true
		}
	}
	return allocated, released, closed
}

// TestTURNCoturn: two force-relay agents on loopback connect through coturn
// over UDP and over TCP and exchange data; after Close coturn's log shows
// every allocation refreshed with lifetime 0 (released) and its session
// closed. A wrong password is reported as ErrRelayUnauthorized.
func TestTURNCoturn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs coturn; skipped in -short")
	}
	srv := startCoturn(t)
	for _, rt := range []nice.RelayType{nice.RelayTypeTURNUDP, nice.RelayTypeTURNTCP} {
		t.Run(rt.String(), func(t *testing.T) {
			before := runtime.NumGoroutine()
			allocBefore, _, _ := srv.sessions()
			start := time.Now()
			a, b, sa, sb := relayPair(t, srv.addr, rt)
			t.Logf("connected through coturn (%s) in %v", rt, time.Since(start).Round(time.Millisecond))
			relayEcho(t, a, b, sa, sb)
			if rt == nice.RelayTypeTURNUDP {
				// coturn runs in another process: these are the agents' own.
				measureRelayAllocs(t, a, b, sa, sb)
			}
			start = time.Now()
			a.Close()
			b.Close()
			t.Logf("Close of both agents took %v", time.Since(start).Round(time.Millisecond))
			checkNoLeak(t, before)
			// Close returned after coturn answered the releases; its log
			// may lag a little.
			var allocated, released, closed map[string]bool
			deadline := time.Now().Add(5 * time.Second)
			for {
				allocated, released, closed = srv.sessions()
				for id := range allocBefore {
					delete(allocated, id)
				}
				ok := len(allocated) == 2
				for id := range allocated {
					ok = ok && released[id] && closed[id]
				}
				if ok || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(allocated) != 2 {
				t.Fatalf("coturn logged %d new allocations, want 2; log:\n%s", len(allocated), srv.logText())
			}
			for id := range allocated {
				if !released[id] || !closed[id] {
					t.Errorf("session %s: released (lifetime 0) %v, closed %v; want both", id, released[id], closed[id])
				}
			}
			t.Logf("coturn: sessions %v allocated, refreshed with lifetime 0 and closed", keys(allocated))
			if testing.Verbose() {
				for _, l := range strings.Split(srv.logText(), "\n") {
					if strings.Contains(l, "lifetime=0") || strings.Contains(l, "closed") {
						t.Log(l)
					}
				}
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		a, err := nice.NewAgent(nice.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		r := newRecorder(a)
		_ = a.AddLocalAddress(loopback)
		sid, _ := a.AddStream(1)
		if err := a.SetRelayInfo(sid, 1, srv.addr, "u", "wrong", nice.RelayTypeTURNUDP); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		r.waitGathered(t, sid)
		t.Logf("gathering done in %v", time.Since(start).Round(time.Millisecond))
		errs, _ := a.RelayErrors(sid)
		if len(errs) != 1 || !errors.Is(errs[0], nice.ErrRelayUnauthorized) {
			t.Fatalf("RelayErrors = %v, want one ErrRelayUnauthorized", errs)
		}
		t.Logf("reported: %v", errs[0])
		cs, _ := a.LocalCandidates(sid, 1)
		for _, c := range cs {
			if c.Type == nice.CandidateTypeRelayed {
				t.Errorf("relayed candidate %v with a wrong password", c)
			}
		}
	})
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
