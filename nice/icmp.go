// SPDX-License-Identifier: MIT

package nice

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"time"
)

// maxPostedICMP bounds the ICMP errors of a socket waiting for the loop: a
// flood of (forged) ICMP errors queues no more work than this.
const maxPostedICMP = 4

// watchICMP has the socket's ICMP errors reported to the loop (onICMP),
// where the operating system can (icmp_linux.go). Called on the loop,
// before the socket is read or written.
func (a *Agent) watchICMP(sk *socket) {
	oc, ok := sk.conn.(*osConn)
	if !ok {
		return
	}
	// An error (off Linux: unsupported) leaves the socket as it was:
	// requests to an unreachable server end at their timeouts.
	_ = oc.watchICMP(func(dst netip.AddrPort, errno syscall.Errno) {
		// Only a server's concern the loop (onICMP); the rest, errors for
		// checks and for data to a peer gone, cost nothing more.
		if dst != a.stunServer && !slices.ContainsFunc(sk.turnList(), func(ra *relayAlloc) bool { return ra.srv.addr == dst }) {
			return
		}
		if sk.icmpPosted.Add(1) > maxPostedICMP {
			sk.icmpPosted.Add(-1)
			return
		}
		o := &op{done: make(chan error, 1), f: func(now time.Time) error {
			sk.icmpPosted.Add(-1)
			a.onICMP(sk, dst, errno, now)
			return nil
		}}
		ok, run := a.post(work{op: o})
		if ok && run {
			// The loop was idle. This may be a sender's goroutine (a send
			// drains the error queue too), which must not run the loop.
			go a.runLoop()
		} else if !ok {
			sk.icmpPosted.Add(-1)
		}
	})
}

// onICMP handles an ICMP error that came back for a datagram sk sent to
// dst. Only servers are believed: the server-reflexive requests to a STUN
// server and the TURN allocations on a server at dst end at once, as at
// their timeouts (STUNErrors and RelayErrors say ErrUnreachable). An error
// for a connectivity check is ignored, as RFC 8445 does: a NAT that has no
// mapping yet for the peer's hole punching may answer the first checks
// with port unreachable. Called on the loop.
func (a *Agent) onICMP(sk *socket, dst netip.AddrPort, errno syscall.Errno, now time.Time) {
	if sk.closed.Load() {
		return
	}
	err := fmt.Errorf("%w: %s: %w", ErrUnreachable, dst, errno)
	if a.debugOn(LogGather) {
		a.log.Debug("gather.icmp-error", "local", sk.local, "remote", dst, "err", errno)
	}
	var ended []*transaction
	a.txs.removeFunc(func(tx *transaction) bool {
		if tx.kind == txDiscovery && tx.sock == sk && tx.dest == dst {
			ended = append(ended, tx)
			return true
		}
		return false
	})
	for _, tx := range ended {
		a.stunFailed(tx, err)
		a.discoveryDone(tx.stream)
	}
	for _, ra := range sk.turnList() {
		if !ra.ended && ra.srv.addr == dst {
			ra.t.unreachable(now, err)
		}
	}
}
