// SPDX-License-Identifier: MIT

package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/webrtc"
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
	Inbound map[string]struct {
		SSRC                          uint32
		Bytes, Packets, FramesDecoded int
	}
	DTLS struct{ Role, State, SRTPCipher string }
}

// TestChromium: headless Chromium with a fake camera and microphone
// offers to the echo server and gets its audio and video back: inbound-rtp
// bytes for both kinds and decoded video frames; Chromium as DTLS server
// (the answer says active) and as DTLS client (passive). With
// WEBRTC_ECHO_BIN, the server is that binary (the C example).
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
			ts := startServer(t, c.dtlsServer, "127.0.0.1")
			res := runChromium(t, ts.base+"/", ts.results)
			ts.stop(t) // all output printed, a binary's exit status checked
			t.Logf("server said:\n%s", ts.out.String())
			var r result
			if err := json.Unmarshal(res, &r); err != nil {
				t.Fatalf("page result %q: %v", res, err)
			}
			t.Logf("page: %s", res)
			if !r.OK {
				t.Fatalf("no media back: %s", res)
			}
			// The echo comes with the server's SSRCs, which the answer announced.
			if a, v := r.Inbound["audio"].SSRC, r.Inbound["video"].SSRC; a != audioSSRC || v != videoSSRC {
				t.Errorf("inbound SSRCs audio %#x, video %#x; want %#x, %#x", a, v, audioSSRC, videoSSRC)
			}
			if r.DTLS.Role != c.chromeRole {
				t.Errorf("Chromium's DTLS role %q; want %q", r.DTLS.Role, c.chromeRole)
			}
			if r.DTLS.SRTPCipher != c.cipher {
				t.Errorf("SRTP profile %q; want %q", r.DTLS.SRTPCipher, c.cipher)
			}
			for _, line := range []string{"CONN_READY (104)", "first audio packet echoed", "first video packet echoed", "hung up"} {
				if !strings.Contains(ts.out.String(), line) {
					t.Errorf("server did not print %q", line)
				}
			}
		})
	}
}

// TestChromiumICETCP: UDP is dropped in the test's network namespace
// (nftables, every UDP datagram sent), as on a network that lets only TCP
// through; the echo server has ICE-TCP on. Chromium's active TCP candidate
// connects to the server's passive one, DTLS-SRTP runs over the TCP
// connection, and the page gets its audio and video back. The server's
// CONN_READY line names the pair: TCP passive, Chromium's end a
// peer-reflexive active candidate. With WEBRTC_ECHO_BIN, the C example
// (GONICE_CONNECTION_OPTION_ICE_TCP), which does not print its pair.
func TestChromiumICETCP(t *testing.T) {
	if os.Getenv(netnsEnv) == "" {
		t.Skip("needs root for a network namespace of its own (UDP is blocked in it)")
	}
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("Debian's chromium is not installed; ./run setup full installs it")
		}
		t.Skip("Debian's chromium is not installed (./run setup full installs it)")
	}
	rules := `table inet noudp {
  chain out { type filter hook output priority filter; policy accept;
    meta l4proto udp counter drop comment "noudp"
  }
}
`
	nft := exec.Command("nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("nft", "delete", "table", "inet", "noudp").Run() })
	ts := startServer(t, false, "127.0.0.1", "-ice-tcp")
	res := runChromium(t, ts.base+"/", ts.results)
	ts.stop(t)
	out := ts.out.String()
	t.Logf("server said:\n%s", out)
	var r result
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatalf("page result %q: %v", res, err)
	}
	t.Logf("page: %s", res)
	if !r.OK {
		t.Fatalf("no media back over TCP: %s", res)
	}
	if os.Getenv(echoBinEnv) == "" && !strings.Contains(out, "pair tcp-pass") {
		t.Errorf("the server's pair is not its passive TCP candidate")
	}
	// The rule must have dropped UDP: else the test proves nothing.
	counters, err := exec.Command("nft", "list", "table", "inet", "noudp").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v: %s", err, counters)
	}
	if strings.Contains(string(counters), "packets 0 ") {
		t.Errorf("nothing sent over UDP was dropped:\n%s", counters)
	}
}

