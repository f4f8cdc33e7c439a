// SPDX-License-Identifier: MIT

package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // HMAC-SHA1 is what RFC 3711 specifies
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// cm is the AES-CM encryption (RFC 3711 §4.1.1) and HMAC-SHA1
// authentication (§4.2) of one key set. Its buffers make it allocation
// free: the counter block, the keystream (grown once to the largest
// packet), the MAC's sum.
type cm struct {
	block  cipher.Block
	salt   [14]byte
	mac    hash.Hash
	tagLen int
	isRTP  bool // SRTP's tag covers the rollover counter; SRTCP's does not

	ctr [16]byte
	ks  []byte
	sum [sha1.Size]byte
	roc [4]byte
}

func newCM(k sessionKeys, tagLen int, isRTP bool) (*cm, error) {
	b, err := aes.NewCipher(k.key)
	if err != nil {
		return nil, err
	}
	c := &cm{block: b, mac: hmac.New(sha1.New, k.auth), tagLen: tagLen, isRTP: isRTP, ks: make([]byte, 0, 2048)}
	copy(c.salt[:], k.salt)
	return c, nil
}

// xor encrypts (or decrypts) src into dst with the keystream of the IV
// (salt·2^16) ⊕ (SSRC·2^64) ⊕ (index·2^16), index 48 bits.
func (c *cm) xor(dst, src []byte, ssrc uint32, index uint64) {
	copy(c.ctr[:], c.salt[:])
	c.ctr[14], c.ctr[15] = 0, 0
	binary.BigEndian.PutUint32(c.ctr[4:], binary.BigEndian.Uint32(c.ctr[4:])^ssrc)
	binary.BigEndian.PutUint16(c.ctr[8:], binary.BigEndian.Uint16(c.ctr[8:])^uint16(index>>32))
	binary.BigEndian.PutUint32(c.ctr[10:], binary.BigEndian.Uint32(c.ctr[10:])^uint32(index))
	n := (len(src) + 15) / 16 * 16
	if cap(c.ks) < n {
		c.ks = make([]byte, n)
	}
	ks := c.ks[:n]
	// All counter blocks first, then the encryptions in place: a block
	// encrypted right after its counter's 2-byte store waits for that
	// store (a 16-byte load cannot be forwarded from it), and the blocks
	// run one at a time; written ahead, they overlap (2.5× faster for
	// 1200 bytes). The low 16 bits count blocks from 0: a packet is far
	// below 2^16 blocks, so they never carry.
	for off, i := 0, uint16(0); off < n; off, i = off+16, i+1 {
		copy(ks[off:off+14], c.ctr[:14])
		binary.BigEndian.PutUint16(ks[off+14:], i)
	}
	for off := 0; off < n; off += 16 {
		c.block.Encrypt(ks[off:off+16], ks[off:off+16])
	}
	subtle.XORBytes(dst, src, ks[:len(src)])
}

// tag computes the HMAC of m (and, for SRTP, the rollover counter), in
// c.sum, truncated.
func (c *cm) tag(m []byte, roc uint32) []byte {
	c.mac.Reset()
	c.mac.Write(m)
	if c.isRTP {
		binary.BigEndian.PutUint32(c.roc[:], roc)
		c.mac.Write(c.roc[:])
	}
	return c.mac.Sum(c.sum[:0])[:c.tagLen]
}

func (c *cm) protectRTP(out, pkt []byte, hl int, roc uint32) error {
	n := len(pkt)
	seq := binary.BigEndian.Uint16(pkt[2:])
	copy(out[:hl], pkt[:hl])
	c.xor(out[hl:n], pkt[hl:], binary.BigEndian.Uint32(pkt[8:]), uint64(roc)<<16|uint64(seq))
	copy(out[n:], c.tag(out[:n], roc))
	return nil
}

func (c *cm) unprotectRTP(out, pkt []byte, hl int, roc uint32) error {
	n := len(pkt) - c.tagLen
	if subtle.ConstantTimeCompare(c.tag(pkt[:n], roc), pkt[n:]) != 1 {
		return ErrAuth
	}
	seq := binary.BigEndian.Uint16(pkt[2:])
	copy(out[:hl], pkt[:hl])
	c.xor(out[hl:n], pkt[hl:n], binary.BigEndian.Uint32(pkt[8:]), uint64(roc)<<16|uint64(seq))
	return nil
}

// protectRTCP: header ‖ encrypted rest ‖ E‖index ‖ tag over all before it
// (RFC 3711 §3.4).
func (c *cm) protectRTCP(out, pkt []byte, index uint32) error {
	n := len(pkt)
	copy(out[:8], pkt[:8])
	c.xor(out[8:n], pkt[8:], binary.BigEndian.Uint32(pkt[4:]), uint64(index))
	binary.BigEndian.PutUint32(out[n:], 1<<31|index)
	copy(out[n+4:], c.tag(out[:n+4], 0))
	return nil
}

func (c *cm) unprotectRTCP(out, pkt []byte) error {
	n := len(pkt) - c.tagLen
	if subtle.ConstantTimeCompare(c.tag(pkt[:n], 0), pkt[n:]) != 1 {
		return ErrAuth
	}
	eIndex := binary.BigEndian.Uint32(pkt[n-4:])
	body := pkt[8 : n-4]
	copy(out[:8], pkt[:8])
	if eIndex>>31 == 0 { // sent unencrypted, authenticated only
		copy(out[8:], body)
		return nil
	}
	c.xor(out[8:8+len(body)], body, binary.BigEndian.Uint32(pkt[4:]), uint64(eIndex&maxRTCPIndex))
	return nil
}
