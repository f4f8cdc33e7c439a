// SPDX-License-Identifier: MIT

package nice

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pion/stun"
)

// Agent is an ICE agent (RFC 8445), the Go twin of libnice's NiceAgent.
//
// Every method is safe for concurrent use, also from inside a signal
// handler. Signals are delivered in order, one at a time, on a goroutine of
// the agent (the dispatcher, which runs while signals are queued), never
// while the agent holds a lock.
type Agent struct {
	// Immutable after NewAgent.
	cfg Config
	log *slog.Logger
	dbg LogCategory // the debug events logged (debuglog.go)
	net Net

	// The loop's queue (loop.go): what public methods, readers and the
	// timer hand to the loop, which runs only while there is work.
	work     workQueue
	loopDone chan struct{} // closed when the loop has shut down
	workers  workers       // the agent's goroutines (goroutines.go)
	mdns     mdnsState     // mDNS resolution of remote candidates (mdns.go); the loop's

	events   eventQueue
	handlers handlers

	// comps is the data path's view of the components, in stream order,
	// replaced (copy on write) by the loop when streams come and go: a few
	// per agent, found by a search in order (lookup), which is as fast as
	// a map's and a fraction of its memory.
	comps atomic.Pointer[[]*component]

	// Owned by the loop.
	timer          *time.Timer // nil: the agent is in sharedTimers (timers.go)
	timerAt        time.Time
	tslot          timerSlot // the place in sharedTimers, guarded by its mutex
	streams        []*stream // in creation order
	nextStreamID   int
	forceRelay     atomic.Bool // Config.ForceRelay, changed by SetForceRelay; read by the readers
	controlling    bool        // the current role (role conflicts change it)
	role           bool        // the configured role, taken again on restart (SetControlling)
	tieBreaker     uint64
	localAddrs     []netip.Addr
	foundations    []foundation // a handful per agent: a slice is smaller than a map
	nextFoundation int
	txs            txTable
	pacer          pacer
	stunServer     netip.AddrPort
	nextCandID     uint32        // the last candidate id handed out (stats ids, stats.go)
	msg            *stun.Message // scratch for decoding, while the loop runs (borrowScratch)
	out            *stun.Message // scratch for encoding, likewise
}

// foundation is a foundation the agent has handed out.
type foundation struct {
	key foundationKey
	id  string
}

// foundationKey groups candidates that share a foundation (RFC 8445 §5.1.1.3).
type foundationKey struct {
	typ    CandidateType
	base   netip.Addr
	server netip.AddrPort
	relay  RelayType // relayed candidates: the transport to the server
	// transport: libnice gives UDP, TCP-active and TCP-passive candidates
	// of one address foundations of their own.
	transport Transport
}

// NewAgent creates an agent. The zero Config is a sound agent (see Config).
// The agent runs until Close.
func NewAgent(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if cfg.Nomination != NominationRegular && cfg.Nomination != NominationAggressive {
		return nil, fmt.Errorf("%w: nomination mode %d", ErrInvalidArgument, cfg.Nomination)
	}
	for i, m := range cfg.Muxes {
		if m == nil {
			return nil, fmt.Errorf("%w: Muxes[%d] is nil", ErrInvalidArgument, i)
		}
		if slices.Contains(cfg.Muxes[:i], m) {
			return nil, fmt.Errorf("%w: Muxes[%d] is listed twice", ErrInvalidArgument, i)
		}
	}
	var stunServer netip.AddrPort
	if cfg.STUNServer != "" {
		ap, err := resolveServer(cfg.STUNServer, DefaultSTUNPort)
		if err != nil {
			return nil, fmt.Errorf("%w: STUN server %q: %v", ErrInvalidArgument, cfg.STUNServer, err)
		}
		stunServer = ap
	}
	a := newAgent(cfg, stunServer)
	return a, nil
}

// newAgent builds an agent's state without starting its goroutines.
func newAgent(cfg Config, stunServer netip.AddrPort) *Agent {
	log, dbg := setupLogging(cfg)
	cfg.Logger = log
	a := &Agent{
		cfg:         cfg,
		log:         log,
		dbg:         dbg,
		net:         cfg.Net,
		loopDone:    make(chan struct{}),
		controlling: cfg.Controlling,
		role:        cfg.Controlling,
		stunServer:  stunServer,
	}
	var tb [8]byte
	_, _ = rand.Read(tb[:])
	a.tieBreaker = binary.BigEndian.Uint64(tb[:])
	a.workers.init()
	a.forceRelay.Store(cfg.ForceRelay)
	a.comps.Store(new([]*component))
	a.tslot.index = -1
	if _, ok := cfg.Net.(osNet); !ok {
		a.timer = time.AfterFunc(time.Hour, a.fireTimer) // timers.go says why
		a.timer.Stop()
	}
	return a
}

