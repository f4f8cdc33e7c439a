// SPDX-License-Identifier: MIT

package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The WHIP-style endpoint that both echo servers of `nicebench webrtc`
// sit behind, so that the HTTP side, the page and the moment the answer
// counts as sent are the same for both: GET / serves the page, POST /whip
// takes an offer (Content-Type application/sdp) and answers 201 Created
// with the answer and a Location, DELETE /whip/ID hangs up, POST /result
// is the page's report (examples/webrtc-echo's semantics).

// epoch is the origin of the stamps (monotonic).
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

// stamps are the server-side moments of one session, nanoseconds since
// epoch; 0 until seen. Each is set once, by its first occurrence.
type stamps struct {
	answered atomic.Int64 // the answer is ready and about to be written (see offer)
	ice      atomic.Int64 // ICE connected (see webrtc.go for what each side means by it)
	dtls     atomic.Int64 // pion only: its DTLS transport connected (before SRTP is keyed)
	ready    atomic.Int64 // gonice: CONN_READY; pion: PeerConnectionState connected
	failed   atomic.Bool
	port     atomic.Int32 // the server's UDP port of the selected pair (to find the session in a capture)
}

func mark(v *atomic.Int64) { v.CompareAndSwap(0, now()) }

// echoImpl makes sessions of one server implementation.
type echoImpl interface {
	// open answers a browser's offer (without trickle: the answer carries
	// the candidates) and starts echoing; st gets the session's moments.
	open(offer string, st *stamps) (answer string, s echoSession, err error)
}

// echoSession is one browser's connection.
type echoSession interface {
	// close ends the session and waits for its goroutines.
	close()
	// media is what was echoed: RTP packets per kind, RTCP received.
	media() (audio, video, rtcp int64)
}

// endpoint serves one implementation.
type endpoint struct {
	impl    echoImpl
	page    []byte
	results chan []byte // what the page posts to /result

	mu   sync.Mutex
	next int
	live map[string]*epSession
	last *epSession // the newest session (the harness runs one at a time)
}

type epSession struct {
	st   stamps
	s    echoSession
	once sync.Once
}

func (x *epSession) close() { x.once.Do(x.s.close) }

func newEndpoint(impl echoImpl, page []byte) *endpoint {
	return &endpoint{impl: impl, page: page, results: make(chan []byte, 1), live: map[string]*epSession{}}
}

// serve serves the endpoint on 127.0.0.1 and returns its base URL.
func (e *endpoint) serve() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, e) // the endpoint's HTTP server; lives as long as the process
	return "http://" + ln.Addr().String(), nil
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(e.page)
	case r.URL.Path == "/whip" && r.Method == http.MethodPost:
		e.offer(w, r)
	case strings.HasPrefix(r.URL.Path, "/whip/") && r.Method == http.MethodDelete:
		e.mu.Lock()
		x := e.live[strings.TrimPrefix(r.URL.Path, "/whip/")]
		delete(e.live, strings.TrimPrefix(r.URL.Path, "/whip/"))
		e.mu.Unlock()
		if x == nil {
			http.NotFound(w, r)
			return
		}
		x.close()
		w.WriteHeader(http.StatusOK)
	case r.URL.Path == "/result" && r.Method == http.MethodPost:
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		select {
		case e.results <- b:
		default: // a result nobody waits for
		}
	default:
		http.NotFound(w, r)
	}
}

func (e *endpoint) offer(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		http.Error(w, "Content-Type must be application/sdp", http.StatusUnsupportedMediaType)
		return
	}
	offer, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x := &epSession{}
	answer, s, err := e.impl.open(string(offer), &x.st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x.s = s
	e.mu.Lock()
	e.next++
	id := strconv.Itoa(e.next)
	e.live[id] = x
	e.last = x
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/"+id)
	w.Header().Set("Content-Length", strconv.Itoa(len(answer))) // so that the flush below sends all of it
	// The moment measured from: right before the one write of the 201
	// and the answer (the flush). Stamped before, not after: a goroutine
	// that waits for a CPU after the write would move the origin later
	// than the answer left; one that waits before the write delays the
	// answer itself, which is the server's own doing.
	mark(&x.st.answered)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// finish returns the newest session and ends every session still open
// (one the page did not hang up).
func (e *endpoint) finish() *epSession {
	e.mu.Lock()
	x := e.last
	e.last = nil
	var open []*epSession
	for id, y := range e.live {
		open = append(open, y)
		delete(e.live, id)
	}
	e.mu.Unlock()
	for _, y := range open {
		y.close()
	}
	if x != nil {
		x.close() // waits for the session's goroutines (once: DELETE may have closed it)
	}
	return x
}
