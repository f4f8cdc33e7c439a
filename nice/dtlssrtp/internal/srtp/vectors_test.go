// SPDX-License-Identifier: MIT

package srtp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// unhex reads hex with any white space in it.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 3711 Appendix B.3 (AES-128) and RFC 6188 §7.2 (AES-256, the key
// derivation of the 256-bit GCM profile).
func TestKeyDerivationVectors(t *testing.T) {
	for _, v := range []struct {
		name, key, salt, encKey, encSalt, authKey string
	}{
		{"RFC 3711 B.3", "E1F97A0D3E018BE0D64FA32C06DE4139", "0EC675AD498AFEEBB6960B3AABE6",
			"C61E7A93744F39EE10734AFE3FF7A087", "30CBBC08863D8C85D49DB34A9AE1", "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"},
		{"RFC 6188 7.2", "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b6", "3b04803de51ee7c96423ab5b78d2",
			"5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4", "fa31791685ca444a9e07c6c64e93", "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05"},
	} {
		t.Run(v.name, func(t *testing.T) {
			d, err := newDeriver(unhex(t, v.key), unhex(t, v.salt))
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				label byte
				want  string
			}{{labelRTPKey, v.encKey}, {labelRTPSalt, v.encSalt}, {labelRTPAuth, v.authKey}} {
				want := unhex(t, c.want)
				if got := d.derive(c.label, len(want)); !bytes.Equal(got, want) {
					t.Errorf("label %d: got %x, want %x", c.label, got, want)
				}
			}
		})
	}
}

// RFC 7714 §16 and §17: the AES-GCM examples, with the session keys given.
func TestGCMVectors(t *testing.T) {
	const (
		rtp = `8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973 20646976
			69736120 696e2070 61727465 73207472 6573`
		rtcp = `81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
			deadbeef deadbeef deadbeef deadbeef deadbeef`
		rtcpIndex = 0x5d4
	)
	for _, v := range []struct {
		name, key           string
		srtp, srtcp, srtcp0 string // srtcp0: SRTCP authenticated only (E=0)
	}{
		{"AES-128-GCM", "000102030405060708090a0b0c0d0e0f",
			`8040f17b 8041f8d3 5501a0b2 f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5
			0d294e6f 42a5f47a 51c7d19b 36de3adf 8833899d 7f27beb1 6a9152cf 765ee439 0cce`,
			`81c8000d 4d617273 63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d
			c676a5f1 730d6fda 4ce09b46 86303ded 0bb9275b c84aa458 96cf4d2f c5abf872 45d9eade 800005d4`,
			`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
			deadbeef deadbeef deadbeef deadbeef deadbeef 841dd968 3dd78ec9 2ae58790 125f62b3 000005d4`},
		{"AES-256-GCM", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			`8040f17b 8041f8d3 5501a0b2 32b1de78 a822fe12 ef9f78fa 332e33aa b1801238
			9a58e2f3 b50b2a02 76ffae0f 1ba63799 b87b7aa3 db36dfff d6b0f9bb 7878d7a7 6c13`,
			`81c8000d 4d617273 d50ae4d1 f5ce5d30 4ba297e4 7d470c28 2c3ece5d bffe0a50
			a2eaa5c1 110555be 8415f658 c61de047 6f1b6fad 1d1eb30c 4446839f 57ff6f6c b26ac3be 800005d4`,
			`81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930 4c756e61
			deadbeef deadbeef deadbeef deadbeef deadbeef 91db4afb feee5a97 8fab4393 ed2615fe 000005d4`},
	} {
		t.Run(v.name, func(t *testing.T) {
			k := sessionKeys{key: unhex(t, v.key), salt: unhex(t, "517569642070726f2071756f")}
			pp, _ := AEADAES128GCM.params()
			mk := func() *Context {
				c, err := newContext(pp, 64, k, k)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			snd, rcv := mk(), mk()
			got, err := snd.ProtectRTP(nil, unhex(t, rtp))
			if err != nil || !bytes.Equal(got, unhex(t, v.srtp)) {
				t.Errorf("SRTP: %x, %v; want %x", got, err, unhex(t, v.srtp))
			}
			if got, err := rcv.UnprotectRTP(nil, unhex(t, v.srtp)); err != nil || !bytes.Equal(got, unhex(t, rtp)) {
				t.Errorf("RTP: %x, %v", got, err)
			}
			s, _ := snd.state(0x4d617273)
			s.rtcpIndex = rtcpIndex
			if got, err := snd.ProtectRTCP(nil, unhex(t, rtcp)); err != nil || !bytes.Equal(got, unhex(t, v.srtcp)) {
				t.Errorf("SRTCP: %x, %v; want %x", got, err, unhex(t, v.srtcp))
			}
			if got, err := rcv.UnprotectRTCP(nil, unhex(t, v.srtcp)); err != nil || !bytes.Equal(got, unhex(t, rtcp)) {
				t.Errorf("RTCP: %x, %v", got, err)
			}
			// The unencrypted form has the same index: a replay now.
			if _, err := rcv.UnprotectRTCP(nil, unhex(t, v.srtcp0)); err != ErrReplay {
				t.Errorf("SRTCP (E=0) with a used index: %v, want ErrReplay", err)
			}
			if got, err := mk().UnprotectRTCP(nil, unhex(t, v.srtcp0)); err != nil || !bytes.Equal(got, unhex(t, rtcp)) {
				t.Errorf("RTCP from E=0: %x, %v", got, err)
			}
		})
	}
}
