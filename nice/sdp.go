// SPDX-License-Identifier: MIT

package nice

// This file is the SDP text layer: pure functions that print and parse the
// ICE parts of SDP (RFC 8839) exactly as libnice 0.1.21 prints them, and that
// parse at least everything libnice parses, plus CRLF line endings, a missing
// "a=", RFC 8839 extension pairs and session-level credentials. It also holds
// the one-line format of libnice's simple-example.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

const (
	// sdpMaxFoundationLen is the longest foundation RFC 8839 allows (32
	// ice-chars); libnice's NICE_CANDIDATE_MAX_FOUNDATION is 32 + NUL.
	sdpMaxFoundationLen = 32
	// sdpMaxComponentID is the largest component id RFC 8445 allows.
	sdpMaxComponentID = 256
	// sdpDiscardPort is the port libnice prints for a port of 0 (TCP-active
	// candidates): 9, the "discard" port of RFC 6544 §4.5.
	sdpDiscardPort = 9
	// sdpSpace holds the ASCII white-space bytes that separate tokens and are
	// trimmed from the ends of lines.
	sdpSpace = " \t\r\n\v\f"
	// sdpErrQuoteLen bounds how much of an offending token an error quotes.
	sdpErrQuoteLen = 64
)

// formatCandidateSDP returns libnice's a=candidate line for c, without a
// newline, as nice_agent_generate_local_candidate_sdp prints it:
//
//	a=candidate:<foundation> <component> <UDP|TCP> <priority> <addr> <port> typ <type>[ raddr <ip> rport <port>][ tcptype <active|passive|so>]
//
// A port of 0 prints as 9. The address prints without an IPv6 zone. raddr and
// rport are printed only when c.Base is valid and differs from c.Addr. See
// appendCandidateSDP for the treatment of out-of-range values.
func formatCandidateSDP(c Candidate) string {
	return string(appendCandidateSDP(make([]byte, 0, 96), c))
}

// appendCandidateSDP appends the a=candidate line of c (see
// formatCandidateSDP) to b and returns the extended slice.
//
// Like libnice, it prints an unknown candidate type as "host". An unknown
// transport prints as "UDP" without tcptype. An invalid address prints as
// "0.0.0.0". The priority prints unsigned (libnice uses %d, which would print
// a priority of 2^31 or more as a negative number; libnice never computes one).
func appendCandidateSDP(b []byte, c Candidate) []byte {
	b = append(b, "a=candidate:"...)
	b = append(b, c.Foundation...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(c.ComponentID), 10)
	b = append(b, ' ')
	b = append(b, sdpTransportName(c.Transport)...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(c.Priority), 10)
	b = append(b, ' ')
	if c.Hostname != "" {
		b = append(b, c.Hostname...)
	} else {
		b = sdpAppendAddr(b, c.Addr.Addr())
	}
	b = append(b, ' ')
	b = sdpAppendCandidatePort(b, c.Addr.Port())
	b = append(b, " typ "...)
	b = append(b, sdpTypeName(c.Type)...)
	if c.Base.IsValid() && !sdpSameAddrPort(c.Base, c.Addr) {
		b = append(b, " raddr "...)
		b = sdpAppendAddr(b, c.Base.Addr())
		b = append(b, " rport "...)
		b = sdpAppendCandidatePort(b, c.Base.Port())
	}
	if tcptype := sdpTCPType(c.Transport); tcptype != "" {
		b = append(b, " tcptype "...)
		b = append(b, tcptype...)
	}
	return b
}

// sdpTransportName returns the transport token of a candidate line: "UDP"
// or "TCP". An unknown transport is printed as "UDP".
func sdpTransportName(t Transport) string {
	switch t {
	case TransportTCPActive, TransportTCPPassive, TransportTCPSO:
		return "TCP"
	}
	return "UDP"
}

// sdpTCPType returns the tcptype value of an RFC 6544 candidate, or "" for a
// UDP candidate (or an unknown transport).
func sdpTCPType(t Transport) string {
	switch t {
	case TransportTCPActive:
		return "active"
	case TransportTCPPassive:
		return "passive"
	case TransportTCPSO:
		return "so"
	}
	return ""
}

// sdpTypeName returns the SDP name of a candidate type; an unknown type is
// printed as "host", as libnice does.
func sdpTypeName(t CandidateType) string {
	switch t {
	case CandidateTypeServerReflexive, CandidateTypePeerReflexive, CandidateTypeRelayed:
		return t.String()
	}
	return "host"
}

