// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"testing"
	"time"
)

// TestNextKeepaliveAt: consent checks stay within RFC 7675's 0.8–1.2 ×
// interval and land on the process-wide slack grid, so that many agents'
// checks fire together; keepalives (consent off) every 25 s on the grid.
func TestNextKeepaliveAt(t *testing.T) {
	for _, off := range []bool{false, true} {
		cfg := Config{DisableConsentFreshness: off}.withDefaults()
		// RFC 7675's 0.8-1.2 times the interval, but a grid step of margin
		// under its top (nextKeepaliveAt).
		lo, hi := cfg.ConsentInterval*4/5, cfg.ConsentInterval*6/5-keepaliveSlack
		if off {
			lo, hi = cfg.KeepaliveInterval, cfg.KeepaliveInterval+keepaliveSlack
		}
		checkNextKeepalive(t, fmt.Sprintf("consent off %v", off), &cfg, lo, hi)
	}
}

// checkNextKeepalive checks nextKeepaliveAt over 2,000 send times spread
// over the grid: every deadline lo–hi after the send, and on the grid.
func checkNextKeepalive(t *testing.T, name string, cfg *Config, lo, hi time.Duration) {
	t.Helper()
	start := time.Now()
	for i := range 2000 {
		now := start.Add(time.Duration(i) * 7919 * time.Microsecond)
		at := nextKeepaliveAt(now, cfg)
		if d := at.Sub(now); d < lo || d > hi {
			t.Fatalf("%s: next check %v after now, want %v-%v", name, d, lo, hi)
		}
		if at.UnixNano()%int64(keepaliveSlack) != 0 {
			t.Fatalf("%s: deadline %v is not on the %v grid", name, at, keepaliveSlack)
		}
	}
}

// TestConsentStateMachine drives consent alone, without an agent or a
// socket: requests every interval, a response extends the expiry, silence
// expires it at ConsentTimeout, a request in flight is not repeated, and
// keepalives are indications (or requests with KeepaliveConncheck) when
// consent freshness is off.
func TestConsentStateMachine(t *testing.T) {
	cfg := Config{}.withDefaults()
	t0 := time.Unix(1000, 0)
	var k consent
	if act := k.tick(t0, &cfg); act != consentNothing || !k.deadline(&cfg).IsZero() {
		t.Fatalf("stopped consent: tick = %v, deadline %v", act, k.deadline(&cfg))
	}
	k.start(t0, &cfg, false)
	if got := k.expiry.Sub(t0); got != cfg.ConsentTimeout {
		t.Errorf("expiry %v after start, want %v", got, cfg.ConsentTimeout)
	}
	first := k.next
	if act := k.tick(first.Add(-time.Millisecond), &cfg); act != consentNothing {
		t.Errorf("tick before the interval = %v", act)
	}
	if act := k.tick(first, &cfg); act != consentRequest {
		t.Fatalf("tick at the interval = %v, want a request", act)
	}
	tx := &transaction{}
	k.sent(tx, first)
	if act := k.tick(k.next, &cfg); act != consentNothing {
		t.Errorf("tick with a request in flight = %v, want nothing", act)
	}
	k.tx = nil // answered
	k.refreshed(first.Add(time.Second), &cfg)
	if want := first.Add(time.Second + cfg.ConsentTimeout); !k.expiry.Equal(want) {
		t.Errorf("expiry after a response = %v, want %v", k.expiry, want)
	}
	st := k.snapshot(&cfg)
	if st.RequestsSent != 1 || st.ResponsesReceived != 1 || !st.Expiry.Equal(k.expiry) {
		t.Errorf("snapshot = %+v", st)
	}
	// Silence: requests keep going out until the expiry, which fails it.
	now := k.next
	for ; now.Before(k.expiry); now = k.next {
		if act := k.tick(now, &cfg); act != consentRequest {
			t.Fatalf("tick at %v = %v, want a request", now.Sub(t0), act)
		}
	}
	if act := k.tick(k.expiry, &cfg); act != consentExpired {
		t.Errorf("tick at the expiry = %v, want expired", act)
	}
	k.stop()
	if !k.deadline(&cfg).IsZero() || k.stats.RequestsSent != 1 {
		t.Errorf("after stop: deadline %v, stats %+v (counters must stay)", k.deadline(&cfg), k.stats)
	}

	for _, conncheck := range []bool{false, true} {
		cfg := Config{DisableConsentFreshness: true, KeepaliveConncheck: conncheck}.withDefaults()
		var k consent
		k.start(t0, &cfg, true)
		want := consentIndication
		if conncheck {
			want = consentRequest
		}
		if act := k.tick(k.next, &cfg); act != want {
			t.Errorf("consent off, KeepaliveConncheck %v: tick = %v, want %v", conncheck, act, want)
		}
		if act := k.tick(t0.Add(time.Hour), &cfg); act == consentExpired {
			t.Error("consent off: expired")
		}
	}
}

// TestNextKeepaliveAtShortIntervals: with consent intervals near the grid
// step (tests and labs set 300 ms–2 s), a check never comes sooner than
// RFC 7675's 0.8 × the interval; the margin under 1.2 × (one grid step) is
// kept only where it fits above that, so such intervals may end up to a
// step over 1.2 ×, as they could before the margin.
func TestNextKeepaliveAtShortIntervals(t *testing.T) {
	for _, ci := range []time.Duration{300 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second} {
		cfg := Config{ConsentInterval: ci}.withDefaults()
		checkNextKeepalive(t, fmt.Sprintf("interval %v", ci), &cfg, ci*4/5, ci*6/5+keepaliveSlack)
	}
}
