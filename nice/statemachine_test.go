// SPDX-License-Identifier: MIT

package nice_test

// State-machine tests: an agent on the nicetest in-memory network against a
// scripted peer that speaks STUN by hand, or against a second agent, under
// testing/synctest so that every timer runs on a fake clock.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/gonice/gonice/nice/nicetest"
	"github.com/gonice/gonice/nice/stunserver"
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

func TestRetransmissionAndFailure(t *testing.T) {
	for _, eoc := range []bool{true, false} {
		t.Run(fmt.Sprintf("end-of-candidates=%v", eoc), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testRetransmissionAndFailure(t, eoc) })
		})
	}
}

func testRetransmissionAndFailure(t *testing.T, endOfCandidates bool) {
	e := newEnv(t)
	defer e.net.Close()
	a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
	defer a.Close()
	peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
	defer peer.close()
	attach(t, a, sid, peer, true)
	if endOfCandidates {
		if err := a.PeerCandidateGatheringDone(sid); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
		t.Fatal(err)
	}
	// RTO 500 ms doubling, 3 retransmissions: sends at 0, 0.5, 1.5, 3.5 s.
	var at []time.Duration
	var ids [][stun.TransactionIDSize]byte
	for range 4 {
		req := peer.nextRequest(10 * time.Second)
		at = append(at, req.at.Sub(start))
		ids = append(ids, req.m.TransactionID)
	}
	want := []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond}
	if !slices.Equal(at, want) {
		t.Errorf("check sent at %v, want %v", at, want)
	}
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("retransmission changed the transaction id")
		}
	}
	peer.none(3 * time.Second)
	// The last transmission times out 4 s after it was sent (7.5 s).
	time.Sleep(start.Add(7500*time.Millisecond - time.Millisecond).Sub(time.Now()))
	synctest.Wait()
	if st := r.state(sid, 1); st != nice.ComponentStateConnecting {
		t.Fatalf("state before the last timeout = %v, want connecting", st)
	}
	time.Sleep(2 * time.Millisecond)
	synctest.Wait()
	if endOfCandidates {
		if st := r.state(sid, 1); st != nice.ComponentStateFailed {
			t.Fatalf("state after the checks failed = %v, want failed", st)
		}
		return
	}
	// Without end-of-candidates the component waits IdleTimeout for more.
	if st := r.state(sid, 1); st != nice.ComponentStateConnecting {
		t.Fatalf("state = %v, want connecting until the idle timeout", st)
	}
	time.Sleep(nice.DefaultIdleTimeout)
	synctest.Wait()
	if st := r.state(sid, 1); st != nice.ComponentStateFailed {
		t.Fatalf("state after the idle timeout = %v, want failed", st)
	}
}

func TestFrozenUnfreezesOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{}, 2) // controlled: no nomination checks
		defer a.Close()
		ph := e.net.NewHost(netip.MustParseAddr("10.0.0.2"))
		p1, p2 := newRawPeer(t, ph, 5000), newRawPeer(t, ph, 5001)
		defer p1.close()
		defer p2.close()
		attach(t, a, sid, p1, true)
		attach(t, a, sid, p2, false)
		// Same foundation on both components: component 2's pair starts Frozen.
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{p1.candidate(1, "7")}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetRemoteCandidates(sid, 2, []nice.Candidate{p2.candidate(2, "7")}); err != nil {
			t.Fatal(err)
		}
		req := p1.nextRequest(time.Second)
		p2.none(200 * time.Millisecond) // 10 Ta: still frozen while the first is in progress
		p1.respond(req)
		t0 := time.Now()
		req2 := p2.nextRequest(time.Second)
		if d := req2.at.Sub(t0); d > nice.DefaultTa {
			t.Errorf("component 2 checked %v after component 1 succeeded, want within Ta", d)
		}
		p2.respond(req2)
		synctest.Wait()
		for cid := 1; cid <= 2; cid++ {
			if st := r.state(sid, cid); st != nice.ComponentStateConnected {
				t.Errorf("component %d = %v, want connected (controlled, not nominated)", cid, st)
			}
		}
	})
}

