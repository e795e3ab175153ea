#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python rows of coproc-bench.

Measures coproc's Python binding against multiprocessing.Pipe and against the
original pure-Python coproc library, on the same workloads as the C program:

    W1    a stream of small messages host -> worker, messages per second
    W2    ping-pong of a small message, microseconds per round trip
    W3    large bytes payloads host -> worker, MiB per second
    W4    64 channels with random priorities: everything is queued, then
          taken in priority order per channel, messages per second
    loop  a worker floods the host, which takes each message in a
          message-received handler: how late a 5 ms GLib timeout fires
          (median and longest delay, ms)

A small message is the tuple (int, 16-character str); W1 and W4 also send it
as the other plain values users send, a list of ints and a dict. The worker
is always a real process: a Python function, or for W3 and loop the C
program's own worker (coproc-bench --child coproc ...), so that these rows
differ from the C rows by the host alone. Runs of the peers are interleaved
so that noise on the machine hits all of them alike.

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
from gi.repository import Coproc, GLib  # noqa: E402

TEXT = 'coproc-benchmark'   # 16 characters
CHANNELS = 64
LEVELS = 16
SEQ_BITS = 40
LOOP_INTERVAL_MS = 5

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


# The plain values a small message is sent as (W1, W4): how each is made
# and how a receiver reads its number back.

FILLER = [1, 2, 3]


def small_tuple(x):
    return (x, TEXT)


def small_list(x):
    return [x] + FILLER


def small_dict(x):
    return {'x': x, 'text': TEXT}


def read_tuple(value):
    x, text = value
    if len(text) != len(TEXT):
        raise ValueError('bad message %r' % (value,))
    return x


def read_list(value):
    if len(value) != 1 + len(FILLER):
        raise ValueError('bad message %r' % (value,))
    return value[0]


def read_dict(value):
    if len(value['text']) != len(TEXT):
        raise ValueError('bad message %r' % (value,))
    return value['x']


FORMS = {
    'tuple': (small_tuple, read_tuple),
    'list': (small_list, read_list),
    'dict': (small_dict, read_dict),
}


# Workers: module-level functions, so that worker processes can find them.

def coproc_worker(messenger, workload, n, each=False, form='tuple'):
    """The worker side of the coproc rows."""
    read = FORMS[form][1]
    messenger.send_norequest(True)
    if workload == 'W1':
        total = count = 0
        if each:
            for _ in range(n):
                total += read(messenger.receive_blocking())
            count = n
        while count < n:
            # A stream is best consumed a batch at a time.
            messenger.await_available()
            for value in messenger.receive_available():
                total += read(value)
                count += 1
        messenger.send_norequest((count, total))
    elif workload == 'W2':
        for _ in range(n):
            x, text = messenger.receive_blocking()
            messenger.send_reply((x, text))
    elif workload == 'W4':
        messenger.receive_blocking('ctl')
        batches = ([read(value) for value in messenger.receive_available(c)]
                   for c in range(CHANNELS))
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


def join(worker):
    # The worker returns after its last message, so it may be gone already.
    try:
        worker.join()
    except Coproc.WorkerIsAlreadyDeadError:
        pass


