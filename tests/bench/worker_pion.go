// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
)

// pnPair is two connected pion/ice agents, A controlling (Dial).
type pnPair struct {
	a, b           *ice.Agent
	ca, cb         *ice.Conn
	readyA, readyB time.Time
}

func (p *pnPair) close() {
	if p.ca != nil {
		p.ca.Close()
	}
	if p.cb != nil {
		p.cb.Close()
	}
	p.a.Close()
	p.b.Close()
}

// pnAgent is a pion agent as perf-baselines.md configured it: UDP4 host
// candidates on loopback only, no mDNS, default check interval.
func pnAgent(connected chan<- time.Time) (*ice.Agent, []ice.Candidate, error) {
	a, err := ice.NewAgent(&ice.AgentConfig{
		NetworkTypes:     []ice.NetworkType{ice.NetworkTypeUDP4},
		CandidateTypes:   []ice.CandidateType{ice.CandidateTypeHost},
		IncludeLoopback:  true,
		InterfaceFilter:  func(name string) bool { return name == "lo" },
		MulticastDNSMode: ice.MulticastDNSModeDisabled,
	})
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	if err := a.OnConnectionStateChange(func(s ice.ConnectionState) {
		if s == ice.ConnectionStateConnected {
			now := time.Now()
			once.Do(func() { connected <- now })
		}
	}); err != nil {
		a.Close()
		return nil, nil, err
	}
	var cands []ice.Candidate
	gathered := make(chan struct{})
	if err := a.OnCandidate(func(c ice.Candidate) {
		if c == nil {
			close(gathered)
			return
		}
		cands = append(cands, c)
	}); err != nil {
		a.Close()
		return nil, nil, err
	}
	if err := a.GatherCandidates(); err != nil {
		a.Close()
		return nil, nil, err
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		a.Close()
		return nil, nil, errors.New("pion gathering did not finish")
	}
	if len(cands) == 0 {
		a.Close()
		return nil, nil, errors.New("pion gathered no candidate on loopback")
	}
	return a, cands, nil
}

func pnConnect() (p *pnPair, t0 time.Time, err error) {
	connA := make(chan time.Time, 1)
	connB := make(chan time.Time, 1)
	p = &pnPair{}
	a, candsA, err := pnAgent(connA)
	if err != nil {
		return nil, t0, err
	}
	b, candsB, err := pnAgent(connB)
	if err != nil {
		a.Close()
		return nil, t0, err
	}
	p.a, p.b = a, b
	fail := func(e error) (*pnPair, time.Time, error) { p.close(); return nil, t0, e }
	ua, pa, err := a.GetLocalUserCredentials()
	if err != nil {
		return fail(err)
	}
	ub, pb, err := b.GetLocalUserCredentials()
	if err != nil {
		return fail(err)
	}
	for _, c := range candsB {
		if err := a.AddRemoteCandidate(c); err != nil {
			return fail(err)
		}
	}
	for _, c := range candsA {
		if err := b.AddRemoteCandidate(c); err != nil {
			return fail(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type result struct {
		c   *ice.Conn
		err error
	}
	da, db := make(chan result, 1), make(chan result, 1)
	t0 = time.Now()
	go func() { c, err := a.Dial(ctx, ub, pb); da <- result{c, err} }()
	go func() { c, err := b.Accept(ctx, ua, pa); db <- result{c, err} }()
	ra, rb := <-da, <-db
	p.ca, p.cb = ra.c, rb.c
	if ra.err != nil || rb.err != nil {
		return fail(errors.Join(ra.err, rb.err))
	}
	for i, ch := range []chan time.Time{connA, connB} {
		select {
		case t := <-ch:
			if i == 0 {
				p.readyA = t
			} else {
				p.readyB = t
			}
		case <-ctx.Done():
			return fail(errors.New("pion pair did not connect in 10 s"))
		}
	}
	return p, t0, nil
}

func pionWorker(test string, o options) {
	switch test {
	case "srtp":
		pionSRTP(o)
		return
	case "connect":
		connectSamples(o.runs, func() (t0, ready time.Time, err error) {
			p, t0, err := pnConnect()
			if err != nil {
				return t0, ready, err
			}
			p.close()
			return t0, later(p.readyA, p.readyB), nil
		})
	case "throughput":
		p, _, err := pnConnect()
		if err != nil {
			fatalf("connect: %v", err)
		}
		var rx atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 2048)
			for {
				if _, err := p.cb.Read(buf); err != nil {
					return
				}
				rx.Add(1)
			}
		}()
		buf := make([]byte, o.size)
		buf[0] = 0x80
		res := flood(o, &rx, func() (int, error) {
			if _, err := p.ca.Write(buf); err != nil {
				return 0, err
			}
			return 1, nil
		})
		p.close()
		<-done
		emit(res)
	case "idle":
		pionIdle(o)
	default:
		fatalf("pion: %s is not applicable", test)
	}
}

func pionIdle(o options) {
	if p, _, err := pnConnect(); err != nil {
		fatalf("warm-up: %v", err)
	} else {
		p.close()
		time.Sleep(500 * time.Millisecond) // pion closes asynchronously
	}
	all, res := idleMeasure(o, o.pairs, takeSnapshot(), func() (*pnPair, time.Time, error) {
		p, _, err := pnConnect()
		if err != nil {
			return nil, time.Time{}, err
		}
		return p, later(p.readyA, p.readyB), nil
	})
	// pion has no per-component state query on an agent; a pair whose
	// connection failed would have closed its Conn. Count the pairs whose
	// agents still report a selected pair.
	ready := 0
	for _, p := range all {
		for _, ag := range []*ice.Agent{p.a, p.b} {
			if cp, err := ag.GetSelectedCandidatePair(); err == nil && cp != nil {
				ready++
			}
		}
	}
	res["still_ready"] = ready
	emit(res)
	for _, p := range all {
		p.close()
	}
}
