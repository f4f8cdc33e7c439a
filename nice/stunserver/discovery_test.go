// SPDX-License-Identifier: MIT

package stunserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// testAddrs are the four sockets of the discovery server of the handler
// tests, indexed like discovery.addrs.
var testAddrs = [numSockets]netip.AddrPort{
	netip.MustParseAddrPort("198.51.100.1:3478"),
	netip.MustParseAddrPort("198.51.100.1:3479"),
	netip.MustParseAddrPort("198.51.100.2:3478"),
	netip.MustParseAddrPort("198.51.100.2:3479"),
}

// changeRequest returns a CHANGE-REQUEST attribute with the given flags.
func changeRequest(flags byte) stun.RawAttribute {
	return raw(stun.AttrChangeRequest, 0, 0, 0, flags)
}

// addrValue returns the MAPPED-ADDRESS format value of ap.
func addrValue(ap netip.AddrPort) []byte {
	var m stun.Message
	addAddress(&m, stun.AttrMappedAddress, ap)
	return m.Attributes[0].Value
}

// getAddress decodes the attribute t of m, in MAPPED-ADDRESS format.
func getAddress(tb testing.TB, m *stun.Message, t stun.AttrType) (netip.AddrPort, bool) {
	tb.Helper()
	v, err := m.Get(t)
	if err != nil {
		return netip.AddrPort{}, false
	}
	view := stun.Message{Attributes: stun.Attributes{{Type: stun.AttrMappedAddress, Length: uint16(len(v)), Value: v}}}
	var a stunx.MappedAddress
	if err := a.GetFrom(&view); err != nil {
		tb.Errorf("%v: %v", t, err)
		return netip.AddrPort{}, false
	}
	return netip.AddrPort(a), true
}

// discoWant is the expected outcome of a request to a discovery server.
type discoWant struct {
	code    int            // ERROR-CODE of an error response; 0 for success
	unknown []byte         // UNKNOWN-ATTRIBUTES of a 420
	via     int            // index of the answering socket
	to      netip.AddrPort // destination; zero means the peer
	padding int            // PADDING length; -1 for none
	classic bool           // RFC 3489 request and response
	refl    bool           // REFLECTED-FROM expected
}

