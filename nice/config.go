// SPDX-License-Identifier: MIT

package nice

import (
	"crypto/tls"
	"log/slog"
	"time"
)

// Protocol and implementation constants. Where libnice's effective default is
// sound, gonice uses it (agent-priv.h, stun/usages/timer.h).
const (
	// DefaultTa is the pacing interval between checks: libnice's 20 ms
	// (stun-pacing-timer). RFC 8445 §14.2 suggests 50 ms for non-RTP traffic.
	DefaultTa = 20 * time.Millisecond
	// DefaultMaxChecks bounds each checklist (max-connectivity-checks).
	DefaultMaxChecks = 100
	// DefaultSTUNInitialTimeout is the first retransmission timeout (RTO) of a
	// STUN transaction (stun-initial-timeout).
	DefaultSTUNInitialTimeout = 500 * time.Millisecond
	// DefaultSTUNMaxRetransmissions bounds retransmissions of a STUN
	// transaction (stun-max-retransmissions).
	DefaultSTUNMaxRetransmissions = 3
	// DefaultIdleTimeout is how long a component whose pairs all failed waits
	// for more remote candidates before it goes FAILED (idle-timeout).
	DefaultIdleTimeout = 5 * time.Second
	// DefaultKeepaliveInterval is Tr, the interval of keepalives on the
	// selected pair (RFC 8445 §11: at least 15 s; libnice 25 s).
	DefaultKeepaliveInterval = 25 * time.Second
	// DefaultConsentInterval is the mean interval of consent checks
	// (RFC 7675 §5.1: 5 s, randomized to 0.8–1.2 times).
	DefaultConsentInterval = 5 * time.Second
	// DefaultConsentTimeout is how long without a consent response before
	// consent is lost (RFC 7675 §5.1: 30 s).
	DefaultConsentTimeout = 30 * time.Second
	// DefaultGatheringTimeout bounds server-reflexive discovery.
	DefaultGatheringTimeout = 3 * time.Second
	// DefaultNominationDelay is how long regular nomination waits for a
	// higher-priority pair to succeed before nominating the best valid pair.
	DefaultNominationDelay = 200 * time.Millisecond
	// DefaultSTUNPort is the STUN server port when none is given.
	DefaultSTUNPort = 3478
)

