#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The devices the test bed passes through, read from their one definition
in C (tools/testing/selftests/xen-pci/pt_dev.h): where QEMU puts them on
dom0's bus, the ivshmem memory size, the rtl8139's MAC, and the ivshmem
pattern protocol that the guest, the host and dom0 follow.

Run as a program, it prints shell assignments for testbed/lib/qemu.sh and
build-rootfs.sh:  PT_IVSHMEM_HOST=0000:00:10.0 PT_RTL8139_HOST=...
PT_BACKDOOR_HOST_SLOT=0x12 (dom0's ati-vga, which the backend must refuse)
PT_EDU_HOST=0000:00:14.0 (dom0's edu, an interrupt source)
PT_IVSHMEM_SIZE=1048576 PT_MAC=52:54:00:58:50:54"""

import os
import re
import sys

PT_DEV_H = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'tools/testing/selftests/xen-pci/pt_dev.h')


def pt_dev(path=PT_DEV_H):
    text = open(path).read()
    num = {k: int(v, 0) for k, v in re.findall(
        r'^#define\s+(PT_\w+)\s+(0x[0-9a-fA-F]+|\d+)U?\b', text, re.M)}
    mac = re.search(r'PT_RTL8139_MAC\[6\] = \{([^}]*)\}', text)
    pat = re.search(r'return nonce \^ \(i \+ 1\) \* (0x[0-9a-fA-F]+)U \^ who \* (0x[0-9a-fA-F]+)U;',
                    text)
    want = ('PT_GUEST_OFF', 'PT_HOST_OFF', 'PT_WORDS', 'PT_IVSHMEM_HOST_SLOT',
            'PT_RTL8139_HOST_SLOT', 'PT_IVSHMEM_SIZE', 'PT_BACKDOOR_HOST_SLOT',
            'PT_EDU_HOST_SLOT')
    if not mac or not pat or any(k not in num for k in want):
        raise SystemExit('ptdev: cannot read the passthrough devices from %s' % path)
    d = {k: num[k] for k in want}
    d['PT_MAC'] = ':'.join('%02x' % int(b, 0) for b in mac.group(1).split(','))
    d['PT_MUL_I'] = int(pat.group(1), 16)
    d['PT_MUL_WHO'] = int(pat.group(2), 16)
    d['PT_IVSHMEM_HOST'] = '0000:00:%02x.0' % d['PT_IVSHMEM_HOST_SLOT']
    d['PT_RTL8139_HOST'] = '0000:00:%02x.0' % d['PT_RTL8139_HOST_SLOT']
    d['PT_EDU_HOST'] = '0000:00:%02x.0' % d['PT_EDU_HOST_SLOT']
    return d


if __name__ == '__main__':
    d = pt_dev()
    for k in ('PT_IVSHMEM_HOST', 'PT_IVSHMEM_HOST_SLOT', 'PT_IVSHMEM_SIZE',
              'PT_RTL8139_HOST', 'PT_RTL8139_HOST_SLOT', 'PT_BACKDOOR_HOST_SLOT',
              'PT_EDU_HOST', 'PT_EDU_HOST_SLOT', 'PT_MAC'):
        v = d[k]
        print('%s=%s' % (k, '0x%x' % v if k.endswith('_SLOT') else v))
    sys.exit(0)
