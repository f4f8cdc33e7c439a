// SPDX-License-Identifier: MIT

package main

import (
	"errors"
	"math"
	"net/netip"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// The mux-pps test (tests/bench/README.md, "mux-pps"): aggregate packet
// rate into one mux port. o.pairs server agents share one nice.UDPMux on
// 127.0.0.1; each is connected to a client agent with a socket of its own
// (the clients need distinct addresses, so they cannot share a mux). Once
// all are READY, o.senders goroutines, each looping over its share of the
// pairs, send o.size-byte datagrams from the clients (SendMessages with
// o.burst datagrams per call, sendmmsg; Send when o.burst is 1); the
// servers' receive functions count them.

// muxPPSServer checks mux-pps's options, raises the fd limit for its
// sockets and opens the server's mux on loopback.
func muxPPSServer(o options) *nice.UDPMux {
	if o.pairs < 1 || o.senders < 1 || o.senders > o.pairs {
		fatalf("mux-pps: --pairs ≥ 1 and 1 ≤ --senders ≤ --pairs")
	}
	raiseNoFile(uint64(o.pairs) + 256)
	srv, err := nice.NewUDPMux(netip.AddrPortFrom(loopback, 0), nice.UDPMuxConfig{})
	if err != nil {
		fatalf("mux: %v", err)
	}
	return srv
}

// muxPPS runs the test and prints its result.
func muxPPS(o options) {
	srv := muxPPSServer(o)
	defer srv.Close()

	// Connect the pairs, 50 at a time.
	pairs := make([]*gnPair, o.pairs)
	var rx atomic.Int64
	count := func(_, _ int, _ []byte) { rx.Add(1) }
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for i := range pairs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			p, err := muxPPSConnect(srv)
			if err != nil {
				fatalf("pair %d: %v", i, err)
			}
			if err := p.b.AttachRecv(p.sb, 1, count); err != nil {
				fatalf("AttachRecv: %v", err)
			}
			pairs[i] = p
		})
	}
	wg.Wait()
	defer func() {
		var cw sync.WaitGroup
		for _, p := range pairs {
			cw.Go(p.close)
		}
		cw.Wait()
	}()

	c := newMuxCounters(make([]byte, muxCountersSize(o.senders)), o.senders)
	rx.Store(0)
	rbStart := rcvbufErrors()
	sw := startMuxSenders(o, pairs, c)
	time.Sleep(secs(o.warmup))
	stopProfile := startCPUProfile()
	st0, h0 := srv.Stats(), schedLatencies()
	tx0, e0 := c.sum()
	rx0, cpu0, rb0, t0 := rx.Load(), cpuUS(), rcvbufErrors(), time.Now()
	time.Sleep(secs(o.seconds))
	tx1, e1 := c.sum()
	rx1, cpu1, rb1, t1 := rx.Load(), cpuUS(), rcvbufErrors(), time.Now()
	st1, h1 := srv.Stats(), schedLatencies()
	stopProfile()
	c.stop.Store(1)
	sw.Wait()
	txAll, _ := c.sum()
	rxAll := drain(&rx)
	rbAll := rcvbufErrors() - rbStart
	emit(map[string]any{"rcvbuf_errors_all": rbAll, "sched": schedSummary(h0, h1),
		"pairs": o.pairs, "senders": o.senders, "burst": o.burst,
		"tx": tx1 - tx0, "rx": rx1 - rx0, "seconds": t1.Sub(t0).Seconds(),
		"tx_all": txAll, "rx_all": rxAll,
		"send_errors": e1 - e0, "rcvbuf_errors": rb1 - rb0, "cpu_s": float64(cpu1-cpu0) / 1e6,
		"batches": st1.Batches - st0.Batches, "read": st1.Received - st0.Received,
		"noroute": st1.NoRoute - st0.NoRoute, "gomaxprocs": runtime.GOMAXPROCS(0), "clients": "same",
	})
}

// muxCounters are the sender goroutines' counters and their stop flag, on
// cache lines of their own: in the worker's memory, or (--clients process)
// in a mapping the server and client processes share.
type muxCounters struct {
	stop       *atomic.Int64
	sent, errs []*atomic.Int64
}

func muxCountersSize(senders int) int { return 64 * (senders + 1) }

func newMuxCounters(mem []byte, senders int) muxCounters {
	if len(mem) < muxCountersSize(senders) {
		fatalf("mux-pps: counters' memory too small")
	}
	at := func(off int) *atomic.Int64 { return (*atomic.Int64)(unsafe.Pointer(&mem[off])) }
	c := muxCounters{stop: at(0)}
	for k := range senders {
		c.sent = append(c.sent, at(64*(k+1)))
		c.errs = append(c.errs, at(64*(k+1)+8))
	}
	return c
}

// sum is what the senders sent and their failed calls so far.
func (c muxCounters) sum() (tx, errs int64) {
	for k := range c.sent {
		tx += c.sent[k].Load()
		errs += c.errs[k].Load()
	}
	return tx, errs
}

