#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Runs the code blocks of the documentation, so that what a reader pastes
# works. Usage (the test suite passes the options; see doc/meson.build):
#
#   run-snippets.py [OPTIONS] PAGE...
#   run-snippets.py --check-coverage DIR PAGE...
#
# The rules for a page (README.md and doc/*.md), in short:
#
# - Every fenced block has a language: c, python, js, vala or sh for code,
#   text for anything else (diagrams, output, dumps). Text blocks are not
#   run.
#
# - A code block without a marker is a complete program: it is compiled
#   (C against the library, Vala against the VAPI) and run, and it must exit
#   with status 0, without a GLib warning or critical. Python runs with the
#   interpreter that has PyGObject, found as `python3` on PATH; JavaScript
#   with `gjs -m`; sh with `bash -e`.
#
# - Otherwise an HTML comment on the lines right before the block says what
#   it is (blank lines may separate them):
#
#     <!-- snippet: in HARNESS -->             part of a program: the block
#     <!-- snippet: in HARNESS at SLOT -->     replaces the line of
#                                              doc/snippets/HARNESS that holds
#                                              @SNIPPET@ (or @SNIPPET SLOT@),
#                                              indented as that line is
#     <!-- snippet: file NAME for HARNESS -->  a file of its own, NAME, next
#                                              to HARNESS when it runs (a .c
#                                              or .vala file is compiled into
#                                              NAME without its extension)
#     <!-- snippet: checked by PATH -->        another test checks it; PATH,
#                                              from the top of the source
#                                              tree, is that test
#     <!-- snippet: not run: REASON -->        not run, for the REASON given
#
#   Each harness that a page uses runs once, after all its slots are
#   filled, with every block of the page marked `for` it beside it. A
#   harness is a complete program in the language of its extension, which
#   checks what the blocks did; a line `snippet-support: FILE...` in it
#   copies more files of doc/snippets/ beside it (compiled like page files).
#
# - Any marker may end with `; prints: TEXT`: the program (or the
#   harness) must print TEXT on its standard output, word for word (runs
#   of white space are one), where a word `…` stands for any one word (a
#   process id, say). A complete program's marker is `prints: TEXT`.
#
# A block that has no language, an unknown language or marker, or a marker
# that is incomplete (an empty reason, a harness that does not exist or
# does not have that slot, a slot left empty) fails the page, as does a
# program that fails. Output is TAP: one test per block or harness.
#
# --check-coverage DIR fails unless every *.md of DIR is among the PAGEs:
# a new page is run too once it is listed in doc/meson.build.

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

LANGUAGES = {'c': '.c', 'python': '.py', 'js': '.js', 'vala': '.vala', 'sh': '.sh'}
EXTENSION_LANGUAGES = {ext: lang for lang, ext in LANGUAGES.items()}

FENCE = re.compile(r'^(?P<indent>\s*)```(?P<info>[^`]*)$')
MARKER = re.compile(r'^\s*<!--\s*snippet:\s*(?P<text>.*?)\s*-->\s*$')
COMMENT = re.compile(r'^\s*<!--.*-->\s*$')
SLOT = re.compile(r'@SNIPPET(?: (?P<name>[\w.-]+))?@')
SUPPORT = re.compile(r'snippet-support:\s*(?P<files>.*?)\s*(?:\*/|-->)?\s*$')

TIMEOUT = 120


class PageError(Exception):
    pass


class Block:
    def __init__(self, page, line, language, text, marker):
        self.page = page
        self.line = line
        self.language = language
        self.text = text
        self.marker = marker
        self.prints = None

    @property
    def where(self):
        return '%s:%d' % (os.path.basename(self.page), self.line)


def parse_blocks(page):
    """The fenced blocks of a page, each with the marker before it."""
    with open(page, encoding='utf-8') as source:
        lines = source.read().split('\n')

    blocks = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start = i
        indent = len(match.group('indent'))
        language = match.group('info').strip()
        body = []
        i += 1
        while i < len(lines) and not re.match(r'^\s*```\s*$', lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == '' else lines[i])
            i += 1
        if i == len(lines):
            raise PageError('%s:%d: the block never ends' % (page, start + 1))
        i += 1

        # The HTML comments right before the fence (blank lines allowed).
        marker = None
        j = start - 1
        while j >= 0 and (lines[j].strip() == '' or COMMENT.match(lines[j])):
            m = MARKER.match(lines[j])
            if m and marker is None:
                marker = m.group('text')
            j -= 1
        blocks.append(Block(page, start + 1, language, '\n'.join(body) + '\n', marker))
    return blocks


