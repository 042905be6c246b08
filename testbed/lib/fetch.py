#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Stage "download": select, download and verify the test bed's upstream inputs.

What is wanted is testbed/config/inputs; testbed/inputs.lock pins versions,
pool paths (relative to the archive) and SHA-256 sums. For every package
the candidates are tried in this order, and the first whose files all
download and verify is taken:

  1. what the current trixie index offers (a private apt configuration whose
     signed index gives the pool path and SHA-256);
  2. every locked version, newest first, fetched directly from the pool of
     the main archive and of the security archive, verified against the lock.

Each file is looked for in the download cache, then in the seed directory
($XEN_PCI_SEED, default <cache>/seed: files put there by hand from any Debian
mirror or snapshot, verified the same way), then downloaded. The archives
are the host's own (its apt sources), unless XEN_PCI_MIRROR and
XEN_PCI_SECURITY_MIRROR say otherwise.

  fetch.py fetch   select and download; writes <cache>/downloads/manifest
  fetch.py lock    rewrite the lock from the last verified selection
"""

import argparse
import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

TB_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCK_VERSIONS = 3          # versions kept per package in the lock
INDEX_MAX_AGE = 12 * 3600  # refresh the private index after this long


def log(msg):
    print('[testbed] ' + msg, file=sys.stderr, flush=True)


class FetchError(Exception):
    pass


# --- Debian version order: dpkg's own ---
def version_cmp(a, b):
    if a == b:
        return 0
    lt = subprocess.run(['dpkg', '--compare-versions', a, 'lt', b]).returncode == 0
    return -1 if lt else 1


def newest_first(versions):
    return sorted(set(versions), key=functools.cmp_to_key(version_cmp), reverse=True)


# --- what is wanted, and the lock ---
class Inputs:
    """testbed/config/inputs: roles and their packages, and version groups."""

    def __init__(self, path):
        self.roles = {}          # role -> [package, ...]
        self.prefix = {}         # package -> required version prefix
        self.groups = {}         # name -> compiled regex
        with open(path) as f:
            for ln in f:
                ln = ln.split('#', 1)[0].split()
                if not ln:
                    continue
                if ln[0] == 'group':
                    self.groups[ln[1]] = re.compile(ln[2])
                elif ln[0] == 'xen-src':
                    self.roles.setdefault('xen-src', []).append(ln[1])
                    if len(ln) > 2:
                        self.prefix[ln[1]] = ln[2]
                else:
                    self.roles.setdefault(ln[0], []).extend(ln[1:])

    def wanted(self):
        """(role, package) pairs, in the file's order, each once."""
        seen, out = set(), []
        for role, pkgs in self.roles.items():
            for p in pkgs:
                if (role, p) not in seen:
                    seen.add((role, p))
                    out.append((role, p))
        return out

    def group_of(self, pkg):
        for name, rx in self.groups.items():
            if rx.match(pkg):
                return name
        return None


class Entry:
    """One pinned file: ROLE PACKAGE VERSION POOL-PATH SHA256."""

    def __init__(self, role, pkg, version, path, sha256):
        self.role, self.pkg, self.version = role, pkg, version
        self.path, self.sha256 = path, sha256.lower()

    def line(self):
        return '%-7s %-22s %-36s %s %s' % (self.role, self.pkg, self.version,
                                          self.path, self.sha256)


