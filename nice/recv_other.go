// SPDX-License-Identifier: MIT

//go:build !linux || 386

package nice

import "net/netip"

// rawReader is Linux only; elsewhere every socket uses the portable reader.
type rawReader struct{}

func newRawReader(PacketConn) *rawReader { return nil }

func (*rawReader) read() ([]byte, netip.AddrPort, error) { panic("unreachable") }

func (*rawReader) release() {}
