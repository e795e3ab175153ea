// special.js: completes the JavaScript blocks of "Special messages"
// (doc/messaging.md). Run again with --worker, it is its own worker.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

if (system.programArgs.includes('--worker')) {
    const messenger = Coproc.Messenger.new_for_host(Coproc.PriorityMessenger.$gtype);

    @SNIPPET worker@

    messenger.close();
} else {
    const ExampleError = GLib.quark_from_string('example-error-quark');
    const self = Gio.File.new_for_uri(import.meta.url).get_path();
    const worker = Coproc.WorkerResource.new(['gjs', '-m', self, '--worker'],
        Coproc.PriorityMessenger.$gtype);
    worker.start();
    const messenger = worker.messenger;

    @SNIPPET host@

    try {
        worker.join(null);
    } catch (e) {
        if (!e.matches(Coproc.Error, Coproc.Error.WORKER_ALREADY_DEAD))
            throw e;
    }
}