// sdpAppendAddr appends a without its IPv6 zone (libnice's
// nice_address_to_string drops the scope). An invalid address is appended as
// "0.0.0.0" so that the line stays well-formed.
func sdpAppendAddr(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, "0.0.0.0"...)
	}
	return a.WithZone("").AppendTo(b)
}

// sdpAppendCandidatePort appends the port of a candidate or related address,
// printing 0 as 9 like libnice.
func sdpAppendCandidatePort(b []byte, port uint16) []byte {
	if port == 0 {
		port = sdpDiscardPort
	}
	return strconv.AppendUint(b, uint64(port), 10)
}

// sdpSameAddrPort reports whether a and b name the same address and port,
// ignoring IPv6 zones (which SDP cannot carry).
func sdpSameAddrPort(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().WithZone("") == b.Addr().WithZone("")
}

// sdpStream is one stream's SDP content.
type sdpStream struct {
	Name       string      // m= media name; "" prints "-"
	Ufrag, Pwd string      // local credentials
	Candidates []Candidate // all components, in component order, as printed
	// ICEOptions, when not nil, is printed as an a=ice-options line after
	// a=ice-pwd (libnice prints none; gonice prints "renomination" with
	// Config.Renomination, where libwebrtc puts it).
	ICEOptions []string
}

// formatStreamSDP appends one stream's SDP to b exactly as libnice's
// _generate_stream_sdp prints it, with "\n" line endings, and returns the
// extended slice.
//
// With includeNonICE it first prints "m=<name|-> <port> ICE/SDP" and
// "c=IN IP4 <ip>" from the default candidate of component 1, then
// "a=rtcp:<port>" when component 2 has a default candidate with a port other
// than 0. The default candidates follow libnice's
// nice_agent_get_default_local_candidate (see sdpDefaultCandidate); when
// component 1 has none, the m= port is 0 and the c= address 0.0.0.0. The m=
// and a=rtcp ports are printed as they are (0 is not printed as 9 there).
// Then come a=ice-ufrag, a=ice-pwd and one a=candidate line per candidate of
// s.Candidates, in the given order.
func formatStreamSDP(b []byte, s sdpStream, includeNonICE bool) []byte {
	if includeNonICE {
		rtp := netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
		if c, ok := sdpDefaultCandidate(s.Candidates, 1); ok {
			rtp = c.Addr
		}
		name := s.Name
		if name == "" {
			name = "-"
		}
		b = append(b, "m="...)
		b = append(b, name...)
		b = append(b, ' ')
		b = strconv.AppendUint(b, uint64(rtp.Port()), 10)
		b = append(b, " ICE/SDP\nc=IN IP4 "...)
		b = sdpAppendAddr(b, rtp.Addr())
		b = append(b, '\n')
		if c, ok := sdpDefaultCandidate(s.Candidates, 2); ok && c.Addr.Port() != 0 {
			b = append(b, "a=rtcp:"...)
			b = strconv.AppendUint(b, uint64(c.Addr.Port()), 10)
			b = append(b, '\n')
		}
	}
	b = append(b, "a=ice-ufrag:"...)
	b = append(b, s.Ufrag...)
	b = append(b, "\na=ice-pwd:"...)
	b = append(b, s.Pwd...)
	b = append(b, '\n')
	if s.ICEOptions != nil {
		b = append(b, "a=ice-options:"...)
		for i, o := range s.ICEOptions {
			if i > 0 {
				b = append(b, ' ')
			}
			b = append(b, o...)
		}
		b = append(b, '\n')
	}
	for _, c := range s.Candidates {
		b = appendCandidateSDP(b, c)
		b = append(b, '\n')
	}
	return b
}

