# conftest.py: fixtures of the Python tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import pytest

from helpers import LoopRunner


@pytest.fixture
def loop():
    '''A main loop to run until the test calls loop.quit().'''
    return LoopRunner()
