# test_worker_resource.py: Coproc.WorkerResource from Python
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test_workerresource_basic is the original library's test line for line;
# its `time.sleep(0.3)` waits became waits for the messages themselves.

import os
import signal
import subprocess
import sys

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402

import workers  # noqa: E402
from helpers import wait_queued  # noqa: E402
from workers import echo_process  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def test_workerresource_basic():

    with Coproc.WorkerResource(echo_process) as w:
        v = 'Hello, world!'
        w.messenger.send_norequest(v)
        assert(v == w.messenger.receive_blocking())

        n = 10
        for i in range(n):
            w.messenger.send_norequest(i)
            print(f'{w.messenger.available()=} {w.messenger.remaining()=}')
        assert(w.messenger.remaining() == 0)
        wait_queued(w.messenger, n)  # was: time.sleep(0.3)
        assert(w.messenger.available() == n)
        assert(w.messenger.receive_available() == list(range(n)))

        for i in range(n):
            w.messenger.send_request(i)
            assert(w.messenger.remaining() == i + 1)
        assert(w.messenger.remaining() == n)
        wait_queued(w.messenger, n)  # was: time.sleep(0.3)
        assert(w.messenger.available() == n)
        result = list(w.messenger.receive_remaining())
        print(result)
        assert(result == list(range(n)))


def test_function_target_in_test_module():
    # Targets may live in the test module itself: the worker imports it.
    with Coproc.WorkerResource(reverse_process) as w:
        w.messenger.send_request('abc')
        assert w.messenger.receive_blocking() == 'cba'


def reverse_process(messenger):
    while True:
        messenger.send_reply(messenger.receive_blocking()[::-1])


def test_class_target():
    # A class is made with the messenger, then called.
    with Coproc.WorkerResource(workers.EchoProcess) as w:
        w.messenger.send_request('x')
        assert w.messenger.receive_blocking() == 'x'
        assert w.messenger.remaining() == 0


def test_worker_process_type_keyword():
    # The keyword of the original library's first WorkerResource.
    with Coproc.WorkerResource(worker_process_type=workers.EchoProcess,
                               messenger_type=Coproc.PriorityMessenger) as w:
        w.messenger.send_request('y')
        assert w.messenger.receive_blocking() == 'y'


def test_start_kwargs_class():
    w = Coproc.WorkerResource(workers.EchoProcess)
    w.start(suffix='!')
    try:
        w.messenger.send_request('hey')
        assert w.messenger.receive_blocking() == 'hey!'
    finally:
        w.join()
    assert not w.is_alive()


def test_start_kwargs_function():
    kwargs = {'text': 'é', 'number': -(2**63), 'big': 2**64 - 1, 'ratio': 0.1,
              'flag': False, 'nothing': None, 'raw': bytes(range(256)),
              'nested': [{'a': (1, 'b')}, [], ()], 'keys': {7: 'seven'}}
    w = Coproc.WorkerResource(workers.send_kwargs)
    w.start(**kwargs)
    assert w.messenger.receive_blocking() == kwargs

    # A second start gets its own arguments.
    w.join(check_alive=False)
    w.start(only='this')
    assert w.messenger.receive_blocking() == {'only': 'this'}
    w.join(check_alive=False)


def test_start_kwargs_too_large():
    w = Coproc.WorkerResource(workers.send_kwargs)
    with pytest.raises(ValueError):
        w.start(data=b'x' * (1024 * 1024))
    assert not w.is_alive()


def test_messenger_type():
    with Coproc.WorkerResource(workers.send_messenger_type, Coproc.MultiMessenger) as w:
        assert isinstance(w.messenger, Coproc.MultiMessenger)
        assert w.messenger.receive_blocking() == 'CoprocMultiMessenger'

    with Coproc.WorkerResource(workers.send_messenger_type) as w:
        assert isinstance(w.messenger, Coproc.PriorityMessenger)
        assert w.messenger.receive_blocking() == 'CoprocPriorityMessenger'


