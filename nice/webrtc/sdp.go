// SPDX-License-Identifier: MIT

package webrtc

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/gonice/gonice/nice/dtlssrtp"
)

// Codec is a codec a Connection offers or accepts.
type Codec struct {
	Kind        string // "audio" or "video"
	Name        string // as in rtpmap, compared case-insensitively: "opus", "VP8"
	ClockRate   uint32
	Channels    uint16 // 0: none in rtpmap
	Fmtp        string // for offers
	PayloadType uint8  // for offers; an answer keeps the offer's
	Feedback    []string
}

// DefaultCodecs are Opus and VP8, with the payload types and feedback
// Chromium uses.
var DefaultCodecs = []Codec{
	{Kind: "audio", Name: "opus", ClockRate: 48000, Channels: 2, Fmtp: "minptime=10;useinbandfec=1", PayloadType: 111,
		Feedback: []string{"transport-cc"}},
	{Kind: "video", Name: "VP8", ClockRate: 90000, PayloadType: 96,
		Feedback: []string{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}},
}

// midExtension is the RTP header extension that names the m-line (RFC
// 8843 §15); kept in an answer when offered, so that bundled media can be
// told apart.
const midExtension = "urn:ietf:params:rtp-hdrext:sdes:mid"

// ErrSDP is the error of a session description that cannot be used.
var ErrSDP = errors.New("webrtc: SDP")

// description is what a Connection needs of a remote session description.
type description struct {
	ufrag, pwd   string
	fingerprints []dtlssrtp.Fingerprint
	setup        dtlssrtp.Setup
	candidates   []string // "candidate:…" values of the transport's m-line
	endOfCands   bool
	rtcpMux      bool
	transportMid string
	media        []media
}

// media is one m-line of a remote description.
type media struct {
	kind, mid, proto string
	formats          []string
	codecs           []sdp.Codec // in the offer's order
	direction        string
	rejected         bool // port 0
	midExtID         int  // 0: not offered
	rtcpRsize        bool
}

// parseDescription parses a remote offer or answer.
func parseDescription(s string) (*description, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSDP, err)
	}
	d := &description{}
	var bundle []string
	if g, ok := sd.Attribute("group"); ok {
		if f := strings.Fields(g); len(f) > 0 && f[0] == "BUNDLE" {
			bundle = f[1:]
		}
	}
	var tm *sdp.MediaDescription // the m-line whose transport is used
	for i, md := range sd.MediaDescriptions {
		m := media{kind: md.MediaName.Media, proto: strings.Join(md.MediaName.Protos, "/"),
			formats: md.MediaName.Formats, rejected: md.MediaName.Port.Value == 0, direction: "sendrecv"}
		m.mid, _ = md.Attribute("mid")
		if m.mid == "" {
			m.mid = strconv.Itoa(i)
		}
		if !isToken(m.mid) {
			return nil, fmt.Errorf("%w: a=mid:%q is not a token (RFC 5888)", ErrSDP, m.mid)
		}
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				m.direction = a.Key
			case "rtcp-rsize":
				m.rtcpRsize = true
			case "extmap":
				var id int
				var uri string
				if _, err := fmt.Sscanf(a.Value, "%d %s", &id, &uri); err == nil && uri == midExtension {
					m.midExtID = id
				}
			}
		}
		one := &sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{md}}
		cm := one.GetCodecMap()
		for _, f := range md.MediaName.Formats {
			pt, err := strconv.ParseUint(f, 10, 8)
			if err != nil {
				continue
			}
			if c, ok := cm[uint8(pt)]; ok && c.Name != "" {
				m.codecs = append(m.codecs, c)
			}
		}
		d.media = append(d.media, m)
		if tm == nil && !m.rejected && (len(bundle) == 0 || m.mid == bundle[0]) {
			tm, d.transportMid = md, m.mid
		}
	}
	if tm == nil {
		return nil, fmt.Errorf("%w: no m-line to carry the transport", ErrSDP)
	}
	attr := func(key string) (string, bool) {
		if v, ok := tm.Attribute(key); ok {
			return v, true
		}
		return sd.Attribute(key)
	}
	var ok bool
	if d.ufrag, ok = attr("ice-ufrag"); !ok {
		return nil, fmt.Errorf("%w: no a=ice-ufrag", ErrSDP)
	}
	if d.pwd, ok = attr("ice-pwd"); !ok {
		return nil, fmt.Errorf("%w: no a=ice-pwd", ErrSDP)
	}
	for _, list := range [][]sdp.Attribute{tm.Attributes, sd.Attributes} {
		for _, a := range list {
			if a.Key == "fingerprint" {
				fp, err := dtlssrtp.ParseFingerprint(a.Value)
				if err != nil {
					continue // an unknown hash: another one may do
				}
				d.fingerprints = append(d.fingerprints, fp)
			}
		}
		if len(d.fingerprints) > 0 {
			break // media-level ones override the session's (RFC 8122 §5)
		}
	}
	if len(d.fingerprints) == 0 {
		return nil, fmt.Errorf("%w: no usable a=fingerprint", ErrSDP)
	}
	d.setup = dtlssrtp.SetupActive // RFC 4145 §4: absent means active
	if v, ok := attr("setup"); ok {
		s, err := dtlssrtp.ParseSetup(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSDP, err)
		}
		d.setup = s
	}
	for _, a := range tm.Attributes {
		switch a.Key {
		case "candidate":
			d.candidates = append(d.candidates, "candidate:"+a.Value)
		case "end-of-candidates":
			d.endOfCands = true
		case "rtcp-mux":
			d.rtcpMux = true
		}
	}
	if _, ok := sd.Attribute("end-of-candidates"); ok {
		d.endOfCands = true
	}
	return d, nil
}