func TestTriggeredCheckAndPeerReflexive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, false)
		to := localAddr(t, a, sid, 1)
		// A check before the remote credentials: answered, remembered.
		id := peer.check(to, true, 1, false)
		resp := peer.nextResponse(id, time.Second)
		if resp.m.Type != stun.BindingSuccess {
			t.Fatalf("response = %v, want success", resp.m.Type)
		}
		if err := stun.NewShortTermIntegrity(peer.rpwd).Check(resp.m); err != nil {
			t.Fatalf("response integrity: %v", err)
		}
		var xa stun.XORMappedAddress
		if err := xa.GetFrom(resp.m); err != nil || xa.Port != int(peer.addr().Port()) {
			t.Fatalf("XOR-MAPPED-ADDRESS = %v, %v; want %v", xa, err, peer.addr())
		}
		peer.none(time.Second) // no credentials yet: no triggered check
		synctest.Wait()
		if !r.has("initial-binding-request") {
			t.Errorf("no initial-binding-request-received: %q", r.all())
		}
		if err := a.SetRemoteCredentials(sid, peer.ufrag, peer.pwd); err != nil {
			t.Fatal(err)
		}
		req := peer.nextRequest(time.Second) // the triggered check, at once
		var ctd stunx.ICEControlled
		if err := ctd.GetFrom(req.m); err != nil {
			t.Errorf("triggered check lacks ICE-CONTROLLED: %v", err)
		}
		peer.respond(req)
		synctest.Wait()
		if want := fmt.Sprintf("remote c1 prflx %s", peer.addr()); !r.has(want) {
			t.Errorf("missing %q in %q", want, r.all())
		}
		rc, _ := a.RemoteCandidates(sid, 1)
		if len(rc) != 1 || rc[0].Type != nice.CandidateTypePeerReflexive || rc[0].Priority != 1853817087 {
			t.Errorf("remote candidates = %v, want one prflx with the PRIORITY of the check", rc)
		}
		if st := r.state(sid, 1); st != nice.ComponentStateConnected {
			t.Errorf("state = %v, want connected", st)
		}
		// The controlling peer nominates: READY.
		id = peer.check(to, true, 1, true)
		peer.nextResponse(id, time.Second)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateReady {
			t.Errorf("state after USE-CANDIDATE = %v, want ready", st)
		}
	})
}

func TestUnauthenticatedRequestsRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		to := localAddr(t, a, sid, 1)
		send := func(setters ...stun.Setter) [stun.TransactionIDSize]byte {
			m := stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.BindingRequest}, setters...)...)
			if _, err := peer.conn.WriteToUDPAddrPort(m.Raw, to); err != nil {
				t.Fatal(err)
			}
			return m.TransactionID
		}
		cases := []struct {
			name    string
			setters []stun.Setter
			code    stun.ErrorCode
		}{
			{"no USERNAME or MESSAGE-INTEGRITY", []stun.Setter{stun.Fingerprint}, stun.CodeBadRequest},
			{"no MESSAGE-INTEGRITY", []stun.Setter{stun.NewUsername(peer.rufrag + ":" + peer.ufrag), stun.Fingerprint}, stun.CodeBadRequest},
			{"wrong ufrag", []stun.Setter{stun.NewUsername("nope:" + peer.ufrag), stun.NewShortTermIntegrity(peer.rpwd), stun.Fingerprint}, stun.CodeUnauthorized},
			{"wrong password", []stun.Setter{stun.NewUsername(peer.rufrag + ":" + peer.ufrag), stun.NewShortTermIntegrity("wrongwrongwrongwrongwrong"), stun.Fingerprint}, stun.CodeUnauthorized},
		}
		for _, tc := range cases {
			id := send(tc.setters...)
			resp := peer.nextResponse(id, time.Second)
			var ec stun.ErrorCodeAttribute
			if resp.m.Type.Class != stun.ClassErrorResponse || ec.GetFrom(resp.m) != nil || ec.Code != tc.code {
				t.Errorf("%s: response %v %v, want error %d", tc.name, resp.m.Type, ec, tc.code)
			}
		}
		peer.none(time.Second) // no triggered check: no state was created
		synctest.Wait()
		if rc, _ := a.RemoteCandidates(sid, 1); len(rc) != 0 {
			t.Errorf("remote candidates learned from bad requests: %v", rc)
		}
		if r.has("initial-binding-request") {
			t.Errorf("initial-binding-request-received signalled for a rejected request")
		}
	})
}

