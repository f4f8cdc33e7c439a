// SPDX-License-Identifier: MIT

package nice

// turnAlloc alone: a scripted server answers the requests it sends, and
// time is whatever the test passes as now.

import (
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// allocHarness records what a turnAlloc sends and tells.
type allocHarness struct {
	t       *testing.T
	a       *turnAlloc
	sent    []*stun.Message
	relayed netip.AddrPort
	failed  error
	lostErr error
	perms   map[netip.Addr]bool
	chans   map[netip.AddrPort]uint16
}

func (h *allocHarness) allocated(_ time.Time, relayed, _ netip.AddrPort) { h.relayed = relayed }
func (h *allocHarness) allocFailed(err error)                            { h.failed = err }
func (h *allocHarness) lost(_ time.Time, err error)                      { h.lostErr = err }
func (h *allocHarness) permitted(ip netip.Addr, ok bool)                 { h.perms[ip] = ok }
func (h *allocHarness) binding(netip.AddrPort, uint16)                   {}
func (h *allocHarness) bound(peer netip.AddrPort, ch uint16, ok bool) {
	if ok {
		h.chans[peer] = ch
	} else {
		delete(h.chans, peer)
	}
}

func newAllocHarness(t *testing.T, reliable bool) *allocHarness {
	h := &allocHarness{t: t, perms: map[netip.Addr]bool{}, chans: map[netip.AddrPort]uint16{}}
	h.a = &turnAlloc{
		user: "u", pass: "p", reliable: reliable, rto: 500 * time.Millisecond, ev: h,
		log: slog.New(slog.DiscardHandler),
		out: func(p []byte) {
			m := new(stun.Message)
			if err := stun.Decode(p, m); err != nil {
				t.Fatalf("sent a message pion cannot decode: %v", err)
			}
			h.sent = append(h.sent, m)
		},
	}
	return h
}

// last returns the last message sent, which must be a request of method.
func (h *allocHarness) last(method stun.Method) *stun.Message {
	h.t.Helper()
	if len(h.sent) == 0 {
		h.t.Fatalf("nothing sent, want %v", method)
	}
	m := h.sent[len(h.sent)-1]
	if m.Type != stun.NewType(method, stun.ClassRequest) {
		h.t.Fatalf("sent %v, want a %v request", m.Type, method)
	}
	return m
}

var (
	testRealm   = stun.NewRealm("gonice")
	testRelayed = netip.MustParseAddrPort("192.0.2.1:50000")
	testMapped  = netip.MustParseAddrPort("198.51.100.1:4000")
	testPeer    = netip.MustParseAddrPort("203.0.113.5:6000")
)

// answer hands the turnAlloc the server's answer to req.
func (h *allocHarness) answer(now time.Time, req *stun.Message, class stun.MessageClass, setters ...stun.Setter) {
	h.t.Helper()
	all := append([]stun.Setter{stun.NewTransactionIDSetter(req.TransactionID), stun.NewType(req.Type.Method, class)}, setters...)
	m, err := stun.Build(all...)
	if err != nil {
		h.t.Fatal(err)
	}
	got := new(stun.Message)
	if err := stun.Decode(m.Raw, got); err != nil {
		h.t.Fatal(err)
	}
	h.a.handle(now, got)
}

// allocate runs the credential dance to an allocation of lifetime 600 s.
func (h *allocHarness) allocate(now time.Time) {
	h.t.Helper()
	h.a.start(now)
	first := h.last(stun.MethodAllocate)
	if first.Contains(stun.AttrMessageIntegrity) || first.Contains(stun.AttrUsername) {
		h.t.Fatal("the first Allocate is signed")
	}
	var tr stunx.RequestedTransport
	if tr.GetFrom(first) != nil || tr != stunx.ProtoUDP {
		h.t.Fatal("the Allocate asks for no UDP relay")
	}
	h.answer(now, first, stun.ClassErrorResponse, stun.CodeUnauthorized, testRealm, stun.NewNonce("n1"))
	signed := h.last(stun.MethodAllocate)
	key := stun.NewLongTermIntegrity("u", "gonice", "p")
	if err := key.Check(signed); err != nil {
		h.t.Fatalf("the retried Allocate is not signed with the long-term key: %v", err)
	}
	h.answer(now, signed, stun.ClassSuccessResponse, stunx.XORRelayedAddress(testRelayed), stunx.XORMappedAddress(testMapped),
		stunx.Lifetime(600*time.Second), key)
	if h.relayed != testRelayed || h.a.mapped != testMapped {
		h.t.Fatalf("allocated %v mapped %v", h.relayed, h.a.mapped)
	}
}

// allocated returns a harness whose allocation is made, at its now.
func allocated(t *testing.T) (*allocHarness, time.Time) {
	h := newAllocHarness(t, false)
	now := time.Unix(1000, 0)
	h.allocate(now)
	return h, now
}

func TestTurnAllocAllocateRefresh(t *testing.T) {
	h, now := allocated(t)
	// Refreshed 60 s before the 600 s lifetime ends.
	if d := h.a.deadline(); !d.Equal(now.Add(540 * time.Second)) {
		t.Fatalf("deadline %v after allocating, want +540s", d.Sub(now))
	}
	now = now.Add(540 * time.Second)
	h.a.tick(now)
	ref := h.last(stun.MethodRefresh)
	if ref.Contains(stun.AttrLifetime) {
		t.Error("the refresh asks for a lifetime; want the server's default")
	}
	// A stale nonce: retried once with the new nonce.
	h.answer(now, ref, stun.ClassErrorResponse, stun.CodeStaleNonce, stun.NewNonce("n2"))
	ref2 := h.last(stun.MethodRefresh)
	var nonce stun.Nonce
	if nonce.GetFrom(ref2) != nil || nonce.String() != "n2" {
		t.Fatalf("retried with nonce %q, want n2", nonce)
	}
	h.answer(now, ref2, stun.ClassSuccessResponse, stunx.Lifetime(100*time.Second))
	// A lifetime under 2 minutes: refreshed at half of it.
	if d := h.a.deadline(); !d.Equal(now.Add(50 * time.Second)) {
		t.Fatalf("deadline %v after a 100 s refresh, want +50s", d.Sub(now))
	}
}

func TestTurnAllocRefused(t *testing.T) {
	for _, code := range []stun.ErrorCode{stun.CodeUnauthorized, stun.CodeBadRequest} {
		h := newAllocHarness(t, false)
		now := time.Unix(1000, 0)
		h.a.start(now)
		h.answer(now, h.last(stun.MethodAllocate), stun.ClassErrorResponse, stun.CodeUnauthorized, testRealm, stun.NewNonce("n1"))
		h.answer(now, h.last(stun.MethodAllocate), stun.ClassErrorResponse, code)
		if !errors.Is(h.failed, ErrRelayUnauthorized) {
			t.Errorf("%d to the signed Allocate: %v, want ErrRelayUnauthorized", code, h.failed)
		}
		if !h.a.done() || !h.a.deadline().IsZero() {
			t.Error("a refused allocation keeps a deadline")
		}
	}
	// Another error is not about the credentials.
	h := newAllocHarness(t, false)
	now := time.Unix(1000, 0)
	h.a.start(now)
	h.answer(now, h.last(stun.MethodAllocate), stun.ClassErrorResponse, stun.CodeUnauthorized, testRealm, stun.NewNonce("n1"))
	h.answer(now, h.last(stun.MethodAllocate), stun.ClassErrorResponse, stun.CodeAllocQuotaReached)
	if h.failed == nil || errors.Is(h.failed, ErrRelayUnauthorized) {
		t.Errorf("486: %v", h.failed)
	}
}

func TestTurnAllocTimeout(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		h := newAllocHarness(t, reliable)
		start := time.Unix(1000, 0)
		now := start
		h.a.start(now)
		for h.failed == nil {
			d := h.a.deadline()
			if d.IsZero() {
				t.Fatal("no deadline while allocating")
			}
			now = d
			h.a.tick(now)
		}
		want, sends := 39500*time.Millisecond, 7 // RFC 5389 §7.2.1 with RTO 500 ms
		if reliable {
			want, sends = turnReliableRTOs*500*time.Millisecond, 1
		}
		if !errors.Is(h.failed, ErrRelayTimeout) || now.Sub(start) != want || len(h.sent) != sends {
			t.Errorf("reliable %v: %v after %v and %d sends; want ErrRelayTimeout after %v and %d", reliable, h.failed, now.Sub(start), len(h.sent), want, sends)
		}
	}
}

