// SPDX-License-Identifier: MIT

package main

// The functions of the core table (capi/functions.def, core_abi.h). Each is
// one call of call, onEntry or onAgent (main.go): those look up the handle,
// recover panics into GONICE_EINTERNAL and report failures through errbuf,
// the loader's thread-local last-error buffer. Only declarations in this
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

//export goniceCoreSetThreadPoolSize
func goniceCoreSetThreadPoolSize(errbuf *C.char, n C.uint) C.int {
	return call(errbuf, func() (int, error) {
		if n > maxPoolThreads {
			return 0, errf(C.GONICE_EINVAL, "gonice: a pool of %d threads is more than %d", uint(n), maxPoolThreads)
		}
		return setPoolSize(int(n)), nil
	})
}

//export goniceCoreAgentNew
func goniceCoreAgentNew(errbuf *C.char, out *C.uintptr_t, options C.uint) C.int {
	return call(errbuf, func() (int, error) {
		const known = C.GONICE_AGENT_OPTION_REGULAR_NOMINATION | C.GONICE_AGENT_OPTION_RELIABLE |
			C.GONICE_AGENT_OPTION_LITE_MODE | C.GONICE_AGENT_OPTION_ICE_TRICKLE |
			C.GONICE_AGENT_OPTION_SUPPORT_RENOMINATION | C.GONICE_AGENT_OPTION_CONSENT_FRESHNESS |
			C.GONICE_AGENT_OPTION_BYTESTREAM_TCP | C.GONICE_AGENT_OPTION_DISPATCH
		const unsupported = C.GONICE_AGENT_OPTION_RELIABLE | C.GONICE_AGENT_OPTION_BYTESTREAM_TCP
		opts := uint(options)
		if opts&^uint(known) != 0 {
			return 0, errf(C.GONICE_EINVAL, "gonice: unknown option bits %#x", opts&^uint(known))
		}
		if opts&unsupported != 0 {
			return 0, errf(C.GONICE_ENOTSUP, "gonice: options %#x (reliable mode, bytestream TCP) are not supported", opts&unsupported)
		}
		var cfg nice.Config
		if opts&C.GONICE_AGENT_OPTION_LITE_MODE != 0 {
			cfg.Lite = true
		}
		if opts&C.GONICE_AGENT_OPTION_SUPPORT_RENOMINATION != 0 {
			cfg.Renomination = true
		}
		e, err := newEntry(opts, cfg)
		if err != nil {
			return 0, err
		}
		h := register(e)
		if e.dispatch {
			if err := e.startFastPath(h); err != nil {
				unregister(h)
				e.free()
				return 0, err
			}
		}
		*out = C.uintptr_t(h)
		return 0, nil
	})
}

//export goniceCoreAgentFree
func goniceCoreAgentFree(errbuf *C.char, h C.uintptr_t) C.int {
	return onEntry(errbuf, h, func(*entry) (int, error) {
		e := unregister(uintptr(h))
		if e == nil { // freed concurrently
			return 0, errf(C.GONICE_EBADHANDLE, "gonice: agent handle %#x was freed", uintptr(h))
		}
		e.free()
		return 0, nil
	})
}

