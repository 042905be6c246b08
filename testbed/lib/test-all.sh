#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test command: build everything, run the offline and static checks and
# every QEMU run, print one line per test and end with
# "N passed, N failed, N skipped". Exit status is non-zero if anything failed.
#
# What each run must show beyond "every test passes" (its suites and
# guests, the skips and control failures it may have, how many results of a
# kind it must give) is the one table testbed/expected.
set -uo pipefail
. "$(dirname "$0")/common.sh"
. "$TB_ROOT/lib/stages.sh"
L=$TB_ROOT/lib
RES=$CACHE/results.txt
EXPECTED=$TB_ROOT/expected
mkdir -p "$CACHE/logs"
echo "# testbed/run test, $(date -u '+%Y-%m-%d %H:%M UTC')" > "$RES"
T0=$(date +%s)

result() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$RES"; echo "$1 $2${3:+  ($3)}"; }
elapsed() { echo "$(( $(date +%s) - T0 ))s"; }

# What a result is. The summary counts each test once and reports the rest
# apart: guards (need= rows, a figure that must be there), controls (things
# broken on purpose that must fail as expected: the harness self-tests and
# the xfail rows) and the static checks of each of our files.
kind_of() {	# reads RES lines, prints KIND<TAB>STATUS
	awk -F'\t' '/^(PASS|FAIL|SKIP)\t/ {
		k = "test"
		if ($2 ~ /\/(need|exact|expected-failure):/ || $2 ~ /^report\//) k = "guard"
		else if ($2 ~ /^harness-selftest\// || $3 ~ /^expected failure of the control/ ||
			 $3 ~ /^the control /) k = "control"
		else if ($2 ~ /^static\/(checkpatch|kernel-doc|sparse-W1)\//) k = "static"
		print k "\t" $1 }' "$RES"
}
count() { kind_of | grep -c "^$1	$2\$"; }

summary() {
	local k f s
	echo
	echo "== results ($(elapsed)) =="
	versions
	echo "stage times (s) and share of the total: $(awk -v t="$(( $(date +%s) - T0 ))" \
		'{ printf "%s %d (%d%%)  ", $1, $2, t ? 100 * $2 / t : 0 }' "$CACHE/stage-times" 2>/dev/null)"
	echo "skips allowed by testbed/expected, per suite: $(awk -F'\t' '$1 == "SKIP" { split($2, a, "/"); n[a[1]]++ }
		END { for (k in n) printf "%s %d  ", k, n[k] }' "$RES")(each listed above)"
	grep '^FAIL' "$RES" | sed 's/\t/ /; s/\t/  (/; s/$/)/; s/  ()$//'
	for k in guard control static; do
		printf '%-8s %d passed, %d failed  (%s)\n' "$k"s "$(count $k PASS)" "$(count $k FAIL)" \
			"$(case $k in guard) echo "need= rows and benchmark reports: results that must not vanish" ;;
			control) echo "broken on purpose: harness self-tests and the controls' expected failures" ;;
			static) echo "checkpatch, kernel-doc, sparse and W=1 of each of our files" ;; esac)"
	done
	f=$(grep -c '^FAIL' "$RES"); s=$(grep -c '^SKIP' "$RES")
	echo "tests    $(count test PASS) passed, $(count test FAIL) failed, $s skipped"
	# The last line: tests passed; failures of every kind (each listed above).
	echo "$(count test PASS) passed, $f failed, $s skipped"
	[ "$f" = 0 ] && [ "$(count test PASS)" -gt 0 ]
}

