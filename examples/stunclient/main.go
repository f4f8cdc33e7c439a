// SPDX-License-Identifier: MIT

// Command stunclient asks a STUN server for the mapped address of a UDP
// socket, as libnice's stunbdc does, and can also classify the NAT in
// between: the NAT type of classic STUN (RFC 3489 §10.1) with --nat-type,
// or the mapping and filtering behaviour of RFC 5780 §4.3 and §4.4 with
// --behavior. Both need a server with two IP addresses, such as
// examples/stunserver run with --alt-addr, or Debian's stund.
//
//	$ stunclient 127.0.0.1:3478
//	Server address: 127.0.0.1 port 3478
//	Mapped address: 127.0.0.1 port 41537
//
// The NAT tests end with a "Primary: " line worded as Debian's stun client
// words its verdict, so that the two can be compared. "stunclient --help"
// documents every option; the exit status is 0 on success, 1 on failure
// and 2 for a bad command line, as with stunbdc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/gonice/gonice/nice/natdisco"
)

// Exit statuses, as libnice's stunbdc uses them.
const (
	exitOK     = 0
	exitFailed = 1 // no answer, error response, UDP blocked, no discovery support
	exitUsage  = 2 // bad command line
)

// defaultPort is the STUN port (RFC 5389 §9).
const defaultPort = 3478

