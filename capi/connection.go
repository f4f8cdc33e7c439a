// SPDX-License-Identifier: MIT

package main

// The GoniceConnection functions (gonice.h, "Connections"): a
// webrtc.Connection behind an entry of its own, whose queue, delivery on
// the pool's threads (pool.go), eventfd and dispatch are the agent's
// (agent.go). Its events and
// media only queue there; the C callbacks run where an agent's do.

/*
#include <stdint.h>
#include <stdlib.h>
#include "core_abi.h"
*/
import "C"

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
	"github.com/gonice/gonice/nice/webrtc"
)

// A connection's callbacks, kept in the slots of entry.cbs that an agent
// uses for its signals.
const (
	connEventCB = C.GONICE_CONN_CB_EVENT
	connRTPCB   = C.GONICE_CONN_CB_RTP
	connRTCPCB  = C.GONICE_CONN_CB_RTCP
)

// connEntry is the connection of an entry: its configuration until it
// starts (the first offer, answer or remote description), the
// webrtc.Connection after.
type connEntry struct {
	mu     sync.Mutex
	cfg    webrtc.Config
	c      *webrtc.Connection
	closed bool
	failed atomic.Bool // CONN_FAILED was emitted: writes are GONICE_ECLOSED
}

// connection returns the webrtc.Connection of e, creating it on first use
// (CONN_INITIAL is then queued, after callbacks set before).
func (e *entry) connection() (*webrtc.Connection, error) {
	ce := e.conn
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if ce.c != nil {
		return ce.c, nil
	}
	if ce.closed {
		return nil, errf(C.GONICE_ECLOSED, "gonice: connection is closed")
	}
	cfg := ce.cfg
	cfg.OnEvent = func(ev webrtc.Event, msg string) {
		if ev == webrtc.ConnFailed {
			ce.failed.Store(true)
		}
		e.push(item{kind: kConnEvent, sid: int(ev), msg: msg})
	}
	cfg.OnRTP = func(p []byte) { e.queueData(kConnRTP, 0, 0, p) }
	cfg.OnRTCP = func(p []byte) { e.queueData(kConnRTCP, 0, 0, p) }
	c, err := webrtc.New(cfg)
	if err != nil {
		return nil, err
	}
	ce.c = c
	return c, nil
}

// connCode maps the errors of nice/webrtc and nice/dtlssrtp to codes; the
// others go through codeOf.
func connErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, webrtc.ErrSDP):
		return errf(C.GONICE_EINVAL, "gonice: %v", err)
	case errors.Is(err, webrtc.ErrState):
		return errf(C.GONICE_EBUSY, "gonice: %v", err)
	case errors.Is(err, dtlssrtp.ErrNotReady):
		return errf(C.GONICE_EAGAIN, "gonice: %v", err)
	case errors.Is(err, dtlssrtp.ErrClosed):
		return errf(C.GONICE_ECLOSED, "gonice: %v", err)
	}
	return err
}

// onConn is call with f given the entry of connection handle h.
func onConn(errbuf *C.char, h C.uintptr_t, f func(e *entry) (int, error)) C.int {
	return call(errbuf, func() (int, error) {
		e, err := lookupConn(h)
		if err != nil {
			return 0, err
		}
		n, err := f(e)
		return n, connErr(err)
	})
}

// onConnection is onConn with f given the webrtc.Connection, created if
// it was not.
func onConnection(errbuf *C.char, h C.uintptr_t, f func(c *webrtc.Connection) (int, error)) C.int {
	return onConn(errbuf, h, func(e *entry) (int, error) {
		c, err := e.connection()
		if err != nil {
			return 0, err
		}
		return f(c)
	})
}

