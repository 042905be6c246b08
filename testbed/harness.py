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
lines and printed one per line. Exit status: 0 if nothing failed.
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
# Console lines that mean a kernel is in trouble, whatever the tests say.
KERNEL_TROUBLE = re.compile(
    r'(Kernel panic|BUG: KASAN|Unable to handle kernel|Internal error: Oops|'
    r'BUG: kernel NULL pointer|rcu: INFO: rcu_sched detected stalls|'
    r'soft lockup|hung_task|possible circular locking|'
    r'sleeping function called from invalid context|kmemleak: \d+ new suspected)')
XEN_TROUBLE = re.compile(r"\(XEN\) (Panic on CPU|Assertion .* failed|Xen BUG at|Xen WARN at|FATAL)")
# Shared memory of the passed-through ivshmem (see
# tools/testing/selftests/xen-pci/pt_dev.h): where the guest, the host and
# dom0 write their patterns, and the pattern itself.
PT_GUEST_OFF, PT_HOST_OFF, PT_WORDS = 0x1000, 0x2000, 256


def pt_pattern(nonce, i, who):
    return (nonce ^ ((i + 1) * 0x9e3779b9) ^ (who * 0x5bd1e995)) & 0xffffffff


KMSG = re.compile(r'^\[\s*\d+\.\d+\] (.*)$')
KUNIT_SUBTEST = re.compile(r'^( *)# Subtest: (\S+)')
KUNIT_RESULT = re.compile(r'^( *)(not ok|ok) \d+ (\S+)(?:\s+#\s*(SKIP)(.*))?')
TAP_RESULT = re.compile(r'^(not ok|ok) (\d+) (.*?)(?:\s+#\s*(SKIP|TODO|TIMEOUT|exit=\S+)(.*))?$')


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

    # --- results ---
    def result(self, status, name, detail=''):
        self.results.append((status, name, detail))
        line = '%s %s' % (status, name)
        if detail:
            line += '  (%s)' % detail
        print(line, flush=True)

    def tail(self, source=None, n=None):
        n = n or self.args.tail
        sel = [t for s, t in self.lines if source is None or s == source or s == 'dom0']
        return '\n'.join('    | ' + t for t in sel[-n:])

    def stage_failed(self, stage, why, source=None):
        if self.failed_stage is None:
            self.failed_stage = stage
        self.result('FAIL', 'stage:%s' % stage, why)
        print('[harness] FAILED at stage %s: %s\n[harness] console tail:\n%s'
              % (stage, why, self.tail(source)), flush=True)

    # --- stages ---
    def enter(self, name, limit):
        now = time.monotonic()
        if self.args.verbose:
            print('[harness] stage %s done in %.1fs; now %s (limit %ss)'
                  % (self.stage, now - self.stage_start, name, limit), flush=True)
        self.stage, self.stage_start = name, now
        self.deadline = now + limit

    # --- TAP of one suite ---
    def tap(self, suite, text):
        st = self.suites[suite]
        if text.startswith('# selftests: '):
            st['prog'] = text[len('# selftests: '):].split(': ')[-1]
            st['sub'] = 0
            st['subfail'] = 0
            return
        nested = text.startswith('# ')
        body = text[2:] if nested else text
        m = TAP_RESULT.match(body)
        if not m:
            return
        ok, _, name, directive, rest = m.groups()
        directive = directive or ''
        rest = (rest or '').strip()
        if nested:
            if st.get('prog') is None:
                return
            st['sub'] += 1
            full = '%s/%s/%s' % (suite, st['prog'], name)
            if directive == 'SKIP':
                self.result('SKIP', full, rest or 'skipped')
            elif ok == 'ok':
                self.result('PASS', full)
            else:
                st['subfail'] += 1
                self.result('FAIL', full, rest)
            return
        # Top level: one program (or the kernel_reports check).
        if name.startswith('selftests: '):
            prog = name.split(': ')[-1]
            full = '%s/%s' % (suite, prog)
            if st.get('sub', 0) == 0:
                # No sub-results: the program itself is the test.
                if directive == 'SKIP':
                    self.result('SKIP', full, rest or 'skipped')
                elif ok == 'ok':
                    self.result('PASS', full)
                else:
                    self.result('FAIL', full, (directive + ' ' + rest).strip())
            elif ok != 'ok' and st['subfail'] == 0 and directive != 'SKIP':
                self.result('FAIL', full, 'program failed after its tests: %s %s'
                            % (directive, rest))
            st['prog'] = None
            st['sub'] = 0
        else:
            full = '%s/%s' % (suite, name)
            if directive == 'SKIP':
                self.result('SKIP', full, rest or 'skipped')
            elif ok == 'ok':
                self.result('PASS', full)
            else:
                self.result('FAIL', full, rest)
        st['count'] += 1

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

        if KERNEL_TROUBLE.search(text) or XEN_TROUBLE.search(text):
            self.trouble.append('%s: %s' % (source, text.strip()))

        if self.stage == 'xen-boot' and 'LOADING DOMAIN 0' in text:
            self.enter('dom0-boot', self.args.kernel_limit)
            return

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
                                        'prog': None, 'sub': 0, 'subfail': 0}
        elif body.startswith('end '):
            st = self.suites.get(kv['suite'])
            if st:
                st['open'] = False
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

    # --- main loop ---
    def run(self):
        a = self.args
        log = open(a.log, 'w') if a.log else None
        proc = subprocess.Popen(a.qemu, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        # A harness that is stopped takes its QEMU with it.
        def stop(signum, _frame):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            sys.exit(128 + signum)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, stop)
        fd = proc.stdout.fileno()
        buf = b''
        hard_end = time.monotonic() + a.total_limit
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
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if log:
            log.close()

        if reason:
            self.stage_failed(self.stage, reason[1])
        elif not self.done:
            self.stage_failed(self.stage, 'QEMU exited (status %s) before the guest said done'
                              % proc.returncode)
        for s in a.expect_suites:
            st = self.suites.get(s)
            if st is None:
                self.result('FAIL', '%s/results' % s, 'suite never started')
            elif st['open']:
                self.result('FAIL', '%s/results' % s, 'suite did not finish')
            elif st['count'] == 0:
                self.result('FAIL', '%s/results' % s, 'suite reported no results')
        if self.trouble:
            self.result('FAIL', '%s/console' % a.name,
                        'kernel or Xen reported trouble: ' + ' | '.join(self.trouble[:5]))
        else:
            self.result('PASS', '%s/console' % a.name, 'no oops, KASAN, lockdep or Xen crash')


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--name', required=True, help='run name, prefixes some results')
    p.add_argument('--mode', choices=['xen', 'bare'], required=True)
    p.add_argument('--results', help='append result lines to this file')
    p.add_argument('--log', help='write the whole console here')
    p.add_argument('--expect-suite', dest='expect_suites', action='append', default=[])
    p.add_argument('--expect-stage-failure',
                   help='the run must fail at this stage (harness self-test)')
    p.add_argument('--xfail', action='append', default=[],
                   help='regexp of test names expected to FAIL (control runs)')
    p.add_argument('--kunit', action='store_true',
                   help='count the KUnit results of the kernel log')
    p.add_argument('--kernel-limit', type=int, default=180)
    p.add_argument('--default-limit', type=int, default=60)
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

    run = Run(a)
    t0 = time.monotonic()
    run.run()
    results = run.results

    if a.expect_stage_failure:
        # Harness self-test: the run must have failed exactly there, and fast.
        got = run.failed_stage
        results = [('PASS' if got == a.expect_stage_failure else 'FAIL',
                    '%s/detects-failed-stage' % a.name,
                    'failed at stage %s after %.0fs (expected %s)'
                    % (got, time.monotonic() - t0, a.expect_stage_failure))]
        print('%s %s  (%s)' % results[0], flush=True)
    elif a.xfail:
        # Control run: the named tests must fail; that failure is the result.
        out = []
        for pat in a.xfail:
            hits = [r for r in results if re.search(pat, r[1])]
            fails = [r for r in hits if r[0] == 'FAIL']
            if fails:
                out.append(('PASS', '%s/expected-failure:%s' % (a.name, pat),
                            'the control failed as it must: ' + '; '.join(f[1] for f in fails)))
            else:
                out.append(('FAIL', '%s/expected-failure:%s' % (a.name, pat),
                            'the control did not fail: the test cannot tell' if hits
                            else 'no such test ran'))
        # Everything else of the control run still has to pass.
        rest = [r for r in results if not any(re.search(pat, r[1]) for pat in a.xfail)]
        results = out + rest
        for r in out:
            print('%s %s  (%s)' % r, flush=True)

    if a.results:
        with open(a.results, 'a') as f:
            for st, name, detail in results:
                f.write('%s\t%s\t%s\n' % (st, name, detail.replace('\t', ' ').replace('\n', ' ')))
    print('[harness] %s: %.0fs' % (a.name, time.monotonic() - t0), flush=True)
    sys.exit(1 if any(r[0] == 'FAIL' for r in results) else 0)


if __name__ == '__main__':
    main()
