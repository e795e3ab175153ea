# async.py: completes the Python block of "Asynchronous receives"
# (doc/mainloop.md) with an echo worker: the second receive gets the reply
# to one more request
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# snippet-support: my-worker

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc, GLib  # noqa: E402

w = Coproc.WorkerResource(['./my-worker'])
w.start()
messenger = w.messenger

@SNIPPET@

messenger.send_request('again')
context = GLib.MainContext.default()
while messenger.remaining() > 0 or not future.done():
    context.iteration(True)
while context.iteration(False):
    pass
w.join()
