// SPDX-License-Identifier: MIT

package main

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonice/gonice/nice"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// gnPair is two connected gonice agents, A controlling.
type gnPair struct {
	a, b   *nice.Agent
	sa, sb int
	// readyA and readyB are when each side reported READY.
	readyA, readyB time.Time
}

func (p *gnPair) close() {
	p.a.Close()
	p.b.Close()
}

// gnAgent creates an agent on 127.0.0.1 with one stream of one component,
// gathers, and waits for gathering done.
func gnAgent(cfg nice.Config, ready chan<- time.Time) (*nice.Agent, int, error) {
	a, err := nice.NewAgent(cfg)
	if err != nil {
		return nil, 0, err
	}
	gathered := make(chan struct{})
	var once sync.Once
	a.OnCandidateGatheringDone(func(int) { once.Do(func() { close(gathered) }) })
	var readyOnce sync.Once
	a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		if s == nice.ComponentStateReady {
			now := time.Now()
			readyOnce.Do(func() { ready <- now })
		}
	})
	if err := a.AddLocalAddress(loopback); err != nil {
		a.Close()
		return nil, 0, err
	}
	sid, err := a.AddStream(1)
	if err == nil {
		err = a.GatherCandidates(sid)
	}
	if err != nil {
		a.Close()
		return nil, 0, err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		a.Close()
		return nil, 0, errors.New("gathering did not finish")
	}
	return a, sid, nil
}

// gnConnect creates and connects a pair; t0 is when the remote candidates
// start to be set (the checks start).
func gnConnect(nomination nice.NominationMode) (p *gnPair, t0 time.Time, err error) {
	readyA := make(chan time.Time, 1)
	readyB := make(chan time.Time, 1)
	p = &gnPair{}
	if p.a, p.sa, err = gnAgent(nice.Config{Controlling: true, Nomination: nomination, DisableConsentFreshness: consentOff}, readyA); err != nil {
		return nil, t0, err
	}
	if p.b, p.sb, err = gnAgent(nice.Config{Nomination: nomination, DisableConsentFreshness: consentOff}, readyB); err != nil {
		p.a.Close()
		return nil, t0, err
	}
	fail := func(e error) (*gnPair, time.Time, error) { p.close(); return nil, t0, e }
	ua, pa, err := p.a.LocalCredentials(p.sa)
	if err != nil {
		return fail(err)
	}
	ub, pb, err := p.b.LocalCredentials(p.sb)
	if err != nil {
		return fail(err)
	}
	if err := p.a.SetRemoteCredentials(p.sa, ub, pb); err != nil {
		return fail(err)
	}
	if err := p.b.SetRemoteCredentials(p.sb, ua, pa); err != nil {
		return fail(err)
	}
	ca, err := p.a.LocalCandidates(p.sa, 1)
	if err != nil {
		return fail(err)
	}
	cb, err := p.b.LocalCandidates(p.sb, 1)
	if err != nil {
		return fail(err)
	}
	t0 = time.Now()
	if _, err := p.a.SetRemoteCandidates(p.sa, 1, cb); err != nil {
		return fail(err)
	}
	if _, err := p.b.SetRemoteCandidates(p.sb, 1, ca); err != nil {
		return fail(err)
	}
	timeout := time.After(10 * time.Second)
	for _, ch := range []chan time.Time{readyA, readyB} {
		select {
		case t := <-ch:
			if ch == readyA {
				p.readyA = t
			} else {
				p.readyB = t
			}
		case <-timeout:
			return fail(errors.New("the pair did not become READY in 10 s"))
		}
	}
	return p, t0, nil
}

func nominationMode(s string) nice.NominationMode {
	switch s {
	case "regular":
		return nice.NominationRegular
	case "aggressive":
		return nice.NominationAggressive
	}
	fatalf("unknown nomination %q (regular or aggressive)", s)
	return 0
}

// consentOff turns RFC 7675 consent freshness off (--consent off): the
// agents then send a Binding indication every 25 s, as libnice does in its
// RFC 5245 mode. On by default, as in gonice.
var consentOff bool

