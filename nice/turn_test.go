// SPDX-License-Identifier: MIT

package nice_test

// TURN on the in-memory network: pion/turn/v2's server on a nicetest host
// of the public segment, agents behind nicetest NATs, all under synctest
// (the agents and pion's server only block on channels and timers, so their
// goroutines are durably blocked in a bubble, and synctest.Test fails if one
// is left behind when the test ends).

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/nicetest"
	"github.com/pion/logging"
	"github.com/pion/turn/v2"
)

// stdConn adapts a nice.PacketConn to net.PacketConn, for pion's server.
type stdConn struct{ c nice.PacketConn }

func (s stdConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := s.c.ReadFromUDPAddrPort(b)
	if err != nil {
		return 0, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (s stdConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("not a UDP address: %v", addr)
	}
	return s.c.WriteToUDPAddrPort(b, ua.AddrPort())
}

func (s stdConn) Close() error                     { return s.c.Close() }
func (s stdConn) LocalAddr() net.Addr              { return net.UDPAddrFromAddrPort(s.c.LocalAddrPort()) }
func (s stdConn) SetDeadline(time.Time) error      { return nil }
func (s stdConn) SetReadDeadline(time.Time) error  { return nil }
func (s stdConn) SetWriteDeadline(time.Time) error { return nil }

// relayGen gives pion's server relayed sockets on a nicetest host.
type relayGen struct{ h *nicetest.Host }

func (relayGen) Validate() error { return nil }

func (g relayGen) AllocatePacketConn(_ string, port int) (net.PacketConn, net.Addr, error) {
	c, err := g.h.ListenUDP(netip.AddrPortFrom(g.h.Addr(), uint16(port)))
	if err != nil {
		return nil, nil, err
	}
	s := stdConn{c}
	return s, s.LocalAddr(), nil
}

func (relayGen) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, errors.New("no TCP relays")
}

// memListener is a net.Listener fed by pipeNet's dials.
type memListener struct {
	addr   net.Addr
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return l.addr }

// chanConn is one end of an in-memory stream connection with buffers in
// both directions, as TCP has (net.Pipe has none, and TLS deadlocks on it
// when a handshake fails: each side waits for the other to read).
type chanConn struct {
	in            <-chan []byte
	out           chan<- []byte
	rest          []byte
	done          chan struct{} // shared by both ends
	once          *sync.Once
	local, remote net.Addr
}

// streamPipe returns the two ends of a connection between a and b.
func streamPipe(a, b net.Addr) (*chanConn, *chanConn) {
	ab, ba := make(chan []byte, 256), make(chan []byte, 256)
	done, once := make(chan struct{}), new(sync.Once)
	return &chanConn{in: ba, out: ab, done: done, once: once, local: a, remote: b},
		&chanConn{in: ab, out: ba, done: done, once: once, local: b, remote: a}
}

func (c *chanConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		select {
		case b := <-c.in:
			c.rest = b
		case <-c.done:
			return 0, io.EOF
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

func (c *chanConn) Write(p []byte) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	select {
	case c.out <- bytes.Clone(p):
		return len(p), nil
	case <-c.done:
		return 0, net.ErrClosed
	}
}

func (c *chanConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *chanConn) LocalAddr() net.Addr              { return c.local }
func (c *chanConn) RemoteAddr() net.Addr             { return c.remote }
func (c *chanConn) SetDeadline(time.Time) error      { return nil }
func (c *chanConn) SetReadDeadline(time.Time) error  { return nil }
func (c *chanConn) SetWriteDeadline(time.Time) error { return nil }

// turnLab is a TURN server on the public segment at 203.0.113.3: UDP and
// TCP on port 3478, TLS on 5349, user "u" password "p".
type turnLab struct {
	net    *nicetest.Network
	host   *nicetest.Host
	server *turn.Server
	tcp    *memListener
	tls    *memListener
	cert   *x509.Certificate
	mu     sync.Mutex
	port   uint16 // next client TCP port
}

const turnIP = "203.0.113.3"

func newTURNLab(t *testing.T, n *nicetest.Network) *turnLab {
	t.Helper()
	lab := &turnLab{net: n, host: n.NewHost(netip.MustParseAddr(turnIP)), port: 40000}
	c, err := lab.host.ListenUDP(netip.MustParseAddrPort(turnIP + ":3478"))
	if err != nil {
		t.Fatal(err)
	}
	lab.tcp = &memListener{addr: &net.TCPAddr{IP: net.ParseIP(turnIP), Port: 3478}, conns: make(chan net.Conn), done: make(chan struct{})}
	lab.tls = &memListener{addr: &net.TCPAddr{IP: net.ParseIP(turnIP), Port: 5349}, conns: make(chan net.Conn), done: make(chan struct{})}
	cert, key := selfSigned(t, netip.MustParseAddr(turnIP))
	lab.cert = cert
	tlsL := tls.NewListener(lab.tls, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{cert.Raw}, PrivateKey: key}}})
	gen := relayGen{lab.host}
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "gonice",
		AuthHandler: func(user, realm string, _ net.Addr) ([]byte, bool) {
			if user != "u" {
				return nil, false
			}
			return turn.GenerateAuthKey("u", realm, "p"), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: stdConn{c}, RelayAddressGenerator: gen}},
		ListenerConfigs: []turn.ListenerConfig{
			{Listener: lab.tcp, RelayAddressGenerator: gen},
			{Listener: tlsL, RelayAddressGenerator: gen},
		},
		LoggerFactory: quietPion{},
	})
	if err != nil {
		t.Fatal(err)
	}
	lab.server = srv
	return lab
}

