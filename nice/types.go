// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"net/netip"
	"time"
)

// ComponentState is the connectivity state of one component, with libnice's
// names and numeric values (NiceComponentState).
type ComponentState int

// Component states. The values equal libnice's NICE_COMPONENT_STATE_*.
const (
	ComponentStateDisconnected ComponentState = 0 // no activity scheduled
	ComponentStateGathering    ComponentState = 1 // gathering local candidates
	ComponentStateConnecting   ComponentState = 2 // connectivity checks running
	ComponentStateConnected    ComponentState = 3 // at least one working pair
	ComponentStateReady        ComponentState = 4 // a pair is nominated and selected
	ComponentStateFailed       ComponentState = 5 // connectivity checks failed or consent was lost
)

var componentStateNames = [...]string{"disconnected", "gathering", "connecting", "connected", "ready", "failed"}

// String returns libnice's name for the state (nice_component_state_to_string):
// "disconnected", "gathering", "connecting", "connected", "ready", "failed".
func (s ComponentState) String() string {
	if s >= 0 && int(s) < len(componentStateNames) {
		return componentStateNames[s]
	}
	return "invalid"
}

// validTransition reports whether libnice allows the change from s to next
// (agent_signal_component_state_change). Any state may go to FAILED or to
// GATHERING (restart).
func (s ComponentState) validTransition(next ComponentState) bool {
	if next == ComponentStateFailed || next == ComponentStateGathering {
		return true
	}
	switch s {
	case ComponentStateDisconnected:
		return next == ComponentStateConnecting
	case ComponentStateGathering:
		return next == ComponentStateConnecting
	case ComponentStateConnecting:
		return next == ComponentStateConnected
	case ComponentStateConnected:
		return next == ComponentStateReady || next == ComponentStateConnecting
	case ComponentStateReady:
		return next == ComponentStateConnected
	case ComponentStateFailed:
		return next == ComponentStateConnecting
	}
	return false
}

// CandidateType is the type of an ICE candidate (RFC 8445 §5.1.1), with
// libnice's numeric values (NiceCandidateType).
type CandidateType int

// Candidate types. The values equal libnice's NICE_CANDIDATE_TYPE_*.
const (
	CandidateTypeHost            CandidateType = 0
	CandidateTypeServerReflexive CandidateType = 1
	CandidateTypePeerReflexive   CandidateType = 2
	CandidateTypeRelayed         CandidateType = 3
)

var candidateTypeNames = [...]string{"host", "srflx", "prflx", "relay"}

// String returns the SDP name of the type: "host", "srflx", "prflx" or "relay".
func (t CandidateType) String() string {
	if t >= 0 && int(t) < len(candidateTypeNames) {
		return candidateTypeNames[t]
	}
	return "invalid"
}

// typePreference is libnice's type preference for the candidate type
// (candidate-priv.h): host 120, prflx 110, srflx 100, relayed 30 (20 for
// TURN over TCP or TLS: see RelayType.typePreference).
func (t CandidateType) typePreference() uint32 {
	switch t {
	case CandidateTypeHost:
		return 120
	case CandidateTypePeerReflexive:
		return 110
	case CandidateTypeServerReflexive:
		return 100
	case CandidateTypeRelayed:
		return 30
	}
	return 0
}

// Transport is the transport protocol of a candidate, with libnice's numeric
// values (NiceCandidateTransport).
type Transport int

// Transports. The values equal libnice's NICE_CANDIDATE_TRANSPORT_*.
// TCP candidates (RFC 6544) are gathered and checked with Config.ICETCP;
// without it a peer's TCP candidates are kept but never paired.
const (
	TransportUDP        Transport = 0
	TransportTCPActive  Transport = 1
	TransportTCPPassive Transport = 2
	TransportTCPSO      Transport = 3
)

var transportNames = [...]string{"udp", "tcp-act", "tcp-pass", "tcp-so"}

// String returns libnice's name of the transport (nice_candidate_transport_to_string):
// "udp", "tcp-act", "tcp-pass" or "tcp-so".
func (t Transport) String() string {
	if t >= 0 && int(t) < len(transportNames) {
		return transportNames[t]
	}
	return "invalid"
}

// NominationMode selects how the controlling agent nominates pairs
// (RFC 8445 §8.1.1), as libnice's nomination-mode property.
type NominationMode int

