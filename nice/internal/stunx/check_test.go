// SPDX-License-Identifier: MIT

package stunx

import (
	"errors"
	"testing"

	"github.com/pion/stun"
)

func TestIsSTUN(t *testing.T) {
	header := func(typ, length uint16) []byte {
		b := make([]byte, HeaderSize+int(length))
		b[0], b[1] = byte(typ>>8), byte(typ)
		b[2], b[3] = byte(length>>8), byte(length)
		b[4], b[5], b[6], b[7] = 0x21, 0x12, 0xa4, 0x42
		return b
	}
	withLength := func(b []byte, length uint16) []byte {
		b = append([]byte(nil), b...)
		b[2], b[3] = byte(length>>8), byte(length)
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"RFC 5769 request", rfc5769Request, true},
		{"RFC 5769 IPv4 response", rfc5769IPv4Response, true},
		{"RFC 5769 long-term request", rfc5769LongTermRequest, true},
		{"header only", header(0x0001, 0), true},
		{"first byte 3 (largest allowed)", header(0x03ff, 4), true},
		{"first byte 4 (ZRTP range)", header(0x0401, 0), false},
		{"first byte 0x40 (RFC 5389 allows, RFC 7983 does not)", header(0x4001, 0), false},
		{"RTP version 2", append([]byte{0x80, 0x60}, header(0, 0)[2:]...), false},
		{"RTCP sender report", append([]byte{0x80, 0xc8}, header(0, 0)[2:]...), false},
		{"DTLS handshake", append([]byte{0x16, 0xfe, 0xfd}, make([]byte, 30)...), false},
		{"TURN ChannelData", append([]byte{0x40, 0x00, 0x00, 0x10}, make([]byte, 16)...), false},
		{"nil", nil, false},
		{"empty", []byte{}, false},
		{"19 bytes", header(0x0001, 0)[:19], false},
		{"truncated message", rfc5769Request[:len(rfc5769Request)-4], false},
		{"trailing byte", append(append([]byte(nil), rfc5769Request...), 0), false},
		{"trailing padding", append(append([]byte(nil), rfc5769Request...), 0, 0, 0, 0), false},
		{"length not a multiple of 4", withLength(header(0x0001, 6), 6), false},
		{"length larger than datagram", withLength(header(0x0001, 8), 12), false},
		{"no magic cookie (RFC 3489)", append(header(0x0001, 0)[:4], make([]byte, 16)...), false},
		{"wrong magic cookie", append(append(header(0x0001, 0)[:4], 0x21, 0x12, 0xa4, 0x43), make([]byte, 12)...), false},
		{"largest length", header(0x0001, 0xfffc), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsSTUN(tt.b); got != tt.want {
				t.Errorf("IsSTUN = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestIsSTUNDoesNotAllocate(t *testing.T) {
	inputs := [][]byte{rfc5769Request, {0x80, 0x60, 0, 1}, rfc5769IPv6Response[:30], nil}
	for _, b := range inputs {
		if n := testing.AllocsPerRun(1000, func() { _ = IsSTUN(b) }); n != 0 {
			t.Errorf("IsSTUN(%x...) allocates %v times, want 0", b[:min(len(b), 4)], n)
		}
	}
}

func BenchmarkIsSTUN(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = IsSTUN(rfc5769Request)
	}
}

// decoded returns rfc5769 request b decoded into a fresh message.
func decoded(t *testing.T, b []byte) *stun.Message {
	t.Helper()
	m := new(stun.Message)
	if err := stun.Decode(b, m); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return m
}

func TestCheckFingerprintErrors(t *testing.T) {
	fpNotLast := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.Fingerprint, stun.NewSoftware("x"))
	shortFP := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.RawAttribute{Type: stun.AttrFingerprint, Value: []byte{1, 2}})
	tests := []struct {
		name string
		m    *stun.Message
		want error
	}{
		{"valid", decoded(t, rfc5769Request), nil},
		{"absent", decoded(t, rfc5769LongTermRequest), stun.ErrAttributeNotFound},
		{"not last", decoded(t, fpNotLast.Raw), ErrFingerprintNotLast},
		{"2 bytes", decoded(t, shortFP.Raw), stun.ErrAttributeSizeInvalid},
		{"trailing bytes", decoded(t, append(append([]byte(nil), rfc5769Request...), 0, 0, 0, 0)), ErrLengthMismatch},
		{"wrong CRC", decoded(t, append(append([]byte(nil), rfc5769Request[:len(rfc5769Request)-1]...), 0)), stun.ErrFingerprintMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckFingerprint(tt.m); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCheckIntegrityErrors(t *testing.T) {
	key := []byte("key")
	valid := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.NewUsername("u:v"), stun.NewShortTermIntegrity("key"))
	withFP := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.NewShortTermIntegrity("key"), stun.Fingerprint)
	// Attributes other than FINGERPRINT after MESSAGE-INTEGRITY are
	// ignored (RFC 5389 §15.4).
	withTail := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.NewShortTermIntegrity("key"), stun.NewSoftware("after"), stun.Fingerprint)
	short := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.RawAttribute{Type: stun.AttrMessageIntegrity, Value: make([]byte, 4)})
	empty := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.RawAttribute{Type: stun.AttrMessageIntegrity})
	inconsistent := decoded(t, valid.Raw)
	inconsistent.Raw = inconsistent.Raw[:HeaderSize]
	tests := []struct {
		name string
		m    *stun.Message
		want error
	}{
		{"valid", decoded(t, valid.Raw), nil},
		{"valid with FINGERPRINT", decoded(t, withFP.Raw), nil},
		{"attribute after MESSAGE-INTEGRITY", decoded(t, withTail.Raw), nil},
		{"absent", decoded(t, stun.MustBuild(stun.BindingRequest, stun.TransactionID).Raw), stun.ErrAttributeNotFound},
		{"4 bytes", decoded(t, short.Raw), stun.ErrAttributeSizeInvalid},
		{"empty", decoded(t, empty.Raw), stun.ErrAttributeSizeInvalid},
		{"Raw shorter than Length", inconsistent, ErrLengthMismatch},
		{"wrong key", decoded(t, rfc5769Request), stun.ErrIntegrityMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := CheckIntegrity(tt.m, key); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestPionQuirks records behaviour of pion/stun v0.6.1 that this package
// works around. It logs rather than fails when pion changes, so that an
// upgrade is noticed without breaking the build.
func TestPionQuirks(t *testing.T) {
	t.Run("XORMappedAddress.GetFrom panics on a short value", func(t *testing.T) {
		// pion reads the family as v[0:2] before checking len(v); that
		// only panics when the value has no spare capacity, as for an
		// empty last attribute in a Raw buffer of exactly its length.
		built := stun.MustBuild(stun.BindingRequest, stun.TransactionID,
			stun.RawAttribute{Type: stun.AttrXORMappedAddress})
		m := &stun.Message{Raw: append([]byte(nil), built.Raw...)[:len(built.Raw):len(built.Raw)]}
		if err := m.Decode(); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			var a stun.XORMappedAddress
			_ = a.GetFrom(m)
			return false
		}()
		t.Logf("pion panics: %v", panicked)
		var a XORMappedAddress
		if err := a.GetFrom(m); !stun.IsAttrSizeInvalid(err) {
			t.Errorf("stunx XORMappedAddress.GetFrom: err = %v, want a size error", err)
		}
	})
	t.Run("Fingerprint.Check fails on trailing bytes", func(t *testing.T) {
		m := decoded(t, append(append([]byte(nil), rfc5769Request...), 0, 0, 0, 0))
		t.Logf("pion Fingerprint.Check: %v", stun.Fingerprint.Check(m))
	})
	t.Run("UnknownAttributes encodes 32 bits per type", func(t *testing.T) {
		m := stun.MustBuild(stun.BindingError, stun.UnknownAttributes{stun.AttrChangeRequest})
		v, _ := m.Get(stun.AttrUnknownAttributes)
		t.Logf("pion UNKNOWN-ATTRIBUTES value for one type: %x (RFC 5389 §15.9: 0003)", v)
	})
	t.Run("Decode keeps stale attributes on header errors", func(t *testing.T) {
		m := new(stun.Message)
		if err := stun.Decode(rfc5769Request, m); err != nil {
			t.Fatal(err)
		}
		bad := append([]byte(nil), rfc5769Request...)
		bad[4] = 0
		err := stun.Decode(bad, m)
		t.Logf("pion Decode: %v; attributes left: %d", err, len(m.Attributes))
	})
	t.Run("Decode accepts trailing bytes", func(t *testing.T) {
		m := new(stun.Message)
		err := stun.Decode(append(append([]byte(nil), rfc5769Request...), 1, 2, 3), m)
		t.Logf("pion Decode: %v", err)
	})
}