func (lab *turnLab) close() {
	_ = lab.server.Close()
}

// dial connects a TCP client at laddr to the server's TCP or TLS port.
func (lab *turnLab) dial(ctx context.Context, laddr netip.Addr, raddr netip.AddrPort) (net.Conn, error) {
	var l *memListener
	switch raddr {
	case netip.MustParseAddrPort(turnIP + ":3478"):
		l = lab.tcp
	case netip.MustParseAddrPort(turnIP + ":5349"):
		l = lab.tls
	default:
		return nil, fmt.Errorf("dial %v: connection refused", raddr)
	}
	lab.mu.Lock()
	lab.port++
	local := &net.TCPAddr{IP: laddr.AsSlice(), Port: int(lab.port)}
	lab.mu.Unlock()
	cc, sc := streamPipe(local, l.addr)
	select {
	case l.conns <- sc:
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return cc, nil
}

// tcpHost is a nicetest host that can also dial the lab's TCP listeners.
type tcpHost struct {
	*nicetest.Host
	lab *turnLab
}

func (h tcpHost) DialTCP(ctx context.Context, laddr netip.Addr, raddr netip.AddrPort) (net.Conn, error) {
	return h.lab.dial(ctx, laddr, raddr)
}

// selfSigned makes a certificate for ip, valid around the (fake) now.
func selfSigned(t *testing.T, ip netip.Addr) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gonice test TURN"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{ip.AsSlice()},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// quietPion discards pion's logs.
type quietPion struct{}

func (quietPion) NewLogger(string) logging.LeveledLogger { return quietPion{} }

func (quietPion) Trace(string)          {}
func (quietPion) Tracef(string, ...any) {}
func (quietPion) Debug(string)          {}
func (quietPion) Debugf(string, ...any) {}
func (quietPion) Info(string)           {}
func (quietPion) Infof(string, ...any)  {}
func (quietPion) Warn(string)           {}
func (quietPion) Warnf(string, ...any)  {}
func (quietPion) Error(string)          {}
func (quietPion) Errorf(string, ...any) {}

// relayPeer is one agent of a TURN scenario.
type relayPeer struct {
	a   *nice.Agent
	r   *syncRecorder
	sid int
}

// relayAgent makes an agent on h with the lab's server as TURN server of
// transport rt (password pass) and gathers.
func relayAgent(t *testing.T, lab *turnLab, h *nicetest.Host, cfg nice.Config, rt nice.RelayType, pass string) relayPeer {
	t.Helper()
	cfg.Net = tcpHost{Host: h, lab: lab}
	if rt == nice.RelayTypeTURNTLS && cfg.TURNTLSConfig == nil {
		pool := x509.NewCertPool()
		pool.AddCert(lab.cert)
		cfg.TURNTLSConfig = &tls.Config{RootCAs: pool}
	}
	a, err := nice.NewAgent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := newSyncRecorder(a)
	sid, err := a.AddStream(1)
	if err != nil {
		t.Fatal(err)
	}
	server := turnIP + ":3478"
	if rt == nice.RelayTypeTURNTLS {
		server = turnIP + ":5349"
	}
	if err := a.SetRelayInfo(sid, 1, server, "u", pass, rt); err != nil {
		t.Fatal(err)
	}
	if err := a.GatherCandidates(sid); err != nil {
		t.Fatal(err)
	}
	return relayPeer{a, r, sid}
}

// candidatesOf returns the local candidates by type.
func candidatesOf(t *testing.T, p relayPeer) map[nice.CandidateType][]nice.Candidate {
	t.Helper()
	cs, err := p.a.LocalCandidates(p.sid, 1)
	if err != nil {
		t.Fatal(err)
	}
	m := map[nice.CandidateType][]nice.Candidate{}
	for _, c := range cs {
		m[c.Type] = append(m[c.Type], c)
	}
	return m
}

// connectRelayPeers exchanges candidates, waits and checks both are READY
// and exchange data; it returns the selected pairs.
func connectRelayPeers(t *testing.T, a, b relayPeer) (la, ra, lb, rb nice.Candidate) {
	t.Helper()
	exchange(t, a.a, b.a, a.sid, b.sid, 1)
	exchange(t, b.a, a.a, b.sid, a.sid, 1)
	time.Sleep(30 * time.Second)
	synctest.Wait()
	if sa, sb := a.r.state(a.sid, 1), b.r.state(b.sid, 1); sa != nice.ComponentStateReady || sb != nice.ComponentStateReady {
		t.Fatalf("states %v/%v, want ready/ready\nA %q\nB %q", sa, sb, a.r.all(), b.r.all())
	}
	var err error
	if la, ra, err = a.a.SelectedPair(a.sid, 1); err != nil {
		t.Fatal(err)
	}
	if lb, rb, err = b.a.SelectedPair(b.sid, 1); err != nil {
		t.Fatal(err)
	}
	relayData(t, a, b)
	return la, ra, lb, rb
}

// relayData sends a message each way on the selected pairs and checks it
// arrives.
func relayData(t *testing.T, a, b relayPeer) {
	t.Helper()
	for _, x := range []struct {
		from, to relayPeer
		msg      string
	}{{a, b, "a to b through TURN"}, {b, a, "b to a through TURN"}} {
		got := make(chan string, 1)
		_ = x.to.a.AttachRecv(x.to.sid, 1, func(_, _ int, p []byte) {
			select {
			case got <- string(p):
			default:
			}
		})
		if _, err := x.from.a.Send(x.from.sid, 1, []byte(x.msg)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case s := <-got:
			if s != x.msg {
				t.Fatalf("got %q, want %q", s, x.msg)
			}
		case <-time.After(time.Second):
			t.Fatalf("%q did not arrive", x.msg)
		}
	}
}

// TestTURNSymmetricNATs: two agents behind symmetric NATs, which cannot
// punch, connect through the TURN server and exchange data; the relayed
// candidate has the allocation's mapped address as related address, and
// the allocation revealed the server-reflexive candidate.
func TestTURNSymmetricNATs(t *testing.T) {
	for _, rt := range []nice.RelayType{nice.RelayTypeTURNUDP, nice.RelayTypeTURNTCP, nice.RelayTypeTURNTLS} {
		t.Run(rt.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := nicetest.NewNetwork()
				defer n.Close()
				lab := newTURNLab(t, n)
				defer lab.close()
				ha := n.NewNAT(nicetest.Symmetric, netip.MustParseAddr("198.51.100.1")).NewHost(netip.MustParseAddr("192.168.1.2"))
				hb := n.NewNAT(nicetest.Symmetric, netip.MustParseAddr("198.51.100.2")).NewHost(netip.MustParseAddr("192.168.2.2"))
				a := relayAgent(t, lab, ha, nice.Config{Controlling: true}, rt, "p")
				b := relayAgent(t, lab, hb, nice.Config{}, rt, "p")
				defer a.a.Close()
				defer b.a.Close()
				synctest.Wait()
				for _, p := range []relayPeer{a, b} {
					if !p.r.has("gathering-done") {
						t.Fatalf("gathering not done: %q", p.r.all())
					}
					cs := candidatesOf(t, p)
					if len(cs[nice.CandidateTypeHost]) != 1 || len(cs[nice.CandidateTypeRelayed]) != 1 {
						t.Fatalf("candidates %v, want one host and one relay", cs)
					}
					relay, host := cs[nice.CandidateTypeRelayed][0], cs[nice.CandidateTypeHost][0]
					if relay.Server.Addr() != netip.MustParseAddr(turnIP) || relay.Server.Port() == 0 {
						t.Errorf("relayed candidate's Server %v, want the TURN server on %s", relay.Server, turnIP)
					}
					if relay.Addr.Addr() != netip.MustParseAddr(turnIP) {
						t.Errorf("relayed address %v, want on %s", relay.Addr, turnIP)
					}
					if !strings.HasPrefix(relay.Base.Addr().String(), "198.51.100.") && rt == nice.RelayTypeTURNUDP {
						t.Errorf("relay related address %v, want the NAT's mapped address", relay.Base)
					}
					wantPref := uint32(30)
					if rt != nice.RelayTypeTURNUDP {
						wantPref = 20
					}
					if relay.Priority>>24 != wantPref {
						t.Errorf("relay priority %d has type preference %d, want %d", relay.Priority, relay.Priority>>24, wantPref)
					}
					if rt == nice.RelayTypeTURNUDP {
						// The allocation's XOR-MAPPED-ADDRESS is a server-reflexive
						// candidate of the host socket.
						srflx := cs[nice.CandidateTypeServerReflexive]
						if len(srflx) != 1 || srflx[0].Base != host.Addr || srflx[0].Addr != relay.Base {
							t.Errorf("srflx %v, want one with base %v and address %v", srflx, host.Addr, relay.Base)
						}
					} else if len(cs[nice.CandidateTypeServerReflexive]) != 0 {
						t.Errorf("srflx %v from a TCP allocation, want none", cs[nice.CandidateTypeServerReflexive])
					}
					if sdp, _ := p.a.GenerateLocalStreamSDP(p.sid, false); !strings.Contains(sdp, "typ relay raddr "+relay.Base.Addr().String()+" rport ") {
						t.Errorf("SDP lacks the relay with its related address:\n%s", sdp)
					}
				}
				la, ra, lb, rb := connectRelayPeers(t, a, b)
				t.Logf("selected: A %s %v -> %s %v, B %s %v -> %s %v", la.Type, la.Addr, ra.Type, ra.Addr, lb.Type, lb.Addr, rb.Type, rb.Addr)
				if la.Type != nice.CandidateTypeRelayed && ra.Type != nice.CandidateTypeRelayed {
					t.Errorf("A selected %v -> %v, want a relayed candidate", la, ra)
				}
				if lb.Type != nice.CandidateTypeRelayed && rb.Type != nice.CandidateTypeRelayed {
					t.Errorf("B selected %v -> %v, want a relayed candidate", lb, rb)
				}
				if got := lab.server.AllocationCount(); got != 2 {
					t.Errorf("server has %d allocations, want 2", got)
				}
				// Close releases the allocations before it returns.
				a.a.Close()
				b.a.Close()
				if got := lab.server.AllocationCount(); got != 0 {
					t.Errorf("server has %d allocations after Close, want 0", got)
				}
			})
		})
	}
}