// checkDiscovery checks the response res to req, sent by a handler for
// socket self to peer along r, against w.
func checkDiscovery(t *testing.T, req, res []byte, r route, self int, peer netip.AddrPort, w discoWant) {
	t.Helper()
	if !bytes.Equal(res[4:20], req[4:20]) {
		t.Errorf("transaction ID = %x, want %x", res[4:20], req[4:20])
	}
	m := decodeResponse(t, res, w.classic)
	wantTo := w.to
	if !wantTo.IsValid() {
		wantTo = peer
	}
	if r.to != wantTo || r.via != w.via {
		t.Errorf("response to %v via %s, want to %v via %s", r.to, sockNames[r.via], wantTo, sockNames[w.via])
	}
	if w.code != 0 {
		var ec stun.ErrorCodeAttribute
		if err := ec.GetFrom(m); err != nil || int(ec.Code) != w.code || m.Type.Class != stun.ClassErrorResponse {
			t.Fatalf("%v with ERROR-CODE %v, %v; want an error response %d", m.Type, ec, err, w.code)
		}
		if w.classic && len(ec.Reason)%4 != 0 {
			t.Errorf("RFC 3489 reason phrase %q is not a multiple of 4 bytes long", ec.Reason)
		}
		if v, _ := m.Get(stun.AttrUnknownAttributes); !bytes.Equal(v, w.unknown) {
			t.Errorf("UNKNOWN-ATTRIBUTES = %x, want %x", v, w.unknown)
		}
		return
	}
	if m.Type != stun.BindingSuccess {
		t.Fatalf("response type %v, want a Binding success response", m.Type)
	}
	other := testAddrs[self^3]
	origin := testAddrs[w.via]
	check := func(name string, typ stun.AttrType, want netip.AddrPort) {
		t.Helper()
		got, ok := getAddress(t, m, typ)
		switch {
		case !want.IsValid() && ok:
			t.Errorf("unexpected %s %v", name, got)
		case want.IsValid() && got != want:
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	var x stunx.XORMappedAddress
	errX := x.GetFrom(m)
	check("MAPPED-ADDRESS", stun.AttrMappedAddress, peer)
	if w.classic {
		if errX == nil {
			t.Error("RFC 3489 response has XOR-MAPPED-ADDRESS")
		}
		check("SOURCE-ADDRESS", stun.AttrSourceAddress, origin)
		check("CHANGED-ADDRESS", stun.AttrChangedAddress, other)
		check("RESPONSE-ORIGIN", stun.AttrResponseOrigin, netip.AddrPort{})
		check("OTHER-ADDRESS", stun.AttrOtherAddress, netip.AddrPort{})
		refl := netip.AddrPort{}
		if w.refl {
			refl = peer
		}
		check("REFLECTED-FROM", attrReflectedFrom, refl)
	} else {
		if errX != nil || netip.AddrPort(x) != peer {
			t.Errorf("XOR-MAPPED-ADDRESS = %v, %v; want %v", netip.AddrPort(x), errX, peer)
		}
		check("RESPONSE-ORIGIN", stun.AttrResponseOrigin, origin)
		check("OTHER-ADDRESS", stun.AttrOtherAddress, other)
		check("SOURCE-ADDRESS", stun.AttrSourceAddress, netip.AddrPort{})
		check("CHANGED-ADDRESS", stun.AttrChangedAddress, netip.AddrPort{})
	}
	v, err := m.Get(stun.AttrPadding)
	switch {
	case w.padding < 0 && err == nil:
		t.Errorf("unexpected PADDING of %d bytes", len(v))
	case w.padding >= 0 && (err != nil || len(v) != w.padding):
		t.Errorf("PADDING of %d bytes (%v), want %d", len(v), err, w.padding)
	}
	if v, err := m.Get(stun.AttrSoftware); err != nil || string(v) != testSoftware {
		t.Errorf("SOFTWARE = %q, %v; want %q", v, err, testSoftware)
	}
}

func TestDiscoveryHandle(t *testing.T) {
	other6 := netip.MustParseAddrPort("[2001:db8::7]:4000")
	elsewhere := netip.MustParseAddrPort("192.0.2.99:4000")
	tests := []struct {
		name     string
		self     int
		req      []byte
		respAddr bool // BehaviorConfig.ResponseAddress
		want     discoWant
	}{
		{name: "plain binding", self: sockA1P1, req: request(t, stun.BindingRequest),
			want: discoWant{via: sockA1P1, padding: -1}},
		{name: "plain binding on A2:P2", self: sockA2P2, req: request(t, stun.BindingRequest, stun.Fingerprint),
			want: discoWant{via: sockA2P2, padding: -1}},
		{name: "no flags", self: sockA1P1, req: request(t, stun.BindingRequest, changeRequest(0)),
			want: discoWant{via: sockA1P1, padding: -1}},
		{name: "change IP", self: sockA1P1, req: request(t, stun.BindingRequest, changeRequest(flagChangeIP)),
			want: discoWant{via: sockA2P1, padding: -1}},
		{name: "change port", self: sockA1P1, req: request(t, stun.BindingRequest, changeRequest(flagChangePort)),
			want: discoWant{via: sockA1P2, padding: -1}},
		{name: "change IP and port", self: sockA1P1, req: request(t, stun.BindingRequest, changeRequest(flagChangeIP|flagChangePort)),
			want: discoWant{via: sockA2P2, padding: -1}},
		{name: "change IP and port from A2:P2", self: sockA2P2, req: request(t, stun.BindingRequest, changeRequest(flagChangeIP|flagChangePort)),
			want: discoWant{via: sockA1P1, padding: -1}},
		{name: "change port from A2:P1", self: sockA2P1, req: request(t, stun.BindingRequest, changeRequest(flagChangePort)),
			want: discoWant{via: sockA2P2, padding: -1}},
		{name: "unused flag bits ignored", self: sockA1P2, req: request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0xff, 0xff, 0xff, 0xf9)),
			want: discoWant{via: sockA1P2, padding: -1}},
		{name: "first CHANGE-REQUEST counts", self: sockA1P1, req: request(t, stun.BindingRequest, changeRequest(flagChangePort), changeRequest(flagChangeIP)),
			want: discoWant{via: sockA1P2, padding: -1}},
		{name: "short CHANGE-REQUEST", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 6)),
			want: discoWant{code: 400, via: sockA1P1}},
		{name: "RESPONSE-PORT", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrResponsePort, 0x10, 0x00, 0, 0), changeRequest(flagChangePort)),
			want: discoWant{via: sockA1P2, to: netip.AddrPortFrom(peer4.Addr(), 0x1000), padding: -1}},
		{name: "RESPONSE-PORT 0", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrResponsePort, 0, 0, 0, 0)),
			want: discoWant{code: 400, via: sockA1P1}},
		{name: "short RESPONSE-PORT", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrResponsePort, 0x10, 0x00)),
			want: discoWant{code: 400, via: sockA1P1}},
		{name: "PADDING", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrPadding, make([]byte, 101)...), changeRequest(flagChangeIP)),
			want: discoWant{via: sockA2P1, padding: 104}},
		{name: "empty PADDING", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrPadding)),
			want: discoWant{via: sockA1P1, padding: 0}},
		{name: "RESPONSE-PORT with PADDING", self: sockA1P1, req: request(t, stun.BindingRequest, raw(stun.AttrPadding, 1, 2, 3, 4), raw(stun.AttrResponsePort, 0x10, 0x00, 0, 0)),
			want: discoWant{code: 400, via: sockA1P1}},
		{name: "RESPONSE-ADDRESS is RFC 3489 only", self: sockA1P1, respAddr: true, req: request(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(elsewhere)...)),
			want: discoWant{code: 420, unknown: []byte{0x00, 0x02}, via: sockA1P1}},
		{name: "unknown attribute beside CHANGE-REQUEST", self: sockA1P1, req: request(t, stun.BindingRequest, changeRequest(flagChangeIP), raw(0x7ffe, 1, 2, 3, 4)),
			want: discoWant{code: 420, unknown: []byte{0x7f, 0xfe}, via: sockA1P1}},
		{name: "other method", self: sockA2P1, req: request(t, stun.NewType(stun.MethodAllocate, stun.ClassRequest), changeRequest(flagChangeIP)),
			want: discoWant{code: 400, via: sockA2P1}},

		{name: "RFC 3489 test I", self: sockA1P1, req: classicRequest(t, stun.BindingRequest, changeRequest(0)),
			want: discoWant{via: sockA1P1, padding: -1, classic: true}},
		{name: "RFC 3489 test II", self: sockA1P1, req: classicRequest(t, stun.BindingRequest, changeRequest(flagChangeIP|flagChangePort)),
			want: discoWant{via: sockA2P2, padding: -1, classic: true}},
		{name: "RFC 3489 change IP only", self: sockA1P1, req: classicRequest(t, stun.BindingRequest, changeRequest(flagChangeIP)),
			want: discoWant{via: sockA2P1, padding: -1, classic: true}},
		{name: "RFC 3489 test III", self: sockA1P1, req: classicRequest(t, stun.BindingRequest, changeRequest(flagChangePort)),
			want: discoWant{via: sockA1P2, padding: -1, classic: true}},
		{name: "RFC 3489 test I at CHANGED-ADDRESS", self: sockA2P2, req: classicRequest(t, stun.BindingRequest, changeRequest(0)),
			want: discoWant{via: sockA2P2, padding: -1, classic: true}},
		{name: "RFC 3489 RESPONSE-ADDRESS refused by default", self: sockA1P1, req: classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(elsewhere)...)),
			want: discoWant{code: 420, unknown: []byte{0x00, 0x02, 0x00, 0x02}, via: sockA1P1, classic: true}},
		{name: "RFC 3489 RESPONSE-ADDRESS when enabled", self: sockA1P1, respAddr: true, req: classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(elsewhere)...), changeRequest(flagChangePort)),
			want: discoWant{via: sockA1P2, to: elsewhere, padding: -1, classic: true, refl: true}},
		{name: "RFC 3489 RESPONSE-ADDRESS of another family", self: sockA1P1, respAddr: true, req: classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(other6)...)),
			want: discoWant{code: 400, via: sockA1P1, classic: true}},
		{name: "RFC 3489 multicast RESPONSE-ADDRESS", self: sockA1P1, respAddr: true, req: classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(netip.MustParseAddrPort("224.0.0.1:9"))...)),
			want: discoWant{code: 400, via: sockA1P1, classic: true}},
		{name: "RFC 3489 RESPONSE-ADDRESS port 0", self: sockA1P1, respAddr: true, req: classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(netip.MustParseAddrPort("192.0.2.99:0"))...)),
			want: discoWant{code: 400, via: sockA1P1, classic: true}},
		{name: "RFC 3489 short RESPONSE-ADDRESS", self: sockA1P1, respAddr: true, req: classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, 0, 1, 0, 9)),
			want: discoWant{code: 400, via: sockA1P1, classic: true}},
		{name: "RFC 3489 RESPONSE-PORT is unknown", self: sockA1P1, req: classicRequest(t, stun.BindingRequest, raw(stun.AttrResponsePort, 0x10, 0x00, 0, 0)),
			want: discoWant{code: 420, unknown: []byte{0x00, 0x27, 0x00, 0x27}, via: sockA1P1, classic: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &discovery{addrs: testAddrs, responseAddress: tt.respAddr}
			h := newDiscoveryHandler(testSoftware, d, tt.self)
			req := append([]byte(nil), tt.req...)
			res, r, why := h.process(req, peer4)
			if !bytes.Equal(req, tt.req) {
				t.Error("process modified the request")
			}
			if res == nil {
				t.Fatalf("no response: %v", why)
			}
			checkDiscovery(t, tt.req, res, r, tt.self, peer4, tt.want)
		})
	}
}

