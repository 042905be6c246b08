#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print the ioreq benchmark of a Xen run as one table: the same emulated
function (pci-ioreq-emu), the same guest image and layout, served through
the kernel's shared ioreq server (/dev/xen/pci-ioreq: slot 1 of guest
domu-pci, which also has two more functions) and through an ioreq server
the backend owns itself, as QEMU does (--server xen, guest domu-bench-xen); per figure both rates and
the ratio kernel/own (above 1: the kernel's path is faster).

  ioreq-bench-report.py LOG   (exit status 1 if a side has no figures)
"""

import re
import sys

SIDES = [('domu-pci', 'kernel server'), ('domu-bench-xen', 'own server')]
FIGS = [('config_read_4B', 'config reads/s'), ('mmio_read_4B', 'MMIO reads/s'),
        ('mmio_write_4B', 'MMIO writes/s'), ('rescan', 'remove+rescans/s')]
LINE = re.compile(r'^\[domU:([\w-]+)\] ioreq_bench: (\w+): \d+ in [\d.]+ s: ([\d.]+)/s')


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rates = {}
    with open(sys.argv[1], errors='replace') as f:
        for line in f:
            m = LINE.match(line.rstrip('\r\n'))
            if m:
                rates.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
    missing = [g for g, _ in SIDES if g not in rates]
    if missing:
        print('ioreq_bench: no figures of %s in %s' % (', '.join(missing), sys.argv[1]))
        return 1
    print('ioreq benchmark: one emulated function, same guest image and layout;')
    print('  kernel = /dev/xen/pci-ioreq (domu-pci), own = the backend\'s own')
    print('  ioreq server, as QEMU (domu-bench-xen); ratio kernel/own, above 1 = kernel faster')
    print('  %-18s %12s %12s %8s' % ('figure', 'kernel', 'own', 'ratio'))
    for key, label in FIGS:
        k = rates[SIDES[0][0]].get(key)
        o = rates[SIDES[1][0]].get(key)
        if k is None or o is None:
            print('  %-18s %12s %12s %8s' % (label, k or '-', o or '-', '-'))
            continue
        print('  %-18s %12.1f %12.1f %8.2f' % (label, k, o, k / o))
    return 0


if __name__ == '__main__':
    sys.exit(main())
