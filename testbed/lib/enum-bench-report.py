#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print what page-exclusive BAR placement costs, from pci_enum_bench in the
bare-ours (pcie-xen-vpci) and bare-generic (pci-host-generic) runs of the
same QEMU machine: the window use of the memory BARs both placed (bytes of
the pages they touch, each page once) against the sum of max(size, page),
which pcie-xen-vpci must equal, and the time of one enumeration of the root
bus; each with the ratio ours/generic.

  enum-bench-report.py OURS_LOG GENERIC_LOG  (exit status 1 if a log has none)
"""

import re
import sys

BAR = re.compile(r'pci_enum_bench: bar (\S+) (\d+) (0x[0-9a-f]+) (0x[0-9a-f]+)')
PAGE = re.compile(r'pci_enum_bench: window use .* page (\d+)')
ENUM = re.compile(r'pci_enum_bench: enumeration of (\d+) root functions: .* ([\d.]+) ms each')
DRV = re.compile(r'pci_enum_bench: host bridge driver (\S*)')


def parse(path):
    bars, page, enum, drv = {}, None, None, None
    with open(path, errors='replace') as f:
        for line in f:
            m = BAR.search(line)
            if m:
                bars[(m.group(1), int(m.group(2)))] = (int(m.group(3), 16), int(m.group(4), 16))
            m = PAGE.search(line)
            if m:
                page = int(m.group(1))
            m = ENUM.search(line)
            if m:
                enum = (int(m.group(1)), float(m.group(2)))
            m = DRV.search(line)
            if m:
                drv = m.group(1)
    return bars, page, enum, drv


def pages_used(bars, page):
    """Bytes of the pages the BARs touch, each page counted once."""
    pages = set()
    for start, size in bars:
        pages.update(range(start // page, (start + size - 1) // page + 1))
    return len(pages) * page


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    runs = [parse(p) for p in sys.argv[1:]]
    for path, (bars, page, enum, _) in zip(sys.argv[1:], runs):
        if not bars or not page or not enum:
            print('pci_enum_bench: no figures in %s' % path)
            return 1
    (b_o, page, e_o, d_o), (b_g, _, e_g, d_g) = runs
    common = sorted(set(b_o) & set(b_g))
    u_o = pages_used([b_o[k] for k in common], page)
    u_g = pages_used([b_g[k] for k in common], page)
    want = sum(max(b_o[k][1], page) for k in common)
    print('BAR placement on the same bare QEMU machine: ours = %s, generic = %s' % (d_o, d_g))
    print('  %d memory BARs placed by both, %d-byte pages' % (len(common), page))
    print('  %-34s %14s %14s %8s' % ('figure', 'ours', 'generic', 'ratio'))
    print('  %-34s %14d %14d %8.2f' % ('window use (bytes of pages touched)', u_o, u_g, u_o / u_g))
    print('  %-34s %14d %14s %8s' % ('sum of max(BAR size, page)', want, '', ''))
    print('  %-34s %14.1f %14.1f %8.2f' % ('enumeration of the root bus (ms)', e_o[1], e_g[1],
                                           e_o[1] / e_g[1]))
    print('  ours: window use %s the sum of max(size, page)' %
          ('equals' if u_o == want else 'DIFFERS FROM'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
