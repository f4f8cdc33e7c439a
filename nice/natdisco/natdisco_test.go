// SPDX-License-Identifier: MIT

package natdisco

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/nicetest"
	"github.com/gonice/gonice/nice/stunserver"
	"github.com/pion/stun"
)

// Addresses of the in-memory network: a STUN server with two public
// addresses, a NAT's public address, the host behind it, and a host on the
// public segment.
var (
	serverA1   = netip.MustParseAddr("198.51.100.1")
	serverA2   = netip.MustParseAddr("198.51.100.2")
	natPublic  = netip.MustParseAddr("203.0.113.1")
	privateIP  = netip.MustParseAddr("10.0.0.2")
	publicIP   = netip.MustParseAddr("192.0.2.10")
	serverPort = uint16(3478)
	server     = netip.AddrPortFrom(serverA1, serverPort)
)

// testLab is an in-memory network with a STUN server on serverA1 and
// serverA2. It must be created inside the synctest bubble that uses it.
type testLab struct {
	net  *nicetest.Network
	host *nicetest.Host // the server's host
	srv  *stunserver.Server
}

// newLab returns a network whose server serves behaviour discovery on
// serverA1 and serverA2, ports 3478 and 3479, or, if plain is set, only
// RFC 5389 Binding on server. Everything is closed at the end of the test.
func newLab(t *testing.T, plain bool) *testLab {
	t.Helper()
	l := &testLab{net: nicetest.NewNetwork(), srv: new(stunserver.Server)}
	l.host = l.net.NewHost(serverA1, serverA2)
	t.Cleanup(func() {
		l.srv.Close()
		l.net.Close()
	})
	if plain {
		c, err := l.host.ListenUDP(server)
		if err != nil {
			t.Fatal(err)
		}
		go l.srv.Serve(c)
		return l
	}
	if _, err := l.srv.ListenAndServeBehavior(stunserver.BehaviorConfig{
		Primary: serverA1, Alternate: serverA2, Port: serverPort, AltPort: serverPort + 1,
		Listen: func(a netip.AddrPort) (stunserver.PacketConn, error) { return l.host.ListenUDP(a) },
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

// listen opens a socket of h on a free port of its address a.
func listen(t *testing.T, h *nicetest.Host, a netip.Addr) nice.PacketConn {
	t.Helper()
	c, err := h.ListenUDP(netip.AddrPortFrom(a, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// firewallConn is a socket behind a symmetric UDP firewall without
// translation (RFC 3489 §10.1): it receives datagrams only from the
// addresses and ports it sent to.
type firewallConn struct {
	nice.PacketConn
	mu   sync.Mutex
	sent map[netip.AddrPort]bool
}

func (c *firewallConn) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	c.mu.Lock()
	c.sent[to] = true
	c.mu.Unlock()
	return c.PacketConn.WriteToUDPAddrPort(b, to)
}

func (c *firewallConn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := c.PacketConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, from, err
		}
		c.mu.Lock()
		ok := c.sent[from]
		c.mu.Unlock()
		if ok {
			return n, from, nil
		}
	}
}

// NAT behaviour shorthands.
const (
	ei  = nicetest.EndpointIndependent
	ad  = nicetest.AddressDependent
	apd = nicetest.AddressAndPortDependent
)

// The outcome of the default retransmissions for a test without answer.
const noAnswer = 3500 * time.Millisecond

func TestDiscoveryBehindNATs(t *testing.T) {
	tests := []struct {
		name      string
		nat       *nicetest.NATConfig // nil: the client is on the public segment
		firewall  bool                // wrap the client's socket in a firewallConn
		classic   NATType
		mapping   BehaviorType
		filtering BehaviorType
		hairpin   bool
		verdict   string // Debian's stun client's words, for both results
		maxTime   time.Duration
	}{
		{name: "no NAT", classic: OpenInternet, mapping: EndpointIndependent, filtering: EndpointIndependent,
			hairpin: true, verdict: "Open", maxTime: time.Second},
		{name: "symmetric UDP firewall", firewall: true, classic: SymmetricUDPFirewall,
			mapping: EndpointIndependent, filtering: AddressAndPortDependent, hairpin: true, verdict: "Firewall", maxTime: noAnswer + time.Second},
		{name: "full cone", nat: &nicetest.FullCone, classic: FullCone, mapping: EndpointIndependent, filtering: EndpointIndependent,
			hairpin: true, verdict: "Independent Mapping, Independent Filter, random port, will hairpin", maxTime: time.Second},
		{name: "restricted cone", nat: &nicetest.RestrictedCone, classic: RestrictedCone, mapping: EndpointIndependent, filtering: AddressDependent,
			hairpin: true, verdict: "Independent Mapping, Address Dependent Filter, random port, will hairpin", maxTime: noAnswer + time.Second},
		{name: "port restricted cone", nat: &nicetest.PortRestrictedCone, classic: PortRestrictedCone, mapping: EndpointIndependent, filtering: AddressAndPortDependent,
			hairpin: true, verdict: "Independent Mapping, Port Dependent Filter, random port, will hairpin", maxTime: 2*noAnswer + time.Second},
		{name: "symmetric", nat: &nicetest.Symmetric, classic: SymmetricNAT, mapping: AddressAndPortDependent, filtering: AddressAndPortDependent,
			hairpin: false, verdict: "Dependent Mapping, random port, no hairpin", maxTime: noAnswer + time.Second},
		{name: "address-dependent mapping and filtering", nat: &nicetest.NATConfig{Mapping: ad, Filtering: ad}, classic: SymmetricNAT,
			mapping: AddressDependent, filtering: AddressDependent, hairpin: false, verdict: "Dependent Mapping, random port, no hairpin", maxTime: noAnswer + time.Second},
		{name: "endpoint-independent filtering hides address-dependent mapping from RFC 3489", nat: &nicetest.NATConfig{Mapping: ad, Filtering: ei},
			classic: FullCone, mapping: AddressDependent, filtering: EndpointIndependent, hairpin: true, maxTime: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLab(t, false)
				var h *nicetest.Host
				ip := publicIP
				if tt.nat != nil {
					h = l.net.NewNAT(*tt.nat, natPublic).NewHost(privateIP)
					ip = privateIP
				} else {
					h = l.net.NewHost(publicIP)
				}
				conn := func() Conn {
					c := listen(t, h, ip)
					if tt.firewall {
						return &firewallConn{PacketConn: c, sent: make(map[netip.AddrPort]bool)}
					}
					return c
				}
				ctx := t.Context()

				start := time.Now()
				cr, err := ClassicNATType(ctx, conn(), server)
				if err != nil {
					t.Fatalf("ClassicNATType: %v", err)
				}
				if d := time.Since(start); d > tt.maxTime {
					t.Errorf("ClassicNATType took %v, want at most %v", d, tt.maxTime)
				}
				if cr.Type != tt.classic || cr.Hairpin != tt.hairpin {
					t.Errorf("ClassicNATType = %v, hairpin %v; want %v, %v", cr.Type, cr.Hairpin, tt.classic, tt.hairpin)
				}
				if cr.Changed != netip.AddrPortFrom(serverA2, serverPort+1) {
					t.Errorf("CHANGED-ADDRESS %v", cr.Changed)
				}
				wantMappedIP := ip
				if tt.nat != nil {
					wantMappedIP = natPublic
				}
				if cr.Mapped.Addr() != wantMappedIP {
					t.Errorf("mapped address %v, want IP %v", cr.Mapped, wantMappedIP)
				}

				start = time.Now()
				br, err := Behavior(ctx, conn(), server)
				if err != nil {
					t.Fatalf("Behavior: %v", err)
				}
				if d := time.Since(start); d > tt.maxTime {
					t.Errorf("Behavior took %v, want at most %v", d, tt.maxTime)
				}
				if br.Blocked || br.NATed != (tt.nat != nil) || br.Mapping != tt.mapping || br.Filtering != tt.filtering || br.Hairpin != tt.hairpin {
					t.Errorf("Behavior = blocked %v, NATed %v, mapping %v, filtering %v, hairpin %v; want NATed %v, %v, %v, hairpin %v",
						br.Blocked, br.NATed, br.Mapping, br.Filtering, br.Hairpin, tt.nat != nil, tt.mapping, tt.filtering, tt.hairpin)
				}
				if br.Origin != server || br.Other != netip.AddrPortFrom(serverA2, serverPort+1) {
					t.Errorf("RESPONSE-ORIGIN %v, OTHER-ADDRESS %v", br.Origin, br.Other)
				}
				if tt.verdict != "" {
					if cr.String() != tt.verdict || br.String() != tt.verdict {
						t.Errorf("verdicts %q (RFC 3489) and %q (RFC 5780), want %q", cr, br, tt.verdict)
					}
					if br.NATType() != tt.classic {
						t.Errorf("BehaviorResult.NATType() = %v, want %v", br.NATType(), tt.classic)
					}
				}
			})
		})
	}
}

func TestUDPBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, false)
		h := l.net.NewNAT(nicetest.PortRestrictedCone, natPublic).NewHost(privateIP)
		h.Block(true)
		ctx := t.Context()

		start := time.Now()
		if _, err := MappedAddress(ctx, listen(t, h, privateIP), server); !errors.Is(err, ErrNoResponse) {
			t.Errorf("MappedAddress = %v, want ErrNoResponse", err)
		}
		if d := time.Since(start); d != noAnswer {
			t.Errorf("MappedAddress gave up after %v, want %v", d, noAnswer)
		}
		start = time.Now()
		cr, err := ClassicNATType(ctx, listen(t, h, privateIP), server)
		if err != nil || cr.Type != UDPBlocked || cr.String() != "Blocked or could not reach STUN server" {
			t.Errorf("ClassicNATType = %v (%q), %v; want UDP Blocked", cr.Type, cr, err)
		}
		if d := time.Since(start); d != noAnswer {
			t.Errorf("ClassicNATType gave up after %v, want %v", d, noAnswer)
		}
		br, err := Behavior(ctx, listen(t, h, privateIP), server)
		if err != nil || !br.Blocked || br.NATType() != UDPBlocked || br.String() != "Blocked or could not reach STUN server" {
			t.Errorf("Behavior = %+v (%q), %v; want blocked", br, br, err)
		}
		fast := &Client{RTO: 100 * time.Millisecond, Rc: 2, Rm: 2}
		start = time.Now()
		if _, err := fast.MappedAddress(ctx, listen(t, h, privateIP), server); !errors.Is(err, ErrNoResponse) {
			t.Errorf("MappedAddress = %v, want ErrNoResponse", err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Errorf("with RTO 100 ms, Rc 2, Rm 2 gave up after %v, want 300ms", d)
		}
	})
}

