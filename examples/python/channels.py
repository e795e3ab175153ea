#!/usr/bin/python3
# channels.py: sending and receiving on two channels over one connection
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# send_norequest() sends a message without expecting a reply; channel_id
# (any value, None being the default channel) chooses the channel. Each
# receive call takes only from the channel it is given.
#
# Run it with the library, its typelib and the overrides on the search paths:
#   GI_TYPELIB_PATH=… LD_LIBRARY_PATH=… PYTHONPATH=…/introspection \
#     /usr/bin/python3 channels.py

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402

CHANNEL_A = 1
CHANNEL_B = 2


@dataclasses.dataclass
class EchoProcess1:
    messenger: Coproc.PriorityMessenger

    def __call__(self):
        # Sends every message back on the channel it came on.
        while True:
            print('awaiting messages')
            self.messenger.await_available()
            print('some messages were found')
            for data in self.messenger.receive_available(CHANNEL_A):
                self.messenger.send_norequest(data, CHANNEL_A)

            for data in self.messenger.receive_available(CHANNEL_B):
                self.messenger.send_norequest(data, CHANNEL_B)


if __name__ == '__main__':
    with Coproc.WorkerResource(EchoProcess1) as w:
        print(f'{w.messenger.available()=}')
        print(w.messenger.send_norequest('hello', channel_id=CHANNEL_A))
        print(w.messenger.send_norequest('hi', channel_id=CHANNEL_B))

        # Nothing comes on the default channel: the replies use A and B.
        print(f'{w.messenger.available()=}')
        assert w.messenger.available() == 0

        # receive_blocking() waits for the worker's reply on each channel.
        reply_a = w.messenger.receive_blocking(CHANNEL_A)
        print(f'w.messenger.receive_blocking(CHANNEL_A)={reply_a!r}')
        reply_b = w.messenger.receive_blocking(CHANNEL_B)
        print(f'w.messenger.receive_blocking(CHANNEL_B)={reply_b!r}')

        assert reply_a == 'hello'
        assert reply_b == 'hi'