func TestTurnAllocPermissionAndChannel(t *testing.T) {
	h := newAllocHarness(t, false)
	now := time.Unix(1000, 0)
	h.a.start(now)
	// Asked for while allocating: sent once allocated.
	h.a.permit(now, testPeer)
	h.answer(now, h.last(stun.MethodAllocate), stun.ClassErrorResponse, stun.CodeUnauthorized, testRealm, stun.NewNonce("n1"))
	h.answer(now, h.last(stun.MethodAllocate), stun.ClassSuccessResponse, stunx.XORRelayedAddress(testRelayed))
	cp := h.last(stun.MethodCreatePermission)
	var peer stunx.XORPeerAddress
	if peer.GetFrom(cp) != nil || netip.AddrPort(peer).Addr() != testPeer.Addr() {
		t.Fatalf("CreatePermission for %v", netip.AddrPort(peer))
	}
	h.a.permit(now, testPeer) // no second request
	if h.last(stun.MethodCreatePermission) != cp {
		t.Fatal("a second CreatePermission for the same peer")
	}
	h.answer(now, cp, stun.ClassSuccessResponse)
	if !h.perms[testPeer.Addr()] {
		t.Fatal("permission not reported")
	}
	cb := h.last(stun.MethodChannelBind)
	var ch stunx.ChannelNumber
	if ch.GetFrom(cb) != nil || ch != stunx.MinChannel || peer.GetFrom(cb) != nil || netip.AddrPort(peer) != testPeer {
		t.Fatalf("ChannelBind %#x to %v", ch, netip.AddrPort(peer))
	}
	h.answer(now, cb, stun.ClassSuccessResponse)
	if h.chans[testPeer] != stunx.MinChannel {
		t.Fatalf("channels %v", h.chans)
	}
	// The permission is refreshed at 240 s, the channel at 540 s.
	n := len(h.sent)
	h.a.tick(now.Add(239 * time.Second))
	if len(h.sent) != n {
		t.Fatal("sent before the permission's refresh")
	}
	now = now.Add(240 * time.Second)
	h.a.tick(now)
	h.answer(now, h.last(stun.MethodCreatePermission), stun.ClassSuccessResponse)
	now = now.Add(300 * time.Second)
	h.a.tick(now) // the channel, and the permission again
	var bind *stun.Message
	for _, m := range h.sent[n:] {
		if m.Type.Method == stun.MethodChannelBind {
			bind = m
		}
	}
	if bind == nil {
		t.Fatal("channel not refreshed")
	}
	// A refused refresh unbinds the channel: sends fall back to indications.
	h.answer(now, bind, stun.ClassErrorResponse, stun.CodeBadRequest)
	if _, ok := h.chans[testPeer]; ok {
		t.Fatal("channel still reported bound after a refused refresh")
	}
}

