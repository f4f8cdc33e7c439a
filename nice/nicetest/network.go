// SPDX-License-Identifier: MIT

package nicetest

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// DefaultSeed is the seed of a new Network's loss generator.
const DefaultSeed = 1

// maxHops bounds the NATs one datagram may cross, against routing loops.
const maxHops = 32

// Network is an in-memory IP network: a public segment with hosts and NAT
// routers, and the private segments behind the NATs. Its methods are safe
// for concurrent use. The zero value is not usable; call NewNetwork.
type Network struct {
	// mu guards everything below and the state of every Host, NAT and
	// socket of the network. It is held only for short, non-blocking
	// critical sections.
	mu     sync.Mutex
	public *segment
	hosts  []*Host
	closed bool

	rng   *rand.Rand
	loss  float64
	delay time.Duration
	tap   func(from, to netip.AddrPort, b []byte)
	stats Stats

	// Datagrams in flight when there is a delay, earliest first, and the
	// one timer that delivers the head of the queue.
	queue    flightQueue
	seq      uint64
	timer    *time.Timer
	timerAt  time.Time
	timerGen uint64
	inflight sync.WaitGroup // armed timers whose callback has not returned
}

// segment is one address space: the public one, or the private one behind
// a NAT (up).
type segment struct {
	up    *NAT
	hosts map[netip.Addr]*Host
	nats  map[netip.Addr]*NAT // NATs whose public address is on this segment
}

// claimLocked panics if a is already used on the segment.
func (s *segment) claimLocked(a netip.Addr) {
	if s.hosts[a] != nil || s.nats[a] != nil {
		panic(fmt.Sprintf("nicetest: address %v already in use on its segment", a))
	}
}

// Stats counts datagrams. For a Network it counts every datagram; for a
// Host, Sent and the drop counters count the datagrams the host sent, and
// Received the datagrams delivered to it.
type Stats struct {
	// Sent counts datagrams written to a socket.
	Sent uint64
	// Received counts datagrams queued at a receiving socket.
	Received uint64
	// Lost counts datagrams dropped by the loss probability.
	Lost uint64
	// Blocked counts datagrams dropped because their sender or receiver
	// was blocked by Host.Block.
	Blocked uint64
	// Filtered counts datagrams dropped by a NAT: no live mapping for the
	// destination port, or filtering refused the source (RFC 4787 §5).
	Filtered uint64
	// Unroutable counts datagrams whose destination address is on no
	// segment reachable from the sender, or whose port has no socket.
	Unroutable uint64
	// Overflow counts datagrams dropped because the receiving socket's
	// queue was full.
	Overflow uint64
}

// NewNetwork returns an empty network with no loss, no delay and a loss
// generator seeded with DefaultSeed.
func NewNetwork() *Network {
	return &Network{
		public: &segment{hosts: make(map[netip.Addr]*Host), nats: make(map[netip.Addr]*NAT)},
		rng:    rand.New(rand.NewPCG(DefaultSeed, DefaultSeed)),
	}
}

// NewHost attaches a host with the given addresses to the public segment.
// It panics if no address is given, or if an address is invalid or already
// used on the public segment.
func (n *Network) NewHost(addrs ...netip.Addr) *Host {
	return newHost(n, n.public, addrs)
}

// NewNAT attaches a NAT router to the public segment by its public
// address; hosts go behind it with NAT.NewHost. It panics if cfg holds an
// unknown behaviour or a negative lifetime, or if public is invalid or
// already used on the public segment.
func (n *Network) NewNAT(cfg NATConfig, public netip.Addr) *NAT {
	return newNAT(n, cfg, public, n.public)
}

// SetSeed reseeds the generator that decides which datagrams are lost.
func (n *Network) SetSeed(seed uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.rng = rand.New(rand.NewPCG(seed, seed))
}

// SetLoss sets the probability, from 0 to 1, that any datagram is lost.
// Each datagram is decided once, when it is sent. SetLoss panics if p is
// outside [0, 1].
func (n *Network) SetLoss(p float64) {
	checkProb(p)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.loss = p
}

// SetDelay sets the one-way latency added to every datagram. With 0, the
// default, and no Host.SetDelay, datagrams are delivered before
// WriteToUDPAddrPort returns. Datagrams
// with equal delays arrive in the order they were sent. A datagram is
// routed through NATs when it is sent and handed to the receiving socket
// when its delay has elapsed. SetDelay panics if d is negative.
func (n *Network) SetDelay(d time.Duration) {
	if d < 0 {
		panic("nicetest: negative delay")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.delay = d
}

// SetTap installs f to observe traffic, or removes it if f is nil. f is
// called once for every datagram a socket writes, with the sending
// socket's source address and the destination, before loss, blocking, NAT
// translation and filtering apply. It is called synchronously by
// WriteToUDPAddrPort, before the datagram can be received, without the
// network's lock held, so f may use the network but may be called
// concurrently from several goroutines. f must not modify or retain b.
func (n *Network) SetTap(f func(from, to netip.AddrPort, b []byte)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.tap = f
}

// Stats returns the counters of every datagram sent on the network.
func (n *Network) Stats() Stats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats
}

// Close closes every socket of the network, so that blocked reads return
// an error wrapping net.ErrClosed, and discards datagrams in flight. Later
// ListenUDP calls fail. Once Close returns, no goroutine started by the
// network's timers is left. Close is idempotent and returns nil.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for _, h := range n.hosts {
		h.closeAllLocked()
	}
	if n.timer != nil && n.timer.Stop() {
		n.inflight.Done()
	}
	n.timer = nil
	n.queue = nil
	n.mu.Unlock()
	n.inflight.Wait()
	return nil
}