// Config configures an Agent. The zero value is a sound agent: every field's
// zero value selects the default given in its comment.
type Config struct {
	// Controlling makes the agent start in the controlling role
	// (controlling-mode). Roles may still change through role-conflict
	// resolution (RFC 8445 §7.3.1.1). libnice's effective default is TRUE;
	// the zero value here is controlled, as the offerer/answerer roles are
	// the application's to choose.
	Controlling bool
	// Nomination selects regular (default, RFC 8445) or aggressive nomination.
	Nomination NominationMode
	// STUNServer is "host:port" or "ip" of a STUN server for server-reflexive
	// candidates (stun-server, stun-server-port; port 3478 when omitted).
	// Empty: no server-reflexive candidates.
	STUNServer string
	// Ta is the pacing interval between checks (default DefaultTa).
	Ta time.Duration
	// MaxChecks bounds the pairs of each checklist (default DefaultMaxChecks).
	MaxChecks int
	// STUNInitialTimeout is the first RTO of a STUN transaction (default 500 ms).
	STUNInitialTimeout time.Duration
	// STUNMaxRetransmissions bounds retransmissions (default 3).
	STUNMaxRetransmissions int
	// IdleTimeout: see DefaultIdleTimeout.
	IdleTimeout time.Duration
	// KeepaliveInterval is Tr (default 25 s).
	KeepaliveInterval time.Duration
	// KeepaliveConncheck sends keepalives as Binding requests rather than
	// indications (keepalive-conncheck). Consent freshness implies it.
	KeepaliveConncheck bool
	// DisableConsentFreshness turns RFC 7675 consent freshness off; then
	// keepalives are indications (unless KeepaliveConncheck) and a dead peer
	// is never detected. libnice's consent-freshness defaults to FALSE;
	// gonice checks consent by default, as WebRTC requires.
	DisableConsentFreshness bool
	// ConsentInterval and ConsentTimeout: see DefaultConsentInterval and
	// DefaultConsentTimeout. ConsentTimeout is how long a dead path takes
	// to be noticed: after it, the component moves to another pair with
	// consent or goes FAILED (the signal that an ICE restart is needed).
	// A server that wants that sooner than RFC 7675's 30 s sets it shorter
	// (C: gonice_agent_set_consent_timeout); the NAT lab's fault tests use
	// 500 ms and 3 s.
	ConsentInterval time.Duration
	ConsentTimeout  time.Duration
	// GatheringTimeout bounds server-reflexive discovery and TURN
	// allocations (default 3 s): candidate-gathering-done is signalled at the
	// latest this long after GatherCandidates, and allocations still in
	// progress are given up (RelayErrors reports them).
	GatheringTimeout time.Duration
	// NominationDelay: see DefaultNominationDelay.
	NominationDelay time.Duration
	// DisableUDP turns off UDP candidates (ice-udp=FALSE). With no other
	// transport, gathering then finds nothing.
	DisableUDP bool
	// ICETCP turns on ICE-TCP (RFC 6544; libnice's ice-tcp): per host
	// address, a TCP candidate with tcptype passive (a listening socket)
	// and one with tcptype active (port 9 in SDP; an ICE-lite agent has
	// none), with libnice's priorities, below UDP's. A local active
	// candidate connects to the peer's passive ones; a peer's active
	// candidate connects to ours, and its check makes a peer-reflexive
	// candidate. Checks, consent and data go over the connection in RFC
	// 4571 frames; a send never blocks (a slow peer's backlog is bounded,
	// beyond it datagrams are dropped). Components on a UDPMux get TCP
	// candidates too, on the host's addresses. Needs a Net that listens
	// and dials (TCPListener, TCPDialer; the operating system's does).
	// Off by default (libnice's default is on).
	ICETCP bool
	// TCPSimultaneousOpen adds, with ICETCP, a tcptype so candidate per
	// host address (RFC 6544 §4.1): a port that listens and that checks
	// connect from, to the peer's so candidates, both agents at once, so
	// that the two connection attempts cross NATs that keep a port's
	// mapping for every destination; with STUNServer also its
	// server-reflexive candidate, from a STUN Binding over TCP to the same
	// server address. libnice, pion/ice and browsers gather none, so only
	// such peers pair with them. Needs the operating system's network on
	// Linux (the port is shared with SO_REUSEPORT). Off by default.
	TCPSimultaneousOpen bool
	// Renomination turns on ICE renomination (libnice's
	// support-renomination; draft-thatcher-ice-renomination-01, as libwebrtc
	// and pion/ice v4 do it): as controlled agent, a NOMINATION attribute
	// (0xC001) nominates its pair and the largest value wins, so the peer
	// can move the selected pair without an ICE restart; as controlling
	// agent, every nomination carries NOMINATION with a counter, checks go
	// on after the component is READY (so that other pairs stay valid), and
	// Renominate moves the selected pair. The agent's SDP then carries
	// a=ice-options:renomination (libwebrtc's signal); a peer whose SDP has
	// a=ice-options without it has declined, and is sent no NOMINATION.
	// Renomination turns aggressive nomination off (the draft's rule).
	// Off by default, as libnice's.
	Renomination bool
	// Muxes are the UDPMuxes component 1 of each stream gathers on: one
	// host candidate per mux (its Address), no socket of its own (server
	// mode: see UDPMux). Typically one per address family. Nil: the agent
	// binds its own sockets, as libnice.
	Muxes []*UDPMux
	// MulticastDNS resolves remote candidates given as mDNS names
	// ("<uuid>.local", draft-ietf-mmusic-mdns-ice-candidates, as browsers
	// hide host addresses), with pion/mdns unless MDNSResolver is set, off
	// the data path and bounded (see mdns.go). Without it such candidates
	// are ignored, as libnice does.
	MulticastDNS bool
	// MDNSResolver replaces the default mDNS resolver (tests, or an
	// application's own).
	MDNSResolver MDNSResolver
	// MDNSHostNames hides the agent's IPv4 host candidates behind a
	// generated "<uuid>.local" name, as browsers do (RFC 8828 mode 2 with
	// draft-ietf-mmusic-mdns-ice-candidates): the candidates' Hostname is
	// set, the agent's SDP prints the name instead of the address (and
	// 0.0.0.0 as the related address of its other candidates), and the
	// agent answers mDNS queries for the name with pion/mdns. One name per
	// agent, answered with the local address that routes to the querier.
	// The C API's candidates carry no name yet: there the addresses show.
	MDNSHostNames bool
	// MDNSTimeout bounds one mDNS query (default DefaultMDNSTimeout).
	MDNSTimeout time.Duration
	// Lite makes the agent an ICE-lite agent (full-mode=FALSE): host
	// candidates only, it never sends checks and is always controlled.
	Lite bool
	// ForceRelay (libnice's force-relay) makes the agent use TURN relays
	// only: only relayed local candidates are signalled, listed by
	// LocalCandidates, put in SDP and checked; no server-reflexive discovery
	// is done; packets that reach a host socket other than from a TURN
	// server are dropped. Remote candidates of every type are still used,
	// reached through the relays. Agent.SetForceRelay changes it later.
	ForceRelay bool
	// TURNTLSConfig configures TLS to TURN servers of type RelayTypeTURNTLS.
	// nil means the system's roots and, as with a config whose ServerName is
	// empty, the host name given to SetRelayInfo as the name to verify (an IP
	// address given there must then be in the certificate). Set RootCAs for
	// a private CA. It is cloned for each connection.
	TURNTLSConfig *tls.Config
	// TURNReleaseTimeout bounds how long releasing a TURN allocation (on
	// Close and RemoveStream) waits for the server to confirm the Refresh
	// with LIFETIME 0 while retransmitting it (default
	// DefaultTURNReleaseTimeout). Negative: send it once and do not wait
	// (libnice's close-forced).
	TURNReleaseTimeout time.Duration
	// Software, when set, is sent in the SOFTWARE attribute of STUN messages
	// (nice_agent_set_software).
	Software string
	// Net opens sockets; nil means the operating system's network.
	Net Net
	// Logger receives the agent's logs: warnings, and debug events of
	// LogCategories when its handler is enabled for slog.LevelDebug (every
	// event and its keys: docs/logging.md). nil: the environment variable
	// GONICE_DEBUG (DebugEnv) decides: when it is set, debug events of its
	// categories go to standard error as slog text lines; else nothing is
	// logged. Every line carries the key "agent" (a number per agent in this
	// process). Passwords and keys are never logged.
	Logger *slog.Logger
	// LogCategories selects the debug events logged (see LogCategory).
	// Zero: GONICE_DEBUG's categories when it is set, else all of them (for
	// a Logger of the application; without one, zero and GONICE_DEBUG unset
	// log nothing).
	LogCategories LogCategory
}

