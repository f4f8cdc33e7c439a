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
// may be connected to one signal, at any time. They are delivered in order,
// one at a time, on a goroutine of the agent (the dispatcher: it runs while
// signals are queued, so an idle agent has none), never while the agent
// holds a lock, so a handler may call any method of the agent, Close
// included (Close then does not wait for the handler it was called from:
// see Close and Done). State changes follow libnice's transitions: GATHERING when
// gathering starts, CONNECTING when checks start, CONNECTED when a pair
// works (new-selected-pair follows), READY when a pair is nominated; FAILED
// when every pair failed or consent was lost. A receive function set with
// AttachRecv runs on the socket's reader goroutine, with a buffer valid
// only during the call.
//
// Every method is safe for concurrent use. Send and the receive path do not
// allocate in steady state, through a TURN relay too.
//
// # Protocol
//
// Host, server-reflexive, relayed (TURN) and peer-reflexive UDP candidates;
// RFC 8445 priorities (with libnice's local preferences) and foundations;
// checklists with Frozen, Waiting, In-Progress, Succeeded and Failed
// pairs, triggered checks and Ta pacing between checks; role-conflict
// resolution; regular (default) and aggressive nomination; MESSAGE-INTEGRITY
// and FINGERPRINT on every check; keepalives and RFC 7675 consent freshness;
// trickle (RFC 8838); ICE restart.
//
// # TURN
//
// SetRelayInfo adds TURN servers (RFC 5766, long-term credentials, up to
// MaxRelayServers per component) over UDP, TCP or TLS, as libnice's
// nice_agent_set_relay_info; GatherCandidates then allocates a relay on
// each and signals a relayed candidate whose related address (Base) is the
// allocation's mapped address. Over UDP the allocation is made from the
// host socket itself, as in libnice, so it also yields a server-reflexive
// candidate; over TCP and TLS each allocation has its own connection, and
// TLS is real, verified TLS (Config.TURNTLSConfig), where libnice's
// TURN_TLS is plain TCP. The TURN client is the agent's own: its
// transactions live on the agent's loop like the checks (messages built
// with github.com/pion/stun). A permission is asked for as soon as a
// remote candidate pairs with the relay, then a channel is bound to the
// candidate; the allocation, permissions and channels are refreshed 60 s
// before they expire, as libnice does. A failed allocation (wrong
// password, no answer within Config.GatheringTimeout, TLS failure) is
// logged and reported by RelayErrors, and gathering completes without it.
// Config.ForceRelay is libnice's force-relay. RemoveStream and Close
// release the allocations (a Refresh with LIFETIME 0, as
// nice_agent_close_async); Close waits for the server's answer, at most
// Config.TURNReleaseTimeout. ICE restart keeps them.
//
// An allocation over UDP costs no goroutine: the host socket's reader
// routes what the server sends. Over TCP or TLS its connection has a
// reader and a writer. Send on a relayed pair frames ChannelData (or, until
// the channel is bound, a Send indication) and writes it from the caller's
// goroutine over UDP; neither it nor the receive path allocates.
//
// # ICE-TCP
//
// Config.ICETCP (libnice's ice-tcp) adds RFC 6544 TCP host candidates: per
// address a passive one (a listener) and an active one (port 9 in SDP),
// with libnice's priorities, below UDP's; Config.TCPSimultaneousOpen adds
// simultaneous-open ones and their server-reflexive twins. Checks, consent
// and data go over each pair's connection in RFC 4571 frames; a send never
// blocks. Config.DisableUDP leaves UDP out. See ARCHITECTURE.md, "ICE-TCP".
//
// # Limitations
//
// Not yet: TURN-TCP allocations (RFC 6062, also missing in libnice),
// TURN through proxies, server-reflexive TCP candidates for active and
// passive ones, the reliable (PseudoTCP) mode, libnice's non-RFC
// compatibility modes.
package nice