def test_python_messenger_type():
    # A messenger class defined in Python (a user-defined queue) is made in
    # the worker too.
    with Coproc.WorkerResource(workers.send_messenger_type,
                               messenger_type=workers.ShortestFirstMessenger) as w:
        assert isinstance(w.messenger, workers.ShortestFirstMessenger)
        assert w.messenger.receive_blocking().endswith('ShortestFirstMessenger')


def test_argv_target():
    # Any program can be a worker; here a Python one written by hand.
    program = ('import gi; gi.require_version("Coproc", "1.0"); '
               'from gi.repository import Coproc; '
               'm = Coproc.PriorityMessenger.new_for_host(); '
               'm.send_reply(m.receive_blocking() * 2); m.close()')
    with Coproc.WorkerResource([sys.executable, '-c', program]) as w:
        w.messenger.send_request(21)
        assert w.messenger.receive_blocking() == 42

    with pytest.raises(TypeError):
        Coproc.WorkerResource([sys.executable, '-c', program]).start(x=1)


def test_attributes_before_and_after_start():
    w = Coproc.WorkerResource(workers.quiet_echo)
    with pytest.raises(AttributeError, match=r"start\(\)"):
        w.messenger
    assert w.pid == 0
    assert not w.is_alive()
    w.start()
    assert w.pid > 0
    assert w.is_alive()
    assert isinstance(w.messenger, Coproc.PriorityMessenger)
    with pytest.raises(Coproc.WorkerIsAlreadyAliveError) as info:
        w.start()
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.WORKER_ALREADY_ALIVE)
    w.join()
    assert w.pid == 0
    assert not w.is_alive()
    with pytest.raises(Coproc.WorkerIsAlreadyDeadError):
        w.join()
    with pytest.raises(Coproc.WorkerIsAlreadyDeadError):
        w.terminate()
    w.join(check_alive=False)
    w.terminate(check_alive=False)


def test_context_manager_when_worker_already_ended():
    with Coproc.WorkerResource(workers.send_and_return) as w:
        assert [w.messenger.receive_blocking() for _ in range(3)] == [0, 1, 2]
        with pytest.raises(GLib.Error) as info:
            w.messenger.receive_blocking()
        assert info.value.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)
        while w.is_alive():
            pass
    assert not w.is_alive()


def test_context_manager_when_worker_was_killed():
    with Coproc.WorkerResource(workers.quiet_echo) as w:
        os.kill(w.pid, signal.SIGKILL)
        with pytest.raises(GLib.Error) as info:
            w.messenger.receive_blocking()
        assert info.value.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)
    assert not w.is_alive()


def test_context_manager_exit_waits_for_the_worker():
    with Coproc.WorkerResource(workers.wait_forever) as w:
        pid = w.pid
    assert not w.is_alive()
    # The process is gone and reaped: signalling it fails.
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_context_manager_kills_a_worker_that_does_not_end():
    w = Coproc.WorkerResource(workers.ignore_sigterm)
    w.exit_timeout = 0.5
    with w:
        assert w.messenger.receive_blocking() == 'ready'
    assert not w.is_alive()


def test_context_manager_does_not_swallow_exceptions():
    with pytest.raises(KeyError):
        with Coproc.WorkerResource(workers.quiet_echo) as w:
            raise KeyError('from the with block')
    assert not w.is_alive()


def test_pending_receive_fails_when_worker_is_killed():
    w = Coproc.WorkerResource(workers.quiet_echo)
    w.start()
    w.messenger.send_request('a')
    assert w.messenger.receive_blocking() == 'a'
    os.kill(w.pid, signal.SIGKILL)
    with pytest.raises(GLib.Error) as info:
        w.messenger.receive_blocking()
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)


