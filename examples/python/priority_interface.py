#!/usr/bin/python3
# priority_interface.py: a PriorityMessenger hands out important messages first
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A payload that is a dictionary, or a dataclass, with a numeric "priority"
# entry gets that priority: lower is more important, and equal priorities
# keep their order. A message without one goes to the back of the queue.
# A dataclass arrives as an instance of its class, which the worker has
# loaded too: it runs this script again to find PrintProcess.
#
# Run it with the library, its typelib and the overrides on the search paths:
#   GI_TYPELIB_PATH=… LD_LIBRARY_PATH=… PYTHONPATH=…/introspection \
#     /usr/bin/python3 priority_interface.py

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402

# The host says on this channel that it has sent everything.
GO = 'go'


@dataclasses.dataclass
class PrintProcess(Coproc.BaseWorkerProcess):
    def __call__(self):
        # Wait for the go-ahead: by then every message sent before it is
        # queued, so the priority queue can order all of them.
        self.messenger.receive_blocking(GO)
        while True:
            for data in self.messenger.receive_available():
                print(data)
                # Tell the host, which checks the order.
                self.messenger.send_norequest(data)
            self.messenger.await_available()


@dataclasses.dataclass
class HighPriorityMessage:
    text: str
    priority: int = 0  # lower is more important


@dataclasses.dataclass
class LowPriorityMessage:
    text: str
    priority: int = 1  # lower is more important


if __name__ == '__main__':
    with Coproc.WorkerResource(PrintProcess, Coproc.PriorityMessenger) as w:
        for i in range(3):
            w.messenger.send_norequest(LowPriorityMessage(f'low {i}'))
            w.messenger.send_norequest(HighPriorityMessage(f'high {i}'))
        w.messenger.send_norequest(True, channel_id=GO)

        # What the worker printed, in the order it printed it.
        received = [w.messenger.receive_blocking() for _ in range(6)]
        assert received == [HighPriorityMessage(f'high {i}') for i in range(3)] + \
            [LowPriorityMessage(f'low {i}') for i in range(3)], received

        # Ask the worker to close and wait until it has: it ends when its
        # await_available() raises Coproc.ResourceRequestedClose.
        w.join()
