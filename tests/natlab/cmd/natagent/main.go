// SPDX-License-Identifier: MIT

// Command natagent runs one gonice agent (one stream, one component) for
// the NAT lab. The lab starts it inside a network namespace with
// "ip netns exec NS natagent ..." and talks to it over a line protocol.
//
// Output lines (standard output), each prefixed with the milliseconds
// since the agent started gathering:
//
//	T creds UFRAG PWD
//	T cand a=candidate:...
//	T gathered
//	T relayerr TEXT
//	T state STATE
//	T selected LOCALTYPE REMOTETYPE LOCALADDR REMOTEADDR
//	T recv TEXT
//	T media SEQ            the first media datagram received (--media)
//	T gap MS SEQ           media datagram SEQ arrived MS ms after the one before it (only gaps > --gap)
//	T count N              after "count": media datagrams received so far
//	T restarted            after "restart": the new creds and all local candidates were printed before it
//	T error TEXT
//
// Input lines (standard input):
//
//	creds UFRAG PWD        remote credentials
//	cand a=candidate:...   one remote candidate
//	done                   the peer's gathering is done
//	send TEXT              send TEXT to the peer
//	count                  print the count of media datagrams received
//	regather               Regather (after a local address change): new candidates
//	                       are printed as cand lines, then "gathered" again
//	relayerrors            print RelayErrors, one relayerr line each, then "relayerrors N"
//	restart                ICE restart of the stream (RestartStream), then creds,
//	                       cand lines and "restarted" are printed
//
// A received "ping X" is answered with "echo X". With --media D, once the
// component is first READY, the agent sends "m SEQ" every D until it exits,
// whatever the state (a failed Send is not reported), and reports the gaps
// in what it receives, so that a test measures how long media was
// interrupted. End of input closes the agent and exits.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gonice/gonice/nice"
)

var (
	outMu sync.Mutex
	start time.Time
)

func emit(format string, args ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Printf("%d %s\n", time.Since(start).Milliseconds(), fmt.Sprintf(format, args...))
}

