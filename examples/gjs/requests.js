// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The request interface: the host sends requests, the worker answers each
// with a reply, and the host's messenger counts the requests that still
// wait for their reply. The host side uses promises, as code running in a
// main loop (a GTK application, say) should.
//
//   gjs -m requests.js
//
// This one file is both programs: the host starts it again, with --worker,
// as its worker process.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

// Make the *_async/*_finish pairs return promises when called without a
// callback.
Gio._promisify(Coproc.Messenger.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Coproc.WorkerResource.prototype, 'join_async', 'join_finish');

function runWorker() {
    const messenger = Coproc.Messenger.new_for_host(Coproc.PriorityMessenger.$gtype);

    // A worker has nothing else to do: it may block.
    for (;;) {
        let data;
        try {
            data = messenger.receive_blocking(null, null);
        } catch (e) {
            if (e.matches(Coproc.Error, Coproc.Error.CLOSE_REQUESTED))
                return;
            throw e;
        }
        messenger.send_reply(data, null);
    }
}

async function runHost() {
    const thisFile = Gio.File.new_for_uri(import.meta.url).get_path();
    const worker = Coproc.WorkerResource.new(['gjs', '-m', thisFile, '--worker'],
        Coproc.PriorityMessenger.$gtype);
    worker.start();
    const messenger = worker.messenger;

    print(`remaining() = ${messenger.remaining(null)}`);
    messenger.send_request(new GLib.Variant('s', 'hello'), null);
    print("send_request('hello')");
    print(`remaining() = ${messenger.remaining(null)}`);
    // Settles when the reply arrives; the main loop runs meanwhile.
    const reply = await messenger.receive_async(null, null);
    print(`receive_async() = '${reply.unpack()}'`);
    print(`remaining() = ${messenger.remaining(null)}`);

    for (let i = 0; i < 3; i++)
        messenger.send_request(new GLib.Variant('i', i), null);
    print('sent requests 0, 1, 2');
    print(`remaining() = ${messenger.remaining(null)}`);

    // Take replies until every request has its answer: the non-blocking
    // form of receive_remaining().
    while (messenger.remaining(null) > 0) {
        // eslint-disable-next-line no-await-in-loop
        const value = await messenger.receive_async(null, null);
        print(value.unpack());
    }
    print(`remaining() = ${messenger.remaining(null)}`);

    // Ask the worker to close and wait for it to exit, without blocking.
    await worker.join_async(null);
    print(`worker alive: ${worker.is_alive()}`);
}

if (system.programArgs.includes('--worker'))
    runWorker();
else
    await runHost();
