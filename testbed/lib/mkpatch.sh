#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Developer helper: write the diff part of a patches/ file.
#   mkpatch.sh DIR   where DIR/a and DIR/b hold the touched files before/after
# Prints a git-style diff (a/ b/ paths) to stdout; put the commit message
# above it. `testbed/run export` checks that the series applies.
set -euo pipefail
cd "$1"
git diff --no-index --no-prefix a b || true
