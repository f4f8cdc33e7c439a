// SPDX-License-Identifier: MIT

package nice

import (
	"slices"
	"time"
)

// switchRole changes the role after a role conflict (RFC 8445 §7.3.1.1).
// Called on the loop.
func (a *Agent) switchRole(controlling bool) {
	if a.controlling == controlling {
		return
	}
	if a.debugOn(LogChecks) {
		a.log.Debug("role.switched", "controlling", controlling)
	}
	a.controlling = controlling
	for _, s := range a.streams {
		s.checks.resort(a.controlling)
	}
}

// Controlling reports the agent's current role, which role-conflict
// resolution may have changed.
func (a *Agent) Controlling() bool {
	var v bool
	_ = a.do(func(time.Time) error { v = a.controlling; return nil })
	return v
}

// SetControlling sets the role (controlling-mode). Before checks start it
// takes effect at once; while checks run it takes effect at the next restart,
// as libnice. An ICE-lite agent is always controlled.
func (a *Agent) SetControlling(controlling bool) error {
	return a.do(func(time.Time) error {
		if a.cfg.Lite {
			controlling = false
		}
		a.role = controlling
		if !slices.ContainsFunc(a.streams, func(s *stream) bool { return len(s.checks.pairs) > 0 }) {
			a.controlling = controlling
		}
		return nil
	})
}
