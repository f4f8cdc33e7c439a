// SPDX-License-Identifier: MIT

package nice

import (
	"container/heap"
	"fmt"
	"net/netip"
	"slices"
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
	deadline time.Time // the next retransmission or the timeout
	sentAt   time.Time // the first transmission (round-trip time)
	index    int       // in txTable.heap
	pair     *pair
	nominate bool
	nomValue uint32 // NOMINATION sent with USE-CANDIDATE; 0 if none
	control  bool   // the role the request claimed
	priority uint32
	pwd      string // the remote password that signed the request
	// reliable: the request goes over TCP (ICE-TCP): no retransmission,
	// one timeout (Agent.tcpCheckTimeout); sock is nil while the
	// connection is being made.
	reliable bool
}

// newTransaction registers a transaction. Called on the loop.
func (a *Agent) newTransaction(kind txKind, s *stream, c *component, sk *socket, dest netip.AddrPort) *transaction {
	tx := &transaction{kind: kind, stream: s, comp: c, sock: sk, dest: dest, gen: s.gen, rto: a.cfg.STUNInitialTimeout}
	tx.id = stun.NewTransactionID()
	a.txs.add(tx)
	return tx
}

// sendTransaction (re)transmits tx and sets its retransmission deadline.
// Called on the loop.
func (a *Agent) sendTransaction(tx *transaction, now time.Time) {
	tx.sends++
	a.txs.setDeadline(tx, now.Add(tx.rto))
	if tx.sends == 1 {
		tx.sentAt = now
	}
	if p := tx.pair; p != nil {
		switch {
		case tx.kind == txConsent:
			p.ctr.consentSent++
		case tx.sends == 1:
			p.ctr.requestsSent++
		default:
			p.ctr.retransmissionsSent++
		}
	}
	if tx.sends > 1 {
		a.logRetransmit(tx)
	}
	if tx.sock != nil {
		a.writeTransaction(tx)
	}
}

// writeTransaction writes tx's request on its socket. Called on the loop.
func (a *Agent) writeTransaction(tx *transaction) {
	if _, err := tx.sock.conn.WriteToUDPAddrPort(tx.raw, tx.dest); err != nil {
		if a.dbg != 0 {
			a.log.Debug("stun.send-failed", "local", tx.sock.local, "remote", tx.dest, "tx", txID(tx), "err", err)
		}
	}
}

// newPairTransaction registers a check or consent transaction on pair p,
// from the pair's socket; over ICE-TCP it is reliable. Called on the loop.
func (a *Agent) newPairTransaction(kind txKind, p *pair) *transaction {
	tx := a.newTransaction(kind, p.comp.s, p.comp, p.sk, p.remote.Addr)
	tx.pair = p
	if p.local.c.Transport.isTCP() {
		tx.reliable = true
		tx.rto = a.tcpCheckTimeout()
	}
	return tx
}

// expireTransactions retransmits or fails transactions whose deadline
// passed (RFC 5389 §7.2.1, with libnice's Rc and RTO). Called on the loop.
func (a *Agent) expireTransactions(now time.Time) {
	for {
		tx := a.txs.expired(now)
		if tx == nil {
			return
		}
		if !tx.reliable && tx.sends <= a.cfg.STUNMaxRetransmissions {
			tx.rto *= 2
			a.sendTransaction(tx, now)
			continue
		}
		a.logTimeout(tx)
		a.txs.remove(tx)
		a.transactionFailed(tx, now)
	}
}

// transactionFailed handles a transaction that got no response.
// Called on the loop.
func (a *Agent) transactionFailed(tx *transaction, now time.Time) {
	switch tx.kind {
	case txDiscovery:
		a.stunFailed(tx, ErrSTUNTimeout)
		a.discoveryDone(tx.stream)
	case txCheck:
		p := tx.pair
		p.tx = nil
		if tx.gen != tx.stream.gen {
			return
		}
		if p.state == pairInProgress {
			tx.stream.checks.setState(p, pairFailed)
		}
		if tx.nominate && p.comp.nominating == p {
			p.comp.nominating = nil
		}
		if !tx.nominate && p.comp.renominate == p {
			p.comp.renominate = nil // Renominate's pair does not work
		}
		a.checkFailure(tx.comp, now)
	case txConsent:
		if tx.comp.consent.tx == tx {
			tx.comp.consent.tx = nil
		}
	}
}

