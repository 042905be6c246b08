#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bare QEMU "virt" (no Xen): the domU kernel and root filesystem booted
# directly, with QEMU PCI devices that have sub-page BARs, some behind a
# PCI bridge. The fast path for testing the domU host driver alone.
#   bare.sh ours|generic [shell] [harness options...]
# ours:    the PCIe node relabelled to the Xen vPCI compatible (pcie-xen-vpci)
# generic: QEMU's node untouched (pci-host-generic), the control
set -euo pipefail
. "$(dirname "$0")/common.sh"

WHICH=$1 SHELLMODE=${2:-}
shift 2 2>/dev/null || shift $#
XEN_VPCI_COMPAT=${XEN_VPCI_COMPAT:-xen,vpci-pcie-ecam}
D=$CACHE/dtb && mkdir -p "$D" "$CACHE/logs"

# Sub-page MMIO BARs: rtl8139 (256 B), ivshmem-plain (256 B + 1 MiB shared),
# pci-testdev (4 KiB, 16 B I/O), two more rtl8139 behind a pci-bridge; and an
# ivshmem-plain with a 1 GiB BAR2 that, in "ours", cannot fit (see below).
DEVICES="-device rtl8139,netdev=n0,bus=pcie.0,addr=1,romfile= -netdev user,id=n0,restrict=on
 -device rtl8139,netdev=n1,bus=pcie.0,addr=2,romfile= -netdev user,id=n1,restrict=on
 -object memory-backend-ram,id=shm0,size=1M -device ivshmem-plain,memdev=shm0,bus=pcie.0,addr=3
 -device pci-testdev,bus=pcie.0,addr=4
 -device pci-bridge,id=br1,chassis_nr=1,bus=pcie.0,addr=5
 -device rtl8139,netdev=n2,bus=br1,addr=1,romfile= -netdev user,id=n2,restrict=on
 -device rtl8139,netdev=n3,bus=br1,addr=2,romfile= -netdev user,id=n3,restrict=on
 -object memory-backend-ram,id=shm1,size=1G -device ivshmem-plain,memdev=shm1,bus=pcie.0,addr=6"
M=virt,gic-version=3
CPU="-cpu cortex-a57 -m 1024 -smp 2"

# The machine's own device tree, dumped with exactly these devices.
# dtc drops the 1 MiB of padding of QEMU's dump, so that the control and our
# run differ in nothing but the compatible.
DEVICES="$DEVICES ${XEN_PCI_QEMU_EXTRA:-}"
qemu-system-aarch64 -M "$M,dumpdtb=$D/qemu.dtb" $CPU $DEVICES -display none \
	> "$D/dumpdtb.log" 2>&1 || { cat "$D/dumpdtb.log"; die "QEMU cannot dump its device tree"; }
dtc -q -I dtb -O dtb -o "$D/bare-generic.dtb" "$D/qemu.dtb"
node=$(fdtget -l "$D/bare-generic.dtb" / | grep '^pcie@' | head -1)
[ -n "$node" ] || die "no pcie node in QEMU's device tree"
cp "$D/bare-generic.dtb" "$D/bare-ours.dtb"
O=$D/bare-ours.dtb
fdtput -t s "$O" "/$node" compatible "$XEN_VPCI_COMPAT" pci-host-ecam-generic

