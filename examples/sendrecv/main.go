// SPDX-License-Identifier: MIT

// Command sendrecv is an ICE peer in the manner of libnice's simple-example
// (and, with --sdp, of sdp-example): two copies exchange one line each by
// copy and paste, connect with ICE (RFC 8445) and then send each other the
// lines typed on their standard input.
//
// How to run two copies, in two terminals of one machine:
//
//	terminal 1$ go run ./examples/sendrecv --controlling --address 127.0.0.1
//	terminal 2$ go run ./examples/sendrecv --address 127.0.0.1
//
// Each prints "Copy this line to remote client:" and a line starting with two
// spaces. Paste each terminal's line at the other terminal's "> " prompt.
// When both print "Negotiation complete", every line typed in one terminal
// appears in the other; Ctrl-D in either terminal ends both (the quitting
// peer sends a single NUL byte). Leave out --address to use every interface,
// and the two terminals may then be on different machines.
//
// Standard output is byte for byte what libnice's simple-example and
// sdp-example print, so a gonice peer and a libnice peer connect too:
//
//	terminal 1$ ./simple-example 1        # libnice, controlling
//	terminal 2$ sendrecv 0                # gonice, controlled
//
// Behind NATs that cannot be punched, give both a TURN server (repeatable),
// and --force-relay to use nothing but the relays:
//
//	sendrecv --controlling --turn turn.example.org --turn-user u --turn-pass p --turn-transport tcp --force-relay
//
// Everything else (every signal of the agent as it happens, errors, notes)
// goes to standard error. "sendrecv --demo" runs two peers in one process on
// 127.0.0.1 with an embedded STUN server and prints every step; "sendrecv
// --help" documents every option.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/stunserver"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // ICE failed, the demo failed or timed out, an I/O error
	exitUsage  = 2 // bad command line
)

// demoTimeout bounds the whole of --demo.
const demoTimeout = 10 * time.Second

// The texts libnice's examples print on standard output (simple-example.c,
// sdp-example.c). They are kept byte for byte.
const (
	copyLinePrompt    = "Copy this line to remote client:\n\n  %s\n\n"
	copySDPPrompt     = "Generated SDP from agent :\n%s\n\nCopy the following line to remote client:\n\n  %s\n"
	enterRemotePrompt = "Enter remote data (single line, no wrapping):\n> "
	negotiationDone   = "\nNegotiation complete: ([%s]:%d, [%s]:%d)\n"
	sendLinesPrompt   = "\nSend lines to remote (Ctrl-D to quit):\n> "
	linePrompt        = "> "
	parseError        = "ERROR: failed to parse remote data\n"
)