// logRetransmit logs a retransmission of tx. Called on the loop.
func (a *Agent) logRetransmit(tx *transaction) {
	switch {
	case tx.kind == txCheck && a.debugOn(LogChecks):
		a.logPair("check.retransmit", tx.pair, "tx", txID(tx), "attempt", tx.sends, "rto", tx.rto)
	case tx.kind == txConsent && a.debugOn(LogConsent) && tx.pair != nil:
		a.logPair("consent.retransmit", tx.pair, "tx", txID(tx), "attempt", tx.sends, "rto", tx.rto)
	case tx.kind == txDiscovery && a.debugOn(LogGather):
		a.log.Debug("gather.stun-retransmit", "stream", tx.stream.id, "component", tx.comp.id, "local", tx.sock.local,
			"server", tx.dest, "tx", txID(tx), "attempt", tx.sends, "rto", tx.rto)
	}
}

// logTimeout logs a transaction that got no answer. Called on the loop.
func (a *Agent) logTimeout(tx *transaction) {
	switch {
	case tx.kind == txCheck && a.debugOn(LogChecks):
		a.logPair("check.timeout", tx.pair, "tx", txID(tx), "attempts", tx.sends, "nominate", tx.nominate)
	case tx.kind == txConsent && a.debugOn(LogConsent) && tx.pair != nil:
		a.logPair("consent.timeout", tx.pair, "tx", txID(tx), "attempts", tx.sends)
	}
	// txDiscovery: gather.stun-failed (stunFailed).
}

// measureRTT records the round trip of an answered check or consent check
// on its pair, unless the request was retransmitted (which transmission the
// answer is for is then unknown, as Karn's algorithm says). It returns the
// round trip, or 0. Called on the loop.
func measureRTT(tx *transaction, now time.Time) time.Duration {
	p := tx.pair
	if p == nil {
		return 0
	}
	p.ctr.responsesReceived++
	if tx.sends != 1 {
		return 0
	}
	rtt := now.Sub(tx.sentAt)
	p.ctr.rttCount++
	p.ctr.rttTotal += rtt
	p.ctr.rttCurrent = rtt
	return rtt
}

