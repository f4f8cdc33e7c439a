// SPDX-License-Identifier: MIT

package nice

import "testing"

// TestCandidatePriority checks libnice's formula (RFC 8445 §5.1.2.1) against
// priorities libnice 0.1.21 really printed (reference/libnice.md §1.6, §2.1).
func TestCandidatePriority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		typ       CandidateType
		addrIndex int
		turnIndex int
		component int
		want      uint32
	}{
		{"UDP host, first address, component 1", CandidateTypeHost, 0, 0, 1, 2015363327},
		{"UDP host, first address, component 2", CandidateTypeHost, 0, 0, 2, 2015363326},
		{"UDP host, 127.0.0.1 as 4th address", CandidateTypeHost, 3, 0, 1, 2015364095},
		{"UDP host, 4th address, component 2", CandidateTypeHost, 3, 0, 2, 2015364094},
		{"UDP host, second address (fd00::2)", CandidateTypeHost, 1, 0, 1, 2015363583},
		{"UDP host, third address (fe80::)", CandidateTypeHost, 2, 0, 1, 2015363839},
		{"srflx", CandidateTypeServerReflexive, 0, 0, 1, 100<<24 + 8192<<8 + 255},
		{"prflx", CandidateTypePeerReflexive, 0, 0, 1, 110<<24 + 8192<<8 + 255},
		{"relay via second TURN server", CandidateTypeRelayed, 0, 1, 1, 30<<24 + (8192+64)<<8 + 255},
	}
	for _, tt := range tests {
		got := candidatePriority(tt.typ, udpLocalPreference(tt.addrIndex, tt.turnIndex), tt.component)
		if got != tt.want {
			t.Errorf("%s: priority = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestPairPriority checks RFC 8445 §6.1.2.3:
// 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0).
func TestPairPriority(t *testing.T) {
	t.Parallel()
	tests := []struct {
		g, d uint32
		want uint64
	}{
		{1, 1, 1<<32 + 2},
		{2, 1, 1<<32 + 4 + 1},
		{1, 2, 1<<32 + 4},
		{1<<31 - 1, 1<<31 - 1, (1<<31-1)<<32 + 2*(1<<31-1)}, // RFC 8445 §5.1.2: priorities stay below 2^31, so no overflow
		{2015363327, 1694498815, 1694498815<<32 + 2*2015363327 + 1},
		{1694498815, 2015363327, 1694498815<<32 + 2*2015363327},
	}
	for _, tt := range tests {
		if got := pairPriority(tt.g, tt.d); got != tt.want {
			t.Errorf("pairPriority(%d, %d) = %d, want %d", tt.g, tt.d, got, tt.want)
		}
	}
	// The pair is ordered the same from both sides: each agent computes
	// it with the controlling agent's candidate as G.
	if pairPriority(7, 9) == pairPriority(9, 7) {
		t.Errorf("pairPriority must break the tie by the controlling side")
	}
}

func TestStateTransitions(t *testing.T) {
	t.Parallel()
	allowed := map[[2]ComponentState]bool{
		{ComponentStateDisconnected, ComponentStateGathering}:  true,
		{ComponentStateGathering, ComponentStateConnecting}:    true,
		{ComponentStateConnecting, ComponentStateConnected}:    true,
		{ComponentStateConnected, ComponentStateReady}:         true,
		{ComponentStateReady, ComponentStateConnected}:         true,
		{ComponentStateFailed, ComponentStateConnecting}:       true,
		{ComponentStateDisconnected, ComponentStateConnecting}: true,
		{ComponentStateConnected, ComponentStateConnecting}:    true,
	}
	for from := ComponentStateDisconnected; from <= ComponentStateFailed; from++ {
		for to := ComponentStateDisconnected; to <= ComponentStateFailed; to++ {
			if from == to {
				continue
			}
			want := allowed[[2]ComponentState{from, to}] || to == ComponentStateFailed || to == ComponentStateGathering
			if got := from.validTransition(to); got != want {
				t.Errorf("%v -> %v allowed = %v, want %v (libnice)", from, to, got, want)
			}
		}
	}
}