// TestTURNForceRelay: with force-relay, two agents behind full-cone NATs,
// which could connect directly, use only relayed candidates; host packets
// are not even answered.
func TestTURNForceRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		lab := newTURNLab(t, n)
		defer lab.close()
		ha := n.NewNAT(nicetest.FullCone, netip.MustParseAddr("198.51.100.1")).NewHost(netip.MustParseAddr("192.168.1.2"))
		hb := n.NewNAT(nicetest.FullCone, netip.MustParseAddr("198.51.100.2")).NewHost(netip.MustParseAddr("192.168.2.2"))
		var candEvents []nice.Candidate
		var mu sync.Mutex
		a := relayAgent(t, lab, ha, nice.Config{Controlling: true, ForceRelay: true, STUNServer: turnIP + ":3478"}, nice.RelayTypeTURNUDP, "p")
		a.a.OnNewCandidate(func(c nice.Candidate) {
			mu.Lock()
			candEvents = append(candEvents, c)
			mu.Unlock()
		})
		b := relayAgent(t, lab, hb, nice.Config{ForceRelay: true}, nice.RelayTypeTURNUDP, "p")
		defer a.a.Close()
		defer b.a.Close()
		synctest.Wait()
		for _, p := range []relayPeer{a, b} {
			cs, _ := p.a.LocalCandidates(p.sid, 1)
			if len(cs) != 1 || cs[0].Type != nice.CandidateTypeRelayed {
				t.Fatalf("LocalCandidates = %v, want only the relay", cs)
			}
			sdp := p.a.GenerateLocalSDP()
			if strings.Contains(sdp, "typ host") || strings.Contains(sdp, "typ srflx") || !strings.Contains(sdp, "typ relay") {
				t.Errorf("SDP under force-relay:\n%s", sdp)
			}
		}
		mu.Lock()
		for _, c := range candEvents {
			if c.Type != nice.CandidateTypeRelayed {
				t.Errorf("new-candidate signalled %v under force-relay", c)
			}
		}
		mu.Unlock()
		la, ra, lb, rb := connectRelayPeers(t, a, b)
		if la.Type != nice.CandidateTypeRelayed || lb.Type != nice.CandidateTypeRelayed {
			t.Errorf("selected A %v -> %v, B %v -> %v; want relayed local candidates", la, ra, lb, rb)
		}
	})
}

