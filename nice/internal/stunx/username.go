// SPDX-License-Identifier: MIT

package stunx

import "encoding/binary"

// attrUsername is USERNAME (RFC 5389 §15.3).
const attrUsername = 0x0006

// BindingRequestUsername returns the two halves of the USERNAME of a STUN
// Binding request, "<local ufrag>:<remote ufrag>" as an ICE check carries
// it (RFC 8445 §7.2.2): local is the ufrag of the agent the check is for.
// It reads b in place (the halves alias b), without decoding the message
// and without allocating, so that a socket shared by many agents can route
// a check before any agent sees it. ok is false when b is not a Binding
// request (IsSTUN, then class and method), has no USERNAME before
// MESSAGE-INTEGRITY, an attribute runs past the end, or the USERNAME has
// no colon. Nothing is authenticated here: the agent that gets the check
// does that.
func BindingRequestUsername(b []byte) (local, remote []byte, ok bool) {
	if !IsSTUN(b) || binary.BigEndian.Uint16(b[0:2]) != 0x0001 {
		return nil, nil, false
	}
	for off := HeaderSize; off+4 <= len(b); {
		t := binary.BigEndian.Uint16(b[off : off+2])
		n := int(binary.BigEndian.Uint16(b[off+2 : off+4]))
		v := off + 4
		if v+n > len(b) {
			return nil, nil, false
		}
		switch t {
		case attrUsername:
			u := b[v : v+n]
			for i, c := range u {
				if c == ':' {
					return u[:i], u[i+1:], true
				}
			}
			return nil, nil, false
		case 0x0008: // MESSAGE-INTEGRITY: what follows is not covered by it
			return nil, nil, false
		}
		off = v + n + (4-n%4)%4
	}
	return nil, nil, false
}
