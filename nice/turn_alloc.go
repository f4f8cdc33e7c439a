// SPDX-License-Identifier: MIT

package nice

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// turnAlloc is the client side of one TURN allocation (RFC 5766): its
// transactions, credentials, permissions and channels. It does no I/O and
// reads no clock: every method takes now, what it sends goes to out, and
// what happens is told to ev. The agent's loop owns it while the component
// lives; the component's releaser goroutine owns it afterwards (release).
//
// Timing (libnice's choices where it has one):
//   - the allocation is refreshed 60 s before it expires (at half its
//     lifetime when that is under 2 minutes);
//   - each permission (300 s) and channel (600 s) is refreshed 60 s before
//     it expires;
//   - over UDP a request is retransmitted after rto, doubling, 7 sends in
//     all, and given up 16×rto after the last (RFC 5389 §7.2.1); over TCP
//     and TLS it is sent once and given up after turnReliableRTOs×rto.
type turnAlloc struct {
	user, pass, software string
	reliable             bool
	rto                  time.Duration
	out                  func(p []byte) // sends a message to the server
	ev                   turnEvents
	log                  *slog.Logger
	debug                bool // LogTURN is on: log the debug events

	state     turnState
	realm     stun.Realm
	nonce     stun.Nonce
	key       stun.MessageIntegrity // long-term key, once the realm is known
	relayed   netip.AddrPort
	mapped    netip.AddrPort
	refreshAt time.Time // allocated: when to refresh

	txs      []*turnTx
	perms    map[netip.Addr]*turnPerm
	chans    map[netip.AddrPort]*turnChan
	nextChan uint16
}

// turnEvents receives what a turnAlloc learns. The calls are made from the
// turnAlloc's methods, on their goroutine.
type turnEvents interface {
	allocated(now time.Time, relayed, mapped netip.AddrPort)
	allocFailed(err error)
	// lost: the allocation is gone (ErrRelayLost, or a Refresh failed);
	// the turnAlloc is done.
	lost(now time.Time, err error)
	permitted(ip netip.Addr, ok bool)
	// binding: ch is asked for peer; the server may send ChannelData on
	// it as soon as it grants it, before the answer is handled.
	binding(peer netip.AddrPort, ch uint16)
	bound(peer netip.AddrPort, ch uint16, ok bool)
}

type turnState int

const (
	turnAllocating turnState = iota
	turnAllocated
	turnCancelled // given up while allocating: a late grant is released
	turnReleasing
	turnDone
)

// Lifetimes and refresh margins (RFC 5766 §8, §11; libnice's refresh).
const (
	turnPermissionLifetime = 300 * time.Second
	turnChannelLifetime    = 600 * time.Second
	turnRefreshMargin      = 60 * time.Second
	// turnMaxPeers bounds the permissions and channels of an allocation:
	// remote candidates come from the peer.
	turnMaxPeers = 64
	// turnMaxSends is Rc of RFC 5389 §7.2.1, turnLastWait its Rm.
	turnMaxSends = 7
	turnLastWait = 16
	// turnProbeSends is Rc of a probe (a Refresh asked because a relayed
	// path went silent): the path is already suspect, so it is given up
	// after four sends, rto doubling, and a last wait of twice the last
	// rto (7.5 s with rto 500 ms, as a connectivity check), not RFC 5389's
	// 39.5 s.
	turnProbeSends = 4
	// turnMaxStale bounds the 438 retries of one request.
	turnMaxStale = 1
)

type turnPerm struct {
	granted   bool
	asking    bool      // a CreatePermission is in flight
	refreshAt time.Time // granted: when to ask again
}

type turnChan struct {
	num       uint16
	bound     bool
	asking    bool
	refreshAt time.Time
}

// turnTx is a request in flight.
type turnTx struct {
	id     [stun.TransactionIDSize]byte
	method stun.Method
	peer   netip.AddrPort // CreatePermission, ChannelBind
	ch     uint16         // ChannelBind
	life   time.Duration  // Refresh: the LIFETIME asked (0 releases)
	signed bool
	stale  int  // 438 answers so far
	probe  bool // sent by probe: given up after turnProbeSends
	raw    []byte
	sends  int
	wait   time.Duration // until the next retransmission or the timeout
	due    time.Time
}

