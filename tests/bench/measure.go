// SPDX-License-Identifier: MIT

package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cpuUS is the process's user + system CPU time in microseconds.
func cpuUS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return -1
	}
	return ru.Utime.Sec*1e6 + ru.Utime.Usec + ru.Stime.Sec*1e6 + ru.Stime.Usec
}

// rssKB is the resident set size from /proc/self/statm.
func rssKB() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize()) / 1024
}

// countDir counts the entries of a /proc directory (fd, task).
func countDir(path string) int {
	d, err := os.ReadDir(path)
	if err != nil {
		return -1
	}
	return len(d)
}

// rcvbufErrors is the kernel's Udp RcvbufErrors counter (all sockets).
func rcvbufErrors() int64 {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		head := sc.Text()
		if !strings.HasPrefix(head, "Udp:") || !sc.Scan() {
			continue
		}
		names, vals := strings.Fields(head), strings.Fields(sc.Text())
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(vals) {
				v, _ := strconv.ParseInt(vals[i], 10, 64)
				return v
			}
		}
	}
	return -1
}

// heapKB is the live Go heap after two collections.
func heapKB() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc / 1024)
}

// snapshot is what the idle and scale tests compare before and after.
type snapshot struct {
	rss, heap             int64
	fds, threads, gorouts int
}

func takeSnapshot() snapshot {
	h := heapKB() // collects first, so RSS is read after the GC
	return snapshot{
		rss:     rssKB(),
		heap:    h,
		fds:     countDir("/proc/self/fd"),
		threads: countDir("/proc/self/task"),
		gorouts: runtime.NumGoroutine(),
	}
}

// writeProfiles writes a heap profile to $NICEBENCH_MEMPROFILE, if set,
// and prints the Go runtime's memory classes on stderr: for finding what an
// idle agent costs.
func writeProfiles() {
	path := os.Getenv("NICEBENCH_MEMPROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		fatalf("%v", err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fatalf("%v", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "heap in use %d KB, stacks %d KB, mspan %d KB, other sys %d KB, goroutines %d\n",
		ms.HeapInuse>>10, ms.StackInuse>>10, ms.MSpanInuse>>10, ms.OtherSys>>10, runtime.NumGoroutine())
}

