// SPDX-License-Identifier: MIT

package main

/*
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "core_abi.h"
#include "fastpath.h"

// Trampolines: Go calls C function pointers only through these.
static inline void call_gathering_done(void *fn, uintptr_t h, unsigned int sid, void *ud) {
	((gonice_candidate_gathering_done_cb)fn)((GoniceAgent *)h, sid, ud);
}
static inline void call_new_candidate(void *fn, uintptr_t h, unsigned int sid, unsigned int cid,
                                      const char *f, void *ud) {
	((gonice_new_candidate_cb)fn)((GoniceAgent *)h, sid, cid, f, ud);
}
static inline void call_new_candidate_full(void *fn, uintptr_t h, const GoniceCandidate *c, void *ud) {
	((gonice_new_candidate_full_cb)fn)((GoniceAgent *)h, c, ud);
}
static inline void call_state_changed(void *fn, uintptr_t h, unsigned int sid, unsigned int cid,
                                      int st, void *ud) {
	((gonice_component_state_changed_cb)fn)((GoniceAgent *)h, sid, cid, (GoniceComponentState)st, ud);
}
static inline void call_selected_pair(void *fn, uintptr_t h, unsigned int sid, unsigned int cid,
                                      const char *lf, const char *rf, void *ud) {
	((gonice_new_selected_pair_cb)fn)((GoniceAgent *)h, sid, cid, lf, rf, ud);
}
static inline void call_selected_pair_full(void *fn, uintptr_t h, unsigned int sid, unsigned int cid,
                                           const GoniceCandidate *l, const GoniceCandidate *r, void *ud) {
	((gonice_new_selected_pair_full_cb)fn)((GoniceAgent *)h, sid, cid, l, r, ud);
}
static inline void call_initial_binding(void *fn, uintptr_t h, unsigned int sid, void *ud) {
	((gonice_initial_binding_request_received_cb)fn)((GoniceAgent *)h, sid, ud);
}
static inline void call_streams_removed(void *fn, uintptr_t h, const unsigned int *ids, unsigned int n,
                                        void *ud) {
	((gonice_streams_removed_cb)fn)((GoniceAgent *)h, ids, n, ud);
}
static inline void call_recv(void *fn, uintptr_t h, unsigned int sid, unsigned int cid, unsigned int len,
                             char *buf, void *ud) {
	((gonice_agent_recv_cb)fn)((GoniceAgent *)h, sid, cid, len, buf, ud);
}
static inline void call_closed(void *fn, uintptr_t h, void *ud) {
	((gonice_agent_closed_cb)fn)((GoniceAgent *)h, ud);
}
static inline void call_conn_event(void *fn, uintptr_t h, int ev, const char *msg, void *ud) {
	((gonice_connection_event_cb)fn)((GoniceConnection *)h, ev, msg, ud);
}
static inline void call_conn_media(void *fn, uintptr_t h, const void *buf, size_t len, void *ud) {
	((gonice_connection_media_cb)fn)((GoniceConnection *)h, buf, len, ud);
}
static inline int new_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void poke_eventfd(int fd) { eventfd_write(fd, 1); }
static inline void drain_eventfd(int fd) { eventfd_t v; eventfd_read(fd, &v); }
*/
import "C"

