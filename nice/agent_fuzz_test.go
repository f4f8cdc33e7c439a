// SPDX-License-Identifier: MIT

package nice

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/stun"
)

const (
	fuzzPeerUfrag = "peer"
	fuzzPeerPwd   = "peerpasswordpeerpassword"
)

// discardNet opens sockets that drop what is written and never receive:
// the fuzz target drives the agent's handlers directly, without goroutines,
// so that every run is deterministic.
type discardNet struct{ next uint16 }

type discardConn struct{ local netip.AddrPort }

func (d *discardNet) ListenUDP(laddr netip.AddrPort) (PacketConn, error) {
	d.next++
	return &discardConn{local: netip.AddrPortFrom(laddr.Addr(), 40000+d.next)}, nil
}
func (d *discardNet) InterfaceAddrs() ([]netip.Addr, error) { return nil, nil }
func (c *discardConn) ReadFromUDPAddrPort([]byte) (int, netip.AddrPort, error) {
	select {}
}
func (c *discardConn) WriteToUDPAddrPort(b []byte, _ netip.AddrPort) (int, error) { return len(b), nil }
func (c *discardConn) LocalAddrPort() netip.AddrPort                              { return c.local }
func (c *discardConn) Close() error                                               { return nil }

// fuzzState is an agent with one two-component stream, remote credentials
// and a remote candidate, its checks started: the state a packet meets.
func fuzzState(now time.Time, cfg Config) (*Agent, *socket) {
	cfg.Net = &discardNet{}
	a := newAgent(cfg.withDefaults(), netip.AddrPort{})
	a.borrowScratch() // as runLoop does: the state functions run on the loop
	s := &stream{id: 1, ufrag: "agnt", pwd: "agentpasswordagentpassw"}
	s.comps = []*component{newComponent(s, 1), newComponent(s, 2)}
	a.streams = []*stream{s}
	lo := netip.MustParseAddr("127.0.0.1")
	if err := a.openSockets(s, []netip.Addr{lo}, nil); err != nil {
		panic(err)
	}
	s.gathering = true
	for _, c := range s.comps {
		a.addHostCandidate(c, c.socks[0], now)
	}
	a.setRemoteCredentials(s, fuzzPeerUfrag, fuzzPeerPwd, now)
	for _, c := range s.comps {
		peer := netip.AddrPortFrom(lo, uint16(9+c.id))
		a.addRemoteCandidates(c, []Candidate{{Type: CandidateTypeHost, Addr: peer, Base: peer, Priority: 2130706431 - uint32(c.id), Foundation: "1"}}, now)
	}
	a.pace(now)
	return a, s.comps[0].socks[0]
}

// FuzzAgentPacket feeds a sequence of datagrams to an agent's STUN handler:
// raw bytes, and authenticated STUN messages (requests, and responses to an
// in-flight check) whose attributes come from the fuzzer, with time passing
// between them. The agent must not panic and its state must stay bounded.
// Every input runs on a controlling agent, and on a controlled and a
// controlling one with renomination (NOMINATION parsed and followed).
func FuzzAgentPacket(f *testing.F) {
	tlv := func(t stun.AttrType, v []byte) []byte {
		b := binary.BigEndian.AppendUint16(nil, uint16(t))
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		return append(b, v...)
	}
	f.Add([]byte("not stun at all"), []byte{0})
	f.Add(stun.MustBuild(stun.TransactionID, stun.BindingRequest, stun.Fingerprint).Raw, []byte{0})
	f.Add(append(tlv(stun.AttrPriority, []byte{1, 2, 3, 4}), tlv(stun.AttrICEControlling, make([]byte, 8))...), []byte{1, 2, 1})
	f.Add(append(tlv(stun.AttrUseCandidate, nil), tlv(stun.AttrICEControlled, []byte{1})...), []byte{1})
	f.Add(tlv(stun.AttrXORMappedAddress, []byte{0, 1, 0x12, 0x34, 1, 2, 3, 4}), []byte{2, 2, 6, 1})
	f.Add(tlv(stun.AttrXORMappedAddress, []byte{0}), []byte{2})
	f.Add(tlv(stun.AttrMappedAddress, []byte{0, 2, 0, 1}), []byte{2})
	f.Add(tlv(stun.AttrErrorCode, []byte{0, 0, 4, 87}), []byte{3, 3, 3})
	f.Add(tlv(stun.AttrErrorCode, []byte{0, 0}), []byte{3})
	f.Add(append(tlv(0xC001, []byte{0, 0, 0, 2}), tlv(stun.AttrUseCandidate, nil)...), []byte{1, 2, 1, 0x11, 2})
	f.Add(tlv(0xC001, []byte{9, 0, 1}), []byte{1, 1, 0x31})

	f.Fuzz(func(t *testing.T, data []byte, script []byte) {
		if len(script) > 64 {
			script = script[:64]
		}
		for _, cfg := range []Config{{Controlling: true}, {Renomination: true}, {Controlling: true, Renomination: true}} {
			fuzzAgentScript(t, cfg, data, script)
		}
	})
}

