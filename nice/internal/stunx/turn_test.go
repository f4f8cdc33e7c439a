// SPDX-License-Identifier: MIT

package stunx

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun"
)

// turnSeed is an Allocate success response with every TURN attribute.
func turnSeed(tb testing.TB) *stun.Message {
	tb.Helper()
	m, err := stun.Build(stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse), stun.TransactionID,
		XORRelayedAddress(netip.MustParseAddrPort("192.0.2.7:49152")),
		XORPeerAddress(netip.MustParseAddrPort("[2001:db8::9]:5000")),
		XORMappedAddress(netip.MustParseAddrPort("198.51.100.1:3000")),
		Lifetime(600*time.Second), ProtoUDP, ChannelNumber(0x4001),
		stun.RawAttribute{Type: stun.AttrData, Value: []byte("hello")})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestTURNAttributesRoundTrip(t *testing.T) {
	m := turnSeed(t)
	var (
		r  XORRelayedAddress
		p  XORPeerAddress
		l  Lifetime
		tr RequestedTransport
		c  ChannelNumber
	)
	for _, g := range []stun.Getter{&r, &p, &l, &tr, &c} {
		if err := g.GetFrom(m); err != nil {
			t.Fatalf("%T: %v", g, err)
		}
	}
	if netip.AddrPort(r) != netip.MustParseAddrPort("192.0.2.7:49152") || netip.AddrPort(p) != netip.MustParseAddrPort("[2001:db8::9]:5000") {
		t.Errorf("addresses %v %v", netip.AddrPort(r), netip.AddrPort(p))
	}
	if time.Duration(l) != 600*time.Second || tr != ProtoUDP || c != 0x4001 {
		t.Errorf("lifetime %v transport %d channel %#x", time.Duration(l), tr, c)
	}
	if d, err := Data(m); err != nil || string(d) != "hello" {
		t.Errorf("DATA %q %v", d, err)
	}
	// LIFETIME truncates to seconds and clamps negatives to 0.
	for _, tc := range []struct{ in, want time.Duration }{{1500 * time.Millisecond, time.Second}, {-time.Second, 0}, {0, 0}} {
		var got Lifetime
		if err := got.GetFrom(stun.MustBuild(stun.BindingRequest, Lifetime(tc.in))); err != nil || time.Duration(got) != tc.want {
			t.Errorf("Lifetime(%v) → %v, %v; want %v", tc.in, time.Duration(got), err, tc.want)
		}
	}
}

func TestTURNGetFromErrors(t *testing.T) {
	empty := stun.MustBuild(stun.BindingRequest)
	var (
		l  Lifetime
		tr RequestedTransport
		c  ChannelNumber
		p  XORPeerAddress
		r  XORRelayedAddress
	)
	for _, g := range []stun.Getter{&l, &tr, &c, &p, &r} {
		if err := g.GetFrom(empty); !errors.Is(err, stun.ErrAttributeNotFound) {
			t.Errorf("%T on an empty message: %v", g, err)
		}
	}
	if _, err := Data(empty); !errors.Is(err, stun.ErrAttributeNotFound) {
		t.Errorf("Data on an empty message: %v", err)
	}
	for _, tc := range []struct {
		g stun.Getter
		a stun.AttrType
	}{{&l, stun.AttrLifetime}, {&tr, stun.AttrRequestedTransport}, {&c, stun.AttrChannelNumber}} {
		if err := tc.g.GetFrom(withAttr(t, tc.a, []byte{1, 2})); !errors.Is(err, stun.ErrAttributeSizeInvalid) {
			t.Errorf("%T with 2 bytes: %v", tc.g, err)
		}
	}
	if err := c.GetFrom(withAttr(t, stun.AttrChannelNumber, []byte{0x80, 0, 0, 0})); !errors.Is(err, ErrChannelNumber) {
		t.Errorf("channel 0x8000: %v", err)
	}
	if err := ChannelNumber(0x3fff).AddTo(stun.New()); !errors.Is(err, ErrChannelNumber) {
		t.Errorf("AddTo channel 0x3fff: %v", err)
	}
}

