// SPDX-License-Identifier: MIT

package nice_test

import (
	"net"
	"runtime"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
)

// connectedPair returns two loopback agents with one stream each, READY.
func connectedPair(tb testing.TB, ncomp int, cfgA, cfgB nice.Config) (a, b *nice.Agent, sa, sb int) {
	tb.Helper()
	return agentpair.Connect(tb, ncomp, cfgA, cfgB)
}

// TestZeroAllocDataPath asserts 0 allocations per packet sent and received
// in steady state: Send on one agent, delivery to the receive function of
// the other.
// checkZeroAllocRoundTrip attaches a receive function to b's component 1
// and checks that a 1200-byte datagram from a, Send and delivery, allocates
// nothing once pools are warm. It returns the datagram and the channel the
// receive function signals, for more measures.
func checkZeroAllocRoundTrip(t *testing.T, a, b *nice.Agent, sa, sb int) ([]byte, chan struct{}) {
	t.Helper()
	got := make(chan struct{}, 1)
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, 1200)
	pkt[0] = 0x80                      // an RTP-looking first byte
	lost := time.NewTimer(time.Minute) // one timer: time.After would allocate
	defer lost.Stop()
	roundTrip := func() {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			t.Fatal(err)
		}
		select {
		case <-got:
		case <-lost.C:
			t.Fatal("datagram lost on loopback")
		}
	}
	for range 100 {
		roundTrip() // warm up pools
	}
	if n := testing.AllocsPerRun(2000, roundTrip); n != 0 {
		t.Errorf("allocations per datagram (send + receive) = %v, want 0", n)
	}
	return pkt, got
}

func TestZeroAllocDataPath(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a connected pair; skipped in -short")
	}
	if raceEnabled {
		// ./run test runs this test a second time without -race.
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items at random); run without -race")
	}
	a, b, sa, sb := connectedPair(t, 1, nice.Config{Controlling: true}, nice.Config{})
	pkt, got := checkZeroAllocRoundTrip(t, a, b, sa, sb)
	send := func() {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			t.Fatal(err)
		}
		<-got
	}
	if n := testing.AllocsPerRun(1000, send); n != 0 {
		t.Errorf("allocations per Send = %v, want 0", n)
	}
	batch := [][]byte{pkt, pkt, pkt, pkt}
	sendBatch := func() {
		if n, err := a.SendMessages(sa, 1, batch); n != len(batch) || err != nil {
			t.Fatalf("SendMessages = %d, %v", n, err)
		}
		for range batch {
			<-got
		}
	}
	for range 50 {
		sendBatch()
	}
	if n := testing.AllocsPerRun(500, sendBatch); n != 0 {
		t.Errorf("allocations per SendMessages of 4 (and their receipt) = %v, want 0", n)
	}
	// Recv path (queue, no receive function) must not allocate either.
	if err := b.AttachRecv(sb, 1, nil); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	recv := func() {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Recv(sb, 1, buf); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		recv()
	}
	if n := testing.AllocsPerRun(1000, recv); n != 0 {
		t.Errorf("allocations per Send+Recv = %v, want 0", n)
	}
}

// BenchmarkConnect measures checks start (remote candidates given) → both
// agents READY, on loopback with host candidates. It reports the median as
// median-ms; ns/op is the mean.
func BenchmarkConnect(b *testing.B) {
	for _, mode := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
		b.Run(mode.String(), func(b *testing.B) {
			var samples []time.Duration
			for range b.N {
				b.StopTimer()
				a1, _ := nice.NewAgent(nice.Config{Controlling: true, Nomination: mode})
				a2, _ := nice.NewAgent(nice.Config{Nomination: mode})
				ready := make(chan struct{}, 2)
				gathered := make(chan struct{}, 2)
				var s1, s2 int
				for i, ag := range []*nice.Agent{a1, a2} {
					ag.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
						if s == nice.ComponentStateReady {
							ready <- struct{}{}
						}
					})
					ag.OnCandidateGatheringDone(func(int) { gathered <- struct{}{} })
					_ = ag.AddLocalAddress(loopback)
					sid, err := ag.AddStream(1)
					if err != nil {
						b.Fatal(err)
					}
					if i == 0 {
						s1 = sid
					} else {
						s2 = sid
					}
					if err := ag.GatherCandidates(sid); err != nil {
						b.Fatal(err)
					}
				}
				<-gathered
				<-gathered
				u1, p1, _ := a1.LocalCredentials(s1)
				u2, p2, _ := a2.LocalCredentials(s2)
				c1, _ := a1.LocalCandidates(s1, 1)
				c2, _ := a2.LocalCandidates(s2, 1)
				_ = a1.SetRemoteCredentials(s1, u2, p2)
				_ = a2.SetRemoteCredentials(s2, u1, p1)
				b.StartTimer()
				start := time.Now()
				_, _ = a1.SetRemoteCandidates(s1, 1, c2)
				_, _ = a2.SetRemoteCandidates(s2, 1, c1)
				for range 2 {
					select {
					case <-ready:
					case <-time.After(10 * time.Second):
						b.Fatal("not READY in 10 s")
					}
				}
				samples = append(samples, time.Since(start))
				b.StopTimer()
				a1.Close()
				a2.Close()
				b.StartTimer()
			}
			sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
			b.ReportMetric(float64(samples[len(samples)/2].Microseconds())/1000, "median-ms")
		})
	}
}

// BenchmarkSend1200 measures the data path: 1200-byte packets sent with
// Send on one agent and received by the other's receive function, on
// loopback. It reports packets/s received and the loss.
func BenchmarkSend1200(b *testing.B) {
	a, c, sa, sc := connectedPair(b, 1, nice.Config{Controlling: true}, nice.Config{})
	var rx atomic.Int64
	if err := c.AttachRecv(sc, 1, func(_, _ int, p []byte) { rx.Add(1) }); err != nil {
		b.Fatal(err)
	}
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	start := startRx(b, len(pkt))
	for range b.N {
		if _, err := a.Send(sa, 1, pkt); err != nil {
			b.Fatal(err)
		}
	}
	reportRx(b, &rx, start)
}

// startRx starts the measured part of a benchmark of packets of size
// bytes, and returns when it started.
func startRx(b *testing.B, size int) time.Time {
	runtime.GC()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.ResetTimer()
	return time.Now()
}

// reportRx waits (at most a second) for the last of b.N packets to arrive,
// then reports packets/s received since start and the loss.
func reportRx(b *testing.B, rx *atomic.Int64, start time.Time) {
	deadline := time.Now().Add(time.Second)
	for rx.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(rx.Load())/el.Seconds(), "rx-pkts/s")
	b.ReportMetric(100*float64(int64(b.N)-rx.Load())/float64(b.N), "loss-%")
}

// BenchmarkRawUDP1200 is the reference for BenchmarkSend1200: the same
// loop on two bare UDP sockets (WriteToUDPAddrPort / ReadFromUDPAddrPort),
// so that a run reports the agent's data path as a ratio of raw Go UDP.
func BenchmarkRawUDP1200(b *testing.B) {
	rc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	_ = rc.SetReadBuffer(4 << 20)
	_ = sc.SetWriteBuffer(4 << 20)
	dst := rc.LocalAddr().(*net.UDPAddr).AddrPort()
	var rx atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			if _, _, err := rc.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			rx.Add(1)
		}
	}()
	pkt := make([]byte, 1200)
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := sc.WriteToUDPAddrPort(pkt, dst); err != nil {
			b.Fatal(err)
		}
	}
	reportRx(b, &rx, start)
	rc.Close()
	<-done
}
