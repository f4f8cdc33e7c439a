// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"strings"
	"testing"
)

// TestSDPViewHidden: with MDNSHostNames a hidden host candidate shows its
// name and no address, and another candidate's related address is
// 0.0.0.0; without, candidates show as they are.
func TestSDPViewHidden(t *testing.T) {
	host := Candidate{Type: CandidateTypeHost, Addr: netip.MustParseAddrPort("192.168.1.2:5000"), Priority: 1, Foundation: "1", ComponentID: 1,
		Hostname: "0b8bd3b5-8f5f-4e0c-9e5b-2c1a5f0e9a11.local"}
	host.Base = host.Addr
	srflx := Candidate{Type: CandidateTypeServerReflexive, Addr: netip.MustParseAddrPort("203.0.113.9:6000"), Base: host.Addr, Priority: 1, Foundation: "2", ComponentID: 1}
	a := &Agent{cfg: Config{MDNSHostNames: true}}
	if got := formatCandidateSDP(a.sdpView(host)); got != "a=candidate:1 1 UDP 1 "+host.Hostname+" 5000 typ host" {
		t.Errorf("hidden host = %q", got)
	}
	got := formatCandidateSDP(a.sdpView(srflx))
	if strings.Contains(got, "192.168.1.2") || !strings.Contains(got, "raddr 0.0.0.0") {
		t.Errorf("srflx = %q, want raddr 0.0.0.0", got)
	}
	b := formatStreamSDP(nil, sdpStream{Ufrag: "u", Pwd: "p", Candidates: []Candidate{a.sdpView(host)}}, true)
	if strings.Contains(string(b), "192.168.1.2") || !strings.Contains(string(b), "c=IN IP4 0.0.0.0") {
		t.Errorf("stream SDP leaks the address:\n%s", b)
	}
	plain := &Agent{}
	if got := formatCandidateSDP(plain.sdpView(srflx)); !strings.Contains(got, "raddr 192.168.1.2") {
		t.Errorf("without MDNSHostNames srflx = %q", got)
	}
}
