// SPDX-License-Identifier: MIT

package srtp

import (
	"math/rand/v2"
	"testing"

	"github.com/pion/transport/v2/replaydetector"
)

// model is the replay rule stated plainly: an index is refused past max,
// size or more below the highest accepted, or if accepted before.
type model struct {
	size, max, latest uint64
	seen              map[uint64]bool
}

func (m *model) Check(i uint64) (func(), bool) {
	if i > m.max || i+m.size <= m.latest || m.seen[i] {
		return func() {}, false
	}
	return func() { m.seen[i] = true; m.latest = max(m.latest, i) }, true
}

// The window decides as the plain rule does, and as pion's sliding-window
// detector does where that one is right (pion/transport v2.2.4 masks its
// bitmap wrongly when the size is not a multiple of 64: a window of 63
// forgets all but the newest index), on random index sequences of every
// shape, for sizes around the word boundaries.
func TestWindowAgreesWithPion(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []uint{1, 2, 63, 64, 65, 127, 128, 129, 200, 256} {
		const max = 1<<48 - 1
		var theirs replaydetector.ReplayDetector = &model{size: uint64(size), max: max, seen: map[uint64]bool{}}
		if size%64 == 0 {
			theirs = replaydetector.New(size, max)
		}
		ours := newWindow(size, max)
		var next uint64
		for i := range 20000 {
			var idx uint64
			switch r.IntN(6) {
			case 0: // a jump ahead
				next += uint64(r.IntN(300))
				idx = next
			case 1: // far behind
				idx = next - min(next, uint64(r.IntN(400)))
			case 2: // past max
				idx = max + 1 + uint64(r.IntN(3))
			default: // near the front
				next++
				idx = next - min(next, uint64(r.IntN(3)))
			}
			authentic := r.IntN(10) != 0
			okO := ours.check(idx)
			ft, okT := theirs.Check(idx)
			if okO != okT {
				t.Fatalf("size %d, step %d, index %d: ours %v, reference %v", size, i, idx, okO, okT)
			}
			if okO && authentic {
				ours.accept(idx)
				ft()
			}
		}
	}
}

func TestWindowAllocs(t *testing.T) {
	w := newWindow(128, 1<<48-1)
	var i uint64
	if n := testing.AllocsPerRun(1000, func() {
		i++
		if w.check(i) {
			w.accept(i)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per check and accept", n)
	}
}
