// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"fmt"

	"github.com/gonice/gonice/nice/dtlssrtp/internal/srtp"
	"github.com/pion/dtls/v2"
)

// Profile is an SRTP protection profile negotiated in DTLS's use_srtp
// extension (RFC 5764 §4.1.2, RFC 7714 §14.2); the values are IANA's.
type Profile uint16

const (
	AES128CMHMACSHA1_80 Profile = 0x0001 // SRTP_AES128_CM_HMAC_SHA1_80
	AES128CMHMACSHA1_32 Profile = 0x0002 // SRTP_AES128_CM_HMAC_SHA1_32
	AEADAES128GCM       Profile = 0x0007 // SRTP_AEAD_AES_128_GCM
	AEADAES256GCM       Profile = 0x0008 // SRTP_AEAD_AES_256_GCM
)

// DefaultProfiles is the preference order used when Config.Profiles is
// empty: the AEAD profiles first (cheaper per byte, no HMAC), then the
// profile every WebRTC stack has.
var DefaultProfiles = []Profile{AEADAES128GCM, AEADAES256GCM, AES128CMHMACSHA1_80, AES128CMHMACSHA1_32}

func (p Profile) String() string {
	switch p {
	case AES128CMHMACSHA1_80:
		return "SRTP_AES128_CM_HMAC_SHA1_80"
	case AES128CMHMACSHA1_32:
		return "SRTP_AES128_CM_HMAC_SHA1_32"
	case AEADAES128GCM:
		return "SRTP_AEAD_AES_128_GCM"
	case AEADAES256GCM:
		return "SRTP_AEAD_AES_256_GCM"
	}
	return fmt.Sprintf("Profile(%#04x)", uint16(p))
}

func (p Profile) valid() bool {
	switch p {
	case AES128CMHMACSHA1_80, AES128CMHMACSHA1_32, AEADAES128GCM, AEADAES256GCM:
		return true
	}
	return false
}

// The numbers are IANA's, in pion/dtls and in the SRTP package.
func (p Profile) dtls() dtls.SRTPProtectionProfile { return dtls.SRTPProtectionProfile(p) }
func (p Profile) srtp() srtp.Profile               { return srtp.Profile(p) }
