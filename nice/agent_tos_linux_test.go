// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/gonice/gonice/nice"
)

// TestSetStreamTOS sets the TOS byte on a stream's sockets, before and after
// gathering, and reads it back from the kernel.
func TestSetStreamTOS(t *testing.T) {
	a, err := nice.NewAgent(nice.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_ = a.AddLocalAddress(loopback)
	sid, _ := a.AddStream(1)
	if err := a.SetStreamTOS(sid, 0xb8); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	if err := a.SetStreamTOS(sid, 256); !errors.Is(err, nice.ErrInvalidArgument) {
		t.Errorf("SetStreamTOS(256) = %v, want ErrInvalidArgument", err)
	}
	if err := a.SetStreamTOS(99, 0); !errors.Is(err, nice.ErrInvalidStream) {
		t.Errorf("SetStreamTOS on a bad stream = %v, want ErrInvalidStream", err)
	}
	// The kernel's view: the socket bound to the candidate's port.
	cs, _ := a.LocalCandidates(sid, 1)
	if got := socketTOS(t, cs[0].Addr); got != 0xb8 {
		t.Errorf("TOS set before gathering = %#x, want 0xb8", got)
	}
	if err := a.SetStreamTOS(sid, 0x28); err != nil {
		t.Fatal(err)
	}
	if got := socketTOS(t, cs[0].Addr); got != 0x28 {
		t.Errorf("TOS set after gathering = %#x, want 0x28", got)
	}
}

// socketTOS reads IP_TOS of this process's UDP socket bound to addr, through
// /proc/self/fd: the agent's sockets are its own, so we find the fd by its
// local address with getsockname.
func socketTOS(t *testing.T, addr netip.AddrPort) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list fds: %v", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err := syscall.Getsockname(fd)
		if err != nil {
			continue
		}
		in4, ok := sa.(*syscall.SockaddrInet4)
		if !ok || in4.Port != int(addr.Port()) || netip.AddrFrom4(in4.Addr) != addr.Addr() {
			continue
		}
		tos, err := syscall.GetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_TOS)
		if err != nil {
			t.Fatal(err)
		}
		return tos
	}
	t.Fatalf("no socket bound to %v", addr)
	return -1
}
