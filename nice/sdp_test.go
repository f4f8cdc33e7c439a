// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// libniceTwoStreamSDP is the real output of nice_agent_generate_local_sdp of
// libnice 0.1.21 for two streams, "audio" with two components and "text"
// with one, on 127.0.0.1 (reference/libnice.md §2.1).
const libniceTwoStreamSDP = `m=audio 52621 ICE/SDP
c=IN IP4 127.0.0.1
a=rtcp:41675
a=ice-ufrag:S3fx
a=ice-pwd:QE/3adYf7NtGcMrFURbLUT
a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host
a=candidate:2 1 TCP 1015022591 127.0.0.1 9 typ host tcptype active
a=candidate:3 1 TCP 1010828287 127.0.0.1 52621 typ host tcptype passive
a=candidate:1 2 UDP 2015364094 127.0.0.1 32968 typ host
a=candidate:2 2 TCP 1015022590 127.0.0.1 9 typ host tcptype active
a=candidate:3 2 TCP 1010828286 127.0.0.1 41675 typ host tcptype passive
m=text 53405 ICE/SDP
c=IN IP4 127.0.0.1
a=ice-ufrag:oibg
a=ice-pwd:HT+GE3JcjcGoOBHd7TO72T
a=candidate:1 1 UDP 2015364095 127.0.0.1 49130 typ host
a=candidate:2 1 TCP 1015022591 127.0.0.1 9 typ host tcptype active
a=candidate:3 1 TCP 1010828287 127.0.0.1 53405 typ host tcptype passive
`

// libniceInterfacesSDP is the real output of libnice 0.1.21 for one stream
// "text" on auto-detected interfaces: IPv4, an IPv6 ULA and an IPv6
// link-local address (reference/libnice.md §2.1).
const libniceInterfacesSDP = `m=text 53467 ICE/SDP
c=IN IP4 192.0.2.2
a=ice-ufrag:cAKI
a=ice-pwd:xKFKyINFRwoL36LJJlZNDM
a=candidate:1 1 UDP 2015363327 192.0.2.2 58112 typ host
a=candidate:2 1 TCP 1015021823 192.0.2.2 9 typ host tcptype active
a=candidate:3 1 TCP 1010827519 192.0.2.2 53467 typ host tcptype passive
a=candidate:4 1 UDP 2015363583 fd00::2 52725 typ host
a=candidate:5 1 TCP 1015022079 fd00::2 9 typ host tcptype active
a=candidate:6 1 TCP 1010827775 fd00::2 40251 typ host tcptype passive
a=candidate:7 1 UDP 2015363839 fe80::fc:ff:fe00:1 57917 typ host
a=candidate:8 1 TCP 1015022335 fe80::fc:ff:fe00:1 9 typ host tcptype active
a=candidate:9 1 TCP 1010828031 fe80::fc:ff:fe00:1 50723 typ host tcptype passive
`

// hostCand returns a host candidate whose Base equals Addr, as libnice keeps
// its local host candidates. ap is an address:port, with a zone if wanted.
func hostCand(fnd string, comp int, tr Transport, prio uint32, ap string) Candidate {
	a := netip.MustParseAddrPort(ap)
	return Candidate{Type: CandidateTypeHost, Transport: tr, Addr: a, Base: a, Priority: prio, Foundation: fnd, ComponentID: comp}
}

// withPort9 returns c with port 0 of Addr and Base replaced by 9, which is
// what a parse of c's printed form gives.
func withPort9(c Candidate) Candidate {
	if c.Addr.Port() == 0 {
		c.Addr = netip.AddrPortFrom(c.Addr.Addr(), sdpDiscardPort)
	}
	if c.Base.Port() == 0 {
		c.Base = netip.AddrPortFrom(c.Base.Addr(), sdpDiscardPort)
	}
	return c
}

// withoutZones returns c with the IPv6 zones of Addr and Base dropped.
func withoutZones(c Candidate) Candidate {
	c.Addr = netip.AddrPortFrom(c.Addr.Addr().WithZone(""), c.Addr.Port())
	c.Base = netip.AddrPortFrom(c.Base.Addr().WithZone(""), c.Base.Port())
	return c
}

// twoStreamInput returns the streams behind libniceTwoStreamSDP. The
// TCP-active candidates have port 0, as inside libnice.
func twoStreamInput() []sdpStream {
	return []sdpStream{
		{
			Name: "audio", Ufrag: "S3fx", Pwd: "QE/3adYf7NtGcMrFURbLUT",
			Candidates: []Candidate{
				hostCand("1", 1, TransportUDP, 2015364095, "127.0.0.1:50959"),
				hostCand("2", 1, TransportTCPActive, 1015022591, "127.0.0.1:0"),
				hostCand("3", 1, TransportTCPPassive, 1010828287, "127.0.0.1:52621"),
				hostCand("1", 2, TransportUDP, 2015364094, "127.0.0.1:32968"),
				hostCand("2", 2, TransportTCPActive, 1015022590, "127.0.0.1:0"),
				hostCand("3", 2, TransportTCPPassive, 1010828286, "127.0.0.1:41675"),
			},
		},
		{
			Name: "text", Ufrag: "oibg", Pwd: "HT+GE3JcjcGoOBHd7TO72T",
			Candidates: []Candidate{
				hostCand("1", 1, TransportUDP, 2015364095, "127.0.0.1:49130"),
				hostCand("2", 1, TransportTCPActive, 1015022591, "127.0.0.1:0"),
				hostCand("3", 1, TransportTCPPassive, 1010828287, "127.0.0.1:53405"),
			},
		},
	}
}

// interfacesInput returns the stream behind libniceInterfacesSDP. The
// link-local candidates carry a zone, which must not be printed.
func interfacesInput() sdpStream {
	return sdpStream{
		Name: "text", Ufrag: "cAKI", Pwd: "xKFKyINFRwoL36LJJlZNDM",
		Candidates: []Candidate{
			hostCand("1", 1, TransportUDP, 2015363327, "192.0.2.2:58112"),
			hostCand("2", 1, TransportTCPActive, 1015021823, "192.0.2.2:0"),
			hostCand("3", 1, TransportTCPPassive, 1010827519, "192.0.2.2:53467"),
			hostCand("4", 1, TransportUDP, 2015363583, "[fd00::2]:52725"),
			hostCand("5", 1, TransportTCPActive, 1015022079, "[fd00::2]:0"),
			hostCand("6", 1, TransportTCPPassive, 1010827775, "[fd00::2]:40251"),
			hostCand("7", 1, TransportUDP, 2015363839, "[fe80::fc:ff:fe00:1%eth0]:57917"),
			hostCand("8", 1, TransportTCPActive, 1015022335, "[fe80::fc:ff:fe00:1%eth0]:0"),
			hostCand("9", 1, TransportTCPPassive, 1010828031, "[fe80::fc:ff:fe00:1%eth0]:50723"),
		},
	}
}

func TestFormatStreamSDPGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		streams       []sdpStream
		includeNonICE bool
		want          string
	}{
		{"libnice two streams", twoStreamInput(), true, libniceTwoStreamSDP},
		{"libnice auto-detected interfaces", []sdpStream{interfacesInput()}, true, libniceInterfacesSDP},
		{
			// nice_agent_generate_local_stream_sdp(agent, sid, FALSE) gives
			// the last 5 lines of the two-stream output.
			"libnice stream without non-ICE lines", twoStreamInput()[1:], false,
			strings.Join(strings.SplitAfter(libniceTwoStreamSDP, "\n")[13:], ""),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b []byte
			for _, s := range tt.streams {
				b = formatStreamSDP(b, s, tt.includeNonICE)
			}
			if got := string(b); got != tt.want {
				t.Errorf("formatStreamSDP:\ngot:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestFormatCandidateSDP(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		c    Candidate
		want string
	}{
		{
			"host UDP, base equals addr",
			hostCand("1", 1, TransportUDP, 2015364095, "127.0.0.1:50959"),
			"a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host",
		},
		{
			"host without base",
			Candidate{Foundation: "1", ComponentID: 1, Priority: 5, Addr: ap("10.0.0.1:1000")},
			"a=candidate:1 1 UDP 5 10.0.0.1 1000 typ host",
		},
		{
			"srflx with raddr and rport",
			Candidate{Type: CandidateTypeServerReflexive, Foundation: "4", ComponentID: 1, Priority: 1694498815,
				Addr: ap("203.0.113.7:61000"), Base: ap("192.168.1.20:50959")},
			"a=candidate:4 1 UDP 1694498815 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 50959",
		},
		{
			"relay with raddr and rport, component 2",
			Candidate{Type: CandidateTypeRelayed, Foundation: "7", ComponentID: 2, Priority: 503316734,
				Addr: ap("198.51.100.9:49152"), Base: ap("203.0.113.7:61000")},
			"a=candidate:7 2 UDP 503316734 198.51.100.9 49152 typ relay raddr 203.0.113.7 rport 61000",
		},
		{
			"prflx IPv6 with raddr",
			Candidate{Type: CandidateTypePeerReflexive, Foundation: "remote3", ComponentID: 1, Priority: 1845501695,
				Addr: ap("[2001:db8::5]:4444"), Base: ap("[2001:db8::1]:5555")},
			"a=candidate:remote3 1 UDP 1845501695 2001:db8::5 4444 typ prflx raddr 2001:db8::1 rport 5555",
		},
		{
			"srflx on the same address and port as its base prints no raddr",
			Candidate{Type: CandidateTypeServerReflexive, Foundation: "4", ComponentID: 1, Priority: 1,
				Addr: ap("203.0.113.7:61000"), Base: ap("203.0.113.7:61000")},
			"a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx",
		},
		{
			"base differing only by zone prints no raddr",
			Candidate{Foundation: "7", ComponentID: 1, Priority: 1,
				Addr: ap("[fe80::1%eth0]:5000"), Base: ap("[fe80::1]:5000")},
			"a=candidate:7 1 UDP 1 fe80::1 5000 typ host",
		},
		{
			"base port 0 prints rport 9",
			Candidate{Type: CandidateTypeServerReflexive, Foundation: "4", ComponentID: 1, Priority: 1,
				Addr: ap("203.0.113.7:61000"), Base: ap("192.168.1.20:0")},
			"a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 9",
		},
		{
			"TCP active port 0 prints 9",
			hostCand("2", 1, TransportTCPActive, 1015022591, "127.0.0.1:0"),
			"a=candidate:2 1 TCP 1015022591 127.0.0.1 9 typ host tcptype active",
		},
		{
			"TCP passive",
			hostCand("3", 1, TransportTCPPassive, 1010828287, "127.0.0.1:52621"),
			"a=candidate:3 1 TCP 1010828287 127.0.0.1 52621 typ host tcptype passive",
		},
		{
			"TCP simultaneous-open",
			hostCand("9", 1, TransportTCPSO, 1, "127.0.0.1:52622"),
			"a=candidate:9 1 TCP 1 127.0.0.1 52622 typ host tcptype so",
		},
		{
			"srflx TCP passive with raddr then tcptype",
			Candidate{Type: CandidateTypeServerReflexive, Transport: TransportTCPPassive, Foundation: "5", ComponentID: 1, Priority: 1,
				Addr: ap("203.0.113.7:61001"), Base: ap("192.168.1.20:52621")},
			"a=candidate:5 1 TCP 1 203.0.113.7 61001 typ srflx raddr 192.168.1.20 rport 52621 tcptype passive",
		},
		{
			"IPv6 link-local prints without zone",
			hostCand("7", 1, TransportUDP, 2015363839, "[fe80::fc:ff:fe00:1%eth0]:57917"),
			"a=candidate:7 1 UDP 2015363839 fe80::fc:ff:fe00:1 57917 typ host",
		},
		{
			"priority above 2^31 prints unsigned",
			hostCand("1", 1, TransportUDP, 4294967295, "127.0.0.1:1"),
			"a=candidate:1 1 UDP 4294967295 127.0.0.1 1 typ host",
		},
		{
			"unknown type prints host, unknown transport prints UDP",
			Candidate{Type: 42, Transport: 42, Foundation: "1", ComponentID: 1, Priority: 1, Addr: ap("127.0.0.1:1")},
			"a=candidate:1 1 UDP 1 127.0.0.1 1 typ host",
		},
		{
			"invalid address prints 0.0.0.0",
			Candidate{Foundation: "1", ComponentID: 1, Priority: 1},
			"a=candidate:1 1 UDP 1 0.0.0.0 9 typ host",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := formatCandidateSDP(tt.c); got != tt.want {
				t.Errorf("formatCandidateSDP() = %q, want %q", got, tt.want)
			}
			prefix := []byte("x\n")
			if got, want := string(appendCandidateSDP(prefix, tt.c)), "x\n"+tt.want; got != want {
				t.Errorf("appendCandidateSDP() = %q, want %q", got, want)
			}
		})
	}
}

func TestFormatStreamSDPDefaultCandidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cands []Candidate
		want  string // the lines before a=ice-ufrag
	}{
		{"no candidates", nil, "m=s 0 ICE/SDP\nc=IN IP4 0.0.0.0\n"},
		{
			"only IPv6 candidates",
			[]Candidate{hostCand("1", 1, TransportUDP, 1, "[2001:db8::1]:1000")},
			"m=s 0 ICE/SDP\nc=IN IP4 0.0.0.0\n",
		},
		{
			"IPv4-mapped IPv6 is not IPv4",
			[]Candidate{hostCand("1", 1, TransportUDP, 1, "[::ffff:10.0.0.1]:1000")},
			"m=s 0 ICE/SDP\nc=IN IP4 0.0.0.0\n",
		},
		{
			"lowest priority IPv4 of component 1",
			[]Candidate{
				hostCand("1", 1, TransportUDP, 300, "10.0.0.1:1000"),
				hostCand("2", 1, TransportUDP, 100, "[2001:db8::1]:1001"),
				hostCand("3", 1, TransportUDP, 200, "10.0.0.3:1002"),
				hostCand("4", 2, TransportUDP, 50, "10.0.0.4:1003"),
			},
			"m=s 1002 ICE/SDP\nc=IN IP4 10.0.0.3\n",
		},
		{
			"equal priorities: the first wins",
			[]Candidate{
				hostCand("1", 1, TransportUDP, 100, "10.0.0.1:1000"),
				hostCand("2", 1, TransportUDP, 100, "10.0.0.2:1001"),
			},
			"m=s 1000 ICE/SDP\nc=IN IP4 10.0.0.1\n",
		},
		{
			"rtcp is component 2's candidate with component 1's default foundation",
			[]Candidate{
				hostCand("1", 1, TransportUDP, 200, "10.0.0.1:1000"),
				hostCand("2", 1, TransportUDP, 100, "10.0.0.1:1001"),
				hostCand("1", 2, TransportUDP, 50, "10.0.0.1:2000"),
				hostCand("2", 2, TransportUDP, 99, "10.0.0.1:2001"),
			},
			"m=s 1001 ICE/SDP\nc=IN IP4 10.0.0.1\na=rtcp:2001\n",
		},
		{
			"no rtcp when component 2 lacks that foundation",
			[]Candidate{
				hostCand("1", 1, TransportUDP, 100, "10.0.0.1:1000"),
				hostCand("9", 2, TransportUDP, 99, "10.0.0.1:2000"),
			},
			"m=s 1000 ICE/SDP\nc=IN IP4 10.0.0.1\n",
		},
		{
			"no rtcp when component 1 has no default",
			[]Candidate{
				hostCand("1", 1, TransportUDP, 100, "[2001:db8::1]:1000"),
				hostCand("1", 2, TransportUDP, 99, "10.0.0.1:2000"),
			},
			"m=s 0 ICE/SDP\nc=IN IP4 0.0.0.0\n",
		},
		{
			"no rtcp when component 2's default has port 0",
			[]Candidate{
				hostCand("2", 1, TransportTCPActive, 100, "10.0.0.1:0"),
				hostCand("2", 2, TransportTCPActive, 99, "10.0.0.1:0"),
			},
			"m=s 0 ICE/SDP\nc=IN IP4 10.0.0.1\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := string(formatStreamSDP(nil, sdpStream{Name: "s", Ufrag: "u", Pwd: "p", Candidates: tt.cands}, true))
			got, _, _ := strings.Cut(out, "a=ice-ufrag:")
			if got != tt.want {
				t.Errorf("non-ICE lines = %q, want %q (whole output %q)", got, tt.want, out)
			}
		})
	}
}

