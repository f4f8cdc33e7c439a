// SPDX-License-Identifier: MIT

// Package stunx adds to github.com/pion/stun the STUN pieces that ICE
// (RFC 8445) needs: the PRIORITY, USE-CANDIDATE, ICE-CONTROLLING and
// ICE-CONTROLLED attributes (RFC 8445 §16.1), a fast STUN/non-STUN
// demultiplexing test for the data path (RFC 7983 §7), netip-based address
// attributes and stricter MESSAGE-INTEGRITY and FINGERPRINT checks.
//
// The package does no I/O. The setters (AddTo) and getters (GetFrom) follow
// pion's stun.Setter and stun.Getter interfaces, so they can be passed to
// stun.Message.Build and stun.Message.Parse. They do not allocate, except
// when they return an error: *AttrSizeError is allocated on the error path
// only. Handing a Priority, ICEControlling, ICEControlled or address value
// to stun.Message.Build converts it to an interface, which may allocate;
// call AddTo directly on the hot path.
//
// Like pion's getters, the getters here return values that do not alias
// the message, and they return stun.ErrAttributeNotFound when the attribute
// is absent. When an attribute appears several times only the first one is
// read (RFC 5389 §15: "only the first occurrence needs to be processed").
//
// pion/stun v0.6.1 has shortcomings this package works around; see the
// documentation of XORMappedAddress, CheckIntegrity and CheckFingerprint.
// Two more concern callers of stun.Decode: it accepts bytes after the
// message (use IsSTUN first to reject them), and when it fails on the
// header it leaves the attributes of the previously decoded message in a
// reused stun.Message, so nothing may be read from a message whose Decode
// failed.
package stunx

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/stun"
)

// MagicCookie is the fixed value of bytes 4 to 7 of every STUN message
// (RFC 5389 §6). Messages from RFC 3489 agents carry part of their
// transaction ID there instead.
const MagicCookie = 0x2112A442

// HeaderSize is the size in bytes of the STUN message header (RFC 5389 §6).
const HeaderSize = 20

// Attribute value sizes mandated by RFC 8445 §16.1.
const (
	prioritySize     = 4 // PRIORITY: 32-bit unsigned integer
	tieBreakerSize   = 8 // ICE-CONTROLLING and ICE-CONTROLLED: 64-bit tiebreaker
	useCandidateSize = 0 // USE-CANDIDATE: no content
)

// AttrSizeError reports an attribute whose value does not have the length
// its specification requires. It matches stun.ErrAttributeSizeInvalid with
// errors.Is, so pion's stun.IsAttrSizeInvalid recognizes it.
type AttrSizeError struct {
	// Type is the attribute that has the wrong size.
	Type stun.AttrType
	// Got is the length in bytes of the value found in the message.
	Got int
	// Want is the length in bytes the specification requires.
	Want int
}

// Error describes the attribute and both lengths.
func (e *AttrSizeError) Error() string {
	return fmt.Sprintf("stunx: %v attribute value is %d bytes, want %d", e.Type, e.Got, e.Want)
}

// Is reports whether target is stun.ErrAttributeSizeInvalid.
func (e *AttrSizeError) Is(target error) bool {
	return target == stun.ErrAttributeSizeInvalid
}

// getFixed returns the value of the first attribute of type t in m,
// requiring it to be exactly size bytes long.
func getFixed(m *stun.Message, t stun.AttrType, size int) ([]byte, error) {
	v, err := m.Get(t)
	if err != nil {
		return nil, err
	}
	if len(v) != size {
		return nil, &AttrSizeError{Type: t, Got: len(v), Want: size}
	}
	return v, nil
}

// Priority is the PRIORITY attribute (RFC 8445 §7.1.1, §16.1): the priority
// the sender would assign to a peer-reflexive candidate learned from this
// check. Its value is a 32-bit unsigned integer.
type Priority uint32

// AddTo appends the PRIORITY attribute to m. It implements stun.Setter and
// always returns nil.
func (p Priority) AddTo(m *stun.Message) error {
	var v [prioritySize]byte
	binary.BigEndian.PutUint32(v[:], uint32(p))
	m.Add(stun.AttrPriority, v[:])
	return nil
}

// GetFrom reads the PRIORITY attribute from m. It implements stun.Getter
// and returns stun.ErrAttributeNotFound when m has no PRIORITY, or an
// *AttrSizeError when its value is not 4 bytes long.
func (p *Priority) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, stun.AttrPriority, prioritySize)
	if err != nil {
		return err
	}
	*p = Priority(binary.BigEndian.Uint32(v))
	return nil
}

