// SPDX-License-Identifier: MIT

package nice_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/pion/stun"
)

func TestConsentLossFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, b, ra, _, sa, sb, _, hb := twoAgents(t, e, 1, nice.Config{}, nice.Config{})
		defer a.Close()
		defer b.Close()
		// Consent is refreshed while the peer answers: a minute is fine.
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateReady {
			t.Fatalf("state after a quiet minute = %v, want ready", st)
		}
		if _, err := a.Send(sa, 1, []byte("x")); err != nil {
			t.Fatalf("Send: %v", err)
		}
		// SendMessages on a socket without batch I/O (the in-memory
		// network) sends one datagram at a time, in order.
		if n, err := a.SendMessages(sa, 1, [][]byte{[]byte("y"), []byte("z")}); n != 2 || err != nil {
			t.Fatalf("SendMessages = %d, %v; want 2, nil", n, err)
		}
		buf := make([]byte, 10)
		for _, want := range []string{"x", "y", "z"} {
			n, err := b.Recv(sb, 1, buf)
			if err != nil || string(buf[:n]) != want {
				t.Fatalf("Recv = %q, %v; want %q", buf[:n], err, want)
			}
		}
		// A minute of consent checks at 5 s ±20 %: 10 to 15 of them, all
		// answered, the last one within 6 s; consent runs 30 s past it.
		cs, err := a.ConsentStats(sa, 1)
		if err != nil {
			t.Fatal(err)
		}
		if cs.RequestsSent < 10 || cs.RequestsSent > 15 || cs.ResponsesReceived != cs.RequestsSent {
			t.Errorf("after a minute: %d consent requests, %d responses; want 10-15, all answered", cs.RequestsSent, cs.ResponsesReceived)
		}
		if age := time.Since(cs.LastResponse); age > 6*time.Second {
			t.Errorf("last consent response %v ago, want at most 6 s", age)
		}
		if got := cs.Expiry.Sub(cs.LastResponse); got != nice.DefaultConsentTimeout {
			t.Errorf("consent expiry %v after the last response, want %v", got, nice.DefaultConsentTimeout)
		}
		// The peer vanishes: consent expires 30 s after the last response.
		hb.Block(true)
		lost := time.Now()
		time.Sleep(24 * time.Second)
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateReady {
			t.Fatalf("state 24 s after the peer vanished = %v, want still ready", st)
		}
		time.Sleep(nice.DefaultConsentTimeout + nice.DefaultConsentInterval*2 - time.Since(lost))
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateFailed {
			t.Fatalf("state after consent timeout = %v, want failed", st)
		}
		if _, err := a.Send(sa, 1, []byte("x")); !errors.Is(err, nice.ErrConsentLost) {
			t.Fatalf("Send after consent loss = %v, want ErrConsentLost", err)
		}
		if cs, err := a.ConsentStats(sa, 1); err != nil || !cs.Expiry.IsZero() {
			t.Errorf("ConsentStats after consent loss = %+v, %v; want no expiry", cs, err)
		}
		if _, err := a.ConsentStats(sa, 9); !errors.Is(err, nice.ErrInvalidComponent) {
			t.Errorf("ConsentStats of an unknown component = %v", err)
		}
		_ = sb
	})
}

func TestConsentLostRevokes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, b, ra, rb, sa, sb, _, _ := twoAgents(t, e, 1, nice.Config{}, nice.Config{})
		defer a.Close()
		defer b.Close()
		if err := b.ConsentLost(sb, 1); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if st := rb.state(sb, 1); st != nice.ComponentStateFailed {
			t.Fatalf("B state after ConsentLost = %v, want failed", st)
		}
		if _, err := b.Send(sb, 1, []byte("x")); !errors.Is(err, nice.ErrConsentLost) {
			t.Fatalf("B Send = %v, want ErrConsentLost", err)
		}
		// A's next consent check gets 403: A fails at once, not after 30 s.
		time.Sleep(2 * nice.DefaultConsentInterval)
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateFailed {
			t.Fatalf("A state after its consent check was refused = %v, want failed", st)
		}
		// A restart restores consent.
		for _, x := range []struct {
			ag  *nice.Agent
			sid int
		}{{a, sa}, {b, sb}} {
			if err := x.ag.RestartStream(x.sid); err != nil {
				t.Fatal(err)
			}
		}
		exchange(t, a, b, sa, sb, 1)
		exchange(t, b, a, sb, sa, 1)
		time.Sleep(time.Second)
		synctest.Wait()
		if st := rb.state(sb, 1); st != nice.ComponentStateReady {
			t.Fatalf("B after restart = %v, want ready; %q", st, rb.all())
		}
	})
}

// TestKeepaliveIndications: without consent freshness the selected pair
// gets a Binding indication every Tr (RFC 8445 §11, libnice's default).
func TestKeepaliveIndications(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{DisableConsentFreshness: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		id := peer.check(localAddr(t, a, sid, 1), true, 1, true)
		peer.nextResponse(id, time.Second)
		peer.respond(peer.nextRequest(time.Second)) // the triggered check
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Fatalf("state = %v, want ready", st)
		}
		start := time.Now()
		var at []time.Duration
		for len(at) < 3 {
			m := peer.next(time.Minute)
			if m.m.Type != stun.NewType(stun.MethodBinding, stun.ClassIndication) {
				t.Fatalf("got %v, want only Binding indications", m.m.Type)
			}
			if err := stun.Fingerprint.Check(m.m); err != nil {
				t.Errorf("indication without a valid FINGERPRINT: %v", err)
			}
			at = append(at, m.at.Sub(start).Round(time.Second))
		}
		want := []time.Duration{25 * time.Second, 50 * time.Second, 75 * time.Second}
		if !slices.Equal(at, want) {
			t.Errorf("indications at %v, want %v", at, want)
		}
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Errorf("state = %v, want ready: without consent freshness silence is no failure", st)
		}
		synctest.Wait()
		cs, err := a.ConsentStats(sid, 1)
		if err != nil {
			t.Fatal(err)
		}
		if cs.IndicationsSent != 3 || cs.RequestsSent != 0 || !cs.Expiry.IsZero() {
			t.Errorf("ConsentStats = %+v, want 3 indications, no request, no expiry", cs)
		}
	})
}
