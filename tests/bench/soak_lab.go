// SPDX-License-Identifier: MIT

package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/tests/natlab"
	"golang.org/x/sys/unix"
)

// The soak in the NAT lab (nicebench soak -lab NAT): the A agents on the
// lab's host h1 (10.0.1.10), the B agents on h2 (10.0.2.10), each host
// behind its own NAT router of the given kind, which drops -loss % of what
// arrives on its WAN link; the STUN server on the public segment gives
// each agent a server-reflexive candidate, and the pairs connect through
// the NATs. The process stays in the root namespace: its agents' sockets
// are made in the hosts' namespaces (nsNet), where a socket then stays.

// soakSides is how the agents of a pair are made: their Configs and the
// address each gathers on.
type soakSides struct {
	cfgA, cfgB   nice.Config
	addrA, addrB netip.Addr
	where        string // for the report: where the pairs run
}

// loopbackSides: both agents on 127.0.0.1 (the default soak).
func loopbackSides(loss int) soakSides {
	lo := netip.MustParseAddr("127.0.0.1")
	return soakSides{cfgA: nice.Config{Controlling: true}, addrA: lo, addrB: lo,
		where: fmt.Sprintf("on lo in a network namespace of their own, %d %% of UDP dropped", loss)}
}

// labSides starts the NAT lab (closed by the returned function) with both
// sites behind nat, loss % dropped on each router's WAN link, and
// stunserver (the project's examples/stunserver binary) on the public
// segment.
func labSides(nat natlab.NAT, loss int, stunserver string) (soakSides, func(), error) {
	if why := natlab.Requirements(); why != "" {
		return soakSides{}, nil, fmt.Errorf("the NAT lab cannot run: %s", why)
	}
	natlab.SweepStale(func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	dir, err := os.MkdirTemp("", "nicebench-soak-lab-")
	if err != nil {
		return soakSides{}, nil, err
	}
	l, err := natlab.Up(dir, stunserver, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	if err != nil {
		return soakSides{}, nil, err
	}
	closeLab := func() {
		l.Close()
		_ = os.RemoveAll(dir)
	}
	for i := 1; i <= 2; i++ {
		if err := l.SetSite(i, natlab.Site{NAT: nat, LossPct: loss}); err != nil {
			closeLab()
			return soakSides{}, nil, err
		}
	}
	a, b := netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.2.10")
	netA := nsNet{path: filepath.Join("/var/run/netns", l.NS("h1")), addr: a}
	netB := nsNet{path: filepath.Join("/var/run/netns", l.NS("h2")), addr: b}
	return soakSides{
		cfgA:  nice.Config{Controlling: true, Net: netA, STUNServer: natlab.STUNAddr},
		cfgB:  nice.Config{Net: netB, STUNServer: natlab.STUNAddr},
		addrA: a, addrB: b,
		where: fmt.Sprintf("in the NAT lab: A on %s, B on %s, each behind a %s NAT that drops %d %% of what arrives on its WAN link; STUN server %s",
			a, b, nat, loss, natlab.STUNAddr),
	}, closeLab, nil
}

// nsNet is a nice.Net whose sockets are made in the network namespace at
// path and whose one address is addr.
type nsNet struct {
	path string
	addr netip.Addr
}

func (n nsNet) InterfaceAddrs() ([]netip.Addr, error) { return []netip.Addr{n.addr}, nil }

func (n nsNet) ListenUDP(laddr netip.AddrPort) (nice.PacketConn, error) {
	var conn *net.UDPConn
	err := inNetns(n.path, func() error {
		var err error
		conn, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(laddr))
		return err
	})
	if err != nil {
		return nil, err
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	return nsConn{UDPConn: conn, local: netip.AddrPortFrom(laddr.Addr(), local.Port())}, nil
}

// nsConn is a socket of an nsNet: the operating system's (so the agent
// reads it with recvmmsg, as its own), with the address it was bound to.
type nsConn struct {
	*net.UDPConn
	local netip.AddrPort
}

func (c nsConn) LocalAddrPort() netip.AddrPort { return c.local }

// inNetns runs f on an OS thread that is in the network namespace at path
// meanwhile: a socket it makes belongs to that namespace for good.
func inNetns(path string, f func() error) error {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer self.Close()
	target, err := os.Open(path)
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", path, err)
	}
	ferr := f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays in the lab's namespace: left locked, it ends
		// with this goroutine instead of running others.
		return fmt.Errorf("setns back: %w", err)
	}
	runtime.UnlockOSThread()
	return ferr
}