// startCPUProfile profiles the idle CPU window into $NICEBENCH_CPUPROFILE,
// if set; the returned function stops it.
func startCPUProfile() func() {
	path := os.Getenv("NICEBENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fatalf("%v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fatalf("%v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// emit prints the worker's one JSON result line.
func emit(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		fatalf("encoding the result: %v", err)
	}
	fmt.Println(string(b))
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "nicebench: "+format+"\n", args...)
	os.Exit(1)
}

func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// options are the worker options of every test (tests/bench/README.md).
type options struct {
	runs                  int
	nomination            string
	size                  int
	seconds, warmup       float64
	pairs, agents         int
	memAt, cpuFrom, cpuTo float64
	probeFor              float64
	consent               string
	burst                 int
	profile               string
	lite                  bool
	senders               int
	sends                 int
	clients               string
	stamp                 string
}

func parseOptions(args []string) options {
	var o options
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	fs.IntVar(&o.runs, "runs", 20, "connect: runs")
	fs.StringVar(&o.nomination, "nomination", "regular", "connect: regular or aggressive")
	fs.IntVar(&o.size, "size", 1200, "throughput: packet size")
	fs.Float64Var(&o.seconds, "seconds", 3, "throughput: window (s)")
	fs.Float64Var(&o.warmup, "warmup", 0.2, "throughput: warm-up (s)")
	fs.IntVar(&o.pairs, "pairs", 200, "idle, mux-pps: connected pairs")
	fs.IntVar(&o.agents, "agents", 10000, "scale: agents")
	fs.Float64Var(&o.memAt, "mem-at", 2, "idle/scale: memory read this long after the last READY (s)")
	fs.Float64Var(&o.cpuFrom, "cpu-from", 12, "idle/scale: CPU window start after the last READY (s)")
	fs.Float64Var(&o.cpuTo, "cpu-to", 22, "idle/scale: CPU window end after the last READY (s)")
	fs.Float64Var(&o.probeFor, "probe-for", 20, "scale: how long consent timing is checked after the CPU window (s)")
	fs.StringVar(&o.consent, "consent", "on", "gonice: RFC 7675 consent freshness on or off")
	fs.IntVar(&o.burst, "burst", 1, "throughput (gonice): datagrams per SendMessages call; 1 uses Send")
	fs.StringVar(&o.profile, "profile", "", "srtp: the SRTP profile; throughput (gonice): through DTLS-SRTP with it (aes-cm-80, aes-cm-32, gcm-128, gcm-256)")
	fs.IntVar(&o.senders, "senders", 2, "mux-pps: sender goroutines")
	fs.BoolVar(&o.lite, "lite", false, "mux (gonice): the server agents are ICE-lite")
	fs.IntVar(&o.sends, "sends", 20000, "mux (gonice): Sends timed per latency figure (2,000 a second)")
	fs.StringVar(&o.clients, "clients", "same", "mux-pps (gonice, raw-c): the clients (senders) in the same process as the mux, or in a second one (process)")
	fs.StringVar(&o.stamp, "stamp", "reader", "connect (raw-go): stamp the end on the reader goroutine, or on a goroutine started then (goroutine)")
	_ = fs.Parse(args)
	return o
}

// later returns the later of two instants.
func later(x, y time.Time) time.Time {
	if y.After(x) {
		return y
	}
	return x
}

// connectSamples is the connect test: runs connections, each returning
// when checks started and when both sides were READY.
func connectSamples(runs int, connect func() (t0, ready time.Time, err error)) {
	var samples []float64
	for range runs {
		t0, ready, err := connect()
		if err != nil {
			fatalf("connect: %v", err)
		}
		samples = append(samples, float64(ready.Sub(t0).Nanoseconds())/1e6)
	}
	emit(map[string]any{"samples_ms": samples})
}

// idleMeasure is the common part of the idle test (tests/bench/README.md):
// it connects n pairs, 20 at a time (connect returns a pair and when both
// its sides were READY), reads memory, fds, threads and goroutines against
// base, and the process CPU over the window. The caller adds still_ready
// (and anything else) to the result and closes the pairs.
func idleMeasure[P any](o options, n int, base snapshot, connect func() (P, time.Time, error)) ([]P, map[string]any) {
	all := make([]P, n)
	var lastReady time.Time
	var mu sync.Mutex
	const batch = 20
	for i := 0; i < n; i += batch {
		var wg sync.WaitGroup
		errs := make(chan error, batch)
		for j := i; j < min(i+batch, n); j++ {
			wg.Go(func() {
				p, ready, err := connect()
				if err != nil {
					errs <- err
					return
				}
				all[j] = p
				mu.Lock()
				lastReady = later(lastReady, ready)
				mu.Unlock()
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			fatalf("connecting pair: %v", err)
		}
	}
	time.Sleep(time.Until(lastReady.Add(secs(o.memAt))))
	s := takeSnapshot()
	writeProfiles()
	time.Sleep(time.Until(lastReady.Add(secs(o.cpuFrom))))
	stop := startCPUProfile()
	c0, w0 := cpuUS(), time.Now()
	time.Sleep(time.Until(lastReady.Add(secs(o.cpuTo))))
	c1, w1 := cpuUS(), time.Now()
	stop()
	return all, map[string]any{
		"pairs": n, "rss_kb": s.rss - base.rss, "heap_kb": s.heap - base.heap,
		"fds": s.fds - base.fds, "threads": s.threads - base.threads,
		"goroutines": s.gorouts - base.gorouts,
		"cpu_us":     c1 - c0, "cpu_seconds": w1.Sub(w0).Seconds(),
	}
}
