# helpers.py: shared helpers of the Python tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gi
gi.require_version('Coproc', '1.0')

from gi.repository import GLib  # noqa: E402


def wait_queued(messenger, count, channel_id=None):
    '''Runs the default main context until `count` messages are queued on
    the channel: the messenger's watch reads them as they arrive.'''
    context = GLib.MainContext.default()
    while messenger.queue_size(channel_id) < count:
        context.iteration(True)


class LoopRunner:
    '''Runs a GLib.MainLoop until quit() is called; fails instead of hanging.'''

    def __init__(self, timeout_seconds=20):
        self.loop = GLib.MainLoop()
        self.timeout_seconds = timeout_seconds
        self.timed_out = False

    def quit(self):
        self.loop.quit()

    def run(self):
        def on_timeout():
            self.timed_out = True
            self.loop.quit()
            return GLib.SOURCE_REMOVE

        source = GLib.timeout_add_seconds(self.timeout_seconds, on_timeout)
        self.loop.run()
        if not self.timed_out:
            GLib.source_remove(source)
        assert not self.timed_out, 'the main loop timed out'
