// SPDX-License-Identifier: MIT

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gonice/gonice/nice"
)

// mux-pps with --clients process (tests/bench/README.md, mux-pps): the
// server agents and their mux in this process, the client agents and the
// sender goroutines in a second one (`nicebench worker gonice
// mux-pps-clients`, started here), as c/rawmux_worker.c's --clients
// process forks its sender threads into a child. The two exchange each
// pair's credentials and candidates as JSON lines on the child's stdin and
// stdout; the senders' counters and stop flag are in a file mapping both
// share (the child's fd 3), so reading them costs nothing and needs no
// goroutine of the child to be scheduled. The child's CPU time is read from
// /proc/PID/stat and added to this process's.

// muxPPSOffer is one side's credentials and candidates ("a=candidate:"
// lines) for pair I.
type muxPPSOffer struct {
	I     int      `json:"i"`
	Ufrag string   `json:"ufrag"`
	Pwd   string   `json:"pwd"`
	Cands []string `json:"cands"`
}

func offerOf(a *nice.Agent, sid, i int) (muxPPSOffer, error) {
	u, p, err := a.LocalCredentials(sid)
	if err != nil {
		return muxPPSOffer{}, err
	}
	cs, err := a.LocalCandidates(sid, 1)
	if err != nil {
		return muxPPSOffer{}, err
	}
	o := muxPPSOffer{I: i, Ufrag: u, Pwd: p}
	for _, c := range cs {
		o.Cands = append(o.Cands, a.GenerateLocalCandidateSDP(c))
	}
	return o, nil
}

// applyOffer sets the other side's credentials and candidates.
func applyOffer(a *nice.Agent, sid int, o muxPPSOffer) error {
	if err := a.SetRemoteCredentials(sid, o.Ufrag, o.Pwd); err != nil {
		return err
	}
	var cs []nice.Candidate
	for _, l := range o.Cands {
		c, err := a.ParseRemoteCandidateSDP(sid, l)
		if err != nil {
			return err
		}
		cs = append(cs, c)
	}
	_, err := a.SetRemoteCandidates(sid, 1, cs)
	return err
}

// sharedMem maps a file of n bytes for the counters shared with the child.
func sharedMem(n int) (*os.File, []byte) {
	f, err := os.CreateTemp("", "nicebench-muxpps-*")
	if err != nil {
		fatalf("%v", err)
	}
	os.Remove(f.Name())
	if err := f.Truncate(int64(n)); err != nil {
		fatalf("%v", err)
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		fatalf("mmap: %v", err)
	}
	return f, mem
}

// procCPUUS is a process's user + system CPU time from /proc/PID/stat, in
// microseconds (clock ticks of 10 ms).
func procCPUUS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return (ut + st) * 10000 // USER_HZ is 100 on Linux
}

