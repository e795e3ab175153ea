#!/usr/bin/python3
# choosing_a_messenger.py: a worker and the two messengers of a WorkerResource
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A WorkerResource starts a worker process and makes two connected
# messengers: one for the worker (handed to the worker's class) and one for
# the host (w.messenger). `messenger_type` chooses their kind.
#
# Run it with the library, its typelib and the overrides on the search paths:
#   GI_TYPELIB_PATH=… LD_LIBRARY_PATH=… PYTHONPATH=…/introspection \
#     /usr/bin/python3 choosing_a_messenger.py

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


@dataclasses.dataclass
class ExampleProcess:
    messenger: Coproc.PriorityMessenger

    def __call__(self):
        # Runs in the worker process.
        print(f'process messenger: {self.messenger}')


# The worker imports this script again to find ExampleProcess, under another
# name: the code below runs only in the host.
if __name__ == '__main__':
    worker = Coproc.WorkerResource(
        worker_process_type=ExampleProcess,
        messenger_type=Coproc.PriorityMessenger,
    )
    with worker as w:
        # Wait until the worker has printed and ended.
        w.join(check_alive=False)
        print(f'resource messenger: {w.messenger}')

        assert isinstance(w.messenger, Coproc.PriorityMessenger)
        assert not w.is_alive()