// resolveServer turns "host[:port]" into an address. Host names are looked
// up with the system resolver (a bounded wait).
func resolveServer(s string, defPort uint16) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil {
		return netip.AddrPortFrom(ip, defPort), nil
	}
	host, portStr, err := net.SplitHostPort(s)
	if err != nil {
		host, portStr = s, strconv.Itoa(int(defPort))
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, fmt.Errorf("bad port %q", portStr)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return netip.AddrPortFrom(ip, uint16(port)), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	for _, ip := range ips {
		if ip.Is4() || ip.Is4In6() {
			return netip.AddrPortFrom(ip.Unmap(), uint16(port)), nil
		}
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("no address for %q", host)
	}
	return netip.AddrPortFrom(ips[0], uint16(port)), nil
}

// Close stops the agent: it releases its TURN allocations (waiting at
// most Config.TURNReleaseTimeout for the servers' answers, as libnice's
// nice_agent_close_async), closes every socket and returns when every
// goroutine of the agent has exited, except one that is running a signal
// handler or a receive function at that moment (Close may be called from
// one): such a goroutine exits as soon as the function returns, and touches
// nothing of the agent after. Done tells when it has. (Called from a
// receive function of a socket that carries TURN allocations, Close waits
// the full TURNReleaseTimeout: the servers' answers would arrive on that
// very goroutine.) Signals queued before Close are still delivered. Close is
// idempotent; every call waits as the first does.
func (a *Agent) Close() error {
	if a.workers.closing.CompareAndSwap(false, true) {
		a.requestShutdown()
	}
	<-a.loopDone
	// The loop has ended, so no signal is queued any more: the dispatcher
	// (if one runs) delivers what is left and exits.
	a.workers.wait()
	a.stopTimer()
	a.closeMDNS()
	return nil
}

// Done returns a channel that is closed once Close has been called and every
// goroutine of the agent has exited, including those that were running a
// signal handler or receive function when Close returned. Waiting on it from
// such a function never ends.
func (a *Agent) Done() <-chan struct{} {
	return a.workers.done
}

// shutdown closes everything the loop owns. Called on the loop.
func (a *Agent) shutdown() {
	for _, s := range a.streams {
		for _, c := range s.comps {
			a.closeComponent(c)
		}
	}
	a.streams = nil
	a.publishComponents()
	a.stopMDNS()
	a.txs = txTable{}
	a.flushEvents()
}

// stream returns the stream with this id. Called on the loop.
func (a *Agent) stream(id int) (*stream, error) {
	for _, s := range a.streams {
		if s.id == id {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%w: %d", ErrInvalidStream, id)
}

// component returns the component with these ids. Called on the loop.
func (a *Agent) component(streamID, componentID int) (*component, error) {
	s, err := a.stream(streamID)
	if err != nil {
		return nil, err
	}
	if componentID < 1 || componentID > len(s.comps) {
		return nil, fmt.Errorf("%w: %d in stream %d", ErrInvalidComponent, componentID, streamID)
	}
	return s.comps[componentID-1], nil
}

// publishComponents refreshes the data path's registry. Called on the loop.
func (a *Agent) publishComponents() {
	var cs []*component
	for _, s := range a.streams {
		cs = append(cs, s.comps...)
	}
	a.comps.Store(&cs)
}

// lookup finds a component for the data path, without the loop.
func (a *Agent) lookup(streamID, componentID int) (*component, error) {
	stream := false
	for _, c := range *a.comps.Load() {
		if c.s.id == streamID {
			if c.id == componentID {
				return c, nil
			}
			stream = true
		}
	}
	if a.workers.closing.Load() {
		return nil, ErrClosed
	}
	if stream {
		return nil, ErrInvalidComponent
	}
	return nil, ErrInvalidStream
}

// AddLocalAddress restricts host candidates to the added addresses (as
// nice_agent_add_local_address). If it is never called, every usable
// interface address is used (loopback and link-local excluded); loopback
// addresses may be added explicitly.
func (a *Agent) AddLocalAddress(addr netip.Addr) error {
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsMulticast() {
		return fmt.Errorf("%w: local address %v", ErrInvalidArgument, addr)
	}
	addr = addr.Unmap().WithZone("")
	return a.do(func(time.Time) error {
		if slices.Contains(a.localAddrs, addr) {
			return nil
		}
		if len(a.localAddrs) >= 64 {
			return fmt.Errorf("%w: more than 64 local addresses", ErrInvalidArgument)
		}
		a.localAddrs = append(a.localAddrs, addr)
		return nil
	})
}

// AddStream adds a stream of nComponents components (1..256) and returns its
// id. Stream ids start at 1 and are never reused.
func (a *Agent) AddStream(nComponents int) (int, error) {
	if nComponents < 1 || nComponents > 256 {
		return 0, fmt.Errorf("%w: %d components", ErrInvalidArgument, nComponents)
	}
	var id int
	err := a.do(func(time.Time) error {
		a.nextStreamID++
		s := &stream{id: a.nextStreamID, ufrag: randomICEString(4), pwd: randomICEString(22)}
		if a.debugOn(LogState) {
			s.checks.trace = func(p *pair, from, to pairState) { a.logPair("pair.state", p, "from", from, "to", to) }
		}
		for i := 1; i <= nComponents; i++ {
			s.comps = append(s.comps, newComponent(s, i))
		}
		a.streams = append(a.streams, s)
		a.publishComponents()
		id = s.id
		return nil
	})
	return id, err
}

// RemoveStream removes a stream, closes its sockets and signals
// streams-removed. Its TURN allocations are released in the background
// (Close waits for that), and the sockets that carry them are closed once
// they are.
func (a *Agent) RemoveStream(streamID int) error {
	return a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		for _, c := range s.comps {
			a.closeComponent(c)
		}
		a.txs.removeFunc(func(tx *transaction) bool { return tx.stream == s })
		a.streams = slices.DeleteFunc(a.streams, func(x *stream) bool { return x == s })
		a.pacer.wake()
		a.publishComponents()
		a.events.push(event{kind: evStreamsRemoved, ids: []int{streamID}})
		return nil
	})
}

