// SPDX-License-Identifier: MIT

package stunx

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/stun"
)

// Test vectors of RFC 5769 §2, typed in from the RFC with its annotations.

// rfc5769Request is RFC 5769 §2.1, "Sample Request".
var rfc5769Request = []byte{
	0x00, 0x01, 0x00, 0x58, // Request type and message length
	0x21, 0x12, 0xa4, 0x42, // Magic cookie
	0xb7, 0xe7, 0xa7, 0x01, // }
	0xbc, 0x34, 0xd6, 0x86, // }  Transaction ID
	0xfa, 0x87, 0xdf, 0xae, // }
	0x80, 0x22, 0x00, 0x10, // SOFTWARE attribute header
	0x53, 0x54, 0x55, 0x4e, // }
	0x20, 0x74, 0x65, 0x73, // }  User-agent...
	0x74, 0x20, 0x63, 0x6c, // }  ...name
	0x69, 0x65, 0x6e, 0x74, // }
	0x00, 0x24, 0x00, 0x04, // PRIORITY attribute header
	0x6e, 0x00, 0x01, 0xff, // ICE priority value
	0x80, 0x29, 0x00, 0x08, // ICE-CONTROLLED attribute header
	0x93, 0x2f, 0xf9, 0xb1, // }  Pseudo-random tie breaker...
	0x51, 0x26, 0x3b, 0x36, // }   ...for ICE control
	0x00, 0x06, 0x00, 0x09, // USERNAME attribute header
	0x65, 0x76, 0x74, 0x6a, // }
	0x3a, 0x68, 0x36, 0x76, // }  Username (9 bytes) and padding (3 bytes)
	0x59, 0x20, 0x20, 0x20, // }
	0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
	0x9a, 0xea, 0xa7, 0x0c, // }
	0xbf, 0xd8, 0xcb, 0x56, // }
	0x78, 0x1e, 0xf2, 0xb5, // }  HMAC-SHA1 fingerprint
	0xb2, 0xd3, 0xf2, 0x49, // }
	0xc1, 0xb5, 0x71, 0xa2, // }
	0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
	0xe5, 0x7a, 0x3b, 0xcf, // CRC32 fingerprint
}

// rfc5769IPv4Response is RFC 5769 §2.2, "Sample IPv4 Response".
var rfc5769IPv4Response = []byte{
	0x01, 0x01, 0x00, 0x3c, // Response type and message length
	0x21, 0x12, 0xa4, 0x42, // Magic cookie
	0xb7, 0xe7, 0xa7, 0x01, // }
	0xbc, 0x34, 0xd6, 0x86, // }  Transaction ID
	0xfa, 0x87, 0xdf, 0xae, // }
	0x80, 0x22, 0x00, 0x0b, // SOFTWARE attribute header
	0x74, 0x65, 0x73, 0x74, // }
	0x20, 0x76, 0x65, 0x63, // }  UTF-8 server name
	0x74, 0x6f, 0x72, 0x20, // }
	0x00, 0x20, 0x00, 0x08, // XOR-MAPPED-ADDRESS attribute header
	0x00, 0x01, 0xa1, 0x47, // Address family (IPv4) and xor'd mapped port number
	0xe1, 0x12, 0xa6, 0x43, // Xor'd mapped IPv4 address
	0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
	0x2b, 0x91, 0xf5, 0x99, // }
	0xfd, 0x9e, 0x90, 0xc3, // }
	0x8c, 0x74, 0x89, 0xf9, // }  HMAC-SHA1 fingerprint
	0x2a, 0xf9, 0xba, 0x53, // }
	0xf0, 0x6b, 0xe7, 0xd7, // }
	0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
	0xc0, 0x7d, 0x4c, 0x96, // CRC32 fingerprint
}

