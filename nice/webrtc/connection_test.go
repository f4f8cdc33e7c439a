// SPDX-License-Identifier: MIT

package webrtc_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
	"github.com/gonice/gonice/nice/webrtc"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// peer is a Connection with what it emitted and received.
type peer struct {
	*webrtc.Connection
	mu     sync.Mutex
	events []webrtc.Event
	msgs   []string
	rtp    [][]byte
	ready  chan struct{} // closed at CONN_READY
	failed chan string   // CONN_FAILED's message
	cands  chan string   // CONN_CANDIDATE's candidate lines ("" at the end)
}

func newPeer(t *testing.T, cfg webrtc.Config) *peer {
	t.Helper()
	p := &peer{ready: make(chan struct{}), failed: make(chan string, 1), cands: make(chan string, 64)}
	cfg.Addresses = []netip.Addr{loopback}
	cfg.OnEvent = func(ev webrtc.Event, msg string) {
		p.mu.Lock()
		p.events = append(p.events, ev)
		p.msgs = append(p.msgs, msg)
		p.mu.Unlock()
		switch ev {
		case webrtc.ConnReady:
			close(p.ready)
		case webrtc.ConnFailed:
			p.failed <- msg
		case webrtc.ConnCandidate:
			var m struct{ Candidate string }
			if err := json.Unmarshal([]byte(msg), &m); err != nil {
				t.Errorf("CONN_CANDIDATE message %q: %v", msg, err)
			}
			p.cands <- m.Candidate
		}
	}
	cfg.OnRTP = func(b []byte) {
		p.mu.Lock()
		p.rtp = append(p.rtp, append([]byte(nil), b...))
		p.mu.Unlock()
	}
	c, err := webrtc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Connection = c
	t.Cleanup(func() { c.Close(); c.Wait() })
	return p
}

// seq is the events with consecutive CONN_CANDIDATEs folded into one.
func (p *peer) seq() []webrtc.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []webrtc.Event
	for _, e := range p.events {
		if e == webrtc.ConnCandidate && len(out) > 0 && out[len(out)-1] == e {
			continue
		}
		out = append(out, e)
	}
	return out
}

func (p *peer) rtpCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.rtp)
}

// trickle forwards from's candidates to to until the end of candidates.
func trickle(t *testing.T, from, to *peer) {
	t.Helper()
	for {
		select {
		case c := <-from.cands:
			if err := to.AddRemoteCandidate(c); err != nil && c == "" {
				t.Errorf("end of candidates: %v", err)
			}
			if c == "" {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no end of candidates")
		}
	}
}

func waitReady(t *testing.T, ps ...*peer) {
	t.Helper()
	defer func() {
		if t.Failed() {
			for _, p := range ps {
				t.Logf("events %v; states %v", p.seq(), p.Agent().ComponentState(1, 1))
			}
		}
	}()
	for _, p := range ps {
		select {
		case <-p.ready:
		case m := <-p.failed:
			t.Fatalf("CONN_FAILED: %s", m)
		case <-time.After(10 * time.Second):
			t.Fatal("not ready")
		}
	}
}

func rtpPacket(seq uint16) []byte {
	p := make([]byte, 1000)
	p[0], p[1] = 0x80, 111
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[8:], 0xabcd)
	for i := 12; i < len(p); i++ {
		p[i] = byte(i * int(seq))
	}
	return p
}

