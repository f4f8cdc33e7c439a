// SPDX-License-Identifier: MIT

package nice_test

// What the state-machine tests (checklist_test.go, checks_in_test.go,
// consent_test.go, …) share: an agent on the nicetest in-memory network
// against a scripted peer that speaks STUN by hand (rawPeer), or against a
// second agent, under testing/synctest so that every timer runs on a fake
// clock.

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/gonice/gonice/nice/nicetest"
	"github.com/pion/stun"
)

// rawMsg is a STUN message received by the scripted peer.
type rawMsg struct {
	m    *stun.Message
	from netip.AddrPort
	at   time.Time
}

// rawPeer is a scripted ICE peer: it reads and writes STUN itself.
type rawPeer struct {
	t            *testing.T
	conn         nice.PacketConn
	ufrag, pwd   string // the peer's credentials
	rufrag, rpwd string // the agent's credentials
	in           chan rawMsg
	done         chan struct{}
}

func newRawPeer(t *testing.T, h *nicetest.Host, port uint16) *rawPeer {
	t.Helper()
	c, err := h.ListenUDP(netip.AddrPortFrom(h.Addr(), port))
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, conn: c, ufrag: "peer", pwd: "peerpasswordpeerpassword", in: make(chan rawMsg, 64), done: make(chan struct{})}
	go func() { // reads until the conn is closed
		defer close(p.done)
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m := new(stun.Message)
			m.Raw = append([]byte(nil), buf[:n]...)
			if m.Decode() != nil {
				continue
			}
			p.in <- rawMsg{m: m, from: from, at: time.Now()}
		}
	}()
	return p
}

func (p *rawPeer) close() {
	p.conn.Close()
	<-p.done
}

func (p *rawPeer) addr() netip.AddrPort { return p.conn.LocalAddrPort() }

// candidate returns the peer as a host candidate of component cid.
func (p *rawPeer) candidate(cid int, foundation string) nice.Candidate {
	return nice.Candidate{Type: nice.CandidateTypeHost, Addr: p.addr(), Base: p.addr(), Priority: 2130706431 - uint32(cid), Foundation: foundation, ComponentID: cid}
}

// next waits for the next message, failing after d of fake time.
func (p *rawPeer) next(d time.Duration) rawMsg {
	p.t.Helper()
	select {
	case m := <-p.in:
		return m
	case <-time.After(d):
		p.t.Fatalf("no message within %v", d)
	}
	return rawMsg{}
}

// none asserts that nothing arrives within d.
func (p *rawPeer) none(d time.Duration) {
	p.t.Helper()
	select {
	case m := <-p.in:
		p.t.Fatalf("unexpected %v from %v", m.m, m.from)
	case <-time.After(d):
	}
}

// nextRequest waits for a Binding request and checks its authentication.
func (p *rawPeer) nextRequest(d time.Duration) rawMsg {
	p.t.Helper()
	for {
		r := p.next(d)
		if r.m.Type != stun.BindingRequest {
			continue
		}
		var u stun.Username
		if err := u.GetFrom(r.m); err != nil || u.String() != p.ufrag+":"+p.rufrag {
			p.t.Fatalf("request USERNAME = %q, want %q", u, p.ufrag+":"+p.rufrag)
		}
		if err := stun.NewShortTermIntegrity(p.pwd).Check(r.m); err != nil {
			p.t.Fatalf("request MESSAGE-INTEGRITY: %v", err)
		}
		if err := stun.Fingerprint.Check(r.m); err != nil {
			p.t.Fatalf("request FINGERPRINT: %v", err)
		}
		return r
	}
}

// respond answers a request with success.
func (p *rawPeer) respond(r rawMsg) {
	p.t.Helper()
	m := stun.MustBuild(stun.NewTransactionIDSetter(r.m.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: r.from.Addr().AsSlice(), Port: int(r.from.Port())},
		stun.NewShortTermIntegrity(p.pwd), stun.Fingerprint)
	if _, err := p.conn.WriteToUDPAddrPort(m.Raw, r.from); err != nil {
		p.t.Fatal(err)
	}
}

// respondError answers a request with an error code.
func (p *rawPeer) respondError(r rawMsg, code stun.ErrorCode) {
	p.t.Helper()
	m := stun.MustBuild(stun.NewTransactionIDSetter(r.m.TransactionID), stun.NewType(stun.MethodBinding, stun.ClassErrorResponse),
		code, stun.NewShortTermIntegrity(p.pwd), stun.Fingerprint)
	if _, err := p.conn.WriteToUDPAddrPort(m.Raw, r.from); err != nil {
		p.t.Fatal(err)
	}
}

// check sends a connectivity check to the agent and returns its transaction id.
func (p *rawPeer) check(to netip.AddrPort, controlling bool, tieBreaker uint64, useCand bool) [stun.TransactionIDSize]byte {
	p.t.Helper()
	setters := []stun.Setter{stun.TransactionID, stun.BindingRequest, stun.NewUsername(p.rufrag + ":" + p.ufrag), stunx.Priority(1853817087)}
	if controlling {
		setters = append(setters, stunx.ICEControlling(tieBreaker))
	} else {
		setters = append(setters, stunx.ICEControlled(tieBreaker))
	}
	if useCand {
		setters = append(setters, stunx.UseCandidate{})
	}
	setters = append(setters, stun.NewShortTermIntegrity(p.rpwd), stun.Fingerprint)
	m := stun.MustBuild(setters...)
	if _, err := p.conn.WriteToUDPAddrPort(m.Raw, to); err != nil {
		p.t.Fatal(err)
	}
	return m.TransactionID
}

