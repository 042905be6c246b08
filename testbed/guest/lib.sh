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

# ---- A guest's backends: started and supervised, killed and restarted
# when its tests ask, stopped, their exits accounted for. By dom0, and by a
# driver domain (domU-init, mode domd) for the guest it serves: each init
# defines guest_alive NAME DOMID (whether the guest still lives) and names
# itself in ROLE, which prefixes what these say.

# Backends of a guest: /etc/xenpci/NAME.backends, one command per line with
# @DOMID@ for the guest's domain id. Each runs under a supervisor that
# restarts it when it exits while its guest lives (a backend may be made to
# crash on purpose) and logs to /tmp/backend-NAME-N.log; stop_backends ends
# them with SIGTERM. Every exit is written to /tmp/backend-NAME-N.exits, and
# check_backend_exits finds any that nobody intended.
start_backends() {	# NAME DOMID [FILE, instead of NAME.backends]
	local f=${3:-/etc/xenpci/$1.backends} n=0 cmd
	BACKENDS=0
	[ -r "$f" ] || return 0
	while IFS= read -r cmd; do
		case $cmd in ''|'#'*) continue ;; esac
		case $BREAK:$cmd in emu:pci-ioreq-emu*) echo "$ROLE: xenpci.break=emu: not starting $cmd"; continue ;; esac
		n=$((n + 1))
		cmd=$(echo "$cmd" | sed "s/@DOMID@/$2/g")
		echo "$ROLE: backend $n of $1: $cmd"
		echo "$cmd" > "/tmp/backend-$1-$n.cmd"
		: > "/tmp/backend-$1-$n.exits"
		: > "/tmp/backend-$1-$n.intended"
		: > "/tmp/backend-$1-$n.log"
		(
			b=/tmp/backend-$1-$n crashes=0
			# SIGTERM ends the backend; if it had already exited, say
			# whether its guest was gone by then.
			trap 'if kill -TERM $child 2>/dev/null; then wait $child; echo "term $?" >> $b.exits
			      elif ! guest_alive "$1" "$2"; then echo gone >> $b.exits; fi; exit 0' TERM
			while :; do
				$cmd >>"$b.log" 2>&1 &
				child=$!
				echo $child > "$b.pid"
				wait $child
				rc=$?
				echo "exit $rc" >> "$b.exits"
				# A backend whose guest is gone has nothing to serve. It
				# may see the guest dying before guest_alive does: give
				# a clean exit that nobody asked for (no TERM pending) 10 s.
				i=0
				while [ $rc = 0 ] && [ $i -lt 10 ] && guest_alive "$1" "$2" &&
				      [ "$(grep -c '^TERM' "$b.intended")" -le "$(grep -c '^exit 0$' "$b.exits")" ]; do
					sleep 1
					i=$((i + 1))
				done
				if ! guest_alive "$1" "$2"; then
					echo gone >> "$b.exits"
					echo "$ROLE: backend $n of $1 exited ($rc) after its guest" >>"$b.log"
					exit 0
				fi
				# Killed through its crash register: the guest checks the
				# function is absent, then asks for the restart.
				if [ "$(grep -c 'crash register written' "$b.log" 2>/dev/null)" -gt "$crashes" ]; then
					crashes=$(grep -c 'crash register written' "$b.log")
					[ -e "$b.go" ] || touch "$b.hold"
					echo "$ROLE: backend $n of $1 died through its crash register; restart held until $1 asks" >>"$b.log"
				fi
				echo "$ROLE: backend $n of $1 exited ($rc), restarting" >>"$b.log"
				sleep 2
				# Held while dom0 uses the device itself, or until the guest asks.
				while [ -e "$b.hold" ]; do sleep 1; done
				rm -f "$b.go"
			done
		) &
		echo $! >> "/tmp/backends-$1.pids"
	done < "$f"
	BACKENDS=$n
}

