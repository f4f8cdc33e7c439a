// SPDX-License-Identifier: MIT

package dtlssrtp_test

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // RFC 8122 fingerprints in sha-1 are accepted from peers
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"github.com/gonice/gonice/nice/dtlssrtp"
)

func TestFingerprint(t *testing.T) {
	c, err := dtlssrtp.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	fp := c.Fingerprint()
	der := c.TLS().Certificate[0]
	if want := sha256.Sum256(der); fp.Hash != "sha-256" || !bytes.Equal(fp.Digest, want[:]) {
		t.Fatalf("Fingerprint = %v", fp)
	}
	s := fp.String()
	if !strings.HasPrefix(s, "sha-256 ") || len(s) != len("sha-256 ")+32*3-1 || strings.ToUpper(s[8:]) != s[8:] {
		t.Fatalf("String = %q", s)
	}
	back, err := dtlssrtp.ParseFingerprint(s)
	if err != nil || back.String() != s {
		t.Fatalf("ParseFingerprint(%q) = %v, %v", s, back, err)
	}
	// The peer's fingerprint in other hashes and letter cases (RFC 8122).
	s1 := sha1.Sum(der)
	s384 := sha512.Sum384(der)
	s512 := sha512.Sum512(der)
	for name, d := range map[string][]byte{"SHA-1": s1[:], "sha-384": s384[:], "Sha-512": s512[:]} {
		v := dtlssrtp.Fingerprint{Hash: "x", Digest: d}.String()[2:]
		f, err := dtlssrtp.ParseFingerprint(name + " " + strings.ToLower(v))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, err := dtlssrtp.FingerprintOf(der, f.Hash)
		if err != nil || !bytes.Equal(g.Digest, d) {
			t.Fatalf("%s: FingerprintOf = %v, %v", name, g, err)
		}
	}
	for _, bad := range []string{
		"", "sha-256", "sha-256 ", "md2 00:11", "sha-256 00:11", "sha-1 " + strings.Repeat("0:", 19) + "0",
		"sha-1 " + strings.Repeat("00:", 19) + "0g", "foo 00", "sha-1 " + strings.Repeat("00:", 20),
	} {
		if _, err := dtlssrtp.ParseFingerprint(bad); !errors.Is(err, dtlssrtp.ErrFingerprint) {
			t.Errorf("ParseFingerprint(%q) = %v; want ErrFingerprint", bad, err)
		}
	}
}

