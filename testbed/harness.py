#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Boot one QEMU machine (Xen + dom0, or a bare kernel), follow its console,
enforce every stage's time limit and collect the TAP results it reports.

The guests announce their stages on the console (see testbed/guest/lib.sh):
  @@XENPCI stage=NAME limit=S   @@XENPCI fail stage=NAME MSG
  @@XENPCI begin suite=NAME     @@XENPCI end suite=NAME     @@XENPCI done
  @@XENPCI host-check suite=NAME nonce=N   check the guest's pattern in the
                                host file behind the passed-through ivshmem
domU consoles reach us through dom0 with a "[domU:NAME] " prefix.

Results are appended to --results as "PASS|FAIL|SKIP<TAB>name<TAB>detail"
lines as they come (a run that dies still leaves what it had, and a FAIL
line saying how it died) and printed one per line. Every result is judged
against the expectations table (--expect, testbed/expected): a skip or a
failure that the table does not allow for this run is a failure; a
control's expected failure must fail, for its reason. Exit status: 0 if
nothing failed.
"""

import argparse
import os
import re
import select
import signal
import struct
import subprocess
import sys
import time

MARK = re.compile(r'@@XENPCI (.*)$')
RELAY = re.compile(r'^\[domU:([\w.-]+)\] ?(.*)$')
TB_ROOT = os.path.dirname(os.path.abspath(__file__))


def load_patterns(path):
    """One extended regexp per line (comments and blank lines aside): the
    file the guests' kernel_health check greps with, too."""
    with open(path) as f:
        pats = [ln.rstrip('\n') for ln in f if ln.strip() and not ln.startswith('#')]
    return re.compile('|'.join('(?:%s)' % p for p in pats))


# Console lines that mean a kernel is in trouble, whatever the tests say.
KERNEL_TROUBLE = load_patterns(os.path.join(TB_ROOT, 'guest', 'kernel-trouble.patterns'))
XEN_TROUBLE = re.compile(r"\(XEN\) (Panic on CPU|Assertion .* failed|Xen BUG at|Xen WARN at|FATAL)")
# The ivshmem pattern protocol, read from its one definition in C
# (tools/testing/selftests/xen-pci/pt_dev.h, through lib/ptdev.py): where
# the guest, the host and dom0 write their patterns, and the pattern itself.
sys.path.insert(0, os.path.join(TB_ROOT, 'lib'))
from ptdev import pt_dev  # noqa: E402
_PT = pt_dev()
PT_GUEST_OFF, PT_HOST_OFF, PT_WORDS, PT_MUL_I, PT_MUL_WHO = (
    _PT[k] for k in ('PT_GUEST_OFF', 'PT_HOST_OFF', 'PT_WORDS', 'PT_MUL_I', 'PT_MUL_WHO'))


def pt_pattern(nonce, i, who):
    return (nonce ^ ((i + 1) * PT_MUL_I) ^ (who * PT_MUL_WHO)) & 0xffffffff


KMSG = re.compile(r'^\[\s*\d+\.\d+\] (.*)$')
KUNIT_SUBTEST = re.compile(r'^( *)# Subtest: (\S+)')
KUNIT_RESULT = re.compile(r'^( *)(not ok|ok) \d+ (\S+)(?:\s+#\s*(SKIP)(.*))?')
TAP_RESULT = re.compile(r'^(not ok|ok) (\d+) (.*?)(?:\s+#\s*(SKIP|TODO|TIMEOUT|exit=\S+)(.*))?$')
TAP_PLAN = re.compile(r'^1\.\.(\d+)')


