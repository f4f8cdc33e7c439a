// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"fmt"
	"strings"
)

// Role is a DTLS role.
type Role int

const (
	RoleClient Role = iota + 1 // sends the ClientHello (a=setup:active)
	RoleServer                 // waits for it (a=setup:passive)
)

func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Setup is an SDP a=setup value (RFC 4145, RFC 5763 §5).
type Setup string

const (
	SetupActpass Setup = "actpass" // an offer: either role
	SetupActive  Setup = "active"  // the DTLS client
	SetupPassive Setup = "passive" // the DTLS server
)

// ParseSetup parses an a=setup value (holdconn is refused: DTLS-SRTP does
// not use it).
func ParseSetup(s string) (Setup, error) {
	switch v := Setup(strings.ToLower(strings.TrimSpace(s))); v {
	case SetupActpass, SetupActive, SetupPassive:
		return v, nil
	}
	return "", fmt.Errorf("dtlssrtp: a=setup:%q is not actpass, active or passive", s)
}

// Answer is the a=setup an answerer gives to an offer's: active to actpass
// (as browsers answer; the answerer then starts the handshake), and the
// other role to active or passive.
func Answer(offer Setup) (Setup, error) {
	switch offer {
	case SetupActpass, SetupPassive:
		return SetupActive, nil
	case SetupActive:
		return SetupPassive, nil
	}
	return "", fmt.Errorf("dtlssrtp: cannot answer a=setup:%q", offer)
}

// RoleOf is the local DTLS role once both a=setup values are known.
func RoleOf(local, remote Setup) (Role, error) {
	switch {
	case local == SetupActive && remote != SetupActive:
		return RoleClient, nil
	case local == SetupPassive && remote != SetupPassive:
		return RoleServer, nil
	case local == SetupActpass && remote == SetupActive:
		return RoleServer, nil
	case local == SetupActpass && remote == SetupPassive:
		return RoleClient, nil
	}
	return 0, fmt.Errorf("dtlssrtp: a=setup %q (local) and %q (remote) give no DTLS role", local, remote)
}
