// SPDX-License-Identifier: MIT

package nicetest

import (
	"fmt"
	"net/netip"
	"time"
)

// Behavior is a NAT's mapping behaviour (RFC 4787 §4.1) or filtering
// behaviour (RFC 4787 §5). The zero value is EndpointIndependent.
type Behavior int

// The three behaviours of RFC 4787, for both mapping and filtering.
const (
	// EndpointIndependent mapping reuses one mapping for all datagrams from
	// an internal address and port, whatever their destination
	// (RFC 4787 §4.1). EndpointIndependent filtering lets any external
	// endpoint send to a mapped address (RFC 4787 §5).
	EndpointIndependent Behavior = iota
	// AddressDependent mapping makes a separate mapping per destination IP
	// address (RFC 4787 §4.1). AddressDependent filtering accepts datagrams
	// only from IP addresses the mapping has sent to, from any port
	// (RFC 4787 §5).
	AddressDependent
	// AddressAndPortDependent mapping makes a separate mapping per
	// destination IP address and port (RFC 4787 §4.1).
	// AddressAndPortDependent filtering accepts datagrams only from the
	// exact addresses and ports the mapping has sent to (RFC 4787 §5).
	AddressAndPortDependent
)

// String returns the behaviour's name as RFC 4787 spells it, such as
// "Endpoint-Independent".
func (b Behavior) String() string {
	switch b {
	case EndpointIndependent:
		return "Endpoint-Independent"
	case AddressDependent:
		return "Address-Dependent"
	case AddressAndPortDependent:
		return "Address and Port-Dependent"
	}
	return fmt.Sprintf("Behavior(%d)", int(b))
}

// NATConfig describes a NAT router's behaviour. The zero value is a full-cone
// NAT whose mappings never expire.
type NATConfig struct {
	// Mapping decides when datagrams from one internal address and port
	// share an external port (RFC 4787 §4.1).
	Mapping Behavior
	// Filtering decides which external endpoints may send through a
	// mapping (RFC 4787 §5).
	Filtering Behavior
	// MappingLifetime is how long a mapping lives without outbound
	// traffic; 0 means mappings never expire (RFC 4787 §4.3 REQ-5 asks
	// real NATs for at least two minutes). Only datagrams sent from inside
	// refresh a mapping: outbound refresh is true, as REQ-6 requires, and
	// inbound refresh false, as REQ-6a permits. An expired mapping is
	// removed, and the next outbound datagram creates a new one on another
	// external port.
	MappingLifetime time.Duration
}

// The four NAT types of RFC 3489 §5, expressed as RFC 4787 behaviours.
var (
	// FullCone has endpoint-independent mapping and filtering: after one
	// outbound datagram, anyone may send to the mapped address.
	FullCone = NATConfig{Mapping: EndpointIndependent, Filtering: EndpointIndependent}
	// RestrictedCone has endpoint-independent mapping and address-dependent
	// filtering: any port of an IP address contacted may send back.
	RestrictedCone = NATConfig{Mapping: EndpointIndependent, Filtering: AddressDependent}
	// PortRestrictedCone has endpoint-independent mapping and address- and
	// port-dependent filtering: only the exact addresses and ports
	// contacted may send back. Its mapping is the one RFC 4787 REQ-1
	// requires; its filtering is stricter than REQ-8 recommends, and
	// common in consumer routers.
	PortRestrictedCone = NATConfig{Mapping: EndpointIndependent, Filtering: AddressAndPortDependent}
	// Symmetric has address- and port-dependent mapping and filtering: each
	// destination gets its own mapping, which only that destination may
	// use to send back.
	Symmetric = NATConfig{Mapping: AddressAndPortDependent, Filtering: AddressAndPortDependent}
)

// firstNATPort is the first external port a NAT allocates. Ports are then
// allocated in sequence, wrapping from 65535 to minNATPort, so that mapped
// ports are predictable and differ from the hosts' ephemeral ports.
const (
	firstNATPort = 20000
	minNATPort   = 1024
)

// NAT is a router between a private segment and the segment that holds its
// public address, with one public address and the behaviour of its
// NATConfig. It never gives one external port to two live mappings
// (no port overloading, RFC 4787 §4.2.1 REQ-3).
type NAT struct {
	net    *Network
	cfg    NATConfig
	public netip.Addr
	outer  *segment // where public lives
	inner  *segment // the private segment

	nextPort uint16
	byKey    map[mapKey]*mapping
	byPort   map[uint16]*mapping
}

// mapKey identifies a mapping: the internal endpoint and, depending on the
// mapping behaviour, the destination address or address and port.
type mapKey struct {
	internal netip.AddrPort
	remote   netip.AddrPort
}

type mapping struct {
	key      mapKey
	port     uint16 // external port
	lastUsed time.Time
	addrs    map[netip.Addr]struct{}     // destination addresses sent to
	eps      map[netip.AddrPort]struct{} // destination endpoints sent to
}

