// SPDX-License-Identifier: LGPL-2.1-or-later
//
// CoprocMessenger from GJS: a connected pair in this process.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

import {
    test, run, assertTrue, assertFalse, assertEqual, assertDeepEqual, assertVariant,
    assertThrows, assertRejects, nextSignal, str, int32,
} from './harness.js';

Gio._promisify(Coproc.Messenger.prototype, 'receive_async', 'receive_finish');
Gio._promisify(Coproc.Messenger.prototype, 'receive_message_async', 'receive_message_finish');

function newPair(type = Coproc.PriorityMessenger) {
    const [ok, process, resource] = Coproc.Messenger.new_pair(type.$gtype);
    assertTrue(ok, 'new_pair() result');
    return [process, resource];
}

// Resolves on a later iteration of the main context; at the default
// priority, after sources that are already ready (such as a messenger's
// watch) have been dispatched.
function idle(priority = GLib.PRIORITY_LOW) {
    return new Promise(resolve => GLib.idle_add(priority, () => {
        resolve();
        return GLib.SOURCE_REMOVE;
    }));
}

test('/Coproc/Messenger/new-pair', () => {
    const [pm, rm] = newPair();
    assertTrue(pm instanceof Coproc.PriorityMessenger, 'process is a PriorityMessenger');
    assertTrue(rm instanceof Coproc.PriorityMessenger, 'resource is a PriorityMessenger');
    assertTrue(pm instanceof Coproc.Messenger, 'process is a Messenger');
    assertFalse(pm.is_closed(), 'is_closed()');

    const [mp, mr] = newPair(Coproc.MultiMessenger);
    assertTrue(mp instanceof Coproc.MultiMessenger, 'process is a MultiMessenger');
    assertTrue(mr instanceof Coproc.MultiMessenger, 'resource is a MultiMessenger');
});

test('/Coproc/Messenger/payload-types', () => {
    const [pm, rm] = newPair();
    const payloads = [
        str('hello'),
        new GLib.Variant('b', true),
        new GLib.Variant('x', -(2 ** 40)),
        new GLib.Variant('d', 2.5),
        new GLib.Variant('ay', new TextEncoder().encode('bytes\u0000here')),
        new GLib.Variant('(sai)', ['tuple', [1, 2, 3]]),
        new GLib.Variant('a{sv}', {text: str('x'), n: int32(4)}),
        new GLib.Variant('mi', null),
        new GLib.Variant('v', str('boxed')),
    ];

    for (const p of payloads)
        rm.send_norequest(p, null);
    for (const p of payloads)
        assertVariant(pm.receive_blocking(null, null), p, p.get_type_string());
});

test('/Coproc/Messenger/request-reply', () => {
    const [pm, rm] = newPair();

    assertEqual(rm.remaining(null), 0, 'remaining() before');
    rm.send_request(str('hello'), null);
    assertEqual(rm.remaining(null), 1, 'remaining() after a request');
    assertEqual(rm.requests_sent(null), 1, 'requests_sent()');

    const request = pm.receive_message_blocking(null, null);
    assertTrue(request.request_reply, 'request_reply');
    assertFalse(request.is_reply, 'is_reply');
    pm.send_reply(request.payload, null);

    assertEqual(rm.receive_blocking(null, null).unpack(), 'hello', 'reply payload');
    assertEqual(rm.remaining(null), 0, 'remaining() after the reply');
    assertEqual(rm.replies_received(null), 1, 'replies_received()');

    rm.send_request_multiple([0, 1, 2].map(int32), null);
    assertEqual(rm.remaining(null), 3, 'remaining() after three requests');
    for (const v of pm.receive_available(null))
        pm.send_reply(v, null);
    const replies = rm.receive_remaining(null, null);
    assertDeepEqual(replies.map(v => v.unpack()), [0, 1, 2], 'receive_remaining()');
    assertEqual(rm.remaining(null), 0, 'remaining() at the end');
});

test('/Coproc/Messenger/counters', () => {
    const [pm, rm] = newPair();
    const ch = int32(1);

    rm.send_norequest(str('a'), ch);
    rm.send_request(str('b'), ch);
    assertEqual(rm.messages_sent(ch), 2, 'messages_sent()');
    assertEqual(rm.requests_sent(ch), 1, 'requests_sent()');
    assertEqual(rm.messages_sent(null), 0, 'messages_sent() on the default channel');

    assertEqual(pm.available(ch), 2, 'available()');
    assertEqual(pm.queue_size(ch), 2, 'queue_size()');
    assertEqual(pm.messages_received(ch), 0, 'arrival is not receipt');
    pm.receive_blocking(ch, null);
    assertEqual(pm.messages_received(ch), 1, 'messages_received() after one');
    assertEqual(pm.queue_size(ch), 1, 'queue_size() after one');

    // An unsolicited reply is delivered, but does not count as a reply.
    pm.send_reply(str('unsolicited'), null);
    assertEqual(rm.receive_blocking(null, null).unpack(), 'unsolicited', 'unsolicited reply');
    assertEqual(rm.replies_received(null), 0, 'replies_received() after an unsolicited reply');
    assertEqual(rm.remaining(null), 0, 'remaining() never goes below zero');
});

