// SPDX-License-Identifier: MIT

package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
)

// Config configures a Connection. The zero Config is a trickling
// connection with DefaultCodecs on every local address.
type Config struct {
	// Agent configures the ICE agent (its Controlling is set by the
	// offer/answer: the offerer controls).
	Agent nice.Config
	// Addresses, if not empty, are the only local addresses gathered
	// (nice.Agent.AddLocalAddress).
	Addresses []netip.Addr
	// NoTrickle sends candidates in the description only: CreateOffer and
	// CreateAnswer then return after gathering.
	NoTrickle bool
	// Codecs offered and accepted; nil means DefaultCodecs.
	Codecs []Codec
	// SSRCs announces, per kind ("audio", "video"), the SSRC this side
	// sends with (a=ssrc with a cname, and a=msid), so that a browser
	// routes it to a track without relying on unsignaled-SSRC rules.
	SSRCs map[string]uint32
	// NoRTCPMux offers RTCP on a second component with a DTLS handshake of
	// its own instead of rtcp-mux (for peers that want it so; browsers
	// multiplex).
	NoRTCPMux bool
	// DTLSServer answers an actpass offer with passive (this side is the
	// DTLS server) instead of active.
	DTLSServer bool

	// Certificate, Profiles and HandshakeTimeout are dtlssrtp.Config's.
	Certificate      *dtlssrtp.Certificate
	Profiles         []dtlssrtp.Profile
	HandshakeTimeout time.Duration

	// OnEvent receives the events (see the package doc).
	OnEvent func(ev Event, message string)
	// OnRTP, OnRTCP and OnData are dtlssrtp.Config's.
	OnRTP, OnRTCP, OnData func(p []byte)
}

// ErrState is the error of a call the connection's state does not allow
// (a second offer, an answer without an offer, a candidate before the
// remote description, a second remote description, a closed connection).
var ErrState = errors.New("webrtc: not allowed in the connection's state")

// Connection is one WebRTC peer connection: an agent with one bundled
// stream and its DTLS-SRTP transport.
type Connection struct {
	cfg   Config
	agent *nice.Agent
	ev    emitter
	cert  *dtlssrtp.Certificate
	hs    sync.WaitGroup // the DTLS goroutine

	mu         sync.Mutex
	sid        int // 0: no stream yet
	ncomp      int
	localSetup dtlssrtp.Setup
	localDesc  bool
	remote     *description
	kinds      map[uint8]string // payload type -> kind, of the negotiated codecs
	offer      *description     // the remote offer being answered
	tr         *dtlssrtp.Transport
	dtlsOn     bool
	closed     bool
}

// New makes a connection and emits CONN_INITIAL.
func New(cfg Config) (*Connection, error) {
	if cfg.Codecs == nil {
		cfg.Codecs = DefaultCodecs
	}
	cert := cfg.Certificate
	if cert == nil {
		var err error
		if cert, err = dtlssrtp.GenerateCertificate(); err != nil {
			return nil, err
		}
	}
	a, err := nice.NewAgent(cfg.Agent)
	if err != nil {
		return nil, err
	}
	for _, addr := range cfg.Addresses {
		if err := a.AddLocalAddress(addr); err != nil {
			a.Close()
			return nil, err
		}
	}
	c := &Connection{cfg: cfg, agent: a, cert: cert}
	c.ev.fn = cfg.OnEvent
	a.OnNewCandidate(c.onCandidate)
	a.OnCandidateGatheringDone(c.onGathered)
	a.OnComponentStateChanged(c.onState)
	c.ev.emit(ConnInitial, "")
	return c, nil
}

// Agent is the connection's ICE agent.
func (c *Connection) Agent() *nice.Agent { return c.agent }

// SelectedPair returns the candidates of the pair the connection's media
// goes on (the bundle's first component), as nice.Agent.SelectedPair.
func (c *Connection) SelectedPair() (local, remote nice.Candidate, err error) {
	c.mu.Lock()
	sid := c.sid
	c.mu.Unlock()
	if sid == 0 {
		return nice.Candidate{}, nice.Candidate{}, fmt.Errorf("%w: no offer or answer yet", ErrState)
	}
	return c.agent.SelectedPair(sid, 1)
}

// Fingerprint is the local certificate's.
func (c *Connection) Fingerprint() dtlssrtp.Fingerprint { return c.cert.Fingerprint() }

