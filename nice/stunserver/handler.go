// SPDX-License-Identifier: MIT

package stunserver

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// Reasons a datagram gets no answer, reported by handler.handle for debug
// logging. They are static so that dropping a packet does not allocate.
var (
	errNotSTUN        = errors.New("not a STUN message")
	errMalformed      = errors.New("malformed STUN message")
	errNotRequest     = errors.New("not a request")
	errBadFingerprint = errors.New("FINGERPRINT check failed")
	errNoPeerAddress  = errors.New("peer address cannot be encoded")
)

// Error codes and reason phrases the server sends (RFC 5389 §15.6).
const (
	codeBadRequest       = 400
	codeUnknownAttribute = 420
	reasonBadRequest     = "Bad Request"
	reasonUnknownAttr    = "Unknown Attribute"
)

// maxUnknown bounds how many attribute types one UNKNOWN-ATTRIBUTES lists,
// so that answering a request never costs more than it did to send it.
const maxUnknown = 32

// maxSoftware is the largest SOFTWARE value in bytes (RFC 5389 §15.10).
const maxSoftware = 763

// knownAttribute reports whether the server understands the
// comprehension-required attribute t in a Binding request: the attributes
// RFC 5389 §18.2 defines. The server does not authenticate, so USERNAME,
// MESSAGE-INTEGRITY, REALM and NONCE are understood and ignored
// (RFC 5389 §10 applies only to servers that use credentials).
//
// The attributes of RFC 3489 and RFC 5780 that ask for behaviour
// (RESPONSE-ADDRESS, CHANGE-REQUEST, RESPONSE-PORT, PADDING) are not
// understood here and get a 420, which is how RFC 5780 §5 clients detect a
// server without NAT behaviour discovery. A server that has an alternate
// address understands them too: see discovery.knownAttribute.
func knownAttribute(t stun.AttrType) bool {
	switch t {
	case stun.AttrMappedAddress, stun.AttrUsername, stun.AttrMessageIntegrity,
		stun.AttrErrorCode, stun.AttrUnknownAttributes, stun.AttrRealm,
		stun.AttrNonce, stun.AttrXORMappedAddress:
		return true
	}
	return false
}

// handler turns requests into responses. It holds the buffers one Serve
// loop reuses, so it must not be used concurrently, and the slice handle
// returns is valid until the next call.
type handler struct {
	software []byte // SOFTWARE value; nil for none
	req      stun.Message
	res      stun.Message
	unknown  []stun.AttrType

	// disco is the behaviour discovery server this handler's socket
	// belongs to, and self the index of that socket in disco.addrs; disco
	// is nil for a plain RFC 5389 server.
	disco *discovery
	self  int
}

// newHandler returns a handler that puts software, if not empty, in the
// SOFTWARE attribute of its responses.
func newHandler(software string) *handler {
	h := &handler{
		req:     stun.Message{Raw: make([]byte, 0, 1500)},
		res:     stun.Message{Raw: make([]byte, 0, 1500)},
		unknown: make([]stun.AttrType, 0, maxUnknown),
	}
	if software != "" {
		h.software = []byte(software)
	}
	return h
}

// newDiscoveryHandler returns a handler for socket self of the behaviour
// discovery server d.
func newDiscoveryHandler(software string, d *discovery, self int) *handler {
	h := newHandler(software)
	h.disco = d
	h.self = self
	return h
}

// route tells where a response goes: to the transport address to, from the
// socket of index via in discovery.addrs (always 0 for a plain server).
type route struct {
	to  netip.AddrPort
	via int
}

// handle processes the datagram pkt that arrived from peer on a plain
// server or on the socket of a behaviour discovery server that the
// handler serves. It returns the response, or nil and the reason why pkt
// is not answered; see process.
func (h *handler) handle(pkt []byte, peer netip.AddrPort) ([]byte, error) {
	res, _, err := h.process(pkt, peer)
	return res, err
}

