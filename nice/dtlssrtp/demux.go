// SPDX-License-Identifier: MIT

package dtlssrtp

// Kind is what a datagram on a component is, by RFC 7983's first-byte
// ranges.
type Kind uint8

const (
	KindOther Kind = iota // anything else: dropped
	KindSTUN              // 0–3 (the agent keeps these; counted if one gets here)
	KindDTLS              // 20–63
	KindRTP               // 128–191, second byte not 192–223
	KindRTCP              // 128–191, second byte 192–223 (RFC 5761 §4)
)

func (k Kind) String() string {
	return [...]string{"other", "stun", "dtls", "rtp", "rtcp"}[k]
}

// Classify tells the kind of a datagram. RTP needs its 12-byte fixed
// header and RTCP its 8-byte one (RFC 3550); shorter ones are KindOther.
func Classify(p []byte) Kind {
	if len(p) == 0 {
		return KindOther
	}
	switch b := p[0]; {
	case b <= 3:
		return KindSTUN
	case b >= 20 && b <= 63:
		return KindDTLS
	case b >= 128 && b <= 191:
		if len(p) >= 8 && p[1] >= 192 && p[1] <= 223 {
			return KindRTCP
		}
		if len(p) >= 12 {
			return KindRTP
		}
	}
	return KindOther
}
