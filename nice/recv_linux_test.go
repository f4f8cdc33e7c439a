// SPDX-License-Identifier: MIT

//go:build linux && !386

package nice

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// datagram is datagram i of TestRawReaderLargeInBatch: its index in the
// first two bytes, then the index's low byte.
func datagram(i, size int) []byte {
	p := bytes.Repeat([]byte{byte(i)}, size)
	p[0], p[1] = byte(i>>8), byte(i)
	return p
}

// TestRawReaderLargeInBatch: datagrams of the largest sizes UDP carries,
// queued among small ones, come out of a socket's reader whole and in
// order, from batches (recvmmsg, where there is one) and from one-at-a-time
// reads (when every batch is out).
func TestRawReaderLargeInBatch(t *testing.T) {
	for _, tc := range []struct {
		name, network, addr string
		largest             int // 65535 - IP header - UDP header
		batches             bool
	}{
		{"IPv4", "udp4", "127.0.0.1:0", 65535 - 20 - 8, true},
		{"IPv6", "udp6", "[::1]:0", 65535 - 8, true},
		{"IPv4 no batch", "udp4", "127.0.0.1:0", 65535 - 20 - 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx, err := net.ListenPacket(tc.network, tc.addr)
			if err != nil {
				t.Skip(err)
			}
			defer rx.Close()
			tx, err := net.ListenPacket(tc.network, tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Close()
			for _, c := range []net.PacketConn{rx, tx} {
				_ = c.(*net.UDPConn).SetReadBuffer(4 << 20)
				_ = c.(*net.UDPConn).SetWriteBuffer(4 << 20)
			}
			if !tc.batches {
				// Every batch is out: the reader reads one at a time.
				n := maxRecvBatches
				recvBatchesOut.Add(n)
				defer recvBatchesOut.Add(-n)
			}
			sizes := []int{tc.largest, 1200, 1, 0, 1200, 40000, tc.largest, tc.largest, 100, 1200, 2049}
			for i := range 2 * recvBatchSize {
				sizes = append(sizes, 1200+i)
			}
			sizes = append(sizes, tc.largest, 1200, tc.largest)
			for i, size := range sizes {
				if size < 2 {
					continue
				}
				if _, err := tx.WriteTo(datagram(i, size), rx.LocalAddr()); err != nil {
					t.Fatalf("sending datagram %d (%d bytes): %v", i, size, err)
				}
			}
			uc := rx.(*net.UDPConn)
			r := newRawReader(&osConn{UDPConn: uc, local: uc.LocalAddr().(*net.UDPAddr).AddrPort()})
			defer r.release()
			from := tx.LocalAddr().(*net.UDPAddr).AddrPort()
			batched := false
			for i, size := range sizes {
				if size < 2 {
					continue
				}
				_ = rx.SetReadDeadline(time.Now().Add(5 * time.Second))
				p, src, err := r.read()
				if err != nil {
					t.Fatalf("datagram %d: %v", i, err)
				}
				if r.batch != nil && r.n > 1 {
					batched = true
				}
				if src != from && netip.AddrPortFrom(src.Addr().Unmap(), src.Port()) != from {
					t.Errorf("datagram %d from %v, want %v", i, src, from)
				}
				if len(p) != size || !bytes.Equal(p, datagram(i, size)) {
					got := -1
					if len(p) >= 2 {
						got = int(p[0])<<8 | int(p[1])
					}
					t.Fatalf("read %d bytes (datagram %d), want datagram %d of %d bytes whole", len(p), got, i, size)
				}
			}
			switch {
			case tc.batches && recvBatchSize > 0 && !batched:
				t.Error("no batch of more than one datagram: recvmmsg not used")
			case !tc.batches && batched:
				t.Error("read a batch while none was to be had")
			}
			// Drained, then closed: the reader holds nothing.
			go func() {
				time.Sleep(20 * time.Millisecond)
				rx.Close()
			}()
			_ = rx.SetReadDeadline(time.Time{})
			if _, _, err := r.read(); err == nil {
				t.Fatal("read after close: no error")
			}
			if r.batch != nil || r.buf != nil {
				t.Error("the reader still holds a buffer after its socket closed")
			}
		})
	}
}
