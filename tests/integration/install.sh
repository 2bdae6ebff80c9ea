#!/usr/bin/env bash
# Installs the build into a temporary prefix and checks what a user gets:
# every program, libprom (static and shared) with its headers, and prom.pc that
# lets a C program build against it with pkg-config.
# Usage: install.sh <source dir> <build dir>
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
for p in prom-server prom-tool prom-node-exporter prom-process-exporter prom-pushgateway \
    prom-alertmanager; do
    [ -x "$tmp/prefix/bin/$p" ] || { echo "FAIL: $p was not installed"; exit 1; }
    # Whole outputs first: grep -q stops reading early, and with pipefail the
    # program's EPIPE would fail the check.
    version=$("$tmp/prefix/bin/$p" --version) help=$("$tmp/prefix/bin/$p" --help)
    grep -q "^$p, version " <<<"$version" || { echo "FAIL: $p --version"; exit 1; }
    grep -q "^usage: $p" <<<"$help" || { echo "FAIL: $p --help"; exit 1; }
done
libdir=$(find "$tmp/prefix" -name prom.pc -printf '%h\n' | head -1)
[ -n "$libdir" ] || { echo "FAIL: prom.pc was not installed"; exit 1; }
[ -f "$tmp/prefix/include/prom/prom.h" ] || { echo "FAIL: prom/prom.h was not installed"; exit 1; }

cat >"$tmp/app.c" <<'C'
#include <prom/prom.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    printf("%s %u\n", prom_version_string(), prom_version());
    return strcmp(prom_version_string(), "0.1.0") != 0;
}
C
# pkg-config with the prefix the build was configured for would point elsewhere;
# --define-variable puts the temporary prefix in its place.
pc=(env PKG_CONFIG_PATH="$libdir" pkg-config --define-variable=prefix="$tmp/prefix")
cc "$tmp/app.c" -o "$tmp/app-shared" $("${pc[@]}" --cflags --libs prom)
LD_LIBRARY_PATH=$("${pc[@]}" --variable=libdir prom) "$tmp/app-shared" | grep -qx '0.1.0 100' ||
    { echo "FAIL: program linked with the shared libprom"; exit 1; }
cc "$tmp/app.c" -o "$tmp/app-static" $("${pc[@]}" --cflags prom) \
    "$("${pc[@]}" --variable=libdir prom)/libprom.a"
"$tmp/app-static" | grep -qx '0.1.0 100' || { echo "FAIL: program linked with libprom.a"; exit 1; }
echo "install: programs, headers, libprom.a, libprom.so and prom.pc work from $tmp/prefix"
