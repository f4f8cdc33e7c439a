// SPDX-License-Identifier: MIT

//go:build linux && (amd64 || arm64)

package nice

import "syscall"

// muxBatchSize is how many datagrams one recvmmsg(2) of a mux's reader
// takes at most, each in a slot of UDPMuxConfig.MaxDatagram bytes.
const muxBatchSize = 32

// muxReader reads a mux's socket with recvmmsg(2) (mmsgBatch), parked in
// Go's netpoller between batches.
type muxReader struct {
	rc     syscall.RawConn
	batch  *mmsgBatch
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
	r.batch = newMmsgBatch(make([]byte, muxBatchSize*slot), slot)
	r.readFn = r.tryRead
	return r
}

// tryRead is rc.Read's function: one recvmmsg, or ask to wait (EAGAIN).
func (r *muxReader) tryRead(fd uintptr) bool {
	var ok bool
	r.n, r.errno, ok = r.batch.recv(fd)
	return ok
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
		p, sa, truncated := r.batch.msg(i)
		if truncated {
			r.trunc++
			continue
		}
		r.msgs[k] = muxMsg{p: p, from: r.raw.addrOf(sa)}
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
