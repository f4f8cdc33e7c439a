// SPDX-License-Identifier: MIT

package stunx

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/pion/stun"
)

// Address families of MAPPED-ADDRESS and XOR-MAPPED-ADDRESS (RFC 5389 §15.1).
const (
	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// Sizes of an address attribute value: 4 bytes of family and port, then
// the address (RFC 5389 §15.1).
const (
	addrHeaderSize = 4
	addrSizeIPv4   = addrHeaderSize + 4
	addrSizeIPv6   = addrHeaderSize + 16
)

// ErrAddressFamily is returned by the address getters when the family
// field of the attribute is neither IPv4 (0x01) nor IPv6 (0x02)
// (RFC 5389 §15.1).
var ErrAddressFamily = errors.New("stunx: unknown address family in address attribute")

// ErrInvalidAddress is returned by the address setters when the address is
// the zero netip.Addr and so has no family to encode.
var ErrInvalidAddress = errors.New("stunx: invalid address in address attribute")

// XORMappedAddress is the XOR-MAPPED-ADDRESS attribute (RFC 5389 §15.2):
// the transport address the server saw the request come from, obfuscated by
// XOR with the magic cookie and, for IPv6, the transaction ID. It is a
// netip.AddrPort; convert between the two with XORMappedAddress(ap) and
// netip.AddrPort(x).
//
// Prefer it to pion's stun.XORMappedAddress: in v0.6.1 that type's GetFrom
// reads the family field before checking the value length, so a value
// shorter than 2 bytes makes it read past the value or, when the value is
// last in m.Raw with no spare capacity, panic with a slice bounds error; it
// also accepts values too short for their family, zero-filling the address,
// and it allocates net.IP values.
type XORMappedAddress netip.AddrPort

// AddTo appends the XOR-MAPPED-ADDRESS attribute to m, using the
// transaction ID m has at that moment, so set it first. An IPv4-mapped IPv6
// address is encoded as IPv4 and the zone is dropped. It implements
// stun.Setter and returns ErrInvalidAddress for the zero address.
func (a XORMappedAddress) AddTo(m *stun.Message) error {
	return addAddr(m, stun.AttrXORMappedAddress, netip.AddrPort(a), true)
}

// GetFrom reads the XOR-MAPPED-ADDRESS attribute from m. It implements
// stun.Getter and returns stun.ErrAttributeNotFound when m has none,
// ErrAddressFamily for an unknown family, or an *AttrSizeError when the
// value is not 8 (IPv4) or 20 (IPv6) bytes long. An attribute of the
// pre-RFC 5389 type 0x8020 is accepted too, as pion maps it to 0x0020.
func (a *XORMappedAddress) GetFrom(m *stun.Message) error {
	ap, err := getAddr(m, stun.AttrXORMappedAddress, true)
	if err != nil {
		return err
	}
	*a = XORMappedAddress(ap)
	return nil
}

// MappedAddress is the MAPPED-ADDRESS attribute (RFC 5389 §15.1): the
// reflexive transport address in clear, used by servers only for backwards
// compatibility with RFC 3489 clients. It is a netip.AddrPort; convert
// between the two with MappedAddress(ap) and netip.AddrPort(x).
type MappedAddress netip.AddrPort

// AddTo appends the MAPPED-ADDRESS attribute to m. An IPv4-mapped IPv6
// address is encoded as IPv4 and the zone is dropped. It implements
// stun.Setter and returns ErrInvalidAddress for the zero address.
func (a MappedAddress) AddTo(m *stun.Message) error {
	return addAddr(m, stun.AttrMappedAddress, netip.AddrPort(a), false)
}

// GetFrom reads the MAPPED-ADDRESS attribute from m. It implements
// stun.Getter and returns stun.ErrAttributeNotFound when m has none,
// ErrAddressFamily for an unknown family, or an *AttrSizeError when the
// value is not 8 (IPv4) or 20 (IPv6) bytes long.
func (a *MappedAddress) GetFrom(m *stun.Message) error {
	ap, err := getAddr(m, stun.AttrMappedAddress, false)
	if err != nil {
		return err
	}
	*a = MappedAddress(ap)
	return nil
}

// xorKey returns the magic cookie followed by the transaction ID of m, the
// bytes an address is XORed with (RFC 5389 §15.2).
func xorKey(m *stun.Message) (k [16]byte) {
	binary.BigEndian.PutUint32(k[0:4], MagicCookie)
	copy(k[4:], m.TransactionID[:])
	return k
}

// addAddr appends an address attribute of type t holding ap to m, XORed
// when xor is set.
func addAddr(m *stun.Message, t stun.AttrType, ap netip.AddrPort, xor bool) error {
	ip := ap.Addr().Unmap()
	if !ip.IsValid() {
		return ErrInvalidAddress
	}
	var v [addrSizeIPv6]byte // v[0] stays zero (RFC 5389 §15.1)
	port := ap.Port()
	if xor {
		port ^= MagicCookie >> 16
	}
	binary.BigEndian.PutUint16(v[2:4], port)
	n := addrSizeIPv6
	if ip.Is4() {
		v[1] = familyIPv4
		a4 := ip.As4()
		copy(v[addrHeaderSize:], a4[:])
		n = addrSizeIPv4
	} else {
		v[1] = familyIPv6
		a16 := ip.As16()
		copy(v[addrHeaderSize:], a16[:])
	}
	if xor {
		k := xorKey(m)
		for i := addrHeaderSize; i < n; i++ {
			v[i] ^= k[i-addrHeaderSize]
		}
	}
	m.Add(t, v[:n])
	return nil
}

// getAddr decodes the first address attribute of type t in m, un-XORing
// it when xor is set. The first byte of the value is ignored, as receivers
// must (RFC 5389 §15.1).
func getAddr(m *stun.Message, t stun.AttrType, xor bool) (netip.AddrPort, error) {
	v, err := m.Get(t)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if len(v) < addrHeaderSize {
		return netip.AddrPort{}, &AttrSizeError{Type: t, Got: len(v), Want: addrSizeIPv4}
	}
	want := 0
	switch v[1] {
	case familyIPv4:
		want = addrSizeIPv4
	case familyIPv6:
		want = addrSizeIPv6
	default:
		return netip.AddrPort{}, ErrAddressFamily
	}
	if len(v) != want {
		return netip.AddrPort{}, &AttrSizeError{Type: t, Got: len(v), Want: want}
	}
	port := binary.BigEndian.Uint16(v[2:4])
	var a [16]byte
	copy(a[:], v[addrHeaderSize:])
	if xor {
		port ^= MagicCookie >> 16
		k := xorKey(m)
		for i := range a {
			a[i] ^= k[i]
		}
	}
	var ip netip.Addr
	if want == addrSizeIPv4 {
		ip = netip.AddrFrom4([4]byte(a[:4]))
	} else {
		ip = netip.AddrFrom16(a)
	}
	return netip.AddrPortFrom(ip, port), nil
}
