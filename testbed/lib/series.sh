# SPDX-License-Identifier: GPL-2.0
# patches/series, the one list of our kernel-side work: which files are ours
# and which changes to upstream files we carry, in commit order. Sourced
# after common.sh by every stage that needs "our files" (the overlay of the
# kernel source, the static checks, the export); series_apply is the one way
# a patch is applied, for the build tree and for the exported series alike.

SERIES=$REPO_ROOT/patches/series
# Where files of ours may live: the kernel tree's own layout.
SERIES_DIRS="arch drivers include Documentation samples tools"

series_lines() {	# each "PATCH [PATH...]" line, comments dropped
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$SERIES"
}

series_patches() {
	series_lines | awk '{ print $1 }'
}

series_paths() {	# PATCH: the files and folders of ours its commit adds
	series_lines | awk -v p="$1" '$1 == p { for (i = 2; i <= NF; i++) print $i }'
}

# The files of ours that PATHS name (folders expanded to the files git knows
# in them, tracked or new), sorted.
series_expand() {
	[ $# -gt 0 ] || return 0
	(cd "$REPO_ROOT" && git ls-files -co --exclude-standard -- "$@") | LC_ALL=C sort -u
}

# Every file of ours: what the series' lines list.
series_files() {
	series_expand $(series_lines | awk '{ for (i = 2; i <= NF; i++) print $i }')
}

# Files under SERIES_DIRS that no line of the series lists, and listed paths
# that do not exist: both mean the series and the tree disagree.
series_check() {
	local p bad=""
	for p in $(series_patches); do
		[ -e "$REPO_ROOT/patches/$p" ] || bad="$bad patches/$p (missing)"
	done
	for p in $(series_lines | awk '{ for (i = 2; i <= NF; i++) print $i }'); do
		[ -n "$(series_expand "$p")" ] ||
			bad="$bad $p (listed, no such file)"
	done
	p=$(comm -23 <(cd "$REPO_ROOT" && git ls-files -co --exclude-standard -- $SERIES_DIRS |
		LC_ALL=C sort) <(series_files))
	[ -z "$p" ] || bad="$bad $(echo $p) (in no line of patches/series)"
	[ -z "$bad" ] || { echo "patches/series:$bad"; return 1; }
}

series_has_diff() {	# PATCH: does it change files that exist upstream?
	grep -q '^diff --git \|^--- a/' "$REPO_ROOT/patches/$1"
}

# series_apply DIR PATCH: apply one patch of the series to the tree DIR with
# git apply (whole or not at all; whitespace errors refused). A file of DIR
# that is a hard link (kernel-src.sh links its tree to the pristine one) is
# copied first so that the pristine tree is never changed.
series_apply() {
	local dir=$1 p=$REPO_ROOT/patches/$2 f
	series_has_diff "$2" || return 0
	for f in $(git apply --numstat "$p" | cut -f3); do
		if [ -f "$dir/$f" ] && [ "$(stat -c %h "$dir/$f")" -gt 1 ]; then
			cp "$dir/$f" "$dir/$f.tmp.$$" && mv "$dir/$f.tmp.$$" "$dir/$f"
		fi
	done
	# The ceiling keeps git from taking a repository above DIR for its own.
	(cd "$dir" && GIT_CEILING_DIRECTORIES=$(dirname "$(pwd -P)") \
		git apply --whitespace=error-all "$p")
}
