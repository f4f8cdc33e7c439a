// SPDX-License-Identifier: MIT

package dtlssrtp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/dtlssrtp"
)

var profiles = []dtlssrtp.Profile{
	dtlssrtp.AES128CMHMACSHA1_80, dtlssrtp.AES128CMHMACSHA1_32,
	dtlssrtp.AEADAES128GCM, dtlssrtp.AEADAES256GCM,
}

// TestTransport: two real agents on loopback; each DTLS role on each side,
// with rtcp-mux and with a separate RTCP component, each SRTP profile; RTP
// and RTCP both ways and DTLS application data, bytes compared.
func TestTransport(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, mux := range []bool{true, false} {
		ncomp, rtcpComp := 1, 0
		if !mux {
			ncomp, rtcpComp = 2, 2
		}
		t.Run(fmt.Sprintf("mux=%v", mux), func(t *testing.T) { testTransport(t, ncomp, rtcpComp) })
	}
	waitGoroutines(t, before)
}

func testTransport(t *testing.T, ncomp, rtcpComp int) {
	a, b, sa, sb := connected(t, ncomp)
	{
		for _, aRole := range []dtlssrtp.Role{dtlssrtp.RoleClient, dtlssrtp.RoleServer} {
			bRole := dtlssrtp.RoleServer
			if aRole == dtlssrtp.RoleServer {
				bRole = dtlssrtp.RoleClient
			}
			for _, prof := range profiles {
				t.Run(fmt.Sprintf("A=%v/%v", aRole, prof), func(t *testing.T) {
					A, B := newSide(t, a, sa), newSide(t, b, sb)
					// A allows only prof; B allows everything: prof is
					// what they have in common, whichever side is the
					// server.
					ta := A.transport(t, B, aRole, rtcpComp, func(c *dtlssrtp.Config) { c.Profiles = []dtlssrtp.Profile{prof} })
					tb := B.transport(t, A, bRole, rtcpComp, nil)
					if ea, eb := handshakeBoth(ta, tb); ea != nil || eb != nil {
						t.Fatalf("handshake: A %v, B %v", ea, eb)
					}
					if ta.Profile() != prof || tb.Profile() != prof {
						t.Fatalf("profiles A %v, B %v; want %v", ta.Profile(), tb.Profile(), prof)
					}
					testMedia(t, A, B, ta, tb)
					testMedia(t, B, A, tb, ta)
					if _, err := ta.WriteData([]byte("sctp-ish")); err != nil {
						t.Fatal(err)
					}
					B.sink.wait(t, 1)
					if _, _, n := B.sink.counts(); n != 1 || string(B.sink.data[0]) != "sctp-ish" {
						t.Fatalf("B data %q", B.sink.data)
					}
					ta.Close()
					tb.Close()
					ta.Done()
					tb.Done()
				})
			}
		}
	}
}

