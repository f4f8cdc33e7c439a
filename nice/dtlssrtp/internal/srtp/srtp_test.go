// SPDX-License-Identifier: MIT

package srtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
)

// pair returns a protecting and an unprotecting context with the same
// random keys.
func pair(t testing.TB, p Profile, window uint) (tx, rx *Context) {
	t.Helper()
	key, salt := keysFor(rand.New(rand.NewPCG(uint64(p), 3)), p)
	tx, err := New(p, key, salt, window)
	if err != nil {
		t.Fatal(err)
	}
	rx, err = New(p, key, salt, window)
	if err != nil {
		t.Fatal(err)
	}
	return tx, rx
}

func rtpPkt(seq uint16, ssrc uint32, payload int) []byte {
	p := make([]byte, 12+payload)
	p[0], p[1] = 0x80, 96
	binary.BigEndian.PutUint16(p[2:], seq)
	binary.BigEndian.PutUint32(p[8:], ssrc)
	for i := range payload {
		p[12+i] = byte(i)
	}
	return p
}

// Any change to a protected packet is refused, and the refusal changes
// nothing: the genuine packet is accepted afterwards.
func TestTamperedRefused(t *testing.T) {
	for _, p := range profiles {
		tx, rx := pair(t, p, 64)
		pkt := rtpPkt(7, 0x1234, 40)
		srtp, _ := tx.ProtectRTP(nil, pkt)
		for i := range srtp {
			bad := bytes.Clone(srtp)
			bad[i] ^= 0x01
			if _, err := rx.UnprotectRTP(nil, bad); err == nil {
				t.Fatalf("%v: byte %d flipped: accepted", p, i)
			}
		}
		for n := range len(srtp) {
			if _, err := rx.UnprotectRTP(nil, srtp[:n]); err == nil {
				t.Fatalf("%v: truncated to %d: accepted", p, n)
			}
		}
		if got, err := rx.UnprotectRTP(nil, srtp); err != nil || !bytes.Equal(got, pkt) {
			t.Fatalf("%v: the genuine packet after the forgeries: %v", p, err)
		}
		rtcp := []byte{0x81, 200, 0, 6, 0, 0, 0x12, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24}
		srtcp, _ := tx.ProtectRTCP(nil, rtcp)
		for i := range srtcp {
			bad := bytes.Clone(srtcp)
			bad[i] ^= 0x80
			if _, err := rx.UnprotectRTCP(nil, bad); err == nil {
				t.Fatalf("%v: SRTCP byte %d flipped: accepted", p, i)
			}
		}
		if got, err := rx.UnprotectRTCP(nil, srtcp); err != nil || !bytes.Equal(got, rtcp) {
			t.Fatalf("%v: the genuine SRTCP packet after the forgeries: %v", p, err)
		}
	}
}

// A packet is accepted once; late packets within the window are accepted,
// older ones refused; SRTCP the same by its index.
func TestReplay(t *testing.T) {
	for _, p := range profiles {
		tx, rx := pair(t, p, 64)
		var sent [][]byte
		for seq := range uint16(200) {
			b, _ := tx.ProtectRTP(nil, rtpPkt(seq, 9, 10))
			sent = append(sent, b)
		}
		for _, i := range []int{0, 1, 2, 150, 140, 100, 199} {
			if _, err := rx.UnprotectRTP(nil, sent[i]); err != nil {
				t.Fatalf("%v: packet %d: %v", p, i, err)
			}
		}
		for _, i := range []int{0, 150, 199, 135, 120} { // replays, then too old (199-64 = 135)
			if _, err := rx.UnprotectRTP(nil, sent[i]); !errors.Is(err, ErrReplay) {
				t.Fatalf("%v: packet %d again: %v, want ErrReplay", p, i, err)
			}
		}
		if _, err := rx.UnprotectRTP(nil, sent[136]); err != nil {
			t.Fatalf("%v: packet 136, 63 behind: %v", p, err)
		}
		rtcp := []byte{0x80, 201, 0, 1, 0, 0, 0, 9}
		a, _ := tx.ProtectRTCP(nil, rtcp)
		b, _ := tx.ProtectRTCP(nil, rtcp)
		for _, c := range []struct {
			pkt  []byte
			want error
		}{{b, nil}, {a, nil}, {a, ErrReplay}, {b, ErrReplay}} {
			if _, err := rx.UnprotectRTCP(nil, c.pkt); !errors.Is(err, c.want) {
				t.Fatalf("%v: SRTCP: %v, want %v", p, err, c.want)
			}
		}
	}
}

