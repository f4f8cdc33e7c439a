// SPDX-License-Identifier: MIT

//go:build linux

package nice

import (
	"encoding/binary"
	"syscall"
	"testing"
	"unsafe"
)

// FuzzICMPErrno: whatever control data recvmsg gives with an error-queue
// entry, icmpErrno reads it without a panic, and finds an ICMP error only
// in control data that parses; the seeds check what it finds.
func FuzzICMPErrno(f *testing.F) {
	ee := func(level, typ int32, errno uint32, origin byte) []byte {
		data := make([]byte, 16) // struct sock_extended_err
		binary.NativeEndian.PutUint32(data, errno)
		data[4] = origin
		b := make([]byte, syscall.CmsgSpace(len(data)))
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(syscall.CmsgLen(len(data)))
		copy(b[syscall.CmsgLen(0):], data)
		return b
	}
	f.Add(ee(syscall.IPPROTO_IP, syscall.IP_RECVERR, uint32(syscall.ECONNREFUSED), eeOriginICMP))
	f.Add(ee(syscall.IPPROTO_IPV6, syscall.IPV6_RECVERR, uint32(syscall.ECONNREFUSED), eeOriginICMP6))
	f.Add(ee(syscall.IPPROTO_IP, syscall.IP_RECVERR, uint32(syscall.EMSGSIZE), 1)) // local
	for _, c := range []struct {
		oob    []byte
		errno  syscall.Errno
		isICMP bool
	}{
		{ee(syscall.IPPROTO_IP, syscall.IP_RECVERR, uint32(syscall.ECONNREFUSED), eeOriginICMP), syscall.ECONNREFUSED, true},
		{ee(syscall.IPPROTO_IPV6, syscall.IPV6_RECVERR, uint32(syscall.EHOSTUNREACH), eeOriginICMP6), syscall.EHOSTUNREACH, true},
		{ee(syscall.IPPROTO_IP, syscall.IP_RECVERR, uint32(syscall.EMSGSIZE), 1), 0, false},            // a local error
		{ee(syscall.IPPROTO_IP, syscall.IP_TOS, uint32(syscall.ECONNREFUSED), eeOriginICMP), 0, false}, // another message
	} {
		if errno, ok := icmpErrno(c.oob); ok != c.isICMP || ok && errno != c.errno {
			f.Errorf("icmpErrno = %v, %v; want %v, %v", errno, ok, c.errno, c.isICMP)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, oob []byte) {
		errno, ok := icmpErrno(oob)
		if !ok {
			return
		}
		if _, err := syscall.ParseSocketControlMessage(oob); err != nil {
			t.Fatalf("an ICMP error %v from control data that does not parse: %v", errno, err)
		}
	})
}
