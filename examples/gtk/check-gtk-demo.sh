#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-gtk-demo.sh DEMO PNG EXPECTED [OPTION...]
#
# Runs the GTK demo headless, under Xvfb, with --auto: it starts the work at
# once, saves a screenshot to PNG and quits when done. Checks that it printed
# the EXPECTED line and that the PNG holds a real picture.

set -eu

demo=$1
png=$2
expected=$3
shift 3

rm -f "$png"

output=$(xvfb-run -a -s '-screen 0 800x600x24' "$demo" --auto --screenshot="$png" "$@")
printf '%s\n' "$output"

if [ "$output" != "$expected" ]; then
  echo "expected: $expected" >&2
  exit 1
fi

if [ ! -f "$png" ]; then
  echo "no screenshot in $png" >&2
  exit 1
fi

size=$(wc -c < "$png")
if [ "$size" -lt 10000 ]; then
  echo "the screenshot is only $size bytes" >&2
  exit 1
fi
echo "screenshot: $png ($size bytes)"
