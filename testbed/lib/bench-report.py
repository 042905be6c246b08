#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the disk benchmark of a Xen run (blk_bench in domu-virtio and in
domu-bench-domd) as one table: for each disk, MB/s and IOPS as the guest
measured them, and from the counters taken before and after each figure
where its backend runs (dom0 or the driver domain: the backend's wakeups,
requests answered in the kernel and requests routed to the backend) per
I/O, over the four figures and for 4K QD1 and QD16 alone; then the ratios
(a)/(c), (a)/(b), (d)/(c), (d)/(a), (d)/(e) (the I/O threads' several
requests in flight against one at a time) and (g)/(f) (the same disk
served from a driver domain and from dom0, in one guest).

  bench-report.py LOG     (exit status 1 if the log has no benchmark, or a
                           disk of a guest's spec lacks a figure or its
                           counters; a guest that never ran has no spec,
                           and the harness fails its run)
"""

import re
import sys

KINDS = {
    'a': 'virtio-blk, ioeventfd + irqfd',
    'b': 'virtio-blk, all by request',
    'c': 'Xen PV disk, blkfront/blkback',
    'd': 'virtio-blk, MSI-X, ioeventfd + irqfd',
    'e': '(d), one request at a time',
    'f': '(d) over grants, from dom0',
    'g': '(f) from the driver domain',
}
FIGS = [('seq-read-1M', 'seq read MB/s'), ('seq-write-1M', 'seq write MB/s'),
        ('rand-read-4k-qd1', '4K QD1 IOPS'), ('rand-read-4k-qd16', '4K QD16 IOPS')]

# blk_bench's counter windows: one per figure, in the order of FIGS.
TAGS = ('seqw', 'seqr', 'qd1', 'qd16')

RESULT = re.compile(r'blk_bench: (\w+) (\S+) (\S+): ([\d.]+) (MB/s|IOPS) \((\d+) I/Os')
SPEC = re.compile(r'xenpci\.blk_bench=(\S+)')
HEAD = re.compile(r'blk_bench: ([\d.]+) s per figure, (\d+) MiB per disk')
BSTATS = re.compile(r'(?:dom0|domd): backend-stats tag=(\w+)-(begin|end) .*stats blk '
                    r'(\S+) dom\d+: .* wakeups (\d+) .* buffers (\d+)')
ISTATS = re.compile(r'(?:dom0|domd): ioreq-stats tag=(\w+)-(begin|end) (.*)$')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    figs, bstats, istats, spec, heads = {}, {}, {}, {}, []
    with open(sys.argv[1], errors='replace') as f:
        for line in f:
            line = line.rstrip('\r\n')
            # each guest's, once (a label is one disk of one guest)
            m = SPEC.search(line)
            if m:
                for item in m.group(1).split(','):
                    label, rest = item.split(':', 1)
                    spec.setdefault(label, rest.rsplit('@', 1)[0])
            m = HEAD.search(line)
            if m and m.groups() not in heads:
                heads.append(m.groups())
            m = RESULT.search(line)
            if m:
                figs.setdefault(m.group(1), {})[m.group(3)] = float(m.group(4))
                figs[m.group(1)]['dev'] = m.group(2)
            m = BSTATS.search(line)
            if m:
                bstats[(m.group(1), m.group(2), m.group(3))] = (int(m.group(4)),
                                                                int(m.group(5)))
            m = ISTATS.search(line)
            if m:
                kv = dict(re.findall(r'(\w+) (-?\d+)', m.group(3)))
                istats[(m.group(1), m.group(2))] = {k: int(v) for k, v in kv.items()}
    if not figs:
        print('blk_bench: no figures in %s' % sys.argv[1])
        return 1

    def window(label, fig):
        """wakeups, answered in the kernel, routed to userspace, virtio
        requests: the counters over one figure of one disk, from the end
        of the figure before it (blk_bench takes them once between two
        figures) or its own begin (the first). A backend names its
        function in PCI segment 0: the guest's segment is not its to
        know."""
        bdf, tag = spec.get(label, ''), '%s_%s' % (label, fig)
        if ':' in bdf:
            bdf = '0000:' + bdf.split(':', 1)[1]
        i = TAGS.index(fig)
        start = ('%s_%s' % (label, TAGS[i - 1]), 'end') if i else (tag, 'begin')
        b0, b1 = bstats.get(start + (bdf,)), bstats.get((tag, 'end', bdf))
        i0, i1 = istats.get(start), istats.get((tag, 'end'))
        if not (b0 and b1 and i0 and i1):
            return None
        return (b1[0] - b0[0],
                i1.get('ioeventfd_writes', 0) - i0.get('ioeventfd_writes', 0),
                i1.get('routed', 0) - i0.get('routed', 0), b1[1] - b0[1])

    def per_io(label, figs_of=TAGS):
        """The same per virtio request, over the figures @figs_of."""
        ws = [window(label, f) for f in figs_of]
        if None in ws:
            return None
        tot = [sum(w[k] for w in ws) for k in range(4)]
        if not tot[3]:
            return None
        return tot[0] / tot[3], tot[1] / tot[3], tot[2] / tot[3], tot[3]

    title = 'blk_bench in domu-virtio and domu-bench-domd, O_DIRECT'
    if heads:
        # one per guest: the benchmark guests may give it other times
        title += ', %s MiB per disk, %s s per figure' % (
            ' or '.join(sorted({h[1] for h in heads})),
            ' or '.join(h[0] for h in heads))
    print('== %s ==' % title)
    print('   (TCG on %s: the ratios mean more than the absolute figures)'
          % 'this machine')
    cols = [c for _, c in FIGS] + ['wakeups/IO', 'in kernel/IO', 'to backend/IO',
                                   'wakeups QD1', 'wakeups QD16']
    print('%-44s' % '' + ''.join('%15s' % c for c in cols))
    print('%-44s' % '' + '   (the last five: counters per virtio request, where the'
          ' backend runs; the first three over all four figures)')
    for label in sorted(figs):
        row = figs[label]
        name = '(%s) %s (%s)' % (label, KINDS.get(label, '?'),
                                 row.get('dev', '').replace('/dev/', ''))
        cells = ['%15.1f' % row[k] if k in row else '%15s' % '-' for k, _ in FIGS]
        p = per_io(label)
        if p:
            cells += ['%15.2f' % p[0], '%15.2f' % p[1], '%15.2f' % p[2]]
        else:
            cells += ['%15s' % 'n/a'] * 3
        for fig in ('qd1', 'qd16'):
            p = per_io(label, (fig,))
            cells.append('%15.2f' % p[0] if p else '%15s' % 'n/a')
        print('%-44s' % name[:44] + ''.join(cells))
    for num, den in (('a', 'c'), ('a', 'b'), ('d', 'c'), ('d', 'a'), ('d', 'e'),
                     ('g', 'f')):
        if num in figs and den in figs:
            cells = []
            for k, _ in FIGS:
                x, y = figs[num].get(k), figs[den].get(k)
                cells.append('%15.2f' % (x / y) if x and y else '%15s' % '-')
            print('%-44s' % ('ratio (%s)/(%s)' % (num, den)) + ''.join(cells))
    for label in sorted(figs):
        p = per_io(label)
        if p:
            print('   (%s): %d virtio requests between the counters' % (label, p[3]))
    # Every disk of the spec, every figure: a disk that lost one is a failure.
    missing = ['(%s) %s' % (label, k) for label in sorted(spec)
               for k, _ in FIGS if k not in figs.get(label, {})]
    # and the counters of each virtio disk (a PCI function)
    missing += ['(%s) counters' % label for label in sorted(spec)
                if ':' in spec[label] and not per_io(label)]
    if missing:
        print('blk_bench: figures missing: %s' % ', '.join(missing))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
