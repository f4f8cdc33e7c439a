// SPDX-License-Identifier: MIT

package nice_test

// The relayed data path through a real coturn (turn_coturn_test.go starts
// it): no allocation per packet once a channel is bound, and its rate
// beside the direct path's (BenchmarkSend1200).

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

// TestZeroAllocRelayedDataPath asserts 0 allocations per relayed Send and
// per relayed datagram received (ChannelData both ways: Send on one agent,
// coturn, the other agent's receive function), over UDP and TCP. Recv's
// queue is the host path's (TestZeroAllocDataPath). Without coturn the test
// is skipped, or fails under CI=true.
func TestZeroAllocRelayedDataPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs coturn; skipped in -short")
	}
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items at random); run without -race")
	}
	srv := startCoturn(t)
	for _, rt := range []nice.RelayType{nice.RelayTypeTURNUDP, nice.RelayTypeTURNTCP} {
		t.Run(rt.String(), func(t *testing.T) {
			a, b, sa, sb := relayPair(t, srv.addr, rt)
			defer a.Close()
			defer b.Close()
			send, roundTrip := measureRelayAllocs(t, a, b, sa, sb)
			if send != 0 || roundTrip != 0 {
				t.Errorf("allocations per relayed Send = %v, per Send + receive = %v; want 0", send, roundTrip)
			}
		})
	}
}

// relayWindow bounds the packets BenchmarkRelayedSend1200 has in flight.
// A flood overflows coturn's socket buffers (the kernel's RcvbufErrors
// counter shows it): without a window the benchmark would measure coturn's
// drops, not the agents' data path.
const relayWindow = 32

// BenchmarkRelayedSend1200 is BenchmarkSend1200 through coturn over UDP:
// 1200-byte packets sent with Send on one force-relay agent, through its
// allocation and the peer's (ChannelData both ways), to the peer's
// receive function, with at most relayWindow packets in flight. It reports
// packets/s received and the loss; compare rx-pkts/s with
// BenchmarkSend1200 of the same run.
func BenchmarkRelayedSend1200(b *testing.B) {
	srv := startCoturn(b)
	x, y, sx, sy := relayPair(b, srv.addr, nice.RelayTypeTURNUDP)
	defer x.Close()
	defer y.Close()
	var rx atomic.Int64
	slots := make(chan struct{}, relayWindow)
	if err := y.AttachRecv(sy, 1, func(_, _ int, p []byte) {
		rx.Add(1)
		select {
		case <-slots:
		default:
		}
	}); err != nil {
		b.Fatal(err)
	}
	pkt := make([]byte, 1200)
	pkt[0] = 0x80
	// Until the channels are bound, packets go in Send and Data indications.
	for range 50 {
		_, _ = x.Send(sx, 1, pkt)
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	rx.Store(0)
	for len(slots) > 0 {
		<-slots
	}
	stall := time.NewTimer(time.Hour)
	stall.Stop()
	start := startRx(b, len(pkt))
	for range b.N {
		select {
		case slots <- struct{}{}:
		default:
			stall.Reset(20 * time.Millisecond)
			select {
			case slots <- struct{}{}:
			case <-stall.C:
				for len(slots) > 0 { // lost in flight: free the window
					<-slots
				}
				slots <- struct{}{}
			}
			stall.Stop()
		}
		if _, err := x.Send(sx, 1, pkt); err != nil {
			b.Fatal(err)
		}
	}
	reportRx(b, &rx, start)
}
