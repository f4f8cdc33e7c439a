// SPDX-License-Identifier: MIT

package nice

import (
	"testing"
	"time"
)

// TestTxTable: the table finds transactions by id and gives them back in
// deadline order however deadlines move, and forgets removed ones.
func TestTxTable(t *testing.T) {
	var tt txTable
	t0 := time.Unix(1000, 0)
	txs := make([]*transaction, 50)
	for i := range txs {
		tx := &transaction{}
		tx.id[0], tx.id[1] = byte(i), 1
		tt.add(tx)
		// Deadlines out of order: 37*i mod 50 seconds.
		tt.setDeadline(tx, t0.Add(time.Duration(i*37%50)*time.Second))
		txs[i] = tx
	}
	if got := tt.next(); !got.Equal(t0) {
		t.Fatalf("next = %v, want %v", got.Sub(t0), time.Duration(0))
	}
	tt.setDeadline(txs[0], t0.Add(time.Hour)) // the earliest moves last
	tt.remove(txs[1])
	tt.remove(txs[1]) // twice is harmless
	if _, ok := tt.get(txs[1].id); ok {
		t.Error("removed transaction still found by id")
	}
	var last time.Time
	n := 0
	for tx := tt.expired(t0.Add(2 * time.Hour)); tx != nil; tx = tt.expired(t0.Add(2 * time.Hour)) {
		if tx.deadline.Before(last) {
			t.Fatalf("deadline %v after %v: not in order", tx.deadline.Sub(t0), last.Sub(t0))
		}
		last = tx.deadline
		tt.remove(tx)
		n++
	}
	if n != 49 || !last.Equal(t0.Add(time.Hour)) {
		t.Errorf("%d expired, last at %v; want 49, the last at 1h", n, last.Sub(t0))
	}
	if tt.byID != nil || cap(tt.list) > len(tt.list0) || cap(tt.heap) > len(tt.heap0) || !tt.next().IsZero() {
		t.Error("an empty table keeps memory or a deadline")
	}
	tx := &transaction{}
	tt.add(tx)
	tt.setDeadline(tx, t0.Add(time.Second))
	if tt.expired(t0) != nil || tt.expired(t0.Add(time.Second)) != tx {
		t.Error("expired: wrong at the deadline's edge")
	}
	tt.removeFunc(func(*transaction) bool { return true })
	if tt.len() != 0 {
		t.Error("removeFunc left a transaction")
	}
	// A few: found in the list, removed by removeFunc whatever their order.
	few := make([]*transaction, txListMax)
	for i := range few {
		few[i] = &transaction{}
		few[i].id[0] = byte(i + 1)
		tt.add(few[i])
		tt.setDeadline(few[i], t0.Add(time.Duration(i)*time.Second))
	}
	if tt.byID != nil {
		t.Fatalf("%d transactions indexed by a map", len(few))
	}
	for _, tx := range few {
		if got, ok := tt.get(tx.id); !ok || got != tx {
			t.Errorf("transaction %d not found", tx.id[0])
		}
	}
	tt.removeFunc(func(tx *transaction) bool { return tx.id[0]%2 == 0 })
	for _, tx := range few {
		if _, ok := tt.get(tx.id); ok != (tx.id[0]%2 == 1) {
			t.Errorf("transaction %d: found %v after removing the even ones", tx.id[0], ok)
		}
	}
	if got := tt.next(); !got.Equal(t0) {
		t.Errorf("next = %v after removeFunc, want 0s", got.Sub(t0))
	}
	tt.removeFunc(func(*transaction) bool { return true })
	if tt.len() != 0 || !tt.next().IsZero() {
		t.Error("removeFunc left a transaction")
	}
}
