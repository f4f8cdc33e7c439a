module github.com/gonice/gonice

go 1.26.0

require (
	github.com/pion/dtls/v2 v2.2.12
	github.com/pion/logging v0.2.2
	github.com/pion/mdns v0.0.8
	github.com/pion/sdp/v3 v3.0.20
	github.com/pion/srtp/v2 v2.0.20
	github.com/pion/stun v0.6.1
	github.com/pion/transport/v2 v2.2.4
	github.com/pion/turn/v2 v2.1.6
	golang.org/x/net v0.62.0
)

require (
	github.com/pion/randutil v0.1.0 // indirect
	github.com/pion/rtcp v1.2.12 // indirect
	github.com/pion/rtp v1.8.3 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
