# signals.py: completes the Python block of "Signals" (doc/mainloop.md): a
# worker reports progress, and the handler moves a stand-in for the bar
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc, GLib  # noqa: E402


class ProgressBar:
    # A stand-in for Gtk.ProgressBar, which would need a display.
    fraction = 0.0

    def set_fraction(self, fraction):
        self.fraction = fraction


def progress_worker(messenger):
    messenger.send_norequest('not progress')
    for fraction in (0.5, 1.0):
        messenger.send_norequest(fraction, 'progress')
    messenger.receive_blocking()


if __name__ == '__main__':
    bar = ProgressBar()
    with Coproc.WorkerResource(progress_worker) as w:
        @SNIPPET@

        context = GLib.MainContext.default()
        while bar.fraction != 1.0:
            context.iteration(True)
        # The message of the default channel was left queued.
        assert w.messenger.receive_available() == ['not progress']
