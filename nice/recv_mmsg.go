// SPDX-License-Identifier: MIT

//go:build linux && (amd64 || arm64)

package nice

import (
	"runtime"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of <sys/socket.h> on 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// mmsgBatch is what one recvmmsg(2) fills: a header, an iovec, a source
// address and a slot per datagram. The mux's reader has one of its own;
// the sockets' readers borrow one while their socket is readable
// (recvBatchPool). x/net's ReadBatch would do the system call, but it
// allocates a net.Addr per datagram; the data path must not allocate.
type mmsgBatch struct {
	hdrs  []mmsghdr
	iovs  []syscall.Iovec
	names []syscall.RawSockaddrAny
	bufs  [][]byte
}

// newMmsgBatch returns a batch of len(mem)/slot slots of slot bytes each,
// in mem.
func newMmsgBatch(mem []byte, slot int) *mmsgBatch {
	n := len(mem) / slot
	b := &mmsgBatch{
		hdrs:  make([]mmsghdr, n),
		iovs:  make([]syscall.Iovec, n),
		names: make([]syscall.RawSockaddrAny, n),
		bufs:  make([][]byte, n),
	}
	for i := range b.hdrs {
		b.bufs[i] = mem[i*slot : (i+1)*slot : (i+1)*slot]
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(slot)
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.Iovlen = 1
	}
	return b
}

// recv is one non-blocking recvmmsg on fd: how many datagrams it read
// and the error; ok is false when there was none to read (EAGAIN: the
// caller waits for the netpoller). A raw system call: it returns at once
// (MSG_DONTWAIT), and entersyscall would wake the runtime's sysmon
// (send_linux.go).
func (b *mmsgBatch) recv(fd uintptr) (n int, errno syscall.Errno, ok bool) {
	for i := range b.hdrs {
		b.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrAny
		b.hdrs[i].hdr.Flags = 0
		b.hdrs[i].n = 0
	}
	for {
		r, _, e := syscall.RawSyscall6(syscall.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)),
			syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(r), 0, true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0, false
		default:
			return 0, e, true
		}
	}
}

// msg returns datagram i of the last recv (valid until the next one) and
// its source address; truncated reports that it was larger than its slot
// (MSG_TRUNC) and was cut.
func (b *mmsgBatch) msg(i int) (p []byte, sa *syscall.RawSockaddrAny, truncated bool) {
	h := &b.hdrs[i]
	n := min(int(h.n), len(b.bufs[i]))
	return b.bufs[i][:n], &b.names[i], h.hdr.Flags&syscall.MSG_TRUNC != 0
}

// recvBatchSize is how many datagrams one recvmmsg(2) of a socket's reader
// takes at most (recvBatchPool).
const recvBatchSize = 16

// newRecvBatch makes a batch for recvBatchPool: recvBatchSize slots of
// maxDatagram bytes, mapped outside Go's heap (unmapped when the pool
// drops the batch), so that only the pages the kernel writes datagrams
// into take memory: a batch of 1200-byte datagrams is 16 pages of its 1
// MB, and none of it outlives the batch. (From Go's heap, a reused MB is
// zeroed, so all of it resident, and stays so after it is freed, until
// the runtime's scavenger returns it.) nil if the mapping fails.
func newRecvBatch() *mmsgBatch {
	mem, err := syscall.Mmap(-1, 0, recvBatchSize*maxDatagram, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		return nil
	}
	b := newMmsgBatch(mem, maxDatagram)
	runtime.AddCleanup(b, func(mem []byte) { _ = syscall.Munmap(mem) }, mem)
	return b
}