// TestPlainServerRefusesDiscovery checks RFC 5780 §6 for a server without
// an alternate address: no OTHER-ADDRESS, and a 420 to CHANGE-REQUEST.
func TestPlainServerRefusesDiscovery(t *testing.T) {
	h := newHandler(testSoftware)
	res, _ := h.handle(request(t, stun.BindingRequest), peer4)
	m := decodeResponse(t, res, false)
	for _, a := range []stun.AttrType{stun.AttrOtherAddress, stun.AttrResponseOrigin, stun.AttrChangedAddress, stun.AttrSourceAddress} {
		if m.Contains(a) {
			t.Errorf("plain server's response has %v", a)
		}
	}
	for _, a := range []stun.RawAttribute{changeRequest(0), raw(stun.AttrResponsePort, 1, 0, 0, 0), raw(stun.AttrPadding, 0, 0, 0, 0), raw(attrResponseAddress, addrValue(peer4)...)} {
		req := request(t, stun.BindingRequest, a)
		res, _ := h.handle(req, peer4)
		checkResponse(t, req, res, want{typ: stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), code: 420,
			unknown: binary.BigEndian.AppendUint16(nil, uint16(a.Type))})
	}
}

func TestDiscoveryDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name string
		req  []byte
	}{
		{"binding", request(t, stun.BindingRequest, stun.Fingerprint)},
		{"change IP and port", request(t, stun.BindingRequest, changeRequest(flagChangeIP|flagChangePort), stun.Fingerprint)},
		{"RESPONSE-PORT", request(t, stun.BindingRequest, raw(stun.AttrResponsePort, 0x10, 0x00, 0, 0))},
		{"PADDING", request(t, stun.BindingRequest, raw(stun.AttrPadding, make([]byte, 400)...))},
		{"RFC 3489 test II", classicRequest(t, stun.BindingRequest, changeRequest(flagChangeIP|flagChangePort))},
		{"RFC 3489 RESPONSE-ADDRESS", classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(peer4)...))},
		{"400", request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0))},
	}
	h := newDiscoveryHandler(testSoftware, &discovery{addrs: testAddrs, responseAddress: true}, sockA1P1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.process(tt.req, peer4) // warm up the buffers
			if n := testing.AllocsPerRun(100, func() { h.process(tt.req, peer4) }); n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
		})
	}
}

