// SPDX-License-Identifier: MIT

package webrtc

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gonice/gonice/nice/dtlssrtp"
)

func testLocal(t testing.TB) *local {
	c, err := dtlssrtp.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return &local{ufrag: "abcd", pwd: "0123456789abcdefghijkl", fingerprint: c.Fingerprint(),
		setup: dtlssrtp.SetupActive, rtcpMux: true, trickle: true,
		candidates: []string{"candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host"}, endOfCands: true}
}

// An offer made here parses back to what was put in.
func TestOfferRoundTrip(t *testing.T) {
	l := testLocal(t)
	l.setup = dtlssrtp.SetupActpass
	s, err := buildOffer(l, DefaultCodecs)
	if err != nil {
		t.Fatal(err)
	}
	d, err := parseDescription(s)
	if err != nil {
		t.Fatalf("%v\n%s", err, s)
	}
	if d.ufrag != l.ufrag || d.pwd != l.pwd || d.setup != l.setup || !d.rtcpMux || !d.endOfCands ||
		!slices.Equal(d.candidates, l.candidates) || len(d.fingerprints) != 1 || d.fingerprints[0].String() != l.fingerprint.String() {
		t.Fatalf("parsed %+v\n%s", d, s)
	}
	if len(d.media) != 2 || d.media[0].kind != "audio" || d.media[1].kind != "video" || d.media[0].midExtID != 1 {
		t.Fatalf("media %+v", d.media)
	}
}

func TestParseDescriptionErrors(t *testing.T) {
	offer, err := os.ReadFile("testdata/chromium156-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	drop := func(prefix string) string {
		var out []string
		for _, line := range strings.Split(string(offer), "\r\n") {
			if !strings.HasPrefix(line, prefix) {
				out = append(out, line)
			}
		}
		return strings.Join(out, "\r\n")
	}
	for name, s := range map[string]string{
		"garbage":        "hello",
		"no ufrag":       drop("a=ice-ufrag"),
		"no pwd":         drop("a=ice-pwd"),
		"no fingerprint": drop("a=fingerprint"),
		"bad setup":      strings.ReplaceAll(string(offer), "a=setup:actpass", "a=setup:holdconn"),
		"all rejected":   strings.ReplaceAll(strings.ReplaceAll(string(offer), "m=audio 41255", "m=audio 0"), "m=video 53930", "m=video 0"),
	} {
		if _, err := parseDescription(s); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func TestEmitter(t *testing.T) {
	var got []Event
	var e emitter
	e.fn = func(ev Event, _ string) {
		got = append(got, ev)
		if ev == ConnInitial {
			e.emit(ConnStarted, "") // from a handler: queued, delivered after it returns
		}
	}
	e.emit(ConnInitial, "")
	e.emit(ConnFailed, "x")
	e.emit(ConnReady, "") // after FAILED: dropped
	e.emit(ConnFinished, "")
	e.emit(ConnFailed, "") // after FINISHED: dropped
	if want := []Event{ConnInitial, ConnStarted, ConnFailed, ConnFinished}; !slices.Equal(got, want) {
		t.Fatalf("%v; want %v", got, want)
	}
	if ConnSDPProcessed.String() != "CONN_SDP_PROCESSED" || Event(7).String() != "Event(7)" {
		t.Fatal("names")
	}
}

// FuzzParseDescription: no input panics; what parses can be answered, and
// an answer with a media line parses again.
func FuzzParseDescription(f *testing.F) {
	if offer, err := os.ReadFile("testdata/chromium156-offer.sdp"); err == nil {
		f.Add(string(offer))
	}
	l := testLocal(f)
	l.setup = dtlssrtp.SetupActpass
	if s, err := buildOffer(l, DefaultCodecs); err == nil {
		f.Add(s)
	}
	f.Add("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")
	l = testLocal(f)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseDescription(s)
		if err != nil {
			return
		}
		ans, n, err := buildAnswer(l, d, DefaultCodecs)
		if err != nil || n == 0 {
			return
		}
		if _, err := parseDescription(ans); err != nil {
			t.Fatalf("answer does not parse: %v\n%s", err, ans)
		}
	})
}