// UseCandidate is the USE-CANDIDATE attribute (RFC 8445 §7.1.2, §16.1): a
// flag with no content by which the controlling agent nominates a pair.
type UseCandidate struct{}

// AddTo appends an empty USE-CANDIDATE attribute to m. It implements
// stun.Setter and always returns nil.
func (UseCandidate) AddTo(m *stun.Message) error {
	m.Add(stun.AttrUseCandidate, nil)
	return nil
}

// GetFrom checks that m carries a well-formed USE-CANDIDATE attribute. It
// implements stun.Getter and returns stun.ErrAttributeNotFound when m has
// no USE-CANDIDATE, or an *AttrSizeError when the attribute is not empty.
func (UseCandidate) GetFrom(m *stun.Message) error {
	_, err := getFixed(m, stun.AttrUseCandidate, useCandidateSize)
	return err
}

// HasUseCandidate reports whether m carries a USE-CANDIDATE attribute
// (RFC 8445 §7.3.1.5), whatever its length, as libnice does. Use
// UseCandidate.GetFrom to also require the attribute to be empty.
func HasUseCandidate(m *stun.Message) bool {
	return m.Contains(stun.AttrUseCandidate)
}

// ICEControlling is the ICE-CONTROLLING attribute (RFC 8445 §7.1.3,
// §16.1): present when the sender believes it is the controlling agent. Its
// value is the sender's 64-bit tiebreaker used for role-conflict resolution
// (RFC 8445 §7.3.1.1).
type ICEControlling uint64

// AddTo appends the ICE-CONTROLLING attribute to m. It implements
// stun.Setter and always returns nil.
func (c ICEControlling) AddTo(m *stun.Message) error {
	var v [tieBreakerSize]byte
	binary.BigEndian.PutUint64(v[:], uint64(c))
	m.Add(stun.AttrICEControlling, v[:])
	return nil
}

// GetFrom reads the ICE-CONTROLLING attribute from m. It implements
// stun.Getter and returns stun.ErrAttributeNotFound when m has no
// ICE-CONTROLLING, or an *AttrSizeError when its value is not 8 bytes long.
func (c *ICEControlling) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, stun.AttrICEControlling, tieBreakerSize)
	if err != nil {
		return err
	}
	*c = ICEControlling(binary.BigEndian.Uint64(v))
	return nil
}

// ICEControlled is the ICE-CONTROLLED attribute (RFC 8445 §7.1.3, §16.1):
// present when the sender believes it is the controlled agent. Its value is
// the sender's 64-bit tiebreaker used for role-conflict resolution
// (RFC 8445 §7.3.1.1).
type ICEControlled uint64

// AddTo appends the ICE-CONTROLLED attribute to m. It implements
// stun.Setter and always returns nil.
func (c ICEControlled) AddTo(m *stun.Message) error {
	var v [tieBreakerSize]byte
	binary.BigEndian.PutUint64(v[:], uint64(c))
	m.Add(stun.AttrICEControlled, v[:])
	return nil
}

// GetFrom reads the ICE-CONTROLLED attribute from m. It implements
// stun.Getter and returns stun.ErrAttributeNotFound when m has no
// ICE-CONTROLLED, or an *AttrSizeError when its value is not 8 bytes long.
func (c *ICEControlled) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, stun.AttrICEControlled, tieBreakerSize)
	if err != nil {
		return err
	}
	*c = ICEControlled(binary.BigEndian.Uint64(v))
	return nil
}

// IsSTUN reports whether b, a whole datagram, is a STUN message as opposed
// to RTP, RTCP, DTLS, ZRTP or TURN channel data multiplexed on the same
// socket. It checks that b holds at least the 20-byte header, that the
// first byte is in 0..3 (RFC 7983 §7), that the magic cookie is present and
// that the message length field is a multiple of 4 that accounts for
// exactly the rest of b (RFC 5389 §6). It does not allocate and does not
// look at attributes, so stun.Decode may still fail on b. Messages from
// RFC 3489 agents, which lack the magic cookie, are not recognized.
func IsSTUN(b []byte) bool {
	if len(b) < HeaderSize || b[0] > 3 {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	return n&3 == 0 && HeaderSize+n == len(b) &&
		binary.BigEndian.Uint32(b[4:8]) == MagicCookie
}
