// SPDX-License-Identifier: MIT

package nice_test

import (
	"fmt"
	"net/netip"

	"github.com/gonice/gonice/nice"
)

// ExampleFormatSimpleLine prints the line that libnice's simple-example
// asks the user to copy to the peer.
func ExampleFormatSimpleLine() {
	addr := netip.MustParseAddrPort("192.0.2.10:50959")
	cands := []nice.Candidate{{
		Type:        nice.CandidateTypeHost,
		Transport:   nice.TransportUDP,
		Addr:        addr,
		Base:        addr,
		Priority:    2015364095,
		Foundation:  "1",
		ComponentID: 1,
	}, {
		Type:        nice.CandidateTypeServerReflexive,
		Transport:   nice.TransportUDP,
		Addr:        netip.MustParseAddrPort("203.0.113.7:61000"),
		Base:        addr,
		Priority:    1694498815,
		Foundation:  "4",
		ComponentID: 1,
	}}
	fmt.Println(nice.FormatSimpleLine("S3fx", "QE/3adYf7NtGcMrFURbLUT", cands))
	// Output:
	// S3fx QE/3adYf7NtGcMrFURbLUT 1,2015364095,192.0.2.10,50959,host 4,1694498815,203.0.113.7,61000,srflx
}

// ExampleParseSimpleLine parses a line as libnice's simple-example prints
// it, with its two leading spaces.
func ExampleParseSimpleLine() {
	line := "  BZps U3Oif0Ir7P/j65bafgcqLE 1,2015364095,127.0.0.1,56251,host 2,1015022591,127.0.0.1,0,host\n"
	ufrag, pwd, cands, err := nice.ParseSimpleLine(line)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("ufrag:", ufrag)
	fmt.Println("pwd:", pwd)
	for _, c := range cands {
		fmt.Println(c.Foundation, c.Priority, c.Addr, c.Type, c.Transport, c.ComponentID)
	}

	_, _, _, err = nice.ParseSimpleLine("BZps U3Oif0Ir7P/j65bafgcqLE 1,2015364095,example.com,56251,host")
	fmt.Println(err)
	// Output:
	// ufrag: BZps
	// pwd: U3Oif0Ir7P/j65bafgcqLE
	// 1 2015364095 127.0.0.1:56251 host udp 1
	// 2 1015022591 127.0.0.1:0 host udp 1
	// nice: malformed simple-example line: candidate 1: address: "example.com" is not a numeric IP address
}