//export goniceCoreAgentCloseAsync
func goniceCoreAgentCloseAsync(errbuf *C.char, h C.uintptr_t, fn, ud unsafe.Pointer) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) { return 0, e.closeAsync(callback{fn, ud}) })
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
	C.GONICE_PROP_ICE_UDP: {"ice-udp", 0, 1, func(c *nice.Config, v int64) { c.DisableUDP = v == 0 }},
	C.GONICE_PROP_ICE_TCP: {"ice-tcp", 0, 1, func(c *nice.Config, v int64) { c.ICETCP = v != 0 }},
	C.GONICE_PROP_TCP_SO: {"tcp simultaneous open", 0, 1, func(c *nice.Config, v int64) {
		c.TCPSimultaneousOpen = v != 0
	}},
	C.GONICE_PROP_TA:         {"stun-pacing-timer", 1, 60000, func(c *nice.Config, v int64) { c.Ta = time.Duration(v) * time.Millisecond }},
	C.GONICE_PROP_MAX_CHECKS: {"max-connectivity-checks", 1, 100000, func(c *nice.Config, v int64) { c.MaxChecks = int(v) }},
	C.GONICE_PROP_STUN_INITIAL_TIMEOUT: {"stun-initial-timeout", 20, 9999, func(c *nice.Config, v int64) {
		c.STUNInitialTimeout = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_STUN_MAX_RETRANS: {"stun-max-retransmissions", 1, 99, func(c *nice.Config, v int64) { c.STUNMaxRetransmissions = int(v) }},
	C.GONICE_PROP_IDLE_TIMEOUT: {"idle-timeout", 50, 60000, func(c *nice.Config, v int64) {
		c.IdleTimeout = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_RENOMINATION: {"support-renomination", 0, 1, func(c *nice.Config, v int64) { c.Renomination = v != 0 }},
	C.GONICE_PROP_KEEPALIVE_INTERVAL: {"keepalive interval", 1000, 600000, func(c *nice.Config, v int64) {
		c.KeepaliveInterval = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_CONSENT_INTERVAL: {"consent interval", 100, 60000, func(c *nice.Config, v int64) {
		c.ConsentInterval = time.Duration(v) * time.Millisecond
	}},
	C.GONICE_PROP_CONSENT_TIMEOUT: {"consent timeout", 500, 600000, func(c *nice.Config, v int64) {
		c.ConsentTimeout = time.Duration(v) * time.Millisecond
	}},
}

//export goniceCoreSetPropInt
func goniceCoreSetPropInt(errbuf *C.char, h C.uintptr_t, prop C.int, value C.longlong) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		// The properties an agent takes while it runs, as libnice's:
		// before it starts they go to its configuration.
		var live func(a *nice.Agent, on bool) error
		var set func(c *nice.Config, on bool)
		switch prop {
		case C.GONICE_PROP_CONTROLLING:
			live, set = (*nice.Agent).SetControlling, func(c *nice.Config, on bool) { c.Controlling = on }
		case C.GONICE_PROP_FORCE_RELAY:
			live, set = (*nice.Agent).SetForceRelay, func(c *nice.Config, on bool) { c.ForceRelay = on }
		}
		if live != nil {
			e.mu.Lock()
			a := e.a
			if a == nil {
				set(&e.cfg, value != 0)
			}
			e.mu.Unlock()
			if a != nil {
				return 0, live(a, value != 0)
			}
			return 0, nil
		}
		p, ok := intProps[prop]
		if !ok {
			return 0, errf(C.GONICE_EINVAL, "gonice: unknown property %d", int(prop))
		}
		v := int64(value)
		if v < p.min || v > p.max {
			return 0, errf(C.GONICE_EINVAL, "gonice: %s %d out of range %d..%d", p.name, v, p.min, p.max)
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.a != nil || e.closing {
			return 0, errf(C.GONICE_EBUSY, "gonice: %s can only be set before the agent starts (before the first stream, address or other call)", p.name)
		}
		p.set(&e.cfg, v)
		return 0, nil
	})
}

//export goniceCoreSetPropStr
func goniceCoreSetPropStr(errbuf *C.char, h C.uintptr_t, prop C.int, s *C.char, port C.uint) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		val := ""
		if s != nil {
			var err error
			if val, err = goString(s, "value", maxStringArg); err != nil {
				return 0, err
			}
		}
		var set func(*nice.Config)
		switch prop {
		case C.GONICE_PROP_STUN_SERVER:
			server := ""
			if val != "" {
				ip, perr := netip.ParseAddr(val)
				if perr != nil || ip.Zone() != "" {
					return 0, errf(C.GONICE_EINVAL, "gonice: STUN server %q is not an IP address", val)
				}
				if port > 65535 {
					return 0, errf(C.GONICE_EINVAL, "gonice: STUN server port %d out of range", uint(port))
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
				return 0, errf(C.GONICE_EINVAL, "gonice: software is longer than 127 bytes")
			}
			e.mu.Lock()
			started := e.a != nil
			e.mu.Unlock()
			if started {
				return 0, errf(C.GONICE_ENOTSUP, "gonice: software cannot be changed once the agent started (the Go agent fixes it at creation); set it before")
			}
			set = func(c *nice.Config) { c.Software = val }
		default:
			return 0, errf(C.GONICE_EINVAL, "gonice: unknown property %d", int(prop))
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.a != nil || e.closing {
			return 0, errf(C.GONICE_EBUSY, "gonice: this property can only be set before the agent starts")
		}
		set(&e.cfg)
		return 0, nil
	})
}

//export goniceCoreGetControlling
func goniceCoreGetControlling(errbuf *C.char, h C.uintptr_t) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		e.mu.Lock()
		a, v := e.a, e.cfg.Controlling
		e.mu.Unlock()
		if a != nil {
			v = a.Controlling()
		}
		if v {
			return 1, nil
		}
		return 0, nil
	})
}

