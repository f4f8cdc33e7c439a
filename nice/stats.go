// SPDX-License-Identifier: MIT

package nice

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Statistics per candidate pair and component, named after W3C
// webrtc-stats' RTCIceCandidatePairStats, RTCIceCandidateStats and
// RTCTransportStats (docs/stats.md). The connectivity-check counters are
// kept by the loop; the data counters by the data path, with atomic adds
// only (no lock, no allocation per packet).

// flowCounters count the datagrams of one direction of a flow. The data
// path adds to them with atomic operations.
type flowCounters struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
	last    atomic.Int64 // the last datagram's time as sinceStart, 0 before the first
}

// clockStart is the origin of the data path's time stamps: time.Since of
// a time with a monotonic reading reads only the monotonic clock, about
// half the cost of time.Now, which reads the wall clock too.
var clockStart = time.Now()

// sinceStart returns the monotonic time since clockStart, plus one so that
// it is never 0 (0 means "no datagram yet").
func sinceStart() int64 { return int64(time.Since(clockStart)) + 1 }

// add counts one datagram of n bytes.
func (f *flowCounters) add(n int) {
	f.packets.Add(1)
	f.bytes.Add(uint64(n))
	f.last.Store(sinceStart())
}

// addBatch counts k datagrams of msgs.
func (f *flowCounters) addBatch(msgs [][]byte) {
	var n uint64
	for _, m := range msgs {
		n += uint64(len(m))
	}
	f.packets.Add(uint64(len(msgs)))
	f.bytes.Add(n)
	f.last.Store(sinceStart())
}

// checkCounters are a pair's connectivity-check counters, owned by the loop.
type checkCounters struct {
	requestsSent        uint64 // checks sent, retransmissions not included
	retransmissionsSent uint64
	requestsReceived    uint64 // authenticated checks (and consent checks) received
	responsesSent       uint64 // success responses to them
	responsesReceived   uint64 // authenticated responses to our checks and consent checks
	consentSent         uint64 // consent checks sent (RFC 7675), retransmissions included
	rttCount            uint64
	rttTotal            time.Duration
	rttCurrent          time.Duration
}

// CandidateStats are a candidate's statistics, after W3C
// RTCIceCandidateStats.
type CandidateStats struct {
	ID            string // "L<n>" for local candidates, "R<n>" for remote ones; stable for the candidate's life
	Local         bool   // a local candidate (W3C's type "local-candidate"), else remote
	Address       netip.Addr
	Port          uint16
	Protocol      string // "udp"
	CandidateType string // "host", "srflx", "prflx" or "relay"
	Priority      uint32
	Foundation    string
	// RelatedAddress, RelatedPort: the base of a local server-reflexive or
	// relayed candidate (SDP raddr/rport); for remote ones what the peer sent.
	RelatedAddress netip.Addr
	RelatedPort    uint16
	// URL: the server a local srflx or relay candidate came from, as
	// "stun:IP:PORT" or "turn:IP:PORT" (W3C url); empty otherwise.
	URL string
	// RelayProtocol: a local relayed candidate's transport to its TURN
	// server, "udp", "tcp" or "tls"; empty otherwise.
	RelayProtocol string
}

// CandidatePairStats are a candidate pair's statistics, after W3C
// RTCIceCandidatePairStats.
type CandidatePairStats struct {
	ID                string // "CP<local id>_<remote id>"
	LocalCandidateID  string
	RemoteCandidateID string
	Local, Remote     Candidate // the pair's candidates
	// State: "frozen", "waiting", "in-progress", "succeeded" or "failed".
	State     string
	Nominated bool
	Selected  bool // data is sent on it (the component's selected pair)
	Priority  uint64

	RequestsSent        uint64 // connectivity checks sent, not counting retransmissions
	RetransmissionsSent uint64 // retransmitted checks
	RequestsReceived    uint64 // checks (consent checks included) received and authenticated
	ResponsesSent       uint64 // success responses sent to them
	ResponsesReceived   uint64 // authenticated responses to our checks and consent checks
	ConsentRequestsSent uint64 // RFC 7675 consent checks sent

	// CurrentRoundTripTime is the last round trip measured by a check or
	// consent check that was answered without retransmission;
	// TotalRoundTripTime the sum of them, and RoundTripTimeMeasurements
	// their number (the W3C average is Total/Measurements).
	CurrentRoundTripTime      time.Duration
	TotalRoundTripTime        time.Duration
	RoundTripTimeMeasurements uint64

	// Data sent on the pair (with Send, SendMessages, Conn), and data
	// received from its remote candidate while it carried them (see
	// docs/stats.md).
	PacketsSent                 uint64
	PacketsReceived             uint64
	BytesSent                   uint64
	BytesReceived               uint64
	LastPacketSentTimestamp     time.Time // zero before the first
	LastPacketReceivedTimestamp time.Time
}

