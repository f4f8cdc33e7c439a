// SPDX-License-Identifier: MIT

package dtlssrtp_test

import (
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
	"github.com/gonice/gonice/nice/internal/agentpair"
)

// connected returns two real agents on loopback with one stream of ncomp
// components each, every component READY.
func connected(tb testing.TB, ncomp int) (a, b *nice.Agent, sa, sb int) {
	tb.Helper()
	return agentpair.Connect(tb, ncomp, nice.Config{Controlling: true}, nice.Config{})
}

// sink records what a transport delivers.
type sink struct {
	mu        sync.Mutex
	rtp, rtcp [][]byte
	data      [][]byte
	got       chan struct{} // one token per delivery
}

func newSink() *sink { return &sink{got: make(chan struct{}, 1024)} }

func (s *sink) add(to *[][]byte, p []byte) {
	s.mu.Lock()
	*to = append(*to, append([]byte(nil), p...))
	s.mu.Unlock()
	select {
	case s.got <- struct{}{}:
	default:
	}
}

func (s *sink) wait(tb testing.TB, n int) {
	tb.Helper()
	for range n {
		select {
		case <-s.got:
		case <-time.After(5 * time.Second):
			tb.Fatal("nothing delivered in 5 s")
		}
	}
}

func (s *sink) counts() (rtp, rtcp, data int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rtp), len(s.rtcp), len(s.data)
}

// side is one end: its agent, stream and transport configuration.
type side struct {
	ag   *nice.Agent
	sid  int
	cert *dtlssrtp.Certificate
	sink *sink
}

func newSide(tb testing.TB, ag *nice.Agent, sid int) *side {
	tb.Helper()
	c, err := dtlssrtp.GenerateCertificate()
	if err != nil {
		tb.Fatal(err)
	}
	return &side{ag: ag, sid: sid, cert: c, sink: newSink()}
}

// transport makes s's transport toward peer; edit changes the config.
func (s *side) transport(tb testing.TB, peer *side, role dtlssrtp.Role, rtcpComp int, edit func(*dtlssrtp.Config)) *dtlssrtp.Transport {
	tb.Helper()
	cfg := dtlssrtp.Config{
		Agent: s.ag, StreamID: s.sid, RTCPComponent: rtcpComp, Role: role,
		Certificate:        s.cert,
		RemoteFingerprints: []dtlssrtp.Fingerprint{peer.cert.Fingerprint()},
		OnRTP:              func(p []byte) { s.sink.add(&s.sink.rtp, p) },
		OnRTCP:             func(p []byte) { s.sink.add(&s.sink.rtcp, p) },
		OnData:             func(p []byte) { s.sink.add(&s.sink.data, p) },
	}
	if edit != nil {
		edit(&cfg)
	}
	tr, err := dtlssrtp.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tr.Close(); tr.Done() })
	return tr
}

// handshakeBoth runs both handshakes at once and returns their errors.
func handshakeBoth(x, y *dtlssrtp.Transport) (ex, ey error) {
	done := make(chan error, 1)
	go func() { done <- y.Handshake(context.Background()) }() // y's handshake; ends when it does
	ex = x.Handshake(context.Background())
	return ex, <-done
}

// rtpPacket is an RTP packet of n bytes: version 2, payload type pt,
// sequence number seq, SSRC ssrc, a payload that varies with seq.
func rtpPacket(n int, pt uint8, seq uint16, ssrc uint32) []byte {
	p := make([]byte, n)
	p[0] = 0x80
	p[1] = pt
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[4:], uint32(seq)*160)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	for i := 12; i < n; i++ {
		p[i] = byte(i + int(seq))
	}
	return p
}

// rtcpPacket is an RTCP receiver report with one block (32 bytes).
func rtcpPacket(ssrc uint32, fill byte) []byte {
	p := make([]byte, 32)
	p[0] = 0x81 // V=2, RC=1
	p[1] = 201  // RR
	binary.BigEndian.PutUint16(p[2:], 7)
	binary.BigEndian.PutUint32(p[4:], ssrc)
	for i := 8; i < len(p); i++ {
		p[i] = fill
	}
	return p
}
