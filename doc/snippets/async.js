// async.js: completes the JavaScript block of "Asynchronous receives"
// (doc/mainloop.md) with an echo worker
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// snippet-support: my-worker

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

const worker = Coproc.WorkerResource.new(['./my-worker'], Coproc.PriorityMessenger.$gtype);
worker.start();
const messenger = worker.messenger;

@SNIPPET@

if (reply.unpack() !== 'hello')
    throw new Error(`the reply is ${reply.print(true)}`);
worker.join(null);
