# host.py: a Python host, run by test-install.py against an installed
# coproc, as the README's recipes say
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


def double_numbers(messenger):
    while True:
        messenger.send_reply(2 * messenger.receive_blocking())


if __name__ == '__main__':
    with Coproc.WorkerResource(double_numbers) as w:
        w.messenger.send_request_multiple([1, 2, 3])
        print('python:', *w.messenger.receive_remaining())
