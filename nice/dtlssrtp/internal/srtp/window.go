// SPDX-License-Identifier: MIT

package srtp

// window is an RFC 3711 §3.3.2 replay list: the highest index accepted and
// a bitmap of the size indices below it. check says whether an index may
// be accepted; accept records it once its packet authenticated. Not safe
// for concurrent use (a Context is not).
type window struct {
	size   uint64
	max    uint64
	latest uint64
	any    bool     // an index was accepted
	bits   []uint64 // bit i: index latest-i was accepted
}

// newWindow makes a list of size indices (at least 1) for indices up to
// limit.
func newWindow(size uint, limit uint64) *window {
	size = max(size, 1)
	return &window{size: uint64(size), max: limit, bits: make([]uint64, (size+63)/64)}
}

// check tells whether index is new and not too old.
func (w *window) check(index uint64) bool {
	if index > w.max {
		return false
	}
	if w.any && index <= w.latest {
		d := w.latest - index
		if d >= w.size || w.bits[d/64]&(1<<(d%64)) != 0 {
			return false
		}
	}
	return true
}

// accept records index (which check allowed).
func (w *window) accept(index uint64) {
	if !w.any || index > w.latest {
		if w.any {
			w.shift(index - w.latest)
		}
		w.any, w.latest = true, index
		w.bits[0] |= 1
		return
	}
	d := w.latest - index
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
