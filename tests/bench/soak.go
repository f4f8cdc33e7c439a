// SPDX-License-Identifier: MIT

package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/tests/natlab"
)

// nicebench soak (./run soak): many gonice pairs in one process, on lo in a
// network namespace of its own with a share of UDP dropped (nftables),
// data flowing both ways, random ICE restarts and streams added and
// removed; RSS, goroutines, fds and READY pairs sampled; the report says
// whether they stayed flat after the warm-up and whether anything FAILED.
// tests/bench/README.md, "soak".

// soakPair is two agents, A controlling, each with stream 1 (kept) and
// now and then a second stream (added, connected, removed).
type soakPair struct {
	a, b   *nice.Agent
	sa, sb int
	busy   atomic.Bool // a restart or a stream test is running
	// readyWithin bounds the wait for READY after an exchange (0: 30 s).
	readyWithin time.Duration

	mu    sync.Mutex
	cond  *sync.Cond
	state map[*nice.Agent]map[int]nice.ComponentState // per agent, per stream (component 1)
	done  map[*nice.Agent]map[int]bool                // gathering done per stream
}

type soakCounters struct {
	failed, sent, received, restarts, restartFails, streams, streamFails atomic.Int64
}

func newSoakPair(c *soakCounters, sides soakSides) (*soakPair, error) {
	p := &soakPair{state: map[*nice.Agent]map[int]nice.ComponentState{}, done: map[*nice.Agent]map[int]bool{}}
	p.cond = sync.NewCond(&p.mu)
	var err error
	if p.a, err = nice.NewAgent(sides.cfgA); err != nil {
		return nil, err
	}
	if p.b, err = nice.NewAgent(sides.cfgB); err != nil {
		p.a.Close()
		return nil, err
	}
	for _, ag := range []*nice.Agent{p.a, p.b} {
		ag := ag
		addr := sides.addrA
		if ag == p.b {
			addr = sides.addrB
		}
		p.state[ag], p.done[ag] = map[int]nice.ComponentState{}, map[int]bool{}
		ag.OnComponentStateChanged(func(sid, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateFailed {
				c.failed.Add(1)
			}
			p.mu.Lock()
			p.state[ag][sid] = s
			p.cond.Broadcast()
			p.mu.Unlock()
		})
		ag.OnCandidateGatheringDone(func(sid int) {
			p.mu.Lock()
			p.done[ag][sid] = true
			p.cond.Broadcast()
			p.mu.Unlock()
		})
		if err := ag.AddLocalAddress(addr); err != nil {
			p.close()
			return nil, err
		}
	}
	sa, sb, err := p.connectStream(c)
	if err != nil {
		p.close()
		return nil, err
	}
	p.sa, p.sb = sa, sb
	return p, nil
}

func (p *soakPair) close() {
	p.a.Close()
	p.b.Close()
}

// waitFor waits until cond holds (under p.mu), for at most d.
func (p *soakPair) waitFor(d time.Duration, cond func() bool) bool {
	t := time.AfterFunc(d, func() { p.mu.Lock(); p.cond.Broadcast(); p.mu.Unlock() })
	defer t.Stop()
	end := time.Now().Add(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	for !cond() {
		if !time.Now().Before(end) {
			return false
		}
		p.cond.Wait()
	}
	return true
}

// exchange gives to's stream the credentials and candidates of from's.
func exchange(from, to *nice.Agent, fromSID, toSID int) error {
	u, pw, err := from.LocalCredentials(fromSID)
	if err != nil {
		return err
	}
	if err := to.SetRemoteCredentials(toSID, u, pw); err != nil {
		return err
	}
	cands, err := from.LocalCandidates(fromSID, 1)
	if err != nil {
		return err
	}
	_, err = to.SetRemoteCandidates(toSID, 1, cands)
	return err
}

// connectStream adds a stream of one component on both agents, gathers,
// exchanges and waits until both are READY. On failure it returns the
// streams it added too (0 for none), for the caller to remove: a failed
// stream left in place keeps its socket and reader.
func (p *soakPair) connectStream(c *soakCounters) (sa, sb int, err error) {
	if sa, err = p.a.AddStream(1); err != nil {
		return 0, 0, err
	}
	if sb, err = p.b.AddStream(1); err != nil {
		return sa, 0, err
	}
	var rx atomic.Int64
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{p.a, sa}, {p.b, sb}} {
		if err := x.ag.AttachRecv(x.sid, 1, func(int, int, []byte) { c.received.Add(1); rx.Add(1) }); err != nil {
			return sa, sb, err
		}
		if err := x.ag.GatherCandidates(x.sid); err != nil {
			return sa, sb, err
		}
	}
	if !p.waitFor(10*time.Second, func() bool { return p.done[p.a][sa] && p.done[p.b][sb] }) {
		return sa, sb, fmt.Errorf("gathering did not end")
	}
	if err := p.reconnect(sa, sb, p.readyTimeout()); err != nil {
		return sa, sb, err
	}
	return sa, sb, nil
}

