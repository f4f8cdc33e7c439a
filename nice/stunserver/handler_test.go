// SPDX-License-Identifier: MIT

package stunserver

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

const testSoftware = "gonice stunserver test"

var (
	peer4      = netip.MustParseAddrPort("192.0.2.1:32853")
	peer6      = netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853")
	peerMapped = netip.MustParseAddrPort("[::ffff:192.0.2.1]:32853")

	// classicID is the 128-bit transaction ID of RFC 3489 test requests.
	classicID = [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
)

// request builds an RFC 5389 message of type typ with attributes setters.
func request(tb testing.TB, typ stun.MessageType, setters ...stun.Setter) []byte {
	tb.Helper()
	m, err := stun.Build(append([]stun.Setter{typ, stun.TransactionID}, setters...)...)
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	return m.Raw
}

// classicRequest builds an RFC 3489 message, without the magic cookie and
// with transaction ID classicID.
func classicRequest(tb testing.TB, typ stun.MessageType, setters ...stun.Setter) []byte {
	tb.Helper()
	b := request(tb, typ, setters...)
	copy(b[4:20], classicID[:])
	return b
}

// raw returns an attribute setter with a verbatim value.
func raw(t stun.AttrType, v ...byte) stun.RawAttribute {
	return stun.RawAttribute{Type: t, Value: v}
}

// decodeResponse decodes a response of the server, which lacks the magic
// cookie when classic is set.
func decodeResponse(tb testing.TB, b []byte, classic bool) *stun.Message {
	tb.Helper()
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if classic {
		binary.BigEndian.PutUint32(m.Raw[4:8], stunx.MagicCookie)
	}
	if err := m.Decode(); err != nil {
		tb.Fatalf("response does not decode: %v (%x)", err, b)
	}
	return m
}

// want describes the expected outcome of a request.
type want struct {
	drop        error            // the datagram is not answered, for this reason
	typ         stun.MessageType // response type
	code        int              // ERROR-CODE, for error responses
	unknown     []byte           // UNKNOWN-ATTRIBUTES value, for 420
	mapped      netip.AddrPort   // reported address, for success responses
	classic     bool             // RFC 3489: MAPPED-ADDRESS, no cookie
	fingerprint bool             // FINGERPRINT expected
}

// checkResponse checks res, the answer to req, against w.
func checkResponse(t *testing.T, req, res []byte, w want) {
	t.Helper()
	m := decodeResponse(t, res, w.classic)
	if m.Type != w.typ {
		t.Errorf("response type = %v, want %v", m.Type, w.typ)
	}
	if !bytes.Equal(res[4:20], req[4:20]) {
		t.Errorf("transaction ID = %x, want %x", res[4:20], req[4:20])
	}
	if !w.classic && !stunx.IsSTUN(res) {
		t.Error("IsSTUN(response) = false")
	}
	if w.typ.Class == stun.ClassErrorResponse {
		var ec stun.ErrorCodeAttribute
		if err := ec.GetFrom(m); err != nil || int(ec.Code) != w.code {
			t.Errorf("ERROR-CODE = %v, %v; want %d", ec, err, w.code)
		}
		v, err := m.Get(stun.AttrUnknownAttributes)
		if w.unknown == nil && err == nil {
			t.Errorf("unexpected UNKNOWN-ATTRIBUTES %x", v)
		}
		if w.unknown != nil && !bytes.Equal(v, w.unknown) {
			t.Errorf("UNKNOWN-ATTRIBUTES = %x, %v; want %x", v, err, w.unknown)
		}
	}
	if w.typ.Class == stun.ClassSuccessResponse {
		var x stunx.XORMappedAddress
		var a stunx.MappedAddress
		errX, errA := x.GetFrom(m), a.GetFrom(m)
		if w.classic {
			if errA != nil || netip.AddrPort(a) != w.mapped {
				t.Errorf("MAPPED-ADDRESS = %v, %v; want %v", netip.AddrPort(a), errA, w.mapped)
			}
			if errX == nil {
				t.Error("RFC 3489 response has XOR-MAPPED-ADDRESS")
			}
		} else {
			if errX != nil || netip.AddrPort(x) != w.mapped {
				t.Errorf("XOR-MAPPED-ADDRESS = %v, %v; want %v", netip.AddrPort(x), errX, w.mapped)
			}
			if errA == nil {
				t.Error("RFC 5389 response has MAPPED-ADDRESS")
			}
		}
	}
	if v, err := m.Get(stun.AttrSoftware); err != nil || string(v) != testSoftware {
		t.Errorf("SOFTWARE = %q, %v; want %q", v, err, testSoftware)
	}
	if w.fingerprint {
		// The CRC covers the datagram as sent, cookie or not.
		sent := *m
		sent.Raw = res
		if err := stunx.CheckFingerprint(&sent); err != nil {
			t.Errorf("FINGERPRINT: %v", err)
		}
	} else if m.Contains(stun.AttrFingerprint) {
		t.Error("unexpected FINGERPRINT")
	}
}

func TestHandle(t *testing.T) {
	bindingError := stun.NewType(stun.MethodBinding, stun.ClassErrorResponse)
	allocateError := stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse)
	badFingerprint := request(t, stun.BindingRequest, stun.Fingerprint)
	badFingerprint[len(badFingerprint)-1] ^= 1
	malformed := request(t, stun.BindingRequest, stun.NewSoftware("abcd"))
	malformed[stunx.HeaderSize+3] = 0x08 // SOFTWARE claims 8 bytes, 4 remain

	tests := []struct {
		name string
		req  []byte
		peer netip.AddrPort
		want want
	}{
		{"binding from IPv4", request(t, stun.BindingRequest), peer4,
			want{typ: stun.BindingSuccess, mapped: peer4}},
		{"binding from IPv6", request(t, stun.BindingRequest), peer6,
			want{typ: stun.BindingSuccess, mapped: peer6}},
		{"binding from IPv4-mapped IPv6", request(t, stun.BindingRequest), peerMapped,
			want{typ: stun.BindingSuccess, mapped: peer4}},
		{"binding with FINGERPRINT", request(t, stun.BindingRequest, stun.NewSoftware("client"), stun.Fingerprint), peer4,
			want{typ: stun.BindingSuccess, mapped: peer4, fingerprint: true}},
		{"binding with credentials, ignored", request(t, stun.BindingRequest, stun.NewUsername("a:b"), stun.NewShortTermIntegrity("pw"), stun.Fingerprint), peer6,
			want{typ: stun.BindingSuccess, mapped: peer6, fingerprint: true}},
		{"binding with unknown optional attribute", request(t, stun.BindingRequest, raw(0x8fff, 1)), peer4,
			want{typ: stun.BindingSuccess, mapped: peer4}},
		{"unknown required attributes", request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 4), raw(0x8fff), raw(0x7fff, 1, 2, 3)), peer4,
			want{typ: bindingError, code: 420, unknown: []byte{0x00, 0x03, 0x7f, 0xff}}},
		{"ICE attributes are unknown to a STUN server", request(t, stun.BindingRequest, stunx.Priority(1), stunx.UseCandidate{}, stunx.ICEControlling(2), stun.Fingerprint), peer4,
			want{typ: bindingError, code: 420, unknown: []byte{0x00, 0x24, 0x00, 0x25}, fingerprint: true}},
		{"one unknown attribute is padded", request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 0)), peer4,
			want{typ: bindingError, code: 420, unknown: []byte{0x00, 0x03}}},
		{"unknown method", request(t, stun.NewType(stun.MethodAllocate, stun.ClassRequest)), peer4,
			want{typ: allocateError, code: 400}},
		{"unknown method with unknown attribute", request(t, stun.NewType(0x0bc, stun.ClassRequest), raw(0x0019, 17, 0, 0, 0), stun.Fingerprint), peer4,
			want{typ: stun.NewType(0x0bc, stun.ClassErrorResponse), code: 400, fingerprint: true}},
		{"method outside the RFC 7983 range", request(t, stun.NewType(0xabc, stun.ClassRequest)), peer4,
			want{drop: errNotSTUN}},
		{"RFC 3489 binding", classicRequest(t, stun.BindingRequest), peer4,
			want{typ: stun.BindingSuccess, mapped: peer4, classic: true}},
		{"RFC 3489 binding from IPv6", classicRequest(t, stun.BindingRequest), peer6,
			want{typ: stun.BindingSuccess, mapped: peer6, classic: true}},
		{"RFC 3489 CHANGE-REQUEST is unknown", classicRequest(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 6)), peer4,
			want{typ: bindingError, code: 420, unknown: []byte{0x00, 0x03, 0x00, 0x03}, classic: true}},
		{"RFC 3489 shared secret request", classicRequest(t, stun.NewType(0x002, stun.ClassRequest)), peer4,
			want{typ: stun.NewType(0x002, stun.ClassErrorResponse), code: 400, classic: true}},
		{"indication", request(t, stun.NewType(stun.MethodBinding, stun.ClassIndication)), peer4,
			want{drop: errNotRequest}},
		{"success response", request(t, stun.BindingSuccess, stunx.XORMappedAddress(peer4)), peer4,
			want{drop: errNotRequest}},
		{"error response", request(t, bindingError, stun.CodeBadRequest), peer4,
			want{drop: errNotRequest}},
		{"RFC 3489 response", classicRequest(t, stun.BindingSuccess), peer4,
			want{drop: errNotRequest}},
		{"bad FINGERPRINT", badFingerprint, peer4,
			want{drop: errBadFingerprint}},
		{"FINGERPRINT not last", request(t, stun.BindingRequest, stun.Fingerprint, stun.NewSoftware("late")), peer4,
			want{drop: errBadFingerprint}},
		{"malformed attribute", malformed, peer4,
			want{drop: errMalformed}},
		{"zero peer address", request(t, stun.BindingRequest), netip.AddrPort{},
			want{drop: errNoPeerAddress}},
		{"empty datagram", []byte{}, peer4, want{drop: errNotSTUN}},
		{"19 bytes", request(t, stun.BindingRequest)[:19], peer4, want{drop: errNotSTUN}},
		{"truncated", request(t, stun.BindingRequest, stun.NewSoftware("x"))[:24], peer4, want{drop: errNotSTUN}},
		{"trailing bytes", append(request(t, stun.BindingRequest), 0, 0, 0, 0), peer4, want{drop: errNotSTUN}},
		{"RTP", append([]byte{0x80, 0x60, 0x00, 0x01}, make([]byte, 28)...), peer4, want{drop: errNotSTUN}},
		{"DTLS ClientHello", append([]byte{0x16, 0xfe, 0xfd, 0x00}, make([]byte, 60)...), peer4, want{drop: errNotSTUN}},
		{"text", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), peer4, want{drop: errNotSTUN}},
	}
	h := newHandler(testSoftware)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := append([]byte(nil), tt.req...)
			res, why := h.handle(req, tt.peer)
			if !bytes.Equal(req, tt.req) {
				t.Error("handle modified the request")
			}
			if tt.want.drop != nil {
				if res != nil || !errors.Is(why, tt.want.drop) {
					t.Fatalf("handle = %x, %v; want no response because %v", res, why, tt.want.drop)
				}
				return
			}
			if res == nil {
				t.Fatalf("no response: %v", why)
			}
			checkResponse(t, tt.req, res, tt.want)
		})
	}
}

