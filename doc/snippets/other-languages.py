# other-languages.py: starts the worker programs of "Workers in other
# languages" (doc/workers.md), in C, Python, JavaScript and Vala, and
# checks that each echoes requests and exits with status 0 when joined
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc, GLib  # noqa: E402

WORKERS = [
    ['./c-worker'],
    ['python3', 'worker.py'],
    ['gjs', '-m', 'worker.js'],
    ['./vala-worker'],
]

for argv in WORKERS:
    statuses = []
    w = Coproc.WorkerResource(argv)
    w.connect('exited', lambda w, status: statuses.append(status))
    w.start()
    payloads = ['hello', GLib.Variant('i', 42), GLib.Variant('(sd)', ('pi', 3.14))]
    for payload in payloads:
        w.messenger.send_request(payload)
    # As plain values: the Python worker's echo makes the int32 an int64.
    assert list(w.messenger.receive_remaining()) == ['hello', 42, ('pi', 3.14)], argv
    w.join()
    while not statuses:
        GLib.MainContext.default().iteration(True)
    assert statuses == [0], (argv, statuses)
