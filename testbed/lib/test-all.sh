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

# Xen + dom0 + domU, selftests in both.
# domu-pci: the Xen virtual root complex served by two dom0 backends;
# domu-libxl: the root complex node exactly as libxl writes it today.
run_xen xen-$V "$V" "xenpci.mode=test xenpci.guests=domu-pci,domu-libxl" \
	--expect-suite dom0 --expect-suite domu-pci --expect-suite domu-libxl \
	--kernel-limit $([ "$V" = debug ] && echo 300 || echo 120)
echo "-- Xen run done at $(elapsed)"

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