// muxPPSApart is mux-pps with the clients in a second process.
func muxPPSApart(o options) {
	srv := muxPPSServer(o)
	defer srv.Close()
	f, mem := sharedMem(muxCountersSize(o.senders))
	c := newMuxCounters(mem, o.senders)

	self, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	cmd := exec.Command(self, "worker", "gonice", "mux-pps-clients", "--pairs", strconv.Itoa(o.pairs),
		"--senders", strconv.Itoa(o.senders), "--burst", strconv.Itoa(o.burst), "--size", strconv.Itoa(o.size))
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	if p := os.Getenv("NICEBENCH_CPUPROFILE"); p != "" {
		cmd.Env = append(os.Environ(), "NICEBENCH_CPUPROFILE="+p+".clients")
	}
	toChild, err := cmd.StdinPipe()
	if err != nil {
		fatalf("%v", err)
	}
	fromChild, err := cmd.StdoutPipe()
	if err != nil {
		fatalf("%v", err)
	}
	if err := cmd.Start(); err != nil {
		fatalf("starting the clients: %v", err)
	}
	lines := bufio.NewScanner(fromChild)
	lines.Buffer(make([]byte, 64<<10), 1<<20)

	// Server agents on the mux; each one's offer goes to the child, whose
	// answers (client credentials and candidates) come back in any order.
	var rx atomic.Int64
	count := func(_, _ int, _ []byte) { rx.Add(1) }
	agents := make([]*nice.Agent, o.pairs)
	sids := make([]int, o.pairs)
	ready := make(chan struct{}, o.pairs)
	defer func() {
		var cw sync.WaitGroup
		for _, a := range agents {
			if a != nil {
				cw.Go(func() { a.Close() })
			}
		}
		cw.Wait()
	}()
	offers := make([]muxPPSOffer, o.pairs)
	for i := range agents {
		a, err := nice.NewAgent(nice.Config{Muxes: []*nice.UDPMux{srv}})
		if err != nil {
			fatalf("agent: %v", err)
		}
		agents[i] = a
		var once sync.Once
		a.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
			if s == nice.ComponentStateReady {
				once.Do(func() { ready <- struct{}{} })
			}
		})
		if sids[i], err = a.AddStream(1); err == nil {
			err = a.GatherCandidates(sids[i])
		}
		if err == nil {
			err = a.AttachRecv(sids[i], 1, count)
		}
		if err == nil {
			offers[i], err = offerOf(a, sids[i], i)
		}
		if err != nil {
			fatalf("server agent %d: %v", i, err)
		}
	}
	// The offers are written while the answers are read: neither pipe
	// holds them all.
	go func() {
		w := bufio.NewWriter(toChild)
		enc := json.NewEncoder(w)
		for _, off := range offers {
			if err := enc.Encode(off); err != nil {
				fatalf("to the clients: %v", err)
			}
		}
		if err := w.Flush(); err != nil {
			fatalf("to the clients: %v", err)
		}
	}()
	for range o.pairs {
		if !lines.Scan() {
			fatalf("the clients ended: %v", lines.Err())
		}
		var ans muxPPSOffer
		if err := json.Unmarshal(lines.Bytes(), &ans); err != nil || ans.I < 0 || ans.I >= o.pairs {
			fatalf("from the clients: %q: %v", lines.Text(), err)
		}
		if err := applyOffer(agents[ans.I], sids[ans.I], ans); err != nil {
			fatalf("pair %d: %v", ans.I, err)
		}
	}
	timeout := time.After(60 * time.Second)
	for range o.pairs {
		select {
		case <-ready:
		case <-timeout:
			fatalf("the server agents did not all become READY in 60 s")
		}
	}
	expect := func(word string) {
		if !lines.Scan() || lines.Text() != word {
			fatalf("from the clients: %q, not %q: %v", lines.Text(), word, lines.Err())
		}
	}
	expect("ready")

	rx.Store(0)
	rbStart := rcvbufErrors()
	fmt.Fprintln(toChild, "go")
	pid := cmd.Process.Pid
	time.Sleep(secs(o.warmup))
	stopProfile := startCPUProfile()
	st0, h0 := srv.Stats(), schedLatencies()
	tx0, e0 := c.sum()
	rx0, cpu0, ccpu0, rb0, t0 := rx.Load(), cpuUS(), procCPUUS(pid), rcvbufErrors(), time.Now()
	time.Sleep(secs(o.seconds))
	tx1, e1 := c.sum()
	rx1, cpu1, ccpu1, rb1, t1 := rx.Load(), cpuUS(), procCPUUS(pid), rcvbufErrors(), time.Now()
	st1, h1 := srv.Stats(), schedLatencies()
	stopProfile()
	c.stop.Store(1)
	expect("stopped")
	txAll, _ := c.sum()
	rxAll := drain(&rx)
	rbAll := rcvbufErrors() - rbStart
	fmt.Fprintln(toChild, "close")
	toChild.Close()
	_, _ = io.Copy(io.Discard, fromChild)
	if err := cmd.Wait(); err != nil {
		fatalf("the clients: %v", err)
	}
	emit(map[string]any{
		"pairs": o.pairs, "senders": o.senders, "burst": o.burst,
		"tx": tx1 - tx0, "rx": rx1 - rx0, "seconds": t1.Sub(t0).Seconds(),
		"tx_all": txAll, "rx_all": rxAll,
		"send_errors": e1 - e0, "rcvbuf_errors": rb1 - rb0, "rcvbuf_errors_all": rbAll, "sched": schedSummary(h0, h1),
		"cpu_s":         float64(cpu1-cpu0+ccpu1-ccpu0) / 1e6,
		"cpu_s_server":  float64(cpu1-cpu0) / 1e6,
		"cpu_s_clients": float64(ccpu1-ccpu0) / 1e6,
		"batches":       st1.Batches - st0.Batches, "read": st1.Received - st0.Received,
		"noroute": st1.NoRoute - st0.NoRoute, "gomaxprocs": runtime.GOMAXPROCS(0), "clients": "process",
	})
}

