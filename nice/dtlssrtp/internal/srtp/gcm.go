// SPDX-License-Identifier: MIT

package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// gcm is AES-GCM for SRTP and SRTCP (RFC 7714) with one key set: a 16-byte
// tag, the 12-byte IV built from the salt, the SSRC and the index
// (§8.1, §9.1). The nonce, the RTCP associated data and a scratch buffer
// for unencrypted SRTCP belong to it.
type gcm struct {
	aead    cipher.AEAD
	salt    [12]byte
	nonce   [12]byte
	aad     [12]byte
	scratch []byte
}

func newGCM(k sessionKeys) (*gcm, error) {
	b, err := aes.NewCipher(k.key)
	if err != nil {
		return nil, err
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, err
	}
	g := &gcm{aead: a}
	copy(g.salt[:], k.salt)
	return g, nil
}

// iv sets the nonce: 00 00 ‖ SSRC ‖ 32 bits ‖ 32 bits, ⊕ the salt. For
// RTP the last 48 bits are ROC ‖ SEQ; for RTCP 16 zero bits then the
// 31-bit index (the E flag is not in the IV).
func (g *gcm) iv(ssrc, hi uint32, lo uint32) []byte {
	binary.BigEndian.PutUint16(g.nonce[0:], 0)
	binary.BigEndian.PutUint32(g.nonce[2:], ssrc)
	binary.BigEndian.PutUint16(g.nonce[6:], uint16(hi))
	binary.BigEndian.PutUint32(g.nonce[8:], lo)
	for i := range g.nonce {
		g.nonce[i] ^= g.salt[i]
	}
	return g.nonce[:]
}

// rtpIV: ROC ‖ SEQ in the last 48 bits.
func (g *gcm) rtpIV(pkt []byte, roc uint32) []byte {
	seq := uint32(binary.BigEndian.Uint16(pkt[2:]))
	return g.iv(binary.BigEndian.Uint32(pkt[8:]), roc>>16, roc<<16|seq)
}

func (g *gcm) protectRTP(out, pkt []byte, hl int, roc uint32) error {
	nonce := g.rtpIV(pkt, roc)
	copy(out[:hl], pkt[:hl])
	g.aead.Seal(out[hl:hl], nonce, pkt[hl:], out[:hl])
	return nil
}

func (g *gcm) unprotectRTP(out, pkt []byte, hl int, roc uint32) error {
	nonce := g.rtpIV(pkt, roc)
	// The header is the associated data; copy it only once authenticated
	// (out may be pkt's own storage, where it already is).
	if _, err := g.aead.Open(out[hl:hl], nonce, pkt[hl:], pkt[:hl]); err != nil {
		return ErrAuth
	}
	copy(out[:hl], pkt[:hl])
	return nil
}

// protectRTCP: header ‖ ciphertext ‖ tag ‖ E‖index; the associated data
// is the header and E‖index (RFC 7714 §9.1, §9.3).
func (g *gcm) protectRTCP(out, pkt []byte, index uint32) error {
	n := len(pkt)
	nonce := g.iv(binary.BigEndian.Uint32(pkt[4:]), 0, index)
	copy(g.aad[:8], pkt[:8])
	binary.BigEndian.PutUint32(g.aad[8:], 1<<31|index)
	copy(out[:8], pkt[:8])
	g.aead.Seal(out[8:8], nonce, pkt[8:], g.aad[:])
	binary.BigEndian.PutUint32(out[n+16:], 1<<31|index)
	return nil
}

func (g *gcm) unprotectRTCP(out, pkt []byte) error {
	n := len(pkt)
	eIndex := binary.BigEndian.Uint32(pkt[n-4:])
	nonce := g.iv(binary.BigEndian.Uint32(pkt[4:]), 0, eIndex&maxRTCPIndex)
	if eIndex>>31 != 0 {
		copy(g.aad[:8], pkt[:8])
		binary.BigEndian.PutUint32(g.aad[8:], eIndex)
		if _, err := g.aead.Open(out[8:8], nonce, pkt[8:n-4], g.aad[:]); err != nil {
			return ErrAuth
		}
		copy(out[:8], pkt[:8])
		return nil
	}
	// Unencrypted (E=0, RFC 7714 §9.2): the whole packet and E‖index are
	// associated data, the plaintext is empty, the tag follows the packet.
	body := pkt[:n-20]
	need := len(body) + 4
	if cap(g.scratch) < need {
		g.scratch = make([]byte, need)
	}
	aad := g.scratch[:need]
	copy(aad, body)
	binary.BigEndian.PutUint32(aad[len(body):], eIndex)
	if _, err := g.aead.Open(nil, nonce, pkt[n-20:n-4], aad); err != nil {
		return ErrAuth
	}
	copy(out, body)
	return nil
}
