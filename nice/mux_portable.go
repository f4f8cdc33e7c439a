// SPDX-License-Identifier: MIT

//go:build !(linux && (amd64 || arm64))

package nice

// muxReader is the portable reader of a mux (no recvmmsg here).
type muxReader = muxSingle

func newMuxReader(conn PacketConn, slot int) *muxReader { return newMuxSingle(conn, slot) }