//export goniceCoreConnNew
func goniceCoreConnNew(errbuf *C.char, out *C.uintptr_t, options C.uint) C.int {
	return call(errbuf, func() (int, error) {
		const known = C.GONICE_CONNECTION_OPTION_NO_TRICKLE | C.GONICE_CONNECTION_OPTION_NO_RTCP_MUX |
			C.GONICE_CONNECTION_OPTION_DTLS_SERVER | C.GONICE_CONNECTION_OPTION_ICE_TCP | C.GONICE_CONNECTION_OPTION_DISPATCH
		opts := uint(options)
		if opts&^uint(known) != 0 {
			return 0, errf(C.GONICE_EINVAL, "gonice: unknown connection option bits %#x", opts&^uint(known))
		}
		ce := &connEntry{cfg: webrtc.Config{
			NoTrickle:  opts&C.GONICE_CONNECTION_OPTION_NO_TRICKLE != 0,
			NoRTCPMux:  opts&C.GONICE_CONNECTION_OPTION_NO_RTCP_MUX != 0,
			DTLSServer: opts&C.GONICE_CONNECTION_OPTION_DTLS_SERVER != 0,
			Agent:      withLogSink(nice.Config{ICETCP: opts&C.GONICE_CONNECTION_OPTION_ICE_TCP != 0}),
		}}
		var eopts uint
		if opts&C.GONICE_CONNECTION_OPTION_DISPATCH != 0 {
			eopts = C.GONICE_AGENT_OPTION_DISPATCH
		}
		e, err := newEntry(eopts, nice.Config{})
		if err != nil {
			return 0, err
		}
		e.conn = ce
		*out = C.uintptr_t(register(e))
		return 0, nil
	})
}

//export goniceCoreConnFree
func goniceCoreConnFree(errbuf *C.char, h C.uintptr_t) C.int {
	return onConn(errbuf, h, func(*entry) (int, error) {
		e := unregister(uintptr(h))
		if e == nil { // freed concurrently
			return 0, errf(C.GONICE_EBADHANDLE, "gonice: connection handle %#x was freed", uintptr(h))
		}
		e.freed.Store(true) // no more callbacks, CONN_FINISHED included
		ce := e.conn
		ce.mu.Lock()
		c := ce.c
		ce.closed = true
		ce.mu.Unlock()
		if c != nil {
			_ = c.Close()
			c.Wait() // the DTLS goroutine and the agent's; none waits for a C callback
		}
		e.free()
		return 0, nil
	})
}

//export goniceCoreConnClose
func goniceCoreConnClose(errbuf *C.char, h C.uintptr_t) C.int {
	return onConn(errbuf, h, func(e *entry) (int, error) {
		ce := e.conn
		ce.mu.Lock()
		c := ce.c
		already := ce.closed
		ce.closed = true
		ce.mu.Unlock()
		if already {
			return 0, nil
		}
		if c == nil { // never started: its events are CONN_FINISHED alone
			e.push(item{kind: kConnEvent, sid: int(webrtc.ConnFinished)})
			return 0, nil
		}
		_ = c.Close() // queues CONN_FINISHED; the agent's close error is of no use here
		return 0, nil
	})
}

//export goniceCoreConnAddLocalAddress
func goniceCoreConnAddLocalAddress(errbuf *C.char, h C.uintptr_t, ip *C.char) C.int {
	return onConn(errbuf, h, func(e *entry) (int, error) {
		s, err := goString(ip, "ip", maxStringArg)
		if err != nil {
			return 0, err
		}
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return 0, errf(C.GONICE_EINVAL, "gonice: %q is not an IP address", s)
		}
		ce := e.conn
		ce.mu.Lock()
		defer ce.mu.Unlock()
		if ce.c != nil || ce.closed {
			return 0, errf(C.GONICE_EBUSY, "gonice: local addresses are set before the first offer, answer or remote description")
		}
		ce.cfg.Addresses = append(ce.cfg.Addresses, addr.Unmap())
		return 0, nil
	})
}

//export goniceCoreConnSetSSRC
func goniceCoreConnSetSSRC(errbuf *C.char, h C.uintptr_t, kind *C.char, ssrc C.uint32_t) C.int {
	return onConn(errbuf, h, func(e *entry) (int, error) {
		k, err := goString(kind, "kind", maxStringArg)
		if err != nil {
			return 0, err
		}
		if k != "audio" && k != "video" {
			return 0, errf(C.GONICE_EINVAL, "gonice: kind %q is not \"audio\" or \"video\"", k)
		}
		ce := e.conn
		ce.mu.Lock()
		defer ce.mu.Unlock()
		if ce.c != nil || ce.closed {
			return 0, errf(C.GONICE_EBUSY, "gonice: SSRCs are set before the first offer, answer or remote description")
		}
		ssrcs := map[string]uint32{k: uint32(ssrc)} // a copy: webrtc.New keeps the map
		for kk, v := range ce.cfg.SSRCs {
			if kk != k {
				ssrcs[kk] = v
			}
		}
		ce.cfg.SSRCs = ssrcs
		return 0, nil
	})
}