// SetStreamName sets the media name used on the stream's m= line (libnice:
// "audio", "video", "text", "application", "image" or "message"; gonice
// accepts any token). Names must be unique among streams.
func (a *Agent) SetStreamName(streamID int, name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] <= ' ' || name[i] >= 0x7f {
			return fmt.Errorf("%w: stream name %q", ErrInvalidArgument, name)
		}
	}
	return a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		for _, o := range a.streams {
			if o != s && name != "" && o.name == name {
				return fmt.Errorf("%w: stream name %q already used by stream %d", ErrInvalidArgument, name, o.id)
			}
		}
		s.name = name
		return nil
	})
}

// StreamName returns the stream's media name, "" if none was set.
func (a *Agent) StreamName(streamID int) (string, error) {
	var name string
	err := a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err == nil {
			name = s.name
		}
		return err
	})
	return name, err
}

// SetPortRange restricts the local ports of a component's host candidates
// to [min, max]. It must be called before GatherCandidates.
func (a *Agent) SetPortRange(streamID, componentID int, min, max uint16) error {
	if min > max || (min == 0) != (max == 0) {
		return fmt.Errorf("%w: port range %d-%d", ErrInvalidArgument, min, max)
	}
	return a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		if c.s.gathering {
			return ErrAlreadyGathering
		}
		c.minPort, c.maxPort = min, max
		return nil
	})
}

// SetStreamTOS sets the IP TOS byte (IPv4) or traffic class (IPv6) of the
// stream's sockets, those open and those gathering opens later, as
// nice_agent_set_stream_tos (e.g. 0xb8, DSCP EF, for voice). tos is 0..255.
// Sockets of a Net that cannot set it (nicetest) are left alone.
func (a *Agent) SetStreamTOS(streamID, tos int) error {
	if tos < 0 || tos > 255 {
		return fmt.Errorf("%w: TOS %d (want 0..255)", ErrInvalidArgument, tos)
	}
	return a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		s.tos = tos
		for _, c := range s.comps {
			for _, sk := range slices.Concat(c.socks, c.tcp) {
				if err := applyTOS(sk.conn, tos); err != nil {
					return fmt.Errorf("nice: setting TOS on %v: %w", sk.local, err)
				}
			}
		}
		return nil
	})
}

// applyTOS sets tos on conn if it supports it.
func applyTOS(conn PacketConn, tos int) error {
	if ts, ok := conn.(tosSetter); ok {
		return ts.SetTOS(tos)
	}
	return nil
}

// LocalCredentials returns the stream's local ufrag and password.
func (a *Agent) LocalCredentials(streamID int) (ufrag, pwd string, err error) {
	err = a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err == nil {
			ufrag, pwd = s.ufrag, s.pwd
		}
		return err
	})
	return ufrag, pwd, err
}

// SetLocalCredentials replaces the stream's generated local credentials.
// RFC 8445 §5.3 requires a ufrag of at least 4 and a password of at least 22
// ice-chars; libnice accepts shorter ones, and so does gonice (at least 1).
// For an agent on a UDPMux the ufrag names the stream on the mux: it fails
// with ErrUfragInUse if another agent on one of its muxes has it.
func (a *Agent) SetLocalCredentials(streamID int, ufrag, pwd string) error {
	if !validICEString(ufrag, 1) || !validICEString(pwd, 1) {
		return fmt.Errorf("%w: credentials must be 1-256 ice-chars", ErrInvalidArgument)
	}
	return a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		if err := a.setLocalUfrag(s, ufrag); err != nil {
			return err
		}
		s.pwd, s.ufragSet = pwd, true
		return nil
	})
}

