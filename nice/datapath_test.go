// SPDX-License-Identifier: MIT

package nice_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gonice/gonice/nice"
)

func TestRecvAndConn(t *testing.T) {
	a, ra, sa := newLoopbackAgent(t, nice.Config{Controlling: true}, 1)
	b, rb, sb := newLoopbackAgent(t, nice.Config{}, 1)
	for _, x := range []struct {
		ag  *nice.Agent
		sid int
	}{{a, sa}, {b, sb}} {
		if err := x.ag.GatherCandidates(x.sid); err != nil {
			t.Fatal(err)
		}
	}
	ra.waitGathered(t, sa)
	rb.waitGathered(t, sb)
	exchange(t, a, b, sa, sb, 1)
	exchange(t, b, a, sb, sa, 1)
	ra.waitState(t, sa, 1, nice.ComponentStateReady, 10*time.Second)
	rb.waitState(t, sb, 1, nice.ComponentStateReady, 10*time.Second)

	conn, err := b.Conn(sb, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(sa, 1, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := conn.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	n, err = a.Recv(sa, 1, buf)
	if err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("Recv = %q, %v", buf[:n], err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := conn.Read(buf); err == nil || !errors.Is(err, nice.ErrTimeout) {
		t.Fatalf("Read after deadline = %v, want timeout", err)
	}
	// Recv unblocks on Close.
	done := make(chan error, 1)
	go func() {
		_, err := a.Recv(sa, 1, buf)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	a.Close()
	select {
	case err := <-done:
		if !errors.Is(err, nice.ErrClosed) {
			t.Fatalf("Recv after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv did not return after Close")
	}
	if _, err := a.AddStream(1); !errors.Is(err, nice.ErrClosed) {
		t.Fatalf("AddStream after Close = %v, want ErrClosed", err)
	}
	_ = bytes.MinRead
	_ = strings.TrimSpace
}

// TestSendMessages: a batch of datagrams crosses in order and whole, in
// several sendmmsg calls (more than one batch's worth), and before a pair
// is selected SendMessages fails as Send does.
func TestSendMessages(t *testing.T) {
	lone, _, sl := newLoopbackAgent(t, nice.Config{}, 1)
	if n, err := lone.SendMessages(sl, 1, [][]byte{[]byte("early")}); n != 0 || !errors.Is(err, nice.ErrNotReady) {
		t.Fatalf("SendMessages before READY = %d, %v; want 0, ErrNotReady", n, err)
	}
	if _, err := lone.SendMessages(sl, 7, nil); !errors.Is(err, nice.ErrInvalidComponent) {
		t.Fatalf("SendMessages to component 7 = %v, want ErrInvalidComponent", err)
	}
	a, b, sa, sb := connectedPair(t, 1, nice.Config{Controlling: true}, nice.Config{})

	const count = 150 // three sendmmsg calls of at most 64
	got := make(chan string, count)
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	msgs := make([][]byte, count)
	for i := range msgs {
		msgs[i] = []byte(fmt.Sprintf("message %03d %s", i, strings.Repeat("x", i)))
	}
	if n, err := a.SendMessages(sa, 1, msgs); n != count || err != nil {
		t.Fatalf("SendMessages = %d, %v; want %d, nil", n, err, count)
	}
	for i := range count {
		select {
		case s := <-got:
			if s != string(msgs[i]) {
				t.Fatalf("datagram %d = %q, want %q", i, s, msgs[i])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d datagrams arrived", i, count)
		}
	}
	if n, err := a.SendMessages(sa, 1, nil); n != 0 || err != nil {
		t.Fatalf("SendMessages of nothing = %d, %v", n, err)
	}
}

// TestLargeDatagramsAmongSmall: the largest datagrams UDP carries, sent in
// one burst among small ones, reach the receive function whole and in
// order (the socket's reader reads in batches whose every slot holds the
// largest datagram: recv_linux.go).
func TestLargeDatagramsAmongSmall(t *testing.T) {
	a, b, sa, sb := connectedPair(t, 1, nice.Config{Controlling: true}, nice.Config{})
	var msgs [][]byte
	for i := range 60 {
		size := 1200
		switch i % 7 {
		case 3:
			size = 65535 - 20 - 8 // the largest UDP payload over IPv4
		case 5:
			size = 9000
		}
		p := bytes.Repeat([]byte{byte(i)}, size)
		p[0] = 0x80 // not STUN
		msgs = append(msgs, p)
	}
	got := make(chan []byte, len(msgs))
	if err := b.AttachRecv(sb, 1, func(_, _ int, p []byte) { got <- bytes.Clone(p) }); err != nil {
		t.Fatal(err)
	}
	if n, err := a.SendMessages(sa, 1, msgs); n != len(msgs) || err != nil {
		t.Fatalf("SendMessages = %d, %v; want %d, nil", n, err, len(msgs))
	}
	for i, want := range msgs {
		select {
		case p := <-got:
			if !bytes.Equal(p, want) {
				t.Fatalf("datagram %d: %d bytes, want %d bytes whole", i, len(p), len(want))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d datagrams arrived", i, len(msgs))
		}
	}
}
