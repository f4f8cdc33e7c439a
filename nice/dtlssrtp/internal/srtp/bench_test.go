// SPDX-License-Identifier: MIT

package srtp

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	pion "github.com/pion/srtp/v2"
)

// BenchmarkProtect: one 1200-byte RTP packet protected, per profile, by
// this package and by pion/srtp/v2 (go test -bench Protect; compare the
// two lines of a profile from one run).
func BenchmarkProtect(b *testing.B) {
	for _, p := range profiles {
		b.Run(pion.ProtectionProfile(p).String()+"/gonice", func(b *testing.B) {
			tx, _ := pair(b, p, 128)
			pkt, dst := rtpPkt(0, 1, 1200), make([]byte, 0, 1500)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				binary.BigEndian.PutUint16(pkt[2:], uint16(i))
				if _, err := tx.ProtectRTP(dst, pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(pion.ProtectionProfile(p).String()+"/pion", func(b *testing.B) {
			key, salt := keysFor(rand.New(rand.NewPCG(uint64(p), 3)), p) // pair's keys
			tx, err := pion.CreateContext(key, salt, pion.ProtectionProfile(p))
			if err != nil {
				b.Fatal(err)
			}
			pkt, dst := rtpPkt(0, 1, 1200), make([]byte, 0, 1500)
			b.SetBytes(int64(len(pkt)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				binary.BigEndian.PutUint16(pkt[2:], uint16(i))
				if _, err := tx.EncryptRTP(dst, pkt, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