// sdpDefaultCandidate returns the default candidate of component comp among
// cands, with libnice's rule (nice_agent_get_default_local_candidate). Only
// IPv4 candidates count (an IPv4-mapped IPv6 address is IPv6). For component
// 1 it is the one with the lowest priority, the first of equals. For any
// other component it is the first candidate of that component whose
// foundation equals the foundation of component 1's default; there is none
// when component 1 has no default.
func sdpDefaultCandidate(cands []Candidate, comp int) (Candidate, bool) {
	if comp != 1 {
		rtp, ok := sdpDefaultCandidate(cands, 1)
		if !ok {
			return Candidate{}, false
		}
		for _, c := range cands {
			if c.ComponentID == comp && c.Addr.Addr().Is4() && c.Foundation == rtp.Foundation {
				return c, true
			}
		}
		return Candidate{}, false
	}
	best := -1
	for i, c := range cands {
		if c.ComponentID != 1 || !c.Addr.Addr().Is4() {
			continue
		}
		if best < 0 || c.Priority < cands[best].Priority {
			best = i
		}
	}
	if best < 0 {
		return Candidate{}, false
	}
	return cands[best], true
}

// parseCandidateSDP parses one candidate line and sets the candidate's
// StreamID to streamID. It accepts everything libnice 0.1.21 accepts and more:
//
//   - an "a=candidate:" or a bare "candidate:" prefix;
//   - white space around the line (a trailing "\r") and runs of ASCII white
//     space (spaces, tabs) between tokens;
//   - unknown key/value extension pairs (generation, ufrag, network-id,
//     network-cost, ...), which are skipped, and an odd trailing token, which
//     is ignored;
//   - the transport in any case: UDP, TCP with tcptype active|passive|so (also
//     in any case), or the legacy TCP-ACT, TCP-PASS and TCP-SO;
//   - an IPv6 address with a %zone; the zone is dropped, as SDP cannot carry
//     it and libnice prints none.
//
// The typ value is case-sensitive: host, srflx, prflx or relay. raddr and
// rport set Base only when both are present and rport is not 0; otherwise Base
// equals Addr. The address must be numeric: a host name or an mDNS ".local"
// name is an error. The component must be 1..256, the priority fit in 32 bits,
// the ports be 0..65535 (0 and 9, the discard port, are kept as they are;
// formatCandidateSDP prints 0 as 9), and the foundation be 1..32 ice-chars
// (RFC 8839). When a key occurs twice, the last value counts.
//
// On failure it returns the zero Candidate and an error that wraps ErrSDP and
// says what is wrong.
func parseCandidateSDP(line string, streamID int) (Candidate, error) {
	c, err := sdpParseCandidate(line)
	if err != nil {
		return Candidate{}, fmt.Errorf("%w: %v", ErrSDP, err)
	}
	c.StreamID = streamID
	return c, nil
}

