#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static checks of our files: checkpatch --strict, kernel-doc, sparse (C=2)
# and W=1 on our objects for arm64 and x86_64, uapi headers compiled
# standalone, the DT binding, and the export of the patch series.
# Writes "PASS|FAIL|SKIP<TAB>name<TAB>detail" lines to $1.
set -uo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"

RES=$1
SRC=$CACHE/linux/src
B=$KBUILD
X86=$CACHE/linux/build-x86_64
W=$CACHE/static && rm -rf "$W" && mkdir -p "$W"

res() { printf '%s\t%s\t%s\n' "$1" "static/$2" "$3" >> "$RES"; echo "$1 static/$2${3:+  ($3)}"; }
check() {	# NAME LOGFILE CMD...: PASS if CMD succeeds with an empty log
	local name=$1 out=$2
	shift 2
	if "$@" > "$out" 2>&1 && ! [ -s "$out" ]; then
		res PASS "$name" ""
	else
		res FAIL "$name" "$(head -c 600 "$out" | tr '\n' ' ')"
	fi
}

# pcheck NAME STRIP COMMAND ITEM...: the check NAME/<item less STRIP> for
# each item, $JOBS at a time (the checks are many and each is a process of
# its own); COMMAND is a shell command that reads its item as "$1", and an
# item passes if COMMAND succeeds and prints nothing. Results in item order.
pcheck() {
	local name=$1 strip=$2 d item key
	d=$W/par-$(printf %s "$1" | tr / _)
	mkdir -p "$d"
	export PCHECK_CMD=$3 PCHECK_DIR=$d
	shift 3
	[ $# -gt 0 ] || return 0
	printf '%s\0' "$@" | xargs -0 -P "$JOBS" -n 1 sh -c \
		'k=$(printf %s "$1" | md5sum | cut -c1-16)
		 eval "$PCHECK_CMD" > "$PCHECK_DIR/$k.log" 2>&1
		 echo $? > "$PCHECK_DIR/$k.rc"' sh
	for item in "$@"; do
		key=$(printf %s "$item" | md5sum | cut -c1-16)
		if [ "$(cat "$d/$key.rc" 2>/dev/null)" = 0 ] && ! [ -s "$d/$key.log" ]; then
			res PASS "$name/${item#"$strip"}" ""
		else
			res FAIL "$name/${item#"$strip"}" "$(head -c 600 "$d/$key.log" | tr '\n' ' ')"
		fi
	done
}

cd "$REPO_ROOT"
OURS=$(series_files)
KFILES=$(echo "$OURS" | grep -E '\.[ch]$' || true)

# --- checkpatch --strict on every file of ours and every patch ---
# shellcheck disable=SC2016
pcheck checkpatch "" "'$SRC/scripts/checkpatch.pl' --strict --no-tree --quiet \
	--no-summary --show-types -f \"\$1\"" $KFILES
# --- kernel-doc: no warnings on our kernel files (the selftests' module too) ---
# shellcheck disable=SC2016
pcheck kernel-doc "" "'$SRC/scripts/kernel-doc' -none -Wall \"\$1\"" \
	$(echo "$KFILES" | grep -v '^tools/\|^samples/') \
	$(echo "$KFILES" | grep '^tools/testing/selftests/xen-pci/msi_test/')

# --- our objects with sparse (C=2) and W=1 ---
OBJS=$(echo "$KFILES" | grep -E '^(arch|drivers)/.*\.c$' | sed 's/\.c$/.o/')
SRC_RE=$(printf '%s' "$SRC" | sed 's/[.]/[.]/g')
build_objs() {	# ARCH BUILDDIR CROSS: all our objects in one make, -k
	local arch=$1 bd=$2 cross=$3 o objs="" mine
	for o in $OBJS; do
		# Objects of another architecture are not ours to build here.
		case $o in arch/*) [ "${o#arch/$arch/}" = "$o" ] && continue ;; esac
		if ! grep -q "$(basename "$o")" "$SRC/$(dirname "$o")/Makefile" 2>/dev/null; then
			res FAIL "objects/$arch/$o" "not in its Makefile"
			continue
		fi
		rm -f "$bd/$o"
		objs="$objs $o"
	done
	[ -n "$objs" ] || return 0
	make -s -k -C "$SRC" O="$bd" ARCH="$arch" CROSS_COMPILE="$cross" C=2 W=1 \
		-j"$JOBS" $objs > "$W/obj.log" 2>&1
	for o in $objs; do
		# Only diagnostics about our own files count: the object's source
		# and every file of ours beside it (a driver's private headers).
		mine=$(echo "$KFILES" | grep -E "^$(dirname "$o")/[^/]+\.[ch]$" |
			sed 's/[.]/[.]/g' | paste -sd'|')
		# gcc and sparse name files by their path in the source tree,
		# which an out-of-tree build (O=) makes absolute.
		grep -E "^($SRC_RE/)?(${mine:-$(echo "${o%.o}" | sed 's/[.]/[.]/g')\.c}):" \
			"$W/obj.log" > "$W/obj.ours" || true
		if [ -s "$W/obj.ours" ] || [ ! -e "$bd/$o" ]; then
			res FAIL "sparse-W1/$arch/$o" "$(head -c 600 "$W/obj.ours" "$W/obj.log" | tr '\n' ' ')"
		else
			res PASS "sparse-W1/$arch/$o" ""
		fi
	done
}
if [ -z "$OBJS" ]; then
	res SKIP "sparse-W1" "no kernel C files of ours yet"
else
	build_objs arm64 "$B" "$CROSS"
	# x86_64: allnoconfig + Xen dom0 + our options, COMPILE_TEST for the rest.
	mkdir -p "$X86"
	want=$(tree_hash "$TB_ROOT/config/x86_64.config")-$(cat "$SRC/.patched")
	if [ "$(cat "$X86/.stamp" 2>/dev/null)" != "$want" ]; then
		make -s -C "$SRC" O="$X86" ARCH=x86_64 allnoconfig >/dev/null
		(cd "$X86" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$X86" .config \
			"$TB_ROOT/config/x86_64.config" >/dev/null)
		make -s -C "$SRC" O="$X86" ARCH=x86_64 olddefconfig >/dev/null
		make -s -C "$SRC" O="$X86" ARCH=x86_64 CC="ccache gcc" -j"$JOBS" prepare >/dev/null 2>&1
		echo "$want" > "$X86/.stamp"
	fi
	build_objs x86_64 "$X86" ""
fi

# --- uapi headers: standalone, for arm64 and the host ---
UAPI=$(git ls-files -co --exclude-standard -- include/uapi | grep '\.h$' || true)
if [ -z "$UAPI" ]; then
	res SKIP "uapi" "no uapi headers of ours yet"
fi
for h in $UAPI; do
	rel=${h#include/uapi/}
	for cc in "${CROSS}gcc" gcc; do
		check "uapi/$cc/$rel" "$W/uapi.log" sh -c "echo '#include <$rel>' |
			$cc -x c -fsyntax-only -Wall -Wextra -std=c99 -I'$B/usr/include' - 2>&1"
	done
done

# --- DT bindings of ours ---
BINDINGS=$(echo "$OURS" | grep '^Documentation/devicetree/bindings/.*\.yaml$' || true)
[ -z "$BINDINGS" ] && res SKIP "dt-binding" "no DT binding of ours yet"
for y in $BINDINGS; do
	check "dt-binding/yamllint/$y" "$W/yl.log" \
		yamllint -f parsable -c "$SRC/Documentation/devicetree/bindings/.yamllint" "$y"
	check "dt-binding/schema/$y" "$W/dt.log" "$PY" "$TB_ROOT/lib/dt-check.py" "$y" "$W"
done

# --- the export is complete and applies to the pinned base; checkpatch on
# --- the series as it would be mailed ---
check "export" "$W/export.log" sh -c "'$TB_ROOT/lib/export.sh' '$W/export' >/dev/null 2>'$W/export.err' || cat '$W/export.err'"
p=$W/export/0000-cover-letter.patch
if [ -e "$p" ]; then
	grep -q "^Tested on QEMU-hosted Xen with inputs: linux-source-6.12 " "$p" &&
		res PASS "export/cover-letter-names-versions" "" ||
		res FAIL "export/cover-letter-names-versions" "no versions in $p"
fi
# The base is a source tarball without upstream history: commit ids cited
# in a message (Fixes:) cannot be looked up here.
# shellcheck disable=SC2016
pcheck checkpatch/series "$W/export/" "cd '$SRC' && ./scripts/checkpatch.pl --strict \
	--quiet --no-summary --show-types --ignore FILE_PATH_CHANGES,UNKNOWN_COMMIT_ID \"\$1\"" \
	$(ls "$W"/export/*.patch 2>/dev/null | grep -v '/0000-cover-letter\.patch$')
