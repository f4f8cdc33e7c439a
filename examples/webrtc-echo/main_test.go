// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// chromium is Debian's browser binary (./run setup full installs it).
const chromium = "/usr/lib/chromium/chromium"

// netnsEnv marks the test process re-executed in a network namespace of
// its own, where only lo exists: Chromium then gathers nothing but
// 127.0.0.1 and sends nothing off this machine.
const netnsEnv = "WEBRTC_ECHO_NETNS"

func TestMain(m *testing.M) {
	if os.Getenv(netnsEnv) == "" && os.Geteuid() == 0 {
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Env = append(os.Environ(), netnsEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "re-exec in a network namespace:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(netnsEnv) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ip link set lo up: %v: %s\n", err, out)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// result is what the page posts to /result.
type result struct {
	OK      bool
	Error   string
	Inbound map[string]struct{ Bytes, Packets, FramesDecoded int }
	DTLS    struct{ Role, State, SRTPCipher string }
}

// TestChromium: headless Chromium with a fake camera and microphone
// offers to the echo server and gets its audio and video back: inbound-rtp
// bytes for both kinds and decoded video frames; Chromium as DTLS server
// (the answer says active) and as DTLS client (passive).
func TestChromium(t *testing.T) {
	if os.Getenv(netnsEnv) == "" {
		t.Skip("needs root for a network namespace of its own (Chromium must not gather on real interfaces)")
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Debian's chromium is not installed; ./run setup full installs it")
		}
		t.Skip("Debian's chromium is not installed (./run setup full installs it)")
	}
	// The DTLS server picks the SRTP profile: Chromium its own first
	// (AES-CM-80), this server its own first of what Chromium offers
	// (AES-GCM-128; Chromium offers SHA1_80, GCM-256, GCM-128, in that
	// order, in a ClientHello it fragments).
	for _, c := range []struct {
		dtlsServer bool
		chromeRole string
		cipher     string
	}{{false, "server", "SRTP_AES128_CM_HMAC_SHA1_80"}, {true, "client", "SRTP_AEAD_AES_128_GCM"}} {
		t.Run("chromium-is-dtls-"+c.chromeRole, func(t *testing.T) {
			results := make(chan []byte, 1)
			var log bytes.Buffer
			s := &server{dtlsServer: c.dtlsServer, addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, out: &syncWriter{w: &log}, results: results, sessions: map[string]*session{}}
			base := serve(t, s)
			defer s.closeAll()
			res := runChromium(t, base+"/", results)
			t.Logf("server said:\n%s", s.out.(*syncWriter).String())
			var r result
			if err := json.Unmarshal(res, &r); err != nil {
				t.Fatalf("page result %q: %v", res, err)
			}
			t.Logf("page: %s", res)
			if !r.OK {
				t.Fatalf("no media back: %s", res)
			}
			if r.DTLS.Role != c.chromeRole {
				t.Errorf("Chromium's DTLS role %q; want %q", r.DTLS.Role, c.chromeRole)
			}
			if r.DTLS.SRTPCipher != c.cipher {
				t.Errorf("SRTP profile %q; want %q", r.DTLS.SRTPCipher, c.cipher)
			}
			for _, line := range []string{"CONN_READY (104)", "first audio packet echoed", "first video packet echoed", "hung up"} {
				if !strings.Contains(s.out.(*syncWriter).String(), line) {
					t.Errorf("server did not print %q", line)
				}
			}
		})
	}
}

// serve serves s on 127.0.0.1 until the test ends and returns its URL.
func serve(t *testing.T, s *server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln) // the test's HTTP server; ends at srv.Close, when the test ends
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// runChromium runs headless Chromium on url until the page posts its
// result, and cleans up after it (chromium.md §6: own process group,
// helpers waited for, private TMPDIR and profile).
func runChromium(t *testing.T, url string, results <-chan []byte) []byte {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
		"--user-data-dir="+filepath.Join(tmp, "profile"), url)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var res []byte
	select {
	case res = <-results:
	case <-time.After(45 * time.Second):
		t.Errorf("no result from the page in 45 s; Chromium said:\n%s", stderr.String())
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	for i := 0; i < 150 && liveInGroup(cmd.Process.Pid); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return res
}

// liveInGroup reports whether a process that is not a zombie is in
// process group pgid.
func liveInGroup(pgid int) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // state ppid pgrp …
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			return true
		}
	}
	return false
}