# check NAME CMD...: one run or check. Its results go to $RES as it makes
# them; whatever happens to it, it leaves at least one result, and a non-zero
# exit status with no failing result of its own is a failure too.
check() {
	local name=$1 before_all before_fail rc t0
	shift
	before_all=$(wc -l < "$RES"); before_fail=$(grep -c '^FAIL' "$RES")
	t0=$(date +%s)
	"$@"
	rc=$?
	# The harness self-tests (RES elsewhere) are not stages of the run.
	[ "$RES" = "$CACHE/results.txt" ] && echo "$name $(( $(date +%s) - t0 ))" >> "$CACHE/stage-times"
	if [ "$(wc -l < "$RES")" = "$before_all" ]; then
		result FAIL "$name/results" "the run gave no results (exit status $rc)"
	elif [ $rc -ne 0 ] && [ "$(grep -c '^FAIL' "$RES")" = "$before_fail" ]; then
		result FAIL "$name/exit" "exit status $rc without a failing result"
	fi
	echo "-- $name done at $(elapsed)"
	return 0
}

# report NAME CMD...: a benchmark's report, printed; a report that cannot be
# made (the benchmark did not run, or its figures are missing) fails the run.
report() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1); rc=$?
	echo "$out"
	if [ $rc = 0 ]; then
		result PASS "report/$name" "printed above"
	else
		result FAIL "report/$name" "exit status $rc: $(echo "$out" | tail -1)"
	fi
}

# The guests of a run, from the expectations table.
guests_of() { "$PY" "$TB_ROOT/harness.py" --name "$1" --mode xen --expect "$EXPECTED" --print-guests; }

echo "== testbed/run test, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores =="
echo "   selection of upstream inputs: testbed/inputs.lock (see the download stage below)"

# The build; a failed stage ends the run: there is nothing left to test.
if ( build_all ) > "$CACHE/logs/build.log" 2>&1; then
	result PASS "build" "$(tr '\n' ' ' < "$CACHE/stage-times")"
else
	result FAIL "build" "$(grep 'FAILED at stage' "$CACHE/logs/build.log" | tail -1)"
	tail -40 "$CACHE/logs/build.log" | sed 's/^/    | /'
	summary
	exit 1
fi
grep -E 'took |inputs: |REFUSED' "$CACHE/logs/build.log"
versions
echo "# $(versions)" >> "$RES"
echo "-- builds done at $(elapsed)"

# The download stage's selection logic, against a local archive (no network).
check fetch-selftest "$PY" "$L/test_fetch.py" --results "$RES"
# The kernel source stage's rebuild logic, on a tree of two files.
check kernel-src-selftest bash "$L/test_kernel_src.sh" --results "$RES"

check static "$L/static-checks.sh" "$RES"

. "$L/qemu.sh"

# Xen + dom0 + the domUs of the table, selftests in all of them.
check xen run_xen xen "xenpci.mode=test xenpci.guests=$(guests_of xen)" --kernel-limit 300 \
	--total-limit 4800
# Figures, not tests: the disk benchmark domu-virtio ran, and the ioreq
# benchmark of the kernel's server against a backend's own.
report disk-benchmark "$PY" "$L/bench-report.py" "$CACHE/logs/xen.log"
report ioreq-benchmark "$PY" "$L/ioreq-bench-report.py" "$CACHE/logs/xen.log"

# Control of dom0's BAR placement: with xen_pci_page_align=off, dom0 packs
# the sub-page BARs of its ivshmem and rtl8139 into one page, and the
# passthrough backend refuses them; dom0 still uses both devices.
check xen-dom0-noalign run_xen xen-dom0-noalign \
	"xenpci.mode=test xenpci.guests= xenpci.suite=dom0-noalign xenpci.tests=pci_bar_layout,pt_host xen_pci_page_align=off"

# Firmware's placement wins over dom0's page alignment: with
# "linux,pci-probe-only" in the host bridge node only, the PCI core keeps
# that bridge's configuration, and the BARs are not realigned. QEMU's virt
# has no firmware that assigns BARs, so the kernel assigns them itself,
# naturally aligned: the sub-page BARs pack into one page, as without the
# alignment. A function that pci=resource_alignment= names is realigned all
# the same (edu's BAR0, to 32 MiB), at the size asked for.
PROBEONLY_APPEND="xenpci.mode=test xenpci.guests= xenpci.suite=dom0-probeonly xenpci.tests=pci_bar_layout"
PROBEONLY_APPEND="$PROBEONLY_APPEND pci=resource_alignment=25@0000:00:14.0"
if xen_dtb_probe_only "$CACHE/logs/probeonly.dtb" "$PROBEONLY_APPEND"; then
	XEN_PCI_QEMU_EXTRA="-dtb $CACHE/logs/probeonly.dtb" \
		check xen-dom0-probeonly run_xen xen-dom0-probeonly "$PROBEONLY_APPEND"