func TestFormatStreamSDPUnnamed(t *testing.T) {
	t.Parallel()
	got := string(formatStreamSDP([]byte("prefix\n"), sdpStream{Ufrag: "u", Pwd: "p"}, true))
	want := "prefix\nm=- 0 ICE/SDP\nc=IN IP4 0.0.0.0\na=ice-ufrag:u\na=ice-pwd:p\n"
	if got != want {
		t.Errorf("formatStreamSDP() = %q, want %q", got, want)
	}
}

func TestParseCandidateSDP(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	// c builds the expected candidate; base "" means Base = Addr.
	c := func(typ CandidateType, tr Transport, fnd string, comp int, prio uint32, addr, base string) Candidate {
		cand := Candidate{Type: typ, Transport: tr, Foundation: fnd, ComponentID: comp, Priority: prio, Addr: ap(addr), StreamID: 3}
		cand.Base = cand.Addr
		if base != "" {
			cand.Base = ap(base)
		}
		return cand
	}
	const (
		host  = CandidateTypeHost
		srflx = CandidateTypeServerReflexive
		prflx = CandidateTypePeerReflexive
		relay = CandidateTypeRelayed
		udp   = TransportUDP
		act   = TransportTCPActive
		pass  = TransportTCPPassive
		so    = TransportTCPSO
	)
	tests := []struct {
		name string
		line string
		want Candidate
	}{
		{"libnice UDP host", "a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host",
			c(host, udp, "1", 1, 2015364095, "127.0.0.1:50959", "")},
		{"libnice TCP active keeps port 9", "a=candidate:2 1 TCP 1015022591 127.0.0.1 9 typ host tcptype active",
			c(host, act, "2", 1, 1015022591, "127.0.0.1:9", "")},
		{"libnice TCP passive component 2", "a=candidate:3 2 TCP 1010828286 127.0.0.1 41675 typ host tcptype passive",
			c(host, pass, "3", 2, 1010828286, "127.0.0.1:41675", "")},
		{"libnice IPv6", "a=candidate:4 1 UDP 2015363583 fd00::2 52725 typ host",
			c(host, udp, "4", 1, 2015363583, "[fd00::2]:52725", "")},
		{"bare candidate: prefix", "candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host",
			c(host, udp, "1", 1, 2015364095, "127.0.0.1:50959", "")},
		{"trailing CR", "a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host\r",
			c(host, udp, "1", 1, 2015364095, "127.0.0.1:50959", "")},
		{"trailing CRLF and spaces", "a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host  \r\n",
			c(host, udp, "1", 1, 2015364095, "127.0.0.1:50959", "")},
		{"leading spaces", "  a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host",
			c(host, udp, "1", 1, 2015364095, "127.0.0.1:50959", "")},
		{"extra spaces and tabs", "a=candidate: 1  1\tUDP   2015364095 127.0.0.1  50959 typ  host",
			c(host, udp, "1", 1, 2015364095, "127.0.0.1:50959", "")},
		{"srflx with raddr and rport", "a=candidate:4 1 UDP 1694498815 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 50959",
			c(srflx, udp, "4", 1, 1694498815, "203.0.113.7:61000", "192.168.1.20:50959")},
		{"relay with rport before raddr", "a=candidate:7 2 UDP 503316734 198.51.100.9 49152 typ relay rport 61000 raddr 203.0.113.7",
			c(relay, udp, "7", 2, 503316734, "198.51.100.9:49152", "203.0.113.7:61000")},
		{"prflx", "a=candidate:remote3 1 UDP 1845501695 10.1.1.1 4444 typ prflx",
			c(prflx, udp, "remote3", 1, 1845501695, "10.1.1.1:4444", "")},
		{"Chrome with extensions", "candidate:842163049 1 udp 1677729535 203.0.113.5 54321 typ srflx raddr 192.168.1.2 rport 54322 generation 0 ufrag EsAw network-id 1 network-cost 10",
			c(srflx, udp, "842163049", 1, 1677729535, "203.0.113.5:54321", "192.168.1.2:54322")},
		{"Chrome srflx with hidden raddr 0.0.0.0 rport 0", "candidate:842163049 1 udp 1677729535 203.0.113.5 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0",
			c(srflx, udp, "842163049", 1, 1677729535, "203.0.113.5:54321", "")},
		{"Firefox host", "candidate:0 1 UDP 2122252543 192.168.1.2 50000 typ host",
			c(host, udp, "0", 1, 2122252543, "192.168.1.2:50000", "")},
		{"extension pair before typ", "a=candidate:1 1 UDP 1 10.0.0.1 1 generation 0 typ host",
			c(host, udp, "1", 1, 1, "10.0.0.1:1", "")},
		{"odd trailing token ignored", "a=candidate:1 1 UDP 1 10.0.0.1 1 typ host generation",
			c(host, udp, "1", 1, 1, "10.0.0.1:1", "")},
		{"last typ wins", "a=candidate:1 1 UDP 1 10.0.0.1 1 typ host typ relay",
			c(relay, udp, "1", 1, 1, "10.0.0.1:1", "")},
		{"lower-case udp", "a=candidate:1 1 udp 1 10.0.0.1 1 typ host",
			c(host, udp, "1", 1, 1, "10.0.0.1:1", "")},
		{"mixed-case TCP and tcptype", "a=candidate:1 1 Tcp 1 10.0.0.1 9 typ host tcptype Passive",
			c(host, pass, "1", 1, 1, "10.0.0.1:9", "")},
		{"tcptype so", "a=candidate:1 1 TCP 1 10.0.0.1 5000 typ host tcptype so",
			c(host, so, "1", 1, 1, "10.0.0.1:5000", "")},
		{"tcptype before typ", "a=candidate:1 1 TCP 1 10.0.0.1 9 tcptype active typ host",
			c(host, act, "1", 1, 1, "10.0.0.1:9", "")},
		{"legacy TCP-ACT", "a=candidate:1 1 TCP-ACT 1 10.0.0.1 9 typ host",
			c(host, act, "1", 1, 1, "10.0.0.1:9", "")},
		{"legacy tcp-pass", "a=candidate:1 1 tcp-pass 1 10.0.0.1 5000 typ host",
			c(host, pass, "1", 1, 1, "10.0.0.1:5000", "")},
		{"legacy TCP-SO ignores tcptype", "a=candidate:1 1 TCP-SO 1 10.0.0.1 5000 typ host tcptype active",
			c(host, so, "1", 1, 1, "10.0.0.1:5000", "")},
		{"UDP ignores tcptype", "a=candidate:1 1 UDP 1 10.0.0.1 5000 typ host tcptype bogus",
			c(host, udp, "1", 1, 1, "10.0.0.1:5000", "")},
		{"IPv6 zone stripped", "a=candidate:7 1 UDP 2015363839 fe80::fc:ff:fe00:1%eth0 57917 typ host",
			c(host, udp, "7", 1, 2015363839, "[fe80::fc:ff:fe00:1]:57917", "")},
		{"raddr zone stripped", "a=candidate:7 1 UDP 1 2001:db8::7 57917 typ srflx raddr fe80::1%2 rport 4000",
			c(srflx, udp, "7", 1, 1, "[2001:db8::7]:57917", "[fe80::1]:4000")},
		{"IPv4-mapped IPv6 kept", "a=candidate:1 1 UDP 1 ::ffff:10.0.0.1 1 typ host",
			c(host, udp, "1", 1, 1, "[::ffff:10.0.0.1]:1", "")},
		{"raddr without rport", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr 192.168.1.20",
			c(srflx, udp, "4", 1, 1, "203.0.113.7:61000", "")},
		{"rport without raddr", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx rport 5000",
			c(srflx, udp, "4", 1, 1, "203.0.113.7:61000", "")},
		{"rport 0 ignores raddr, even a bad one", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr host.example rport 0",
			c(srflx, udp, "4", 1, 1, "203.0.113.7:61000", "")},
		{"raddr equal to addr", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr 203.0.113.7 rport 61000",
			c(srflx, udp, "4", 1, 1, "203.0.113.7:61000", "")},
		{"priority 0", "a=candidate:1 1 UDP 0 10.0.0.1 1 typ host",
			c(host, udp, "1", 1, 0, "10.0.0.1:1", "")},
		{"priority max uint32", "a=candidate:1 1 UDP 4294967295 10.0.0.1 1 typ host",
			c(host, udp, "1", 1, 4294967295, "10.0.0.1:1", "")},
		{"component 256 with leading zeros", "a=candidate:1 0256 UDP 1 10.0.0.1 1 typ host",
			c(host, udp, "1", 256, 1, "10.0.0.1:1", "")},
		{"port 0", "a=candidate:1 1 UDP 1 10.0.0.1 0 typ host",
			c(host, udp, "1", 1, 1, "10.0.0.1:0", "")},
		{"port 65535", "a=candidate:1 1 UDP 1 10.0.0.1 65535 typ host",
			c(host, udp, "1", 1, 1, "10.0.0.1:65535", "")},
		{"foundation of 32 ice-chars", "a=candidate:abcdefghijklmnopqrstuvwxyzAB+/09 1 UDP 1 10.0.0.1 1 typ host",
			c(host, udp, "abcdefghijklmnopqrstuvwxyzAB+/09", 1, 1, "10.0.0.1:1", "")},
		{"unspecified address", "a=candidate:1 1 UDP 1 0.0.0.0 9 typ host",
			c(host, udp, "1", 1, 1, "0.0.0.0:9", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseCandidateSDP(tt.line, 3)
			if err != nil {
				t.Fatalf("parseCandidateSDP(%q) error: %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("parseCandidateSDP(%q):\ngot  %+v\nwant %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseCandidateSDPErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		wantMsg string // a part of the error message
	}{
		{"empty", "", "does not start with"},
		{"white space only", " \r\n", "does not start with"},
		{"wrong prefix", "a=candidates:1 1 UDP 1 10.0.0.1 1 typ host", "does not start with"},
		{"upper-case prefix", "A=CANDIDATE:1 1 UDP 1 10.0.0.1 1 typ host", "does not start with"},
		{"prefix only", "a=candidate:", "has 0 of the 6 fields"},
		{"five fields", "a=candidate:1 1 UDP 1 10.0.0.1", "has 5 of the 6 fields"},
		{"no typ", "a=candidate:1 1 UDP 1 10.0.0.1 1", "no \"typ\""},
		{"typ without value", "a=candidate:1 1 UDP 1 10.0.0.1 1 typ", "no \"typ\""},
		{"typ upper-case", "a=candidate:1 1 UDP 1 10.0.0.1 1 typ HOST", "typ \"HOST\""},
		{"typ unknown", "a=candidate:1 1 UDP 1 10.0.0.1 1 typ local", "typ \"local\""},
		{"key upper-case", "a=candidate:1 1 UDP 1 10.0.0.1 1 TYP host", "no \"typ\""},
		{"short IPv4", "a=candidate:1 1 UDP 1 10.1 1 typ host", "address: \"10.1\" is not a numeric IP"},
		{"IPv4 octet too large", "a=candidate:1 1 UDP 1 999.1.1.1 1 typ host", "not a numeric IP"},
		{"IPv4 with zone", "a=candidate:1 1 UDP 1 10.0.0.1%eth0 1 typ host", "not a numeric IP"},
		{"hostname", "a=candidate:1 1 UDP 1 example.com 1 typ host", "\"example.com\" is not a numeric IP"},
		{"bad mDNS name", "a=candidate:1 1 udp 2122260223 1f4712db_ea17.local 54321 typ host generation 0", "is an mDNS name"},
		{"mDNS name ending in a hyphen", "a=candidate:1 1 udp 2122260223 abc-.local 54321 typ host", "is an mDNS name"},
		{"priority overflow", "a=candidate:1 1 UDP 4294967296 10.0.0.1 1 typ host", "priority \"4294967296\""},
		{"priority negative", "a=candidate:1 1 UDP -1 10.0.0.1 1 typ host", "priority \"-1\""},
		{"priority not a number", "a=candidate:1 1 UDP high 10.0.0.1 1 typ host", "priority \"high\""},
		{"component 0", "a=candidate:1 0 UDP 1 10.0.0.1 1 typ host", "component \"0\""},
		{"component 257", "a=candidate:1 257 UDP 1 10.0.0.1 1 typ host", "component \"257\""},
		{"component with plus", "a=candidate:1 +1 UDP 1 10.0.0.1 1 typ host", "component \"+1\""},
		{"port 70000", "a=candidate:1 1 UDP 1 10.0.0.1 70000 typ host", "port: \"70000\""},
		{"port negative", "a=candidate:1 1 UDP 1 10.0.0.1 -9 typ host", "port: \"-9\""},
		{"foundation too long", "a=candidate:" + strings.Repeat("1", 33) + " 1 UDP 1 10.0.0.1 1 typ host", "foundation"},
		{"foundation with dash", "a=candidate:a-b 1 UDP 1 10.0.0.1 1 typ host", "foundation \"a-b\""},
		{"transport unknown", "a=candidate:1 1 SCTP 1 10.0.0.1 1 typ host", "transport \"SCTP\""},
		{"TCP without tcptype", "a=candidate:1 1 TCP 1 10.0.0.1 9 typ host", "no \"tcptype\""},
		{"TCP with bad tcptype", "a=candidate:1 1 TCP 1 10.0.0.1 9 typ host tcptype both", "tcptype \"both\""},
		{"rport too large", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr 10.0.0.1 rport 70000", "rport: \"70000\""},
		{"rport not a number", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr 10.0.0.1 rport x", "rport: \"x\""},
		{"raddr hostname", "a=candidate:4 1 UDP 1 203.0.113.7 61000 typ srflx raddr router.lan rport 5000", "raddr: \"router.lan\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseCandidateSDP(tt.line, 1)
			if err == nil {
				t.Fatalf("parseCandidateSDP(%q) = %+v, want an error", tt.line, got)
			}
			if !errors.Is(err, ErrSDP) {
				t.Errorf("parseCandidateSDP(%q) error %v does not wrap ErrSDP", tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("parseCandidateSDP(%q) error = %q, want it to contain %q", tt.line, err, tt.wantMsg)
			}
			if got != (Candidate{}) {
				t.Errorf("parseCandidateSDP(%q) returned %+v with the error, want the zero Candidate", tt.line, got)
			}
		})
	}
}

func TestParseCandidateSDPErrorQuoteBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 10000)
	_, err := parseCandidateSDP("a=candidate:1 1 UDP 1 "+long+" 1 typ host", 1)
	if err == nil {
		t.Fatal("parseCandidateSDP with a 10000-byte address: got no error")
	}
	if got, max := len(err.Error()), 200; got > max {
		t.Errorf("error message length = %d, want at most %d", got, max)
	}
}

func TestCandidateSDPRoundTrip(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	var cands []Candidate
	for _, s := range twoStreamInput() {
		cands = append(cands, s.Candidates...)
	}
	cands = append(cands, interfacesInput().Candidates...)
	cands = append(cands,
		Candidate{Type: CandidateTypeServerReflexive, Foundation: "4", ComponentID: 1, Priority: 1694498815,
			Addr: ap("203.0.113.7:61000"), Base: ap("192.168.1.20:50959")},
		Candidate{Type: CandidateTypeRelayed, Transport: TransportUDP, Foundation: "7", ComponentID: 2, Priority: 503316734,
			Addr: ap("[2001:db8::9]:49152"), Base: ap("203.0.113.7:61000")},
		Candidate{Type: CandidateTypePeerReflexive, Transport: TransportTCPSO, Foundation: "A+/z", ComponentID: 256, Priority: 4294967295,
			Addr: ap("10.0.0.1:65535"), Base: ap("10.0.0.1:65535")},
		Candidate{Type: CandidateTypeServerReflexive, Transport: TransportTCPPassive, Foundation: "5", ComponentID: 1, Priority: 0,
			Addr: ap("203.0.113.7:61001"), Base: ap("[fe80::1%eth0]:0")},
	)
	for _, c := range cands {
		line := formatCandidateSDP(c)
		t.Run(line, func(t *testing.T) {
			t.Parallel()
			c.StreamID = 5
			got, err := parseCandidateSDP(line, 5)
			if err != nil {
				t.Fatalf("parseCandidateSDP(%q) error: %v", line, err)
			}
			// Port 0 prints as 9; zones are not printed.
			if want := withoutZones(withPort9(c)); got != want {
				t.Errorf("parseCandidateSDP(formatCandidateSDP(c)):\ngot  %+v\nwant %+v", got, want)
			}
			if again := formatCandidateSDP(got); again != line {
				t.Errorf("formatCandidateSDP(parsed) = %q, want %q", again, line)
			}
		})
	}
}

// libniceParsed returns what parseSDP gives for the streams in: the same
// candidates with TCP-active port 9 and no zones, and StreamID 0.
func libniceParsed(in []sdpStream) []parsedStream {
	var out []parsedStream
	for _, s := range in {
		p := parsedStream{Name: s.Name, Ufrag: s.Ufrag, Pwd: s.Pwd}
		for _, c := range s.Candidates {
			p.Candidates = append(p.Candidates, withoutZones(withPort9(c)))
		}
		out = append(out, p)
	}
	return out
}

// browserSDP is a browser-style offer with BUNDLE, session-level ICE
// credentials, extension attributes and a=end-of-candidates in the first
// m-section only, in CRLF.
const browserSDP = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\n" +
	"t=0 0\r\n" +
	"a=group:BUNDLE 0 1\r\n" +
	"a=extmap-allow-mixed\r\n" +
	"a=msid-semantic: WMS\r\n" +
	"a=ice-ufrag:SeSs\r\n" +
	"a=ice-pwd:sessionpasswordsessionpw\r\n" +
	"a=ice-options:trickle\r\n" +
	"m=audio 54321 UDP/TLS/RTP/SAVPF 111\r\n" +
	"c=IN IP4 203.0.113.5\r\n" +
	"a=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=candidate:1467250027 1 udp 2122260223 192.168.1.2 54320 typ host generation 0 network-id 1\r\n" +
	"a=candidate:842163049 1 udp 1677729535 203.0.113.5 54321 typ srflx raddr 192.168.1.2 rport 54320 generation 0 network-id 1 network-cost 10\r\n" +
	"a=candidate:1 1 tcp 1518280447 192.168.1.2 9 typ host tcptype active generation 0\r\n" +
	"a=end-of-candidates\r\n" +
	"a=ice-options:trickle renomination\r\n" +
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\n" +
	"a=mid:0\r\n" +
	"a=sendrecv\r\n" +
	"a=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" +
	"c=IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:ViDe\r\n" +
	"a=mid:1\r\n" +
	"a=candidate:3 1 udp 2122194687 2001:db8::2 54330 typ host generation 0\r\n" +
	"a=rtpmap:96 VP8/90000\r\n"

func TestParseSDP(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	browserCand := func(typ CandidateType, tr Transport, fnd string, prio uint32, addr, base string) Candidate {
		c := Candidate{Type: typ, Transport: tr, Foundation: fnd, ComponentID: 1, Priority: prio, Addr: ap(addr), Base: ap(addr)}
		if base != "" {
			c.Base = ap(base)
		}
		return c
	}
	unnamed := libniceParsed(twoStreamInput()[1:])
	unnamed[0].Name = ""
	tests := []struct {
		name string
		sdp  string
		want []parsedStream
	}{
		{"libnice two streams", libniceTwoStreamSDP, libniceParsed(twoStreamInput())},
		{"libnice two streams in CRLF", strings.ReplaceAll(libniceTwoStreamSDP, "\n", "\r\n"), libniceParsed(twoStreamInput())},
		{"libnice auto-detected interfaces", libniceInterfacesSDP, libniceParsed([]sdpStream{interfacesInput()})},
		{"libnice stream SDP without m= is one stream", string(formatStreamSDP(nil, twoStreamInput()[1], false)), unnamed},
		{"m=- is a stream without a name", string(formatStreamSDP(nil, sdpStream{Ufrag: "u", Pwd: "p"}, true)),
			[]parsedStream{{Ufrag: "u", Pwd: "p"}}},
		{
			"missing a= prefixes and no final newline",
			"m=text 1 ICE/SDP\nice-ufrag:abcd\nice-pwd:0123456789012345678901\ncandidate:1 1 UDP 5 10.0.0.1 4000 typ host\nend-of-candidates",
			[]parsedStream{{Name: "text", Ufrag: "abcd", Pwd: "0123456789012345678901", EndOfCandidates: true,
				Candidates: []Candidate{hostCand("1", 1, TransportUDP, 5, "10.0.0.1:4000")}}},
		},
		{
			"browser offer with BUNDLE and session-level credentials",
			browserSDP,
			[]parsedStream{
				{
					Name: "audio", Ufrag: "SeSs", Pwd: "sessionpasswordsessionpw", EndOfCandidates: true,
					ICEOptions: []string{"trickle", "renomination"},
					Candidates: []Candidate{
						browserCand(CandidateTypeHost, TransportUDP, "1467250027", 2122260223, "192.168.1.2:54320", ""),
						browserCand(CandidateTypeServerReflexive, TransportUDP, "842163049", 1677729535, "203.0.113.5:54321", "192.168.1.2:54320"),
						browserCand(CandidateTypeHost, TransportTCPActive, "1", 1518280447, "192.168.1.2:9", ""),
					},
				},
				{
					Name: "video", Ufrag: "ViDe", Pwd: "sessionpasswordsessionpw", ICEOptions: []string{"trickle"},
					Candidates: []Candidate{
						browserCand(CandidateTypeHost, TransportUDP, "3", 2122194687, "[2001:db8::2]:54330", ""),
					},
				},
			},
		},
		{
			"session-level end-of-candidates applies to every stream",
			"v=0\na=end-of-candidates\nm=audio 9 RTP/AVP 0\nm=video 9 RTP/AVP 96\n",
			[]parsedStream{{Name: "audio", EndOfCandidates: true}, {Name: "video", EndOfCandidates: true}},
		},
		{
			"stream credentials override session ones, last value wins, values trimmed",
			"a=ice-ufrag:sess\na=ice-pwd:sesspwd\nm=a 1 X\na=ice-ufrag:one\na=ice-ufrag: two \r\nm=b 1 X\na=ice-pwd:own\n",
			[]parsedStream{{Name: "a", Ufrag: "two", Pwd: "sesspwd"}, {Name: "b", Ufrag: "sess", Pwd: "own"}},
		},
		{
			"no m= line: session-level lines are the one stream's",
			"v=0\r\na=ice-ufrag:abcd\r\na=ice-pwd:pw\r\na=candidate:1 1 UDP 5 10.0.0.1 4000 typ host\r\na=end-of-candidates\r\n",
			[]parsedStream{{Ufrag: "abcd", Pwd: "pw", EndOfCandidates: true,
				Candidates: []Candidate{hostCand("1", 1, TransportUDP, 5, "10.0.0.1:4000")}}},
		},
		{
			"m= line with no name, blank lines and unknown lines",
			"\n\nm=\nx=unknown\na=ice-lite\n\n",
			[]parsedStream{{}},
		},
		{"only ignored lines", "v=0\no=- 1 1 IN IP4 0.0.0.0\n", []parsedStream{{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSDP(tt.sdp)
			if err != nil {
				t.Fatalf("parseSDP error: %v", err)
			}
			if !equalParsedStreams(got, tt.want) {
				t.Errorf("parseSDP(%q):\ngot  %+v\nwant %+v", tt.sdp, got, tt.want)
			}
		})
	}
}

func TestParseSDPErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		sdp     string
		wantMsg string
	}{
		{"empty", "", "empty SDP"},
		{"blank lines only", "\r\n \n\t\n", "empty SDP"},
		{"candidate before the first m=", "a=candidate:1 1 UDP 5 10.0.0.1 4000 typ host\nm=audio 1 ICE/SDP\n", "line 1: candidate before the first m= line"},
		{"bad candidate gives its line", "m=audio 1 ICE/SDP\na=ice-ufrag:u\na=candidate:1 1 UDP 5 example.com 4000 typ host\n", "line 3: candidate address: \"example.com\""},
		{"bad candidate in a text without m=", "a=ice-ufrag:u\ncandidate:1 1 UDP 5 10.0.0.1 4000 typ HOST\n", "line 2: candidate typ \"HOST\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseSDP(tt.sdp)
			if err == nil {
				t.Fatalf("parseSDP(%q) = %+v, want an error", tt.sdp, got)
			}
			if !errors.Is(err, ErrSDP) {
				t.Errorf("parseSDP(%q) error %v does not wrap ErrSDP", tt.sdp, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("parseSDP(%q) error = %q, want it to contain %q", tt.sdp, err, tt.wantMsg)
			}
			if got != nil {
				t.Errorf("parseSDP(%q) returned %+v with the error, want nil", tt.sdp, got)
			}
		})
	}
}

// equalParsedStreams reports whether a and b are equal, treating nil and
// empty candidate slices alike.
func equalParsedStreams(a, b []parsedStream) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.Ufrag != y.Ufrag || x.Pwd != y.Pwd || x.EndOfCandidates != y.EndOfCandidates ||
			!slices.Equal(x.Candidates, y.Candidates) || (x.ICEOptions == nil) != (y.ICEOptions == nil) ||
			!slices.Equal(x.ICEOptions, y.ICEOptions) {
			return false
		}
	}
	return true
}