// CreateOffer starts gathering and returns an offer (audio and video, as
// Config.Codecs have them, bundled, rtcp-mux, a=setup:actpass), also
// emitted as CONN_SDP. Without trickle it returns after gathering, with
// the candidates.
func (c *Connection) CreateOffer() (string, error) {
	c.mu.Lock()
	if c.sid != 0 || c.closed {
		c.mu.Unlock()
		return "", fmt.Errorf("%w: CreateOffer on a connection that has a stream or is closed", ErrState)
	}
	c.localSetup = dtlssrtp.SetupActpass
	c.mu.Unlock()
	if err := c.agent.SetControlling(true); err != nil {
		return "", err
	}
	ncomp := 1
	if c.cfg.NoRTCPMux {
		ncomp = 2
	}
	if err := c.addStream(ncomp); err != nil {
		return "", err
	}
	kinds := map[uint8]string{}
	for _, cd := range c.cfg.Codecs {
		kinds[cd.PayloadType] = cd.Kind
	}
	c.mu.Lock()
	c.kinds = kinds
	c.mu.Unlock()
	return c.describe(func(l *local) (string, error) { return buildOffer(l, c.cfg.Codecs) })
}

// CreateAnswer answers the remote offer given to SetRemoteDescription and
// starts gathering (see CreateOffer). The answer's a=setup is active to
// actpass (this side is the DTLS client) and passive to active.
func (c *Connection) CreateAnswer() (string, error) {
	c.mu.Lock()
	offer := c.offer
	c.mu.Unlock()
	if offer == nil {
		return "", fmt.Errorf("%w: CreateAnswer without a remote offer", ErrState)
	}
	kinds := map[uint8]string{}
	for _, m := range offer.media {
		for _, cd := range accept(m, c.cfg.Codecs) {
			kinds[cd.PayloadType] = m.kind
		}
	}
	if len(kinds) == 0 {
		return "", fmt.Errorf("%w: no m-line of the offer has a codec we accept", ErrSDP)
	}
	c.mu.Lock()
	c.kinds = kinds
	c.mu.Unlock()
	return c.describe(func(l *local) (string, error) {
		s, _, err := buildAnswer(l, offer, c.cfg.Codecs)
		return s, err
	})
}

// describe gathers and makes the local description with build: at once
// with trickle (candidates follow as CONN_CANDIDATE), after gathering
// without.
func (c *Connection) describe(build func(*local) (string, error)) (string, error) {
	c.mu.Lock()
	sid := c.sid
	c.mu.Unlock()
	ufrag, pwd, err := c.agent.LocalCredentials(sid)
	if err != nil {
		return "", err
	}
	l := &local{ufrag: ufrag, pwd: pwd, fingerprint: c.cert.Fingerprint(), trickle: !c.cfg.NoTrickle, ssrcs: c.cfg.SSRCs}
	c.mu.Lock()
	l.setup, l.rtcpMux = c.localSetup, c.ncomp == 1
	c.mu.Unlock()
	var done chan struct{}
	if c.cfg.NoTrickle {
		done = make(chan struct{})
		c.agent.OnCandidateGatheringDone(func(int) { close(done) })
	} else {
		s, err := build(l)
		if err != nil {
			return "", err
		}
		c.setLocal()
		c.ev.emit(ConnSDP, s)
		defer c.maybeStartDTLS()
	}
	c.ev.emit(ConnStarted, "")
	if err := c.agent.GatherCandidates(sid); err != nil {
		c.fail(fmt.Errorf("gathering: %w", err))
		return "", err
	}
	if !c.cfg.NoTrickle {
		s, _ := build(l) // what was emitted; the agent does not change it
		return s, nil
	}
	select {
	case <-done:
	case <-c.agent.Done(): // closed while gathering: gathering-done never comes
		return "", fmt.Errorf("%w: closed while gathering", ErrState)
	}
	c.mu.Lock()
	ncomp := c.ncomp
	c.mu.Unlock()
	for comp := 1; comp <= ncomp; comp++ {
		cands, err := c.agent.LocalCandidates(sid, comp)
		if err != nil {
			return "", err
		}
		for _, cand := range cands {
			l.candidates = append(l.candidates, strings.TrimPrefix(c.agent.GenerateLocalCandidateSDP(cand), "a="))
		}
	}
	l.endOfCands = true
	s, err := build(l)
	if err != nil {
		return "", err
	}
	c.setLocal()
	c.ev.emit(ConnSDP, s)
	c.maybeStartDTLS()
	return s, nil
}

func (c *Connection) setLocal() {
	c.mu.Lock()
	c.localDesc = true
	c.mu.Unlock()
}

