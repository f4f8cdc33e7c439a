// SPDX-License-Identifier: MIT

package main

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/webrtc"
)

// goniceEcho is examples/webrtc-echo's server (that example is a package
// main of the root module, so it cannot be imported): the same
// webrtc.Config, the same echo (this side's SSRC per kind), the same PLI
// every half second, RTCP counted and dropped. What it adds are stamps:
// ICE connected (the agent's first selected pair) and CONN_READY.
type goniceEcho struct {
	addr       netip.Addr
	dtlsServer bool
}

// The SSRCs the echo sends with, per kind (the example's).
const (
	echoAudioSSRC = 0x0A0D1000
	echoVideoSSRC = 0x0F1DE000
)

type goniceSession struct {
	conn    *webrtc.Connection
	stop    chan struct{}
	pliDone sync.WaitGroup
	scratch []byte // the echoed packet; OnRTP calls are serialised by the transport

	browserVideo       atomic.Uint32
	audio, video, rtcp atomic.Int64
}

func (g *goniceEcho) open(offer string, st *stamps) (string, echoSession, error) {
	s := &goniceSession{stop: make(chan struct{}), scratch: make([]byte, 0, 2048)}
	conn, err := webrtc.New(webrtc.Config{
		Addresses: []netip.Addr{g.addr}, NoTrickle: true, DTLSServer: g.dtlsServer,
		SSRCs: map[string]uint32{"audio": echoAudioSSRC, "video": echoVideoSSRC},
		OnEvent: func(ev webrtc.Event, _ string) {
			switch ev {
			case webrtc.ConnReady:
				mark(&st.ready)
			case webrtc.ConnFailed:
				st.failed.Store(true)
			}
		},
		OnRTP:  s.echo,
		OnRTCP: func([]byte) { s.rtcp.Add(1) },
	})
	if err != nil {
		return "", nil, err
	}
	s.conn = conn
	// The connection keeps the component-state handler for itself; the
	// first selected pair is signalled in the same step of the agent's
	// loop as the component's CONNECTED (nomination.go, updateSelection).
	conn.Agent().OnNewSelectedPair(func(_, _ int, local, _ nice.Candidate) {
		mark(&st.ice)
		st.port.CompareAndSwap(0, int32(local.Addr.Port()))
	})
	if err := conn.SetRemoteDescription(offer); err != nil {
		conn.Close()
		conn.Wait()
		return "", nil, err
	}
	answer, err := conn.CreateAnswer()
	if err != nil {
		conn.Close()
		conn.Wait()
		return "", nil, err
	}
	s.pliDone.Add(1)
	go s.pli() // the session's PLI sender; ends at close
	return answer, s, nil
}

func (s *goniceSession) echo(p []byte) {
	ssrc, n := uint32(0), (*atomic.Int64)(nil)
	switch s.conn.Kind(p[1] & 0x7f) {
	case "audio":
		ssrc, n = echoAudioSSRC, &s.audio
	case "video":
		ssrc, n = echoVideoSSRC, &s.video
		s.browserVideo.Store(binary.BigEndian.Uint32(p[8:]))
	default:
		return
	}
	out := append(s.scratch[:0], p...)
	binary.BigEndian.PutUint32(out[8:], ssrc)
	s.scratch = out[:0]
	if _, err := s.conn.WriteRTP(out); err == nil {
		n.Add(1)
	}
}

func (s *goniceSession) pli() {
	defer s.pliDone.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	var pkt [12]byte
	pkt[0], pkt[1] = 0x81, 206 // PSFB, FMT 1: PLI (RFC 4585 §6.3.1)
	binary.BigEndian.PutUint16(pkt[2:], 2)
	binary.BigEndian.PutUint32(pkt[4:], echoVideoSSRC)
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if v := s.browserVideo.Load(); v != 0 {
			binary.BigEndian.PutUint32(pkt[8:], v)
			_, _ = s.conn.WriteRTCP(pkt[:])
		}
	}
}

func (s *goniceSession) close() {
	close(s.stop)
	s.pliDone.Wait()
	_ = s.conn.Close()
	s.conn.Wait()
}

func (s *goniceSession) media() (int64, int64, int64) {
	return s.audio.Load(), s.video.Load(), s.rtcp.Load()
}
