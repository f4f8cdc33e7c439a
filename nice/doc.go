// SPDX-License-Identifier: MIT

// Package nice is an ICE agent (RFC 8445) with libnice's API: the Go twin
// of libnice's NiceAgent, for NAT traversal of UDP media.
//
// # Usage
//
// An Agent holds streams, each with numbered components (1 for RTP, 2 for
// RTCP, as libnice). The application gathers local candidates, sends them
// and the stream's credentials to the peer by any signalling channel, gives
// the peer's to SetRemoteCredentials and SetRemoteCandidates, and waits for
// the component to become READY; then Send and AttachRecv (or Recv, or
// Conn) move data on the selected pair.
//
//	a, _ := nice.NewAgent(nice.Config{Controlling: true, STUNServer: "stun.example.org"})
//	defer a.Close()
//	a.OnCandidateGatheringDone(func(sid int) { /* send candidates and credentials */ })
//	a.OnComponentStateChanged(func(sid, cid int, s nice.ComponentState) { /* READY: send */ })
//	sid, _ := a.AddStream(1)
//	a.AttachRecv(sid, 1, func(sid, cid int, p []byte) { /* data */ })
//	a.GatherCandidates(sid)
//
// Candidates and credentials cross as libnice's SDP (GenerateLocalSDP,
// ParseRemoteSDP and their per-stream and per-candidate forms), byte for
// byte as libnice 0.1.21 writes it, so a gonice peer and a libnice peer
// understand each other.
//
// # Signals and threads
//
// libnice's signals are handlers connected with the On methods; several
// may be connected to one signal, at any time. They are delivered in order
// on one goroutine of the agent, never while the agent holds a lock, so a
// handler may call any method of the agent, Close included. State changes
// follow libnice's transitions: GATHERING when gathering starts, CONNECTING
// when checks start, CONNECTED when a pair works (new-selected-pair follows),
// READY when a pair is nominated; FAILED when every pair failed or consent
// was lost. A receive function set with AttachRecv runs on the socket's
// reader goroutine, with a buffer valid only during the call.
//
// Every method is safe for concurrent use. Send and the receive path do not
// allocate in steady state.
//
// # Protocol
//
// Host, server-reflexive and peer-reflexive UDP candidates; RFC 8445
// priorities (with libnice's local preferences) and foundations;
// checklists with Frozen, Waiting, In-Progress, Succeeded and Failed
// pairs, triggered checks and Ta pacing between checks; role-conflict
// resolution; regular (default) and aggressive nomination; MESSAGE-INTEGRITY
// and FINGERPRINT on every check; keepalives and RFC 7675 consent freshness;
// trickle (RFC 8838); ICE restart.
//
// # Limitations
//
// Not yet: relayed (TURN) candidates, ICE-TCP (TCP candidates from a peer
// are parsed and kept, never paired), the reliable (PseudoTCP) mode, mDNS
// candidates (skipped when parsed), libnice's non-RFC compatibility modes.
package nice