// addStream adds the connection's one stream.
func (c *Connection) addStream(ncomp int) error {
	sid, err := c.agent.AddStream(ncomp)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.sid, c.ncomp = sid, ncomp
	c.mu.Unlock()
	return nil
}

// SetRemoteDescription applies the peer's offer (before CreateAnswer) or
// answer (after CreateOffer): ICE credentials and candidates of the m-line
// that carries the bundle, fingerprints and a=setup, and emits
// CONN_SDP_PROCESSED. The agent keeps candidates it cannot use (TCP ones
// without Config.Agent.ICETCP) unpaired.
func (c *Connection) SetRemoteDescription(s string) error {
	d, err := parseDescription(s)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed || c.remote != nil {
		c.mu.Unlock()
		return fmt.Errorf("%w: a remote description was already set, or the connection is closed", ErrState)
	}
	isOffer := c.sid == 0
	c.mu.Unlock()
	var role dtlssrtp.Role
	if isOffer {
		setup, err := dtlssrtp.Answer(d.setup)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrSDP, err)
		}
		if d.setup == dtlssrtp.SetupActpass && c.cfg.DTLSServer {
			setup = dtlssrtp.SetupPassive
		}
		if role, err = dtlssrtp.RoleOf(setup, d.setup); err != nil {
			return err
		}
		if err := c.agent.SetControlling(false); err != nil {
			return err
		}
		ncomp := 2
		if d.rtcpMux {
			ncomp = 1
		}
		if err := c.addStream(ncomp); err != nil {
			return err
		}
		c.mu.Lock()
		c.localSetup, c.offer = setup, d
		c.mu.Unlock()
	} else {
		if role, err = dtlssrtp.RoleOf(dtlssrtp.SetupActpass, d.setup); err != nil {
			return fmt.Errorf("%w: %v", ErrSDP, err)
		}
		if !d.rtcpMux && !c.cfg.NoRTCPMux {
			return fmt.Errorf("%w: the answer refuses rtcp-mux, which the offer required", ErrSDP)
		}
	}
	c.mu.Lock()
	sid, ncomp := c.sid, c.ncomp
	c.mu.Unlock()
	rtcpComp := 0
	if ncomp == 2 {
		rtcpComp = 2
	}
	tr, err := dtlssrtp.New(dtlssrtp.Config{
		Agent: c.agent, StreamID: sid, RTCPComponent: rtcpComp, Role: role,
		Certificate: c.cert, RemoteFingerprints: d.fingerprints, Profiles: c.cfg.Profiles,
		HandshakeTimeout: c.cfg.HandshakeTimeout,
		OnRTP:            c.cfg.OnRTP, OnRTCP: c.cfg.OnRTCP, OnData: c.cfg.OnData,
		OnClose: func(err error) {
			if err == nil {
				err = errors.New("the peer closed DTLS")
			}
			c.fail(err)
		},
	})
	if err != nil {
		return err
	}
	if err := c.agent.SetRemoteCredentials(sid, d.ufrag, d.pwd); err != nil {
		tr.Close()
		return err
	}
	c.mu.Lock()
	c.remote = d
	c.mu.Unlock()
	for _, line := range d.candidates {
		_ = c.addCandidate(sid, line) // unusable candidates are skipped
	}
	if d.endOfCands {
		_ = c.peerGatheringDone(sid)
	}
	// CONN_SDP_PROCESSED goes before the transport is published: DTLS,
	// and so CONN_READY, cannot start before it. ICE may connect while
	// the candidates are added (the peer's checks are answered once the
	// credentials are set), and with the transport already published a
	// handshake could finish before this event was queued.
	c.ev.emit(ConnSDPProcessed, "")
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.tr = tr
	}
	c.mu.Unlock()
	if closed {
		tr.Close() // Close came meanwhile and found no transport to close
		return fmt.Errorf("%w: the connection was closed", ErrState)
	}
	c.maybeStartDTLS()
	return nil
}

// AddRemoteCandidate adds a trickled remote candidate ("candidate:…", with
// or without "a="); an empty one or "end-of-candidates" ends them.
func (c *Connection) AddRemoteCandidate(candidate string) error {
	c.mu.Lock()
	sid, ok := c.sid, c.remote != nil
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: remote candidate before the remote description", ErrState)
	}
	line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(candidate), "a="))
	if line == "" || line == "end-of-candidates" {
		return c.peerGatheringDone(sid)
	}
	return c.addCandidate(sid, line)
}

