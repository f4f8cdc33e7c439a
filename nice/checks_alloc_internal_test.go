// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun"
)

// TestCheckNoAlloc: what an idle agent does every few seconds for consent
// freshness allocates nothing per message: encoding a check (buildCheck),
// verifying a signed message (checkIntegrity) and answering a check
// (sendSuccess, sent on a real socket). Before, the setter lists, the
// values boxed in them and the password's conversion to bytes made a
// dozen allocations per check and per answer; the garbage made the idle
// agents' GC run, which also shrank the loops' stacks, grown again at the
// next check.
func TestCheckNoAlloc(t *testing.T) {
	if raceBuild {
		// ./run test runs this test a second time without -race.
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items at random, pion's HMACs among them); run without -race")
	}
	a, err := NewAgent(Config{Software: "gonice test"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	conn, err := osNet{}.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sink, err := osNet{}.ListenUDP(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sk := &socket{conn: conn, local: conn.LocalAddrPort()}
	s := &stream{ufrag: "lufr", pwd: "local-password-0123456789", rufrag: "rufr", rpwd: "remote-password-0123456789"}
	tx := &transaction{stream: s, priority: 0x6e0001ff, control: true, nominate: true}
	err = a.do(func(time.Time) error {
		if err := a.buildCheck(tx); err != nil {
			return err
		}
		if n := testing.AllocsPerRun(200, func() { _ = a.buildCheck(tx) }); n != 0 {
			t.Errorf("buildCheck: %v allocations, want 0", n)
		}
		// The peer's view: the check, decoded with room to spare (as the
		// loop's scratch message has), verifies with the remote password.
		req := &stun.Message{Raw: make([]byte, 0, 512)}
		if err := stun.Decode(tx.raw, req); err != nil {
			return err
		}
		if err := checkIntegrity(req, s.rpwd); err != nil {
			t.Errorf("the check does not verify: %v", err)
		}
		if n := testing.AllocsPerRun(200, func() { _ = checkIntegrity(req, s.rpwd) }); n != 0 {
			t.Errorf("checkIntegrity: %v allocations, want 0", n)
		}
		a.sendSuccess(sk, sink.LocalAddrPort(), req, s.pwd)
		if n := testing.AllocsPerRun(200, func() { a.sendSuccess(sk, sink.LocalAddrPort(), req, s.pwd) }); n != 0 {
			t.Errorf("sendSuccess: %v allocations, want 0", n)
		}
		resp := &stun.Message{Raw: make([]byte, 0, 512)}
		if err := stun.Decode(a.out.Raw, resp); err != nil {
			return err
		}
		if err := checkIntegrity(resp, s.pwd); err != nil {
			t.Errorf("the answer does not verify: %v", err)
		}
		var sw stun.Software
		if err := sw.GetFrom(resp); err != nil || sw.String() != "gonice test" {
			t.Errorf("the answer's SOFTWARE is %q (%v)", sw, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