// Nomination modes. The values equal libnice's NICE_NOMINATION_MODE_*.
const (
	// NominationRegular nominates, after checks, one valid pair with a
	// second check that carries USE-CANDIDATE (RFC 8445). The default.
	NominationRegular NominationMode = 0
	// NominationAggressive puts USE-CANDIDATE on every check (RFC 5245's
	// aggressive nomination; libnice's default).
	NominationAggressive NominationMode = 1
)

// String returns "regular" or "aggressive".
func (m NominationMode) String() string {
	switch m {
	case NominationRegular:
		return "regular"
	case NominationAggressive:
		return "aggressive"
	}
	return "invalid"
}

// Candidate is an ICE candidate, local or remote (libnice's NiceCandidate).
//
// Base is the base address of a local candidate (RFC 8445 §5.1.1.1); for a
// server-reflexive or relayed candidate it is what SDP prints as raddr/rport
// (the related address). For a host candidate Base equals Addr.
type Candidate struct {
	Type        CandidateType
	Transport   Transport
	Addr        netip.AddrPort
	Base        netip.AddrPort
	Priority    uint32
	Foundation  string
	StreamID    int
	ComponentID int
	// Server is the server that produced a local candidate: for a relayed
	// one, its TURN server; for a server-reflexive one, the STUN (or TURN)
	// server that reported the mapped address. Invalid otherwise, and for
	// remote candidates (nice_candidate_relay_address,
	// nice_candidate_stun_server_address).
	Server netip.AddrPort
	// Hostname is the mDNS name (draft-ietf-mmusic-mdns-ice-candidates,
	// "<uuid>.local") a peer gave instead of an address. Until the agent
	// resolves it (Config.MulticastDNS), Addr holds only the port. An agent
	// without Config.MulticastDNS ignores such a candidate.
	Hostname string
}

// String returns a short human-readable form, for logs.
func (c Candidate) String() string {
	return fmt.Sprintf("%s %s %s prio=%d fnd=%s s%d/c%d", c.Type, c.Transport, c.Addr, c.Priority, c.Foundation, c.StreamID, c.ComponentID)
}

// EqualTarget reports whether c and o have the same transport and address
// (nice_candidate_equal_target).
func (c Candidate) EqualTarget(o Candidate) bool {
	return c.Transport == o.Transport && c.Addr == o.Addr
}

// candidatePriority computes a candidate priority with libnice's formula
// (RFC 8445 §5.1.2.1): (type_pref << 24) + (local_pref << 8) + (256 - component).
// localPref is libnice's (direction_pref << 13) + (turn_pref << 6) + other_pref;
// for UDP direction_pref is 1.
func candidatePriority(t CandidateType, localPref uint32, componentID int) uint32 {
	return candidatePriorityPref(t.typePreference(), localPref, componentID)
}

// candidatePriorityPref is candidatePriority with an explicit type
// preference (relayed candidates: 30 over UDP TURN, 20 over TCP or TLS).
func candidatePriorityPref(typePref, localPref uint32, componentID int) uint32 {
	return typePref<<24 + (localPref&0xffff)<<8 + uint32(256-componentID)
}

// udpLocalPreference is libnice's local preference of a UDP candidate whose
// base IP is the addrIndex-th local address and that uses the turnIndex-th
// TURN server (0 when not relayed).
func udpLocalPreference(addrIndex, turnIndex int) uint32 {
	return 1<<13 + uint32(turnIndex&0x7f)<<6 + uint32(addrIndex&0x3f)
}

// pairPriority is RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0),
// with G the controlling agent's candidate priority and D the controlled one's.
func pairPriority(controlling, controlled uint32) uint64 {
	g, d := uint64(controlling), uint64(controlled)
	lo, hi := min(g, d), max(g, d)
	p := lo<<32 + 2*hi
	if g > d {
		p++
	}
	return p
}

// ConsentStats counts what keeps a component's selected pair alive: consent
// freshness checks (RFC 7675) or, with consent freshness off, keepalives
// (Binding requests with KeepaliveConncheck, Binding indications otherwise).
// The counters run over the agent's life, across restarts.
type ConsentStats struct {
	// RequestsSent counts consent (or keepalive) Binding requests sent on the
	// selected pair; retransmissions are not counted.
	RequestsSent uint64
	// ResponsesReceived counts success responses to them.
	ResponsesReceived uint64
	// IndicationsSent counts keepalive Binding indications.
	IndicationsSent uint64
	// LastRequestSent and LastResponse are when the last request went out
	// and when consent was last refreshed by a response; zero if never.
	LastRequestSent, LastResponse time.Time
	// Expiry is when consent runs out unless refreshed; zero when consent
	// freshness is not running.
	Expiry time.Time
}
