# run_original.py: runs test files of the original library, unchanged
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: run_original.py TEST_FILE...            (names inside original/)
#        run_original.py --script TEST_FILE
#
# Puts the `coproc` shim first on sys.path (a worker started by a test gets
# this process's sys.path, so it finds the shim too), then runs pytest on
# the files, with original/ as its root so that no conftest.py of ours
# applies; or, with --script, runs one file as its own __main__ block
# does, as `python3 TEST_FILE` would.

import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ORIGINAL = os.path.join(HERE, 'original')

sys.path.insert(0, os.path.join(HERE, 'shim'))


def main(args):
    if args[:1] == ['--script']:
        path = os.path.join(ORIGINAL, args[1])
        sys.argv[:] = [path]
        sys.path.insert(0, ORIGINAL)
        runpy.run_path(path, run_name='__main__')
        return 0

    import pytest
    return pytest.main(['-v', '-p', 'no:cacheprovider', '--rootdir', ORIGINAL,
                        '--confcutdir', ORIGINAL] +
                       [os.path.join(ORIGINAL, name) for name in args])


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