else
	result FAIL xen-dom0-probeonly/dtb "QEMU's device tree with linux,pci-probe-only could not be made"
fi

# Functions re-added below a bridge whose windows are too small: behind a
# pcie-root-port, a pci-testdev whose 1 TiB BAR2 fits no window, so that
# each rescan releases the port's windows and sizes them again, and an
# rtl8139 with a 256-byte BAR in function 1. That BAR must come back on a
# page of its own, under dom0's page alignment and under pcie-xen-vpci (on
# bare QEMU).
REALLOC_DEVICES="-device pcie-root-port,id=rpra,bus=pcie.0,addr=0x1e,chassis=30,slot=30
 -device pci-testdev,bus=rpra,addr=0.0,multifunction=on,membar=1T
 -device rtl8139,bus=rpra,addr=0.1,netdev=nra,romfile= -netdev user,id=nra,restrict=on"
XEN_PCI_QEMU_EXTRA=$REALLOC_DEVICES check xen-dom0-realloc run_xen xen-dom0-realloc \
	"xenpci.mode=test xenpci.guests= xenpci.suite=dom0-realloc xenpci.tests=pci_realloc"
XEN_PCI_QEMU_EXTRA=$REALLOC_DEVICES BARE_NAME=bare-realloc BARE_KUNIT=0 BARE_APPEND=xenpci.tests=pci_realloc \
	check bare-realloc "$L/bare.sh" ours "" --results "$RES"

# Bare QEMU: our host driver (with its KUnit suite), and pci-host-generic as
# the control.
# Both run pci_enum_bench after their tests: the cost of the placement.
BARE_APPEND=xenpci.enum_bench=1 check bare-ours "$L/bare.sh" ours "" --results "$RES"
BARE_APPEND=xenpci.enum_bench=1 check bare-generic "$L/bare.sh" generic "" --results "$RES"
report enum-benchmark "$PY" "$L/enum-bench-report.py" "$CACHE/logs/bare-ours.log" "$CACHE/logs/bare-generic.log"

# The main job, as a user runs it: the domU lists its PCI bus, and every
# function its backends serve is on it.
demo_check() {	# RUN: each --slot of domu-demo.backends shows in lspci
	local run=$1 s bad=""
	for s in $(grep -o -- '--slot [0-9]*' "$TB_ROOT/guest/xl/domu-demo.backends" | awk '{ print $2 }'); do
		grep -q "^\[domU:domu-demo\] 00:$(printf '%02x' "$s").0 " "$CACHE/logs/$run.log" ||
			bad="$bad 00:$(printf '%02x' "$s").0"
	done
	if ! grep -q '=== end of domu-demo PCI view ===' "$CACHE/logs/$run.log"; then
		result FAIL "$run/domU-shows-its-PCI-bus" "no PCI view; see $CACHE/logs/$run.log"
	elif [ -n "$bad" ]; then
		result FAIL "$run/domU-shows-its-PCI-bus" "functions missing from lspci:$bad"
	else
		result PASS "$run/domU-shows-its-PCI-bus" "every function of domu-demo.backends listed"
	fi
	# Its virtio functions are in use: by their drivers, a file, rng bytes.
	local v=$CACHE/logs/$run.log
	if [ "$(grep -c '^\[domU:domu-demo\] 	Kernel driver in use: virtio-pci' "$v")" -lt 2 ]; then
		result FAIL "$run/domU-uses-its-virtio-devices" "virtio-pci is not bound to both virtio functions"
	elif ! grep -q '^\[domU:domu-demo\] virtio disk: read back: written in domu-demo through virtio-blk' "$v"; then
		result FAIL "$run/domU-uses-its-virtio-devices" "no file read back from the virtio disk"
	elif ! grep -Eq '^\[domU:domu-demo\] virtio rng: 32 bytes: [0-9a-f]{64}' "$v"; then
		result FAIL "$run/domU-uses-its-virtio-devices" "no bytes from the virtio rng"
	else
		result PASS "$run/domU-uses-its-virtio-devices" "virtio-pci bound twice, a file read back from the disk, rng bytes read"
	fi
}
check demo run_xen demo "xenpci.mode=demo xenpci.guests=domu-demo"
demo_check demo