// TestConnection: two Connections on loopback, offer/answer with and
// without trickle; erizo's events in erizo's order with erizo's numbers;
// SRTP both ways.
func TestConnection(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, noTrickle := range []bool{false, true} {
		t.Run(fmt.Sprintf("trickle=%v", !noTrickle), func(t *testing.T) {
			A := newPeer(t, webrtc.Config{NoTrickle: noTrickle})
			B := newPeer(t, webrtc.Config{NoTrickle: noTrickle})
			connectICE(t, A, B, !noTrickle, nil)
			waitReady(t, A, B)
			for i := range 10 {
				if _, err := A.WriteRTP(rtpPacket(uint16(i))); err != nil {
					t.Fatal(err)
				}
				if _, err := B.WriteRTP(rtpPacket(uint16(100 + i))); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for (A.rtpCount() < 10 || B.rtpCount() < 10) && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			for i := range 10 {
				if !bytes.Equal(B.rtp[i], rtpPacket(uint16(i))) || !bytes.Equal(A.rtp[i], rtpPacket(uint16(100+i))) {
					t.Fatalf("packet %d differs", i)
				}
			}
			// The offerer's a=setup:actpass was answered with active: B
			// is the DTLS client, and both agreed on the first profile.
			if A.Transport().Profile() != dtlssrtp.DefaultProfiles[0] {
				t.Errorf("profile %v", A.Transport().Profile())
			}
			// A hangs up: B hears DTLS's close_notify (CONN_FAILED, the
			// peer closed), then closes too.
			A.Close()
			select {
			case m := <-B.failed:
				if !strings.Contains(m, "peer closed") {
					t.Errorf("B's CONN_FAILED says %q", m)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("B did not hear A hang up; B stats %+v, A stats %+v", B.Transport().Stats(), A.Transport().Stats())
			}
			B.Close()
			A.Wait()
			B.Wait()
			I, S, G, R, F, C, D, P, X := webrtc.ConnInitial, webrtc.ConnStarted, webrtc.ConnGathered, webrtc.ConnReady,
				webrtc.ConnFinished, webrtc.ConnCandidate, webrtc.ConnSDP, webrtc.ConnSDPProcessed, webrtc.ConnFailed
			wantA, wantB := []webrtc.Event{I, D, S, C, P, R, F}, []webrtc.Event{I, P, D, S, C, R, X, F}
			if noTrickle {
				wantA, wantB = []webrtc.Event{I, S, G, D, P, R, F}, []webrtc.Event{I, P, S, G, D, R, X, F}
			}
			if got := A.seq(); !slices.Equal(got, wantA) {
				t.Errorf("offerer's events %v; want %v", got, wantA)
			}
			if got := B.seq(); !slices.Equal(got, wantB) {
				t.Errorf("answerer's events %v; want %v", got, wantB)
			}
			nums := map[webrtc.Event]int{I: 101, S: 102, G: 103, R: 104, F: 105, C: 201, D: 202, P: 203, X: 500}
			for e, n := range nums {
				if int(e) != n {
					t.Errorf("%v = %d; erizo's is %d", e, int(e), n)
				}
			}
		})
	}
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines left:\n%s", buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConnectionNoRTCPMux: an offer without rtcp-mux is answered without
// it; RTP and RTCP each have a component and a DTLS handshake; then the
// peer's Close (DTLS close_notify) fails the other side.
func TestConnectionNoRTCPMux(t *testing.T) {
	A := newPeer(t, webrtc.Config{NoTrickle: true, NoRTCPMux: true})
	B := newPeer(t, webrtc.Config{NoTrickle: true})
	connectICE(t, A, B, false, func(s string) string {
		if strings.Contains(s, "a=rtcp-mux") {
			t.Errorf("answer to an offer without rtcp-mux has it:\n%s", s)
		}
		return s
	})
	waitReady(t, A, B)
	for _, p := range []*peer{A, B} {
		if st := p.Agent().ComponentState(1, 2); st.String() == "" {
			t.Fatal("no component 2")
		}
	}
	if _, err := A.WriteRTP(rtpPacket(1)); err != nil {
		t.Fatal(err)
	}
	rr := make([]byte, 8)
	rr[0], rr[1], rr[3] = 0x80, 201, 1
	binary.BigEndian.PutUint32(rr[4:], 0xabcd)
	if _, err := A.WriteRTCP(rr); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for (B.rtpCount() < 1 || B.Transport().Stats().RTCP < 1) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if B.rtpCount() != 1 || B.Transport().Stats().RTCP != 1 {
		t.Fatalf("B got %d RTP, stats %+v", B.rtpCount(), B.Transport().Stats())
	}
	B.Close()
	select {
	case m := <-A.failed:
		if !strings.Contains(m, "closed") {
			t.Errorf("CONN_FAILED says %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no CONN_FAILED after the peer closed; events %v", A.seq())
	}
}

// connectICE runs an offer/answer from A to B, with edit (if not nil)
// applied to the answer before A sees it; with trickle, A's candidates
// all reach B before B answers (the event order is then fixed).
func connectICE(t *testing.T, A, B *peer, trickled bool, edit func(string) string) {
	t.Helper()
	offer, err := A.CreateOffer()
	if err != nil {
		t.Fatal(err)
	}
	if err := B.SetRemoteDescription(offer); err != nil {
		t.Fatal(err)
	}
	if trickled {
		trickle(t, A, B)
	}
	answer, err := B.CreateAnswer()
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		answer = edit(answer)
	}
	if err := A.SetRemoteDescription(answer); err != nil {
		t.Fatal(err)
	}
	if trickled {
		trickle(t, B, A)
	}
}

// TestConnectionWrongFingerprint: the answer's fingerprint is not B's
// certificate's: CONN_FAILED on A, and no media is delivered to it.
func TestConnectionWrongFingerprint(t *testing.T) {
	A := newPeer(t, webrtc.Config{NoTrickle: true, HandshakeTimeout: 3 * time.Second})
	B := newPeer(t, webrtc.Config{NoTrickle: true, HandshakeTimeout: 3 * time.Second})
	other, _ := dtlssrtp.GenerateCertificate()
	connectICE(t, A, B, false, func(s string) string {
		return strings.ReplaceAll(s, B.Fingerprint().String(), other.Fingerprint().String())
	})
	select {
	case m := <-A.failed:
		if !strings.Contains(m, "fingerprint") {
			t.Errorf("CONN_FAILED says %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no CONN_FAILED; events %v", A.seq())
	}
	_, _ = B.WriteRTP(rtpPacket(1)) // B may think it is connected; A must take nothing
	time.Sleep(100 * time.Millisecond)
	if n := A.rtpCount(); n != 0 {
		t.Fatalf("%d RTP packets delivered after a fingerprint mismatch", n)
	}
	if ev := A.seq(); slices.Contains(ev, webrtc.ConnReady) || ev[len(ev)-1] != webrtc.ConnFailed {
		t.Fatalf("events %v", ev)
	}
}

// TestConnectionDTLSTimeout: the peer's ICE works but it never speaks
// DTLS: CONN_FAILED within the configured time.
func TestConnectionDTLSTimeout(t *testing.T) {
	const limit = time.Second
	A := newPeer(t, webrtc.Config{NoTrickle: true, HandshakeTimeout: limit})
	B := newPeer(t, webrtc.Config{NoTrickle: true})
	var start time.Time
	connectICE(t, A, B, false, func(s string) string {
		B.Transport().Close() // B's ICE answers; its DTLS is gone
		start = time.Now()
		return s
	})
	select {
	case m := <-A.failed:
		if el := time.Since(start); el < limit || el > limit+2*time.Second {
			t.Errorf("CONN_FAILED after %v; want about %v", el, limit)
		}
		if !strings.Contains(m, "timed out") {
			t.Errorf("CONN_FAILED says %q", m)
		}
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("no CONN_FAILED; events %v", A.seq())
	}
}

// TestChromiumOffer: the offer a headless Chromium 156 made on this
// machine (fake camera and microphone, loopback only, captured as sent)
// is answered with a description a browser takes: BUNDLE of both m-lines,
// Opus and VP8 with the offer's payload types, rtcp-mux, a=setup:active,
// a sha-256 fingerprint, ICE credentials, the MID extension, candidates
// and end-of-candidates; and the offer's UDP candidate becomes a remote
// candidate (its TCP one is skipped).
func TestChromiumOffer(t *testing.T) {
	offer, err := os.ReadFile("testdata/chromium156-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	B := newPeer(t, webrtc.Config{NoTrickle: true})
	if err := B.SetRemoteDescription(string(offer)); err != nil {
		t.Fatal(err)
	}
	answer, err := B.CreateAnswer()
	if err != nil {
		t.Fatal(err)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(answer); err != nil {
		t.Fatalf("answer does not parse: %v\n%s", err, answer)
	}
	if g, _ := sd.Attribute("group"); g != "BUNDLE 0 1" {
		t.Errorf("group %q", g)
	}
	if len(sd.MediaDescriptions) != 2 {
		t.Fatalf("%d m-lines", len(sd.MediaDescriptions))
	}
	for i, want := range []struct{ kind, pt, rtpmap string }{{"audio", "111", "111 opus/48000/2"}, {"video", "96", "96 VP8/90000"}} {
		md := sd.MediaDescriptions[i]
		if md.MediaName.Media != want.kind || md.MediaName.Port.Value != 9 || !slices.Equal(md.MediaName.Formats, []string{want.pt}) {
			t.Errorf("m-line %d: %v", i, md.MediaName)
		}
		for k, v := range map[string]string{"mid": fmt.Sprint(i), "setup": "active", "rtpmap": want.rtpmap,
			"extmap": "4 urn:ietf:params:rtp-hdrext:sdes:mid"} {
			if got, _ := md.Attribute(k); got != v {
				t.Errorf("m-line %d: a=%s:%s; want %s", i, k, got, v)
			}
		}
		for _, k := range []string{"ice-ufrag", "ice-pwd", "rtcp-mux", "sendrecv", "candidate", "end-of-candidates"} {
			if _, ok := md.Attribute(k); !ok {
				t.Errorf("m-line %d: no a=%s", i, k)
			}
		}
		if fp, _ := md.Attribute("fingerprint"); fp != B.Fingerprint().String() {
			t.Errorf("m-line %d: fingerprint %q", i, fp)
		}
	}
	// Both of the offer's candidates are kept; the TCP one is not paired
	// (ICE-TCP is off: Config.Agent.ICETCP).
	rc, err := B.Agent().RemoteCandidates(1, 1)
	if err != nil || len(rc) != 2 || rc[0].Transport != nice.TransportUDP || rc[1].Transport != nice.TransportTCPActive || rc[0].Addr.Addr() != loopback {
		t.Errorf("remote candidates %v, %v; want the offer's UDP and TCP active candidates", rc, err)
	}
	if ev := B.seq(); !slices.Equal(ev, []webrtc.Event{webrtc.ConnInitial, webrtc.ConnSDPProcessed, webrtc.ConnStarted, webrtc.ConnGathered, webrtc.ConnSDP}) {
		t.Errorf("events %v", ev)
	}
}