// isToken reports whether s is an RFC 4566 token.
func isToken(s string) bool {
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]", r) {
			return false
		}
	}
	return s != ""
}

// local is what a local description carries of the transport.
type local struct {
	ufrag, pwd  string
	fingerprint dtlssrtp.Fingerprint
	setup       dtlssrtp.Setup
	candidates  []string // "candidate:…" values
	endOfCands  bool
	rtcpMux     bool
	trickle     bool
	ssrcs       map[string]uint32 // kind -> SSRC announced
}

// newSession is a JSEP session description with the transport's session
// attributes.
func newSession(l *local) (*sdp.SessionDescription, error) {
	sd, err := sdp.NewJSEPSessionDescription(false)
	if err != nil {
		return nil, fmt.Errorf("webrtc: SDP session: %w", err)
	}
	sd.Origin.UnicastAddress = "127.0.0.1"
	if l.trickle {
		sd.WithICETrickleAdvertised()
	}
	sd.WithValueAttribute("msid-semantic", " WMS")
	return sd, nil
}

// withTransport adds the transport's attributes to an m-line.
func withTransport(md *sdp.MediaDescription, l *local, mid string) {
	md.WithValueAttribute("rtcp", "9 IN IP4 0.0.0.0").
		WithICECredentials(l.ufrag, l.pwd)
	if l.trickle {
		md.WithValueAttribute("ice-options", "trickle")
	}
	fp := l.fingerprint.String()
	name, value, _ := strings.Cut(fp, " ")
	md.WithFingerprint(name, value).
		WithValueAttribute("setup", string(l.setup)).
		WithValueAttribute("mid", mid)
	for _, c := range l.candidates {
		md.WithValueAttribute("candidate", strings.TrimPrefix(c, "candidate:"))
	}
	if l.endOfCands {
		md.WithPropertyAttribute("end-of-candidates")
	}
}

// withSource announces the SSRC this side sends kind with, if any.
func withSource(md *sdp.MediaDescription, l *local, kind string) {
	ssrc, ok := l.ssrcs[kind]
	if !ok {
		return
	}
	md.WithValueAttribute("msid", "gonice gonice-"+kind)
	md.WithValueAttribute("ssrc", strconv.FormatUint(uint64(ssrc), 10)+" cname:gonice")
}

// buildOffer makes an offer: one m-line per kind that has codecs, in the
// order audio, video, all bundled, rtcp-mux.
func buildOffer(l *local, codecs []Codec) (string, error) {
	sd, err := newSession(l)
	if err != nil {
		return "", err
	}
	var mids []string
	for _, kind := range []string{"audio", "video"} {
		var cs []Codec
		for _, c := range codecs {
			if c.Kind == kind {
				cs = append(cs, c)
			}
		}
		if len(cs) == 0 {
			continue
		}
		mid := strconv.Itoa(len(mids))
		mids = append(mids, mid)
		md := sdp.NewJSEPMediaDescription(kind, nil)
		withTransport(md, l, mid)
		md.WithValueAttribute("extmap", "1 "+midExtension)
		md.WithPropertyAttribute("sendrecv")
		withSource(md, l, kind)
		if l.rtcpMux {
			md.WithPropertyAttribute("rtcp-mux")
		}
		md.WithPropertyAttribute("rtcp-rsize")
		for _, c := range cs {
			md.WithCodec(c.PayloadType, c.Name, c.ClockRate, c.Channels, c.Fmtp)
			for _, fb := range c.Feedback {
				md.WithValueAttribute("rtcp-fb", strconv.Itoa(int(c.PayloadType))+" "+fb)
			}
		}
		sd.WithMedia(md)
	}
	if len(mids) == 0 {
		return "", errors.New("webrtc: no codec to offer")
	}
	sd.Attributes = slices.Insert(sd.Attributes, 0, sdp.NewAttribute("group", "BUNDLE "+strings.Join(mids, " ")))
	b, err := sd.Marshal()
	return string(b), err
}

