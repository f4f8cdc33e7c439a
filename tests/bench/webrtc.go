// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// `nicebench webrtc`: headless Chromium against examples/webrtc-echo's
// server on gonice and the same server on pion/webrtc/v3, alternating, and
// the time from the answer to DTLS-SRTP ready measured on the server
// (tests/bench/README.md, "webrtc").
//
// What the stamps mean (all on the server, from the moment right before the
// 201 and the answer are written to the socket):
//   - ready: gonice's CONN_READY (handshake done, the peer's fingerprint
//     checked, SRTP keyed); pion's PeerConnectionState "connected", which
//     pion sets when DTLSTransport.Start returns, after the handshake, the
//     fingerprint check and the SRTP sessions' start: the same point.
//   - ice: gonice's first selected pair, signalled with the component's
//     CONNECTED (the first valid pair; gonice starts DTLS then, or once
//     its answer is made if that is later); pion's
//     ICEConnectionState "connected" (pion/ice as controlled agent selects
//     a pair when the browser nominates it, and starts DTLS then).
//   - dtls (pion only): its DTLSTransport "connected", set after the
//     fingerprint check just before the SRTP sessions start.

// wrVariant is one server implementation in one DTLS role.
type wrVariant struct {
	name string // gonice/client, pion/server, …
	ep   *endpoint
	url  string
}

// wrSample is one session's result.
type wrSample struct {
	Variant string   `json:"variant"`
	Round   int      `json:"round"`
	ReadyMS float64  `json:"ready_ms"`
	ICEMS   float64  `json:"ice_ms"`
	DTLSMS  *float64 `json:"dtls_ms,omitempty"`
	Role    string   `json:"chromium_dtls_role"`
	// AnsweredAt is the wall-clock time of the answer (Unix ns), to find
	// the session in a capture.
	AnsweredAt int64 `json:"answered_unix_ns"`
	Port       int32 `json:"server_port"`
	Audio      int64 `json:"audio_echoed"`
	Video      int64 `json:"video_echoed"`
}

