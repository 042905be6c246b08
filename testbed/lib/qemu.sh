# SPDX-License-Identifier: GPL-2.0
# The QEMU command lines of the test bed. Sourced after common.sh.

# QEMU for Xen + dom0: Xen is the kernel, dom0 Image and initramfs come in
# through guest-loader (the way a bootloader would hand them to Xen).
# Besides its own virtio NIC, dom0 gets two DMA-free devices with sub-page
# BARs to pass through (guest/xl/domu-pt*.backends): ivshmem-plain (BAR0
# 256 bytes of registers, BAR2 memory shared with the host file $PT_SHM) and
# an rtl8139 (BAR1 256 bytes, on a restricted user network); and an ati-vga,
# which the passthrough backend must refuse (such graphics devices reach
# their config space through a BAR); and QEMU's edu, whose interrupts (INTx
# or MSI at a register write) the backend forwards. Their slots, memory size and MAC have
# one definition, in the selftests' pt_dev.h.
eval "$("$PY" "$TB_ROOT/lib/ptdev.py")" || die "cannot read the passthrough devices"
# QEMU puts its DTB at RAM base + 128 MiB (0x48000000); Xen drops any module
# that overlaps it, so the modules start above it.
# xsm=dummy: Xen's default XSM policy on Arm (SILO) refuses event channels
# and grants between two domUs, so that a driver domain could not serve a
# guest (guest/xl/domd.cfg); dom0 is allowed either way.
qemu_xen() {	# DOM0_APPEND [INTERACTIVE]
	local append=$1 kaddr=0x4a000000 iaddr ksz
	: "${PT_SHM:=$CACHE/logs/shell.ivshmem}"
	[ -e "$PT_SHM" ] || { mkdir -p "$(dirname "$PT_SHM")"; truncate -s "$PT_IVSHMEM_SIZE" "$PT_SHM"; }
	append=${append//,/,,}	# a comma ends a QEMU -device option; ",," is one
	ksz=$(stat -c %s "$OUT/Image")
	iaddr=$(printf '0x%x' $(( (kaddr + ksz + 0x1000000 + 0x1fffff) & ~0x1fffff )))
	echo qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu cortex-a57 \
		-m 2048 -smp 2 -display none -no-reboot \
		$([ -n "${2:-}" ] && echo -nographic || echo -serial stdio -monitor none) \
		-kernel "$OUT/xen" \
		-append "\"dom0_mem=${DOM0_MEM:-768M} dom0_max_vcpus=2 xsm=dummy console=dtuart dtuart=/pl011@9000000\"" \
		-device "guest-loader,addr=$kaddr,kernel=$OUT/Image,bootargs=\"console=hvc0 earlycon=xen panic=-1 rdinit=/init $append\"" \
		-device "guest-loader,addr=$iaddr,initrd=$OUT/dom0.cpio" \
		-object "memory-backend-file,id=ptshm,mem-path=$PT_SHM,size=$PT_IVSHMEM_SIZE,share=on" \
		-device "ivshmem-plain,memdev=ptshm,addr=$PT_IVSHMEM_HOST_SLOT" \
		-netdev user,id=ptnet,restrict=on \
		-device "rtl8139,netdev=ptnet,mac=$PT_MAC,addr=$PT_RTL8139_HOST_SLOT,romfile=" \
		-device "ati-vga,addr=$PT_BACKDOOR_HOST_SLOT,romfile=" \
		-device "edu,addr=$PT_EDU_HOST_SLOT" \
		${XEN_PCI_QEMU_EXTRA:-}
}

# Boot Xen + dom0 under the harness. Results go to $RES when it is set.
run_xen() {	# NAME DOM0_APPEND [harness options...]
	local name=$1 append=$2 opts=""
	shift 2
	mkdir -p "$CACHE/logs"
	# The host side of the passed-through ivshmem: zeroed for each run.
	PT_SHM=$CACHE/logs/$name.ivshmem
	rm -f "$PT_SHM" && truncate -s "$PT_IVSHMEM_SIZE" "$PT_SHM"
	opts="--ivshmem-file $(printf '%q' "$PT_SHM")"
	[ -n "${RES:-}" ] && opts="$opts --results $(printf '%q' "$RES")"
	[ $# -gt 0 ] && opts="$opts $(printf '%q ' "$@")"
	eval "'$PY' '$TB_ROOT/harness.py' --name '$name' --mode xen \
		--log '$CACHE/logs/$name.log' $opts -- $(qemu_xen "$append")"
}

# The DTB QEMU gives Xen for DOM0_APPEND, with linux,pci-probe-only = <1> in
# the PCIe host bridge node only (not in /chosen): firmware's configuration
# of that bridge is to be kept. Boot it with XEN_PCI_QEMU_EXTRA="-dtb FILE"
# and the same DOM0_APPEND (the modules' nodes are in it).
xen_dtb_probe_only() {	# FILE DOM0_APPEND
	local f=$1
	eval "$(XEN_PCI_QEMU_EXTRA="-machine dumpdtb=$f" qemu_xen "$2")" \
		</dev/null >/dev/null 2>&1 && [ -s "$f" ] &&
		fdtput -t i "$f" /pcie@10000000 linux,pci-probe-only 1
}

