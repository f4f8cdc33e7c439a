// SPDX-License-Identifier: MIT

package nice

import "net/netip"

// muxSingle reads a mux's socket one datagram at a time: on platforms
// without the recvmmsg reader, and for the in-memory sockets of nicetest.
type muxSingle struct {
	conn  PacketConn
	raw   *rawReader
	buf   []byte
	msg   [1]muxMsg
	slot  int // UDPMuxConfig.MaxDatagram
	trunc int
}

func newMuxSingle(conn PacketConn, slot int) *muxSingle {
	s := &muxSingle{conn: conn, raw: newRawReader(conn), slot: slot}
	if s.raw == nil {
		s.buf = make([]byte, maxDatagram)
	}
	return s
}

// truncated is 1 if the last datagram read was larger than the slot (it
// was read whole, from a buffer of the largest size, and left out).
func (s *muxSingle) truncated() int { return s.trunc }

func (s *muxSingle) read() ([]muxMsg, error) {
	var (
		p    []byte
		from netip.AddrPort
		err  error
	)
	if s.raw != nil {
		p, from, err = s.raw.read()
	} else {
		var n int
		n, from, err = s.conn.ReadFromUDPAddrPort(s.buf)
		p = s.buf[:n]
	}
	if err != nil {
		return nil, err
	}
	s.trunc = 0
	if len(p) > s.slot {
		s.trunc = 1 // as the recvmmsg reader, which has slots of this size
		return s.msg[:0], nil
	}
	s.msg[0] = muxMsg{p: p, from: netip.AddrPortFrom(from.Addr().Unmap(), from.Port())}
	return s.msg[:], nil
}

func (s *muxSingle) release() {
	if s.raw != nil {
		s.raw.release()
	}
}