func TestRoleConflict(t *testing.T) {
	cases := []struct {
		name            string
		agentControls   bool
		peerControls    bool
		peerTieBreaker  uint64
		wantConflict487 bool
		wantControlling bool
	}{
		{"both controlling, agent wins", true, true, 0, true, true},
		{"both controlling, peer wins", true, true, ^uint64(0), false, false},
		{"both controlled, agent wins", false, false, 0, false, true},
		{"both controlled, peer wins", false, false, ^uint64(0), true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.net.Close()
				a, _, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: tc.agentControls}, 1)
				defer a.Close()
				peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
				defer peer.close()
				attach(t, a, sid, peer, false)
				id := peer.check(localAddr(t, a, sid, 1), tc.peerControls, tc.peerTieBreaker, false)
				resp := peer.nextResponse(id, time.Second)
				var ec stun.ErrorCodeAttribute
				got487 := resp.m.Type.Class == stun.ClassErrorResponse && ec.GetFrom(resp.m) == nil && ec.Code == stun.CodeRoleConflict
				if got487 != tc.wantConflict487 {
					t.Errorf("487 = %v, want %v (response %v)", got487, tc.wantConflict487, resp.m)
				}
				if got487 {
					if err := stun.NewShortTermIntegrity(peer.rpwd).Check(resp.m); err != nil {
						t.Errorf("487 not signed: %v", err)
					}
				}
				if got := a.Controlling(); got != tc.wantControlling {
					t.Errorf("Controlling() = %v, want %v", got, tc.wantControlling)
				}
			})
		})
	}
}

func TestRoleConflictResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		req := peer.nextRequest(time.Second)
		var ctl stunx.ICEControlling
		if err := ctl.GetFrom(req.m); err != nil {
			t.Fatalf("first check lacks ICE-CONTROLLING: %v", err)
		}
		peer.respondError(req, stun.CodeRoleConflict)
		// RFC 8445 §7.2.5.1: switch role, retry the pair as triggered check.
		req = peer.nextRequest(time.Second)
		var ctd stunx.ICEControlled
		if err := ctd.GetFrom(req.m); err != nil {
			t.Fatalf("retry lacks ICE-CONTROLLED: %v", err)
		}
		if a.Controlling() {
			t.Errorf("agent still controlling after 487")
		}
		peer.respond(req)
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateConnected {
			t.Errorf("state = %v, want connected", st)
		}
	})
}

func TestNominationScripted(t *testing.T) {
	for _, mode := range []nice.NominationMode{nice.NominationRegular, nice.NominationAggressive} {
		t.Run(mode.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				defer e.net.Close()
				a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true, Nomination: mode}, 1)
				defer a.Close()
				peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
				defer peer.close()
				attach(t, a, sid, peer, true)
				if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
					t.Fatal(err)
				}
				req := peer.nextRequest(time.Second)
				if got, want := stunx.HasUseCandidate(req.m), mode == nice.NominationAggressive; got != want {
					t.Fatalf("first check USE-CANDIDATE = %v, want %v", got, want)
				}
				peer.respond(req)
				if mode == nice.NominationRegular {
					synctest.Wait()
					if st := r.state(sid, 1); st != nice.ComponentStateConnected {
						t.Fatalf("state after first success = %v, want connected", st)
					}
					t0 := time.Now()
					nom := peer.nextRequest(time.Second)
					if !stunx.HasUseCandidate(nom.m) {
						t.Fatalf("second check lacks USE-CANDIDATE")
					}
					if d := nom.at.Sub(t0); d != 0 {
						t.Errorf("nomination sent %v after the success, want at once", d)
					}
					peer.respond(nom)
				}
				synctest.Wait()
				if st := r.state(sid, 1); st != nice.ComponentStateReady {
					t.Fatalf("state = %v, want ready; events %q", st, r.all())
				}
				if err := inOrder(r.all(), []string{"state c1 connecting", "state c1 connected", "selected c1 " + peer.addr().String(), "state c1 ready"}); err != nil {
					t.Error(err)
				}
			})
		})
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

func TestRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, b, ra, rb, sa, sb, _, _ := twoAgents(t, e, 2, nice.Config{}, nice.Config{})
		defer a.Close()
		defer b.Close()
		oldU, oldP, _ := a.LocalCredentials(sa)
		if err := a.Restart(); err != nil {
			t.Fatal(err)
		}
		if err := b.Restart(); err != nil {
			t.Fatal(err)
		}
		newU, newP, _ := a.LocalCredentials(sa)
		if newU == oldU || newP == oldP {
			t.Errorf("credentials unchanged by restart")
		}
		synctest.Wait()
		for cid := 1; cid <= 2; cid++ {
			if st := ra.state(sa, cid); st != nice.ComponentStateGathering {
				t.Errorf("A component %d after restart = %v, want gathering", cid, st)
			}
		}
		if rc, _ := a.RemoteCandidates(sa, 1); len(rc) != 0 {
			t.Errorf("remote candidates kept across restart: %v", rc)
		}
		// Data still flows on the old pair during the restart.
		if _, err := a.Send(sa, 1, []byte("during restart")); err != nil {
			t.Errorf("Send during restart: %v", err)
		}
		exchange(t, a, b, sa, sb, 2)
		exchange(t, b, a, sb, sa, 2)
		time.Sleep(time.Second)
		synctest.Wait()
		for cid := 1; cid <= 2; cid++ {
			if st := ra.state(sa, cid); st != nice.ComponentStateReady {
				t.Errorf("A component %d = %v, want ready; %q", cid, st, ra.all())
			}
			if st := rb.state(sb, cid); st != nice.ComponentStateReady {
				t.Errorf("B component %d = %v, want ready", cid, st)
			}
		}
	})
}

func TestTrickleAfterChecksStarted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, ra, sa, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		b, rb, sb, _ := e.agent("10.0.0.2", nice.Config{}, 1)
		defer a.Close()
		defer b.Close()
		synctest.Wait()
		// Credentials both ways; A first gets only a dead candidate of B's,
		// and B gets none of A's.
		ua, pa, _ := a.LocalCredentials(sa)
		ub, pb, _ := b.LocalCredentials(sb)
		_ = a.SetRemoteCredentials(sa, ub, pb)
		_ = b.SetRemoteCredentials(sb, ua, pa)
		dead := nice.Candidate{Type: nice.CandidateTypeHost, Addr: netip.MustParseAddrPort("10.9.9.9:9999"), Priority: 2130706431, Foundation: "9", ComponentID: 1}
		if _, err := a.SetRemoteCandidates(sa, 1, []nice.Candidate{dead}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // checks on the dead pair are under way
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateConnecting {
			t.Fatalf("A = %v, want connecting", st)
		}
		// Trickle B's real candidate.
		cands, _ := b.LocalCandidates(sb, 1)
		if n, err := a.SetRemoteCandidates(sa, 1, cands); err != nil || n != 1 {
			t.Fatalf("trickle: %d, %v", n, err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st := ra.state(sa, 1); st != nice.ComponentStateReady {
			t.Errorf("A = %v, want ready; %q", st, ra.all())
		}
		if st := rb.state(sb, 1); st != nice.ComponentStateReady {
			t.Errorf("B = %v, want ready (via a peer-reflexive candidate); %q", st, rb.all())
		}
		if !rb.has("remote c1 prflx 10.0.0.1:" + strings.Split(localAddr(t, a, sa, 1).String(), ":")[1]) {
			t.Errorf("B learned no peer-reflexive candidate: %q", rb.all())
		}
	})
}

// TestNATTraversal runs two agents behind in-memory NATs with a STUN server
// on the public segment: server-reflexive candidates are gathered, and hole
// punching connects every pair of NAT types where it can work.
func TestNATTraversal(t *testing.T) {
	types := []struct {
		name string
		cfg  nicetest.NATConfig
	}{
		{"full-cone", nicetest.FullCone},
		{"restricted", nicetest.RestrictedCone},
		{"port-restricted", nicetest.PortRestrictedCone},
		{"symmetric", nicetest.Symmetric},
	}
	for _, ta := range types {
		for _, tb := range types {
			// Symmetric against port-restricted or symmetric cannot punch.
			sym := func(n string) bool { return n == "symmetric" }
			pr := func(n string) bool { return n == "port-restricted" || n == "symmetric" }
			works := !(sym(ta.name) && pr(tb.name) || sym(tb.name) && pr(ta.name))
			t.Run(ta.name+"/"+tb.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { testNATPair(t, ta.cfg, tb.cfg, works) })
			})
		}
	}
}

