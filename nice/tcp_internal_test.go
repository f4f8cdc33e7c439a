// SPDX-License-Identifier: MIT

package nice

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// chunkReader returns data in reads of the sizes given, cycling; a size
// of 0 reads 1 byte.
type chunkReader struct {
	data  []byte
	sizes []byte
	i     int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(r.sizes) > 0 {
		n = max(1, int(r.sizes[r.i%len(r.sizes)]))
		r.i++
	}
	n = min(n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// refFrames splits b into RFC 4571 frames the simple way, with the error
// frameReader must give where it stops.
func refFrames(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return out, io.ErrUnexpectedEOF
		}
		n := int(b[0])<<8 | int(b[1])
		if n == 0 {
			return out, errEmptyFrame
		}
		if len(b) < 2+n {
			return out, io.ErrUnexpectedEOF
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, io.EOF
}

// FuzzFrameReader holds frameReader to the simple parse of the same bytes,
// whatever sizes the stream is read in: the same frames, then the same
// error; and appendFrame's output reads back as what was framed.
func FuzzFrameReader(f *testing.F) {
	f.Add([]byte{0, 3, 'a', 'b', 'c', 0, 1, 'x'}, []byte{1})
	f.Add([]byte{0, 0}, []byte{})
	f.Add([]byte{0, 5, 1, 2}, []byte{3, 7})
	f.Add([]byte{0xff, 0xff, 1}, []byte{200})
	f.Add(appendFrame(appendFrame(nil, bytes.Repeat([]byte{7}, 5000)), []byte("stun")), []byte{100, 1, 250})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		want, wantErr := refFrames(data)
		fr := frameReader{r: &chunkReader{data: data, sizes: sizes}}
		for i := 0; ; i++ {
			p, err := fr.next()
			if err != nil {
				if i != len(want) || !errors.Is(err, wantErr) {
					t.Fatalf("after %d frames (want %d): %v, want %v", i, len(want), err, wantErr)
				}
				break
			}
			if i >= len(want) || !bytes.Equal(p, want[i]) {
				t.Fatalf("frame %d: %x, want one of %d frames", i, p, len(want))
			}
		}
		// Round trip: every frame framed again reads back the same.
		var again []byte
		for _, p := range want {
			again = appendFrame(again, p)
		}
		fr = frameReader{r: &chunkReader{data: again, sizes: sizes}}
		for i := range want {
			p, err := fr.next()
			if err != nil || !bytes.Equal(p, want[i]) {
				t.Fatalf("round trip frame %d: %x, %v", i, p, err)
			}
		}
		if _, err := fr.next(); err != io.EOF {
			t.Fatalf("round trip end: %v, want EOF", err)
		}
	})
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(acc)
			return
		}
		acc <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	if server == nil {
		t.Fatal("accept failed")
	}
	return client, server
}

// TestTCPConnFrames sends datagrams both ways over a tcpConn pair,
// including one of the largest frame size, and refuses a datagram to
// another address or larger than a frame.
func TestTCPConnFrames(t *testing.T) {
	c1, c2 := tcpPair(t)
	spawn := func(f func()) { go f() }
	a, b := newTCPConn(c1, spawn), newTCPConn(c2, spawn)
	defer a.Close()
	defer b.Close()
	if a.remote != b.local || b.remote != a.local {
		t.Fatalf("addresses %v–%v and %v–%v do not match", a.local, a.remote, b.local, b.remote)
	}
	msgs := [][]byte{[]byte("hello"), bytes.Repeat([]byte{1}, maxFrame), []byte{0}}
	go func() {
		for _, m := range msgs {
			if _, err := a.WriteToUDPAddrPort(m, a.remote); err != nil {
				t.Errorf("write: %v", err)
			}
		}
	}()
	for i, m := range msgs {
		p, err := b.readFrame()
		if err != nil || !bytes.Equal(p, m) {
			t.Fatalf("frame %d: %d bytes, %v; want %d bytes", i, len(p), err, len(m))
		}
	}
	if _, err := a.WriteToUDPAddrPort([]byte("x"), b.remote); err == nil && b.remote != a.remote {
		t.Error("write to another address succeeded")
	}
	if _, err := a.WriteToUDPAddrPort(make([]byte, maxFrame+1), a.remote); err == nil {
		t.Error("write of a datagram larger than a frame succeeded")
	}
}

// TestTCPConnStalledPeer writes to a peer that never reads: writes do
// not block, the backlog stops at tcpQueueLimit with errTCPQueueFull, and
// closing the connection ends the writer goroutine.
func TestTCPConnStalledPeer(t *testing.T) {
	c1, c2 := tcpPair(t)
	defer c2.Close()
	before := runtime.NumGoroutine()
	done := make(chan struct{})
	a := newTCPConn(c1, func(f func()) {
		go func() {
			defer func() { done <- struct{}{} }()
			f()
		}()
	})
	p := make([]byte, 1200)
	full := false
	for i := 0; i < 100000; i++ {
		if _, err := a.WriteToUDPAddrPort(p, a.remote); err != nil {
			if !errors.Is(err, errTCPQueueFull) {
				t.Fatalf("write %d: %v, want errTCPQueueFull", i, err)
			}
			full = true
			break
		}
	}
	if !full {
		t.Fatal("100,000 writes of 1200 bytes to a peer that does not read never filled the queue")
	}
	a.mu.Lock()
	queued, writing := len(a.queue), a.writing
	a.mu.Unlock()
	if queued > tcpQueueLimit || !writing {
		t.Fatalf("queue %d bytes (limit %d), writer running %v", queued, tcpQueueLimit, writing)
	}
	_ = a.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not end after Close")
	}
	if _, err := a.WriteToUDPAddrPort(p, a.remote); err == nil {
		t.Error("write after Close succeeded")
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		t.Logf("goroutines %d, before %d", n, before)
	}
}
