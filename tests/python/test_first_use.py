# test_first_use.py: what a new user of the Python overrides runs into
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Clear errors for the usual first mistakes (a missing library, a worker
# target under the __main__ guard, a messenger used before start()), death
# reports that say how the worker ended, and how integer types travel
# through a Python echo.

import os
import signal
import subprocess
import sys

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402

IMPORT_COPROC = ("import gi; gi.require_version('Coproc', '1.0'); "
                 "from gi.repository import Coproc")


# Worker targets ---------------------------------------------------------------

def exit_after_hello(messenger, status):
    messenger.send_norequest('hello')
    messenger.flush()
    os._exit(status)


def hello_then_wait(messenger):
    messenger.send_norequest('hello')
    messenger.receive_blocking()


def plain_echo(messenger):
    while True:
        messenger.send_reply(messenger.receive_blocking())


def variant_echo(messenger):
    while True:
        messenger.send_reply(messenger.receive_message_blocking().get_payload())


# A missing library -------------------------------------------------------------

def test_missing_shared_library_is_named():
    env = dict(os.environ)
    library_dirs = env.pop('LD_LIBRARY_PATH', '')
    result = subprocess.run([sys.executable, '-c', IMPORT_COPROC], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=60)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith('ImportError: The Coproc typelib ')
    assert 'not its shared library libcoproc-1.0.so.0' in last_line
    assert 'AssertionError' not in result.stderr
    # It names the directory of the library, the one the tests use.
    expected_dir = library_dirs.split(os.pathsep)[0]
    assert 'set LD_LIBRARY_PATH to %s ' % os.path.abspath(expected_dir) in last_line


# Targets under the __main__ guard ---------------------------------------------

GUARDED_SCRIPT = '''\
import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc


def top_level(messenger):
    messenger.send_norequest('top level')


if __name__ != '__main__':
    pass
else:
    def in_negated_guard(messenger):
        pass

redefined = top_level

if __name__ == '__main__':
    def guarded(messenger):
        pass

    class GuardedProcess(Coproc.BaseWorkerProcess):
        def __call__(self):
            pass

    def redefined(messenger):
        messenger.send_norequest('redefined')

    for target in (guarded, GuardedProcess, in_negated_guard):
        try:
            Coproc.WorkerResource(target)
        except ValueError as error:
            print(error)
        else:
            print('accepted', target.__qualname__)

    # Also bound outside the guard: the worker finds it.
    with Coproc.WorkerResource(top_level) as w:
        print(w.messenger.receive_blocking())
    Coproc.WorkerResource(redefined)
    print('done')
'''


def test_target_under_main_guard_is_refused(tmp_path):
    script = tmp_path / 'guarded.py'
    script.write_text(GUARDED_SCRIPT)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5, result.stdout
    for line, name in zip(lines, ['guarded', 'GuardedProcess', 'in_negated_guard']):
        assert line == ('The worker target %s is defined under "if __name__ == \'__main__\':", '
                        'which the worker does not run: define it at the top level of %s, '
                        'outside that block' % (name, script))
    assert lines[3:] == ['top level', 'done']
    assert result.stderr == ''


# The messenger before start() -------------------------------------------------

def test_messenger_before_start_names_start():
    w = Coproc.WorkerResource(plain_echo)
    with pytest.raises(AttributeError) as info:
        w.messenger.receive_blocking()
    assert 'call start() first' in str(info.value)
    assert w.props.messenger is None
    w.start()
    assert isinstance(w.messenger, Coproc.Messenger)
    w.join()
    # The last worker's messenger stays readable.
    assert isinstance(w.messenger, Coproc.Messenger)


# Death reports ------------------------------------------------------------------

def _start_dying_worker(how):
    # A worker that says hello, then exits with status 3 or waits to be
    # killed; and the message of its death.
    if how == 'exit':
        w = Coproc.WorkerResource(exit_after_hello)
        w.start(status=3)
        return w, 'Worker process %d exited with status 3' % w.pid
    w = Coproc.WorkerResource(hello_then_wait)
    w.start()
    return w, 'Worker process %d was killed by signal %d (%s)' % (
        w.pid, signal.SIGKILL, signal.strsignal(signal.SIGKILL))


@pytest.mark.parametrize('how', ['exit', 'kill'])
def test_death_report_blocking(how):
    w, expected = _start_dying_worker(how)
    assert w.messenger.receive_blocking() == 'hello'
    if how == 'kill':
        os.kill(w.pid, signal.SIGKILL)
    with pytest.raises(GLib.Error) as info:
        w.messenger.receive_blocking()
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)
    assert info.value.message == expected
    w.join(check_alive=False)


@pytest.mark.parametrize('how', ['exit', 'kill'])
def test_death_report_async(loop, how):
    w, expected = _start_dying_worker(how)
    results = []

    def on_receive(messenger, result):
        try:
            results.append(messenger.receive_finish(result))
        except GLib.Error as error:
            results.append(error)
            loop.quit()
            return
        if how == 'kill':
            os.kill(w.pid, signal.SIGKILL)
        messenger.receive_async(None, None, on_receive)

    w.messenger.receive_async(None, None, on_receive)
    loop.run()
    assert results[0] == 'hello'
    assert len(results) == 2
    assert results[1].matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)
    assert results[1].message == expected
    w.join(check_alive=False)


# Integer types through a Python echo --------------------------------------------

def test_python_echo_of_int32():
    # Plain values lose their GVariant type: every integer comes back as
    # an int64 ("x"). Echoing the received variant keeps it.
    sent = GLib.Variant('i', 7)
    with Coproc.WorkerResource(plain_echo) as w:
        w.messenger.send_request(sent)
        reply = w.messenger.receive_message_blocking()
        assert reply.payload == 7
        assert reply.get_payload().get_type_string() == 'x'

    with Coproc.WorkerResource(variant_echo) as w:
        w.messenger.send_request(sent)
        reply = w.messenger.receive_message_blocking()
        assert reply.payload == 7
        assert reply.get_payload().get_type_string() == 'i'

