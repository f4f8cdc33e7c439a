// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// candidateSeeds are candidate lines for the fuzz corpora: libnice's own
// output, browser lines and edge cases of the parser.
var candidateSeeds = []string{
	"a=candidate:1 1 UDP 2015364095 127.0.0.1 50959 typ host",
	"a=candidate:2 1 TCP 1015022591 127.0.0.1 9 typ host tcptype active",
	"a=candidate:3 2 TCP 1010828286 127.0.0.1 41675 typ host tcptype passive",
	"a=candidate:7 1 UDP 2015363839 fe80::fc:ff:fe00:1 57917 typ host",
	"a=candidate:4 1 UDP 1694498815 203.0.113.7 61000 typ srflx raddr 192.168.1.20 rport 50959",
	"a=candidate:7 2 UDP 503316734 198.51.100.9 49152 typ relay raddr 203.0.113.7 rport 61000",
	"candidate:842163049 1 udp 1677729535 203.0.113.5 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag EsAw network-id 1 network-cost 10",
	"candidate:1 1 udp 2122260223 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host generation 0",
	"a=candidate:1 1 TCP-SO 1 10.0.0.1 0 typ prflx tcptype active\r",
	"a=candidate:1 0256 tcp 4294967295 fe80::1%eth0 65535 typ host tcptype So generation",
	"a=candidate:1 1 UDP 1 10.0.0.1 0 typ srflx raddr 10.0.0.1 rport 9",
	"a=candidate:1 1 UDP 1 ::ffff:10.0.0.1 1 typ host",
	"a=candidate:1 1 UDP 1 10.0.0.1 1 typ",
	"a=candidate:9 1 udp 1686052607 Host-1.sub.LOCAL 0 typ srflx raddr 10.0.0.1 rport 7",
	"a=candidate:9 1 udp 1 -bad.local 1 typ host",
	"",
}

// FuzzParseCandidateSDP checks that parseCandidateSDP never panics, that its
// errors wrap ErrSDP, that what it accepts is valid, and that printing a
// parsed candidate and parsing it again gives the same candidate (with port 0
// printed, and so parsed back, as 9) and the same text.
func FuzzParseCandidateSDP(f *testing.F) {
	for _, s := range candidateSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseCandidateSDP(line, 7)
		if err != nil {
			if !errors.Is(err, ErrSDP) {
				t.Fatalf("parseCandidateSDP(%q) error %v does not wrap ErrSDP", line, err)
			}
			return
		}
		checkParsedCandidate(t, c, 7)
		text := formatCandidateSDP(c)
		again, err := parseCandidateSDP(text, 7)
		if err != nil {
			t.Fatalf("parseCandidateSDP(formatCandidateSDP(%+v) = %q) error: %v", c, text, err)
		}
		if want := withPort9(c); again != want {
			t.Fatalf("round trip of %q via %q:\ngot  %+v\nwant %+v", line, text, again, want)
		}
		// The text is stable too, except that a base that differed from the
		// address only by a port of 0 against 9 loses its raddr on the way.
		text2 := formatCandidateSDP(again)
		if text2 != text && c.Addr.Port() != 0 && c.Base.Port() != 0 {
			t.Fatalf("formatCandidateSDP not stable: %q, then %q", text, text2)
		}
		if c3, err := parseCandidateSDP(text2, 7); err != nil || formatCandidateSDP(c3) != text2 {
			t.Fatalf("formatCandidateSDP not stable after two rounds: %q, then %+v, %v", text2, c3, err)
		}
	})
}

// checkParsedCandidate fails t when c breaks an invariant that
// parseCandidateSDP promises.
func checkParsedCandidate(t *testing.T, c Candidate, streamID int) {
	t.Helper()
	switch {
	case c.StreamID != streamID:
		t.Fatalf("StreamID = %d, want %d", c.StreamID, streamID)
	case c.ComponentID < 1 || c.ComponentID > sdpMaxComponentID:
		t.Fatalf("ComponentID = %d, want 1..%d", c.ComponentID, sdpMaxComponentID)
	case !sdpValidFoundation(c.Foundation):
		t.Fatalf("Foundation %q is not 1..32 ice-chars", c.Foundation)
	case c.Hostname != "" && (!validMDNSName(c.Hostname) || c.Addr.Addr().IsValid()):
		t.Fatalf("Hostname %q with Addr %v", c.Hostname, c.Addr)
	case c.Hostname == "" && (!c.Addr.IsValid() || c.Addr.Addr().Zone() != ""):
		t.Fatalf("Addr %v is invalid or has a zone", c.Addr)
	case c.Hostname == "" && (!c.Base.IsValid() || c.Base.Addr().Zone() != ""):
		t.Fatalf("Base %v is invalid or has a zone", c.Base)
	case c.Base.Addr().Zone() != "":
		t.Fatalf("Base %v has a zone", c.Base)
	case c.Type < CandidateTypeHost || c.Type > CandidateTypeRelayed:
		t.Fatalf("Type = %d, out of range", c.Type)
	case c.Transport < TransportUDP || c.Transport > TransportTCPSO:
		t.Fatalf("Transport = %d, out of range", c.Transport)
	}
}