// process processes the datagram pkt that arrived from peer. It returns
// the response and where it goes, or nil and the reason why pkt is not
// answered. pkt is not modified or retained.
//
// Processing follows RFC 5389 §7.3: datagrams that are not STUN messages,
// messages that are not requests and requests with a wrong FINGERPRINT are
// dropped silently; a request for a method other than Binding gets a 400;
// a Binding request with comprehension-required attributes the server does
// not understand gets a 420 listing them; any other Binding request gets a
// success response with the peer's address. Requests without the magic
// cookie come from RFC 3489 clients and are answered the RFC 3489 way
// (RFC 5389 §12.2). Error responses go back to peer from the socket the
// request arrived on (RFC 3489 §8.1, RFC 5389 §7.3).
//
// On a behaviour discovery server the success response also depends on
// the socket the request arrived on and on the RFC 5780 §6.1 or
// RFC 3489 §8.1 attributes of the request; see discoveryResponse.
func (h *handler) process(pkt []byte, peer netip.AddrPort) ([]byte, route, error) {
	back := route{to: peer, via: h.self}
	classic, ok := stunHeader(pkt)
	if !ok {
		return nil, back, errNotSTUN
	}
	req := &h.req
	req.Raw = append(req.Raw[:0], pkt...)
	if classic {
		// pion decodes only messages with the cookie. The attribute
		// format is the same, so decode with the cookie in place, then
		// put back the first 32 bits of the 128-bit RFC 3489
		// transaction ID so that req.Raw is the datagram again.
		binary.BigEndian.PutUint32(req.Raw[4:8], stunx.MagicCookie)
		err := req.Decode()
		copy(req.Raw[4:8], pkt[4:8])
		if err != nil {
			return nil, back, errMalformed
		}
	} else if req.Decode() != nil {
		return nil, back, errMalformed
	}
	if req.Type.Class != stun.ClassRequest {
		return nil, back, errNotRequest // indications and responses (RFC 5389 §7.3)
	}
	fingerprint := req.Contains(stun.AttrFingerprint)
	if fingerprint && stunx.CheckFingerprint(req) != nil {
		return nil, back, errBadFingerprint // not a STUN message (RFC 5389 §7.3)
	}

	if req.Type.Method != stun.MethodBinding {
		return h.errorResponse(codeBadRequest, reasonBadRequest, classic, fingerprint), back, nil
	}
	h.unknown = h.unknown[:0]
	for _, a := range req.Attributes {
		if a.Type.Required() && !knownAttribute(a.Type) &&
			!h.disco.knownAttribute(a.Type, classic) && len(h.unknown) < maxUnknown {
			h.unknown = append(h.unknown, a.Type)
		}
	}
	if len(h.unknown) > 0 {
		h.begin(stun.ClassErrorResponse)
		addErrorCode(&h.res, codeUnknownAttribute, reasonUnknownAttr, classic)
		addUnknownAttributes(&h.res, h.unknown, classic)
		return h.finish(classic, fingerprint), back, nil
	}
	if h.disco != nil {
		return h.discoveryResponse(classic, fingerprint, peer)
	}
	if err := h.bindingResponse(classic, peer); err != nil {
		return nil, back, err
	}
	return h.finish(classic, fingerprint), back, nil
}

// errorResponse returns an error response to h.req with ERROR-CODE code
// and reason (RFC 5389 §7.3.1.1).
func (h *handler) errorResponse(code int, reason string, classic, fingerprint bool) []byte {
	h.begin(stun.ClassErrorResponse)
	addErrorCode(&h.res, code, reason, classic)
	return h.finish(classic, fingerprint)
}

// bindingResponse starts the success response to a Binding request from
// peer (RFC 5389 §7.3.1): XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS for an
// RFC 3489 client (RFC 5389 §12.2). Peers on a dual-stack socket appear as
// IPv4-mapped IPv6 addresses and are reported as IPv4.
func (h *handler) bindingResponse(classic bool, peer netip.AddrPort) error {
	h.begin(stun.ClassSuccessResponse)
	var err error
	if classic {
		err = stunx.MappedAddress(peer).AddTo(&h.res)
	} else {
		err = stunx.XORMappedAddress(peer).AddTo(&h.res)
	}
	if err != nil {
		return errNoPeerAddress
	}
	return nil
}