// TestTURNSetForceRelay: force-relay set on agents that have gathered (as
// Janus sets libnice's property): only relayed candidates are listed and
// paired from then on, and both agents connect through their relays though
// their host candidates could reach each other.
func TestTURNSetForceRelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		lab := newTURNLab(t, n)
		defer lab.close()
		ha := n.NewNAT(nicetest.FullCone, netip.MustParseAddr("198.51.100.1")).NewHost(netip.MustParseAddr("192.168.1.2"))
		hb := n.NewNAT(nicetest.FullCone, netip.MustParseAddr("198.51.100.2")).NewHost(netip.MustParseAddr("192.168.2.2"))
		a := relayAgent(t, lab, ha, nice.Config{Controlling: true, STUNServer: turnIP + ":3478"}, nice.RelayTypeTURNUDP, "p")
		b := relayAgent(t, lab, hb, nice.Config{}, nice.RelayTypeTURNUDP, "p")
		defer a.a.Close()
		defer b.a.Close()
		synctest.Wait()
		for _, p := range []relayPeer{a, b} {
			if cs, _ := p.a.LocalCandidates(p.sid, 1); len(cs) < 2 {
				t.Fatalf("LocalCandidates before force-relay = %v, want host and relay", cs)
			}
			if err := p.a.SetForceRelay(true); err != nil {
				t.Fatal(err)
			}
			cs, _ := p.a.LocalCandidates(p.sid, 1)
			if len(cs) != 1 || cs[0].Type != nice.CandidateTypeRelayed {
				t.Fatalf("LocalCandidates after SetForceRelay = %v, want only the relay", cs)
			}
		}
		la, ra, lb, rb := connectRelayPeers(t, a, b)
		if la.Type != nice.CandidateTypeRelayed || lb.Type != nice.CandidateTypeRelayed {
			t.Errorf("selected A %v -> %v, B %v -> %v; want relayed local candidates", la, ra, lb, rb)
		}
	})
}

