// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"time"
)

// GenerateLocalSDP returns the SDP of every stream, as
// nice_agent_generate_local_sdp: for each stream its m=, c= and a=rtcp lines,
// then credentials and candidates, "\n" line endings, byte for byte as
// libnice 0.1.21 prints the same candidates.
func (a *Agent) GenerateLocalSDP() string {
	var b []byte
	_ = a.do(func(time.Time) error {
		for _, s := range a.streams {
			b = formatStreamSDP(b, a.sdpStreamOf(s), true)
		}
		return nil
	})
	return string(b)
}

// GenerateLocalStreamSDP returns one stream's SDP; includeNonICE adds the
// m=, c= and a=rtcp lines (nice_agent_generate_local_stream_sdp).
func (a *Agent) GenerateLocalStreamSDP(streamID int, includeNonICE bool) (string, error) {
	var b []byte
	err := a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		b = formatStreamSDP(b, a.sdpStreamOf(s), includeNonICE)
		return nil
	})
	return string(b), err
}

// sdpStreamOf collects a stream's SDP content. Called on the loop.
func (a *Agent) sdpStreamOf(s *stream) sdpStream {
	st := sdpStream{Name: s.name, Ufrag: s.ufrag, Pwd: s.pwd}
	if a.cfg.Renomination {
		st.ICEOptions = []string{"renomination"}
	}
	for _, c := range s.comps {
		for _, l := range c.local {
			if l.c.Type == CandidateTypePeerReflexive || !a.visible(l.c) {
				continue // learned during checks, or hidden by force-relay: not in SDP
			}
			st.Candidates = append(st.Candidates, a.sdpView(l.c))
		}
	}
	return st
}

// GenerateLocalCandidateSDP returns c as one "a=candidate:" line without a
// newline (nice_agent_generate_local_candidate_sdp).
func (a *Agent) GenerateLocalCandidateSDP(c Candidate) string {
	return formatCandidateSDP(a.sdpView(c))
}

// ParseRemoteSDP applies a whole remote SDP, as nice_agent_parse_remote_sdp:
// the n-th m= section goes to the n-th stream in creation order (media names
// are ignored), its credentials become the stream's remote credentials and
// its candidates are added. It returns the number of candidates added.
// Unlike libnice it also reads CRLF line endings, lines without "a=",
// session-level credentials, a=end-of-candidates (which counts as
// PeerCandidateGatheringDone) and a=ice-options: a peer whose SDP has
// a=ice-options without "renomination" is not renominated (see
// Config.Renomination).
func (a *Agent) ParseRemoteSDP(sdp string) (int, error) {
	parsed, err := parseSDP(sdp)
	if err != nil {
		return 0, err
	}
	if len(parsed) == 0 {
		return 0, fmt.Errorf("%w: no stream", ErrSDP)
	}
	for _, ps := range parsed {
		for _, c := range ps.Candidates {
			if err := checkRemoteCandidate(c); err != nil {
				return 0, fmt.Errorf("%w: %v", ErrSDP, err)
			}
		}
	}
	n := 0
	err = a.do(func(now time.Time) error {
		if len(parsed) > len(a.streams) {
			return fmt.Errorf("%w: %d m= sections for %d streams", ErrSDP, len(parsed), len(a.streams))
		}
		for i, ps := range parsed {
			s := a.streams[i]
			for _, c := range ps.Candidates {
				if c.ComponentID < 1 || c.ComponentID > len(s.comps) {
					return fmt.Errorf("%w: candidate for component %d of stream %d, which has %d", ErrSDP, c.ComponentID, s.id, len(s.comps))
				}
			}
		}
		for i, ps := range parsed {
			s := a.streams[i]
			s.renomDeclined = ps.declinesRenomination()
			if ps.Ufrag != "" && ps.Pwd != "" {
				a.setRemoteCredentials(s, ps.Ufrag, ps.Pwd, now)
			}
			for _, c := range ps.Candidates {
				n += a.addRemoteCandidates(s.comps[c.ComponentID-1], []Candidate{c}, now)
			}
			if ps.EndOfCandidates {
				s.peerGatheringDone = true
				for _, c := range s.comps {
					a.checkFailure(c, now)
				}
			}
		}
		return nil
	})
	return n, err
}

// ParseRemoteStreamSDP parses one stream's SDP without applying it, as
// nice_agent_parse_remote_stream_sdp: it returns the candidates (in text
// order), ufrag and password; give them to SetRemoteCredentials and
// SetRemoteCandidates.
func (a *Agent) ParseRemoteStreamSDP(streamID int, sdp string) (cands []Candidate, ufrag, pwd string, err error) {
	parsed, err := parseSDP(sdp)
	if err != nil {
		return nil, "", "", err
	}
	if len(parsed) != 1 {
		return nil, "", "", fmt.Errorf("%w: %d streams, want 1", ErrSDP, len(parsed))
	}
	ps := parsed[0]
	err = a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		for _, c := range ps.Candidates {
			if c.ComponentID < 1 || c.ComponentID > len(s.comps) {
				return fmt.Errorf("%w: candidate for component %d of stream %d, which has %d", ErrSDP, c.ComponentID, s.id, len(s.comps))
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", "", err
	}
	for i := range ps.Candidates {
		ps.Candidates[i].StreamID = streamID
	}
	return ps.Candidates, ps.Ufrag, ps.Pwd, nil
}

// ParseRemoteCandidateSDP parses one "a=candidate:" line for the stream
// (nice_agent_parse_remote_candidate_sdp).
func (a *Agent) ParseRemoteCandidateSDP(streamID int, line string) (Candidate, error) {
	c, err := parseCandidateSDP(line, streamID)
	if err != nil {
		return Candidate{}, err
	}
	err = a.do(func(time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		if c.ComponentID > len(s.comps) {
			return fmt.Errorf("%w: component %d of stream %d, which has %d", ErrSDP, c.ComponentID, s.id, len(s.comps))
		}
		return nil
	})
	if err != nil {
		return Candidate{}, err
	}
	return c, nil
}
