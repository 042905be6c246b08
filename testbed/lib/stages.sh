# SPDX-License-Identifier: GPL-2.0
# The build stages of the test bed, in order. Sourced (after common.sh) by
# testbed/run and by the test command; each stage has a time limit, and its
# time goes to $CACHE/stage-times for the run's summary.

HOST_PACKAGES="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm
 device-tree-compiler sparse ccache yamllint python3-jsonschema python3-yaml
 bc bison flex libssl-dev libelf-dev cpio xz-utils dpkg-dev rsync kmod
 python3 gcc make perl git patch binutils util-linux ca-certificates"

# Host packages, from the host's own release. Works whether or not
# `apt-get update` has run: a failed install is retried after one.
install_host_tools() {
	local need="" p
	for p in $HOST_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need="$need $p"
	done
	[ -z "$need" ] && return 0
	log "installing host packages:$need"
	[ "$(id -u)" = 0 ] || die "run as root to install:$need"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! apt-get install -y -q --no-install-recommends $need >/dev/null 2>&1; then
		log "install failed; updating the host's package index and retrying"
		apt-get update -q >/dev/null || die "apt-get update failed"
		apt-get install -y -q --no-install-recommends $need >/dev/null ||
			die "cannot install:$need"
	fi
}

build_all() {
	mkdir -p "$CACHE" "$OUT"
	: > "$CACHE/stage-times"
	local t0
	t0=$(date +%s)
	TB_STAGE=host-tools install_host_tools
	echo "host-tools $(( $(date +%s) - t0 ))" >> "$CACHE/stage-times"
	stage download 900 "$PY" "$TB_ROOT/lib/fetch.py" fetch --cache "$CACHE"
	stage build-xen 900 flock "$BUILD_LOCK" "$TB_ROOT/lib/build-xen.sh"
	stage kernel-source 600 flock "$BUILD_LOCK" "$TB_ROOT/lib/kernel-src.sh"
	stage build-kernel 2400 flock "$BUILD_LOCK" "$TB_ROOT/lib/build-kernel.sh"
	stage samples 300 flock "$BUILD_LOCK" "$TB_ROOT/lib/build-samples.sh"
	stage rootfs 600 flock "$BUILD_LOCK" "$TB_ROOT/lib/build-rootfs.sh"
	versions | sed 's/^/[testbed] /' >&2
}

# The upstream inputs this build used (the download stage's selection).
versions() {
	local d=$CACHE/downloads
	echo "inputs: linux-source-6.12 $(cat "$d/linux.version" 2>/dev/null || echo '?')," \
		"xen $(cat "$d/xen.version" 2>/dev/null || echo '?')," \
		"arm64 xen tools $(cat "$d/xen-tools.version" 2>/dev/null || echo '?')" \
		"(testbed/inputs.lock; selection: $d/selection.log)"
}
