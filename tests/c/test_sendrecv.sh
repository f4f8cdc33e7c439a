#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_sendrecv.sh: the C sendrecv (examples/c/sendrecv.c) against the Go one
# (examples/sendrecv) over pipes on 127.0.0.1: each pastes the other's
# simple-example line, both print "Negotiation complete", a line goes each
# way, then the C peer's input ends: it sends the NUL byte and both exit 0.
# With --sdp, the same with sdp-example's base64 SDP; with --sdp --ice-tcp
# --no-udp, over ICE-TCP only: both SDPs carry TCP candidates only and
# both peers select a TCP pair. The options after the program go to both
# peers.
#
#   tests/c/test_sendrecv.sh path/to/c/sendrecv [--sdp [--ice-tcp [--no-udp]]]
#
# Environment: GO (the go command; default: go on PATH or /usr/local/go/bin).
set -euo pipefail
cbin=$(realpath "$1")
shift
mode="$*"
sdp= tcponly=
case " $mode " in *" --sdp "*) sdp=1 ;; esac
case " $mode " in *" --no-udp "*) tcponly=1 ;; esac
cd "$(dirname "$0")/../.."
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}

tmp=$(mktemp -d)
cpid= gpid=
cleanup() {
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null || true
	[ -n "$gpid" ] && kill "$gpid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in c.out c.err go.out go.err; do
		echo "--- $f" >&2
		cat "$tmp/$f" >&2 || true
	done
	exit 1
}

# wait_for FILE PATTERN SECONDS: until grep -q PATTERN FILE.
wait_for() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no \"$2\" in $(basename "$1") after $3 s"
}

CGO_ENABLED=1 "$GO" build -buildvcs=false -o "$tmp/sendrecv-go" ./examples/sendrecv

mkfifo "$tmp/c.in" "$tmp/go.in"
# Open each fifo read-write (does not block), so that this shell holds the
# only writer; closing it is the peer's end of input.
exec 3<>"$tmp/c.in" 4<>"$tmp/go.in"
timeout 60 "$cbin" --controlling --address 127.0.0.1 $mode <"$tmp/c.in" >"$tmp/c.out" 2>"$tmp/c.err" 3>&- 4>&- &
cpid=$!
timeout 60 "$tmp/sendrecv-go" --address 127.0.0.1 $mode <"$tmp/go.in" >"$tmp/go.out" 2>"$tmp/go.err" 3>&- 4>&- &
gpid=$!
# The fifos are open in both peers now: keep only write ends here.
sleep 0.2
exec 3>"$tmp/c.in" 4>"$tmp/go.in"

if [ -n "$sdp" ]; then
	copy='Copy the following line to remote client:'
else
	copy='Copy this line to remote client:'
fi
wait_for "$tmp/c.out" "$copy" 15
wait_for "$tmp/go.out" "$copy" 15
wait_for "$tmp/c.out" '^> ' 15
wait_for "$tmp/go.out" '^> ' 15
cline=$(grep -A2 -- "$copy" "$tmp/c.out" | grep -m1 '^  ' | sed 's/^  //')
gline=$(grep -A2 -- "$copy" "$tmp/go.out" | grep -m1 '^  ' | sed 's/^  //')
[ -n "$cline" ] && [ -n "$gline" ] || fail "no line to copy"
printf '%s\n' "$gline" >&3
printf '%s\n' "$cline" >&4

wait_for "$tmp/c.out" 'Send lines to remote' 30
wait_for "$tmp/go.out" 'Send lines to remote' 30
if [ -z "$sdp" ]; then
	grep -q 'Negotiation complete: (\[127.0.0.1\]:[0-9]*, \[127.0.0.1\]:[0-9]*)' "$tmp/c.out" ||
		fail "C: no Negotiation complete line"
	grep -q 'Negotiation complete: (\[127.0.0.1\]:' "$tmp/go.out" || fail "Go: no Negotiation complete line"
fi
if [ -n "$tcponly" ]; then
	for who in c:"$cline" go:"$gline"; do
		sdptext=$(printf '%s' "${who#*:}" | base64 -d) || fail "${who%%:*}: the line is not base64"
		if grep -q '^a=candidate:.* UDP ' <<<"$sdptext" || ! grep -q ' typ host tcptype passive' <<<"$sdptext" ||
			! grep -q ' 9 typ host tcptype active' <<<"$sdptext"; then
			fail "${who%%:*}: the SDP is not TCP only: $sdptext"
		fi
	done
	grep -q 'signal new-selected-pair: .* over tcp-\(act\|pass\) remote .* over tcp-\(act\|pass\)$' "$tmp/c.err" ||
		fail "C: no TCP pair selected"
	grep -q 'signal new-selected-pair: .* over tcp-\(act\|pass\) remote .* over tcp-\(act\|pass\)$' "$tmp/go.err" ||
		fail "Go: no TCP pair selected"
fi

echo 'hello from C' >&3
wait_for "$tmp/go.out" 'hello from C' 10
echo 'hello from Go' >&4
wait_for "$tmp/c.out" 'hello from Go' 10

# End of the C peer's input: it sends the NUL byte; both exit 0.
exec 3>&-
crc=0 grc=0
wait "$cpid" || crc=$?
cpid=
wait "$gpid" || grc=$?
gpid=
exec 4>&-
[ "$crc" = 0 ] || fail "C sendrecv exited $crc"
[ "$grc" = 0 ] || fail "Go sendrecv exited $grc"
grep -q 'NUL byte sent' "$tmp/c.err" || fail "C: no NUL byte sent"
grep -q 'the peer quit' "$tmp/go.err" || fail "Go: did not see the NUL byte"
echo "PASS: C sendrecv <-> Go sendrecv ${mode:-simple-example line}"