// peerGatheringDone tells the agent that the peer has no more candidates
// (the agent itself waits for its own gathering before it fails a
// component, RFC 8838 §8).
func (c *Connection) peerGatheringDone(sid int) error {
	return c.agent.PeerCandidateGatheringDone(sid)
}

func (c *Connection) addCandidate(sid int, line string) error {
	cand, err := c.agent.ParseRemoteCandidateSDP(sid, "a="+line)
	if err != nil {
		return err
	}
	_, err = c.agent.SetRemoteCandidates(sid, cand.ComponentID, []nice.Candidate{cand})
	return err
}

// candidateMessage is erizo's CONN_CANDIDATE message.
type candidateMessage struct {
	SDPMid        string `json:"sdpMid"`
	SDPMLineIndex int    `json:"sdpMLineIndex"`
	Candidate     string `json:"candidate"`
}

func (c *Connection) onCandidate(cand nice.Candidate) {
	if c.cfg.NoTrickle {
		return
	}
	c.emitCandidate(c.agent.GenerateLocalCandidateSDP(cand))
}

func (c *Connection) emitCandidate(line string) {
	b, _ := json.Marshal(candidateMessage{SDPMid: "0", Candidate: line})
	c.ev.emit(ConnCandidate, string(b))
}

func (c *Connection) onGathered(sid int) {
	if c.cfg.NoTrickle {
		c.ev.emit(ConnGathered, "")
		return
	}
	c.emitCandidate("") // end of candidates
}

func (c *Connection) onState(sid, _ int, s nice.ComponentState) {
	switch s {
	case nice.ComponentStateFailed:
		c.fail(errors.New("ICE failed"))
	case nice.ComponentStateConnected, nice.ComponentStateReady:
		c.maybeStartDTLS()
	}
}

// maybeStartDTLS starts the DTLS goroutine once every component is
// connected and both descriptions are known.
func (c *Connection) maybeStartDTLS() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dtlsOn || c.closed || c.tr == nil || !c.localDesc {
		return
	}
	for comp := 1; comp <= c.ncomp; comp++ {
		s := c.agent.ComponentState(c.sid, comp)
		if s != nice.ComponentStateConnected && s != nice.ComponentStateReady {
			return
		}
	}
	c.dtlsOn = true
	tr := c.tr
	c.hs.Add(1)
	go c.runDTLS(tr) // the DTLS goroutine: the handshake; ends when it does (HandshakeTimeout at most, or Close)
}

func (c *Connection) runDTLS(tr *dtlssrtp.Transport) {
	defer c.hs.Done()
	if err := tr.Handshake(context.Background()); err != nil {
		c.fail(err)
		return
	}
	c.ev.emit(ConnReady, "")
}

// fail emits CONN_FAILED (once; sticky) and closes the transport, so that
// no media is delivered.
func (c *Connection) fail(err error) {
	c.mu.Lock()
	tr := c.tr
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return
	}
	if tr != nil {
		tr.Close()
	}
	c.ev.emit(ConnFailed, err.Error())
}

// Kind is the kind ("audio", "video") of a negotiated payload type, ""
// if none.
func (c *Connection) Kind(pt uint8) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.kinds[pt]
}

// WriteRTP protects and sends an RTP packet (dtlssrtp.Transport.WriteRTP).
func (c *Connection) WriteRTP(p []byte) (int, error) {
	tr := c.transport()
	if tr == nil {
		return 0, dtlssrtp.ErrNotReady
	}
	return tr.WriteRTP(p)
}

// WriteRTCP protects and sends an RTCP packet.
func (c *Connection) WriteRTCP(p []byte) (int, error) {
	tr := c.transport()
	if tr == nil {
		return 0, dtlssrtp.ErrNotReady
	}
	return tr.WriteRTCP(p)
}

// Transport is the DTLS-SRTP transport, nil before the remote description.
func (c *Connection) Transport() *dtlssrtp.Transport { return c.transport() }

func (c *Connection) transport() *dtlssrtp.Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tr
}

// Close closes the transport and the agent and emits CONN_FINISHED. It
// may be called from an event handler; Wait then waits for the rest.
func (c *Connection) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	tr := c.tr
	c.mu.Unlock()
	if tr != nil {
		tr.Close()
	}
	err := c.agent.Close()
	c.ev.emit(ConnFinished, "")
	return err
}

// Wait returns when the connection's goroutines have ended, after Close.
// Not from an event handler.
func (c *Connection) Wait() {
	c.hs.Wait()
	if tr := c.transport(); tr != nil {
		tr.Done()
	}
	<-c.agent.Done()
}
