#!/usr/bin/python3
# check-python-gtk-demo.py: runs the Python GTK demo headless and checks it
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-python-gtk-demo.py DEMO PNG EXPECTED [OPTION...]
#
# Runs DEMO (coproc-gtk-demo.py) under Xvfb with --auto: it starts the work
# at once, saves a screenshot to PNG and quits when done. Checks that it
# printed the EXPECTED line, then the figures of each worker's row (a pid
# of its own, resident memory above zero, at least one process), and that
# the PNG is a picture of something:
# an empty X screen, or a window not drawn yet, has a colour or two; the
# demo's window has hundreds (text is antialiased).

import os
import re
import subprocess
import sys

MIN_COLOURS = 64
FIGURES = re.compile(r'worker (\d+): pid (\d+), rss-bytes (\d+), processes (\d+), '
                     r'cpu-seconds ([\d.]+)')


def check_figures(lines):
    # Each worker's row: "worker N: pid P, rss-bytes R, processes K, cpu-seconds S".
    pids = set()
    for line in lines:
        if not line.startswith('worker '):
            continue
        match = FIGURES.fullmatch(line)
        if match is None:
            print('not the figures of a worker: %s' % line, file=sys.stderr)
            return 0
        pid, rss, processes = (int(match.group(i)) for i in (2, 3, 4))
        if pid <= 0 or rss <= 0 or processes < 1 or pid in pids:
            print('implausible figures: %s' % line, file=sys.stderr)
            return 0
        pids.add(pid)
    if not any(re.fullmatch(r'figures read \d+ times while working', line) for line in lines):
        print("no count of the figures' readings", file=sys.stderr)
        return 0
    return len(pids)


def main(argv):
    if len(argv) < 4:
        print('usage: check-python-gtk-demo.py DEMO PNG EXPECTED [OPTION...]', file=sys.stderr)
        return 2
    demo, png, expected = argv[1:4]
    if os.path.exists(png):
        os.remove(png)

    env = dict(os.environ, GTK_A11Y='none')
    result = subprocess.run(['xvfb-run', '-a', '-s', '-screen 0 800x600x24',
                             sys.executable, demo, '--auto', '--screenshot=' + png] + argv[4:],
                            stdout=subprocess.PIPE, text=True, env=env, timeout=300)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        print('the demo ended with status %d' % result.returncode, file=sys.stderr)
        return 1
    lines = result.stdout.splitlines()
    if not lines or lines[0] != expected:
        print('expected: %s' % expected, file=sys.stderr)
        return 1
    n_workers = check_figures(lines[1:])
    if n_workers < 1:
        print('no figures of any worker', file=sys.stderr)
        return 1

    if not os.path.exists(png):
        print('no screenshot in %s' % png, file=sys.stderr)
        return 1
    colours = subprocess.run(['identify', '-format', '%k', png], stdout=subprocess.PIPE,
                             text=True, check=True).stdout
    if int(colours) < MIN_COLOURS:
        print('the screenshot %s is blank: %s colours' % (png, colours), file=sys.stderr)
        return 1
    print('screenshot: %s (%d bytes, %s colours), figures of %d workers'
          % (png, os.path.getsize(png), colours, n_workers))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
