// SPDX-License-Identifier: MIT

package nice

import (
	"slices"
	"time"
)

// restartStream restarts ICE on s (RFC 8445 §9). Called on the loop.
func (a *Agent) restartStream(s *stream, now time.Time) {
	s.gen++
	_ = a.setLocalUfrag(s, a.freeUfrag(s)) // free on the stream's muxes: cannot fail
	s.pwd = randomICEString(22)
	s.ufragSet = false
	s.rufrag, s.rpwd = "", ""
	a.cancelDials(s)
	s.checks.reset()
	s.pendingRequests = nil
	s.peerGatheringDone = false
	s.initialRequest = false
	a.controlling = a.role
	// The network may have changed under the session: check that the TURN
	// servers still have the allocations (a lost one is made again, and
	// its new relayed candidate signalled).
	a.probeRelays(s, now)
	// An allocation that failed (the server was down when it was made
	// again after a loss) is tried again.
	if !a.cfg.Lite {
		for _, c := range s.comps {
			a.startRelays(c)
		}
	}
	a.txs.removeFunc(func(tx *transaction) bool { return tx.stream == s && tx.kind != txDiscovery })
	for _, c := range s.comps {
		c.remote = nil
		c.rids = nil
		c.selected = nil
		c.nominating = nil
		c.renominate = nil
		c.nomSent, c.nomSeen = 0, 0
		c.firstValid = time.Time{}
		c.failAt = time.Time{}
		c.consent.stop()
		c.consent.revoked = false
		// Local peer-reflexive candidates belong to the old session.
		c.local = slices.DeleteFunc(c.local, func(l *localCandidate) bool { return l.c.Type == CandidateTypePeerReflexive })
		// Keep the old path's peer allowed until a new pair is selected,
		// so data keeps flowing during the restart.
		if p := c.path.Load(); p != nil {
			c.publishPeers(newPeerSet([]peerEntry{{p.remote, c.rxFor(p.remote)}}))
		} else {
			c.updatePeers()
		}
		c.lost.Store(false)
		a.setState(c, ComponentStateGathering)
	}
}

// Restart restarts ICE on every stream (RFC 8445 §9): see RestartStream.
func (a *Agent) Restart() error {
	return a.do(func(now time.Time) error {
		for _, s := range a.streams {
			a.restartStream(s, now)
		}
		return nil
	})
}

// RestartStream restarts ICE on one stream, as nice_agent_restart_stream:
// new local credentials, remote credentials and candidates cleared, checks
// dropped, components back to GATHERING. Local candidates are kept, and
// data keeps flowing on the previously selected pair until a new one is
// selected. The TURN servers are asked whether they still have the
// allocations (a lost one is made again), and an allocation that failed
// (its server was down when it was made) is tried again; a relayed
// candidate they make is signalled as new. Set the new remote credentials
// after this call.
func (a *Agent) RestartStream(streamID int) error {
	return a.do(func(now time.Time) error {
		s, err := a.stream(streamID)
		if err != nil {
			return err
		}
		a.restartStream(s, now)
		return nil
	})
}
