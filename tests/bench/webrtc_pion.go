// SPDX-License-Identifier: MIT

package main

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"
)

// pionEcho is examples/webrtc-echo's server on pion/webrtc/v3 instead of
// gonice: ICE on 127.0.0.1 only (UDP4 host candidates, no mDNS), no
// trickle (the answer waits for gathering), Opus/111 and VP8/96 with the
// feedback of gonice's webrtc.DefaultCodecs, no interceptors (gonice sends
// no reports or NACKs either), every RTP packet echoed on this side's own
// track of its kind (pion puts its SSRC and the negotiated payload type on
// it), the browser's RTCP counted and dropped, a PLI every half second.
// dtlsServer answers a=setup:passive, as gonice's -dtls-server does.
type pionEcho struct {
	api *webrtc.API
}

func newPionEcho(addr net.IP, dtlsServer bool) (*pionEcho, error) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true) // pion leaves lo out otherwise
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.Equal(addr) })
	if dtlsServer {
		if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
			return nil, err
		}
	}
	var m webrtc.MediaEngine
	fb := func(specs ...[2]string) []webrtc.RTCPFeedback {
		var out []webrtc.RTCPFeedback
		for _, s := range specs {
			out = append(out, webrtc.RTCPFeedback{Type: s[0], Parameter: s[1]})
		}
		return out
	}
	codecs := []struct {
		kind webrtc.RTPCodecType
		p    webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1",
			RTCPFeedback: fb([2]string{"transport-cc", ""})}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
			RTCPFeedback: fb([2]string{"goog-remb", ""}, [2]string{"transport-cc", ""}, [2]string{"ccm", "fir"}, [2]string{"nack", ""}, [2]string{"nack", "pli"})}}},
	}
	for _, c := range codecs {
		if err := m.RegisterCodec(c.p, c.kind); err != nil {
			return nil, err
		}
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		// The m-line's mid in each packet, as gonice keeps it when offered.
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: "urn:ietf:params:rtp-hdrext:sdes:mid"}, kind); err != nil {
			return nil, err
		}
	}
	return &pionEcho{api: webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se))}, nil
}

type pionSession struct {
	pc   *webrtc.PeerConnection
	stop chan struct{}
	wg   sync.WaitGroup // the readers and the PLI sender

	browserVideo       atomic.Uint32
	audio, video, rtcp atomic.Int64
}

func (p *pionEcho) open(offer string, st *stamps) (string, echoSession, error) {
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return "", nil, err
	}
	s := &pionSession{pc: pc, stop: make(chan struct{})}
	fail := func(err error) (string, echoSession, error) {
		_ = pc.Close()
		s.wg.Wait()
		return "", nil, err
	}
	pc.OnICEConnectionStateChange(func(cs webrtc.ICEConnectionState) {
		if cs == webrtc.ICEConnectionStateConnected {
			mark(&st.ice)
		}
	})
	pc.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		switch cs {
		case webrtc.PeerConnectionStateConnected:
			mark(&st.ready)
			if sp, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil && sp != nil {
				st.port.CompareAndSwap(0, int32(sp.Local.Port))
			}
		case webrtc.PeerConnectionStateFailed:
			st.failed.Store(true)
		}
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(err)
	}
	out := map[webrtc.RTPCodecType]*webrtc.TrackLocalStaticRTP{}
	for kind, mime := range map[webrtc.RTPCodecType]string{webrtc.RTPCodecTypeAudio: webrtc.MimeTypeOpus, webrtc.RTPCodecTypeVideo: webrtc.MimeTypeVP8} {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: mime}, kind.String(), "echo")
		if err != nil {
			return fail(err)
		}
		sender, err := pc.AddTrack(tr)
		if err != nil {
			return fail(err)
		}
		out[kind] = tr
		if kind == webrtc.RTPCodecTypeAudio {
			// The DTLS transport is the connection's one (BUNDLE). pion's
			// own PeerConnection sets no handler on it.
			sender.Transport().OnStateChange(func(ds webrtc.DTLSTransportState) {
				if ds == webrtc.DTLSTransportStateConnected {
					mark(&st.dtls)
				}
			})
		}
		s.wg.Add(1)
		go s.countRTCP(sender) // this sender's RTCP reader; ends when the connection closes
	}
	// A track's reader runs on the goroutine pion calls OnTrack on; it ends
	// when the connection closes (Read fails).
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		n := &s.audio
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			n = &s.video
			s.browserVideo.Store(uint32(t.SSRC()))
		}
		buf := make([]byte, 1500)
		for {
			k, _, err := t.Read(buf)
			if err != nil {
				return
			}
			if _, err := out[t.Kind()].Write(buf[:k]); err == nil {
				n.Add(1)
			}
		}
	})
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return fail(err)
	}
	<-gathered // no trickle: the answer carries the candidates
	s.wg.Add(1)
	go s.pli() // the session's PLI sender; ends at close
	return pc.LocalDescription().SDP, s, nil
}

func (s *pionSession) countRTCP(sender *webrtc.RTPSender) {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		if _, _, err := sender.Read(buf); err != nil {
			return
		}
		s.rtcp.Add(1)
	}
}

func (s *pionSession) pli() {
	defer s.wg.Done()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if v := s.browserVideo.Load(); v != 0 {
			_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{SenderSSRC: echoVideoSSRC, MediaSSRC: v}})
		}
	}
}

func (s *pionSession) close() {
	_ = s.pc.Close()
	close(s.stop)
	s.wg.Wait()
}

func (s *pionSession) media() (int64, int64, int64) {
	return s.audio.Load(), s.video.Load(), s.rtcp.Load()
}
