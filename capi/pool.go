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

// maxPoolThreads bounds GONICE_THREADS and gonice_set_thread_pool_size.
const maxPoolThreads = 1024

var pool struct {
	once sync.Once

	mu      sync.Mutex
	max     int        // the pool's size: threads are started up to it
	cond    *sync.Cond // a pool thread waits here for the run queue
	runq    []*entry   // entries with callbacks to deliver, oldest first
	head    int        // runq[head:] is the queue
	threads int        // pool threads started
	idle    int        // pool threads waiting in cond, not yet woken
}

// poolSize is the pool's initial size: GONICE_THREADS if it is a number
// from 1 (larger is maxPoolThreads), otherwise max(4, GOMAXPROCS).
func poolSize() int {
	if v, err := strconv.Atoi(os.Getenv("GONICE_THREADS")); err == nil && v >= 1 {
		return min(v, maxPoolThreads)
	}
	return max(4, runtime.GOMAXPROCS(0))
}

// poolInit sizes the pool, once, on first use.
func poolInit() {
	pool.once.Do(func() {
		pool.max = poolSize()
		pool.cond = sync.NewCond(&pool.mu)
	})
}

// setPoolSize sets the pool's size to n if n > 0 (gonice_set_thread_pool_size)
// and returns the size it had.
func setPoolSize(n int) int {
	poolInit()
	pool.mu.Lock()
	defer pool.mu.Unlock()
	old := pool.max
	if n <= 0 {
		return old
	}
	pool.max = n
	// Threads above n end when they find the queue empty; entries that
	// wait with no thread idle get the threads a larger pool allows.
	waiting := len(pool.runq) - pool.head - pool.idle
	pool.cond.Broadcast()
	pool.idle = 0
	for ; waiting > 0 && pool.threads < pool.max; waiting-- {
		pool.threads++
		go poolThread()
	}
	return old
}

// schedule puts e on the run queue, starting a pool thread if none is idle
// and the pool is not full. e.qmu is held and e.scheduled was false.
func (e *entry) schedule() {
	poolInit()
	pool.mu.Lock()
	if pool.head > 0 && 2*pool.head >= len(pool.runq) { // reuse the taken half
		n := copy(pool.runq, pool.runq[pool.head:])
		clear(pool.runq[n:])
		pool.runq, pool.head = pool.runq[:n], 0
	}
	pool.runq = append(pool.runq, e)
	if pool.idle > 0 {
		pool.idle-- // so that the next entry wakes another
		pool.cond.Signal()
	} else if pool.threads < pool.max {
		pool.threads++
		go poolThread() // a library thread, until the pool is made smaller
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
			if pool.threads > pool.max { // the pool was made smaller
				pool.threads--
				pool.mu.Unlock()
				// The OS thread ends with its locked goroutine (but
				// for the runtime's m0, which it parks for good).
				return
			}
			pool.idle++ // the waker takes it back
			pool.cond.Wait()
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