def run_coproc(workload, n, each=False, form='tuple'):
    make = FORMS[form][0]
    worker = Coproc.WorkerResource(coproc_worker)
    worker.start(workload=workload, n=n, each=each, form=form)
    m = worker.messenger
    m.receive_blocking()
    plan = w4_plan(n) if workload == 'W4' else None

    t0 = time.perf_counter()
    if workload == 'W1':
        for i in range(n):
            m.send_norequest(make(i))
        expect(m.receive_blocking(), (n, n * (n - 1) // 2))
    elif workload == 'W2':
        for i in range(n):
            m.send_request((i, TEXT))
            x, text = m.receive_blocking()
            if x != i:
                raise RuntimeError('bad echo')
    elif form == 'dict':
        # The original library's way: the priority is the payload's.
        for channel, priority, x in plan:
            payload = make(x)
            payload['priority'] = priority
            m.send_norequest(payload, channel)
        m.send_norequest(n, 'ctl')
        expect(m.receive_blocking(), (n, n * (n - 1) // 2, True))
    else:
        for channel, priority, x in plan:
            m.send_norequest(make(x), channel, priority=priority)
        m.send_norequest(n, 'ctl')
        expect(m.receive_blocking(), (n, n * (n - 1) // 2, True))
    seconds = time.perf_counter() - t0

    join(worker)
    return result_of(workload, n, seconds)


def run_coproc_each(workload, n):
    return run_coproc(workload, n, each=True)


def c_worker(bench_exe, workload, n, size=0):
    """Starts the C program's own worker for @workload."""
    if bench_exe is None:
        raise RuntimeError('no --bench-exe: the C worker is needed')
    worker = Coproc.WorkerResource([bench_exe, '--child', 'coproc', workload, str(n), str(size)])
    worker.start()
    m = worker.messenger
    if not m.receive_blocking():
        raise RuntimeError('the worker did not say it was ready')
    return worker, m


def run_coproc_bytes(n, size, bench_exe):
    """W3: a bytes object of size bytes, sent n times through the socket,
    as the C rows send theirs; converting it is part of each send."""
    worker, m = c_worker(bench_exe, 'W3', n, size)
    if hasattr(m, 'set_large_message_threshold'):
        m.set_large_message_threshold(GLib.MAXUINT32)
    payload = b'\x5a' * size

    t0 = time.perf_counter()
    for _ in range(n):
        m.send_norequest(payload)
    expect(m.receive_blocking(), (n, n * size))
    seconds = time.perf_counter() - t0

    join(worker)
    return n * size / (1024 * 1024) / seconds


def run_coproc_loop(n, bench_exe):
    """loop: the median and the longest delay, in ms, of a GLib timeout
    while the C worker floods this host, which takes each message in a
    message-received handler."""
    worker, m = c_worker(bench_exe, 'loop', n)
    loop = GLib.MainLoop()
    timeout = GLib.timeout_source_new(LOOP_INTERVAL_MS)
    delays = []
    state = {'count': 0, 'total': 0, 'error': None}

    def on_message(_messenger, message):
        x, text = message.payload
        state['count'] += 1
        state['total'] += x
        return True

    def on_closed(_messenger, error):
        # The worker hangs up once it has sent everything.
        if state['count'] < n:
            state['error'] = RuntimeError('the worker hung up mid-flood: %s' % error)
            loop.quit()

    def tick(*_args):
        # The ready time is still the one this dispatch was due at.
        delays.append((GLib.get_monotonic_time() - timeout.get_ready_time()) / 1e3)
        if state['count'] < n:
            return True
        loop.quit()
        return False

    handlers = [m.connect('message-received', on_message), m.connect('closed', on_closed)]
    timeout.set_callback(tick)
    timeout.attach(None)
    m.send_norequest(True)   # go
    loop.run()
    timeout.destroy()
    for handler in handlers:
        m.disconnect(handler)

    if state['error'] is not None:
        raise state['error']
    expect((state['count'], state['total']), (n, n * (n - 1) // 2))
    join(worker)
    delays.sort()
    middle = len(delays) // 2
    median = delays[middle] if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2
    return median, delays[-1]


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
    parser.add_argument('--bench-exe', help='coproc-bench, whose worker W3 and loop use')
    parser.add_argument('--w3-size', type=int, default=16 * 1024 * 1024)
    args = parser.parse_args()

    if args.quick:
        counts = {'W1': 2000, 'W2': 100, 'W3': 2, 'W4': 2000, 'loop': 20000}
    else:
        counts = {'W1': 200000, 'W2': 5000, 'W3': 16, 'W4': 50000, 'loop': 100000}
    counts = {w: max(2, int(n * args.scale)) for w, n in counts.items()}

    try:
        original = load_original(args.original)
    except (OSError, subprocess.CalledProcessError, ImportError) as error:
        print('bench.py: the original library could not be loaded: %s' % error, file=sys.stderr)
        original = None

    peers = [
        ('coproc', run_coproc, ('W1', 'W2', 'W4')),
        ('coproc, receive_blocking each', run_coproc_each, ('W1',)),
        ('coproc, list of ints', lambda w, n: run_coproc(w, n, form='list'), ('W1', 'W4')),
        ('coproc, dict', lambda w, n: run_coproc(w, n, form='dict'), ('W1', 'W4')),
        ('coproc, bytes', lambda w, n: run_coproc_bytes(n, args.w3_size, args.bench_exe),
         ('W3',)),
        ('coproc', lambda w, n: run_coproc_loop(n, args.bench_exe), ('loop',)),
        ('multiprocessing.Pipe', run_pipe, ('W1', 'W2')),
    ]
    if original is not None:
        peers.append(('original coproc', lambda w, n: run_original(w, n, original),
                      ('W1', 'W2', 'W4')))

    failed = False
    workloads = [w for w in ('W1', 'W2', 'W3', 'W4', 'loop') if w in args.only.split(',')]
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
                    value = (math.nan, math.nan) if workload == 'loop' else math.nan
                    failed = True
                else:
                    print('Python %-4s run %d/%d  %-28s %s'
                          % (workload, run + 1, args.runs, name, format_result(value)),
                          file=sys.stderr)
                if workload == 'loop':
                    # The median delay, then the longest.
                    print('RESULT\tloop\t%s\t%r' % (name, value[0]))
                    print('RESULT\tloop-max\t%s\t%r' % (name, value[1]), flush=True)
                else:
                    print('RESULT\t%s\t%s\t%r' % (workload, name, value), flush=True)

    return 1 if failed else 0


def format_result(value):
    if isinstance(value, tuple):
        return '%14.2f (longest %.2f)' % value
    return '%14.2f' % value


if __name__ == '__main__':
    sys.exit(main())
