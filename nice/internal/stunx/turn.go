// SPDX-License-Identifier: MIT

package stunx

// The TURN (RFC 5766) attributes a client needs and the ChannelData
// framing (RFC 5766 §11.4). pion/stun v0.6.1 names the attribute types but
// has no setters or getters for them (pion/turn/v2 keeps its own in an
// internal package).

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"

	"github.com/pion/stun"
)

// XORPeerAddress is the XOR-PEER-ADDRESS attribute (RFC 5766 §14.3): a
// peer's address, encoded as XOR-MAPPED-ADDRESS is.
type XORPeerAddress netip.AddrPort

// AddTo appends the attribute; set the transaction ID first.
func (a XORPeerAddress) AddTo(m *stun.Message) error {
	return addAddr(m, stun.AttrXORPeerAddress, netip.AddrPort(a), true)
}

// GetFrom reads the first XOR-PEER-ADDRESS of m.
func (a *XORPeerAddress) GetFrom(m *stun.Message) error {
	ap, err := getAddr(m, stun.AttrXORPeerAddress, true)
	if err != nil {
		return err
	}
	*a = XORPeerAddress(ap)
	return nil
}

// XORRelayedAddress is the XOR-RELAYED-ADDRESS attribute (RFC 5766 §14.5):
// the allocation's address on the server.
type XORRelayedAddress netip.AddrPort

// AddTo appends the attribute; set the transaction ID first.
func (a XORRelayedAddress) AddTo(m *stun.Message) error {
	return addAddr(m, stun.AttrXORRelayedAddress, netip.AddrPort(a), true)
}

// GetFrom reads the first XOR-RELAYED-ADDRESS of m.
func (a *XORRelayedAddress) GetFrom(m *stun.Message) error {
	ap, err := getAddr(m, stun.AttrXORRelayedAddress, true)
	if err != nil {
		return err
	}
	*a = XORRelayedAddress(ap)
	return nil
}

// Lifetime is the LIFETIME attribute (RFC 5766 §14.2), in whole seconds on
// the wire; AddTo truncates, a negative value is sent as 0.
type Lifetime time.Duration

const lifetimeSize = 4

// AddTo appends the attribute.
func (l Lifetime) AddTo(m *stun.Message) error {
	var v [lifetimeSize]byte
	if d := time.Duration(l); d > 0 {
		binary.BigEndian.PutUint32(v[:], uint32(min(d/time.Second, 1<<32-1)))
	}
	m.Add(stun.AttrLifetime, v[:])
	return nil
}

// GetFrom reads the first LIFETIME of m.
func (l *Lifetime) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, stun.AttrLifetime, lifetimeSize)
	if err != nil {
		return err
	}
	*l = Lifetime(time.Duration(binary.BigEndian.Uint32(v)) * time.Second)
	return nil
}

// RequestedTransport is the REQUESTED-TRANSPORT attribute (RFC 5766
// §14.7): an IP protocol number, then three reserved bytes.
type RequestedTransport uint8

// ProtoUDP is the only transport RFC 5766 allocations relay.
const ProtoUDP RequestedTransport = 17

const requestedTransportSize = 4

// AddTo appends the attribute.
func (p RequestedTransport) AddTo(m *stun.Message) error {
	m.Add(stun.AttrRequestedTransport, []byte{byte(p), 0, 0, 0})
	return nil
}

// GetFrom reads the first REQUESTED-TRANSPORT of m.
func (p *RequestedTransport) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, stun.AttrRequestedTransport, requestedTransportSize)
	if err != nil {
		return err
	}
	*p = RequestedTransport(v[0])
	return nil
}

// Channel numbers a client may bind (RFC 5766 §11).
const (
	MinChannel = 0x4000
	MaxChannel = 0x7FFF
)

// ErrChannelNumber: a CHANNEL-NUMBER out of MinChannel..MaxChannel.
var ErrChannelNumber = errors.New("stunx: channel number out of 0x4000..0x7FFF")

