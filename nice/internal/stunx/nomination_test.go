// SPDX-License-Identifier: MIT

package stunx

import (
	"errors"
	"testing"

	"github.com/pion/stun"
)

func TestNomination(t *testing.T) {
	m := stun.MustBuild(stun.BindingRequest, stun.TransactionID, Nomination(0x123456))
	v, err := m.Get(AttrNomination)
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0x12, 0x34, 0x56}; string(v) != string(want) {
		t.Fatalf("value % x, want % x", v, want)
	}
	var n Nomination
	if err := n.GetFrom(m); err != nil || n != 0x123456 {
		t.Fatalf("GetFrom = %d, %v", n, err)
	}
	// The first byte is not part of the value (draft §4).
	m = stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.RawAttribute{Type: AttrNomination, Value: []byte{0xff, 0, 0, 9}})
	if err := n.GetFrom(m); err != nil || n != 9 {
		t.Fatalf("GetFrom with a first byte = %d, %v; want 9", n, err)
	}
	// Values above 24 bits are cut when sent.
	m = stun.MustBuild(stun.BindingRequest, stun.TransactionID, Nomination(0x1000002))
	if err := n.GetFrom(m); err != nil || n != 2 {
		t.Fatalf("GetFrom of 0x1000002 = %d, %v; want 2", n, err)
	}
	for _, size := range []int{0, 3, 5, 8} {
		m = stun.MustBuild(stun.BindingRequest, stun.TransactionID, stun.RawAttribute{Type: AttrNomination, Value: make([]byte, size)})
		var se *AttrSizeError
		if err := n.GetFrom(m); !errors.As(err, &se) || se.Got != size {
			t.Fatalf("GetFrom of %d bytes: %v", size, err)
		}
	}
	if err := n.GetFrom(stun.MustBuild(stun.BindingRequest, stun.TransactionID)); !errors.Is(err, stun.ErrAttributeNotFound) {
		t.Fatalf("GetFrom without the attribute: %v", err)
	}
}