// sdpParseCandidate does the work of parseCandidateSDP. Its errors do not
// wrap ErrSDP; the callers add it together with their context.
func sdpParseCandidate(line string) (Candidate, error) {
	line = strings.Trim(line, sdpSpace)
	rest, ok := strings.CutPrefix(line, "a=candidate:")
	if !ok {
		rest, ok = strings.CutPrefix(line, "candidate:")
	}
	if !ok {
		return Candidate{}, fmt.Errorf("candidate line does not start with \"a=candidate:\" or \"candidate:\": %.*q", sdpErrQuoteLen, line)
	}
	f := sdpFields(rest)
	if len(f) < 6 {
		return Candidate{}, fmt.Errorf("candidate has %d of the 6 fields <foundation> <component> <transport> <priority> <address> <port>", len(f))
	}
	var c Candidate

	c.Foundation = f[0]
	if !sdpValidFoundation(c.Foundation) {
		return Candidate{}, fmt.Errorf("candidate foundation %.*q is not 1 to %d ice-chars", sdpErrQuoteLen, f[0], sdpMaxFoundationLen)
	}

	comp, err := strconv.ParseUint(f[1], 10, 16)
	if err != nil || comp < 1 || comp > sdpMaxComponentID {
		return Candidate{}, fmt.Errorf("candidate component %.*q is not a number in 1..%d", sdpErrQuoteLen, f[1], sdpMaxComponentID)
	}
	c.ComponentID = int(comp)

	prio, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return Candidate{}, fmt.Errorf("candidate priority %.*q is not a number in 0..4294967295", sdpErrQuoteLen, f[3])
	}
	c.Priority = uint32(prio)

	addr, err := sdpParseAddr(f[4])
	if errors.Is(err, errMDNSCandidate) && validMDNSName(f[4]) {
		c.Hostname, err = f[4], nil
	}
	if err != nil {
		return Candidate{}, fmt.Errorf("candidate address: %w", err)
	}
	port, err := sdpParsePort(f[5])
	if err != nil {
		return Candidate{}, fmt.Errorf("candidate port: %w", err)
	}
	c.Addr = netip.AddrPortFrom(addr, port)
	c.Base = c.Addr

	// Key/value pairs. An odd trailing token is ignored.
	var typ, raddr, rport, tcptype string
	var haveTyp, haveRaddr, haveRport, haveTCPType bool
	for i := 6; i+1 < len(f); i += 2 {
		switch v := f[i+1]; f[i] {
		case "typ":
			typ, haveTyp = v, true
		case "raddr":
			raddr, haveRaddr = v, true
		case "rport":
			rport, haveRport = v, true
		case "tcptype":
			tcptype, haveTCPType = v, true
		}
	}

	if !haveTyp {
		return Candidate{}, errors.New("candidate has no \"typ\"")
	}
	if c.Type, ok = sdpParseType(typ); !ok {
		return Candidate{}, fmt.Errorf("candidate typ %.*q is not host, srflx, prflx or relay", sdpErrQuoteLen, typ)
	}

	switch tr := f[2]; {
	case strings.EqualFold(tr, "UDP"):
		c.Transport = TransportUDP
	case strings.EqualFold(tr, "TCP-ACT"):
		c.Transport = TransportTCPActive
	case strings.EqualFold(tr, "TCP-PASS"):
		c.Transport = TransportTCPPassive
	case strings.EqualFold(tr, "TCP-SO"):
		c.Transport = TransportTCPSO
	case strings.EqualFold(tr, "TCP"):
		switch {
		case !haveTCPType:
			return Candidate{}, errors.New("TCP candidate has no \"tcptype\"")
		case strings.EqualFold(tcptype, "active"):
			c.Transport = TransportTCPActive
		case strings.EqualFold(tcptype, "passive"):
			c.Transport = TransportTCPPassive
		case strings.EqualFold(tcptype, "so"):
			c.Transport = TransportTCPSO
		default:
			return Candidate{}, fmt.Errorf("candidate tcptype %.*q is not active, passive or so", sdpErrQuoteLen, tcptype)
		}
	default:
		return Candidate{}, fmt.Errorf("candidate transport %.*q is not UDP or TCP", sdpErrQuoteLen, tr)
	}

	if haveRport {
		rp, err := sdpParsePort(rport)
		if err != nil {
			return Candidate{}, fmt.Errorf("candidate rport: %w", err)
		}
		if haveRaddr && rp != 0 {
			ra, err := sdpParseAddr(raddr)
			switch {
			case errors.Is(err, errMDNSCandidate):
				// The related address is informational (RFC 8445
				// §5.1.1.1); an mDNS name there hides nothing we need.
			case err != nil:
				return Candidate{}, fmt.Errorf("candidate raddr: %v", err)
			default:
				c.Base = netip.AddrPortFrom(ra, rp)
			}
		}
	}
	return c, nil
}

// sdpFields splits s into tokens separated by runs of ASCII white space.
func sdpFields(s string) []string {
	return strings.FieldsFunc(s, sdpIsSpace)
}

// sdpIsSpace reports whether r is one of the ASCII white-space characters in
// sdpSpace.
func sdpIsSpace(r rune) bool {
	return r < 0x80 && strings.IndexByte(sdpSpace, byte(r)) >= 0
}

// sdpValidFoundation reports whether s is 1 to 32 ice-chars (ALPHA / DIGIT /
// "+" / "/", RFC 8839 §5.1).
func sdpValidFoundation(s string) bool {
	if len(s) == 0 || len(s) > sdpMaxFoundationLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !sdpIsICEChar(s[i]) {
			return false
		}
	}
	return true
}

// sdpIsICEChar reports whether b is an ice-char of RFC 8839.
func sdpIsICEChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '+' || b == '/'
}

// errMDNSCandidate marks a candidate whose address is an mDNS ".local" name.
var errMDNSCandidate = errors.New("mDNS candidate")

// maxMDNSName bounds an mDNS name (RFC 1035 §2.3.4: 255 octets).
const maxMDNSName = 253

