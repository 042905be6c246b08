#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Validate one DT binding as far as Debian's tools allow (the upstream
dt-schema validator is not packaged):
  - the document is a valid JSON Schema (draft 2019-09, what dt-schema uses),
  - $id matches the file's path and the usual top-level keys are present,
  - every example compiles with cpp + dtc,
  - every example node carries the binding's required properties, and its
    compatible is one the binding allows.
Prints problems, one per line; exit status 1 if there are any.
"""
import os
import re
import subprocess
import sys

import jsonschema
import yaml

CACHE = os.environ.get('XEN_PCI_CACHE', os.path.expanduser('~/.cache/xen-pci'))
KSRC = os.path.join(CACHE, 'linux', 'src')


def allowed_compatibles(schema):
    """All compatible lists the schema's 'compatible' property accepts."""
    comp = schema.get('properties', {}).get('compatible', {})
    forms = []
    alts = comp.get('oneOf', comp.get('anyOf', [comp]))
    for alt in alts:
        items = alt.get('items')
        if isinstance(items, list):
            choices = [[it['const']] if 'const' in it else it.get('enum', []) for it in items]
            lists = [[]]
            for ch in choices:
                lists = [l + [c] for l in lists for c in ch]
            forms += lists
        elif 'const' in alt:
            forms.append([alt['const']])
        elif 'enum' in alt:
            forms += [[e] for e in alt['enum']]
    return forms


def main():
    path, work = sys.argv[1], sys.argv[2]
    problems = []
    schema = yaml.safe_load(open(path))

    try:
        jsonschema.Draft201909Validator.check_schema(schema)
    except jsonschema.exceptions.SchemaError as e:
        problems.append('not a valid JSON schema: %s' % e.message)

    rel = path.split('Documentation/devicetree/bindings/', 1)[-1]
    want_id = 'http://devicetree.org/schemas/%s#' % rel
    if schema.get('$id') != want_id:
        problems.append('$id is %r, expected %r' % (schema.get('$id'), want_id))
    if schema.get('$schema') != 'http://devicetree.org/meta-schemas/core.yaml#':
        problems.append('$schema must be the dt core meta-schema')
    for key in ('title', 'maintainers', 'properties', 'required', 'examples'):
        if key not in schema:
            problems.append('missing top-level %r' % key)
    if 'unevaluatedProperties' not in schema and 'additionalProperties' not in schema:
        problems.append('neither unevaluatedProperties nor additionalProperties')

    forms = allowed_compatibles(schema)
    required = schema.get('required', [])
    for n, ex in enumerate(schema.get('examples', [])):
        dts = os.path.join(work, 'example%d.dts' % n)
        with open(dts, 'w') as f:
            f.write('/dts-v1/;\n/ {\n\t#address-cells = <2>;\n\t#size-cells = <2>;\n'
                    '\tinterrupt-parent = <&gic>;\n'
                    '\tgic: interrupt-controller { #interrupt-cells = <3>; '
                    'interrupt-controller; };\n%s\n};\n' % ex)
        pre = subprocess.run(['cpp', '-nostdinc', '-undef', '-x', 'assembler-with-cpp',
                              '-I', os.path.join(KSRC, 'include'),
                              '-I', os.path.join(KSRC, 'scripts/dtc/include-prefixes'), dts],
                             capture_output=True, text=True)
        if pre.returncode:
            problems.append('example %d: cpp: %s' % (n, pre.stderr.strip()))
            continue
        dtb = dts[:-4] + '.dtb'
        comp = subprocess.run(['dtc', '-q', '-I', 'dts', '-O', 'dtb', '-o', dtb, '-'],
                              input=pre.stdout, capture_output=True, text=True)
        if comp.returncode:
            problems.append('example %d: dtc: %s' % (n, comp.stderr.strip()))
            continue
        # The example's node: the first one with a compatible, at any depth
        # (upstream examples wrap 64-bit nodes in a "bus" node).
        node, todo = None, ['/']
        while todo and node is None:
            cur = todo.pop(0)
            for child in subprocess.run(['fdtget', '-l', dtb, cur], capture_output=True,
                                        text=True).stdout.split():
                path = cur.rstrip('/') + '/' + child
                if child.startswith('interrupt-controller'):
                    continue
                has = subprocess.run(['fdtget', dtb, path, 'compatible'],
                                     capture_output=True).returncode == 0
                if has:
                    node = path
                    break
                todo.append(path)
        if node is None:
            problems.append('example %d: no node with a compatible' % n)
            continue
        props = subprocess.run(['fdtget', '-p', dtb, node], capture_output=True,
                               text=True).stdout.split()
        for r in required:
            if r not in props:
                problems.append('example %d: %s lacks required %r' % (n, node, r))
        got = subprocess.run(['fdtget', '-t', 's', dtb, node, 'compatible'],
                             capture_output=True, text=True).stdout.split()
        if forms and got not in forms:
            problems.append('example %d: compatible %s not allowed (%s)' % (n, got, forms))
        for p in props:
            if (p not in schema.get('properties', {}) and
                    p not in ('#address-cells', '#size-cells', 'device_type', 'bus-range',
                              'ranges', 'dma-coherent', 'linux,pci-domain', 'msi-parent',
                              'msi-map', 'interrupt-map', 'interrupt-map-mask',
                              '#interrupt-cells', 'reg')):
                problems.append('example %d: property %r not in the binding' % (n, p))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