func TestTurnAllocPermissionRefused(t *testing.T) {
	h, now := allocated(t)
	h.a.permit(now, testPeer)
	h.answer(now, h.last(stun.MethodCreatePermission), stun.ClassErrorResponse, stun.CodeForbidden)
	if ok, told := h.perms[testPeer.Addr()]; !told || ok {
		t.Fatal("refused permission not reported")
	}
}

// TestTurnAllocLost: an allocation the server no longer has (437 to a
// Refresh, CreatePermission or ChannelBind: the server restarted) or that
// it will not refresh (508, a timeout) is reported lost, and then nothing
// more is sent or scheduled.
func TestTurnAllocLost(t *testing.T) {
	type step func(h *allocHarness, now time.Time) time.Time
	probe437 := func(h *allocHarness, now time.Time) time.Time {
		h.a.probe(now)
		ref := h.last(stun.MethodRefresh)
		h.a.probe(now) // one probe at a time
		if h.last(stun.MethodRefresh) != ref {
			t.Fatal("a second probe while one is in flight")
		}
		// coturn after a restart: a stale nonce first, then 437.
		h.answer(now, ref, stun.ClassErrorResponse, stun.CodeStaleNonce, stun.NewNonce("n2"))
		h.answer(now, h.last(stun.MethodRefresh), stun.ClassErrorResponse, stun.CodeAllocMismatch)
		return now
	}
	perm438then400 := func(h *allocHarness, now time.Time) time.Time {
		h.a.permit(now, testPeer)
		h.answer(now, h.last(stun.MethodCreatePermission), stun.ClassErrorResponse, stun.CodeStaleNonce, stun.NewNonce("n2"))
		h.answer(now, h.last(stun.MethodCreatePermission), stun.ClassErrorResponse, stun.CodeBadRequest)
		return now
	}
	perm437 := func(h *allocHarness, now time.Time) time.Time {
		h.a.permit(now, testPeer)
		h.answer(now, h.last(stun.MethodCreatePermission), stun.ClassErrorResponse, stun.CodeAllocMismatch)
		return now
	}
	refresh508 := func(h *allocHarness, now time.Time) time.Time {
		now = now.Add(540 * time.Second)
		h.a.tick(now)
		h.answer(now, h.last(stun.MethodRefresh), stun.ClassErrorResponse, stun.CodeInsufficientCapacity)
		return now
	}
	refreshSilent := func(h *allocHarness, now time.Time) time.Time {
		now = now.Add(540 * time.Second)
		for i := 0; i < 20 && h.lostErr == nil; i++ {
			h.a.tick(now)
			now = h.a.deadline()
			if now.IsZero() {
				break
			}
		}
		return now
	}
	for name, st := range map[string]step{"probe 437": probe437, "permission 437": perm437, "permission 438 then 400": perm438then400, "refresh 508": refresh508, "refresh unanswered": refreshSilent} {
		h, now := allocated(t)
		st(h, now)
		if !errors.Is(h.lostErr, ErrRelayLost) {
			t.Errorf("%s: lost %v, want ErrRelayLost", name, h.lostErr)
		}
		if !h.a.done() || !h.a.deadline().IsZero() {
			t.Errorf("%s: a lost allocation keeps a deadline", name)
		}
		n := len(h.sent)
		h.a.probe(now)
		h.a.permit(now, netip.MustParseAddrPort("203.0.113.9:1"))
		if len(h.sent) != n {
			t.Errorf("%s: sent %v after the loss", name, h.sent[len(h.sent)-1].Type)
		}
	}
	// A refused permission that says nothing of the allocation leaves it
	// alone: 403, or 400 at the first try.
	for _, code := range []stun.ErrorCode{stun.CodeForbidden, stun.CodeBadRequest} {
		h, now := allocated(t)
		h.a.permit(now, testPeer)
		h.answer(now, h.last(stun.MethodCreatePermission), stun.ClassErrorResponse, code)
		if h.lostErr != nil || h.a.done() {
			t.Errorf("%d to CreatePermission: lost %v", code, h.lostErr)
		}
	}
}

