#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bare QEMU "virt" (no Xen): the domU kernel and root filesystem booted
# directly, with QEMU PCI devices that have sub-page BARs, some behind a
# PCI bridge. The fast path for testing the domU host driver alone.
#   bare.sh ours|generic VARIANT [shell] [harness options...]
# ours:    the PCIe node relabelled to the Xen vPCI compatible (pcie-xen-vpci)
# generic: QEMU's node untouched (pci-host-generic), the control
set -euo pipefail
. "$(dirname "$0")/common.sh"

WHICH=$1 VARIANT=$2 SHELLMODE=${3:-}
shift 3 2>/dev/null || shift $#
sfx=; [ "$VARIANT" = debug ] && sfx=-debug
XEN_VPCI_COMPAT=${XEN_VPCI_COMPAT:-xen,vpci-pcie-ecam}
D=$CACHE/dtb && mkdir -p "$D" "$CACHE/logs"

# Sub-page MMIO BARs: rtl8139 (256 B), ivshmem-plain (256 B + 1 MiB shared),
# pci-testdev (4 KiB, 16 B I/O), two more rtl8139 behind a pci-bridge.
DEVICES="-device rtl8139,netdev=n0,bus=pcie.0,addr=1 -netdev user,id=n0,restrict=on
 -device rtl8139,netdev=n1,bus=pcie.0,addr=2 -netdev user,id=n1,restrict=on
 -object memory-backend-ram,id=shm0,size=1M -device ivshmem-plain,memdev=shm0,bus=pcie.0,addr=3
 -device pci-testdev,bus=pcie.0,addr=4
 -device pci-bridge,id=br1,chassis_nr=1,bus=pcie.0,addr=5
 -device rtl8139,netdev=n2,bus=br1,addr=1 -netdev user,id=n2,restrict=on
 -device rtl8139,netdev=n3,bus=br1,addr=2 -netdev user,id=n3,restrict=on"
M=virt,gic-version=3
CPU="-cpu cortex-a57 -m 1024 -smp 2"

# The machine's own device tree, dumped with exactly these devices.
# dtc drops the 1 MiB of padding of QEMU's dump, so that the control and our
# run differ in nothing but the compatible.
qemu-system-aarch64 -M "$M,dumpdtb=$D/qemu.dtb" $CPU $DEVICES -display none \
	> "$D/dumpdtb.log" 2>&1 || { cat "$D/dumpdtb.log"; die "QEMU cannot dump its device tree"; }
dtc -q -I dtb -O dtb -o "$D/bare-generic.dtb" "$D/qemu.dtb"
node=$(fdtget -l "$D/bare-generic.dtb" / | grep '^pcie@' | head -1)
[ -n "$node" ] || die "no pcie node in QEMU's device tree"
cp "$D/bare-generic.dtb" "$D/bare-ours.dtb"
fdtput -t s "$D/bare-ours.dtb" "/$node" compatible "$XEN_VPCI_COMPAT" pci-host-ecam-generic

suite=bare-$WHICH
mode=test
[ -n "$SHELLMODE" ] && mode=shell
APPEND="console=ttyAMA0 panic=-1 rdinit=/init xenpci.mode=$mode xenpci.suite=$suite ${BARE_APPEND:-}"
QEMU=(qemu-system-aarch64 -M "$M" $CPU $DEVICES -display none -no-reboot
	-kernel "$OUT/Image$sfx" -initrd "$OUT/domU$sfx.cpio" -dtb "$D/bare-$WHICH.dtb"
	-append "$APPEND")
if [ -n "$SHELLMODE" ]; then
	exec "${QEMU[@]}" -nographic
fi
exec python3 "$TB_ROOT/harness.py" --name "$suite" --mode bare \
	--log "$CACHE/logs/$suite.log" --expect-suite "$suite" "$@" -- \
	"${QEMU[@]}" -serial stdio -monitor none
