# test_fds.py: messages with file descriptors, and requests with a
# priority, from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, Gio, GLib  # noqa: E402

import workers  # noqa: E402


def open_fd_count():
    return len(os.listdir('/proc/self/fd'))


def test_send_message_with_an_fd_list():
    host, worker = Coproc.PriorityMessenger.new_pair()
    before = open_fd_count()
    read_end, write_end = os.pipe()

    message = Coproc.Message.new(Coproc.MessageKind.NOREQUEST,
                                 ('write here', GLib.Variant('h', 0)))
    # new_from_array takes the descriptor: the list closes it.
    message.set_unix_fd_list(Gio.UnixFDList.new_from_array([write_end]))
    host.send_message(message)
    del message

    received = worker.receive_message_blocking()
    text, handle = received.payload
    assert text == 'write here' and handle == 0
    fds = received.get_unix_fd_list().steal_fds()
    assert len(fds) == 1
    os.write(fds[handle], b'through the pipe')
    os.close(fds[handle])
    del received
    assert os.read(read_end, 100) == b'through the pipe'
    assert os.read(read_end, 100) == b''     # no write end is left open
    os.close(read_end)
    assert open_fd_count() == before


def test_message_fds_helper_and_priority():
    host, worker = Coproc.PriorityMessenger.new_pair()
    before = open_fd_count()
    fds = []
    for priority in (3, 1, 2):
        fd = os.memfd_create('test')
        os.write(fd, b'priority %d' % priority)
        fds.append(fd)
        host.send_message(Coproc.Message.new(Coproc.MessageKind.NOREQUEST, priority, 1,
                                             priority=priority, fds=[fd]))
        os.close(fd)      # the message took a duplicate
    host.send_norequest('marker', 2)
    assert worker.receive_blocking(2) == 'marker'

    for expected in (1, 2, 3):
        received = worker.receive_message_blocking(1)
        assert received.priority == expected
        assert received.payload == expected
        [fd] = received.fds
        assert received.fds == [fd]             # the same list, taken once
        assert received.get_unix_fd_list().get_length() == 0
        assert os.pread(fd, 100, 0) == b'priority %d' % expected
        os.close(fd)
    assert open_fd_count() == before


def test_too_many_fds_refused():
    host, worker = Coproc.PriorityMessenger.new_pair()
    fd = os.memfd_create('test')
    message = Coproc.Message.new(Coproc.MessageKind.REQUEST, 1,
                                 fds=[fd] * (Coproc.MESSAGE_MAX_FDS + 1))
    os.close(fd)
    with pytest.raises(GLib.Error) as info:
        host.send_message(message)
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.INVALID_ARGUMENT)
    assert host.remaining() == 0


def test_stdio_worker_refuses_fds():
    with Coproc.WorkerResource(workers.quiet_echo, transport=Coproc.WorkerTransport.STDIO) as w:
        fd = os.memfd_create('test')
        message = Coproc.Message.new(Coproc.MessageKind.NOREQUEST, 1, fds=[fd])
        os.close(fd)
        with pytest.raises(GLib.Error) as info:
            w.messenger.send_message(message)
        assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_SUPPORTED)


def test_worker_uses_passed_fds():
    with Coproc.WorkerResource(workers.write_to_passed_fds) as w:
        memfd = os.memfd_create('text')
        os.write(memfd, b'read me')
        pipes = [os.pipe() for _ in range(Coproc.MESSAGE_MAX_FDS - 1)]
        request = Coproc.Message.new(
            Coproc.MessageKind.REQUEST,
            (GLib.Variant('h', 0), GLib.Variant('ah', list(range(1, len(pipes) + 1)))),
            fds=[memfd] + [write for _, write in pipes])
        os.close(memfd)
        for _, write in pipes:
            os.close(write)
        assert w.messenger.request(request) == 'READ ME'
        del request
        for i, (read, _) in enumerate(pipes):
            assert os.read(read, 100) == b'pipe %d' % i
            # Every copy of the write end is closed: ours, the message's,
            # the one in flight, the worker's.
            assert os.read(read, 100) == b''
            os.close(read)


def test_request_priority_taken_first():
    host, worker = Coproc.PriorityMessenger.new_pair()
    futures = [host.request_async(name, 1, priority=priority)
               for name, priority in (('low', 9), ('high', -1), ('middle', 4))]
    host.send_norequest('marker', 2)
    assert worker.receive_blocking(2) == 'marker'

    order = []
    for _ in futures:
        request = worker.receive_message_blocking(1)
        order.append(request.payload)
        request.reply(request.payload + ' done')
    assert order == ['high', 'middle', 'low']

    context = GLib.MainContext.default()
    while not all(f.done() for f in futures):
        context.iteration(True)
    assert [f.result() for f in futures] == ['low done', 'high done', 'middle done']


def test_request_priority_sync():
    with Coproc.WorkerResource(workers.answer_requests) as w:
        assert w.messenger.request('hello', priority=0) == 'hellohello'