// start sends the first Allocate, unsigned: the server answers 401 with its
// realm and nonce (RFC 5389 §10.2).
func (t *turnAlloc) start(now time.Time) {
	t.request(now, &turnTx{method: stun.MethodAllocate})
}

// deadline is when tick must run next; zero if never.
func (t *turnAlloc) deadline() time.Time {
	var next time.Time
	for _, tx := range t.txs {
		next = earliest(next, tx.due)
	}
	if t.state != turnAllocated {
		return next
	}
	next = earliest(next, t.refreshAt)
	for _, p := range t.perms {
		if p.granted && !p.asking {
			next = earliest(next, p.refreshAt)
		}
	}
	for _, c := range t.chans {
		if c.bound && !c.asking {
			next = earliest(next, c.refreshAt)
		}
	}
	return next
}

// tick retransmits, gives up on transactions and refreshes what is due.
func (t *turnAlloc) tick(now time.Time) {
	for i := 0; i < len(t.txs); i++ {
		tx := t.txs[i]
		if now.Before(tx.due) {
			continue
		}
		if maxSends := tx.maxSends(); !t.reliable && tx.sends < maxSends {
			tx.sends++
			tx.wait *= 2
			if tx.sends == maxSends && !tx.probe {
				tx.wait = turnLastWait * t.rto
			}
			tx.due = now.Add(tx.wait)
			t.out(tx.raw)
			continue
		}
		t.txs = append(t.txs[:i], t.txs[i+1:]...)
		i--
		t.failed(now, tx, fmt.Errorf("%w: %v request unanswered", ErrRelayTimeout, tx.method))
	}
	if t.state != turnAllocated {
		return
	}
	if !t.refreshAt.IsZero() && !now.Before(t.refreshAt) {
		t.refreshAt = time.Time{}
		t.request(now, &turnTx{method: stun.MethodRefresh, life: -1, signed: true})
	}
	for ip, p := range t.perms {
		if p.granted && !p.asking && !now.Before(p.refreshAt) {
			t.askPermission(now, ip, p)
		}
	}
	for peer, c := range t.chans {
		if c.bound && !c.asking && !now.Before(c.refreshAt) {
			t.askChannel(now, peer, c)
		}
	}
}

// probe refreshes the allocation now, to learn whether the server still
// has it (the agent asks when a relayed path went silent, and on an ICE
// restart): if it does not, the answer is 437, and lost follows.
func (t *turnAlloc) probe(now time.Time) {
	if t.state != turnAllocated || slices.ContainsFunc(t.txs, func(tx *turnTx) bool { return tx.method == stun.MethodRefresh }) {
		return
	}
	t.refreshAt = time.Time{}
	t.request(now, &turnTx{method: stun.MethodRefresh, life: -1, signed: true, probe: true})
}

// maxSends is how many times tx is sent over UDP before it is given up.
func (tx *turnTx) maxSends() int {
	if tx.probe {
		return turnProbeSends
	}
	return turnMaxSends
}

// permit asks for a permission for peer's address and, once granted, a
// channel to peer. Repeated calls are no-ops.
func (t *turnAlloc) permit(now time.Time, peer netip.AddrPort) {
	if t.state == turnReleasing || t.state == turnDone || t.state == turnCancelled {
		return
	}
	if t.perms == nil {
		t.perms = map[netip.Addr]*turnPerm{}
		t.chans = map[netip.AddrPort]*turnChan{}
	}
	if _, ok := t.chans[peer]; !ok && len(t.chans) < turnMaxPeers && t.nextChan <= stunx.MaxChannel-stunx.MinChannel {
		t.chans[peer] = &turnChan{num: stunx.MinChannel + t.nextChan}
		t.nextChan++
	}
	ip := peer.Addr()
	p, ok := t.perms[ip]
	if !ok {
		if len(t.perms) >= turnMaxPeers {
			t.ev.permitted(ip, false)
			return
		}
		p = &turnPerm{}
		t.perms[ip] = p
		if t.state == turnAllocated {
			t.askPermission(now, ip, p)
		}
		return
	}
	if p.granted && t.state == turnAllocated {
		t.bindChannels(now, ip)
	}
}

func (t *turnAlloc) askPermission(now time.Time, ip netip.Addr, p *turnPerm) {
	p.asking = true
	t.request(now, &turnTx{method: stun.MethodCreatePermission, peer: netip.AddrPortFrom(ip, 0), signed: true})
}

