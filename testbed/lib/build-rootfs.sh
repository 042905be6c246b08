#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Stage "rootfs": the domU and dom0 initramfs images (uncompressed cpio: TCG
# unpacks that fastest). domU: busybox, pciutils, e2fsprogs, selftests,
# modules. dom0: the same plus the real Xen toolstack from trixie's arm64
# packages (unpacked, no maintainer scripts), our samples, xl configs, and the
# domU kernel+rootfs.
set -euo pipefail
. "$(dirname "$0")/common.sh"

B=$KBUILD
SRC=$CACHE/linux/src
DL=$CACHE/downloads
R=$CACHE/rootfs
KREL=$(cat "$B/include/config/kernel.release")

# The packages of each image are the download stage's selection for its
# role (testbed/config/inputs): domU's go into both images.
unpack() {	# DEST ROLE...
	local dest=$1 role f
	shift
	for role in "$@"; do
		for f in "$DL/$role"/*.deb; do
			[ -e "$f" ] || die "no $role packages: run the download stage"
			dpkg-deb -x "$f" "$dest"
		done
	done
}

skeleton() {	# DEST: merged-/usr layout the trixie binaries expect
	local d=$1
	mkdir -p "$d"/{proc,sys,dev,tmp,run,root,etc,var/log,var/run,mnt,usr/bin,usr/sbin,usr/lib}
	ln -sfn usr/lib "$d/lib"
	ln -sfn usr/bin "$d/bin"
	ln -sfn usr/sbin "$d/sbin"
	echo "root:x:0:0:root:/root:/bin/sh" > "$d/etc/passwd"
	echo "root:x:0:" > "$d/etc/group"
	rm -rf "$d"/usr/share/doc "$d"/usr/share/man "$d"/usr/share/locale \
		"$d"/usr/share/lintian "$d"/usr/share/bug "$d"/usr/share/i18n \
		"$d"/usr/lib/aarch64-linux-gnu/gconv "$d"/usr/share/zoneinfo
	# e2fsprogs: mkfs.ext4 and e2fsck are what the tests use.
	rm -rf "$d"/usr/sbin/{badblocks,debugfs,dumpe2fs,e2freefrag,e2image,e2label} \
		"$d"/usr/sbin/{e2mmpstatus,e2scrub,e2scrub_all,e2undo,e4crypt,e4defrag} \
		"$d"/usr/sbin/{filefrag,mklost+found,resize2fs,tune2fs} \
		"$d"/usr/bin/{chattr,lsattr} "$d"/usr/libexec/e2fsprogs \
		"$d"/etc/cron.d "$d"/etc/e2scrub.conf "$d"/usr/lib/udev/rules.d
}

# Every ELF file (programs and the libraries themselves) must find its shared
# libraries inside the image.
check_libs() {	# ROOT
	local root=$1 f lib missing=0
	local libdirs="usr/lib/aarch64-linux-gnu usr/lib usr/lib/xen-4.20/lib"
	while IFS= read -r f; do
		for lib in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			found=0
			for d in $libdirs; do [ -e "$root/$d/$lib" ] && found=1 && break; done
			[ $found = 1 ] || { log "missing $lib needed by ${f#$root/}"; missing=1; }
		done
	done < <(find "$root"/usr/bin "$root"/usr/sbin "$root"/usr/lib "$root"/opt \
		-type f \( -perm -u+x -o -name '*.so*' \) -not -path '*/modules/*' 2>/dev/null |
		while read -r x; do
			head -c4 "$x" 2>/dev/null | grep -q ELF && echo "$x"; done)
	[ $missing = 0 ] || die "root filesystem $(basename "$root") lacks shared libraries"
}

mkcpio() {	# ROOT OUT
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > "$2.tmp"
	mv "$2.tmp" "$2"
}

# Selftests, installed the kselftest way (run_kselftest.sh + per-target dirs),
# with their test module built against this kernel (KDIR).
KS=$CACHE/kselftest
log "building the xen-pci selftests"
rm -rf "$KS" && mkdir -p "$KS"
make -s -C "$SRC/tools/testing/selftests" ARCH=arm64 CROSS_COMPILE="$CROSS" \
	TARGETS=xen-pci O="$KS/build" KHDR_INCLUDES="-isystem $B/usr/include" KDIR="$B" \
	INSTALL_PATH="$KS/install" install >"$KS/build.log" 2>&1 ||
	{ tail -30 "$KS/build.log"; die "selftests do not build"; }

common_files() {	# ROOT
	local d=$1
	cp -a "$KS/install" "$d/opt/kselftest"
	if [ -d "$B/staging/lib/modules" ]; then
		mkdir -p "$d/usr/lib/modules"
		cp -a "$B/staging/lib/modules/$KREL" "$d/usr/lib/modules/"
	fi
	install -m 0755 "$TB_ROOT/guest/lib.sh" "$d/etc/xenpci-lib.sh"
	# Comments and blank lines out, as harness.py reads it (a blank pattern
	# would match every line).
	grep -v -e '^#' -e '^[[:space:]]*$' "$TB_ROOT/guest/kernel-trouble.patterns" \
		> "$d/etc/xenpci-kernel-trouble.patterns"
	echo "$KREL" > "$d/etc/xenpci-kernel"
}

# --- domU ---
DU=$R/domU
rm -rf "$DU" && mkdir -p "$DU/opt"
unpack "$DU" domU
skeleton "$DU"
common_files "$DU"
install -m 0755 "$TB_ROOT/guest/domU-init" "$DU/init"
check_libs "$DU"
mkcpio "$DU" "$OUT/domU.cpio"

# --- dom0 ---
D0=$R/dom0
rm -rf "$D0" && mkdir -p "$D0/opt"
unpack "$D0" domU dom0
# Toolstack pieces a QEMU-hosted test dom0 never uses.
rm -rf "$D0"/usr/lib/xen-4.20/lib/python "$D0"/usr/lib/xen-4.20/bin/pygrub \
	"$D0"/usr/lib/xen-4.20/bin/oxenstored "$D0"/usr/lib/systemd "$D0"/etc/init.d \
	"$D0"/usr/lib/xen-4.20/lib/aarch64-linux-gnu/xenfsimage
skeleton "$D0"
common_files "$D0"
install -m 0755 "$TB_ROOT/guest/dom0-init" "$D0/init"
mkdir -p "$D0/etc/xenpci" "$D0/var/lib/xen" "$D0/var/log/xen/console" "$D0/var/run/xen" "$D0/guest"
# A guest's name is its file name; it is told its suite (its name) and how
# many emulated functions its backends serve (the .backends file is the one
# place that says so). The backends' host devices come from pt_dev.h.
eval "$("$PY" "$TB_ROOT/lib/ptdev.py")" || die "cannot read the passthrough devices"
for cfg in "$TB_ROOT"/guest/xl/*.cfg; do
	g=$(basename "$cfg" .cfg)
	grep -q "^name = \"$g\"\$" "$cfg" || die "$g.cfg: its name must be \"$g\""
	n=$(cat "$TB_ROOT/guest/xl/$g.backends" 2>/dev/null | grep -c '^pci-ioreq-emu ' || true)
	sed "s|^extra = \"\(.*\)\"|extra = \"\1 xenpci.suite=$g xenpci.emu_functions=${n:-0}\"|" \
		"$cfg" > "$D0/etc/xenpci/$g.cfg"
	# The host devices of passthrough, by their dom0 names.
	for f in prepare after backends dom0-backends domd lose-domd; do
		[ -e "$TB_ROOT/guest/xl/$g.$f" ] || continue
		sed "s|@PT_IVSHMEM_HOST@|$PT_IVSHMEM_HOST|g; s|@PT_RTL8139_HOST@|$PT_RTL8139_HOST|g; s|@PT_EDU_HOST@|$PT_EDU_HOST|g" \
			"$TB_ROOT/guest/xl/$g.$f" > "$D0/etc/xenpci/$g.$f"
	done
done
install -m 0755 "$TB_ROOT/guest/block-loop" "$D0/etc/xenpci/block-loop"
# Partial device trees for xl.cfg device_tree=.
for dts in "$TB_ROOT"/guest/dts/*.dts; do
	[ -e "$dts" ] || continue
	cpp -nostdinc -undef -x assembler-with-cpp -P -I "$TB_ROOT/guest/dts" "$dts" |
		dtc -q -I dts -O dtb -o "$D0/etc/xenpci/$(basename "$dts" .dts).dtb" - ||
		die "$(basename "$dts") does not compile"
done
[ -d "$CACHE/samples" ] && cp -a "$CACHE/samples" "$D0/opt/samples"
# dom0 makes a driver domain the device model of the guest it serves, and
# names it in the guest's device tree; and tries to take the guest back
# when its driver domain is gone.
xen_user_flags
# shellcheck disable=SC2086
${CROSS}gcc -Wall -O2 $USERCFLAGS -o "$D0/usr/sbin/xen-set-target" \
	"$TB_ROOT/guest/xen-set-target.c" $USERLDFLAGS -lxenctrl ||
	die "xen-set-target does not build"
# shellcheck disable=SC2086
${CROSS}gcc -Wall -O2 $USERCFLAGS -o "$D0/usr/sbin/xen-ioreq-server-destroy" \
	"$TB_ROOT/guest/xen-ioreq-server-destroy.c" $USERLDFLAGS -lxendevicemodel ||
	die "xen-ioreq-server-destroy does not build"
${CROSS}gcc -Wall -O2 -o "$D0/usr/sbin/xen-dt-backend" "$TB_ROOT/guest/xen-dt-backend.c" ||
	die "xen-dt-backend does not build"
cp "$OUT/Image" "$D0/guest/Image"
cp "$OUT/domU.cpio" "$D0/guest/domU.cpio"
# A driver domain boots the domU image with this one appended (the kernel
# unpacks both): the backends, the Xen libraries they use, xenstore-read,
# xenstore-watch and xenstore-write, and the backend lists of the guests a
# driver domain may serve (and what prepares them, and the checks after
# them).
DD=$R/domd-extra
rm -rf "$DD" && mkdir -p "$DD/usr/lib/aarch64-linux-gnu" "$DD/usr/bin" "$DD/etc/xenpci" "$DD/opt"
# The backends that can serve from there: not pci-passthrough, which needs
# dom0's host devices and domctls (libxenctrl) that Xen gives dom0 only.
mkdir -p "$DD/opt/samples"
for b in pci-ioreq-emu pci-ioreq-virtio; do
	[ -e "$CACHE/samples/$b" ] && cp -a "$CACHE/samples/$b" "$DD/opt/samples/"
done
for l in call devicemodel evtchn foreignmemory gnttab store toolcore toollog; do
	cp -a "$D0"/usr/lib/aarch64-linux-gnu/libxen$l.so.* "$DD/usr/lib/aarch64-linux-gnu/"
done
cp "$D0/usr/bin/xenstore-read" "$D0/usr/bin/xenstore-watch" "$D0/usr/bin/xenstore-write" "$DD/usr/bin/"
for g in "$D0"/etc/xenpci/*.domd; do
	[ -e "$g" ] || continue
	g=$(basename "$g" .domd)
	cp "$D0/etc/xenpci/$g.backends" "$DD/etc/xenpci/"
	[ -e "$D0/etc/xenpci/$g.prepare" ] && cp "$D0/etc/xenpci/$g.prepare" "$DD/etc/xenpci/"
	[ -e "$D0/etc/xenpci/$g.after" ] && cp "$D0/etc/xenpci/$g.after" "$DD/etc/xenpci/"
done
mkcpio "$DD" "$D0/guest/domd-extra.cpio"
# What the driver domain boots (both images) finds its libraries too.
rm -rf "$R/domd" && cp -a "$DU" "$R/domd" && cp -a "$DD/." "$R/domd/"
check_libs "$R/domd"
check_libs "$D0"
mkcpio "$D0" "$OUT/dom0.cpio"
log "root filesystems: $OUT/dom0.cpio ($(du -m "$OUT/dom0.cpio" | cut -f1) MiB), $OUT/domU.cpio ($(du -m "$OUT/domU.cpio" | cut -f1) MiB)"
