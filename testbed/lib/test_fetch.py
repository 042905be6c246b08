#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Offline test of the download stage's selection logic (fetch.py).

Each case writes a small archive of its own (a main pool and a security pool
under a temporary folder, reached through file:// URLs), a lock and an index
(a stub of the signed index: what apt-cache would say), then runs the real
selection, download and verification code against them. No network.

  test_fetch.py [--results FILE]   one PASS/FAIL line per case
"""

import argparse
import hashlib
import os
import sys
import tempfile
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fetch  # noqa: E402

INPUTS = """\
kernel   linux-source-6.12
xen-src  xen 4.20.
domU     busybox-static
dom0     xen-utils-4.20 libxenctrl4.20
group xen-tools ^(xen-utils-4\\.20|libxen.*)$
"""


class Archive:
    """A file-based archive: main/pool/... and security/pool/updates/..."""

    def __init__(self, root):
        self.root = root
        self.main = os.path.join(root, 'main')
        self.sec = os.path.join(root, 'security')
        self.lock = []
        self.idx_bin, self.idx_src = {}, {}

    def put(self, where, path, data):
        full = os.path.join(self.main if where == 'main' else self.sec, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'wb') as f:
            f.write(data)
        return hashlib.sha256(data).hexdigest()

    def deb(self, role, pkg, version, where='main', index=False, lock=False, data=None,
            served=True):
        """A binary package file; listed in the index and/or the lock."""
        data = data or ('%s %s' % (pkg, version)).encode()
        pool = 'pool/main/x/%s/%s_%s_arm64.deb' % (pkg, pkg, version)
        path = pool if where == 'main' else 'pool/updates/' + pool[len('pool/'):]
        sha = hashlib.sha256(data).hexdigest()
        if served:
            self.put(where, path, data)
        if index:
            self.idx_bin[pkg] = (version, path, sha)
        if lock:
            self.lock.append(fetch.Entry(role, pkg, version, path, sha))
        return path, sha

    def src(self, version, index=False, lock=False, served=True):
        files = []
        for ext in ('orig.tar.xz', 'debian.tar.xz'):
            data = ('xen %s %s' % (version, ext)).encode()
            path = 'pool/main/x/xen/xen_%s.%s' % (version, ext)
            if served:
                self.put('main', path, data)
            files.append((path, hashlib.sha256(data).hexdigest()))
        if index:
            self.idx_src.setdefault('xen', []).append((version, files))
        if lock:
            for p, s in files:
                self.lock.append(fetch.Entry('xen-src', 'xen', version, p, s))

    def select(self, seed=None):
        cfg = os.path.join(self.root, 'inputs')
        with open(cfg, 'w') as f:
            f.write(INPUTS)
        inputs = fetch.Inputs(cfg)
        fetcher = fetch.Fetcher(os.path.join(self.root, 'store'), seed,
                                'file://' + self.main, 'file://' + self.sec)
        said = []
        sel = fetch.select_all(inputs, self.lock, fetcher, self.idx_bin, self.idx_src,
                               report=said.append)
        return {s.pkg: s for s in sel}, said


def base(a, kernel_index=True, xen_index=True):
    """Everything served from the index, with older locked versions too."""
    a.deb('kernel', 'linux-source-6.12', '6.12.118-1', where='security', index=kernel_index,
          lock=not kernel_index)
    a.deb('kernel', 'linux-source-6.12', '6.12.117-1', lock=True)
    a.src('4.20.3+127-g1-0+deb13u1', lock=True)
    if xen_index:
        a.src('4.20.4+63-g2-0+deb13u1', index=True)
    a.deb('domU', 'busybox-static', '1:1.37.0-6', index=True, lock=True)
    for p in ('xen-utils-4.20', 'libxenctrl4.20'):
        a.deb('dom0', p, '4.20.4+63-g2-0+deb13u1', index=True)
        a.deb('dom0', p, '4.20.3+127-g1-0+deb13u1', lock=True)


def case_current_index_taken(a):
    base(a)
    sel, _ = a.select()
    assert sel['linux-source-6.12'].version == '6.12.118-1', sel['linux-source-6.12'].version
    assert sel['linux-source-6.12'].how == 'index'
    assert sel['xen'].version == '4.20.4+63-g2-0+deb13u1' and sel['xen'].how == 'index'
    assert sel['xen-utils-4.20'].how == 'index'
    # The security archive's pool served the kernel (pool/updates/...).
    assert sel['linux-source-6.12'].files[0][0].startswith('pool/updates/')


def case_current_missing_lock_taken(a):
    # The index lists xen 4.20.4, whose tarballs the pool does not serve
    # (the 404 of November 2026): the locked 4.20.3 is taken.
    a.src('4.20.4+63-g2-0+deb13u1', index=True, served=False)
    a.src('4.20.3+127-g1-0+deb13u1', lock=True)
    a.deb('kernel', 'linux-source-6.12', '6.12.118-1', index=True, served=False)
    a.deb('kernel', 'linux-source-6.12', '6.12.117-1', lock=True)
    a.deb('domU', 'busybox-static', '1:1.37.0-6', index=True)
    for p in ('xen-utils-4.20', 'libxenctrl4.20'):
        a.deb('dom0', p, '4.20.3+127-g1-0+deb13u1', index=True, lock=True)
    sel, said = a.select()
    assert sel['xen'].version == '4.20.3+127-g1-0+deb13u1', sel['xen'].version
    assert sel['xen'].how == 'lock'
    assert sel['linux-source-6.12'].version == '6.12.117-1' and \
        sel['linux-source-6.12'].how == 'lock'
    assert any('xen 4.20.3' in s and 'the lock' in s for s in said), said


def case_locked_from_other_archive(a):
    # Locked with its main-pool path, the file is only left in the security
    # archive's pool: found there.
    path, sha = a.deb('kernel', 'linux-source-6.12', '6.12.110-1', where='security')
    a.lock.append(fetch.Entry('kernel', 'linux-source-6.12', '6.12.110-1',
                              'pool/' + path[len('pool/updates/'):], sha))
    a.src('4.20.3+127-g1-0+deb13u1', lock=True)
    a.deb('domU', 'busybox-static', '1:1.37.0-6', lock=True)
    for p in ('xen-utils-4.20', 'libxenctrl4.20'):
        a.deb('dom0', p, '4.20.3+127-g1-0+deb13u1', lock=True)
    sel, _ = a.select()
    assert sel['linux-source-6.12'].version == '6.12.110-1'


def case_hash_mismatch_refused(a):
    # The pool serves a file whose content is not what the lock says: it is
    # refused with a message naming both sums, and nothing else is there.
    base(a, kernel_index=False)
    bad = os.path.join(a.main, 'pool/main/x/linux-source-6.12/'
                       'linux-source-6.12_6.12.117-1_arm64.deb')
    with open(bad, 'wb') as f:
        f.write(b'tampered')
    os.unlink(os.path.join(a.sec, 'pool/updates/main/x/linux-source-6.12/'
                           'linux-source-6.12_6.12.118-1_arm64.deb'))
    try:
        a.select()
    except fetch.FetchError as e:
        msg = str(e)
        assert 'SHA-256 mismatch' in msg and fetch.sha256_of(bad) in msg, msg
        assert 'linux-source-6.12 6.12.117-1 (locked)' in msg, msg
        assert not os.path.exists(os.path.join(a.root, 'store',
                                               os.path.basename(bad))), 'refused file kept'
        return
    raise AssertionError('a file with the wrong SHA-256 was accepted')


def case_group_falls_back_together(a):
    # One of the Xen tools is not served at the index's version: the whole
    # group falls back to one locked version.
    base(a)
    os.unlink(os.path.join(a.main, 'pool/main/x/libxenctrl4.20/'
                           'libxenctrl4.20_4.20.4+63-g2-0+deb13u1_arm64.deb'))
    sel, _ = a.select()
    assert sel['xen-utils-4.20'].version == sel['libxenctrl4.20'].version == \
        '4.20.3+127-g1-0+deb13u1', (sel['xen-utils-4.20'].version,
                                    sel['libxenctrl4.20'].version)


def case_seed_used_and_verified(a):
    # Nothing is served; the lock's files were put in the seed folder by
    # hand: taken, after verification. A wrong seed file is refused.
    base(a, kernel_index=False, xen_index=False)
    seed = os.path.join(a.root, 'seed')
    os.rename(a.main, seed + '.main')
    os.rename(a.sec, seed + '.sec')
    os.makedirs(seed)
    for top in (seed + '.main', seed + '.sec'):
        for d, _, files in os.walk(top):
            for f in files:
                os.rename(os.path.join(d, f), os.path.join(seed, f))
    a.idx_bin = {}
    with open(os.path.join(seed, 'busybox-static_1:1.37.0-6_arm64.deb'), 'wb') as f:
        f.write(b'not busybox')
    try:
        a.select(seed=seed)
    except fetch.FetchError as e:
        assert 'busybox-static' in str(e) and 'SHA-256 mismatch' in str(e), str(e)
    else:
        raise AssertionError('a wrong seed file was accepted')
    a.deb('domU', 'busybox-static', '1:1.37.0-6')      # the right content
    os.rename(os.path.join(a.main, 'pool/main/x/busybox-static/'
                           'busybox-static_1:1.37.0-6_arm64.deb'),
              os.path.join(seed, 'busybox-static_1:1.37.0-6_arm64.deb'))
    sel, said = a.select(seed=seed)
    assert sel['linux-source-6.12'].version == '6.12.118-1'
    assert any('from seed' in s for s in said), said


def case_nothing_available(a):
    # Neither the index's nor the locked version is served: the error names
    # every version and URL tried and says how to seed the cache.
    a.src('4.20.4+63-g2-0+deb13u1', index=True, served=False)
    a.src('4.20.3+127-g1-0+deb13u1', lock=True, served=False)
    a.deb('kernel', 'linux-source-6.12', '6.12.118-1', index=True)
    a.deb('domU', 'busybox-static', '1:1.37.0-6', index=True)
    for p in ('xen-utils-4.20', 'libxenctrl4.20'):
        a.deb('dom0', p, '4.20.3+127-g1-0+deb13u1', index=True)
    try:
        a.select(seed=os.path.join(a.root, 'seed'))
    except fetch.FetchError as e:
        msg = str(e) + '\n' + fetch.seed_help(os.path.join(a.root, 'seed'), 'inputs.lock')
        for want in ('xen 4.20.4+63-g2-0+deb13u1 (current index)',
                     'xen 4.20.3+127-g1-0+deb13u1 (locked)',
                     'file://%s/pool/main/x/xen/xen_4.20.3+127-g1-0+deb13u1.orig.tar.xz'
                     % a.main,
                     'file://%s/pool/updates/main/x/xen/xen_4.20.3+127-g1-0+deb13u1.orig.tar.xz'
                     % a.sec,
                     'not in the seed directory', 'To seed the cache by hand',
                     'XEN_PCI_SEED'):
            assert want in msg, 'missing %r in:\n%s' % (want, msg)
        return
    raise AssertionError('selection succeeded with nothing served')


def case_lock_rewrite(a):
    # `testbed/run lock`: the fetched version first, older ones kept, at
    # most LOCK_VERSIONS each, packages no longer wanted dropped.
    cfg = os.path.join(a.root, 'inputs')
    with open(cfg, 'w') as f:
        f.write(INPUTS)
    inputs = fetch.Inputs(cfg)
    old = [fetch.Entry('domU', 'busybox-static', v, 'pool/main/b/bb_%s.deb' % v, '0' * 64)
           for v in ('1:1.36-1', '1:1.35-1', '1:1.34-1')]
    old.append(fetch.Entry('domU', 'gone', '1', 'pool/main/g/gone.deb', '1' * 64))
    new = [fetch.Entry('domU', 'busybox-static', '1:1.37.0-6', 'pool/main/b/bb.deb', '2' * 64)]
    out = fetch.new_lock(inputs, old, new)
    vs = [e.version for e in out if e.pkg == 'busybox-static']
    assert vs == ['1:1.37.0-6', '1:1.36-1', '1:1.35-1'], vs
    assert not [e for e in out if e.pkg == 'gone']
    path = os.path.join(a.root, 'lock')
    fetch.write_lock(path, out)
    back = fetch.read_lock(path)
    assert [(e.pkg, e.version, e.sha256) for e in back] == \
        [(e.pkg, e.version, e.sha256) for e in out]


def case_host_archives(a):
    # The mirror comes from the host's apt sources, both formats.
    etc = os.path.join(a.root, 'etc/apt/sources.list.d')
    os.makedirs(etc)
    with open(os.path.join(a.root, 'etc/apt/sources.list'), 'w') as f:
        f.write('# deb http://commented.example/debian bookworm main\n')
    with open(os.path.join(etc, 'debian.sources'), 'w') as f:
        f.write('Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm '
                'bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: '
                'http://mirror.example/debian-security\nSuites: bookworm-security\n'
                'Components: main\n')
    assert fetch.host_archives(a.root) == ('http://mirror.example/debian',
                                           'http://mirror.example/debian-security')


def case_version_order(a):
    assert fetch.newest_first(['4.20.3+127-g1-0+deb13u1', '4.20.4+63-g2-0+deb13u1',
                               '4.20.4~rc1-1']) == \
        ['4.20.4+63-g2-0+deb13u1', '4.20.4~rc1-1', '4.20.3+127-g1-0+deb13u1']
    assert fetch.version_cmp('1:1.0-1', '2.0-1') > 0
    assert fetch.version_cmp('6.12.118-1', '6.12.99-1') > 0


CASES = [(n[len('case_'):].replace('_', '-'), f) for n, f in sorted(globals().items())
         if n.startswith('case_')]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--results')
    a = ap.parse_args()
    out = open(a.results, 'a') if a.results else None
    failed = 0
    fetch.log = lambda msg: None
    for name, fn in CASES:
        with tempfile.TemporaryDirectory() as d:
            try:
                fn(Archive(d))
                st, why = 'PASS', ''
            except Exception as e:     # pylint: disable=broad-except
                st, why = 'FAIL', '%s: %s' % (type(e).__name__, str(e).replace('\n', ' | '))
                traceback.print_exc()
                failed += 1
        print('%s fetch-selection/%s%s' % (st, name, '  (%s)' % why[:500] if why else ''),
              flush=True)
        if out:
            out.write('%s\tfetch-selection/%s\t%s\n' % (st, name, why[:500]))
            out.flush()
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
