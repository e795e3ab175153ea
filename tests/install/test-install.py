#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: test-install.py SOURCE_ROOT
#
# Runs the README's recipes for building against coproc, as a new user
# would: the shell blocks of "Into a prefix of your own" and of "Without
# installing" (those marked "checked by tests/install/test-install.py"),
# taken from README.md as they are written. Each runs in a fresh copy of
# the source tree, with HOME in a temporary directory (so the prefix,
# $HOME/.local/coproc, is too) and none of the variables the recipe sets,
# and builds and runs a C, a Python, a GJS and a Vala host (the README's
# host.c, host.py, host.js and host.vala): the C one is the README's
# example, doc/readme-example.c, which prints 2, 4 and 6 on lines of their
# own; the others are in this directory and print "LANGUAGE: 2 4 6". Each
# number is a double that a worker of the host's returned.
#
# For "Without installing", the devenv line gets the hosts' commands as
# its command (the recipe shows it as an interactive shell).
#
# Prints TAP: one test per recipe.

import os
import re
import shutil
import subprocess
import sys
import tempfile

MARKER = '<!-- snippet: checked by tests/install/test-install.py -->'
HOSTS = ['host.py', 'host.js', 'host.vala']
EXPECTED = ['python: 2 4 6', 'gjs: 2 4 6', 'vala: 2 4 6']
C_EXPECTED = ['2', '4', '6']
# What a new user's shell does not have; the recipes set them.
CLEARED = ['LD_LIBRARY_PATH', 'PKG_CONFIG_PATH', 'GI_TYPELIB_PATH', 'PYTHONPATH',
           'MESON_DEVENV', 'G_TEST_SRCDIR', 'G_TEST_BUILDDIR']
IGNORED = re.compile(r'^(build[^/]*|_build|\.git|__pycache__)$')


def section_blocks(readme, heading):
    """The marked sh blocks of the README section with this heading."""
    start = readme.index('\n' + heading + '\n')
    end = readme.find('\n#', start + len(heading) + 2)
    section = readme[start:end if end >= 0 else len(readme)]
    blocks = re.findall(re.escape(MARKER) + r'\s*```sh\n(.*?)```', section, re.S)
    if not blocks:
        sys.exit('README.md: no marked sh block under "%s"' % heading)
    return blocks


def copy_tree(source_root, destination):
    def ignore(directory, names):
        return [name for name in names if IGNORED.match(name)]
    shutil.copytree(source_root, destination, ignore=ignore, symlinks=True)


def run_recipe(number, name, source_root, here, make_script):
    with tempfile.TemporaryDirectory(prefix='coproc-install-') as tmp:
        tree = os.path.join(tmp, 'coproc')
        home = os.path.join(tmp, 'home')
        os.mkdir(home)
        copy_tree(source_root, tree)
        for host in HOSTS:
            shutil.copy(os.path.join(here, host), tree)
        shutil.copy(os.path.join(source_root, 'doc', 'readme-example.c'),
                    os.path.join(tree, 'host.c'))

        script = os.path.join(tmp, 'recipe.sh')
        with open(script, 'w', encoding='utf-8') as out:
            out.write(make_script(tmp))

        env = {key: value for key, value in os.environ.items() if key not in CLEARED}
        env['HOME'] = home
        result = subprocess.run(['bash', '-e', script], cwd=tree, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=1200)
        lines = result.stdout.splitlines()
        missing = [line for line in EXPECTED if line not in lines]
        if not any(lines[i:i + 3] == C_EXPECTED for i in range(len(lines))):
            missing.append('2, 4 and 6 from host.c')
        ok = result.returncode == 0 and not missing
        print('%s %d %s' % ('ok' if ok else 'not ok', number, name))
        if not ok:
            if result.returncode != 0:
                print('# the recipe failed with status %d' % result.returncode)
            if missing:
                print('# missing output: %s' % ', '.join(missing))
            for line in lines[-60:]:
                print('# ' + line)
        sys.stdout.flush()
        return ok


def main():
    source_root = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(source_root, 'README.md'), encoding='utf-8') as readme_file:
        readme = readme_file.read()

    prefix_blocks = section_blocks(readme, '### Into a prefix of your own')
    devenv_blocks = section_blocks(readme, '### Without installing')
    if len(devenv_blocks) != 2:
        sys.exit('README.md: "Without installing" should have two marked blocks, '
                 'the build and the commands in the shell')

    def prefix_script(tmp):
        return '\n'.join(prefix_blocks)

    def devenv_script(tmp):
        build, hosts = devenv_blocks
        hosts_script = os.path.join(tmp, 'hosts.sh')
        with open(hosts_script, 'w', encoding='utf-8') as out:
            out.write(hosts)
        lines = []
        for line in build.splitlines():
            command = line.split('#', 1)[0].rstrip()
            if command.startswith('meson devenv'):
                command += ' bash -e %s' % hosts_script
            lines.append(command)
        return '\n'.join(lines) + '\n'

    results = [run_recipe(1, 'custom prefix (README "Into a prefix of your own")',
                          source_root, here, prefix_script),
               run_recipe(2, 'uninstalled (README "Without installing")',
                          source_root, here, devenv_script)]
    print('1..2')
    sys.exit(0 if all(results) else 1)


if __name__ == '__main__':
    main()
