// SPDX-License-Identifier: MIT

package stunx

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/pion/stun"
)

// iceRequest is what an ICE connectivity check (RFC 8445 §7.1) carries.
type iceRequest struct {
	username     string
	priority     Priority
	controlling  bool
	tieBreaker   uint64
	useCandidate bool
	password     string
}

func (r iceRequest) build(t testing.TB) *stun.Message {
	t.Helper()
	setters := []stun.Setter{
		stun.BindingRequest,
		stun.TransactionID,
		stun.NewUsername(r.username),
		r.priority,
	}
	if r.controlling {
		setters = append(setters, ICEControlling(r.tieBreaker))
	} else {
		setters = append(setters, ICEControlled(r.tieBreaker))
	}
	if r.useCandidate {
		setters = append(setters, UseCandidate{})
	}
	setters = append(setters, stun.NewShortTermIntegrity(r.password), stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return m
}

func TestICEAttributesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		req  iceRequest
	}{
		{"controlling with USE-CANDIDATE", iceRequest{"RFRAG:LFRAG", 0x6e0001ff, true, 0x0123456789abcdef, true, "pass"}},
		{"controlling without USE-CANDIDATE", iceRequest{"a:b", 1, true, 0, false, "pass"}},
		{"controlled", iceRequest{"a:b", 0xffffffff, false, 0xffffffffffffffff, false, "a longer password of 32 bytes!!"}},
		{"controlled with odd-length username", iceRequest{"abc:de", 0, false, 42, false, "p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := tt.req.build(t)
			if !IsSTUN(sent.Raw) {
				t.Fatal("IsSTUN(built message) = false")
			}

			m := new(stun.Message)
			if err := stun.Decode(sent.Raw, m); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if m.Type != stun.BindingRequest || m.TransactionID != sent.TransactionID {
				t.Errorf("header = %v %x, want %v %x", m.Type, m.TransactionID, stun.BindingRequest, sent.TransactionID)
			}
			if err := CheckFingerprint(m); err != nil {
				t.Errorf("CheckFingerprint: %v", err)
			}
			if err := CheckIntegrity(m, []byte(tt.req.password)); err != nil {
				t.Errorf("CheckIntegrity: %v", err)
			}
			wantText(t, m, stun.AttrUsername, tt.req.username)

			var p Priority
			if err := p.GetFrom(m); err != nil || p != tt.req.priority {
				t.Errorf("PRIORITY = %d, %v; want %d", p, err, tt.req.priority)
			}
			var cing ICEControlling
			var ced ICEControlled
			errCing, errCed := cing.GetFrom(m), ced.GetFrom(m)
			if tt.req.controlling {
				if errCing != nil || uint64(cing) != tt.req.tieBreaker {
					t.Errorf("ICE-CONTROLLING = %#x, %v; want %#x", uint64(cing), errCing, tt.req.tieBreaker)
				}
				if !errors.Is(errCed, stun.ErrAttributeNotFound) {
					t.Errorf("ICE-CONTROLLED: err = %v, want ErrAttributeNotFound", errCed)
				}
			} else {
				if errCed != nil || uint64(ced) != tt.req.tieBreaker {
					t.Errorf("ICE-CONTROLLED = %#x, %v; want %#x", uint64(ced), errCed, tt.req.tieBreaker)
				}
				if !errors.Is(errCing, stun.ErrAttributeNotFound) {
					t.Errorf("ICE-CONTROLLING: err = %v, want ErrAttributeNotFound", errCing)
				}
			}
			if got := HasUseCandidate(m); got != tt.req.useCandidate {
				t.Errorf("HasUseCandidate = %v, want %v", got, tt.req.useCandidate)
			}
			err := UseCandidate{}.GetFrom(m)
			if tt.req.useCandidate && err != nil {
				t.Errorf("UseCandidate.GetFrom: %v", err)
			}
			if !tt.req.useCandidate && !errors.Is(err, stun.ErrAttributeNotFound) {
				t.Errorf("UseCandidate.GetFrom: err = %v, want ErrAttributeNotFound", err)
			}

			// Parse accepts the getters too.
			if err := m.Parse(&p); err != nil {
				t.Errorf("Parse(&Priority): %v", err)
			}
		})
	}
}

func TestAddressRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   netip.AddrPort
		want netip.AddrPort
	}{
		{"IPv4", netip.MustParseAddrPort("192.0.2.1:32853"), netip.MustParseAddrPort("192.0.2.1:32853")},
		{"IPv4 port 0", netip.MustParseAddrPort("10.0.0.1:0"), netip.MustParseAddrPort("10.0.0.1:0")},
		{"IPv4 port 65535", netip.MustParseAddrPort("255.255.255.255:65535"), netip.MustParseAddrPort("255.255.255.255:65535")},
		{"IPv6", netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853"), netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853")},
		{"IPv4-mapped IPv6 is sent as IPv4", netip.MustParseAddrPort("[::ffff:192.0.2.7]:9"), netip.MustParseAddrPort("192.0.2.7:9")},
		{"zone is dropped", netip.MustParseAddrPort("[fe80::1%eth0]:5000"), netip.MustParseAddrPort("[fe80::1]:5000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := stun.MustBuild(stun.BindingSuccess, stun.TransactionID)
			if err := XORMappedAddress(tt.in).AddTo(m); err != nil {
				t.Fatalf("XORMappedAddress.AddTo: %v", err)
			}
			if err := MappedAddress(tt.in).AddTo(m); err != nil {
				t.Fatalf("MappedAddress.AddTo: %v", err)
			}
			d := new(stun.Message)
			if err := stun.Decode(m.Raw, d); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var x XORMappedAddress
			if err := x.GetFrom(d); err != nil || netip.AddrPort(x) != tt.want {
				t.Errorf("XOR-MAPPED-ADDRESS = %v, %v; want %v", netip.AddrPort(x), err, tt.want)
			}
			var a MappedAddress
			if err := a.GetFrom(d); err != nil || netip.AddrPort(a) != tt.want {
				t.Errorf("MAPPED-ADDRESS = %v, %v; want %v", netip.AddrPort(a), err, tt.want)
			}
			// pion decodes what we encode.
			var px stun.XORMappedAddress
			if err := px.GetFrom(d); err != nil || px.Port != int(tt.want.Port()) {
				t.Errorf("pion XOR-MAPPED-ADDRESS = %v, %v; want %v", px, err, tt.want)
			}
			if ip, _ := netip.AddrFromSlice(px.IP); ip.Unmap() != tt.want.Addr() {
				t.Errorf("pion XOR-MAPPED-ADDRESS IP = %v, want %v", px.IP, tt.want.Addr())
			}
		})
	}

	t.Run("zero address", func(t *testing.T) {
		m := stun.MustBuild(stun.BindingSuccess, stun.TransactionID)
		if err := (XORMappedAddress{}).AddTo(m); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("XORMappedAddress{}.AddTo: err = %v, want ErrInvalidAddress", err)
		}
		if err := (MappedAddress{}).AddTo(m); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("MappedAddress{}.AddTo: err = %v, want ErrInvalidAddress", err)
		}
		if len(m.Attributes) != 0 {
			t.Errorf("failed AddTo left %d attributes", len(m.Attributes))
		}
	})
}

// withAttr returns a decoded message holding one attribute t = v.
func withAttr(t testing.TB, typ stun.AttrType, v []byte) *stun.Message {
	t.Helper()
	m := stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.RawAttribute{Type: typ, Value: v})
	d := new(stun.Message)
	if err := stun.Decode(m.Raw, d); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return d
}