// TestTURNForceRelayDropsHostPackets: a check sent straight to the host
// socket of a force-relay agent gets no answer.
func TestTURNForceRelayDropsHostPackets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		lab := newTURNLab(t, n)
		defer lab.close()
		a := relayAgent(t, lab, n.NewHost(netip.MustParseAddr("10.0.0.1")), nice.Config{ForceRelay: true}, nice.RelayTypeTURNUDP, "p")
		defer a.a.Close()
		synctest.Wait()
		peer := newRawPeer(t, n.NewHost(netip.MustParseAddr("10.0.0.2")), 5000)
		defer peer.close()
		attach(t, a.a, a.sid, peer, true)
		// The host socket is the host's first: 10.0.0.1:49152.
		peer.check(netip.MustParseAddrPort("10.0.0.1:49152"), true, 1, false)
		peer.none(2 * time.Second)
		if a.r.has("initial-binding-request") {
			t.Errorf("a check to the host socket was processed under force-relay")
		}
	})
}

// TestTURNFailures: a wrong password, an unreachable server, a server whose
// certificate does not verify: gathering completes (by the gathering
// timeout at the latest), without relayed candidates, and RelayErrors says
// why.
func TestTURNFailures(t *testing.T) {
	cases := []struct {
		name   string
		rt     nice.RelayType
		server string
		pass   string
		tlsCfg *tls.Config
		want   error
		wantIn string
		within time.Duration
	}{
		{"wrong password", nice.RelayTypeTURNUDP, "", "wrong", nil, nice.ErrRelayUnauthorized, "", time.Millisecond},
		{"wrong password tcp", nice.RelayTypeTURNTCP, "", "wrong", nil, nice.ErrRelayUnauthorized, "", time.Millisecond},
		{"no server", nice.RelayTypeTURNUDP, "203.0.113.99:3478", "p", nil, nice.ErrRelayTimeout, "", nice.DefaultGatheringTimeout},
		{"tcp refused", nice.RelayTypeTURNTCP, "203.0.113.99:3478", "p", nil, nil, "refused", time.Millisecond},
		{"tls unknown authority", nice.RelayTypeTURNTLS, "", "p", &tls.Config{}, nil, "certificate", time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := nicetest.NewNetwork()
				defer n.Close()
				lab := newTURNLab(t, n)
				defer lab.close()
				h := n.NewHost(netip.MustParseAddr("10.0.0.1"))
				cfg := nice.Config{Net: tcpHost{Host: h, lab: lab}, TURNTLSConfig: tc.tlsCfg}
				a, err := nice.NewAgent(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				r := newSyncRecorder(a)
				sid, _ := a.AddStream(1)
				server := tc.server
				if server == "" {
					server = turnIP + ":3478"
					if tc.rt == nice.RelayTypeTURNTLS {
						server = turnIP + ":5349"
					}
				}
				if err := a.SetRelayInfo(sid, 1, server, "u", tc.pass, tc.rt); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if err := a.GatherCandidates(sid); err != nil {
					t.Fatal(err)
				}
				for !r.has("gathering-done") {
					time.Sleep(time.Millisecond)
					synctest.Wait()
					if time.Since(start) > time.Minute {
						t.Fatal("gathering not done after a minute")
					}
				}
				if d := time.Since(start); d > tc.within {
					t.Errorf("gathering took %v, want at most %v", d, tc.within)
				}
				cs, _ := a.LocalCandidates(sid, 1)
				for _, c := range cs {
					if c.Type == nice.CandidateTypeRelayed {
						t.Errorf("relayed candidate %v despite the failure", c)
					}
				}
				errs, err := a.RelayErrors(sid)
				if err != nil || len(errs) != 1 {
					t.Fatalf("RelayErrors = %v, %v; want one", errs, err)
				}
				e := errs[0]
				if tc.want != nil && !errors.Is(e, tc.want) {
					t.Errorf("error %v, want %v", e, tc.want)
				}
				if tc.wantIn != "" && !strings.Contains(e.Error(), tc.wantIn) {
					t.Errorf("error %v, want it to mention %q", e, tc.wantIn)
				}
				if e.ComponentID != 1 || e.Server != server || e.Type != tc.rt {
					t.Errorf("error %+v: wrong component, server or type", e)
				}
				t.Logf("%s: %v", tc.name, e)
				if got := lab.server.AllocationCount(); got != 0 {
					t.Errorf("server has %d allocations, want 0", got)
				}
			})
		})
	}
}

