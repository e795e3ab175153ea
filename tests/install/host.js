// host.js: a GJS host, run by test-install.py against an installed coproc,
// as the README's recipes say. Run again with --worker, it is its worker.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

if (system.programArgs.includes('--worker')) {
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
} else {
    const self = Gio.File.new_for_uri(import.meta.url).get_path();
    const worker = Coproc.WorkerResource.new(['gjs', '-m', self, '--worker'],
        Coproc.PriorityMessenger.$gtype);
    worker.start();
    for (let i = 1; i <= 3; i++)
        worker.messenger.send_request(new GLib.Variant('i', i), null);
    const replies = worker.messenger.receive_remaining(null, null);
    print(`gjs: ${replies.map(v => v.get_int32()).join(' ')}`);
    worker.join(null);
}
