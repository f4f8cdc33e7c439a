// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"encoding/binary"
	"errors"
)

// The DTLS server chooses the SRTP profile (RFC 5764 §4.1.1), and the
// transport's Config.Profiles is its order of preference. pion/dtls/v2's
// server takes the first profile of the client's list that it supports,
// so the transport, as the server, reads the client's offer first: it
// reassembles the first ClientHello from the DTLS records queued for
// pion (a browser fragments its 1.4 KB DTLS 1.3-capable ClientHello over
// two records), picks the first of its own profiles that the client
// offers, and gives pion only that one. The records go to pion unchanged.

// Bounds of what is read before pion starts.
const (
	maxHelloLen     = 1 << 14 // a ClientHello longer than this is left to pion
	maxHelloRecords = 16      // datagrams looked at
)

var errNotHello = errors.New("dtlssrtp: not a DTLS ClientHello")

// helloAssembler collects the fragments of the first ClientHello.
type helloAssembler struct {
	seq    int // message_seq of the ClientHello being assembled, -1 before
	msg    []byte
	filled []bool
	left   int
}

func newHelloAssembler() *helloAssembler { return &helloAssembler{seq: -1} }

// add reads the records of one datagram; it returns the ClientHello body
// once complete, or an error if the datagram shows it cannot be had.
func (h *helloAssembler) add(datagram []byte) ([]byte, error) {
	for p := datagram; len(p) > 0; {
		if len(p) < 13 {
			return nil, errNotHello
		}
		// type, version, epoch, sequence number, length (RFC 6347 §4.1)
		hdr := p[:13]
		n := int(binary.BigEndian.Uint16(hdr[11:13]))
		if len(p) < 13+n {
			return nil, errNotHello
		}
		rec := p[13 : 13+n]
		p = p[13+n:]
		if hdr[0] != 22 || binary.BigEndian.Uint16(hdr[3:5]) != 0 { // handshake, epoch 0
			continue
		}
		for len(rec) > 0 {
			if len(rec) < 12 {
				return nil, errNotHello
			}
			typ := rec[0]
			total := int(uint24(rec[1:4]))
			seq := int(binary.BigEndian.Uint16(rec[4:6]))
			off, flen := int(uint24(rec[6:9])), int(uint24(rec[9:12]))
			if len(rec) < 12+flen {
				return nil, errNotHello
			}
			frag := rec[12 : 12+flen]
			rec = rec[12+flen:]
			if typ != 1 {
				continue
			}
			if total > maxHelloLen || off+flen > total {
				return nil, errNotHello
			}
			if h.seq < 0 {
				h.seq, h.msg, h.filled, h.left = seq, make([]byte, total), make([]bool, total), total
			}
			if seq != h.seq || total != len(h.msg) {
				continue // another ClientHello: the first one decides
			}
			for i := range flen {
				if !h.filled[off+i] {
					h.filled[off+i] = true
					h.msg[off+i] = frag[i]
					h.left--
				}
			}
			if h.left == 0 {
				return h.msg, nil
			}
		}
	}
	return nil, nil
}

func uint24(b []byte) uint32 { return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }

// helloProfiles returns the SRTP profiles a ClientHello body offers in
// its use_srtp extension (RFC 5764 §4.1.1), in the client's order.
func helloProfiles(body []byte) ([]Profile, error) {
	r := body
	skip := func(n int) bool {
		if len(r) < n {
			return false
		}
		r = r[n:]
		return true
	}
	vec := func(lenBytes int) ([]byte, bool) {
		if len(r) < lenBytes {
			return nil, false
		}
		n := 0
		for _, b := range r[:lenBytes] {
			n = n<<8 | int(b)
		}
		r = r[lenBytes:]
		if len(r) < n {
			return nil, false
		}
		v := r[:n]
		r = r[n:]
		return v, true
	}
	if !skip(2 + 32) { // client_version, random
		return nil, errNotHello
	}
	for _, lb := range []int{1, 1, 2, 1} { // session_id, cookie, cipher_suites, compression_methods
		if _, ok := vec(lb); !ok {
			return nil, errNotHello
		}
	}
	if len(r) == 0 {
		return nil, nil // no extensions
	}
	exts, ok := vec(2)
	if !ok {
		return nil, errNotHello
	}
	for len(exts) >= 4 {
		typ, n := binary.BigEndian.Uint16(exts), int(binary.BigEndian.Uint16(exts[2:]))
		if len(exts) < 4+n {
			return nil, errNotHello
		}
		data := exts[4 : 4+n]
		exts = exts[4+n:]
		if typ != 14 { // use_srtp
			continue
		}
		if len(data) < 2 {
			return nil, errNotHello
		}
		m := int(binary.BigEndian.Uint16(data))
		if m%2 != 0 || len(data) < 2+m {
			return nil, errNotHello
		}
		out := make([]Profile, 0, m/2)
		for i := 2; i < 2+m; i += 2 {
			out = append(out, Profile(binary.BigEndian.Uint16(data[i:])))
		}
		return out, nil
	}
	return nil, nil
}

// preferred is the first of ours that the client offers (0 for none).
func preferred(ours, offered []Profile) Profile {
	for _, p := range ours {
		for _, q := range offered {
			if p == q {
				return p
			}
		}
	}
	return 0
}
