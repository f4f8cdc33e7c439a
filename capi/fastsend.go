// SPDX-License-Identifier: MIT

package main

/*
#include <unistd.h>
#include "core_abi.h"
#include "fastpath.h"
*/
import "C"

import (
	"os"
	"syscall"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// The Go side of a dispatch-mode agent's C data path (fastpath.c): the C
// side queues gonice_agent_send's datagrams for a component whose last
// synchronous send succeeded (send_ok), and this goroutine sends them, so
// that the caller's thread does not enter Go per packet (ARCHITECTURE.md,
// "Dispatch mode's data path").

// startFastPath gives an agent in dispatch mode its C data path; its
// eventfd becomes the agent's.
func (e *entry) startFastPath(h uintptr) error {
	fp := C.fast_new(C.uintptr_t(h), maxQueuedData)
	if fp == nil {
		return errf(C.GONICE_ENOMEM, "gonice: cannot make the agent's data path (eventfd or memory)")
	}
	e.qmu.Lock()
	if e.efd >= 0 {
		C.close(e.efd)
	}
	e.efd = C.fast_efd(fp)
	e.fp = fp
	e.qmu.Unlock()
	return nil
}

// enableFastSend lets the C side queue the component's sends, starting the
// sender goroutine if it does not run yet. Called after a synchronous send
// on the component succeeded.
func (e *entry) enableFastSend(sid, cid int) {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	if e.fp == nil || e.freed.Load() {
		return
	}
	e.mu.Lock()
	closing := e.closing
	e.mu.Unlock()
	if closing {
		return
	}
	if e.sender == nil {
		fd := C.fast_send_efd(e.fp)
		if fd < 0 {
			return
		}
		r1, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			return
		}
		dup := int(r1)
		if err := syscall.SetNonblock(dup, true); err != nil {
			syscall.Close(dup)
			return
		}
		f := os.NewFile(uintptr(dup), "gonice-send") // non-blocking: read through the netpoller
		if f == nil {
			syscall.Close(dup)
			return
		}
		e.sender = f
		C.fast_ref(e.fp)
		go e.sendLoop(f, e.fp)
	}
	C.fast_set_send_ok(e.fp, C.uint(sid), C.uint(cid), 1)
}

// disableFastSend makes the component's sends synchronous again (its state
// left CONNECTED/READY, or a queued send failed), so that the caller sees
// the errors.
func (e *entry) disableFastSend(sid, cid int) {
	e.qmu.Lock()
	if e.fp != nil {
		C.fast_set_send_ok(e.fp, C.uint(sid), C.uint(cid), 0)
	}
	e.qmu.Unlock()
}

// disableFastSends does so for a stream's components (sid 0: all).
func (e *entry) disableFastSends(sid int) {
	e.qmu.Lock()
	if e.fp != nil {
		C.fast_clear_send_ok(e.fp, C.uint(sid))
	}
	e.qmu.Unlock()
}

// fastSendState is the component state handler's part: only CONNECTED and
// READY components' sends are queued.
func (e *entry) fastSendState(sid, cid int, s nice.ComponentState) {
	if s != nice.ComponentStateConnected && s != nice.ComponentStateReady {
		e.disableFastSend(sid, cid)
	}
}

// sendLoop is the sender goroutine: woken through its eventfd, it sends
// what the C side queued, in order. It ends when free closes f; it holds a
// reference to fp until then.
func (e *entry) sendLoop(f *os.File, fp *C.FastPath) {
	defer C.fast_put(fp)
	var b [8]byte
	for {
		if _, err := f.Read(b[:]); err != nil {
			return
		}
		e.sendMu.Lock()
		e.sendQueued(fp)
		e.sendMu.Unlock()
	}
}

// sendQueued sends what the C side queued, in order: each run of datagrams
// for one component with Agent.SendMessages (sendmmsg), the datagrams read
// in place in C memory. sendMu is held (it guards e.sendRun).
func (e *entry) sendQueued(fp *C.FastPath) {
	items := C.fast_take_sends(fp)
	if a := e.ap.Load(); a != nil {
		run := e.sendRun[:0]
		var sid, cid C.uint
		flush := func() {
			if len(run) == 0 {
				return
			}
			if n, err := a.SendMessages(int(sid), int(cid), run); err != nil || n < len(run) {
				e.disableFastSend(int(sid), int(cid))
			}
			clear(run) // no pointer into C memory outlives the items
			run = run[:0]
		}
		for it := items; it != nil; it = it.next {
			if len(run) > 0 && (it.sid != sid || it.cid != cid) {
				flush()
			}
			sid, cid = it.sid, it.cid
			run = append(run, unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(it), C.FAST_ITEM_DATA_OFFSET)), int(it.len)))
		}
		flush()
		e.sendRun = run
	}
	C.fast_free_items(items)
}

// flushSends sends what is queued now, on the caller's goroutine, after the
// batch the sender goroutine may be sending: a send queued before a call
// (another send, remove_stream, close_async, free) goes out before what
// that call does, as if it had been synchronous.
func (e *entry) flushSends() {
	e.qmu.Lock()
	fp, started := e.fp, e.sender != nil
	if fp != nil && started {
		C.fast_ref(fp)
	}
	e.qmu.Unlock()
	if fp == nil || !started {
		return
	}
	defer C.fast_put(fp)
	e.sendMu.Lock()
	e.sendQueued(fp)
	e.sendMu.Unlock()
}

// fastSetRecv tells the C side the receive callback of a component (fn nil:
// none), which it calls for the datagrams it queued.
func (e *entry) fastSetRecv(sid, cid C.uint, fn, ud unsafe.Pointer) {
	e.qmu.Lock()
	if e.fp != nil {
		C.fast_set_recv(e.fp, sid, cid, fn, ud)
	}
	e.qmu.Unlock()
}