// simpleExampleLine is the real line printed by libnice 0.1.21's
// simple-example on 127.0.0.1, with its two leading spaces
// (reference/libnice.md §4). Candidates 2 and 3 are TCP active and passive.
const simpleExampleLine = "  BZps U3Oif0Ir7P/j65bafgcqLE 1,2015364095,127.0.0.1,56251,host 2,1015022591,127.0.0.1,0,host 3,1010828287,127.0.0.1,55113,host"

func TestFormatSimpleLine(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	tests := []struct {
		name  string
		ufrag string
		pwd   string
		cands []Candidate
		want  string
	}{
		{
			"libnice simple-example",
			"BZps", "U3Oif0Ir7P/j65bafgcqLE",
			[]Candidate{
				hostCand("1", 1, TransportUDP, 2015364095, "127.0.0.1:56251"),
				hostCand("2", 1, TransportTCPActive, 1015022591, "127.0.0.1:0"),
				hostCand("3", 1, TransportTCPPassive, 1010828287, "127.0.0.1:55113"),
			},
			strings.TrimLeft(simpleExampleLine, " "),
		},
		{
			"all types, IPv6 zone dropped",
			"u", "p",
			[]Candidate{
				hostCand("7", 1, TransportUDP, 2015363839, "[fe80::1%eth0]:57917"),
				{Type: CandidateTypeServerReflexive, Foundation: "4", Priority: 1694498815, Addr: ap("203.0.113.7:61000"), Base: ap("10.0.0.1:5")},
				{Type: CandidateTypePeerReflexive, Foundation: "5", Priority: 1, Addr: ap("10.0.0.2:1")},
				{Type: CandidateTypeRelayed, Foundation: "6", Priority: 4294967295, Addr: ap("198.51.100.9:49152")},
			},
			"u p 7,2015363839,fe80::1,57917,host 4,1694498815,203.0.113.7,61000,srflx 5,1,10.0.0.2,1,prflx 6,4294967295,198.51.100.9,49152,relay",
		},
		{"no candidates", "u", "p", nil, "u p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatSimpleLine(tt.ufrag, tt.pwd, tt.cands); got != tt.want {
				t.Errorf("FormatSimpleLine() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseSimpleLine(t *testing.T) {
	t.Parallel()
	udp := func(fnd string, prio uint32, addr string, typ CandidateType) Candidate {
		c := hostCand(fnd, 1, TransportUDP, prio, addr)
		c.Type = typ
		return c
	}
	libniceCands := []Candidate{
		udp("1", 2015364095, "127.0.0.1:56251", CandidateTypeHost),
		udp("2", 1015022591, "127.0.0.1:0", CandidateTypeHost),
		udp("3", 1010828287, "127.0.0.1:55113", CandidateTypeHost),
	}
	tests := []struct {
		name      string
		line      string
		wantUfrag string
		wantPwd   string
		wantCands []Candidate
	}{
		{"libnice simple-example", simpleExampleLine + "\n", "BZps", "U3Oif0Ir7P/j65bafgcqLE", libniceCands},
		{"tabs, runs of spaces and CRLF", "\tBZps \t U3Oif0Ir7P/j65bafgcqLE  1,2015364095,127.0.0.1,56251,host\t2,1015022591,127.0.0.1,0,host 3,1010828287,127.0.0.1,55113,host\r\n",
			"BZps", "U3Oif0Ir7P/j65bafgcqLE", libniceCands},
		{"all types and an IPv6 zone", testCreds + " 4,1694498815,203.0.113.7,61000,srflx 5,1,fe80::1%eth0,1,prflx 6,4294967295,198.51.100.9,65535,relay", "uuuu", "pppppppppppppppppppppp",
			[]Candidate{
				udp("4", 1694498815, "203.0.113.7:61000", CandidateTypeServerReflexive),
				udp("5", 1, "[fe80::1]:1", CandidateTypePeerReflexive),
				udp("6", 4294967295, "198.51.100.9:65535", CandidateTypeRelayed),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ufrag, pwd, cands, err := ParseSimpleLine(tt.line)
			if err != nil {
				t.Fatalf("ParseSimpleLine(%q) error: %v", tt.line, err)
			}
			if ufrag != tt.wantUfrag || pwd != tt.wantPwd {
				t.Errorf("ParseSimpleLine(%q) ufrag, pwd = %q, %q, want %q, %q", tt.line, ufrag, pwd, tt.wantUfrag, tt.wantPwd)
			}
			if !slices.Equal(cands, tt.wantCands) {
				t.Errorf("ParseSimpleLine(%q) candidates:\ngot  %+v\nwant %+v", tt.line, cands, tt.wantCands)
			}
		})
	}
}

// testCreds is the shortest ufrag and password a simple line accepts.
const testCreds = "uuuu pppppppppppppppppppppp"

func TestParseSimpleLineErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		line    string
		wantMsg string
	}{
		{"empty", "", "no ufrag"},
		{"white space only", " \t\n", "no ufrag"},
		{"ufrag only", "uuuu\n", "no password"},
		{"no candidate", testCreds + "\n", "no candidate"},
		{"candidate as the password", "uuuu 1,2,10.0.0.1,4,host", "second word \"1,2,10.0.0.1,4,host\" is not a password"},
		{"garbage password", "uuuu hello 1,2,10.0.0.1,4,host", "second word \"hello\" is not a password"},
		{"short ufrag", "u " + strings.Repeat("p", 22) + " 1,2,10.0.0.1,4,host", "first word \"u\" is not a ufrag"},
		{"password with a comma", "uuuu " + strings.Repeat("p", 21) + ", 1,2,10.0.0.1,4,host", "is not a password"},
		{"four fields", testCreds + " 1,2,10.0.0.1,4", "candidate 1: \"1,2,10.0.0.1,4\" does not have the 5 fields"},
		{"six fields", testCreds + " 1,2,10.0.0.1,4,host,x", "does not have the 5 fields"},
		{"second candidate bad", testCreds + " 1,2,10.0.0.1,4,host 1,2,10.0.0.1,4,HOST", "candidate 2: type \"HOST\""},
		{"bad type", testCreds + " 1,2,10.0.0.1,4,local", "type \"local\""},
		{"hostname", testCreds + " 1,2,example.com,4,host", "address: \"example.com\" is not a numeric IP"},
		{"priority overflow", testCreds + " 1,4294967296,10.0.0.1,4,host", "priority \"4294967296\""},
		{"priority empty", testCreds + " 1,,10.0.0.1,4,host", "priority \"\""},
		{"port 70000", testCreds + " 1,2,10.0.0.1,70000,host", "port: \"70000\""},
		{"empty foundation", testCreds + " ,2,10.0.0.1,4,host", "foundation \"\""},
		{"foundation too long", testCreds + " " + strings.Repeat("f", 33) + ",2,10.0.0.1,4,host", "foundation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ufrag, pwd, cands, err := ParseSimpleLine(tt.line)
			if err == nil {
				t.Fatalf("ParseSimpleLine(%q) = %q, %q, %+v, want an error", tt.line, ufrag, pwd, cands)
			}
			if !errors.Is(err, ErrSDP) {
				t.Errorf("ParseSimpleLine(%q) error %v does not wrap ErrSDP", tt.line, err)
			}
			if !strings.HasPrefix(err.Error(), "nice: malformed simple-example line: ") {
				t.Errorf("ParseSimpleLine(%q) error = %q, want it to say \"malformed simple-example line\"", tt.line, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParseSimpleLine(%q) error = %q, want it to contain %q", tt.line, err, tt.wantMsg)
			}
			if ufrag != "" || pwd != "" || cands != nil {
				t.Errorf("ParseSimpleLine(%q) returned %q, %q, %+v with the error, want zero values", tt.line, ufrag, pwd, cands)
			}
		})
	}
}

func TestSimpleLineRoundTrip(t *testing.T) {
	t.Parallel()
	_, _, cands, err := ParseSimpleLine(simpleExampleLine)
	if err != nil {
		t.Fatalf("ParseSimpleLine error: %v", err)
	}
	line := FormatSimpleLine("BZps", "U3Oif0Ir7P/j65bafgcqLE", cands)
	if want := strings.TrimLeft(simpleExampleLine, " "); line != want {
		t.Errorf("FormatSimpleLine(ParseSimpleLine(line)) = %q, want %q", line, want)
	}
}

// TestParseSDPMDNS: a browser's mDNS host candidate is kept with its name
// (Hostname) and port; a ".local" name that is not a valid mDNS name is
// skipped and the rest of the SDP kept; an mDNS related address is ignored.
func TestParseSDPMDNS(t *testing.T) {
	t.Parallel()
	sdp := "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n" +
		"a=candidate:1 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host\r\n" +
		"a=candidate:3 1 udp 2122260223 not_valid.local 54322 typ host\r\n" +
		"a=candidate:2 1 udp 1686052607 203.0.113.7 61000 typ srflx raddr x.local rport 5000\r\n"
	got, err := parseSDP(sdp)
	if err != nil {
		t.Fatalf("parseSDP: %v", err)
	}
	if len(got) != 1 || len(got[0].Candidates) != 2 {
		t.Fatalf("parseSDP = %+v, want one stream with the mDNS and the srflx candidate", got)
	}
	m := got[0].Candidates[0]
	if m.Hostname != "1f4712db-ea17-4bcf-a596-105139dfd8bf.local" || m.Addr.Addr().IsValid() || m.Addr.Port() != 54321 || m.Type != CandidateTypeHost {
		t.Errorf("mDNS candidate = %+v", m)
	}
	if line := formatCandidateSDP(m); line != "a=candidate:1 1 UDP 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host" {
		t.Errorf("formatCandidateSDP = %q", line)
	}
	c := got[0].Candidates[1]
	if c.Type != CandidateTypeServerReflexive || c.Base != c.Addr {
		t.Errorf("candidate = %+v, want srflx with Base = Addr (mDNS raddr ignored)", c)
	}
}
