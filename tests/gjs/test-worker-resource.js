// SPDX-License-Identifier: LGPL-2.1-or-later
//
// CoprocWorkerResource from GJS, with a worker that is a GJS script too.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

import {
    test, run, assertTrue, assertFalse, assertEqual, assertDeepEqual, assertVariant,
    assertThrows, assertRejects, nextSignal, str, int32,
} from './harness.js';

Gio._promisify(Coproc.Messenger.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Coproc.WorkerResource.prototype, 'join_async', 'join_finish');

const workerScript = Gio.File.new_for_uri(import.meta.url).get_parent()
    .get_child('worker.js').get_path();

function newWorker(mode, type = Coproc.PriorityMessenger) {
    return Coproc.WorkerResource.new(['gjs', '-m', workerScript, mode], type.$gtype);
}

// Resolves with the wait status of the worker's process when it ends.
function exited(worker) {
    return nextSignal(worker, 'exited').then(([status]) => status);
}

test('/Coproc/WorkerResource/before-start', () => {
    const worker = newWorker('echo');

    assertEqual(worker.messenger, null, 'messenger');
    assertEqual(worker.get_messenger(), null, 'get_messenger()');
    assertEqual(worker.pid, 0, 'pid');
    assertFalse(worker.alive, 'alive');
    assertFalse(worker.is_alive(), 'is_alive()');
    assertDeepEqual(worker.argv, ['gjs', '-m', workerScript, 'echo'], 'argv');
    assertEqual(worker.messenger_type, Coproc.PriorityMessenger.$gtype, 'messenger_type');
    assertThrows(() => worker.join(null), Coproc.Error, Coproc.Error.WORKER_ALREADY_DEAD,
        'join() before start()');
    assertThrows(() => worker.terminate(), Coproc.Error, Coproc.Error.WORKER_ALREADY_DEAD,
        'terminate() before start()');
});

test('/Coproc/WorkerResource/echo', async () => {
    const worker = newWorker('echo');
    const notified = [];
    worker.connect('notify::alive', () => notified.push(worker.alive));
    const status = exited(worker);

    worker.start();
    assertTrue(worker.alive, 'alive after start()');
    assertTrue(worker.is_alive(), 'is_alive() after start()');
    assertTrue(worker.pid > 0, 'pid after start()');
    assertDeepEqual(notified, [true], 'notify::alive on start');

    const messenger = worker.messenger;
    assertTrue(messenger instanceof Coproc.PriorityMessenger, 'the messenger');

    messenger.send_request(str('hello'), null);
    assertEqual(messenger.remaining(null), 1, 'remaining() after a request');
    assertEqual((await messenger.receive_async(null, null)).unpack(), 'hello', 'echoed reply');
    assertEqual(messenger.remaining(null), 0, 'remaining() after the reply');

    // Replies come back on the channel of their request.
    const channel = new GLib.Variant('(ss)', ['echo', 'channel']);
    messenger.send_request_multiple([1, 2, 3].map(int32), channel);
    messenger.send_norequest(str('plain'), int32(9));
    const replies = [];
    while (messenger.remaining(channel) > 0)
        // eslint-disable-next-line no-await-in-loop
        replies.push((await messenger.receive_async(channel, null)).unpack());
    assertDeepEqual(replies, [1, 2, 3], 'replies on a channel');
    assertEqual((await messenger.receive_async(int32(9), null)).unpack(), 'plain',
        'plain message on another channel');
    assertEqual(messenger.replies_received(channel), 3, 'replies_received()');

    // join: close request, then the worker exits cleanly.
    assertTrue(await worker.join_async(null), 'join_async()');
    GLib.spawn_check_wait_status(await status);
    assertFalse(worker.is_alive(), 'is_alive() after join');
    assertFalse(worker.alive, 'alive after join');
    assertDeepEqual(notified, [true, false], 'notify::alive on exit');

    await assertRejects(worker.join_async(null), Coproc.Error,
        Coproc.Error.WORKER_ALREADY_DEAD, 'join_async() again');
});