// SetRemoteCredentials sets the peer's ufrag and password for the stream.
// Checks that were waiting for them start.
func (a *Agent) SetRemoteCredentials(streamID int, ufrag, pwd string) error {
	if !validICEString(ufrag, 1) || !validICEString(pwd, 1) {
		return fmt.Errorf("%w: credentials must be 1-256 ice-chars", ErrInvalidArgument)
	}
	return a.do(func(now time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		a.setRemoteCredentials(s, ufrag, pwd, now)
		return nil
	})
}

// LocalCandidates returns copies of the component's local candidates, in a
// stable order (the order they were found); under force-relay
// (Config.ForceRelay, SetForceRelay) only the relayed ones.
func (a *Agent) LocalCandidates(streamID, componentID int) ([]Candidate, error) {
	var out []Candidate
	err := a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		for _, l := range c.local {
			if a.visible(l.c) {
				out = append(out, l.c)
			}
		}
		return nil
	})
	return out, err
}

// RemoteCandidates returns copies of the component's remote candidates,
// peer-reflexive ones included, in the order they became known.
func (a *Agent) RemoteCandidates(streamID, componentID int) ([]Candidate, error) {
	var out []Candidate
	err := a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		for _, r := range c.remote {
			out = append(out, *r)
		}
		return nil
	})
	return out, err
}

// SetRemoteCandidates adds remote candidates to a component (trickle: at any
// time, before or after checks started) and returns how many it took: added,
// updated, or already known (signalled again, or learnt as peer-reflexive
// from the peer's checks first), as libnice counts them. Candidates the agent cannot use (TCP, an address family it has no
// socket for) are kept but not paired.
func (a *Agent) SetRemoteCandidates(streamID, componentID int, cands []Candidate) (int, error) {
	for _, c := range cands {
		if err := checkRemoteCandidate(c); err != nil {
			return 0, err
		}
	}
	var n int
	err := a.do(func(now time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		n = a.addRemoteCandidates(c, cands, now)
		return nil
	})
	return n, err
}

// checkRemoteCandidate validates a candidate given by the application.
func checkRemoteCandidate(c Candidate) error {
	switch {
	case c.Hostname != "" && !validMDNSName(c.Hostname):
		return fmt.Errorf("%w: remote candidate host name %q is not an mDNS name", ErrInvalidArgument, c.Hostname)
	case c.Hostname != "" && c.Addr.Addr().IsValid():
		return fmt.Errorf("%w: remote candidate with both a host name and an address", ErrInvalidArgument)
	case c.Hostname == "" && !c.Addr.IsValid():
		return fmt.Errorf("%w: remote candidate without address", ErrInvalidArgument)
	case c.Type < CandidateTypeHost || c.Type > CandidateTypeRelayed:
		return fmt.Errorf("%w: remote candidate type %d", ErrInvalidArgument, c.Type)
	case c.Transport < TransportUDP || c.Transport > TransportTCPSO:
		return fmt.Errorf("%w: remote candidate transport %d", ErrInvalidArgument, c.Transport)
	case c.Priority == 0:
		return fmt.Errorf("%w: remote candidate priority 0", ErrInvalidArgument)
	case len(c.Foundation) > 32:
		return fmt.Errorf("%w: foundation longer than 32", ErrInvalidArgument)
	}
	return nil
}

// PeerCandidateGatheringDone tells the agent that the peer has sent all its
// candidates for the stream (RFC 8838 end-of-candidates). A component whose
// pairs have all failed then goes FAILED at once instead of waiting
// IdleTimeout for more candidates.
func (a *Agent) PeerCandidateGatheringDone(streamID int) error {
	return a.do(func(now time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		s.peerGatheringDone = true
		for _, c := range s.comps {
			a.checkFailure(c, now)
		}
		return nil
	})
}

// SelectedPair returns the pair data is sent on, once the component is
// CONNECTED or READY.
func (a *Agent) SelectedPair(streamID, componentID int) (local, remote Candidate, err error) {
	err = a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err != nil {
			return err
		}
		if c.selected == nil {
			return ErrNotReady
		}
		local, remote = c.selected.local.c, *c.selected.remote
		return nil
	})
	return local, remote, err
}

// ComponentState returns the component's state; ComponentStateFailed for
// unknown ids (as libnice).
func (a *Agent) ComponentState(streamID, componentID int) ComponentState {
	st := ComponentStateFailed
	_ = a.do(func(time.Time) error {
		c, err := a.component(streamID, componentID)
		if err == nil {
			st = c.state
		}
		return err
	})
	return st
}