//export goniceCoreAddLocalAddress
func goniceCoreAddLocalAddress(errbuf *C.char, h C.uintptr_t, ip *C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		s, err := goString(ip, "ip", 64)
		if err != nil {
			return 0, err
		}
		addr, perr := netip.ParseAddr(s)
		if perr != nil {
			return 0, errf(C.GONICE_EINVAL, "gonice: %q is not an IP address", s)
		}
		return 0, a.AddLocalAddress(addr)
	})
}

//export goniceCoreAddStream
func goniceCoreAddStream(errbuf *C.char, h C.uintptr_t, n C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		if n < 1 || n > 256 {
			return 0, errf(C.GONICE_EINVAL, "gonice: %d components (want 1..256)", uint(n))
		}
		return a.AddStream(int(n))
	})
}

//export goniceCoreRemoveStream
func goniceCoreRemoveStream(errbuf *C.char, h C.uintptr_t, sid C.uint) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		a, err := e.agent()
		if err != nil {
			return 0, err
		}
		e.flushSends() // the stream's queued sends go out first, as if they had been synchronous
		return 0, a.RemoveStream(int(sid))
	})
}

//export goniceCoreSetPortRange
func goniceCoreSetPortRange(errbuf *C.char, h C.uintptr_t, sid, cid, minPort, maxPort C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		if minPort > 65535 || maxPort > 65535 {
			return 0, errf(C.GONICE_EINVAL, "gonice: port range %d-%d out of range", uint(minPort), uint(maxPort))
		}
		return 0, a.SetPortRange(int(sid), int(cid), uint16(minPort), uint16(maxPort))
	})
}

//export goniceCoreSetRelayInfo
func goniceCoreSetRelayInfo(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, ip *C.char, port C.uint,
	username, password *C.char, typ C.int) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		host, err := goString(ip, "server_ip", 64)
		if err != nil {
			return 0, err
		}
		addr, perr := netip.ParseAddr(host)
		if perr != nil || addr.Zone() != "" {
			return 0, errf(C.GONICE_EINVAL, "gonice: TURN server %q is not an IP address", host)
		}
		addr = addr.Unmap()
		if addr.IsUnspecified() || addr.IsMulticast() {
			return 0, errf(C.GONICE_EINVAL, "gonice: TURN server %s is not a unicast address", addr)
		}
		if port == 0 || port > 65535 {
			return 0, errf(C.GONICE_EINVAL, "gonice: TURN server port %d out of range 1..65535", uint(port))
		}
		if typ < C.GONICE_RELAY_TYPE_TURN_UDP || typ > C.GONICE_RELAY_TYPE_TURN_TLS {
			return 0, errf(C.GONICE_EINVAL, "gonice: relay type %d is not a GoniceRelayType", int(typ))
		}
		user, err := goString(username, "username", maxStringArg)
		if err != nil {
			return 0, err
		}
		pass, err := goString(password, "password", maxStringArg)
		if err != nil {
			return 0, err
		}
		server := netip.AddrPortFrom(addr, uint16(port)).String()
		return 0, a.SetRelayInfo(int(sid), int(cid), server, user, pass, nice.RelayType(typ))
	})
}