func goniceWorker(test string, o options) {
	switch o.consent {
	case "on":
	case "off":
		consentOff = true
	default:
		fatalf("--consent on|off, not %q", o.consent)
	}
	switch test {
	case "connect":
		connectSamples(o.runs, func() (t0, ready time.Time, err error) {
			p, t0, err := gnConnect(nominationMode(o.nomination))
			if err != nil {
				return t0, ready, err
			}
			p.close()
			return t0, later(p.readyA, p.readyB), nil
		})
	case "throughput":
		p, _, err := gnConnect(nice.NominationRegular)
		if err != nil {
			fatalf("connect: %v", err)
		}
		defer p.close()
		var rx atomic.Int64
		if err := p.b.AttachRecv(p.sb, 1, func(_, _ int, _ []byte) { rx.Add(1) }); err != nil {
			fatalf("AttachRecv: %v", err)
		}
		if o.profile != "" {
			goniceSecureThroughput(o, p)
			break
		}
		buf := make([]byte, o.size)
		buf[0] = 0x80
		if o.burst > 1 {
			msgs := make([][]byte, o.burst)
			for i := range msgs {
				msgs[i] = buf
			}
			emit(flood(o, &rx, func() (int, error) { return p.a.SendMessages(p.sa, 1, msgs) }))
			break
		}
		emit(flood(o, &rx, func() (int, error) {
			if _, err := p.a.Send(p.sa, 1, buf); err != nil {
				return 0, err
			}
			return 1, nil
		}))
	case "srtp":
		goniceSRTP(o)
	case "mux":
		muxScale(o)
	case "mux-pps":
		switch o.clients {
		case "same":
			muxPPS(o)
		case "process":
			muxPPSApart(o)
		default:
			fatalf("--clients same|process, not %q", o.clients)
		}
	case "mux-pps-clients": // the second process of mux-pps --clients process
		muxPPSClients(o)
	case "idle", "scale":
		pairs := o.pairs
		if test == "scale" {
			pairs = o.agents / 2
		}
		idleRun(o, pairs, test == "scale")
	default:
		fatalf("unknown test %q", test)
	}
}

// flood sends as fast as send allows for warmup+seconds and returns the
// window's counters (tests/bench/README.md, throughput).
func flood(o options, rx *atomic.Int64, send func() (int, error)) map[string]any {
	var tx, sendErrs int64
	start := time.Now()
	warmEnd := start.Add(secs(o.warmup))
	end := warmEnd.Add(secs(o.seconds))
	var tx0, rx0, cpu0, rb0 int64
	warm := true
	stop := func() {}
	mask := 255
	if o.burst > 1 {
		mask = 7
	}
	for i := 0; ; i++ {
		n, err := send()
		if err != nil {
			sendErrs++
		}
		tx += int64(n)
		if i&mask != 0 {
			continue
		}
		now := time.Now()
		if warm && !now.Before(warmEnd) {
			warm = false
			stop = startCPUProfile()
			tx0, rx0, cpu0, rb0 = tx, rx.Load(), cpuUS(), rcvbufErrors()
			sendErrs = 0
			start = now
		}
		if !warm && !now.Before(end) {
			break
		}
	}
	stop()
	txN := tx - tx0
	elapsed := time.Since(start)
	time.Sleep(50 * time.Millisecond) // what is in flight arrives
	return map[string]any{
		"tx": txN, "rx": rx.Load() - rx0, "seconds": elapsed.Seconds(),
		"send_errors": sendErrs, "rcvbuf_errors": rcvbufErrors() - rb0,
		"cpu_s": float64(cpuUS()-cpu0) / 1e6,
	}
}

// idleRun is the idle test (and, with scale, the scale test): memory,
// goroutines, fds and idle CPU of connected pairs.
func idleRun(o options, pairs int, scale bool) {
	// A warm-up pair, so one-off allocations are in the baseline.
	if p, _, err := gnConnect(nice.NominationRegular); err != nil {
		fatalf("warm-up: %v", err)
	} else {
		p.close()
	}
	all, res := idleMeasure(o, pairs, takeSnapshot(), func() (*gnPair, time.Time, error) {
		p, _, err := gnConnect(nice.NominationRegular)
		if err != nil {
			return nil, time.Time{}, err
		}
		return p, later(p.readyA, p.readyB), nil
	})
	if scale {
		res["consent"] = consentProbe(all, secs(o.probeFor), true)
	}
	ready := 0
	for _, p := range all {
		if p.a.ComponentState(p.sa, 1) == nice.ComponentStateReady {
			ready++
		}
		if p.b.ComponentState(p.sb, 1) == nice.ComponentStateReady {
			ready++
		}
	}
	res["still_ready"] = ready
	emit(res)
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Go(p.close)
	}
	wg.Wait()
}
