# main_script.py: worker targets defined in the script run as __main__
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run by test_worker_resource.py. The worker runs this file again under the
# name __mp_main__, so the block at the bottom runs only in the host.

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


def upper_process(messenger):
    while True:
        messenger.send_reply(messenger.receive_blocking().upper())


@dataclasses.dataclass
class SuffixProcess(Coproc.BaseWorkerProcess):
    suffix: str = ''

    def __call__(self):
        while True:
            self.messenger.send_reply(self.messenger.receive_blocking() + self.suffix)


def answer_process(messenger, answer):
    messenger.send_norequest(answer)


if __name__ == '__main__':
    with Coproc.WorkerResource(upper_process) as w:
        w.messenger.send_request('hello')
        print('function:', w.messenger.receive_blocking())

    w = Coproc.WorkerResource(SuffixProcess)
    w.start(suffix=' world')
    w.messenger.send_request('hello')
    print('class:', w.messenger.receive_blocking())
    w.join()

    w = Coproc.WorkerResource(answer_process)
    w.start(answer=42)
    print('kwargs:', w.messenger.receive_blocking())
    w.join(check_alive=False)