// validMDNSName reports whether s is a host name in the .local domain (RFC
// 6762) as draft-ietf-mmusic-mdns-ice-candidates uses them: labels of 1 to
// 63 letters, digits and hyphens, not starting or ending with a hyphen,
// then "local" (any case), at most 253 characters.
func validMDNSName(s string) bool {
	if len(s) > maxMDNSName {
		return false
	}
	host, ok := strings.CutSuffix(strings.ToLower(s), ".local")
	if !ok || host == "" {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}

// sdpParseAddr parses a numeric IPv4 or IPv6 address and drops an IPv6 zone.
// Host names, mDNS ".local" names included, are errors: resolving them is not
// the SDP layer's job, and libnice does not resolve them either.
func sdpParseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err == nil {
		return a.WithZone(""), nil
	}
	if len(s) > len(".local") && strings.EqualFold(s[len(s)-len(".local"):], ".local") {
		return netip.Addr{}, fmt.Errorf("%w: %.*q is an mDNS name, not a numeric IP address", errMDNSCandidate, sdpErrQuoteLen, s)
	}
	return netip.Addr{}, fmt.Errorf("%.*q is not a numeric IP address", sdpErrQuoteLen, s)
}

// sdpParsePort parses a decimal port number, 0..65535.
func sdpParsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%.*q is not a number in 0..65535", sdpErrQuoteLen, s)
	}
	return uint16(p), nil
}

// parsedStream is one stream of a parsed SDP.
type parsedStream struct {
	Name            string      // media name from the m= line; "-" (libnice's "no name") gives ""
	Ufrag, Pwd      string      // remote credentials; the session-level ones when the stream has none
	Candidates      []Candidate // in text order; StreamID 0 (the caller sets it)
	EndOfCandidates bool        // a=end-of-candidates in the stream or at session level
	// ICEOptions are the tokens of the stream's a=ice-options lines, else of
	// the session-level ones (RFC 8839 §5.6); nil when there is none, empty
	// (not nil) for a line without tokens.
	ICEOptions []string
}

// declinesRenomination reports whether the stream's SDP says that the peer
// does not do renomination: it has a=ice-options without "renomination"
// (as libwebrtc reads it). Without a=ice-options nothing is known.
func (ps *parsedStream) declinesRenomination() bool {
	return ps.ICEOptions != nil && !slices.Contains(ps.ICEOptions, "renomination")
}

// parseSDP splits a whole SDP into streams, one per m= line, in order.
//
// Lines may end in LF or CRLF, and white space around a line is ignored. The
// "a=" prefix may be missing on ice-ufrag, ice-pwd, candidate and
// end-of-candidates lines. a=ice-options is read (see parsedStream). v=, o=,
// s=, t=, c=, a=rtcp, a=ice-lite, a=group, a=mid and all other lines are
// ignored.
//
// ice-ufrag and ice-pwd before the first m= line are session-level (RFC 8839)
// and become the default of every stream that lacks its own; a session-level
// a=end-of-candidates applies to every stream. When a value occurs twice in
// one place, the last counts.
//
// When the text has no m= line at all, the whole text is one stream with Name
// "" (what nice_agent_parse_remote_stream_sdp needs). When it has m= lines, a
// candidate before the first of them is an error. An unparsable candidate line
// is an error (as in libnice), and so is a text with no non-blank line. Errors
// wrap ErrSDP and give the line number.
func parseSDP(sdp string) ([]parsedStream, error) {
	hasMedia := false
	for line := range strings.SplitSeq(sdp, "\n") {
		if strings.HasPrefix(strings.TrimLeft(line, sdpSpace), "m=") {
			hasMedia = true
			break
		}
	}

	var (
		streams              []parsedStream
		sessUfrag, sessPwd   string
		sessEOC, sawNonBlank bool
		sessOptions          []string
	)
	cur := -1 // index of the current stream; -1 at session level
	if !hasMedia {
		streams = append(streams, parsedStream{})
		cur = 0
	}
	n := 0
	for line := range strings.SplitSeq(sdp, "\n") {
		n++
		line = strings.Trim(line, sdpSpace)
		if line == "" {
			continue
		}
		sawNonBlank = true
		if rest, ok := strings.CutPrefix(line, "m="); ok {
			streams = append(streams, parsedStream{Name: sdpMediaName(rest)})
			cur = len(streams) - 1
			continue
		}
		attr := strings.TrimPrefix(line, "a=")
		if v, ok := strings.CutPrefix(attr, "ice-ufrag:"); ok {
			v = strings.Trim(v, sdpSpace)
			if cur < 0 {
				sessUfrag = v
			} else {
				streams[cur].Ufrag = v
			}
		} else if v, ok := strings.CutPrefix(attr, "ice-pwd:"); ok {
			v = strings.Trim(v, sdpSpace)
			if cur < 0 {
				sessPwd = v
			} else {
				streams[cur].Pwd = v
			}
		} else if strings.HasPrefix(attr, "candidate:") {
			if cur < 0 {
				return nil, fmt.Errorf("%w: line %d: candidate before the first m= line", ErrSDP, n)
			}
			c, err := sdpParseCandidate(attr)
			if errors.Is(err, errMDNSCandidate) {
				// A ".local" name that is not a valid mDNS name: skip it,
				// as browsers do with what they cannot resolve, and keep
				// the rest of the SDP. A valid one is kept (Hostname).
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %v", ErrSDP, n, err)
			}
			streams[cur].Candidates = append(streams[cur].Candidates, c)
		} else if v, ok := strings.CutPrefix(attr, "ice-options:"); ok {
			opts := &sessOptions
			if cur >= 0 {
				opts = &streams[cur].ICEOptions
			}
			if *opts == nil {
				*opts = []string{}
			}
			*opts = append(*opts, sdpFields(v)...)
		} else if attr == "end-of-candidates" {
			if cur < 0 {
				sessEOC = true
			} else {
				streams[cur].EndOfCandidates = true
			}
		}
	}
	if !sawNonBlank {
		return nil, fmt.Errorf("%w: empty SDP", ErrSDP)
	}
	for i := range streams {
		s := &streams[i]
		if s.Ufrag == "" {
			s.Ufrag = sessUfrag
		}
		if s.Pwd == "" {
			s.Pwd = sessPwd
		}
		if sessEOC {
			s.EndOfCandidates = true
		}
		if s.ICEOptions == nil && sessOptions != nil {
			s.ICEOptions = slices.Clone(sessOptions)
		}
	}
	return streams, nil
}