func TestHandleWithoutSoftware(t *testing.T) {
	h := newHandler("")
	res, why := h.handle(request(t, stun.BindingRequest), peer4)
	if res == nil {
		t.Fatalf("no response: %v", why)
	}
	if m := decodeResponse(t, res, false); m.Contains(stun.AttrSoftware) {
		t.Error("response has SOFTWARE although none is configured")
	}
}

func TestHandleManyUnknownAttributes(t *testing.T) {
	var setters []stun.Setter
	for i := range 2 * maxUnknown {
		setters = append(setters, raw(stun.AttrType(0x7000+i)))
	}
	req := request(t, stun.BindingRequest, setters...)
	res, why := newHandler(testSoftware).handle(req, peer4)
	if res == nil {
		t.Fatalf("no response: %v", why)
	}
	v, err := decodeResponse(t, res, false).Get(stun.AttrUnknownAttributes)
	if err != nil || len(v) != 2*maxUnknown {
		t.Errorf("UNKNOWN-ATTRIBUTES has %d bytes, %v; want %d", len(v), err, 2*maxUnknown)
	}
	if len(res) >= len(req) {
		t.Errorf("response of %d bytes to a request of %d bytes", len(res), len(req))
	}
}

func TestHandleDoesNotAllocate(t *testing.T) {
	tests := []struct {
		name string
		req  []byte
		peer netip.AddrPort
	}{
		{"binding", request(t, stun.BindingRequest, stun.NewSoftware("client"), stun.Fingerprint), peer4},
		{"binding IPv6", request(t, stun.BindingRequest), peer6},
		{"RFC 3489 binding", classicRequest(t, stun.BindingRequest), peer4},
		{"420", request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 0), stun.Fingerprint), peer4},
		{"400", request(t, stun.NewType(stun.MethodAllocate, stun.ClassRequest)), peer4},
		{"garbage", []byte{0x80, 0, 0, 0}, peer4},
		{"indication", request(t, stun.NewType(stun.MethodBinding, stun.ClassIndication)), peer4},
	}
	h := newHandler(testSoftware)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.handle(tt.req, tt.peer) // warm up the buffers
			if n := testing.AllocsPerRun(100, func() { h.handle(tt.req, tt.peer) }); n != 0 {
				t.Errorf("%v allocations per request, want 0", n)
			}
		})
	}
}

func BenchmarkHandleBinding(b *testing.B) {
	req := request(b, stun.BindingRequest, stun.NewSoftware("client"), stun.Fingerprint)
	h := newHandler(testSoftware)
	b.ReportAllocs()
	for b.Loop() {
		if res, _ := h.handle(req, peer4); res == nil {
			b.Fatal("no response")
		}
	}
}