// handleResponse matches a response to its transaction. Called on the loop.
func (a *Agent) handleResponse(now time.Time, sk *socket, from netip.AddrPort, m *stun.Message) {
	tx, ok := a.txs.get(m.TransactionID)
	if !ok || tx.sock != sk {
		return
	}
	switch tx.kind {
	case txDiscovery:
		if from != tx.dest {
			return
		}
		a.txs.remove(tx)
		var mapped netip.AddrPort
		if m.Type.Class == stun.ClassSuccessResponse {
			mapped = mappedAddress(m)
			if !mapped.IsValid() {
				a.stunFailed(tx, fmt.Errorf("%w: success response without a mapped address", ErrSTUNRefused))
			}
		} else {
			a.stunFailed(tx, fmt.Errorf("%w: error response %d", ErrSTUNRefused, errorCode(m)))
		}
		a.onDiscoveryResponse(tx, mapped, now)
	case txCheck, txConsent:
		if checkIntegrity(m, tx.pwd) != nil {
			return // not from our peer: ignore, keep waiting (RFC 8445 §7.2.5.2)
		}
		a.txs.remove(tx)
		rtt := measureRTT(tx, now)
		if tx.kind == txConsent {
			if a.debugOn(LogConsent) && tx.pair != nil {
				a.logPair("consent.response", tx.pair, "tx", txID(tx), "code", errorCode(m), "rtt", rtt)
			}
			a.onConsentResponse(tx, from, m, now)
			return
		}
		if a.debugOn(LogChecks) {
			a.logPair("check.response", tx.pair, "tx", txID(tx), "code", errorCode(m), "rtt", rtt, "from", from, "mapped", mappedAddress(m))
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
	return stunx.CheckIntegrity(m, stringBytes(pwd))
}

const (
	txDiscovery txKind = iota // Binding request to the STUN server
	txCheck                   // connectivity check
	txConsent                 // consent freshness / keepalive request
)

// txTable holds the outstanding transactions: by id, for responses, and in a
// min-heap by deadline, for the timer, so that neither scans them all.
// A few (txListMax) are found by a search in order, in a list whose first
// array is in the table, as is the heap's: an idle agent's consent check,
// its one transaction, allocates neither (a map and a heap slice per check
// before); a map indexes them beyond. Owned by the loop.
type txTable struct {
	list  []*transaction // every transaction, in no order, while byID is nil
	byID  map[[stun.TransactionIDSize]byte]*transaction
	heap  txHeap
	list0 [2]*transaction // list's first array
	heap0 [2]*transaction // heap's first array
}

// txListMax is how many transactions the table keeps in its list before
// it indexes them by id.
const txListMax = 8

// get returns the transaction with id.
func (t *txTable) get(id [stun.TransactionIDSize]byte) (*transaction, bool) {
	if t.byID != nil {
		tx, ok := t.byID[id]
		return tx, ok
	}
	for _, tx := range t.list {
		if tx.id == id {
			return tx, true
		}
	}
	return nil, false
}

// len is the number of transactions.
func (t *txTable) len() int {
	if t.byID != nil {
		return len(t.byID)
	}
	return len(t.list)
}

func (t *txTable) add(tx *transaction) {
	tx.index = -1
	if t.byID == nil && len(t.list) < txListMax {
		if t.list == nil {
			t.list = t.list0[:0]
		}
		t.list = append(t.list, tx)
		return
	}
	if t.byID == nil {
		t.byID = make(map[[stun.TransactionIDSize]byte]*transaction, 2*txListMax)
		for _, o := range t.list {
			t.byID[o.id] = o
		}
		clear(t.list)
		t.list = nil
	}
	t.byID[tx.id] = tx
}

// remove forgets tx; removing it twice is harmless.
func (t *txTable) remove(tx *transaction) {
	if t.byID != nil {
		if t.byID[tx.id] != tx {
			return
		}
		delete(t.byID, tx.id)
	} else {
		i := slices.Index(t.list, tx)
		if i < 0 {
			return
		}
		last := len(t.list) - 1
		t.list[i] = t.list[last]
		t.list[last] = nil
		t.list = t.list[:last]
	}
	if tx.index >= 0 {
		heap.Remove(&t.heap, tx.index)
	}
	if t.len() == 0 {
		// Go maps never shrink, and a burst's slices would stay: an idle
		// agent keeps only the table's own arrays.
		t.byID, t.list = nil, t.list0[:0]
		if cap(t.heap) > len(t.heap0) {
			t.heap = t.heap0[:0]
		}
	}
}

// each calls f for every transaction, in no order.
func (t *txTable) each(f func(*transaction)) {
	if t.byID != nil {
		for _, tx := range t.byID {
			f(tx)
		}
		return
	}
	for _, tx := range t.list {
		f(tx)
	}
}

// setDeadline sets when tx is next due.
func (t *txTable) setDeadline(tx *transaction, d time.Time) {
	tx.deadline = d
	if tx.index < 0 {
		if t.heap == nil {
			t.heap = t.heap0[:0]
		}
		heap.Push(&t.heap, tx)
	} else {
		heap.Fix(&t.heap, tx.index)
	}
}

// next returns the earliest deadline, zero if none.
func (t *txTable) next() time.Time {
	if len(t.heap) == 0 {
		return time.Time{}
	}
	return t.heap[0].deadline
}

// expired returns a transaction whose deadline is not after now, or nil.
// It stays in the table.
func (t *txTable) expired(now time.Time) *transaction {
	if len(t.heap) == 0 || t.heap[0].deadline.After(now) {
		return nil
	}
	return t.heap[0]
}

// removeFunc removes the transactions for which drop is true. drop must
// not add transactions.
func (t *txTable) removeFunc(drop func(*transaction) bool) {
	if t.byID != nil {
		for _, tx := range t.byID { // deleting while ranging is allowed
			if drop(tx) {
				t.remove(tx)
			}
		}
		return
	}
	// From the end: remove moves the last transaction into the gap, and
	// that one has been seen.
	for i := len(t.list) - 1; i >= 0; i-- {
		if i >= len(t.list) {
			continue
		}
		if tx := t.list[i]; drop(tx) {
			t.remove(tx)
		}
	}
}

// txHeap orders transactions by deadline (container/heap).
type txHeap []*transaction

func (h txHeap) Len() int           { return len(h) }
func (h txHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h txHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *txHeap) Push(x any) {
	tx := x.(*transaction)
	tx.index = len(*h)
	*h = append(*h, tx)
}
func (h *txHeap) Pop() any {
	old := *h
	tx := old[len(old)-1]
	old[len(old)-1] = nil
	tx.index = -1
	*h = old[:len(old)-1]
	return tx
}
