// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	// Config.MDNSHostNames: per IPv4 host address its name and the
	// responder that answers for it ("" and nil: it could not start).
	hidden map[netip.Addr]mdnsHidden
}

// mdnsHidden is a host address hidden behind a name.
type mdnsHidden struct {
	name      string
	responder *pionMDNS
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
			if a.debugOn(LogGather) {
				a.log.Debug("gather.mdns-dropped", "name", rc.Hostname, "limit", maxMDNSNames)
			}
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
				pr, err := newPionMDNS(nil, netip.Addr{})
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
	if a.debugOn(LogGather) {
		a.log.Debug("gather.mdns-answer", "name", name, "addr", addr, "candidates", len(waiting))
	}
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

// closeMDNS closes the resolver and the responders. Called by Close after
// the workers ended.
func (a *Agent) closeMDNS() {
	if r := a.mdns.resolver; r != nil {
		_ = r.Close()
	}
	for _, h := range a.mdns.hidden {
		if h.responder != nil {
			_ = h.responder.Close()
		}
	}
}

// mdnsHostName returns the name that hides a host candidate on sk
// (Config.MDNSHostNames), one per local address, starting its responder on
// first use; "" when the candidate is not hidden: IPv6 (pion/mdns v0.0.8
// answers A records only), or the responder could not start. The
// responders are as many as the agent's IPv4 addresses. Called on the loop.
func (a *Agent) mdnsHostName(sk *socket) string {
	m := &a.mdns
	addr := sk.local.Addr()
	if !a.cfg.MDNSHostNames || !addr.Is4() || addr.IsUnspecified() {
		return ""
	}
	if h, ok := m.hidden[addr]; ok {
		return h.name
	}
	if m.hidden == nil {
		m.hidden = map[netip.Addr]mdnsHidden{}
	}
	name := newUUID() + ".local"
	r, err := newPionMDNS([]string{name}, addr)
	if err != nil {
		a.log.Warn("nice: mDNS responder unavailable, host candidate not hidden", "addr", addr, "err", err)
		m.hidden[addr] = mdnsHidden{}
		return ""
	}
	m.hidden[addr] = mdnsHidden{name: name, responder: r}
	return name
}

// newUUID returns a random (version 4) UUID, as browsers name their host
// candidates.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// sdpView is c as the agent's SDP shows it: with Config.MDNSHostNames a
// hidden host candidate has its name and no address (so it is not the m=
// line's default candidate either: c= is then 0.0.0.0 or a public
// address), and the related address of a server-reflexive or relayed
// candidate whose base is a hidden host address is 0.0.0.0 port 9, as
// browsers print it.
func (a *Agent) sdpView(c Candidate) Candidate {
	if c.Hostname != "" {
		c.Addr = netip.AddrPortFrom(netip.Addr{}, c.Addr.Port())
		c.Base = c.Addr
		return c
	}
	if a.cfg.MDNSHostNames && c.Type != CandidateTypeHost && c.Base.Addr().Is4() {
		c.Base = netip.AddrPortFrom(netip.IPv4Unspecified(), 9)
	}
	return c
}

// failedResolver answers every name with the error that kept the default
// resolver from starting.
type failedResolver struct{ err error }

func (f failedResolver) Resolve(context.Context, string) (netip.Addr, error) {
	return netip.Addr{}, f.err
}
func (failedResolver) Close() error { return nil }
