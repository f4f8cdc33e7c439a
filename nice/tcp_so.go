// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun"
)

// Simultaneous-open ICE-TCP candidates (RFC 6544 §4.1, Config.
// TCPSimultaneousOpen): a TCP port that listens and that connections are
// also made from. Both agents connect from their S-O port to the other's
// S-O candidate at once; through NATs that map a port the same way for
// every destination, the two SYNs cross and open one connection (a TCP
// simultaneous open), or one side's listener takes the other's SYN. The
// peer reaches a NATed S-O port by its server-reflexive S-O candidate,
// which a STUN Binding over TCP from that port to the STUN server learns
// (RFC 6544 §5.2). See ARCHITECTURE.md, "ICE-TCP".

// soNet is a network on which a TCP port can be shared by a listener and
// the connections made from it (SO_REUSEADDR and SO_REUSEPORT). The
// operating system's network on Linux is one.
type soNet interface {
	listenTCPShared(laddr netip.AddrPort) (net.Listener, error)
	dialTCPFrom(ctx context.Context, laddr, raddr netip.AddrPort) (net.Conn, error)
}

// gatherTCPSO adds component c's S-O candidate on ip (the addrIndex-th
// address): the host one, and with a STUN server of its family its
// server-reflexive one. It reports whether it added the host candidate.
// Called on the loop.
func (a *Agent) gatherTCPSO(c *component, ip netip.Addr, addrIndex int, now time.Time) bool {
	so, ok := a.net.(soNet)
	if !ok {
		return false
	}
	ln, err := so.listenTCPShared(netip.AddrPortFrom(ip, 0))
	if err == nil && !listenerAddr(ln).IsValid() {
		_ = ln.Close()
		err = fmt.Errorf("the listener's address %q is not an IP address and port", ln.Addr())
	}
	if err != nil {
		a.log.Warn("nice: cannot open an ICE-TCP simultaneous-open port", "stream", c.s.id, "component", c.id, "addr", ip, "err", err)
		return false
	}
	sk := a.addTCPBase(c, TransportTCPSO, listenerAddr(ln), addrIndex, ln, now)
	go a.acceptLoop(a.workers.start(), sk) // accepts connections until the listener closes
	if a.stunServer.IsValid() && !a.cfg.Lite && !a.forceRelay.Load() && ip.Is4() == a.stunServer.Addr().Is4() {
		a.startTCPDiscovery(c, sk, so)
	}
	return true
}

// startTCPDiscovery learns the server-reflexive address of S-O base sk:
// a STUN Binding over TCP from its port to the STUN server (the same
// address as over UDP), on a goroutine of its own, within
// GatheringTimeout. Called on the loop.
func (a *Agent) startTCPDiscovery(c *component, sk *socket, so soNet) {
	s := c.s
	s.pendingDiscoveries++
	server, timeout := a.stunServer, a.cfg.GatheringTimeout
	if a.debugOn(LogGather) {
		a.log.Debug("gather.stun-sent", "stream", s.id, "component", c.id, "local", sk.local, "server", server, "transport", "tcp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	sk.tcp.stopDiscovery = cancel
	go func(w *worker) { // one STUN Binding over TCP; hands the answer to the loop and ends
		defer w.exit()
		defer cancel()
		mapped, err := stunOverTCP(ctx, so, sk.local, server)
		_ = a.do(func(now time.Time) error {
			a.onTCPDiscovery(c, sk, mapped, err, now)
			return nil
		})
	}(a.workers.start())
}

// onTCPDiscovery adds the server-reflexive S-O candidate, or records why
// there is none. Called on the loop.
func (a *Agent) onTCPDiscovery(c *component, sk *socket, mapped netip.AddrPort, err error, now time.Time) {
	s := c.s
	defer a.discoveryDone(s)
	sk.tcp.stopDiscovery = nil
	if s.comps[c.id-1] != c || sk.closed.Load() {
		return
	}
	if err != nil {
		e := STUNError{ComponentID: c.id, Server: a.stunServer, Local: sk.local, Err: err}
		s.stunErrors = append(s.stunErrors, e)
		if a.debugOn(LogGather) {
			a.log.Debug("gather.stun-failed", "stream", s.id, "component", c.id, "local", sk.local, "server", a.stunServer,
				"transport", "tcp", "err", err)
		}
		return
	}
	if a.debugOn(LogGather) {
		a.log.Debug("gather.stun-response", "stream", s.id, "component", c.id, "local", sk.local, "server", a.stunServer,
			"transport", "tcp", "mapped", mapped)
	}
	a.addServerReflexive(c, sk, mapped, a.stunServer, now)
}

// stunOverTCP sends a STUN Binding request over a TCP connection from
// laddr (a shared S-O port) to server and returns the mapped address of
// the answer. STUN over TCP is not framed: a message says its own length
// (RFC 8489 §7.2.2).
func stunOverTCP(ctx context.Context, so soNet, laddr, server netip.AddrPort) (netip.AddrPort, error) {
	conn, err := so.dialTCPFrom(ctx, laddr, server)
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if _, err := conn.Write(req.Raw); err != nil {
		return netip.AddrPort{}, err
	}
	head := make([]byte, stunHeaderSize)
	if _, err := io.ReadFull(conn, head); err != nil {
		return netip.AddrPort{}, err
	}
	n := int(binary.BigEndian.Uint16(head[2:4]))
	raw := make([]byte, stunHeaderSize+n)
	copy(raw, head)
	if _, err := io.ReadFull(conn, raw[stunHeaderSize:]); err != nil {
		return netip.AddrPort{}, err
	}
	m := &stun.Message{Raw: raw}
	if err := m.Decode(); err != nil {
		return netip.AddrPort{}, fmt.Errorf("%w: %v", ErrSTUNRefused, err)
	}
	if m.TransactionID != req.TransactionID {
		return netip.AddrPort{}, fmt.Errorf("%w: an answer to another transaction", ErrSTUNRefused)
	}
	if m.Type.Class != stun.ClassSuccessResponse {
		return netip.AddrPort{}, fmt.Errorf("%w: error response %d", ErrSTUNRefused, errorCode(m))
	}
	mapped := mappedAddress(m)
	if !mapped.IsValid() {
		return netip.AddrPort{}, fmt.Errorf("%w: success response without a mapped address", ErrSTUNRefused)
	}
	return mapped, nil
}

// stunHeaderSize is the size of a STUN message header (RFC 8489 §5).
const stunHeaderSize = 20
