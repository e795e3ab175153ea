#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-output.sh EXPECTED COMMAND [ARGUMENT...]
#
# Runs an example and checks that what it prints on standard output is
# exactly the EXPECTED file: the output the example documents.

set -eu

expected=$1
shift

actual=$(mktemp)
trap 'rm -f "$actual"' EXIT

"$@" > "$actual"
diff -u "$expected" "$actual"
