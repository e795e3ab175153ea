#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-readme.py README.md readme-example.c
#
# The C example of the README is the program the tests compile and run:
# checks that the code block after its marker, "<!-- snippet: checked by
# doc/check-readme.py -->", is that file, from its #include on.

import re
import sys

readme_path, example_path = sys.argv[1:3]

with open(readme_path, encoding='utf-8') as readme:
    readme_text = readme.read()
with open(example_path, encoding='utf-8') as example:
    example_text = example.read()

marker = '<!-- snippet: checked by doc/check-readme.py -->'
match = re.search(re.escape(marker) + r'\s*```c\n(.*?)```', readme_text, re.S)
if match is None:
    sys.exit(f'{readme_path}: no C block after the "{marker}" marker')

shown = match.group(1)
expected = example_text[example_text.index('#include <coproc.h>'):]
if shown != expected:
    sys.exit(f'The C example of {readme_path} differs from {example_path}: '
             'copy the file into the README')

print(f'The C example of {readme_path} is {example_path}')