// startBehavior starts a behaviour discovery server on 127.0.0.1 and
// 127.0.0.2 with free ports and stops it at the end of the test.
func startBehavior(t *testing.T, cfg BehaviorConfig) (*Server, BehaviorAddrs) {
	t.Helper()
	cfg.Primary = netip.MustParseAddr("127.0.0.1")
	cfg.Alternate = netip.MustParseAddr("127.0.0.2")
	s := &Server{Software: testSoftware, Logger: testLogger(t)}
	addrs, err := s.ListenAndServeBehavior(cfg)
	if err != nil {
		t.Fatalf("ListenAndServeBehavior: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoServeLoops(t)
	})
	return s, addrs
}

// receiveFrom reads one datagram from c and checks its source.
func receiveFrom(t *testing.T, c *net.UDPConn, from netip.AddrPort) []byte {
	t.Helper()
	buf := make([]byte, 1500)
	if err := c.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	n, src, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if src != from {
		t.Errorf("response from %v, want %v", src, from)
	}
	return buf[:n]
}

func TestBehaviorUDP(t *testing.T) {
	_, sa := startBehavior(t, BehaviorConfig{})
	all := [numSockets]netip.AddrPort{sa.A1P1, sa.A1P2, sa.A2P1, sa.A2P2}
	if sa.A1P1.Port() != sa.A2P1.Port() || sa.A1P2.Port() != sa.A2P2.Port() || sa.A1P1.Port() == sa.A1P2.Port() {
		t.Fatalf("ports do not pair up: %+v", sa)
	}
	c := client(t, "udp4")
	me := localAddrPort(c)
	tests := []struct {
		name    string
		to      int
		flags   byte
		from    int
		classic bool
	}{
		{"test I", sockA1P1, 0, sockA1P1, false},
		{"change IP and port", sockA1P1, flagChangeIP | flagChangePort, sockA2P2, false},
		{"change port", sockA1P1, flagChangePort, sockA1P2, false},
		{"change IP", sockA1P1, flagChangeIP, sockA2P1, false},
		{"to the alternate address", sockA2P1, 0, sockA2P1, false},
		{"change port at A2:P2", sockA2P2, flagChangePort, sockA2P1, false},
		{"RFC 3489 test II", sockA1P1, flagChangeIP | flagChangePort, sockA2P2, true},
		{"RFC 3489 test III", sockA1P1, flagChangePort, sockA1P2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req []byte
			if tt.classic {
				req = classicRequest(t, stun.BindingRequest, changeRequest(tt.flags))
			} else {
				req = request(t, stun.BindingRequest, changeRequest(tt.flags))
			}
			if _, err := c.WriteToUDPAddrPort(req, all[tt.to]); err != nil {
				t.Fatal(err)
			}
			res := receiveFrom(t, c, all[tt.from])
			m := decodeResponse(t, res, tt.classic)
			originType, otherType := stun.AttrResponseOrigin, stun.AttrOtherAddress
			if tt.classic {
				originType, otherType = stun.AttrSourceAddress, stun.AttrChangedAddress
			}
			if got, _ := getAddress(t, m, originType); got != all[tt.from] {
				t.Errorf("%v = %v, want %v", originType, got, all[tt.from])
			}
			if got, _ := getAddress(t, m, otherType); got != all[tt.to^3] {
				t.Errorf("%v = %v, want %v", otherType, got, all[tt.to^3])
			}
			if got, _ := getAddress(t, m, stun.AttrMappedAddress); got != me {
				t.Errorf("MAPPED-ADDRESS = %v, want %v", got, me)
			}
		})
	}

	t.Run("RESPONSE-PORT", func(t *testing.T) {
		c2 := client(t, "udp4")
		port := make([]byte, 4)
		binary.BigEndian.PutUint16(port, localAddrPort(c2).Port())
		req := request(t, stun.BindingRequest, raw(stun.AttrResponsePort, port...), changeRequest(flagChangeIP))
		if _, err := c.WriteToUDPAddrPort(req, sa.A1P1); err != nil {
			t.Fatal(err)
		}
		m := decodeResponse(t, receiveFrom(t, c2, sa.A2P1), false)
		if got, _ := getAddress(t, m, stun.AttrMappedAddress); got != me {
			t.Errorf("MAPPED-ADDRESS = %v, want the requester %v", got, me)
		}
	})
}

