#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Offline test of the kernel source stage (kernel-src.sh) on a tree of two
# files: when the series changes, every file whose content changes must look
# newer than what was built from it, or make keeps stale objects, also after
# two changes without a build and after a series that failed to apply. The case
# that failed: a header that the previous series patched and the new one no
# longer does comes back from the pristine tree with the pristine's old
# mtime, and the objects built with the patched header stay (a struct of two
# layouts in one kernel).
#   test_kernel_src.sh [--results FILE]   one PASS/FAIL line per case
set -uo pipefail

res=
[ "${1:-}" = --results ] && res=$2
lib=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

result() {
	local line="$1 kernel-src-stage/$2${3:+  ($3)}"

	if [ -n "$res" ]; then echo "$line" >> "$res"; else echo "$line"; fi
}

# A repository of ours: the test bed's scripts, a series, four patches.
repo=$tmp/repo
mkdir -p "$repo/testbed/lib" "$repo/patches" "$repo/drivers"
cp "$lib/common.sh" "$lib/series.sh" "$lib/kernel-src.sh" "$repo/testbed/lib/"
git -C "$repo" init -q
# one_line_patch NAME FILE LINE ADDED: a patch that adds ADDED after the
# one-line FILE's LINE (it does not apply where FILE has another line).
one_line_patch() {
	printf '%s\n' "Subject: [PATCH] $1" "" \
		"diff --git a/$2 b/$2" "--- a/$2" "+++ b/$2" "@@ -1 +1,2 @@" \
		" $3" "+$4" > "$repo/patches/$1.patch"
}
one_line_patch 0001-h include/h.h 'struct s { int a;' 'int b;'
one_line_patch 0002-c c.c 'int c;' 'int d;'
one_line_patch 0003-broken c.c 'int nothing_like_this;' 'int e;'
one_line_patch 0004-c2 c.c 'int c;' 'int f;'

cache=$tmp/cache
pristine=$cache/linux/pristine-1
src=$cache/linux/src
obj=$tmp/h.o

# A pristine tree, unpacked long ago, and nothing built yet.
fresh_cache() {
	rm -rf "$cache"
	mkdir -p "$cache/downloads" "$pristine/include"
	echo 1 > "$cache/downloads/linux.version"
	echo 'struct s { int a;' > "$pristine/include/h.h"
	echo 'int c;' > "$pristine/c.c"
	touch -d '2020-01-01' "$pristine/include/h.h" "$pristine/c.c"
	touch "$pristine/.unpacked"
}

# stage PATCH...: the series is these patches; run the stage.
stage() {
	printf '%s\n' "$@" > "$repo/patches/series"
	XEN_PCI_CACHE=$cache bash "$repo/testbed/lib/kernel-src.sh" \
		> "$tmp/log" 2>&1
}

# As after a build: the objects are newer than their sources.
built() {
	touch -d '-100 seconds' "$src/include/h.h"
	touch -d '-50 seconds' "$obj"
}

# check CASE: the header is the pristine one, and make would rebuild.
check() {
	if ! cmp -s "$src/include/h.h" "$pristine/include/h.h"; then
		result FAIL "$1" "the header is not the pristine one again"
	elif [ "$src/include/h.h" -nt "$obj" ]; then
		result PASS "$1"
	else
		result FAIL "$1" "include/h.h reverted with mtime $(stat -c %y "$src/include/h.h"), older than what was built from the patched one: make would keep it"
	fi
}

# A series patched the header and was built; the next one does not patch it.
fresh_cache
if stage 0001-h.patch && built && stage 0002-c.patch; then
	check series-change-rebuilds
else
	result FAIL series-change-rebuilds "$(tail -1 "$tmp/log")"
fi
# The pristine tree is never changed, mtimes included.
if [ "$(stat -c %Y "$pristine/include/h.h")" = "$(date -d 2020-01-01 +%s)" ] &&
   [ "$(cat "$pristine/include/h.h")" = 'struct s { int a;' ]; then
	result PASS pristine-untouched
else
	result FAIL pristine-untouched "the pristine header changed"
fi

# Two changes of the series with no build between them.
fresh_cache
if stage 0001-h.patch && built && stage 0002-c.patch && stage 0004-c2.patch; then
	check two-changes-without-a-build
else
	result FAIL two-changes-without-a-build "$(tail -1 "$tmp/log")"
fi

# A series that does not apply, then one that does.
fresh_cache
if ! stage 0001-h.patch || ! built; then
	result FAIL series-that-failed-to-apply "$(tail -1 "$tmp/log")"
elif stage 0002-c.patch 0003-broken.patch; then
	result FAIL series-that-failed-to-apply "a patch that cannot apply was applied"
elif stage 0002-c.patch; then
	check series-that-failed-to-apply
else
	result FAIL series-that-failed-to-apply "$(tail -1 "$tmp/log")"
fi