const usageText = `Usage:
  stunclient [-4|-6] [-p|--port LOCALPORT] [--nat-type | --behavior]
             [--rto DURATION] [--rc N] SERVER[:PORT] [PORT]
  stunclient -h|--help

stunclient sends STUN Binding requests (RFC 5389) to SERVER, port 3478
unless given, and prints the mapped address it reports, as libnice's stunbdc:

  Server address: <ip> port <port>
  Mapped address: <ip> port <port>

SERVER is a host name or an IP address; write an IPv6 address with a port as
[2001:db8::1]:3478. Each address the name resolves to is tried in turn.

Options:
  -4, --ipv4            use IPv4 only
  -6, --ipv6            use IPv6 only
  -p, --port LOCALPORT  send from this local UDP port (default: any)
  --nat-type            classify the NAT with the classic STUN discovery
                        process (RFC 3489 §10.1): Open Internet, Full Cone,
                        Restricted Cone, Port Restricted Cone, Symmetric NAT,
                        Symmetric UDP Firewall or UDP Blocked
  --behavior            discover the NAT's mapping and filtering behaviour
                        (RFC 5780 §4.3, §4.4): Endpoint-Independent,
                        Address-Dependent or Address and Port-Dependent;
                        also hairpinning (RFC 5780 §3.4)
  --rto DURATION        initial retransmission timeout (default 500ms)
  --rc N                requests sent per test before giving up (default 3);
                        a test without answer ends after RTO*(2^(N-1)-1+4)
  -h, --help            print this help

--nat-type and --behavior need a server with two IP addresses and two
ports (gonice's stunserver with --alt-addr, Debian's stund -a); they end
with the verdict worded as Debian's stun client prints it, such as
  Primary: Independent Mapping, Port Dependent Filter, preserves ports, no hairpin
Use a fresh local port for each run: earlier traffic changes the outcome.

Exit status: 0 on success, 1 on failure (no response, error response, UDP
blocked, server without behaviour discovery), 2 for a bad command line.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// mode is what to discover.
type mode int

const (
	modeMapped mode = iota
	modeNATType
	modeBehavior
)

// options is the parsed command line.
type options struct {
	network string // "ip", "ip4" or "ip6"
	port    uint16 // local port; 0 for any
	mode    mode
	host    string
	srvPort uint16
	client  natdisco.Client
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	if err != nil {
		syn, _, _ := strings.Cut(usageText, "\n\n")
		fmt.Fprintf(stderr, "stunclient: %v\n%s\nRun \"stunclient --help\" for every option.\n", err, syn)
		return exitUsage
	}
	addrs, err := resolve(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return exitFailed
	}
	switch o.mode {
	case modeNATType:
		return natType(ctx, o, addrs[0], stdout, stderr)
	case modeBehavior:
		return behavior(ctx, o, addrs[0], stdout, stderr)
	}
	for _, server := range addrs {
		if mapped(ctx, o, server, stdout, stderr) {
			return exitOK
		}
	}
	return exitFailed
}

// parseArgs parses the command line. Options may follow the operands.
func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("stunclient", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var v4, v6, natType, behav bool
	var port uint
	fs.BoolVar(&v4, "4", false, "")
	fs.BoolVar(&v4, "ipv4", false, "")
	fs.BoolVar(&v6, "6", false, "")
	fs.BoolVar(&v6, "ipv6", false, "")
	fs.UintVar(&port, "p", 0, "")
	fs.UintVar(&port, "port", 0, "")
	fs.BoolVar(&natType, "nat-type", false, "")
	fs.BoolVar(&behav, "behavior", false, "")
	fs.BoolVar(&behav, "behaviour", false, "")
	fs.DurationVar(&o.client.RTO, "rto", natdisco.DefaultRTO, "")
	fs.IntVar(&o.client.Rc, "rc", natdisco.DefaultRc, "")
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		operands = append(operands, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case v4 && v6:
		return o, errors.New("-4 and -6 exclude each other")
	case natType && behav:
		return o, errors.New("--nat-type and --behavior exclude each other")
	case port > 65535:
		return o, fmt.Errorf("local port %d out of range", port)
	case o.client.RTO <= 0:
		return o, errors.New("--rto must be positive")
	case o.client.Rc < 1:
		return o, errors.New("--rc must be at least 1")
	case len(operands) == 0:
		return o, errors.New("no server given")
	case len(operands) > 2:
		return o, fmt.Errorf("unexpected %q", operands[2])
	}
	o.network = "ip"
	if v4 {
		o.network = "ip4"
	} else if v6 {
		o.network = "ip6"
	}
	o.port = uint16(port)
	if natType {
		o.mode = modeNATType
	} else if behav {
		o.mode = modeBehavior
	}
	var err error
	if o.host, o.srvPort, err = splitServer(operands[0]); err != nil {
		return o, err
	}
	if len(operands) == 2 {
		if o.srvPort != 0 {
			return o, fmt.Errorf("port given twice: %q and %q", operands[0], operands[1])
		}
		p, err := strconv.ParseUint(operands[1], 10, 16)
		if err != nil || p == 0 {
			return o, fmt.Errorf("bad server port %q", operands[1])
		}
		o.srvPort = uint16(p)
	}
	if o.srvPort == 0 {
		o.srvPort = defaultPort
	}
	return o, nil
}

// splitServer splits SERVER[:PORT] into a host and a port, 0 if absent. A
// bare IPv6 address has no port.
func splitServer(s string) (string, uint16, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String(), 0, nil
	}
	if !strings.Contains(s, ":") {
		if s == "" {
			return "", 0, errors.New("empty server name")
		}
		return s, 0, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("bad server %q: %v", s, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 || host == "" {
		return "", 0, fmt.Errorf("bad server %q", s)
	}
	return host, uint16(p), nil
}

// resolve returns the server's addresses of the requested family, IPv4
// first.
func resolve(ctx context.Context, o options) ([]netip.AddrPort, error) {
	ips, err := net.DefaultResolver.LookupNetIP(ctx, o.network, o.host)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %v", o.host, err)
	}
	var v4, v6 []netip.AddrPort
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap(), o.srvPort)
		if ap.Addr().Is4() {
			v4 = append(v4, ap)
		} else {
			v6 = append(v6, ap)
		}
	}
	if all := append(v4, v6...); len(all) > 0 {
		return all, nil
	}
	return nil, fmt.Errorf("no address of the requested family for %s", o.host)
}

// listen opens the local socket for talking to server.
func listen(o options, server netip.AddrPort) (*net.UDPConn, error) {
	if server.Addr().Is4() {
		return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero, Port: int(o.port)})
	}
	return net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6unspecified, Port: int(o.port)})
}

// printAddr prints a line in stunbdc's format.
func printAddr(w io.Writer, what string, ap netip.AddrPort) {
	fmt.Fprintf(w, "%s address: %s port %d\n", what, ap.Addr(), ap.Port())
}

// mapped runs the stunbdc test against server and reports whether it
// succeeded.
func mapped(ctx context.Context, o options, server netip.AddrPort, stdout, stderr io.Writer) bool {
	printAddr(stdout, "Server", server)
	c, err := listen(o, server)
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return false
	}
	defer c.Close()
	m, err := o.client.MappedAddress(ctx, c, server)
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return false
	}
	printAddr(stdout, "Mapped", m)
	return true
}

// natType runs the RFC 3489 §10.1 test against server.
func natType(ctx context.Context, o options, server netip.AddrPort, stdout, stderr io.Writer) int {
	printAddr(stdout, "Server", server)
	c, err := listen(o, server)
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return exitFailed
	}
	defer c.Close()
	r, err := o.client.ClassicNATType(ctx, c, server)
	if r.Mapped.IsValid() {
		printAddr(stdout, "Mapped", r.Mapped)
	}
	if r.Changed.IsValid() {
		printAddr(stdout, "Changed", r.Changed)
	}
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "NAT type: %v\n", r.Type)
	fmt.Fprintf(stdout, "Primary: %v\n", r)
	if r.Type == natdisco.UDPBlocked {
		return exitFailed
	}
	return exitOK
}

// behavior runs the RFC 5780 §4.3 and §4.4 tests against server.
func behavior(ctx context.Context, o options, server netip.AddrPort, stdout, stderr io.Writer) int {
	printAddr(stdout, "Server", server)
	c, err := listen(o, server)
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return exitFailed
	}
	defer c.Close()
	r, err := o.client.Behavior(ctx, c, server)
	if r.Mapped.IsValid() {
		printAddr(stdout, "Mapped", r.Mapped)
	}
	if r.Origin.IsValid() {
		printAddr(stdout, "Response origin", r.Origin)
	}
	if r.Other.IsValid() {
		printAddr(stdout, "Other", r.Other)
	}
	if err != nil {
		fmt.Fprintf(stderr, "stunclient: %v\n", err)
		return exitFailed
	}
	if !r.Blocked {
		fmt.Fprintf(stdout, "NAT: %v\n", yesNo(r.NATed))
		fmt.Fprintf(stdout, "Mapping behaviour: %v\n", r.Mapping)
		fmt.Fprintf(stdout, "Filtering behaviour: %v\n", r.Filtering)
		fmt.Fprintf(stdout, "Hairpinning: %v\n", yesNo(r.Hairpin))
	}
	fmt.Fprintf(stdout, "NAT type: %v\n", r.NATType())
	fmt.Fprintf(stdout, "Primary: %v\n", r)
	if r.Blocked {
		return exitFailed
	}
	return exitOK
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