func checkProb(p float64) {
	if !(p >= 0 && p <= 1) {
		panic(fmt.Sprintf("nicetest: probability %v outside [0, 1]", p))
	}
}

func checkAddr(a netip.Addr) netip.Addr {
	if !a.IsValid() || a.IsUnspecified() {
		panic(fmt.Sprintf("nicetest: invalid address %v", a))
	}
	return a.Unmap().WithZone("")
}

// lostLocked draws whether a datagram is lost with probability p.
func (n *Network) lostLocked(p float64) bool {
	return p > 0 && n.rng.Float64() < p
}

// sendLocked routes a datagram that sender writes from src to dst.
func (n *Network) sendLocked(sender *Host, src, dst netip.AddrPort, data []byte) {
	n.stats.Sent++
	sender.stats.Sent++
	if sender.blocked {
		n.count(sender, func(s *Stats) { s.Blocked++ })
		return
	}
	if n.lostLocked(n.loss) || n.lostLocked(sender.loss) {
		n.count(sender, func(s *Stats) { s.Lost++ })
		return
	}
	now := time.Now()
	seg := sender.seg
	var target *Host
	for range maxHops {
		if h := seg.hosts[dst.Addr()]; h != nil {
			target = h
			break
		}
		if nat := seg.nats[dst.Addr()]; nat != nil {
			m := nat.inboundLocked(dst.Port(), src, now)
			if m == nil {
				n.count(sender, func(s *Stats) { s.Filtered++ })
				return
			}
			dst = m.key.internal
			seg = nat.inner
			continue
		}
		nat := seg.up
		if nat == nil || nat.public.Is4() != dst.Addr().Is4() {
			break
		}
		m := nat.outboundLocked(src, dst, now)
		if m == nil {
			n.count(sender, func(s *Stats) { s.Filtered++ })
			return
		}
		src = netip.AddrPortFrom(nat.public, m.port)
		seg = nat.outer
	}
	if target == nil {
		n.count(sender, func(s *Stats) { s.Unroutable++ })
		return
	}
	if n.lostLocked(target.loss) {
		n.count(sender, func(s *Stats) { s.Lost++ })
		return
	}
	d := n.delay + sender.delay + target.delay
	if d == 0 {
		n.deliverLocked(sender, target, src, dst, data)
		return
	}
	n.seq++
	heap.Push(&n.queue, &flight{
		at: now.Add(d), seq: n.seq,
		sender: sender, target: target, src: src, dst: dst, data: data,
	})
	n.scheduleLocked(now)
}

// count applies f to the network's and the sender's counters.
func (n *Network) count(sender *Host, f func(*Stats)) {
	f(&n.stats)
	f(&sender.stats)
}

// deliverLocked queues a datagram at target's socket bound to dst.
func (n *Network) deliverLocked(sender, target *Host, src, dst netip.AddrPort, data []byte) {
	if target.blocked {
		n.count(sender, func(s *Stats) { s.Blocked++ })
		return
	}
	c := target.lookupLocked(dst)
	if c == nil {
		n.count(sender, func(s *Stats) { s.Unroutable++ })
		return
	}
	select {
	case c.in <- packet{from: src, data: data}:
		n.stats.Received++
		target.stats.Received++
	default:
		n.count(sender, func(s *Stats) { s.Overflow++ })
	}
}

// scheduleLocked makes sure a timer fires when the head of the queue is
// due. It never resets a timer: it stops the old one and arms a new one,
// so that each callback knows by its generation whether it is current.
func (n *Network) scheduleLocked(now time.Time) {
	if len(n.queue) == 0 {
		return
	}
	at := n.queue[0].at
	if n.timer != nil {
		if !n.timerAt.After(at) {
			return
		}
		if n.timer.Stop() {
			n.inflight.Done()
		}
	}
	n.timerGen++
	gen := n.timerGen
	n.timerAt = at
	n.inflight.Add(1)
	n.timer = time.AfterFunc(at.Sub(now), func() { n.fire(gen) })
}

// fire delivers every datagram that is due and arms the timer for the next.
func (n *Network) fire(gen uint64) {
	defer n.inflight.Done()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if gen == n.timerGen {
		n.timer = nil
	}
	now := time.Now()
	for len(n.queue) > 0 && !n.queue[0].at.After(now) {
		f := heap.Pop(&n.queue).(*flight)
		n.deliverLocked(f.sender, f.target, f.src, f.dst, f.data)
	}
	n.scheduleLocked(now)
}

// flight is a delayed datagram.
type flight struct {
	at             time.Time
	seq            uint64
	sender, target *Host
	src, dst       netip.AddrPort
	data           []byte
}

// flightQueue is a heap of datagrams by arrival time, then sending order.
type flightQueue []*flight

func (q flightQueue) Len() int { return len(q) }
func (q flightQueue) Less(i, j int) bool {
	if q[i].at.Equal(q[j].at) {
		return q[i].seq < q[j].seq
	}
	return q[i].at.Before(q[j].at)
}
func (q flightQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *flightQueue) Push(x any)   { *q = append(*q, x.(*flight)) }
func (q *flightQueue) Pop() any {
	old := *q
	f := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return f
}