class Runner:
    def __init__(self, options):
        self.options = options
        self.snippets_dir = os.path.join(options.source_root, 'doc', 'snippets')
        self.results = []
        self.env = self._environment()

    # Environment ------------------------------------------------------------

    def _environment(self):
        o = self.options
        env = dict(os.environ)
        bin_dir = tempfile.mkdtemp(prefix='snippets-bin-')
        # `python3` is the interpreter that has PyGObject, as on a system
        # where it is the only one.
        os.symlink(o.python, os.path.join(bin_dir, 'python3'))
        self._bin_dir = bin_dir

        def prepend(name, value):
            env[name] = value + (os.pathsep + env[name] if env.get(name) else '')

        prepend('PATH', bin_dir)
        prepend('GI_TYPELIB_PATH', os.path.join(o.build_root, 'introspection'))
        prepend('LD_LIBRARY_PATH', os.path.join(o.build_root, 'coproc'))
        prepend('PYTHONPATH', os.path.join(o.source_root, 'introspection'))
        prepend('PKG_CONFIG_PATH', os.path.join(o.build_root, 'meson-uninstalled'))
        env['G_DEBUG'] = 'fatal-warnings'
        env['PYTHONDONTWRITEBYTECODE'] = '1'
        env['GTK_A11Y'] = 'none'
        return env

    def close(self):
        shutil.rmtree(self._bin_dir, ignore_errors=True)

    # Building and running -------------------------------------------------------

    def _run(self, argv, cwd, what):
        try:
            result = subprocess.run(argv, cwd=cwd, env=self.env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            raise PageError('%s: %s did not end within %d s' % (what, argv[0], TIMEOUT))
        except OSError as error:
            raise PageError('%s: cannot run %s: %s' % (what, argv[0], error))
        out = result.stdout.decode('utf-8', 'replace')
        err = result.stderr.decode('utf-8', 'replace')
        if result.returncode != 0:
            raise PageError('%s: %s failed with status %d\n%s%s'
                            % (what, os.path.basename(argv[0]), result.returncode, out, err))
        return out

    def compile(self, path, cwd):
        """Compiles a C or Vala file into an executable beside it; returns
        its path, or None for a script."""
        language = EXTENSION_LANGUAGES.get(os.path.splitext(path)[1])
        exe = os.path.splitext(path)[0]
        if language == 'c':
            flags = subprocess.run(['pkg-config', '--cflags', '--libs', 'coproc-1.0'],
                                   env=self.env, stdout=subprocess.PIPE, check=True,
                                   text=True).stdout.split()
            self._run(self.options.cc + ['-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror',
                                         '-o', exe, path] + flags, cwd, path)
            return exe
        if language == 'vala':
            if not self.options.valac:
                return None
            self._run([self.options.valac, '--fatal-warnings', '--pkg', 'coproc-1.0',
                       '--pkg', 'gio-2.0',
                       '--vapidir', os.path.join(self.options.build_root, 'introspection'),
                       '-X', '-w', '-o', exe, path], cwd, path)
            return exe
        return None

    def command(self, path):
        """The command line that runs a program file."""
        language = EXTENSION_LANGUAGES[os.path.splitext(path)[1]]
        if language in ('c', 'vala'):
            return [os.path.splitext(path)[0]]
        if language == 'python':
            return ['python3', path]
        if language == 'js':
            return [self.options.gjs, '-m', path]
        return ['bash', '-e', path]

    @staticmethod
    def printed_as_expected(out, prints):
        words, expected = out.split(), prints.split()
        return len(words) == len(expected) and all(
            e == '\u2026' or w == e for w, e in zip(words, expected))

    def run_program(self, path, cwd, prints, what):
        self.compile(path, cwd)
        out = self._run(self.command(path), cwd, what)
        if prints is not None and not self.printed_as_expected(out, prints):
            raise PageError('%s: printed\n%s\ninstead of\n%s' % (what, out, prints))

    def available(self, language):
        if language == 'vala':
            return bool(self.options.valac)
        if language == 'js':
            return bool(self.options.gjs)
        return True

    # Pages ---------------------------------------------------------------------

    def parse_marker(self, block):
        text = block.marker
        if text is None:
            return ('complete',)
        text, _, prints = text.partition('; prints:')
        if _:
            block.prints = prints.strip()
        text = text.strip()
        if text.startswith('prints:'):
            block.prints = text[len('prints:'):].strip()
            return ('complete',)
        if text == '' or text == 'complete':
            return ('complete',)
        m = re.fullmatch(r'in (\S+)(?: at ([\w.-]+))?', text)
        if m:
            return ('in', m.group(1), m.group(2))
        m = re.fullmatch(r'file (\S+) for (\S+)', text)
        if m:
            return ('file', m.group(1), m.group(2))
        m = re.fullmatch(r'checked by (\S+)', text)
        if m:
            return ('checked', m.group(1))
        m = re.fullmatch(r'not run:\s*(.*)', text)
        if m:
            if not m.group(1).strip():
                raise PageError('%s: "not run" needs a reason' % block.where)
            return ('not run', m.group(1).strip())
        raise PageError('%s: unknown marker "snippet: %s"' % (block.where, block.marker))

    def harness_path(self, name, where):
        path = os.path.join(self.snippets_dir, name)
        if not os.path.isfile(path):
            raise PageError('%s: no harness doc/snippets/%s' % (where, name))
        if os.path.splitext(name)[1] not in EXTENSION_LANGUAGES:
            raise PageError('%s: harness %s is not in a known language' % (where, name))
        return path

    def run_page(self, page):
        """Yields (ok, description, detail) for each unit of the page."""
        try:
            blocks = parse_blocks(page)
        except PageError as error:
            yield False, os.path.basename(page), str(error)
            return

        harnesses = {}      # name -> {'slots': {slot: block}, 'files': [block], 'first': block}
        units = []          # (kind, ...) in page order
        classified = True
        for block in blocks:
            what = block.where
            try:
                if block.language == 'text':
                    if block.marker is not None:
                        raise PageError('%s: a text block is never run: it needs no marker'
                                        % what)
                    continue
                if block.language == '':
                    raise PageError('%s: the block has no language (code: %s; anything '
                                    'else: text)' % (what, ', '.join(sorted(LANGUAGES))))
                if block.language not in LANGUAGES:
                    raise PageError('%s: unknown language "%s"' % (what, block.language))
                kind = self.parse_marker(block)
                if kind[0] == 'complete':
                    units.append(('complete', block))
                elif kind[0] in ('in', 'file'):
                    name = kind[2] if kind[0] == 'file' else kind[1]
                    self.harness_path(name, what)
                    h = harnesses.setdefault(name, {'slots': {}, 'files': [], 'first': block})
                    if h['first'] is block:
                        units.append(('harness', name))
                    if kind[0] == 'in':
                        slot = kind[2] or ''
                        if slot in h['slots']:
                            raise PageError('%s: slot "%s" of %s is filled already at %s'
                                            % (what, slot, name, h['slots'][slot].where))
                        h['slots'][slot] = block
                    else:
                        if os.path.splitext(kind[1])[1] != LANGUAGES[block.language]:
                            raise PageError('%s: file %s is not a %s file'
                                            % (what, kind[1], block.language))
                        block.file_name = kind[1]
                        h['files'].append(block)
                    if block.prints is not None:
                        h['prints'] = block.prints
                elif kind[0] == 'checked':
                    path = os.path.join(self.options.source_root, kind[1])
                    if not os.path.exists(path):
                        raise PageError('%s: "checked by %s", which does not exist'
                                        % (what, kind[1]))
                    units.append(('checked', block, kind[1]))
                else:
                    units.append(('not run', block, kind[1]))
            except PageError as error:
                classified = False
                yield False, what, str(error)

        # The page itself: every block has its language and marker.
        n_code = sum(1 for block in blocks if block.language != 'text')
        yield classified, '%s: %d code blocks, each run, checked or marked' % (
            os.path.basename(page), n_code), None

        for unit in units:
            if unit[0] == 'complete':
                block = unit[1]
                desc = '%s (%s, complete)' % (block.where, block.language)
                if not self.available(block.language):
                    yield None, desc, 'no %s here' % block.language
                    continue
                with tempfile.TemporaryDirectory(prefix='snippet-') as cwd:
                    path = os.path.join(cwd, 'snippet-%d%s' % (block.line,
                                                               LANGUAGES[block.language]))
                    with open(path, 'w', encoding='utf-8') as out:
                        out.write(block.text)
                    try:
                        self.run_program(path, cwd, block.prints, block.where)
                        yield True, desc, None
                    except PageError as error:
                        yield False, desc, str(error)
            elif unit[0] == 'harness':
                name = unit[1]
                h = harnesses[name]
                parts = sorted([b.where for b in h['slots'].values()] +
                               [b.where for b in h['files']])
                desc = '%s (%s)' % (name, ', '.join(parts))
                language = EXTENSION_LANGUAGES[os.path.splitext(name)[1]]
                languages = {language} | {b.language for b in h['files']}
                missing = [lang for lang in languages if not self.available(lang)]
                if missing:
                    yield None, desc, 'no %s here' % ', '.join(missing)
                    continue
                try:
                    self.run_harness(name, h)
                    yield True, desc, None
                except PageError as error:
                    yield False, desc, str(error)
            elif unit[0] == 'checked':
                yield True, '%s (%s, checked by %s)' % (unit[1].where, unit[1].language,
                                                        unit[2]), None
            else:
                yield None, '%s (%s)' % (unit[1].where, unit[1].language), \
                    'not run: %s' % unit[2]

    def run_harness(self, name, h):
        with open(self.harness_path(name, name), encoding='utf-8') as source:
            lines = source.read().split('\n')

        out_lines = []
        used = set()
        support = []
        for line in lines:
            m = SUPPORT.search(line)
            if m:
                support += m.group('files').split()
            m = SLOT.search(line)
            if not m:
                out_lines.append(line)
                continue
            slot = m.group('name') or ''
            if slot not in h['slots']:
                raise PageError('%s: slot "%s" is not filled by the page' % (name, slot))
            used.add(slot)
            indent = re.match(r'\s*', line).group(0)
            for text_line in h['slots'][slot].text.rstrip('\n').split('\n'):
                out_lines.append(indent + text_line if text_line.strip() else '')
        for slot in h['slots']:
            if slot not in used:
                raise PageError('%s has no slot "%s" (filled at %s)'
                                % (name, slot, h['slots'][slot].where))

        with tempfile.TemporaryDirectory(prefix='snippet-') as cwd:
            for file_name in support:
                src = os.path.join(self.snippets_dir, file_name)
                if not os.path.isfile(src):
                    raise PageError('%s: no support file doc/snippets/%s' % (name, file_name))
                dst = os.path.join(cwd, file_name)
                shutil.copy2(src, dst)
                self.compile(dst, cwd)
            for block in h['files']:
                dst = os.path.join(cwd, block.file_name)
                with open(dst, 'w', encoding='utf-8') as out:
                    out.write(block.text)
                self.compile(dst, cwd)
            path = os.path.join(cwd, name)
            with open(path, 'w', encoding='utf-8') as out:
                out.write('\n'.join(out_lines))
            self.run_program(path, cwd, h.get('prints'), name)


def check_coverage(directory, pages):
    listed = {os.path.realpath(page) for page in pages}
    missing = [page for page in sorted(glob.glob(os.path.join(directory, '*.md')))
               if os.path.realpath(page) not in listed]
    for page in missing:
        print('%s: its code blocks are not run: list it in doc/meson.build' % page,
              file=sys.stderr)
    if missing:
        sys.exit(1)
    print('Every page of %s is run' % directory)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--source-root')
    parser.add_argument('--build-root')
    parser.add_argument('--python', default='/usr/bin/python3')
    parser.add_argument('--gjs', default='')
    parser.add_argument('--valac', default='')
    parser.add_argument('--cc', default='cc', type=lambda s: s.split())
    parser.add_argument('--check-coverage', metavar='DIR')
    parser.add_argument('pages', nargs='+')
    options = parser.parse_args()
    options.source_root = os.path.abspath(options.source_root or '.')
    options.build_root = os.path.abspath(options.build_root or '.')

    if options.check_coverage:
        check_coverage(options.check_coverage, options.pages)
        return

    runner = Runner(options)
    n = 0
    failed = 0
    try:
        for page in options.pages:
            for ok, desc, detail in runner.run_page(page):
                n += 1
                if ok is None:
                    print('ok %d %s # SKIP %s' % (n, desc, detail))
                elif ok:
                    print('ok %d %s' % (n, desc))
                else:
                    failed += 1
                    print('not ok %d %s' % (n, desc))
                    for line in (detail or '').rstrip('\n').split('\n'):
                        if line:
                            print('# ' + line)
                sys.stdout.flush()
    finally:
        runner.close()
    print('1..%d' % n)
    sys.exit(1 if failed else 0)


if __name__ == '__main__':
    main()
