// SPDX-License-Identifier: MIT

package main

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"time"

	"github.com/pion/srtp/v2"

	"github.com/gonice/gonice/nice"
	"github.com/gonice/gonice/nice/dtlssrtp"
)

// The SRTP profiles by their --profile names.
var srtpProfiles = map[string]dtlssrtp.Profile{
	"aes-cm-80": dtlssrtp.AES128CMHMACSHA1_80, "aes-cm-32": dtlssrtp.AES128CMHMACSHA1_32,
	"gcm-128": dtlssrtp.AEADAES128GCM, "gcm-256": dtlssrtp.AEADAES256GCM,
}

func srtpProfile(name string) dtlssrtp.Profile {
	p, ok := srtpProfiles[name]
	if !ok {
		fatalf("--profile %q: aes-cm-80, aes-cm-32, gcm-128 or gcm-256", name)
	}
	return p
}

// gnSecure runs DTLS-SRTP over a connected pair (A the DTLS client, B the
// server) with one profile; onRTP is B's RTP callback.
func gnSecure(p *gnPair, prof dtlssrtp.Profile, onRTP func([]byte)) (ta, tb *dtlssrtp.Transport) {
	ca, err := dtlssrtp.GenerateCertificate()
	if err != nil {
		fatalf("certificate: %v", err)
	}
	cb, err := dtlssrtp.GenerateCertificate()
	if err != nil {
		fatalf("certificate: %v", err)
	}
	mk := func(ag *nice.Agent, sid int, role dtlssrtp.Role, own, peer *dtlssrtp.Certificate, on func([]byte)) *dtlssrtp.Transport {
		t, err := dtlssrtp.New(dtlssrtp.Config{Agent: ag, StreamID: sid, Role: role, Certificate: own,
			RemoteFingerprints: []dtlssrtp.Fingerprint{peer.Fingerprint()},
			Profiles:           []dtlssrtp.Profile{prof}, OnRTP: on})
		if err != nil {
			fatalf("dtlssrtp.New: %v", err)
		}
		return t
	}
	ta = mk(p.a, p.sa, dtlssrtp.RoleClient, ca, cb, nil)
	tb = mk(p.b, p.sb, dtlssrtp.RoleServer, cb, ca, onRTP)
	done := make(chan error, 1)
	go func() { done <- tb.Handshake(context.Background()) }() // B's handshake; ends with A's
	if err := ta.Handshake(context.Background()); err != nil {
		fatalf("DTLS handshake (A): %v", err)
	}
	if err := <-done; err != nil {
		fatalf("DTLS handshake (B): %v", err)
	}
	if ta.Profile() != prof {
		fatalf("negotiated %v, not %v", ta.Profile(), prof)
	}
	return ta, tb
}

// rtpOf is an RTP packet of size bytes for the benchmarks.
func rtpOf(size int) []byte {
	if size < 12 {
		fatalf("--size %d: an RTP packet has 12 bytes at least", size)
	}
	b := make([]byte, size)
	for i := range b {
		b[i] = 0x5a
	}
	b[0], b[1] = 0x80, 96
	binary.BigEndian.PutUint32(b[8:], 0x0a0b0c0d)
	return b
}

// protectLoop protects packets with protect for warmup+seconds and emits
// the window's count (tests/bench/README.md, srtp).
func protectLoop(o options, protect func(pkt []byte) error) {
	pkt := rtpOf(o.size)
	start := time.Now()
	warmEnd := start.Add(secs(o.warmup))
	end := warmEnd.Add(secs(o.seconds))
	var n, n0, cpu0 int64
	warm := true
	for seq := uint16(1); ; seq++ {
		binary.BigEndian.PutUint16(pkt[2:], seq)
		if err := protect(pkt); err != nil {
			fatalf("protect: %v", err)
		}
		n++
		if n&255 != 0 {
			continue
		}
		now := time.Now()
		if warm && !now.Before(warmEnd) {
			warm, n0, start, cpu0 = false, n, now, cpuUS()
		}
		if !warm && !now.Before(end) {
			emit(map[string]any{"protected": n - n0, "seconds": now.Sub(start).Seconds(),
				"cpu_s": float64(cpuUS()-cpu0) / 1e6})
			return
		}
	}
}

// goniceSRTP: Transport.ProtectRTP after a real DTLS handshake on a
// connected pair (the keys and the lock a media server's send path has).
func goniceSRTP(o options) {
	p, _, err := gnConnect(nice.NominationRegular)
	if err != nil {
		fatalf("connect: %v", err)
	}
	defer p.close()
	ta, tb := gnSecure(p, srtpProfile(o.profile), nil)
	defer tb.Close()
	defer ta.Close()
	dst := make([]byte, 0, 1600)
	protectLoop(o, func(pkt []byte) error { _, err := ta.ProtectRTP(dst, pkt); return err })
}

// goniceSecureThroughput is the throughput test through DTLS-SRTP:
// WriteRTP on A, OnRTP counting on B.
func goniceSecureThroughput(o options, p *gnPair) {
	var rx atomic.Int64
	ta, tb := gnSecure(p, srtpProfile(o.profile), func([]byte) { rx.Add(1) })
	defer tb.Close()
	defer ta.Close()
	pkt := rtpOf(o.size)
	seq := uint16(0)
	emit(flood(o, &rx, func() (int, error) {
		seq++
		binary.BigEndian.PutUint16(pkt[2:], seq)
		if _, err := ta.WriteRTP(pkt); err != nil {
			return 0, err
		}
		return 1, nil
	}))
}

// pionSRTP: pion/srtp/v2's Context.EncryptRTP into a reused buffer and
// header, as the transport used it before it had its own SRTP.
func pionSRTP(o options) {
	prof := srtp.ProtectionProfile(srtpProfile(o.profile))
	kl, err := prof.KeyLen()
	if err != nil {
		fatalf("%v", err)
	}
	sl, err := prof.SaltLen()
	if err != nil {
		fatalf("%v", err)
	}
	key := make([]byte, kl+sl)
	for i := range key {
		key[i] = byte(i*7 + 1)
	}
	c, err := srtp.CreateContext(key[:kl], key[kl:], prof)
	if err != nil {
		fatalf("srtp.CreateContext: %v", err)
	}
	dst := make([]byte, 0, 1600)
	protectLoop(o, func(pkt []byte) error { _, err := c.EncryptRTP(dst, pkt, nil); return err })
}