func TestTurnAllocRelease(t *testing.T) {
	h, now := allocated(t)
	h.a.permit(now, testPeer) // in flight: dropped by the release
	if !h.a.release(now) {
		t.Fatal("nothing to wait for after releasing an allocation")
	}
	rel := h.last(stun.MethodRefresh)
	var life stunx.Lifetime
	if life.GetFrom(rel) != nil || life != 0 {
		t.Fatal("the release does not ask for LIFETIME 0")
	}
	if err := stun.NewLongTermIntegrity("u", "gonice", "p").Check(rel); err != nil {
		t.Fatalf("release unsigned: %v", err)
	}
	h.answer(now, rel, stun.ClassErrorResponse, stun.CodeStaleNonce, stun.NewNonce("n9"))
	rel2 := h.last(stun.MethodRefresh)
	if rel2 == rel || life.GetFrom(rel2) != nil || life != 0 {
		t.Fatal("no retry of the release after 438")
	}
	// A second 438 ends it: one retry only.
	h.answer(now, rel2, stun.ClassErrorResponse, stun.CodeStaleNonce, stun.NewNonce("n10"))
	if !h.a.done() || h.last(stun.MethodRefresh) != rel2 {
		t.Fatal("the release is retried more than once")
	}

	h = newAllocHarness(t, false)
	h.allocate(now)
	h.a.release(now)
	h.answer(now, h.last(stun.MethodRefresh), stun.ClassSuccessResponse, stunx.Lifetime(0))
	if !h.a.done() || !h.a.deadline().IsZero() {
		t.Fatal("released allocation not done")
	}
	if h := newAllocHarness(t, false); h.a.release(now) {
		t.Fatal("an allocation never made is released")
	}
}

func TestTurnAllocCancelledThenGranted(t *testing.T) {
	h := newAllocHarness(t, false)
	now := time.Unix(1000, 0)
	h.a.start(now)
	h.answer(now, h.last(stun.MethodAllocate), stun.ClassErrorResponse, stun.CodeUnauthorized, testRealm, stun.NewNonce("n1"))
	signed := h.last(stun.MethodAllocate)
	h.a.cancel()
	h.answer(now, signed, stun.ClassSuccessResponse, stunx.XORRelayedAddress(testRelayed))
	if h.relayed.IsValid() {
		t.Fatal("a cancelled allocation is reported")
	}
	var life stunx.Lifetime
	rel := h.last(stun.MethodRefresh)
	if life.GetFrom(rel) != nil || life != 0 {
		t.Fatal("a late grant is not released")
	}
	// The component ends meanwhile: the release goes on.
	if !h.a.release(now) || h.last(stun.MethodRefresh) != rel {
		t.Fatal("release restarts or drops the release of a late grant")
	}
	h.answer(now, rel, stun.ClassSuccessResponse)
	if !h.a.done() {
		t.Fatal("late grant not released")
	}
	// Cancelled before the challenge: nothing left.
	h = newAllocHarness(t, false)
	h.a.start(now)
	h.a.cancel()
	if !h.a.done() || !h.a.deadline().IsZero() {
		t.Fatal("an unsigned Allocate survives cancel")
	}
}