// An application's own certificate is taken; one without a key or DER
// data is refused.
func TestNewCertificate(t *testing.T) {
	c, err := dtlssrtp.GenerateCertificate()
	if err != nil {
		t.Fatal(err)
	}
	own, err := dtlssrtp.NewCertificate(c.TLS())
	if err != nil || own.Fingerprint().String() != c.Fingerprint().String() {
		t.Fatalf("NewCertificate = %v, %v", own, err)
	}
	noKey := c.TLS()
	noKey.PrivateKey = nil
	for name, bad := range map[string]tls.Certificate{"empty": {}, "no key": noKey,
		"bad DER": {Certificate: [][]byte{{1, 2, 3}}, PrivateKey: c.TLS().PrivateKey}} {
		if _, err := dtlssrtp.NewCertificate(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSetup(t *testing.T) {
	A, P, X := dtlssrtp.SetupActive, dtlssrtp.SetupPassive, dtlssrtp.SetupActpass
	for _, c := range []struct {
		offer, answer dtlssrtp.Setup
	}{{X, A}, {A, P}, {P, A}} {
		got, err := dtlssrtp.Answer(c.offer)
		if err != nil || got != c.answer {
			t.Errorf("Answer(%s) = %s, %v; want %s", c.offer, got, err, c.answer)
		}
		// Offerer and answerer end up in opposite roles.
		ro, err1 := dtlssrtp.RoleOf(c.offer, got)
		ra, err2 := dtlssrtp.RoleOf(got, c.offer)
		if err1 != nil || err2 != nil || ro == ra {
			t.Errorf("offer %s / answer %s: roles %v, %v (%v, %v)", c.offer, got, ro, ra, err1, err2)
		}
	}
	for _, c := range [][2]dtlssrtp.Setup{{A, A}, {P, P}, {X, X}} {
		if _, err := dtlssrtp.RoleOf(c[0], c[1]); err == nil {
			t.Errorf("RoleOf(%s, %s) succeeded", c[0], c[1])
		}
	}
	if s, err := dtlssrtp.ParseSetup(" ActPass "); err != nil || s != X {
		t.Errorf("ParseSetup = %q, %v", s, err)
	}
	for _, bad := range []string{"", "holdconn", "act"} {
		if _, err := dtlssrtp.ParseSetup(bad); err == nil {
			t.Errorf("ParseSetup(%q) succeeded", bad)
		}
	}
	if _, err := dtlssrtp.Answer("holdconn"); err == nil {
		t.Error("Answer(holdconn) succeeded")
	}
}

func TestClassify(t *testing.T) {
	rtp := rtpPacket(12, 96, 1, 1)
	rtcp := rtcpPacket(1, 0)
	for _, c := range []struct {
		p    []byte
		want dtlssrtp.Kind
	}{
		{nil, dtlssrtp.KindOther},
		{[]byte{0, 1}, dtlssrtp.KindSTUN},
		{[]byte{22, 0xfe, 0xfd}, dtlssrtp.KindDTLS},
		{[]byte{20}, dtlssrtp.KindDTLS},
		{[]byte{63}, dtlssrtp.KindDTLS},
		{[]byte{64}, dtlssrtp.KindOther}, // TURN channel
		{[]byte{16}, dtlssrtp.KindOther}, // ZRTP
		{rtp, dtlssrtp.KindRTP},
		{rtp[:11], dtlssrtp.KindOther},
		{rtcp, dtlssrtp.KindRTCP},
		{rtcp[:7], dtlssrtp.KindOther},
		{[]byte{0x80, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, dtlssrtp.KindRTP}, // PT 96 with marker
		{[]byte{0x80, 0xdf, 0, 0, 0, 0, 0, 0}, dtlssrtp.KindRTCP},            // 223
		{[]byte{192, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, dtlssrtp.KindOther},   // version 3
	} {
		if got := dtlssrtp.Classify(c.p); got != c.want {
			t.Errorf("Classify(% x) = %v; want %v", c.p, got, c.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(rtcpPacket(1, 0))
	f.Add([]byte{22, 0xfe, 0xfd})
	f.Add([]byte{0, 1, 0, 0})
	f.Fuzz(func(t *testing.T, p []byte) {
		k := dtlssrtp.Classify(p)
		switch {
		case k == dtlssrtp.KindRTP && len(p) < 12, k == dtlssrtp.KindRTCP && len(p) < 8:
			t.Fatalf("%v shorter than its header", k)
		case k != dtlssrtp.KindOther && k.String() == "":
			t.Fatal("no name")
		}
	})
}

func FuzzParseFingerprint(f *testing.F) {
	f.Add("sha-256 " + strings.Repeat("AB:", 31) + "CD")
	f.Add("sha-1 " + strings.Repeat("00:", 19) + "ff")
	f.Add("SHA-512 00")
	f.Fuzz(func(t *testing.T, s string) {
		fp, err := dtlssrtp.ParseFingerprint(s)
		if err != nil {
			return
		}
		// What parses prints back to something that parses the same.
		again, err := dtlssrtp.ParseFingerprint(fp.String())
		if err != nil || again.Hash != fp.Hash || !bytes.Equal(again.Digest, fp.Digest) {
			t.Fatalf("%q → %v → %v, %v", s, fp, again, err)
		}
	})
}

func FuzzParseSetup(f *testing.F) {
	for _, s := range []string{"actpass", "active", "passive", "holdconn", " PASSIVE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := dtlssrtp.ParseSetup(s)
		if err != nil {
			return
		}
		a, err := dtlssrtp.Answer(v)
		if err != nil {
			t.Fatalf("Answer(%s): %v", v, err)
		}
		if _, err := dtlssrtp.RoleOf(a, v); err != nil {
			t.Fatalf("RoleOf(%s, %s): %v", a, v, err)
		}
	})
}
