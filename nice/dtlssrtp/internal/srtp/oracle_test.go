// SPDX-License-Identifier: MIT

package srtp

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	pion "github.com/pion/srtp/v2"
)

var profiles = []Profile{AES128CMHMACSHA1_80, AES128CMHMACSHA1_32, AEADAES128GCM, AEADAES256GCM}

// keysFor returns a random master key and salt of p's lengths.
func keysFor(r *rand.Rand, p Profile) (key, salt []byte) {
	kl, sl, _ := KeyLengths(p)
	b := make([]byte, kl+sl)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b[:kl], b[kl:]
}

// randomRTP makes an RTP packet of a random shape: CSRCs, an extension,
// padding, any payload length (0 included).
func randomRTP(r *rand.Rand, ssrc uint32, seq uint16) []byte {
	cc := 0
	if r.IntN(8) == 0 {
		cc = r.IntN(16)
	}
	ext := r.IntN(3) == 0
	pad := 0
	if r.IntN(6) == 0 {
		pad = 1 + r.IntN(32)
	}
	payload := r.IntN(1300)
	if r.IntN(10) == 0 {
		payload = 0
	}
	p := []byte{0x80 | byte(cc), byte(r.IntN(128)), 0, 0}
	p = binary.BigEndian.AppendUint16(p[:2], seq)
	p = binary.BigEndian.AppendUint32(p, r.Uint32())
	p = binary.BigEndian.AppendUint32(p, ssrc)
	for range cc {
		p = binary.BigEndian.AppendUint32(p, r.Uint32())
	}
	if ext {
		p[0] |= 0x10
		words := r.IntN(5)
		// A profile that is neither RFC 8285 form: pion re-marshals those
		// from what it parsed, this one it keeps as it is.
		p = append(p, 0xab, 0xac)
		p = binary.BigEndian.AppendUint16(p, uint16(words))
		for range words * 4 {
			p = append(p, byte(r.Uint32()))
		}
	}
	for range payload {
		p = append(p, byte(r.Uint32()))
	}
	if pad > 0 {
		p[0] |= 0x20
		for range pad - 1 {
			p = append(p, 0)
		}
		p = append(p, byte(pad))
	}
	return p
}

// randomRTCP makes an RTCP packet: a header with an SSRC and a body of
// whole words.
func randomRTCP(r *rand.Rand, ssrc uint32) []byte {
	words := 1 + r.IntN(40)
	p := []byte{0x80 | byte(r.IntN(32)), 200 + byte(r.IntN(7))}
	p = binary.BigEndian.AppendUint16(p, uint16(words))
	p = binary.BigEndian.AppendUint32(p, ssrc)
	for range (words - 1) * 4 {
		p = append(p, byte(r.Uint32()))
	}
	return p
}

// Against pion/srtp/v2, for every profile, with sequence numbers that
// wrap several times, several SSRCs and packets of every shape: our SRTP
// is pion's byte for byte, each side unprotects what the other protects,
// and SRTCP goes both ways.
func TestAgainstPion(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for _, p := range profiles {
		t.Run(pion.ProtectionProfile(p).String(), func(t *testing.T) {
			key, salt := keysFor(r, p)
			ours, err := New(p, key, salt, 128)
			if err != nil {
				t.Fatal(err)
			}
			oursRx, _ := New(p, key, salt, 128)
			theirs, err := pion.CreateContext(key, salt, pion.ProtectionProfile(p))
			if err != nil {
				t.Fatal(err)
			}
			theirsRx, _ := pion.CreateContext(key, salt, pion.ProtectionProfile(p))
			ssrcs := []uint32{r.Uint32(), r.Uint32(), r.Uint32()}
			seqs := []uint16{65000, 1, 30000}
			for i := range 6000 {
				k := r.IntN(len(ssrcs))
				seqs[k] += uint16(1 + r.IntN(40)) // several wraps of every SSRC
				pkt := randomRTP(r, ssrcs[k], seqs[k])
				a, err := ours.ProtectRTP(nil, pkt)
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				b, err := theirs.EncryptRTP(nil, pkt, nil)
				if err != nil {
					t.Fatalf("packet %d: pion: %v", i, err)
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("packet %d (%d bytes, seq %d): ours and pion's SRTP differ\nours %x\npion %x", i, len(pkt), seqs[k], a, b)
				}
				got, err := oursRx.UnprotectRTP(nil, b)
				if err != nil || !bytes.Equal(got, pkt) {
					t.Fatalf("packet %d: unprotecting pion's: %v", i, err)
				}
				got, err = theirsRx.DecryptRTP(nil, a, nil)
				if err != nil || !bytes.Equal(got, pkt) {
					t.Fatalf("packet %d: pion unprotecting ours: %v", i, err)
				}
				if i%5 == 0 {
					c := randomRTCP(r, ssrcs[k])
					a, err := ours.ProtectRTCP(nil, c)
					if err != nil {
						t.Fatal(err)
					}
					if got, err := theirsRx.DecryptRTCP(nil, a, nil); err != nil || !bytes.Equal(got, c) {
						t.Fatalf("RTCP %d: pion unprotecting ours: %v", i, err)
					}
					b, err := theirs.EncryptRTCP(nil, c, nil)
					if err != nil {
						t.Fatal(err)
					}
					if got, err := oursRx.UnprotectRTCP(nil, b); err != nil || !bytes.Equal(got, c) {
						t.Fatalf("RTCP %d: unprotecting pion's: %v", i, err)
					}
				}
			}
		})
	}
}
