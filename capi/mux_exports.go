// SPDX-License-Identifier: MIT

package main

// The exports of the GoniceMux functions (mux.go).

/*
#include <stdint.h>
#include "core_abi.h"
*/
import "C"

import (
	"errors"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

// parseIP reads an IP literal argument (no zone).
func parseIP(p *C.char, what string) (netip.Addr, error) {
	s, err := goString(p, what, 64)
	if err != nil {
		return netip.Addr{}, err
	}
	ip, perr := netip.ParseAddr(s)
	if perr != nil || ip.Zone() != "" {
		return netip.Addr{}, errf(C.GONICE_EINVAL, "gonice: %s %q is not an IP address", what, s)
	}
	return ip.Unmap(), nil
}

//export goniceCoreMuxNew
func goniceCoreMuxNew(errbuf *C.char, out *C.uintptr_t, local *C.char, port C.uint, advertised *C.char) C.int {
	return call(errbuf, func() (int, error) {
		ip, err := parseIP(local, "local_address")
		if err != nil {
			return 0, err
		}
		if port > 65535 {
			return 0, errf(C.GONICE_EINVAL, "gonice: port %d out of range 0..65535", uint(port))
		}
		var cfg nice.UDPMuxConfig
		if advertised != nil && *advertised != 0 {
			if cfg.Address, err = parseIP(advertised, "advertised_address"); err != nil {
				return 0, err
			}
		}
		cfg.Logger = withLogSink(nice.Config{}).Logger // the log handler's, if one is set
		m, err := nice.NewUDPMux(netip.AddrPortFrom(ip, uint16(port)), cfg)
		if err != nil {
			if errors.Is(err, nice.ErrInvalidArgument) {
				return 0, errf(C.GONICE_EINVAL, "gonice: %v", err)
			}
			return 0, errf(C.GONICE_EIO, "gonice: mux on %v: %v", netip.AddrPortFrom(ip, uint16(port)), err)
		}
		*out = C.uintptr_t(newMuxHandle(m).h)
		return 0, nil
	})
}

//export goniceCoreMuxFree
func goniceCoreMuxFree(errbuf *C.char, h C.uintptr_t) C.int {
	return onMux(errbuf, h, func(mh *muxHandle) (int, error) { return 0, mh.free() })
}

//export goniceCoreMuxGetLocalAddress
func goniceCoreMuxGetLocalAddress(errbuf *C.char, h C.uintptr_t, addr *C.char, port *C.uint16_t) C.int {
	return onMux(errbuf, h, func(mh *muxHandle) (int, error) {
		if addr == nil {
			return 0, errf(C.GONICE_EINVAL, "gonice: addr_out is NULL")
		}
		la := mh.m.LocalAddr()
		putCString(addr, C.GONICE_ADDRESS_STRING_LEN, la.Addr().WithZone("").String())
		if port != nil {
			*port = C.uint16_t(la.Port())
		}
		return 0, nil
	})
}

//export goniceCoreMuxGetStats
func goniceCoreMuxGetStats(errbuf *C.char, h C.uintptr_t, out *C.GoniceMuxStats) C.int {
	return onMux(errbuf, h, func(mh *muxHandle) (int, error) {
		if out == nil {
			return 0, errf(C.GONICE_EINVAL, "gonice: stats_out is NULL")
		}
		st := mh.m.Stats()
		*out = C.GoniceMuxStats{
			agents:         C.uint(st.Agents),
			routes:         C.uint(st.Routes),
			received:       C.uint64_t(st.Received),
			batches:        C.uint64_t(st.Batches),
			delivered:      C.uint64_t(st.Delivered),
			unknown_ufrag:  C.uint64_t(st.UnknownUfrag),
			no_route:       C.uint64_t(st.NoRoute),
			dropped_closed: C.uint64_t(st.DroppedClosed),
			truncated:      C.uint64_t(st.Truncated),
		}
		return 0, nil
	})
}

//export goniceCoreMuxSetUnknownUfragCb
func goniceCoreMuxSetUnknownUfragCb(errbuf *C.char, h C.uintptr_t, fn, ud unsafe.Pointer) C.int {
	return onMux(errbuf, h, func(mh *muxHandle) (int, error) {
		mh.cbmu.Lock()
		mh.cb = callback{fn: fn, ud: ud}
		mh.cbmu.Unlock()
		return 0, nil
	})
}

//export goniceCoreAgentAddMux
func goniceCoreAgentAddMux(errbuf *C.char, h C.uintptr_t, mux C.uintptr_t) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		mh, err := lookupMux(mux)
		if err != nil {
			return 0, err
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.a != nil || e.closing {
			return 0, errf(C.GONICE_EBUSY, "gonice: a mux is added before the agent starts (before its first stream, address or other call)")
		}
		if slices.Contains(e.cfg.Muxes, mh.m) {
			return 0, errf(C.GONICE_EINVAL, "gonice: mux %#x was added to this agent already", mh.h)
		}
		e.cfg.Muxes = append(e.cfg.Muxes, mh.m)
		return 0, nil
	})
}
