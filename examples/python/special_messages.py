#!/usr/bin/python3
# special_messages.py: close requests and errors sent across
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# send_close_request() makes the peer's next receive call raise
# Coproc.ResourceRequestedClose; send_error() makes it raise the exception
# sent (as its own class when the receiver has that class loaded: built-in
# ones, or the program's own; otherwise as GLib.Error). Both bypass
# channels and queues.
#
# Run it with the library, its typelib and the overrides on the search paths:
#   GI_TYPELIB_PATH=… LD_LIBRARY_PATH=… PYTHONPATH=…/introspection \
#     /usr/bin/python3 special_messages.py

import dataclasses

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


@dataclasses.dataclass
class PrintProcess2(Coproc.BaseWorkerProcess):
    def __call__(self):
        while True:
            try:
                self.messenger.await_available()
                results = self.messenger.receive_available()
            except Coproc.ResourceRequestedClose:
                self.messenger.send_error(ValueError('process was closed successfully'))
                break  # exits the process naturally
            for data in results:
                print(data)


if __name__ == '__main__':
    caught = None
    with Coproc.WorkerResource(PrintProcess2) as w:
        w.messenger.send_norequest('message 1')
        w.messenger.send_close_request()

        try:
            w.messenger.await_available()
        except ValueError as e:
            print('successfully caught value error sent from process')
            caught = e

        # The worker ends by itself; wait until it has.
        w.join(check_alive=False)

    assert isinstance(caught, ValueError)
    assert str(caught) == 'process was closed successfully'
