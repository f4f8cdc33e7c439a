// SPDX-License-Identifier: MIT

package srtp

import (
	"bytes"
	"testing"
)

// FuzzUnprotect: packets off the network, whatever they hold, for every
// profile: an error or a packet, never a panic; and what the peer
// protected (the seed inputs) comes back as it was.
func FuzzUnprotect(f *testing.F) {
	for _, p := range profiles {
		tx, _ := pair(f, p, 64)
		s, _ := tx.ProtectRTP(nil, rtpPkt(3, 4, 50))
		f.Add(byte(p), false, s)
		s, _ = tx.ProtectRTCP(nil, []byte{0x80, 200, 0, 1, 0, 0, 0, 4})
		f.Add(byte(p), true, s)
	}
	f.Fuzz(func(t *testing.T, sel byte, isRTCP bool, pkt []byte) {
		p := profiles[int(sel)%len(profiles)]
		_, rx := pair(t, p, 64)
		in := bytes.Clone(pkt)
		var err error
		if isRTCP {
			_, err = rx.UnprotectRTCP(nil, pkt)
		} else {
			_, err = rx.UnprotectRTP(nil, pkt)
		}
		if err == nil && len(pkt) < 8 {
			t.Fatalf("a %d-byte packet accepted", len(pkt))
		}
		if !bytes.Equal(in, pkt) {
			t.Fatal("unprotecting into a new buffer changed the input")
		}
	})
}

// FuzzProtect: any packet ProtectRTP or ProtectRTCP takes, the peer's
// context gives back byte for byte.
func FuzzProtect(f *testing.F) {
	f.Add(byte(0), false, rtpPkt(1, 2, 30))
	f.Add(byte(2), false, []byte{0x92, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4, 8, 9, 0, 1, 0xab, 0xac, 0, 0})
	f.Add(byte(1), true, []byte{0x80, 200, 0, 1, 0, 0, 0, 4, 1})
	f.Fuzz(func(t *testing.T, sel byte, isRTCP bool, pkt []byte) {
		p := profiles[int(sel)%len(profiles)]
		tx, rx := pair(t, p, 64)
		var s, back []byte
		var err error
		if isRTCP {
			if s, err = tx.ProtectRTCP(nil, pkt); err != nil {
				return
			}
			back, err = rx.UnprotectRTCP(nil, s)
		} else {
			if s, err = tx.ProtectRTP(nil, pkt); err != nil {
				return
			}
			back, err = rx.UnprotectRTP(nil, s)
		}
		if err != nil || !bytes.Equal(back, pkt) {
			t.Fatalf("%v: protected %x, unprotected %x, %v", p, pkt, back, err)
		}
	})
}