def read_lock(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for n, ln in enumerate(f, 1):
            w = ln.split('#', 1)[0].split()
            if not w:
                continue
            if len(w) != 5 or not re.fullmatch(r'[0-9a-fA-F]{64}', w[4]):
                raise FetchError('%s:%d: malformed lock line: %s' % (path, n, ln.strip()))
            out.append(Entry(*w))
    return out


LOCK_HEADER = """\
# The test bed's upstream inputs, pinned and verified: the lock.
# Written by `testbed/run lock` from the last download that verified;
# read by testbed/lib/fetch.py, which tries the current index first and
# then these versions, newest first, from the pool of both archives (the
# security archive's pool is pool/updates/...).
#
# ROLE    PACKAGE                VERSION                              POOL-PATH SHA-256
# (roles: testbed/config/inputs; one line per file, so a source package
# has one line per tarball)
"""


def write_lock(path, entries):
    with open(path + '.tmp', 'w') as f:
        f.write(LOCK_HEADER)
        role = None
        for e in entries:
            if e.role != role:
                f.write('\n')
                role = e.role
            f.write(e.line() + '\n')
    os.replace(path + '.tmp', path)


# --- the host's archives ---
def host_archives(root='/'):
    """(main, security) archive URIs from the host's apt sources: the ones
    the user already trusts. Either may be None."""
    entries = []     # (uri, [suites])
    lists = [os.path.join(root, 'etc/apt/sources.list')]
    lists += sorted(glob.glob(os.path.join(root, 'etc/apt/sources.list.d/*.list')))
    for p in lists:
        try:
            text = open(p).read()
        except OSError:
            continue
        for ln in text.splitlines():
            ln = ln.split('#', 1)[0].strip()
            m = re.match(r'^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)', ln)
            if m:
                entries.append((m.group(1), [m.group(2)]))
    for p in sorted(glob.glob(os.path.join(root, 'etc/apt/sources.list.d/*.sources'))):
        try:
            text = open(p).read()
        except OSError:
            continue
        for st in parse_stanzas(text):
            if st.get('Enabled', 'yes').lower() == 'no':
                continue
            if 'deb' not in st.get('Types', '').split():
                continue
            for uri in st.get('URIs', '').split():
                entries.append((uri, st.get('Suites', '').split()))
    main = sec = None
    for uri, suites in entries:
        uri = re.sub(r'^mirror\+', '', uri).rstrip('/')
        if not re.match(r'^(https?|file)://', uri):
            continue
        if any(s.endswith('-security') or s.endswith('/updates') for s in suites):
            sec = sec or uri
        elif suites:
            main = main or uri
    return main, sec


def parse_stanzas(text):
    """deb822 paragraphs as dicts; continuation lines joined with newlines."""
    out, cur, key = [], {}, None
    for ln in text.splitlines():
        if ln.startswith('#'):
            continue
        if not ln.strip():
            if cur:
                out.append(cur)
            cur, key = {}, None
            continue
        if ln[0] in ' \t' and key:
            cur[key] += '\n' + ln.strip()
            continue
        k, _, v = ln.partition(':')
        key = k.strip()
        cur[key] = v.strip()
    if cur:
        out.append(cur)
    return out


# --- the current index ---
class AptIndex:
    """trixie's signed index, through a private apt configuration under the
    cache (the host's apt state is never touched)."""

    def __init__(self, aptdir, main, sec, suites, sec_suites):
        self.aptdir = aptdir
        self.ok = False
        if not main and not sec:
            log('note: the host has no Debian archive in its apt sources; index skipped')
            return
        for d in ('lists/partial', 'cache/archives/partial', 'etc/sources.list.d',
                  'etc/preferences.d'):
            os.makedirs(os.path.join(aptdir, d), exist_ok=True)
        open(os.path.join(aptdir, 'status.empty'), 'w').close()
        with open(os.path.join(aptdir, 'etc/sources.list'), 'w') as f:
            for s in suites if main else []:
                f.write('deb [arch=arm64] %s %s main\ndeb-src %s %s main\n' % (main, s, main, s))
            for s in sec_suites if sec else []:
                f.write('deb [arch=arm64] %s %s main\ndeb-src %s %s main\n' % (sec, s, sec, s))
        conf = os.path.join(aptdir, 'etc/apt.conf')
        with open(conf, 'w') as f:
            f.write('\n'.join([
                'Dir::State "%s";' % aptdir,
                'Dir::State::Lists "%s/lists";' % aptdir,
                'Dir::State::status "%s/status.empty";' % aptdir,
                'Dir::Cache "%s/cache";' % aptdir,
                'Dir::Etc::SourceList "%s/etc/sources.list";' % aptdir,
                'Dir::Etc::SourceParts "%s/etc/sources.list.d";' % aptdir,
                'Dir::Etc::Preferences "%s/etc/preferences";' % aptdir,
                'Dir::Etc::PreferencesParts "%s/etc/preferences.d";' % aptdir,
                'APT::Architecture "arm64";',
                'APT::Architectures { "arm64"; };',
                'APT::Get::AllowUnauthenticated "false";',
                'Acquire::Languages "none";',
                'APT::Sandbox::User "root";', '']))
        self.env = dict(os.environ, APT_CONFIG=conf, LC_ALL='C')
        lists = glob.glob(os.path.join(aptdir, 'lists', '*Packages*'))
        fresh = any(time.time() - os.path.getmtime(p) < INDEX_MAX_AGE for p in lists)
        if not fresh:
            log('updating the private trixie package index')
            r = subprocess.run(['apt-get', 'update', '-q'], env=self.env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                log('note: apt-get update failed (%d); using the lock only:\n%s'
                    % (r.returncode, r.stdout[-1500:]))
                # Lists that failed to verify are not used.
                for p in glob.glob(os.path.join(aptdir, 'lists', '*')):
                    if os.path.isfile(p) and os.path.basename(p) != 'lock':
                        os.unlink(p)
                return
        self.ok = bool(glob.glob(os.path.join(aptdir, 'lists', '*Packages*')))

    def _run(self, *cmd):
        r = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
        return r.stdout

    def binaries(self, pkgs):
        """{package: (version, pool path, sha256)} of each package's
        candidate in the index."""
        if not self.ok or not pkgs:
            return {}
        cand, cur = {}, None
        for ln in self._run('apt-cache', 'policy', *pkgs).splitlines():
            if ln and not ln.startswith(' '):
                cur = ln.rstrip(':')
            m = re.match(r'\s+Candidate:\s+(\S+)', ln)
            if m and cur and m.group(1) != '(none)':
                cand[cur] = m.group(1)
        if not cand:
            return {}
        out = {}
        text = self._run('apt-cache', 'show', *['%s=%s' % kv for kv in cand.items()])
        for st in parse_stanzas(text):
            p, v = st.get('Package'), st.get('Version')
            if p in cand and cand[p] == v and 'Filename' in st and 'SHA256' in st:
                out.setdefault(p, (v, st['Filename'], st['SHA256']))
        return out

    def sources(self, pkg):
        """[(version, [(pool path, sha256), ...])] of a source package,
        newest first, .dsc left out."""
        if not self.ok:
            return []
        out = {}
        for st in parse_stanzas(self._run('apt-cache', 'showsrc', pkg)):
            if st.get('Package') != pkg or 'Directory' not in st:
                continue
            files = []
            for ln in st.get('Checksums-Sha256', '').splitlines():
                w = ln.split()
                if len(w) == 3 and not w[2].endswith('.dsc'):
                    files.append((st['Directory'] + '/' + w[2], w[0]))
            if files:
                out.setdefault(st['Version'], files)
        return [(v, out[v]) for v in newest_first(out)]


# --- downloads ---
def sha256_of(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


class Fetcher:
    def __init__(self, store, seed, main, sec, timeout=120):
        self.store, self.seed = store, seed
        self.main, self.sec = main, sec
        self.timeout = timeout
        os.makedirs(store, exist_ok=True)

    def urls(self, path):
        """Where a pool path may be: the main archive's pool/..., the
        security archive's pool/updates/... (the path's own archive first)."""
        if path.startswith('pool/updates/'):
            own = [(self.sec, path), (self.main, 'pool/' + path[len('pool/updates/'):])]
        else:
            own = [(self.main, path), (self.sec, 'pool/updates/' + path[len('pool/'):])]
        return ['%s/%s' % (base, p) for base, p in own if base]

    def get(self, path, sha, tried):
        """Local path of a verified copy of the pool file PATH, or None.
        Every place tried is appended to TRIED as (where, outcome)."""
        name = os.path.basename(path)
        dest = os.path.join(self.store, name)
        if os.path.exists(dest):
            if sha256_of(dest) == sha:
                return dest, 'cache'
            os.unlink(dest)
        seeded = os.path.join(self.seed, name) if self.seed else None
        if seeded and os.path.exists(seeded):
            got = sha256_of(seeded)
            if got == sha:
                shutil.copyfile(seeded, dest + '.part')
                os.replace(dest + '.part', dest)
                return dest, 'seed'
            tried.append((seeded, 'SHA-256 mismatch: %s, want %s' % (got, sha)))
            log('REFUSED %s: SHA-256 %s does not match %s' % (seeded, got, sha))
        elif seeded:
            tried.append((seeded, 'not in the seed directory'))
        for url in self.urls(path):
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as r, \
                        open(dest + '.part', 'wb') as f:
                    h = hashlib.sha256()
                    for chunk in iter(lambda: r.read(1 << 20), b''):
                        h.update(chunk)
                        f.write(chunk)
                got = h.hexdigest()
            except (urllib.error.URLError, OSError, ValueError) as e:
                why = getattr(e, 'code', None) or getattr(e, 'reason', None) or e
                tried.append((url, str(why)))
                continue
            if got != sha:
                os.unlink(dest + '.part')
                tried.append((url, 'SHA-256 mismatch: %s, want %s' % (got, sha)))
                log('REFUSED %s: SHA-256 %s does not match %s' % (url, got, sha))
                continue
            os.replace(dest + '.part', dest)
            return dest, url
        return None, None


class Selected:
    def __init__(self, role, pkg, version, files, how, why):
        self.role, self.pkg, self.version = role, pkg, version
        self.files = files         # [(pool path, sha256, local path)]
        self.how, self.why = how, why


def candidates(role, pkg, idx_bin, idx_src, lock, prefix=None, lock_only=False):
    """[(version, [(path, sha)], how)] in the order to try them."""
    out = []
    if not lock_only:
        if role == 'xen-src':
            for v, files in idx_src.get(pkg, []):
                if prefix and not v.startswith(prefix):
                    continue
                out.append((v, files, 'index'))
        elif pkg in idx_bin:
            v, path, sha = idx_bin[pkg]
            out.append((v, [(path, sha)], 'index'))
    locked = {}
    for e in lock:
        if e.role == role and e.pkg == pkg:
            locked.setdefault(e.version, []).append((e.path, e.sha256))
    for v in newest_first(locked):
        if any(v == o[0] and sorted(locked[v]) == sorted(o[1]) for o in out):
            continue
        out.append((v, locked[v], 'lock'))
    return out


def select_one(fetcher, role, pkg, cands, report):
    tried_versions = []
    for v, files, how in cands:
        tried = []
        got = []
        for path, sha in files:
            local, where = fetcher.get(path, sha, tried)
            if not local:
                break
            got.append((path, sha, local, where))
        if len(got) == len(files):
            where = sorted({g[3] for g in got})
            why = 'the current index' if how == 'index' else 'the lock'
            if tried_versions:
                why += ' (%s not served whole)' % ', '.join(
                    '%s %s' % ('the index\'s' if th == 'index' else 'locked', tv)
                    for tv, th, _ in tried_versions)
            report('%s %s %s from %s, verified; files from %s'
                   % (role, pkg, v, why, ', '.join(w if w in ('cache', 'seed') else 'the mirror'
                                                  for w in where)))
            return Selected(role, pkg, v, [g[:3] for g in got], how, why)
        if how == 'index':
            log('note: %s %s (current index) is not served whole, trying the lock' % (pkg, v))
        else:
            log('note: locked %s %s is not served whole' % (pkg, v))
        tried_versions.append((v, how, tried))
    lines = ['no verified %s %s could be had; tried:' % (role, pkg)]
    if not cands:
        lines.append('  (no version: not in the index, not in the lock)')
    for v, how, tried in tried_versions:
        lines.append('  %s %s (%s):' % (pkg, v, 'current index' if how == 'index' else 'locked'))
        for where, outcome in tried:
            lines.append('    %s: %s' % (where, outcome))
    raise FetchError('\n'.join(lines))


def seed_help(seed, lock_path):
    return ('To seed the cache by hand: download the files named above (any one\n'
            'version of each) from any Debian mirror or from a snapshot archive\n'
            '(the pool paths are the same), put them in %s (or point\n'
            'XEN_PCI_SEED at a folder holding them) and run again. They are\n'
            'verified against %s or the signed index, as downloads are.'
            % (seed, lock_path))


def select_all(inputs, lock, fetcher, idx_bin, idx_src, report=log):
    """Select every wanted input; versions of a group agree. Raises
    FetchError naming everything tried."""
    chosen, errors = {}, {}
    for role, pkg in inputs.wanted():
        c = candidates(role, pkg, idx_bin, idx_src, lock, inputs.prefix.get(pkg))
        try:
            chosen[(role, pkg)] = select_one(fetcher, role, pkg, c, report)
        except FetchError as e:
            errors[(role, pkg)] = str(e)
    # Packages built from one source at one version: if they disagree (one
    # fell back to the lock), take the newest locked version all of them have.
    for g in inputs.groups:
        members = [k for k in chosen if inputs.group_of(k[1]) == g]
        members += [(r, p) for r, p in inputs.wanted()
                    if inputs.group_of(p) == g and (r, p) not in chosen]
        versions = {chosen[k].version for k in members if k in chosen}
        if len(versions) <= 1 and all(k in chosen for k in members):
            continue
        log('note: group %s came at versions %s: taking one locked version for all'
            % (g, ', '.join(sorted(versions)) or 'none'))
        common = None
        for k in members:
            vs = {e.version for e in lock if (e.role, e.pkg) == k}
            common = vs if common is None else common & vs
        done = False
        for v in newest_first(common or []):
            try:
                picked = {}
                for r, p in members:
                    c = [x for x in candidates(r, p, {}, {}, lock, lock_only=True) if x[0] == v]
                    picked[(r, p)] = select_one(fetcher, r, p, c, report)
                chosen.update(picked)
                for k in members:
                    errors.pop(k, None)
                done = True
                break
            except FetchError as e:
                log('note: group %s at %s: %s' % (g, v, str(e).splitlines()[0]))
        if not done:
            errors[('group', g)] = ('group %s: no locked version common to %s could be had'
                                    % (g, ' '.join(p for _, p in members)))
    if errors:
        raise FetchError('\n'.join(errors.values()))
    return [chosen[k] for k in inputs.wanted()]


# --- what the build stages read ---
def write_views(dl, selection):
    """manifest, selected.lock, *.version, and symlink folders per role."""
    with open(os.path.join(dl, 'manifest.tmp'), 'w') as m:
        for s in selection:
            for path, sha, local in s.files:
                m.write('%s %s %s %s %s %s %s\n' % (s.role, s.pkg, s.version, path, sha,
                                                    local, s.how))
    os.replace(os.path.join(dl, 'manifest.tmp'), os.path.join(dl, 'manifest'))
    for role in ('kernel', 'xen-src', 'domU', 'dom0', 'dev'):
        d = os.path.join(dl, role)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for s in selection:
            if s.role == role:
                for _, _, local in s.files:
                    os.symlink(local, os.path.join(d, os.path.basename(local)))
    for s in selection:
        if s.role == 'kernel':
            open(os.path.join(dl, 'linux.version'), 'w').write(s.version + '\n')
        if s.role == 'xen-src':
            open(os.path.join(dl, 'xen.version'), 'w').write(s.version + '\n')
    tools = [s for s in selection if s.pkg.startswith('xen-utils-4')]
    if tools:
        open(os.path.join(dl, 'xen-tools.version'), 'w').write(tools[0].version + '\n')


def read_manifest(dl):
    out = []
    with open(os.path.join(dl, 'manifest')) as f:
        for ln in f:
            w = ln.split()
            if len(w) >= 5:
                out.append(Entry(*w[:5]))
    return out


def new_lock(inputs, old, fetched):
    """The fetched versions first, then older locked ones (at most
    LOCK_VERSIONS per package); packages no longer wanted are dropped."""
    out = []
    for role, pkg in sorted(inputs.wanted(), key=lambda k: (
            ['kernel', 'xen-src', 'domU', 'dom0', 'dev'].index(k[0])
            if k[0] in ('kernel', 'xen-src', 'domU', 'dom0', 'dev') else 9, k[1])):
        mine = [e for e in fetched if (e.role, e.pkg) == (role, pkg)]
        versions = []
        for e in mine + old:
            if (e.role, e.pkg) == (role, pkg) and e.version not in versions:
                versions.append(e.version)
        for v in versions[:LOCK_VERSIONS]:
            src = mine if v in [e.version for e in mine] else old
            out += [e for e in src if (e.role, e.pkg, e.version) == (role, pkg, v)]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('what', choices=['fetch', 'lock'])
    ap.add_argument('--cache', required=True)
    ap.add_argument('--inputs', default=os.path.join(TB_ROOT, 'config/inputs'))
    ap.add_argument('--lock', default=os.path.join(TB_ROOT, 'inputs.lock'))
    a = ap.parse_args()
    dl = os.path.join(a.cache, 'downloads')
    os.makedirs(dl, exist_ok=True)
    inputs = Inputs(a.inputs)
    lock = read_lock(a.lock)

    if a.what == 'lock':
        if not os.path.exists(os.path.join(dl, 'manifest')):
            raise SystemExit('[testbed] nothing fetched yet: run the download stage first')
        fetched = read_manifest(dl)
        write_lock(a.lock, new_lock(inputs, lock, fetched))
        log('lock rewritten: %s (%d files)' % (a.lock, len(read_lock(a.lock))))
        return

    main_uri, sec_uri = host_archives()
    main_uri = os.environ.get('XEN_PCI_MIRROR', main_uri)
    sec_uri = os.environ.get('XEN_PCI_SECURITY_MIRROR', sec_uri)
    log('archives (from the host apt sources): %s, %s' % (main_uri, sec_uri))
    seed = os.environ.get('XEN_PCI_SEED', os.path.join(a.cache, 'seed'))
    idx_bin, idx_src = {}, {}
    if os.environ.get('XEN_PCI_OFFLINE') != '1':
        idx = AptIndex(os.path.join(a.cache, 'apt'), main_uri, sec_uri,
                       os.environ.get('TRIXIE_SUITES', 'trixie trixie-updates').split(),
                       os.environ.get('TRIXIE_SECURITY', 'trixie-security').split())
        idx_bin = idx.binaries([p for r, p in inputs.wanted() if r != 'xen-src'])
        idx_src = {p: idx.sources(p) for p in inputs.roles.get('xen-src', [])}
    fetcher = Fetcher(os.path.join(dl, 'pool'), seed, main_uri, sec_uri)
    lines = []

    def report(msg):
        lines.append(msg)

    try:
        sel = select_all(inputs, lock, fetcher, idx_bin, idx_src, report)
    except FetchError as e:
        print('[testbed] FAILED at stage download: %s\n%s' % (e, seed_help(seed, a.lock)),
              file=sys.stderr, flush=True)
        sys.exit(1)
    write_views(dl, sel)
    with open(os.path.join(dl, 'selection.log'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    for s in sel:
        if s.role in ('kernel', 'xen-src') or s.how != 'index':
            log('took %s %s %s from %s' % (s.role, s.pkg, s.version, s.why))
    n_lock = sum(1 for s in sel if s.how == 'lock')
    log('inputs: linux-source-6.12 %s, xen %s, %d arm64 packages (%d from the index, '
        '%d from the lock); details: %s'
        % (open(os.path.join(dl, 'linux.version')).read().strip(),
           open(os.path.join(dl, 'xen.version')).read().strip(),
           sum(1 for s in sel if s.role in ('domU', 'dom0', 'dev')),
           len(sel) - n_lock, n_lock, os.path.join(dl, 'selection.log')))


if __name__ == '__main__':
    main()
