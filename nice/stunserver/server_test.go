// SPDX-License-Identifier: MIT

package stunserver

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gonice/gonice/nice/internal/stunx"
	"github.com/pion/stun"
)

// ioTimeout bounds each wait for a datagram on loopback.
const ioTimeout = 5 * time.Second

// checkNoServeLoops fails t if a goroutine of a Server is still running.
// Close waits for the Serve loops, but a goroutine started by
// ListenAndServe may still be returning, hence the short grace period.
func checkNoServeLoops(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], []byte("stunserver.(*Server).")) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Server goroutines still running after Close:\n%s", buf[:n])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startServer starts a Server on a UDP socket bound to addr and closes it
// at the end of the test, checking that no goroutine is left.
func startServer(t *testing.T, addr string) (*Server, netip.AddrPort) {
	t.Helper()
	s := &Server{Software: testSoftware, Logger: testLogger(t)}
	local, err := s.ListenAndServe(addr)
	if err != nil {
		t.Fatalf("ListenAndServe(%q): %v", addr, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoServeLoops(t)
	})
	return s, local
}

// testLogger logs to t at debug level.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// client opens a UDP socket on the loopback address of network ("udp4" or
// "udp6").
func client(t *testing.T, network string) *net.UDPConn {
	t.Helper()
	host := "127.0.0.1"
	if network == "udp6" {
		host = "::1"
	}
	c, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Fatalf("ListenUDP: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// localAddrPort returns the bound address of c, unmapped.
func localAddrPort(c *net.UDPConn) netip.AddrPort {
	ap := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// exchange sends req from c to server and returns the first datagram that
// comes back.
func exchange(t *testing.T, c *net.UDPConn, server netip.AddrPort, req []byte) []byte {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(req, server); err != nil {
		t.Fatalf("send: %v", err)
	}
	return receive(t, c)
}

func receive(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return buf[:n]
}

func TestServerUDP(t *testing.T) {
	_, server := startServer(t, "127.0.0.1:0")
	if !server.Addr().Is4() || server.Port() == 0 {
		t.Fatalf("ListenAndServe returned %v", server)
	}
	c := client(t, "udp4")
	me := localAddrPort(c)
	tests := []struct {
		name string
		req  []byte
		want want
	}{
		{"binding", request(t, stun.BindingRequest),
			want{typ: stun.BindingSuccess, mapped: me}},
		{"binding with FINGERPRINT", request(t, stun.BindingRequest, stun.Fingerprint),
			want{typ: stun.BindingSuccess, mapped: me, fingerprint: true}},
		{"RFC 3489 binding", classicRequest(t, stun.BindingRequest),
			want{typ: stun.BindingSuccess, mapped: me, classic: true}},
		{"bad method", request(t, stun.NewType(stun.MethodAllocate, stun.ClassRequest)),
			want{typ: stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), code: 400}},
		{"unknown attribute", request(t, stun.BindingRequest, raw(stun.AttrChangeRequest, 0, 0, 0, 0)),
			want{typ: stun.NewType(stun.MethodBinding, stun.ClassErrorResponse), code: 420, unknown: []byte{0x00, 0x03}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResponse(t, tt.req, exchange(t, c, server, tt.req), tt.want)
		})
	}
}

func TestServerUDPIPv6(t *testing.T) {
	probe, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("cannot bind [::1] (no IPv6 loopback): %v", err)
	}
	probe.Close()
	_, server := startServer(t, "[::1]:0")
	if server.Addr() != netip.IPv6Loopback() {
		t.Fatalf("ListenAndServe returned %v", server)
	}
	c := client(t, "udp6")
	me := localAddrPort(c)
	req := request(t, stun.BindingRequest, stun.Fingerprint)
	checkResponse(t, req, exchange(t, c, server, req), want{typ: stun.BindingSuccess, mapped: me, fingerprint: true})
}

func TestServerDualStackReportsIPv4(t *testing.T) {
	probe, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv6unspecified})
	if err != nil {
		t.Skipf("cannot bind [::]: %v", err)
	}
	probe.Close()
	_, server := startServer(t, "[::]:0")
	c := client(t, "udp4")
	req := request(t, stun.BindingRequest)
	to := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), server.Port())
	checkResponse(t, req, exchange(t, c, to, req), want{typ: stun.BindingSuccess, mapped: localAddrPort(c)})
}