func testNATPair(t *testing.T, natA, natB nicetest.NATConfig, works bool) {
	n := nicetest.NewNetwork()
	defer n.Close()
	stunHost := n.NewHost(netip.MustParseAddr("203.0.113.1"))
	srvConn, err := stunHost.ListenUDP(netip.MustParseAddrPort("203.0.113.1:3478"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &stunserver.Server{}
	go srv.Serve(srvConn)
	defer srv.Close()
	ha := n.NewNAT(natA, netip.MustParseAddr("198.51.100.1")).NewHost(netip.MustParseAddr("192.168.1.2"))
	hb := n.NewNAT(natB, netip.MustParseAddr("198.51.100.2")).NewHost(netip.MustParseAddr("192.168.2.2"))
	mk := func(h *nicetest.Host, controlling bool) (*nice.Agent, *syncRecorder, int) {
		a, err := nice.NewAgent(nice.Config{Net: h, Controlling: controlling, STUNServer: "203.0.113.1:3478"})
		if err != nil {
			t.Fatal(err)
		}
		r := newSyncRecorder(a)
		sid, _ := a.AddStream(1)
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		return a, r, sid
	}
	a, ra, sa := mk(ha, true)
	b, rb, sb := mk(hb, false)
	defer a.Close()
	defer b.Close()
	synctest.Wait()
	for _, x := range []struct {
		ag  *nice.Agent
		r   *syncRecorder
		sid int
	}{{a, ra, sa}, {b, rb, sb}} {
		if !x.r.has("gathering-done") {
			t.Fatalf("gathering not done: %q", x.r.all())
		}
		cs, _ := x.ag.LocalCandidates(x.sid, 1)
		if len(cs) != 2 || cs[1].Type != nice.CandidateTypeServerReflexive || cs[1].Base != cs[0].Addr {
			t.Fatalf("local candidates = %v, want host and srflx with the host as base", cs)
		}
	}
	exchange(t, a, b, sa, sb, 1)
	exchange(t, b, a, sb, sa, 1)
	time.Sleep(30 * time.Second)
	synctest.Wait()
	stA, stB := ra.state(sa, 1), rb.state(sb, 1)
	if !works {
		if stA != nice.ComponentStateFailed || stB != nice.ComponentStateFailed {
			t.Fatalf("states %v/%v, want failed/failed (no direct path)", stA, stB)
		}
		return
	}
	if stA != nice.ComponentStateReady || stB != nice.ComponentStateReady {
		t.Fatalf("states %v/%v, want ready/ready\nA %q\nB %q", stA, stB, ra.all(), rb.all())
	}
	got := make(chan string, 1)
	_ = b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- string(p) })
	if _, err := a.Send(sa, 1, []byte("through the NATs")); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-got:
		if s != "through the NATs" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(time.Second):
		t.Fatal("data did not arrive")
	}
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

// TestErrorAfterSuccessFailsPair: a peer that answers the nominating check
// with an error (here 400, as a peer that changed credentials does) fails
// the pair; the agent neither retries in a loop nor keeps sending on it.
func TestErrorAfterSuccessFailsPair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		defer e.net.Close()
		a, r, sid, _ := e.agent("10.0.0.1", nice.Config{Controlling: true}, 1)
		defer a.Close()
		peer := newRawPeer(t, e.net.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a, sid, peer, true)
		if err := a.PeerCandidateGatheringDone(sid); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetRemoteCandidates(sid, 1, []nice.Candidate{peer.candidate(1, "1")}); err != nil {
			t.Fatal(err)
		}
		peer.respond(peer.nextRequest(time.Second))
		nom := peer.nextRequest(time.Second)
		if !stunx.HasUseCandidate(nom.m) {
			t.Fatal("second check is not the nomination")
		}
		peer.respondError(nom, stun.CodeBadRequest)
		// Refuse whatever follows for 10 s: a retry loop would send
		// thousands (it did: 1,500 a second against aioice).
		n := 0
		deadline := time.After(10 * time.Second)
	count:
		for n <= 100 {
			select {
			case m := <-peer.in:
				n++
				if m.m.Type == stun.BindingRequest {
					peer.respondError(m, stun.CodeBadRequest)
				}
			case <-deadline:
				break count
			}
		}
		if n > 5 {
			t.Errorf("%d requests in the 10 s after the error, want at most a few", n)
		}
		synctest.Wait()
		if st := r.state(sid, 1); st != nice.ComponentStateFailed {
			t.Errorf("state = %v, want failed (the only pair failed, end of candidates)", st)
		}
		if _, err := a.Send(sid, 1, []byte("x")); err == nil {
			t.Errorf("Send succeeded on a failed pair")
		}
	})
}
