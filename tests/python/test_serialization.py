# test_serialization.py: the serializing paths of to_variant() and
# from_variant() against GLib's child-by-child construction and reading
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import math
import random
import struct

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.overrides import _coproc_codec as codec  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402


def same(a, b):
    '''Equal, of the same types all the way down; NaN equals NaN.'''
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack('=d', a) == struct.pack('=d', b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


# The basic types of GVariant; the serializing paths leave 'o' and 'g' to
# GLib's child-by-child code.
BASIC_TYPES = 'bynqiuxthdsog'
DECODED_BASIC_TYPES = 'bynqiuxthds'


class Values:
    '''Random plain values and random GVariant types and values.'''

    def __init__(self, seed, basic_types=BASIC_TYPES):
        self.rng = random.Random(seed)
        self.basic_types = basic_types

    def text(self):
        alphabet = ['a', 'é', '☃', '\U0001f600', "'", '\\', '\n']
        return ''.join(self.rng.choice(alphabet)
                       for _ in range(self.rng.choice([0, 1, 5, 16, 300])))

    def plain(self, depth=0):
        rng = self.rng
        kinds = ['none', 'bool', 'int', 'float', 'str', 'bytes']
        if depth < 3:
            kinds += ['tuple', 'list', 'dict', 'int dict'] * 2
        kind = rng.choice(kinds)
        if kind == 'none':
            return None
        if kind == 'bool':
            return rng.random() < 0.5
        if kind == 'int':
            return rng.choice([0, -1, 2**63 - 1, -2**63, 2**63, 2**64 - 1,
                               rng.randrange(-2**63, 2**64)])
        if kind == 'float':
            return rng.choice([-0.0, 1.5, math.inf, math.nan, rng.random() * 1e300])
        if kind == 'str':
            return self.text()
        if kind == 'bytes':
            return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 9, 300])))
        items = [self.plain(depth + 1) for _ in range(rng.choice([0, 1, 2, 3, 12]))]
        if kind == 'tuple':
            return tuple(items)
        if kind == 'list':
            return items
        if kind == 'dict':
            return {self.text(): item for item in items}
        return {rng.randrange(-2**63, 2**63): item for item in items}

    def type_string(self, depth=0):
        rng = self.rng
        kinds = list(self.basic_types + 'v')
        if depth < 3:
            kinds += ['a', 'm', '(', 'a{'] * 3
        kind = rng.choice(kinds)
        if kind in 'am':
            return kind + self.type_string(depth + 1)
        if kind == '(':
            return '(%s)' % ''.join(self.type_string(depth + 1)
                                    for _ in range(rng.choice([0, 1, 2, 3])))
        if kind == 'a{':
            return 'a{%s%s}' % (rng.choice(self.basic_types), self.type_string(depth + 1))
        return kind

    def for_type(self, type_string, i=0):
        # A value for GLib.Variant(type_string, value), and the index after
        # the type at i.
        rng = self.rng
        code = type_string[i]
        simple = {
            'b': lambda: rng.random() < 0.5, 'y': lambda: rng.randrange(256),
            'n': lambda: rng.randrange(-2**15, 2**15), 'q': lambda: rng.randrange(2**16),
            'i': lambda: rng.randrange(-2**31, 2**31), 'h': lambda: rng.randrange(2**31),
            'u': lambda: rng.randrange(2**32), 'x': lambda: rng.randrange(-2**63, 2**63),
            't': lambda: rng.randrange(2**64), 'd': rng.random, 's': self.text,
            'o': lambda: rng.choice(['/', '/a/b']), 'g': lambda: rng.choice(['', 'a{sv}']),
        }
        if code in simple:
            return simple[code](), i + 1
        if code == 'v':
            inner = self.type_string(2)
            return GLib.Variant(inner, self.for_type(inner)[0]), i + 1
        if code == 'm':
            value, end = self.for_type(type_string, i + 1)
            return (None if rng.random() < 0.3 else value), end
        if code == 'a':
            count = rng.choice([0, 1, 3, 20])
            if type_string[i + 1] == '{':
                result = {}
                for _ in range(count):
                    key, value_at = self.for_type(type_string, i + 2)
                    value, end = self.for_type(type_string, value_at)
                    result[key] = value
                _, end = self.for_type(type_string, i + 2)
                _, end = self.for_type(type_string, end)
                return result, end + 1
            _, end = self.for_type(type_string, i + 1)
            return [self.for_type(type_string, i + 1)[0] for _ in range(count)], end
        assert code == '('
        i += 1
        items = []
        while type_string[i] != ')':
            value, i = self.for_type(type_string, i)
            items.append(value)
        return tuple(items), i + 1

    def mutated(self, data):
        rng = self.rng
        data = bytearray(data)
        operation = rng.randrange(4)
        if operation == 0 and data:
            data[rng.randrange(len(data))] = rng.choice([0, 1, 0xff, ord('v'), rng.randrange(256)])
        elif operation == 1 and data:
            del data[rng.randrange(len(data)):]
        elif operation == 2:
            data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
        elif data:
            data[-1] = rng.randrange(256)
        return bytes(data)


