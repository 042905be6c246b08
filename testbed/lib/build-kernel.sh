#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "build kernel": the one arm64 Image of the test bed, from allnoconfig
# + fragments (platform, selftests, debug: KASAN, lockdep, kmemleak), out of
# tree, with ccache; modules and uapi headers installed into the staging area
# the root filesystems take them from. It serves dom0, the domUs, bare QEMU
# and the demo: one kernel build keeps a cold run short.
set -euo pipefail
. "$(dirname "$0")/common.sh"

SRC=$CACHE/linux/src
B=$KBUILD
FRAGS="$TB_ROOT/config/kernel.config $REPO_ROOT/tools/testing/selftests/xen-pci/config
 $TB_ROOT/config/debug.config"

km() { make -C "$SRC" O="$B" ARCH=arm64 CROSS_COMPILE="$CROSS" \
	CC="ccache ${CROSS}gcc" -j"$JOBS" "$@"; }

xen_user_flags
mkdir -p "$B"
want=$(tree_hash $FRAGS)-$(cat "$SRC/.patched")
if [ "$(cat "$B/.config-stamp" 2>/dev/null)" != "$want" ] || [ ! -e "$B/.config" ]; then
	log "configuring the kernel"
	km allnoconfig >/dev/null
	(cd "$B" && KCONFIG_CONFIG=.config "$SRC/scripts/kconfig/merge_config.sh" \
		-m -O "$B" .config $FRAGS >/dev/null)
	km olddefconfig >/dev/null
	# Every option the fragments ask for must have taken.
	bad=0
	for f in $FRAGS; do
		while IFS= read -r line; do
			case $line in
			CONFIG_*=n) o=${line%=n}; grep -q "^$o=" "$B/.config" && { log "$o still set"; bad=1; } ;;
			CONFIG_*) grep -qxF "$line" "$B/.config" || { log "$line did not take ($(basename "$f"))"; bad=1; } ;;
			esac
		done < "$f"
	done
	[ $bad = 0 ] || die "kernel config fragments did not apply"
	echo "$want" > "$B/.config-stamp"
fi

log "building the kernel in $B"
km Image modules >"$B/build.log" 2>&1 || { grep -E 'error|Error' "$B/build.log" | head -30; tail -20 "$B/build.log"; die "kernel build failed (log: $B/build.log)"; }
rm -rf "$B/staging" && mkdir -p "$B/staging"
km INSTALL_MOD_PATH="$B/staging" INSTALL_MOD_STRIP=1 modules_install >/dev/null
km headers >/dev/null
mkdir -p "$OUT"
cp "$B/arch/arm64/boot/Image" "$OUT/Image"
log "kernel $(cat "$B/include/config/kernel.release") -> $OUT/Image"
