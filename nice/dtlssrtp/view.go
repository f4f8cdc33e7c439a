// SPDX-License-Identifier: MIT

package dtlssrtp

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gonice/gonice/nice"
)

// view is the net.Conn pion/dtls runs on: Read gives only the DTLS records
// the component's receive function queued; Write sends on the component's
// selected pair. Closing it ends pending and later Reads.
type view struct {
	agent    *nice.Agent
	sid, cid int

	in     chan []byte // DTLS datagrams, copies; bounded: a full queue drops
	closed chan struct{}
	once   sync.Once

	// closing makes deadlines no longer wake Read: pion/dtls's Close
	// cancels its reader (by a past read deadline) before it sends
	// close_notify, and the reader, woken, closes the connection, so that
	// the alert is lost if it wins the race. With closing set the reader
	// stays in Read until Close closes the view after the alert.
	closing atomic.Bool

	mu   sync.Mutex
	dl   time.Time     // read deadline
	wake chan struct{} // closed and replaced when dl changes
	// pending holds the datagrams clientProfiles took from in before pion
	// started; Read returns them first, in order.
	pending [][]byte
}

// viewQueue bounds the DTLS datagrams waiting for pion: a whole flight of
// a handshake with room to spare.
const viewQueue = 64

func newView(a *nice.Agent, sid, cid int) *view {
	return &view{agent: a, sid: sid, cid: cid, in: make(chan []byte, viewQueue),
		closed: make(chan struct{}), wake: make(chan struct{})}
}

// push queues a copy of a DTLS datagram; called on a reader goroutine.
// It reports false when the queue is full or the view closed.
func (v *view) push(p []byte) bool {
	select {
	case <-v.closed:
		return false
	default:
	}
	select {
	case v.in <- append([]byte(nil), p...): // DTLS is not the media path: a copy per record is fine
		return true
	default:
		return false
	}
}

func (v *view) Read(p []byte) (int, error) {
	for {
		v.mu.Lock()
		if len(v.pending) > 0 {
			b := v.pending[0]
			v.pending = v.pending[1:]
			v.mu.Unlock()
			return copy(p, b), nil
		}
		dl, wake := v.dl, v.wake
		v.mu.Unlock()
		var timer <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return 0, os.ErrDeadlineExceeded
			}
			t := time.NewTimer(d)
			defer t.Stop()
			timer = t.C
		}
		select {
		case b := <-v.in:
			return copy(p, b), nil
		case <-v.closed:
			return 0, net.ErrClosed
		case <-wake: // the deadline changed: look again
		case <-timer:
			return 0, os.ErrDeadlineExceeded
		}
	}
}

// clientProfiles reads queued datagrams until the first ClientHello is
// whole and returns the SRTP profiles it offers (hello.go); what it read
// stays queued for pion. errNotHello: what came is not a ClientHello that
// can be read within the bounds.
func (v *view) clientProfiles(ctx context.Context) ([]Profile, error) {
	h := newHelloAssembler()
	for range maxHelloRecords {
		var b []byte
		select {
		case b = <-v.in:
		case <-v.closed:
			return nil, net.ErrClosed
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		v.mu.Lock()
		v.pending = append(v.pending, b)
		v.mu.Unlock()
		body, err := h.add(b)
		if err != nil {
			return nil, err
		}
		if body != nil {
			return helloProfiles(body)
		}
	}
	return nil, errNotHello
}

func (v *view) Write(p []byte) (int, error) {
	select {
	case <-v.closed:
		return 0, net.ErrClosed
	default:
	}
	return v.agent.Send(v.sid, v.cid, p)
}

func (v *view) Close() error {
	v.once.Do(func() { close(v.closed) })
	return nil
}

func (v *view) SetDeadline(t time.Time) error { return v.SetReadDeadline(t) }

func (v *view) SetReadDeadline(t time.Time) error {
	if v.closing.Load() {
		return nil
	}
	v.mu.Lock()
	v.dl = t
	close(v.wake)
	v.wake = make(chan struct{})
	v.mu.Unlock()
	return nil
}

// SetWriteDeadline is accepted and ignored: Send never blocks.
func (v *view) SetWriteDeadline(time.Time) error { return nil }

func (v *view) LocalAddr() net.Addr  { return componentAddr{v.sid, v.cid} }
func (v *view) RemoteAddr() net.Addr { return componentAddr{v.sid, v.cid} }

// componentAddr names a component where pion wants an address (its logs).
type componentAddr struct{ sid, cid int }

func (componentAddr) Network() string { return "ice" }
func (c componentAddr) String() string {
	return "stream " + strconv.Itoa(c.sid) + " component " + strconv.Itoa(c.cid)
}
