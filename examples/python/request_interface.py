#!/usr/bin/python3
# request_interface.py: requests, replies and waiting for all replies
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# send_request() counts a request on its channel and send_reply() answers
# one; remaining() is the number of requests without a reply yet, and
# receive_remaining() yields replies until there are none left.
#
# Run it with the library, its typelib and the overrides on the search paths:
#   GI_TYPELIB_PATH=… LD_LIBRARY_PATH=… PYTHONPATH=…/introspection \
#     /usr/bin/python3 request_interface.py

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


@dataclasses.dataclass
class EchoProcess2(Coproc.BaseWorkerProcess):
    def __call__(self):
        # Answers every request with its own data.
        while True:
            data = self.messenger.receive_blocking()
            self.messenger.send_reply(data)


if __name__ == '__main__':
    with Coproc.WorkerResource(EchoProcess2) as w:
        print(f'{w.messenger.remaining()=}')
        assert w.messenger.remaining() == 0

        print(f'{w.messenger.send_request("hello")=}')
        print(f'{w.messenger.remaining()=}')
        assert w.messenger.remaining() == 1

        # receive_blocking() waits for the reply.
        reply = w.messenger.receive_blocking()
        print(f'w.messenger.receive_blocking()={reply!r}')
        print(f'{w.messenger.remaining()=}')
        assert reply == 'hello'
        assert w.messenger.remaining() == 0

        print(f'sending {[w.messenger.send_request(i) for i in range(3)]}')
        print(f'{w.messenger.remaining()=}')
        assert w.messenger.remaining() == 3

        replies = []
        for d in w.messenger.receive_remaining():
            print(d)
            replies.append(d)
        assert replies == [0, 1, 2]
        assert w.messenger.remaining() == 0