// ChannelNumber is the CHANNEL-NUMBER attribute (RFC 5766 §14.1): the
// number, then two reserved bytes.
type ChannelNumber uint16

const channelNumberSize = 4

// AddTo appends the attribute; it refuses numbers a client may not bind.
func (c ChannelNumber) AddTo(m *stun.Message) error {
	if c < MinChannel || c > MaxChannel {
		return ErrChannelNumber
	}
	var v [channelNumberSize]byte
	binary.BigEndian.PutUint16(v[:], uint16(c))
	m.Add(stun.AttrChannelNumber, v[:])
	return nil
}

// GetFrom reads the first CHANNEL-NUMBER of m.
func (c *ChannelNumber) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, stun.AttrChannelNumber, channelNumberSize)
	if err != nil {
		return err
	}
	n := binary.BigEndian.Uint16(v)
	if n < MinChannel || n > MaxChannel {
		return ErrChannelNumber
	}
	*c = ChannelNumber(n)
	return nil
}

// Data returns the value of the first DATA attribute of m (RFC 5766 §14.4).
// Unlike the other getters it aliases m.Raw, so that a Data indication is
// read without a copy; the slice is valid until m is reused.
func Data(m *stun.Message) ([]byte, error) {
	return m.Get(stun.AttrData)
}

// ChannelDataHeaderSize is the size of a ChannelData header: the channel
// number and the length of the application data (RFC 5766 §11.4).
const ChannelDataHeaderSize = 4

// IsChannelData reports whether b starts like a ChannelData message: its
// first two bits are 01 (RFC 7983 §7 puts TURN channels at 64..79, RFC 5766
// at 0x4000..0x7FFF) and it holds a header.
func IsChannelData(b []byte) bool {
	return len(b) >= ChannelDataHeaderSize && b[0]&0xC0 == 0x40
}

// ParseChannelData splits a ChannelData message into its channel number
// and application data (aliasing b). Bytes after the data (padding over
// TCP, or in a UDP datagram) are ignored. ok is false when b is not
// ChannelData or is shorter than its length field says.
func ParseChannelData(b []byte) (ch uint16, data []byte, ok bool) {
	if !IsChannelData(b) {
		return 0, nil, false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if ChannelDataHeaderSize+n > len(b) {
		return 0, nil, false
	}
	return binary.BigEndian.Uint16(b[0:2]), b[ChannelDataHeaderSize : ChannelDataHeaderSize+n], true
}

// ChannelDataLen is the length of a ChannelData message carrying n bytes,
// padded to a multiple of 4 when pad is set (required over TCP and TLS,
// RFC 5766 §11.5).
func ChannelDataLen(n int, pad bool) int {
	l := ChannelDataHeaderSize + n
	if pad {
		l = (l + 3) &^ 3
	}
	return l
}

// PutChannelData frames data for channel ch into b, which must hold
// ChannelDataLen(len(data), pad) bytes, and returns the message. data may
// already sit at b[ChannelDataHeaderSize:] (then it is not copied).
func PutChannelData(b []byte, ch uint16, data []byte, pad bool) []byte {
	l := ChannelDataLen(len(data), pad)
	b = b[:l]
	binary.BigEndian.PutUint16(b[0:2], ch)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(data)))
	copy(b[ChannelDataHeaderSize:], data)
	clear(b[ChannelDataHeaderSize+len(data):])
	return b
}

// StreamFrameLen returns the length of the first TURN frame of a TCP or TLS
// byte stream (RFC 5766 §11.5; STUN messages are delimited by their length
// field, ChannelData by its length padded to 4), given at least its first 4
// bytes. It returns 0 when the bytes start neither.
func StreamFrameLen(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	switch b[0] >> 6 {
	case 0:
		return HeaderSize + n
	case 1:
		return ChannelDataLen(n, true)
	}
	return 0
}
