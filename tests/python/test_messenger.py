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


def test_sends_of_values_serialized_by_the_binding():
    # send_norequest/request/reply hand plain containers to the C library
    # serialized (Coproc.Messenger.send_serialized): what arrives is what
    # the value's GLib.Variant carries, with the kind and the accounting of
    # each call, and a value that cannot be sent still raises.
    from gi.overrides import _coproc_codec as codec

    pm, rm = Coproc.PriorityMessenger.new_pair()
    values = [(7, 'seven'), [1, 2, 3], {'x': 1, 'text': 'a'}, b'\x00\x01',
              ((1.5, True), ['a', 'b'], {'k': None}), [], {}]
    for value in values:
        serialized = codec.serialize(value)
        assert serialized is not None, value
        variant = codec.to_variant(value)
        assert serialized == (variant.get_type_string(), bytes(variant.get_data_as_bytes().get_data()))

    for value in values:
        rm.send_request(value, 'c')
    assert rm.remaining('c') == len(values)
    messages = [pm.receive_message_blocking('c') for _ in values]
    assert [m.payload for m in messages] == values
    assert all(m.request_reply for m in messages)
    for value in values:
        pm.send_reply(value, 'c')
        rm.send_norequest(value)
    assert list(rm.receive_remaining('c')) == values
    assert rm.remaining('c') == 0
    assert pm.receive_available() == values

    # The priority a dictionary carries still ranks it.
    rm.send_norequest({'priority': 9, 'n': 1})
    rm.send_norequest({'priority': 1, 'n': 2})
    assert [d['n'] for d in pm.receive_available()] == [2, 1]

    assert codec.serialize(object()) is None
    try:
        rm.send_norequest([object()])
    except TypeError as error:
        assert str(error).startswith('payload[0]')
    else:
        raise AssertionError('an unsendable value was sent')
