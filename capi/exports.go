// SPDX-License-Identifier: MIT

package main

// The functions of the core table (core_abi.h). Each starts with a deferred
// guard (panic -> GONICE_EINTERNAL) and reports failures through err, the
// loader's thread-local last-error buffer. Only declarations in this
// preamble (cgo rule for files with //export).

/*
#include <stdint.h>
#include <stdlib.h>
#include "core_abi.h"
*/
import "C"

import (
	"net/netip"
	"time"
	"unsafe"

	"github.com/gonice/gonice/nice"
)

const (
	maxStringArg = 1024    // ufrag, pwd, names, addresses
	maxSDP       = 1 << 20 // SDP texts
	maxCands     = 100000  // candidates per set_remote_candidates call
)

func agentOf(h C.uintptr_t) (*entry, *nice.Agent, error) {
	e, err := lookup(h)
	if err != nil {
		return nil, nil, err
	}
	a, err := e.agent()
	return e, a, err
}

//export goniceCoreAgentNew
func goniceCoreAgentNew(errbuf *C.char, out *C.uintptr_t, options C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	const known = C.GONICE_AGENT_OPTION_REGULAR_NOMINATION | C.GONICE_AGENT_OPTION_RELIABLE |
		C.GONICE_AGENT_OPTION_LITE_MODE | C.GONICE_AGENT_OPTION_ICE_TRICKLE |
		C.GONICE_AGENT_OPTION_SUPPORT_RENOMINATION | C.GONICE_AGENT_OPTION_CONSENT_FRESHNESS |
		C.GONICE_AGENT_OPTION_BYTESTREAM_TCP | C.GONICE_AGENT_OPTION_DISPATCH
	const unsupported = C.GONICE_AGENT_OPTION_RELIABLE | C.GONICE_AGENT_OPTION_SUPPORT_RENOMINATION |
		C.GONICE_AGENT_OPTION_BYTESTREAM_TCP
	opts := uint(options)
	if opts&^uint(known) != 0 {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: unknown option bits %#x", opts&^uint(known)))
	}
	if opts&unsupported != 0 {
		return fail(errbuf, errf(C.GONICE_ENOTSUP, "gonice: options %#x (reliable mode, renomination, bytestream TCP) are not supported", opts&unsupported))
	}
	var cfg nice.Config
	if opts&C.GONICE_AGENT_OPTION_LITE_MODE != 0 {
		cfg.Lite = true
	}
	e, err := newEntry(opts, cfg)
	if err != nil {
		return fail(errbuf, err)
	}
	*out = C.uintptr_t(register(e))
	return 0
}

//export goniceCoreAgentFree
func goniceCoreAgentFree(errbuf *C.char, h C.uintptr_t) (rc C.int) {
	defer guard(errbuf, &rc)
	if _, err := lookup(h); err != nil {
		return fail(errbuf, err)
	}
	e := unregister(uintptr(h))
	if e == nil { // freed concurrently
		return fail(errbuf, errf(C.GONICE_EBADHANDLE, "gonice: agent handle %#x was freed", uintptr(h)))
	}
	e.free()
	return 0
}

//export goniceCoreAgentCloseAsync
func goniceCoreAgentCloseAsync(errbuf *C.char, h C.uintptr_t, fn, ud unsafe.Pointer) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if err := e.closeAsync(callback{fn, ud}); err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreCheckHandle
func goniceCoreCheckHandle(errbuf *C.char, h C.uintptr_t) (rc C.int) {
	defer guard(errbuf, &rc)
	if _, err := lookup(h); err != nil {
		return fail(errbuf, err)
	}
	return 0
}

