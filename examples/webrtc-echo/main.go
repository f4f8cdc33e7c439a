// SPDX-License-Identifier: MIT

// Command webrtc-echo is a WebRTC echo server on gonice: a browser POSTs
// its offer the way WHIP does (Content-Type application/sdp; 201 Created,
// the answer as the body and a Location to DELETE to hang up), and every
// RTP packet it sends comes back to it: unprotected, given this server's
// SSRC for its kind (announced in the answer), protected with this side's
// keys. The browser's RTCP is counted and dropped (its reports describe its
// own streams); the server asks for video key frames with a PLI every
// half second, so that the echoed video decodes from the start.
//
//	webrtc-echo [-http 127.0.0.1:8080] [-ice 127.0.0.1] [-dtls-server]
//
// Open http://127.0.0.1:8080/ in a browser (Chromium needs
// --allow-loopback-in-peer-connection for ICE on 127.0.0.1). Progress
// (events, first media) is printed as it happens.
package main

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
	"github.com/gonice/gonice/nice/webrtc"
)

//go:embed page.html
var page []byte

// maxOffer is the largest offer taken (a browser's is a few KiB).
const maxOffer = 1 << 16

// The SSRCs this server sends with, per kind.
const (
	audioSSRC = 0x0A0D1000
	videoSSRC = 0x0F1DE000
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:8080", "HTTP address")
	iceAddr := flag.String("ice", "127.0.0.1", "the one local address ICE gathers on (empty: every interface)")
	dtlsServer := flag.Bool("dtls-server", false, "answer a=setup:passive (the browser is the DTLS client)")
	iceTCP := flag.Bool("ice-tcp", false, "ICE-TCP candidates too: a browser whose UDP is blocked connects over TCP")
	flag.Parse()
	s := &server{dtlsServer: *dtlsServer, iceTCP: *iceTCP, out: os.Stdout, sessions: map[string]*session{}}
	if *iceAddr != "" {
		a, err := netip.ParseAddr(*iceAddr)
		if err != nil {
			log.Fatalf("-ice: %v", err)
		}
		s.addrs = []netip.Addr{a}
	}
	ln, err := net.Listen("tcp", *httpAddr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(s.out, "webrtc-echo: open http://%s/\n", ln.Addr())
	log.Fatal(http.Serve(ln, s))
}

// server is the HTTP endpoint and its sessions.
type server struct {
	addrs      []netip.Addr
	dtlsServer bool
	iceTCP     bool // nice.Config.ICETCP
	out        io.Writer
	results    chan<- []byte // what pages POST to /result; nil: printed only

	mu       sync.Mutex
	outMu    sync.Mutex
	sessions map[string]*session
	next     int
}

// session is one browser's connection.
type session struct {
	id      string
	conn    *webrtc.Connection
	stop    chan struct{}
	once    sync.Once
	scratch []byte // the echoed packet; used only in OnRTP, which the transport serialises

	answered      atomic.Int64  // when the answer was sent, UnixNano
	browserVideo  atomic.Uint32 // the browser's video SSRC, once seen
	audio, video  atomic.Int64  // packets echoed
	rtcp, dropped atomic.Int64
}

func (s *server) printf(format string, args ...any) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	fmt.Fprintf(s.out, format, args...)
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	case r.URL.Path == "/whip" && r.Method == http.MethodPost:
		s.offer(w, r)
	case strings.HasPrefix(r.URL.Path, "/whip/") && r.Method == http.MethodDelete:
		s.hangUp(w, r, strings.TrimPrefix(r.URL.Path, "/whip/"))
	case r.URL.Path == "/result" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		s.printf("page: %s\n", b)
		if s.results != nil {
			s.results <- b
		}
	default:
		http.NotFound(w, r)
	}
}