// sdpMediaName returns the media name of an m= line given without its "m="
// prefix: its first token, with libnice's "-" (a stream without a name)
// mapped to "".
func sdpMediaName(rest string) string {
	rest = strings.TrimLeft(rest, sdpSpace)
	if i := strings.IndexFunc(rest, sdpIsSpace); i >= 0 {
		rest = rest[:i]
	}
	if rest == "-" {
		return ""
	}
	return rest
}

// FormatSimpleLine returns the line that libnice's simple-example and
// threaded-example print for the peer to copy:
//
//	<ufrag> <pwd> <foundation>,<priority>,<ip>,<port>,<type> ...
//
// with one space-separated entry per candidate, without the two leading
// spaces and without a newline. The IP is printed without an IPv6 zone and
// the port as it is (a TCP-active candidate's 0 stays 0); the transport and
// component are not encoded. An unknown candidate type prints as "host" and
// an invalid address as "0.0.0.0". With no candidates the line is just
// "<ufrag> <pwd>".
func FormatSimpleLine(ufrag, pwd string, cands []Candidate) string {
	b := make([]byte, 0, len(ufrag)+1+len(pwd)+len(cands)*40)
	b = append(b, ufrag...)
	b = append(b, ' ')
	b = append(b, pwd...)
	for _, c := range cands {
		b = append(b, ' ')
		b = append(b, c.Foundation...)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(c.Priority), 10)
		b = append(b, ',')
		b = sdpAppendAddr(b, c.Addr.Addr())
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(c.Addr.Port()), 10)
		b = append(b, ',')
		b = append(b, sdpTypeName(c.Type)...)
	}
	return string(b)
}

