# test_sandbox.py: sandboxed Python workers, WorkerResource and Pool,
# under the real bubblewrap
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import socket
import tempfile

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, Gio, GLib  # noqa: E402

import workers  # noqa: E402

# The host's own session, as a desktop's would be; nothing of it may reach
# a sandboxed worker.
HOST_BUS = 'unix:path=/run/user/0/bus'


@pytest.fixture(autouse=True)
def session_environment(monkeypatch):
    assert shutil.which('bwrap'), 'bwrap is missing: install bubblewrap (tools/install-deps.sh)'
    monkeypatch.setenv('DBUS_SESSION_BUS_ADDRESS', HOST_BUS)
    monkeypatch.setenv('DISPLAY', ':0')


@pytest.fixture
def listener():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def accepted(sock):
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


@pytest.fixture
def outside_dir():
    # In /var/tmp: neither /tmp nor /run, which the sandbox replaces (the
    # build directory may be in /tmp).
    path = tempfile.mkdtemp(prefix='coproc-sandbox-py-', dir='/var/tmp')
    yield path
    shutil.rmtree(path)


def probe(worker, what, argument):
    return worker.messenger.request((what, argument))


def test_unsandboxed_probe_can_succeed(listener, outside_dir):
    with Coproc.WorkerResource(workers.sandbox_probe) as w:
        assert probe(w, 'connect', listener.getsockname()[1]) == 'connected'
        assert accepted(listener)
        assert probe(w, 'getenv', 'DBUS_SESSION_BUS_ADDRESS') == HOST_BUS
        assert probe(w, 'create', os.path.join(outside_dir, 'f')) == 'created'


@pytest.mark.parametrize('transport', [Coproc.WorkerTransport.SOCKET,
                                       Coproc.WorkerTransport.STDIO])
def test_worker_resource_runs_python_sandboxed(transport, listener, outside_dir):
    target = os.path.join(outside_dir, 'f')
    with Coproc.WorkerResource(workers.sandbox_probe, sandbox=Coproc.Sandbox.BWRAP,
                               transport=transport) as w:
        assert w.props.sandbox == Coproc.Sandbox.BWRAP
        assert probe(w, 'connect', listener.getsockname()[1]).startswith('failed: ')
        assert not accepted(listener)
        assert probe(w, 'getenv', 'DBUS_SESSION_BUS_ADDRESS') is None
        assert probe(w, 'getenv', 'DISPLAY') is None
        assert probe(w, 'create', target) == 'failed: Read-only file system'
        assert not os.path.exists(target)
        assert w.stats()['processes'] >= 3


def test_worker_resource_granted_path(outside_dir):
    target = os.path.join(outside_dir, 'f')
    w = Coproc.WorkerResource(workers.sandbox_probe, sandbox=Coproc.Sandbox.BWRAP)
    w.add_sandbox_path(outside_dir, True)
    with w:
        assert probe(w, 'create', target) == 'created'
    with open(target) as f:
        assert f.read() == 'sandboxed'


def test_sandbox_that_cannot_be_set_up():
    w = Coproc.WorkerResource(workers.sandbox_probe, sandbox=Coproc.Sandbox.FLATPAK_SPAWN)
    with pytest.raises(GLib.Error) as info:
        w.start()
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.NOT_SUPPORTED)
    assert 'Flatpak' in info.value.message
    assert not w.is_alive() and w.pid == 0


def test_pool_runs_python_sandboxed(listener):
    port = listener.getsockname()[1]
    with Coproc.Pool(2, sandbox=Coproc.Sandbox.BWRAP) as pool:
        assert pool.map(workers.square, range(10)) == [x * x for x in range(10)]
        assert all(answer.startswith('failed: ')
                   for answer in pool.map(workers.try_connect, [port] * 4))
        assert pool.map(workers.getenv, ['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY']) == [None, None]
        with pytest.raises(workers.CustomError):
            pool.apply(workers.square, -1)
    assert not accepted(listener)
