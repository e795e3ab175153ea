# workers.py: worker targets for the tests of Coproc.WorkerResource
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Worker targets shared by the tests. They live in a small module so that
worker processes import little."""

import dataclasses
import os
import signal
import sys

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc, GLib  # noqa: E402


def echo_process(messenger: Coproc.PriorityMessenger):
    '''Process that sends back the same data it receives.'''
    print(f'Starting process {os.getpid()}')
    while True:
        data_msg = messenger.receive_message_blocking()
        print(f'process {os.getpid()} received: {data_msg.payload}')
        if data_msg.request_reply:
            messenger.send_reply(data_msg.payload)
        else:
            messenger.send_norequest(data_msg.payload)


def quiet_echo(messenger):
    '''Echoes requests until the host asks it to close; prints nothing.'''
    while True:
        messenger.send_reply(messenger.receive_blocking())


def send_kwargs(messenger, **kwargs):
    '''Sends its keyword arguments back, then ends.'''
    messenger.send_norequest(kwargs)


def send_and_return(messenger):
    '''Sends three messages and ends at once.'''
    for i in range(3):
        messenger.send_norequest(i)


def raise_value_error(messenger):
    '''Fails with a built-in exception.'''
    raise ValueError('boom')


def raise_custom_error(messenger):
    '''Fails with an exception that is not built in.'''
    raise CustomError('custom failure')


def wait_forever(messenger):
    '''Waits on a channel nobody sends on, until it is closed or killed.'''
    messenger.receive_blocking('never')


def ignore_sigterm(messenger):
    '''Ignores SIGTERM and close requests: only SIGKILL ends it.'''
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    messenger.send_norequest('ready')
    while True:
        signal.pause()


def exit_with_status(messenger, status):
    '''Ends with sys.exit().'''
    sys.exit(status)


def send_messenger_type(messenger):
    '''Sends the name of its messenger's type.'''
    messenger.send_norequest(type(messenger).__gtype__.name)


class CustomError(Exception):
    pass


@dataclasses.dataclass
class EchoProcess(Coproc.BaseWorkerProcess):
    '''Process that sends back the same data it receives, as a class.'''
    suffix: str = ''

    def __call__(self):
        while True:
            data = self.messenger.receive_blocking()
            self.messenger.send_reply(data + self.suffix)


class ShortestFirstMessenger(Coproc.Messenger):
    '''A messenger with a user-defined queue: shortest payloads first.'''

    def do_queue_message(self, message):
        self.enqueue(message, len(message.payload))


def answer_requests(messenger):
    '''Answers each request by itself: doubled, or with KeyError for 'bad'.'''
    while True:
        message = messenger.receive_message_blocking()
        if message.payload == 'bad':
            message.reply_error(KeyError('bad'))
        else:
            message.reply(message.payload * 2)


# Functions for Coproc.Pool: each runs on one item.

def square(x):
    '''The square of x; CustomError for a negative x.'''
    if x < 0:
        raise CustomError('negative: %d' % x)
    return x * x


def describe(a, b, *, sep='-'):
    '''Its arguments, joined.'''
    return '%s%s%s' % (a, sep, b)


def worker_pid(x):
    '''The process that ran it.'''
    return os.getpid()


def identity(x):
    '''x itself.'''
    return x


def stop_at_zero(x):
    '''x; StopIteration for 0.'''
    if x == 0:
        raise StopIteration('zero')
    return x


def unsendable(x):
    '''A result that cannot be sent.'''
    return {x}


def crash_once(path):
    '''Kills its own worker the first time it runs for path, then returns.'''
    if not os.path.exists(path):
        with open(path, 'w'):
            pass
        os.kill(os.getpid(), signal.SIGKILL)
    return 'ran again'


def write_to_passed_fds(messenger):
    """Writes its index into each descriptor a message brings, and answers
    with what a passed memfd holds (a handle in the payload names it)."""
    while True:
        try:
            message = messenger.receive_message_blocking()
        except GLib.Error:
            return
        fds = message.fds
        text_handle, pipe_handles = message.payload
        # The sender's file offset is shared: read from the start.
        text = os.pread(fds[text_handle], 4096, 0).decode()
        for i, handle in enumerate(pipe_handles):
            os.write(fds[handle], b'pipe %d' % i)
        for fd in fds:
            os.close(fd)
        message.reply(text.upper())


# Functions for the sandbox tests: each says what it could do.

def try_connect(port):
    '''Tries a TCP connection to 127.0.0.1:port.'''
    import socket
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=5):
            return 'connected'
    except OSError as error:
        return 'failed: %s' % error.strerror


def getenv(name):
    '''The worker's value of an environment variable, or None.'''
    return os.environ.get(name)


def try_create(path):
    '''Tries to create a file.'''
    try:
        with open(path, 'x') as f:
            f.write('sandboxed')
        return 'created'
    except OSError as error:
        return 'failed: %s' % error.strerror


def sandbox_probe(messenger):
    '''Answers requests (what, argument) with what the function of that
    name returns; for a WorkerResource.'''
    functions = {'connect': try_connect, 'getenv': getenv, 'create': try_create}
    while True:
        message = messenger.receive_message_blocking()
        what, argument = message.payload
        message.reply(functions[what](argument))