//export goniceCoreForgetRelays
func goniceCoreForgetRelays(errbuf *C.char, h C.uintptr_t, sid, cid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) { return 0, a.ForgetRelays(int(sid), int(cid)) })
}

//export goniceCoreGetRelayErrors
func goniceCoreGetRelayErrors(errbuf *C.char, h C.uintptr_t, sid C.uint, out **C.GoniceRelayError) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		errs, err := a.RelayErrors(int(sid))
		if err != nil {
			return 0, err
		}
		*out = relayErrorArray(errs)
		return len(errs), nil
	})
}

//export goniceCoreSetStreamTOS
func goniceCoreSetStreamTOS(errbuf *C.char, h C.uintptr_t, sid C.uint, tos C.int) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) { return 0, a.SetStreamTOS(int(sid), int(tos)) })
}

//export goniceCoreGather
func goniceCoreGather(errbuf *C.char, h C.uintptr_t, sid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		if err := a.GatherCandidates(int(sid)); err != nil {
			return 0, err
		}
		// The signals gathering caused so far (the host candidates, and
		// gathering-done if there is nothing more to gather) are queued for
		// the C callbacks before this returns, as libnice emits them inside
		// the call (gonice.h).
		a.WaitSignals()
		return 0, nil
	})
}

//export goniceCoreGetLocalCredentials
func goniceCoreGetLocalCredentials(errbuf *C.char, h C.uintptr_t, sid C.uint, ufrag, pwd **C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		u, p, err := a.LocalCredentials(int(sid))
		if err != nil {
			return 0, err
		}
		*ufrag = cString(u)
		*pwd = cString(p)
		return 0, nil
	})
}

//export goniceCoreSetCredentials
func goniceCoreSetCredentials(errbuf *C.char, h C.uintptr_t, sid C.uint, remote C.int, ufrag, pwd *C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		u, err := goString(ufrag, "ufrag", maxStringArg)
		if err != nil {
			return 0, err
		}
		p, err := goString(pwd, "pwd", maxStringArg)
		if err != nil {
			return 0, err
		}
		if remote != 0 {
			return 0, a.SetRemoteCredentials(int(sid), u, p)
		}
		return 0, a.SetLocalCredentials(int(sid), u, p)
	})
}

//export goniceCoreGetCandidates
func goniceCoreGetCandidates(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, remote C.int, out **C.GoniceCandidate) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		get := a.LocalCandidates
		if remote != 0 {
			get = a.RemoteCandidates
		}
		cands, err := get(int(sid), int(cid))
		if err != nil {
			return 0, err
		}
		*out = candidateArray(cands)
		return len(cands), nil
	})
}

//export goniceCoreSetRemoteCandidates
func goniceCoreSetRemoteCandidates(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, cands *C.GoniceCandidate, n C.size_t) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		if n > maxCands {
			return 0, errf(C.GONICE_EINVAL, "gonice: %d candidates (at most %d per call)", uint64(n), maxCands)
		}
		if n > 0 && cands == nil {
			return 0, errf(C.GONICE_EINVAL, "gonice: cands is NULL")
		}
		list := make([]nice.Candidate, 0, int(n))
		if n > 0 {
			for i, c := range unsafe.Slice(cands, int(n)) {
				gc, err := fromC(&c)
				if err != nil {
					return 0, errf(C.GONICE_EINVAL, "candidate %d: %v", i, err)
				}
				gc.StreamID, gc.ComponentID = int(sid), int(cid)
				list = append(list, gc)
			}
		}
		return a.SetRemoteCandidates(int(sid), int(cid), list)
	})
}