test('/Coproc/Messenger/channels', () => {
    const [pm, rm] = newPair();
    const a = int32(1);
    const b = str('b');

    rm.send_norequest(str('on a'), a);
    rm.send_norequest(str('on b'), b);
    rm.send_norequest(str('on default'), null);
    // Same value, other type: another channel.
    rm.send_norequest(str('on int64 1'), new GLib.Variant('x', 1));

    assertEqual(pm.available(null), 1, 'available() on the default channel');
    assertEqual(pm.available(a), 1, 'available(a)');
    assertEqual(pm.available(int32(1)), 1, 'an equal variant is the same channel');
    assertEqual(pm.available(new GLib.Variant('x', 1)), 1, 'available(int64 1)');
    assertEqual(pm.available(str('nothing here')), 0, 'available() on an unused channel');

    assertEqual(pm.receive_blocking(b, null).unpack(), 'on b', 'channel b');
    assertEqual(pm.receive_blocking(a, null).unpack(), 'on a', 'channel a');
    assertEqual(pm.receive_blocking(null, null).unpack(), 'on default', 'default channel');
    assertDeepEqual(pm.receive_available(new GLib.Variant('x', 1)).map(v => v.unpack()),
        ['on int64 1'], 'receive_available(int64 1)');
    assertDeepEqual(pm.receive_available(a), [], 'receive_available() when dry');

    // Structured channel ids work too.
    const tuple = new GLib.Variant('(si)', ['worker', 3]);
    rm.send_norequest(str('structured'), tuple);
    const message = pm.receive_message_blocking(new GLib.Variant('(si)', ['worker', 3]), null);
    assertVariant(message.channel_id, tuple, 'message channel_id');
    assertEqual(message.payload.unpack(), 'structured', 'message payload');
});

test('/Coproc/PriorityMessenger/priorities', () => {
    const [pm, rm] = newPair();
    const K = Coproc.MessageKind;

    for (let i = 0; i < 3; i++) {
        rm.send_norequest(new GLib.Variant('a{sv}', {
            text: str(`low ${i}`), priority: int32(1),
        }), null);
        rm.send_norequest(new GLib.Variant('a{sd}', {priority: 0}), null);
        rm.send_with_priority(K.NOREQUEST, str(`high ${i}`), null, -1);
    }
    rm.send_norequest(str('no priority'), null);

    const order = pm.receive_available(null).map(v => {
        const u = v.recursiveUnpack();
        return u.text ?? u;
    });
    assertDeepEqual(order, [
        'high 0', 'high 1', 'high 2',
        {priority: 0}, {priority: 0}, {priority: 0},
        'low 0', 'low 1', 'low 2',
        'no priority',
    ], 'receive order');

    rm.send_with_priority(K.REQUEST, str('prio request'), null, 7.5);
    const message = pm.receive_message_blocking(null, null);
    assertEqual(message.priority, 7.5, 'message priority');
    assertTrue(message.request_reply, 'request_reply');
    assertEqual(rm.remaining(null), 1, 'send_with_priority(REQUEST) counts a request');

    rm.send_norequest(str('default priority'), null);
    assertEqual(pm.receive_message_blocking(null, null).priority, Infinity,
        'the default priority is +inf');
});

test('/Coproc/MultiMessenger/fifo', () => {
    const [pm, rm] = newPair(Coproc.MultiMessenger);

    rm.send_with_priority(Coproc.MessageKind.NOREQUEST, str('first'), null, 10);
    rm.send_with_priority(Coproc.MessageKind.NOREQUEST, str('second'), null, 0);
    rm.send_norequest(new GLib.Variant('a{sv}', {priority: int32(-5)}), null);

    const order = pm.receive_available(null).map(v => v.recursiveUnpack());
    assertDeepEqual(order, ['first', 'second', {priority: -5}], 'priorities are ignored');
});

