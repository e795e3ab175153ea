# test_conversions.py: plain Python values to GLib.Variant and back
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import dataclasses
import importlib.util
import math
import sys
import types

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.overrides import _coproc_codec as codec  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402

# Values that must come back equal and of the same types.
ROUND_TRIPS = [
    None,
    True,
    False,
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**63,
    2**64 - 1,
    0.0,
    -2.5,
    1e300,
    math.inf,
    -math.inf,
    '',
    'hello',
    'naïve ☃ \U0001f600',
    b'',
    b'\x00\xff' * 1000,
    (),
    (1,),
    (1, 'a', None, b'b', 2.0, True),
    [],
    [1, 'two', 3.0, None, b'four', [5], (6,), {'seven': 7}],
    [[[[]]]],
    {},
    {'a': 1, 'b': [None, {'c': b''}], 'd': (), '': 'empty key'},
    {1: 'one', -2: ['two'], 2**62: {}},
    [None, None],
    ({'x': (None,)}, [()]),
]


def short_repr(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def same(a, b):
    '''Equal, and of the same types all the way down.'''
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize('value', ROUND_TRIPS, ids=short_repr)
def test_round_trip(value):
    assert same(Coproc.from_variant(Coproc.to_variant(value)), value)


@pytest.mark.parametrize('value', ROUND_TRIPS, ids=short_repr)
def test_round_trip_through_messengers(value):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest(value)
    assert same(pm.receive_blocking(), value)

    # Every value can be a channel id too, None being the default channel.
    rm.send_request('payload', value)
    message = pm.receive_message_blocking(channel_id=value)
    assert same(message.channel_id, value)
    assert pm.queue_size() == 0


def test_nan_round_trip():
    assert math.isnan(Coproc.from_variant(Coproc.to_variant(math.nan)))


@pytest.mark.parametrize('value, type_string', [
    (None, 'mv'),
    (True, 'b'),
    (1, 'x'),
    (2**63, 't'),
    (1.0, 'd'),
    ('s', 's'),
    (b'', 'ay'),
    (bytearray(b'ab'), 'ay'),
    (memoryview(b'ab'), 'ay'),
    ((), '()'),
    ((1, 's'), '(xs)'),
    ([], 'av'),
    ([1, 's'], 'av'),
    ({}, 'a{sv}'),
    ({'k': 1}, 'a{sv}'),
    ({1: 'v'}, 'a{xv}'),
], ids=repr)
def test_variant_types(value, type_string):
    assert Coproc.to_variant(value).get_type_string() == type_string


def test_bytes_like_arrive_as_bytes():
    assert Coproc.from_variant(Coproc.to_variant(bytearray(b'ab'))) == b'ab'
    assert Coproc.from_variant(Coproc.to_variant(memoryview(b'ab'))) == b'ab'


@dataclasses.dataclass
class Point:
    x: int
    y: int
    label: str = 'p'
    inner: object = None


def test_dataclass_crosses_as_itself():
    point = Point(1, 2, inner=Point(3, 4))
    variant = Coproc.to_variant(point)
    # What a C or GJS peer reads: the fields, and the class's name.
    assert variant.get_type_string() == 'a{sv}'
    assert variant.unpack() == {
        '@dataclass': ('test_conversions', 'Point'), 'x': 1, 'y': 2, 'label': 'p',
        'inner': {'@dataclass': ('test_conversions', 'Point'), 'x': 3, 'y': 4, 'label': 'p',
                  'inner': None},
    }
    back = Coproc.from_variant(variant)
    assert type(back) is Point and type(back.inner) is Point
    assert back == point

    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest([point, (point,)])
    assert pm.receive_blocking() == [point, (point,)]


PointAlias = Point


@dataclasses.dataclass
class Strict:
    n: int

    def __post_init__(self):
        if self.n < 0:
            raise ValueError('n must not be negative')


@dataclasses.dataclass(frozen=True)
class Frozen:
    a: int
    b: list = dataclasses.field(default_factory=list)
    derived: int = dataclasses.field(init=False, default=0)


def tagged(module, qualname, **fields):
    '''The a{sv} a peer sends for a dataclass it names module.qualname.'''
    entries = {name: Coproc.to_variant(value) for name, value in fields.items()}
    entries['@dataclass'] = GLib.Variant('(ss)', (module, qualname))
    return GLib.Variant('a{sv}', entries)


@pytest.mark.parametrize('module, qualname', [
    ('no_such_module', 'Point'),
    ('test_conversions', 'NoSuchClass'),
    ('test_conversions', 'PointAlias'),      # not the class's own name
    ('test_conversions', 'Opaque'),          # a class, but not a dataclass
    ('test_conversions', 'Point.__init__'),
    ('test_conversions', 'dataclasses'),     # a module, not a class
    ('test_conversions', '__builtins__.dict'),
    ('test_conversions', ''),
    ('test_conversions', 'Point.'),
    ('', 'Point'),
    ('builtins', 'dict'),
], ids=repr)
def test_dataclass_that_is_not_loaded_arrives_as_a_dict(module, qualname):
    variant = tagged(module, qualname, x=1, y=2, label='p', inner=None)
    for convert in (Coproc.from_variant, codec.from_variant_tree):
        value = convert(variant)
        assert type(value) is dict
        assert value == {'x': 1, 'y': 2, 'label': 'p', 'inner': None}


@pytest.mark.parametrize('fields', [
    {'x': 1, 'y': 2, 'label': 'p'},                            # one missing
    {'x': 1, 'y': 2, 'label': 'p', 'inner': None, 'z': 0},     # one too many
    {'x': 1, 'y': 2, 'label': 'p', 'outer': None},             # another name
], ids=repr)
def test_dataclass_whose_fields_differ_arrives_as_a_dict(fields):
    variant = tagged('test_conversions', 'Point', **fields)
    assert Coproc.from_variant(variant) == fields


def test_dataclass_whose_constructor_fails_arrives_as_a_dict():
    assert Coproc.from_variant(Coproc.to_variant(Strict(1))) == Strict(1)
    assert Coproc.from_variant(tagged('test_conversions', 'Strict', n=-1)) == {'n': -1}
    assert Coproc.from_variant(tagged('test_conversions', 'Point', x=1, y=2, label='p',
                                      inner=None)) == Point(1, 2)


def test_frozen_dataclass_with_a_field_not_in_init():
    value = Frozen(1, [2])
    object.__setattr__(value, 'derived', 7)
    back = Coproc.from_variant(Coproc.to_variant(value))
    assert type(back) is Frozen
    assert (back.a, back.b, back.derived) == (1, [2], 7)


def test_main_and_mp_main_are_one_module(monkeypatch):
    # A worker runs the host's script as __mp_main__; a class defined there
    # is named __main__ on the wire, and either name finds it.
    script = types.ModuleType('__mp_main__')
    exec('import dataclasses\n'
         '@dataclasses.dataclass\n'
         'class Job:\n'
         '    text: str\n', script.__dict__)
    monkeypatch.setitem(sys.modules, '__mp_main__', script)
    job = script.Job('x')
    variant = Coproc.to_variant(job)
    assert variant.unpack()['@dataclass'] == ('__main__', 'Job')
    assert Coproc.from_variant(variant) == job
    assert type(Coproc.from_variant(tagged('__mp_main__', 'Job', text='y'))) is script.Job


def test_nothing_is_imported_for_a_dataclass(monkeypatch):
    # 'this' prints when imported; it must stay unloaded.
    monkeypatch.delitem(sys.modules, 'this', raising=False)
    assert Coproc.from_variant(tagged('this', 'Zen', a=1)) == {'a': 1}
    assert 'this' not in sys.modules

    # A lazy module loads on first attribute access; looking it up must not.
    spec = importlib.util.find_spec('colorsys')
    loader = importlib.util.LazyLoader(spec.loader)
    lazy = importlib.util.module_from_spec(spec)
    loader.exec_module(lazy)
    monkeypatch.setitem(sys.modules, 'colorsys', lazy)
    assert Coproc.from_variant(tagged('colorsys', 'rgb_to_hsv', a=1)) == {'a': 1}
    assert type(lazy) is not types.ModuleType, 'the lazy module was loaded'


@pytest.mark.parametrize('tag', [
    GLib.Variant('s', 'mine'),
    GLib.Variant('(ii)', (1, 2)),
    GLib.Variant('(sss)', ('a', 'b', 'c')),
], ids=repr)
def test_dataclass_key_of_another_type_is_left_alone(tag):
    # A peer's own dictionary that happens to have the key.
    variant = GLib.Variant('a{sv}', {'@dataclass': tag, 'a': GLib.Variant('i', 1)})
    value = Coproc.from_variant(variant)
    assert value == {'@dataclass': tag.unpack(), 'a': 1}


def test_plain_dict_with_the_dataclass_key_is_refused():
    with pytest.raises(ValueError, match=r"^payload\[0\]: dict: the key '@dataclass' is "):
        Coproc.to_variant([{'@dataclass': ('test_conversions', 'Point'), 'x': 1}], 'payload')
    with pytest.raises(ValueError):
        codec.to_variant_tree({'@dataclass': 1})


def test_dataclass_priority_field_is_the_priority():
    @dataclasses.dataclass
    class Job:
        text: str
        priority: int

    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest(Job('later', 2))
    rm.send_norequest(Job('first', 1))
    assert [job['text'] for job in pm.receive_available()] == ['first', 'later']


def test_variants_pass_through():
    variant = GLib.Variant('(iu)', (-1, 1))
    assert Coproc.to_variant(variant) is variant

    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest(variant, GLib.Variant('q', 7))
    message = pm.receive_message_blocking(GLib.Variant('q', 7))
    assert message.get_payload().get_type_string() == '(iu)'
    assert message.get_channel_id().get_type_string() == 'q'
    assert message.payload == (-1, 1)
    assert message.channel_id == 7


@pytest.mark.parametrize('variant, value', [
    (GLib.Variant('y', 255), 255),
    (GLib.Variant('n', -3), -3),
    (GLib.Variant('q', 3), 3),
    (GLib.Variant('i', -4), -4),
    (GLib.Variant('u', 4), 4),
    (GLib.Variant('h', 0), 0),
    (GLib.Variant('o', '/org/gnome'), '/org/gnome'),
    (GLib.Variant('g', 'a{sv}'), 'a{sv}'),
    (GLib.Variant('as', ['a', 'b']), ['a', 'b']),
    (GLib.Variant('ai', []), []),
    (GLib.Variant('a{si}', {'a': 1}), {'a': 1}),
    (GLib.Variant('a{is}', {1: 'a'}), {1: 'a'}),
    (GLib.Variant('mi', 5), 5),
    (GLib.Variant('mi', None), None),
    (GLib.Variant('v', GLib.Variant('s', 'inner')), 'inner'),
    (GLib.Variant('(ias)', (1, ['x'])), (1, ['x'])),
    (GLib.Variant('aay', [b'ab', b'']), [b'ab', b'']),
    (GLib.Variant('a(sv)', [('k', GLib.Variant('b', True))]), [('k', True)]),
], ids=repr)
def test_foreign_variants(variant, value):
    assert same(Coproc.from_variant(variant), value)


def test_none_is_no_variant():
    assert Coproc.from_variant(None) is None


@pytest.mark.parametrize('value, error', [
    (2**64, OverflowError),
    (-(2**63) - 1, OverflowError),
    ({1, 2}, TypeError),
    (object(), TypeError),
    ({'a': 1, 2: 'b'}, TypeError),
    ({(1, 2): 'tuple key'}, TypeError),
    ({True: 'bool key'}, TypeError),
    ([1, object()], TypeError),
    ('nul \0 inside', ValueError),
    (Point, TypeError),
], ids=repr)
def test_unsupported_values(value, error):
    with pytest.raises(error):
        Coproc.to_variant(value)


def test_unsupported_payload_sends_nothing():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    with pytest.raises(TypeError):
        rm.send_request(object())
    assert rm.remaining() == 0
    assert rm.messages_sent() == 0
    assert pm.available() == 0


def test_channels_compare_by_type_and_value():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest('python int', 1)
    rm.send_norequest('int32', GLib.Variant('i', 1))
    rm.send_norequest('default', None)
    rm.send_norequest('tuple', ('a', 1))

    assert pm.available(GLib.Variant('x', 1)) == 1
    assert pm.receive_available(1) == ['python int']
    assert pm.receive_available(GLib.Variant('i', 1)) == ['int32']
    assert pm.receive_available() == ['default']
    assert pm.receive_available(channel_id=('a', 1)) == ['tuple']


BIG = 16 * 1024 * 1024


def test_bytes_never_go_through_per_byte_calls(monkeypatch):
    # 16 MiB both ways, with every per-element GLib.Variant call disabled:
    # bytes must go through GLib.Bytes as a whole.
    data = bytes(range(256)) * (BIG // 256)

    def forbidden(*args, **kwargs):
        raise AssertionError('per-element GLib.Variant call')

    for name in ('new_byte', 'new_array', 'new_tuple', 'get_child_value', 'n_children',
                 'unpack', 'get_byte', 'new_variant'):
        monkeypatch.setattr(GLib.Variant, name, forbidden)

    variant = Coproc.to_variant(data)
    assert variant.get_type_string() == 'ay'
    assert variant.get_size() == BIG
    back = Coproc.from_variant(variant)
    monkeypatch.undo()

    assert type(back) is bytes
    assert back == data


def test_large_bytes_through_a_pair():
    # Half the size: in one thread, the sender's buffer only leaves while
    # the main context runs, and a send past 16 MiB would wait for a reader.
    data = bytes(range(256)) * (BIG // 2 // 256)
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest(data)
    context = GLib.MainContext.default()
    while pm.queue_size() == 0:
        context.iteration(True)
    assert pm.receive_blocking() == data


def test_message_attributes_are_plain():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_request({'priority': 3, 'data': [1]}, 'ch')
    rm.send_reply(b'r', 'ch', priority=1)
    rm.send_norequest(None, 'ch')

    reply = pm.receive_message_blocking('ch')
    assert (reply.payload, reply.channel_id, reply.priority, reply.request_reply,
            reply.is_reply) == (b'r', 'ch', 1.0, False, True)
    assert reply.kind == Coproc.MessageKind.REPLY
    assert type(reply.priority) is float

    request = pm.receive_message_blocking('ch')
    assert (request.payload, request.channel_id, request.priority, request.request_reply,
            request.is_reply) == ({'priority': 3, 'data': [1]}, 'ch', 3.0, True, False)
    assert request.kind == Coproc.MessageKind.REQUEST

    plain = pm.receive_message_blocking('ch')
    assert (plain.payload, plain.priority, plain.request_reply, plain.is_reply) == \
        (None, math.inf, False, False)
    assert plain.kind == Coproc.MessageKind.NOREQUEST
    assert 'payload=None' in repr(plain)

    rm.send_norequest('default channel')
    assert pm.receive_message_blocking().channel_id is None


class Opaque:
    pass


@dataclasses.dataclass
class Holder:
    value: object


@pytest.mark.parametrize('payload, path, error', [
    ({1, 2}, "payload: set: GVariant has no sets", TypeError),
    (frozenset(), "payload: frozenset: GVariant has no sets", TypeError),
    (1j, "payload: complex: GVariant has no complex numbers", TypeError),
    (Opaque(), "payload: test_conversions.Opaque: Coproc sends None, bool", TypeError),
    (object(), "payload: object:", TypeError),
    (range(3), "payload: range:", TypeError),
    ([1, 2, {'x': {3}}], "payload[2]['x']: set:", TypeError),
    ((0, [Holder(1j)]), "payload[1][0].value: complex:", TypeError),
    ({'a': 1, 2: 'b'}, "payload: dict: has both str and int keys", TypeError),
    ({(1, 2): 'tuple key'}, "payload: dict: a key of type tuple", TypeError),
    ({True: 'bool key'}, "payload: dict: a key of type bool", TypeError),
    ({None: 'x'}, "payload: dict: a key of type NoneType", TypeError),
    ({'k': [{1.5: 0}]}, "payload['k'][0]: dict: a key of type float", TypeError),
    ([2**64], "payload[0]: int: 18446744073709551616 does not fit in 64 bits", TypeError),
    ({'n': -(2**63) - 1}, "payload['n']: int: -9223372036854775809 does not fit", OverflowError),
    ({2**63: 'x'}, "payload: dict: the int key 9223372036854775808 does not fit", OverflowError),
    (['a\0b'], "payload[0]: str: contains a NUL character", ValueError),
    ({'a\0b': 1}, "payload: dict: the str key 'a\\x00b' contains a NUL", ValueError),
    ([Point], "payload[0]: type:", TypeError),
    ([GLib.Variant('i', 1), {2}], "payload[1]: set:", TypeError),
], ids=repr)
def test_unsendable_values_are_named_with_their_path(payload, path, error):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    with pytest.raises(error) as info:
        rm.send_norequest(payload)
    assert str(info.value).startswith(path), str(info.value)
    # The error is raised on its own, not while handling another one.
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert rm.messages_sent() == 0
    assert pm.available() == 0


def test_unsendable_int_is_a_type_error_and_an_overflow_error():
    with pytest.raises(TypeError):
        Coproc.to_variant(2**64)
    with pytest.raises(OverflowError):
        Coproc.to_variant(2**64)


def test_unsendable_value_paths_elsewhere():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    with pytest.raises(TypeError, match=r'^value\[0\]: set:'):
        Coproc.to_variant([set()])
    with pytest.raises(TypeError, match=r'^channel_id: set:'):
        rm.send_norequest('x', {1})
    with pytest.raises(TypeError, match=r'^channel_id\[1\]: complex:'):
        rm.available((1, 2j))
    with pytest.raises(TypeError, match=r"^payloads\[2\]\['k'\]: set:"):
        rm.send_request_multiple([1, 2, {'k': {3}}, 4])
    assert rm.requests_sent() == 0


def test_value_that_contains_itself():
    looped = []
    looped.append(looped)
    with pytest.raises(ValueError, match=r'^payload(\[0\]){64}: list: nested more than 64'):
        Coproc.to_variant(looped, 'payload')