# Bad input for pci_bad_input: the 64-bit window shrunk to 256 MiB, so the
# 1 GiB BAR2 of 00:06.0 fits nowhere (the 32-bit window is 751 MiB), and four
# malformed host bridge nodes in unused address space, each of which must
# fail to probe with its own message. The control keeps QEMU's tree.
ranges=($(fdtget -t x "$O" "/$node" ranges))
for ((i = 0; i < ${#ranges[@]}; i += 7)); do
	case ${ranges[i]} in 3000000|43000000) ranges[i+5]=0; ranges[i+6]=10000000 ;; esac
done
fdtput -t x "$O" "/$node" ranges "${ranges[@]}"
fdtput -t s "$O" /chosen xenpci-test,nofit "0000:00:06.0 2"
bad() {	# NAME [PROPERTY TYPE VALUE...]...
	local n=/$1
	shift
	fdtput -c "$O" "$n"
	fdtput -t s "$O" "$n" compatible "$XEN_VPCI_COMPAT"
	fdtput -t s "$O" "$n" device_type pci
	fdtput -t x "$O" "$n" "#address-cells" 3
	fdtput -t x "$O" "$n" "#size-cells" 2
	while [ $# -gt 0 ]; do
		fdtput -t x "$O" "$n" "$1" $2
		shift 2
	done
}
bad xen-vpci-bad-noreg bus-range "0 0" ranges "2000000 0 0 50 0 0 100000"
bad xen-vpci-bad-noranges@5100000000 reg "51 0 0 100000" bus-range "0 0"
bad xen-vpci-bad-smallecam@5200000000 reg "52 0 0 100000" bus-range "0 ff" \
	ranges "2000000 0 0 53 0 0 100000"
bad xen-vpci-bad-nomem@5400000000 reg "54 0 0 100000" bus-range "0 0" \
	ranges "43000000 0 0 55 0 0 100000"
# The MSI controller: its "msi-ranges" and doorbell, wrong in four ways
# (the GIC's phandle from QEMU's tree, SPIs that QEMU's virt leaves free).
gic=$(fdtget -l "$O" / | grep '^intc@' | head -1)
GIC=$(fdtget -t x "$O" "/$gic" phandle)
msi() {	# NAME REG-NAMES|- MSI-RANGES|- [PROPERTY VALUES...]
	local name=$1 n=/$1 names=$2 ranges=$3
	shift 3
	bad "$name" "$@"
	fdtput "$O" "$n" msi-controller
	[ "$names" = - ] || fdtput -t s "$O" "$n" reg-names $names
	[ "$ranges" = - ] || fdtput -t x "$O" "$n" msi-ranges $ranges
}
msi xen-vpci-bad-msinoranges@5600000000 - - reg "56 0 0 100000" bus-range "0 0" \
	ranges "2000000 0 0 57 0 0 100000"
msi xen-vpci-bad-msilevel@5800000000 "ecam msi" "$GIC 0 80 4 20" \
	reg "58 0 0 100000 59 0 0 1000" bus-range "0 0" ranges "2000000 0 0 59 0 0 100000"
msi xen-vpci-bad-msinodoorbell@5a00000000 - "$GIC 0 80 1 20" \
	reg "5a 0 0 100000" bus-range "0 0" ranges "2000000 0 0 5b 0 0 100000"
msi xen-vpci-bad-msidoorbell@5c00000000 "ecam msi" "$GIC 0 80 1 20" \
	reg "5c 0 0 100000 5e 0 0 1000" bus-range "0 0" ranges "2000000 0 0 5d 0 0 100000"
# pcie-xen-vpci is the root complex's MSI controller, with 32 vectors on SPIs
# 128 to 159 and its doorbell in the last page of the 32-bit window. No
# function of this machine uses MSI, and QEMU delivers no message there: this
# shows that probe takes the properties and keeps BARs off the doorbell.
fdtput -d "$O" "/$node" msi-map
fdtput "$O" "/$node" msi-controller
fdtput -t x "$O" "/$node" msi-ranges "$GIC" 0 80 1 20
reg=($(fdtget -t x "$O" "/$node" reg))
fdtput -t x "$O" "/$node" reg "${reg[@]}" 0 3efef000 0 1000
fdtput -t s "$O" "/$node" reg-names ecam msi

suite=${BARE_NAME:-bare-$WHICH}
mode=test
[ -n "$SHELLMODE" ] && mode=shell
APPEND="console=ttyAMA0 panic=-1 rdinit=/init xenpci.mode=$mode xenpci.suite=$suite ${BARE_APPEND:-}"
# Under our driver the KUnit suites of both drivers load (xenpci.kunit=1)
# and the harness reads their results from the console, whoever runs this;
# BARE_KUNIT=0 leaves them out (a second bare run of the same kernel).
kunit=""
if [ "$WHICH" = ours ] && [ "${BARE_KUNIT:-1}" = 1 ]; then
	kunit=--kunit
	APPEND="$APPEND xenpci.kunit=1"
fi
QEMU=(qemu-system-aarch64 -M "$M" $CPU $DEVICES -display none -no-reboot
	-kernel "$OUT/Image" -initrd "$OUT/domU.cpio" -dtb "$D/bare-$WHICH.dtb"
	-append "$APPEND")
if [ -n "$SHELLMODE" ]; then
	exec "${QEMU[@]}" -nographic
fi
exec "$PY" "$TB_ROOT/harness.py" --name "$suite" --mode bare $kunit \
	--log "$CACHE/logs/$suite.log" "$@" -- \
	"${QEMU[@]}" -serial stdio -monitor none