func TestChannelData(t *testing.T) {
	for _, pad := range []bool{false, true} {
		for n := range 6 {
			data := bytes.Repeat([]byte{0xAB}, n)
			b := make([]byte, ChannelDataLen(n, pad)+8)
			msg := PutChannelData(b, 0x4005, data, pad)
			if pad && len(msg)%4 != 0 || !pad && len(msg) != 4+n {
				t.Fatalf("pad %v n %d: length %d", pad, n, len(msg))
			}
			if StreamFrameLen(msg) != ChannelDataLen(n, true) {
				t.Errorf("StreamFrameLen %d, want %d", StreamFrameLen(msg), ChannelDataLen(n, true))
			}
			ch, got, ok := ParseChannelData(msg)
			if !ok || ch != 0x4005 || !bytes.Equal(got, data) {
				t.Errorf("pad %v n %d: parsed %#x %x %v", pad, n, ch, got, ok)
			}
		}
	}
	for _, bad := range [][]byte{nil, {0x40, 0}, {0x40, 0, 0, 5, 1}, {0x80, 0, 0, 0}, {0x00, 1, 0, 0}} {
		if _, _, ok := ParseChannelData(bad); ok {
			t.Errorf("ParseChannelData(%x) ok", bad)
		}
	}
	if n := StreamFrameLen(turnSeed(t).Raw); n != len(turnSeed(t).Raw) {
		t.Errorf("StreamFrameLen of a STUN message %d", n)
	}
	if StreamFrameLen([]byte{0x80, 0, 0, 0}) != 0 || StreamFrameLen([]byte{0}) != 0 {
		t.Error("StreamFrameLen of RTP or a short buffer is not 0")
	}
}

func TestTURNDoesNotAllocate(t *testing.T) {
	m := turnSeed(t)
	b := make([]byte, 2048)
	data := make([]byte, 1200)
	var p XORPeerAddress
	if n := testing.AllocsPerRun(100, func() {
		_ = p.GetFrom(m)
		_, _ = Data(m)
		msg := PutChannelData(b, 0x4000, data, true)
		_, _, _ = ParseChannelData(msg)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
}

// checkTURNGetters is checkGetters' part for the TURN attributes: whatever
// a getter accepts survives its setter.
func checkTURNGetters(t *testing.T, m *stun.Message) {
	var (
		p  XORPeerAddress
		r  XORRelayedAddress
		l  Lifetime
		tr RequestedTransport
		c  ChannelNumber
	)
	id := stun.NewTransactionIDSetter(m.TransactionID)
	if p.GetFrom(m) == nil {
		var p2 XORPeerAddress
		if p2.GetFrom(stun.MustBuild(stun.BindingRequest, id, p)) != nil || p2 != p {
			t.Fatalf("XOR-PEER-ADDRESS %v does not round-trip", netip.AddrPort(p))
		}
	}
	if r.GetFrom(m) == nil {
		var r2 XORRelayedAddress
		if r2.GetFrom(stun.MustBuild(stun.BindingRequest, id, r)) != nil || r2 != r {
			t.Fatalf("XOR-RELAYED-ADDRESS %v does not round-trip", netip.AddrPort(r))
		}
	}
	if l.GetFrom(m) == nil {
		var l2 Lifetime
		if l2.GetFrom(stun.MustBuild(stun.BindingRequest, l)) != nil || l2 != l {
			t.Fatalf("LIFETIME %v does not round-trip", time.Duration(l))
		}
	}
	if tr.GetFrom(m) == nil {
		var tr2 RequestedTransport
		if tr2.GetFrom(stun.MustBuild(stun.BindingRequest, tr)) != nil || tr2 != tr {
			t.Fatalf("REQUESTED-TRANSPORT %d does not round-trip", tr)
		}
	}
	if c.GetFrom(m) == nil {
		var c2 ChannelNumber
		if c2.GetFrom(stun.MustBuild(stun.BindingRequest, c)) != nil || c2 != c {
			t.Fatalf("CHANNEL-NUMBER %#x does not round-trip", c)
		}
	}
	_, _ = Data(m)
}

// FuzzChannelData: ParseChannelData never reads past b, and what it
// accepts reframes to the same header and data.
func FuzzChannelData(f *testing.F) {
	f.Add([]byte{0x40, 0x01, 0x00, 0x02, 0xAA, 0xBB, 0, 0})
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff})
	f.Add(turnSeed(f).Raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, data, ok := ParseChannelData(b)
		if n := StreamFrameLen(b); n != 0 && n < 4 {
			t.Fatalf("StreamFrameLen %d", n)
		}
		if !ok {
			return
		}
		out := PutChannelData(make([]byte, ChannelDataLen(len(data), false)), ch, data, false)
		if !bytes.Equal(out, b[:len(out)]) {
			t.Fatalf("reframed %x, want a prefix of %x", out, b)
		}
	})
}
