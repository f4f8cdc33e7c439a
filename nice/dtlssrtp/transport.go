// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v2"
	"github.com/pion/logging"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp/internal/srtp"
)

// Defaults of Config.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultReplayWindow     = 128 // packets, as libsrtp and Janus
	DefaultFlightInterval   = time.Second
)

// Errors.
var (
	ErrNotReady = errors.New("dtlssrtp: handshake not done")
	ErrClosed   = errors.New("dtlssrtp: transport closed")
	ErrTimeout  = errors.New("dtlssrtp: DTLS handshake timed out")
)

// Config configures a Transport. Agent, StreamID, Role and
// RemoteFingerprints are required.
type Config struct {
	Agent    *nice.Agent
	StreamID int
	// Component carries DTLS, RTP and (with rtcp-mux) RTCP; 0 means 1.
	Component int
	// RTCPComponent, if not 0, carries RTCP with a DTLS handshake of its
	// own (no rtcp-mux, RFC 5764 §4.1); 0 means rtcp-mux.
	RTCPComponent int

	Role Role
	// Certificate is the local certificate; nil generates an ECDSA P-256
	// one.
	Certificate *Certificate
	// RemoteFingerprints are the peer's a=fingerprint values; its
	// certificate must match one.
	RemoteFingerprints []Fingerprint
	// Profiles in order of preference; empty means DefaultProfiles. As
	// the DTLS server the transport picks the first of these that the
	// client offers, whatever the client's order (hello.go); as the
	// client it offers them in this order and the server picks.
	Profiles []Profile

	// HandshakeTimeout bounds Handshake; 0 means DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// FlightInterval is DTLS's first retransmission time; 0 means
	// DefaultFlightInterval.
	FlightInterval time.Duration
	// ReplayWindow is the SRTP and SRTCP replay window in packets; 0
	// means DefaultReplayWindow.
	ReplayWindow uint

	// OnRTP and OnRTCP receive decrypted packets, on the agent's socket
	// reader goroutine, with a buffer valid only during the call. They must
	// not block (see nice.Agent.AttachRecv).
	OnRTP  func(p []byte)
	OnRTCP func(p []byte)
	// OnData receives DTLS application data (SCTP) as it is, on the
	// transport's DTLS reader goroutine, with a buffer valid only during
	// the call.
	OnData func(p []byte)
	// OnClose is called once, on the DTLS reader goroutine, when the peer
	// closes DTLS or it fails after the handshake (not after Close).
	OnClose func(err error)
}

// Stats counts what the receive path saw.
type Stats struct {
	DTLS, RTP, RTCP uint64 // delivered (DTLS: queued for pion)
	Other           uint64 // not DTLS, RTP or RTCP: dropped
	Early           uint64 // SRTP before keys: dropped
	Unprotect       uint64 // failed authentication or replay: dropped
	DTLSDropped     uint64 // DTLS queue full
}

// Transport is DTLS-SRTP over one component (and a second one for RTCP
// without rtcp-mux).
type Transport struct {
	cfg  Config
	cert *Certificate
	legs []*leg // [0] RTP (and RTCP with rtcp-mux); [1] RTCP without it

	st struct{ dtls, rtp, rtcp, other, early, unprotect, dtlsDropped atomic.Uint64 }

	mu      sync.Mutex
	closed  bool
	profile Profile
	readers sync.WaitGroup // the DTLS reader goroutines
	onClose sync.Once
}

// leg is one component with its DTLS connection and SRTP keys.
type leg struct {
	cid  int
	view *view
	keys atomic.Pointer[keys] // nil until the handshake is done and after Close
}

// keys are a leg's SRTP contexts. A Context is not safe for concurrent
// use: each direction has its lock and its scratch buffer.
type keys struct {
	profile Profile
	conn    *dtls.Conn

	encMu  sync.Mutex
	enc    *srtp.Context
	encBuf []byte

	decMu  sync.Mutex
	dec    *srtp.Context
	decBuf []byte
}

// bufSize is the scratch buffers' initial size: a packet of a 1500-byte
// MTU with room for the tag; a larger one grows the buffer once.
const bufSize = 2048