import (
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// callback is a C function pointer and its user_data.
type callback struct {
	fn, ud unsafe.Pointer
}

type itemKind uint8

const (
	kGatheringDone itemKind = iota
	kNewCandidate
	kNewRemoteCandidate
	kStateChanged
	kSelectedPair
	kInitialBinding
	kStreamsRemoved
	kRecv
	kClosed
	kConnEvent // a connection's event: sid is its number, msg its message
	kConnRTP   // a connection's decrypted RTP packet, in data
	kConnRTCP  // a connection's decrypted RTCP packet, in data
)

// item is one pending callback: a signal, a received datagram, or the
// close_async completion. The candidates of the candidate and selected-pair
// signals are behind a pointer: an item is 104 bytes instead of 440, and
// the queues an entry keeps between batches (q, spare) are made of them.
type item struct {
	kind     itemKind
	sid, cid int
	state    nice.ComponentState
	cands    *[2]nice.Candidate // kNewCandidate, kNewRemoteCandidate: [0]; kSelectedPair: local, remote
	ids      []int
	data     *[]byte
	cb       callback
	msg      string
}

// keepSpare is the largest queue (in items) that an entry keeps for its
// next batch whatever the last batch used; a larger one is kept only while
// batches fill a quarter of it. So a burst of received datagrams in thread
// mode reuses its queue while the burst lasts, and an idle agent keeps at
// most two queues of keepSpare items (3.3 KB), not the largest burst it
// ever had.
const keepSpare = 16

// recvCB is the receive callback of one component.
type recvCB struct {
	sid, cid int
	cb       callback
}

// recvCallbacks are an entry's receive callbacks: a slice searched in order
// (an agent has a handful of components; a map costs 300 bytes for one).
type recvCallbacks []recvCB

// get returns the callback of component (sid, cid) and whether it has one.
func (r recvCallbacks) get(sid, cid int) (callback, bool) {
	for i := range r {
		if r[i].sid == sid && r[i].cid == cid {
			return r[i].cb, true
		}
	}
	return callback{}, false
}

// set sets the callback of component (sid, cid); a nil fn removes it.
func (r *recvCallbacks) set(sid, cid int, cb callback) {
	s := *r
	for i := range s {
		if s[i].sid == sid && s[i].cid == cid {
			if cb.fn == nil {
				s[i] = s[len(s)-1]
				*r = s[:len(s)-1]
			} else {
				s[i].cb = cb
			}
			return
		}
	}
	if cb.fn != nil {
		*r = append(s, recvCB{sid: sid, cid: cid, cb: cb})
	}
}

const maxQueuedData = C.GONICE_MAX_QUEUED_PACKETS

var dataPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// entry is the C side of one agent: its configuration until it starts, the
// nice.Agent after, its callbacks and its delivery queue.
type entry struct {
	h        uintptr
	dispatch bool // GONICE_AGENT_OPTION_DISPATCH

	mu      sync.Mutex // guards cfg, a, closing
	cfg     nice.Config
	a       *nice.Agent
	closing bool
	ap      atomic.Pointer[nice.Agent] // a, for the lock-free fast path

	cbmu sync.Mutex
	cbs  [C.GONICE_SIG_COUNT]callback
	recv recvCallbacks

	conn *connEntry // a GoniceConnection's; nil for an agent

	qmu       sync.Mutex // guards q, spare, nData, signaled, scheduled, runTid, efd, fp, sender
	q, spare  []item
	nData     int
	signaled  bool
	scheduled bool      // thread mode: on the pool's run queue, or being run (pool.go)
	runTid    int64     // thread mode: the pool thread delivering q, 0 if none
	idle      sync.Cond // thread mode, on qmu: runTid went to 0 after e was freed
	efd       C.int
	// fp is an agent's data path in C in dispatch mode (fastpath.c): its
	// eventfd is efd, it signals it, and received datagrams go there while
	// q is empty; nil for a connection, in thread mode, and once freed.
	fp      *C.FastPath
	sender  *os.File   // the sender goroutine's eventfd (fastsend.go), once started
	sendMu  sync.Mutex // held while queued sends are sent (sendQueued)
	sendRun [][]byte   // sendQueued's scratch: one component's run of datagrams

	freed       atomic.Bool
	dispatching atomic.Bool
}

func newEntry(options uint, cfg nice.Config) (*entry, error) {
	e := &entry{
		dispatch: options&C.GONICE_AGENT_OPTION_DISPATCH != 0,
		cfg:      withLogSink(cfg),
		efd:      -1,
	}
	e.idle.L = &e.qmu
	if e.dispatch {
		fd, err := C.new_eventfd()
		if fd < 0 {
			return nil, errf(C.GONICE_EIO, "gonice: eventfd: %v", err)
		}
		e.efd = fd
	}
	// In thread mode the callbacks run on the pool's threads (pool.go),
	// started when the first callback is queued.
	return e, nil
}

// agent returns the nice.Agent, creating it with the configured properties
// on first use.
func (e *entry) agent() (*nice.Agent, error) {
	if a := e.ap.Load(); a != nil {
		return a, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.a != nil {
		return e.a, nil
	}
	if e.closing {
		return nil, errf(C.GONICE_ECLOSED, "gonice: agent is closed")
	}
	a, err := nice.NewAgent(e.cfg)
	if err != nil {
		return nil, err
	}
	a.OnCandidateGatheringDone(func(sid int) { e.push(item{kind: kGatheringDone, sid: sid}) })
	a.OnNewCandidate(func(c nice.Candidate) { e.push(item{kind: kNewCandidate, cands: &[2]nice.Candidate{c}}) })
	a.OnNewRemoteCandidate(func(c nice.Candidate) { e.push(item{kind: kNewRemoteCandidate, cands: &[2]nice.Candidate{c}}) })
	a.OnComponentStateChanged(func(sid, cid int, s nice.ComponentState) {
		e.fastSendState(sid, cid, s)
		e.push(item{kind: kStateChanged, sid: sid, cid: cid, state: s})
	})
	a.OnNewSelectedPair(func(sid, cid int, l, r nice.Candidate) {
		e.push(item{kind: kSelectedPair, sid: sid, cid: cid, cands: &[2]nice.Candidate{l, r}})
	})
	a.OnInitialBindingRequestReceived(func(sid int) { e.push(item{kind: kInitialBinding, sid: sid}) })
	a.OnStreamsRemoved(func(ids []int) {
		for _, id := range ids {
			e.disableFastSends(id)
		}
		e.push(item{kind: kStreamsRemoved, ids: append([]int(nil), ids...)})
	})
	e.a = a
	e.ap.Store(a)
	return a, nil
}

// started reports whether the nice.Agent exists.
func (e *entry) started() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.a != nil
}

// onData is the nice receive function of every component with a C receive
// callback.
func (e *entry) onData(sid, cid int, p []byte) { e.queueData(kRecv, sid, cid, p) }

// queueData queues a received packet for a receive callback (an agent's
// datagram, a connection's RTP or RTCP packet): it copies p, which is only
// valid during the call.
func (e *entry) queueData(kind itemKind, sid, cid int, p []byte) {
	if e.freed.Load() {
		return
	}
	if kind == kRecv && e.fastRecv(sid, cid, p) {
		return
	}
	bp := dataPool.Get().(*[]byte)
	*bp = append((*bp)[:0], p...)
	e.qmu.Lock()
	if e.freed.Load() || e.nData >= maxQueuedData {
		e.qmu.Unlock()
		dataPool.Put(bp)
		return
	}
	e.nData++
	e.q = append(e.q, item{kind: kind, sid: sid, cid: cid, data: bp})
	e.wakeLocked()
	e.qmu.Unlock()
}

// fastRecv queues a received datagram in C (fastpath.c), where
// gonice_agent_dispatch delivers it without entering Go, if the entry has
// a C data path and nothing waits in q (what is in q goes first). It
// reports whether the datagram was taken (queued, or dropped because the C
// queue is full).
func (e *entry) fastRecv(sid, cid int, p []byte) bool {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	if e.fp == nil || e.freed.Load() || len(e.q) > 0 {
		return false
	}
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	if C.fast_push_recv(e.fp, C.uint(sid), C.uint(cid), ptr, C.uint(len(p))) == 0 {
		C.fast_wake(e.fp)
	}
	return true
}

// push queues a signal.
func (e *entry) push(it item) {
	e.qmu.Lock()
	if !e.freed.Load() {
		e.q = append(e.q, it)
		e.wakeLocked()
	}
	e.qmu.Unlock()
}

// wakeLocked tells the consumer that the queue is not empty. qmu is held.
func (e *entry) wakeLocked() {
	if e.fp != nil {
		C.fast_set_go_items(e.fp, 1)
		C.fast_wake(e.fp)
		return
	}
	if e.dispatch {
		if !e.signaled && e.efd >= 0 {
			e.signaled = true
			C.poke_eventfd(e.efd)
		}
		return
	}
	if !e.scheduled {
		e.scheduled = true
		e.schedule()
	}
}

// take swaps the queue out.
func (e *entry) take() []item {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	return e.takeLocked()
}

// takeLocked is take with qmu held.
func (e *entry) takeLocked() []item {
	batch := e.q
	e.q = e.spare[:0]
	e.spare = nil
	e.nData = 0
	if e.fp != nil {
		// fast_dispatch drained the eventfd before it called Go.
		C.fast_set_go_items(e.fp, 0)
	} else if e.dispatch && e.efd >= 0 {
		e.signaled = false
		C.drain_eventfd(e.efd)
	}
	return batch
}

// recycle returns a delivered batch's buffers.
func (e *entry) recycle(batch []item) {
	for i := range batch {
		if batch[i].data != nil {
			dataPool.Put(batch[i].data)
		}
	}
	clear(batch)
	if cap(batch) > keepSpare && len(batch) < cap(batch)/4 {
		return // a burst's queue, no longer needed
	}
	e.qmu.Lock()
	if e.spare == nil {
		e.spare = batch[:0]
	}
	e.qmu.Unlock()
}

// run delivers a batch in order, stopping if the agent is freed by a
// callback. It returns how many callbacks were delivered.
func (e *entry) run(batch []item) int {
	n := 0
	for i := range batch {
		if e.freed.Load() {
			break
		}
		n += e.deliver(&batch[i])
	}
	return n
}

// fd is the eventfd of an entry in dispatch mode (gonice_*_get_fd).
func (e *entry) fd() (int, error) {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	return int(e.efd), nil
}

// dispatchNow delivers the pending callbacks of an entry in dispatch mode
// on the calling thread (gonice_*_dispatch).
func (e *entry) dispatchNow() (int, error) {
	if !e.dispatching.CompareAndSwap(false, true) {
		return 0, errf(C.GONICE_EBUSY, "gonice: a dispatch of this handle is already running")
	}
	defer e.dispatching.Store(false)
	batch := e.take()
	n := e.run(batch)
	e.recycle(batch)
	return n, nil
}

func (e *entry) getCallback(sig int) callback {
	e.cbmu.Lock()
	defer e.cbmu.Unlock()
	return e.cbs[sig]
}

// cstr returns a NUL-terminated copy of s in Go memory, passed to C for the
// duration of a callback.
func cstr(s string) *C.char {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return (*C.char)(unsafe.Pointer(&b[0]))
}

// deliver calls the C callbacks of one item. It returns 1 if any ran.
func (e *entry) deliver(it *item) int {
	h := C.uintptr_t(e.h)
	ran := 0
	switch it.kind {
	case kGatheringDone:
		if cb := e.getCallback(C.GONICE_SIG_GATHERING_DONE); cb.fn != nil {
			C.call_gathering_done(cb.fn, h, C.uint(it.sid), cb.ud)
			ran = 1
		}
	case kNewCandidate, kNewRemoteCandidate:
		full, legacy := C.GONICE_SIG_NEW_CANDIDATE_FULL, C.GONICE_SIG_NEW_CANDIDATE
		if it.kind == kNewRemoteCandidate {
			full, legacy = C.GONICE_SIG_NEW_REMOTE_CANDIDATE_FULL, C.GONICE_SIG_NEW_REMOTE_CANDIDATE
		}
		if cb := e.getCallback(full); cb.fn != nil {
			c := new(C.GoniceCandidate)
			toC(c, &it.cands[0])
			C.call_new_candidate_full(cb.fn, h, c, cb.ud)
			ran = 1
		}
		if cb := e.getCallback(legacy); cb.fn != nil && !e.freed.Load() {
			c := &it.cands[0]
			C.call_new_candidate(cb.fn, h, C.uint(c.StreamID), C.uint(c.ComponentID), cstr(c.Foundation), cb.ud)
			ran = 1
		}
	case kStateChanged:
		if cb := e.getCallback(C.GONICE_SIG_STATE_CHANGED); cb.fn != nil {
			C.call_state_changed(cb.fn, h, C.uint(it.sid), C.uint(it.cid), C.int(it.state), cb.ud)
			ran = 1
		}
	case kSelectedPair:
		if cb := e.getCallback(C.GONICE_SIG_NEW_SELECTED_PAIR_FULL); cb.fn != nil {
			l, r := new(C.GoniceCandidate), new(C.GoniceCandidate)
			toC(l, &it.cands[0])
			toC(r, &it.cands[1])
			C.call_selected_pair_full(cb.fn, h, C.uint(it.sid), C.uint(it.cid), l, r, cb.ud)
			ran = 1
		}
		if cb := e.getCallback(C.GONICE_SIG_NEW_SELECTED_PAIR); cb.fn != nil && !e.freed.Load() {
			C.call_selected_pair(cb.fn, h, C.uint(it.sid), C.uint(it.cid), cstr(it.cands[0].Foundation), cstr(it.cands[1].Foundation), cb.ud)
			ran = 1
		}
	case kInitialBinding:
		if cb := e.getCallback(C.GONICE_SIG_INITIAL_BINDING_REQUEST); cb.fn != nil {
			C.call_initial_binding(cb.fn, h, C.uint(it.sid), cb.ud)
			ran = 1
		}
	case kStreamsRemoved:
		if cb := e.getCallback(C.GONICE_SIG_STREAMS_REMOVED); cb.fn != nil {
			ids := make([]C.uint, len(it.ids)+1)
			for i, id := range it.ids {
				ids[i] = C.uint(id)
			}
			C.call_streams_removed(cb.fn, h, &ids[0], C.uint(len(it.ids)), cb.ud)
			ran = 1
		}
	case kRecv:
		e.cbmu.Lock()
		cb, _ := e.recv.get(it.sid, it.cid)
		e.cbmu.Unlock()
		if cb.fn != nil {
			p := *it.data
			var ptr *C.char
			if len(p) > 0 {
				ptr = (*C.char)(unsafe.Pointer(&p[0]))
			}
			C.call_recv(cb.fn, h, C.uint(it.sid), C.uint(it.cid), C.uint(len(p)), ptr, cb.ud)
			ran = 1
		}
	case kClosed:
		if it.cb.fn != nil {
			C.call_closed(it.cb.fn, h, it.cb.ud)
			ran = 1
		}
	case kConnEvent:
		if cb := e.getCallback(connEventCB); cb.fn != nil {
			C.call_conn_event(cb.fn, h, C.int(it.sid), cstr(it.msg), cb.ud)
			ran = 1
		}
	case kConnRTP, kConnRTCP:
		which := connRTPCB
		if it.kind == kConnRTCP {
			which = connRTCPCB
		}
		if cb := e.getCallback(which); cb.fn != nil {
			p := *it.data
			var ptr unsafe.Pointer
			if len(p) > 0 {
				ptr = unsafe.Pointer(&p[0])
			}
			C.call_conn_media(cb.fn, h, ptr, C.size_t(len(p)), cb.ud)
			ran = 1
		}
	}
	return ran
}

// free closes the agent and stops delivery. The handle is already
// unregistered.
func (e *entry) free() {
	// Sends queued in C (fastsend.go) go out before the agent closes.
	e.disableFastSends(0)
	e.flushSends()
	e.freed.Store(true)
	e.mu.Lock()
	a := e.a
	e.closing = true
	e.mu.Unlock()
	if a != nil {
		_ = a.Close()
	}
	if !e.dispatch {
		e.waitCallbacks() // unless called from one: it goes on, and no other starts
	}
	e.qmu.Lock()
	for i := range e.q {
		if e.q[i].data != nil {
			dataPool.Put(e.q[i].data)
		}
	}
	e.q, e.spare = nil, nil
	if e.fp != nil {
		// The eventfd is the C data path's; it closes it when the last
		// dispatch, send or sender goroutine using it is done.
		C.fast_free(e.fp)
		e.fp = nil
		e.efd = -1
		if e.sender != nil {
			e.sender.Close() // the sender goroutine ends
			e.sender = nil
		}
	}
	if e.efd >= 0 {
		C.close(e.efd)
		e.efd = -1
	}
	e.qmu.Unlock()
}

// closeAsync closes the agent in the background, then queues the closed
// callback.
func (e *entry) closeAsync(cb callback) error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return errf(C.GONICE_EBUSY, "gonice: agent is already closing")
	}
	e.closing = true
	a := e.a
	e.mu.Unlock()
	e.disableFastSends(0)
	go func() { // close_async: closes the agent, then queues the closed callback
		e.flushSends()
		if a != nil {
			_ = a.Close()
		}
		e.push(item{kind: kClosed, cb: cb})
	}()
	return nil
}
