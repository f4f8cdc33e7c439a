// SPDX-License-Identifier: MIT

//go:build linux && !(amd64 || arm64)

package nice

import "syscall"

// recvBatchSize 0: no recvmmsg reader here (mmsghdr's layout is that of
// 64-bit Linux); the sockets' readers read one datagram at a time.
const recvBatchSize = 0

type mmsgBatch struct{}

func newRecvBatch() *mmsgBatch { return nil }

func (*mmsgBatch) recv(uintptr) (int, syscall.Errno, bool) { panic("unreachable") }

func (*mmsgBatch) msg(int) ([]byte, *syscall.RawSockaddrAny, bool) { panic("unreachable") }
