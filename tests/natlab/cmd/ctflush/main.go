// SPDX-License-Identifier: MIT

// Command ctflush deletes every IPv4 conntrack entry of the network
// namespace it runs in, as "conntrack -F -f ipv4" does, without the
// conntrack tool: one ctnetlink IPCTNL_MSG_CT_DELETE request with no
// attributes. The NAT lab runs it in a router ("ip netns exec R ctflush")
// so that the router's NAT mappings are made anew by the next packet of
// each flow: a NAT rebinding.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
)

const (
	nfnlSubsysCTNetlink = 1 // NFNL_SUBSYS_CTNETLINK
	ipctnlMsgCTDelete   = 2 // IPCTNL_MSG_CT_DELETE
)

func main() {
	if err := flush(); err != nil {
		fmt.Fprintln(os.Stderr, "ctflush:", err)
		os.Exit(1)
	}
}

func flush() error {
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_NETFILTER)
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	// struct nlmsghdr (16 bytes) + struct nfgenmsg (4 bytes).
	msg := make([]byte, 20)
	binary.NativeEndian.PutUint32(msg[0:], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:], nfnlSubsysCTNetlink<<8|ipctnlMsgCTDelete)
	binary.NativeEndian.PutUint16(msg[6:], syscall.NLM_F_REQUEST|syscall.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], 1) // sequence number
	msg[16] = syscall.AF_INET                 // nfgen_family
	msg[17] = 0                               // NFNETLINK_V0; res_id (big endian) stays 0
	if err := syscall.Sendto(fd, msg, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, 4096)
	n, _, err := syscall.Recvfrom(fd, buf, 0)
	if err != nil {
		return fmt.Errorf("receive: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return fmt.Errorf("parse answer: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != syscall.NLMSG_ERROR || len(m.Data) < 4 {
			continue
		}
		if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
			return fmt.Errorf("flush refused: %w", syscall.Errno(-code))
		}
		return nil
	}
	return fmt.Errorf("no acknowledgement")
}
