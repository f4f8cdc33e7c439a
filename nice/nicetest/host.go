// SPDX-License-Identifier: MIT

package nicetest

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/gonice/gonice/nice"
)

var (
	_ nice.Net        = (*Host)(nil)
	_ nice.PacketConn = (*conn)(nil)
)

const (
	// firstEphemeralPort is where ListenUDP starts looking for a free port
	// when asked for port 0: the IANA dynamic range (RFC 6335 §6).
	firstEphemeralPort = 49152
	// queueLen is how many datagrams a socket holds before it drops, as a
	// kernel's receive buffer does.
	queueLen = 1024
	// maxDatagram is the largest UDP payload over IPv4.
	maxDatagram = 65507
)

// Host is a machine with one or more addresses on one segment. It
// implements nice.Net: ListenUDP opens sockets on its addresses and
// InterfaceAddrs lists them. Its methods are safe for concurrent use.
type Host struct {
	net   *Network
	seg   *segment
	addrs []netip.Addr

	// Guarded by net.mu.
	binds    map[uint16][]*conn
	nextPort uint16
	blocked  bool
	loss     float64
	delay    time.Duration
	stats    Stats
}

func newHost(n *Network, seg *segment, addrs []netip.Addr) *Host {
	if len(addrs) == 0 {
		panic("nicetest: host without address")
	}
	h := &Host{
		net:      n,
		seg:      seg,
		binds:    make(map[uint16][]*conn),
		nextPort: firstEphemeralPort,
	}
	for _, a := range addrs {
		a = checkAddr(a)
		if slices.Contains(h.addrs, a) {
			panic(fmt.Sprintf("nicetest: address %v given twice", a))
		}
		h.addrs = append(h.addrs, a)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, a := range h.addrs {
		seg.claimLocked(a)
	}
	for _, a := range h.addrs {
		seg.hosts[a] = h
	}
	n.hosts = append(n.hosts, h)
	return h
}

// Addr returns the host's first address.
func (h *Host) Addr() netip.Addr { return h.addrs[0] }

// InterfaceAddrs returns the host's addresses in the order they were given.
// It never fails.
func (h *Host) InterfaceAddrs() ([]netip.Addr, error) {
	return slices.Clone(h.addrs), nil
}

// ListenUDP opens a UDP socket bound to laddr. An unspecified address
// (0.0.0.0, or an invalid laddr) binds every IPv4 address of the host, and
// :: every IPv6 address; IPv4-mapped IPv6 addresses are taken as IPv4.
// Port 0 picks the next free port in sequence from 49152 up, so a fresh
// host's first socket gets 49152. Each socket queues up to 1024 datagrams
// and drops the ones beyond, as a full receive buffer does. Binding an address the
// host does not have fails with an error wrapping syscall.EADDRNOTAVAIL;
// binding a port already bound on the same address, or on the unspecified
// address of the same family, fails with one wrapping syscall.EADDRINUSE.
// After Network.Close it fails with an error wrapping net.ErrClosed.
func (h *Host) ListenUDP(laddr netip.AddrPort) (nice.PacketConn, error) {
	a := laddr.Addr().Unmap()
	if !a.IsValid() {
		a = netip.IPv4Unspecified()
	}
	a = a.WithZone("")
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: netName(a), Addr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, laddr.Port())), Err: err}
	}
	if !a.IsUnspecified() && !slices.Contains(h.addrs, a) {
		return nil, opErr(os.NewSyscallError("bind", syscall.EADDRNOTAVAIL))
	}
	n := h.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, opErr(net.ErrClosed)
	}
	port := laddr.Port()
	if port == 0 {
		var ok bool
		if port, ok = h.freePortLocked(a); !ok {
			return nil, opErr(os.NewSyscallError("bind", syscall.EADDRINUSE))
		}
	} else if h.conflictLocked(a, port) {
		return nil, opErr(os.NewSyscallError("bind", syscall.EADDRINUSE))
	}
	c := &conn{
		host:  h,
		local: netip.AddrPortFrom(a, port),
		in:    make(chan packet, queueLen),
		done:  make(chan struct{}),
	}
	h.binds[port] = append(h.binds[port], c)
	return c, nil
}

func netName(a netip.Addr) string {
	if a.Is4() {
		return "udp4"
	}
	return "udp6"
}

// conflictLocked reports whether binding a:port would clash with a socket.
func (h *Host) conflictLocked(a netip.Addr, port uint16) bool {
	for _, c := range h.binds[port] {
		b := c.local.Addr()
		if b.Is4() == a.Is4() && (b == a || b.IsUnspecified() || a.IsUnspecified()) {
			return true
		}
	}
	return false
}

func (h *Host) freePortLocked(a netip.Addr) (uint16, bool) {
	for range 65536 - firstEphemeralPort {
		p := h.nextPort
		if h.nextPort == 65535 {
			h.nextPort = firstEphemeralPort
		} else {
			h.nextPort++
		}
		if !h.conflictLocked(a, p) {
			return p, true
		}
	}
	return 0, false
}

// lookupLocked returns the socket that receives datagrams sent to dst: the
// one bound to dst's address or to the unspecified address of its family.
// Binding rules make it unique.
func (h *Host) lookupLocked(dst netip.AddrPort) *conn {
	for _, c := range h.binds[dst.Port()] {
		b := c.local.Addr()
		if b == dst.Addr() || b.IsUnspecified() && b.Is4() == dst.Addr().Is4() {
			return c
		}
	}
	return nil
}