def outcome(convert, variant):
    try:
        return ('value', convert(variant))
    except Exception as error:
        return ('error', type(error))


def reads_as_glib_does(variant):
    fast = outcome(Coproc.from_variant, variant)
    glib = outcome(codec.from_variant_tree, variant)
    return fast[0] == glib[0] and (fast[0] == 'error' or same(fast[1], glib[1]))


def untrusted(type_string, data):
    return GLib.Variant.new_from_bytes(GLib.VariantType.new(type_string),
                                       GLib.Bytes.new(data), False)


def in_normal_form(variant):
    '''Whether the serialized data of variant is in normal form, as GLib
    judges it for untrusted data (for a variant it made itself, or one
    made trusted, GLib's is_normal_form() answers yes without looking).'''
    data = variant.get_data_as_bytes().get_data()
    reloaded = untrusted(variant.get_type_string(), data)
    return (reloaded.is_normal_form() and
            reloaded.get_normal_form().get_data_as_bytes().get_data() == data)


def test_normal_form_check_finds_data_not_in_normal_form():
    # Each is valid GVariant data that is not in normal form.
    assert in_normal_form(untrusted('(yx)', b'\1' + bytes(7) + b'\2' + bytes(7)))
    assert not in_normal_form(untrusted('(yx)', b'\1\1' + bytes(6) + b'\2' + bytes(7)))
    assert in_normal_form(untrusted('as', b'a\0\2'))
    assert not in_normal_form(untrusted('as', b'a\0\2\0'))
    assert not in_normal_form(untrusted('b', b'\2'))


@pytest.fixture
def fast_paths_only(monkeypatch):
    '''Makes the codec fail where it would fall back to GLib's
    child-by-child code; gives that code to the test as (to, from).'''
    inside_reference = []

    def guarded(convert):
        def call(value):
            if not inside_reference:
                raise AssertionError('fell back to the child-by-child code for %r' % (value,))
            return convert(value)
        return call

    def reference(convert):
        # The reference recurses through the guarded names: let it.
        def call(value):
            inside_reference.append(True)
            try:
                return convert(value)
            finally:
                inside_reference.pop()
        return call

    to_tree, from_tree = codec.to_variant_tree, codec.from_variant_tree
    monkeypatch.setattr(codec, 'to_variant_tree', guarded(to_tree))
    monkeypatch.setattr(codec, 'from_variant_tree', guarded(from_tree))
    return reference(to_tree), reference(from_tree)


@pytest.mark.parametrize('seed', range(4))
def test_serialized_values_are_glibs(seed, fast_paths_only):
    to_tree, from_tree = fast_paths_only
    values = Values(seed)
    for _ in range(100):
        value = values.plain()
        made = Coproc.to_variant(value)
        built = to_tree(value)
        assert made.get_type_string() == built.get_type_string()
        assert made.get_data_as_bytes().get_data() == built.get_data_as_bytes().get_data()
        assert in_normal_form(made), made
        assert same(Coproc.from_variant(made), from_tree(built))


@pytest.mark.parametrize('seed', range(4))
def test_decoded_values_are_glibs(seed):
    values = Values(seed)
    for _ in range(100):
        type_string = values.type_string()
        variant = GLib.Variant(type_string, values.for_type(type_string)[0])
        assert reads_as_glib_does(variant), variant