func TestBehaviorResponseAddressUDP(t *testing.T) {
	_, sa := startBehavior(t, BehaviorConfig{ResponseAddress: true})
	c, target := client(t, "udp4"), client(t, "udp4")
	req := classicRequest(t, stun.BindingRequest, raw(attrResponseAddress, addrValue(localAddrPort(target))...), changeRequest(flagChangePort))
	if _, err := c.WriteToUDPAddrPort(req, sa.A1P1); err != nil {
		t.Fatal(err)
	}
	m := decodeResponse(t, receiveFrom(t, target, sa.A1P2), true)
	if got, _ := getAddress(t, m, attrReflectedFrom); got != localAddrPort(c) {
		t.Errorf("REFLECTED-FROM = %v, want %v", got, localAddrPort(c))
	}
}

func TestListenAndServeBehaviorErrors(t *testing.T) {
	lo1, lo2 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")
	tests := []struct {
		name string
		cfg  BehaviorConfig
		want error // nil: any error
	}{
		{"no alternate", BehaviorConfig{Primary: lo1}, ErrNoAlternate},
		{"same address", BehaviorConfig{Primary: lo1, Alternate: lo1}, ErrNoAlternate},
		{"same address mapped", BehaviorConfig{Primary: lo1, Alternate: netip.MustParseAddr("::ffff:127.0.0.1")}, ErrNoAlternate},
		{"unspecified", BehaviorConfig{Primary: netip.IPv4Unspecified(), Alternate: lo2}, ErrNoAlternate},
		{"families differ", BehaviorConfig{Primary: lo1, Alternate: netip.IPv6Loopback()}, ErrNoAlternate},
		{"same port", BehaviorConfig{Primary: lo1, Alternate: lo2, Port: 40000, AltPort: 40000}, ErrNoAlternate},
		{"address not local", BehaviorConfig{Primary: lo1, Alternate: netip.MustParseAddr("192.0.2.1")}, syscall.EADDRNOTAVAIL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			defer s.Close()
			if _, err := s.ListenAndServeBehavior(tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("ListenAndServeBehavior = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("closed server", func(t *testing.T) {
		var opened []PacketConn
		s := &Server{}
		s.Close()
		_, err := s.ListenAndServeBehavior(BehaviorConfig{Primary: lo1, Alternate: lo2,
			Listen: func(a netip.AddrPort) (PacketConn, error) {
				c, err := listenUDP(a)
				if err == nil {
					opened = append(opened, c)
				}
				return c, err
			}})
		if !errors.Is(err, ErrServerClosed) {
			t.Errorf("ListenAndServeBehavior = %v, want ErrServerClosed", err)
		}
		for _, c := range opened {
			if _, err := c.WriteToUDPAddrPort([]byte{0}, netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("socket %v left open", c.(*net.UDPConn).LocalAddr())
			}
		}
	})
	t.Run("invalid Software", func(t *testing.T) {
		if _, err := (&Server{Software: "\xff"}).ListenAndServeBehavior(BehaviorConfig{Primary: lo1, Alternate: lo2}); err == nil {
			t.Error("ListenAndServeBehavior with invalid Software succeeded")
		}
	})
	checkNoServeLoops(t)
}

// TestBehaviorInMemory serves behaviour discovery on in-memory sockets
// inside a synctest bubble, where leaked goroutines fail the test.
func TestBehaviorInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mn memNet
		s := &Server{Software: testSoftware}
		sa, err := s.ListenAndServeBehavior(BehaviorConfig{
			Primary: testAddrs[0].Addr(), Alternate: testAddrs[2].Addr(),
			Port: testAddrs[0].Port(), AltPort: testAddrs[1].Port(),
			Listen: func(a netip.AddrPort) (PacketConn, error) { return mn.listen(a), nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := [numSockets]netip.AddrPort{sa.A1P1, sa.A1P2, sa.A2P1, sa.A2P2}; got != testAddrs {
			t.Fatalf("addresses %v, want %v", got, testAddrs)
		}
		synctest.Wait()
		c := mn.listen(peer4)
		for _, flags := range []byte{0, flagChangeIP, flagChangePort, flagChangeIP | flagChangePort} {
			req := request(t, stun.BindingRequest, changeRequest(flags))
			if _, err := c.WriteToUDPAddrPort(req, sa.A1P1); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			p := <-c.in
			want := 0
			if flags&flagChangeIP != 0 {
				want |= 2
			}
			if flags&flagChangePort != 0 {
				want |= 1
			}
			if p.from != testAddrs[want] {
				t.Errorf("flags %#x: response from %v, want %v", flags, p.from, testAddrs[want])
			}
			checkDiscovery(t, req, p.b, route{to: peer4, via: want}, sockA1P1, peer4, discoWant{via: want, padding: -1})
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		c.Close()
	})
}