// nextResponse waits for the response to transaction id.
func (p *rawPeer) nextResponse(id [stun.TransactionIDSize]byte, d time.Duration) rawMsg {
	p.t.Helper()
	for {
		r := p.next(d)
		if r.m.TransactionID == id && r.m.Type.Class != stun.ClassRequest {
			return r
		}
	}
}

// env is one synctest scenario: a network and a recorder per agent.
type env struct {
	t   *testing.T
	net *nicetest.Network
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, net: nicetest.NewNetwork()}
	return e
}

// agent creates an agent on a new public host with address ip.
func (e *env) agent(ip string, cfg nice.Config, ncomp int) (*nice.Agent, *syncRecorder, int, *nicetest.Host) {
	e.t.Helper()
	h := e.net.NewHost(netip.MustParseAddr(ip))
	cfg.Net = h
	a, err := nice.NewAgent(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	r := newSyncRecorder(a)
	sid, err := a.AddStream(ncomp)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		e.t.Fatal(err)
	}
	return a, r, sid, h
}

// syncRecorder records signals for synctest tests (no waiting helpers:
// synctest.Wait makes the state observable).
type syncRecorder struct {
	mu     sync.Mutex
	events []string
	states map[[2]int]nice.ComponentState
	remote []nice.Candidate
}

func newSyncRecorder(a *nice.Agent) *syncRecorder {
	r := &syncRecorder{states: map[[2]int]nice.ComponentState{}}
	add := func(s string) {
		r.mu.Lock()
		r.events = append(r.events, s)
		r.mu.Unlock()
	}
	a.OnComponentStateChanged(func(sid, cid int, s nice.ComponentState) {
		r.mu.Lock()
		r.states[[2]int{sid, cid}] = s
		r.mu.Unlock()
		add(fmt.Sprintf("state c%d %s", cid, s))
	})
	a.OnNewSelectedPair(func(sid, cid int, l, rc nice.Candidate) { add(fmt.Sprintf("selected c%d %s", cid, rc.Addr)) })
	a.OnNewRemoteCandidate(func(c nice.Candidate) {
		r.mu.Lock()
		r.remote = append(r.remote, c)
		r.mu.Unlock()
		add(fmt.Sprintf("remote c%d %s %s", c.ComponentID, c.Type, c.Addr))
	})
	a.OnCandidateGatheringDone(func(int) { add("gathering-done") })
	a.OnInitialBindingRequestReceived(func(int) { add("initial-binding-request") })
	return r
}

func (r *syncRecorder) state(sid, cid int) nice.ComponentState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[[2]int{sid, cid}]
}

func (r *syncRecorder) has(ev string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.events, ev)
}

func (r *syncRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// localAddr returns the agent's host candidate address of component cid.
func localAddr(t *testing.T, a *nice.Agent, sid, cid int) netip.AddrPort {
	t.Helper()
	cs, err := a.LocalCandidates(sid, cid)
	if err != nil || len(cs) == 0 {
		t.Fatalf("LocalCandidates = %v, %v", cs, err)
	}
	return cs[0].Addr
}

// attach wires a scripted peer to the agent's stream.
func attach(t *testing.T, a *nice.Agent, sid int, p *rawPeer, withCreds bool) {
	t.Helper()
	u, pw, err := a.LocalCredentials(sid)
	if err != nil {
		t.Fatal(err)
	}
	p.rufrag, p.rpwd = u, pw
	if withCreds {
		if err := a.SetRemoteCredentials(sid, p.ufrag, p.pwd); err != nil {
			t.Fatal(err)
		}
	}
}

// twoAgents connects two agents on the in-memory network (public hosts).
func twoAgents(t *testing.T, e *env, ncomp int, cfgA, cfgB nice.Config) (a, b *nice.Agent, ra, rb *syncRecorder, sa, sb int, ha, hb *nicetest.Host) {
	t.Helper()
	cfgA.Controlling = true
	a, ra, sa, ha = e.agent("10.0.0.1", cfgA, ncomp)
	b, rb, sb, hb = e.agent("10.0.0.2", cfgB, ncomp)
	synctest.Wait()
	exchange(t, a, b, sa, sb, ncomp)
	exchange(t, b, a, sb, sa, ncomp)
	time.Sleep(time.Second)
	synctest.Wait()
	for cid := 1; cid <= ncomp; cid++ {
		if st := ra.state(sa, cid); st != nice.ComponentStateReady {
			t.Fatalf("A component %d = %v, want ready; %q", cid, st, ra.all())
		}
		if st := rb.state(sb, cid); st != nice.ComponentStateReady {
			t.Fatalf("B component %d = %v, want ready; %q", cid, st, rb.all())
		}
	}
	return
}
