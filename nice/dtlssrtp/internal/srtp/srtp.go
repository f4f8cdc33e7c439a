// SPDX-License-Identifier: MIT

// Package srtp protects and unprotects RTP and RTCP packets: SRTP and
// SRTCP (RFC 3711) with the AES-CM/HMAC-SHA1 transforms, and with AES-GCM
// (RFC 7714), for the four profiles that DTLS-SRTP negotiates (RFC 5764,
// RFC 7714 §14.2). Keys come from the DTLS exporter (the caller's job);
// this package derives the session keys (RFC 3711 §4.3, key derivation
// rate 0), keeps the rollover counters and the replay lists per SSRC, and
// allocates nothing per packet: the ciphers, MACs, nonces and keystream
// buffers belong to the Context and are reused.
//
// It exists because pion/srtp/v2, which the transport used first, makes
// 2 (AES-GCM) to 8 (AES-CM) allocations per packet protected and
// unprotected (a counter and a keystream block per packet, an HMAC sum,
// a nonce); its tests keep pion/srtp/v2 as the oracle: every profile, both
// directions, byte for byte (oracle_test.go).
package srtp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Profile is an SRTP protection profile; the values are IANA's (the DTLS
// use_srtp extension's).
type Profile uint16

const (
	AES128CMHMACSHA1_80 Profile = 0x0001
	AES128CMHMACSHA1_32 Profile = 0x0002
	AEADAES128GCM       Profile = 0x0007
	AEADAES256GCM       Profile = 0x0008
)

// params are a profile's lengths in bytes.
type params struct {
	keyLen, saltLen int
	authKeyLen      int // HMAC-SHA1 key (AES-CM profiles)
	rtpTag, rtcpTag int // authentication tag of SRTP and of SRTCP
	aead            bool
}

func (p Profile) params() (params, bool) {
	switch p {
	case AES128CMHMACSHA1_80:
		return params{keyLen: 16, saltLen: 14, authKeyLen: 20, rtpTag: 10, rtcpTag: 10}, true
	case AES128CMHMACSHA1_32:
		// RFC 5764 §4.1.2: the _32 profile shortens only SRTP's tag;
		// SRTCP keeps 80 bits.
		return params{keyLen: 16, saltLen: 14, authKeyLen: 20, rtpTag: 4, rtcpTag: 10}, true
	case AEADAES128GCM:
		return params{keyLen: 16, saltLen: 12, rtpTag: 16, rtcpTag: 16, aead: true}, true
	case AEADAES256GCM:
		return params{keyLen: 32, saltLen: 12, rtpTag: 16, rtcpTag: 16, aead: true}, true
	}
	return params{}, false
}

// KeyLengths are the master key's and master salt's lengths of p; the
// DTLS exporter gives 2×(key+salt) bytes: client key, server key, client
// salt, server salt (RFC 5764 §4.2). ok is false for an unknown profile.
func KeyLengths(p Profile) (key, salt int, ok bool) {
	pp, ok := p.params()
	return pp.keyLen, pp.saltLen, ok
}

// Errors of Protect and Unprotect.
var (
	ErrAuth         = errors.New("srtp: authentication failed")
	ErrReplay       = errors.New("srtp: replayed or too old")
	ErrShort        = errors.New("srtp: packet too short")
	ErrHeader       = errors.New("srtp: malformed header")
	ErrExhausted    = errors.New("srtp: packet index exhausted: the keys must be renegotiated")
	ErrTooManySSRCs = fmt.Errorf("srtp: more than %d SSRCs in one context", MaxSSRCs)
)

// MaxSSRCs bounds the per-SSRC states of a Context. An unprotecting
// context makes a state only for a packet that authenticated, so only the
// peer can fill it; the bound keeps even a misbehaving peer's cost finite.
const MaxSSRCs = 4096

// maxRTCPIndex is the largest SRTCP index (31 bits, RFC 3711 §3.4).
const maxRTCPIndex = 1<<31 - 1

// Context is one direction of an SRTP session: the keys of one side, and
// per SSRC the rollover counter, the highest sequence number and (when
// unprotecting) the replay lists. Use a context either to protect or to
// unprotect, not both. Not safe for concurrent use.
type Context struct {
	p      params
	rtp    transform
	rtcp   transform
	ssrcs  map[uint32]*ssrcState
	window uint
}

// transform is one key set's cipher (AES-CM with HMAC-SHA1, or AES-GCM).
type transform interface {
	// rtp protects pkt (header of hl bytes) into out, which has room for
	// the tag, with the packet's rollover counter.
	protectRTP(out, pkt []byte, hl int, roc uint32) error
	// unprotectRTP authenticates pkt (tag included) and decrypts its
	// payload into out (len(pkt) - tag bytes).
	unprotectRTP(out, pkt []byte, hl int, roc uint32) error
	protectRTCP(out, pkt []byte, index uint32) error
	unprotectRTCP(out, pkt []byte) error
}

