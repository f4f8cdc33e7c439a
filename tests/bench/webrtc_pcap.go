// SPDX-License-Identifier: MIT

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"
)

// The packet timeline of `nicebench webrtc -pcap`: tcpdump's capture of lo
// is read back and, per session, the server's UDP port's datagrams are put
// on the session's clock (milliseconds from the answer), so that the time
// to ready splits into what the browser did and what the server did.

// udpRecord is one captured UDP datagram.
type udpRecord struct {
	at            int64 // Unix ns
	src, dst      uint16
	first, second byte // the payload's first two bytes (RFC 7983)
	length        int
}

// readPcap reads the IPv4 UDP datagrams of a classic pcap file of an
// Ethernet-framed interface (what tcpdump -i lo writes).
func readPcap(file string) ([]udpRecord, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 {
		return nil, fmt.Errorf("%s: too short for a pcap file", file)
	}
	var nano bool
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4:
	case 0xa1b23c4d:
		nano = true
	default:
		return nil, fmt.Errorf("%s: not a little-endian pcap file", file)
	}
	if lt := binary.LittleEndian.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("%s: link type %d, want 1 (Ethernet)", file, lt)
	}
	var out []udpRecord
	for off := 24; off+16 <= len(b); {
		sec, frac := binary.LittleEndian.Uint32(b[off:]), binary.LittleEndian.Uint32(b[off+4:])
		caplen := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16
		if off+caplen > len(b) {
			break
		}
		p := b[off : off+caplen]
		off += caplen
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		if len(p) < 14+20 || binary.BigEndian.Uint16(p[12:]) != 0x0800 {
			continue
		}
		ip := p[14:]
		ihl := int(ip[0]&15) * 4
		if ip[0]>>4 != 4 || ip[9] != 17 || len(ip) < ihl+8+2 {
			continue
		}
		udp := ip[ihl:]
		out = append(out, udpRecord{
			at:  int64(sec)*1e9 + ns,
			src: binary.BigEndian.Uint16(udp), dst: binary.BigEndian.Uint16(udp[2:]),
			length: int(binary.BigEndian.Uint16(udp[4:])) - 8,
			first:  udp[8], second: udp[9],
		})
	}
	return out, nil
}

// phases are one session's moments from the capture, ms from the answer.
type phases struct {
	browserCheck    float64 // the browser's first STUN request to the server: it has applied the answer
	serverDTLS      float64 // the server's first DTLS datagram
	browserDTLS     float64 // the browser's first DTLS datagram
	lastBrowserIn   float64 // the browser's last DTLS datagram before ready
	dtlsIn, dtlsOut int     // DTLS datagrams before ready, each way
}

func sessionPhases(recs []udpRecord, s wrSample) (phases, bool) {
	p := phases{browserCheck: -1, serverDTLS: -1, browserDTLS: -1}
	a := s.AnsweredAt
	ready := a + int64(s.ReadyMS*1e6)
	port := uint16(s.Port)
	ms := func(t int64) float64 { return float64(t-a) / 1e6 }
	for _, r := range recs {
		if r.at < a-int64(50*time.Millisecond) || r.at > ready || (r.src != port && r.dst != port) {
			continue
		}
		in := r.dst == port
		dtls := r.first >= 20 && r.first <= 63
		switch {
		case in && r.first == 0 && r.second == 1 && p.browserCheck < 0: // a Binding request
			p.browserCheck = ms(r.at)
		case in && dtls:
			if p.browserDTLS < 0 {
				p.browserDTLS = ms(r.at)
			}
			p.lastBrowserIn = ms(r.at)
			p.dtlsIn++
		case !in && dtls:
			if p.serverDTLS < 0 {
				p.serverDTLS = ms(r.at)
			}
			p.dtlsOut++
		}
	}
	return p, p.browserCheck >= 0 && p.serverDTLS >= 0 && p.browserDTLS >= 0
}

// reportPhases prints the medians of the sessions' phases per variant.
func reportPhases(w io.Writer, file string, vs []*wrVariant, all []wrSample) {
	recs, err := readPcap(file)
	if err != nil {
		fmt.Fprintf(w, "\n(capture %s not read: %v)\n", file, err)
		return
	}
	fmt.Fprintf(w, "\n## Packet timeline (from the capture `%s`; medians, ms from the answer)\n\n", file)
	fmt.Fprintf(w, "browser's check: its first STUN request to the server (it has applied the answer). check → ready: what is left once the browser can talk. last in → ready: from the browser's last DTLS datagram to the server's ready. DTLS in/out: datagrams before ready.\n\n")
	fmt.Fprintf(w, "| variant | sessions | browser's check | server ICE connected | server's first DTLS | browser's first DTLS | check → ready | last in → ready | ready | DTLS in/out |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, v := range vs {
		var chk, ice, sd, bd, c2r, l2r, rd, in, out []float64
		for _, s := range all {
			if s.Variant != v.name {
				continue
			}
			p, ok := sessionPhases(recs, s)
			if !ok {
				continue
			}
			chk, ice, sd, bd = append(chk, p.browserCheck), append(ice, s.ICEMS), append(sd, p.serverDTLS), append(bd, p.browserDTLS)
			c2r, l2r, rd = append(c2r, s.ReadyMS-p.browserCheck), append(l2r, s.ReadyMS-p.lastBrowserIn), append(rd, s.ReadyMS)
			in, out = append(in, float64(p.dtlsIn)), append(out, float64(p.dtlsOut))
		}
		fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f/%.0f |\n", v.name, len(rd),
			median(chk), median(ice), median(sd), median(bd), median(c2r), median(l2r), median(rd), median(in), median(out))
	}
}