func (t *turnAlloc) askChannel(now time.Time, peer netip.AddrPort, c *turnChan) {
	if !c.bound {
		t.ev.binding(peer, c.num)
	}
	c.asking = true
	t.request(now, &turnTx{method: stun.MethodChannelBind, peer: peer, ch: c.num, signed: true})
}

// bindChannels asks for the channels of ip's peers not yet bound.
func (t *turnAlloc) bindChannels(now time.Time, ip netip.Addr) {
	for peer, c := range t.chans {
		if peer.Addr() == ip && !c.bound && !c.asking {
			t.askChannel(now, peer, c)
		}
	}
}

// cancel gives up allocating (the gathering timeout, or the component
// ended). A signed Allocate in flight stays, so that a grant arriving
// later is released at once.
func (t *turnAlloc) cancel() {
	if t.state != turnAllocating {
		return
	}
	t.state = turnCancelled
	t.txs = slices.DeleteFunc(t.txs, func(tx *turnTx) bool { return !tx.signed })
	if len(t.txs) == 0 {
		t.state = turnDone
	}
}

// release frees the allocation (a Refresh with LIFETIME 0, RFC 5766 §7)
// and drops every other transaction. It reports whether there is an answer
// to wait for.
func (t *turnAlloc) release(now time.Time) bool {
	if t.state == turnReleasing {
		return true // a late grant being given back (succeeded)
	}
	t.txs = nil
	if t.state != turnAllocated {
		t.state = turnDone
		return false
	}
	t.state = turnReleasing
	t.request(now, &turnTx{method: stun.MethodRefresh, signed: true})
	return true
}

// done reports whether nothing is left to do (released, or failed).
func (t *turnAlloc) done() bool { return t.state == turnDone }

// request builds tx's message, sends it and tracks it.
func (t *turnAlloc) request(now time.Time, tx *turnTx) {
	setters := make([]stun.Setter, 0, 10)
	setters = append(setters, stun.TransactionID, stun.NewType(tx.method, stun.ClassRequest))
	switch tx.method {
	case stun.MethodAllocate:
		setters = append(setters, stunx.ProtoUDP)
	case stun.MethodRefresh:
		if tx.life >= 0 {
			setters = append(setters, stunx.Lifetime(tx.life))
		}
	case stun.MethodCreatePermission:
		setters = append(setters, stunx.XORPeerAddress(tx.peer))
	case stun.MethodChannelBind:
		setters = append(setters, stunx.ChannelNumber(tx.ch), stunx.XORPeerAddress(tx.peer))
	}
	if t.software != "" {
		setters = append(setters, stun.NewSoftware(t.software))
	}
	if tx.signed && t.key != nil {
		setters = append(setters, stun.NewUsername(t.user), t.realm, t.nonce, t.key)
	}
	setters = append(setters, stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		t.failed(now, tx, err)
		return
	}
	tx.id, tx.raw, tx.sends = m.TransactionID, m.Raw, 1
	tx.wait = t.rto
	if t.reliable {
		tx.wait = turnReliableRTOs * t.rto
	}
	tx.due = now.Add(tx.wait)
	t.txs = append(t.txs, tx)
	t.out(tx.raw)
}