def test_uncaught_builtin_exception_reaches_host():
    with Coproc.WorkerResource(workers.raise_value_error) as w:
        with pytest.raises(ValueError, match='^boom$'):
            w.messenger.receive_blocking()


def test_uncaught_custom_exception_reaches_host():
    # The host has the worker's module loaded: the class crosses as itself.
    with Coproc.WorkerResource(workers.raise_custom_error) as w:
        with pytest.raises(workers.CustomError, match='^custom failure$'):
            w.messenger.receive_blocking()


def exit_status(resource, loop):
    '''Waits for the exited signal of a started resource; returns the
    process's exit code.'''
    statuses = []

    def on_exited(resource, status):
        statuses.append(status)
        loop.quit()

    resource.connect('exited', on_exited)
    loop.run()
    assert len(statuses) == 1
    assert os.WIFEXITED(statuses[0])
    return os.WEXITSTATUS(statuses[0])


def test_exit_status_close_request(loop):
    # A worker that ends with ResourceRequestedClose exits with status 0.
    w = Coproc.WorkerResource(workers.quiet_echo)
    w.start()
    w.messenger.send_close_request()
    assert exit_status(w, loop) == 0


def test_exit_status_exception(loop, capfd):
    w = Coproc.WorkerResource(workers.raise_value_error)
    w.start()
    assert exit_status(w, loop) == 1
    assert 'ValueError: boom' in capfd.readouterr().err


def test_exit_status_sys_exit(loop):
    w = Coproc.WorkerResource(workers.exit_with_status)
    w.start(status=3)
    assert exit_status(w, loop) == 3


def test_worker_prints_nothing_unexpected(capfd):
    w = Coproc.WorkerResource(workers.quiet_echo)
    w.start()
    w.messenger.send_request('quiet')
    assert w.messenger.receive_blocking() == 'quiet'
    w.join()
    out, err = capfd.readouterr()
    assert out == ''
    assert err == ''


def test_worker_output_is_line_buffered(capfd):
    # echo_process prints a line per message; it shows even though the
    # worker is killed at the end.
    with Coproc.WorkerResource(echo_process) as w:
        w.messenger.send_norequest('ping')
        assert w.messenger.receive_blocking() == 'ping'
        pid = w.pid
    out = capfd.readouterr().out
    assert f'Starting process {pid}\n' in out
    assert f'process {pid} received: ping\n' in out


def test_large_bytes_round_trip():
    # 16 MiB each way through a Python worker.
    data = bytes(range(256)) * (16 * 1024 * 1024 // 256)
    with Coproc.WorkerResource(workers.quiet_echo) as w:
        w.messenger.send_request(data)
        echoed = w.messenger.receive_blocking()
    assert type(echoed) is bytes
    assert echoed == data


def test_targets_that_cannot_be_imported():
    def local_function(messenger):
        pass

    with pytest.raises(ValueError):
        Coproc.WorkerResource(local_function)
    with pytest.raises(ValueError):
        Coproc.WorkerResource(lambda messenger: None)
    with pytest.raises(TypeError):
        Coproc.WorkerResource(42)
    with pytest.raises(TypeError):
        Coproc.WorkerResource([])


def test_main_script_targets():
    # Targets defined in a script run as __main__, as with multiprocessing.
    result = subprocess.run([sys.executable, os.path.join(HERE, 'main_script.py')],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == 'function: HELLO\nclass: hello world\nkwargs: 42\n'
    assert result.stderr == ''


def test_stats():
    w = Coproc.WorkerResource(workers.quiet_echo)
    assert w.stats() is None
    with w:
        # Answered: the worker has started Python and imported gi.
        w.messenger.send_request('up?')
        assert w.messenger.receive_blocking() == 'up?'
        stats = w.stats()
        assert stats['pid'] == w.pid
        assert stats['processes'] >= 1
        assert stats['rss-bytes'] > 0
        assert stats['user-seconds'] + stats['system-seconds'] > 0
    assert w.stats() is None
