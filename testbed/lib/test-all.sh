#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test command: build everything, run the static checks and every QEMU
# run, print one line per test and end with "N passed, N failed, N skipped".
# Exit status is non-zero if anything failed.
#
# TEST_VARIANT=debug|normal  kernel the selftest runs use (default debug:
#                             KASAN, lockdep, kmemleak, DEBUG_ATOMIC_SLEEP)
set -uo pipefail
. "$(dirname "$0")/common.sh"
L=$TB_ROOT/lib
V=${TEST_VARIANT:-debug}
RES=$CACHE/results.txt
mkdir -p "$CACHE/logs"
: > "$RES"
T0=$(date +%s)

result() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$RES"; echo "$1 $2${3:+  ($3)}"; }
elapsed() { echo "$(( $(date +%s) - T0 ))s"; }

summary() {
	local p f s
	p=$(grep -c '^PASS' "$RES"); f=$(grep -c '^FAIL' "$RES"); s=$(grep -c '^SKIP' "$RES")
	echo
	echo "== results ($(elapsed), kernel variant for selftests: $V) =="
	grep -v '^PASS' "$RES" | sed 's/\t/ /; s/\t/  (/; s/$/)/; s/  ()$//'
	echo "$p passed, $f failed, $s skipped"
	[ "$f" = 0 ] && [ "$p" -gt 0 ]
}

# A build stage that fails ends the run: there is nothing left to test.
build_or_stop() {	# NAME CMD...
	local name=$1
	shift
	if ( "$@" ) > "$CACHE/logs/$name.log" 2>&1; then
		result PASS "build/$name" "$(grep -o 'stage .* done in [0-9]*s' "$CACHE/logs/$name.log" | tail -1)"
	else
		result FAIL "build/$name" "$(grep 'FAILED at stage' "$CACHE/logs/$name.log" | tail -1)"
		tail -40 "$CACHE/logs/$name.log" | sed 's/^/    | /'
		summary
		exit 1
	fi
}

build_or_stop normal "$TB_ROOT/run" build normal
[ "$V" = normal ] || build_or_stop "$V" "$TB_ROOT/run" build "$V"
echo "-- builds done at $(elapsed)"

"$L/static-checks.sh" "$RES"
echo "-- static checks done at $(elapsed)"

. "$L/qemu.sh"

# Xen + dom0 + domUs, selftests in all of them.
# domu-pci: the Xen virtual root complex served by two dom0 backends;
# domu-libxl: the root complex node exactly as libxl writes it today;
# domu-pt: dom0's ivshmem and rtl8139 passed through (pci-passthrough), with
# dom0's checks after the guest made its backends exit (dom0-after-domu-pt);
# domu-pt-generic: the same under pci-host-generic, the control, whose
# packed sub-page BARs cannot be mapped page by page: its expected failure.
run_xen xen-$V "$V" "xenpci.mode=test xenpci.guests=domu-pci,domu-libxl,domu-pt,domu-pt-generic" \
	--expect-suite dom0 --expect-suite domu-pci --expect-suite domu-libxl \
	--expect-suite domu-pt --expect-suite dom0-after-domu-pt --expect-suite domu-pt-generic \
	--xfail 'domu-pt-generic/pt_guest/pt\.bars_own_pages$' \
	--xfail 'domu-pt-generic/pt_guest/pt\.sub_page_bars$' \
	--kernel-limit $([ "$V" = debug ] && echo 300 || echo 120)
echo "-- Xen run done at $(elapsed)"

# Control of dom0's BAR placement: with xen_pci_page_align=off, dom0 packs
# the sub-page BARs of its ivshmem and rtl8139 into one page, and the
# passthrough backend refuses them; dom0 still uses both devices.
run_xen xen-dom0-noalign normal \
	"xenpci.mode=test xenpci.guests= xenpci.suite=dom0-noalign xenpci.tests=pci_bar_layout,pt_host xen_pci_page_align=off" \
	--expect-suite dom0-noalign \
	--xfail 'dom0-noalign/pci_bar_layout/bars\.page_aligned$' \
	--xfail 'dom0-noalign/pci_bar_layout/bars\.page_exclusive$' \
	--xfail 'dom0-noalign/pt_host/pt\.host_bars_own_pages$'
echo "-- dom0 control run done at $(elapsed)"

# Bare QEMU: our host driver, and pci-host-generic as the control.
"$L/bare.sh" ours "$V" "" --results "$RES" --kunit
# The control must find BARs off page boundaries and sharing pages: that is
# its expected failure, reported as such; the rest of it must pass.
"$L/bare.sh" generic "$V" "" --results "$RES" \
	--xfail 'bare-generic/pci_bar_layout/bars\.page_aligned$' \
	--xfail 'bare-generic/pci_bar_layout/bars\.page_exclusive$'
echo "-- bare QEMU runs done at $(elapsed)"

# The main job, as a user runs it: the domU lists its PCI bus.
run_xen demo normal "xenpci.mode=demo xenpci.guests=domu-demo" >/dev/null
if grep -q '=== end of domu-demo PCI view ===' "$CACHE/logs/demo.log" &&
	! grep -q '^FAIL	demo/' "$RES"; then
	result PASS "demo/domU-shows-its-PCI-bus" ""
else
	result FAIL "demo/domU-shows-its-PCI-bus" "see $CACHE/logs/demo.log"
fi

# Harness self-test: a domU that never boots must fail the run at its boot
# stage, quickly, naming the stage.
run_xen harness-selftest normal \
	"xenpci.mode=demo xenpci.guests=domu-broken xenpci.boot_limit=20" \
	--expect-stage-failure domu-broken-boot --total-limit 240 > "$CACHE/logs/harness-selftest.out"
grep 'harness-selftest' "$RES" | tail -1 | tr '\t' ' '

summary
