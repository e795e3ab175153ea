# SPDX-License-Identifier: LGPL-2.1-or-later
#
# CoprocWorkerPool through introspection. The workers are the C test
# worker in its "serve" mode (see tests/worker/coproc-test-worker.c).

import os
import signal

import pytest
from gi.repository import GLib, GObject, Coproc

WORKER = os.path.join(os.environ['G_TEST_BUILDDIR'], 'worker', 'coproc-test-worker')


def job(op, n):
    return GLib.Variant('(si)', (op, n))


def new_pool(n_workers):
    return Coproc.WorkerPool.new([WORKER, 'serve'], n_workers, GObject.TYPE_NONE)


def test_submit_blocking():
    pool = new_pool(2)
    assert pool.get_n_workers() == 2
    assert pool.props.n_workers == 2
    assert pool.submit(job('echo', 5), None).unpack() == 5
    with pytest.raises(GLib.Error) as info:
        pool.submit(job('fail', 7), None)
    assert info.value.domain == 'coproc-test-worker-error-quark'
    assert info.value.code == 7
    assert pool.submit(job('echo', 6), None).unpack() == 6
    assert pool.join(None)
    with pytest.raises(GLib.Error) as info:
        pool.submit(job('echo', 1), None)
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.CLOSED)


def test_submit_async_survives_a_killed_worker():
    pool = new_pool(2)
    pool.props.max_restarts = 100
    loop = GLib.MainLoop()
    results = {}

    def done(source, result, i):
        assert i not in results
        try:
            results[i] = source.submit_finish(result).unpack()
        except GLib.Error as e:
            results[i] = e
        if len(results) == 10:
            os.kill(pool.get_worker(0).get_pid(), signal.SIGKILL)
        if len(results) == 40:
            loop.quit()

    for i in range(40):
        pool.submit_async(job('echo', i), None, done, i)
    loop.run()

    assert sorted(results) == list(range(40))
    for i, r in results.items():
        if isinstance(r, GLib.Error):
            assert r.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)
        else:
            assert r == i
    assert not pool.props.failed
    assert pool.submit(job('echo', 99), None).unpack() == 99
    assert pool.join(None)


def test_restart_intensity_fails_the_pool():
    pool = new_pool(1)
    pool.props.max_restarts = 1
    pool.props.max_attempts = 10
    with pytest.raises(GLib.Error) as info:
        pool.submit(job('die', 1), None)
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.POOL_FAILED)
    assert pool.get_failed()
    assert pool.join(None)
