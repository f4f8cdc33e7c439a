// SPDX-License-Identifier: MIT

package natdisco

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// FuzzParseResponse feeds arbitrary datagrams to the client's receive
// path: decodeDatagram, then parseSuccess or responseError as the class
// says. It must never panic, and a success response that parses must
// yield a valid mapped address, and valid or zero other and origin
// addresses.
func FuzzParseResponse(f *testing.F) {
	req := newRequest(0)
	from := netip.MustParseAddrPort("192.0.2.1:32853")
	other := netip.MustParseAddrPort("198.51.100.2:3479")
	seeds := []*stun.Message{
		respond(req, stun.BindingSuccess, stunXOR(from), addr{stun.AttrMappedAddress, from},
			addr{stun.AttrResponseOrigin, server}, addr{stun.AttrOtherAddress, other}, stun.Fingerprint),
		respond(req, stun.BindingSuccess, addr{stun.AttrMappedAddress, from}, addr{stun.AttrSourceAddress, server},
			addr{stun.AttrChangedAddress, other}, stun.NewSoftware("Vovida.org 0.97")),
		respond(req, stun.BindingSuccess, stunXOR(from), stun.RawAttribute{Type: stun.AttrPadding, Value: make([]byte, 32)}),
		respond(req, stun.BindingError, stun.CodeUnknownAttribute, stun.RawAttribute{Type: stun.AttrUnknownAttributes, Value: []byte{0, 3}}),
		respond(req, stun.BindingSuccess, stun.RawAttribute{Type: stun.AttrXORMappedAddress, Value: []byte{0}}),
		respond(req, stun.BindingSuccess, stun.RawAttribute{Type: stun.AttrOtherAddress, Value: []byte{0, 3, 0, 0}}),
		req,
	}
	for i, m := range seeds {
		f.Add(m.Raw, uint8(i%3))
	}
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, fix uint8) {
		data = fixHeader(data, fix%3)
		m, ok := decodeDatagram(data)
		if !ok {
			return
		}
		if m.Type.Method != stun.MethodBinding {
			t.Fatalf("decodeDatagram accepted method %v", m.Type.Method)
		}
		switch m.Type.Class {
		case stun.ClassErrorResponse:
			var re *ResponseError
			if err := responseError(m, server); !errors.As(err, &re) {
				t.Fatalf("responseError = %v", err)
			}
		case stun.ClassSuccessResponse:
			r, err := parseSuccess(m)
			if err != nil {
				if !errors.Is(err, ErrBadResponse) {
					t.Fatalf("parseSuccess error %v does not wrap ErrBadResponse", err)
				}
				return
			}
			if !r.mapped.IsValid() {
				t.Fatalf("parseSuccess gave an invalid mapped address %v", r.mapped)
			}
			for _, a := range []netip.AddrPort{r.mapped, r.other, r.origin} {
				if a.Addr().Is4In6() || a.Addr().Zone() != "" {
					t.Fatalf("address %v not normalized", a)
				}
			}
		}
	})
}

// fixHeader helps the fuzzer past the header checks, which random bytes
// rarely pass: with mode 1 it returns a copy of data with a valid first
// byte, length field and magic cookie, with mode 2 also the Binding
// success type. Mode 0 returns data unchanged.
func fixHeader(data []byte, mode uint8) []byte {
	if mode == 0 || len(data) < stunx.HeaderSize {
		return data
	}
	n := (len(data) - stunx.HeaderSize) &^ 3
	b := append([]byte(nil), data[:stunx.HeaderSize+n]...)
	b[0] &= 3
	binary.BigEndian.PutUint16(b[2:4], uint16(n))
	binary.BigEndian.PutUint32(b[4:8], stunx.MagicCookie)
	if mode == 2 {
		binary.BigEndian.PutUint16(b[0:2], uint16(stun.BindingSuccess.Value()))
	}
	return b
}
