#!/bin/bash
# SPDX-License-Identifier: MIT
#
# capi/run-tests.sh: configure, build and test gonice's C library with CMake:
# every CTest test (C tests, their AddressSanitizer and valgrind variants,
# header and export checks, and `go test ./...` of the module), then install
# to a temporary prefix (with the libnice drop-in in lib/gonice/, if built)
# and build an outside program with pkg-config and with find_package(gonice).
# Exits non-zero on any failure.
#
#   capi/run-tests.sh                 # build dir: build/capi
#   GONICE_BUILD_DIR=/tmp/b capi/run-tests.sh
#   GONICE_GO_TESTS=OFF capi/run-tests.sh   # skip go test (C only)
#
# Needs: Go at /usr/local/go/bin (or on PATH), and Debian packages
# build-essential cmake pkg-config valgrind.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
B=${GONICE_BUILD_DIR:-build/capi}
JOBS=${JOBS:-$(nproc)}

step() { printf '\n=== %s\n' "$*"; }

step "configure ($B)"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGONICE_GO_TESTS="${GONICE_GO_TESTS:-ON}"
step "build"
cmake --build "$B" -j "$JOBS"
step "ctest"
ctest --test-dir "$B" --output-on-failure -j "$JOBS"

step "install to a temporary prefix"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$B" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name gonice.pc | head -1)
libdir=$(dirname "$(dirname "$pc")")
ls -l "$libdir"/libgonice*
test -L "$libdir/libgonice.so" && test -L "$libdir/libgonice.so.0" && test -f "$libdir/libgonice-core.so.0"
test -f "$tmp/prefix/include/gonice.h"
test -f "$tmp/prefix/share/doc/gonice/porting-from-libnice.md"
# The libnice drop-in, when built: in its own libdir, finding libgonice.
if [[ -f "$B/compat/libnice/libnice.so.10" ]]; then
	test -L "$libdir/gonice/libnice.so.10" && test -f "$libdir/gonice/pkgconfig/nice.pc"
	# Not "ldd | grep -q": grep leaving at the first match can kill ldd
	# with SIGPIPE, which pipefail makes a failure (it did, once).
	deps=$(ldd "$libdir/gonice/libnice.so.10")
	grep -qF "libgonice.so.0 => $libdir/gonice/../libgonice.so.0" <<<"$deps"
	echo "libnice drop-in installed: $libdir/gonice/libnice.so.10 -> $libdir/libgonice.so.0"
fi

step "outside program with pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror -o "$tmp/outside-pc" tests/c/outside/outside.c \
	$(pkg-config --cflags --libs gonice) -Wl,-rpath,"$libdir"
"$tmp/outside-pc"

step "outside program with find_package(gonice)"
cmake -S tests/c/outside -B "$tmp/outside-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/outside-build" >/dev/null
"$tmp/outside-build/outside"

step "PASS: capi/run-tests.sh"