# --- Harness self-tests: break things on purpose; each must fail, named. ---
# selftest NAME REGEX CMD...: CMD (a function or program) runs with $RES
# pointing to a scratch file and must leave a FAIL line matching REGEX there.
selftest() {
	local name=$1 rx=$2 rc got scratch=$CACHE/logs/selftest-$1.results
	shift 2
	: > "$scratch"
	( RES=$scratch; "$@" ) > "$CACHE/logs/selftest-$name.out" 2>&1
	rc=$?
	got=$(grep -E "^FAIL	$rx" "$scratch" | head -1 | tr '\t' ' ' | cut -c1-300)
	if [ -n "$got" ]; then
		result PASS "harness-selftest/$name" "failed as it must: $got"
	else
		result FAIL "harness-selftest/$name" "exit status $rc, no FAIL line matching $rx; results: $(tr '\t\n' '  ' < "$scratch" | head -c 400)"
	fi
}
# A domU that never boots fails the run at its boot stage, quickly.
broken_guest() {
	run_xen harness-selftest "xenpci.mode=demo xenpci.guests=domu-broken xenpci.boot_limit=20" \
		--total-limit 240
}
# A bare run whose QEMU cannot start dies before the harness: the run must
# still leave a failure.
bare_dies() {
	XEN_PCI_QEMU_EXTRA="-device no-such-device" check bare-selftest "$L/bare.sh" ours "" --results "$RES"
}
# A Xen run whose QEMU dies at once: no console PASS, the boot stage fails.
xen_dies() {
	XEN_PCI_QEMU_EXTRA="-device no-such-device" run_xen xen-selftest "xenpci.mode=demo xenpci.guests="
}
# The KUnit module is not loaded: its cases are missed, by name.
kunit_missing() {
	BARE_NAME=bare-selftest BARE_APPEND="xenpci.break=kunit xenpci.tests=none" \
		"$L/bare.sh" ours "" --results "$RES" --expect-as bare-ours
}
# The emulated functions are never served: the demo's bus lacks them.
emu_missing() {
	run_xen demo-selftest "xenpci.mode=demo xenpci.guests=domu-demo xenpci.break=emu" >/dev/null
	demo_check demo-selftest
}
# A guest that does not finish in time: the run says so, and the guest's
# kernel shows where it was (sysrq through xenstore) before it is destroyed.
guest_hangs() {
	run_xen hang-selftest "xenpci.mode=demo xenpci.guests=domu-demo xenpci.guest_limit=1" \
		--total-limit 240
}
# A kernel leak reaches the results: kmemleak's own test module.
kmemleak_fires() {
	BARE_NAME=bare-selftest BARE_KUNIT=0 BARE_APPEND="xenpci.break=kmemleak xenpci.tests=none" \
		"$L/bare.sh" ours "" --results "$RES"
}
selftest domu-never-boots 'harness-selftest/stage:domu-broken-boot' broken_guest
selftest bare-qemu-dies 'bare-selftest/results' bare_dies
selftest xen-qemu-dies 'xen-selftest/console.*never booted' xen_dies
selftest kunit-module-missing 'bare-selftest/exact:.*pcie-xen-vpci' kunit_missing
selftest emulated-function-missing 'demo-selftest/domU-shows-its-PCI-bus.*missing' emu_missing
selftest kmemleak-fires 'bare-selftest/kernel_reports.*kmemleak' kmemleak_fires
selftest domu-hangs 'hang-selftest/stage:domu-demo-run.*blocked tasks' guest_hangs

summary