func (h *Host) unbindLocked(c *conn) {
	port := c.local.Port()
	h.binds[port] = slices.DeleteFunc(h.binds[port], func(x *conn) bool { return x == c })
	if len(h.binds[port]) == 0 {
		delete(h.binds, port)
	}
}

func (h *Host) closeAllLocked() {
	for _, cs := range h.binds {
		for _, c := range cs {
			c.closeLocked()
		}
	}
	clear(h.binds)
}

// Block cuts the host off the network while on is true: every datagram it
// sends or that would be delivered to it is dropped, as when a peer
// crashes or its link fails. Its sockets stay open, and datagrams already
// queued at them can still be read.
func (h *Host) Block(on bool) {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.blocked = on
}

// SetLoss sets the probability, from 0 to 1, that a datagram the host
// sends is lost, and the same for a datagram routed to it, in addition to
// the network's loss. SetLoss panics if p is outside [0, 1].
func (h *Host) SetLoss(p float64) {
	checkProb(p)
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.loss = p
}

// SetDelay sets the latency of the host's link: it is added to the
// network's delay for every datagram the host sends or receives, so two
// hosts with delays a and b and a network delay d see a one-way latency of
// a+b+d. SetDelay panics if d is negative.
func (h *Host) SetDelay(d time.Duration) {
	if d < 0 {
		panic("nicetest: negative delay")
	}
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	h.delay = d
}

// Stats returns the host's counters: Sent and the drop counters count the
// datagrams it sent, Received those queued at its sockets.
func (h *Host) Stats() Stats {
	h.net.mu.Lock()
	defer h.net.mu.Unlock()
	return h.stats
}

// sourceLocked picks the source address for a datagram to dst from a socket
// bound to bound: bound itself, or for an unspecified bind the host's
// first address of dst's family.
func (h *Host) sourceLocked(bound, dst netip.Addr) (netip.Addr, error) {
	if bound.Is4() != dst.Is4() {
		return netip.Addr{}, syscall.EAFNOSUPPORT
	}
	if !bound.IsUnspecified() {
		return bound, nil
	}
	for _, a := range h.addrs {
		if a.Is4() == dst.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, syscall.ENETUNREACH
}

// packet is a datagram queued at a socket.
type packet struct {
	from netip.AddrPort
	data []byte
}

// conn is a UDP socket of a Host.
type conn struct {
	host  *Host
	local netip.AddrPort
	in    chan packet
	done  chan struct{}

	closed bool // guarded by host.net.mu
}

// ReadFromUDPAddrPort blocks until a datagram arrives or the socket is
// closed. A datagram longer than b is truncated to len(b).
func (c *conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	select {
	case <-c.done:
		return 0, netip.AddrPort{}, c.opErr("read", nil, net.ErrClosed)
	default:
	}
	select {
	case p := <-c.in:
		return copy(b, p.data), p.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, c.opErr("read", nil, net.ErrClosed)
	}
}

// WriteToUDPAddrPort sends a copy of b to addr. As with UDP, a datagram
// that is lost, filtered or unroutable is dropped silently and the write
// still succeeds.
func (c *conn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	dst := netip.AddrPortFrom(addr.Addr().Unmap().WithZone(""), addr.Port())
	if !dst.Addr().IsValid() || dst.Port() == 0 || dst.Addr().IsUnspecified() {
		return 0, c.opErr("write", &addr, os.NewSyscallError("sendto", syscall.EINVAL))
	}
	if len(b) > maxDatagram {
		return 0, c.opErr("write", &addr, os.NewSyscallError("sendto", syscall.EMSGSIZE))
	}
	data := bytes.Clone(b)
	if data == nil {
		data = []byte{}
	}
	h := c.host
	n := h.net
	n.mu.Lock()
	if c.closed {
		n.mu.Unlock()
		return 0, c.opErr("write", &addr, net.ErrClosed)
	}
	srcAddr, err := h.sourceLocked(c.local.Addr(), dst.Addr())
	if err != nil {
		n.mu.Unlock()
		return 0, c.opErr("write", &addr, os.NewSyscallError("sendto", err))
	}
	src := netip.AddrPortFrom(srcAddr, c.local.Port())
	tap := n.tap
	if tap != nil {
		n.mu.Unlock()
		tap(src, dst, data)
		n.mu.Lock()
		if c.closed {
			n.mu.Unlock()
			return 0, c.opErr("write", &addr, net.ErrClosed)
		}
	}
	n.sendLocked(h, src, dst, data)
	n.mu.Unlock()
	return len(b), nil
}

// LocalAddrPort returns the address the socket was bound to, unspecified
// if it was, with the port it got.
func (c *conn) LocalAddrPort() netip.AddrPort { return c.local }

// Close closes the socket and frees its port. A blocked read returns an
// error wrapping net.ErrClosed. Closing twice returns such an error too.
func (c *conn) Close() error {
	n := c.host.net
	n.mu.Lock()
	defer n.mu.Unlock()
	if c.closed {
		return c.opErr("close", nil, net.ErrClosed)
	}
	c.host.unbindLocked(c)
	c.closeLocked()
	return nil
}

func (c *conn) closeLocked() {
	if !c.closed {
		c.closed = true
		close(c.done)
	}
}

func (c *conn) opErr(op string, addr *netip.AddrPort, err error) error {
	e := &net.OpError{Op: op, Net: netName(c.local.Addr()), Source: net.UDPAddrFromAddrPort(c.local), Err: err}
	if addr != nil {
		e.Addr = net.UDPAddrFromAddrPort(*addr)
	}
	return e
}
