// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"fmt"
	"slices"
)

// The agent's side of a UDPMux (mux.go): which components go on muxes,
// and the stream's local ufrag, which names it there.

// onMux reports whether component c's host candidates are on the agent's
// muxes (Config.Muxes): component 1 of every stream.
func (a *Agent) onMux(c *component) bool {
	return len(a.cfg.Muxes) > 0 && c.id == 1
}

// needsOwnSockets reports whether component c binds sockets of its own:
// it is not on a mux, or it is and has UDP TURN servers (an allocation is
// one per 5-tuple, and the mux's socket is one 5-tuple for all agents).
func (a *Agent) needsOwnSockets(c *component) bool {
	if !a.onMux(c) {
		return true
	}
	return !a.cfg.Lite && slices.ContainsFunc(c.turn, func(t turnServer) bool { return t.typ == RelayTypeTURNUDP })
}

// joinMuxes puts component c on each of the agent's muxes, with the
// stream's local ufrag; a generated ufrag that another agent on a mux has
// is replaced by a new one. On failure nothing stays joined. Called on
// the loop.
func (a *Agent) joinMuxes(c *component) ([]*socket, error) {
	s := c.s
	var socks []*socket
	for i, m := range a.cfg.Muxes {
		for try := 0; ; try++ {
			sk, err := m.join(a, c, i)
			if err == nil {
				sk.mux.setRoutes(c.peers.Load()) // remote candidates given before gathering
				socks = append(socks, sk)
				break
			}
			if errors.Is(err, ErrUfragInUse) && !s.ufragSet && try < 16 {
				u := a.freeUfrag(s)
				for _, joined := range socks {
					if err := joined.mux.rekey(u); err != nil {
						return nil, a.leaveMuxes(socks, err)
					}
				}
				s.ufrag = u
				continue
			}
			return nil, a.leaveMuxes(socks, err)
		}
	}
	return socks, nil
}

// leaveMuxes takes the sockets off their muxes and returns err.
func (a *Agent) leaveMuxes(socks []*socket, err error) error {
	for _, sk := range socks {
		_ = sk.conn.Close()
	}
	return err
}

// freeUfrag returns a new random local ufrag that no other agent on the
// agent's muxes has. Called on the loop.
func (a *Agent) freeUfrag(s *stream) string {
	for {
		u := randomICEString(4)
		if a.ufragFree(s, u) {
			return u
		}
	}
}

// ufragFree reports whether s may take ufrag on every mux its component 1
// is on (or will join).
func (a *Agent) ufragFree(s *stream, ufrag string) bool {
	var own *muxEntry
	for _, m := range a.cfg.Muxes {
		own = nil
		for _, sk := range s.comps[0].socks {
			if sk.mux != nil && sk.mux.m == m {
				own = sk.mux
			}
		}
		if own == nil {
			own = &muxEntry{} // not joined yet: any holder is another
		}
		if !m.ufragFree(own, ufrag) {
			return false
		}
	}
	return true
}

// setLocalUfrag gives s a new local ufrag, moving its mux routes; it fails
// with ErrUfragInUse, changing nothing, if another agent on one of its
// muxes has it. Called on the loop.
func (a *Agent) setLocalUfrag(s *stream, ufrag string) error {
	if !a.ufragFree(s, ufrag) {
		return fmt.Errorf("%w: %q", ErrUfragInUse, ufrag)
	}
	for _, sk := range s.comps[0].socks {
		if sk.mux != nil {
			if err := sk.mux.rekey(ufrag); err != nil {
				return err // not reached: checked above, on the loop that alone changes s's entries
			}
		}
	}
	s.ufrag = ufrag
	return nil
}
