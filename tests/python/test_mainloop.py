# test_mainloop.py: messengers and workers from a GLib.MainLoop
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, Gio, GLib  # noqa: E402

import workers  # noqa: E402


def test_message_received_signal(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    seen = []

    def on_message(messenger, message):
        assert messenger is pm
        seen.append((message.payload, message.channel_id, message.request_reply))
        if len(seen) == 3:
            loop.quit()
        # Consume requests only; the rest stays queued.
        return message.request_reply

    pm.connect('message-received', on_message)
    rm.send_request([1, 'a'], channel_id=5)
    rm.send_norequest({'k': b'v'})
    rm.send_request(None)
    loop.run()

    assert seen == [([1, 'a'], 5, True), ({'k': b'v'}, None, False), (None, None, True)]
    assert pm.available(5) == 0
    assert pm.messages_received(5) == 1
    assert pm.receive_available() == [{'k': b'v'}]


def test_error_and_close_signals(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    errors = []
    closes = []

    def on_error(messenger, error):
        errors.append(Coproc.exception_from_error(error))
        return True

    def on_close(messenger):
        closes.append(True)
        loop.quit()
        return True

    pm.connect('error-received', on_error)
    pm.connect('close-requested', on_close)
    rm.send_error(KeyError('handled'))
    rm.send_close_request()
    loop.run()

    assert len(errors) == 1
    assert type(errors[0]) is KeyError and errors[0].args == ('handled',)
    assert closes == [True]
    # Both were consumed by the handlers.
    assert pm.available() == 0


def test_closed_signal(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    closed = []

    def on_closed(messenger, error):
        closed.append(error)
        loop.quit()

    pm.connect('closed', on_closed)
    rm.close()
    loop.run()
    assert closed == [None]


def test_receive_async_callback(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    results = []

    def done(messenger, result, tag=None):
        results.append((tag, messenger.receive_finish(result)))
        if len(results) == 2:
            loop.quit()

    pm.receive_async('ch', None, done, 'first')
    pm.receive_async(channel_id='ch', callback=done)
    assert results == []
    rm.send_norequest({'n': 1}, 'ch')
    rm.send_norequest((2,), 'ch')
    loop.run()

    assert results == [('first', {'n': 1}), (None, (2,))]


def test_receive_async_callback_takes_user_data(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    results = []

    def done(messenger, result, a, b):
        results.append((messenger.receive_finish(result), a, b))
        loop.quit()

    pm.receive_async(None, None, done, 'a', 'b')
    rm.send_norequest(1)
    loop.run()
    assert results == [(1, 'a', 'b')]


def test_receive_message_async(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    messages = []

    def done(messenger, result):
        messages.append(messenger.receive_message_finish(result))
        loop.quit()

    pm.receive_message_async(2, callback=done)
    rm.send_request('req', 2)
    loop.run()

    assert len(messages) == 1
    assert (messages[0].payload, messages[0].channel_id, messages[0].request_reply) == \
        ('req', 2, True)


def test_receive_message_any(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest('low', 'a', priority=5)
    rm.send_norequest('high', 'b', priority=1)
    rm.send_norequest('default', priority=5)

    first = pm.receive_message_any()
    assert (first.payload, first.channel_id) == ('high', 'b')

    messages = []

    def done(messenger, result):
        messages.append(messenger.receive_message_any_finish(result))
        loop.quit()

    pm.receive_message_any_async(callback=done)
    loop.run()
    future = pm.receive_message_any_async()
    future.add_done_callback(lambda f: loop.quit())
    loop.run()
    assert [(m.payload, m.channel_id) for m in messages + [future.result()]] == \
        [('low', 'a'), ('default', None)]

    rm.close()
    with pytest.raises(GLib.Error) as info:
        pm.receive_message_any()
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.CLOSED)


def test_receive_async_future(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    future = pm.receive_async()
    message_future = pm.receive_message_async(channel_id='m')
    done = []

    def on_done(f):
        done.append(f)
        if len(done) == 2:
            loop.quit()

    future.add_done_callback(on_done)
    message_future.add_done_callback(on_done)
    assert not future.done()
    rm.send_norequest([b'x'])
    rm.send_norequest('y', 'm', priority=2)
    loop.run()

    assert future.result() == [b'x']
    assert message_future.result().payload == 'y'
    assert message_future.result().priority == 2


def test_receive_async_errors(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    futures = [pm.receive_async(), pm.receive_async()]
    futures[1].add_done_callback(lambda f: loop.quit())
    rm.send_error(ValueError('async boom'))
    rm.send_close_request()
    loop.run()

    with pytest.raises(ValueError, match='^async boom$'):
        futures[0].result()
    assert isinstance(futures[1].exception(), Coproc.ResourceRequestedClose)


def test_receive_async_cancelled(loop):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    cancellable = Gio.Cancellable()
    future = pm.receive_async(cancellable=cancellable)
    future.add_done_callback(lambda f: loop.quit())
    GLib.idle_add(cancellable.cancel)
    loop.run()

    with pytest.raises(GLib.Error) as info:
        future.result()
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)

    # Nothing was lost to the cancellation.
    rm.send_norequest('still here')
    assert pm.receive_blocking() == 'still here'


def test_worker_death_fails_pending_receive(loop):
    w = Coproc.WorkerResource(workers.quiet_echo)
    w.start()
    errors = []

    def done(messenger, result):
        try:
            messenger.receive_finish(result)
        except GLib.Error as error:
            errors.append(error)
        loop.quit()

    w.messenger.receive_async('nothing comes here', None, done)
    GLib.idle_add(os.kill, w.pid, signal.SIGKILL)
    loop.run()

    assert len(errors) == 1
    assert errors[0].matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)


def test_worker_with_signals_and_join_async(loop):
    w = Coproc.WorkerResource(workers.EchoProcess)
    w.start(suffix='?')
    replies = []
    events = []

    def on_message(messenger, message):
        replies.append(message.payload)
        if len(replies) == 3:
            w.join_async(None, on_joined)
        return True

    def on_joined(resource, result):
        events.append(('joined', resource.join_finish(result)))

    def on_exited(resource, status):
        events.append(('exited', os.WEXITSTATUS(status)))
        loop.quit()

    def on_alive(resource, pspec):
        events.append(('alive', resource.props.alive))

    w.messenger.connect('message-received', on_message)
    w.connect('exited', on_exited)
    w.connect('notify::alive', on_alive)
    w.messenger.send_request_multiple(['a', 'b', 'c'])
    loop.run()

    assert replies == ['a?', 'b?', 'c?']
    assert w.messenger.remaining() == 0
    assert sorted(events) == [('alive', False), ('exited', 0), ('joined', True)]
    assert not w.is_alive()
