#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-gtk-demo.sh DEMO PNG EXPECTED [OPTION...]
#
# Runs the GTK demo headless, under Xvfb, with --auto: it starts the work at
# once, saves a screenshot to PNG and quits when done. Checks that it printed
# the EXPECTED line, then the figures of each of its workers' rows (resident
# memory above zero, at least one process, CPU time not negative, a pid of
# its own), and that the PNG holds a real picture.

set -eu

demo=$1
png=$2
expected=$3
shift 3

rm -f "$png"

output=$(xvfb-run -a -s '-screen 0 800x600x24' "$demo" --auto --screenshot="$png" "$@")
printf '%s\n' "$output"

result=$(printf '%s\n' "$output" | head -n 1)
if [ "$result" != "$expected" ]; then
  echo "expected: $expected" >&2
  exit 1
fi

# worker N: pid P, rss-bytes R, processes N, cpu-seconds S
workers=$(printf '%s\n' "$output" | awk '
  /^worker [0-9]+: / {
    n++
    if ($0 !~ /^worker [0-9]+: pid [0-9]+, rss-bytes [0-9]+, processes [0-9]+, cpu-seconds [0-9.]+$/) {
      print "not the figures of a worker: " $0 > "/dev/stderr"; bad = 1; next
    }
    pid = $4 + 0; rss = $6 + 0; processes = $8 + 0; cpu = $10 + 0
    if (pid <= 0 || rss <= 0 || processes < 1 || cpu < 0) {
      print "implausible figures: " $0 > "/dev/stderr"; bad = 1
    }
    if (pid in seen) {
      print "two rows of pid " pid > "/dev/stderr"; bad = 1
    }
    seen[pid] = 1
  }
  END { if (bad) exit 1; print n + 0 }')
if [ "$workers" -lt 1 ]; then
  echo "no figures of any worker" >&2
  exit 1
fi
if ! printf '%s\n' "$output" | grep -Eq '^figures read [0-9]+ times while working$'; then
  echo "no count of the figures' readings" >&2
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
echo "screenshot: $png ($size bytes), figures of $workers workers"