func TestServerWithoutAlternate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, true)
		h := l.net.NewNAT(nicetest.FullCone, natPublic).NewHost(privateIP)
		ctx := t.Context()
		mapped, err := MappedAddress(ctx, listen(t, h, privateIP), server)
		if err != nil || mapped.Addr() != natPublic {
			t.Errorf("MappedAddress = %v, %v; want an address of %v", mapped, err, natPublic)
		}
		cr, err := ClassicNATType(ctx, listen(t, h, privateIP), server)
		if !errors.Is(err, ErrNotSupported) || cr.Mapped.Addr() != natPublic {
			t.Errorf("ClassicNATType = %+v, %v; want ErrNotSupported and the mapped address", cr, err)
		}
		br, err := Behavior(ctx, listen(t, h, privateIP), server)
		if !errors.Is(err, ErrNotSupported) || br.Mapped.Addr() != natPublic || br.Blocked {
			t.Errorf("Behavior = %+v, %v; want ErrNotSupported and the mapped address", br, err)
		}
		t.Logf("Behavior against a single-address server: %v", err)
	})
}

func TestContextCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, false)
		h := l.net.NewHost(publicIP)
		h.Block(true)
		ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := Behavior(ctx, listen(t, h, publicIP), server); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Behavior = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 700*time.Millisecond {
			t.Errorf("Behavior returned after %v, want 700ms", d)
		}
	})
}

func TestSocketClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(t, false)
		h := l.net.NewHost(publicIP)
		h.Block(true)
		c := listen(t, h, publicIP)
		go func() {
			time.Sleep(time.Second)
			c.Close()
		}()
		_, err := MappedAddress(t.Context(), c, server)
		if err == nil || errors.Is(err, ErrNoResponse) {
			t.Errorf("MappedAddress on a socket closed under it = %v, want the read error", err)
		}
	})
}

// fakeServer answers every Binding request that arrives on c with what
// answer returns for it, from the socket of index via of socks (nil: from
// c).
func fakeServer(c nice.PacketConn, socks []nice.PacketConn, answer func(req *stun.Message, from netip.AddrPort) (res *stun.Message, via int)) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		req := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if req.Decode() != nil || req.Type != stun.BindingRequest {
			continue
		}
		res, via := answer(req, from)
		if res == nil {
			continue
		}
		out := c
		if socks != nil {
			out = socks[via]
		}
		out.WriteToUDPAddrPort(res.Raw, from)
	}
}

// addr is a stun.Setter for an address attribute of any type in the
// MAPPED-ADDRESS format.
type addr struct {
	t  stun.AttrType
	ap netip.AddrPort
}

func (a addr) AddTo(m *stun.Message) error {
	a4 := a.ap.Addr().As4()
	m.Add(a.t, []byte{0, 1, byte(a.ap.Port() >> 8), byte(a.ap.Port()), a4[0], a4[1], a4[2], a4[3]})
	return nil
}

// respond builds a response of type typ to req with the given attributes.
func respond(req *stun.Message, typ stun.MessageType, setters ...stun.Setter) *stun.Message {
	m := stun.MustBuild(append([]stun.Setter{typ, stun.NewTransactionIDSetter(req.TransactionID)}, setters...)...)
	return m
}

