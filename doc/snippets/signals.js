// signals.js: completes the JavaScript block of "Signals"
// (doc/mainloop.md): a worker (this file, run again with --worker)
// reports progress, and the handler moves a stand-in for the bar
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

const PROGRESS = new GLib.Variant('s', 'progress');

if (system.programArgs.includes('--worker')) {
    const messenger = Coproc.Messenger.new_for_host(Coproc.PriorityMessenger.$gtype);
    messenger.send_norequest(new GLib.Variant('s', 'not progress'), null);
    for (const fraction of [0.5, 1.0])
        messenger.send_norequest(new GLib.Variant('d', fraction), PROGRESS);
    try {
        messenger.receive_blocking(null, null);
    } catch (e) {
        if (!e.matches(Coproc.Error, Coproc.Error.CLOSE_REQUESTED))
            throw e;
    }
    messenger.close();
} else {
    // A stand-in for Gtk.ProgressBar, which would need a display.
    const bar = {
        fraction: 0.0,
        set_fraction(fraction) {
            this.fraction = fraction;
        },
    };
    const self = Gio.File.new_for_uri(import.meta.url).get_path();
    const worker = Coproc.WorkerResource.new(['gjs', '-m', self, '--worker'],
        Coproc.PriorityMessenger.$gtype);
    worker.start();
    const messenger = worker.messenger;

    @SNIPPET@

    const context = GLib.MainContext.default();
    while (bar.fraction !== 1.0)
        context.iteration(true);
    const left = messenger.receive_available(null).map(v => v.unpack());
    if (left.length !== 1 || left[0] !== 'not progress')
        throw new Error(`left queued: ${left}`);
    worker.join(null);
}