// readyTimeout is how long a pair may take to be READY after an exchange.
func (p *soakPair) readyTimeout() time.Duration {
	if p.readyWithin > 0 {
		return p.readyWithin
	}
	return 30 * time.Second
}

// reconnect exchanges both ways and waits for READY on both sides.
func (p *soakPair) reconnect(sa, sb int, d time.Duration) error {
	if err := exchange(p.a, p.b, sa, sb); err != nil {
		return err
	}
	if err := exchange(p.b, p.a, sb, sa); err != nil {
		return err
	}
	if !p.waitFor(d, func() bool {
		return p.state[p.a][sa] == nice.ComponentStateReady && p.state[p.b][sb] == nice.ComponentStateReady
	}) {
		return fmt.Errorf("not READY within %v (A %v, B %v)\n%s%s", d, p.a.ComponentState(sa, 1), p.b.ComponentState(sb, 1),
			pairsText("A", p.a, sa), pairsText("B", p.b, sb))
	}
	return nil
}

// pairsText describes a stream's candidates and pairs, for a failure's
// report: what was tried, what answered.
func pairsText(name string, ag *nice.Agent, sid int) string {
	cs, err := ag.Stats(sid)
	if err != nil {
		return fmt.Sprintf("  %s: no stats: %v\n", name, err)
	}
	var b strings.Builder
	if errs, _ := ag.STUNErrors(sid); len(errs) > 0 {
		fmt.Fprintf(&b, "  %s stream %d STUN errors: %v\n", name, sid, errs)
	}
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s stream %d component %d %v:", name, sid, c.ComponentID, c.State)
		for _, l := range c.LocalCandidates {
			fmt.Fprintf(&b, " local %s %s:%d", l.CandidateType, l.Address, l.Port)
		}
		for _, r := range c.RemoteCandidates {
			fmt.Fprintf(&b, " remote %s %s:%d", r.CandidateType, r.Address, r.Port)
		}
		b.WriteString("\n")
		for _, p := range c.Pairs {
			fmt.Fprintf(&b, "    %s %s -> %s %s: %s, requests %d (+%d again) received %d, responses %d sent %d\n",
				p.Local.Type, p.Local.Addr, p.Remote.Type, p.Remote.Addr, p.State,
				p.RequestsSent, p.RetransmissionsSent, p.RequestsReceived, p.ResponsesReceived, p.ResponsesSent)
		}
	}
	return b.String()
}

// restart restarts ICE on stream 1 of both agents and reconnects.
func (p *soakPair) restart() error {
	p.mu.Lock()
	p.state[p.a][p.sa], p.state[p.b][p.sb] = nice.ComponentStateGathering, nice.ComponentStateGathering
	p.mu.Unlock()
	if err := p.a.RestartStream(p.sa); err != nil {
		return err
	}
	if err := p.b.RestartStream(p.sb); err != nil {
		return err
	}
	return p.reconnect(p.sa, p.sb, p.readyTimeout())
}

// streamCycle adds a second stream, sends on it, and removes it.
func (p *soakPair) streamCycle(c *soakCounters) error {
	sa, sb, err := p.connectStream(c)
	if err == nil {
		for range 3 {
			if _, err := p.a.Send(sa, 1, []byte{0x80, 2}); err == nil {
				c.sent.Add(1)
			}
		}
	}
	if sa != 0 {
		if e := p.a.RemoveStream(sa); e != nil && err == nil {
			err = e
		}
	}
	if sb != 0 {
		if e := p.b.RemoveStream(sb); e != nil && err == nil {
			err = e
		}
	}
	// The removed streams' records go too: kept, the maps grew with every
	// stream cycle, and so did the live heap (the soak's own, not
	// gonice's).
	p.mu.Lock()
	delete(p.state[p.a], sa)
	delete(p.done[p.a], sa)
	delete(p.state[p.b], sb)
	delete(p.done[p.b], sb)
	p.mu.Unlock()
	return err
}