func TestServerIgnoresGarbage(t *testing.T) {
	_, server := startServer(t, "127.0.0.1:0")
	c := client(t, "udp4")
	ignored := [][]byte{
		{},
		{0x00},
		[]byte("hello"),
		append([]byte{0x80, 0x60, 0x00, 0x01}, make([]byte, 160)...), // RTP
		append([]byte{0x16, 0xfe, 0xfd}, make([]byte, 40)...),        // DTLS
		request(t, stun.BindingRequest)[:19],
		request(t, stun.NewType(stun.MethodBinding, stun.ClassIndication)),
		request(t, stun.BindingSuccess, stunx.XORMappedAddress(localAddrPort(c))),
		bytes.Repeat([]byte{0xff}, 1500),
	}
	for round := range 3 {
		for _, b := range ignored {
			if _, err := c.WriteToUDPAddrPort(b, server); err != nil {
				t.Fatalf("send: %v", err)
			}
		}
		// Loopback keeps the order and the server answers in order: had
		// any of the above been answered, that answer would come first.
		req := request(t, stun.BindingRequest)
		res := exchange(t, c, server, req)
		if !bytes.Equal(res[8:20], req[8:20]) {
			t.Fatalf("round %d: got an answer to something else: %x", round, res)
		}
		checkResponse(t, req, res, want{typ: stun.BindingSuccess, mapped: localAddrPort(c)})
	}
}

func TestServerClose(t *testing.T) {
	s := &Server{Software: testSoftware, Logger: testLogger(t)}
	c1, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(c1) }()
	local2, err := s.ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	// The server answers on both sockets.
	c := client(t, "udp4")
	for _, to := range []netip.AddrPort{localAddrPort(c1), local2} {
		req := request(t, stun.BindingRequest)
		checkResponse(t, req, exchange(t, c, to, req), want{typ: stun.BindingSuccess, mapped: localAddrPort(c)})
	}

	for i := range 3 {
		if err := s.Close(); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve returned %v after Close, want nil", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not return after Close")
	}
	if _, err := c1.WriteToUDPAddrPort([]byte{0}, local2); !errors.Is(err, net.ErrClosed) {
		t.Errorf("socket given to Serve is not closed: write err = %v", err)
	}

	// A closed server serves no more.
	c3, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(c3); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
	if _, err := c3.WriteToUDPAddrPort([]byte{0}, local2); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve after Close did not close its socket: write err = %v", err)
	}
	if _, err := s.ListenAndServe("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ListenAndServe after Close = %v, want ErrServerClosed", err)
	}
	checkNoServeLoops(t)
}

func TestPackageListenAndServe(t *testing.T) {
	s, server, err := ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := client(t, "udp4")
	req := request(t, stun.BindingRequest)
	res := exchange(t, c, server, req)
	if m := decodeResponse(t, res, false); m.Type != stun.BindingSuccess || m.Contains(stun.AttrSoftware) {
		t.Errorf("response = %v, want a success response without SOFTWARE", m)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	checkNoServeLoops(t)

	if _, _, err := ListenAndServe("256.0.0.1:0"); err == nil {
		t.Error("ListenAndServe on an invalid address succeeded")
	}
}

func TestServeReturnsNilWhenCallerClosesConn(t *testing.T) {
	s := new(Server)
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(c) }()
	req := request(t, stun.BindingRequest)
	cl := client(t, "udp4")
	exchange(t, cl, localAddrPort(c), req) // Serve is running
	c.Close()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("Serve did not return after its socket was closed")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	checkNoServeLoops(t)
}

func TestServerSoftwareValidation(t *testing.T) {
	tests := []struct {
		name     string
		software string
		ok       bool
	}{
		{"empty", "", true},
		{"short", "gonice 1.0", true},
		{"127 characters", strings.Repeat("a", 127), true},
		{"127 three-byte characters", strings.Repeat("€", 127), true},
		{"128 characters", strings.Repeat("a", 128), false},
		{"invalid UTF-8", "\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{Software: tt.software}
			local, err := s.ListenAndServe("127.0.0.1:0")
			if (err == nil) != tt.ok {
				t.Fatalf("ListenAndServe = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				return
			}
			defer s.Close()
			c := client(t, "udp4")
			m := decodeResponse(t, exchange(t, c, local, request(t, stun.BindingRequest)), false)
			v, err := m.Get(stun.AttrSoftware)
			if tt.software == "" && err == nil || tt.software != "" && string(v) != tt.software {
				t.Errorf("SOFTWARE = %q, %v; want %q", v, err, tt.software)
			}
		})
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Server{Software: "\xff"}).Serve(c); err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve with invalid Software = %v, want a validation error", err)
	}
	checkNoServeLoops(t)
}

// plainPacketConn hides every method of a *net.UDPConn but those of
// net.PacketConn.
type plainPacketConn struct{ net.PacketConn }

func TestFromPacketConn(t *testing.T) {
	u, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := FromPacketConn(u); got != PacketConn(u) {
		t.Error("FromPacketConn wrapped a *net.UDPConn")
	}
	pc := FromPacketConn(plainPacketConn{u})
	if _, ok := pc.(packetConnAdapter); !ok {
		t.Fatalf("FromPacketConn returned %T", pc)
	}
	s := &Server{Software: testSoftware}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(pc) }()
	c := client(t, "udp4")
	req := request(t, stun.BindingRequest)
	checkResponse(t, req, exchange(t, c, localAddrPort(u), req),
		want{typ: stun.BindingSuccess, mapped: localAddrPort(c)})
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	checkNoServeLoops(t)
}
