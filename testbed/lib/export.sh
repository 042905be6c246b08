#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Export our work as the series we would mail upstream: a git repository of
# the pinned base with one commit per patches/series line (the patch's diff
# plus the new files that line lists), then `git format-patch` into DIR.
# Fails if a file of ours is in no commit or a patch does not apply.
set -euo pipefail
. "$(dirname "$0")/common.sh"

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
ours=$(git ls-files -co --exclude-standard -- arch drivers include Documentation samples tools | LC_ALL=C sort)
covered=""
while read -r p paths; do
	case $p in ''|'#'*) continue ;; esac
	[ -e "patches/$p" ] || die "patches/series names a missing patches/$p"
	if grep -q '^diff \|^--- a/' "patches/$p"; then
		gg apply --whitespace=error-all "$REPO_ROOT/patches/$p" || die "patches/$p does not apply"
	fi
	for f in $paths; do
		[ -e "$f" ] || die "patches/series: $f (in $p) does not exist"
		files=$(git ls-files -co --exclude-standard -- "$f")
		[ -n "$files" ] || die "patches/series: $f has no files"
		for x in $files; do
			mkdir -p "$G/$(dirname "$x")"
			cp "$x" "$G/$x"
			covered="$covered
$x"
		done
	done
	gg add -A -f
	# Commit message: the patch's Subject and body, up to the --- line.
	git mailinfo -k /dev/null /dev/null < "patches/$p" > /dev/null 2>&1 || true
	subj=$(sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p' "patches/$p" | head -1)
	body=$(awk 'BEGIN{h=1} h && /^$/ {h=0; next} !h && /^---$/ {exit} !h {print}' "patches/$p")
	gg commit -q --allow-empty -m "$subj" -m "$body"
done < patches/series

missing=$(comm -23 <(echo "$ours") <(echo "$covered" | sed '/^$/d' | LC_ALL=C sort -u))
[ -z "$missing" ] || die "files in no commit of patches/series: $(echo $missing)"

rm -rf "$DIR" && mkdir -p "$DIR"
gg format-patch -q --cover-letter -o "$DIR" base..series
# The cover letter says what the series was built and tested on.
. "$TB_ROOT/lib/stages.sh"
cover=$(ls "$DIR"/0000-cover-letter.patch)
sed -i "s|^\*\*\* SUBJECT HERE \*\*\*|PCI for Xen guests on arm64|; s|^\*\*\* BLURB HERE \*\*\*|Base: Debian linux-source-6.12 $LVER.\\
Tested on QEMU-hosted Xen with $(versions | sed 's/[|&]/ /g')|" "$cover"
ls "$DIR"
