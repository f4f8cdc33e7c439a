// SPDX-License-Identifier: MIT

package nice_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
)

// fakeMDNS answers names from a table after a delay; other names are never
// answered (the query lasts until its context ends). It counts queries.
type fakeMDNS struct {
	mu       sync.Mutex
	table    map[string]netip.Addr
	delay    time.Duration
	queries  int
	inflight int
	peak     int
	closed   bool
}

func (f *fakeMDNS) Resolve(ctx context.Context, name string) (netip.Addr, error) {
	f.mu.Lock()
	f.queries++
	f.inflight++
	f.peak = max(f.peak, f.inflight)
	addr, ok := f.table[name]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	if !ok {
		<-ctx.Done()
		return netip.Addr{}, ctx.Err()
	}
	select {
	case <-time.After(f.delay):
		return addr, nil
	case <-ctx.Done():
		return netip.Addr{}, ctx.Err()
	}
}

func (f *fakeMDNS) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inflight != 0 {
		return fmt.Errorf("closed with %d queries running", f.inflight)
	}
	f.closed = true
	return nil
}

func (f *fakeMDNS) stats() (queries, inflight, peak int, closed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries, f.inflight, f.peak, f.closed
}

// TestMDNSResolve: a remote host candidate given as an mDNS name is
// resolved off the loop and then checked like a signalled one: the pair
// works with no peer-reflexive candidate, and the remote candidate keeps
// its name. Checks wait for the answer.
func TestMDNSResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		const name = "1f4712db-ea17-4bcf-a596-105139dfd8bf.local"
		res := &fakeMDNS{table: map[string]netip.Addr{name: netip.MustParseAddr("10.0.0.2")}, delay: 300 * time.Millisecond}
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true, MulticastDNS: true, MDNSResolver: res}, 1)
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5001)
		defer peer.close()
		attach(t, a, sid, peer, true)
		line := "a=candidate:1 1 udp 2122260223 " + name + " 5001 typ host"
		c, err := a.ParseRemoteCandidateSDP(sid, line)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{c}); err != nil || n != 1 {
			t.Fatalf("SetRemoteCandidates = %d, %v; want 1", n, err)
		}
		start := time.Now()
		q := peer.nextRequest(2 * time.Second)
		if d := q.at.Sub(start); d < res.delay {
			t.Errorf("first check %v after the candidate, before the answer (%v)", d, res.delay)
		}
		peer.respond(q)
		peer.serve(2*time.Second, true)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Fatalf("state = %v; %q", st, r.all())
		}
		_, rc, err := a.SelectedPair(sid, 1)
		if err != nil || rc.Type != nice.CandidateTypeHost || rc.Addr != peer.addr() || rc.Hostname != name {
			t.Errorf("selected remote = %+v, %v; want the host candidate %v named %s", rc, err, peer.addr(), name)
		}
		for _, ev := range r.all() {
			if len(ev) > 6 && ev[:6] == "remote" {
				t.Errorf("peer-reflexive discovery: %q", ev)
			}
		}
		// The name is known now: another candidate with it is added at once.
		c2 := c
		c2.Foundation, c2.Addr = "2", netip.AddrPortFrom(netip.Addr{}, 5002)
		if n, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{c2}); err != nil || n != 1 {
			t.Fatalf("SetRemoteCandidates of a known name = %d, %v", n, err)
		}
		if rs, _ := a.RemoteCandidates(sid, 1); len(rs) != 2 || rs[1].Addr != netip.MustParseAddrPort("10.0.0.2:5002") {
			t.Errorf("RemoteCandidates = %v", rs)
		}
		if q, _, _, _ := res.stats(); q != 1 {
			t.Errorf("%d queries, want 1", q)
		}
		a.Close()
		if _, _, _, closed := res.stats(); !closed {
			t.Error("resolver not closed")
		}
	})
}

// TestMDNSBounded: a peer sending 1,000 mDNS names that nobody answers costs
// bounded work: at most 64 names are ever queried, at most 4 at once, each
// for MDNSTimeout; the agent keeps working, and Close ends every query.
func TestMDNSBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		res := &fakeMDNS{}
		a, _, sid, _ := e.agent("10.0.0.1", nice.Config{MulticastDNS: true, MDNSResolver: res, MDNSTimeout: time.Second}, 1)
		var cands []nice.Candidate
		for i := range 1000 {
			cands = append(cands, nice.Candidate{Type: nice.CandidateTypeHost, Hostname: fmt.Sprintf("n%d.local", i),
				Addr: netip.AddrPortFrom(netip.Addr{}, 9), Priority: 1, Foundation: "1"})
		}
		n, err := a.SetRemoteCandidates(sid, 1, cands)
		if err != nil || n != 64 {
			t.Fatalf("SetRemoteCandidates = %d, %v; want 64 taken", n, err)
		}
		synctest.Wait()
		if q, in, _, _ := res.stats(); q != 4 || in != 4 {
			t.Fatalf("%d queries, %d running; want 4 and 4", q, in)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		q, in, peak, _ := res.stats()
		if q != 64 || in != 0 || peak != 4 {
			t.Errorf("after 20 s: %d queries (want 64), %d running (want 0), at most %d at once (want 4)", q, in, peak)
		}
		if rs, err := a.RemoteCandidates(sid, 1); err != nil || len(rs) != 0 {
			t.Errorf("RemoteCandidates = %v, %v; want none", rs, err)
		}
		// A name that failed is not queried again.
		if n, _ := a.SetRemoteCandidates(sid, 1, cands[:1]); n != 0 {
			t.Errorf("a failed name taken again: %d", n)
		}
		// Close while queries run.
		more := []nice.Candidate{cands[0]}
		more[0].Hostname = "late.local"
		if n, _ := a.SetRemoteCandidates(sid, 1, more); n != 0 {
			t.Errorf("a 65th name was taken: %d", n)
		}
		a.Close()
		if _, in, _, closed := res.stats(); in != 0 || !closed {
			t.Errorf("after Close: %d queries running, resolver closed %v", in, closed)
		}
	})
}

// TestMDNSOff: without Config.MulticastDNS an mDNS candidate is ignored,
// as libnice does, and nothing is queried.
func TestMDNSOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		res := &fakeMDNS{}
		a, _, sid, _ := e.agent("10.0.0.1", nice.Config{MDNSResolver: res}, 1)
		defer a.Close()
		c := nice.Candidate{Type: nice.CandidateTypeHost, Hostname: "x.local", Addr: netip.AddrPortFrom(netip.Addr{}, 9), Priority: 1, Foundation: "1"}
		if n, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{c}); err != nil || n != 0 {
			t.Errorf("SetRemoteCandidates = %d, %v; want 0, nil", n, err)
		}
		c.Hostname = "bad_name.local"
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{c}); err == nil {
			t.Error("a candidate with a bad mDNS name was accepted")
		}
		synctest.Wait()
		if q, _, _, _ := res.stats(); q != 0 {
			t.Errorf("%d queries without MulticastDNS", q)
		}
	})
}