// ParseSimpleLine parses a line in the format of FormatSimpleLine, as
// libnice's simple-example reads the peer's line. The line is split into
// tokens on runs of ASCII white space (libnice: " \t\n"; a "\r" is also
// accepted here): the first
// token is the ufrag, the second the password, and each further token a
// candidate, split on ',' into exactly 5 fields:
// foundation,priority,ip,port,type.
//
// Each candidate is a UDP candidate of component 1 with Base equal to Addr
// and StreamID 0. The foundation must be 1 to 32 ice-chars, the priority fit
// in 32 bits, the ip be numeric (an IPv6 zone is dropped), the port be
// 0..65535 and the type one of host, srflx, prflx and relay.
//
// The ufrag must be 4 to 256 ice-chars and the password 22 to 256 (RFC
// 8839 §5.4: libnice, pion and aioice make theirs so), so that a line with a
// word missing or a stray word is refused for what it is instead of taking
// a candidate or the garbage as the password.
//
// The line needs a ufrag, a password and at least one candidate. The error
// wraps ErrSDP (its text says "malformed line", not "malformed SDP") and
// says what is wrong.
func ParseSimpleLine(line string) (ufrag, pwd string, cands []Candidate, err error) {
	toks := sdpFields(line)
	switch len(toks) {
	case 0:
		return "", "", nil, lineError("no ufrag")
	case 1:
		return "", "", nil, lineError("no password")
	}
	if !sdpValidCredential(toks[0], 4) {
		return "", "", nil, lineError(fmt.Sprintf("first word %.*q is not a ufrag (4 to 256 letters, digits, '+' or '/')", sdpErrQuoteLen, toks[0]))
	}
	if !sdpValidCredential(toks[1], 22) {
		return "", "", nil, lineError(fmt.Sprintf("second word %.*q is not a password (22 to 256 letters, digits, '+' or '/')", sdpErrQuoteLen, toks[1]))
	}
	if len(toks) == 2 {
		return "", "", nil, lineError("no candidate")
	}
	cands = make([]Candidate, 0, len(toks)-2)
	for i, tok := range toks[2:] {
		c, err := sdpParseSimpleCandidate(tok)
		if err != nil {
			return "", "", nil, lineError(fmt.Sprintf("candidate %d: %v", i+1, err))
		}
		cands = append(cands, c)
	}
	return toks[0], toks[1], cands, nil
}

// lineError is an error of ParseSimpleLine: it wraps ErrSDP (the line is
// libnice's other signalling format) but does not call the line SDP.
type lineError string

func (e lineError) Error() string { return "nice: malformed simple-example line: " + string(e) }
func (e lineError) Unwrap() error { return ErrSDP }

// sdpValidCredential reports whether s is min to 256 ice-chars (RFC 8839
// §5.4: ice-ufrag 4 to 256, ice-pwd 22 to 256).
func sdpValidCredential(s string, min int) bool {
	if len(s) < min || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !sdpIsICEChar(s[i]) {
			return false
		}
	}
	return true
}

// sdpParseSimpleCandidate parses one "foundation,priority,ip,port,type" entry
// of a simple-example line. Its errors do not wrap ErrSDP.
func sdpParseSimpleCandidate(tok string) (Candidate, error) {
	f := strings.Split(tok, ",")
	if len(f) != 5 {
		return Candidate{}, fmt.Errorf("%.*q does not have the 5 fields foundation,priority,ip,port,type", sdpErrQuoteLen, tok)
	}
	c := Candidate{Transport: TransportUDP, ComponentID: 1, Foundation: f[0]}
	if !sdpValidFoundation(f[0]) {
		return Candidate{}, fmt.Errorf("foundation %.*q is not 1 to %d ice-chars", sdpErrQuoteLen, f[0], sdpMaxFoundationLen)
	}
	prio, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return Candidate{}, fmt.Errorf("priority %.*q is not a number in 0..4294967295", sdpErrQuoteLen, f[1])
	}
	c.Priority = uint32(prio)
	addr, err := sdpParseAddr(f[2])
	if err != nil {
		return Candidate{}, fmt.Errorf("address: %w", err)
	}
	port, err := sdpParsePort(f[3])
	if err != nil {
		return Candidate{}, fmt.Errorf("port: %w", err)
	}
	c.Addr = netip.AddrPortFrom(addr, port)
	c.Base = c.Addr
	var ok bool
	if c.Type, ok = sdpParseType(f[4]); !ok {
		return Candidate{}, fmt.Errorf("type %.*q is not host, srflx, prflx or relay", sdpErrQuoteLen, f[4])
	}
	return c, nil
}

// sdpParseType parses a candidate type name, case-sensitively as libnice
// does: host, srflx, prflx or relay.
func sdpParseType(s string) (CandidateType, bool) {
	switch s {
	case "host":
		return CandidateTypeHost, true
	case "srflx":
		return CandidateTypeServerReflexive, true
	case "prflx":
		return CandidateTypePeerReflexive, true
	case "relay":
		return CandidateTypeRelayed, true
	}
	return 0, false
}
