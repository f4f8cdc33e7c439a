// SPDX-License-Identifier: MIT

//go:build linux

package nice

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
)

// ICMP errors on the agent's own UDP sockets (ARCHITECTURE.md, "ICMP
// errors"). An unconnected UDP socket hears nothing of ICMP by default;
// with IP_RECVERR (IPV6_RECVERR) the kernel queues every ICMP error that
// quotes a datagram the socket sent on the socket's error queue, with the
// datagram's destination, and sets the socket's pending error. The next
// receive or send on the socket returns that pending error and clears it:
//
//   - a send that fails with it did not send its datagram (the error is an
//     earlier datagram's), so it is sent again, once (osConn's
//     WriteToUDPAddrPort; SendMessages);
//   - whoever gets it, the reader or a sender, drains the error queue:
//     entries left there count against the receive buffer, and a full one
//     drops datagrams;
//   - each ICMP error drained is reported (osConn.icmp): the agent ends its
//     STUN and TURN transactions to that destination at once instead of at
//     their timeouts (Agent.onICMP).

// maxICMPDrain bounds the entries one drain reads; more wait for the next
// drain, after the next ICMP error (the queue is bounded by the receive
// buffer).
const maxICMPDrain = 64

// watchICMP turns IP_RECVERR (IPV6_RECVERR) on and makes report the
// receiver of the socket's ICMP errors. It must be called before the
// socket is read or written.
func (c *osConn) watchICMP(report func(dst netip.AddrPort, err syscall.Errno)) error {
	var serr error
	err := c.rc.Control(func(fd uintptr) {
		if c.local.Addr().Is4() {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, syscall.IP_RECVERR, 1)
		} else {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IPV6, syscall.IPV6_RECVERR, 1)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	c.icmp = report
	return nil
}

// WriteToUDPAddrPort sends b to addr. With IP_RECVERR on, a send can fail
// with an earlier datagram's ICMP error, not its own: the error queue is
// drained and b sent once more.
func (c *osConn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	n, err := c.send(b, addr)
	if err != nil && c.pendingICMP(err) {
		n, err = c.send(b, addr)
	}
	return n, err
}

// pendingICMP reports whether err, returned by a send or a receive, may be
// the socket's pending ICMP error; if so it drains the error queue first.
func (c *osConn) pendingICMP(err error) bool {
	if c.icmp == nil || !isICMPErr(err) {
		return false
	}
	c.drainICMP()
	return true
}

// drainICMP reads the socket's error queue and reports its ICMP errors.
// Safe for concurrent use (the kernel serializes the reads); it allocates,
// but only when an error came.
func (c *osConn) drainICMP() {
	var (
		data [1]byte // the datagram that caused the error: not needed
		oob  [128]byte
	)
	_ = c.rc.Control(func(fd uintptr) {
		for range maxICMPDrain {
			_, oobn, _, from, err := syscall.Recvmsg(int(fd), data[:], oob[:], syscall.MSG_ERRQUEUE|syscall.MSG_DONTWAIT)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return // EAGAIN: drained
			}
			dst := sockaddrAddrPort(from)
			if errno, ok := icmpErrno(oob[:oobn]); ok && dst.IsValid() {
				c.icmp(dst, errno)
			}
		}
	})
}

// Origins of a struct sock_extended_err (linux/errqueue.h).
const (
	eeOriginICMP  = 2
	eeOriginICMP6 = 3
)

// icmpErrno returns the error of an error-queue entry's control data if
// the entry is an ICMP (ICMPv6) error, not a local one.
func icmpErrno(oob []byte) (syscall.Errno, bool) {
	cms, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, cm := range cms {
		v4 := cm.Header.Level == syscall.IPPROTO_IP && cm.Header.Type == syscall.IP_RECVERR
		v6 := cm.Header.Level == syscall.IPPROTO_IPV6 && cm.Header.Type == syscall.IPV6_RECVERR
		// struct sock_extended_err: ee_errno (u32), ee_origin (u8), ...
		if (!v4 && !v6) || len(cm.Data) < 8 {
			continue
		}
		switch cm.Data[4] {
		case eeOriginICMP, eeOriginICMP6:
			return syscall.Errno(binary.NativeEndian.Uint32(cm.Data[0:4])), true
		}
	}
	return 0, false
}

// sockaddrAddrPort converts a socket address from recvmsg.
func sockaddrAddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

// isICMPErr reports whether err is one that an ICMP or ICMPv6 error
// becomes on a socket (Linux's icmp_err_convert and icmpv6_err_convert):
// unreachable network, host, port or protocol, host down or isolated,
// administratively prohibited, fragmentation needed / packet too big,
// source route failed, parameter problem. A send can also fail with some
// of these for its own reasons.
func isICMPErr(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EHOSTDOWN,
		syscall.ENONET, syscall.ENOPROTOOPT, syscall.EOPNOTSUPP, syscall.EPROTO, syscall.EMSGSIZE, syscall.EACCES:
		return true
	}
	return false
}