// ComponentStats are a component's statistics: its state, its pairs and
// candidates, and the totals of its data (after W3C RTCTransportStats).
type ComponentStats struct {
	StreamID                     int
	ComponentID                  int
	State                        ComponentState
	Controlling                  bool   // the agent's role (W3C iceRole)
	SelectedPairID               string // "" when none
	SelectedCandidatePairChanges uint64

	PacketsSent, PacketsReceived, BytesSent, BytesReceived uint64

	Pairs            []CandidatePairStats // in checklist order (priority, highest first)
	LocalCandidates  []CandidateStats
	RemoteCandidates []CandidateStats
}

// Stats returns the statistics of every component of the stream.
func (a *Agent) Stats(streamID int) ([]ComponentStats, error) {
	var out []ComponentStats
	err := a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		out = make([]ComponentStats, 0, len(s.comps))
		for _, c := range s.comps {
			out = append(out, a.componentStats(c))
		}
		return nil
	})
	return out, err
}

// componentStats collects c's statistics. Called on the loop.
func (a *Agent) componentStats(c *component) ComponentStats {
	cs := ComponentStats{
		StreamID:                     c.s.id,
		ComponentID:                  c.id,
		State:                        c.state,
		Controlling:                  a.controlling,
		SelectedCandidatePairChanges: c.selectedChanges,
	}
	for _, l := range c.local {
		cs.LocalCandidates = append(cs.LocalCandidates, localCandidateStats(l))
	}
	for _, r := range c.remote {
		cs.RemoteCandidates = append(cs.RemoteCandidates, remoteCandidateStats(c, r))
	}
	// Data from a remote candidate is counted on one pair: the selected
	// pair if it has that remote candidate, else the valid pair of highest
	// priority with it (checks are in priority order), else none.
	rxOwner := map[*Candidate]*pair{}
	if c.selected != nil {
		rxOwner[c.selected.remote] = c.selected
	}
	for _, p := range c.s.checks.pairs {
		if p.comp == c && p.valid && rxOwner[p.remote] == nil {
			rxOwner[p.remote] = p
		}
	}
	for _, p := range c.s.checks.pairs {
		if p.comp != c {
			continue
		}
		ps := CandidatePairStats{
			ID:                        c.pairID(p),
			LocalCandidateID:          localID(p.local),
			RemoteCandidateID:         c.remoteID(p.remote),
			Local:                     p.local.c,
			Remote:                    *p.remote,
			State:                     p.state.String(),
			Nominated:                 p.nominated,
			Selected:                  p == c.selected,
			Priority:                  p.prio,
			RequestsSent:              p.ctr.requestsSent,
			RetransmissionsSent:       p.ctr.retransmissionsSent,
			RequestsReceived:          p.ctr.requestsReceived,
			ResponsesSent:             p.ctr.responsesSent,
			ResponsesReceived:         p.ctr.responsesReceived,
			ConsentRequestsSent:       p.ctr.consentSent,
			CurrentRoundTripTime:      p.ctr.rttCurrent,
			TotalRoundTripTime:        p.ctr.rttTotal,
			RoundTripTimeMeasurements: p.ctr.rttCount,
		}
		ps.PacketsSent, ps.BytesSent, ps.LastPacketSentTimestamp = p.out.read()
		if rxOwner[p.remote] == p {
			if rx := c.rxOf(p.remote.Addr); rx != nil {
				ps.PacketsReceived, ps.BytesReceived, ps.LastPacketReceivedTimestamp = rx.read()
			}
		}
		if p == c.selected {
			cs.SelectedPairID = ps.ID
		}
		cs.PacketsSent += ps.PacketsSent
		cs.BytesSent += ps.BytesSent
		cs.Pairs = append(cs.Pairs, ps)
	}
	for _, e := range c.rx {
		n, b, _ := e.rx.read()
		cs.PacketsReceived += n
		cs.BytesReceived += b
	}
	return cs
}

// read returns the counters and the time of the last datagram.
func (f *flowCounters) read() (packets, bytes uint64, last time.Time) {
	if f == nil {
		return 0, 0, time.Time{}
	}
	packets, bytes = f.packets.Load(), f.bytes.Load()
	if ns := f.last.Load(); ns != 0 {
		last = clockStart.Add(time.Duration(ns - 1))
	}
	return packets, bytes, last
}

// localID returns a local candidate's stats id.
func localID(l *localCandidate) string { return "L" + strconv.FormatUint(uint64(l.id), 10) }

// remoteID returns a remote candidate's stats id. Called on the loop.
func (c *component) remoteID(r *Candidate) string {
	var id uint32
	if i := slices.Index(c.remote, r); i >= 0 && i < len(c.rids) {
		id = c.rids[i]
	}
	return "R" + strconv.FormatUint(uint64(id), 10)
}

