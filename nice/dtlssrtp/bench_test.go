// SPDX-License-Identifier: MIT

package dtlssrtp_test

import (
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
)

// keyedPair returns two connected transports (A client, B server) that
// agreed on prof; B's OnRTP is onRTP.
func keyedPair(tb testing.TB, a, b *nice.Agent, sa, sb int, prof dtlssrtp.Profile, onRTP func([]byte)) (ta, tB *dtlssrtp.Transport) {
	tb.Helper()
	A, B := newSide(tb, a, sa), newSide(tb, b, sb)
	ta = A.transport(tb, B, dtlssrtp.RoleClient, 0, func(c *dtlssrtp.Config) { c.Profiles = []dtlssrtp.Profile{prof} })
	tB = B.transport(tb, A, dtlssrtp.RoleServer, 0, func(c *dtlssrtp.Config) { c.OnRTP = onRTP })
	if ea, eb := handshakeBoth(ta, tB); ea != nil || eb != nil {
		tb.Fatalf("handshake: A %v, B %v", ea, eb)
	}
	return ta, tB
}

// TestAllocsSRTP: per packet in steady state, WriteRTP (protect + send)
// and the receive path (demux + unprotect + OnRTP) allocate nothing.
func TestAllocsSRTP(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; ./run test runs this without it")
	}
	a, b, sa, sb := connected(t, 1)
	for _, prof := range profiles {
		t.Run(prof.String(), func(t *testing.T) {
			got := make(chan struct{}, 1)
			ta, _ := keyedPair(t, a, b, sa, sb, prof, func([]byte) { got <- struct{}{} })
			pkt := rtpPacket(1200, 96, 0, 0x42)
			seq := uint16(0)
			lost := time.NewTimer(time.Minute)
			defer lost.Stop()
			roundTrip := func() {
				seq++
				binary.BigEndian.PutUint16(pkt[2:], seq)
				if _, err := ta.WriteRTP(pkt); err != nil {
					t.Fatal(err)
				}
				select {
				case <-got:
				case <-lost.C:
					t.Fatal("packet lost on loopback")
				}
			}
			for range 100 {
				roundTrip()
			}
			if n := testing.AllocsPerRun(2000, roundTrip); n != 0 {
				t.Errorf("%v allocations per packet protected, sent, received and unprotected", n)
			}
		})
	}
}

// BenchmarkSRTPSend1200 is BenchmarkSend1200 of package nice with SRTP:
// 1200-byte RTP packets protected and sent with WriteRTP on one agent,
// unprotected and delivered to OnRTP on the other, on loopback; the
// "plain" case is the agent's own Send to a receive function on the same
// agents, so that one run gives protected/plain ratios per profile.
func BenchmarkSRTPSend1200(b *testing.B) {
	a, c, sa, sc := connected(b, 1)
	var rx atomic.Int64
	count := func([]byte) { rx.Add(1) }
	run := func(b *testing.B, send func([]byte) (int, error)) {
		pkt := rtpPacket(1200, 96, 0, 0x42)
		rx.Store(0)
		runtime.GC()
		b.ReportAllocs()
		b.SetBytes(int64(len(pkt)))
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			binary.BigEndian.PutUint16(pkt[2:], uint16(i))
			if _, err := send(pkt); err != nil {
				b.Fatal(err)
			}
		}
		deadline := time.Now().Add(time.Second)
		for rx.Load() < int64(b.N) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		el := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(rx.Load())/el.Seconds(), "rx-pkts/s")
		b.ReportMetric(100*float64(int64(b.N)-rx.Load())/float64(b.N), "loss-%")
	}
	b.Run("plain", func(b *testing.B) {
		if err := c.AttachRecv(sc, 1, func(_, _ int, p []byte) { count(p) }); err != nil {
			b.Fatal(err)
		}
		run(b, func(p []byte) (int, error) { return a.Send(sa, 1, p) })
	})
	for _, prof := range profiles {
		b.Run(prof.String(), func(b *testing.B) {
			ta, tb := keyedPair(b, a, c, sa, sc, prof, count)
			run(b, ta.WriteRTP)
			ta.Close()
			tb.Close()
		})
	}
}