// syncWriter is a buffer written from several goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// TestWHIPErrors: the endpoint refuses what is not a usable offer.
func TestWHIPErrors(t *testing.T) {
	s := &server{out: &syncWriter{w: new(bytes.Buffer)}, sessions: map[string]*session{}}
	base := serve(t, s)
	for _, c := range []struct {
		ct, body string
		want     int
	}{
		{"text/plain", "v=0", http.StatusUnsupportedMediaType},
		{"application/sdp", "not sdp", http.StatusBadRequest},
		{"application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\na=fingerprint:sha-256 " + strings.Repeat("00:", 31) + "00\r\n", http.StatusBadRequest},
	} {
		resp, err := http.Post(base+"/whip", c.ct, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("POST %s %q: %d; want %d", c.ct, c.body, resp.StatusCode, c.want)
		}
	}
	req, _ := http.NewRequest(http.MethodDelete, base+"/whip/99", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("DELETE unknown: %d", resp.StatusCode)
	}
	s.mu.Lock()
	n := len(s.sessions)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions left after refused offers", n)
	}
}

// aiortcPython is Debian's python, the one python3-aiortc installs into.
const aiortcPython = "/usr/bin/python3"

// TestAiortc: aiortc 1.4 (Debian's python3-aiortc, OpenSSL's DTLS) offers
// audio and video to the echo server and decodes what comes back. aioice
// never uses 127.0.0.1, so the test's network namespace gets a veth pair
// (both ends inside it) and ICE runs on 10.77.0.1 and .2.
func TestAiortc(t *testing.T) {
	if os.Getenv(netnsEnv) == "" {
		t.Skip("needs root for a network namespace of its own")
	}
	if out, err := exec.Command(aiortcPython, "-c", "import aiortc; print(aiortc.__version__)").CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-aiortc is not installed (./run setup full installs it): %s", out)
		}
		t.Skipf("python3-aiortc is not installed: %s", out)
	}
	made := exec.Command("ip", "link", "show", "gnv0").Run() == nil // by an earlier run in this namespace (-count)
	for _, cmd := range [][]string{
		{"link", "add", "gnv0", "type", "veth", "peer", "name", "gnv1"},
		{"addr", "add", "10.77.0.1/24", "dev", "gnv0"},
		{"addr", "add", "10.77.0.2/24", "dev", "gnv1"},
		{"link", "set", "gnv0", "up"},
		{"link", "set", "gnv1", "up"},
	} {
		if made {
			break
		}
		if out, err := exec.Command("ip", cmd...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", cmd, err, out)
		}
	}
	var log bytes.Buffer
	s := &server{addrs: []netip.Addr{netip.MustParseAddr("10.77.0.1")}, out: &syncWriter{w: &log}, sessions: map[string]*session{}}
	base := serve(t, s)
	defer s.closeAll()
	cmd := exec.Command(aiortcPython, "aiortc_client.py", base, "15")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("server said:\n%s", s.out.(*syncWriter).String())
	if err != nil {
		t.Fatalf("aiortc_client.py: %v\n%s", err, stderr.String())
	}
	var r struct {
		OK           bool
		Audio, Video int
		Error        string
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("aiortc_client.py printed %q: %v\n%s", out, err, stderr.String())
	}
	t.Logf("aiortc: %s", lines[len(lines)-1])
	if !r.OK {
		t.Fatalf("aiortc decoded %d audio and %d video frames (%s)\n%s", r.Audio, r.Video, r.Error, stderr.String())
	}
	if !strings.Contains(s.out.(*syncWriter).String(), "CONN_READY (104)") {
		t.Error("no CONN_READY")
	}
}