// TestOddServers runs the client against scripted servers on four sockets
// (A1:P1, A1:P2, A2:P1, A2:P2) that misbehave in various ways.
func TestOddServers(t *testing.T) {
	socks := []netip.AddrPort{
		netip.AddrPortFrom(serverA1, 3478), netip.AddrPortFrom(serverA1, 3479),
		netip.AddrPortFrom(serverA2, 3478), netip.AddrPortFrom(serverA2, 3479),
	}
	changeFlags := func(req *stun.Message) (byte, bool) {
		v, err := req.Get(stun.AttrChangeRequest)
		if err != nil || len(v) != 4 {
			return 0, false
		}
		return v[3], true
	}
	// rfc3489 answers as Vovida's stund does: MAPPED-ADDRESS,
	// SOURCE-ADDRESS, CHANGED-ADDRESS, no XOR-MAPPED-ADDRESS.
	rfc3489 := func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
		return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
			via := self
			if f, ok := changeFlags(req); ok {
				if f&flagChangeIP != 0 {
					via ^= 2
				}
				if f&flagChangePort != 0 {
					via ^= 1
				}
			}
			return respond(req, stun.BindingSuccess, addr{stun.AttrMappedAddress, from},
				addr{stun.AttrSourceAddress, socks[via]}, addr{stun.AttrChangedAddress, socks[self^3]},
				stun.NewSoftware("Vovida.org 0.97")), via
		}
	}
	tests := []struct {
		name   string
		answer func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int)
		want   error   // nil: success
		code   int     // for a *ResponseError
		typ    NATType // on success
	}{
		{name: "RFC 3489 server", answer: rfc3489, typ: OpenInternet},
		{name: "420 to CHANGE-REQUEST with OTHER-ADDRESS", answer: func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
			return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
				if _, ok := changeFlags(req); ok {
					return respond(req, stun.BindingError, stun.CodeUnknownAttribute), self
				}
				return respond(req, stun.BindingSuccess, stunXOR(from), addr{stun.AttrOtherAddress, socks[self^3]}), self
			}
		}, want: ErrNotSupported},
		{name: "CHANGE-REQUEST ignored", answer: func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
			return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
				return respond(req, stun.BindingSuccess, stunXOR(from), addr{stun.AttrOtherAddress, socks[self^3]}), self
			}
		}, want: ErrNotSupported},
		{name: "OTHER-ADDRESS on the same IP", answer: func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
			return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
				return respond(req, stun.BindingSuccess, stunXOR(from), addr{stun.AttrOtherAddress, socks[1]}), self
			}
		}, want: ErrNotSupported},
		{name: "error response", answer: func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
			return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
				return respond(req, stun.BindingError, stun.ErrorCodeAttribute{Code: 500, Reason: []byte("Server Error")}), self
			}
		}, code: 500},
		{name: "unknown comprehension-required attribute", answer: func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
			return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
				return respond(req, stun.BindingSuccess, stunXOR(from), stun.RawAttribute{Type: 0x7ff0, Value: []byte{1, 2, 3, 4}}), self
			}
		}, want: ErrBadResponse},
		{name: "no mapped address", answer: func(self int) func(*stun.Message, netip.AddrPort) (*stun.Message, int) {
			return func(req *stun.Message, from netip.AddrPort) (*stun.Message, int) {
				return respond(req, stun.BindingSuccess, addr{stun.AttrOtherAddress, socks[self^3]}), self
			}
		}, want: ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := nicetest.NewNetwork()
				defer n.Close()
				sh := n.NewHost(serverA1, serverA2)
				var conns []nice.PacketConn
				for _, a := range socks {
					c, err := sh.ListenUDP(a)
					if err != nil {
						t.Fatal(err)
					}
					conns = append(conns, c)
				}
				for i, c := range conns {
					go fakeServer(c, conns, tt.answer(i))
				}
				h := n.NewHost(publicIP)
				r, err := ClassicNATType(t.Context(), listen(t, h, publicIP), socks[0])
				var re *ResponseError
				switch {
				case tt.code != 0:
					if !errors.As(err, &re) || re.Code != tt.code || re.Server != socks[0] {
						t.Errorf("ClassicNATType = %v, want a *ResponseError %d", err, tt.code)
					}
				case tt.want != nil:
					if !errors.Is(err, tt.want) {
						t.Errorf("ClassicNATType = %v, want %v", err, tt.want)
					}
				case err != nil || r.Type != tt.typ:
					t.Errorf("ClassicNATType = %v, %v; want %v", r.Type, err, tt.typ)
				}
				if err != nil {
					t.Logf("error: %v", err)
				}
			})
		})
	}
}

// stunXOR is an XOR-MAPPED-ADDRESS setter for ap.
func stunXOR(ap netip.AddrPort) stun.Setter {
	return &stun.XORMappedAddress{IP: ap.Addr().AsSlice(), Port: int(ap.Port())}
}