func runWebRTC(args []string) {
	fs := flag.NewFlagSet("webrtc", flag.ExitOnError)
	rounds := fs.Int("rounds", 10, "alternating rounds")
	sessions := fs.Int("sessions", 5, "sessions per variant per round")
	roles := fs.String("roles", "client,server", "the servers' DTLS roles (client: the answer says active)")
	quick := fs.Bool("quick", false, "smoke run: 1 round, 1 session per variant, no warm-up (checks the harness; figures mean nothing)")
	page := fs.String("page", "examples/webrtc-echo/page.html", "the page both servers serve (the example's)")
	chromium := fs.String("chromium", "/usr/lib/chromium/chromium", "Chromium's binary")
	out := fs.String("out", "", "also write the report (markdown) to this file")
	logPath := fs.String("log", "", "append every session's JSON result to this file")
	pcap := fs.String("pcap", "", "capture lo (in the run's network namespace) into this file with tcpdump, for a packet timeline")
	_ = fs.Parse(args)
	if *quick {
		*rounds, *sessions = 1, 1
	}
	skip := func(why string) {
		if *quick && os.Getenv("CI") == "" {
			fmt.Fprintf(os.Stderr, "nicebench webrtc: skipped: %s\n", why)
			os.Exit(0)
		}
		fatalf("nicebench webrtc: %s", why)
	}
	if _, err := os.Stat(*chromium); err != nil {
		skip("Debian's chromium is not installed (./run setup full installs it)")
	}
	pageHTML, err := os.ReadFile(*page)
	if err != nil {
		fatalf("nicebench webrtc: the page: %v (run from the repository root, or give -page)", err)
	}
	// Chromium must gather on nothing but lo: the rest runs in a network
	// namespace of our own (as examples/webrtc-echo's test does).
	if os.Getenv(netnsMarker) == "" && os.Geteuid() != 0 {
		skip("needs root, for a network namespace of its own")
	}
	inOwnNetns("webrtc", args)
	logw := io.Discard
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fatalf("%v", err)
		}
		defer f.Close()
		logw = f
	}

	lo := netip.MustParseAddr("127.0.0.1")
	var vs []*wrVariant
	for _, role := range strings.Split(*roles, ",") {
		role = strings.TrimSpace(role)
		if role != "client" && role != "server" {
			fatalf("-roles: %q is neither client nor server", role)
		}
		pe, err := newPionEcho(net.IP(lo.AsSlice()), role == "server")
		if err != nil {
			fatalf("pion: %v", err)
		}
		for _, impl := range []echoImpl{&goniceEcho{addr: lo, dtlsServer: role == "server"}, pe} {
			name := "gonice/" + role
			if impl == echoImpl(pe) {
				name = "pion/" + role
			}
			ep := newEndpoint(impl, pageHTML)
			url, err := ep.serve()
			if err != nil {
				fatalf("%v", err)
			}
			vs = append(vs, &wrVariant{name: name, ep: ep, url: url})
		}
	}

	stopCapture := func() {}
	if *pcap != "" {
		if stopCapture, err = capture(*pcap); err != nil {
			fatalf("%v", err)
		}
	}
	header := webrtcHeader(*rounds, *sessions, *quick, strings.Join(os.Args, " "))
	fmt.Fprint(os.Stderr, header)
	br, err := startBrowser(*chromium)
	if err != nil {
		fatalf("%v", err)
	}
	n := 0
	run := func(v *wrVariant, round int) wrSample {
		n++
		s, err := session(br, v, n, round)
		if err != nil {
			br.close()
			fatalf("\n%s session %d: %v\nChromium said:\n%s", v.name, n, err, br.stderr.String())
		}
		return s
	}
	if !*quick {
		for _, v := range vs { // warm-up: one session each, not counted
			s := run(v, -1)
			fmt.Fprintf(os.Stderr, "nicebench: webrtc warm-up %-14s ready %6.1f ms\n", v.name, s.ReadyMS)
		}
	}
	var all []wrSample
	for r := range *rounds {
		for i := range vs {
			v := vs[(i+r)%len(vs)]
			var got []string
			for range *sessions {
				s := run(v, r)
				all = append(all, s)
				b, _ := json.Marshal(s)
				fmt.Fprintf(logw, "%s\n", b)
				got = append(got, fmt.Sprintf("%.1f", s.ReadyMS))
			}
			fmt.Fprintf(os.Stderr, "nicebench: webrtc round %d %-14s ready ms %s\n", r+1, v.name, strings.Join(got, " "))
		}
	}
	br.close()
	stopCapture()
	var rep bytes.Buffer
	rep.WriteString(header)
	reportWebRTC(&rep, vs, all, *rounds, *quick)
	if *pcap != "" {
		reportPhases(&rep, *pcap, vs, all)
	}
	fmt.Fprintf(&rep, "\nload average at the end: %s\n", loadavg())
	os.Stdout.Write(rep.Bytes())
	if *out != "" {
		if err := os.WriteFile(*out, rep.Bytes(), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
}

// session runs one browser session against v and returns its stamps.
func session(br *browser, v *wrVariant, n, round int) (wrSample, error) {
	s := wrSample{Variant: v.name, Round: round + 1}
	select { // a late result of an earlier session
	case <-v.ep.results:
	default:
	}
	if err := br.navigate(fmt.Sprintf("%s/?session=%d", v.url, n)); err != nil {
		return s, err
	}
	var res []byte
	select {
	case res = <-v.ep.results:
	case <-time.After(30 * time.Second):
		v.ep.finish()
		return s, fmt.Errorf("no result from the page in 30 s")
	}
	x := v.ep.finish()
	var page struct {
		OK    bool
		Error string
		DTLS  struct{ Role string }
	}
	if err := json.Unmarshal(res, &page); err != nil {
		return s, fmt.Errorf("page result %q: %v", res, err)
	}
	if x == nil || !page.OK {
		return s, fmt.Errorf("no media back: %s", res)
	}
	st := &x.st
	if st.failed.Load() || st.ready.Load() == 0 || st.ice.Load() == 0 || st.answered.Load() == 0 {
		return s, fmt.Errorf("stamps incomplete (failed %v, answered %d, ice %d, ready %d); page: %s",
			st.failed.Load(), st.answered.Load(), st.ice.Load(), st.ready.Load(), res)
	}
	ms := func(t int64) float64 { return float64(t-st.answered.Load()) / 1e6 }
	s.ReadyMS, s.ICEMS = ms(st.ready.Load()), ms(st.ice.Load())
	s.Port = st.port.Load()
	s.AnsweredAt = epoch.Add(time.Duration(st.answered.Load())).UnixNano()
	if d := st.dtls.Load(); d != 0 {
		v := ms(d)
		s.DTLSMS = &v
	}
	s.Role = page.DTLS.Role
	s.Audio, s.Video, _ = x.s.media()
	want := "server" // the answer said active
	if strings.HasSuffix(v.name, "/server") {
		want = "client"
	}
	if s.Role != want {
		return s, fmt.Errorf("Chromium's DTLS role is %q; want %q", s.Role, want)
	}
	return s, nil
}

func webrtcHeader(rounds, sessions int, quick bool, cmdline string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# nicebench webrtc: answer → DTLS-SRTP ready with Chromium, gonice and pion/webrtc as the server\n\n")
	fmt.Fprintf(&b, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- machine: %s, %d CPUs, kernel %s; load average at the start: %s\n", cpuModel(), runtime.NumCPU(), kernel(), loadavg())
	fmt.Fprintf(&b, "- versions: gonice %s, %s, pion/webrtc %s (pion/ice %s, pion/dtls %s), %s\n", gitCommit(), runtime.Version(),
		depVersion("github.com/pion/webrtc/v3"), depVersion("github.com/pion/ice/v2"), depVersion("github.com/pion/dtls/v2"),
		cmdOut("/usr/lib/chromium/chromium", "--version"))
	mode := fmt.Sprintf("%d alternating rounds of %d sessions per variant (the order of the variants rotates every round), after one warm-up session per variant; one Chromium process for all, a new page and RTCPeerConnection per session", rounds, sessions)
	if quick {
		mode = "QUICK smoke run: 1 round, 1 session per variant — these figures only show that the harness works"
	}
	fmt.Fprintf(&b, "- %s\n- command: `%s`\n\n", mode, cmdline)
	return b.String()
}

// capture runs tcpdump on lo until the returned function is called.
func capture(file string) (func(), error) {
	cmd := exec.Command("tcpdump", "-i", "lo", "--immediate-mode", "-U", "-s", "256", "-w", file)
	var stderr syncBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tcpdump: %v", err)
	}
	for i := 0; i < 100 && !strings.Contains(stderr.String(), "listening"); i++ {
		time.Sleep(10 * time.Millisecond) // until it captures
	}
	return func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
	}, nil
}