# Wait up to LIMIT seconds (by the clock) until each of the BACKENDS that
# start_backends just started for guest NAME says it serves (its ": serving"
# line: bound, its functions registered); then the guest may run. Returns
# non-zero, having printed their logs, if one does not.
wait_serving() {	# NAME LIMIT
	local k served end=$(( $(cut -d. -f1 /proc/uptime) + $2 ))
	while :; do
		served=0
		for k in $(seq "$BACKENDS"); do
			grep -q ': serving ' "/tmp/backend-$1-$k.log" 2>/dev/null && served=$((served + 1))
		done
		[ "$served" -lt "$BACKENDS" ] && [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] || break
		usleep 200000
	done
	SERVED=$served
	[ "$served" = "$BACKENDS" ] && return 0
	cat /tmp/backend-"$1"-*.log
	return 1
}

# Every exit of a guest's backends must be one somebody intended: a SIGKILL
# asked for (kill_backend, a KILL line in .intended) or done to itself
# through the crash register (pci-ioreq-emu says so in its log), a SIGTERM
# (stop_passthrough, stop_backends) that ends the backend with status 0, or
# status 0 once the guest is gone. Anything else is a backend that crashed:
# false, with what each was in BAD_EXITS.
check_backend_exits() {	# NAME
	local f b kills terms bad="" what rc prev crashed
	for f in /tmp/backend-"$1"-*.exits; do
		[ -r "$f" ] || continue
		b=${f%.exits}
		# (a backend that never started has no log: grep says nothing)
		crashed=$(grep -c 'crash register written' "$b.log" 2>/dev/null)
		kills=$(( $(grep -c '^KILL' "$b.intended") + ${crashed:-0} ))
		terms=$(grep -c '^TERM' "$b.intended")
		# "exit RC" (it exited by itself), then "gone" if its guest was
		# gone by then; "term RC": stop_backends' SIGTERM ended it.
		prev=""
		while read -r what rc || [ -n "$prev" ]; do
			case $what in
			gone) [ "$prev" = 0 ] && prev=""; continue ;;
			exit|term|"") ;;
			*) bad="$bad ${b##*/}:$what"; continue ;;
			esac
			case $prev in
			'') ;;
			137) if [ "$kills" -gt 0 ]; then kills=$((kills - 1)); else bad="$bad ${b##*/}:SIGKILL"; fi ;;
			0) if [ "$terms" -gt 0 ]; then terms=$((terms - 1)); else bad="$bad ${b##*/}:exit-0-while-its-guest-lived"; fi ;;
			*) bad="$bad ${b##*/}:exit-$prev" ;;
			esac
			prev=""
			case $what in
			exit) prev=$rc ;;
			term) [ "$rc" = 0 ] || bad="$bad ${b##*/}:status-$rc-after-SIGTERM" ;;
			"") break ;;
			esac
		done < "$f"
		echo "$ROLE: ${b##*/}: exits: $(tr '\n' ' ' < "$f")"
	done
	BAD_EXITS=$bad
	[ -z "$bad" ]
}

# A guest's test kills the backend of one of its functions (virtio_guest:
# blk_backend_killed): SIGKILL, in the middle of its I/O, with its restart
# held until the guest asks for it (dom0 forwards the requests of a guest
# served from a driver domain: backend_request in dom0-init).
slot_backends() {	# NAME SLOT: the backends of that slot (/tmp/backend-NAME-N)
	local f cmd
	for f in /tmp/backend-"$1"-*.cmd; do
		[ -r "$f" ] && read -r cmd < "$f" || continue
		case "$cmd " in *" --slot $2 "*) echo "${f%.cmd}" ;; esac
	done
}

