// SPDX-License-Identifier: MIT

package main

// The library threads of thread mode (gonice.h, "Threads and callbacks"):
// a bounded pool of OS threads that run the C callbacks of every agent and
// connection not in dispatch mode. An entry with callbacks to deliver is
// put on one run queue, once (entry.scheduled); a pool thread takes it,
// delivers what its queue holds, and puts it back at the tail if more came
// meanwhile. So an entry's callbacks run in order and one at a time, while
// different entries' run in parallel on different threads; a callback that
// blocks holds its own thread only, and the others go on serving the queue.

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
)

// maxPoolThreads bounds GONICE_THREADS.
const maxPoolThreads = 1024

var pool struct {
	once sync.Once
	max  int // the pool's size: threads are started up to it

	mu      sync.Mutex
	cond    *sync.Cond // a pool thread waits here for the run queue
	runq    []*entry   // entries with callbacks to deliver, oldest first
	head    int        // runq[head:] is the queue
	threads int        // pool threads started
	idle    int        // pool threads waiting in cond
}

// poolSize is the pool's size: GONICE_THREADS if it is a number from 1 to
// maxPoolThreads, otherwise max(4, GOMAXPROCS).
func poolSize() int {
	if v, err := strconv.Atoi(os.Getenv("GONICE_THREADS")); err == nil && v >= 1 {
		return min(v, maxPoolThreads)
	}
	return max(4, runtime.GOMAXPROCS(0))
}

// schedule puts e on the run queue, starting a pool thread if none is idle
// and the pool is not full. e.qmu is held and e.scheduled was false.
func (e *entry) schedule() {
	pool.once.Do(func() {
		pool.max = poolSize()
		pool.cond = sync.NewCond(&pool.mu)
	})
	pool.mu.Lock()
	if pool.head > 0 && 2*pool.head >= len(pool.runq) { // reuse the taken half
		n := copy(pool.runq, pool.runq[pool.head:])
		clear(pool.runq[n:])
		pool.runq, pool.head = pool.runq[:n], 0
	}
	pool.runq = append(pool.runq, e)
	if pool.idle > 0 {
		pool.cond.Signal()
	} else if pool.threads < pool.max {
		pool.threads++
		go poolThread() // a library thread, for the life of the process
	}
	pool.mu.Unlock()
}

// poolThread is one library thread: it delivers the callbacks of the
// entries on the run queue, one entry at a time.
func poolThread() {
	runtime.LockOSThread() // never unlocked: callbacks see one OS thread
	tid := int64(syscall.Gettid())
	for {
		pool.mu.Lock()
		for pool.head == len(pool.runq) {
			pool.idle++
			pool.cond.Wait()
			pool.idle--
		}
		e := pool.runq[pool.head]
		pool.runq[pool.head] = nil
		pool.head++
		pool.mu.Unlock()
		e.runScheduled(tid)
	}
}

// runScheduled delivers what e's queue holds, on pool thread tid; then e
// goes back on the run queue if more came meanwhile, or leaves it.
func (e *entry) runScheduled(tid int64) {
	e.qmu.Lock()
	if e.freed.Load() {
		e.scheduled = false
		e.qmu.Unlock()
		return
	}
	e.runTid = tid
	batch := e.takeLocked()
	e.qmu.Unlock()

	e.run(batch)
	e.recycle(batch)

	e.qmu.Lock()
	e.runTid = 0
	if e.freed.Load() {
		e.scheduled = false
		e.idle.Broadcast() // a gonice_*_free waits for this callback
	} else if len(e.q) > 0 {
		e.schedule() // at the tail: the others' turn first
	} else {
		e.scheduled = false
	}
	e.qmu.Unlock()
}

// waitCallbacks waits until no callback of e (in thread mode) runs, unless
// the caller is that callback's thread. e.freed is set, so no other starts.
func (e *entry) waitCallbacks() {
	tid := int64(syscall.Gettid())
	e.qmu.Lock()
	for e.runTid != 0 && e.runTid != tid {
		e.idle.Wait()
	}
	e.qmu.Unlock()
}