class Expect:
    """The rows of the expectations table whose RUN (a regexp) matches the run:
      RUN suite NAME          the suite must run to its end
      RUN guest NAME          a domU of the run: its suite must run too
      RUN skip  REGEX REASON  a test that may skip here, for that reason
      RUN xfail REGEX REASON  a control's expected failure, for that reason
      RUN need=N REGEX        at least N passing results match
      RUN exact=N REGEX       exactly N results match, and all of them pass
    REASON is a regexp matched against the skip's reason or the failing
    test's output."""

    def __init__(self, path, run):
        self.suites, self.guests, self.skip, self.xfail, self.need = [], [], [], [], []
        self.exact = []
        if not path:
            return
        with open(path) as f:
            for n, ln in enumerate(f, 1):
                w = ln.split('#', 1)[0].split(None, 3)
                if not w or not re.fullmatch(w[0], run):
                    continue
                kind = w[1]
                if kind in ('suite', 'guest'):
                    self.suites.append(w[2])
                    if kind == 'guest':
                        self.guests.append(w[2])
                elif kind in ('skip', 'xfail'):
                    if len(w) < 4:
                        raise SystemExit('%s:%d: %s needs a reason' % (path, n, kind))
                    row = [re.compile(w[2]), re.compile(w[3].strip())]
                    getattr(self, kind).append(row + [0] if kind == 'xfail' else row)
                elif kind.startswith('need='):
                    self.need.append([re.compile(w[2]), int(kind[5:]), 0])
                elif kind.startswith('exact='):
                    # [regex, N, passing results, other results]
                    self.exact.append([re.compile(w[2]), int(kind[6:]), 0, 0])
                else:
                    raise SystemExit('%s:%d: unknown kind %s' % (path, n, kind))


