module github.com/gonice/gonice/tests

go 1.26.0

replace github.com/gonice/gonice => ../

require (
	github.com/gonice/gonice v0.0.0-00010101000000-000000000000
	github.com/pion/ice/v2 v2.3.38
	github.com/pion/ice/v4 v4.4.8
	github.com/pion/logging v0.2.4
	github.com/pion/rtcp v1.2.14
	github.com/pion/srtp/v2 v2.0.20
	github.com/pion/webrtc/v3 v3.3.6
	golang.org/x/sys v0.49.0
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/pion/datachannel v1.5.8 // indirect
	github.com/pion/dtls/v2 v2.2.12 // indirect
	github.com/pion/dtls/v3 v3.1.9 // indirect
	github.com/pion/interceptor v0.1.29 // indirect
	github.com/pion/mdns v0.0.12 // indirect
	github.com/pion/mdns/v2 v2.2.2 // indirect
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtp v1.8.7 // indirect
	github.com/pion/sctp v1.8.19 // indirect
	github.com/pion/sdp/v3 v3.0.20 // indirect
	github.com/pion/stun v0.6.1 // indirect
	github.com/pion/stun/v4 v4.0.1 // indirect
	github.com/pion/transport/v2 v2.2.10 // indirect
	github.com/pion/transport/v5 v5.0.1 // indirect
	github.com/pion/turn/v2 v2.1.6 // indirect
	github.com/pion/turn/v5 v5.1.2 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/wlynxg/anet v0.0.5 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/time v0.14.0 // indirect
)

// The root module's mDNS is pion/mdns v0.0.8, the release on
// pion/transport/v2; pion/ice/v2 (pion/webrtc v3's, for the benchmark)
// asks for v0.0.12, which MVS would pick. Pinned so that the interop
// tests run gonice with the version its own go.mod names; ice/v2 builds
// with it (it uses Server, Query and Config.LocalNames only).
replace github.com/pion/mdns => github.com/pion/mdns v0.0.8