//export goniceCoreConnSetCallback
func goniceCoreConnSetCallback(errbuf *C.char, h C.uintptr_t, which C.int, fn, ud unsafe.Pointer) C.int {
	return onConn(errbuf, h, func(e *entry) (int, error) {
		if which < connEventCB || which > connRTCPCB {
			return 0, errf(C.GONICE_EINVAL, "gonice: no callback %d", int(which))
		}
		e.cbmu.Lock()
		e.cbs[which] = callback{fn: fn, ud: ud}
		e.cbmu.Unlock()
		return 0, nil
	})
}

//export goniceCoreConnDescribe
func goniceCoreConnDescribe(errbuf *C.char, h C.uintptr_t, answer C.int, out **C.char) C.int {
	return onConnection(errbuf, h, func(c *webrtc.Connection) (int, error) {
		var s string
		var err error
		if answer != 0 {
			s, err = c.CreateAnswer()
		} else {
			s, err = c.CreateOffer()
		}
		if err != nil {
			return 0, err
		}
		*out = cString(s)
		return len(s), nil
	})
}

//export goniceCoreConnSetRemoteDescription
func goniceCoreConnSetRemoteDescription(errbuf *C.char, h C.uintptr_t, sdp *C.char) C.int {
	return onConnection(errbuf, h, func(c *webrtc.Connection) (int, error) {
		s, err := goString(sdp, "sdp", maxSDP)
		if err != nil {
			return 0, err
		}
		return 0, c.SetRemoteDescription(s)
	})
}

//export goniceCoreConnAddRemoteCandidate
func goniceCoreConnAddRemoteCandidate(errbuf *C.char, h C.uintptr_t, cand *C.char) C.int {
	return onConnection(errbuf, h, func(c *webrtc.Connection) (int, error) {
		s, err := goString(cand, "candidate", maxStringArg)
		if err != nil {
			return 0, err
		}
		return 0, c.AddRemoteCandidate(s)
	})
}

//export goniceCoreConnWrite
func goniceCoreConnWrite(errbuf *C.char, h C.uintptr_t, rtcp C.int, buf unsafe.Pointer, n C.size_t) C.int {
	return onConn(errbuf, h, func(e *entry) (int, error) {
		if n > C.GONICE_MAX_DATAGRAM {
			return 0, errf(C.GONICE_EINVAL, "gonice: a packet of %d bytes is longer than GONICE_MAX_DATAGRAM", uint64(n))
		}
		if buf == nil || n == 0 {
			return 0, errf(C.GONICE_EINVAL, "gonice: empty packet")
		}
		p := C.GoBytes(buf, C.int(n)) // protecting may write in place
		want, what := dtlssrtp.KindRTP, "RTP"
		if rtcp != 0 {
			want, what = dtlssrtp.KindRTCP, "RTCP"
		}
		if dtlssrtp.Classify(p) != want {
			return 0, errf(C.GONICE_EINVAL, "gonice: not an %s packet (RFC 3550 header, RFC 5761 payload types)", what)
		}
		ce := e.conn
		ce.mu.Lock()
		c, closed := ce.c, ce.closed
		ce.mu.Unlock()
		if closed || ce.failed.Load() {
			return 0, errf(C.GONICE_ECLOSED, "gonice: the connection is closed or failed")
		}
		if c == nil {
			return 0, errf(C.GONICE_EAGAIN, "gonice: the connection is not ready (no offer or answer yet)")
		}
		var err error
		if rtcp != 0 {
			_, err = c.WriteRTCP(p)
		} else {
			_, err = c.WriteRTP(p)
		}
		if err != nil {
			return 0, err
		}
		return int(n), nil
	})
}

var connHandle = handleKind{onConn, "connection", "GONICE_CONNECTION_OPTION_DISPATCH"}

//export goniceCoreConnGetFd
func goniceCoreConnGetFd(errbuf *C.char, h C.uintptr_t) C.int {
	return inDispatchMode(connHandle, errbuf, h, (*entry).fd)
}

//export goniceCoreConnDispatch
func goniceCoreConnDispatch(errbuf *C.char, h C.uintptr_t) C.int {
	return inDispatchMode(connHandle, errbuf, h, (*entry).dispatchNow)
}
