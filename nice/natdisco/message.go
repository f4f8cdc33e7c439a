// SPDX-License-Identifier: MIT

package natdisco

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// The flags of CHANGE-REQUEST (RFC 5780 §7.2, RFC 3489 §11.2.4), in the
// last byte of its 32-bit value.
const (
	flagChangeIP   = 0x04 // A: answer from the other IP address
	flagChangePort = 0x02 // B: answer from the other port
)

// attrReflectedFrom is REFLECTED-FROM (RFC 3489 §11.2.11), which pion/stun
// v0.6.1 does not name.
const attrReflectedFrom stun.AttrType = 0x000B

// codeUnknownAttribute is the error code of a server that does not
// understand an attribute (RFC 5389 §15.6).
const codeUnknownAttribute = 420

// newRequest returns a Binding request with a new random transaction ID
// (RFC 5389 §6), a CHANGE-REQUEST attribute holding flags if they are not
// 0 (RFC 5780 §7.2), and a FINGERPRINT (RFC 5389 §15.5), which RFC 5780 §5
// recommends when the socket may carry other traffic. It has no SOFTWARE:
// RFC 3489 servers such as Vovida's stund drop requests whose attributes
// are not a multiple of 4 bytes long.
func newRequest(flags byte) *stun.Message {
	setters := []stun.Setter{stun.BindingRequest, stun.TransactionID}
	if flags != 0 {
		setters = append(setters, stun.RawAttribute{Type: stun.AttrChangeRequest, Value: []byte{0, 0, 0, flags}})
	}
	return stun.MustBuild(append(setters, stun.Fingerprint)...)
}

// decodeDatagram decodes b, a received datagram, if it is a STUN message
// of the Binding method (RFC 5389 §7.3): the magic cookie, a consistent
// length, decodable attributes, and a correct FINGERPRINT if it has one.
// Responses to requests sent with the magic cookie carry it, whether the
// server follows RFC 5389 or copies the whole 128-bit RFC 3489
// transaction ID.
func decodeDatagram(b []byte) (*stun.Message, bool) {
	if !stunx.IsSTUN(b) {
		return nil, false
	}
	m := &stun.Message{Raw: append([]byte(nil), b...)}
	if m.Decode() != nil || m.Type.Method != stun.MethodBinding {
		return nil, false
	}
	if m.Contains(stun.AttrFingerprint) && stunx.CheckFingerprint(m) != nil {
		return nil, false
	}
	return m, true
}

// reply is what a Binding success response tells.
type reply struct {
	// from is the source of the response.
	from netip.AddrPort
	// mapped is XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS if the server sent
	// only that (RFC 5389 §12.2).
	mapped netip.AddrPort
	// other is OTHER-ADDRESS (RFC 5780 §7.4), or CHANGED-ADDRESS
	// (RFC 3489 §11.2.3); zero if the response has neither.
	other netip.AddrPort
	// origin is RESPONSE-ORIGIN (RFC 5780 §7.3), or SOURCE-ADDRESS
	// (RFC 3489 §11.2.5); zero if the response has neither.
	origin netip.AddrPort
}

// knownInResponse reports whether the comprehension-required attribute t
// of a Binding success response is understood: the RFC 5389 §18.2
// attributes, the RFC 3489 §11.2 ones that RFC 3489 servers still send,
// and PADDING (RFC 5780 §7.6).
func knownInResponse(t stun.AttrType) bool {
	switch t {
	case stun.AttrMappedAddress, stun.AttrXORMappedAddress, stun.AttrUsername,
		stun.AttrMessageIntegrity, stun.AttrErrorCode, stun.AttrUnknownAttributes,
		stun.AttrRealm, stun.AttrNonce, stun.AttrSourceAddress, stun.AttrChangedAddress,
		attrReflectedFrom, stun.AttrPadding:
		return true
	}
	return false
}

// parseSuccess reads a Binding success response. A response with an
// unknown comprehension-required attribute fails the transaction
// (RFC 5389 §7.3.3), as does one without a mapped address or with a
// malformed address attribute.
func parseSuccess(m *stun.Message) (reply, error) {
	for _, a := range m.Attributes {
		if a.Type.Required() && !knownInResponse(a.Type) {
			return reply{}, fmt.Errorf("%w: unknown comprehension-required attribute %v", ErrBadResponse, a.Type)
		}
	}
	var r reply
	var x stunx.XORMappedAddress
	switch err := x.GetFrom(m); {
	case err == nil:
		r.mapped = unmap(netip.AddrPort(x))
	case errors.Is(err, stun.ErrAttributeNotFound):
		var a stunx.MappedAddress
		if err := a.GetFrom(m); err != nil {
			return reply{}, fmt.Errorf("%w: no usable XOR-MAPPED-ADDRESS or MAPPED-ADDRESS: %v", ErrBadResponse, err)
		}
		r.mapped = unmap(netip.AddrPort(a))
	default:
		return reply{}, fmt.Errorf("%w: XOR-MAPPED-ADDRESS: %v", ErrBadResponse, err)
	}
	var err error
	if r.other, err = firstAddress(m, stun.AttrOtherAddress, stun.AttrChangedAddress); err != nil {
		return reply{}, err
	}
	if r.origin, err = firstAddress(m, stun.AttrResponseOrigin, stun.AttrSourceAddress); err != nil {
		return reply{}, err
	}
	return r, nil
}

// firstAddress returns the first of the attributes types that m has,
// decoded as an address in the format of MAPPED-ADDRESS (RFC 5780 §7.1,
// RFC 3489 §11.2.1), or a zero address if m has none.
func firstAddress(m *stun.Message, types ...stun.AttrType) (netip.AddrPort, error) {
	for _, t := range types {
		v, err := m.Get(t)
		if err != nil {
			continue
		}
		// Decode with stunx's MAPPED-ADDRESS getter, which checks the
		// family and the length, through a message holding only v.
		view := stun.Message{Attributes: stun.Attributes{{Type: stun.AttrMappedAddress, Length: uint16(len(v)), Value: v}}}
		var a stunx.MappedAddress
		if err := a.GetFrom(&view); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%w: %v: %v", ErrBadResponse, t, err)
		}
		return unmap(netip.AddrPort(a)), nil
	}
	return netip.AddrPort{}, nil
}

// responseError returns the *ResponseError of an error response of server
// (RFC 5389 §7.3.4). A response without a readable ERROR-CODE is reported
// as code 0.
func responseError(m *stun.Message, server netip.AddrPort) error {
	e := &ResponseError{Server: server}
	var ec stun.ErrorCodeAttribute
	if ec.GetFrom(m) == nil {
		e.Code = int(ec.Code)
		e.Reason = string(ec.Reason)
	}
	return e
}
