# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers of the test bed. Sourced, never run.

TB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_ROOT=$(cd "$TB_ROOT/.." && pwd)
CACHE=${XEN_PCI_CACHE:-$HOME/.cache/xen-pci}
OUT=$CACHE/out			# artifacts a user can boot by hand
JOBS=${JOBS:-$(nproc)}
CROSS=aarch64-linux-gnu-
# Debian's interpreter, whose modules (yaml, jsonschema) come from the
# packages testbed/run installs, whatever python3 comes first in PATH.
PY=/usr/bin/python3

export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}

# The one kernel build of the test bed (see lib/build-kernel.sh).
KBUILD=$CACHE/linux/build

# Builds take both cores: every build stage holds this lock, so two runs of
# the test bed (or a developer and a helper) never compile at the same time.
BUILD_LOCK=${XEN_PCI_BUILD_LOCK:-/tmp/xen-pci-build.lock}

log()  { printf '[testbed] %s\n' "$*" >&2; }
die()  { printf '[testbed] FAILED at stage %s: %s\n' "${TB_STAGE:-?}" "$*" >&2; exit 1; }

# stage NAME TIMEOUT CMD...: run one stage with a time limit and name it on failure.
stage() {
	local name=$1 limit=$2 t0 rc
	shift 2
	export TB_STAGE=$name
	t0=$(date +%s)
	log "stage '$name' (limit ${limit}s)"
	set +e
	timeout --foreground -k 10 "$limit" "$@"
	rc=$?
	set -e
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		die "timed out after ${limit}s"
	elif [ $rc -ne 0 ]; then
		die "exit status $rc"
	fi
	log "stage '$name' done in $(( $(date +%s) - t0 ))s"
	[ -n "${CACHE:-}" ] && [ -d "$CACHE" ] &&
		printf '%s %s\n' "$name" "$(( $(date +%s) - t0 ))" >> "$CACHE/stage-times"
	return 0
}

# Content hash of a set of files/dirs, for "rebuild only what changed" stamps.
tree_hash() {
	( for p in "$@"; do
		if [ -d "$p" ]; then
			find "$p" -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
		elif [ -e "$p" ]; then
			sha256sum "$p"
		else
			echo "absent $p"
		fi
	done ) | sha256sum | cut -c1-16
}

# The Xen tools the passthrough sample links with, for kbuild's userprogs:
# trixie's arm64 headers (libxen-dev) and libraries, the very ones the dom0
# root filesystem runs. Exports USERCFLAGS and USERLDFLAGS.
xen_user_flags() {
	local sys=$CACHE/xen-sysroot f
	local want
	want=$(ls -l "$CACHE"/downloads/dev/ "$CACHE"/downloads/dom0/ | sha256sum | cut -c1-16)
	if [ "$(cat "$sys/.done" 2>/dev/null)" != "$want" ]; then
		rm -rf "$sys" && mkdir -p "$sys"
		for f in "$CACHE"/downloads/dev/libxen-dev_*.deb "$CACHE"/downloads/dom0/libxen*.deb; do
			[ -e "$f" ] || die "Xen development package missing: run the download stage"
			dpkg-deb -x "$f" "$sys"
		done
		echo "$want" > "$sys/.done"
	fi
	export USERCFLAGS="-I$sys/usr/include"
	export USERLDFLAGS="-L$sys/usr/lib/aarch64-linux-gnu -Wl,-rpath-link,$sys/usr/lib/aarch64-linux-gnu"
}
