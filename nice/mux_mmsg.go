// SPDX-License-Identifier: MIT

//go:build linux && (amd64 || arm64)

package nice

import (
	"syscall"
	"unsafe"
)

// muxBatchSize is how many datagrams one recvmmsg(2) of a mux's reader
// takes at most, each in a slot of UDPMuxConfig.MaxDatagram bytes.
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
	trunc  int // datagrams of the last batch larger than a slot (left out of it)
	errno  syscall.Errno
	readFn func(fd uintptr) bool
	raw    rawReader  // for its address decoding (zones)
	single *muxSingle // the portable reader, for a socket that is not the OS's
}

func newMuxReader(conn PacketConn, slot int) *muxReader {
	r := &muxReader{}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		r.single = newMuxSingle(conn, slot)
		return r
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		r.single = newMuxSingle(conn, slot)
		return r
	}
	r.rc = rc
	mem := make([]byte, muxBatchSize*slot)
	for i := range r.hdrs {
		r.bufs[i] = mem[i*slot : (i+1)*slot : (i+1)*slot]
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(slot)
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
	k := 0
	r.trunc = 0
	for i := 0; i < r.n; i++ {
		if r.hdrs[i].hdr.Flags&syscall.MSG_TRUNC != 0 {
			r.trunc++
			continue
		}
		r.raw.sa = r.names[i]
		r.msgs[k] = muxMsg{p: r.bufs[i][:r.hdrs[i].n], from: r.raw.from()}
		k++
	}
	return r.msgs[:k], nil
}

// truncated is how many datagrams the last read left out: larger than a
// slot.
func (r *muxReader) truncated() int {
	if r.single != nil {
		return r.single.truncated()
	}
	return r.trunc
}

func (r *muxReader) release() {
	if r.single != nil {
		r.single.release()
	}
}