test('/Coproc/WorkerResource/messenger-type', async () => {
    for (const type of [Coproc.MultiMessenger, Coproc.PriorityMessenger]) {
        const worker = newWorker('type', type);
        worker.start();
        assertTrue(worker.messenger instanceof type, `host messenger is ${type.$gtype.name}`);
        // eslint-disable-next-line no-await-in-loop
        const name = (await worker.messenger.receive_async(null, null)).unpack();
        assertEqual(name, type.$gtype.name, 'the worker made the same kind');
        // eslint-disable-next-line no-await-in-loop
        await worker.join_async(null);
    }
});

test('/Coproc/WorkerResource/remote-error', async () => {
    const worker = newWorker('echo');
    worker.start();
    const messenger = worker.messenger;

    // The worker sends back the errors it gets: they cross two processes.
    messenger.send_error(new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.PERMISSION_DENIED,
        'not yours'));
    const e = await assertRejects(messenger.receive_async(null, null), Gio.IOErrorEnum,
        Gio.IOErrorEnum.PERMISSION_DENIED, 'echoed error');
    assertEqual(e.message, 'not yours', 'echoed error message');

    // The messenger is still usable afterwards.
    messenger.send_request(str('still there'), null);
    assertEqual((await messenger.receive_async(null, null)).unpack(), 'still there',
        'reply after the error');

    await worker.join_async(null);
});

test('/Coproc/WorkerResource/already-alive-and-terminate', async () => {
    const worker = newWorker('echo');
    const status = exited(worker);

    worker.start();
    assertThrows(() => worker.start(), Coproc.Error, Coproc.Error.WORKER_ALREADY_ALIVE,
        'start() while running');

    const messenger = worker.messenger;
    const pending = messenger.receive_async(str('never'), null);
    worker.terminate();
    await assertRejects(pending, Coproc.Error, Coproc.Error.WORKER_DIED,
        'a pending receive when the worker is gone');
    await status;
    assertFalse(worker.is_alive(), 'is_alive() after terminate()');
    assertThrows(() => worker.terminate(), Coproc.Error, Coproc.Error.WORKER_ALREADY_DEAD,
        'terminate() again');

    // A worker can be started again; it gets a fresh messenger.
    worker.start();
    assertTrue(worker.messenger !== messenger, 'a fresh messenger');
    worker.messenger.send_request(str('again'), null);
    assertEqual((await worker.messenger.receive_async(null, null)).unpack(), 'again',
        'reply from the second run');
    await worker.join_async(null);
});

test('/Coproc/WorkerResource/worker-died', async () => {
    const worker = newWorker('die');
    const status = exited(worker);
    worker.start();
    const messenger = worker.messenger;

    assertVariant(await messenger.receive_async(null, null), str('last words'), 'data');
    messenger.send_norequest(str('go on'), null);

    // Everything the worker wrote before it died arrives: the error first
    // (special messages go ahead of data), then the data, then its death.
    const workerError = GLib.quark_from_string('worker-error-quark');
    const e = await assertRejects(messenger.receive_async(null, null), workerError, 3,
        'the error it sent');
    assertEqual(e.message, 'dying', 'its message');
    assertVariant(await messenger.receive_async(null, null), str('after the error'),
        'data sent after the error');
    await assertRejects(messenger.receive_async(null, null), Coproc.Error,
        Coproc.Error.WORKER_DIED, 'then WORKER_DIED');

    const ws = await status;
    const exitError = assertThrows(() => GLib.spawn_check_wait_status(ws),
        GLib.spawn_exit_error_quark(), 7, 'wait status');
    assertTrue(exitError.message.length > 0, 'exit status message');
    assertFalse(worker.is_alive(), 'is_alive()');
});

run();