// testMedia sends RTP and RTCP from x to y and compares the bytes.
func testMedia(t *testing.T, X, Y *side, tx, ty *dtlssrtp.Transport) {
	t.Helper()
	var sent, sentCP [][]byte
	for i := range 20 {
		p := rtpPacket(1200, 96, uint16(1000+i), 0x1234)
		if _, err := tx.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, p)
	}
	for i := range 3 {
		p := rtcpPacket(0x1234, byte(i))
		if _, err := tx.WriteRTCP(p); err != nil {
			t.Fatal(err)
		}
		sentCP = append(sentCP, p)
	}
	Y.sink.wait(t, len(sent)+len(sentCP))
	Y.sink.mu.Lock()
	defer Y.sink.mu.Unlock()
	if len(Y.sink.rtp) != len(sent) || len(Y.sink.rtcp) != len(sentCP) {
		t.Fatalf("received %d RTP, %d RTCP; want %d, %d", len(Y.sink.rtp), len(Y.sink.rtcp), len(sent), len(sentCP))
	}
	for i := range sent {
		if !bytes.Equal(Y.sink.rtp[i], sent[i]) {
			t.Fatalf("RTP %d differs", i)
		}
	}
	for i := range sentCP {
		if !bytes.Equal(Y.sink.rtcp[i], sentCP[i]) {
			t.Fatalf("RTCP %d differs", i)
		}
	}
	Y.sink.rtp, Y.sink.rtcp = nil, nil
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 { // +2: slack for the runtime's own
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines left:\n%s", buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWrongFingerprint: a certificate that matches none of the peer's
// SDP fingerprints fails the handshake (on either side), and no media is
// delivered.
func TestWrongFingerprint(t *testing.T) {
	a, b, sa, sb := connected(t, 1)
	for _, wrongAt := range []dtlssrtp.Role{dtlssrtp.RoleClient, dtlssrtp.RoleServer} {
		t.Run("checked-by-"+wrongAt.String(), func(t *testing.T) {
			A, B := newSide(t, a, sa), newSide(t, b, sb)
			other, _ := dtlssrtp.GenerateCertificate()
			// A is the side with the wrong fingerprint of B.
			ta := A.transport(t, B, wrongAt, 0, func(c *dtlssrtp.Config) {
				c.RemoteFingerprints = []dtlssrtp.Fingerprint{other.Fingerprint()}
				c.HandshakeTimeout = 3 * time.Second
			})
			peerRole := dtlssrtp.RoleServer
			if wrongAt == dtlssrtp.RoleServer {
				peerRole = dtlssrtp.RoleClient
			}
			tb := B.transport(t, A, peerRole, 0, func(c *dtlssrtp.Config) { c.HandshakeTimeout = 3 * time.Second })
			ea, eb := handshakeBoth(ta, tb)
			if !errors.Is(ea, dtlssrtp.ErrFingerprint) {
				t.Fatalf("A: %v; want ErrFingerprint", ea)
			}
			if eb == nil {
				// B may have finished before A's verdict (the client's last
				// flight); its media must still go nowhere.
				if _, err := tb.WriteRTP(rtpPacket(200, 96, 1, 1)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ta.WriteRTP(rtpPacket(200, 96, 1, 1)); !errors.Is(err, dtlssrtp.ErrNotReady) {
				t.Fatalf("WriteRTP after failure: %v; want ErrNotReady", err)
			}
			time.Sleep(100 * time.Millisecond)
			if r, c, d := A.sink.counts(); r+c+d != 0 {
				t.Fatalf("A delivered %d RTP, %d RTCP, %d data after a failed handshake", r, c, d)
			}
		})
	}
}

// TestHandshakeTimeout: a peer that never answers DTLS fails the
// handshake within the configured time, in either role.
func TestHandshakeTimeout(t *testing.T) {
	a, b, sa, sb := connected(t, 1)
	_ = b.AttachRecv(sb, 1, func(int, int, []byte) {}) // b drops everything: no DTLS there
	for _, role := range []dtlssrtp.Role{dtlssrtp.RoleClient, dtlssrtp.RoleServer} {
		t.Run(role.String(), func(t *testing.T) {
			A, B := newSide(t, a, sa), newSide(t, b, sb)
			const limit = 700 * time.Millisecond
			ta := A.transport(t, B, role, 0, func(c *dtlssrtp.Config) {
				c.HandshakeTimeout = limit
				c.FlightInterval = 100 * time.Millisecond
			})
			start := time.Now()
			err := ta.Handshake(context.Background())
			el := time.Since(start)
			if !errors.Is(err, dtlssrtp.ErrTimeout) {
				t.Fatalf("Handshake: %v; want ErrTimeout", err)
			}
			if el < limit || el > limit+time.Second {
				t.Fatalf("failed after %v; want about %v", el, limit)
			}
		})
	}
}

// TestReplay: a captured SRTP packet sent again is dropped.
func TestReplay(t *testing.T) {
	a, b, sa, sb := connected(t, 1)
	A, B := newSide(t, a, sa), newSide(t, b, sb)
	ta := A.transport(t, B, dtlssrtp.RoleClient, 0, nil)
	tb := B.transport(t, A, dtlssrtp.RoleServer, 0, nil)
	if ea, eb := handshakeBoth(ta, tb); ea != nil || eb != nil {
		t.Fatalf("handshake: A %v, B %v", ea, eb)
	}
	for _, isRTCP := range []bool{false, true} {
		var srtp []byte
		var err error
		if isRTCP {
			srtp, err = ta.ProtectRTCP(nil, rtcpPacket(7, 1))
		} else {
			srtp, err = ta.ProtectRTP(nil, rtpPacket(300, 111, 5, 7))
		}
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := a.Send(sa, 1, srtp); err != nil {
				t.Fatal(err)
			}
		}
		B.sink.wait(t, 1)
		time.Sleep(100 * time.Millisecond)
	}
	if r, c, _ := B.sink.counts(); r != 1 || c != 1 {
		t.Fatalf("delivered %d RTP, %d RTCP; want 1 and 1", r, c)
	}
	if s := tb.Stats(); s.Unprotect != 4 {
		t.Fatalf("stats %+v; want 4 rejected", s)
	}
}

// The DTLS server's preference picks the SRTP profile (RFC 5764 §4.1.1),
// not the client's order (pion/dtls/v2 alone takes the client's first).
func TestServerPreference(t *testing.T) {
	a, b, sa, sb := connected(t, 1)
	cm, gcm := dtlssrtp.AES128CMHMACSHA1_80, dtlssrtp.AEADAES128GCM
	for _, c := range []struct{ client, server []dtlssrtp.Profile }{
		{[]dtlssrtp.Profile{cm, gcm}, []dtlssrtp.Profile{gcm, cm}},
		{[]dtlssrtp.Profile{gcm, cm}, []dtlssrtp.Profile{cm, gcm}},
		{[]dtlssrtp.Profile{dtlssrtp.AES128CMHMACSHA1_32, dtlssrtp.AEADAES256GCM, gcm}, []dtlssrtp.Profile{cm, gcm, dtlssrtp.AEADAES256GCM}},
	} {
		A, B := newSide(t, a, sa), newSide(t, b, sb)
		ta := A.transport(t, B, dtlssrtp.RoleClient, 0, func(cfg *dtlssrtp.Config) { cfg.Profiles = c.client })
		tb := B.transport(t, A, dtlssrtp.RoleServer, 0, func(cfg *dtlssrtp.Config) { cfg.Profiles = c.server })
		if ea, eb := handshakeBoth(ta, tb); ea != nil || eb != nil {
			t.Fatalf("handshake: A %v, B %v", ea, eb)
		}
		want := gcm
		if c.server[0] == cm && c.client[0] == gcm {
			want = cm
		}
		if ta.Profile() != want || tb.Profile() != want {
			t.Errorf("client %v, server %v: negotiated %v / %v, want %v", c.client, c.server, ta.Profile(), tb.Profile(), want)
		}
		ta.Close()
		tb.Close()
		ta.Done()
		tb.Done()
	}
}

// TestNew: configuration errors are errors.
func TestNew(t *testing.T) {
	a, _, sa, _ := connected(t, 1)
	fp := dtlssrtp.Fingerprint{Hash: "sha-256", Digest: make([]byte, 32)}
	for name, cfg := range map[string]dtlssrtp.Config{
		"no agent":       {Role: dtlssrtp.RoleClient, RemoteFingerprints: []dtlssrtp.Fingerprint{fp}},
		"no role":        {Agent: a, StreamID: sa, RemoteFingerprints: []dtlssrtp.Fingerprint{fp}},
		"no fingerprint": {Agent: a, StreamID: sa, Role: dtlssrtp.RoleClient},
		"bad profile":    {Agent: a, StreamID: sa, Role: dtlssrtp.RoleClient, RemoteFingerprints: []dtlssrtp.Fingerprint{fp}, Profiles: []dtlssrtp.Profile{3}},
		"no stream":      {Agent: a, StreamID: 99, Role: dtlssrtp.RoleClient, RemoteFingerprints: []dtlssrtp.Fingerprint{fp}},
		"rtcp is rtp":    {Agent: a, StreamID: sa, RTCPComponent: 1, Role: dtlssrtp.RoleClient, RemoteFingerprints: []dtlssrtp.Fingerprint{fp}},
		"no such rtcp":   {Agent: a, StreamID: sa, RTCPComponent: 2, Role: dtlssrtp.RoleClient, RemoteFingerprints: []dtlssrtp.Fingerprint{fp}},
	} {
		if _, err := dtlssrtp.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
