// worker.js: a program worker for the snippets (the README's worker.js)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Answers each request, an int32, with its double.

import GLib from 'gi://GLib';
import Coproc from 'gi://Coproc?version=1.0';

const messenger = Coproc.Messenger.new_for_host(Coproc.PriorityMessenger.$gtype);
try {
    for (;;) {
        const n = messenger.receive_blocking(null, null).get_int32();
        messenger.send_reply(new GLib.Variant('i', 2 * n), null);
    }
} catch (e) {
    if (!e.matches(Coproc.Error, Coproc.Error.CLOSE_REQUESTED))
        throw e;
}
messenger.close();
