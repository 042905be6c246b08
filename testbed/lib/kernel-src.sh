#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "kernel source": the base (Debian's linux-source-6.12 that the
# download stage selected and verified), our patch series from patches/ and our own files
# overlaid. Only files whose content changed get a new mtime, so a rebuild
# after editing one driver recompiles only that driver.
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"

DL=$CACHE/downloads
LVER=$(cat "$DL/linux.version")
PRISTINE=$CACHE/linux/pristine-$LVER
SRC=$CACHE/linux/src

if [ ! -e "$PRISTINE/.unpacked" ]; then
	log "unpacking linux-source-6.12 $LVER"
	rm -rf "$PRISTINE" && mkdir -p "$PRISTINE"
	dpkg-deb --fsys-tarfile "$DL"/kernel/linux-source-6.12_*.deb |
		tar -x --wildcards -O './usr/src/linux-source-6.12.tar.*' |
		tar -C "$PRISTINE" --strip-components=1 -xJ
	touch "$PRISTINE/.unpacked"
fi

# Patched tree: rebuilt from the pristine one whenever the series changes.
# The pristine files keep their old mtimes, so a file that an earlier
# series changed and this one does not would come back older than the
# objects built from its changed content, and make would keep them (a
# header that loses a field would leave objects of two layouts). The files
# the previous tree had of its own (patched or ours: not hard links of the
# pristine tree) are noted in src-prev; each of them that is a hard link of
# the pristine tree again gets a copy of its own, with a new mtime. The
# note goes only once the new tree is whole, so a series that failed to
# apply, or two changes without a build between them, lose nothing.
want=$LVER-$(tree_hash "$REPO_ROOT/patches")
if [ "$(cat "$SRC/.patched" 2>/dev/null)" != "$want" ]; then
	log "applying patches/ to $LVER"
	prev=$CACHE/linux/src-prev
	mkdir -p "$prev"
	if [ -d "$SRC" ]; then
		(cd "$SRC" && find . -type f -links 1 ! -path './.*' -print0 |
			rsync -a --from0 --files-from=- . "$prev/")
	fi
	rm -rf "$SRC"
	cp -al "$PRISTINE" "$SRC"
	rm -f "$SRC/.unpacked" "$SRC/.overlay"
	for p in $(series_patches); do
		series_apply "$SRC" "$p" || die "patches/$p does not apply to $LVER"
	done
	(cd "$prev" && find . -type f -print0) | while read -r -d '' f; do
		[ -f "$SRC/$f" ] && [ "$(stat -c %h "$SRC/$f")" -gt 1 ] || continue
		# a new inode: touching a hard link would age the pristine copy
		cp "$SRC/$f" "$SRC/$f.new" && mv "$SRC/$f.new" "$SRC/$f"
	done
	echo "$want" > "$SRC/.patched"
	rm -rf "$prev"
fi

# Overlay our files (those patches/series lists); remove the ones we no
# longer ship.
series_check >&2 || die "the series and the tree disagree"
new=$(series_files)
if [ -e "$SRC/.overlay" ]; then
	comm -23 "$SRC/.overlay" <(echo "$new") | while read -r f; do
		rm -f "$SRC/$f"
		[ -e "$PRISTINE/$f" ] && cp "$PRISTINE/$f" "$SRC/$f"
	done
fi
(cd "$REPO_ROOT" && echo "$new" | rsync -rc --files-from=- . "$SRC/")
echo "$new" > "$SRC/.overlay"
echo "$LVER" > "$SRC/.debian-version"