// TestTURNRemoveStreamReleases: RemoveStream releases the stream's
// allocations in the background; ICE restart keeps them.
func TestTURNRemoveStreamReleases(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		lab := newTURNLab(t, n)
		defer lab.close()
		a := relayAgent(t, lab, n.NewHost(netip.MustParseAddr("10.0.0.1")), nice.Config{}, nice.RelayTypeTURNUDP, "p")
		defer a.a.Close()
		sid2, _ := a.a.AddStream(2)
		for cid := 1; cid <= 2; cid++ {
			if err := a.a.SetRelayInfo(sid2, cid, turnIP, "u", "p", nice.RelayTypeTURNUDP); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.a.GatherCandidates(sid2); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := lab.server.AllocationCount(); got != 3 {
			t.Fatalf("server has %d allocations, want 3", got)
		}
		if err := a.a.Restart(); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		cs, _ := a.a.LocalCandidates(sid2, 2)
		if len(cs) == 0 || cs[len(cs)-1].Type != nice.CandidateTypeRelayed {
			t.Errorf("after restart: %v, want the relay kept", cs)
		}
		if got := lab.server.AllocationCount(); got != 3 {
			t.Fatalf("server has %d allocations after restart, want 3", got)
		}
		if err := a.a.RemoveStream(sid2); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := lab.server.AllocationCount(); got != 1 {
			t.Errorf("server has %d allocations after RemoveStream, want 1", got)
		}
		a.a.Close()
		if got := lab.server.AllocationCount(); got != 0 {
			t.Errorf("server has %d allocations after Close, want 0", got)
		}
	})
}

