# test_messenger.py: messenger pairs, beyond the original library's tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The original library's own tests/test_messenger.py runs unchanged from
# original/ (see original/README.md); these cover what it does not.

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc, GLib  # noqa: E402


def test_multi_messenger_ignores_priorities():
    # The same request/reply accounting, with FIFO channels.
    pm, rm = Coproc.MultiMessenger.new_pair()
    assert isinstance(pm, Coproc.MultiMessenger)
    assert isinstance(rm, Coproc.MultiMessenger)

    rm.send_norequest({'priority': 5, 'text': 'first'})
    rm.send_norequest({'priority': 0, 'text': 'second'})
    rm.send_norequest('third', priority=-1)
    assert [d if isinstance(d, str) else d['text'] for d in pm.receive_available()] == \
        ['first', 'second', 'third']

    rm.send_request_multiple(['a', 'b'])
    assert rm.remaining() == 2
    for data in pm.receive_available():
        pm.send_reply(data.upper())
    assert list(rm.receive_remaining()) == ['A', 'B']
    assert rm.remaining() == 0


def test_new_pair_with_type():
    pm, rm = Coproc.Messenger.new_pair(Coproc.MultiMessenger)
    assert isinstance(pm, Coproc.MultiMessenger)
    assert isinstance(rm, Coproc.MultiMessenger)

    pm, rm = Coproc.Messenger.new_pair(Coproc.PriorityMessenger.__gtype__)
    assert isinstance(pm, Coproc.PriorityMessenger)


def test_new_pair_rejects_abstract_and_foreign_types():
    for bad in (Coproc.Messenger, GLib.Variant, Coproc.WorkerResource, 'PriorityMessenger'):
        try:
            Coproc.Messenger.new_pair(bad)
        except TypeError:
            pass
        else:
            raise AssertionError(f'new_pair({bad!r}) did not raise TypeError')