class Run:
    def __init__(self, args):
        self.args = args
        self.results = []          # (status, name, detail)
        self.t0 = time.monotonic()
        self.lines = []            # (source, text) of the whole console
        self.stage = args.first_stage
        self.deadline = time.monotonic() + args.first_limit
        self.stage_start = time.monotonic()
        self.done = False
        self.suites = {}           # suite -> parser state
        self.failed_stage = None
        self.trouble = []
        self.k_sub = {}            # KUnit: indent -> name of the group there
        self.k_child = {}          # KUnit: indent -> results seen at that indent
        self.booted = False        # the machine got past its first stage
        self.stage_times = []      # (stage, seconds, QEMU CPU seconds) in order
        self.qemu_pid = None
        self.stage_cpu = 0.0       # QEMU's CPU time at the stage's start
        self.cpu_seen = 0.0        # and at the last look
        self.test_times = []       # (seconds, test) of each subtest
        self.expect = Expect(args.expect, args.expect_as or args.name)
        self.out = open(args.results, 'a') if args.results else None

    # --- results ---
    def judge(self, status, name, detail, output):
        """A raw result, judged against the expectations table."""
        for row in self.expect.xfail:
            rx, why, _ = row
            if not rx.search(name):
                continue
            row[2] += 1
            if status == 'FAIL' and (why.search(detail) or why.search(output)):
                return 'PASS', name, 'expected failure of the control: %s' % why.pattern
            if status == 'FAIL':
                return 'FAIL', name, ('the control failed for another reason than %r: %s'
                                      % (why.pattern, (detail + ' ' + output[-300:]).strip()))
            return 'FAIL', name, ('the control did not fail (%s): the test cannot tell'
                                  % status.lower())
        if status == 'SKIP':
            for rx, why in self.expect.skip:
                if rx.search(name) and why.search(detail):
                    return 'SKIP', name, detail
            return 'FAIL', name, 'skipped where it must run: %s' % detail
        if status == 'PASS':
            for row in self.expect.need:
                if row[0].search(name):
                    row[2] += 1
        for row in self.expect.exact:
            if row[0].search(name):
                row[2 if status == 'PASS' else 3] += 1
        return status, name, detail

    def result(self, status, name, detail='', output=''):
        if status == 'FAIL' and not detail and output:
            # A kernel's report starts with what and where (its first
            # lines); a test's failure ends with it.
            lines = output.splitlines()
            detail = ' | '.join(lines[:6] if name.endswith('/kernel_reports')
                                else lines[-3:])
        status, name, detail = self.judge(status, name, detail, output)
        self.record(status, name, detail)

    def record(self, status, name, detail=''):
        """A final result: kept, printed and written out at once."""
        self.results.append((status, name, detail))
        line = '%s %s' % (status, name)
        if detail:
            line += '  (%s)' % detail
        print(line, flush=True)
        if self.out:
            self.out.write('%s\t%s\t%s\n' % (status, name,
                                               detail.replace('\t', ' ').replace('\n', ' ')))
            self.out.flush()

    def finish(self):
        """Results that only the end of a run can give."""
        for rx, why, hits in self.expect.xfail:
            if not hits:
                self.record('FAIL', '%s/expected-failure:%s' % (self.args.name, rx.pattern),
                            'no such test ran')
        for rx, n, hits in self.expect.need:
            if hits < n:
                self.record('FAIL', '%s/need:%s' % (self.args.name, rx.pattern),
                            '%d passing results, at least %d expected' % (hits, n))
            else:
                self.record('PASS', '%s/need:%s' % (self.args.name, rx.pattern),
                            '%d passing results' % hits)
        for rx, n, hits, other in self.expect.exact:
            name = '%s/exact:%s' % (self.args.name, rx.pattern)
            if hits != n or other:
                self.record('FAIL', name, '%d passing and %d other results, exactly %d '
                            'passing expected' % (hits, other, n))
            else:
                self.record('PASS', name, '%d passing results' % hits)

    def tail(self, source=None, n=None):
        n = n or self.args.tail
        sel = [t for s, t in self.lines if source is None or s == source or s == 'dom0']
        return '\n'.join('    | ' + t for t in sel[-n:])

    def stage_failed(self, stage, why, source=None):
        if self.failed_stage is None:
            self.failed_stage = stage
        self.record('FAIL', '%s/stage:%s' % (self.args.name, stage), why)
        print('[harness] FAILED at stage %s: %s\n[harness] console tail:\n%s'
              % (stage, why, self.tail(source)), flush=True)

    # --- stages ---
    def qemu_cpu(self):
        """CPU seconds QEMU (all its vCPU threads) has used so far."""
        try:
            with open('/proc/%d/stat' % self.qemu_pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            self.cpu_seen = (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
        except (OSError, TypeError, IndexError, ValueError):
            pass    # gone: what it had used at the last look
        return self.cpu_seen

    def end_stage(self, now):
        cpu = self.qemu_cpu()
        self.stage_times.append((self.stage, now - self.stage_start, cpu - self.stage_cpu))
        self.stage_cpu = cpu

    def enter(self, name, limit):
        now = time.monotonic()
        if self.args.verbose:
            print('[harness] stage %s done in %.1fs; now %s (limit %ss)'
                  % (self.stage, now - self.stage_start, name, limit), flush=True)
        self.end_stage(now)
        self.stage, self.stage_start = name, now
        self.deadline = now + limit

    # --- TAP of one suite ---
    def tap(self, suite, text):
        st = self.suites[suite]
        if text.startswith('# selftests: '):
            # Each program has its own limit (the selftests' settings): its
            # stage lasts at least that long from the program's start, so
            # that a program's own timeout, which names it, comes first.
            self.deadline = max(self.deadline,
                                time.monotonic() + self.args.program_limit + 30)
            st['prog'] = text[len('# selftests: '):].split(': ')[-1]
            st['t'] = time.monotonic()
            st['sub'] = 0
            st['subfail'] = 0
            st['plan'] = None
            st['buf'] = []
            return
        nested = text.startswith('# ')
        body = text[2:] if nested else text
        pm = TAP_PLAN.match(body)
        if pm:
            if nested and st.get('prog') is not None and st['plan'] is None:
                st['plan'] = int(pm.group(1))
            elif not nested and st['top_plan'] is None:
                st['top_plan'] = int(pm.group(1))
            return
        m = TAP_RESULT.match(body)
        if not m:
            if nested:
                st['buf'].append(body)
                del st['buf'][:-40]
            return
        ok, _, name, directive, rest = m.groups()
        directive = directive or ''
        rest = (rest or '').strip()
        if nested:
            if st.get('prog') is None:
                return
            st['sub'] += 1
            full = '%s/%s/%s' % (suite, st['prog'], name)
            now = time.monotonic()
            self.test_times.append((now - st.get('t', now), full))
            st['t'] = now
            out = '\n'.join(st['buf'])
            st['buf'] = []
            if directive == 'SKIP':
                self.result('SKIP', full, rest or 'skipped', out)
            elif ok == 'ok':
                self.result('PASS', full)
            else:
                st['subfail'] += 1
                self.result('FAIL', full, rest, out)
            return
        # Top level: one program (or the kernel_reports check).
        if name.startswith('selftests: '):
            prog = name.split(': ')[-1]
            full = '%s/%s' % (suite, prog)
            out = '\n'.join(st.get('buf', []))
            if directive == 'TIMEOUT':
                # Killed: whatever its subtests said, and in a control too.
                self.record('FAIL', full, 'killed by its timeout: %s (%d of %s results)'
                            % (rest, st.get('sub', 0), st.get('plan')))
            elif st.get('sub', 0) == 0:
                # No sub-results: the program itself is the test.
                if directive == 'SKIP':
                    self.result('SKIP', full, rest or 'skipped', out)
                elif ok == 'ok':
                    self.result('PASS', full)
                else:
                    self.result('FAIL', full, (directive + ' ' + rest).strip(), out)
            elif ok != 'ok' and st['subfail'] == 0 and directive != 'SKIP':
                self.record('FAIL', full, 'program failed after its tests: %s %s'
                            % (directive, rest))
            if (st.get('plan') is not None and st.get('sub', 0) != st['plan']
                    and directive != 'TIMEOUT'):
                self.record('FAIL', full + '/plan', '%d results for a plan of %d'
                            % (st['sub'], st['plan']))
            st['prog'] = None
            st['sub'] = 0
            st['plan'] = None
            st['buf'] = []
        else:
            full = '%s/%s' % (suite, name)
            out = '\n'.join(st.get('buf', []))
            st['buf'] = []
            if directive == 'SKIP':
                self.result('SKIP', full, rest or 'skipped', out)
            elif ok == 'ok':
                self.result('PASS', full)
            else:
                self.result('FAIL', full, rest, out)
        st['count'] += 1
        st['top_count'] += 1

    # --- KUnit KTAP in the kernel log: count the leaves ---
    def kunit(self, text):
        m = KUNIT_SUBTEST.match(text)
        if m:
            ind = len(m.group(1))
            self.k_sub[ind] = m.group(2)
            for deeper in [i for i in self.k_sub if i > ind]:
                del self.k_sub[deeper]
            self.k_child[ind] = False
            return
        m = KUNIT_RESULT.match(text)
        if not m:
            return
        ind, ok, name, skip, why = len(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5)
        if self.k_child.get(ind + 4):
            self.k_child[ind + 4] = False      # a group's own result
        else:
            path = [self.k_sub[i] for i in sorted(self.k_sub) if i <= ind]
            full = '%s/kunit/%s' % (self.args.name, '/'.join(path + [name]))
            if skip:
                self.result('SKIP', full, (why or '').strip() or 'skipped')
            elif ok == 'ok':
                self.result('PASS', full)
            else:
                self.result('FAIL', full)
        self.k_child[ind] = True

    # --- one console line ---
    def line(self, raw):
        text = raw.rstrip('\r\n').replace('\r', '')
        source = 'dom0' if self.args.mode == 'xen' else 'guest'
        m = RELAY.match(text)
        if m:
            source, text = 'domU:' + m.group(1), m.group(2)
        self.lines.append((source, text))
        if self.args.echo:
            print('%-12s %s' % (source, text), flush=True)

        # Kernel lines (printk time stamps) and Xen's own: not test output.
        km = KMSG.match(text)
        if (km and KERNEL_TROUBLE.search(km.group(1))) or XEN_TROUBLE.search(text):
            self.trouble.append('%s: %s' % (source, text.strip()))

        if self.stage == 'xen-boot' and 'LOADING DOMAIN 0' in text:
            self.enter('dom0-boot', self.args.kernel_limit)
            return
        if not self.booted and re.search(r'Booting Linux on physical CPU|Xen version', text):
            self.booted = True

        if self.args.kunit:
            km = KMSG.match(text)
            if km:
                self.kunit(km.group(1))

        mk = MARK.search(text)
        if mk:
            self.marker(source, mk.group(1).strip())
            return
        for suite, st in self.suites.items():
            if st['open'] and st['source'] == source:
                self.tap(suite, text)

    def marker(self, source, body):
        kv = dict(re.findall(r'(\w+)=(\S+)', body))
        if body.startswith('fail '):
            msg = re.sub(r'^fail stage=\S+\s*', '', body)
            self.stage_failed(kv.get('stage', '?'), msg, source)
        elif body.startswith('stage='):
            self.enter(kv['stage'], int(kv.get('limit', self.args.default_limit)))
        elif body.startswith('begin '):
            self.suites[kv['suite']] = {'open': True, 'source': source, 'count': 0,
                                        'prog': None, 'sub': 0, 'subfail': 0, 'plan': None,
                                        'buf': [], 'top_plan': None, 'top_count': 0}
        elif body.startswith('end '):
            st = self.suites.get(kv['suite'])
            if st:
                st['open'] = False
                if st['top_plan'] is not None and st['top_count'] != st['top_plan']:
                    self.record('FAIL', '%s/plan' % kv['suite'], '%d results for a plan of %d'
                                % (st['top_count'], st['top_plan']))
        elif body.startswith('check '):
            # A check made by an init script: "check status=PASS|FAIL
            # name=SUITE/WHAT detail..."
            detail = re.sub(r'^check (\w+=\S+\s*){2}', '', body)
            self.result(kv.get('status', 'FAIL'), kv.get('name', '?'), detail)
        elif body.startswith('host-check '):
            self.host_check(kv)
        elif body == 'done' and source in ('dom0', 'guest'):
            self.done = True
            self.enter('poweroff', 60)

    # --- the host side of a passed-through ivshmem device ---
    def host_check(self, kv):
        """A guest wrote PT_WORDS words of its pattern to BAR2 of the
        passed-through ivshmem at PT_GUEST_OFF: check them in the host's
        backing file, from outside QEMU, then write the host's pattern at
        PT_HOST_OFF for the guest to read back (pt_dev.h has both)."""
        suite = kv.get('suite', '?')
        name = '%s/host/ivshmem-guest-write-in-host-file' % suite
        print('[harness] host-check of %s at %.1fs' % (suite, time.monotonic() - self.t0), flush=True)
        path = self.args.ivshmem_file
        try:
            nonce = int(kv['nonce'], 0) & 0xffffffff
        except (KeyError, ValueError):
            self.result('FAIL', name, 'malformed host-check marker')
            return
        if not path:
            self.result('FAIL', name, 'this run has no --ivshmem-file')
            return
        with open(path, 'r+b') as f:
            f.seek(PT_GUEST_OFF)
            got = struct.unpack('<%dI' % PT_WORDS, f.read(4 * PT_WORDS))
            want = tuple(pt_pattern(nonce, i, 0) for i in range(PT_WORDS))
            bad = [i for i in range(PT_WORDS) if got[i] != want[i]]
            if bad:
                i = bad[0]
                self.result('FAIL', name, '%d of %d words differ, first at %#x: %#010x, want %#010x'
                            % (len(bad), PT_WORDS, PT_GUEST_OFF + 4 * i, got[i], want[i]))
            else:
                self.result('PASS', name, '%d words at %#x match nonce %#x'
                            % (PT_WORDS, PT_GUEST_OFF, nonce))
            f.seek(PT_HOST_OFF)
            f.write(struct.pack('<%dI' % PT_WORDS,
                                *(pt_pattern(nonce, i, 1) for i in range(PT_WORDS))))
            f.flush()

    # What a machine that stopped making progress is doing, asked through
    # the serial console, which keeps working while dom0's userspace (and
    # with it every guest's console) may not: dom0's kernel takes a sysrq
    # after ^O (hvc), and ^A three times gives the input to Xen, whose
    # debug keys show each domain's vCPUs (q: running, blocked, waiting for
    # an event), the run queues and the registers of dom0's vCPUs and of
    # whatever each CPU runs.
    HANG_KEYS = ((b'\x0fw', "dom0's blocked tasks (sysrq w)"),
                 (b'\x0fl', "dom0's CPUs (sysrq l)"),
                 (b'\x01\x01\x01', 'serial input to Xen'),
                 (b'q', "Xen: domains and vCPUs (key q)"),
                 (b'r', "Xen: run queues (key r)"),
                 (b'0', "Xen: dom0's registers (key 0)"),
                 (b'd', "Xen: each CPU's registers (key d)"))

    def hang_dump(self, proc, fd, log, lines=600, keep=1 << 20):
        print('[harness] %s: the machine made no progress: what it says to %s'
              % (self.args.name, ', '.join(w for _, w in self.HANG_KEYS)), flush=True)
        out = b''
        for keys, _ in self.HANG_KEYS:
            try:
                proc.stdin.write(keys)
                proc.stdin.flush()
            except OSError:
                break
            # until 2 s without output, 15 s at most
            end = time.monotonic() + 15
            quiet = time.monotonic() + 2
            while time.monotonic() < min(end, quiet):
                r, _, _ = select.select([fd], [], [], 0.2)
                if not r:
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                if len(out) < keep:
                    out += chunk
                if log:
                    log.write(chunk.decode('utf-8', 'replace'))
                    log.flush()
                quiet = time.monotonic() + 2
        text = out.decode('utf-8', 'replace').replace('\r', '').splitlines()
        if len(text) > lines:
            print('    | (%d lines, the first %d; all in the log)' % (len(text), lines))
        print('\n'.join('    | ' + t for t in text[:lines]), flush=True)

    # --- main loop ---
    def run(self):
        a = self.args
        log = open(a.log, 'w') if a.log else None
        # Xen's serial console takes input: hang_dump() types into it.
        proc = subprocess.Popen(a.qemu, stdout=subprocess.PIPE,
                                stdin=subprocess.PIPE if a.mode == 'xen' else subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.qemu_pid = proc.pid
        # A harness that is stopped takes its QEMU with it.
        def stop(signum, _frame):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.record('FAIL', '%s/harness' % a.name, 'stopped by signal %d in stage %s'
                        % (signum, self.stage))
            sys.exit(128 + signum)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, stop)
        fd = proc.stdout.fileno()
        buf = b''
        hard_end = time.monotonic() + a.total_limit
        cpu_look = 0
        reason = None
        while True:
            now = time.monotonic()
            if now > self.deadline:
                reason = ('stage %s' % self.stage,
                          'no progress within its limit of %ds' % round(self.deadline - self.stage_start))
                break
            if now > hard_end:
                reason = ('stage %s' % self.stage, 'whole run exceeded %ds' % a.total_limit)
                break
            r, _, _ = select.select([fd], [], [], 1.0)
            if now - cpu_look >= 1:
                cpu_look = now
                self.qemu_cpu()
            if not r:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                proc.wait()
                break
            if log:
                log.write(chunk.decode('utf-8', 'replace'))
                log.flush()
            buf += chunk
            while b'\n' in buf:
                ln, buf = buf.split(b'\n', 1)
                self.line(ln.decode('utf-8', 'replace'))
        if buf:
            self.line(buf.decode('utf-8', 'replace'))
        if reason and a.mode == 'xen' and not a.expect_stage_failure and proc.poll() is None:
            try:
                self.hang_dump(proc, fd, log)
            except (OSError, ValueError) as e:     # the dump is a bonus
                print('[harness] %s: the hang dump failed: %s' % (a.name, e), flush=True)
        # What the run's time went to, per guest or suite (stages are named
        # SUITE-what), largest first; then each stage of 5 s or more with
        # the host CPU QEMU used in it (200% = both vCPUs busy throughout:
        # below that, the machine waited).
        cpu_end = self.qemu_cpu()
        self.stage_times.append((self.stage, time.monotonic() - self.stage_start,
                                 cpu_end - self.stage_cpu))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            log.close()
        cost = {}
        for st, sec, _ in self.stage_times:
            key = re.sub(r'-(create|serve|boot|up|run|selftests|benchmark|shutdown|demo)$', '', st)
            cost[key] = cost.get(key, 0) + sec
        print('[harness] %s: %ds, per suite: %s' % (
            a.name, time.monotonic() - self.t0,
            ', '.join('%s %ds' % kv for kv in sorted(cost.items(), key=lambda kv: -kv[1]))),
            flush=True)
        wall = sum(sec for _, sec, _ in self.stage_times)
        cpu = sum(c for _, _, c in self.stage_times)
        print('[harness] %s: stages (s, QEMU CPU): %s; all %ds, %d%%' % (
            a.name, ', '.join('%s %ds %d%%' % (st, sec, 100 * c / sec)
                              for st, sec, c in self.stage_times if sec >= 5),
            wall, 100 * cpu / wall if wall else 0), flush=True)
        # Where to cut first: the slowest subtests (time since the result
        # before it in the same program, so setup counts too).
        slow = sorted(self.test_times, reverse=True)[:self.args.slowest]
        if slow:
            print('[harness] %s: slowest tests: %s' % (
                a.name, ', '.join('%s %ds' % (n, s) for s, n in slow)), flush=True)

        if reason:
            self.stage_failed(self.stage, reason[1])
        elif not self.done:
            self.stage_failed(self.stage, 'QEMU exited (status %s) before the guest said done'
                              % proc.returncode)
        for s in self.expect.suites:
            st = self.suites.get(s)
            if st is None:
                self.record('FAIL', '%s/results' % s, 'suite never started')
            elif st['open']:
                self.record('FAIL', '%s/results' % s, 'suite did not finish')
            elif st['count'] == 0:
                self.record('FAIL', '%s/results' % s, 'suite reported no results')
        if self.trouble:
            self.record('FAIL', '%s/console' % a.name,
                        'kernel or Xen reported trouble: ' + ' | '.join(self.trouble[:5]))
        elif not self.booted:
            self.record('FAIL', '%s/console' % a.name, 'the machine never booted: %s'
                        % ' | '.join(t for _, t in self.lines[-5:]))
        else:
            self.record('PASS', '%s/console' % a.name, 'no oops, KASAN, lockdep or Xen crash')
        self.finish()


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--name', required=True, help='run name, prefixes some results')
    p.add_argument('--mode', choices=['xen', 'bare'], required=True)
    p.add_argument('--results', help='append result lines to this file')
    p.add_argument('--log', help='write the whole console here')
    p.add_argument('--expect-stage-failure',
                   help='the run must fail at this stage (harness self-test)')
    p.add_argument('--expect-as', help='take the expectations of this run')
    p.add_argument('--print-guests', action='store_true',
                   help="print the run's guests from the table (a,b,...) and exit")
    p.add_argument('--expect', default=os.path.join(TB_ROOT, 'expected'),
                   help='the expectations table (rows of this --name apply)')
    p.add_argument('--kunit', action='store_true',
                   help='count the KUnit results of the kernel log')
    p.add_argument('--kernel-limit', type=int, default=180)
    p.add_argument('--default-limit', type=int, default=60)
    p.add_argument('--program-limit', type=int, default=1200,
                   help="a selftest program's own time limit (its settings file)")
    p.add_argument('--slowest', type=int, default=20,
                   help='how many of the slowest tests the end of the run names')
    p.add_argument('--total-limit', type=int, default=1800)
    p.add_argument('--tail', type=int, default=40)
    p.add_argument('--echo', action='store_true', help='copy the console to stdout')
    p.add_argument('--verbose', action='store_true')
    p.add_argument('--ivshmem-file',
                   help="host file behind dom0's ivshmem device, for host-check markers")
    p.add_argument('qemu', nargs=argparse.REMAINDER, help='-- QEMU command line')
    a = p.parse_args()
    if a.qemu and a.qemu[0] == '--':
        a.qemu = a.qemu[1:]
    if a.mode == 'xen':
        a.first_stage, a.first_limit = 'xen-boot', 60
    else:
        a.first_stage, a.first_limit = 'kernel-boot', a.kernel_limit

    if a.print_guests:
        print(','.join(Expect(a.expect, a.name).guests))
        return
    selftest = a.expect_stage_failure
    results_file = a.results
    if selftest:
        a.results = None        # only the verdict below is a result
    run = Run(a)
    t0 = time.monotonic()
    try:
        run.run()
    except Exception as e:     # pylint: disable=broad-except
        import traceback
        traceback.print_exc()
        run.record('FAIL', '%s/harness' % a.name, 'harness error: %r' % e)
        # QEMU runs in a session of its own: it must not outlive us.
        if getattr(run, 'qemu_pid', None):
            try:
                os.killpg(run.qemu_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    results = run.results

    if selftest:
        # Harness self-test: the run must have failed exactly there, and fast.
        got = run.failed_stage
        verdict = ('PASS' if got == selftest else 'FAIL', '%s/detects-failed-stage' % a.name,
                   'failed at stage %s after %.0fs (expected %s)'
                   % (got, time.monotonic() - t0, selftest))
        print('%s %s  (%s)' % verdict, flush=True)
        results = [verdict]
        if results_file:
            with open(results_file, 'a') as f:
                f.write('%s\t%s\t%s\n' % verdict)
    print('[harness] %s: %.0fs' % (a.name, time.monotonic() - t0), flush=True)
    sys.exit(1 if any(r[0] == 'FAIL' for r in results) else 0)


if __name__ == '__main__':
    main()
