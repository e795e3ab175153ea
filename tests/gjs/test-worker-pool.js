// SPDX-License-Identifier: LGPL-2.1-or-later
//
// CoprocWorkerPool from GJS: jobs through introspection, a killed worker.
// The workers are the C test worker in its "serve" mode (see
// tests/worker/coproc-test-worker.c).

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

import {test, run, assertTrue, assertFalse, assertEqual, assertThrows} from './harness.js';

Gio._promisify(Coproc.WorkerPool.prototype, 'submit_async', 'submit_finish');

const workerPath = GLib.build_filenamev([GLib.getenv('G_TEST_BUILDDIR'), 'worker',
    'coproc-test-worker']);

function job(op, n) {
    return new GLib.Variant('(si)', [op, n]);
}

function newPool(nWorkers) {
    return Coproc.WorkerPool.new([workerPath, 'serve'], nWorkers, GObject.TYPE_NONE);
}

test('/Coproc/WorkerPool/gjs/await-submit', async () => {
    const pool = newPool(2);

    assertEqual(pool.get_n_workers(), 2, 'get_n_workers()');
    assertEqual(pool.n_workers, 2, 'n_workers');
    assertEqual(pool.jobs_per_worker, 1, 'jobs_per_worker');
    const replies = await Promise.all(
        [...Array(20).keys()].map(i => pool.submit_async(job('echo', i * 3), null)));
    assertEqual(replies.map(v => v.unpack()).join(','),
        [...Array(20).keys()].map(i => i * 3).join(','), 'replies in input order');
    assertEqual(pool.get_pending(), 0, 'get_pending()');

    let failure = null;
    try {
        await pool.submit_async(job('fail', 7), null);
    } catch (e) {
        failure = e;
    }
    assertTrue(failure instanceof GLib.Error, 'reply_error() rejects with a GLib.Error');
    assertEqual(failure.code, 7, 'its code');
    assertEqual(failure.message, 'request failed with code 7', 'its message');

    assertEqual(pool.submit(job('echo', 11), null).unpack(), 11, 'submit()');
    assertTrue(pool.join(null), 'join()');
    assertThrows(() => pool.submit(job('echo', 1), null), Coproc.Error, Coproc.Error.CLOSED,
        'submit() after join()');
});

test('/Coproc/WorkerPool/gjs/killed-worker', async () => {
    const pool = newPool(2);
    let started = 0;

    pool.max_restarts = 100;
    pool.connect('worker-started', () => started++);
    pool.start();
    const jobs = [...Array(40).keys()].map(i => pool.submit_async(job('echo', i), null)
        .then(v => v.unpack(), e => e));
    await jobs[10];
    GLib.spawn_command_line_sync(`kill -KILL ${pool.get_worker(0).get_pid()}`);
    const results = await Promise.all(jobs);

    results.forEach((r, i) => {
        if (r instanceof GLib.Error)
            assertTrue(r.matches(Coproc.Error, Coproc.Error.WORKER_DIED), `job ${i}: WORKER_DIED`);
        else
            assertEqual(r, i, `job ${i}`);
    });
    assertFalse(pool.failed, 'failed');
    assertEqual(pool.submit(job('echo', 99), null).unpack(), 99, 'still working');
    assertTrue(started >= 2, 'worker-started emitted');
    assertTrue(pool.join(null), 'join()');
});

run();
