// SPDX-License-Identifier: MIT

package dtlssrtp

import "github.com/pion/transport/v2/replaydetector"

// window is an RFC 3711 §3.3.2 replay list: the highest index accepted and
// a bitmap of the size indices below it. It is pion's sliding-window
// detector with one difference: Check returns a function made once, not a
// closure per packet, so unprotecting allocates nothing for it. Not safe
// for concurrent use (the transport's decrypting lock serialises it).
type window struct {
	size    uint64
	max     uint64
	latest  uint64
	bits    []uint64 // bit i of the window: index latest-i was accepted
	pending uint64   // the index the last Check accepted
	accept  func()
}

// newWindow makes a detector of size indices (at least 1) for indices up to
// max.
func newWindow(size uint, max uint64) *window {
	if size == 0 {
		size = 1
	}
	w := &window{size: uint64(size), max: max, bits: make([]uint64, (size+63)/64)}
	w.accept = w.commit
	return w
}

var _ replaydetector.ReplayDetector = (*window)(nil)

// Check tells whether index may be accepted; the caller calls the returned
// function once the packet is authenticated.
func (w *window) Check(index uint64) (func(), bool) {
	if index > w.max {
		return nop, false
	}
	if index <= w.latest {
		d := w.latest - index
		if d >= w.size || w.bits[d/64]&(1<<(d%64)) != 0 {
			return nop, false
		}
	}
	w.pending = index
	return w.accept, true
}

func nop() {}

// commit records the index of the last successful Check.
func (w *window) commit() {
	i := w.pending
	if i > w.latest {
		w.shift(i - w.latest)
		w.latest = i
		w.bits[0] |= 1
		return
	}
	d := w.latest - i
	w.bits[d/64] |= 1 << (d % 64)
}

// shift moves the bitmap n indices up (older indices to higher bits),
// dropping what falls out of the window.
func (w *window) shift(n uint64) {
	if n >= w.size {
		clear(w.bits)
		return
	}
	words, bitsN := int(n/64), n%64
	for k := len(w.bits) - 1; k >= 0; k-- {
		var v uint64
		if k-words >= 0 {
			v = w.bits[k-words] << bitsN
			if bitsN != 0 && k-words-1 >= 0 {
				v |= w.bits[k-words-1] >> (64 - bitsN)
			}
		}
		w.bits[k] = v
	}
	if r := w.size % 64; r != 0 { // bits past the window stay clear
		w.bits[len(w.bits)-1] &= 1<<r - 1
	}
}