// rfc5769IPv6Response is RFC 5769 §2.3, "Sample IPv6 Response".
var rfc5769IPv6Response = []byte{
	0x01, 0x01, 0x00, 0x48, // Response type and message length
	0x21, 0x12, 0xa4, 0x42, // Magic cookie
	0xb7, 0xe7, 0xa7, 0x01, // }
	0xbc, 0x34, 0xd6, 0x86, // }  Transaction ID
	0xfa, 0x87, 0xdf, 0xae, // }
	0x80, 0x22, 0x00, 0x0b, // SOFTWARE attribute header
	0x74, 0x65, 0x73, 0x74, // }
	0x20, 0x76, 0x65, 0x63, // }  UTF-8 server name
	0x74, 0x6f, 0x72, 0x20, // }
	0x00, 0x20, 0x00, 0x14, // XOR-MAPPED-ADDRESS attribute header
	0x00, 0x02, 0xa1, 0x47, // Address family (IPv6) and xor'd mapped port number
	0x01, 0x13, 0xa9, 0xfa, // }
	0xa5, 0xd3, 0xf1, 0x79, // }  Xor'd mapped IPv6 address
	0xbc, 0x25, 0xf4, 0xb5, // }
	0xbe, 0xd2, 0xb9, 0xd9, // }
	0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
	0xa3, 0x82, 0x95, 0x4e, // }
	0x4b, 0xe6, 0x7b, 0xf1, // }
	0x17, 0x84, 0xc9, 0x7c, // }  HMAC-SHA1 fingerprint
	0x82, 0x92, 0xc2, 0x75, // }
	0xbf, 0xe3, 0xed, 0x41, // }
	0x80, 0x28, 0x00, 0x04, // FINGERPRINT attribute header
	0xc8, 0xfb, 0x0b, 0x4c, // CRC32 fingerprint
}

// rfc5769LongTermRequest is RFC 5769 §2.4, "Sample Request with Long-Term
// Authentication".
var rfc5769LongTermRequest = []byte{
	0x00, 0x01, 0x00, 0x60, // Request type and message length
	0x21, 0x12, 0xa4, 0x42, // Magic cookie
	0x78, 0xad, 0x34, 0x33, // }
	0xc6, 0xad, 0x72, 0xc0, // }  Transaction ID
	0x29, 0xda, 0x41, 0x2e, // }
	0x00, 0x06, 0x00, 0x12, // USERNAME attribute header
	0xe3, 0x83, 0x9e, 0xe3, // }
	0x83, 0x88, 0xe3, 0x83, // }
	0xaa, 0xe3, 0x83, 0x83, // }  Username value (18 bytes) and padding (2 bytes)
	0xe3, 0x82, 0xaf, 0xe3, // }
	0x82, 0xb9, 0x00, 0x00, // }
	0x00, 0x15, 0x00, 0x1c, // NONCE attribute header
	0x66, 0x2f, 0x2f, 0x34, // }
	0x39, 0x39, 0x6b, 0x39, // }
	0x35, 0x34, 0x64, 0x36, // }
	0x4f, 0x4c, 0x33, 0x34, // }  Nonce value
	0x6f, 0x4c, 0x39, 0x46, // }
	0x53, 0x54, 0x76, 0x79, // }
	0x36, 0x34, 0x73, 0x41, // }
	0x00, 0x14, 0x00, 0x0b, // REALM attribute header
	0x65, 0x78, 0x61, 0x6d, // }
	0x70, 0x6c, 0x65, 0x2e, // }  Realm value (11 bytes) and padding (1 byte)
	0x6f, 0x72, 0x67, 0x00, // }
	0x00, 0x08, 0x00, 0x14, // MESSAGE-INTEGRITY attribute header
	0xf6, 0x70, 0x24, 0x65, // }
	0x6d, 0xd6, 0x4a, 0x3e, // }
	0x02, 0xb8, 0xe0, 0x71, // }  HMAC-SHA1 fingerprint
	0x2e, 0x85, 0xc9, 0xa2, // }
	0x8c, 0xa8, 0x96, 0x66, // }
}

