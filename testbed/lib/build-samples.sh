#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "samples": our userspace backends (samples/xen/), built the kernel
# way (kbuild userprogs, CONFIG_SAMPLE_*) by the cross compiler, against the
# uapi headers of the kernel just built, for the dom0 root filesystem.
set -euo pipefail
. "$(dirname "$0")/common.sh"

SRC=$CACHE/linux/src
B=$KBUILD
DEST=$CACHE/samples
rm -rf "$DEST" && mkdir -p "$DEST"
if [ ! -e "$SRC/samples/xen/Makefile" ] || ! grep -q '^CONFIG_SAMPLE_XEN.*=y' "$B/.config"; then
	log "no Xen samples configured"
	exit 0
fi
xen_user_flags
make -C "$SRC" O="$B" ARCH=arm64 CROSS_COMPILE="$CROSS" CC="ccache ${CROSS}gcc" \
	-j"$JOBS" samples/xen/ >"$DEST/build.log" 2>&1 ||
	{ tail -30 "$DEST/build.log"; die "samples do not build"; }
find "$B/samples/xen" -maxdepth 1 -type f -perm -u+x -exec cp {} "$DEST/" \;
log "samples: $(ls "$DEST" | grep -v build.log | tr '\n' ' ')"