// TestTURNReleaseTimeout: a server that vanished does not hold Close longer
// than TURNReleaseTimeout; negative does not wait at all.
func TestTURNReleaseTimeout(t *testing.T) {
	for _, d := range []time.Duration{0, 500 * time.Millisecond, -1} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := nicetest.NewNetwork()
				defer n.Close()
				lab := newTURNLab(t, n)
				defer lab.close()
				a := relayAgent(t, lab, n.NewHost(netip.MustParseAddr("10.0.0.1")), nice.Config{TURNReleaseTimeout: d}, nice.RelayTypeTURNUDP, "p")
				synctest.Wait()
				if got := lab.server.AllocationCount(); got != 1 {
					t.Fatalf("server has %d allocations, want 1", got)
				}
				lab.host.Block(true)
				start := time.Now()
				a.a.Close()
				want := d
				switch {
				case d == 0:
					want = nice.DefaultTURNReleaseTimeout
				case d < 0:
					want = 0
				}
				if got := time.Since(start); got != want {
					t.Errorf("Close took %v, want %v", got, want)
				}
			})
		})
	}
}

// TestSetRelayInfoArguments: validation, the limit of 8 servers, and no
// change once gathering started.
func TestSetRelayInfoArguments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		a, err := nice.NewAgent(nice.Config{Net: n.NewHost(netip.MustParseAddr("10.0.0.1"))})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		sid, _ := a.AddStream(1)
		for _, bad := range []struct {
			server string
			rt     nice.RelayType
		}{{"", nice.RelayTypeTURNUDP}, {"1.2.3.4:0", nice.RelayTypeTURNUDP}, {"0.0.0.0:3478", nice.RelayTypeTURNUDP}, {"1.2.3.4", 3}, {"1.2.3.4:x", nice.RelayTypeTURNTCP}} {
			if err := a.SetRelayInfo(sid, 1, bad.server, "u", "p", bad.rt); !errors.Is(err, nice.ErrInvalidArgument) {
				t.Errorf("SetRelayInfo(%q, %v) = %v, want ErrInvalidArgument", bad.server, bad.rt, err)
			}
		}
		if err := a.SetRelayInfo(sid, 2, "1.2.3.4", "u", "p", nice.RelayTypeTURNUDP); !errors.Is(err, nice.ErrInvalidComponent) {
			t.Errorf("component 2: %v", err)
		}
		if err := a.SetRelayInfo(sid+1, 1, "1.2.3.4", "u", "p", nice.RelayTypeTURNUDP); !errors.Is(err, nice.ErrInvalidStream) {
			t.Errorf("stream %d: %v", sid+1, err)
		}
		for i := range nice.MaxRelayServers {
			if err := a.SetRelayInfo(sid, 1, fmt.Sprintf("203.0.113.%d", i+1), "u", "p", nice.RelayTypeTURNUDP); err != nil {
				t.Fatalf("server %d: %v", i+1, err)
			}
		}
		if err := a.SetRelayInfo(sid, 1, "203.0.113.100", "u", "p", nice.RelayTypeTURNUDP); !errors.Is(err, nice.ErrInvalidArgument) {
			t.Errorf("ninth server: %v, want ErrInvalidArgument", err)
		}
		if err := a.ForgetRelays(sid, 1); err != nil {
			t.Fatal(err)
		}
		if err := a.SetRelayInfo(sid, 1, "203.0.113.100", "u", "p", nice.RelayTypeTURNUDP); err != nil {
			t.Errorf("after ForgetRelays: %v", err)
		}
		if err := a.ForgetRelays(sid, 3); !errors.Is(err, nice.ErrInvalidComponent) {
			t.Errorf("ForgetRelays component 3: %v", err)
		}
		if err := a.ForgetRelays(sid, 1); err != nil {
			t.Fatal(err)
		}
		if err := a.GatherCandidates(sid); err != nil {
			t.Fatal(err)
		}
		if err := a.SetRelayInfo(sid, 1, "203.0.113.1", "u", "p", nice.RelayTypeTURNUDP); !errors.Is(err, nice.ErrAlreadyGathering) {
			t.Errorf("after gathering: %v, want ErrAlreadyGathering", err)
		}
		if _, err := a.RelayErrors(sid + 1); !errors.Is(err, nice.ErrInvalidStream) {
			t.Errorf("RelayErrors of an unknown stream: %v", err)
		}
	})
}