// offer answers a WHIP POST.
func (s *server) offer(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOffer))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		http.Error(w, fmt.Sprintf("an offer is at most %d bytes", maxOffer), http.StatusRequestEntityTooLarge)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.next++
	ss := &session{id: strconv.Itoa(s.next), stop: make(chan struct{}), scratch: make([]byte, 0, 2048)}
	s.sessions[ss.id] = ss
	s.mu.Unlock()
	conn, err := webrtc.New(webrtc.Config{
		Agent:     nice.Config{ICETCP: s.iceTCP},
		Addresses: s.addrs, NoTrickle: true, DTLSServer: s.dtlsServer,
		SSRCs:   map[string]uint32{"audio": audioSSRC, "video": videoSSRC},
		OnEvent: func(ev webrtc.Event, msg string) { s.event(ss, ev, msg) },
		OnRTP:   func(p []byte) { s.echo(ss, p) },
		OnRTCP:  func([]byte) { ss.rtcp.Add(1) },
	})
	if err != nil {
		s.drop(ss)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	ss.conn = conn
	if err := conn.SetRemoteDescription(string(offer)); err != nil {
		s.end(ss)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	answer, err := conn.CreateAnswer()
	if err != nil {
		s.end(ss)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	go s.pli(ss) // the session's PLI sender; ends when the session does
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/"+ss.id)
	ss.answered.Store(time.Now().UnixNano())
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// event prints a connection's event.
func (s *server) event(ss *session, ev webrtc.Event, msg string) {
	switch ev {
	case webrtc.ConnSDP, webrtc.ConnCandidate:
		msg = "" // long; not progress
	case webrtc.ConnReady:
		msg = ss.conn.Transport().Profile().String()
		if at := ss.answered.Load(); at != 0 {
			msg += fmt.Sprintf(", %.1f ms after the answer", float64(time.Now().UnixNano()-at)/1e6)
		}
		if l, r, err := ss.conn.SelectedPair(); err == nil {
			msg += fmt.Sprintf(", pair %s %v – %s %v", l.Transport, l.Addr, r.Transport, r.Addr)
		}
	}
	s.printf("session %s: %v (%d) %s\n", ss.id, ev, int(ev), msg)
}

// echo sends an RTP packet back with this server's SSRC for its kind.
// It runs on the agent's reader goroutine, serialised by the transport.
func (s *server) echo(ss *session, p []byte) {
	ssrc, n := uint32(0), &ss.dropped
	switch ss.conn.Kind(p[1] & 0x7f) {
	case "audio":
		ssrc, n = audioSSRC, &ss.audio
	case "video":
		ssrc, n = videoSSRC, &ss.video
		ss.browserVideo.Store(binary.BigEndian.Uint32(p[8:]))
	}
	if ssrc == 0 {
		n.Add(1)
		return
	}
	out := append(ss.scratch[:0], p...)
	binary.BigEndian.PutUint32(out[8:], ssrc)
	ss.scratch = out[:0]
	if _, err := ss.conn.WriteRTP(out); err != nil {
		return
	}
	if n.Add(1) == 1 {
		s.printf("session %s: first %s packet echoed\n", ss.id, map[uint32]string{audioSSRC: "audio", videoSSRC: "video"}[ssrc])
	}
}

// pli asks the browser for a video key frame every half second.
func (s *server) pli(ss *session) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	var pkt [12]byte
	pkt[0], pkt[1] = 0x81, 206 // V=2, FMT=1 (PLI); PT=206 (PSFB), RFC 4585 §6.3.1
	binary.BigEndian.PutUint16(pkt[2:], 2)
	binary.BigEndian.PutUint32(pkt[4:], videoSSRC)
	for {
		select {
		case <-ss.stop:
			return
		case <-t.C:
		}
		if media := ss.browserVideo.Load(); media != 0 {
			binary.BigEndian.PutUint32(pkt[8:], media)
			_, _ = ss.conn.WriteRTCP(pkt[:])
		}
	}
}

// hangUp ends a session (WHIP's DELETE).
func (s *server) hangUp(w http.ResponseWriter, r *http.Request, id string) {
	s.mu.Lock()
	ss := s.sessions[id]
	s.mu.Unlock()
	if ss == nil {
		http.NotFound(w, r)
		return
	}
	var st dtlssrtp.Stats
	if tr := ss.conn.Transport(); tr != nil {
		st = tr.Stats()
	}
	s.end(ss)
	s.printf("session %s: hung up; echoed %d audio and %d video packets, %d RTCP received; transport %+v\n",
		ss.id, ss.audio.Load(), ss.video.Load(), ss.rtcp.Load(), st)
	w.WriteHeader(http.StatusOK)
}

// end closes a session and forgets it.
func (s *server) end(ss *session) {
	ss.once.Do(func() {
		close(ss.stop)
		if ss.conn != nil {
			_ = ss.conn.Close()
		}
	})
	s.drop(ss)
}

func (s *server) drop(ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
}

// closeAll ends every session (tests).
func (s *server) closeAll() {
	s.mu.Lock()
	var all []*session
	for _, ss := range s.sessions {
		all = append(all, ss)
	}
	s.mu.Unlock()
	for _, ss := range all {
		s.end(ss)
		ss.conn.Wait()
	}
}
