#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: gidocgen-pages.py OUTDIR PAGE...
#
# The pages of doc/ link to each other as Markdown files (`messaging.md`,
# `workers.md#when-a-worker-dies`) and to images by their path in the
# source tree (`images/gtk-demo.png`), so that the links work where the
# sources are read: on a forge, in an editor. gi-docgen makes each page an
# HTML file and puts images at the root of the reference, so this writes a
# copy of each page into OUTDIR with those links rewritten for it.

import os
import re
import sys

# A Markdown link or image target that is a relative path (no scheme).
LINK = re.compile(r'(!?\[[^\]]*\]\()([^)\s:]+)(\))')


def rewrite(target):
    path, hash_sign, anchor = target.partition('#')
    if path.endswith('.md'):
        path = os.path.basename(path)[:-len('.md')] + '.html'
    elif path.startswith('images/'):
        path = os.path.basename(path)
    return path + hash_sign + anchor


def main():
    outdir, pages = sys.argv[1], sys.argv[2:]
    for page in pages:
        with open(page, encoding='utf-8') as source:
            text = source.read()
        text = LINK.sub(lambda m: m.group(1) + rewrite(m.group(2)) + m.group(3), text)
        with open(os.path.join(outdir, os.path.basename(page)), 'w', encoding='utf-8') as copy:
            copy.write(text)


if __name__ == '__main__':
    main()
