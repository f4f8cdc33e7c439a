// SPDX-License-Identifier: MIT

package nice

import "testing"

// BenchmarkFlowCounters is what the statistics add to each datagram sent
// or received: two atomic adds and a time stamp.
func BenchmarkFlowCounters(b *testing.B) {
	var f flowCounters
	b.ReportAllocs()
	for range b.N {
		f.add(1200)
	}
	if f.packets.Load() != uint64(b.N) || f.bytes.Load() != 1200*uint64(b.N) {
		b.Fatalf("counted %d packets, %d bytes for %d", f.packets.Load(), f.bytes.Load(), b.N)
	}
}
