#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "build Xen": Debian trixie's xen 4.20 source (with Debian's own patch
# series, nothing of ours), configured with testbed/config/xen.config.
set -euo pipefail
. "$(dirname "$0")/common.sh"

DL=$CACHE/downloads
XVER=$(cat "$DL/xen.version")
SRC=$CACHE/xen/src-$XVER
XENOUT=$OUT/xen

want=$(tree_hash "$TB_ROOT/config/xen.config" "$0")-$XVER
if [ -e "$XENOUT" ] && [ "$(cat "$CACHE/xen/stamp" 2>/dev/null)" = "$want" ]; then
	log "Xen $XVER is up to date"
	exit 0
fi

if [ ! -e "$SRC/.unpacked" ]; then
	log "unpacking xen $XVER"
	rm -rf "$SRC" && mkdir -p "$SRC"
	tar -C "$SRC" --strip-components=1 -xf "$DL"/xen-src/*.orig.tar.*
	tar -C "$SRC" -xf "$DL"/xen-src/*.debian.tar.*
	# Debian's quilt series, as dpkg-source would apply it.
	while read -r p _; do
		case $p in ''|'#'*) continue ;; esac
		patch -d "$SRC" -p1 -s -N --no-backup-if-mismatch < "$SRC/debian/patches/$p" ||
			die "Debian patch $p does not apply"
	done < "$SRC/debian/patches/series"
	touch "$SRC/.unpacked"
fi

mk() { make -C "$SRC/xen" XEN_TARGET_ARCH=arm64 CROSS_COMPILE="$CROSS" \
	CC="ccache ${CROSS}gcc" -j"$JOBS" "$@"; }
mk defconfig >/dev/null
cat "$TB_ROOT/config/xen.config" >> "$SRC/xen/.config"
mk olddefconfig >/dev/null
# Every option of the fragment must have taken.
while IFS= read -r line; do
	case $line in CONFIG_*=n) opt=${line%=n}
		grep -qx "$opt=y" "$SRC/xen/.config" && die "Xen: $opt still set" ;;
	CONFIG_*) grep -qx "$line" "$SRC/xen/.config" || die "Xen: $line did not take" ;;
	esac
done < "$TB_ROOT/config/xen.config"
log "building Xen $XVER for arm64"
mk >"$CACHE/xen/build.log" 2>&1 || { tail -30 "$CACHE/xen/build.log"; die "Xen build failed"; }
mkdir -p "$OUT"
cp "$SRC/xen/xen" "$XENOUT"
cp "$SRC/xen/.config" "$OUT/xen.config"
echo "$XVER" > "$OUT/xen.version"
echo "$want" > "$CACHE/xen/stamp"
log "Xen $XVER built: $XENOUT"