func main() {
	stunAddr := flag.String("stun", "", "STUN server host:port")
	turnAddr := flag.String("turn", "", "TURN server host:port")
	turnTransport := flag.String("turn-transport", "udp", "TURN transport: udp or tcp")
	iceTCP := flag.Bool("ice-tcp", false, "ICE-TCP candidates too (Config.ICETCP)")
	noUDP := flag.Bool("no-udp", false, "no UDP candidates (Config.DisableUDP)")
	tcpSO := flag.Bool("tcp-so", false, "simultaneous-open TCP candidates (Config.TCPSimultaneousOpen)")
	turnUser := flag.String("turn-user", "", "TURN user")
	turnPass := flag.String("turn-pass", "", "TURN password")
	controlling := flag.Bool("controlling", false, "controlling role")
	forceRelay := flag.Bool("force-relay", false, "relayed candidates only")
	gatherTimeout := flag.Duration("gather-timeout", 0, "Config.GatheringTimeout (0: default)")
	rto := flag.Duration("stun-rto", 0, "Config.STUNInitialTimeout (0: default)")
	retrans := flag.Int("stun-retrans", 0, "Config.STUNMaxRetransmissions (0: default)")
	nomDelay := flag.Duration("nomination-delay", 0, "Config.NominationDelay (0: default)")
	debug := flag.Bool("debug", false, "the agent's debug log on standard error")
	consentInterval := flag.Duration("consent-interval", 0, "Config.ConsentInterval (0: default)")
	consentTimeout := flag.Duration("consent-timeout", 0, "Config.ConsentTimeout (0: default)")
	media := flag.Duration("media", 0, "send a media datagram this often once READY (0: none)")
	gapMin := flag.Duration("gap", 150*time.Millisecond, "report media gaps longer than this")
	flag.Parse()

	var logger *slog.Logger
	if *debug {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	start = time.Now()
	agent, err := nice.NewAgent(nice.Config{
		Controlling: *controlling,
		STUNServer:  *stunAddr,
		ForceRelay:  *forceRelay,
		ICETCP:      *iceTCP,
		DisableUDP:  *noUDP,

		TCPSimultaneousOpen: *tcpSO,
		GatheringTimeout:    *gatherTimeout,
		Logger:              logger,

		STUNInitialTimeout:     *rto,
		STUNMaxRetransmissions: *retrans,
		NominationDelay:        *nomDelay,
		ConsentInterval:        *consentInterval,
		ConsentTimeout:         *consentTimeout,
	})
	if err != nil {
		emit("error NewAgent: %v", err)
		os.Exit(1)
	}
	defer agent.Close()
	sid, err := agent.AddStream(1)
	if err != nil {
		emit("error AddStream: %v", err)
		os.Exit(1)
	}
	if *turnAddr != "" {
		rt := nice.RelayTypeTURNUDP
		switch *turnTransport {
		case "udp":
		case "tcp":
			rt = nice.RelayTypeTURNTCP
		default:
			emit("error --turn-transport %q: want udp or tcp", *turnTransport)
			os.Exit(2)
		}
		if err := agent.SetRelayInfo(sid, 1, *turnAddr, *turnUser, *turnPass, rt); err != nil {
			emit("error SetRelayInfo: %v", err)
			os.Exit(1)
		}
	}
	agent.OnNewCandidate(func(c nice.Candidate) {
		emit("cand %s", agent.GenerateLocalCandidateSDP(c))
	})
	agent.OnCandidateGatheringDone(func(int) {
		if errs, _ := agent.RelayErrors(sid); len(errs) > 0 {
			for _, e := range errs {
				emit("relayerr %v", e)
			}
		}
		emit("gathered")
	})
	var mediaOnce sync.Once
	agent.OnComponentStateChanged(func(_, _ int, s nice.ComponentState) {
		emit("state %s", s)
		if s == nice.ComponentStateReady && *media > 0 {
			mediaOnce.Do(func() { go sendMedia(agent, sid, *media) })
		}
	})
	agent.OnNewSelectedPair(func(_, _ int, l, r nice.Candidate) {
		emit("selected %s %s %s %s %s %s", l.Type, r.Type, l.Addr, r.Addr, l.Transport, r.Transport)
	})
	var (
		mediaMu   sync.Mutex // the receive function may run on several sockets' readers
		lastMedia time.Time
		received  int
	)
	if err := agent.AttachRecv(sid, 1, func(_, _ int, p []byte) {
		if seq, ok := strings.CutPrefix(string(p), "m "); ok {
			mediaMu.Lock()
			defer mediaMu.Unlock()
			now := time.Now()
			received++
			if lastMedia.IsZero() {
				emit("media %s", seq)
			} else if d := now.Sub(lastMedia); d > *gapMin {
				emit("gap %d %s", d.Milliseconds(), seq)
			}
			lastMedia = now
			return
		}
		msg := string(p)
		emit("recv %s", msg)
		if rest, ok := strings.CutPrefix(msg, "ping "); ok {
			_, _ = agent.Send(sid, 1, []byte("echo "+rest))
		}
	}); err != nil {
		emit("error AttachRecv: %v", err)
		os.Exit(1)
	}
	ufrag, pwd, err := agent.LocalCredentials(sid)
	if err != nil {
		emit("error LocalCredentials: %v", err)
		os.Exit(1)
	}
	emit("creds %s %s", ufrag, pwd)
	if err := agent.GatherCandidates(sid); err != nil {
		emit("error GatherCandidates: %v", err)
		os.Exit(1)
	}

	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(sc.Text(), " ")
		switch cmd {
		case "creds":
			u, p, _ := strings.Cut(arg, " ")
			if err := agent.SetRemoteCredentials(sid, u, p); err != nil {
				emit("error SetRemoteCredentials: %v", err)
			}
		case "cand":
			c, err := agent.ParseRemoteCandidateSDP(sid, arg)
			if err != nil {
				emit("error ParseRemoteCandidateSDP: %v", err)
				continue
			}
			c.ComponentID = 1
			if _, err := agent.SetRemoteCandidates(sid, 1, []nice.Candidate{c}); err != nil {
				emit("error SetRemoteCandidates: %v", err)
			}
		case "done":
			if err := agent.PeerCandidateGatheringDone(sid); err != nil {
				emit("error PeerCandidateGatheringDone: %v", err)
			}
		case "send":
			if _, err := agent.Send(sid, 1, []byte(arg)); err != nil {
				emit("error Send: %v", err)
			}
		case "regather":
			if err := agent.Regather(sid); err != nil {
				emit("error Regather: %v", err)
			}
		case "relayerrors":
			errs, err := agent.RelayErrors(sid)
			if err != nil {
				emit("error RelayErrors: %v", err)
				continue
			}
			for _, e := range errs {
				emit("relayerr %v", e)
			}
			emit("relayerrors %d", len(errs))
		case "count":
			mediaMu.Lock()
			n := received
			mediaMu.Unlock()
			emit("count %d", n)
		case "restart":
			if err := agent.RestartStream(sid); err != nil {
				emit("error RestartStream: %v", err)
				continue
			}
			u, p, err := agent.LocalCredentials(sid)
			if err != nil {
				emit("error LocalCredentials: %v", err)
				continue
			}
			emit("creds %s %s", u, p)
			cands, err := agent.LocalCandidates(sid, 1)
			if err != nil {
				emit("error LocalCandidates: %v", err)
				continue
			}
			for _, c := range cands {
				emit("cand %s", agent.GenerateLocalCandidateSDP(c))
			}
			emit("restarted")
		default:
			emit("error unknown command %q", cmd)
		}
	}
}

// sendMedia sends "m SEQ" every d for the life of the process.
func sendMedia(agent *nice.Agent, sid int, d time.Duration) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for seq := 1; ; seq++ {
		<-tick.C
		_, _ = agent.Send(sid, 1, []byte(fmt.Sprintf("m %d", seq)))
	}
}
