# supervise.py: completes the Python block of "Supervising a worker from a
# main loop" (doc/workers.md): joins the worker and runs the main context
# until ::exited came
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# snippet-support: my-worker

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc, GLib  # noqa: E402

@SNIPPET@

exited = []
w.connect('exited', lambda w, status: exited.append(status))
w.join()
while not exited:
    GLib.MainContext.default().iteration(True)
assert exited == [0]
