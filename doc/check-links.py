#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-links.py PAGE...
#
# Checks that every relative link of the Markdown pages leads somewhere: the
# file exists (relative to the page, as on a forge), and a #fragment names
# a heading of the page it points to. Links inside code blocks and code
# spans are left alone. gi-docgen symbol links ([class@Coproc.Messenger])
# are not Markdown links and are checked by gi-docgen itself.

import os
import re
import sys

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
HEADING = re.compile(r'^#{1,6}\s+(.*?)\s*#*\s*$')
FENCE = re.compile(r'^\s*(```|~~~)')


def prose_lines(path):
    # The lines of a page outside its fenced code blocks.
    with open(path, encoding='utf-8') as page:
        in_code = False
        for number, line in enumerate(page, 1):
            if FENCE.match(line):
                in_code = not in_code
                continue
            if not in_code:
                yield number, line


def slug(title):
    # The anchor of a heading, as Python-Markdown's toc extension (gi-docgen)
    # and GitHub both make it for these pages: no markup or punctuation,
    # lower case, words joined by hyphens.
    title = re.sub(r'[`*_]', '', title)
    title = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', title)
    title = re.sub(r'[^\w\s-]', '', title).strip().lower()
    return re.sub(r'[-\s]+', '-', title)


def anchors(path):
    return {slug(m.group(1)) for _, line in prose_lines(path)
            for m in [HEADING.match(line)] if m}


def main():
    failures = []
    for page in sys.argv[1:]:
        for number, line in prose_lines(page):
            line = re.sub(r'`[^`]*`', '', line)   # code spans are not links
            for match in LINK.finditer(line):
                target = match.group(1)
                if re.match(r'^[a-z]+:', target):
                    continue   # a URL
                path, _, fragment = target.partition('#')
                where = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
                if not os.path.exists(where):
                    failures.append(f'{page}:{number}: {target}: no such file {where}')
                elif fragment and where.endswith('.md') and fragment not in anchors(where):
                    failures.append(f'{page}:{number}: {target}: no heading "{fragment}" '
                                    f'in {where}')
    for failure in failures:
        print(failure, file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f'The links of {len(sys.argv) - 1} pages lead somewhere')


if __name__ == '__main__':
    main()
