# test_requests.py: correlated requests from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402

import workers  # noqa: E402


def wait_future(future, context=None):
    context = context or GLib.MainContext.default()
    source = GLib.timeout_source_new_seconds(20)
    source.set_callback(lambda *args: pytest.fail('the request did not complete'))
    source.attach(context)
    try:
        while not future.done():
            context.iteration(True)
    finally:
        source.destroy()
    return future.result()


def test_request_returns_its_own_reply():
    host, worker = Coproc.PriorityMessenger.new_pair()
    first = host.request_async('first')
    second = host.request_async({'second': 2})

    requests = [worker.receive_message_blocking() for _ in range(2)]
    # The reply goes on the channel of its request.
    on_channel = host.request_async('third', ('a', 'channel'))
    third = worker.receive_message_blocking(('a', 'channel'))
    third.reply('answer to third')
    assert wait_future(on_channel) == 'answer to third'

    assert [r.payload for r in requests] == ['first', {'second': 2}]
    # Answered in the other order: each call gets the reply to its request.
    requests[1].reply('answer to second')
    requests[0].reply('answer to first')

    assert wait_future(second) == 'answer to second'
    assert wait_future(first) == 'answer to first'
    assert host.remaining() == 0
    assert host.queue_size() == 0


def test_reply_error_fails_that_request_only():
    host, worker = Coproc.PriorityMessenger.new_pair()
    failing = host.request_async('x')
    working = host.request_async('y')

    x, y = worker.receive_message_blocking(), worker.receive_message_blocking()
    worker.reply_error(x, ValueError('no x'))
    worker.reply_to(y, 'yes y')

    with pytest.raises(ValueError, match='no x'):
        wait_future(failing)
    assert wait_future(working) == 'yes y'


def test_message_received_handler_answers():
    host, worker = Coproc.PriorityMessenger.new_pair()

    def on_message(messenger, message):
        message.reply([message.payload, 'seen'])
        return True

    worker.connect('message-received', on_message)
    assert wait_future(host.request_async(7)) == [7, 'seen']


def test_only_requests_can_be_answered():
    host, worker = Coproc.PriorityMessenger.new_pair()
    host.send_norequest('plain')
    message = worker.receive_message_blocking()
    assert message.dup_messenger() is None
    with pytest.raises(ValueError, match='only a received request'):
        message.reply('no')


def test_request_to_a_worker():
    with Coproc.WorkerResource(workers.answer_requests) as w:
        assert w.messenger.request(21) == 42
        assert w.messenger.request('ab') == 'abab'
        with pytest.raises(KeyError):
            w.messenger.request('bad')
        # The messenger stays usable after a request failed.
        assert w.messenger.request([1]) == [1, 1]
        assert w.messenger.requests_sent() == 4
        assert w.messenger.remaining() == 0


def test_request_fails_when_the_worker_dies():
    with Coproc.WorkerResource(workers.wait_forever) as w:
        future = w.messenger.request_async('never answered')
        os.kill(w.pid, signal.SIGKILL)
        with pytest.raises(GLib.Error) as raised:
            wait_future(future)
        assert raised.value.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)