//export goniceCorePeerGatheringDone
func goniceCorePeerGatheringDone(errbuf *C.char, h C.uintptr_t, sid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) { return 0, a.PeerCandidateGatheringDone(int(sid)) })
}

//export goniceCoreRegather
func goniceCoreRegather(errbuf *C.char, h C.uintptr_t, sid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) { return 0, a.Regather(int(sid)) })
}

//export goniceCoreRestart
func goniceCoreRestart(errbuf *C.char, h C.uintptr_t, all C.int, sid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		if all != 0 {
			return 0, a.Restart()
		}
		return 0, a.RestartStream(int(sid))
	})
}

//export goniceCoreGetSelectedPair
func goniceCoreGetSelectedPair(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, local, remote *C.GoniceCandidate) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		l, r, err := a.SelectedPair(int(sid), int(cid))
		if err != nil {
			return 0, err
		}
		toC(local, &l)
		toC(remote, &r)
		return 0, nil
	})
}

//export goniceCoreRenominate
func goniceCoreRenominate(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, lfoundation, rfoundation *C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		lf, err := goString(lfoundation, "lfoundation", maxStringArg)
		if err != nil {
			return 0, err
		}
		rf, err := goString(rfoundation, "rfoundation", maxStringArg)
		if err != nil {
			return 0, err
		}
		return 0, a.Renominate(int(sid), int(cid), lf, rf)
	})
}

//export goniceCoreGetComponentState
func goniceCoreGetComponentState(errbuf *C.char, h C.uintptr_t, sid, cid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		// ComponentState answers FAILED for unknown ids; tell them apart.
		if _, err := a.LocalCandidates(int(sid), int(cid)); err != nil {
			return 0, err
		}
		return int(a.ComponentState(int(sid), int(cid))), nil
	})
}

//export goniceCoreConsentLost
func goniceCoreConsentLost(errbuf *C.char, h C.uintptr_t, sid, cid C.uint) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) { return 0, a.ConsentLost(int(sid), int(cid)) })
}

//export goniceCoreSetStreamName
func goniceCoreSetStreamName(errbuf *C.char, h C.uintptr_t, sid C.uint, name *C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		s, err := goString(name, "name", maxStringArg)
		if err != nil {
			return 0, err
		}
		return 0, a.SetStreamName(int(sid), s)
	})
}

//export goniceCoreGetStreamName
func goniceCoreGetStreamName(errbuf *C.char, h C.uintptr_t, sid C.uint, out **C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		name, err := a.StreamName(int(sid))
		if err != nil {
			return 0, err
		}
		*out = cString(name)
		return 0, nil
	})
}

//export goniceCoreGenerateSDP
func goniceCoreGenerateSDP(errbuf *C.char, h C.uintptr_t, kind C.int, sid C.uint, includeNonICE C.int, cand *C.GoniceCandidate, out **C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		var sdp string
		var err error
		switch kind {
		case C.GONICE_SDP_AGENT:
			sdp = a.GenerateLocalSDP()
		case C.GONICE_SDP_STREAM:
			sdp, err = a.GenerateLocalStreamSDP(int(sid), includeNonICE != 0)
		case C.GONICE_SDP_CANDIDATE:
			if cand == nil {
				return 0, errf(C.GONICE_EINVAL, "gonice: cand is NULL")
			}
			var c nice.Candidate
			if c, err = fromC(cand); err == nil {
				sdp = a.GenerateLocalCandidateSDP(c)
			}
		default:
			err = errf(C.GONICE_EINVAL, "gonice: unknown SDP kind %d", int(kind))
		}
		if err != nil {
			return 0, err
		}
		if len(sdp) > 1<<30 {
			return 0, errf(C.GONICE_ERANGE, "gonice: SDP too long")
		}
		*out = cString(sdp)
		return len(sdp), nil
	})
}