// forceRelayPeers makes two force-relay agents on plain hosts with the
// lab's server over UDP, A controlling, and waits for their gathering.
func forceRelayPeers(t *testing.T, lab *turnLab, n *nicetest.Network) (a, b relayPeer) {
	t.Helper()
	a = relayAgent(t, lab, n.NewHost(netip.MustParseAddr("10.0.0.1")), nice.Config{Controlling: true, ForceRelay: true}, nice.RelayTypeTURNUDP, "p")
	b = relayAgent(t, lab, n.NewHost(netip.MustParseAddr("10.0.0.2")), nice.Config{ForceRelay: true}, nice.RelayTypeTURNUDP, "p")
	synctest.Wait()
	return a, b
}

// TestTURNFirstCheckHeld: the first checks through the relays leave while
// the permissions are still being created; they are held and sent once the
// permission is granted, so both agents connect without waiting for a
// retransmission (STUNInitialTimeout).
func TestTURNFirstCheckHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		lab := newTURNLab(t, n)
		defer lab.close()
		a, b := forceRelayPeers(t, lab, n)
		defer a.a.Close()
		defer b.a.Close()
		start := time.Now()
		exchange(t, a.a, b.a, a.sid, b.sid, 1)
		exchange(t, b.a, a.a, b.sid, a.sid, 1)
		for a.r.state(a.sid, 1) < nice.ComponentStateConnected || b.r.state(b.sid, 1) < nice.ComponentStateConnected {
			time.Sleep(time.Millisecond)
			if time.Since(start) > 10*time.Second {
				t.Fatalf("not connected\nA %q\nB %q", a.r.all(), b.r.all())
			}
		}
		if d := time.Since(start); d >= nice.DefaultSTUNInitialTimeout {
			t.Errorf("connected after %v: a first check was lost (want less than %v)", d, nice.DefaultSTUNInitialTimeout)
		}
	})
}

// TestTURNRefreshes: the allocations, permissions and channels outlive
// their lifetimes on pion's server (10, 5 and 10 minutes): after 25
// minutes the relayed pair still carries data both ways, and the
// allocations are still there for Close to release.
func TestTURNRefreshes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := nicetest.NewNetwork()
		defer n.Close()
		lab := newTURNLab(t, n)
		defer lab.close()
		a, b := forceRelayPeers(t, lab, n)
		defer a.a.Close()
		defer b.a.Close()
		connectRelayPeers(t, a, b)
		time.Sleep(25 * time.Minute)
		synctest.Wait()
		for _, p := range []relayPeer{a, b} {
			if s := p.r.state(p.sid, 1); s != nice.ComponentStateReady {
				t.Fatalf("state %v after 25 minutes, want ready", s)
			}
		}
		relayData(t, a, b)
		if got := lab.server.AllocationCount(); got != 2 {
			t.Errorf("server has %d allocations after 25 minutes, want 2", got)
		}
		a.a.Close()
		b.a.Close()
		if got := lab.server.AllocationCount(); got != 0 {
			t.Errorf("server has %d allocations after Close, want 0", got)
		}
	})
}