// withDefaults returns cfg with every zero field set to its default.
func (cfg Config) withDefaults() Config {
	if cfg.Ta <= 0 {
		cfg.Ta = DefaultTa
	}
	if cfg.MaxChecks <= 0 {
		cfg.MaxChecks = DefaultMaxChecks
	}
	if cfg.STUNInitialTimeout <= 0 {
		cfg.STUNInitialTimeout = DefaultSTUNInitialTimeout
	}
	if cfg.STUNMaxRetransmissions <= 0 {
		cfg.STUNMaxRetransmissions = DefaultSTUNMaxRetransmissions
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.KeepaliveInterval <= 0 {
		cfg.KeepaliveInterval = DefaultKeepaliveInterval
	}
	if cfg.ConsentInterval <= 0 {
		cfg.ConsentInterval = DefaultConsentInterval
	}
	if cfg.ConsentTimeout <= 0 {
		cfg.ConsentTimeout = DefaultConsentTimeout
	}
	if cfg.GatheringTimeout <= 0 {
		cfg.GatheringTimeout = DefaultGatheringTimeout
	}
	if cfg.MDNSTimeout <= 0 {
		cfg.MDNSTimeout = DefaultMDNSTimeout
	}
	if cfg.NominationDelay <= 0 {
		cfg.NominationDelay = DefaultNominationDelay
	}
	if cfg.TURNReleaseTimeout == 0 {
		cfg.TURNReleaseTimeout = DefaultTURNReleaseTimeout
	}
	if cfg.Net == nil {
		cfg.Net = osNet{}
	}
	if cfg.Lite {
		cfg.Controlling = false
	}
	return cfg
}
