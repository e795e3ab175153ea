# remote-errors.py: completes the Python blocks of "Remote errors"
# (doc/errors.md): the worker's line in a worker, the host's in the host
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


def worker(messenger):
    @SNIPPET worker@
    messenger.receive_blocking()


if __name__ == '__main__':
    with Coproc.WorkerResource(worker) as w:
        @SNIPPET host@
