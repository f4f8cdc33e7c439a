// SPDX-License-Identifier: MIT

package stunx

import (
	"bytes"
	"testing"

	"github.com/pion/stun"
)

func TestBindingRequestUsername(t *testing.T) {
	req := func(setters ...stun.Setter) []byte {
		return stun.MustBuild(append([]stun.Setter{stun.BindingRequest, stun.TransactionID}, setters...)...).Raw
	}
	cases := []struct {
		name          string
		b             []byte
		local, remote string
		ok            bool
	}{
		{"check", req(stun.NewUsername("srvU:cliU"), UseCandidate{}, stun.NewShortTermIntegrity("pwd"), stun.Fingerprint), "srvU", "cliU", true},
		{"attribute before it", req(Priority(7), stun.NewUsername("a:bcd"), stun.NewShortTermIntegrity("pwd")), "a", "bcd", true},
		{"odd length padded", req(stun.RawAttribute{Type: 0x8022, Value: []byte("x")}, stun.NewUsername("abc:de")), "abc", "de", true},
		{"empty halves", req(stun.NewUsername(":")), "", "", true},
		{"RFC 5769 request", rfc5769Request, "evtj", "h6vY", true},
		{"no colon", req(stun.NewUsername("abcd")), "", "", false},
		{"no username", req(Priority(7)), "", "", false},
		{"after integrity", req(stun.NewShortTermIntegrity("pwd"), stun.NewUsername("a:b")), "", "", false},
		{"response", stun.MustBuild(stun.BindingSuccess, stun.TransactionID, stun.NewUsername("a:b")).Raw, "", "", false},
		{"indication", stun.MustBuild(stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.TransactionID, stun.NewUsername("a:b")).Raw, "", "", false},
		{"allocate", stun.MustBuild(stun.NewType(stun.MethodAllocate, stun.ClassRequest), stun.TransactionID, stun.NewUsername("a:b")).Raw, "", "", false},
		{"not STUN", []byte("hello, this is not a STUN message"), "", "", false},
		{"empty", nil, "", "", false},
	}
	for _, tc := range cases {
		local, remote, ok := BindingRequestUsername(tc.b)
		if ok != tc.ok || string(local) != tc.local || string(remote) != tc.remote {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.name, local, remote, ok, tc.local, tc.remote, tc.ok)
		}
	}
	// An attribute whose length runs past the end.
	b := req(stun.NewUsername("abcd:efgh"))
	b[HeaderSize+3] = 200
	if _, _, ok := BindingRequestUsername(b); ok {
		t.Error("an attribute running past the end was accepted")
	}
	if n := testing.AllocsPerRun(100, func() { BindingRequestUsername(cases[0].b) }); n != 0 {
		t.Errorf("%v allocations per call, want 0", n)
	}
}

// FuzzBindingRequestUsername holds BindingRequestUsername to pion's
// decoder: whatever it finds, pion finds the same USERNAME in a Binding
// request, and it never reads outside b.
func FuzzBindingRequestUsername(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		data = withCookie(data)
		local, remote, ok := BindingRequestUsername(data)
		if !ok {
			return
		}
		m := &stun.Message{Raw: append([]byte(nil), data...)}
		if err := m.Decode(); err != nil {
			return // pion is stricter on some framing; nothing to compare
		}
		if m.Type != stun.BindingRequest {
			t.Fatalf("accepted a %v", m.Type)
		}
		u, err := m.Get(stun.AttrUsername)
		if err != nil {
			t.Fatalf("found %q:%q, pion finds no USERNAME: %v", local, remote, err)
		}
		want := append(append(append([]byte(nil), local...), ':'), remote...)
		if !bytes.Equal(u, want) {
			t.Fatalf("found %q:%q, pion finds %q", local, remote, u)
		}
	})
}