// startMuxSenders starts o.senders goroutines, each looping over its share
// of the pairs' clients until c.stop is set: SendMessages of o.burst
// datagrams per call (Send when o.burst is 1).
func startMuxSenders(o options, pairs []*gnPair, c muxCounters) *sync.WaitGroup {
	buf := make([]byte, o.size)
	buf[0] = 0x80
	msgs := make([][]byte, o.burst)
	for i := range msgs {
		msgs[i] = buf
	}
	var sw sync.WaitGroup
	for k := range o.senders {
		share := pairs[k*len(pairs)/o.senders : (k+1)*len(pairs)/o.senders]
		sent, errs := c.sent[k], c.errs[k]
		sw.Go(func() {
			for c.stop.Load() == 0 {
				for _, p := range share {
					var n int
					var err error
					if o.burst > 1 {
						n, err = p.a.SendMessages(p.sa, 1, msgs)
					} else if _, err = p.a.Send(p.sa, 1, buf); err == nil {
						n = 1
					}
					if err != nil {
						errs.Add(1)
					}
					sent.Add(int64(n))
				}
			}
		})
	}
	return &sw
}

// muxPPSConnect connects a client agent on a socket of its own
// (controlling) to a server agent on the mux.
func muxPPSConnect(srv *nice.UDPMux) (*gnPair, error) {
	readyA, readyB := make(chan time.Time, 1), make(chan time.Time, 1)
	p := &gnPair{}
	var err error
	if p.a, p.sa, err = gnAgent(nice.Config{Controlling: true}, readyA); err != nil {
		return nil, err
	}
	p.b, err = nice.NewAgent(nice.Config{Muxes: []*nice.UDPMux{srv}})
	if err != nil {
		p.a.Close()
		return nil, err
	}
	var once sync.Once
	p.b.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			once.Do(func() { readyB <- time.Now() })
		}
	})
	if p.sb, err = p.b.AddStream(1); err == nil {
		err = p.b.GatherCandidates(p.sb)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	ua, pa, _ := p.a.LocalCredentials(p.sa)
	ub, pb, _ := p.b.LocalCredentials(p.sb)
	ca, _ := p.a.LocalCandidates(p.sa, 1)
	cb, _ := p.b.LocalCandidates(p.sb, 1)
	err = errorsJoin(p.a.SetRemoteCredentials(p.sa, ub, pb), p.b.SetRemoteCredentials(p.sb, ua, pa))
	if err == nil {
		_, err = p.b.SetRemoteCandidates(p.sb, 1, ca)
	}
	if err == nil {
		_, err = p.a.SetRemoteCandidates(p.sa, 1, cb)
	}
	if err != nil {
		p.close()
		return nil, err
	}
	timeout := time.After(30 * time.Second)
	for _, ch := range []chan time.Time{readyA, readyB} {
		select {
		case <-ch:
		case <-timeout:
			p.close()
			return nil, errors.New("the pair did not become READY in 30 s")
		}
	}
	return p, nil
}

// drain waits until what is in flight has arrived (the counter still for
// 100 ms, at most 2 s) and returns the counter.
func drain(rx *atomic.Int64) int64 {
	last := rx.Load()
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		n := rx.Load()
		if n == last {
			break
		}
		last = n
	}
	return last
}

// raiseNoFile raises the soft limit on open files to at least n (up to
// the hard limit).
func raiseNoFile(n uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur >= n {
		return
	}
	rl.Cur = min(max(n, rl.Cur), rl.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		fatalf("RLIMIT_NOFILE: %v", err)
	}
}

// schedLatencies reads the runtime's histogram of the time goroutines
// spent runnable before running (/sched/latencies:seconds).
func schedLatencies() *metrics.Float64Histogram {
	s := []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return nil
	}
	h := s[0].Value.Float64Histogram()
	return &metrics.Float64Histogram{Counts: slices.Clone(h.Counts), Buckets: slices.Clone(h.Buckets)}
}

// schedSummary summarises the scheduling latencies between two readings:
// how many goroutines were made runnable, the median, p99 and p99.9 (upper
// bucket bounds, µs) and the share that waited more than 1 ms.
func schedSummary(h0, h1 *metrics.Float64Histogram) map[string]any {
	if h0 == nil || h1 == nil || len(h0.Counts) != len(h1.Counts) {
		return nil
	}
	var total uint64
	d := make([]uint64, len(h1.Counts))
	for i := range d {
		d[i] = h1.Counts[i] - h0.Counts[i]
		total += d[i]
	}
	if total == 0 {
		return nil
	}
	q := func(f float64) float64 {
		want := uint64(f * float64(total))
		var acc uint64
		for i, c := range d {
			acc += c
			if acc > want {
				return 1e6 * h1.Buckets[i+1]
			}
		}
		return math.Inf(1)
	}
	var over uint64
	for i, c := range d {
		if h1.Buckets[i] >= 1e-3 {
			over += c
		}
	}
	return map[string]any{"n": total, "p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999),
		"over_1ms": float64(over) / float64(total)}
}