// ssrcState is what a context knows of one SSRC.
type ssrcState struct {
	started   bool
	roc       uint32 // rollover counter of the highest index seen
	sl        uint16 // highest sequence number seen (RFC 3711's s_l)
	rtcpIndex uint32 // protecting: the next SRTCP index
	rtpWin    *window
	rtcpWin   *window
}

// New makes a context from a master key and salt (RFC 3711 §4.3 key
// derivation, rate 0). replayWindow is the size of the replay lists in
// packets (at least 1; used when unprotecting).
func New(p Profile, masterKey, masterSalt []byte, replayWindow uint) (*Context, error) {
	pp, ok := p.params()
	if !ok {
		return nil, fmt.Errorf("srtp: unsupported profile %#04x", uint16(p))
	}
	if len(masterKey) != pp.keyLen || len(masterSalt) != pp.saltLen {
		return nil, fmt.Errorf("srtp: profile %#04x takes a %d-byte key and a %d-byte salt, not %d and %d",
			uint16(p), pp.keyLen, pp.saltLen, len(masterKey), len(masterSalt))
	}
	d, err := newDeriver(masterKey, masterSalt)
	if err != nil {
		return nil, err
	}
	sk := func(label byte, n int) []byte { return d.derive(label, n) }
	return newContext(pp, replayWindow,
		sessionKeys{key: sk(labelRTPKey, pp.keyLen), salt: sk(labelRTPSalt, pp.saltLen), auth: sk(labelRTPAuth, pp.authKeyLen)},
		sessionKeys{key: sk(labelRTCPKey, pp.keyLen), salt: sk(labelRTCPSalt, pp.saltLen), auth: sk(labelRTCPAuth, pp.authKeyLen)})
}

// sessionKeys are one key set after derivation.
type sessionKeys struct{ key, salt, auth []byte }