// pairID returns a pair's stats id. Called on the loop.
func (c *component) pairID(p *pair) string {
	return "CP" + localID(p.local) + "_" + c.remoteID(p.remote)
}

func localCandidateStats(l *localCandidate) CandidateStats {
	s := candidateStats(l.c)
	s.ID, s.Local = localID(l), true
	if l.c.Server.IsValid() {
		scheme := "stun:"
		if l.c.Type == CandidateTypeRelayed {
			scheme = "turn:"
		}
		s.URL = scheme + l.c.Server.String()
	}
	if ra := l.sock.relay; ra != nil && l.c.Type == CandidateTypeRelayed {
		switch ra.srv.typ {
		case RelayTypeTURNUDP:
			s.RelayProtocol = "udp"
		case RelayTypeTURNTCP:
			s.RelayProtocol = "tcp"
		case RelayTypeTURNTLS:
			s.RelayProtocol = "tls"
		}
	}
	return s
}

func remoteCandidateStats(c *component, r *Candidate) CandidateStats {
	s := candidateStats(*r)
	s.ID = c.remoteID(r)
	return s
}

func candidateStats(c Candidate) CandidateStats {
	s := CandidateStats{
		Address:       c.Addr.Addr(),
		Port:          c.Addr.Port(),
		Protocol:      "udp",
		CandidateType: sdpTypeName(c.Type),
		Priority:      c.Priority,
		Foundation:    c.Foundation,
	}
	if c.Transport != TransportUDP {
		s.Protocol = "tcp"
	}
	if c.Type != CandidateTypeHost && c.Base.IsValid() {
		s.RelatedAddress, s.RelatedPort = c.Base.Addr(), c.Base.Port()
	}
	return s
}

// addRemote adds a remote candidate to the component and gives it its id.
// Called on the loop.
func (a *Agent) addRemote(c *component, r *Candidate) {
	c.remote = append(c.remote, r)
	a.nextCandID++
	c.rids = append(c.rids, a.nextCandID)
}

// StatsJSON returns the stream's statistics as one JSON object, in the
// schema of docs/stats.md (docs/stats.schema.json): W3C webrtc-stats names,
// times in seconds and time stamps in milliseconds since the Unix epoch, as
// the browsers' getStats() gives them.
func (a *Agent) StatsJSON(streamID int) ([]byte, error) {
	cs, err := a.Stats(streamID)
	if err != nil {
		return nil, err
	}
	return MarshalStatsJSON(streamID, time.Now(), cs)
}

// MarshalStatsJSON encodes the statistics of a stream's components, taken
// at now, in the schema of docs/stats.md.
func MarshalStatsJSON(streamID int, now time.Time, cs []ComponentStats) ([]byte, error) {
	out := jsonStats{Timestamp: jsonTime(now), Stream: streamID, Components: make([]jsonComponent, 0, len(cs))}
	for _, c := range cs {
		jc := jsonComponent{
			Component:                    c.ComponentID,
			State:                        c.State.String(),
			IceRole:                      "controlled",
			SelectedCandidatePairID:      c.SelectedPairID,
			SelectedCandidatePairChanges: c.SelectedCandidatePairChanges,
			PacketsSent:                  c.PacketsSent,
			PacketsReceived:              c.PacketsReceived,
			BytesSent:                    c.BytesSent,
			BytesReceived:                c.BytesReceived,
			CandidatePairs:               make([]jsonPair, 0, len(c.Pairs)),
			LocalCandidates:              make([]jsonCandidate, 0, len(c.LocalCandidates)),
			RemoteCandidates:             make([]jsonCandidate, 0, len(c.RemoteCandidates)),
		}
		if c.Controlling {
			jc.IceRole = "controlling"
		}
		for _, p := range c.Pairs {
			jp := jsonPair{
				Type: "candidate-pair", ID: p.ID, LocalCandidateID: p.LocalCandidateID, RemoteCandidateID: p.RemoteCandidateID,
				State: p.State, Nominated: p.Nominated, Selected: p.Selected,
				RequestsSent: p.RequestsSent, RequestsReceived: p.RequestsReceived,
				ResponsesSent: p.ResponsesSent, ResponsesReceived: p.ResponsesReceived,
				RetransmissionsSent: p.RetransmissionsSent, ConsentRequestsSent: p.ConsentRequestsSent,
				TotalRoundTripTime: p.TotalRoundTripTime.Seconds(), RoundTripTimeMeasurements: p.RoundTripTimeMeasurements,
				PacketsSent: p.PacketsSent, PacketsReceived: p.PacketsReceived,
				BytesSent: p.BytesSent, BytesReceived: p.BytesReceived,
			}
			if p.RoundTripTimeMeasurements > 0 {
				v := p.CurrentRoundTripTime.Seconds()
				jp.CurrentRoundTripTime = &v
			}
			if !p.LastPacketSentTimestamp.IsZero() {
				v := jsonTime(p.LastPacketSentTimestamp)
				jp.LastPacketSentTimestamp = &v
			}
			if !p.LastPacketReceivedTimestamp.IsZero() {
				v := jsonTime(p.LastPacketReceivedTimestamp)
				jp.LastPacketReceivedTimestamp = &v
			}
			jc.CandidatePairs = append(jc.CandidatePairs, jp)
		}
		for _, l := range c.LocalCandidates {
			jc.LocalCandidates = append(jc.LocalCandidates, toJSONCandidate("local-candidate", l))
		}
		for _, r := range c.RemoteCandidates {
			jc.RemoteCandidates = append(jc.RemoteCandidates, toJSONCandidate("remote-candidate", r))
		}
		out.Components = append(out.Components, jc)
	}
	return json.Marshal(out)
}

