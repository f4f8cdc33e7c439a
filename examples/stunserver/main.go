// SPDX-License-Identifier: MIT

// Command stunserver is a STUN server, like libnice's stund: it answers
// Binding requests (RFC 5389) with the address they came from. Given a
// second IP address with --alt-addr it also serves NAT behaviour discovery
// (RFC 5780, and the classic STUN of RFC 3489 that Debian's stun client
// speaks) on the four combinations of two addresses and two ports, like
// Debian's stund -h ADDR -a ALTADDR:
//
//	$ stunserver --alt-addr 127.0.0.2 127.0.0.1
//	Listening on 127.0.0.1:3478 (A1:P1, primary)
//	Listening on 127.0.0.1:3479 (A1:P2)
//	Listening on 127.0.0.2:3478 (A2:P1)
//	Listening on 127.0.0.2:3479 (A2:P2, other address)
//
// It serves until SIGINT or SIGTERM. "stunserver --help" documents every
// option; the exit status is 0 after a signal, 1 if a socket cannot be
// opened and 2 for a bad command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gonice/gonice/nice/stunserver"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // a socket could not be opened
	exitUsage  = 2 // bad command line
)

// defaultPort is the STUN port (RFC 5389 §9).
const defaultPort = 3478

// defaultSoftware is the SOFTWARE attribute of the responses.
const defaultSoftware = "gonice stunserver"