test('/Coproc/Messenger/receive-async', async () => {
    const [pm, rm] = newPair();
    const ch = str('async');

    // Nothing queued yet: the promise settles once the peer sends.
    const pending = pm.receive_async(ch, null);
    const pendingDefault = pm.receive_async(null, null);
    rm.send_norequest(str('default'), null);
    rm.send_norequest(str('first'), ch);
    rm.send_norequest(str('second'), ch);

    assertEqual((await pending).unpack(), 'first', 'receive_async() on a channel');
    assertEqual((await pendingDefault).unpack(), 'default', 'receive_async() on the default channel');
    assertEqual((await pm.receive_async(ch, null)).unpack(), 'second', 'a queued message');

    // Pending receives on one channel are served in call order.
    const promises = [0, 1, 2].map(() => pm.receive_async(null, null));
    [10, 11, 12].forEach(i => rm.send_norequest(int32(i), null));
    const values = await Promise.all(promises);
    assertDeepEqual(values.map(v => v.unpack()), [10, 11, 12], 'call order');
});

test('/Coproc/Messenger/receive-message-async', async () => {
    const [pm, rm] = newPair();

    const pending = pm.receive_message_async(int32(2), null);
    rm.send_request(str('question'), int32(2));
    const message = await pending;
    assertTrue(message instanceof Coproc.Message, 'a Coproc.Message');
    assertEqual(message.payload.unpack(), 'question', 'payload');
    assertVariant(message.channel_id, int32(2), 'channel_id');
    assertTrue(message.request_reply, 'request_reply');
    assertFalse(message.is_reply, 'is_reply');
    assertEqual(message.kind, Coproc.MessageKind.REQUEST, 'kind');

    pm.send_reply(str('answer'), int32(2));
    const reply = await rm.receive_message_async(int32(2), null);
    assertTrue(reply.is_reply, 'is_reply of the reply');
    assertEqual(reply.channel_id.unpack(), 2, 'reply channel');
    assertEqual(rm.remaining(int32(2)), 0, 'remaining() after the reply');

    rm.send_norequest(str('plain'), null);
    const plain = await pm.receive_message_async(null, null);
    assertEqual(plain.channel_id, null, 'the default channel is null');
});

test('/Coproc/Messenger/receive-async-cancel', async () => {
    const [pm, rm] = newPair();
    const cancellable = new Gio.Cancellable();

    const pending = pm.receive_async(null, cancellable);
    cancellable.cancel();
    await assertRejects(pending, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'cancelled receive');

    // Nothing is lost to the cancellation.
    rm.send_norequest(str('after'), null);
    assertEqual((await pm.receive_async(null, null)).unpack(), 'after', 'next receive');
});

test('/Coproc/Messenger/message-received-consumes', async () => {
    const [pm, rm] = newPair();
    let calls = 0;
    const seen = [];

    // Signals are emitted when messages arrive while the main loop runs,
    // before anything else looks at them.
    const done = new Promise(resolve => {
        pm.connect('message-received', (_m, message) => {
            calls++;
            seen.push(message.payload.unpack());
            if (!message.request_reply)
                resolve();
            // Consume requests; leave everything else queued.
            return message.request_reply;
        });
    });

    rm.send_request(str('consumed'), null);
    rm.send_norequest(str('queued'), null);
    await done;

    assertDeepEqual(seen, ['consumed', 'queued'], 'the handler saw both, in order');
    assertEqual(pm.messages_received(null), 1, 'a consumed message counts as received');
    assertEqual(pm.available(null), 1, 'the unconsumed message is queued');
    assertEqual((await pm.receive_async(null, null)).unpack(), 'queued', 'unconsumed message');
    assertEqual(pm.messages_received(null), 2, 'messages_received() after the receive');
    assertEqual(calls, 2, 'one handler call per message');
});

test('/Coproc/Messenger/message-received-reply-counts', async () => {
    const [pm, rm] = newPair();

    rm.send_request(str('ping'), int32(5));
    const [request] = await nextSignal(pm, 'message-received', true);
    assertEqual(request.payload.unpack(), 'ping', 'request payload');

    pm.send_reply(str('pong'), int32(5));
    const [reply] = await nextSignal(rm, 'message-received', true);
    assertTrue(reply.is_reply, 'is_reply');
    assertEqual(rm.remaining(int32(5)), 0, 'a consumed reply counts as a reply');
    assertEqual(rm.replies_received(int32(5)), 1, 'replies_received()');
    assertEqual(rm.available(int32(5)), 0, 'the reply is not queued');
});

test('/Coproc/Messenger/close-request', async () => {
    const [pm, rm] = newPair();

    // Without a handler, the next receive call fails with CLOSE_REQUESTED,
    // ahead of data sent before it.
    rm.send_norequest(str('data'), null);
    rm.send_close_request();
    const e = assertThrows(() => pm.receive_blocking(null, null),
        Coproc.Error, Coproc.Error.CLOSE_REQUESTED, 'receive after a close request');
    assertTrue(e.matches(Coproc.error_quark(), Coproc.Error.CLOSE_REQUESTED), 'matches the quark');
    assertEqual(pm.receive_blocking(null, null).unpack(), 'data', 'the data is kept');

    // An async receive is rejected the same way.
    rm.send_close_request();
    await assertRejects(pm.receive_async(null, null),
        Coproc.Error, Coproc.Error.CLOSE_REQUESTED, 'async receive after a close request');

    // A handler that returns true consumes it.
    const handled = nextSignal(pm, 'close-requested', true);
    rm.send_close_request();
    rm.send_norequest(str('still open'), null);
    await handled;
    assertEqual((await pm.receive_async(null, null)).unpack(), 'still open', 'next message');
});

