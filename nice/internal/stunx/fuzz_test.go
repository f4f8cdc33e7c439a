// SPDX-License-Identifier: MIT

package stunx

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/stun"
)

// fuzzSeeds returns well-formed messages and near misses for the corpus.
func fuzzSeeds(tb testing.TB) [][]byte {
	ice := iceRequest{"RFRAG:LFRAG", 0x6e0001ff, true, 0x0123456789abcdef, true, rfc5769Password}.build(tb)
	resp := stun.MustBuild(stun.BindingSuccess, stun.TransactionID,
		XORMappedAddress(netip.MustParseAddrPort("[2001:db8::1]:9")),
		MappedAddress(netip.MustParseAddrPort("192.0.2.1:9")),
		stun.NewShortTermIntegrity(rfc5769Password), stun.Fingerprint)
	bad := stun.MustBuild(stun.BindingRequest, stun.TransactionID,
		stun.RawAttribute{Type: stun.AttrXORMappedAddress},
		stun.RawAttribute{Type: stun.AttrPriority, Value: []byte{1}},
		stun.RawAttribute{Type: stun.AttrMessageIntegrity, Value: []byte{1, 2, 3}},
		stun.RawAttribute{Type: stun.AttrFingerprint})
	nom := stun.MustBuild(stun.BindingRequest, stun.TransactionID, UseCandidate{}, Nomination(7),
		stun.RawAttribute{Type: AttrNomination, Value: []byte{0xff, 1, 2}},
		stun.NewShortTermIntegrity(rfc5769Password), stun.Fingerprint)
	return [][]byte{
		rfc5769Request, rfc5769IPv4Response, rfc5769IPv6Response, rfc5769LongTermRequest,
		ice.Raw, resp.Raw, bad.Raw, nom.Raw, turnSeed(tb).Raw,
		rfc5769Request[:HeaderSize], {0x80, 0x60, 0, 0}, {},
	}
}

// withCookie returns data, or for half of the inputs a copy with the magic
// cookie put in: fuzzers rarely guess it. The fuzz engine's input must not
// be modified.
func withCookie(data []byte) []byte {
	if len(data) < 8 || data[len(data)-1]&1 != 0 {
		return data
	}
	data = append([]byte(nil), data...)
	binary.BigEndian.PutUint32(data[4:8], MagicCookie)
	return data
}

// FuzzDecodeICE decodes arbitrary bytes with pion and runs every getter
// and check of this package on the result. None may panic, and every value
// a getter returns must survive a round trip through its setter.
func FuzzDecodeICE(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	reused := new(stun.Message)
	key := []byte(rfc5769Password)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = withCookie(data)
		// Once into a reused message, whose Raw has spare capacity, and
		// once into an exactly sized one, where reading past a value
		// panics instead of returning padding bytes.
		exact := &stun.Message{Raw: append([]byte(nil), data...)}
		exact.Raw = exact.Raw[:len(data):len(data)]
		for _, m := range []*stun.Message{reused, exact} {
			var err error
			if m == reused {
				err = stun.Decode(data, m)
			} else {
				err = m.Decode()
			}
			if err != nil {
				continue
			}
			if IsSTUN(data) && HeaderSize+int(m.Length) != len(data) {
				t.Fatalf("IsSTUN but Length %d for %d bytes", m.Length, len(data))
			}
			checkGetters(t, m, key)
		}
	})
}

