// SPDX-License-Identifier: MIT

package nice

import (
	"net/netip"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// txKind is what a STUN transaction is for.
type txKind int

// transaction is an outstanding STUN request. Owned by the loop.
type transaction struct {
	id       [stun.TransactionIDSize]byte
	kind     txKind
	stream   *stream
	comp     *component
	sock     *socket
	dest     netip.AddrPort
	raw      []byte
	gen      uint32
	rto      time.Duration
	sends    int
	deadline time.Time
	pair     *pair
	nominate bool
	control  bool // the role the request claimed
	priority uint32
	pwd      string // the remote password that signed the request
}

// newTransaction registers a transaction. Called on the loop.
func (a *Agent) newTransaction(kind txKind, s *stream, c *component, sk *socket, dest netip.AddrPort) *transaction {
	tx := &transaction{kind: kind, stream: s, comp: c, sock: sk, dest: dest, gen: s.gen, rto: a.cfg.STUNInitialTimeout}
	tx.id = stun.NewTransactionID()
	if a.txs == nil {
		a.txs = map[[stun.TransactionIDSize]byte]*transaction{}
	}
	a.txs[tx.id] = tx
	return tx
}

// sendTransaction (re)transmits tx and sets its retransmission deadline.
// Called on the loop.
func (a *Agent) sendTransaction(tx *transaction, now time.Time) {
	tx.sends++
	tx.deadline = now.Add(tx.rto)
	if _, err := tx.sock.conn.WriteToUDPAddrPort(tx.raw, tx.dest); err != nil {
		a.log.Debug("nice: send failed", "local", tx.sock.local, "remote", tx.dest, "err", err)
	}
}

// expireTransactions retransmits or fails transactions whose deadline
// passed (RFC 5389 §7.2.1, with libnice's Rc and RTO). Called on the loop.
func (a *Agent) expireTransactions(now time.Time) {
	for id, tx := range a.txs {
		if tx.deadline.After(now) {
			continue
		}
		if tx.sends <= a.cfg.STUNMaxRetransmissions {
			tx.rto *= 2
			a.sendTransaction(tx, now)
			continue
		}
		delete(a.txs, id)
		a.transactionFailed(tx, now)
	}
}

// transactionFailed handles a transaction that got no response.
// Called on the loop.
func (a *Agent) transactionFailed(tx *transaction, now time.Time) {
	switch tx.kind {
	case txDiscovery:
		a.log.Debug("nice: STUN server did not answer", "server", tx.dest, "local", tx.sock.local)
		a.discoveryDone(tx.stream)
	case txCheck:
		p := tx.pair
		p.tx = nil
		if tx.gen != tx.stream.gen {
			return
		}
		if p.state == pairInProgress {
			p.state = pairFailed
		}
		if tx.nominate && p.comp.nominating == p {
			p.comp.nominating = nil
		}
		a.log.Debug("check timed out", "stream", tx.stream.id, "component", tx.comp.id, "remote", tx.dest)
		a.checkFailure(tx.comp, now)
	case txConsent:
		if tx.comp.consentTx == tx {
			tx.comp.consentTx = nil
		}
	}
}

// handleResponse matches a response to its transaction. Called on the loop.
func (a *Agent) handleResponse(now time.Time, sk *socket, from netip.AddrPort, m *stun.Message) {
	tx, ok := a.txs[m.TransactionID]
	if !ok || tx.sock != sk {
		return
	}
	switch tx.kind {
	case txDiscovery:
		if from != tx.dest {
			return
		}
		delete(a.txs, tx.id)
		var mapped netip.AddrPort
		if m.Type.Class == stun.ClassSuccessResponse {
			mapped = mappedAddress(m)
		}
		a.onDiscoveryResponse(tx, mapped, now)
	case txCheck, txConsent:
		if checkIntegrity(m, tx.pwd) != nil {
			return // not from our peer: ignore, keep waiting (RFC 8445 §7.2.5.2)
		}
		delete(a.txs, tx.id)
		if tx.kind == txConsent {
			a.onConsentResponse(tx, from, m, now)
			return
		}
		a.onCheckResponse(tx, from, m, now)
	}
}

// mappedAddress reads XOR-MAPPED-ADDRESS, or MAPPED-ADDRESS from an old
// server. Both getters validate lengths: pion's would panic on a short value.
func mappedAddress(m *stun.Message) netip.AddrPort {
	var xa stunx.XORMappedAddress
	if xa.GetFrom(m) == nil {
		ap := netip.AddrPort(xa)
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	var ma stunx.MappedAddress
	if ma.GetFrom(m) == nil {
		ap := netip.AddrPort(ma)
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// checkIntegrity verifies MESSAGE-INTEGRITY with a short-term password
// (RFC 5389 §15.4).
func checkIntegrity(m *stun.Message, pwd string) error {
	return stunx.CheckIntegrity(m, []byte(pwd))
}

const (
	txDiscovery txKind = iota // Binding request to the STUN server
	txCheck                   // connectivity check
	txConsent                 // consent freshness / keepalive request
)
