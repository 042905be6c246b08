#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Offline test of the kernel source stage (kernel-src.sh) on a tree of two
# files: when the series changes, every file whose content changes must look
# newer than what was built from it, or make keeps stale objects. The case
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

# A repository of ours: the test bed's scripts, a series, two patches.
repo=$tmp/repo
mkdir -p "$repo/testbed/lib" "$repo/patches" "$repo/drivers"
cp "$lib/common.sh" "$lib/series.sh" "$lib/kernel-src.sh" "$repo/testbed/lib/"
git -C "$repo" init -q
cat > "$repo/patches/0001-h.patch" <<'EOF'
Subject: [PATCH] add a field

diff --git a/include/h.h b/include/h.h
--- a/include/h.h
+++ b/include/h.h
@@ -1 +1,2 @@
 struct s { int a;
+int b;
EOF
cat > "$repo/patches/0002-c.patch" <<'EOF'
Subject: [PATCH] touch c.c

diff --git a/c.c b/c.c
--- a/c.c
+++ b/c.c
@@ -1 +1,2 @@
 int c;
+int d;
EOF

# A pristine tree, unpacked long ago.
cache=$tmp/cache
pristine=$cache/linux/pristine-1
mkdir -p "$cache/downloads" "$pristine/include"
echo 1 > "$cache/downloads/linux.version"
echo 'struct s { int a;' > "$pristine/include/h.h"
echo 'int c;' > "$pristine/c.c"
touch -d '2020-01-01' "$pristine/include/h.h" "$pristine/c.c"
touch "$pristine/.unpacked"

run_stage() {
	XEN_PCI_CACHE=$cache bash "$repo/testbed/lib/kernel-src.sh" \
		> "$tmp/log" 2>&1
}

src=$cache/linux/src
echo "0001-h.patch" > "$repo/patches/series"
if ! run_stage; then
	result FAIL series-change-rebuilds "first series: $(tail -1 "$tmp/log")"
	exit 0
fi
# As after a build: the objects are newer than their sources.
obj=$tmp/h.o
touch -d '-100 seconds' "$src/include/h.h"
touch -d '-50 seconds' "$obj"

# The next series no longer patches the header.
echo "0002-c.patch" > "$repo/patches/series"
if ! run_stage; then
	result FAIL series-change-rebuilds "second series: $(tail -1 "$tmp/log")"
	exit 0
fi
if ! cmp -s "$src/include/h.h" "$pristine/include/h.h"; then
	result FAIL series-change-rebuilds "the header is not the pristine one again"
elif [ "$src/include/h.h" -nt "$obj" ]; then
	result PASS series-change-rebuilds
else
	result FAIL series-change-rebuilds "include/h.h reverted with mtime $(stat -c %y "$src/include/h.h"), older than what was built from the patched one: make would keep it"
fi
# The pristine tree is never changed, mtimes included.
if [ "$(stat -c %Y "$pristine/include/h.h")" = "$(date -d 2020-01-01 +%s)" ] &&
   [ "$(cat "$pristine/include/h.h")" = 'struct s { int a;' ]; then
	result PASS pristine-untouched
else
	result FAIL pristine-untouched "the pristine header changed"
fi