func newContext(pp params, replayWindow uint, rtpKeys, rtcpKeys sessionKeys) (*Context, error) {
	c := &Context{p: pp, ssrcs: map[uint32]*ssrcState{}, window: max(replayWindow, 1)}
	var err error
	if pp.aead {
		if c.rtp, err = newGCM(rtpKeys); err == nil {
			c.rtcp, err = newGCM(rtcpKeys)
		}
	} else {
		if c.rtp, err = newCM(rtpKeys, pp.rtpTag, true); err == nil {
			c.rtcp, err = newCM(rtcpKeys, pp.rtcpTag, false)
		}
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// rtpHeaderLen is the length of the RTP header at the start of p: fixed
// part, CSRCs and the extension (RFC 3550 §5.1, §5.3.1).
func rtpHeaderLen(p []byte) (int, error) {
	if len(p) < 12 {
		return 0, ErrShort
	}
	if p[0]>>6 != 2 {
		return 0, ErrHeader
	}
	n := 12 + 4*int(p[0]&0x0f)
	if p[0]&0x10 != 0 {
		if len(p) < n+4 {
			return 0, ErrShort
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(p[n+2:]))
	}
	if len(p) < n {
		return 0, ErrShort
	}
	return n, nil
}

// room returns dst resized to n bytes, reallocated only if too small.
func room(dst []byte, n int) []byte {
	if cap(dst) < n {
		return make([]byte, n, n+n/4)
	}
	return dst[:n]
}

// state returns the SSRC's state, making it if it is new.
func (c *Context) state(ssrc uint32) (*ssrcState, error) {
	if s := c.ssrcs[ssrc]; s != nil {
		return s, nil
	}
	if len(c.ssrcs) >= MaxSSRCs {
		return nil, ErrTooManySSRCs
	}
	s := &ssrcState{}
	c.ssrcs[ssrc] = s
	return s, nil
}

// guessROC is RFC 3711 Appendix A: the rollover counter of seq, given
// the highest sequence number seen and its counter. A new SSRC starts at
// 0 (WebRTC signals no other). ok is false below 0 or past 2^32-1.
func (s *ssrcState) guessROC(seq uint16) (roc uint32, ok bool) {
	if s == nil || !s.started {
		return 0, true
	}
	if s.sl < 0x8000 {
		if int(seq)-int(s.sl) > 0x8000 {
			return s.roc - 1, s.roc > 0
		}
		return s.roc, true
	}
	if int(s.sl)-0x8000 > int(seq) {
		return s.roc + 1, s.roc < 1<<32-1
	}
	return s.roc, true
}

// advance records index roc‖seq as seen.
func (s *ssrcState) advance(roc uint32, seq uint16) {
	if !s.started || roc > s.roc || (roc == s.roc && seq > s.sl) {
		s.started, s.roc, s.sl = true, roc, seq
	}
}

// ProtectRTP protects an RTP packet into dst (from dst[:0]; a dst too
// small is replaced) and returns the SRTP packet. dst may be pkt's own
// storage (dst[:0] == pkt[:0], with room for the tag), not any other
// overlap.
func (c *Context) ProtectRTP(dst, pkt []byte) ([]byte, error) {
	hl, err := rtpHeaderLen(pkt)
	if err != nil {
		return nil, err
	}
	ssrc, seq := binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint16(pkt[2:])
	s, err := c.state(ssrc)
	if err != nil {
		return nil, err
	}
	roc, ok := s.guessROC(seq)
	if !ok && s.roc > 0 {
		return nil, ErrExhausted
	}
	// !ok with counter 0: a packet from before the first one sent; it
	// goes out with counter 0 and moves nothing (a receiver drops it).
	out := room(dst, len(pkt)+c.p.rtpTag)
	if err := c.rtp.protectRTP(out, pkt, hl, roc); err != nil {
		return nil, err
	}
	if ok {
		s.advance(roc, seq)
	}
	return out, nil
}

// UnprotectRTP authenticates an SRTP packet, checks it against the replay
// list and decrypts it into dst (as ProtectRTP; dst may be pkt's own
// storage) and returns the RTP packet. On an error nothing of the context
// changes.
func (c *Context) UnprotectRTP(dst, pkt []byte) ([]byte, error) {
	hl, err := rtpHeaderLen(pkt)
	if err != nil {
		return nil, err
	}
	if len(pkt) < hl+c.p.rtpTag {
		return nil, ErrShort
	}
	ssrc, seq := binary.BigEndian.Uint32(pkt[8:]), binary.BigEndian.Uint16(pkt[2:])
	s := c.ssrcs[ssrc]
	roc, ok := s.guessROC(seq)
	if !ok {
		return nil, ErrReplay // before counter 0, or past the last
	}
	index := uint64(roc)<<16 | uint64(seq)
	if s != nil && s.rtpWin != nil && !s.rtpWin.check(index) {
		return nil, ErrReplay
	}
	if s == nil && len(c.ssrcs) >= MaxSSRCs {
		return nil, ErrTooManySSRCs
	}
	out := room(dst, len(pkt)-c.p.rtpTag)
	if err := c.rtp.unprotectRTP(out, pkt, hl, roc); err != nil {
		return nil, err
	}
	if s == nil {
		s, _ = c.state(ssrc)
	}
	if s.rtpWin == nil {
		s.rtpWin = newWindow(c.window, 1<<48-1)
	}
	s.rtpWin.accept(index)
	s.advance(roc, seq)
	return out, nil
}

// rtcpCheck validates the fixed part of an RTCP packet.
func rtcpCheck(pkt []byte) error {
	if len(pkt) < 8 {
		return ErrShort
	}
	if pkt[0]>>6 != 2 {
		return ErrHeader
	}
	return nil
}

// ProtectRTCP protects an RTCP (compound) packet into dst, as ProtectRTP,
// with the next SRTCP index of its first SSRC, encrypted (E=1).
func (c *Context) ProtectRTCP(dst, pkt []byte) ([]byte, error) {
	if err := rtcpCheck(pkt); err != nil {
		return nil, err
	}
	s, err := c.state(binary.BigEndian.Uint32(pkt[4:]))
	if err != nil {
		return nil, err
	}
	if s.rtcpIndex > maxRTCPIndex {
		return nil, ErrExhausted
	}
	out := room(dst, len(pkt)+4+c.p.rtcpTag)
	if err := c.rtcp.protectRTCP(out, pkt, s.rtcpIndex); err != nil {
		return nil, err
	}
	s.rtcpIndex++
	return out, nil
}

// UnprotectRTCP authenticates an SRTCP packet (encrypted or not: the E
// flag), checks its index against the SSRC's replay list, and returns the
// RTCP packet in dst (as UnprotectRTP).
func (c *Context) UnprotectRTCP(dst, pkt []byte) ([]byte, error) {
	if err := rtcpCheck(pkt); err != nil {
		return nil, err
	}
	tail := 4 + c.p.rtcpTag
	if len(pkt) < 8+tail {
		return nil, ErrShort
	}
	var eIndex uint32
	if c.p.aead { // header ‖ ciphertext ‖ tag ‖ E‖index (RFC 7714 §9.1)
		eIndex = binary.BigEndian.Uint32(pkt[len(pkt)-4:])
	} else { // header ‖ ciphertext ‖ E‖index ‖ tag (RFC 3711 §3.4)
		eIndex = binary.BigEndian.Uint32(pkt[len(pkt)-tail:])
	}
	index := uint64(eIndex & maxRTCPIndex)
	ssrc := binary.BigEndian.Uint32(pkt[4:])
	s := c.ssrcs[ssrc]
	if s != nil && s.rtcpWin != nil && !s.rtcpWin.check(index) {
		return nil, ErrReplay
	}
	if s == nil && len(c.ssrcs) >= MaxSSRCs {
		return nil, ErrTooManySSRCs
	}
	out := room(dst, len(pkt)-tail)
	if err := c.rtcp.unprotectRTCP(out, pkt); err != nil {
		return nil, err
	}
	if s == nil {
		s, _ = c.state(ssrc)
	}
	if s.rtcpWin == nil {
		s.rtcpWin = newWindow(c.window, maxRTCPIndex)
	}
	s.rtcpWin.accept(index)
	return out, nil
}