// intProps: the valid range of each integer property and how it sets the config.
var intProps = map[C.int]struct {
	name     string
	min, max int64
	set      func(cfg *nice.Config, v int64)
}{
	C.GONICE_PROP_NOMINATION: {"nomination-mode", 0, 1, func(c *nice.Config, v int64) { c.Nomination = nice.NominationMode(v) }},
	C.GONICE_PROP_LITE:       {"ice-lite", 0, 1, func(c *nice.Config, v int64) { c.Lite = v != 0 }},
	C.GONICE_PROP_CONSENT:    {"consent-freshness", 0, 1, func(c *nice.Config, v int64) { c.DisableConsentFreshness = v == 0 }},
	C.GONICE_PROP_KEEPALIVE_CONNCHECK: {"keepalive-conncheck", 0, 1, func(c *nice.Config, v int64) {
		c.KeepaliveConncheck = v != 0
	}},
	C.GONICE_PROP_ICE_UDP:    {"ice-udp", 0, 1, func(c *nice.Config, v int64) { c.DisableUDP = v == 0 }},
	C.GONICE_PROP_TA:         {"stun-pacing-timer", 1, 60000, func(c *nice.Config, v int64) { c.Ta = time.Duration(v) * time.Millisecond }},
	C.GONICE_PROP_MAX_CHECKS: {"max-connectivity-checks", 1, 100000, func(c *nice.Config, v int64) { c.MaxChecks = int(v) }},
	C.GONICE_PROP_STUN_INITIAL_TIMEOUT: {"stun-initial-timeout", 20, 9999, func(c *nice.Config, v int64) {
		c.STUNInitialTimeout = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_STUN_MAX_RETRANS: {"stun-max-retransmissions", 1, 99, func(c *nice.Config, v int64) { c.STUNMaxRetransmissions = int(v) }},
	C.GONICE_PROP_IDLE_TIMEOUT: {"idle-timeout", 50, 60000, func(c *nice.Config, v int64) {
		c.IdleTimeout = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_KEEPALIVE_INTERVAL: {"keepalive interval", 1000, 600000, func(c *nice.Config, v int64) {
		c.KeepaliveInterval = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_FORCE_RELAY: {"force-relay", 0, 1, func(c *nice.Config, v int64) { c.ForceRelay = v != 0 }},
}

//export goniceCoreSetPropInt
func goniceCoreSetPropInt(errbuf *C.char, h C.uintptr_t, prop C.int, value C.longlong) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if prop == C.GONICE_PROP_CONTROLLING {
		e.mu.Lock()
		a := e.a
		if a == nil {
			e.cfg.Controlling = value != 0
		}
		e.mu.Unlock()
		if a != nil {
			if err := a.SetControlling(value != 0); err != nil {
				return fail(errbuf, err)
			}
		}
		return 0
	}
	p, ok := intProps[prop]
	if !ok {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: unknown property %d", int(prop)))
	}
	v := int64(value)
	if v < p.min || v > p.max {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: %s %d out of range %d..%d", p.name, v, p.min, p.max))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.a != nil || e.closing {
		return fail(errbuf, errf(C.GONICE_EBUSY, "gonice: %s can only be set before the agent starts (before the first stream, address or other call)", p.name))
	}
	p.set(&e.cfg, v)
	return 0
}

//export goniceCoreSetPropStr
func goniceCoreSetPropStr(errbuf *C.char, h C.uintptr_t, prop C.int, s *C.char, port C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	val := ""
	if s != nil {
		if val, err = goString(s, "value", maxStringArg); err != nil {
			return fail(errbuf, err)
		}
	}
	var set func(*nice.Config)
	switch prop {
	case C.GONICE_PROP_STUN_SERVER:
		server := ""
		if val != "" {
			ip, perr := netip.ParseAddr(val)
			if perr != nil || ip.Zone() != "" {
				return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: STUN server %q is not an IP address", val))
			}
			if port > 65535 {
				return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: STUN server port %d out of range", uint(port)))
			}
			p := uint16(port)
			if p == 0 {
				p = nice.DefaultSTUNPort
			}
			server = netip.AddrPortFrom(ip.Unmap(), p).String()
		}
		set = func(c *nice.Config) { c.STUNServer = server }
	case C.GONICE_PROP_SOFTWARE:
		if len(val) > 127 {
			return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: software is longer than 127 bytes"))
		}
		e.mu.Lock()
		started := e.a != nil
		e.mu.Unlock()
		if started {
			return fail(errbuf, errf(C.GONICE_ENOTSUP, "gonice: software cannot be changed once the agent started (the Go agent fixes it at creation); set it before"))
		}
		set = func(c *nice.Config) { c.Software = val }
	default:
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: unknown property %d", int(prop)))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.a != nil || e.closing {
		return fail(errbuf, errf(C.GONICE_EBUSY, "gonice: this property can only be set before the agent starts"))
	}
	set(&e.cfg)
	return 0
}

//export goniceCoreGetControlling
func goniceCoreGetControlling(errbuf *C.char, h C.uintptr_t) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	e.mu.Lock()
	a, v := e.a, e.cfg.Controlling
	e.mu.Unlock()
	if a != nil {
		v = a.Controlling()
	}
	if v {
		return 1
	}
	return 0
}

//export goniceCoreAddLocalAddress
func goniceCoreAddLocalAddress(errbuf *C.char, h C.uintptr_t, ip *C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	s, err := goString(ip, "ip", 64)
	if err != nil {
		return fail(errbuf, err)
	}
	addr, perr := netip.ParseAddr(s)
	if perr != nil {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: %q is not an IP address", s))
	}
	if err := a.AddLocalAddress(addr); err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreAddStream
func goniceCoreAddStream(errbuf *C.char, h C.uintptr_t, n C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if n < 1 || n > 256 {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: %d components (want 1..256)", uint(n)))
	}
	id, err := a.AddStream(int(n))
	if err != nil {
		return fail(errbuf, err)
	}
	return C.int(id)
}

//export goniceCoreRemoveStream
func goniceCoreRemoveStream(errbuf *C.char, h C.uintptr_t, sid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	return agentDo(errbuf, h, func(a *nice.Agent) error { return a.RemoveStream(int(sid)) })
}

//export goniceCoreSetPortRange
func goniceCoreSetPortRange(errbuf *C.char, h C.uintptr_t, sid, cid, minPort, maxPort C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if minPort > 65535 || maxPort > 65535 {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: port range %d-%d out of range", uint(minPort), uint(maxPort)))
	}
	if err := a.SetPortRange(int(sid), int(cid), uint16(minPort), uint16(maxPort)); err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreSetRelayInfo
func goniceCoreSetRelayInfo(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, ip *C.char, port C.uint,
	username, password *C.char, typ C.int) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	host, err := goString(ip, "server_ip", 64)
	if err != nil {
		return fail(errbuf, err)
	}
	addr, perr := netip.ParseAddr(host)
	if perr != nil || addr.Zone() != "" {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: TURN server %q is not an IP address", host))
	}
	addr = addr.Unmap()
	if addr.IsUnspecified() || addr.IsMulticast() {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: TURN server %s is not a unicast address", addr))
	}
	if port == 0 || port > 65535 {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: TURN server port %d out of range 1..65535", uint(port)))
	}
	if typ < C.GONICE_RELAY_TYPE_TURN_UDP || typ > C.GONICE_RELAY_TYPE_TURN_TLS {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: relay type %d is not a GoniceRelayType", int(typ)))
	}
	user, err := goString(username, "username", maxStringArg)
	if err != nil {
		return fail(errbuf, err)
	}
	pass, err := goString(password, "password", maxStringArg)
	if err != nil {
		return fail(errbuf, err)
	}
	server := netip.AddrPortFrom(addr, uint16(port)).String()
	if err := a.SetRelayInfo(int(sid), int(cid), server, user, pass, nice.RelayType(typ)); err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreForgetRelays
func goniceCoreForgetRelays(errbuf *C.char, h C.uintptr_t, sid, cid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	return agentDo(errbuf, h, func(a *nice.Agent) error { return a.ForgetRelays(int(sid), int(cid)) })
}

//export goniceCoreSetStreamTOS
func goniceCoreSetStreamTOS(errbuf *C.char, h C.uintptr_t, sid C.uint, tos C.int) (rc C.int) {
	defer guard(errbuf, &rc)
	return agentDo(errbuf, h, func(a *nice.Agent) error { return a.SetStreamTOS(int(sid), int(tos)) })
}

//export goniceCoreGather
func goniceCoreGather(errbuf *C.char, h C.uintptr_t, sid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	return agentDo(errbuf, h, func(a *nice.Agent) error { return a.GatherCandidates(int(sid)) })
}

//export goniceCoreGetLocalCredentials
func goniceCoreGetLocalCredentials(errbuf *C.char, h C.uintptr_t, sid C.uint, ufrag, pwd **C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	u, p, err := a.LocalCredentials(int(sid))
	if err != nil {
		return fail(errbuf, err)
	}
	*ufrag = cString(u)
	*pwd = cString(p)
	return 0
}

//export goniceCoreSetCredentials
func goniceCoreSetCredentials(errbuf *C.char, h C.uintptr_t, sid C.uint, remote C.int, ufrag, pwd *C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	u, err := goString(ufrag, "ufrag", maxStringArg)
	if err != nil {
		return fail(errbuf, err)
	}
	p, err := goString(pwd, "pwd", maxStringArg)
	if err != nil {
		return fail(errbuf, err)
	}
	if remote != 0 {
		err = a.SetRemoteCredentials(int(sid), u, p)
	} else {
		err = a.SetLocalCredentials(int(sid), u, p)
	}
	if err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreGetCandidates
func goniceCoreGetCandidates(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, remote C.int, out **C.GoniceCandidate) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	var cands []nice.Candidate
	if remote != 0 {
		cands, err = a.RemoteCandidates(int(sid), int(cid))
	} else {
		cands, err = a.LocalCandidates(int(sid), int(cid))
	}
	if err != nil {
		return fail(errbuf, err)
	}
	*out = candidateArray(cands)
	return C.int(len(cands))
}

//export goniceCoreSetRemoteCandidates
func goniceCoreSetRemoteCandidates(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, cands *C.GoniceCandidate, n C.size_t) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if n > maxCands {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: %d candidates (at most %d per call)", uint64(n), maxCands))
	}
	if n > 0 && cands == nil {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: cands is NULL"))
	}
	list := make([]nice.Candidate, 0, int(n))
	if n > 0 {
		for i, c := range unsafe.Slice(cands, int(n)) {
			gc, err := fromC(&c)
			if err != nil {
				return fail(errbuf, errf(C.GONICE_EINVAL, "candidate %d: %v", i, err))
			}
			gc.StreamID, gc.ComponentID = int(sid), int(cid)
			list = append(list, gc)
		}
	}
	added, err := a.SetRemoteCandidates(int(sid), int(cid), list)
	if err != nil {
		return fail(errbuf, err)
	}
	return C.int(added)
}

//export goniceCorePeerGatheringDone
func goniceCorePeerGatheringDone(errbuf *C.char, h C.uintptr_t, sid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	return agentDo(errbuf, h, func(a *nice.Agent) error { return a.PeerCandidateGatheringDone(int(sid)) })
}

//export goniceCoreRestart
func goniceCoreRestart(errbuf *C.char, h C.uintptr_t, all C.int, sid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err == nil {
		if all != 0 {
			err = a.Restart()
		} else {
			err = a.RestartStream(int(sid))
		}
	}
	if err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreGetSelectedPair
func goniceCoreGetSelectedPair(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, local, remote *C.GoniceCandidate) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	l, r, err := a.SelectedPair(int(sid), int(cid))
	if err != nil {
		return fail(errbuf, err)
	}
	toC(local, &l)
	toC(remote, &r)
	return 0
}

//export goniceCoreGetComponentState
func goniceCoreGetComponentState(errbuf *C.char, h C.uintptr_t, sid, cid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err == nil {
		// ComponentState answers FAILED for unknown ids; tell them apart.
		_, err = a.LocalCandidates(int(sid), int(cid))
	}
	if err != nil {
		return fail(errbuf, err)
	}
	return C.int(a.ComponentState(int(sid), int(cid)))
}

//export goniceCoreConsentLost
func goniceCoreConsentLost(errbuf *C.char, h C.uintptr_t, sid, cid C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	return agentDo(errbuf, h, func(a *nice.Agent) error { return a.ConsentLost(int(sid), int(cid)) })
}

//export goniceCoreSetStreamName
func goniceCoreSetStreamName(errbuf *C.char, h C.uintptr_t, sid C.uint, name *C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	s, err := goString(name, "name", maxStringArg)
	if err == nil {
		err = a.SetStreamName(int(sid), s)
	}
	if err != nil {
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreGetStreamName
func goniceCoreGetStreamName(errbuf *C.char, h C.uintptr_t, sid C.uint, out **C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	name, err := a.StreamName(int(sid))
	if err != nil {
		return fail(errbuf, err)
	}
	*out = cString(name)
	return 0
}

//export goniceCoreGenerateSDP
func goniceCoreGenerateSDP(errbuf *C.char, h C.uintptr_t, kind C.int, sid C.uint, includeNonICE C.int, cand *C.GoniceCandidate, out **C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	var sdp string
	switch kind {
	case C.GONICE_SDP_AGENT:
		sdp = a.GenerateLocalSDP()
	case C.GONICE_SDP_STREAM:
		sdp, err = a.GenerateLocalStreamSDP(int(sid), includeNonICE != 0)
	case C.GONICE_SDP_CANDIDATE:
		if cand == nil {
			return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: cand is NULL"))
		}
		var c nice.Candidate
		if c, err = fromC(cand); err == nil {
			sdp = a.GenerateLocalCandidateSDP(c)
		}
	default:
		err = errf(C.GONICE_EINVAL, "gonice: unknown SDP kind %d", int(kind))
	}
	if err != nil {
		return fail(errbuf, err)
	}
	if len(sdp) > 1<<30 {
		return fail(errbuf, errf(C.GONICE_ERANGE, "gonice: SDP too long"))
	}
	*out = cString(sdp)
	return C.int(len(sdp))
}

//export goniceCoreParseRemoteSDP
func goniceCoreParseRemoteSDP(errbuf *C.char, h C.uintptr_t, sdp *C.char) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	s, err := goString(sdp, "sdp", maxSDP)
	if err != nil {
		return fail(errbuf, err)
	}
	n, err := a.ParseRemoteSDP(s)
	if err != nil {
		return fail(errbuf, err)
	}
	return C.int(n)
}

//export goniceCoreParseRemoteStreamSDP
func goniceCoreParseRemoteStreamSDP(errbuf *C.char, h C.uintptr_t, sid C.uint, sdp *C.char, ufrag, pwd **C.char, cands **C.GoniceCandidate) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	s, err := goString(sdp, "sdp", maxSDP)
	if err != nil {
		return fail(errbuf, err)
	}
	list, u, p, err := a.ParseRemoteStreamSDP(int(sid), s)
	if err != nil {
		return fail(errbuf, err)
	}
	if ufrag != nil {
		*ufrag = cString(u)
	}
	if pwd != nil {
		*pwd = cString(p)
	}
	*cands = candidateArray(list)
	return C.int(len(list))
}

//export goniceCoreParseRemoteCandidateSDP
func goniceCoreParseRemoteCandidateSDP(errbuf *C.char, h C.uintptr_t, sid C.uint, sdp *C.char, out **C.GoniceCandidate) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	s, err := goString(sdp, "sdp", maxSDP)
	if err != nil {
		return fail(errbuf, err)
	}
	c, err := a.ParseRemoteCandidateSDP(int(sid), s)
	if err != nil {
		return fail(errbuf, err)
	}
	*out = candidateArray([]nice.Candidate{c})
	return 0
}

//export goniceCoreSend
func goniceCoreSend(errbuf *C.char, h C.uintptr_t, sid, cid, n C.uint, buf unsafe.Pointer) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if n > C.GONICE_MAX_DATAGRAM {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: %d bytes is more than a datagram (%d)", uint(n), C.GONICE_MAX_DATAGRAM))
	}
	var p []byte
	if n > 0 {
		p = unsafe.Slice((*byte)(buf), int(n))
	}
	sent, err := a.Send(int(sid), int(cid), p)
	if err != nil {
		return fail(errbuf, err)
	}
	return C.int(sent)
}

//export goniceCoreSendMessages
func goniceCoreSendMessages(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, msgs *C.GoniceOutputMessage, n C.uint) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if n == 0 {
		return 0
	}
	if msgs == nil {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: messages is NULL"))
	}
	if n > 1<<20 {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: %d messages (at most %d)", uint(n), 1<<20))
	}
	// Runs of single-buffer messages go out together (SendMessages:
	// sendmmsg on Linux); a message of several buffers is gathered into
	// scratch and sent on its own.
	var (
		scratch []byte
		arr     [64][]byte
		pend    = arr[:0]
		sent    int
	)
	flush := func() error {
		k, err := a.SendMessages(int(sid), int(cid), pend)
		sent += k
		pend = pend[:0]
		return err
	}
	for i, m := range unsafe.Slice(msgs, int(n)) {
		var p []byte
		single := false
		if m.n_buffers < 0 || (m.n_buffers > 0 && m.buffers == nil) || m.n_buffers > 1024 {
			err = errf(C.GONICE_EINVAL, "gonice: message %d: bad buffers (%d)", i, int(m.n_buffers))
		} else if m.n_buffers > 0 {
			vecs := unsafe.Slice(m.buffers, int(m.n_buffers))
			total := uint64(0)
			for _, v := range vecs {
				total += uint64(v.size)
				if v.size > 0 && v.buffer == nil {
					err = errf(C.GONICE_EINVAL, "gonice: message %d: NULL buffer", i)
				}
			}
			if err == nil && total > C.GONICE_MAX_DATAGRAM {
				err = errf(C.GONICE_EINVAL, "gonice: message %d: %d bytes is more than a datagram", i, total)
			}
			if err == nil {
				if len(vecs) == 1 {
					p, single = unsafe.Slice((*byte)(vecs[0].buffer), int(vecs[0].size)), true
				} else {
					scratch = scratch[:0]
					for _, v := range vecs {
						if v.size > 0 {
							scratch = append(scratch, unsafe.Slice((*byte)(v.buffer), int(v.size))...)
						}
					}
					p = scratch
				}
			}
		} else {
			single = true // an empty datagram
		}
		if err == nil && single {
			pend = append(pend, p)
			if len(pend) == len(arr) {
				err = flush()
			}
		} else {
			if len(pend) > 0 {
				if ferr := flush(); ferr != nil {
					err = ferr
				}
			}
			if err == nil {
				if _, err = a.Send(int(sid), int(cid), p); err == nil {
					sent++
				}
			}
		}
		if err != nil {
			break
		}
	}
	if err == nil && len(pend) > 0 {
		err = flush()
	}
	if err != nil {
		if sent == 0 {
			return fail(errbuf, err)
		}
		setErr(errbuf, err.Error())
	}
	return C.int(sent)
}

//export goniceCoreAttachRecv
func goniceCoreAttachRecv(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, fn, ud unsafe.Pointer) (rc C.int) {
	defer guard(errbuf, &rc)
	e, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	key := [2]int{int(sid), int(cid)}
	e.cbmu.Lock()
	old, had := e.recv[key]
	if fn == nil {
		delete(e.recv, key)
	} else {
		e.recv[key] = callback{fn, ud}
	}
	e.cbmu.Unlock()
	if fn == nil {
		err = a.AttachRecv(int(sid), int(cid), nil)
	} else {
		err = a.AttachRecv(int(sid), int(cid), e.onData)
	}
	if err != nil {
		e.cbmu.Lock()
		if had {
			e.recv[key] = old
		} else {
			delete(e.recv, key)
		}
		e.cbmu.Unlock()
		return fail(errbuf, err)
	}
	return 0
}

//export goniceCoreRecv
func goniceCoreRecv(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, buf unsafe.Pointer, n C.size_t) (rc C.int) {
	defer guard(errbuf, &rc)
	_, a, err := agentOf(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if buf == nil {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: buf is NULL"))
	}
	size := min(uint64(n), 65536) // no datagram is longer
	got, err := a.Recv(int(sid), int(cid), unsafe.Slice((*byte)(buf), int(size)))
	if err != nil {
		return fail(errbuf, err)
	}
	return C.int(got)
}

//export goniceCoreConnect
func goniceCoreConnect(errbuf *C.char, h C.uintptr_t, sig C.int, fn, ud unsafe.Pointer) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if sig < 0 || sig >= C.GONICE_SIG_COUNT {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: unknown signal %d", int(sig)))
	}
	e.cbmu.Lock()
	e.cbs[sig] = callback{fn, ud}
	e.cbmu.Unlock()
	return 0
}

//export goniceCoreGetFd
func goniceCoreGetFd(errbuf *C.char, h C.uintptr_t) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if !e.dispatch {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: the agent is not in dispatch mode (GONICE_AGENT_OPTION_DISPATCH)"))
	}
	e.qmu.Lock()
	fd := e.efd
	e.qmu.Unlock()
	return fd
}

//export goniceCoreDispatch
func goniceCoreDispatch(errbuf *C.char, h C.uintptr_t) (rc C.int) {
	defer guard(errbuf, &rc)
	e, err := lookup(h)
	if err != nil {
		return fail(errbuf, err)
	}
	if !e.dispatch {
		return fail(errbuf, errf(C.GONICE_EINVAL, "gonice: the agent is not in dispatch mode (GONICE_AGENT_OPTION_DISPATCH)"))
	}
	if !e.dispatching.CompareAndSwap(false, true) {
		return fail(errbuf, errf(C.GONICE_EBUSY, "gonice: a dispatch of this agent is already running"))
	}
	defer e.dispatching.Store(false)
	batch := e.take()
	n := e.run(batch)
	e.recycle(batch)
	return C.int(n)
}

// agentDo runs f on the agent of handle h and returns 0, or the error code
// of a bad handle or of f's error (with the detail in errbuf).
func agentDo(errbuf *C.char, h C.uintptr_t, f func(a *nice.Agent) error) C.int {
	_, a, err := agentOf(h)
	if err == nil {
		err = f(a)
	}
	if err != nil {
		return fail(errbuf, err)
	}
	return 0
}
