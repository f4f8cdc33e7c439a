// SPDX-License-Identifier: MIT

package stunserver

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// FuzzServerHandle feeds arbitrary datagrams to the request handler of a
// Serve loop. It must never panic, must not modify its input, and every
// answer must be a well-formed response to the datagram: same transaction
// ID, a response class, a decodable body, and a valid FINGERPRINT exactly
// when the request had one.
func FuzzServerHandle(f *testing.F) {
	seeds := [][]byte{
		request(f, stun.BindingRequest),
		request(f, stun.BindingRequest, stun.NewSoftware("client"), stun.Fingerprint),
		request(f, stun.BindingRequest, stun.NewUsername("a:b"), stun.NewShortTermIntegrity("pw"), stun.Fingerprint),
		request(f, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 6), raw(0x7fff)),
		request(f, stun.NewType(stun.MethodAllocate, stun.ClassRequest), raw(0x0019, 17, 0, 0, 0)),
		request(f, stun.NewType(stun.MethodBinding, stun.ClassIndication)),
		request(f, stun.BindingSuccess, raw(stun.AttrXORMappedAddress, 0, 1, 0, 0, 1, 2, 3, 4)),
		classicRequest(f, stun.BindingRequest),
		classicRequest(f, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 6)),
		{0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		{},
	}
	for i, s := range seeds {
		f.Add(s, i%2 == 0, uint8(i%3))
	}
	h := newHandler(testSoftware)
	f.Fuzz(func(t *testing.T, data []byte, ipv6 bool, fix uint8) {
		data = fixHeader(data, fix%3)
		in := append([]byte(nil), data...)
		peer := peer4
		if ipv6 {
			peer = peer6
		}
		res, why := h.handle(data, peer)
		if !bytes.Equal(data, in) {
			t.Fatal("handle modified its input")
		}
		if res == nil {
			if why == nil {
				t.Fatal("no response and no reason")
			}
			return
		}
		if why != nil {
			t.Fatalf("response with a drop reason %v", why)
		}
		checkFuzzResponse(t, data, res, peer)
	})
}

// fixHeader helps the fuzzer past the header checks, which random bytes
// rarely pass: with mode 1 it returns a copy of data with a valid first
// byte and length field, with mode 2 also with the magic cookie. Mode 0
// returns data unchanged. The fuzz engine's input itself must not be
// modified.
func fixHeader(data []byte, mode uint8) []byte {
	if mode == 0 || len(data) < stunx.HeaderSize {
		return data
	}
	n := (len(data) - stunx.HeaderSize) &^ 3
	b := append([]byte(nil), data[:stunx.HeaderSize+n]...)
	b[0] &= 3
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	if mode == 2 {
		binary.BigEndian.PutUint32(b[4:8], stunx.MagicCookie)
	}
	return b
}

func checkFuzzResponse(t *testing.T, req, res []byte, peer netip.AddrPort) {
	if len(res) < stunx.HeaderSize || !bytes.Equal(res[4:20], req[4:20]) {
		t.Fatalf("response %x does not echo the transaction ID of %x", res, req)
	}
	classic := binary.BigEndian.Uint32(req[4:8]) != stunx.MagicCookie
	if !classic && !stunx.IsSTUN(res) {
		t.Fatalf("IsSTUN(response) = false: %x", res)
	}
	m := &stun.Message{Raw: append([]byte(nil), res...)}
	binary.BigEndian.PutUint32(m.Raw[4:8], stunx.MagicCookie)
	if err := m.Decode(); err != nil {
		t.Fatalf("response does not decode: %v", err)
	}
	sent := *m
	sent.Raw = res
	hadFingerprint := bytes.Contains(req, []byte{0x80, 0x28, 0x00, 0x04}) // a cheap over-approximation
	switch err := stunx.CheckFingerprint(&sent); {
	case err == nil && !hadFingerprint:
		t.Fatal("FINGERPRINT in the response to a request without one")
	case err != nil && m.Contains(stun.AttrFingerprint):
		t.Fatalf("bad FINGERPRINT in the response: %v", err)
	}
	switch m.Type.Class {
	case stun.ClassSuccessResponse:
		var got netip.AddrPort
		if classic {
			var a stunx.MappedAddress
			if err := a.GetFrom(m); err != nil {
				t.Fatalf("MAPPED-ADDRESS: %v", err)
			}
			got = netip.AddrPort(a)
		} else {
			var x stunx.XORMappedAddress
			if err := x.GetFrom(m); err != nil {
				t.Fatalf("XOR-MAPPED-ADDRESS: %v", err)
			}
			got = netip.AddrPort(x)
		}
		if got != peer {
			t.Fatalf("mapped address %v, want %v", got, peer)
		}
	case stun.ClassErrorResponse:
		var ec stun.ErrorCodeAttribute
		if err := ec.GetFrom(m); err != nil || (ec.Code != 400 && ec.Code != 420) {
			t.Fatalf("ERROR-CODE = %v, %v", ec, err)
		}
	default:
		t.Fatalf("response of class %v", m.Type.Class)
	}
}

