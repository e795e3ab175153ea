# kinds.py: completes the Python block of "Two kinds of messenger"
# (doc/messaging.md)
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


@dataclasses.dataclass
class EchoProcess(Coproc.BaseWorkerProcess):
    def __call__(self):
        while True:
            self.messenger.send_reply(self.messenger.receive_blocking())


if __name__ == '__main__':
    @SNIPPET@

    assert isinstance(process, Coproc.PriorityMessenger)
    assert isinstance(resource, Coproc.PriorityMessenger)
    resource.send_norequest('ping')
    assert process.receive_blocking() == 'ping'

    with worker:
        assert isinstance(worker.messenger, Coproc.MultiMessenger)
        worker.messenger.send_request('echo')
        assert worker.messenger.receive_blocking() == 'echo'
