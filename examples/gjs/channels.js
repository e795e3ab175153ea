// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Send/receive and channels: a host and a worker exchange plain messages
// on two channels over the same pipe.
//
//   gjs -m channels.js
//
// This one file is both programs: the host starts it again, with --worker,
// as its worker process. The worker echoes every message back on the
// channel it came on.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

// A channel id is any GLib.Variant; null is the default channel.
const CHANNEL_A = new GLib.Variant('i', 1);
const CHANNEL_B = new GLib.Variant('i', 2);

function runWorker() {
    // Connect to the host that started this process.
    const messenger = Coproc.Messenger.new_for_host(Coproc.PriorityMessenger.$gtype);

    for (;;) {
        try {
            // Blocks until at least one message is queued, on any channel.
            messenger.await_available(null);
        } catch (e) {
            // The host's join() sends a close request: time to go.
            if (e.matches(Coproc.Error, Coproc.Error.CLOSE_REQUESTED))
                return;
            throw e;
        }

        for (const data of messenger.receive_available(CHANNEL_A))
            messenger.send_norequest(data, CHANNEL_A);
        for (const data of messenger.receive_available(CHANNEL_B))
            messenger.send_norequest(data, CHANNEL_B);
    }
}

function runHost() {
    const thisFile = Gio.File.new_for_uri(import.meta.url).get_path();
    const worker = Coproc.WorkerResource.new(['gjs', '-m', thisFile, '--worker'],
        Coproc.PriorityMessenger.$gtype);
    worker.start();
    const messenger = worker.messenger;

    print(`available() = ${messenger.available(null)}`);
    messenger.send_norequest(new GLib.Variant('s', 'hello'), CHANNEL_A);
    print("sent 'hello' on channel A");
    messenger.send_norequest(new GLib.Variant('s', 'hi'), CHANNEL_B);
    print("sent 'hi' on channel B");

    // The echoes come back on channels A and B: the default channel stays
    // empty.
    print(`available() = ${messenger.available(null)}`);

    // These calls block until the echo is there. A program with a main loop
    // (a GTK application) would use receive_async() instead.
    print(`receive_blocking(CHANNEL_A) = '${messenger.receive_blocking(CHANNEL_A, null).unpack()}'`);
    print(`receive_blocking(CHANNEL_B) = '${messenger.receive_blocking(CHANNEL_B, null).unpack()}'`);

    // Ask the worker to close and wait for it to exit.
    worker.join(null);
    print(`worker alive: ${worker.is_alive()}`);
}

if (system.programArgs.includes('--worker'))
    runWorker();
else
    runHost();