const usageText = `Usage:
  stunserver [-4|-6] [-p|--port P] [--software TEXT] [-v|--verbose] [ADDR]
  stunserver -a|--alt-addr ALTADDR [-p|--port P] [-o|--alt-port P2] [--response-address]
             [--software TEXT] [-v|--verbose] ADDR
  stunserver -h|--help

stunserver answers STUN Binding requests (RFC 5389) with the address they
came from (XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS for RFC 3489 clients), like
libnice's stund. Without ADDR it listens on every IPv4 address (0.0.0.0), or
every IPv6 address with -6.

With --alt-addr it serves NAT behaviour discovery (RFC 5780, RFC 3489) on
ADDR:P, ADDR:P2, ALTADDR:P and ALTADDR:P2 (A1:P1, A1:P2, A2:P1, A2:P2):
responses name the answering socket (RESPONSE-ORIGIN, SOURCE-ADDRESS) and
the other address and port ALTADDR:P2 (OTHER-ADDRESS, CHANGED-ADDRESS), and
CHANGE-REQUEST is answered from the socket with the other address and/or
port. ADDR and ALTADDR must be two specific addresses of one family; NATed
clients must see them as two hosts. This is what stunclient --nat-type and
--behavior, and Debian's stun client, need. Without --alt-addr, requests with
CHANGE-REQUEST get a 420 (Unknown Attribute) error (RFC 5780 §6).

Options:
  -4, --ipv4            listen on 0.0.0.0 when ADDR is not given (default)
  -6, --ipv6            listen on :: when ADDR is not given
  -p, --port P          primary port P1 (default 3478; 0 picks a free port)
  -a, --alt-addr ALTADDR
                        serve behaviour discovery with this second address A2
  -o, --alt-port P2     alternate port P2 (default P+1; 0 picks a free port)
  --response-address    honour RESPONSE-ADDRESS from RFC 3489 clients: send the
                        response wherever the request says. This makes the
                        server a reflector for denial-of-service attacks
                        (RFC 3489 §12.1); never enable it on a public network.
                        Without it such requests get a 420.
  --software TEXT       SOFTWARE attribute of the responses (default
                        "gonice stunserver"); padded with spaces to a multiple
                        of 4 bytes, which RFC 3489 clients need
  -v, --verbose         log every socket and every datagram not answered to
                        standard error
  -h, --help            print this help

It prints one "Listening on ADDR:PORT" line per socket on standard output,
then serves until SIGINT or SIGTERM.

Exit status: 0 after SIGINT or SIGTERM, 1 if a socket cannot be opened, 2 for
a bad command line.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options is the parsed command line.
type options struct {
	addr            netip.Addr
	alt             netip.Addr // invalid: no behaviour discovery
	port, altPort   uint16
	responseAddress bool
	software        string
	verbose         bool
}

// run is the whole program: it serves until ctx ends and returns the exit
// status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	if err != nil {
		syn, _, _ := strings.Cut(usageText, "\n\n")
		fmt.Fprintf(stderr, "stunserver: %v\n%s\nRun \"stunserver --help\" for every option.\n", err, syn)
		return exitUsage
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	srv := &stunserver.Server{
		Software: o.software,
		Logger:   slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	defer srv.Close()
	if o.alt.IsValid() {
		sa, err := srv.ListenAndServeBehavior(stunserver.BehaviorConfig{
			Primary: o.addr, Alternate: o.alt, Port: o.port, AltPort: o.altPort,
			ResponseAddress: o.responseAddress,
		})
		if err != nil {
			fmt.Fprintf(stderr, "stunserver: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "Listening on %v (A1:P1, primary)\n", sa.A1P1)
		fmt.Fprintf(stdout, "Listening on %v (A1:P2)\n", sa.A1P2)
		fmt.Fprintf(stdout, "Listening on %v (A2:P1)\n", sa.A2P1)
		fmt.Fprintf(stdout, "Listening on %v (A2:P2, other address)\n", sa.A2P2)
	} else {
		local, err := srv.ListenAndServe(netip.AddrPortFrom(o.addr, o.port).String())
		if err != nil {
			fmt.Fprintf(stderr, "stunserver: %v\n", err)
			return exitFailed
		}
		fmt.Fprintf(stdout, "Listening on %v\n", local)
	}
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "stunserver: %v\n", err)
	}
	return exitOK
}

// parseArgs parses the command line. Options may follow the operand.
func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("stunserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var v4, v6 bool
	var alt string
	port, altPort := uint(defaultPort), uint(1<<16) // 1<<16: not given
	fs.BoolVar(&v4, "4", false, "")
	fs.BoolVar(&v4, "ipv4", false, "")
	fs.BoolVar(&v6, "6", false, "")
	fs.BoolVar(&v6, "ipv6", false, "")
	fs.UintVar(&port, "port", port, "")
	fs.UintVar(&port, "p", port, "")
	fs.StringVar(&alt, "alt-addr", "", "")
	fs.StringVar(&alt, "a", "", "")
	fs.UintVar(&altPort, "alt-port", altPort, "")
	fs.UintVar(&altPort, "o", altPort, "")
	fs.BoolVar(&o.responseAddress, "response-address", false, "")
	fs.StringVar(&o.software, "software", defaultSoftware, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
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
	case port > 65535:
		return o, fmt.Errorf("port %d out of range", port)
	case altPort > 65535 && altPort != 1<<16:
		return o, fmt.Errorf("alternate port %d out of range", altPort)
	case len(operands) > 1:
		return o, fmt.Errorf("unexpected %q", operands[1])
	case alt == "" && (altPort != 1<<16 || o.responseAddress):
		return o, errors.New("--alt-port and --response-address need --alt-addr")
	case alt != "" && len(operands) == 0:
		return o, errors.New("--alt-addr needs the primary ADDR too")
	}
	o.port = uint16(port)
	o.addr = netip.IPv4Unspecified()
	if v6 {
		o.addr = netip.IPv6Unspecified()
	}
	if len(operands) == 1 {
		a, err := netip.ParseAddr(operands[0])
		if err != nil {
			return o, fmt.Errorf("bad address %q: %v", operands[0], err)
		}
		if v4 && !a.Unmap().Is4() || v6 && a.Unmap().Is4() {
			return o, fmt.Errorf("address %v is not of the family of -4 or -6", a)
		}
		o.addr = a
	}
	if alt != "" {
		a, err := netip.ParseAddr(alt)
		if err != nil {
			return o, fmt.Errorf("bad alternate address %q: %v", alt, err)
		}
		if a.Unmap().Is4() != o.addr.Unmap().Is4() || a.Unmap() == o.addr.Unmap() ||
			a.IsUnspecified() || o.addr.IsUnspecified() {
			return o, fmt.Errorf("ADDR %v and --alt-addr %v must be two specific addresses of one family", o.addr, a)
		}
		o.alt = a
		switch {
		case altPort != 1<<16:
			o.altPort = uint16(altPort)
		case port != 0:
			o.altPort = uint16(port + 1)
		}
		if o.altPort != 0 && o.altPort == o.port || port == 65535 && altPort == 1<<16 {
			return o, fmt.Errorf("--alt-port must differ from --port")
		}
	}
	o.software = padSoftware(o.software)
	return o, nil
}

// padSoftware pads s with spaces to a multiple of 4 bytes: RFC 3489
// attributes have no padding (RFC 3489 §11.2), so RFC 3489 clients such
// as Debian's stun client misread an attribute of another length.
func padSoftware(s string) string {
	if n := len(s) % 4; n != 0 {
		s += strings.Repeat(" ", 4-n)
	}
	return s
}
