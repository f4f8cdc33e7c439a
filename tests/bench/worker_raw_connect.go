// SPDX-License-Identifier: MIT

package main

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// rawGoConnect is the connect test's raw reference (tests/bench/README.md,
// connect): two raw-UDP round trips between two sockets on 127.0.0.1, with
// the hops of an agent pair's regular nomination. Each socket is read by a
// goroutine of its own, started (and parked in the netpoller) before t0, as
// an agent's reader is after gathering. At t0 the calling goroutine sends
// A's first request (as SetRemoteCandidates does: the agent's loop runs on
// the caller's goroutine and sends the first check); B's reader answers
// each request; A's reader sends the second request when the first answer
// arrives (the nominating check) and stamps "A done" when the second
// arrives; B stamps "B done" when it has answered the second request. The
// sample is the later stamp minus t0: four one-way trips, each ending in a
// goroutine woken by the netpoller.
//
// With --stamp goroutine (not in the rounds: for finding what the agents'
// extra cost is), each side's stamp is taken on a goroutine started at
// that point, as gonice's signals are delivered by a dispatcher goroutine
// started when the loop queues them.
func rawGoConnect(runs int, stamp string) {
	switch stamp {
	case "reader":
	case "goroutine":
		stampOnGoroutine = true
	default:
		fatalf("--stamp reader|goroutine, not %q", stamp)
	}
	connectSamples(runs, func() (t0, ready time.Time, err error) {
		a, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return t0, ready, err
		}
		defer a.Close()
		b, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return t0, ready, err
		}
		defer b.Close()
		aAddr := a.LocalAddr().(*net.UDPAddr).AddrPort()
		bAddr := b.LocalAddr().(*net.UDPAddr).AddrPort()
		doneA, doneB := make(chan time.Time, 1), make(chan time.Time, 1)
		// A STUN Binding request with credentials is about 100 bytes.
		msg := make([]byte, 100)
		pingPong := func(c *net.UDPConn, peer netip.AddrPort, replies int, done chan<- time.Time, answer bool) {
			buf := make([]byte, 2048)
			for i := range replies {
				if _, _, err := c.ReadFromUDPAddrPort(buf); err != nil {
					close(done)
					return
				}
				if answer || i+1 < replies {
					if _, err := c.WriteToUDPAddrPort(msg, peer); err != nil {
						close(done)
						return
					}
				}
			}
			if stampOnGoroutine {
				// As an agent's READY: the loop queues the signal and a
				// dispatcher goroutine, started then, calls the handler.
				go func() { done <- time.Now() }()
				return
			}
			done <- time.Now()
		}
		go pingPong(a, bAddr, 2, doneA, false) // answer 1 → request 2; answer 2 → done
		go pingPong(b, aAddr, 2, doneB, true)  // request → answer, twice
		// The readers park in the netpoller, as agents' readers have long
		// before the checks start.
		time.Sleep(2 * time.Millisecond)
		t0 = time.Now()
		if _, err := a.WriteToUDPAddrPort(msg, bAddr); err != nil {
			return t0, ready, err
		}
		timeout := time.After(10 * time.Second)
		var ts [2]time.Time
		for i, ch := range []chan time.Time{doneA, doneB} {
			select {
			case t, ok := <-ch:
				if !ok {
					return t0, ready, net.ErrClosed
				}
				ts[i] = t
			case <-timeout:
				return t0, ready, errors.New("the ping-pong did not finish in 10 s")
			}
		}
		return t0, later(ts[0], ts[1]), nil
	})
}

// stampOnGoroutine is --stamp goroutine.
var stampOnGoroutine bool