// Sequence numbers wrap: the rollover counter follows, for packets in
// order and reordered around the wrap (RFC 3711 Appendix A).
func TestRollover(t *testing.T) {
	for _, p := range profiles {
		tx, rx := pair(t, p, 128)
		var sent [][]byte
		seq := uint16(65500)
		for range 200 {
			b, _ := tx.ProtectRTP(nil, rtpPkt(seq, 5, 20))
			sent = append(sent, b)
			seq++
		}
		// Deliver with swaps across the wrap.
		order := []int{}
		for i := 0; i < len(sent); i += 2 {
			order = append(order, i+1, i)
		}
		for _, i := range order {
			got, err := rx.UnprotectRTP(nil, sent[i])
			if err != nil {
				t.Fatalf("%v: packet %d (seq %d): %v", p, i, uint16(65500+i), err)
			}
			if !bytes.Equal(got, rtpPkt(uint16(65500+i), 5, 20)) {
				t.Fatalf("%v: packet %d decrypted wrongly", p, i)
			}
		}
		if s := rx.ssrcs[5]; s.roc != 1 || s.sl != 65500+199-65536 {
			t.Fatalf("%v: receiver at ROC %d, s_l %d", p, s.roc, s.sl)
		}
	}
}

// dst may be the packet's own storage, both ways.
func TestInPlace(t *testing.T) {
	for _, p := range profiles {
		tx, rx := pair(t, p, 64)
		orig := rtpPkt(1, 2, 300)
		buf := make([]byte, len(orig), len(orig)+16)
		copy(buf, orig)
		out, err := tx.ProtectRTP(buf[:0], buf)
		if err != nil || &out[0] != &buf[0] {
			t.Fatalf("%v: in place: %v (same storage: %v)", p, err, err == nil && &out[0] == &buf[0])
		}
		back, err := rx.UnprotectRTP(out[:0], out)
		if err != nil || !bytes.Equal(back, orig) {
			t.Fatalf("%v: unprotect in place: %v", p, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(0x99, make([]byte, 16), make([]byte, 14), 64); err == nil {
		t.Fatal("unknown profile accepted")
	}
	if _, err := New(AEADAES128GCM, make([]byte, 16), make([]byte, 14), 64); err == nil {
		t.Fatal("a 14-byte salt for AES-GCM accepted")
	}
	tx, rx := pair(t, AES128CMHMACSHA1_80, 64)
	for _, pkt := range [][]byte{nil, {0x80}, make([]byte, 11), {0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, // version 1
		{0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},                     // 15 CSRCs, none there
		{0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9}} { // an extension longer than the packet
		if _, err := tx.ProtectRTP(nil, pkt); err == nil {
			t.Errorf("ProtectRTP(%x) accepted", pkt)
		}
		if _, err := rx.UnprotectRTP(nil, pkt); err == nil {
			t.Errorf("UnprotectRTP(%x) accepted", pkt)
		}
		if _, err := rx.UnprotectRTCP(nil, pkt); err == nil {
			t.Errorf("UnprotectRTCP(%x) accepted", pkt)
		}
	}
	// The SSRC bound.
	for i := range MaxSSRCs {
		if _, err := tx.ProtectRTP(nil, rtpPkt(0, uint32(i), 0)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.ProtectRTP(nil, rtpPkt(0, MaxSSRCs, 0)); !errors.Is(err, ErrTooManySSRCs) {
		t.Fatalf("SSRC %d: %v", MaxSSRCs+1, err)
	}
}

// Protecting and unprotecting allocate nothing once the buffers exist.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race; ./run test runs this without it")
	}
	for _, p := range profiles {
		tx, rx := pair(t, p, 128)
		pkt := rtpPkt(0, 77, 1200)
		rtcp := []byte{0x80, 201, 0, 1, 0, 0, 0, 77}
		a, b := make([]byte, 0, 1500), make([]byte, 0, 1500)
		seq := uint16(0)
		n := testing.AllocsPerRun(1000, func() {
			seq++
			binary.BigEndian.PutUint16(pkt[2:], seq)
			s, err := tx.ProtectRTP(a, pkt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rx.UnprotectRTP(b, s); err != nil {
				t.Fatal(err)
			}
			s, _ = tx.ProtectRTCP(a, rtcp)
			if _, err := rx.UnprotectRTCP(b, s); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%v: %v allocations per RTP and RTCP packet protected and unprotected", p, n)
		}
	}
}
