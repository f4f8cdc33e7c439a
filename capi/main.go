// SPDX-License-Identifier: MIT

// Command capi is gonice's C core: built with -buildmode=c-shared into
// libgonice-core.so.0, which the thin C library libgonice.so.0
// (capi/loader/gonice.c) loads on first use. It exports one symbol,
// gonice_core_table (capi/table.c), a table of the //export functions of
// exports.go. The public API is include/gonice.h; the private interface is
// capi/core_abi.h.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -I${SRCDIR}
#include <stdlib.h>
#include <string.h>
#include "core_abi.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

func main() {}

// apiError is an error with its C code, a GONICE_E* of include/gonice.h
// (the codes are defined there only and reach Go through cgo).
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func errf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// codeOf maps an error of the nice package (or an apiError) to a code.
func codeOf(err error) int {
	var ae *apiError
	switch {
	case err == nil:
		return C.GONICE_OK
	case errors.As(err, &ae):
		return ae.code
	case errors.Is(err, nice.ErrClosed), errors.Is(err, nice.ErrMuxClosed):
		return C.GONICE_ECLOSED
	case errors.Is(err, nice.ErrInvalidStream), errors.Is(err, nice.ErrInvalidComponent),
		errors.Is(err, nice.ErrNoAddress), errors.Is(err, nice.ErrNoPair):
		return C.GONICE_ENOTFOUND
	case errors.Is(err, nice.ErrInvalidArgument), errors.Is(err, nice.ErrSDP):
		return C.GONICE_EINVAL
	case errors.Is(err, nice.ErrNotReady), errors.Is(err, nice.ErrConsentLost),
		errors.Is(err, nice.ErrTimeout), errors.Is(err, nice.ErrRenomination):
		return C.GONICE_EAGAIN
	case errors.Is(err, nice.ErrAlreadyGathering), errors.Is(err, nice.ErrRecvAttached),
		errors.Is(err, nice.ErrUfragInUse):
		return C.GONICE_EBUSY
	case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.ENOBUFS):
		return C.GONICE_EAGAIN
	}
	return C.GONICE_EIO
}

// setErr writes msg into the caller's error buffer (GONICE_CORE_ERRLEN bytes,
// NUL-terminated, truncated).
func setErr(buf *C.char, msg string) {
	if buf == nil {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(buf)), C.GONICE_CORE_ERRLEN)
	n := copy(b[:len(b)-1], msg)
	b[n] = 0
}

// call is the body of every export: it runs f and returns f's result, or
// the code of f's error with its message in errbuf; a panic in f becomes
// GONICE_EINTERNAL with the panic and its stack in errbuf.
func call(errbuf *C.char, f func() (int, error)) (rc C.int) {
	defer func() {
		if r := recover(); r != nil {
			setErr(errbuf, fmt.Sprintf("gonice: internal error (recovered panic): %v\n%s", r, debug.Stack()))
			rc = C.GONICE_EINTERNAL
		}
	}()
	n, err := f()
	if err != nil {
		setErr(errbuf, err.Error())
		return C.int(codeOf(err))
	}
	return C.int(n)
}

// onEntry is call with f given the entry of handle h (a bad handle is
// GONICE_EBADHANDLE); the agent is not started.
func onEntry(errbuf *C.char, h C.uintptr_t, f func(e *entry) (int, error)) C.int {
	return call(errbuf, func() (int, error) {
		e, err := lookup(h)
		if err != nil {
			return 0, err
		}
		return f(e)
	})
}

// onAgent is onEntry with f given the entry's agent, started if it was not.
func onAgent(errbuf *C.char, h C.uintptr_t, f func(a *nice.Agent) (int, error)) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		a, err := e.agent()
		if err != nil {
			return 0, err
		}
		return f(a)
	})
}

// The handle registry: ids are never reused and start at a distinctive
// value, so a stale or made-up GoniceAgent* is recognized (libtailscale).
const handleBase = 0x6e1ce0000001

var registry struct {
	mu    sync.Mutex
	next  uintptr
	m     map[uintptr]*entry
	muxes map[uintptr]*muxHandle // GoniceMux handles (mux.go), from the same ids
}

func register(e *entry) uintptr {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	h := nextHandleLocked()
	registry.m[h] = e
	e.h = h
	return h
}

// nextHandleLocked issues an id (of any kind). registry.mu is held.
func nextHandleLocked() uintptr {
	if registry.m == nil {
		registry.m = map[uintptr]*entry{}
		registry.muxes = map[uintptr]*muxHandle{}
		registry.next = handleBase
	}
	h := registry.next
	registry.next++
	return h
}

// lookup returns the agent of handle h: a connection's handle is
// GONICE_EBADHANDLE here, as an agent's is for lookupConn.
func lookup(h C.uintptr_t) (*entry, error) {
	e, err := lookupAny(h, "agent")
	if err == nil && e.conn != nil {
		return nil, errf(C.GONICE_EBADHANDLE, "gonice: handle %#x is a connection, not an agent", uintptr(h))
	}
	return e, err
}

// lookupConn returns the connection of handle h.
func lookupConn(h C.uintptr_t) (*entry, error) {
	e, err := lookupAny(h, "connection")
	if err == nil && e.conn == nil {
		return nil, errf(C.GONICE_EBADHANDLE, "gonice: handle %#x is an agent, not a connection", uintptr(h))
	}
	return e, err
}

func lookupAny(h C.uintptr_t, what string) (*entry, error) {
	registry.mu.Lock()
	e := registry.m[uintptr(h)]
	_, isMux := registry.muxes[uintptr(h)]
	registry.mu.Unlock()
	if e == nil {
		if isMux {
			return nil, errf(C.GONICE_EBADHANDLE, "gonice: %s handle %#x is a mux handle", what, uintptr(h))
		}
		if h == 0 {
			return nil, errf(C.GONICE_EBADHANDLE, "gonice: %s handle is NULL", what)
		}
		return nil, errf(C.GONICE_EBADHANDLE, "gonice: %s handle %#x is unknown or was freed", what, uintptr(h))
	}
	return e, nil
}

func unregister(h uintptr) *entry {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	e := registry.m[h]
	delete(registry.m, h)
	return e
}

// liveHandles is the number of registered agents (a leak check for tests).
func liveHandles() int {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	return len(registry.m)
}

// cString returns a malloc'd copy of s, for *_out strings the caller frees
// with gonice_free.
func cString(s string) *C.char {
	p := (*C.char)(C.malloc(C.size_t(len(s) + 1)))
	if p == nil {
		panic("gonice: out of memory")
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(p)), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	return p
}

// goString reads a C string, bounded to max bytes (longer is an error).
func goString(p *C.char, what string, max int) (string, error) {
	if p == nil {
		return "", errf(C.GONICE_EINVAL, "gonice: %s is NULL", what)
	}
	n := int(C.strnlen(p, C.size_t(max+1)))
	if n > max {
		return "", errf(C.GONICE_EINVAL, "gonice: %s is longer than %d bytes", what, max)
	}
	return C.GoStringN(p, C.int(n)), nil
}
