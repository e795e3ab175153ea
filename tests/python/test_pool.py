# test_pool.py: Coproc.Pool and Coproc.LazyPool
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402

import workers  # noqa: E402


def test_map_in_order():
    with Coproc.Pool(2) as pool:
        assert pool.map(workers.square, range(20)) == [x * x for x in range(20)]
        assert pool.map(workers.square, range(20), chunksize=6) == [x * x for x in range(20)]
        assert pool.map(workers.square, []) == []


def test_imap_and_map_unordered():
    with Coproc.Pool(2) as pool:
        assert list(pool.imap(workers.square, range(9), chunksize=2)) == \
            [x * x for x in range(9)]
        assert sorted(pool.map_unordered(workers.square, range(9), chunksize=4)) == \
            [x * x for x in range(9)]


def test_apply():
    with Coproc.Pool(1) as pool:
        assert pool.apply(workers.describe, 1, 'b') == '1-b'
        assert pool.apply(workers.describe, 'a', 2, sep='+') == 'a+2'


def test_an_item_raises_its_own_exception():
    with Coproc.Pool(2) as pool:
        with pytest.raises(workers.CustomError, match='negative: -3'):
            pool.map(workers.square, [1, 2, -3, 4])
        results = pool.imap(workers.square, [1, -2, 3])
        assert next(results) == 1
        with pytest.raises(workers.CustomError, match='negative: -2'):
            next(results)
        # The pool stays usable.
        assert pool.map(workers.square, [5, 6]) == [25, 36]


def test_failed_items_in_a_chunk_leave_the_others():
    # One chunk of seven items, two of which fail: the items around them
    # still run, once each.
    with Coproc.Pool(1) as pool:
        results = pool.imap(workers.square, [1, -2, 3, 4, -5, 6, 7], chunksize=7)
        assert next(results) == 1
        with pytest.raises(workers.CustomError, match='negative: -2'):
            next(results)
        pids = pool.map(workers.worker_pid, range(7), chunksize=7)
        assert len(set(pids)) == 1


def test_stop_iteration_fails_its_item_alone():
    with Coproc.Pool(1) as pool:
        with pytest.raises(RuntimeError, match='stop_at_zero raised StopIteration'):
            pool.map(workers.stop_at_zero, [2, 1, 0, 1, 2], chunksize=5)
        assert pool.map(workers.stop_at_zero, [3, 2, 1], chunksize=3) == [3, 2, 1]


def test_values_keep_their_types():
    # Lists of one number type go packed; anything mixed goes as it is.
    items = [[1, 2, 3], [1.5, 2.5], [True, False], [1, True], [1, 2.0], [2 ** 62, -1],
             ['a', 'b'], [(1, 'a'), (2, 'b')], [None, 1]]
    with Coproc.Pool(1) as pool:
        for chunk in items:
            results = pool.map(workers.identity, chunk, chunksize=len(chunk))
            assert results == chunk
            assert [type(value) for value in results] == [type(value) for value in chunk]


def test_unsendable_result_fails_its_item():
    with Coproc.Pool(1) as pool:
        with pytest.raises(TypeError, match='set'):
            pool.apply(workers.unsendable, 1)
        assert pool.apply(workers.square, 3) == 9


def test_unsendable_item_in_a_later_chunk():
    # Chunks go out as they are made: one that cannot be made names its
    # item, the chunks already sent are called back, and the pool goes on.
    items = list(range(30)) + [{1, 2}] + list(range(9))
    for call in ('map', 'imap', 'map_unordered'):
        with Coproc.Pool(2) as pool:
            with pytest.raises(TypeError, match=r'^items\[30\]: set'):
                list(getattr(pool, call)(workers.square, items, chunksize=10))
            assert pool._pool.get_pending() == 0
            assert pool.map(workers.square, range(5)) == [0, 1, 4, 9, 16]


def test_work_is_shared_between_workers():
    with Coproc.Pool(2) as pool:
        pids = set(pool.map(workers.worker_pid, range(40)))
        assert len(pids) == 2
        assert os.getpid() not in pids


def test_crashed_worker_is_restarted_and_its_item_run_again(tmp_path):
    marker = str(tmp_path / 'crashed')
    with Coproc.Pool(2) as pool:
        assert pool.map(workers.crash_once, [marker]) == ['ran again']
        assert os.path.exists(marker)
        assert pool.map(workers.square, range(4)) == [0, 1, 4, 9]


def test_lazy_pool_stops_its_workers_after_each_call():
    pool = Coproc.LazyPool(2)
    pids = set(pool.map(workers.worker_pid, range(10)))
    for pid in pids:
        # Stopped and reaped: no such process any more.
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert sorted(pool.map_unordered(workers.square, range(4))) == [0, 1, 4, 9]


def test_pool_started_at_first_call_and_joined():
    pool = Coproc.Pool(1)
    assert pool.apply(workers.square, 7) == 49
    pool.join()
    # A joined pool starts again when called.
    assert pool.apply(workers.square, 8) == 64
    pool.terminate()


def test_bad_arguments():
    with pytest.raises(ValueError):
        Coproc.Pool(0)
    with Coproc.Pool(1) as pool:
        with pytest.raises(ValueError, match='top level'):
            pool.map(lambda x: x, [1])
        with pytest.raises(ValueError, match='chunksize'):
            pool.map(workers.square, [1], chunksize=0)


def test_verbose_reports_progress(capfd):
    with Coproc.Pool(1, verbose=True) as pool:
        pool.map(workers.square, range(3))
    assert '3 of 3' in capfd.readouterr().err
