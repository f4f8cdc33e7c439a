// SPDX-License-Identifier: MIT

//go:build linux && !386

package nice

import (
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// readBufPool holds the receive buffers of the sockets' readers. A reader
// takes a buffer when its socket becomes readable and gives it back when the
// socket is drained, so an idle agent holds no 64 KB buffer: 10,000 idle
// agents share a handful (ARCHITECTURE.md, "Memory of an idle agent").
var readBufPool = sync.Pool{New: func() any { b := make([]byte, maxDatagram); return &b }}

// recvBatchPool holds the batches (recvBatchSize slots of maxDatagram
// bytes: every UDP datagram fits a slot whole) that the sockets' readers
// read with recvmmsg(2), borrowed as readBufPool's buffers are, while the
// socket is readable. At most maxRecvBatches are out at a time (a reader
// that finds none left reads one datagram at a time into a readBufPool
// buffer, as on platforms without recvmmsg), so busy readers hold at most
// maxRecvBatches × recvBatchSize × 64 KB (8 MB; of which only the pages
// that datagrams were written into are resident: newRecvBatch) plus 64 KB
// for each further busy reader, as before batches.
var (
	recvBatchPool  = sync.Pool{New: func() any { return newRecvBatch() }}
	recvBatchesOut atomic.Int32
	maxRecvBatches = int32(min(max(runtime.GOMAXPROCS(0), 2), 8))
)

// getRecvBatch borrows a batch, or returns nil if there is no recvmmsg
// here or maxRecvBatches are out.
func getRecvBatch() *mmsgBatch {
	if recvBatchSize == 0 {
		return nil
	}
	if recvBatchesOut.Add(1) > maxRecvBatches {
		recvBatchesOut.Add(-1)
		return nil
	}
	b := recvBatchPool.Get().(*mmsgBatch)
	if b == nil {
		recvBatchesOut.Add(-1)
	}
	return b
}

func putRecvBatch(b *mmsgBatch) {
	recvBatchPool.Put(b)
	recvBatchesOut.Add(-1)
}

// A reader with a batch that has read spinAfter datagrams since its socket
// became readable, and finds it empty, tries again up to spinTries times
// (about 7 µs on the benchmarks' machine) before it parks: in a flood the next datagram is that close, and a
// parked reader must be woken for it, in the sender's system call (on the
// same machine) or the kernel's receive path, which costs them more than
// the tries cost the reader. A stream of sparse datagrams, or of short
// bursts, never gets there.
const (
	spinAfter = 8
	spinTries = 20
)

// rawReader reads a UDP socket of the operating system, parking in Go's
// netpoller without holding a buffer: with recvmmsg(2) into a borrowed
// batch (Linux amd64/arm64), or recvfrom(2) into a borrowed buffer.
type rawReader struct {
	rc    syscall.RawConn
	batch *mmsgBatch // while readable, or
	buf   *[]byte    // while readable, if no batch was to be had
	sa    syscall.RawSockaddrAny
	// The result of the last read, set by readFn: a datagram's length (buf)
	// or the number of datagrams (batch).
	n     int
	errno syscall.Errno
	next  int // the batch's next datagram to return
	// period counts the datagrams read since the socket became readable
	// (a flood: spinAfter).
	period int
	// readFn is rc.Read's function, made once: a closure per read would
	// allocate.
	readFn func(fd uintptr) bool
	zones  map[uint32]string // IPv6 scope ids seen, by name
}

// newRawReader returns a reader for conn, or nil if conn is not an
// operating-system socket (the in-memory network of nicetest).
func newRawReader(conn PacketConn) *rawReader {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawReader{rc: rc}
	r.readFn = r.tryRead
	return r
}

// tryRead is called by rc.Read when the socket may be readable: it reads
// a batch or one datagram, or gives the batch or buffer back and asks to
// wait (EAGAIN).
func (r *rawReader) tryRead(fd uintptr) bool {
	if r.batch == nil && r.buf == nil {
		if r.batch = getRecvBatch(); r.batch == nil {
			r.buf = readBufPool.Get().(*[]byte)
		}
	}
	if r.batch != nil {
		n, errno, ok := r.batch.recv(fd)
		if !ok && r.period >= spinAfter {
			for i := 0; i < spinTries && !ok; i++ {
				n, errno, ok = r.batch.recv(fd)
			}
		}
		if !ok {
			r.period = 0
			putRecvBatch(r.batch)
			r.batch = nil
			return false
		}
		r.n, r.errno, r.next = n, errno, 0
		r.period += n
		return true
	}
	b := *r.buf
	for { // a raw system call, as recvmmsg's (mmsgBatch.recv)
		salen := uint32(syscall.SizeofSockaddrAny)
		n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
			0, uintptr(unsafe.Pointer(&r.sa)), uintptr(unsafe.Pointer(&salen)))
		switch e {
		case 0:
			r.n, r.errno = int(n), 0
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			readBufPool.Put(r.buf)
			r.buf = nil
			return false
		default:
			r.n, r.errno = 0, e
			return true
		}
	}
}

// read returns the next datagram (valid until the next read) and its
// source, in the order the socket received them. Errors are those of
// ReadFromUDPAddrPort: net.ErrClosed once the socket is closed.
func (r *rawReader) read() ([]byte, netip.AddrPort, error) {
	for {
		if r.batch != nil && r.next < r.n {
			// A slot holds the largest datagram, so none is cut.
			p, sa, _ := r.batch.msg(r.next)
			r.next++
			return p, r.addrOf(sa), nil
		}
		if err := r.rc.Read(r.readFn); err != nil {
			r.release()
			return nil, netip.AddrPort{}, err
		}
		if r.errno != 0 {
			return nil, netip.AddrPort{}, r.errno
		}
		if r.buf != nil {
			return (*r.buf)[:r.n], r.addrOf(&r.sa), nil
		}
	}
}

// release gives the batch or buffer back (the reader ends).
func (r *rawReader) release() {
	if r.batch != nil {
		putRecvBatch(r.batch)
		r.batch = nil
	}
	if r.buf != nil {
		readBufPool.Put(r.buf)
		r.buf = nil
	}
}

// addrOf decodes a source address.
func (r *rawReader) addrOf(rsa *syscall.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case syscall.AF_INET:
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port(sa.Port))
	case syscall.AF_INET6:
		sa := (*syscall.RawSockaddrInet6)(unsafe.Pointer(rsa))
		a := netip.AddrFrom16(sa.Addr).Unmap()
		if sa.Scope_id != 0 && a.Is6() {
			a = a.WithZone(r.zone(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, port(sa.Port))
	}
	return netip.AddrPort{}
}

// port converts a port in network byte order.
func port(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// zone names an IPv6 scope id as the standard library does (the interface
// name, or the number), cached: link-local traffic must not look the
// interface up per packet.
func (r *rawReader) zone(id uint32) string {
	if z, ok := r.zones[id]; ok {
		return z
	}
	z := strconv.FormatUint(uint64(id), 10)
	if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
		z = ifi.Name
	}
	if r.zones == nil {
		r.zones = map[uint32]string{}
	}
	r.zones[id] = z
	return z
}