//export goniceCoreParseRemoteSDP
func goniceCoreParseRemoteSDP(errbuf *C.char, h C.uintptr_t, sdp *C.char) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		s, err := goString(sdp, "sdp", maxSDP)
		if err != nil {
			return 0, err
		}
		return a.ParseRemoteSDP(s)
	})
}

//export goniceCoreParseRemoteStreamSDP
func goniceCoreParseRemoteStreamSDP(errbuf *C.char, h C.uintptr_t, sid C.uint, sdp *C.char, ufrag, pwd **C.char, cands **C.GoniceCandidate) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		s, err := goString(sdp, "sdp", maxSDP)
		if err != nil {
			return 0, err
		}
		list, u, p, err := a.ParseRemoteStreamSDP(int(sid), s)
		if err != nil {
			return 0, err
		}
		if ufrag != nil {
			*ufrag = cString(u)
		}
		if pwd != nil {
			*pwd = cString(p)
		}
		*cands = candidateArray(list)
		return len(list), nil
	})
}

//export goniceCoreParseRemoteCandidateSDP
func goniceCoreParseRemoteCandidateSDP(errbuf *C.char, h C.uintptr_t, sid C.uint, sdp *C.char, out **C.GoniceCandidate) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		s, err := goString(sdp, "sdp", maxSDP)
		if err != nil {
			return 0, err
		}
		c, err := a.ParseRemoteCandidateSDP(int(sid), s)
		if err != nil {
			return 0, err
		}
		*out = candidateArray([]nice.Candidate{c})
		return 0, nil
	})
}

// (In dispatch mode fast_send, fastpath.c, is called first; it calls this
// when it cannot queue the datagram for the sender goroutine.)
//
//export goniceCoreSend
func goniceCoreSend(errbuf *C.char, h C.uintptr_t, sid, cid, n C.uint, buf unsafe.Pointer) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		a, err := e.agent()
		if err != nil {
			return 0, err
		}
		if n > C.GONICE_MAX_DATAGRAM {
			return 0, errf(C.GONICE_EINVAL, "gonice: %d bytes is more than a datagram (%d)", uint(n), C.GONICE_MAX_DATAGRAM)
		}
		var p []byte
		if n > 0 {
			p = unsafe.Slice((*byte)(buf), int(n))
		}
		e.flushSends() // what fast_send queued before goes first
		sent, err := a.Send(int(sid), int(cid), p)
		if err == nil && e.dispatch {
			e.enableFastSend(int(sid), int(cid))
		}
		return sent, err
	})
}

//export goniceCoreSendMessages
func goniceCoreSendMessages(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, msgs *C.GoniceOutputMessage, n C.uint) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		a, err := e.agent()
		if err != nil {
			return 0, err
		}
		e.flushSends() // what fast_send queued before goes first
		if n == 0 {
			return 0, nil
		}
		if msgs == nil {
			return 0, errf(C.GONICE_EINVAL, "gonice: messages is NULL")
		}
		if n > 1<<20 {
			return 0, errf(C.GONICE_EINVAL, "gonice: %d messages (at most %d)", uint(n), 1<<20)
		}
		sent, err := sendMessages(a, int(sid), int(cid), unsafe.Slice(msgs, int(n)))
		if err != nil && sent > 0 {
			setErr(errbuf, err.Error()) // a partial send succeeds, with the detail
			err = nil
		}
		return sent, err
	})
}

