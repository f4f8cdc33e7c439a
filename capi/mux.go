// SPDX-License-Identifier: MIT

package main

// The GoniceMux functions (gonice.h, "Muxes"): a nice.UDPMux behind a
// handle of the registry (main.go), and the unknown-ufrag callback, which
// runs on the mux's reader goroutine. The exports are in mux_exports.go
// (a file with //export may only declare in its preamble).

/*
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "core_abi.h"

// The callback's thread is stored in *tid while it runs: in C, so that it
// is the thread that runs the callback (a goroutine may change threads
// between two cgo calls, not during one).
static inline void call_unknown_ufrag(void *fn, uintptr_t h, const char *local, const char *remote,
                                      const char *from, uint16_t port, void *ud, int64_t *tid) {
	__atomic_store_n(tid, (int64_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	((gonice_mux_unknown_ufrag_cb)fn)((GoniceMux *)h, local, remote, from, port, ud);
	__atomic_store_n(tid, 0, __ATOMIC_SEQ_CST);
}
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// muxHandle is the C side of one mux.
type muxHandle struct {
	h uintptr
	m *nice.UDPMux

	cbmu sync.Mutex
	cb   callback
	// cbTid is the thread running the C callback, 0 between callbacks
	// (written by call_unknown_ufrag; its own allocation, without Go
	// pointers, as cgo requires of memory C writes): gonice_mux_free from
	// inside the callback must not wait for the reader.
	cbTid *atomic.Int64
	freed atomic.Bool
}

func newMuxHandle(m *nice.UDPMux) *muxHandle {
	mh := &muxHandle{m: m, cbTid: new(atomic.Int64)}
	m.OnUnknownUfrag(mh.onUnknown)
	registry.mu.Lock()
	mh.h = nextHandleLocked()
	registry.muxes[mh.h] = mh
	registry.mu.Unlock()
	return mh
}

// lookupMux returns the mux of handle h; an agent's or a connection's
// handle is GONICE_EBADHANDLE here.
func lookupMux(h C.uintptr_t) (*muxHandle, error) {
	registry.mu.Lock()
	mh := registry.muxes[uintptr(h)]
	_, other := registry.m[uintptr(h)]
	registry.mu.Unlock()
	switch {
	case mh != nil:
		return mh, nil
	case h == 0:
		return nil, errf(C.GONICE_EBADHANDLE, "gonice: mux handle is NULL")
	case other:
		return nil, errf(C.GONICE_EBADHANDLE, "gonice: mux handle %#x is an agent or connection handle", uintptr(h))
	}
	return nil, errf(C.GONICE_EBADHANDLE, "gonice: mux handle %#x is unknown or was freed", uintptr(h))
}

// onMux is call with f given the mux of handle h.
func onMux(errbuf *C.char, h C.uintptr_t, f func(mh *muxHandle) (int, error)) C.int {
	return call(errbuf, func() (int, error) {
		mh, err := lookupMux(h)
		if err != nil {
			return 0, err
		}
		return f(mh)
	})
}

// free unregisters the handle and closes the mux. From the mux's own
// callback (on its reader) the close is left to a goroutine: Close waits
// for the reader, which waits for the callback to return.
func (mh *muxHandle) free() error {
	registry.mu.Lock()
	_, ok := registry.muxes[mh.h]
	delete(registry.muxes, mh.h)
	registry.mu.Unlock()
	if !ok { // freed concurrently
		return errf(C.GONICE_EBADHANDLE, "gonice: mux handle %#x was freed", mh.h)
	}
	mh.freed.Store(true)
	mh.m.OnUnknownUfrag(nil)
	// Inside the callback, this runs on the callback's thread (a cgo
	// callback keeps its goroutine on the thread until it returns).
	if mh.cbTid.Load() == int64(syscall.Gettid()) {
		go mh.m.Close()
		return nil
	}
	_ = mh.m.Close() // the socket's close error tells the application nothing
	return nil
}

// onUnknown is the mux's OnUnknownUfrag function: it calls the C callback,
// on the reader goroutine, with the check's strings in Go memory for the
// duration of the call. A panic here would end the process (the reader is
// no export): it is recovered and reported on standard error.
func (mh *muxHandle) onUnknown(u nice.UnknownCheck) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "gonice: internal error in a mux's unknown-ufrag callback (recovered panic): %v\n%s", r, debug.Stack())
		}
	}()
	if mh.freed.Load() {
		return
	}
	mh.cbmu.Lock()
	cb := mh.cb
	mh.cbmu.Unlock()
	if cb.fn == nil {
		return
	}
	C.call_unknown_ufrag(cb.fn, C.uintptr_t(mh.h), cstr(u.LocalUfrag), cstr(u.RemoteUfrag),
		cstr(u.From.Addr().Unmap().WithZone("").String()), C.uint16_t(u.From.Port()), cb.ud,
		(*C.int64_t)(unsafe.Pointer(mh.cbTid)))
}
