// SPDX-License-Identifier: MIT

// Package webrtc is a WebRTC connection on a gonice agent: ICE
// (nice.Agent), DTLS-SRTP (nice/dtlssrtp) and an SDP offer/answer a
// browser takes (github.com/pion/sdp/v3), with the events of Licode's
// erizo WebRtcConnection, in its order and with its numbers.
//
// A Connection owns one agent with one stream: every m-line is bundled
// (BUNDLE) onto it, and RTCP is multiplexed on the RTP component
// (rtcp-mux) unless a remote offer does not offer rtcp-mux, in which case
// the stream has a second component for RTCP with a DTLS handshake of its
// own.
//
// # Events
//
// OnEvent gets, one at a time and in order, never under a lock of the
// Connection (a handler may call its methods, Close included):
//
//	CONN_INITIAL 101        New
//	CONN_STARTED 102        gathering started (CreateOffer, CreateAnswer)
//	CONN_CANDIDATE 201      a local candidate, trickle only; the message is
//	                        erizo's JSON {"sdpMid","sdpMLineIndex","candidate"};
//	                        the last one has an empty candidate (end of candidates)
//	CONN_GATHERED 103       gathering done, without trickle only
//	CONN_SDP 202            the local description; the message is the SDP
//	CONN_SDP_PROCESSED 203  a remote description was applied
//	CONN_READY 104          ICE connected and DTLS-SRTP keyed on every component
//	CONN_FAILED 500         ICE failed, DTLS failed (fingerprint, timeout) or was
//	                        closed by the peer; the message says why. Sticky:
//	                        nothing follows but CONN_FINISHED
//	CONN_FINISHED 105       Close (erizo sets it but does not deliver it; here
//	                        it is delivered, last)
//
// So a trickling offerer sees 101, 202, 102, 201…, 203, 104; without
// trickle 101, 102, 103, 202, 203, 104; an answerer 101, 203, then the
// same from 102 (202 comes before the candidates with trickle, after 103
// without).
//
// # Goroutines
//
// Events are delivered on the goroutine that caused them: the caller of a
// method, the agent's signal dispatcher, or the DTLS goroutine. The DTLS
// goroutine starts when every component is connected and a remote
// description is known, and ends when the handshake ends (at most
// Config.HandshakeTimeout); Close ends it early. Decrypted media arrives on
// the agent's socket readers (see dtlssrtp).
package webrtc
