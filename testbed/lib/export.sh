#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Export our work as the series we would mail upstream: a git repository of
# the pinned base with one commit per patches/series line (the patch's diff
# plus the new files that line lists), then `git format-patch` into DIR.
# Fails if a file of ours is in no commit or a patch does not apply
# (lib/series.sh, the same rules as the build tree's).
set -euo pipefail
. "$(dirname "$0")/common.sh"
. "$(dirname "$0")/series.sh"

DIR=${1:-$CACHE/export}
LVER=$(cat "$CACHE/downloads/linux.version")
PRISTINE=$CACHE/linux/pristine-$LVER
G=$CACHE/export-git
[ -d "$PRISTINE" ] || die "no pinned base yet: run testbed/run build first"

export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-Xen PCI developers} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-xen-pci@example.org}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
gg() { git -C "$G" -c core.autocrlf=false -c advice.detachedHead=false "$@"; }

# Base commit, made once per pinned version.
if [ "$(cat "$G/.git/xenpci-base" 2>/dev/null)" != "$LVER" ]; then
	log "making the base repository for $LVER (once)"
	rm -rf "$G" && mkdir -p "$G"
	cp -a "$PRISTINE/." "$G/"
	rm -f "$G/.unpacked"
	gg init -q
	gg add -A -f
	gg commit -q -m "Linux 6.12.y (Debian linux-source-6.12 $LVER)"
	gg tag base
	echo "$LVER" > "$G/.git/xenpci-base"
fi
gg checkout -q -f base
gg clean -q -fdx
gg checkout -q -B series

cd "$REPO_ROOT"
series_check >&2 || die "the series and the tree disagree"
for p in $(series_patches); do
	series_apply "$G" "$p" || die "patches/$p does not apply"
	for x in $(series_expand $(series_paths "$p")); do
		mkdir -p "$G/$(dirname "$x")"
		cp "$x" "$G/$x"
	done
	gg add -A -f
	# Commit message: the patch's Subject and body, up to the --- line.
	subj=$(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' "patches/$p" | head -1)
	body=$(awk 'BEGIN{h=1} h && /^$/ {h=0; next} !h && /^---$/ {exit} !h {print}' "patches/$p")
	gg commit -q --allow-empty -m "$subj" -m "$body"
done

rm -rf "$DIR" && mkdir -p "$DIR"
gg format-patch -q --cover-letter -o "$DIR" base..series
# The cover letter says what the series was built and tested on.
. "$TB_ROOT/lib/stages.sh"
cover=$(ls "$DIR"/0000-cover-letter.patch)
sed -i "s|^\*\*\* SUBJECT HERE \*\*\*|PCI for Xen guests on arm64|; s|^\*\*\* BLURB HERE \*\*\*|Base: Debian linux-source-6.12 $LVER.\\
Tested on QEMU-hosted Xen with $(versions | sed 's/[|&]/ /g')|" "$cover"
ls "$DIR"