func TestTurnAllocIgnoresStrangers(t *testing.T) {
	h, now := allocated(t)
	h.a.permit(now, testPeer)
	cp := h.last(stun.MethodCreatePermission)
	// A success with a wrong MESSAGE-INTEGRITY, and an answer to an unknown
	// transaction, change nothing.
	h.answer(now, cp, stun.ClassSuccessResponse, stun.NewLongTermIntegrity("u", "gonice", "wrong"))
	other, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodCreatePermission, stun.ClassRequest))
	h.answer(now, other, stun.ClassSuccessResponse)
	if _, told := h.perms[testPeer.Addr()]; told {
		t.Fatal("a forged or unknown answer granted the permission")
	}
}

// FuzzTurnAllocHandle hands whatever pion decodes to allocations in every
// state, as if the server sent it; nothing may panic, and an allocation
// that is done keeps no deadline.
func FuzzTurnAllocHandle(f *testing.F) {
	f.Add([]byte{}, uint8(0))
	ok, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse),
		stunx.XORRelayedAddress(testRelayed), stunx.Lifetime(time.Minute))
	f.Add(ok.Raw, uint8(1))
	bad, _ := stun.Build(stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassErrorResponse),
		stun.CodeStaleNonce, stun.NewNonce("x"))
	f.Add(bad.Raw, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, state uint8) {
		m := new(stun.Message)
		if stun.Decode(data, m) != nil {
			return
		}
		h := newAllocHarness(t, state&4 != 0)
		now := time.Unix(1000, 0)
		switch state % 4 {
		case 0:
			h.a.start(now)
		case 1:
			h.allocate(now)
			h.a.permit(now, testPeer)
		case 2:
			h.allocate(now)
			h.a.release(now)
		case 3:
			h.a.start(now)
			h.a.cancel()
		}
		// Make it answer the request in flight, whatever it says.
		if n := len(h.sent); n > 0 {
			m.TransactionID = h.sent[n-1].TransactionID
			m.WriteTransactionID()
			m.Type.Method = h.sent[n-1].Type.Method
			m.WriteType()
			if stun.Decode(m.Raw, m) != nil {
				return
			}
		}
		h.a.handle(now, m)
		h.a.tick(now.Add(time.Hour))
		if h.a.done() && !h.a.deadline().IsZero() {
			t.Fatal("done but a deadline is kept")
		}
	})
}

// TestTurnAllocProbeQuick: a probe (the relayed path went silent) that the
// server does not answer gives the allocation up after 4 sends and 7.5 s
// (rto 500 ms), the time of a connectivity check, where a scheduled
// Refresh waits RFC 5389's 39.5 s; a scheduled Refresh keeps that.
func TestTurnAllocProbeQuick(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(h *allocHarness, now time.Time) time.Time
		sends int
		after time.Duration
	}{
		{"probe", func(h *allocHarness, now time.Time) time.Time { h.a.probe(now); return now }, 4, 7500 * time.Millisecond},
		{"scheduled refresh", func(h *allocHarness, now time.Time) time.Time {
			now = now.Add(540 * time.Second)
			h.a.tick(now)
			return now
		}, 7, 39500 * time.Millisecond},
	} {
		h, now := allocated(t)
		start := c.start(h, now)
		n0 := len(h.sent)
		for h.lostErr == nil {
			now = h.a.deadline()
			if now.IsZero() {
				t.Fatalf("%s: no deadline and not lost", c.name)
			}
			h.a.tick(now)
		}
		refreshes := 1 // the first send, before n0 was counted
		for _, m := range h.sent[n0:] {
			if m.Type.Method == stun.MethodRefresh {
				refreshes++
			}
		}
		if refreshes != c.sends || now.Sub(start) != c.after {
			t.Errorf("%s: lost after %d Refresh sends and %v, want %d and %v", c.name, refreshes, now.Sub(start), c.sends, c.after)
		}
	}
}