type soakSample struct {
	at                          time.Duration
	rssKB, goroutines, fds      int64
	ready, failed, restarts     int64
	restartFails, streams       int64
	streamFails, sent, received int64
	heapKB                      int64
	mem                         soakMem
}

func runSoak(args []string) {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	pairs := fs.Int("pairs", 500, "connected pairs (2 agents each)")
	duration := fs.Duration("duration", time.Hour, "how long")
	every := fs.Duration("sample", time.Minute, "sampling interval")
	warmup := fs.Duration("warmup", 0, "samples up to this long after the start are the warm-up (0: soakWarmup, and at least two sampling intervals)")
	loss := fs.Int("loss", 5, "percent of UDP datagrams dropped on lo (nftables, in a network namespace of the run's own; needs root), or with -lab on each router's WAN link")
	lab := fs.String("lab", "", "run in the NAT lab (tests/natlab) with both sites behind this NAT: fullcone, restricted, portrestricted or symmetric (needs root, nftables and coturn)")
	stunserver := fs.String("stunserver", "build/bench/stunserver", "with -lab: the project's examples/stunserver binary")
	rate := fs.Int("rate", 5, "data packets per second per direction per pair")
	restartEvery := fs.Duration("restart-every", time.Second, "an ICE restart of a random pair this often")
	streamEvery := fs.Duration("stream-every", 2*time.Second, "a stream added, connected and removed on a random pair this often")
	out := fs.String("out", "", "also write the report (markdown) to this file")
	dump := fs.String("dump", "", "save /proc/self/smaps and a heap profile at every sample into this directory")
	_ = fs.Parse(args)
	if *warmup == 0 {
		*warmup = max(soakWarmup, 2**every)
	}
	if os.Getenv(netnsMarker) == "" && os.Geteuid() != 0 {
		fatalf("nicebench soak: needs root, for a network namespace of its own with loss on lo, or for the NAT lab")
	}
	var sides soakSides
	if *lab != "" {
		if !slices.Contains(natlab.AllNATs, natlab.NAT(*lab)) {
			fatalf("nicebench soak: -lab %q: want one of %v", *lab, natlab.AllNATs)
		}
		var closeLab func()
		var err error
		if sides, closeLab, err = labSides(natlab.NAT(*lab), *loss, *stunserver); err != nil {
			fatalf("nicebench soak: %v", err)
		}
		defer closeLab()
		// An interrupted run takes the lab down too (fatalf's exit skips
		// the defer; natlab.SweepStale removes what a killed run left).
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() { <-sig; closeLab(); os.Exit(1) }() // ends with the process
	} else {
		inOwnNetns("soak", args)
		if *loss > 0 {
			rules := fmt.Sprintf("table inet soak { chain in { type filter hook input priority 0; meta l4proto udp numgen random mod 100 < %d drop; }; }", *loss)
			if b, err := exec.Command("nft", rules).CombinedOutput(); err != nil {
				fatalf("nft: %v: %s", err, b)
			}
		}
		sides = loopbackSides(*loss)
	}

	var c soakCounters
	commit := gitCommit() // the code this run is of, not what is checked out when it ends
	start := time.Now()
	ps := make([]*soakPair, 0, *pairs)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 20)
	for range *pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() { // one pair's set-up; ends when it is connected
			defer wg.Done()
			defer func() { <-sem }()
			p, err := newSoakPair(&c, sides)
			if err != nil {
				fatalf("nicebench soak: connecting a pair: %v", err)
			}
			mu.Lock()
			ps = append(ps, p)
			mu.Unlock()
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "nicebench soak: %d pairs connected in %v\n", len(ps), time.Since(start).Round(time.Millisecond))

	stop := make(chan struct{})
	var workers sync.WaitGroup
	// Data: every pair, both ways, rate packets a second.
	workers.Add(1)
	go func() { // the data sender; ends with the run
		defer workers.Done()
		tick := time.NewTicker(time.Second / time.Duration(*rate))
		defer tick.Stop()
		pkt := make([]byte, 160)
		pkt[0] = 0x80
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			for _, p := range ps {
				if _, err := p.a.Send(p.sa, 1, pkt); err == nil {
					c.sent.Add(1)
				}
				if _, err := p.b.Send(p.sb, 1, pkt); err == nil {
					c.sent.Add(1)
				}
			}
		}
	}()
	// Restarts and stream cycles on random idle pairs.
	churn := func(every time.Duration, f func(p *soakPair) error, done, failed *atomic.Int64, what string) {
		defer workers.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		var running sync.WaitGroup
		defer running.Wait()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			p := ps[rand.IntN(len(ps))]
			if !p.busy.CompareAndSwap(false, true) {
				continue
			}
			running.Add(1)
			go func() { // one restart or stream cycle; ends when it has
				defer running.Done()
				defer p.busy.Store(false)
				done.Add(1)
				if err := f(p); err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "nicebench soak: %s failed: %v\n", what, err)
				}
			}()
		}
	}
	if *restartEvery > 0 {
		workers.Add(1)
		go churn(*restartEvery, (*soakPair).restart, &c.restarts, &c.restartFails, "restart") // ends with the run
	}
	if *streamEvery > 0 {
		workers.Add(1)
		go churn(*streamEvery, func(p *soakPair) error { return p.streamCycle(&c) }, &c.streams, &c.streamFails, "stream cycle") // ends with the run
	}

	var samples []soakSample
	var peaks peakWatcher
	go peaks.run(stop) // ends with the run
	sample := func() {
		peak := peaks.take()
		// What is live, not what the collector has yet to free: a
		// collection, and the freed memory returned, before reading.
		runtime.GC()
		debug.FreeOSMemory()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := soakSample{at: time.Since(start), rssKB: rssKB(), goroutines: int64(runtime.NumGoroutine()),
			fds: int64(countDir("/proc/self/fd")), heapKB: int64(ms.HeapAlloc >> 10),
			failed: c.failed.Load(), restarts: c.restarts.Load(), restartFails: c.restartFails.Load(),
			streams: c.streams.Load(), streamFails: c.streamFails.Load(), sent: c.sent.Load(), received: c.received.Load(),
			mem: readSoakMem()}
		s.mem.peak = peak
		if *dump != "" {
			saveDump(*dump, s.at)
		}
		for _, p := range ps {
			if p.a.ComponentState(p.sa, 1) == nice.ComponentStateReady && p.b.ComponentState(p.sb, 1) == nice.ComponentStateReady {
				s.ready++
			}
		}
		samples = append(samples, s)
		fmt.Fprintf(os.Stderr, "nicebench soak: %6s RSS %d KB (anon %d, file %d; Go mapped, not released %d), heap %d KB, goroutines %d, threads %d, fds %d, READY pairs %d/%d, FAILED %d, restarts %d (%d failed), streams %d (%d failed), data %d/%d\n",
			s.at.Round(time.Second), s.rssKB, s.mem.rssAnonKB, s.mem.rssFileKB, s.mem.goHeldKB(), s.heapKB, s.goroutines, s.mem.threads,
			s.fds, s.ready, len(ps), s.failed, s.restarts, s.restartFails, s.streams, s.streamFails, s.received, s.sent)
		fmt.Fprintf(os.Stderr, "nicebench soak: %6s Go KB: heap objects %d, unused %d, free %d, stacks %d, mspan %d, metadata other %d, other %d; peak goroutines %d, peak heap objects %d KB; load %s\n",
			s.at.Round(time.Second), s.mem.m["/memory/classes/heap/objects:bytes"], s.mem.m["/memory/classes/heap/unused:bytes"],
			s.mem.m["/memory/classes/heap/free:bytes"], s.mem.m["/memory/classes/heap/stacks:bytes"],
			s.mem.m["/memory/classes/metadata/mspan/inuse:bytes"], s.mem.m["/memory/classes/metadata/other:bytes"], s.mem.m["/memory/classes/other:bytes"],
			s.mem.peak.goroutines, s.mem.peak.heapKB, s.mem.load1)
	}
	sample()
	tick := time.NewTicker(*every)
	for end := start.Add(*duration); time.Now().Before(end); {
		<-tick.C
		sample()
	}
	tick.Stop()
	close(stop)
	workers.Wait()
	rep := soakReport(samples, *warmup, len(ps), strings.Join(os.Args, " "), sides.where, commit)
	for _, p := range ps {
		p.close()
	}
	os.Stdout.WriteString(rep)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(rep), 0o644); err != nil {
			fatalf("%v", err)
		}
	}
	if !strings.Contains(rep, "verdict: flat") {
		os.Exit(1)
	}
}

