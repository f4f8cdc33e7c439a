// SPDX-License-Identifier: MIT

package main

/*
#include <stdlib.h>
#include <string.h>
#include "core_abi.h"
*/
import "C"

import (
	"errors"
	"net/netip"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// putCString copies s into a fixed char array of n bytes, NUL-terminated.
func putCString(dst *C.char, n int, s string) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(dst)), n)
	k := copy(b[:n-1], s)
	clear(b[k:])
}

// fixedString reads a NUL-terminated string from a fixed array of n bytes;
// ok is false when it has no NUL.
func fixedString(src *C.char, n int) (string, bool) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(src)), n)
	for i, c := range b {
		if c == 0 {
			return string(b[:i]), true
		}
	}
	return "", false
}

// toC fills a C candidate from a Go one.
func toC(dst *C.GoniceCandidate, c *nice.Candidate) {
	*dst = C.GoniceCandidate{}
	dst._type = C.GoniceCandidateType(c.Type)
	dst.transport = C.GoniceCandidateTransport(c.Transport)
	if c.Addr.IsValid() {
		putCString(&dst.addr[0], C.GONICE_ADDRESS_STRING_LEN, c.Addr.Addr().WithZone("").String())
		dst.port = C.uint16_t(c.Addr.Port())
	}
	if c.Base.IsValid() {
		putCString(&dst.base_addr[0], C.GONICE_ADDRESS_STRING_LEN, c.Base.Addr().WithZone("").String())
		dst.base_port = C.uint16_t(c.Base.Port())
	}
	dst.priority = C.uint32_t(c.Priority)
	dst.stream_id = C.uint(c.StreamID)
	dst.component_id = C.uint(c.ComponentID)
	putCString(&dst.foundation[0], C.GONICE_CANDIDATE_MAX_FOUNDATION, c.Foundation)
	if c.Server.IsValid() {
		putCString(&dst.server_addr[0], C.GONICE_ADDRESS_STRING_LEN, c.Server.Addr().WithZone("").String())
		dst.server_port = C.uint16_t(c.Server.Port())
	}
}

// fromC reads a C candidate given by the application.
func fromC(src *C.GoniceCandidate) (nice.Candidate, error) {
	var c nice.Candidate
	c.Type = nice.CandidateType(src._type)
	c.Transport = nice.Transport(src.transport)
	addr, ok := fixedString(&src.addr[0], C.GONICE_ADDRESS_STRING_LEN)
	if !ok {
		return c, errf(C.GONICE_EINVAL, "gonice: candidate addr is not NUL-terminated")
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return c, errf(C.GONICE_EINVAL, "gonice: candidate addr %q is not an IP address", addr)
	}
	c.Addr = netip.AddrPortFrom(ip.Unmap(), uint16(src.port))
	base, ok := fixedString(&src.base_addr[0], C.GONICE_ADDRESS_STRING_LEN)
	if !ok {
		return c, errf(C.GONICE_EINVAL, "gonice: candidate base_addr is not NUL-terminated")
	}
	if base != "" {
		bip, err := netip.ParseAddr(base)
		if err != nil {
			return c, errf(C.GONICE_EINVAL, "gonice: candidate base_addr %q is not an IP address", base)
		}
		c.Base = netip.AddrPortFrom(bip.Unmap(), uint16(src.base_port))
	}
	c.Priority = uint32(src.priority)
	c.StreamID = int(src.stream_id)
	c.ComponentID = int(src.component_id)
	f, ok := fixedString(&src.foundation[0], C.GONICE_CANDIDATE_MAX_FOUNDATION)
	if !ok {
		return c, errf(C.GONICE_EINVAL, "gonice: candidate foundation is not NUL-terminated")
	}
	c.Foundation = f
	return c, nil
}

// candidateArray returns a malloc'd array of cands (nil when empty), which
// the caller frees with gonice_free.
func candidateArray(cands []nice.Candidate) *C.GoniceCandidate {
	if len(cands) == 0 {
		return nil
	}
	size := C.size_t(len(cands)) * C.size_t(unsafe.Sizeof(C.GoniceCandidate{}))
	p := (*C.GoniceCandidate)(C.calloc(1, size))
	if p == nil {
		panic("gonice: out of memory")
	}
	arr := unsafe.Slice(p, len(cands))
	for i := range cands {
		toC(&arr[i], &cands[i])
	}
	return p
}

// relayErrorArray copies TURN allocation errors into a C array the caller
// frees with gonice_free; nil when there are none.
func relayErrorArray(errs []nice.RelayError) *C.GoniceRelayError {
	if len(errs) == 0 {
		return nil
	}
	size := C.size_t(len(errs)) * C.size_t(unsafe.Sizeof(C.GoniceRelayError{}))
	p := (*C.GoniceRelayError)(C.calloc(1, size))
	if p == nil {
		panic("gonice: out of memory")
	}
	for i, e := range errs {
		dst := &unsafe.Slice(p, len(errs))[i]
		dst.component_id = C.uint(e.ComponentID)
		if srv, err := netip.ParseAddrPort(e.Server); err == nil {
			putCString(&dst.server_addr[0], C.GONICE_ADDRESS_STRING_LEN, srv.Addr().WithZone("").String())
			dst.server_port = C.uint16_t(srv.Port())
		} else {
			putCString(&dst.server_addr[0], C.GONICE_ADDRESS_STRING_LEN, e.Server)
		}
		dst._type = C.GoniceRelayType(e.Type)
		if e.Local.IsValid() {
			putCString(&dst.local_addr[0], C.GONICE_ADDRESS_STRING_LEN, e.Local.Addr().WithZone("").String())
			dst.local_port = C.uint16_t(e.Local.Port())
		}
		switch {
		case errors.Is(e.Err, nice.ErrRelayLost):
			dst.reason = C.GONICE_RELAY_ERROR_LOST
		case errors.Is(e.Err, nice.ErrUnreachable):
			dst.reason = C.GONICE_RELAY_ERROR_UNREACHABLE
		case errors.Is(e.Err, nice.ErrRelayUnauthorized):
			dst.reason = C.GONICE_RELAY_ERROR_UNAUTHORIZED
		case errors.Is(e.Err, nice.ErrRelayTimeout):
			dst.reason = C.GONICE_RELAY_ERROR_TIMEOUT
		default:
			dst.reason = C.GONICE_RELAY_ERROR_OTHER
		}
		putCString(&dst.message[0], C.GONICE_RELAY_ERROR_MESSAGE_LEN, e.Error())
	}
	return p
}
