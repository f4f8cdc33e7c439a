// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"time"
)

// setRemoteCredentials stores the peer's credentials and runs the checks
// that waited for them. Called on the loop.
func (a *Agent) setRemoteCredentials(s *stream, ufrag, pwd string, now time.Time) {
	s.rufrag, s.rpwd = ufrag, pwd
	s.checks.changed = true
	pend := s.pendingRequests
	s.pendingRequests = nil
	for _, r := range pend {
		a.onAuthenticatedRequest(r.sock, r.from, r.priority, r.useCand, r.nom, now)
	}
}

// addRemoteCandidates adds candidates to a component and pairs them. It
// returns how many it took, counting, as libnice does, those it already
// had (signalled again, or learnt as peer-reflexive before the peer
// signalled them). Called on the loop.
func (a *Agent) addRemoteCandidates(c *component, cands []Candidate, now time.Time) int {
	n, known := 0, 0
	for _, rc := range cands {
		rc.StreamID, rc.ComponentID = c.s.id, c.id
		if rc.Hostname != "" && !rc.Addr.Addr().IsValid() {
			// An mDNS name: added once resolved (mdns.go), or ignored.
			if a.resolveRemote(c, rc, now) {
				n++
			}
			continue
		}
		rc.Addr = netip.AddrPortFrom(rc.Addr.Addr().Unmap().WithZone(""), rc.Addr.Port())
		if old := c.findRemoteTarget(rc); old != nil {
			// RFC 8838 §11.4: a signalled candidate replaces a
			// peer-reflexive one with the same address.
			if old.Type == CandidateTypePeerReflexive && rc.Type != CandidateTypePeerReflexive {
				old.Type, old.Foundation, old.Base = rc.Type, rc.Foundation, rc.Base
				old.Priority = rc.Priority
				c.s.checks.resort(a.controlling)
				n++
			} else {
				known++
			}
			continue
		}
		r := new(Candidate)
		*r = rc
		a.addRemote(c, r)
		n++
		for _, l := range c.local {
			if a.pairable(l) {
				a.addPair(c, l, r, now)
			}
		}
	}
	if n > 0 {
		c.updatePeers()
		c.failAt = time.Time{}
		if c.state == ComponentStateDisconnected || c.state == ComponentStateGathering || c.state == ComponentStateFailed && !c.consent.revoked && c.selected == nil {
			a.setState(c, ComponentStateConnecting)
		}
	}
	return n + known
}

// findRemoteTarget returns the remote candidate with rc's transport and address.
func (c *component) findRemoteTarget(rc Candidate) *Candidate {
	for _, r := range c.remote {
		if r.EqualTarget(rc) {
			return r
		}
	}
	return nil
}
