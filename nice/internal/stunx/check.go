// SPDX-License-Identifier: MIT

package stunx

import (
	"encoding/binary"
	"errors"

	"github.com/pion/stun"
)

// Sizes of the MESSAGE-INTEGRITY (RFC 5389 §15.4) and FINGERPRINT
// (RFC 5389 §15.5) attributes, header included.
const (
	attrHeaderSize    = 4
	integrityValSize  = 20 // HMAC-SHA1
	integrityAttrSize = attrHeaderSize + integrityValSize
	fingerprintVal    = 4 // CRC-32
	fingerprintAttr   = attrHeaderSize + fingerprintVal
)

// ErrLengthMismatch is returned by CheckIntegrity and CheckFingerprint
// when the attributes of the message, its Length and its Raw bytes do not
// agree, as happens with trailing bytes after the message or a message
// that was not decoded successfully.
var ErrLengthMismatch = errors.New("stunx: STUN message length does not match its contents")

// ErrFingerprintNotLast is returned by CheckFingerprint when the message
// has a FINGERPRINT attribute that is not the last attribute, which
// RFC 5389 §15.5 requires.
var ErrFingerprintNotLast = errors.New("stunx: FINGERPRINT is not the last attribute")

// CheckIntegrity verifies the MESSAGE-INTEGRITY attribute of m
// (RFC 5389 §15.4) with key: the password for short-term credentials as
// ICE uses them (RFC 8445 §7.2.2), or the MD5 key for long-term
// credentials (see stun.NewLongTermIntegrity). Attributes after
// MESSAGE-INTEGRITY are excluded from the HMAC as RFC 5389 §15.4 requires.
//
// It returns stun.ErrAttributeNotFound when m has no MESSAGE-INTEGRITY, an
// *AttrSizeError when its value is not 20 bytes long, ErrLengthMismatch
// when m is inconsistent, and stun.ErrIntegrityMismatch when the HMAC
// differs.
//
// The HMAC is computed by pion's stun.MessageIntegrity.Check, which m must
// be checked with; CheckIntegrity first validates what pion assumes. Like
// pion's, it temporarily rewrites the length field in m.Raw, so m must not
// be read concurrently, and it appends the computed HMAC after len(m.Raw),
// which allocates unless m.Raw has 20 bytes of spare capacity.
func CheckIntegrity(m *stun.Message, key []byte) error {
	end := HeaderSize + int(m.Length)
	if len(m.Raw) < end {
		return ErrLengthMismatch
	}
	// Offset, relative to the end of the header, of the end of the first
	// MESSAGE-INTEGRITY attribute: what pion hashes up to, plus 24 bytes.
	offset, found := 0, false
	for _, a := range m.Attributes {
		offset += attrHeaderSize + padded(len(a.Value))
		if a.Type == stun.AttrMessageIntegrity {
			if len(a.Value) != integrityValSize {
				return &AttrSizeError{Type: a.Type, Got: len(a.Value), Want: integrityValSize}
			}
			found = true
			break
		}
	}
	if !found {
		return stun.ErrAttributeNotFound
	}
	if offset > int(m.Length) || offset < integrityAttrSize {
		return ErrLengthMismatch
	}
	// pion computes the same offset from m.Length minus the attributes
	// after MESSAGE-INTEGRITY, using RawAttribute.Length; both must agree.
	after := 0
	seen := false
	for _, a := range m.Attributes {
		if seen {
			after += attrHeaderSize + padded(int(a.Length))
		}
		if a.Type == stun.AttrMessageIntegrity {
			seen = true
		}
	}
	if int(m.Length)-after != offset {
		return ErrLengthMismatch
	}
	return stun.MessageIntegrity(key).Check(m)
}

// CheckFingerprint verifies the FINGERPRINT attribute of m (RFC 5389
// §15.5): it must be the last attribute, 4 bytes long, and equal the CRC-32
// of the message up to it, XORed with 0x5354554e. It does not allocate.
//
// It returns stun.ErrAttributeNotFound when m has no FINGERPRINT,
// ErrFingerprintNotLast, an *AttrSizeError, ErrLengthMismatch when m.Raw
// is not exactly the header plus m.Length bytes, or
// stun.ErrFingerprintMismatch.
//
// Prefer it to pion's stun.Fingerprint.Check, which in v0.6.1 neither
// requires FINGERPRINT to be last nor checks its position: it computes the
// CRC over len(m.Raw)-8 bytes, so trailing bytes after the message make it
// fail, and a FINGERPRINT followed by other attributes is compared with
// the CRC of the wrong bytes.
func CheckFingerprint(m *stun.Message) error {
	n := len(m.Attributes)
	if n == 0 || m.Attributes[n-1].Type != stun.AttrFingerprint {
		if m.Contains(stun.AttrFingerprint) {
			return ErrFingerprintNotLast
		}
		return stun.ErrAttributeNotFound
	}
	v := m.Attributes[n-1].Value
	if len(v) != fingerprintVal {
		return &AttrSizeError{Type: stun.AttrFingerprint, Got: len(v), Want: fingerprintVal}
	}
	end := HeaderSize + int(m.Length)
	if len(m.Raw) != end || int(m.Length) < fingerprintAttr ||
		binary.BigEndian.Uint16(m.Raw[end-fingerprintAttr:]) != uint16(stun.AttrFingerprint) ||
		binary.BigEndian.Uint16(m.Raw[end-fingerprintAttr+2:]) != fingerprintVal {
		return ErrLengthMismatch
	}
	if stun.FingerprintValue(m.Raw[:end-fingerprintAttr]) != binary.BigEndian.Uint32(v) {
		return stun.ErrFingerprintMismatch
	}
	return nil
}

// padded returns n rounded up to a multiple of 4, the space an attribute
// value of n bytes takes in a message (RFC 5389 §15).
func padded(n int) int {
	return (n + 3) &^ 3
}
