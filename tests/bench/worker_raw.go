// SPDX-License-Identifier: MIT

package main

import (
	"net"
	"sync/atomic"
	"time"
)

// rawGoWorker is the reference: plain Go UDP on 127.0.0.1, one sender and
// one receiver goroutine, WriteToUDPAddrPort / ReadFromUDPAddrPort (0
// allocations), the receiver's SO_RCVBUF at 4 MB.
func rawGoWorker(test string, o options) {
	if test == "connect" {
		rawGoConnect(o.runs, o.stamp)
		return
	}
	if test != "throughput" {
		fatalf("raw-go: %s is not applicable", test)
	}
	rc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fatalf("listen: %v", err)
	}
	_ = rc.SetReadBuffer(4 << 20)
	sc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fatalf("listen: %v", err)
	}
	dst := rc.LocalAddr().(*net.UDPAddr).AddrPort()
	var rx atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := rc.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
			rx.Add(1)
		}
	}()
	buf := make([]byte, o.size)
	buf[0] = 0x80
	res := flood(o, &rx, func() (int, error) {
		if _, err := sc.WriteToUDPAddrPort(buf, dst); err != nil {
			return 0, err
		}
		return 1, nil
	})
	_ = rc.SetReadDeadline(time.Now())
	<-done
	rc.Close()
	sc.Close()
	emit(res)
}