func checkGetters(t *testing.T, m *stun.Message, key []byte) {
	raw := string(m.Raw)
	var (
		p    Priority
		cing ICEControlling
		ced  ICEControlled
		x    XORMappedAddress
		a    MappedAddress
		nom  Nomination
	)
	if nom.GetFrom(m) == nil {
		var n2 Nomination
		if nom > MaxNomination || n2.GetFrom(stun.MustBuild(stun.BindingRequest, nom)) != nil || n2 != nom {
			t.Fatalf("NOMINATION %d does not round-trip: %d", nom, n2)
		}
	}
	if p.GetFrom(m) == nil {
		var p2 Priority
		if p2.GetFrom(stun.MustBuild(stun.BindingRequest, p)) != nil || p2 != p {
			t.Fatalf("PRIORITY %d does not round-trip: %d", p, p2)
		}
	}
	if cing.GetFrom(m) == nil {
		var c2 ICEControlling
		if c2.GetFrom(stun.MustBuild(stun.BindingRequest, cing)) != nil || c2 != cing {
			t.Fatalf("ICE-CONTROLLING %d does not round-trip: %d", cing, c2)
		}
	}
	if ced.GetFrom(m) == nil {
		var c2 ICEControlled
		if c2.GetFrom(stun.MustBuild(stun.BindingRequest, ced)) != nil || c2 != ced {
			t.Fatalf("ICE-CONTROLLED %d does not round-trip: %d", ced, c2)
		}
	}
	if x.GetFrom(m) == nil {
		var x2 XORMappedAddress
		f := stun.MustBuild(stun.BindingSuccess, stun.NewTransactionIDSetter(m.TransactionID), x)
		if x2.GetFrom(f) != nil || x2 != x {
			t.Fatalf("XOR-MAPPED-ADDRESS %v does not round-trip: %v", netip.AddrPort(x), netip.AddrPort(x2))
		}
	}
	if a.GetFrom(m) == nil {
		var a2 MappedAddress
		if a2.GetFrom(stun.MustBuild(stun.BindingSuccess, a)) != nil || a2 != a {
			t.Fatalf("MAPPED-ADDRESS %v does not round-trip: %v", netip.AddrPort(a), netip.AddrPort(a2))
		}
	}
	checkTURNGetters(t, m)
	ucErr := UseCandidate{}.GetFrom(m)
	if ucErr == nil && !HasUseCandidate(m) {
		t.Fatal("UseCandidate.GetFrom succeeds but HasUseCandidate is false")
	}
	if errors.Is(ucErr, stun.ErrAttributeNotFound) && HasUseCandidate(m) {
		t.Fatal("UseCandidate.GetFrom finds nothing but HasUseCandidate is true")
	}

	fpErr := CheckFingerprint(m)
	if fpErr == nil {
		if err := stun.Fingerprint.Check(m); err != nil {
			t.Fatalf("CheckFingerprint passes but pion's check fails: %v", err)
		}
	}
	_ = CheckIntegrity(m, key)
	_ = CheckIntegrity(m, nil)
	if string(m.Raw) != raw {
		t.Fatal("checks modified m.Raw")
	}
}

// FuzzIsSTUN compares IsSTUN with a plainer restatement of RFC 7983 §7 and
// RFC 5389 §6, and checks that pion accepts the header of every datagram
// IsSTUN accepts.
func FuzzIsSTUN(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	m := new(stun.Message)
	f.Fuzz(func(t *testing.T, data []byte) {
		data = withCookie(data)
		want := false
		if len(data) >= 20 {
			length := int(data[2])<<8 | int(data[3])
			want = data[0] <= 3 &&
				stun.IsMessage(data) &&
				length%4 == 0 &&
				length == len(data)-20
		}
		got := IsSTUN(data)
		if got != want {
			t.Fatalf("IsSTUN(%x) = %v, want %v", data, got, want)
		}
		if !got {
			return
		}
		err := stun.Decode(data, m)
		if errors.Is(err, stun.ErrUnexpectedHeaderEOF) {
			t.Fatalf("IsSTUN but pion finds no header: %v", err)
		}
		var de *stun.DecodeErr
		if errors.As(err, &de) && !(de.IsPlaceParent("attribute") && (de.IsPlaceChildren("header") || de.IsPlaceChildren("value"))) {
			t.Fatalf("IsSTUN but pion rejects the header: %v", err)
		}
	})
}
