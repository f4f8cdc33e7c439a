// SPDX-License-Identifier: MIT

package nice_test

import (
	"crypto/rand"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun"
	"golang.org/x/net/ipv4"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/agentpair"
)

// floodKinds are the requests of a check flood, told apart in their
// answers by the first byte of the transaction ID.
const (
	floodWrongUfrag = iota // a stranger's USERNAME, signed with a key of its own
	floodWrongKey          // the agent's ufrag, signed with a wrong password (integrity is computed)
	floodBare              // a 20-byte Binding request with no attributes
	floodKinds
)

// floodRequest builds a request of kind k.
func floodRequest(k int, ufrag string) []byte {
	var tid [stun.TransactionIDSize]byte
	_, _ = rand.Read(tid[:])
	tid[0] = byte(k)
	setters := []stun.Setter{stun.NewTransactionIDSetter(tid), stun.BindingRequest}
	switch k {
	case floodWrongUfrag:
		setters = append(setters, stun.NewUsername("zzzz:yyyy"), stun.NewShortTermIntegrity("a-password-of-no-one-1"), stun.Fingerprint)
	case floodWrongKey:
		setters = append(setters, stun.NewUsername(ufrag+":yyyy"), stun.NewShortTermIntegrity("a-password-of-no-one-2"), stun.Fingerprint)
	}
	m, err := stun.Build(setters...)
	if err != nil {
		panic(err)
	}
	return m.Raw
}