// FuzzDiscoveryHandle feeds arbitrary datagrams to the request handler of
// one socket of a behaviour discovery server. It must never panic or
// modify its input; every answer must be a well-formed response to the
// datagram sent from one of the four sockets; error responses must go back
// to the requester from the receiving socket; success responses must
// report the requester, the sending socket (RESPONSE-ORIGIN or
// SOURCE-ADDRESS) and the other address and port of the receiving socket
// (OTHER-ADDRESS or CHANGED-ADDRESS), and go to the requester's own
// address unless RESPONSE-ADDRESS is enabled; and no answer may be more
// than a fixed amount larger than the request.
func FuzzDiscoveryHandle(f *testing.F) {
	seeds := [][]byte{
		request(f, stun.BindingRequest),
		request(f, stun.BindingRequest, changeRequest(flagChangeIP|flagChangePort), stun.Fingerprint),
		request(f, stun.BindingRequest, changeRequest(flagChangePort)),
		request(f, stun.BindingRequest, raw(stun.AttrResponsePort, 0x10, 0, 0, 0), changeRequest(flagChangeIP)),
		request(f, stun.BindingRequest, raw(stun.AttrPadding, make([]byte, 64)...)),
		request(f, stun.BindingRequest, raw(stun.AttrPadding, 1, 2, 3, 4), raw(stun.AttrResponsePort, 0x10, 0, 0, 0)),
		request(f, stun.BindingRequest, raw(stun.AttrChangeRequest, 6)),
		classicRequest(f, stun.BindingRequest, changeRequest(0)),
		classicRequest(f, stun.BindingRequest, changeRequest(flagChangeIP)),
		classicRequest(f, stun.BindingRequest, raw(attrResponseAddress, addrValue(peer4)...), changeRequest(flagChangePort)),
		classicRequest(f, stun.BindingRequest, raw(attrResponseAddress, addrValue(peer6)...)),
		request(f, stun.NewType(stun.MethodAllocate, stun.ClassRequest), changeRequest(flagChangeIP)),
		{},
	}
	for i, s := range seeds {
		f.Add(s, uint8(i), i%2 == 0, i%3 == 0, uint8(i%3))
	}
	handlers := make(map[[2]int]*handler)
	f.Fuzz(func(t *testing.T, data []byte, self uint8, respAddr, ipv6 bool, fix uint8) {
		data = fixHeader(data, fix%3)
		in := append([]byte(nil), data...)
		key := [2]int{int(self % numSockets), 0}
		if respAddr {
			key[1] = 1
		}
		h := handlers[key]
		if h == nil {
			h = newDiscoveryHandler(testSoftware, &discovery{addrs: testAddrs, responseAddress: respAddr}, key[0])
			handlers[key] = h
		}
		peer := peer4
		if ipv6 {
			peer = peer6
		}
		res, r, why := h.process(data, peer)
		if !bytes.Equal(data, in) {
			t.Fatal("process modified its input")
		}
		if res == nil {
			if why == nil {
				t.Fatal("no response and no reason")
			}
			return
		}
		if r.via < 0 || r.via >= numSockets {
			t.Fatalf("response via socket %d", r.via)
		}
		if len(res) > len(data)+256 {
			t.Fatalf("response of %d bytes to a request of %d", len(res), len(data))
		}
		if len(res) < stunx.HeaderSize || !bytes.Equal(res[4:20], data[4:20]) {
			t.Fatalf("response %x does not echo the transaction ID of %x", res, data)
		}
		classic := binary.BigEndian.Uint32(data[4:8]) != stunx.MagicCookie
		m := &stun.Message{Raw: append([]byte(nil), res...)}
		binary.BigEndian.PutUint32(m.Raw[4:8], stunx.MagicCookie)
		if err := m.Decode(); err != nil {
			t.Fatalf("response does not decode: %v", err)
		}
		switch m.Type.Class {
		case stun.ClassErrorResponse:
			if r.via != key[0] || r.to != peer {
				t.Fatalf("error response to %v via %d, want to %v via %d", r.to, r.via, peer, key[0])
			}
			var ec stun.ErrorCodeAttribute
			if err := ec.GetFrom(m); err != nil || (ec.Code != 400 && ec.Code != 420) {
				t.Fatalf("ERROR-CODE = %v, %v", ec, err)
			}
		case stun.ClassSuccessResponse:
			originType, otherType := stun.AttrResponseOrigin, stun.AttrOtherAddress
			if classic {
				originType, otherType = stun.AttrSourceAddress, stun.AttrChangedAddress
			}
			if got, _ := getAddress(t, m, stun.AttrMappedAddress); got != peer {
				t.Fatalf("MAPPED-ADDRESS = %v, want %v", got, peer)
			}
			if got, _ := getAddress(t, m, originType); got != testAddrs[r.via] {
				t.Fatalf("%v = %v, want %v", originType, got, testAddrs[r.via])
			}
			if got, _ := getAddress(t, m, otherType); got != testAddrs[key[0]^3] {
				t.Fatalf("%v = %v, want %v", otherType, got, testAddrs[key[0]^3])
			}
			_, reflected := getAddress(t, m, attrReflectedFrom)
			if reflected && !(classic && respAddr) {
				t.Fatal("REFLECTED-FROM without an enabled RESPONSE-ADDRESS")
			}
			if !reflected && r.to.Addr() != peer.Addr() {
				t.Fatalf("response to %v, not to the requester %v", r.to, peer)
			}
		default:
			t.Fatalf("response of class %v", m.Type.Class)
		}
	})
}