// muxPPSClients is the second process of muxPPSApart: for each server
// offer on stdin, a controlling client agent on a socket of its own (50
// connecting at a time), its answer on stdout; "ready" once all are READY;
// on "go" the senders start, counting into the shared mapping (fd 3) until
// its stop flag is set; then "stopped"; on "close" (or end of input) the
// agents close and the process exits.
func muxPPSClients(o options) {
	raiseNoFile(uint64(o.pairs) + 256)
	f := os.NewFile(3, "counters")
	n := muxCountersSize(o.senders)
	mem, err := syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		fatalf("clients: mmap: %v", err)
	}
	c := newMuxCounters(mem, o.senders)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	var outMu sync.Mutex
	out := json.NewEncoder(os.Stdout)
	pairs := make([]*gnPair, o.pairs)
	readies := make([]chan time.Time, o.pairs)
	sem := make(chan struct{}, 50)
	var wg sync.WaitGroup
	for range o.pairs {
		if !in.Scan() {
			fatalf("clients: input ended: %v", in.Err())
		}
		var off muxPPSOffer
		if err := json.Unmarshal(in.Bytes(), &off); err != nil || off.I < 0 || off.I >= o.pairs {
			fatalf("clients: %q: %v", in.Text(), err)
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			i := off.I
			readies[i] = make(chan time.Time, 1)
			a, sid, err := gnAgent(nice.Config{Controlling: true}, readies[i])
			if err != nil {
				fatalf("client %d: %v", i, err)
			}
			pairs[i] = &gnPair{a: a, sa: sid}
			if err := applyOffer(a, sid, off); err != nil {
				fatalf("client %d: %v", i, err)
			}
			ans, err := offerOf(a, sid, i)
			if err != nil {
				fatalf("client %d: %v", i, err)
			}
			outMu.Lock()
			err = out.Encode(ans)
			outMu.Unlock()
			if err != nil {
				fatalf("clients: %v", err)
			}
		})
	}
	wg.Wait()
	timeout := time.After(60 * time.Second)
	for i, ch := range readies {
		select {
		case <-ch:
		case <-timeout:
			fatalf("clients: client %d did not become READY in 60 s", i)
		}
	}
	defer func() {
		var cw sync.WaitGroup
		for _, p := range pairs {
			cw.Go(func() { p.a.Close() })
		}
		cw.Wait()
	}()
	fmt.Println("ready")
	for in.Scan() {
		switch in.Text() {
		case "go":
			stopProfile := startCPUProfile()
			sw := startMuxSenders(o, pairs, c)
			sw.Wait()
			stopProfile()
			fmt.Println("stopped")
		case "close":
			return
		default:
			fatalf("clients: %q", in.Text())
		}
	}
	if err := in.Err(); err != nil && !errors.Is(err, io.EOF) {
		fatalf("clients: %v", err)
	}
}
