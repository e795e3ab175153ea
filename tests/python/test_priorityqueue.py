# test_priorityqueue.py: the original library's tests/test_priorityqueue.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The original tested its PriorityQueue and PriorityMultiQueue classes
# directly. Here the queues live inside the messenger, so the same items
# go through a PriorityMessenger pair: `put` is a send, `get` a receive.
# Items are dataclasses whose `priority` field orders them; an extra
# `index` (not compared) checks that equal priorities stay first-in
# first-out, as `sorted()` (a stable sort) expects. Items arrive as Item
# instances again: the class is loaded on the receiving side.
#
# Both ends of a pair live in this thread. Once the socket is full, the
# sender keeps the rest in its outgoing buffer until its main context runs,
# so the tests run the default context until everything has arrived
# (wait_queued), as an application's main loop would.

import dataclasses
import typing

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402

from helpers import wait_queued  # noqa: E402


@dataclasses.dataclass(order=True)
class Item:
    priority: int = 0
    index: int = dataclasses.field(default=0, compare=False)


def numbered(items: typing.List[Item]) -> typing.List[Item]:
    return [Item(item.priority, i) for i, item in enumerate(items)]


def assert_devin(items: typing.List[Item]):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    for i in items:
        rm.send_norequest(i)
    wait_queued(pm, len(items))
    received = pm.receive_available()
    assert all(type(r) is Item for r in received)
    assert([(r.priority, r.index) for r in received] ==
           [(s.priority, s.index) for s in sorted(items)])


def test_priorityqueue():
    test1 = [Item(1) for _ in range(100)]
    test2 = [Item(i) for i in range(100)]
    test3 = [Item(j) for i in range(100) for j in [i]*10]
    all_tests = numbered(test1 + test2 + test3)

    assert_devin(all_tests)


def test_multi():
    test1 = numbered([Item(1) for _ in range(100)])
    test2 = numbered([Item(i) for i in range(100)])
    test3 = numbered([Item(j) for i in range(100) for j in [i]*10])
    tests = [test1, test2, test3]

    pm, mpq = Coproc.PriorityMessenger.new_pair()
    for i, ts in enumerate(tests):
        for t in ts:
            pm.send_norequest(t, channel_id=i)
        wait_queued(mpq, len(ts), channel_id=i)

    # get the different channels
    for i, ts in enumerate(tests[::-1]):
        channel = len(tests) - i - 1
        assert(mpq.available(channel) == len(ts))
        queue_items = [mpq.receive_blocking(channel) for _ in range(mpq.available(channel))]
        assert([(q.priority, q.index) for q in queue_items] ==
               [(s.priority, s.index) for s in sorted(ts)])

    for chan, ts in enumerate(tests):
        for t in ts:
            pm.send_norequest(t, chan)
            assert(mpq.receive_blocking(chan) == t)


def test_explicit_priority_wins():
    # A priority given to the send call overrides the payload's own.
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest({'priority': 0, 'name': 'payload says 0'}, priority=10)
    rm.send_norequest('no priority: last')
    rm.send_norequest('explicit 5', priority=5)
    rm.send_norequest({'priority': 1.5, 'name': 'payload says 1.5'})

    messages = [pm.receive_message_blocking() for _ in range(4)]
    assert [m.priority for m in messages] == [1.5, 5, 10, float('inf')]
    assert messages[0].payload == {'priority': 1.5, 'name': 'payload says 1.5'}
    assert messages[3].payload == 'no priority: last'