// fuzzAgentScript runs one FuzzAgentPacket input on an agent made with cfg.
func fuzzAgentScript(t *testing.T, cfg Config, data, script []byte) {
	now := time.Unix(1e9, 0)
	a, sk := fuzzState(now, cfg)
	for i, kind := range script {
		raw := fuzzMessage(a, data, kind, i)
		if raw == nil {
			continue
		}
		pk := getPacket(raw)
		pk.sock, pk.from = sk, netip.MustParseAddrPort("127.0.0.1:10")
		if kind&0x10 != 0 {
			pk.from = netip.AddrPortFrom(pk.from.Addr(), 20+uint16(kind>>5))
		}
		a.handleSTUN(now, pk)
		putPacket(pk)
		a.pace(now)
		now = now.Add(time.Duration(kind>>2) * 100 * time.Millisecond)
		a.onTimer(now)
		a.pace(now)
		a.events.take(nil)
		if n := len(a.streams[0].checks.pairs); n > 2*a.cfg.MaxChecks+1 {
			t.Fatalf("checklist grew to %d pairs", n)
		}
		for _, c := range a.streams[0].comps {
			if len(c.local) > 1+maxPeerReflexive || len(c.remote) > a.cfg.MaxChecks {
				t.Fatalf("component %d: %d local, %d remote candidates", c.id, len(c.local), len(c.remote))
			}
		}
	}
}

// fuzzMessage builds the i-th datagram of a fuzz script.
func fuzzMessage(a *Agent, data []byte, kind byte, i int) []byte {
	if kind%4 == 0 {
		return data
	}
	s := a.streams[0]
	m := new(stun.Message)
	switch kind % 4 {
	case 1:
		m.Type = stun.BindingRequest
		m.TransactionID = [stun.TransactionIDSize]byte{byte(i), 1}
	case 2, 3:
		found := false
		a.txs.each(func(tx *transaction) { // the order is not fixed: take the smallest id
			if tx.kind != txDiscovery && (!found || string(tx.id[:]) < string(m.TransactionID[:])) {
				m.TransactionID, found = tx.id, true
			}
		})
		if !found {
			return nil
		}
		m.Type = stun.BindingSuccess
		if kind%4 == 3 {
			m.Type = stun.NewType(stun.MethodBinding, stun.ClassErrorResponse)
		}
	}
	m.WriteHeader()
	if kind%4 == 1 {
		_ = stun.NewUsername(s.ufrag + ":" + fuzzPeerUfrag).AddTo(m)
	}
	for b := data; len(b) >= 4; {
		typ := stun.AttrType(binary.BigEndian.Uint16(b))
		n := int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		n = min(n, len(b))
		if typ != stun.AttrMessageIntegrity && typ != stun.AttrFingerprint && typ != stun.AttrUsername {
			m.Add(typ, b[:n])
		}
		b = b[n:]
	}
	key := fuzzPeerPwd
	if kind%4 == 1 {
		key = s.pwd
	}
	_ = stun.NewShortTermIntegrity(key).AddTo(m)
	_ = stun.Fingerprint.AddTo(m)
	return m.Raw
}