const usageText = `Usage:
  sendrecv [--controlling] [--stun HOST[:PORT]] [--address IP]... [--sdp] [--aggressive]
           [--turn HOST[:PORT] [--turn-user U] [--turn-pass P] [--turn-transport udp|tcp|tls]]...
           [--force-relay] [--ice-tcp [--no-udp]] [--verbose] [--stats SECONDS]
  sendrecv 0|1 [stun_addr [stun_port]]
  sendrecv --demo [--sdp [--ice-tcp [--no-udp]]] [--aggressive] [--verbose]

sendrecv is an ICE peer (RFC 8445) built on gonice, like libnice's
simple-example, or sdp-example with --sdp. Run one copy on each side. Each
gathers its candidates and prints one line to copy to the other side; paste
the other side's line at the "> " prompt. Once connected, every line typed
is sent to the other side and every line received is printed. Ctrl-D (end of
input) sends a single NUL byte and quits, and a peer that receives it quits
too. Standard output is exactly libnice's; the agent's signals (new
candidates, state changes, the selected pair) and errors go to standard error.

Options:
  --controlling     take the controlling role; exactly one of the two peers
                    should be controlling (role conflicts are resolved anyway)
  --stun HOST[:PORT]
                    STUN server for a server-reflexive candidate (port 3478
                    when left out)
  --address IP      gather host candidates on IP only; repeatable; loopback
                    addresses are allowed (default: every interface except
                    loopback and link-local)
  --sdp             exchange the base64 of the whole SDP, as libnice's
                    sdp-example, instead of simple-example's line; the stream
                    is named "text" and the peers wait for READY
  --aggressive      aggressive nomination, libnice's default (default here:
                    regular nomination, RFC 8445)
  --turn HOST[:PORT]
                    TURN server for a relayed candidate (port 3478, 5349 for
                    tls, when left out); repeatable, up to 8
  --turn-user U, --turn-pass P, --turn-transport udp|tcp|tls
                    the TURN server's long-term credentials and the transport
                    to it (default udp); given after a --turn they apply to
                    that server, given before any --turn to every server
                    that does not set its own; tls is real TLS, verified with
                    the system's roots
  --force-relay     use only relayed candidates (libnice's force-relay): only
                    they are printed and checked; needs --turn
  --ice-tcp         also gather and use ICE-TCP candidates (libnice's ice-tcp,
                    RFC 6544): per address a TCP passive one (a listening
                    port) and an active one (port 9 in SDP); needs --sdp, as
                    simple-example's line has no transport
  --no-udp          no UDP candidates (libnice's ice-udp FALSE): TCP only;
                    needs --ice-tcp
  --verbose         the agent's debug log on standard error: every check,
                    state change, gathering and TURN event (as GONICE_DEBUG=1;
                    GONICE_DEBUG=checks,state chooses categories; see
                    docs/logging.md)
  --stats SECONDS   every SECONDS (and once at the end) the stream's
                    statistics as one line of JSON on standard error: per
                    candidate pair requests, responses, round-trip time,
                    packets and bytes (docs/stats.md)
  --demo            run two peers in this process on 127.0.0.1 with an
                    embedded STUN server, show every signal of both, send one
                    message each way and exit (status 1 after 10 s without
                    success)
  --help            show this help

libnice's positional form is accepted too: the first argument is 0
(controlled) or 1 (controlling), then an optional STUN server address and
port (default 3478), e.g. "sendrecv 1 stun.example.org 3478".

Exit status: 0 after Ctrl-D or when the peer quit, 1 when ICE failed or on
an error, 2 for a bad command line.

Example, two terminals on one machine:
  terminal 1$ sendrecv --controlling --address 127.0.0.1
  terminal 2$ sendrecv --address 127.0.0.1
  Copy the line under "Copy this line to remote client:" from terminal 1 to
  the "> " prompt of terminal 2, and terminal 2's line to terminal 1. Both
  print "Negotiation complete: (...)"; type lines in either one.

With libnice (its examples/simple-example, same line format):
  terminal 1$ ./simple-example 1
  terminal 2$ sendrecv 0
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program; it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		return exitOK
	}
	if err != nil {
		// The error once, then the synopsis: the full help would scroll it away.
		fmt.Fprintf(stderr, "sendrecv: %v\n%s\nRun \"sendrecv --help\" for every option.\n", err, usageSynopsis())
		return exitUsage
	}
	if o.demo {
		return runDemo(o, stdout, stderr)
	}
	return runPeer(o, stdin, stdout, stderr)
}

// usageSynopsis returns the "Usage:" lines of usageText.
func usageSynopsis() string {
	syn, _, _ := strings.Cut(usageText, "\n\n")
	return syn
}

// options is the parsed command line.
type options struct {
	controlling bool
	stun        string
	addresses   []netip.Addr
	sdp         bool
	demo        bool
	aggressive  bool
	turns       []turnOption
	forceRelay  bool
	iceTCP      bool // --ice-tcp
	noUDP       bool // --no-udp
	verbose     bool
	stats       time.Duration // --stats: the interval, 0 for none
}

// turnOption is one --turn server with its credentials and transport.
type turnOption struct {
	server, user, pass string
	transport          nice.RelayType
}

// turnSettings collects --turn-user, --turn-pass and --turn-transport: for
// the last --turn, or before any, the defaults of every server.
type turnSettings struct {
	user, pass, transport *string
}

// config returns the agent configuration of the options. With --verbose,
// or GONICE_DEBUG set, the debug log goes to logw (the console's standard
// error, so that it keeps off the prompt line).
func (o options) config(logw io.Writer) nice.Config {
	cfg := nice.Config{Controlling: o.controlling, STUNServer: o.stun, ForceRelay: o.forceRelay,
		ICETCP: o.iceTCP, DisableUDP: o.noUDP}
	if o.aggressive {
		cfg.Nomination = nice.NominationAggressive
	}
	if _, env := os.LookupEnv(nice.DebugEnv); (o.verbose || env) && logw != nil {
		cfg.Logger = slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if !env {
			cfg.LogCategories = nice.LogAll
		}
	}
	return cfg
}

// transports says which transports --ice-tcp and --no-udp chose, empty
// for UDP only (the default).
func (o options) transports() string {
	switch {
	case o.iceTCP && o.noUDP:
		return "ICE-TCP only: no UDP candidates"
	case o.iceTCP:
		return "ICE-TCP candidates besides UDP ones"
	}
	return ""
}

// parseArgs parses flags and libnice's positional arguments, which may be
// mixed in any order. Errors are returned, not printed: run prints them once.
func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("sendrecv", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // run prints the usage itself
	fs.BoolVar(&o.controlling, "controlling", false, "take the controlling role")
	fs.StringVar(&o.stun, "stun", "", "STUN server HOST[:PORT]")
	fs.Func("address", "gather host candidates on this IP only (repeatable)", func(s string) error {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("not an IP address: %q", s)
		}
		o.addresses = append(o.addresses, ip)
		return nil
	})
	fs.BoolVar(&o.sdp, "sdp", false, "exchange base64 SDP, as sdp-example")
	fs.BoolVar(&o.demo, "demo", false, "run two peers in this process")
	fs.BoolVar(&o.aggressive, "aggressive", false, "aggressive nomination")
	fs.BoolVar(&o.forceRelay, "force-relay", false, "use only relayed candidates")
	fs.BoolVar(&o.iceTCP, "ice-tcp", false, "gather and use ICE-TCP candidates")
	fs.BoolVar(&o.noUDP, "no-udp", false, "no UDP candidates")
	fs.BoolVar(&o.verbose, "verbose", false, "the agent's debug log on standard error")
	fs.Func("stats", "statistics as JSON every SECONDS on standard error", func(s string) error {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || !(secs >= 0.1 && secs <= 86400) {
			return fmt.Errorf("--stats wants seconds from 0.1 to 86400, not %q", s)
		}
		o.stats = time.Duration(secs * float64(time.Second))
		return nil
	})
	var defaults turnSettings
	var perServer []turnSettings
	current := func() *turnSettings {
		if len(perServer) == 0 {
			return &defaults
		}
		return &perServer[len(perServer)-1]
	}
	fs.Func("turn", "TURN server HOST[:PORT] (repeatable)", func(s string) error {
		if s == "" {
			return errors.New("empty TURN server")
		}
		if len(o.turns) >= nice.MaxRelayServers {
			return fmt.Errorf("more than %d TURN servers", nice.MaxRelayServers)
		}
		o.turns = append(o.turns, turnOption{server: s})
		perServer = append(perServer, turnSettings{})
		return nil
	})
	setting := func(name string, field func(*turnSettings) **string) func(string) error {
		return func(v string) error {
			f := field(current())
			if *f != nil {
				return fmt.Errorf("--%s given twice for the same server", name)
			}
			*f = &v
			return nil
		}
	}
	fs.Func("turn-user", "TURN user name", setting("turn-user", func(t *turnSettings) **string { return &t.user }))
	fs.Func("turn-pass", "TURN password", setting("turn-pass", func(t *turnSettings) **string { return &t.pass }))
	fs.Func("turn-transport", "udp, tcp or tls", setting("turn-transport", func(t *turnSettings) **string { return &t.transport }))

	// The flag package stops at the first positional argument; parse again
	// after each one, so flags may follow libnice's positional form.
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return o, err
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) > 3 {
		return o, fmt.Errorf("too many arguments: %q", pos)
	}
	if len(pos) >= 1 {
		switch pos[0] {
		case "1":
			o.controlling = true
		case "0":
			if o.controlling {
				return o, errors.New("positional 0 (controlled) contradicts --controlling")
			}
		default:
			return o, fmt.Errorf("first argument must be 0 (controlled) or 1 (controlling), not %q", pos[0])
		}
	}
	if len(pos) >= 2 {
		if o.stun != "" {
			return o, errors.New("a STUN server is given both with --stun and as an argument")
		}
		port := strconv.Itoa(nice.DefaultSTUNPort)
		if len(pos) == 3 {
			n, err := strconv.ParseUint(pos[2], 10, 16)
			if err != nil || n == 0 {
				return o, fmt.Errorf("bad STUN port %q", pos[2])
			}
			port = pos[2]
		}
		o.stun = net.JoinHostPort(pos[1], port)
	}
	if o.demo && (len(pos) > 0 || o.controlling || o.stun != "" || len(o.addresses) > 0 || len(o.turns) > 0 || o.forceRelay || o.stats > 0) {
		return o, errors.New("--demo chooses roles, addresses and the STUN server itself; only --sdp, --ice-tcp, --no-udp, --aggressive and --verbose go with it")
	}
	if o.iceTCP && !o.sdp {
		return o, errors.New("--ice-tcp needs --sdp: simple-example's line cannot tell a TCP candidate from a UDP one")
	}
	if o.noUDP && !o.iceTCP {
		return o, errors.New("--no-udp needs --ice-tcp: without either transport nothing is gathered")
	}
	if len(o.turns) == 0 && (defaults.user != nil || defaults.pass != nil || defaults.transport != nil) {
		return o, errors.New("--turn-user, --turn-pass and --turn-transport need a --turn")
	}
	if o.forceRelay && len(o.turns) == 0 {
		return o, errors.New("--force-relay needs a --turn server")
	}
	for i := range o.turns {
		pick := func(own, def *string) string {
			if own != nil {
				return *own
			}
			if def != nil {
				return *def
			}
			return ""
		}
		t := &o.turns[i]
		t.user = pick(perServer[i].user, defaults.user)
		t.pass = pick(perServer[i].pass, defaults.pass)
		switch tr := pick(perServer[i].transport, defaults.transport); tr {
		case "", "udp":
			t.transport = nice.RelayTypeTURNUDP
		case "tcp":
			t.transport = nice.RelayTypeTURNTCP
		case "tls":
			t.transport = nice.RelayTypeTURNTLS
		default:
			return o, fmt.Errorf("--turn-transport must be udp, tcp or tls, not %q", tr)
		}
	}
	return o, nil
}

// syncWriter serializes writes from several goroutines (the main one and
// the agents' receive and signal goroutines). fmt.Fprintf issues one Write
// per call, so lines never interleave.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// console is standard output and standard error sharing one terminal.
// Standard output must stay byte for byte libnice's, and it leaves prompts
// ("> ") open on their line; a status line on standard error would land
// after the prompt. So standard error first ends the open line with its own
// newline and, after a whole line, prints the open prompt again: the
// terminal shows the status line on a line of its own and the prompt under
// it, and standard output is unchanged.
type console struct {
	mu   sync.Mutex
	out  io.Writer
	err  io.Writer
	tail []byte // what standard output printed after its last newline, while the user has not ended the line
}

// stdout and stderr are the console's two writers; each Write is one
// piece of output, never interleaved with another.
func (c *console) stdout() io.Writer { return consoleWriter{c, false} }
func (c *console) stderr() io.Writer { return consoleWriter{c, true} }

// lineEntered tells the console that the user ended a line (the terminal
// echoed the newline), so no prompt is open any more.
func (c *console) lineEntered() {
	c.mu.Lock()
	c.tail = c.tail[:0]
	c.mu.Unlock()
}

type consoleWriter struct {
	c     *console
	isErr bool
}

func (w consoleWriter) Write(p []byte) (int, error) {
	c := w.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !w.isErr {
		if i := bytes.LastIndexByte(p, '\n'); i >= 0 {
			c.tail = append(c.tail[:0], p[i+1:]...)
		} else if len(c.tail)+len(p) <= 256 {
			c.tail = append(c.tail, p...)
		}
		return c.out.Write(p)
	}
	if len(c.tail) == 0 {
		return c.err.Write(p)
	}
	if _, err := c.err.Write([]byte{'\n'}); err != nil {
		return 0, err
	}
	n, err := c.err.Write(p)
	if err == nil && len(p) > 0 && p[len(p)-1] == '\n' {
		_, err = c.err.Write(c.tail)
	}
	return n, err
}

// logger prints prefixed lines.
type logger struct {
	w      io.Writer
	prefix string
}

func (l *logger) printf(format string, args ...any) {
	fmt.Fprintf(l.w, l.prefix+format+"\n", args...)
}

// peer is one agent with one stream of one component, and channels that
// follow its signals.
type peer struct {
	agent *nice.Agent
	sid   int
	log   *logger

	gathered  chan struct{} // closed at candidate-gathering-done
	connected chan struct{} // closed when the component first reaches CONNECTED
	ready     chan struct{} // closed when the component first reaches READY
	failed    chan struct{} // closed when the component goes FAILED
	bye       chan struct{} // closed when the peer's lone NUL byte arrives

	gatheredOnce, connectedOnce, readyOnce, failedOnce, byeOnce sync.Once
}

// newPeer creates the agent, prints each of its signals with log, and starts
// gathering. onData receives every datagram except the lone NUL byte, on
// the agent's reader goroutine, with a buffer valid only during the call.
func newPeer(cfg nice.Config, addrs []netip.Addr, turns []turnOption, streamName string, log *logger, onData func([]byte)) (*peer, error) {
	a, err := nice.NewAgent(cfg)
	if err != nil {
		return nil, err
	}
	p := &peer{
		agent:     a,
		log:       log,
		gathered:  make(chan struct{}),
		connected: make(chan struct{}),
		ready:     make(chan struct{}),
		failed:    make(chan struct{}),
		bye:       make(chan struct{}),
	}
	if err := p.setup(addrs, turns, streamName, onData); err != nil {
		a.Close()
		return nil, err
	}
	return p, nil
}

func (p *peer) setup(addrs []netip.Addr, turns []turnOption, streamName string, onData func([]byte)) error {
	a := p.agent
	for _, ip := range addrs {
		if err := a.AddLocalAddress(ip); err != nil {
			return err
		}
	}
	sid, err := a.AddStream(1)
	if err != nil {
		return err
	}
	p.sid = sid
	for _, t := range turns {
		if err := a.SetRelayInfo(sid, 1, t.server, t.user, t.pass, t.transport); err != nil {
			return err
		}
	}
	if streamName != "" {
		if err := a.SetStreamName(sid, streamName); err != nil {
			return err
		}
	}
	a.OnCandidateGatheringDone(func(sid int) {
		p.log.printf("signal candidate-gathering-done: stream %d", sid)
		if sid == p.sid {
			p.gatheredOnce.Do(func() { close(p.gathered) })
		}
	})
	a.OnNewCandidate(func(c nice.Candidate) {
		p.log.printf("signal new-candidate: %s", describe(c))
	})
	a.OnNewRemoteCandidate(func(c nice.Candidate) {
		p.log.printf("signal new-remote-candidate: %s", describe(c))
	})
	a.OnInitialBindingRequestReceived(func(sid int) {
		p.log.printf("signal initial-binding-request-received: stream %d", sid)
	})
	a.OnComponentStateChanged(func(sid, cid int, s nice.ComponentState) {
		p.log.printf("signal component-state-changed: stream %d component %d %s", sid, cid, s)
		if sid != p.sid || cid != 1 {
			return
		}
		switch s {
		case nice.ComponentStateConnected:
			p.connectedOnce.Do(func() { close(p.connected) })
		case nice.ComponentStateReady:
			p.connectedOnce.Do(func() { close(p.connected) })
			p.readyOnce.Do(func() { close(p.ready) })
		case nice.ComponentStateFailed:
			p.failedOnce.Do(func() { close(p.failed) })
		case nice.ComponentStateDisconnected, nice.ComponentStateGathering, nice.ComponentStateConnecting:
		}
	})
	a.OnNewSelectedPair(func(sid, cid int, local, remote nice.Candidate) {
		p.log.printf("signal new-selected-pair: stream %d component %d local %s %s%s remote %s %s%s",
			sid, cid, local.Type, local.Addr, tcpNote(local), remote.Type, remote.Addr, tcpNote(remote))
	})
	err = a.AttachRecv(sid, 1, func(_, _ int, b []byte) {
		if len(b) == 1 && b[0] == 0 {
			p.byeOnce.Do(func() { close(p.bye) })
			return
		}
		onData(b)
	})
	if err != nil {
		return err
	}
	return a.GatherCandidates(sid)
}

// printStats writes the stream's statistics as one JSON line to w every
// interval, and once more when the returned function is called (before the
// agent closes).
func (p *peer) printStats(w io.Writer, interval time.Duration, log *logger) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	write := func() {
		js, err := p.agent.StatsJSON(p.sid)
		if err != nil {
			log.printf("stats: %v", err)
			return
		}
		_, _ = w.Write(append(js, '\n'))
	}
	go func() { // the statistics printer, until stop
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				write()
			case <-done:
				write()
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// close closes the agent; it returns when every goroutine of it is gone.
func (p *peer) close() {
	if err := p.agent.Close(); err != nil {
		p.log.printf("closing the agent: %v", err)
	}
}

// tcpNote is " over " and an ICE-TCP candidate's transport (tcp-act,
// tcp-pass), empty for UDP.
func tcpNote(c nice.Candidate) string {
	if c.Transport == nice.TransportUDP {
		return ""
	}
	return " over " + c.Transport.String()
}

// describe returns a candidate for the signal lines.
func describe(c nice.Candidate) string {
	s := c.String()
	if c.Base.IsValid() && c.Base != c.Addr {
		s += " base " + c.Base.String()
	}
	return s
}

// simpleLine returns simple-example's line for the local candidates.
func (p *peer) simpleLine() (string, error) {
	ufrag, pwd, err := p.agent.LocalCredentials(p.sid)
	if err != nil {
		return "", err
	}
	cands, err := p.agent.LocalCandidates(p.sid, 1)
	if err != nil {
		return "", err
	}
	return nice.FormatSimpleLine(ufrag, pwd, cands), nil
}

// applySimpleLine sets the peer's credentials and candidates from its
// simple-example line, as parse_remote_data does: at least one candidate
// must be accepted.
func (p *peer) applySimpleLine(line string) error {
	ufrag, pwd, cands, err := nice.ParseSimpleLine(line)
	if err != nil {
		return err
	}
	if err := p.agent.SetRemoteCredentials(p.sid, ufrag, pwd); err != nil {
		return err
	}
	n, err := p.agent.SetRemoteCandidates(p.sid, 1, cands)
	if err != nil {
		return err
	}
	if n < 1 {
		return errors.New("no remote candidate was accepted")
	}
	p.log.printf("remote credentials set, %d of %d remote candidates added", n, len(cands))
	return nil
}

// applySDP applies the peer's SDP, as sdp-example: ParseRemoteSDP must add
// at least one candidate.
func (p *peer) applySDP(sdp string) error {
	n, err := p.agent.ParseRemoteSDP(sdp)
	if err != nil {
		return err
	}
	if n < 1 {
		return errors.New("the SDP has no usable candidate")
	}
	p.log.printf("remote SDP applied, %d remote candidates added", n)
	return nil
}

// applyRemoteData applies one line typed at the prompt.
func (p *peer) applyRemoteData(line string, sdp bool) error {
	if !sdp {
		return p.applySimpleLine(line)
	}
	text, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(line), ""))
	if err != nil {
		return fmt.Errorf("not base64: %v", err)
	}
	return p.applySDP(string(text))
}

// srflxNote says so when the stream has no server-reflexive candidate
// although a STUN server was given, and why that can be expected.
func (p *peer) srflxNote(stun string, onLoopback, noUDP bool) {
	if stun == "" {
		return
	}
	if noUDP {
		p.log.printf("note: no srflx candidate, as expected: STUN server %s is asked over UDP, which --no-udp turned off", stun)
		return
	}
	cands, err := p.agent.LocalCandidates(p.sid, 1)
	if err != nil {
		return
	}
	for _, c := range cands {
		if c.Type == nice.CandidateTypeServerReflexive {
			return
		}
	}
	errs, _ := p.agent.STUNErrors(p.sid)
	if len(errs) > 0 {
		for _, e := range errs {
			p.log.printf("note: no srflx candidate: %v", e)
		}
		return
	}
	if onLoopback {
		p.log.printf("note: no srflx candidate, as expected: on 127.0.0.1 the STUN server %s sees each "+
			"socket's own address, so the mapped address equals the host candidate and is not added again", stun)
		return
	}
	p.log.printf("note: no srflx candidate from STUN server %s: it answered, and the mapped address equals a host "+
		"candidate (no NAT in between)", stun)
}

// readLines sends each line of r, with its "\n", on the returned channel
// and closes it at end of input or on a read error. The goroutine ends with
// the input; the process exits without waiting for it.
func readLines(r io.Reader, con *console, errlog *logger) <-chan string {
	ch := make(chan string)
	go func() { // the input reader, until end of input
		defer close(ch)
		br := bufio.NewReader(r)
		for {
			line, err := br.ReadString('\n')
			if strings.HasSuffix(line, "\n") {
				con.lineEntered()
			}
			if line != "" {
				ch <- line
			}
			if err != nil {
				if err != io.EOF {
					errlog.printf("reading standard input: %v", err)
				}
				return
			}
		}
	}()
	return ch
}

// runPeer is one peer talking to a human (or to libnice's examples).
func runPeer(o options, stdin io.Reader, stdout, stderr io.Writer) int {
	con := &console{out: stdout, err: stderr}
	out, errw := con.stdout(), con.stderr()
	log := &logger{w: errw, prefix: "sendrecv: "}
	streamName := ""
	if o.sdp {
		streamName = "text" // as sdp-example
	}
	role := "controlled"
	if o.controlling {
		role = "controlling"
	}
	stunNote := "no STUN server"
	if o.stun != "" {
		stunNote = "STUN server " + o.stun
	}
	log.printf("%s agent, %s nomination, %s", role, o.config(nil).Nomination, stunNote)
	for _, t := range o.turns {
		log.printf("TURN server %s over %s, user %q", t.server, t.transport, t.user)
	}
	if o.forceRelay {
		log.printf("force-relay: only relayed candidates are used")
	}
	if note := o.transports(); note != "" {
		log.printf("%s", note)
	}
	p, err := newPeer(o.config(errw), o.addresses, o.turns, streamName, log, func(b []byte) {
		_, _ = out.Write(b) // printed raw, as simple-example
	})
	if err != nil {
		log.printf("error: %v", err)
		return exitFailed
	}
	defer p.close()
	if o.stats > 0 {
		stop := p.printStats(errw, o.stats, log)
		defer stop()
	}
	lines := readLines(stdin, con, log)

	select {
	case <-p.gathered:
	case <-p.failed:
		log.printf("error: the component failed during gathering")
		return exitFailed
	}
	p.srflxNote(o.stun, false, o.noUDP)
	if errs, _ := p.agent.RelayErrors(p.sid); len(errs) > 0 {
		for _, e := range errs {
			log.printf("error: %v", e)
		}
	}
	if o.forceRelay {
		if cands, _ := p.agent.LocalCandidates(p.sid, 1); len(cands) == 0 {
			log.printf("error: --force-relay and no relayed candidate: no TURN allocation succeeded")
			return exitFailed
		}
	}

	// Print the local data, as simple-example or sdp-example.
	if o.sdp {
		sdp := p.agent.GenerateLocalSDP()
		fmt.Fprintf(out, copySDPPrompt, sdp, base64.StdEncoding.EncodeToString([]byte(sdp)))
	} else {
		line, err := p.simpleLine()
		if err != nil {
			log.printf("error: %v", err)
			return exitFailed
		}
		fmt.Fprintf(out, copyLinePrompt, line)
	}
	fmt.Fprint(out, enterRemotePrompt)

	// Read the remote data until one line parses.
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				log.printf("error: end of input before the remote data was entered")
				return exitFailed
			}
			if err := p.applyRemoteData(line, o.sdp); err != nil {
				fmt.Fprint(errw, parseError)
				log.printf("%v", err)
				fmt.Fprint(out, enterRemotePrompt) // as libnice: the whole prompt again
				continue
			}
			done = true
		case <-p.bye:
			log.printf("the peer quit (NUL byte received)")
			return exitOK
		}
	}

	// simple-example goes on at CONNECTED, sdp-example at READY.
	established := p.connected
	if o.sdp {
		established = p.ready
	}
	select {
	case <-established:
	case <-p.failed:
		log.printf("error: ICE failed: no candidate pair works")
		return exitFailed
	case <-p.bye:
		log.printf("the peer quit (NUL byte received)")
		return exitOK
	}
	if !o.sdp {
		local, remote, err := p.agent.SelectedPair(p.sid, 1)
		if err == nil {
			la, ra := local.Addr, remote.Addr
			fmt.Fprintf(out, negotiationDone, la.Addr().WithZone(""), la.Port(), ra.Addr().WithZone(""), ra.Port())
		} else {
			log.printf("no selected pair: %v", err)
		}
	}
	fmt.Fprint(out, sendLinesPrompt)

	for {
		select {
		case line, ok := <-lines:
			if !ok {
				if _, err := p.agent.Send(p.sid, 1, []byte{0}); err != nil {
					log.printf("sending the NUL byte: %v", err)
				}
				log.printf("end of input: NUL byte sent, quitting")
				return exitOK
			}
			if _, err := p.agent.Send(p.sid, 1, []byte(line)); err != nil {
				log.printf("send: %v", err)
			}
			fmt.Fprint(out, linePrompt)
		case <-p.bye:
			log.printf("the peer quit (NUL byte received)")
			return exitOK
		case <-p.failed:
			log.printf("error: the connection failed (consent lost)")
			return exitFailed
		}
	}
}

// runDemo runs two peers in this process on 127.0.0.1 and shows everything.
func runDemo(o options, stdout, stderr io.Writer) int {
	out := &syncWriter{w: stdout}
	say := &logger{w: out, prefix: "demo: "}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "sendrecv --demo: FAILED: %v\n", err)
		return exitFailed
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
	defer cancel()

	srv, bound, err := stunserver.ListenAndServe("127.0.0.1:0")
	if err != nil {
		return fail(fmt.Errorf("starting the STUN server: %v", err))
	}
	defer srv.Close()
	stunAddr := bound.String()
	say.printf("two gonice peers on 127.0.0.1 in one process; STUN server on %s", stunAddr)
	exchange := "simple-example lines"
	if o.sdp {
		exchange = "SDP"
	}
	say.printf("left is controlling, right is controlled; %s nomination; exchanging %s", o.config(nil).Nomination, exchange)
	if note := o.transports(); note != "" {
		say.printf("%s", note)
	}

	loopback := []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	streamName := ""
	if o.sdp {
		streamName = "text"
	}
	got := make(chan message, 16)
	mk := func(name string, controlling bool) (*peer, error) {
		cfg := o.config(out)
		cfg.Controlling = controlling
		cfg.STUNServer = stunAddr
		log := &logger{w: out, prefix: fmt.Sprintf("[%-5s] ", name)}
		return newPeer(cfg, loopback, nil, streamName, log, func(b []byte) {
			select {
			case got <- message{to: name, text: string(b)}:
			default:
			}
		})
	}
	left, err := mk("left", true)
	if err != nil {
		return fail(fmt.Errorf("left peer: %v", err))
	}
	defer left.close()
	right, err := mk("right", false)
	if err != nil {
		return fail(fmt.Errorf("right peer: %v", err))
	}
	defer right.close()
	peers := []*peer{left, right}
	names := map[*peer]string{left: "left", right: "right"}

	await := func(what string, ch func(*peer) <-chan struct{}) error {
		for _, p := range peers {
			select {
			case <-ch(p):
			case <-p.failed:
				return fmt.Errorf("%s peer: ICE failed while waiting for %s", names[p], what)
			case <-ctx.Done():
				return fmt.Errorf("timed out after %v waiting for %s", demoTimeout, what)
			}
		}
		return nil
	}

	if err := await("candidate gathering", func(p *peer) <-chan struct{} { return p.gathered }); err != nil {
		return fail(err)
	}
	say.printf("both peers gathered their candidates")
	for _, p := range peers {
		p.srflxNote(stunAddr, true, o.noUDP)
	}

	// Exchange the signalling data as two humans would, in the formats the
	// single-peer mode prints.
	for _, pair := range [][2]*peer{{left, right}, {right, left}} {
		from, to := pair[0], pair[1]
		if o.sdp {
			sdp := from.agent.GenerateLocalSDP()
			say.printf("%s's SDP, given to %s:\n%s", names[from], names[to], strings.TrimRight(sdp, "\n"))
			if err := to.applySDP(sdp); err != nil {
				return fail(fmt.Errorf("%s cannot apply %s's SDP: %v", names[to], names[from], err))
			}
			continue
		}
		line, err := from.simpleLine()
		if err != nil {
			return fail(err)
		}
		say.printf("%s's line, given to %s:\n  %s", names[from], names[to], line)
		if err := to.applySimpleLine(line); err != nil {
			return fail(fmt.Errorf("%s cannot apply %s's line: %v", names[to], names[from], err))
		}
	}

	if err := await("READY", func(p *peer) <-chan struct{} { return p.ready }); err != nil {
		return fail(err)
	}
	for _, p := range peers {
		local, remote, err := p.agent.SelectedPair(p.sid, 1)
		if err != nil {
			return fail(fmt.Errorf("%s peer: %v", names[p], err))
		}
		say.printf("%s is READY on ([%s]:%d, [%s]:%d)", names[p],
			local.Addr.Addr(), local.Addr.Port(), remote.Addr.Addr(), remote.Addr.Port())
	}

	// One message each way. UDP may drop a datagram, so resend until it
	// arrives (on loopback the first one always does).
	for _, pair := range [][2]*peer{{left, right}, {right, left}} {
		from, to := pair[0], pair[1]
		msg := fmt.Sprintf("hello from %s\n", names[from])
		if err := sendUntilReceived(ctx, from, names[to], msg, got); err != nil {
			return fail(fmt.Errorf("%s -> %s: %v", names[from], names[to], err))
		}
		say.printf("%s received %q", names[to], msg)
	}

	left.close()
	right.close()
	if err := srv.Close(); err != nil {
		say.printf("closing the STUN server: %v", err)
	}
	say.printf("OK: connected and exchanged one message each way in %v; both agents closed",
		time.Since(start).Round(time.Millisecond))
	return exitOK
}

// message is a datagram one of the demo's peers received.
type message struct {
	to   string // the receiving peer
	text string
}

// sendUntilReceived sends msg from a peer, again every half second, until
// the peer named to receives it or ctx ends.
func sendUntilReceived(ctx context.Context, from *peer, to, msg string, got <-chan message) error {
	resend := time.NewTicker(500 * time.Millisecond)
	defer resend.Stop()
	for {
		if _, err := from.agent.Send(from.sid, 1, []byte(msg)); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	wait:
		for {
			select {
			case m := <-got:
				if m.to == to && m.text == msg {
					return nil
				}
				// A copy of an earlier message: keep waiting.
			case <-resend.C:
				break wait
			case <-ctx.Done():
				return fmt.Errorf("timed out after %v waiting for the message to arrive", demoTimeout)
			}
		}
	}
}