func TestGetFromErrors(t *testing.T) {
	var (
		p    Priority
		cing ICEControlling
		ced  ICEControlled
		x    XORMappedAddress
		a    MappedAddress
	)
	tests := []struct {
		name   string
		getter stun.Getter
		attr   stun.AttrType
		value  []byte // nil: the attribute is absent
		want   error
		size   *AttrSizeError // non-nil: the *AttrSizeError expected
	}{
		{"PRIORITY absent", &p, stun.AttrPriority, nil, stun.ErrAttributeNotFound, nil},
		{"PRIORITY empty", &p, stun.AttrPriority, []byte{}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrPriority, 0, 4}},
		{"PRIORITY 3 bytes", &p, stun.AttrPriority, []byte{1, 2, 3}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrPriority, 3, 4}},
		{"PRIORITY 8 bytes", &p, stun.AttrPriority, make([]byte, 8), stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrPriority, 8, 4}},
		{"USE-CANDIDATE absent", UseCandidate{}, stun.AttrUseCandidate, nil, stun.ErrAttributeNotFound, nil},
		{"USE-CANDIDATE not empty", UseCandidate{}, stun.AttrUseCandidate, []byte{0}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrUseCandidate, 1, 0}},
		{"ICE-CONTROLLING absent", &cing, stun.AttrICEControlling, nil, stun.ErrAttributeNotFound, nil},
		{"ICE-CONTROLLING 4 bytes", &cing, stun.AttrICEControlling, make([]byte, 4), stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrICEControlling, 4, 8}},
		{"ICE-CONTROLLING 12 bytes", &cing, stun.AttrICEControlling, make([]byte, 12), stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrICEControlling, 12, 8}},
		{"ICE-CONTROLLED absent", &ced, stun.AttrICEControlled, nil, stun.ErrAttributeNotFound, nil},
		{"ICE-CONTROLLED 7 bytes", &ced, stun.AttrICEControlled, make([]byte, 7), stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrICEControlled, 7, 8}},
		{"XOR-MAPPED-ADDRESS absent", &x, stun.AttrXORMappedAddress, nil, stun.ErrAttributeNotFound, nil},
		{"XOR-MAPPED-ADDRESS 1 byte", &x, stun.AttrXORMappedAddress, []byte{0}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrXORMappedAddress, 1, 8}},
		{"XOR-MAPPED-ADDRESS family 3", &x, stun.AttrXORMappedAddress, []byte{0, 3, 0, 0, 1, 2, 3, 4}, ErrAddressFamily, nil},
		{"XOR-MAPPED-ADDRESS IPv4 truncated", &x, stun.AttrXORMappedAddress, []byte{0, 1, 0, 0, 1, 2}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrXORMappedAddress, 6, 8}},
		{"XOR-MAPPED-ADDRESS IPv6 with IPv4 length", &x, stun.AttrXORMappedAddress, []byte{0, 2, 0, 0, 1, 2, 3, 4}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrXORMappedAddress, 8, 20}},
		{"XOR-MAPPED-ADDRESS IPv4 too long", &x, stun.AttrXORMappedAddress, []byte{0, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrXORMappedAddress, 12, 8}},
		{"MAPPED-ADDRESS family 0", &a, stun.AttrMappedAddress, make([]byte, 8), ErrAddressFamily, nil},
		{"MAPPED-ADDRESS IPv4 with IPv6 length", &a, stun.AttrMappedAddress, append([]byte{0, 1, 0, 0}, make([]byte, 16)...), stun.ErrAttributeSizeInvalid, &AttrSizeError{stun.AttrMappedAddress, 20, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *stun.Message
			if tt.value == nil {
				m = withAttr(t, stun.AttrSoftware, []byte("x"))
			} else {
				m = withAttr(t, tt.attr, tt.value)
			}
			err := tt.getter.GetFrom(m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.size != nil {
				var se *AttrSizeError
				if !errors.As(err, &se) || *se != *tt.size {
					t.Errorf("err = %#v, want %#v", err, tt.size)
				}
				if !stun.IsAttrSizeInvalid(err) {
					t.Error("stun.IsAttrSizeInvalid(err) = false")
				}
			}
		})
	}
}

func TestFirstOccurrenceWins(t *testing.T) {
	m := stun.MustBuild(stun.BindingRequest, stun.TransactionID, Priority(1), Priority(2))
	var p Priority
	if err := p.GetFrom(m); err != nil || p != 1 {
		t.Errorf("PRIORITY = %d, %v; want 1 (the first one)", p, err)
	}
}

func TestAttrSizeErrorMessage(t *testing.T) {
	err := error(&AttrSizeError{Type: stun.AttrPriority, Got: 3, Want: 4})
	const want = "stunx: PRIORITY attribute value is 3 bytes, want 4"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestSettersGettersDoNotAllocate(t *testing.T) {
	m := stun.New()
	m.Raw = make([]byte, 0, 512)
	ap := netip.MustParseAddrPort("[2001:db8::1]:3478")
	build := func() {
		m.Reset()
		m.Type = stun.BindingRequest
		m.WriteHeader()
		_ = Priority(7).AddTo(m)
		_ = ICEControlling(8).AddTo(m)
		_ = ICEControlled(9).AddTo(m)
		_ = UseCandidate{}.AddTo(m)
		_ = XORMappedAddress(ap).AddTo(m)
		_ = MappedAddress(ap).AddTo(m)
	}
	build()
	if err := stun.Fingerprint.AddTo(m); err != nil {
		t.Fatal(err)
	}
	var (
		p    Priority
		cing ICEControlling
		ced  ICEControlled
		x    XORMappedAddress
		a    MappedAddress
	)
	tests := []struct {
		name string
		f    func()
	}{
		{"setters", build},
		{"getters", func() {
			build()
			if p.GetFrom(m) != nil || cing.GetFrom(m) != nil || ced.GetFrom(m) != nil ||
				(UseCandidate{}).GetFrom(m) != nil || !HasUseCandidate(m) ||
				x.GetFrom(m) != nil || a.GetFrom(m) != nil {
				panic("getter failed")
			}
		}},
		{"CheckFingerprint", func() {
			build()
			_ = stun.Fingerprint.AddTo(m)
			if err := CheckFingerprint(m); err != nil {
				panic(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
}
