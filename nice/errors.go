// SPDX-License-Identifier: MIT

package nice

import "errors"

// Errors returned by the Agent. Compare with errors.Is: returned errors may
// wrap these with detail.
var (
	// ErrClosed: the agent was closed.
	ErrClosed = errors.New("nice: agent closed")
	// ErrInvalidStream: no stream has this id.
	ErrInvalidStream = errors.New("nice: invalid stream id")
	// ErrInvalidComponent: the stream has no component with this id.
	ErrInvalidComponent = errors.New("nice: invalid component id")
	// ErrInvalidArgument: an argument is out of range or malformed.
	ErrInvalidArgument = errors.New("nice: invalid argument")
	// ErrNotReady: the component has no selected pair yet, so nothing can be sent.
	ErrNotReady = errors.New("nice: no selected pair")
	// ErrConsentLost: consent to send (RFC 7675) was lost or revoked.
	ErrConsentLost = errors.New("nice: consent to send lost")
	// ErrNoAddress: gathering found no usable local address or port.
	ErrNoAddress = errors.New("nice: no usable local address or port")
	// ErrSDP: an SDP text could not be parsed.
	ErrSDP = errors.New("nice: malformed SDP")
	// ErrAlreadyGathering: the port range or the TURN servers can no longer
	// be changed.
	ErrAlreadyGathering = errors.New("nice: candidates already gathered")
	// ErrRecvAttached: Recv is not available while a receive callback is attached.
	ErrRecvAttached = errors.New("nice: a receive callback is attached to this component")
	// ErrTimeout: a deadline set on a Conn passed.
	ErrTimeout = errors.New("nice: i/o timeout")
	// ErrRelayUnauthorized: a TURN server refused the credentials given to
	// SetRelayInfo (see RelayErrors).
	ErrRelayUnauthorized = errors.New("nice: TURN server refused the credentials")
	// ErrRenomination: Renominate was called on an agent that cannot
	// renominate: Config.Renomination is off, the agent is controlled or
	// lite, or the peer declined renomination in its SDP.
	ErrRenomination = errors.New("nice: renomination not available")
	// ErrNoPair: no candidate pair matches the foundations given.
	ErrNoPair = errors.New("nice: no such candidate pair")
	// ErrRelayTimeout: a TURN server did not answer in time (see RelayErrors).
	ErrRelayTimeout = errors.New("nice: no answer from the TURN server")
	// ErrSTUNTimeout: the STUN server did not answer a server-reflexive
	// request in time (see STUNErrors).
	ErrSTUNTimeout = errors.New("nice: no answer from the STUN server")
	// ErrSTUNRefused: the STUN server answered a server-reflexive request
	// with an error or without a mapped address (see STUNErrors).
	ErrSTUNRefused = errors.New("nice: the STUN server gave no mapped address")
	// ErrRelayLost: a TURN allocation the agent had made is gone: the server
	// answered a Refresh, CreatePermission or ChannelBind with 437
	// (Allocation Mismatch: it restarted, or dropped the allocation) or
	// with 400 after a stale nonce (coturn once it closed the allocation),
	// or refused or did not answer a Refresh (see RelayErrors). The agent
	// allocates again from the same socket.
	ErrRelayLost = errors.New("nice: TURN allocation lost")
	// ErrUnreachable: a STUN or TURN server's address answered with an ICMP
	// error (port or host unreachable, ...), so the request to it ended at
	// once instead of at its timeout (Linux; see STUNErrors and
	// RelayErrors). The error also wraps the syscall.Errno the ICMP error
	// became (syscall.ECONNREFUSED for port unreachable).
	ErrUnreachable = errors.New("nice: server unreachable (ICMP error)")
)
