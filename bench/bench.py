#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python rows of coproc-bench.

Measures coproc's Python binding against multiprocessing.Pipe and against the
original pure-Python coproc library, on the same workloads as the C program:

    W1  a stream of small messages host -> worker, messages per second
    W2  ping-pong of a small message, microseconds per round trip
    W4  64 channels with random priorities: everything is queued, then taken
        in priority order per channel, messages per second

A small message is the tuple (int, 16-character str). The worker is always a
real process. Runs of the peers are interleaved so that noise on the machine
hits all of them alike.

coproc-bench runs this script with the uninstalled typelib and overrides of
its build and folds the results into its table; run by hand, it needs the
same environment (GI_TYPELIB_PATH, LD_LIBRARY_PATH, PYTHONPATH). It prints
one line per measurement: RESULT <tab> workload <tab> peer <tab> value.
"""

import argparse
import dataclasses
import math
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
import types

import gi

gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402

TEXT = 'coproc-benchmark'   # 16 characters
CHANNELS = 64
LEVELS = 16
SEQ_BITS = 40

FORK = multiprocessing.get_context('fork')


@dataclasses.dataclass
class PriorityItem:
    """A W4 payload for the original library, which reads the priority of a
    message from its payload's ``priority`` attribute."""
    x: int
    text: str
    priority: float


def w4_plan(n):
    """The W4 send sequence: the same in every run, for every peer."""
    rand = random.Random(20240501)
    plan = []
    for i in range(n):
        priority = rand.randrange(LEVELS)
        plan.append((rand.randrange(CHANNELS), priority, (priority << SEQ_BITS) | i))
    return plan


def check_w4(batches):
    """Counts and checks what a W4 receiver took, channel by channel."""
    count = total = 0
    ordered = True
    mask = (1 << SEQ_BITS) - 1
    for batch in batches:
        last = -1
        for x in batch:
            if x < last:
                ordered = False
            last = x
            count += 1
            total += x & mask
    return count, total, ordered


# Workers: module-level functions, so that worker processes can find them.

def coproc_worker(messenger, workload, n, each=False):
    """The worker side of the coproc rows."""
    messenger.send_norequest(True)
    if workload == 'W1':
        total = count = 0
        if each:
            for _ in range(n):
                x, text = messenger.receive_blocking()
                total += x
            count = n
        while count < n:
            # A stream is best consumed a batch at a time.
            messenger.await_available()
            for x, text in messenger.receive_available():
                total += x
                count += 1
        messenger.send_norequest((count, total))
    elif workload == 'W2':
        for _ in range(n):
            x, text = messenger.receive_blocking()
            messenger.send_reply((x, text))
    elif workload == 'W4':
        messenger.receive_blocking('ctl')
        batches = ([x for x, text in messenger.receive_available(c)] for c in range(CHANNELS))
        messenger.send_norequest(check_w4(batches))


def original_worker(messenger, workload, n):
    """The worker side of the original library's rows."""
    messenger.send_norequest(True)
    if workload == 'W1':
        total = count = 0
        while count < n:
            messenger.await_available()
            for x, text in messenger.receive_available():
                total += x
                count += 1
        messenger.send_norequest((count, total))
    elif workload == 'W2':
        for _ in range(n):
            x, text = messenger.receive_blocking()
            messenger.send_reply((x, text))
    elif workload == 'W4':
        messenger.receive_blocking(channel_id='ctl')
        batches = ([item.x for item in messenger.receive_available(channel_id=c)]
                   for c in range(CHANNELS))
        messenger.send_norequest(check_w4(batches))


def pipe_worker(conn, workload, n):
    """The worker side of the multiprocessing.Pipe rows."""
    conn.send(True)
    if workload == 'W1':
        total = 0
        for _ in range(n):
            x, text = conn.recv()
            total += x
        conn.send((n, total))
    elif workload == 'W2':
        for _ in range(n):
            x, text = conn.recv()
            conn.send((x, text))


# Hosts: each returns the measured value.

def result_of(workload, n, seconds):
    if workload == 'W2':
        return seconds * 1e6 / n
    return n / seconds


def expect(got, wanted):
    if tuple(got) != tuple(wanted):
        raise RuntimeError('the worker answered %r, expected %r' % (got, wanted))


