// SPDX-License-Identifier: MIT

// Package dtlssrtp is DTLS-SRTP (RFC 5764) over the components of a
// nice.Agent's stream: the media transport of WebRTC.
//
// A Transport attaches a receive function to its component (and to a second
// one for RTCP when RTCP is not multiplexed) and demultiplexes what arrives
// by its first byte (RFC 7983): STUN never reaches it (the agent keeps it),
// 20–63 is DTLS, 128–191 is SRTP or SRTCP (RTCP when the second byte, the
// payload type with the marker bit, is 192–223: RFC 5761), anything else is
// dropped and counted. DTLS runs on github.com/pion/dtls/v2 over a net.Conn
// view of the component that carries only DTLS records; its exporter
// (EXTRACTOR-dtls_srtp) keys SRTP contexts (internal/srtp: RFC 3711 and
// RFC 7714, allocation-free per packet), one per direction, with replay
// protection on the receiving one.
//
// The peer's certificate is accepted only if it matches one of the
// fingerprints from its SDP (a=fingerprint, RFC 8122, any hash the RFC
// names but md2); a mismatch, or a handshake that does not end within
// Config.HandshakeTimeout, fails the transport, and no media is delivered
// before the handshake has succeeded.
//
// Goroutines: Handshake runs on its caller's goroutine (pion/dtls adds its
// own while it runs). After a successful handshake one goroutine per DTLS
// connection reads DTLS application data (SCTP, for data channels) and
// hands it to Config.OnData; it ends when the transport is closed or the
// peer closes DTLS. Decrypted RTP and RTCP are delivered on the agent's
// socket reader goroutine, as AttachRecv's functions are.
package dtlssrtp