// handle takes a message from the server. m is not kept.
func (t *turnAlloc) handle(now time.Time, m *stun.Message) {
	i := -1
	for j, tx := range t.txs {
		if tx.id == m.TransactionID && tx.method == m.Type.Method {
			i = j
			break
		}
	}
	if i < 0 || m.Type.Class != stun.ClassSuccessResponse && m.Type.Class != stun.ClassErrorResponse {
		return // a late retransmission's answer, or not for us
	}
	tx := t.txs[i]
	if m.Type.Class == stun.ClassSuccessResponse && tx.signed && t.key != nil && m.Contains(stun.AttrMessageIntegrity) &&
		stunx.CheckIntegrity(m, t.key) != nil {
		return // forged or corrupt: keep waiting (RFC 5389 §10.2.3)
	}
	t.txs = append(t.txs[:i], t.txs[i+1:]...)
	if m.Type.Class == stun.ClassSuccessResponse {
		t.succeeded(now, tx, m)
		return
	}
	var ec stun.ErrorCodeAttribute
	if ec.GetFrom(m) != nil {
		t.failed(now, tx, errors.New("error response without ERROR-CODE"))
		return
	}
	var nonce stun.Nonce
	switch {
	case ec.Code == stun.CodeUnauthorized && !tx.signed && tx.method == stun.MethodAllocate:
		// The long-term credential challenge.
		var realm stun.Realm
		if realm.GetFrom(m) != nil || nonce.GetFrom(m) != nil {
			t.failed(now, tx, errors.New("401 without REALM and NONCE"))
			return
		}
		// pion's text getters alias m: keep copies.
		t.realm, t.nonce = slices.Clone(realm), slices.Clone(nonce)
		t.key = stun.NewLongTermIntegrity(t.user, realm.String(), t.pass)
		if t.debug {
			t.log.Debug("turn.challenge", "realm", realm.String())
		}
		t.retry(now, tx)
	case ec.Code == stun.CodeStaleNonce && tx.signed && tx.stale < turnMaxStale && nonce.GetFrom(m) == nil:
		t.nonce = slices.Clone(nonce)
		tx.stale++
		if t.debug {
			t.log.Debug("turn.stale-nonce", "method", tx.method)
		}
		t.retry(now, tx)
	default:
		err := fmt.Errorf("TURN server answered %v with %d", tx.method, ec.Code)
		if len(ec.Reason) > 0 {
			err = fmt.Errorf("%w %s", err, ec.Reason)
		}
		if tx.method != stun.MethodAllocate && (ec.Code == stun.CodeAllocMismatch || ec.Code == stun.CodeBadRequest && tx.stale > 0) {
			// No allocation on this 5-tuple: the server restarted or
			// dropped it (RFC 5766 §7.2, §9.2, §11.2). coturn, once it
			// has closed an allocation, answers 438 and then, to the
			// request signed with its new nonce, 400 (issue 14).
			err = fmt.Errorf("%w: %v", ErrRelayLost, err)
		}
		if tx.method == stun.MethodAllocate && tx.signed && (ec.Code == stun.CodeUnauthorized || ec.Code == stun.CodeBadRequest) {
			// An error to the signed request refuses the credentials: 401
			// (RFC 5389 §10.2.2; coturn) or 400 (pion's server).
			err = fmt.Errorf("%w: %v", ErrRelayUnauthorized, err)
		}
		t.failed(now, tx, err)
	}
}

// retry sends tx again, signed with the current realm and nonce.
func (t *turnAlloc) retry(now time.Time, tx *turnTx) {
	if t.state == turnCancelled && tx.method == stun.MethodAllocate {
		t.state = turnDone
		return
	}
	t.request(now, &turnTx{method: tx.method, peer: tx.peer, ch: tx.ch, life: tx.life, signed: true, stale: tx.stale, probe: tx.probe})
}

func (t *turnAlloc) succeeded(now time.Time, tx *turnTx, m *stun.Message) {
	var life stunx.Lifetime
	_ = life.GetFrom(m)
	switch tx.method {
	case stun.MethodAllocate:
		var relayed stunx.XORRelayedAddress
		if err := relayed.GetFrom(m); err != nil {
			t.failed(now, tx, fmt.Errorf("Allocate answer without XOR-RELAYED-ADDRESS: %w", err))
			return
		}
		var mapped stunx.XORMappedAddress
		_ = mapped.GetFrom(m)
		cancelled := t.state == turnCancelled
		t.state = turnAllocated
		t.relayed, t.mapped = unmap(netip.AddrPort(relayed)), unmap(netip.AddrPort(mapped))
		t.scheduleRefresh(now, time.Duration(life))
		if t.debug {
			t.log.Debug("turn.allocate-succeeded", "relayed", t.relayed, "mapped", t.mapped, "lifetime", time.Duration(life))
		}
		if cancelled {
			t.release(now) // granted too late: give it back
			return
		}
		for ip, p := range t.perms {
			t.askPermission(now, ip, p)
		}
		t.ev.allocated(now, t.relayed, t.mapped)
	case stun.MethodRefresh:
		if t.state == turnReleasing {
			t.state = turnDone
			if t.debug {
				t.log.Debug("turn.released")
			}
			return
		}
		t.scheduleRefresh(now, time.Duration(life))
		if t.debug {
			t.log.Debug("turn.refreshed", "lifetime", time.Duration(life))
		}
	case stun.MethodCreatePermission:
		ip := tx.peer.Addr()
		p := t.perms[ip]
		if p == nil || t.state != turnAllocated {
			return
		}
		p.asking = false
		p.refreshAt = now.Add(turnPermissionLifetime - turnRefreshMargin)
		if t.debug {
			t.log.Debug("turn.permission", "peer", ip)
		}
		if !p.granted {
			p.granted = true
			t.ev.permitted(ip, true)
		}
		t.bindChannels(now, ip)
	case stun.MethodChannelBind:
		c := t.chans[tx.peer]
		if c == nil || t.state != turnAllocated {
			return
		}
		c.asking = false
		c.refreshAt = now.Add(turnChannelLifetime - turnRefreshMargin)
		if t.debug {
			t.log.Debug("turn.channel", "peer", tx.peer, "channel", c.num)
		}
		if !c.bound {
			c.bound = true
			t.ev.bound(tx.peer, c.num, true)
		}
	}
}

