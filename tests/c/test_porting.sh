#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_porting.sh: docs/porting-from-libnice.md stays true to both APIs:
# the gonice_* names in it are gonice's functions, all of them (as
# test_functions prints them; CTest c_functions holds those equal to
# gonice.h's), and every function libnice's nice/agent.h and nice/candidate.h
# declare is in the first column of a row. Exits 77 (CTest SKIP_RETURN_CODE) when libnice's
# header is not installed (Debian: libnice-dev), unless CI=true: then that
# is a failure.
#
#   tests/c/test_porting.sh path/to/test_functions [path/to/nice/agent.h]
set -euo pipefail
functions=$(realpath "$1")
cd "$(dirname "$0")/../.."
doc=docs/porting-from-libnice.md
rc=0

declared=$("$functions" | sort -u)
named=$(grep -oE 'gonice_[a-z0-9_]+' "$doc" | sort -u)
unknown=$(comm -23 <(echo "$named") <(echo "$declared"))
if [ -n "$unknown" ]; then
	echo "FAIL: $doc names functions gonice does not have:" $unknown >&2
	rc=1
fi
unnamed=$(comm -13 <(echo "$named") <(echo "$declared"))
if [ -n "$unnamed" ]; then
	echo "FAIL: $doc does not name these functions of gonice:" $unnamed >&2
	rc=1
fi

agent_h=${2:-$(pkg-config --variable=includedir nice 2>/dev/null || echo /usr/include)/nice/agent.h}
if [ ! -f "$agent_h" ]; then
	echo "libnice's header $agent_h not found: its functions are not checked" >&2
	[ "${CI:-}" = true ] && exit 1
	[ "$rc" = 0 ] && exit 77
	exit "$rc"
fi
# Declarations start a line: "nice_x (" or "Type *nice_x (", not a comment.
candidate_h=$(dirname "$agent_h")/candidate.h
libnice=$(grep -hE '^([^ *#/][^(]*[ *])?nice_[a-z0-9_]+ *\(' "$agent_h" "$candidate_h" |
	sed -E 's/^([^(]*[ *])?(nice_[a-z0-9_]+) *\(.*/\2/' | sort -u)
mapped=$(awk -F'|' '/^\|/ { print $2 }' "$doc" | grep -oE '\bnice_[a-z0-9_]+' | sort -u)
unmapped=$(comm -23 <(echo "$libnice") <(echo "$mapped"))
if [ -n "$unmapped" ]; then
	echo "FAIL: $doc has no row for these functions of $agent_h and $candidate_h:" $unmapped >&2
	rc=1
fi
[ "$rc" = 0 ] && echo "ok: $doc maps the $(echo "$libnice" | wc -l) functions of $agent_h and $candidate_h" \
	"and names the $(echo "$declared" | wc -l) of gonice"
exit "$rc"
