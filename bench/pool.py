#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Coproc.Pool against multiprocessing.Pool and ProcessPoolExecutor.

Two workloads, each run by every peer with the same number of workers
(--workers, default 2) and with each one's default chunksize:

    tiny   map of --tiny-items (default 10,000) tiny items (x * x), items
           per second
    slow   map of --slow-items (default 100) items that take 10 ms each
           (a sleep, as a handler waiting on I/O does), seconds in all

Each peer starts its workers before the clock runs (a first small map), so
that the figures are those of the work alone. Runs of the peers are
interleaved so that noise on the machine hits all of them alike; the table
gives the median of --runs runs (default 5) and coproc's ratio to each.

Run with the uninstalled build: meson devenv -C BUILDDIR bench/pool.py
"""

import argparse
import concurrent.futures
import multiprocessing
import statistics
import sys
import time

import gi

gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402


def tiny(x):
    return x * x


def slow(x):
    time.sleep(0.01)
    return x


def timed_map(map_function, func, items):
    start = time.perf_counter()
    results = list(map_function(func, items))
    seconds = time.perf_counter() - start
    assert results == [func(x) if func is tiny else x for x in items], 'wrong results'
    return seconds


class CoprocPeer:
    name = 'Coproc.Pool'

    def __init__(self, workers, chunksize):
        self.pool = Coproc.Pool(workers)
        self.pool.start()
        self.chunksize = chunksize

    def map(self, func, items):
        return self.pool.map(func, items, chunksize=self.chunksize)

    def close(self):
        self.pool.join()


class MultiprocessingPeer:
    name = 'multiprocessing.Pool'

    def __init__(self, workers, chunksize):
        self.pool = multiprocessing.get_context('spawn').Pool(workers)
        self.chunksize = chunksize

    def map(self, func, items):
        return self.pool.map(func, items, chunksize=self.chunksize)

    def close(self):
        self.pool.close()
        self.pool.join()


class ExecutorPeer:
    name = 'ProcessPoolExecutor'

    def __init__(self, workers, chunksize):
        self.pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context('spawn'))
        self.chunksize = chunksize or 1

    def map(self, func, items):
        return self.pool.map(func, items, chunksize=self.chunksize)

    def close(self):
        self.pool.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--tiny-items', type=int, default=10000)
    parser.add_argument('--slow-items', type=int, default=100)
    parser.add_argument('--chunksize', type=int, default=None,
                        help='the same chunksize for every peer (default: each its own)')
    parser.add_argument('--quick', action='store_true', help='one short run, to check it works')
    args = parser.parse_args()
    if args.quick:
        args.runs, args.tiny_items, args.slow_items = 1, 200, 10

    peer_types = [CoprocPeer, MultiprocessingPeer, ExecutorPeer]
    peers = []
    for peer_type in peer_types:
        chunksize = args.chunksize
        if chunksize is None:
            chunksize = None
        peer = peer_type(args.workers, chunksize)
        list(peer.map(tiny, range(args.workers * 2)))    # workers up
        peers.append(peer)

    tiny_items = list(range(args.tiny_items))
    slow_items = list(range(args.slow_items))
    results = {(p.name, w): [] for p in peers for w in ('tiny', 'slow')}
    try:
        for _ in range(args.runs):
            for peer in peers:
                seconds = timed_map(peer.map, tiny, tiny_items)
                results[(peer.name, 'tiny')].append(len(tiny_items) / seconds)
                results[(peer.name, 'slow')].append(timed_map(peer.map, slow, slow_items))
    finally:
        for peer in peers:
            peer.close()

    print('%d workers, %d runs, chunksize %s' % (args.workers, args.runs,
                                                  args.chunksize or "each peer's default"))
    print('%-34s %-22s %12s %14s' % ('workload', 'peer', 'median', 'coproc ÷ peer'))
    rows = [('tiny', 'map of %d tiny items, items/s' % len(tiny_items), False),
            ('slow', 'map of %d 10 ms items, s (lower)' % len(slow_items), True)]
    for workload, label, lower in rows:
        ours = statistics.median(results[(CoprocPeer.name, workload)])
        for peer in peers:
            value = statistics.median(results[(peer.name, workload)])
            ratio = '—' if peer.name == CoprocPeer.name else '%.2f' % (ours / value)
            print('%-34s %-22s %12.3f %14s' % (label, peer.name, value, ratio))
            label = ''
    return 0


if __name__ == '__main__':
    sys.exit(main())
