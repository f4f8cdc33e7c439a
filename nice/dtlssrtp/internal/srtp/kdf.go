// SPDX-License-Identifier: MIT

package srtp

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// The key derivation labels of RFC 3711 §4.3.2 (RFC 7714 §11 uses the
// same for AES-GCM; its auth label derives nothing).
const (
	labelRTPKey   = 0x00
	labelRTPAuth  = 0x01
	labelRTPSalt  = 0x02
	labelRTCPKey  = 0x03
	labelRTCPAuth = 0x04
	labelRTCPSalt = 0x05
)

// deriver is the key derivation function of RFC 3711 §4.3.1 with a key
// derivation rate of 0 (the only one DTLS-SRTP uses): AES in counter mode
// under the master key, from the IV (master salt ⊕ label·2^48)·2^16.
type deriver struct {
	block cipher.Block
	salt  [14]byte // the master salt, right-padded with zeros (a 12-byte AES-GCM salt, RFC 7714 §11)
}

func newDeriver(masterKey, masterSalt []byte) (*deriver, error) {
	b, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, err
	}
	d := &deriver{block: b}
	copy(d.salt[:], masterSalt)
	return d, nil
}

// derive returns n bytes of the session key labelled label.
func (d *deriver) derive(label byte, n int) []byte {
	var iv [16]byte
	copy(iv[:], d.salt[:])
	iv[7] ^= label // the label sits 48 bits above the 112-bit salt's end
	out := make([]byte, (n+15)/16*16)
	for i := 0; i*16 < n; i++ {
		binary.BigEndian.PutUint16(iv[14:], uint16(i))
		d.block.Encrypt(out[i*16:], iv[:])
	}
	return out[:n]
}