// soakWarmup is the default warm-up. The pairs are made together at the
// start, so their state lies packed in the heap; restarts and stream
// cycles replace it piece by piece among short-lived garbage, and the
// heap's unused share of its spans (/memory/classes/heap/unused) grows
// until most of it has been replaced: each pair restarts every
// pairs × restart-every on average (500 s with the defaults), and this
// growth slows down over the first 10 minutes (RELIABILITY.md, "Soak").
// Measured from 2 minutes, as before, it put RSS over the 5 % goal with
// the live heap flat.
const soakWarmup = 10 * time.Minute

// soakReport writes the table and the verdict: after the warm-up, RSS,
// the live Go heap, goroutines and fds grow by at most 5 % over their
// first value, and no component FAILED.
func soakReport(ss []soakSample, warmup time.Duration, pairs int, cmdline string, where string, commit string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# nicebench soak\n\n- date: %s, gonice %s, %s, %d CPUs\n- %d pairs (%d agents) %s\n- command: `%s`\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), commit, runtime.Version(), runtime.NumCPU(), pairs, 2*pairs, where, cmdline)
	fmt.Fprintf(&b, "| time | RSS KB | Go heap live KB | goroutines | fds | READY pairs | FAILED | restarts (failed) | streams added+removed (failed) | data received/sent |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range ss {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d (%d) | %d (%d) | %d / %d |\n", s.at.Round(time.Second), s.rssKB, s.heapKB,
			s.goroutines, s.fds, s.ready, s.failed, s.restarts, s.restartFails, s.streams, s.streamFails, s.received, s.sent)
	}
	verdict(&b, ss, warmup)
	soakMemTables(&b, ss)
	return b.String()
}