// TestCheckFlood: 100,000 checks a second for 10 s, with wrong credentials
// and from many source addresses (127.0.0.0/8), against one agent of a
// connected pair. The pair stays READY and carries data, the agent's
// memory stays flat, and no answer is larger than its request (the agent
// cannot be used to amplify).
func TestCheckFlood(t *testing.T) {
	if raceEnabled {
		t.Skip("under -race the agent handles a fraction of 100,000 checks/s, so the figures mean nothing; ./run test runs this without -race")
	}
	if testing.Short() {
		t.Skip("a 10 s flood; -short skips it")
	}
	const (
		rate     = 100_000
		duration = 10 * time.Second
		sources  = 256
		batch    = 50
	)
	a, b, sa, sb := agentpair.Connect(t, 1, nice.Config{Controlling: true}, nice.Config{})
	var failed atomic.Bool
	b.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s != nice.ComponentStateReady {
			failed.Store(true)
		}
	})
	var got atomic.Int64
	if err := b.AttachRecv(sb, 1, func(_, _ int, _ []byte) { got.Add(1) }); err != nil {
		t.Fatal(err)
	}
	cands, err := b.LocalCandidates(sb, 1)
	if err != nil || len(cands) == 0 {
		t.Fatal(cands, err)
	}
	target := net.UDPAddrFromAddrPort(cands[0].Addr)
	ufrag, _, err := b.LocalCredentials(sb)
	if err != nil {
		t.Fatal(err)
	}

	// The flooders: sockets on 127.x.y.z, each also reading the answers.
	var reqLen [floodKinds]int
	var reqs [floodKinds][]byte
	for k := range floodKinds {
		reqs[k] = floodRequest(k, ufrag)
		reqLen[k] = len(reqs[k])
	}
	var answers, tooBig [floodKinds]atomic.Int64
	var maxAnswer [floodKinds]atomic.Int64
	var readers sync.WaitGroup
	conns := make([]*ipv4.PacketConn, 0, sources)
	for i := range sources {
		src := netip.AddrFrom4([4]byte{127, byte(1 + i/250), byte(i%250 + 1), byte(7 + i%3)})
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
		if err != nil {
			t.Fatalf("binding %v: %v", src, err)
		}
		defer c.Close()
		conns = append(conns, ipv4.NewPacketConn(c))
		readers.Add(1)
		go func() { // this flooder's answers; ends when its socket is closed
			defer readers.Done()
			buf := make([]byte, 1500)
			for {
				n, _, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				if n < 20 || !stun.IsMessage(buf[:n]) {
					continue
				}
				k := int(buf[8]) // the first byte of the transaction ID
				if k >= floodKinds {
					continue
				}
				answers[k].Add(1)
				if n > reqLen[k] {
					tooBig[k].Add(1)
				}
				for old := maxAnswer[k].Load(); int64(n) > old && !maxAnswer[k].CompareAndSwap(old, int64(n)); old = maxAnswer[k].Load() {
				}
			}
		}()
	}

	heapBefore := heapInUse()
	// Data from A through the flood: one packet every 5 ms.
	stopData := make(chan struct{})
	var sent atomic.Int64
	var dataDone sync.WaitGroup
	dataDone.Add(1)
	go func() { // A's sender; ends with the flood
		defer dataDone.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		pkt := make([]byte, 200)
		pkt[0] = 0x80
		for {
			select {
			case <-stopData:
				return
			case <-tick.C:
				if _, err := a.Send(sa, 1, pkt); err == nil {
					sent.Add(1)
				}
			}
		}
	}()

	msgs := make([]ipv4.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{reqs[i%floodKinds]}
		msgs[i].Addr = target
	}
	start := time.Now()
	var flooded int64
	for i := 0; time.Since(start) < duration; i++ {
		// Keep to the rate: ahead of it, wait.
		if ahead := time.Duration(flooded)*time.Second/rate - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
		n, err := conns[i%len(conns)].WriteBatch(msgs, 0)
		if err != nil {
			continue // a full socket buffer: the rate is what it is
		}
		flooded += int64(n)
	}
	elapsed := time.Since(start)
	close(stopData)
	dataDone.Wait()
	time.Sleep(200 * time.Millisecond) // the last answers and data
	heapAfter := heapInUse()

	var answered int64
	for k := range floodKinds {
		answered += answers[k].Load()
	}
	t.Logf("flood: %d requests in %v (%.0f/s) from %d addresses; %d answered; largest answer per kind (request size): wrong ufrag %d (%d), wrong key %d (%d), bare %d (%d)",
		flooded, elapsed.Round(time.Millisecond), float64(flooded)/elapsed.Seconds(), sources, answered,
		maxAnswer[floodWrongUfrag].Load(), reqLen[floodWrongUfrag], maxAnswer[floodWrongKey].Load(), reqLen[floodWrongKey],
		maxAnswer[floodBare].Load(), reqLen[floodBare])
	t.Logf("data through the flood: %d of %d packets; heap in use %d KB before, %d KB after",
		got.Load(), sent.Load(), heapBefore>>10, heapAfter>>10)
	for k := range floodKinds {
		if n := tooBig[k].Load(); n > 0 {
			t.Errorf("kind %d: %d answers larger than their %d-byte request (largest %d)", k, n, reqLen[k], maxAnswer[k].Load())
		}
	}
	if failed.Load() {
		t.Error("the flooded agent's component left READY")
	}
	if st := b.ComponentState(sb, 1); st != nice.ComponentStateReady {
		t.Errorf("after the flood: %v", st)
	}
	if got.Load() < sent.Load()/2 {
		t.Errorf("only %d of %d data packets got through the flood", got.Load(), sent.Load())
	}
	if heapAfter > heapBefore+4<<20 {
		t.Errorf("heap in use grew from %d KB to %d KB", heapBefore>>10, heapAfter>>10)
	}
	// After the flood: data still flows.
	before := got.Load()
	for range 20 {
		_, _ = a.Send(sa, 1, []byte{0x80, 1})
	}
	deadline := time.Now().Add(2 * time.Second)
	for got.Load() < before+20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got.Load() < before+20 {
		t.Errorf("after the flood %d of 20 packets arrived", got.Load()-before)
	}
	for _, c := range conns {
		c.Close()
	}
	readers.Wait()
}

// heapInUse is the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}