// Credentials of RFC 5769 §2.
const (
	rfc5769Password = "VOkJxbRl1RmTxUk/WvJxBt" // §2.1-§2.3, short-term
	// §2.4: the password "The<U+00AD>M<U+00AA>tr<U+2168>" after SASLprep.
	rfc5769LongTermUsername = "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9"
	rfc5769LongTermPassword = "TheMatrIX"
	rfc5769LongTermRealm    = "example.org"
	rfc5769LongTermNonce    = "f//499k954d6OL34oL9FSTvy64sA"
)

// Transaction IDs of RFC 5769 §2.1-§2.3 and of §2.4.
var (
	rfc5769TransactionID = [stun.TransactionIDSize]byte{
		0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
	}
	rfc5769LongTermTransactionID = [stun.TransactionIDSize]byte{
		0x78, 0xad, 0x34, 0x33, 0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e,
	}
)

func TestRFC5769(t *testing.T) {
	longTermKey := stun.NewLongTermIntegrity(rfc5769LongTermUsername, rfc5769LongTermRealm, rfc5769LongTermPassword)
	tests := []struct {
		name        string
		raw         []byte
		key         []byte
		typ         stun.MessageType
		txid        [stun.TransactionIDSize]byte
		fingerprint bool // whether the vector has FINGERPRINT
		check       func(t *testing.T, m *stun.Message)
	}{
		{
			name:        "2.1 sample request",
			txid:        rfc5769TransactionID,
			raw:         rfc5769Request,
			key:         []byte(rfc5769Password),
			typ:         stun.BindingRequest,
			fingerprint: true,
			check: func(t *testing.T, m *stun.Message) {
				wantText(t, m, stun.AttrSoftware, "STUN test client")
				// The 3 bytes of padding are spaces, not part of the value.
				wantText(t, m, stun.AttrUsername, "evtj:h6vY")
				var p Priority
				if err := p.GetFrom(m); err != nil || p != 0x6e0001ff {
					t.Errorf("PRIORITY = %#x, %v; want 0x6e0001ff", uint32(p), err)
				}
				var c ICEControlled
				if err := c.GetFrom(m); err != nil || c != 0x932ff9b151263b36 {
					t.Errorf("ICE-CONTROLLED = %#x, %v; want 0x932ff9b151263b36", uint64(c), err)
				}
				var cing ICEControlling
				if err := cing.GetFrom(m); !errors.Is(err, stun.ErrAttributeNotFound) {
					t.Errorf("ICE-CONTROLLING: err = %v, want ErrAttributeNotFound", err)
				}
				if HasUseCandidate(m) {
					t.Error("HasUseCandidate = true, want false")
				}
			},
		},
		{
			name:        "2.2 sample IPv4 response",
			txid:        rfc5769TransactionID,
			raw:         rfc5769IPv4Response,
			key:         []byte(rfc5769Password),
			typ:         stun.BindingSuccess,
			fingerprint: true,
			check: func(t *testing.T, m *stun.Message) {
				wantText(t, m, stun.AttrSoftware, "test vector")
				wantXORMapped(t, m, netip.MustParseAddrPort("192.0.2.1:32853"))
			},
		},
		{
			name:        "2.3 sample IPv6 response",
			txid:        rfc5769TransactionID,
			raw:         rfc5769IPv6Response,
			key:         []byte(rfc5769Password),
			typ:         stun.BindingSuccess,
			fingerprint: true,
			check: func(t *testing.T, m *stun.Message) {
				wantText(t, m, stun.AttrSoftware, "test vector")
				wantXORMapped(t, m, netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853"))
			},
		},
		{
			name: "2.4 sample request with long-term authentication",
			raw:  rfc5769LongTermRequest,
			key:  longTermKey,
			typ:  stun.BindingRequest,
			txid: rfc5769LongTermTransactionID,
			check: func(t *testing.T, m *stun.Message) {
				wantText(t, m, stun.AttrUsername, rfc5769LongTermUsername)
				wantText(t, m, stun.AttrNonce, rfc5769LongTermNonce)
				wantText(t, m, stun.AttrRealm, rfc5769LongTermRealm)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !IsSTUN(tt.raw) {
				t.Fatal("IsSTUN = false, want true")
			}
			m := new(stun.Message)
			if err := stun.Decode(tt.raw, m); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if m.Type != tt.typ {
				t.Errorf("type = %v, want %v", m.Type, tt.typ)
			}
			if m.TransactionID != tt.txid {
				t.Errorf("transaction ID = %x, want %x", m.TransactionID, tt.txid)
			}

			// Integrity, with pion directly and with the stricter wrapper.
			if err := stun.MessageIntegrity(tt.key).Check(m); err != nil {
				t.Errorf("pion MessageIntegrity.Check: %v", err)
			}
			if err := CheckIntegrity(m, tt.key); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
			if err := CheckIntegrity(m, []byte("wrong password")); !errors.Is(err, stun.ErrIntegrityMismatch) {
				t.Errorf("CheckIntegrity with a wrong key: err = %v, want ErrIntegrityMismatch", err)
			}

			// Fingerprint.
			if tt.fingerprint {
				if err := stun.Fingerprint.Check(m); err != nil {
					t.Errorf("pion Fingerprint.Check: %v", err)
				}
				if err := CheckFingerprint(m); err != nil {
					t.Errorf("CheckFingerprint: %v", err)
				}
			} else if err := CheckFingerprint(m); !errors.Is(err, stun.ErrAttributeNotFound) {
				t.Errorf("CheckFingerprint without FINGERPRINT: err = %v, want ErrAttributeNotFound", err)
			}

			tt.check(t, m)

			// The checks must leave the message as they found it.
			if string(m.Raw) != string(tt.raw) {
				t.Error("checks modified m.Raw")
			}

			// Any flipped bit before the checked attributes is detected.
			for _, off := range []int{0, 3, 8, HeaderSize, len(tt.raw) - 30} {
				bad := append([]byte(nil), tt.raw...)
				bad[off] ^= 0x01
				bm := new(stun.Message)
				if err := stun.Decode(bad, bm); err != nil {
					continue // e.g. the length field now lies
				}
				if err := CheckIntegrity(bm, tt.key); err == nil {
					t.Errorf("CheckIntegrity passed with byte %d flipped", off)
				}
				if tt.fingerprint {
					if err := CheckFingerprint(bm); err == nil {
						t.Errorf("CheckFingerprint passed with byte %d flipped", off)
					}
				}
			}
		})
	}
}

func wantText(t *testing.T, m *stun.Message, a stun.AttrType, want string) {
	t.Helper()
	v, err := m.Get(a)
	if err != nil {
		t.Errorf("%v: %v", a, err)
		return
	}
	if string(v) != want {
		t.Errorf("%v = %q, want %q", a, v, want)
	}
}

func wantXORMapped(t *testing.T, m *stun.Message, want netip.AddrPort) {
	t.Helper()
	var a XORMappedAddress
	if err := a.GetFrom(m); err != nil {
		t.Errorf("XOR-MAPPED-ADDRESS: %v", err)
		return
	}
	if got := netip.AddrPort(a); got != want {
		t.Errorf("XOR-MAPPED-ADDRESS = %v, want %v", got, want)
	}
	// pion's own getter agrees.
	var p stun.XORMappedAddress
	if err := p.GetFrom(m); err != nil {
		t.Errorf("pion XORMappedAddress.GetFrom: %v", err)
		return
	}
	if got, _ := netip.AddrFromSlice(p.IP); got.Unmap() != want.Addr() || p.Port != int(want.Port()) {
		t.Errorf("pion XOR-MAPPED-ADDRESS = %v, want %v", p, want)
	}
}
