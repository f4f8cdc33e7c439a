// SPDX-License-Identifier: MIT

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"time"
)

// What the soak reads of memory besides RSS: the Go runtime's own account
// (runtime/metrics, /memory/classes/...: every byte the runtime has mapped,
// by what it is for) and the kernel's split of RSS (/proc/self/status:
// anonymous and file-backed pages, OS threads). Go's classes do not cover
// the binary's own pages (text, data, bss) nor anything mapped by C code, so
// RSS minus what Go holds resident is memory Go does not know of.

// soakMetricNames are the runtime/metrics samples read at every sample.
var soakMetricNames = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/os-stacks:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes",
	"/memory/classes/metadata/mspan/free:bytes",
	"/memory/classes/metadata/mcache/inuse:bytes",
	"/memory/classes/metadata/mcache/free:bytes",
	"/memory/classes/metadata/other:bytes",
	"/memory/classes/profiling/buckets:bytes",
	"/memory/classes/other:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/live:bytes",
	"/gc/heap/objects:objects",
	"/gc/heap/goal:bytes",
	"/gc/cycles/total:gc-cycles",
	"/gc/scan/stack:bytes",
	"/gc/stack/starting-size:bytes",
	"/sched/goroutines-created:goroutines",
}

// soakMem is one sample's memory detail, in KB except where said.
type soakMem struct {
	rssAnonKB, rssFileKB, rssShmemKB, threads int64
	m                                         map[string]int64 // runtime/metrics by name; :bytes in KB
	peak                                      soakPeak         // since the previous sample
	load1                                     string           // the machine's load average (1 minute)
}

// soakPeak is the most seen between two samples by a watcher that reads
// the goroutine count and the heap (garbage included) every 10 ms: the
// samples see the process after a collection, the peaks what it went
// through.
type soakPeak struct {
	goroutines, heapKB int64
}

// peakWatcher records soakPeak until stop is closed.
type peakWatcher struct {
	mu   sync.Mutex
	peak soakPeak
}

func (w *peakWatcher) run(stop <-chan struct{}) {
	ss := []metrics.Sample{{Name: "/sched/goroutines:goroutines"}, {Name: "/memory/classes/heap/objects:bytes"}}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(ss)
		g, h := int64(ss[0].Value.Uint64()), int64(ss[1].Value.Uint64()>>10)
		w.mu.Lock()
		w.peak.goroutines, w.peak.heapKB = max(w.peak.goroutines, g), max(w.peak.heapKB, h)
		w.mu.Unlock()
	}
}

// take returns the peaks since the last take and starts again.
func (w *peakWatcher) take() soakPeak {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.peak
	w.peak = soakPeak{}
	return p
}

// goHeldKB is what Go has mapped and not returned to the system (some of it
// may never have been touched, and so not be resident):
// /memory/classes/total minus heap/released.
func (m soakMem) goHeldKB() int64 {
	return m.m["/memory/classes/total:bytes"] - m.m["/memory/classes/heap/released:bytes"]
}

func readSoakMem() soakMem {
	ss := make([]metrics.Sample, len(soakMetricNames))
	for i, n := range soakMetricNames {
		ss[i].Name = n
	}
	metrics.Read(ss)
	m := soakMem{m: make(map[string]int64, len(ss))}
	for _, s := range ss {
		var v int64 = -1
		if s.Value.Kind() == metrics.KindUint64 {
			v = int64(s.Value.Uint64())
			if strings.HasSuffix(s.Name, ":bytes") {
				v >>= 10
			}
		}
		m.m[s.Name] = v
	}
	st := procStatus("/proc/self/status", "RssAnon", "RssFile", "RssShmem", "Threads")
	m.rssAnonKB, m.rssFileKB, m.rssShmemKB, m.threads = st[0], st[1], st[2], st[3]
	m.load1 = "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			m.load1 = f[0]
		}
	}
	return m
}

// procStatus reads the named fields of a /proc/<pid>/status file (the
// first number of each: kB for sizes); -1 for one not found.
func procStatus(path string, names ...string) []int64 {
	out := make([]int64, len(names))
	for i := range out {
		out[i] = -1
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for i, n := range names {
			if k == n {
				if f := strings.Fields(v); len(f) > 0 {
					out[i], _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
	}
	return out
}

// saveDump copies /proc/self/smaps to dir and writes a heap profile there
// (pprof, in use since the start, allocations sampled at the default
// rate), named by the time since the start, so that two samples can be
// compared mapping by mapping and allocation site by allocation site.
func saveDump(dir string, at time.Duration) {
	name := filepath.Join(dir, fmt.Sprintf("%05ds", int(at.Seconds())))
	b, err := os.ReadFile("/proc/self/smaps")
	if err == nil {
		err = os.WriteFile(name+".smaps", b, 0o644)
	}
	if err == nil {
		var f *os.File
		if f, err = os.Create(name + ".heap.pprof"); err == nil {
			err = pprof.Lookup("heap").WriteTo(f, 0)
			if e := f.Close(); err == nil {
				err = e
			}
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "nicebench soak: dump: %v\n", err)
	}
}

// soakMemTables writes the memory detail of every sample: Go's memory
// classes, then RSS against what Go holds.
func soakMemTables(b *bytes.Buffer, ss []soakSample) {
	k := func(s soakSample, n string) int64 { return s.mem.m["/memory/classes/"+n+":bytes"] }
	fmt.Fprintf(b, "\nGo's memory classes (runtime/metrics, /memory/classes/..., KB):\n\n")
	fmt.Fprintf(b, "| time | heap objects | heap unused | heap free | heap released | heap stacks | os-stacks | mspan in use | mspan free | mcache in use+free | metadata other | profiling buckets | other | total |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range ss {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n", s.at.Round(time.Second),
			k(s, "heap/objects"), k(s, "heap/unused"), k(s, "heap/free"), k(s, "heap/released"), k(s, "heap/stacks"),
			k(s, "os-stacks"), k(s, "metadata/mspan/inuse"), k(s, "metadata/mspan/free"),
			k(s, "metadata/mcache/inuse")+k(s, "metadata/mcache/free"), k(s, "metadata/other"),
			k(s, "profiling/buckets"), k(s, "other"), k(s, "total"))
	}
	fmt.Fprintf(b, "\nRSS against what Go holds (KB; “Go mapped, not released” is /memory/classes/total − heap/released; part of it may never have been touched, so RSS anon − that is a lower bound of the anonymous memory Go does not count (the binary's written data and bss, C allocations) and can be negative):\n\n")
	fmt.Fprintf(b, "| time | RSS | RSS anon | RSS file | OS threads | Go mapped, not released | RSS anon − that | live heap (/gc/heap/live) | heap objects | GC cycles | stacks scanned (/gc/scan/stack) | new stack size | goroutines created | peak goroutines | peak heap objects, garbage included | load average |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range ss {
		fmt.Fprintf(b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d | %s |\n", s.at.Round(time.Second), s.rssKB,
			s.mem.rssAnonKB, s.mem.rssFileKB, s.mem.threads, s.mem.goHeldKB(), s.mem.rssAnonKB-s.mem.goHeldKB(),
			s.mem.m["/gc/heap/live:bytes"], s.mem.m["/gc/heap/objects:objects"], s.mem.m["/gc/cycles/total:gc-cycles"],
			s.mem.m["/gc/scan/stack:bytes"], s.mem.m["/gc/stack/starting-size:bytes"], s.mem.m["/sched/goroutines-created:goroutines"],
			s.mem.peak.goroutines, s.mem.peak.heapKB, s.mem.load1)
	}
}
