#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "download": Debian trixie sources (linux-source-6.12, xen 4.20) and the
# arm64 binary packages of the guests' root filesystems, through a private apt
# configuration so that the host's own apt state is never touched.
set -euo pipefail
. "$(dirname "$0")/common.sh"

APTDIR=$CACHE/apt
DL=$CACHE/downloads

# Packages unpacked into the dom0 and domU root filesystems (arm64, trixie).
DOM0_DEBS="busybox-static pciutils libpci3 libkmod2 libudev1 zlib1g libzstd1 liblzma5
 libssl3t64 pci.ids
 xen-utils-4.20 xen-utils-common xenstore-utils libxenmisc4.20 libxencall1
 libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenstore4 libxentoollog1
 libxendevicemodel1 libxenhypfs1 libxentoolcore1
 libyajl2 libc6 libncursesw6 libncurses6 libtinfo6 libext2fs2t64 libfdt1 libuuid1
 libgcc-s1 libnl-3-200 libnl-route-3-200 libcom-err2 libblkid1 libsystemd0 libcap2 liblz4-1
 libgcrypt20 libgpg-error0 libbz2-1.0 libxxhash0"
DEV_DEBS="libxen-dev"

apt_conf() {
	mkdir -p "$APTDIR"/lists/partial "$APTDIR"/cache/archives/partial "$APTDIR"/etc
	: > "$APTDIR/status.empty"
	{
		for s in $TRIXIE_SUITES; do
			echo "deb [arch=arm64] $DEBIAN_MIRROR $s main"
			echo "deb-src $DEBIAN_MIRROR $s main"
		done
		for s in $TRIXIE_SECURITY; do
			echo "deb [arch=arm64] $DEBIAN_SECURITY_MIRROR $s main"
			echo "deb-src $DEBIAN_SECURITY_MIRROR $s main"
		done
	} > "$APTDIR/etc/sources.list"
	cat > "$APTDIR/etc/apt.conf" <<EOC
Dir::State "$APTDIR";
Dir::State::Lists "$APTDIR/lists";
Dir::State::status "$APTDIR/status.empty";
Dir::Cache "$APTDIR/cache";
Dir::Etc::SourceList "$APTDIR/etc/sources.list";
Dir::Etc::SourceParts "$APTDIR/etc/sources.list.d";
Dir::Etc::Preferences "$APTDIR/etc/preferences";
Dir::Etc::PreferencesParts "$APTDIR/etc/preferences.d";
APT::Architecture "arm64";
APT::Architectures { "arm64"; };
APT::Get::AllowUnauthenticated "false";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOC
	mkdir -p "$APTDIR/etc/sources.list.d" "$APTDIR/etc/preferences.d"
}

papt() { APT_CONFIG=$APTDIR/etc/apt.conf "$@"; }

apt_conf
# Refresh the index at most every 12 hours: the mirror drops old 6.12.y builds.
if [ -z "$(find "$APTDIR/lists" -name '*Packages*' -mmin -720 2>/dev/null | head -1)" ]; then
	log "updating the private trixie package index"
	papt apt-get update -q >/dev/null
fi

mkdir -p "$DL/debs" "$DL/src"
ver() { papt apt-cache policy "$1" | awk '/Candidate:/ { print $2 }'; }

# Kernel source: whichever 6.12.y trixie has today.
LVER=$(ver linux-source-6.12)
[ -n "$LVER" ] && [ "$LVER" != "(none)" ] || die "linux-source-6.12 not found in trixie"
if [ ! -e "$DL/linux-source-6.12_${LVER}_all.deb" ]; then
	log "downloading linux-source-6.12 $LVER"
	rm -f "$DL"/linux-source-6.12_*.deb
	(cd "$DL" && papt apt-get download -q "linux-source-6.12=$LVER")
	# apt escapes ':' in file names; normalise.
	for f in "$DL"/linux-source-6.12_*.deb; do
		[ "$f" = "$DL/linux-source-6.12_${LVER}_all.deb" ] || mv "$f" "$DL/linux-source-6.12_${LVER}_all.deb"
	done