// sendMessages sends msgs in order and returns how many were sent, and the
// error that stopped it. Runs of single-buffer messages go out together
// (SendMessages: sendmmsg on Linux); a message of several buffers is
// gathered into scratch and sent on its own.
func sendMessages(a *nice.Agent, sid, cid int, msgs []C.GoniceOutputMessage) (int, error) {
	var (
		scratch []byte
		arr     [64][]byte
		pend    = arr[:0]
		sent    int
		err     error
	)
	flush := func() error {
		k, err := a.SendMessages(sid, cid, pend)
		sent += k
		pend = pend[:0]
		return err
	}
	for i, m := range msgs {
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
				if _, err = a.Send(sid, cid, p); err == nil {
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
	return sent, err
}

//export goniceCoreAttachRecv
func goniceCoreAttachRecv(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, fn, ud unsafe.Pointer) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		a, err := e.agent()
		if err != nil {
			return 0, err
		}
		e.cbmu.Lock()
		old, _ := e.recv.get(int(sid), int(cid))
		e.recv.set(int(sid), int(cid), callback{fn, ud})
		e.cbmu.Unlock()
		e.fastSetRecv(sid, cid, fn, ud)
		if fn == nil {
			err = a.AttachRecv(int(sid), int(cid), nil)
		} else {
			err = a.AttachRecv(int(sid), int(cid), e.onData)
		}
		if err != nil {
			e.cbmu.Lock()
			e.recv.set(int(sid), int(cid), old)
			e.cbmu.Unlock()
			e.fastSetRecv(sid, cid, old.fn, old.ud)
		}
		return 0, err
	})
}

//export goniceCoreRecv
func goniceCoreRecv(errbuf *C.char, h C.uintptr_t, sid, cid C.uint, buf unsafe.Pointer, n C.size_t) C.int {
	return onAgent(errbuf, h, func(a *nice.Agent) (int, error) {
		if buf == nil {
			return 0, errf(C.GONICE_EINVAL, "gonice: buf is NULL")
		}
		size := min(uint64(n), 65536) // no datagram is longer
		return a.Recv(int(sid), int(cid), unsafe.Slice((*byte)(buf), int(size)))
	})
}

//export goniceCoreConnect
func goniceCoreConnect(errbuf *C.char, h C.uintptr_t, sig C.int, fn, ud unsafe.Pointer) C.int {
	return onEntry(errbuf, h, func(e *entry) (int, error) {
		if sig < 0 || sig >= C.GONICE_SIG_COUNT {
			return 0, errf(C.GONICE_EINVAL, "gonice: unknown signal %d", int(sig))
		}
		e.cbmu.Lock()
		e.cbs[sig] = callback{fn, ud}
		e.cbmu.Unlock()
		return 0, nil
	})
}

// handleKind is what a handle names: the lookup of its entry (onEntry,
// onConn) and its name and dispatch option for errors.
type handleKind struct {
	on             func(*C.char, C.uintptr_t, func(*entry) (int, error)) C.int
	name, dispatch string
}

var agentHandle = handleKind{onEntry, "agent", "GONICE_AGENT_OPTION_DISPATCH"}

// inDispatchMode runs f on the entry of h, of kind k, if it is in dispatch
// mode (else GONICE_EINVAL).
func inDispatchMode(k handleKind, errbuf *C.char, h C.uintptr_t, f func(e *entry) (int, error)) C.int {
	return k.on(errbuf, h, func(e *entry) (int, error) {
		if !e.dispatch {
			return 0, errf(C.GONICE_EINVAL, "gonice: the %s is not in dispatch mode (%s)", k.name, k.dispatch)
		}
		return f(e)
	})
}

//export goniceCoreGetFd
func goniceCoreGetFd(errbuf *C.char, h C.uintptr_t) C.int {
	return inDispatchMode(agentHandle, errbuf, h, (*entry).fd)
}

//export goniceCoreDispatch
func goniceCoreDispatch(errbuf *C.char, h C.uintptr_t) C.int {
	return inDispatchMode(agentHandle, errbuf, h, (*entry).dispatchNow)
}
