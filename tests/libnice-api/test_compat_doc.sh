#!/bin/bash
# SPDX-License-Identifier: MIT
#
# test_compat_doc.sh: docs/libnice-compat.md names every symbol the system's
# libnice.so.10 exports and every property of the drop-in's NiceAgent, and
# says "not exported" of nothing the drop-in exports.
#
#   tests/libnice-api/test_compat_doc.sh SYSTEM_LIBNICE DROPIN_LIBNICE
set -euo pipefail
system=$1 dropin=$2
cd "$(dirname "$0")/../.."
doc=docs/libnice-compat.md
rc=0
for sym in $(nm -D --defined-only "$system" | awk '{print $3}' | sed 's/@.*//'); do
	if ! grep -qF "\`$sym" "$doc"; then
		echo "FAIL: $doc does not name $sym (exported by $system)" >&2
		rc=1
	fi
done
for prop in $(grep -oE 'g_param_spec_[a-z]+\("[a-z-]+"' compat/libnice/agent.c | sed -E 's/.*\("//; s/"$//'); do
	if ! grep -qF "\`$prop\`" "$doc"; then
		echo "FAIL: $doc does not name the property $prop" >&2
		rc=1
	fi
done
# A row that says "not exported" must not name an exported function.
for sym in $(nm -D --defined-only "$dropin" | awk '{print $3}'); do
	if grep -F "\`$sym\`" "$doc" | grep -q "not exported"; then
		echo "FAIL: $doc says $sym is not exported, but $dropin exports it" >&2
		rc=1
	fi
done
[ "$rc" = 0 ] && echo "$doc: every libnice symbol and property is described"
exit "$rc"
