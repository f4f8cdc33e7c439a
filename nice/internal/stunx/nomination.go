// SPDX-License-Identifier: MIT

package stunx

import (
	"encoding/binary"

	"github.com/pion/stun"
)

// AttrNomination is the NOMINATION attribute of ICE renomination
// (draft-thatcher-ice-renomination-01 §4), comprehension-optional, with the
// type libwebrtc, libnice (STUN_ATTRIBUTE_NOMINATION) and pion/ice v4
// (DefaultNominationAttribute) use. No IANA registration exists.
const AttrNomination stun.AttrType = 0xC001

// nominationSize is the length of a NOMINATION value: 4 bytes, of which
// the draft uses the 3 least significant.
const nominationSize = 4

// MaxNomination is the largest NOMINATION value: the draft's value is a
// 24-bit integer.
const MaxNomination = 1<<24 - 1

// Nomination is the NOMINATION attribute: the controlling agent's
// nomination counter. The controlled agent follows the pair nominated with
// the largest value, and any value wins over a nomination without one
// (USE-CANDIDATE alone).
type Nomination uint32

// AddTo appends NOMINATION to m: 4 bytes, the value in the 3 least
// significant, the first byte zero. Bits above MaxNomination are dropped.
// It implements stun.Setter and always returns nil.
func (n Nomination) AddTo(m *stun.Message) error {
	var v [nominationSize]byte
	binary.BigEndian.PutUint32(v[:], uint32(n)&MaxNomination)
	m.Add(AttrNomination, v[:])
	return nil
}

// GetFrom reads NOMINATION from m. It implements stun.Getter and returns
// stun.ErrAttributeNotFound when m has none, or an *AttrSizeError when its
// value is not 4 bytes long (libnice ignores such an attribute too). The
// first byte is ignored, as the draft defines the value as its 3 least
// significant bytes; libwebrtc and libnice never set it.
func (n *Nomination) GetFrom(m *stun.Message) error {
	v, err := getFixed(m, AttrNomination, nominationSize)
	if err != nil {
		return err
	}
	*n = Nomination(binary.BigEndian.Uint32(v) & MaxNomination)
	return nil
}