@pytest.mark.parametrize('seed', range(4))
def test_decoded_values_take_the_fast_path(seed, fast_paths_only):
    # Data in normal form, of the types the serializing path reads, never
    # falls back (which would make the comparisons above trivial).
    _, from_tree = fast_paths_only
    values = Values(seed, DECODED_BASIC_TYPES)
    for _ in range(100):
        type_string = values.type_string()
        variant = GLib.Variant(type_string, values.for_type(type_string)[0])
        assert same(Coproc.from_variant(variant), from_tree(variant)), variant


@pytest.mark.parametrize('seed', range(4))
def test_data_not_in_normal_form_reads_as_glib_does(seed):
    values = Values(seed)
    for _ in range(100):
        type_string = values.type_string()
        for variant in (GLib.Variant(type_string, values.for_type(type_string)[0]),
                        Coproc.to_variant(values.plain())):
            for _ in range(3):
                data = values.mutated(variant.get_data_as_bytes().get_data())
                assert reads_as_glib_does(untrusted(variant.get_type_string(), data)), \
                    (variant.get_type_string(), data)


def test_fixed_size_value_of_the_wrong_size():
    # GLib keeps no data for it, and would abort if asked for its bytes.
    for type_string, data in [('(xx)', b'\1' * 9), ('(bd)', b''), ('()', b'\0\0')]:
        assert reads_as_glib_does(untrusted(type_string, data))


@pytest.mark.parametrize('seed', range(2))
def test_batches_decode_as_single_values(seed):
    values = Values(seed)
    pm, rm = Coproc.PriorityMessenger.new_pair()
    context = GLib.MainContext.default()
    makers = [values.plain, values.text, lambda: (values.rng.randrange(9), values.text()),
              lambda: values.rng.random() < 0.5, lambda: (1.5, values.rng.randrange(2**64)),
              lambda: GLib.Variant('(ii)', (values.rng.randrange(9), 5)), lambda: None]
    for _ in range(20):
        make = values.rng.choice(makers)
        sent = [make() for _ in range(values.rng.choice([1, 2, 16, 17, 300]))]
        # The wire takes type strings of up to 255 characters.
        sent = [value for value in sent
                if len(Coproc.to_variant(value).get_type_string()) < 200]
        for value in sent:
            rm.send_norequest(value)
        while pm.queue_size() < len(sent):
            context.iteration(False)
            pm.available()
        received = pm.receive_available()
        expected = [Coproc.from_variant(Coproc.to_variant(value)) for value in sent]
        assert all(same(a, b) for a, b in zip(received, expected))
        assert len(received) == len(expected)


def test_nul_in_a_dictionary_key_is_refused():
    with pytest.raises(ValueError):
        Coproc.to_variant({'a\0b': 1})
    with pytest.raises(ValueError):
        Coproc.to_variant({'a\0b': GLib.Variant('i', 1)})


@pytest.mark.parametrize('type_string,values', [
    ('ax', [0, -1, 2 ** 63 - 1, -2 ** 63]),
    ('at', [0, 2 ** 64 - 1]),
    ('ai', [1, -2 ** 31, 2 ** 31 - 1]),
    ('au', [0, 2 ** 32 - 1]),
    ('an', [-2 ** 15, 2 ** 15 - 1]),
    ('aq', [0, 2 ** 16 - 1]),
    ('ad', [0.5, -1e300, math.inf]),
    ('(yax)', (7, [1, 2, 3])),
    ('aax', [[1], [], [2, 3]]),
])
def test_arrays_of_numbers_read_as_glib_does(type_string, values):
    variant = GLib.Variant(type_string, values)
    assert codec.from_variant(variant) == codec.from_variant_tree(variant)
    assert codec.from_variant(variant) == (list(values) if type_string[0] == 'a' else values)


def test_packed_numbers():
    ints = codec.packed_numbers([3, -4, 2 ** 40])
    assert ints.get_type_string() == 'ax'
    assert codec.from_variant(ints) == [3, -4, 2 ** 40]
    floats = codec.packed_numbers([0.25, -2.0])
    assert floats.get_type_string() == 'ad'
    assert codec.from_variant(floats) == [0.25, -2.0]
    # Anything else is left to to_variant().
    for values in ([], [1, 2.0], [True, False], [2 ** 63], ['a'], [1, None]):
        assert codec.packed_numbers(values) is None