def run_coproc(workload, n, each=False):
    worker = Coproc.WorkerResource(coproc_worker)
    worker.start(workload=workload, n=n, each=each)
    m = worker.messenger
    m.receive_blocking()
    plan = w4_plan(n) if workload == 'W4' else None

    t0 = time.perf_counter()
    if workload == 'W1':
        for i in range(n):
            m.send_norequest((i, TEXT))
        expect(m.receive_blocking(), (n, n * (n - 1) // 2))
    elif workload == 'W2':
        for i in range(n):
            m.send_request((i, TEXT))
            x, text = m.receive_blocking()
            if x != i:
                raise RuntimeError('bad echo')
    else:
        for channel, priority, x in plan:
            m.send_norequest((x, TEXT), channel, priority=priority)
        m.send_norequest(n, 'ctl')
        expect(m.receive_blocking(), (n, n * (n - 1) // 2, True))
    seconds = time.perf_counter() - t0

    try:
        worker.join()
    except Coproc.WorkerIsAlreadyDeadError:
        pass
    return result_of(workload, n, seconds)


def run_coproc_each(workload, n):
    return run_coproc(workload, n, each=True)


def run_original(workload, n, module):
    process_end, host = module.PriorityMessenger.new_pair()
    proc = FORK.Process(target=original_worker, args=(process_end, workload, n))
    proc.start()
    host.receive_blocking()
    plan = w4_plan(n) if workload == 'W4' else None

    t0 = time.perf_counter()
    if workload == 'W1':
        for i in range(n):
            host.send_norequest((i, TEXT))
        expect(host.receive_blocking(), (n, n * (n - 1) // 2))
    elif workload == 'W2':
        for i in range(n):
            host.send_request((i, TEXT))
            x, text = host.receive_blocking()
            if x != i:
                raise RuntimeError('bad echo')
    else:
        for channel, priority, x in plan:
            host.send_norequest(PriorityItem(x, TEXT, priority), channel_id=channel)
        host.send_norequest(n, channel_id='ctl')
        expect(host.receive_blocking(), (n, n * (n - 1) // 2, True))
    seconds = time.perf_counter() - t0

    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError('the worker exited with status %d' % proc.exitcode)
    return result_of(workload, n, seconds)


def run_pipe(workload, n):
    host, child = FORK.Pipe(duplex=True)
    proc = FORK.Process(target=pipe_worker, args=(child, workload, n))
    proc.start()
    host.recv()

    t0 = time.perf_counter()
    if workload == 'W1':
        for i in range(n):
            host.send((i, TEXT))
        expect(host.recv(), (n, n * (n - 1) // 2))
    else:
        for i in range(n):
            host.send((i, TEXT))
            x, text = host.recv()
            if x != i:
                raise RuntimeError('bad echo')
    seconds = time.perf_counter() - t0

    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError('the worker exited with status %d' % proc.exitcode)
    return result_of(workload, n, seconds)


def load_original(path):
    """Imports the original library's messenger from a checkout or a bare git
    repository, without its package __init__ (which needs pandas)."""
    if path is None:
        return None

    root = path
    if not os.path.isfile(os.path.join(path, 'coproc', 'messenger', '__init__.py')):
        root = tempfile.mkdtemp(prefix='coproc-original-')
        archive = subprocess.run(['git', '-C', path, 'archive', 'HEAD', 'coproc'],
                                 check=True, capture_output=True).stdout
        subprocess.run(['tar', '-x', '-C', root], input=archive, check=True)

    package = types.ModuleType('coproc')
    package.__path__ = [os.path.join(root, 'coproc')]
    sys.modules['coproc'] = package
    import coproc.messenger  # noqa: E402
    return coproc.messenger


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--scale', type=float, default=1.0)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--only', default='W1,W2,W4')
    parser.add_argument('--original', default=os.environ.get('COPROC_BENCH_ORIGINAL'))
    args = parser.parse_args()

    if args.quick:
        counts = {'W1': 2000, 'W2': 100, 'W4': 2000}
    else:
        counts = {'W1': 200000, 'W2': 5000, 'W4': 50000}
    counts = {w: max(2, int(n * args.scale)) for w, n in counts.items()}

    try:
        original = load_original(args.original)
    except (OSError, subprocess.CalledProcessError, ImportError) as error:
        print('bench.py: the original library could not be loaded: %s' % error, file=sys.stderr)
        original = None

    peers = [
        ('coproc', run_coproc, ('W1', 'W2', 'W4')),
        ('coproc, receive_blocking each', run_coproc_each, ('W1',)),
        ('multiprocessing.Pipe', run_pipe, ('W1', 'W2')),
    ]
    if original is not None:
        peers.append(('original coproc', lambda w, n: run_original(w, n, original),
                      ('W1', 'W2', 'W4')))

    failed = False
    workloads = [w for w in ('W1', 'W2', 'W4') if w in args.only.split(',')]
    for workload in workloads:
        for run in range(args.runs):
            for name, func, supported in peers:
                if workload not in supported:
                    continue
                try:
                    value = func(workload, counts[workload])
                except Exception as error:  # report it and go on with the others
                    print('Python %-4s run %d/%d  %-28s FAILED: %s'
                          % (workload, run + 1, args.runs, name, error), file=sys.stderr)
                    value = math.nan
                    failed = True
                else:
                    print('Python %-4s run %d/%d  %-28s %14.2f'
                          % (workload, run + 1, args.runs, name, value), file=sys.stderr)
                print('RESULT\t%s\t%s\t%r' % (workload, name, value), flush=True)

    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