func newNAT(n *Network, cfg NATConfig, public netip.Addr, outer *segment) *NAT {
	switch {
	case cfg.Mapping < EndpointIndependent || cfg.Mapping > AddressAndPortDependent:
		panic(fmt.Sprintf("nicetest: invalid mapping behaviour %v", cfg.Mapping))
	case cfg.Filtering < EndpointIndependent || cfg.Filtering > AddressAndPortDependent:
		panic(fmt.Sprintf("nicetest: invalid filtering behaviour %v", cfg.Filtering))
	case cfg.MappingLifetime < 0:
		panic("nicetest: negative mapping lifetime")
	}
	nat := &NAT{
		net:      n,
		cfg:      cfg,
		public:   checkAddr(public),
		outer:    outer,
		nextPort: firstNATPort,
		byKey:    make(map[mapKey]*mapping),
		byPort:   make(map[uint16]*mapping),
	}
	nat.inner = &segment{up: nat, hosts: make(map[netip.Addr]*Host), nats: make(map[netip.Addr]*NAT)}
	n.mu.Lock()
	defer n.mu.Unlock()
	outer.claimLocked(nat.public)
	outer.nats[nat.public] = nat
	return nat
}

// Addr returns the NAT's public address.
func (nat *NAT) Addr() netip.Addr { return nat.public }

// Config returns the NAT's behaviour.
func (nat *NAT) Config() NATConfig { return nat.cfg }

// NewHost attaches a host with the given addresses to the private segment
// behind the NAT. It panics if no address is given, or if an address is
// invalid or already used on that segment.
func (nat *NAT) NewHost(addrs ...netip.Addr) *Host {
	return newHost(nat.net, nat.inner, addrs)
}

// NewNAT attaches a NAT router behind this one, with its public address on
// this NAT's private segment, as for carrier-grade NAT (RFC 6888). It panics
// if public is invalid or already used on that segment.
func (nat *NAT) NewNAT(cfg NATConfig, public netip.Addr) *NAT {
	return newNAT(nat.net, cfg, public, nat.inner)
}

// FlushMappings removes every mapping, as a NAT reboot does. The next
// outbound datagrams get new external ports.
func (nat *NAT) FlushMappings() {
	nat.net.mu.Lock()
	defer nat.net.mu.Unlock()
	clear(nat.byKey)
	clear(nat.byPort)
}

func (nat *NAT) expired(m *mapping, now time.Time) bool {
	return nat.cfg.MappingLifetime > 0 && now.Sub(m.lastUsed) > nat.cfg.MappingLifetime
}

func (nat *NAT) removeLocked(m *mapping) {
	delete(nat.byKey, m.key)
	delete(nat.byPort, m.port)
}

// outboundLocked returns the mapping for a datagram from src to dst,
// creating it if needed, and records dst for filtering. It returns nil if
// every external port is in use.
func (nat *NAT) outboundLocked(src, dst netip.AddrPort, now time.Time) *mapping {
	key := mapKey{internal: src}
	switch nat.cfg.Mapping {
	case AddressDependent:
		key.remote = netip.AddrPortFrom(dst.Addr(), 0)
	case AddressAndPortDependent:
		key.remote = dst
	}
	m := nat.byKey[key]
	if m != nil && nat.expired(m, now) {
		nat.removeLocked(m)
		m = nil
	}
	if m == nil {
		port, ok := nat.allocPortLocked(now)
		if !ok {
			return nil
		}
		m = &mapping{
			key:   key,
			port:  port,
			addrs: make(map[netip.Addr]struct{}),
			eps:   make(map[netip.AddrPort]struct{}),
		}
		nat.byKey[key] = m
		nat.byPort[port] = m
	}
	m.lastUsed = now
	m.addrs[dst.Addr()] = struct{}{}
	m.eps[dst] = struct{}{}
	return m
}

func (nat *NAT) allocPortLocked(now time.Time) (uint16, bool) {
	for range 65536 - minNATPort {
		p := nat.nextPort
		if nat.nextPort == 65535 {
			nat.nextPort = minNATPort
		} else {
			nat.nextPort++
		}
		m := nat.byPort[p]
		if m == nil {
			return p, true
		}
		if nat.expired(m, now) {
			nat.removeLocked(m)
			return p, true
		}
	}
	return 0, false
}

// inboundLocked returns the mapping that a datagram from src to the
// external port may pass through, or nil if there is none or its filtering
// refuses src. Inbound datagrams do not refresh the mapping.
func (nat *NAT) inboundLocked(port uint16, src netip.AddrPort, now time.Time) *mapping {
	m := nat.byPort[port]
	if m == nil {
		return nil
	}
	if nat.expired(m, now) {
		nat.removeLocked(m)
		return nil
	}
	switch nat.cfg.Filtering {
	case AddressDependent:
		if _, ok := m.addrs[src.Addr()]; !ok {
			return nil
		}
	case AddressAndPortDependent:
		if _, ok := m.eps[src]; !ok {
			return nil
		}
	}
	return m
}