// FuzzParseSDP checks that parseSDP never panics, that its errors wrap
// ErrSDP, and that printing the parsed streams with formatStreamSDP (plus
// a=end-of-candidates where set) and parsing that again gives the same
// streams.
func FuzzParseSDP(f *testing.F) {
	f.Add(libniceTwoStreamSDP)
	f.Add(strings.ReplaceAll(libniceTwoStreamSDP, "\n", "\r\n"))
	f.Add(libniceInterfacesSDP)
	f.Add(browserSDP)
	f.Add("a=ice-ufrag:u\na=ice-pwd:p\na=candidate:1 1 UDP 5 10.0.0.1 4000 typ host\n")
	f.Add("v=0\na=end-of-candidates\nm=audio 9 RTP/AVP 0\nice-ufrag: x \nm=\nm=-\n")
	f.Add("a=candidate:1 1 UDP 5 10.0.0.1 4000 typ host\nm=audio 1 ICE/SDP\n")
	f.Add("")
	f.Add("a=ice-options:trickle\nm=a 1 X\na=ice-options:\nm=b 1 X\na=ice-options:renomination  ice2\na=ice-options:x\n")
	for _, s := range candidateSeeds {
		f.Add("m=x 1 ICE/SDP\n" + s + "\n")
	}
	f.Fuzz(func(t *testing.T, sdp string) {
		streams, err := parseSDP(sdp)
		if err != nil {
			if !errors.Is(err, ErrSDP) {
				t.Fatalf("parseSDP error %v does not wrap ErrSDP", err)
			}
			if streams != nil {
				t.Fatalf("parseSDP returned %d streams with an error", len(streams))
			}
			return
		}
		if len(streams) == 0 {
			t.Fatal("parseSDP returned no stream and no error")
		}
		var b []byte
		for _, s := range streams {
			for _, c := range s.Candidates {
				checkParsedCandidate(t, c, 0)
			}
			b = formatStreamSDP(b, sdpStream{Name: s.Name, Ufrag: s.Ufrag, Pwd: s.Pwd, Candidates: s.Candidates, ICEOptions: s.ICEOptions}, true)
			if s.EndOfCandidates {
				b = append(b, "a=end-of-candidates\n"...)
			}
		}
		again, err := parseSDP(string(b))
		if err != nil {
			t.Fatalf("parseSDP of the re-printed SDP %q error: %v", b, err)
		}
		want := make([]parsedStream, len(streams))
		for i, s := range streams {
			want[i] = s
			want[i].Candidates = nil
			for _, c := range s.Candidates {
				want[i].Candidates = append(want[i].Candidates, withPort9(c))
			}
		}
		if !equalParsedStreams(again, want) {
			t.Fatalf("round trip via %q:\ngot  %+v\nwant %+v", b, again, want)
		}
	})
}

// FuzzParseSimpleLine checks that ParseSimpleLine never panics, that its
// errors wrap ErrSDP, and that FormatSimpleLine of what it parsed parses back
// to the same values.
func FuzzParseSimpleLine(f *testing.F) {
	f.Add(simpleExampleLine + "\n")
	f.Add(testCreds + " 4,1694498815,203.0.113.7,61000,srflx 5,1,fe80::1%eth0,1,prflx 6,4294967295,198.51.100.9,65535,relay")
	f.Add("\tuuuu \t pppppppppppppppppppppp  1,2,10.0.0.1,4,host\r\n")
	f.Add(testCreds + " 1,2,10.0.0.1,4,host,x")
	f.Add("uuuu 1,2,10.0.0.1,4,host")
	f.Add("u p")
	f.Add("")
	f.Fuzz(func(t *testing.T, line string) {
		ufrag, pwd, cands, err := ParseSimpleLine(line)
		if err != nil {
			if !errors.Is(err, ErrSDP) {
				t.Fatalf("ParseSimpleLine(%q) error %v does not wrap ErrSDP", line, err)
			}
			return
		}
		if ufrag == "" || pwd == "" || len(cands) == 0 {
			t.Fatalf("ParseSimpleLine(%q) = %q, %q, %d candidates and no error", line, ufrag, pwd, len(cands))
		}
		for _, c := range cands {
			checkParsedCandidate(t, c, 0)
			if c.ComponentID != 1 || c.Transport != TransportUDP || c.Base != c.Addr {
				t.Fatalf("ParseSimpleLine(%q) candidate %+v: want a UDP candidate of component 1 with Base = Addr", line, c)
			}
		}
		text := FormatSimpleLine(ufrag, pwd, cands)
		u2, p2, c2, err := ParseSimpleLine(text)
		if err != nil {
			t.Fatalf("ParseSimpleLine(FormatSimpleLine(...) = %q) error: %v", text, err)
		}
		if u2 != ufrag || p2 != pwd || !slices.Equal(c2, cands) {
			t.Fatalf("round trip of %q via %q: got %q, %q, %+v, want %q, %q, %+v", line, text, u2, p2, c2, ufrag, pwd, cands)
		}
	})
}

// TestWithPort9 checks the helper that the round-trip checks rely on.
func TestWithPort9(t *testing.T) {
	t.Parallel()
	c := Candidate{Addr: netip.MustParseAddrPort("10.0.0.1:0"), Base: netip.MustParseAddrPort("10.0.0.2:0")}
	got := withPort9(c)
	if got.Addr.Port() != 9 || got.Base.Port() != 9 {
		t.Errorf("withPort9(%+v) = %+v, want ports 9", c, got)
	}
}
