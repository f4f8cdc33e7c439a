// SPDX-License-Identifier: MIT

//go:build linux && (amd64 || arm64)

package nice

import (
	"syscall"
	"unsafe"
)

// muxBatchSize is how many datagrams one recvmmsg(2) of a mux's reader
// takes at most. Each slot holds the largest datagram, so nothing is ever
// truncated: 32 × 64 KB per mux (one per server port, not per agent).
const muxBatchSize = 32

// mmsghdr is struct mmsghdr of <sys/socket.h> on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// muxReader reads a mux's socket with recvmmsg(2), parked in Go's
// netpoller between batches. x/net's ReadBatch would do the system call,
// but it allocates a net.Addr per datagram; the mux's path must not
// allocate.
type muxReader struct {
	rc     syscall.RawConn
	hdrs   [muxBatchSize]mmsghdr
	iovs   [muxBatchSize]syscall.Iovec
	names  [muxBatchSize]syscall.RawSockaddrAny
	bufs   [muxBatchSize][]byte
	msgs   [muxBatchSize]muxMsg
	n      int
	errno  syscall.Errno
	readFn func(fd uintptr) bool
	raw    rawReader  // for its address decoding (zones)
	single *muxSingle // the portable reader, for a socket that is not the OS's
}

func newMuxReader(conn PacketConn) *muxReader {
	r := &muxReader{}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		r.single = newMuxSingle(conn)
		return r
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		r.single = newMuxSingle(conn)
		return r
	}
	r.rc = rc
	for i := range r.hdrs {
		r.bufs[i] = make([]byte, maxDatagram)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(maxDatagram)
		r.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hdrs[i].hdr.Iov = &r.iovs[i]
		r.hdrs[i].hdr.Iovlen = 1
	}
	r.readFn = r.tryRead
	return r
}

// tryRead is rc.Read's function: one recvmmsg, or ask to wait (EAGAIN).
func (r *muxReader) tryRead(fd uintptr) bool {
	for i := range r.hdrs {
		r.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrAny
		r.hdrs[i].hdr.Flags = 0
		r.hdrs[i].n = 0
	}
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), muxBatchSize,
			syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// read returns the next batch, valid until the next read.
func (r *muxReader) read() ([]muxMsg, error) {
	if r.single != nil {
		return r.single.read()
	}
	if err := r.rc.Read(r.readFn); err != nil {
		return nil, err
	}
	if r.errno != 0 {
		return nil, r.errno
	}
	for i := 0; i < r.n; i++ {
		r.raw.sa = r.names[i]
		from := r.raw.from()
		r.msgs[i] = muxMsg{p: r.bufs[i][:r.hdrs[i].n], from: from}
	}
	return r.msgs[:r.n], nil
}

func (r *muxReader) release() {
	if r.single != nil {
		r.single.release()
	}
}