// jsonTime is a time stamp as W3C's DOMHighResTimeStamp: milliseconds
// since the Unix epoch.
func jsonTime(t time.Time) float64 { return float64(t.UnixMicro()) / 1e3 }

type jsonStats struct {
	Timestamp  float64         `json:"timestamp"`
	Stream     int             `json:"stream"`
	Components []jsonComponent `json:"components"`
}

type jsonComponent struct {
	Component                    int             `json:"component"`
	State                        string          `json:"state"`
	IceRole                      string          `json:"iceRole"`
	SelectedCandidatePairID      string          `json:"selectedCandidatePairId,omitempty"`
	SelectedCandidatePairChanges uint64          `json:"selectedCandidatePairChanges"`
	PacketsSent                  uint64          `json:"packetsSent"`
	PacketsReceived              uint64          `json:"packetsReceived"`
	BytesSent                    uint64          `json:"bytesSent"`
	BytesReceived                uint64          `json:"bytesReceived"`
	CandidatePairs               []jsonPair      `json:"candidatePairs"`
	LocalCandidates              []jsonCandidate `json:"localCandidates"`
	RemoteCandidates             []jsonCandidate `json:"remoteCandidates"`
}

type jsonPair struct {
	Type                        string   `json:"type"`
	ID                          string   `json:"id"`
	LocalCandidateID            string   `json:"localCandidateId"`
	RemoteCandidateID           string   `json:"remoteCandidateId"`
	State                       string   `json:"state"`
	Nominated                   bool     `json:"nominated"`
	Selected                    bool     `json:"selected"`
	RequestsSent                uint64   `json:"requestsSent"`
	RequestsReceived            uint64   `json:"requestsReceived"`
	ResponsesSent               uint64   `json:"responsesSent"`
	ResponsesReceived           uint64   `json:"responsesReceived"`
	RetransmissionsSent         uint64   `json:"retransmissionsSent"`
	ConsentRequestsSent         uint64   `json:"consentRequestsSent"`
	CurrentRoundTripTime        *float64 `json:"currentRoundTripTime,omitempty"`
	TotalRoundTripTime          float64  `json:"totalRoundTripTime"`
	RoundTripTimeMeasurements   uint64   `json:"roundTripTimeMeasurements"`
	PacketsSent                 uint64   `json:"packetsSent"`
	PacketsReceived             uint64   `json:"packetsReceived"`
	BytesSent                   uint64   `json:"bytesSent"`
	BytesReceived               uint64   `json:"bytesReceived"`
	LastPacketSentTimestamp     *float64 `json:"lastPacketSentTimestamp,omitempty"`
	LastPacketReceivedTimestamp *float64 `json:"lastPacketReceivedTimestamp,omitempty"`
}

type jsonCandidate struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	Address        string `json:"address"`
	Port           uint16 `json:"port"`
	Protocol       string `json:"protocol"`
	CandidateType  string `json:"candidateType"`
	Priority       uint32 `json:"priority"`
	Foundation     string `json:"foundation"`
	RelatedAddress string `json:"relatedAddress,omitempty"`
	RelatedPort    uint16 `json:"relatedPort,omitempty"`
	URL            string `json:"url,omitempty"`
	RelayProtocol  string `json:"relayProtocol,omitempty"`
}

func toJSONCandidate(typ string, c CandidateStats) jsonCandidate {
	j := jsonCandidate{
		Type: typ, ID: c.ID, Address: c.Address.WithZone("").String(), Port: c.Port, Protocol: c.Protocol,
		CandidateType: c.CandidateType, Priority: c.Priority, Foundation: c.Foundation,
		URL: c.URL, RelayProtocol: c.RelayProtocol,
	}
	if c.RelatedAddress.IsValid() {
		j.RelatedAddress, j.RelatedPort = c.RelatedAddress.WithZone("").String(), c.RelatedPort
	}
	return j
}
