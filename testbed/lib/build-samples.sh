#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "samples": cross-build our userspace backends (samples/xen/) for the
# dom0 root filesystem, against the uapi headers of the kernel just built.
set -euo pipefail
. "$(dirname "$0")/common.sh"

VARIANT=${1:-normal}
B=$CACHE/linux/build-$VARIANT
S=$CACHE/linux/src/samples/xen
DEST=$CACHE/samples-$VARIANT
rm -rf "$DEST" && mkdir -p "$DEST"
if [ ! -e "$S/Makefile" ]; then
	log "no samples/xen yet"
	exit 0
fi
make -s -C "$S" CC="ccache ${CROSS}gcc" KHDR="$B/usr/include" O="$DEST" >"$DEST/build.log" 2>&1 ||
	{ tail -30 "$DEST/build.log"; die "samples do not build"; }