// scheduleRefresh plans the allocation's refresh for a lifetime of life
// (the server's default of 600 s when the answer has none).
func (t *turnAlloc) scheduleRefresh(now time.Time, life time.Duration) {
	if life <= 0 {
		life = turnChannelLifetime
	}
	if life >= 2*turnRefreshMargin {
		t.refreshAt = now.Add(life - turnRefreshMargin)
	} else {
		t.refreshAt = now.Add(life / 2)
	}
}

// lose ends an allocation the server no longer has. It is done: nothing
// is refreshed or sent any more.
func (t *turnAlloc) lose(now time.Time, err error) {
	if t.state != turnAllocated {
		return
	}
	t.state = turnDone
	t.txs = nil
	if !errors.Is(err, ErrRelayLost) {
		err = fmt.Errorf("%w: %w", ErrRelayLost, err)
	}
	t.ev.lost(now, err)
}

// failed ends tx with err.
func (t *turnAlloc) failed(now time.Time, tx *turnTx, err error) {
	if t.debug {
		t.log.Debug("turn.request-failed", "method", tx.method, "err", err)
	}
	if errors.Is(err, ErrRelayLost) && t.state == turnAllocated {
		t.lose(now, err)
		return
	}
	switch tx.method {
	case stun.MethodAllocate:
		if t.state == turnAllocating {
			t.state = turnDone
			t.ev.allocFailed(err)
		} else if t.state == turnCancelled {
			t.state = turnDone
		}
	case stun.MethodRefresh:
		if t.state == turnReleasing {
			t.state = turnDone // gone or refused: nothing more to do
			return
		}
		// The allocation is lost, or soon will be: the server frees it
		// when its lifetime ends (RFC 5766 §7).
		t.log.Warn("nice: TURN allocation could not be refreshed", "err", err)
		t.lose(now, err)
		return
	case stun.MethodCreatePermission:
		ip := tx.peer.Addr()
		if p := t.perms[ip]; p != nil {
			delete(t.perms, ip)
			t.ev.permitted(ip, false)
		}
	case stun.MethodChannelBind:
		if c := t.chans[tx.peer]; c != nil {
			c.asking = false
			if c.bound {
				c.bound = false
				t.ev.bound(tx.peer, c.num, false)
			}
		}
	}
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// unreachable: the server's address answered one of the allocation's
// datagrams with an ICMP error (err wraps ErrUnreachable). The requests in
// flight end at once, as at their timeouts: an Allocate fails, a Refresh
// loses the allocation. With none in flight, an allocated allocation is
// probed: its Refresh ends the same way if the server is still
// unreachable, and the server's answer settles it if it is not (the ICMP
// error may be stale, or forged).
func (t *turnAlloc) unreachable(now time.Time, err error) {
	if t.reliable {
		return // TCP and TLS learn of it from their connection
	}
	if len(t.txs) == 0 {
		t.probe(now)
		return
	}
	txs := t.txs
	t.txs = nil
	for _, tx := range txs {
		t.failed(now, tx, fmt.Errorf("%w: %v request", err, tx.method))
	}
	if t.state == turnAllocated {
		t.probe(now)
	}
}
