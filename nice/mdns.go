// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// mDNS candidates (draft-ietf-mmusic-mdns-ice-candidates): a peer may give
// "<uuid>.local" instead of a host address. With Config.MulticastDNS the
// agent resolves the name off the loop and off the data path, on a worker
// goroutine per query, and adds the candidate with its address once it is
// known, as if the peer had signalled the address. The work a peer can
// cause is bounded: at most maxMDNSNames names per agent are ever queried,
// at most maxMDNSQueries at once (the others wait in order), each for at
// most MDNSTimeout; candidates waiting for a name are bounded by MaxChecks
// per component. Names beyond are dropped (logged).

// MDNSResolver resolves an mDNS name to an address. Resolve must return
// when ctx is done.
type MDNSResolver interface {
	Resolve(ctx context.Context, name string) (netip.Addr, error)
	// Close releases the resolver; the agent calls it when it closes,
	// after every Resolve has returned.
	Close() error
}

const (
	maxMDNSNames   = 64 // names queried per agent, ever
	maxMDNSQueries = 4  // queries at once
	// DefaultMDNSTimeout bounds one mDNS query.
	DefaultMDNSTimeout = 5 * time.Second
)

// mdnsName is what the agent knows of one name. Owned by the loop.
type mdnsName struct {
	query   string     // the name as the peer wrote it (pion/mdns matches answers case-sensitively)
	done    bool       // the query ended
	addr    netip.Addr // its answer; invalid if it failed
	waiting []mdnsWait // candidates waiting for the answer
}

// mdnsWait is a remote candidate waiting for its name.
type mdnsWait struct {
	s    *stream
	gen  uint32
	comp int
	cand Candidate
}

// mdnsState is the agent's mDNS resolution. Owned by the loop.
type mdnsState struct {
	names    map[string]*mdnsName
	queue    []string // names waiting for a query slot
	inflight int
	ctx      context.Context // cancelled when the agent shuts down
	cancel   context.CancelFunc
	resolver MDNSResolver
}

// resolveRemote takes a remote candidate with an mDNS name: added at once
// if the name is resolved, else queued until it is. It reports whether the
// candidate was taken. Called on the loop.
func (a *Agent) resolveRemote(c *component, rc Candidate, now time.Time) bool {
	if !a.cfg.MulticastDNS {
		return false
	}
	m := &a.mdns
	if m.names == nil {
		m.names = map[string]*mdnsName{}
		m.ctx, m.cancel = context.WithCancel(context.Background())
	}
	key := strings.ToLower(rc.Hostname)
	n := m.names[key]
	if n == nil {
		if len(m.names) >= maxMDNSNames {
			a.log.Debug("mDNS: too many names, candidate dropped", "name", rc.Hostname)
			return false
		}
		n = &mdnsName{query: rc.Hostname}
		m.names[key] = n
		m.queue = append(m.queue, key)
		a.startQueries()
	}
	if n.done {
		if !n.addr.IsValid() {
			return false
		}
		rc.Addr = netip.AddrPortFrom(n.addr, rc.Addr.Port())
		return a.addRemoteCandidates(c, []Candidate{rc}, now) > 0
	}
	waiting := 0
	for _, w := range n.waiting {
		if w.s == c.s && w.comp == c.id {
			waiting++
		}
	}
	if waiting >= a.cfg.MaxChecks {
		return false
	}
	n.waiting = append(n.waiting, mdnsWait{s: c.s, gen: c.s.gen, comp: c.id, cand: rc})
	return true
}

// startQueries starts queries while slots are free. Called on the loop.
func (a *Agent) startQueries() {
	m := &a.mdns
	for m.inflight < maxMDNSQueries && len(m.queue) > 0 {
		name := m.queue[0]
		m.queue = m.queue[1:]
		if m.resolver == nil {
			r := a.cfg.MDNSResolver
			if r == nil {
				pr, err := newPionMDNS()
				if err != nil {
					a.log.Warn("nice: mDNS unavailable", "err", err)
					r = failedResolver{err}
				} else {
					r = pr
				}
			}
			m.resolver = r
		}
		m.inflight++
		ctx, cancel := context.WithTimeout(m.ctx, a.cfg.MDNSTimeout)
		go a.runQuery(a.workers.start(), ctx, cancel, m.resolver, name, m.names[name].query) // one query; ends when it is answered, times out or the agent shuts down
	}
}

// runQuery resolves name and hands the answer to the loop. It runs on its
// own worker goroutine.
func (a *Agent) runQuery(w *worker, ctx context.Context, cancel context.CancelFunc, r MDNSResolver, name, query string) {
	defer w.exit()
	addr, err := r.Resolve(ctx, query)
	cancel()
	if err != nil {
		addr = netip.Addr{}
	}
	_ = a.do(func(now time.Time) error {
		a.mdnsAnswered(name, addr.Unmap().WithZone(""), now)
		return nil
	})
}

// mdnsAnswered adds the candidates that waited for name. Called on the loop.
func (a *Agent) mdnsAnswered(name string, addr netip.Addr, now time.Time) {
	m := &a.mdns
	m.inflight--
	n := m.names[name]
	if n == nil {
		return
	}
	n.done, n.addr = true, addr
	waiting := n.waiting
	n.waiting = nil
	a.log.Debug("mDNS answer", "name", name, "addr", addr, "candidates", len(waiting))
	for _, wt := range waiting {
		if !addr.IsValid() || wt.s.gen != wt.gen || !slicesContainsStream(a.streams, wt.s) {
			continue
		}
		c := wt.s.comps[wt.comp-1]
		rc := wt.cand
		rc.Addr = netip.AddrPortFrom(addr, rc.Addr.Port())
		a.addRemoteCandidates(c, []Candidate{rc}, now)
	}
	a.startQueries()
}

// slicesContainsStream reports whether s is still one of the agent's streams.
func slicesContainsStream(ss []*stream, s *stream) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// stopMDNS cancels the queries; the resolver is closed once they have
// returned (closeMDNS). Called on the loop at shutdown.
func (a *Agent) stopMDNS() {
	if a.mdns.cancel != nil {
		a.mdns.cancel()
	}
}

// closeMDNS closes the resolver. Called by Close after the workers ended.
func (a *Agent) closeMDNS() {
	if r := a.mdns.resolver; r != nil {
		_ = r.Close()
	}
}

// failedResolver answers every name with the error that kept the default
// resolver from starting.
type failedResolver struct{ err error }

func (f failedResolver) Resolve(context.Context, string) (netip.Addr, error) {
	return netip.Addr{}, f.err
}
func (failedResolver) Close() error { return nil }
