// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"net"
	"testing"

	"github.com/gonice/gonice/nice"
)

// TestPortRange: candidates use the range; two components cannot share a
// single-port range (libnice's test-set-port-range).
func TestPortRange(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.LocalAddr().(*net.UDPAddr).Port)
	l.Close() // now probably free
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a.AddLocalAddress(loopback)
	sid, _ := a.AddStream(2)
	for cid := 1; cid <= 2; cid++ {
		if err := a.SetPortRange(sid, cid, port, port); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.GatherCandidates(sid); !errors.Is(err, nice.ErrNoAddress) {
		t.Fatalf("GatherCandidates with one port for two components = %v, want ErrNoAddress", err)
	}
	if err := a.SetPortRange(sid, 2, port+1, port+1); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Skipf("ports %d-%d not free on this machine: %v", port, port+1, err)
	}
	for cid := 1; cid <= 2; cid++ {
		cs, _ := a.LocalCandidates(sid, cid)
		if len(cs) != 1 || cs[0].Addr.Port() != port+uint16(cid-1) {
			t.Errorf("component %d candidates %v, want port %d", cid, cs, port+uint16(cid-1))
		}
	}
	if err := a.SetPortRange(sid, 1, 1, 2); !errors.Is(err, nice.ErrAlreadyGathering) {
		t.Errorf("SetPortRange after gathering = %v, want ErrAlreadyGathering", err)
	}
}