fi
echo "$LVER" > "$DL/linux.version"

# Xen source package: the newest 4.20.x whose tarballs the mirror really
# serves (a suite's index can list a source its pool no longer has, and this
# mirror serves no .dsc). The tarballs are checked against the SHA-256 sums of
# the signed Sources index instead.
src_sums() {	# VERSION -> "sha256 name" lines of that source's files
	papt apt-cache showsrc "xen=$1" | awk -v v="$1" '
		/^Version:/ { on = ($2 == v) }
		/^Checksums-Sha256:/ { if (on) grab = 1; next }
		/^[^ ]/ { grab = 0 }
		grab && NF == 3 { print $1, $3 }' | sort -u
}
XVER=""
for v in $(papt apt-cache showsrc xen | awk '/^Version:/ { print $2 }' | sort -Vr -u); do
	case $v in 4.20.*) ;; *) log "note: skipping xen $v (not 4.20.x)"; continue ;; esac
	if [ -e "$DL/src/xen-$v.stamp" ]; then XVER=$v; break; fi
	# A version the mirror failed to serve is retried after 12 hours.
	[ -n "$(find "$DL" -maxdepth 1 -name "xen-$v.unavailable" -mmin -720)" ] && continue
	log "downloading xen source $v"
	rm -rf "$DL/src.tmp" && mkdir -p "$DL/src.tmp"
	(cd "$DL/src.tmp" && papt apt-get source -q --download-only "xen=$v" >/dev/null 2>&1) || true
	ok=1
	while read -r sum name; do
		case $name in *.dsc) continue ;; esac
		echo "$sum  $DL/src.tmp/$name" | sha256sum -c --status 2>/dev/null || ok=0
	done < <(src_sums "$v")
	if [ $ok = 1 ] && ls "$DL/src.tmp"/*.orig.tar.* "$DL/src.tmp"/*.debian.tar.* >/dev/null 2>&1; then
		touch "$DL/src.tmp/xen-$v.stamp"
		rm -rf "$DL/src" && mv "$DL/src.tmp" "$DL/src"
		XVER=$v
		break
	fi
	rm -rf "$DL/src.tmp"
	touch "$DL/xen-$v.unavailable"
	log "note: the mirror does not serve xen $v whole, trying an older one"
done
[ -n "$XVER" ] || die "no xen 4.20.x source could be downloaded from trixie"
echo "$XVER" > "$DL/xen.version"

# arm64 binary packages (no dependency resolution: the lists are explicit,
# every shared library the root filesystems need is checked at rootfs time,
# and the samples' link checks the development files).
fetch_debs() {	# DIR PACKAGE...
	local dir=$1 want="" p v vf
	shift
	declare -A cand=()
	mkdir -p "$dir"
	while read -r p v; do cand[$p]=$v; done < <(papt apt-cache policy "$@" |
		awk '/^[^ ]/ { sub(":$", "", $1); p = $1 } /Candidate:/ { print p, $2 }')
	for p in "$@"; do
		v=${cand[$p]:-}
		if [ -z "$v" ] || [ "$v" = "(none)" ]; then
			log "note: arm64 package $p not in trixie, skipped"
			continue
		fi
		vf=${v//:/%3a}
		ls "$dir/${p}_${vf}_"*.deb >/dev/null 2>&1 || want="$want $p=$v"
	done
	if [ -n "$want" ]; then
		log "downloading arm64 packages:$want"
		(cd "$dir" && papt apt-get download -q $want >/dev/null)
	fi
}
# Root filesystems: unpacked into them.
fetch_debs "$DL/debs" $DOM0_DEBS
# Development files of the Xen libraries for the cross build of the
# passthrough sample (headers and link-time .so names); the libraries
# themselves are the ones above.
fetch_debs "$DL/debs-dev" $DEV_DEBS
log "linux-source-6.12 $LVER, xen $XVER, $(ls "$DL/debs" | wc -l) arm64 packages"
