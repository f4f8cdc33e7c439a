// SPDX-License-Identifier: MIT

//go:build linux && !386

package nice

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// A socket's sends (checks, answers, consent, data) are sendto(2) made as
// a raw system call through the socket's RawConn, not the standard
// library's WriteToUDPAddrPort. The socket is non-blocking, so the call
// returns at once (EAGAIN when the send buffer is full: RawConn.Write then
// waits in the netpoller, as the library does). What this saves is the
// runtime's entersyscall/exitsyscall around the call: while every P is
// idle, Go's sysmon sleeps, and the first system call made through
// entersyscall wakes it (Go 1.26, runtime/proc.go), after which it polls
// every 20 µs for a while. An idle agent's consent check and its answer
// then woke sysmon each time; the readers' recvmmsg (recv_mmsg.go) is raw
// for the same reason. Measured (BENCHMARKS.md, "Raw system calls"): idle
// pairs' CPU about 8 % lower, the single-pair throughput about 8 % higher.

// sendOp is the scratch of one raw send: the datagram, the destination in
// the kernel's form, and the result. Pooled: a send must not allocate.
type sendOp struct {
	p     []byte
	sa    syscall.RawSockaddrInet6 // or a RawSockaddrInet4 in its first bytes
	salen uintptr
	n     int
	errno syscall.Errno
	fn    func(fd uintptr) bool // op.sendto, bound once
}

var sendOpPool = sync.Pool{New: func() any {
	op := new(sendOp)
	op.fn = op.sendto
	return op
}}

// sendto is RawConn.Write's function: one sendto, or ask to wait (EAGAIN).
func (op *sendOp) sendto(fd uintptr) bool {
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(op.p))), uintptr(len(op.p)),
			0, uintptr(unsafe.Pointer(&op.sa)), op.salen)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		op.n, op.errno = int(r), e
		return true
	}
}

// send sends b to addr. A destination the raw path does not encode (an
// IPv6 address with a zone, or one of the other family than the socket's)
// goes through the standard library. Errors are the standard library's: a
// *net.OpError (net.ErrClosed once the socket is closed), around an
// *os.SyscallError for the errno.
func (c *osConn) send(b []byte, addr netip.AddrPort) (int, error) {
	local4 := c.local.Addr().Unmap().Is4() // an IPv4 socket (osNet binds a mapped address as udp4)
	ip := addr.Addr()
	if c.rc == nil || ip.Zone() != "" || ip.Is4() != local4 {
		return c.UDPConn.WriteToUDPAddrPort(b, addr)
	}
	op := sendOpPool.Get().(*sendOp)
	op.p, op.n, op.errno = b, 0, 0
	if local4 {
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&op.sa))
		*sa = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: ip.As4()}
		putPort(&sa.Port, addr.Port())
		op.salen = syscall.SizeofSockaddrInet4
	} else {
		op.sa = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: ip.As16()}
		putPort(&op.sa.Port, addr.Port())
		op.salen = syscall.SizeofSockaddrInet6
	}
	err := c.rc.Write(op.fn)
	n, errno := op.n, op.errno
	op.p = nil // no reference to the caller's buffer stays in the pool
	sendOpPool.Put(op)
	if err == nil && errno != 0 {
		err = os.NewSyscallError("sendto", errno)
	}
	if err != nil {
		if _, ok := err.(*net.OpError); !ok {
			network := "udp6" // as osNet opened it
			if local4 {
				network = "udp4"
			}
			err = &net.OpError{Op: "write", Net: network, Source: c.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: err}
		}
		return 0, err
	}
	return n, nil
}

// putPort stores a port in network byte order.
func putPort(dst *uint16, p uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(p>>8), byte(p)
}