# Backend B (/tmp/backend-NAME-N) prints its counters: a pci-ioreq backend
# does at SIGUSR1 (pci-passthrough takes none). 0 once a new ": stats "
# line is in its log, within 10 s; 1 if none came; 2 if it took no signal.
backend_counters() {	# B
	local n i=0 cmd pid
	# (builtins where they do: each process costs under TCG, and the
	# benchmark asks for counters between each two figures)
	read -r cmd < "$1.cmd"
	case $cmd in pci-ioreq-*) ;; *) return 1 ;; esac
	n=$(grep -c ': stats ' "$1.log" 2>/dev/null)
	read -r pid < "$1.pid"
	kill -USR1 "$pid" 2>/dev/null || return 2
	while [ "$(grep -c ': stats ' "$1.log" 2>/dev/null)" = "${n:-0}" ]; do
		[ $i -lt 100 ] || return 1
		usleep 100000
		i=$((i + 1))
	done
}

# The counters of the virtio backend of device number SLOT of guest NAME
# (none for a disk that is no PCI function) and of /dev/xen/pci-ioreq for
# the guest, printed with the benchmark's tag for
# testbed/lib/bench-report.py (blk_bench asks: dom0-init, backend_stats).
backend_counters_of() {	# NAME TAG SLOT|none DOMID
	local b d cmd k v line=""
	for b in $(slot_backends "$1" "$3"); do
		read -r cmd < "$b.cmd"
		case $cmd in "pci-ioreq-virtio "*) ;; *) continue ;; esac
		# none rather than the last ones under a new tag: the report
		# says which figure lost them
		backend_counters "$b" || continue
		echo "$ROLE: backend-stats tag=$2 $(grep 'pci-ioreq-virtio: stats ' "$b.log" | tail -1)"
	done
	# (DOMID@ECAM: a server at another layout than the default)
	for d in /sys/kernel/debug/xen-pci-ioreq/"$4"/stats /sys/kernel/debug/xen-pci-ioreq/"$4"@*/stats; do
		[ -r "$d" ] && break
	done
	[ -r "$d" ] || return 0
	while read -r k v; do
		case $k in
		routed:|answered_in_kernel:|ioeventfd_writes:|irqfd_asserted:|intx_raised:)
			line="$line${k%:} $v " ;;
		esac
	done < "$d"
	echo "$ROLE: ioreq-stats tag=$2 $line"
}

kill_backend() {	# NAME SLOT
	local b pid
	for b in $(slot_backends "$1" "$2"); do
		touch "$b.hold"
		pid=$(cat "$b.pid")
		# SIGKILL leaves no counters: a virtio backend's are printed
		# first, for the checks after the guest (virtio_host).
		case $(cat "$b.cmd") in pci-ioreq-virtio\ *) backend_counters "$b" ;; esac
		# Its functions go after its other files (dev.c: xpi_flush);
		# were they gone first, grants still mapped through gntdev
		# would be revoked by the guest's drivers meanwhile: 10 s for
		# them to do it, so that kernel_reports sees it.
		echo 10000 > /sys/kernel/debug/xen-pci-ioreq/release_delay_ms
		echo KILL >> "$b.intended"
		kill -KILL "$pid" && echo "$ROLE: $1 asked: SIGKILL to backend $pid (slot $2), restart held"
	done
}

restart_backend() {	# NAME SLOT
	local b
	for b in $(slot_backends "$1" "$2"); do
		# (.go: asked before its supervisor saw it die)
		touch "$b.go"
		rm -f "$b.hold"
		echo "$ROLE: $1 asked: backend of slot $2 restarts"
	done
}

stop_backends() {	# NAME
	local p f i
	[ -r "/tmp/backends-$1.pids" ] || return 0
	for p in $(cat "/tmp/backends-$1.pids"); do kill -TERM "$p" 2>/dev/null; done
	# Each supervisor has written its backend's last exit when it is gone.
	for p in $(cat "/tmp/backends-$1.pids"); do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
	done
	for f in /tmp/backend-"$1"-*.log; do
		[ -r "$f" ] || continue
		echo "=== $ROLE: $(basename "$f" .log) ==="
		cat "$f"
	done
	rm -f "/tmp/backends-$1.pids"
}
