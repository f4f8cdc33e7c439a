// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"context"
	"crypto/tls"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/dtls/v2"
)

// captureConn is a net.Conn that keeps what is written to it and never
// answers: the first flight of a DTLS client.
type captureConn struct {
	mu     sync.Mutex
	writes [][]byte
	dl     time.Time
	done   chan struct{}
	once   sync.Once
}

// Read waits for Close or the read deadline (pion's reader is stopped by
// a deadline in the past).
func (c *captureConn) Read([]byte) (int, error) {
	for {
		select {
		case <-c.done:
			return 0, net.ErrClosed
		case <-time.After(5 * time.Millisecond):
		}
		c.mu.Lock()
		dl := c.dl
		c.mu.Unlock()
		if !dl.IsZero() && time.Now().After(dl) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}
func (c *captureConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}
func (c *captureConn) Close() error                  { c.once.Do(func() { close(c.done) }); return nil }
func (c *captureConn) LocalAddr() net.Addr           { return componentAddr{1, 1} }
func (c *captureConn) RemoteAddr() net.Addr          { return componentAddr{1, 1} }
func (c *captureConn) SetDeadline(t time.Time) error { return c.SetReadDeadline(t) }
func (c *captureConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dl = t
	return nil
}
func (c *captureConn) SetWriteDeadline(time.Time) error { return nil }

// clientHello returns the datagrams of a real pion/dtls client's first
// ClientHello, offering profiles, sent with the given MTU.
func clientHello(t testing.TB, mtu int, profiles []Profile) [][]byte {
	t.Helper()
	cert, err := GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	var dp []dtls.SRTPProtectionProfile
	for _, p := range profiles {
		dp = append(dp, p.dtls())
	}
	c := &captureConn{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	conn, err := dtls.ClientWithContext(ctx, c, &dtls.Config{Certificates: []tls.Certificate{cert.tls},
		SRTPProtectionProfiles: dp, InsecureSkipVerify: true, MTU: mtu, FlightInterval: time.Second})
	if err == nil {
		conn.Close()
		t.Fatal("a handshake with no server succeeded")
	}
	c.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.writes) == 0 {
		t.Fatal("the client sent nothing")
	}
	return c.writes
}

// The assembler reads pion's ClientHello whole and fragmented over many
// records, in order and out of order, with a retransmitted fragment.
func TestClientHelloProfiles(t *testing.T) {
	offer := []Profile{AES128CMHMACSHA1_32, AEADAES256GCM, AES128CMHMACSHA1_80}
	for _, mtu := range []int{1200, 40} {
		dgrams := clientHello(t, mtu, offer)
		if mtu < 200 && len(dgrams) < 2 {
			t.Fatalf("MTU %d: %d datagram(s); the test wants fragments", mtu, len(dgrams))
		}
		for _, order := range []string{"in order", "reversed", "with a repeat"} {
			ds := slices.Clone(dgrams)
			switch order {
			case "reversed":
				slices.Reverse(ds)
			case "with a repeat":
				ds = append([][]byte{ds[0]}, ds...)
			}
			h := newHelloAssembler()
			var got []Profile
			for i, d := range ds {
				body, err := h.add(d)
				if err != nil {
					t.Fatalf("MTU %d, %s, datagram %d: %v", mtu, order, i, err)
				}
				if body != nil {
					if got, err = helloProfiles(body); err != nil {
						t.Fatalf("MTU %d, %s: %v", mtu, order, err)
					}
					break
				}
			}
			if !slices.Equal(got, offer) {
				t.Errorf("MTU %d, %s (%d datagrams): profiles %v, want %v", mtu, order, len(ds), got, offer)
			}
		}
	}
	if p := preferred([]Profile{AEADAES128GCM, AEADAES256GCM, AES128CMHMACSHA1_80}, offer); p != AEADAES256GCM {
		t.Fatalf("preferred: %v", p)
	}
	if p := preferred([]Profile{AEADAES128GCM}, offer); p != 0 {
		t.Fatalf("preferred with nothing in common: %v", p)
	}
}

// The view keeps what clientProfiles read for pion, in order.
func TestViewKeepsHello(t *testing.T) {
	v := newView(nil, 1, 1)
	dgrams := clientHello(t, 40, []Profile{AEADAES128GCM})
	for _, d := range dgrams {
		if !v.push(d) {
			t.Fatal("queue full")
		}
	}
	got, err := v.clientProfiles(context.Background())
	if err != nil || !slices.Equal(got, []Profile{AEADAES128GCM}) {
		t.Fatalf("clientProfiles: %v, %v", got, err)
	}
	buf := make([]byte, 2048)
	for i, d := range dgrams {
		v.SetReadDeadline(time.Now().Add(time.Second))
		n, err := v.Read(buf)
		if err != nil || !slices.Equal(buf[:n], d) {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	v.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := v.Read(buf); !os.IsTimeout(err) {
		t.Fatalf("after the ClientHello: %v", err)
	}
}

// FuzzClientHello: datagrams off the network before the handshake,
// whatever they hold: an answer or errNotHello, never a panic, and within
// the bounds.
func FuzzClientHello(f *testing.F) {
	for _, mtu := range []int{1200, 40} {
		ds := clientHello(f, mtu, []Profile{AEADAES128GCM, AES128CMHMACSHA1_80})
		var all []byte
		for _, d := range ds {
			all = append(all, byte(len(d)>>8), byte(len(d)))
			all = append(all, d...)
		}
		f.Add(all)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		h := newHelloAssembler()
		for len(in) >= 2 {
			n := min(int(in[0])<<8|int(in[1]), len(in)-2)
			d := in[2 : 2+n]
			in = in[2+n:]
			body, err := h.add(d)
			if err != nil {
				return
			}
			if body != nil {
				if len(body) > maxHelloLen {
					t.Fatalf("a %d-byte ClientHello assembled", len(body))
				}
				ps, err := helloProfiles(body)
				if err == nil && len(ps) > len(body)/2 {
					t.Fatalf("%d profiles from %d bytes", len(ps), len(body))
				}
				return
			}
		}
	})
}
