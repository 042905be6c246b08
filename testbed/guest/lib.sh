# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the dom0 and domU init scripts (busybox sh).
#
# Protocol with the host harness (testbed/harness.py), one line each:
#   @@XENPCI stage=NAME limit=SECONDS   entering stage NAME, due within SECONDS
#   @@XENPCI fail stage=NAME MESSAGE    stage NAME failed; MESSAGE says why
#   @@XENPCI begin suite=NAME / end suite=NAME   TAP results of a suite between
#   @@XENPCI done                       all work finished, powering off

mark() { echo "@@XENPCI $*"; }
fail() { local st=$1; shift; mark "fail stage=$st $*"; }

cmdline_arg() {	# NAME [DEFAULT]: value of NAME= on the kernel command line
	local a
	for a in $(cat /proc/cmdline); do
		case $a in "$1="*) echo "${a#*=}"; return ;; esac
	done
	echo "$2"
}

setup_base() {
	/usr/bin/busybox --install -s
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /tmp
	mount -t tmpfs tmpfs /run
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	export PATH=/usr/sbin:/usr/bin:/usr/lib/xen-4.20/bin
	export HOME=/root
	hostname "$1"
	# Reports of a CPU that does not schedule (soft lockup) or pass an RCU
	# quiescent state: after 60 s, as the hung-task detector. The kernel's
	# defaults (20 s, 21 s) are for hardware; under TCG, bounded work that
	# takes a second there takes tens of seconds here, and a non-preemptible
	# arm64 dom0 does not schedule inside a hypercall that Xen continues or
	# while privcmd maps a guest's kernel (seen: xl held CPU 1 for 22 s).
	echo 30 > /proc/sys/kernel/watchdog_thresh
	echo 60 > /sys/module/rcupdate/parameters/rcu_cpu_stall_timeout
}

# Run the installed kselftests the way run_kselftest.sh would (nested TAP),
# line by line as they come (a test may talk to the host through markers),
# with busybox's timeout, which lacks the --foreground option that
# kselftest/runner.sh needs. The last result is the kernel's own health.
# xenpci.only=NAME,... passes "-t NAME" to each program: only the test
# cases of that name run (a short run of a few cases of a long program).
run_kselftests() {	# SUITE [TEST,...]: every test, or the ones named
	local list=/opt/kselftest/kselftest-list.txt n=0 total coll t rc limit
	local only="" c
	for c in $(cmdline_arg xenpci.only "" | tr , ' '); do
		only="$only -t $c"
	done
	if [ -n "${2:-}" ]; then
		: > "/tmp/.ksft-list-$1"
		for t in $(echo "$2" | tr , ' '); do
			[ "$t" = none ] && continue
			grep ":$t\$" "$list" >> "/tmp/.ksft-list-$1" ||
				fail "$1" "xenpci.tests names '$t', which is no selftest of this image"
		done
		list=/tmp/.ksft-list-$1
	fi
	total=$(grep -c : "$list")
	echo "TAP version 13"
	echo "1..$((total + 1))"
	while IFS=: read -r coll t; do
		n=$((n + 1))
		limit=45
		[ -r "/opt/kselftest/$coll/settings" ] &&
			limit=$(sed -n 's/^timeout=//p' "/opt/kselftest/$coll/settings")
		echo "# selftests: $coll: $t"
		( cd "/opt/kselftest/$coll" && export XEN_PCI_SUITE=$1 &&
		  timeout -s KILL "$limit" "./$t" $only </dev/null 2>&1
		  echo $? > /tmp/.ksft-rc ) | awk '{ print "# " $0; fflush() }'
		rc=$(cat /tmp/.ksft-rc)
		case $rc in
		0) echo "ok $n selftests: $coll: $t" ;;
		4) echo "ok $n selftests: $coll: $t # SKIP" ;;
		137|124) echo "not ok $n selftests: $coll: $t # TIMEOUT $limit seconds" ;;
		*) echo "not ok $n selftests: $coll: $t # exit=$rc" ;;
		esac
	done < "$list"
	kernel_health $((n + 1))
}

# One TAP result for the kernel itself: any line of the log that matches
# /etc/xenpci-kernel-trouble.patterns (guest/kernel-trouble.patterns: KASAN,
# lockdep, sleep in atomic, BUG, WARNING, oops...) or a kmemleak report is a
# failure. kmemleak reports an object only once it is older than 5 s and
# found unreferenced by a scan, and its debugfs file reads with size 0: so
# wait, scan, and look at what a read returns.
kernel_health() {	# TEST_NUMBER
	local bad=0 km=/sys/kernel/debug/kmemleak
	# Each report with the lines after it: the call trace says where.
	if dmesg | grep -E -A 8 -f /etc/xenpci-kernel-trouble.patterns > /tmp/.health; then
		bad=1
		sed 's/^/# dmesg: /' /tmp/.health | head -60
	fi
	if [ -w $km ]; then
		sleep 6
		echo scan > $km
		sleep 1
		echo scan > $km
		cat $km > /tmp/.kmemleak
		if [ -s /tmp/.kmemleak ]; then
			bad=1
			sed 's/^/# kmemleak: /' /tmp/.kmemleak | head -60
		fi
		echo clear > $km
	fi
	if [ $bad = 0 ]; then
		echo "ok $1 kernel_reports"
	else
		echo "not ok $1 kernel_reports"
	fi
}

# Wait up to LIMIT seconds (by the clock: a grep of a long log is slow under
# TCG) for a file to contain a line matching PATTERN.
wait_for_line() {	# FILE PATTERN LIMIT
	local end=$(( $(cut -d. -f1 /proc/uptime) + $3 ))
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || return 1
		sleep 1
	done
}