// verdict writes the growth after the warm-up and the verdict line.
func verdict(b *bytes.Buffer, ss []soakSample, warmup time.Duration) {
	var base *soakSample
	var worst [4]float64 // growth over the base: RSS, live heap, goroutines, fds
	for i := range ss {
		if ss[i].at < warmup {
			continue
		}
		if base == nil {
			base = &ss[i]
			continue
		}
		for k, v := range [4][2]int64{{ss[i].rssKB, base.rssKB}, {ss[i].heapKB, base.heapKB}, {ss[i].goroutines, base.goroutines}, {ss[i].fds, base.fds}} {
			worst[k] = max(worst[k], float64(v[0]-v[1])/float64(max(v[1], 1)))
		}
	}
	last := ss[len(ss)-1]
	if base == nil || base == &ss[len(ss)-1] {
		fmt.Fprintf(b, "\nverdict: too short (fewer than two samples after the warm-up of %v)\n", warmup)
		return
	}
	flat := last.failed == 0 && last.restartFails == 0 && last.streamFails == 0
	for _, w := range worst {
		flat = flat && w <= 0.05
	}
	v := "flat"
	if !flat {
		v = "NOT flat"
	}
	fmt.Fprintf(b, "\nAfter the warm-up (%v; base the sample at %v): largest growth RSS %+.1f %%, live Go heap %+.1f %%, goroutines %+.1f %%, fds %+.1f %%; FAILED components %d, failed restarts %d, failed stream cycles %d.\n",
		warmup, base.at.Round(time.Second), 100*worst[0], 100*worst[1], 100*worst[2], 100*worst[3], last.failed, last.restartFails, last.streamFails)
	k := func(s *soakSample, n string) int64 { return s.mem.m["/memory/classes/"+n+":bytes"] }
	fmt.Fprintf(b, "From the base to the end (KB): RSS anon %+d, RSS file %+d, OS threads %+d; Go's heap objects %+d, heap unused %+d, heap free %+d, heap stacks %+d, mspan %+d, metadata other %+d, profiling buckets %+d, other %+d.\n",
		last.mem.rssAnonKB-base.mem.rssAnonKB, last.mem.rssFileKB-base.mem.rssFileKB, last.mem.threads-base.mem.threads,
		k(&last, "heap/objects")-k(base, "heap/objects"), k(&last, "heap/unused")-k(base, "heap/unused"),
		k(&last, "heap/free")-k(base, "heap/free"), k(&last, "heap/stacks")-k(base, "heap/stacks"),
		k(&last, "metadata/mspan/inuse")+k(&last, "metadata/mspan/free")-k(base, "metadata/mspan/inuse")-k(base, "metadata/mspan/free"),
		k(&last, "metadata/other")-k(base, "metadata/other"), k(&last, "profiling/buckets")-k(base, "profiling/buckets"),
		k(&last, "other")-k(base, "other"))
	fmt.Fprintf(b, "\nverdict: %s (goal: RSS, live Go heap, goroutines and fds grow ≤ 5 %%, nothing FAILED)\n", v)
}