test('/Coproc/Messenger/remote-error', async () => {
    const [pm, rm] = newPair();

    // Domain, code and message are kept, for GLib's domains ...
    pm.send_error(new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND, 'no such thing'));
    let e = assertThrows(() => rm.available(null),
        Gio.IOErrorEnum, Gio.IOErrorEnum.NOT_FOUND, 'remote GIO error');
    assertEqual(e.message, 'no such thing', 'message');

    // ... but coproc's own codes, which say what this side saw of its
    // connection, arrive as a message from the peer ...
    pm.send_error(new GLib.Error(Coproc.Error, Coproc.Error.PROTOCOL, 'made up'));
    e = await assertRejects(rm.receive_async(null, null), Coproc.Error,
        Coproc.Error.MESSAGE_NOT_RECOGNIZED, 'remote coproc error');
    assertEqual(e.message.includes('made up'), true, 'remote coproc error message');

    // ... and for an application's domain, by name.
    const appError = GLib.quark_from_string('my-app-error-quark');
    pm.send_error(new GLib.Error(appError, 42, 'custom'));
    e = assertThrows(() => rm.receive_available(null), appError, 42, 'remote custom error');
    assertEqual(GLib.quark_to_string(e.domain), 'my-app-error-quark', 'domain name');
    assertEqual(e.message, 'custom', 'custom message');

    // The error-received signal can consume it, when it arrives while the
    // main loop runs.
    let calls = 0;
    const signalled = new Promise(resolve => {
        rm.connect('error-received', (_m, error) => {
            calls++;
            resolve(error);
            return true;
        });
    });
    pm.send_error(new GLib.Error(appError, 7, 'handled'));
    pm.send_norequest(str('after the error'), null);
    e = await signalled;
    assertTrue(e.matches(appError, 7), 'error-received error');
    assertEqual(e.message, 'handled', 'error-received message');
    assertEqual((await rm.receive_async(null, null)).unpack(), 'after the error',
        'a consumed error does not fail the next receive');
    assertEqual(calls, 1, 'error-received calls');
});

test('/Coproc/Messenger/closed', async () => {
    const [pm, rm] = newPair();
    let calls = 0;

    rm.send_norequest(str('last'), null);
    const closed = new Promise(resolve => pm.connect('closed', (_m, error) => {
        calls++;
        resolve(error);
    }));
    rm.close();

    assertEqual((await pm.receive_async(null, null)).unpack(), 'last', 'data before the hang-up');
    await assertRejects(pm.receive_async(null, null), Coproc.Error, Coproc.Error.CLOSED,
        'receive after the hang-up');
    assertEqual(await closed, null, 'a clean hang-up has no error');
    assertTrue(pm.is_closed(), 'is_closed()');
    assertThrows(() => pm.send_norequest(str('x'), null), Coproc.Error, Coproc.Error.CLOSED,
        'send after the hang-up');
    await idle();
    assertEqual(calls, 1, 'closed is emitted once');
});

test('/Coproc/Messenger/idle-with-pending-error-after-hang-up', async () => {
    const [pm, rm] = newPair();

    // The peer sends an error, more data, and hangs up. Nothing handles the
    // error, so it waits for the next receive call.
    rm.send_error(new GLib.Error(Gio.IOErrorEnum, Gio.IOErrorEnum.FAILED, 'left behind'));
    rm.send_norequest(str('after'), null);
    rm.close();
    await idle(GLib.PRIORITY_DEFAULT);

    // Meanwhile the main context has nothing to do: the watch must not
    // dispatch over and over for the hang-up it cannot act on yet.
    const context = GLib.MainContext.default();
    let dispatches = 0;
    while (dispatches < 1000 && context.iteration(false))
        dispatches++;
    assertTrue(dispatches < 1000, `the main context goes idle (${dispatches} dispatches)`);

    // Everything is still delivered, in order.
    const e = assertThrows(() => pm.available(null), Gio.IOErrorEnum, Gio.IOErrorEnum.FAILED,
        'the pending error');
    assertEqual(e.message, 'left behind', 'its message');
    assertEqual(pm.receive_blocking(null, null).unpack(), 'after', 'the data behind it');
    assertThrows(() => pm.receive_blocking(null, null), Coproc.Error, Coproc.Error.CLOSED,
        'then the hang-up');
});

run();
