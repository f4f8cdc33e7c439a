// SPDX-License-Identifier: MIT

//go:build linux

package nice

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// pollErr reports whether fd has an error pending or queued (POLLERR),
// without consuming it.
func pollErr(t *testing.T, oc *osConn) bool {
	t.Helper()
	var revents int16
	err := oc.rc.Control(func(fd uintptr) {
		pfd := struct {
			fd             int32
			events, revent int16
		}{fd: int32(fd)}
		var now syscall.Timespec // ppoll: poll(2) is missing on some architectures
		_, _, _ = syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(&now)), 0, 0, 0)
		revents = pfd.revent
	})
	if err != nil {
		t.Fatal(err)
	}
	const pollErrBit = 0x8
	return revents&pollErrBit != 0
}

// TestICMPSendRetried: with IP_RECVERR on, an ICMP error for a datagram
// to a closed port makes the socket's next send fail with it, whatever
// its destination. osConn sends that datagram again and reports the ICMP
// error (its destination and ECONNREFUSED), and leaves the error queue
// empty.
func TestICMPSendRetried(t *testing.T) {
	dead, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().(*net.UDPAddr).AddrPort()
	_ = dead.Close()
	live, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	liveAddr := live.LocalAddr().(*net.UDPAddr).AddrPort()

	conn, err := osNet{}.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	oc := conn.(*osConn)
	var (
		mu      sync.Mutex
		reports []netip.AddrPort
		errnos  []syscall.Errno
	)
	if err := oc.watchICMP(func(dst netip.AddrPort, errno syscall.Errno) {
		mu.Lock()
		defer mu.Unlock()
		reports = append(reports, dst)
		errnos = append(errnos, errno)
	}); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		if _, err := oc.WriteToUDPAddrPort([]byte("to nobody"), deadAddr); err != nil {
			t.Fatalf("round %d: send to the closed port: %v", round, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !pollErr(t, oc) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no ICMP error pending 5 s after a send to a closed port", round)
			}
			time.Sleep(time.Millisecond)
		}
		msg := []byte{'m', byte(round)}
		if n, err := oc.WriteToUDPAddrPort(msg, liveAddr); err != nil || n != len(msg) {
			t.Fatalf("round %d: send to a live port = %d, %v; want it sent despite the earlier datagram's ICMP error", round, n, err)
		}
		_ = live.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 16)
		n, err := live.Read(buf)
		if err != nil || string(buf[:n]) != string(msg) {
			t.Fatalf("round %d: live port read %q, %v; want %q", round, buf[:n], err, msg)
		}
		if pollErr(t, oc) {
			t.Fatalf("round %d: an error is still pending or queued after the send drained it", round)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) != 3 {
		t.Fatalf("%d ICMP errors reported, want 3", len(reports))
	}
	for i := range reports {
		if reports[i] != deadAddr || errnos[i] != syscall.ECONNREFUSED {
			t.Errorf("report %d: %v %v, want %v ECONNREFUSED", i, reports[i], errnos[i], deadAddr)
		}
	}
}

// TestICMPErrorKinds: the errors an ICMP error becomes are transient for
// a reader (it goes on reading), others are not.
func TestICMPErrorKinds(t *testing.T) {
	for _, e := range []error{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPROTO,
		syscall.EACCES, syscall.EMSGSIZE, &net.OpError{Op: "read", Err: syscall.EHOSTDOWN}} {
		if !isTransientErr(e) {
			t.Errorf("%v: not transient", e)
		}
	}
	for _, e := range []error{syscall.EBADF, errors.New("other"), net.ErrClosed} {
		if isTransientErr(e) {
			t.Errorf("%v: transient", e)
		}
	}
}