// answerDirection is the direction that answers an offered one (RFC 3264
// §6.1).
func answerDirection(offered string) string {
	switch offered {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// accept picks, in the offer's order, the offered codecs that match one
// of ours (name, clock rate, channels), with our feedback that was also
// offered.
func accept(m media, codecs []Codec) []sdp.Codec {
	var out []sdp.Codec
	for _, oc := range m.codecs {
		for _, c := range codecs {
			if c.Kind != m.kind || !strings.EqualFold(c.Name, oc.Name) || c.ClockRate != oc.ClockRate {
				continue
			}
			ch := uint16(1)
			if oc.EncodingParameters != "" {
				n, _ := strconv.ParseUint(oc.EncodingParameters, 10, 16)
				ch = uint16(n)
			}
			if c.Channels != 0 && c.Channels != ch {
				continue
			}
			a := oc
			a.RTCPFeedback = nil
			for _, fb := range oc.RTCPFeedback {
				if slices.Contains(c.Feedback, fb) {
					a.RTCPFeedback = append(a.RTCPFeedback, fb)
				}
			}
			out = append(out, a)
			break
		}
	}
	return out
}

// buildAnswer answers a remote offer: every audio or video m-line with a
// codec we accept is accepted and bundled onto the offer's transport; any
// other m-line (data channels, unknown media, no common codec) is
// rejected with port 0. It reports how many m-lines were accepted.
func buildAnswer(l *local, offer *description, codecs []Codec) (string, int, error) {
	sd, err := newSession(l)
	if err != nil {
		return "", 0, err
	}
	var mids []string
	for _, m := range offer.media {
		md := &sdp.MediaDescription{MediaName: sdp.MediaName{Media: m.kind, Port: sdp.RangedPort{Value: 9},
			Protos: strings.Split(m.proto, "/")},
			ConnectionInformation: &sdp.ConnectionInformation{NetworkType: "IN", AddressType: "IP4",
				Address: &sdp.Address{Address: "0.0.0.0"}}}
		var cs []sdp.Codec
		if !m.rejected && (m.kind == "audio" || m.kind == "video") && strings.Contains(m.proto, "SAVP") {
			cs = accept(m, codecs)
		}
		if len(cs) == 0 {
			md.MediaName.Port.Value = 0
			md.MediaName.Formats = m.formats
			md.WithValueAttribute("mid", m.mid)
			sd.WithMedia(md)
			continue
		}
		mids = append(mids, m.mid)
		withTransport(md, l, m.mid)
		if m.midExtID != 0 {
			md.WithValueAttribute("extmap", strconv.Itoa(m.midExtID)+" "+midExtension)
		}
		dir := answerDirection(m.direction)
		md.WithPropertyAttribute(dir)
		if dir == "sendrecv" || dir == "sendonly" {
			withSource(md, l, m.kind)
		}
		if l.rtcpMux {
			md.WithPropertyAttribute("rtcp-mux")
		}
		if m.rtcpRsize {
			md.WithPropertyAttribute("rtcp-rsize")
		}
		for _, c := range cs {
			ch, _ := strconv.ParseUint(c.EncodingParameters, 10, 16)
			md.WithCodec(c.PayloadType, c.Name, c.ClockRate, uint16(ch), c.Fmtp)
			for _, fb := range c.RTCPFeedback {
				md.WithValueAttribute("rtcp-fb", strconv.Itoa(int(c.PayloadType))+" "+fb)
			}
		}
		sd.WithMedia(md)
	}
	if len(mids) > 0 {
		sd.Attributes = slices.Insert(sd.Attributes, 0, sdp.NewAttribute("group", "BUNDLE "+strings.Join(mids, " ")))
	}
	b, err := sd.Marshal()
	return string(b), len(mids), err
}