// New makes a transport and attaches its receive functions to its
// components (replacing any). It does not start DTLS: call Handshake once
// the component is connected.
func New(cfg Config) (*Transport, error) {
	if cfg.Agent == nil {
		return nil, errors.New("dtlssrtp: Config.Agent is nil")
	}
	if cfg.Role != RoleClient && cfg.Role != RoleServer {
		return nil, fmt.Errorf("dtlssrtp: Config.Role %v is neither client nor server", cfg.Role)
	}
	if len(cfg.RemoteFingerprints) == 0 {
		return nil, errors.New("dtlssrtp: no remote fingerprint")
	}
	if cfg.Component == 0 {
		cfg.Component = 1
	}
	if cfg.RTCPComponent == cfg.Component {
		return nil, errors.New("dtlssrtp: RTCPComponent is the RTP component (leave it 0 for rtcp-mux)")
	}
	if len(cfg.Profiles) == 0 {
		cfg.Profiles = DefaultProfiles
	}
	for _, p := range cfg.Profiles {
		if !p.valid() {
			return nil, fmt.Errorf("dtlssrtp: unsupported SRTP profile %v", p)
		}
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.FlightInterval <= 0 {
		cfg.FlightInterval = DefaultFlightInterval
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	t := &Transport{cfg: cfg, cert: cfg.Certificate}
	if t.cert == nil {
		c, err := GenerateCertificate()
		if err != nil {
			return nil, err
		}
		t.cert = c
	}
	cids := []int{cfg.Component}
	if cfg.RTCPComponent != 0 {
		cids = append(cids, cfg.RTCPComponent)
	}
	for _, cid := range cids {
		l := &leg{cid: cid, view: newView(cfg.Agent, cfg.StreamID, cid)}
		t.legs = append(t.legs, l)
	}
	for _, l := range t.legs {
		if err := cfg.Agent.AttachRecv(cfg.StreamID, l.cid, func(_, _ int, p []byte) { t.receive(l, p) }); err != nil {
			t.detach()
			return nil, fmt.Errorf("dtlssrtp: attach to component %d: %w", l.cid, err)
		}
	}
	return t, nil
}

// Certificate is the local certificate (its Fingerprint goes into SDP).
func (t *Transport) Certificate() *Certificate { return t.cert }

// Profile is the negotiated SRTP profile, 0 before the handshake.
func (t *Transport) Profile() Profile {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.profile
}

// Stats returns the receive path's counters.
func (t *Transport) Stats() Stats {
	return Stats{DTLS: t.st.dtls.Load(), RTP: t.st.rtp.Load(), RTCP: t.st.rtcp.Load(),
		Other: t.st.other.Load(), Early: t.st.early.Load(), Unprotect: t.st.unprotect.Load(),
		DTLSDropped: t.st.dtlsDropped.Load()}
}

// receive is the components' receive function: the RFC 7983 demux.
func (t *Transport) receive(l *leg, p []byte) {
	switch Classify(p) {
	case KindDTLS:
		if l.view.push(p) {
			t.st.dtls.Add(1)
		} else {
			t.st.dtlsDropped.Add(1)
		}
	case KindRTP:
		t.unprotect(l, p, false)
	case KindRTCP:
		t.unprotect(l, p, true)
	default:
		t.st.other.Add(1)
	}
}

// unprotect decrypts an SRTP or SRTCP packet into the leg's scratch buffer
// and hands it on. Nothing is delivered before the leg has keys.
func (t *Transport) unprotect(l *leg, p []byte, isRTCP bool) {
	k := l.keys.Load()
	if k == nil {
		t.st.early.Add(1)
		return
	}
	k.decMu.Lock()
	defer k.decMu.Unlock()
	var (
		out []byte
		err error
	)
	if isRTCP {
		out, err = k.dec.UnprotectRTCP(k.decBuf, p)
	} else {
		out, err = k.dec.UnprotectRTP(k.decBuf, p)
	}
	if err != nil {
		t.st.unprotect.Add(1)
		return
	}
	if cap(out) > cap(k.decBuf) {
		k.decBuf = out[:0] // keep a grown buffer
	}
	if isRTCP {
		t.st.rtcp.Add(1)
		if t.cfg.OnRTCP != nil {
			t.cfg.OnRTCP(out)
		}
		return
	}
	t.st.rtp.Add(1)
	if t.cfg.OnRTP != nil {
		t.cfg.OnRTP(out)
	}
}

// WriteRTP protects an RTP packet and sends it on the RTP component.
func (t *Transport) WriteRTP(p []byte) (int, error) {
	return t.write(t.legs[0], p, false)
}

// WriteRTCP protects an RTCP packet and sends it on the RTCP component
// (the RTP component with rtcp-mux).
func (t *Transport) WriteRTCP(p []byte) (int, error) {
	return t.write(t.legs[len(t.legs)-1], p, true)
}

// write protects p into the leg's scratch buffer and sends it, under the
// leg's encryption lock (the context's state and the buffer are shared).
func (t *Transport) write(l *leg, p []byte, isRTCP bool) (int, error) {
	k := l.keys.Load()
	if k == nil {
		return 0, ErrNotReady
	}
	k.encMu.Lock()
	defer k.encMu.Unlock()
	out, err := k.protect(k.encBuf[:0], p, isRTCP)
	if err != nil {
		return 0, err
	}
	if cap(out) > cap(k.encBuf) {
		k.encBuf = out[:0]
	}
	return t.cfg.Agent.Send(t.cfg.StreamID, l.cid, out)
}

// protect encrypts p into dst; the caller holds encMu.
func (k *keys) protect(dst, p []byte, isRTCP bool) ([]byte, error) {
	if isRTCP {
		if Classify(p) != KindRTCP {
			return nil, errors.New("dtlssrtp: not an RTCP packet")
		}
		return k.enc.ProtectRTCP(dst, p)
	}
	if Classify(p) != KindRTP {
		return nil, errors.New("dtlssrtp: not an RTP packet")
	}
	return k.enc.ProtectRTP(dst, p)
}

// ProtectRTP encrypts an RTP packet into dst (appending nothing: dst's
// capacity is used from 0; a dst too small is replaced) and returns the
// SRTP packet, for callers that send it themselves. It shares the
// sending context with WriteRTP.
func (t *Transport) ProtectRTP(dst, p []byte) ([]byte, error) {
	return t.protect(t.legs[0], dst, p, false)
}

// ProtectRTCP is ProtectRTP for RTCP, with the RTCP component's keys.
func (t *Transport) ProtectRTCP(dst, p []byte) ([]byte, error) {
	return t.protect(t.legs[len(t.legs)-1], dst, p, true)
}

func (t *Transport) protect(l *leg, dst, p []byte, isRTCP bool) ([]byte, error) {
	k := l.keys.Load()
	if k == nil {
		return nil, ErrNotReady
	}
	k.encMu.Lock()
	defer k.encMu.Unlock()
	return k.protect(dst[:0], p, isRTCP)
}

// WriteData sends DTLS application data (SCTP) on the RTP component.
func (t *Transport) WriteData(p []byte) (int, error) {
	k := t.legs[0].keys.Load()
	if k == nil {
		return 0, ErrNotReady
	}
	return k.conn.Write(p)
}

// Handshake runs DTLS on every component of the transport, the RTP
// component first, and keys SRTP. It returns when all handshakes are done,
// or the first error: the peer's certificate matches none of
// Config.RemoteFingerprints, Config.HandshakeTimeout passed (ErrTimeout),
// ctx ended, or the transport was closed. After an error the transport is
// closed and delivers nothing. Call it once, when the components are
// connected.
func (t *Transport) Handshake(ctx context.Context) error {
	ctx, cancel := context.WithTimeoutCause(ctx, t.cfg.HandshakeTimeout, ErrTimeout)
	defer cancel()
	for _, l := range t.legs {
		if err := t.handshake(ctx, l); err != nil {
			if context.Cause(ctx) == ErrTimeout {
				err = fmt.Errorf("%w (%v, component %d)", ErrTimeout, t.cfg.HandshakeTimeout, l.cid)
			}
			t.Close()
			return err
		}
	}
	return nil
}

// handshake runs DTLS on one leg and installs its SRTP keys.
func (t *Transport) handshake(ctx context.Context, l *leg) error {
	profiles := make([]dtls.SRTPProtectionProfile, len(t.cfg.Profiles))
	for i, p := range t.cfg.Profiles {
		profiles[i] = p.dtls()
	}
	if t.cfg.Role == RoleServer && len(profiles) > 1 {
		// The server's preference decides (hello.go): pion gets the one
		// profile of ours that the client offers first in our order.
		offered, err := l.view.clientProfiles(ctx)
		switch {
		case errors.Is(err, errNotHello): // pion reads it and answers as it does
		case err != nil:
			return fmt.Errorf("dtlssrtp: waiting for the ClientHello on component %d: %w", l.cid, err)
		default:
			if p := preferred(t.cfg.Profiles, offered); p != 0 {
				profiles = []dtls.SRTPProtectionProfile{p.dtls()}
			}
		}
	}
	dc := &dtls.Config{
		Certificates:           []tls.Certificate{t.cert.tls},
		SRTPProtectionProfiles: profiles,
		ExtendedMasterSecret:   dtls.RequireExtendedMasterSecret,
		ClientAuth:             dtls.RequireAnyClientCert,
		// The chain is not verified (self-signed certificates); the
		// fingerprint from SDP is what authenticates the peer.
		InsecureSkipVerify:    true,
		VerifyPeerCertificate: t.verify,
		FlightInterval:        t.cfg.FlightInterval,
		// As the server, answer the first ClientHello without a
		// HelloVerifyRequest round trip (as Chromium's DTLS server
		// does). The cookie exchange guards a server against floods from
		// spoofed sources; here DTLS comes only from the peer's known
		// candidates (the agent drops data from any other address) and
		// goes only to the selected pair, so it guards nothing and costs
		// one round trip of every handshake.
		InsecureSkipVerifyHello: true,
		LoggerFactory:           quietLogger{},
		MTU:                     1200,
		ReplayProtectionWindow:  int(t.cfg.ReplayWindow),
	}
	var (
		conn *dtls.Conn
		err  error
	)
	if t.cfg.Role == RoleClient {
		conn, err = dtls.ClientWithContext(ctx, l.view, dc)
	} else {
		conn, err = dtls.ServerWithContext(ctx, l.view, dc)
	}
	if err != nil {
		if conn != nil {
			conn.Close()
		}
		return fmt.Errorf("dtlssrtp: DTLS handshake on component %d: %w", l.cid, err)
	}
	k, err := t.keysFrom(conn)
	if err != nil {
		conn.Close()
		return fmt.Errorf("dtlssrtp: component %d: %w", l.cid, err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		conn.Close()
		return ErrClosed
	}
	t.profile = k.profile
	l.keys.Store(k)
	t.readers.Add(1)
	t.mu.Unlock()
	go t.readData(conn) // the leg's DTLS reader: application data to OnData; ends when the DTLS connection closes
	return nil
}

// keysFrom makes the SRTP contexts of a finished handshake (RFC 5764
// §4.2: client write key, server write key, client salt, server salt).
func (t *Transport) keysFrom(conn *dtls.Conn) (*keys, error) {
	dp, ok := conn.SelectedSRTPProtectionProfile()
	if !ok {
		return nil, errors.New("peer agreed to no SRTP profile")
	}
	p := Profile(dp)
	if !p.valid() {
		return nil, fmt.Errorf("peer chose SRTP profile %v", p)
	}
	// RFC 5764 §4.2: client write key, server write key, client salt,
	// server salt.
	kl, sl, _ := srtp.KeyLengths(p.srtp())
	state := conn.ConnectionState()
	km, err := state.ExportKeyingMaterial("EXTRACTOR-dtls_srtp", nil, 2*(kl+sl))
	if err != nil {
		return nil, fmt.Errorf("SRTP keys: %w", err)
	}
	clientKey, serverKey := km[:kl], km[kl:2*kl]
	clientSalt, serverSalt := km[2*kl:2*kl+sl], km[2*kl+sl:]
	localKey, localSalt, remoteKey, remoteSalt := serverKey, serverSalt, clientKey, clientSalt
	if t.cfg.Role == RoleClient {
		localKey, localSalt, remoteKey, remoteSalt = clientKey, clientSalt, serverKey, serverSalt
	}
	enc, err := srtp.New(p.srtp(), localKey, localSalt, t.cfg.ReplayWindow)
	if err != nil {
		return nil, fmt.Errorf("SRTP context: %w", err)
	}
	dec, err := srtp.New(p.srtp(), remoteKey, remoteSalt, t.cfg.ReplayWindow)
	if err != nil {
		return nil, fmt.Errorf("SRTP context: %w", err)
	}
	return &keys{profile: p, conn: conn, enc: enc, dec: dec,
		encBuf: make([]byte, 0, bufSize), decBuf: make([]byte, 0, bufSize)}, nil
}

// verify accepts the peer's certificate only if it matches a fingerprint
// from its SDP.
func (t *Transport) verify(raw [][]byte, _ [][]*x509.Certificate) error {
	if len(raw) == 0 {
		return fmt.Errorf("%w: the peer sent no certificate", ErrFingerprint)
	}
	if !matches(raw[0], t.cfg.RemoteFingerprints) {
		return fmt.Errorf("%w: the peer's certificate matches none of its SDP's fingerprints", ErrFingerprint)
	}
	return nil
}

// readData reads the leg's DTLS application data until the connection
// closes.
func (t *Transport) readData(conn *dtls.Conn) {
	defer t.readers.Done()
	buf := make([]byte, 1<<16)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.mu.Lock()
			closed := t.closed
			t.mu.Unlock()
			if !closed && t.cfg.OnClose != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				t.onClose.Do(func() { t.cfg.OnClose(err) })
			}
			return
		}
		if t.cfg.OnData != nil {
			t.cfg.OnData(buf[:n])
		}
	}
}

// Close detaches the receive functions and closes DTLS (sending
// close_notify); Done waits for the DTLS readers. It does not close the
// agent.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	t.detach()
	for _, l := range t.legs {
		if k := l.keys.Swap(nil); k != nil {
			l.view.closing.Store(true)
			k.conn.Close() // sends close_notify through the view, then closes it
		}
		l.view.Close() // ends a handshake in progress
	}
	return nil
}

// Done waits for the DTLS reader goroutines (call it after Close, not
// from OnData or OnClose).
func (t *Transport) Done() { t.readers.Wait() }

func (t *Transport) detach() {
	for _, l := range t.legs {
		_ = t.cfg.Agent.AttachRecv(t.cfg.StreamID, l.cid, nil)
	}
}

// quietLogger silences pion/dtls (its errors come back from Handshake).
type quietLogger struct{}

func (quietLogger) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, io.Discard)
}
