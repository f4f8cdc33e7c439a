// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pion/logging"
	"github.com/pion/mdns"
	"golang.org/x/net/ipv4"
)

// pionMDNS is the default MDNSResolver: pion/mdns v0.0.8, the release on
// pion/transport/v2, over one IPv4 socket per agent, made when the agent
// meets its first mDNS name. The socket is bound to the mDNS group address
// 224.0.0.251:5353: Go sets SO_REUSEADDR on a socket bound to a multicast
// address, so it shares the port with the system's mDNS responder and other
// agents, and it receives the group's traffic only. pion/mdns joins the
// group on every multicast interface.
//
// pion/mdns keeps a query whose context ends unanswered until the
// connection closes; the agent queries at most maxMDNSNames names, so that
// is bounded too.
//
// With Config.MDNSHostNames a connection per IPv4 host address answers
// queries for that address's name (LocalNames, LocalAddress): pion/mdns
// v0.0.8 has one address for all the names of a connection, and without one
// it answers with the local address that routes to the querier, which is
// not the candidate's when the agent has several addresses.
type pionMDNS struct {
	conn *mdns.Conn
}

func newPionMDNS(localNames []string, localAddr netip.Addr) (*pionMDNS, error) {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353})
	if err != nil {
		return nil, err
	}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	cfg := &mdns.Config{QueryInterval: mdnsQueryInterval, LocalNames: localNames, LoggerFactory: lf}
	if localAddr.IsValid() {
		cfg.LocalAddress = net.IP(localAddr.AsSlice())
	}
	conn, err := mdns.Server(ipv4.NewPacketConn(pc), cfg)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	return &pionMDNS{conn: conn}, nil
}

// mdnsQueryInterval is how often an unanswered query is repeated.
const mdnsQueryInterval = 500 * time.Millisecond

var errMDNSAnswer = errors.New("nice: mDNS answer without an IP address")

// Resolve sends the query until it is answered or ctx ends.
func (p *pionMDNS) Resolve(ctx context.Context, name string) (netip.Addr, error) {
	_, addr, err := p.conn.Query(ctx, name)
	if err != nil {
		return netip.Addr{}, err
	}
	ia, ok := addr.(*net.IPAddr)
	if !ok {
		return netip.Addr{}, errMDNSAnswer
	}
	ip, ok := netip.AddrFromSlice(ia.IP)
	if !ok {
		return netip.Addr{}, errMDNSAnswer
	}
	return ip.Unmap(), nil
}

// Close closes the socket; pion/mdns's reader then ends.
func (p *pionMDNS) Close() error { return p.conn.Close() }