// begin starts a response of class to h.req in h.res: same method and
// transaction ID, no attributes yet.
func (h *handler) begin(class stun.MessageClass) {
	r := &h.res
	r.Reset()
	r.Type = stun.NewType(h.req.Type.Method, class)
	r.TransactionID = h.req.TransactionID
	r.WriteHeader()
}

// finish completes h.res: SOFTWARE if configured (RFC 5389 §15.10), the
// RFC 3489 transaction ID in place of the cookie for classic requests, and
// FINGERPRINT last when the request had one (RFC 5389 §8). It returns the
// encoded response.
func (h *handler) finish(classic, fingerprint bool) []byte {
	r := &h.res
	if h.software != nil {
		r.Add(stun.AttrSoftware, h.software)
	}
	if classic {
		copy(r.Raw[4:8], h.req.Raw[4:8])
	}
	if fingerprint {
		addFingerprint(r)
	}
	return r.Raw
}

// stunHeader reports whether pkt has the header of a STUN message: at
// least 20 bytes, a first byte in 0..3 (RFC 7983 §7), a length field that
// is a multiple of 4 and accounts for exactly the rest of pkt. classic is
// set when the magic cookie is missing, as in RFC 3489 messages.
func stunHeader(pkt []byte) (classic, ok bool) {
	if stunx.IsSTUN(pkt) {
		return false, true
	}
	if len(pkt) < stunx.HeaderSize || pkt[0] > 3 {
		return false, false
	}
	n := int(binary.BigEndian.Uint16(pkt[2:4]))
	if n&3 != 0 || stunx.HeaderSize+n != len(pkt) ||
		binary.BigEndian.Uint32(pkt[4:8]) == stunx.MagicCookie {
		return false, false
	}
	return true, true
}

// addErrorCode appends an ERROR-CODE attribute (RFC 5389 §15.6) to m.
// reason must be shorter than 60 bytes. For RFC 3489 clients, which expect
// no padding after attribute values, the reason phrase is padded with
// spaces to a multiple of 4 bytes, as RFC 3489 §11.2.9 requires.
func addErrorCode(m *stun.Message, code int, reason string, classic bool) {
	var v [64]byte
	v[2] = byte(code / 100)
	v[3] = byte(code % 100)
	n := 4 + copy(v[4:], reason)
	if classic {
		for n%4 != 0 {
			v[n] = ' '
			n++
		}
	}
	m.Add(stun.AttrErrorCode, v[:n])
}

// addUnknownAttributes appends an UNKNOWN-ATTRIBUTES attribute
// (RFC 5389 §15.9) listing types to m: 16 bits per type, padded to a
// multiple of 4 bytes. For RFC 3489 clients, which do not expect padding,
// one type is repeated instead when their number is odd (RFC 3489
// §11.2.9). pion's stun.UnknownAttributes is not used: v0.6.1 encodes each
// type on 32 bits.
func addUnknownAttributes(m *stun.Message, types []stun.AttrType, classic bool) {
	var v [2 * (maxUnknown + 1)]byte
	n := 0
	for _, t := range types {
		binary.BigEndian.PutUint16(v[n:], uint16(t))
		n += 2
	}
	if classic && len(types)%2 == 1 {
		binary.BigEndian.PutUint16(v[n:], uint16(types[0]))
		n += 2
	}
	m.Add(stun.AttrUnknownAttributes, v[:n])
}

// addFingerprint appends a FINGERPRINT attribute (RFC 5389 §15.5) to m,
// computed over m.Raw as it stands.
func addFingerprint(m *stun.Message) {
	// The CRC covers the header with a length that already includes
	// FINGERPRINT itself.
	const size = 8 // attribute header and 32-bit CRC
	m.Length += size
	m.WriteLength()
	crc := stun.FingerprintValue(m.Raw)
	m.Length -= size
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], crc)
	m.Add(stun.AttrFingerprint, v[:])
}