// echoBinEnv names an echo server binary to test instead of this
// package's server: the C example (examples/c/webrtc-echo.c), which takes
// the same flags and prints the same lines. CTest's c_webrtc_echo sets it.
// echoWrapperEnv, if set, is a command (split at spaces) to run it under,
// such as valgrind.
const (
	echoBinEnv     = "WEBRTC_ECHO_BIN"
	echoWrapperEnv = "WEBRTC_ECHO_WRAPPER"
)

// testServer is the echo server of a test: this package's server on a
// listener of the test, or the binary named by WEBRTC_ECHO_BIN.
type testServer struct {
	base    string        // http://127.0.0.1:port
	results chan []byte   // what pages POST to /result
	out     *syncWriter   // what the server printed
	s       *server       // this package's, or nil
	cmd     *exec.Cmd     // the binary, or nil
	done    chan struct{} // closed when the binary's output has ended
	stopped bool
}

// startServer starts the echo server on 127.0.0.1 with ICE on ice and the
// command-line flags extra (of main: "-ice-tcp"); it is stopped when the
// test ends, if not before.
func startServer(t *testing.T, dtlsServer bool, ice string, extra ...string) *testServer {
	t.Helper()
	ts := &testServer{results: make(chan []byte, 4), out: &syncWriter{w: new(bytes.Buffer)}}
	bin := os.Getenv(echoBinEnv)
	if bin == "" {
		ts.s = &server{dtlsServer: dtlsServer, out: ts.out, results: ts.results, sessions: map[string]*session{},
			iceTCP: slices.Contains(extra, "-ice-tcp")}
		if ice != "" {
			ts.s.addrs = []netip.Addr{netip.MustParseAddr(ice)}
		}
		ts.base = serve(t, ts.s)
		t.Cleanup(func() { ts.stop(t) })
		return ts
	}
	args := []string{"-http", "127.0.0.1:0", "-ice", ice}
	if dtlsServer {
		args = append(args, "-dtls-server")
	}
	args = append(args, extra...)
	argv := append(strings.Fields(os.Getenv(echoWrapperEnv)), bin)
	ts.cmd = exec.Command(argv[0], append(argv[1:], args...)...)
	ts.cmd.Stderr = ts.out
	// A group of its own, so that stop reaches it under a wrapper too.
	ts.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := ts.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	t.Cleanup(func() { ts.stop(t) })
	ts.done = make(chan struct{})
	addr := make(chan string, 1)
	go func() { // the binary's output; ends when it exits
		defer close(ts.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(ts.out, line)
			if a, ok := strings.CutPrefix(line, "webrtc-echo: open "); ok {
				addr <- strings.TrimSuffix(a, "/")
			}
			if r, ok := strings.CutPrefix(line, "page: "); ok {
				select {
				case ts.results <- []byte(r):
				default:
				}
			}
		}
	}()
	select {
	case ts.base = <-addr:
	case <-ts.done:
		_ = ts.cmd.Wait()
		t.Fatalf("%s exited before it listened:\n%s", bin, ts.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not print its address in 30 s:\n%s", bin, ts.out.String())
	}
	return ts
}

// stop ends the server's sessions (this package's server) or stops the
// binary with SIGTERM and checks that it exits 0 (its sessions ended; and
// under ASan or valgrind, no error reported). A second stop does nothing.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	if ts.stopped {
		return
	}
	ts.stopped = true
	if ts.s != nil {
		ts.s.closeAll()
		return
	}
	pgid := ts.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-ts.done:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-ts.done
		t.Errorf("%s did not exit in 60 s after SIGTERM", ts.cmd.Path)
	}
	if err := ts.cmd.Wait(); err != nil {
		t.Errorf("%s: %v (exit after SIGTERM); it said:\n%s", ts.cmd.Path, err, ts.out.String())
	}
	if !strings.Contains(ts.out.String(), "webrtc-echo: stopped") {
		t.Errorf("%s did not print that it stopped", ts.cmd.Path)
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

// TestWHIP: the WHIP exchange and the echo without a browser, with a
// gonice connection as the peer: its offer gets 201 Created, an SDP answer
// that announces the server's SSRCs, and a Location; the connection gets
// ready, its RTP comes back with the server's SSRC for the kind and the
// payload unchanged, the server asks for a key frame of its video (PLI);
// DELETE on the Location hangs up, once.
func TestWHIP(t *testing.T) {
	for _, dtlsServer := range []bool{false, true} {
		t.Run(fmt.Sprintf("dtls-server=%v", dtlsServer), func(t *testing.T) { testWHIP(t, dtlsServer) })
	}
}

func testWHIP(t *testing.T, dtlsServer bool) {
	ts := startServer(t, dtlsServer, "127.0.0.1")
	const peerAudio, peerVideo = 0x11111111, 0x22222222
	ready := make(chan struct{})
	echoed := make(chan []byte, 64)
	pli := make(chan []byte, 8)
	var once sync.Once
	var hungUp atomic.Bool // after it, the server's DTLS close fails the peer
	peer, err := webrtc.New(webrtc.Config{
		Addresses: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, NoTrickle: true,
		OnEvent: func(ev webrtc.Event, msg string) {
			if ev == webrtc.ConnReady {
				once.Do(func() { close(ready) })
			}
			if ev == webrtc.ConnFailed && !hungUp.Load() {
				t.Errorf("peer: %v %s", ev, msg)
			}
		},
		OnRTP: func(p []byte) {
			select {
			case echoed <- append([]byte(nil), p...):
			default:
			}
		},
		OnRTCP: func(p []byte) {
			if len(p) >= 12 && p[0]&0x1f == 1 && p[1] == 206 { // PSFB, FMT 1: PLI
				select {
				case pli <- append([]byte(nil), p...):
				default:
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = peer.Close(); peer.Wait() }()
	offer, err := peer.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(ts.base+"/whip", "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/sdp" || !strings.HasPrefix(loc, "/whip/") {
		t.Fatalf("POST /whip: %d, Content-Type %q, Location %q; want 201, application/sdp, /whip/…\n%s",
			resp.StatusCode, resp.Header.Get("Content-Type"), loc, answer)
	}
	for _, ssrc := range []uint32{audioSSRC, videoSSRC} {
		if line := fmt.Sprintf("a=ssrc:%d cname:", ssrc); !strings.Contains(string(answer), line) {
			t.Errorf("the answer has no %q:\n%s", line, answer)
		}
	}
	if err := peer.SetRemoteDescription(string(answer)); err != nil {
		t.Fatalf("the answer does not apply: %v\n%s", err, answer)
	}
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("the peer is not ready after 20 s; the server said:\n%s", ts.out.String())
	}

	// RTP of both kinds, until one of each came back and a PLI came.
	got := map[uint32][]byte{}
	var gotPLI []byte
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); len(got) < 2 || gotPLI == nil; {
		select {
		case p := <-echoed:
			got[binary.BigEndian.Uint32(p[8:])] = p
			continue
		case gotPLI = <-pli:
			continue
		case <-deadline:
			t.Fatalf("after 20 s: echoed SSRCs %x, PLI %x; the server said:\n%s", slices.Collect(maps.Keys(got)), gotPLI, ts.out.String())
		case <-tick.C:
		}
		seq++
		for _, k := range []struct {
			pt   byte
			ssrc uint32
		}{{111, peerAudio}, {96, peerVideo}} {
			p := make([]byte, 12, 32)
			p[0], p[1] = 0x80, k.pt
			binary.BigEndian.PutUint16(p[2:], seq)
			binary.BigEndian.PutUint32(p[4:], uint32(seq)*960)
			binary.BigEndian.PutUint32(p[8:], k.ssrc)
			p = fmt.Appendf(p, "payload %d of pt %d", seq, k.pt)
			if _, err := peer.WriteRTP(p); err != nil {
				t.Fatalf("WriteRTP: %v", err)
			}
		}
	}
	for ssrc, pt := range map[uint32]byte{audioSSRC: 111, videoSSRC: 96} {
		p := got[ssrc]
		if p == nil || p[1]&0x7f != pt || !bytes.HasPrefix(p[12:], []byte("payload ")) || !bytes.HasSuffix(p, fmt.Appendf(nil, " of pt %d", pt)) {
			t.Errorf("echo with SSRC %#x: %q; want payload type %d, our payload", ssrc, p, pt)
		}
	}
	if sender, media := binary.BigEndian.Uint32(gotPLI[4:]), binary.BigEndian.Uint32(gotPLI[8:]); sender != videoSSRC || media != peerVideo {
		t.Errorf("PLI from %#x for %#x; want from %#x for %#x", sender, media, videoSSRC, peerVideo)
	}

	hungUp.Store(true)
	for i, want := range []int{http.StatusOK, http.StatusNotFound} {
		req, _ := http.NewRequest(http.MethodDelete, ts.base+loc, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("DELETE %s (%d): %d; want %d", loc, i+1, resp.StatusCode, want)
		}
	}
	ts.stop(t)
	for _, line := range []string{"CONN_READY (104)", "first audio packet echoed", "first video packet echoed", "hung up"} {
		if !strings.Contains(ts.out.String(), line) {
			t.Errorf("the server did not print %q:\n%s", line, ts.out.String())
		}
	}
}

// TestWHIPErrors: the endpoint refuses what is not a usable offer, and
// keeps no session for it.
func TestWHIPErrors(t *testing.T) {
	ts := startServer(t, false, "127.0.0.1")
	base := ts.base
	for _, c := range []struct {
		ct, body string
		want     int
	}{
		{"text/plain", "v=0", http.StatusUnsupportedMediaType},
		{"application/sdp", "not sdp", http.StatusBadRequest},
		{"application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:a\r\na=ice-pwd:b\r\na=fingerprint:sha-256 " + strings.Repeat("00:", 31) + "00\r\n", http.StatusBadRequest},
		{"application/sdp", "v=0\r\n" + strings.Repeat("a=x\r\n", maxOffer/5), http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(base+"/whip", c.ct, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("POST %s %.40q: %d; want %d", c.ct, c.body, resp.StatusCode, c.want)
		}
	}
	// The refused offers' sessions (ids 1 and 2, if they took ids) are gone.
	for _, id := range []string{"1", "2", "99", "0", "-1", "x"} {
		req, _ := http.NewRequest(http.MethodDelete, base+"/whip/"+id, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("DELETE /whip/%s: %d; want 404", id, resp.StatusCode)
		}
	}
	if ts.s != nil {
		ts.s.mu.Lock()
		n := len(ts.s.sessions)
		ts.s.mu.Unlock()
		if n != 0 {
			t.Errorf("%d sessions left after refused offers", n)
		}
	}
}

// TestHTTPBadInput: malformed and oversized requests, as raw bytes on a
// TCP connection, get the 4xx or 5xx that Go's net/http gives them in front
// of this package's server, from this package's server and from the C
// example's own HTTP server alike; and the server still serves afterwards.
func TestHTTPBadInput(t *testing.T) {
	ts := startServer(t, false, "127.0.0.1")
	addr := strings.TrimPrefix(ts.base, "http://")
	big := strings.Repeat("a", 2<<20)
	for _, c := range []struct {
		name, req string
		want      int
	}{
		{"garbage", "GARBAGE\r\n\r\n", 400},
		{"binary garbage", "\x00\x01\x02\xff\xfe / \x7f\r\n\r\n", 400},
		{"no version", "GET /\r\nHost: x\r\n\r\n", 400},
		{"bad version", "GET / HTTP/x.y\r\nHost: x\r\n\r\n", 400},
		{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"control byte in target", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"header without colon", "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400},
		{"folded header", "GET / HTTP/1.1\r\nHost: x\r\n folded: y\r\n\r\n", 400},
		{"2 MiB header", "GET / HTTP/1.1\r\nHost: x\r\nX: " + big + "\r\n\r\n", 431},
		{"bad Content-Length", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: abc\r\n\r\nv=0", 400},
		{"two Content-Lengths", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nv=0", 400},
		{"Transfer-Encoding", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"2 MiB body", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big, 413},
		{"wrong content type", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nv=0", 415},
		{"no body", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\n\r\n", 400},
		{"NUL in the offer", "POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 8\r\n\r\nv=0\r\n\x00\r\n", 400},
		{"unknown method", "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"GET /whip", "GET /whip HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"DELETE unknown session", "DELETE /whip/12345678901234567890 HTTP/1.1\r\nHost: x\r\n\r\n", 404},
	} {
		if got := rawStatus(t, addr, c.req); got != c.want {
			t.Errorf("%s: status %d; want %d", c.name, got, c.want)
		}
	}
	// Requests cut short: the server closes (or answers 400) and lives on.
	for _, req := range []string{
		"GET / HT",
		"GET / HTTP/1.1\r\nHost: x\r\n",
		"POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 100\r\n\r\nv=0",
	} {
		if got := rawStatus(t, addr, req); got != 0 && got != 400 {
			t.Errorf("%.30q cut short: status %d; want none or 400", req, got)
		}
	}
	// Mutated requests (bytes flipped, cut, repeated; a fixed seed): any
	// answer or none, but the server lives on (and under ASan or valgrind,
	// which CTest runs the C example with, reads and writes nothing wrong).
	rng := rand.New(rand.NewPCG(10, 10))
	seeds := []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /whip HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 9\r\n\r\nv=0\r\ns=-\r\n",
		"DELETE /whip/1 HTTP/1.1\r\nHost: x\r\n\r\n",
	}
	for i := 0; i < 150; i++ {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for n := 1 + rng.IntN(4); n > 0; n-- {
			switch j := rng.IntN(len(b)); rng.IntN(4) {
			case 0:
				b[j] = byte(rng.IntN(256))
			case 1:
				b = b[:j]
			case 2:
				b = append(b[:j:j], append(bytes.Repeat(b[j:j+1], 1+rng.IntN(200)), b[j:]...)...)
			case 3:
				b = append(b[:j:j], b[j+1:]...)
			}
			if len(b) == 0 {
				b = []byte{'\n'}
			}
		}
		if got := rawStatus(t, addr, string(b)); got != 0 && (got < 200 || got > 599) {
			t.Errorf("mutated request %q: status %d", b, got)
		}
	}
	if got := rawStatus(t, addr, "GET / HTTP/1.0\r\n\r\n"); got != 200 {
		t.Errorf("GET / after the bad requests: %d; want 200", got)
	}
}

// rawStatus writes req on a new connection to addr, then half-closes it,
// and returns the status code of the response (0: none).
func rawStatus(t *testing.T, addr, req string) int {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	// The server may answer (and stop reading) before all is written.
	go func() { // ends when req is written or c is closed
		_, _ = io.WriteString(c, req)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
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
	ts := startServer(t, false, "10.77.0.1")
	cmd := exec.Command(aiortcPython, "aiortc_client.py", ts.base, "15")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	ts.stop(t)
	t.Logf("server said:\n%s", ts.out.String())
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
	if !strings.Contains(ts.out.String(), "CONN_READY (104)") {
		t.Error("no CONN_READY")
	}
}
