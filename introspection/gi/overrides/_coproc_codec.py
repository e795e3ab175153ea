# _coproc_codec.py: plain Python values to and from GVariant
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""The value codec of the coproc overrides: Python values <-> ``GLib.Variant``.

This module is internal to the overrides (``gi.overrides.Coproc`` exports
:func:`to_variant` and :func:`from_variant` as ``Coproc.to_variant`` and
``Coproc.from_variant``, and documents the mapping). Its interface to the
rest of the package:

``to_variant(value)``
    A plain value as a ``GLib.Variant``; a ``GLib.Variant`` is returned as
    it is.
``from_variant(variant)``
    A ``GLib.Variant`` (or ``None``) as a plain value.
``from_variants(variants)``
    ``[from_variant(v) for v in variants]``, faster for the payloads of a
    batch of messages.
``channel_variant(channel_id)``
    A channel id as a variant, ``None`` for the default channel; recent ids
    are cached.
``to_variant_tree(value)``, ``from_variant_tree(variant)``
    The same conversions made child by child with GLib's own calls: the
    reference the fast paths are tested against, and their fallback.
``class_identity(cls)``, ``loaded_class(module, qualname)``
    How a class is named to a peer, and the class a peer's name stands
    for in this process, if it is loaded: the rule for the dataclasses
    here and for the exceptions of ``Coproc.Messenger.send_error``.

Classes that cross as themselves
    A dataclass instance is sent as the ``a{sv}`` of its fields, plus one
    entry :data:`DATACLASS_KEY` (``"@dataclass"``, which is no field name)
    holding ``(module, qualified name)`` as ``(ss)``; ``__mp_main__`` is
    sent as ``__main__``. A C or JavaScript peer reads a dictionary of the
    fields, and its ``"priority"`` entry orders the message as any
    dictionary's does. A Python receiver rebuilds the instance when
    :func:`loaded_class` finds a dataclass whose fields have exactly the
    names received, and its constructor accepts them; otherwise it gets
    the dictionary of the fields, without that entry. A plain dictionary
    with a ``"@dataclass"`` key is refused by the sender (``ValueError``),
    so that it can never be taken for a dataclass.

    :func:`loaded_class` looks only at modules that are in ``sys.modules``
    already, reading their and their classes' ``__dict__`` (so neither a
    module's ``__getattr__`` nor a lazy module's loader runs), and only
    returns a class whose own ``__module__`` and ``__qualname__`` are the
    ones asked for. Nothing is imported and nothing is unpickled: a peer
    can only have this process run the constructor of a class it already
    loaded, with values of the plain types above.
"""

import dataclasses
import struct
import sys
import types

from gi.module import get_introspection_module
from gi.repository import GLib

__all__ = ['to_variant', 'serialize', 'from_variant', 'from_variants', 'channel_variant',
           'to_variant_tree', 'from_variant_tree', 'class_identity', 'loaded_class',
           'DATACLASS_KEY', 'packed_numbers']

#: The entry of a dataclass's ``a{sv}`` that names its class.
DATACLASS_KEY = '@dataclass'

#
# A PyGObject call costs a few tenths of a microsecond, and more than a
# microsecond when it returns a GLib.Variant (whose wrapper has a Python
# finalizer), whatever the size of the value. So a plain value is made with
# as few calls as possible: a number, a str or None with its constructor;
# anything else is serialized here, in GVariant's format (normal form,
# native byte order, framing offsets little-endian), and becomes a variant
# with one GLib.Variant.new_from_bytes(). Likewise a received container is
# decoded here from its serialized data, taken in one call, rather than
# read child by child. The child-by-child code at the end of this module
# remains for what these paths leave alone: variants inside plain values,
# types this code does not decode, and data that is not in normal form
# (GLib decides what that means).

_VT_VARIANT = GLib.VariantType.new('v')
_VT_BYTES = GLib.VariantType.new('ay')
_VT_STR_ENTRY = GLib.VariantType.new('{sv}')
_VT_INT_ENTRY = GLib.VariantType.new('{xv}')

_INT64_MIN = -(1 << 63)
_INT64_END = 1 << 63
_UINT64_END = 1 << 64

_UNSET = object()

_Variant = GLib.Variant
_new_from_bytes = GLib.Variant.new_from_bytes
_new_gbytes = GLib.Bytes.new
_new_boolean = GLib.Variant.new_boolean
_new_int64 = GLib.Variant.new_int64
_new_uint64 = GLib.Variant.new_uint64
_new_double = GLib.Variant.new_double
_new_string = GLib.Variant.new_string
_new_maybe = GLib.Variant.new_maybe
_get_type_string = GLib.Variant.get_type_string
_get_data = GLib.Variant.get_data
_get_data_as_bytes = GLib.Variant.get_data_as_bytes
_bytes_get_data = GLib.Bytes.get_data

_pack_int64 = struct.Struct('=q').pack
_pack_uint64 = struct.Struct('=Q').pack
_pack_double = struct.Struct('=d').pack

# Framing offsets are little-endian, of 1, 2, 4 or 8 bytes.
_OFFSET_STRUCTS = {size: struct.Struct(code) for size, code in
                   ((1, '<B'), (2, '<H'), (4, '<I'), (8, '<Q'))}
_PACK_OFFSET = {size: s.pack for size, s in _OFFSET_STRUCTS.items()}
_READ_OFFSET = {size: s.unpack_from for size, s in _OFFSET_STRUCTS.items()}

# Zero bytes to pad to an alignment of up to 8.
_PADDING = tuple(bytes(n) for n in range(8))


# Classes -------------------------------------------------------------------

_MAIN_NAMES = ('__main__', '__mp_main__')


_VT_INT64_ARRAY = GLib.VariantType.new('ax')
_VT_DOUBLE_ARRAY = GLib.VariantType.new('ad')


def packed_numbers(values):
    """A list of ints (or of floats) as one ``ax`` (or ``ad``), made at C
    speed, or ``None`` when ``values`` is anything else: for a protocol of
    the overrides' own, whose receiver reads either as the same list.
    (:func:`to_variant` makes an ``av`` of any list, as the documented
    mapping says.)"""
    if not values:
        return None
    kind = type(values[0])
    if kind is int:
        code, variant_type = 'q', _VT_INT64_ARRAY
    elif kind is float:
        code, variant_type = 'd', _VT_DOUBLE_ARRAY
    else:
        return None
    # One type for all, checked at C speed (bool, a subclass of int, is not
    # packed, nor are ints among floats).
    if len(set(map(type, values))) != 1:
        return None
    # struct reads a tuple of ints twice as fast as array.array a list.
    try:
        data = struct.pack('=%d%s' % (len(values), code), *values)
    except struct.error:
        return None
    return GLib.Variant.new_from_bytes(variant_type, GLib.Bytes.new(data), True)


def class_identity(cls):
    """``(module, qualified name)`` of ``cls``, as a peer is told it:
    ``__mp_main__`` (a worker's copy of the host's script) is ``__main__``."""
    module = cls.__module__
    if module == '__mp_main__':
        module = '__main__'
    return (module, cls.__qualname__)


def _namespace(obj):
    # The __dict__ of a module or a class, read without running any of
    # their code (a lazy module would load itself on attribute access).
    if isinstance(obj, types.ModuleType):
        return object.__getattribute__(obj, '__dict__')
    if isinstance(obj, type):
        return type.__getattribute__(obj, '__dict__')
    return None


def loaded_class(module, qualname):
    """The class named ``qualname`` in the module named ``module``, if
    that module is loaded in this process (``__main__`` and ``__mp_main__``
    are one), else ``None``. Never imports anything."""
    if not (type(module) is str and type(qualname) is str):
        return None
    parts = qualname.split('.')
    if not all(part.isidentifier() for part in parts):
        return None
    wanted = (module, qualname)
    if module in _MAIN_NAMES:
        wanted = ('__main__', qualname)
        candidates = _MAIN_NAMES
    else:
        candidates = (module,)

    for name in candidates:
        obj = sys.modules.get(name)
        for part in parts:
            namespace = _namespace(obj)
            obj = None if namespace is None else namespace.get(part)
        if isinstance(obj, type) and class_identity(obj) == wanted:
            return obj
    return None


# The caches below hold what was computed for the types, type strings,
# channels and classes met, up to a bound each: a program meets a few of
# them, again and again.
_MAX_CACHED = 256


def _remember(cache, key, value):
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = value
    return value


# How each dataclass is sent: its identity and its fields' names.
_DATACLASS_PLANS = {}


def _dataclass_plan(cls):
    plan = _DATACLASS_PLANS.get(cls)
    if plan is None:
        plan = _remember(_DATACLASS_PLANS, cls,
                         (class_identity(cls),
                          tuple(field.name for field in dataclasses.fields(cls))))
    return plan


def _dataclass_entries(value):
    # The dictionary a dataclass instance is sent as.
    identity, names = _dataclass_plan(type(value))
    entries = {DATACLASS_KEY: identity}
    for name in names:
        entries[name] = getattr(value, name)
    return entries


def _rebuilt(entries):
    # A received a{sv} with a DATACLASS_KEY entry: the dataclass it names,
    # or its fields as a dictionary.
    identity = entries[DATACLASS_KEY]
    if not (type(identity) is tuple and len(identity) == 2 and
            type(identity[0]) is str and type(identity[1]) is str):
        # Not one of ours: leave it as it is.
        return entries
    del entries[DATACLASS_KEY]
    cls = loaded_class(*identity)
    if cls is None or not dataclasses.is_dataclass(cls):
        return entries
    fields = dataclasses.fields(cls)
    if len(fields) != len(entries) or any(field.name not in entries for field in fields):
        return entries
    try:
        instance = cls(**{field.name: entries[field.name] for field in fields if field.init})
        for field in fields:
            if not field.init:
                # As the dataclass's own __init__ sets them, frozen or not.
                object.__setattr__(instance, field.name, entries[field.name])
    except Exception:
        return entries
    return instance


def _str_dict(items=()):
    # The dictionary of a received a{sv}.
    entries = dict(items)
    if DATACLASS_KEY in entries:
        return _rebuilt(entries)
    return entries


# Serializing ---------------------------------------------------------------

def _offset_size(body_size, n_offsets):
    # The size of the framing offsets of a container: the smallest in which
    # its total size fits.
    if body_size + n_offsets <= 0xff:
        return 1
    if body_size + 2 * n_offsets <= 0xffff:
        return 2
    if body_size + 4 * n_offsets <= 0xffffffff:
        return 4
    return 8


def _frame_size(size):
    # The size of the framing offsets of a container of this total size.
    if size > 0xffffffff:
        return 8
    if size > 0xffff:
        return 4
    if size > 0xff:
        return 2
    return 1 if size else 0


def _append_offsets(out, ends):
    # Appends the framing offsets ends to the container out.
    pack = _PACK_OFFSET[_offset_size(len(out), len(ends))]
    for end in ends:
        out += pack(end)


class _NotHandled(Exception):
    # The value is left to the child-by-child code.
    pass


def _overflow(value):
    return OverflowError('Coproc cannot send the integer %d: it does not fit in 64 bits '
                         '(send it as a str)' % value)


def _nul_in_str():
    return ValueError('Coproc cannot send a str that contains NUL characters '
                      '(send it as bytes)')


# Encoders: each returns (type string, serialized data, alignment mask,
# whether the type has a fixed size).

_NONE = ('mv', b'', 7, False)
_TRUE = ('b', b'\x01', 0, True)
_FALSE = ('b', b'\x00', 0, True)
_UNIT = ('()', b'\x00', 0, True)
_EMPTY_LIST = ('av', b'', 7, False)
_EMPTY_DICT = ('a{sv}', b'', 7, False)


def _enc_none(value):
    return _NONE


def _enc_bool(value):
    return _TRUE if value else _FALSE


def _enc_int(value):
    if _INT64_MIN <= value < _INT64_END:
        return ('x', _pack_int64(value), 7, True)
    if 0 <= value < _UINT64_END:
        return ('t', _pack_uint64(value), 7, True)
    raise _overflow(value)


def _enc_float(value):
    return ('d', _pack_double(value), 7, True)


def _enc_str(value):
    if '\0' in value:
        raise _nul_in_str()
    return ('s', value.encode() + b'\0', 0, False)


def _enc_bytes(value):
    return ('ay', value, 0, False)


def _enc_bytes_like(value):
    return ('ay', bytes(value), 0, False)


def _enc_tuple(value):
    if not value:
        return _UNIT
    out = bytearray()
    type_string = '('
    ends = []           # of the variable-size children but the last
    align = 0
    fixed = True
    last = len(value) - 1
    i = -1
    for item in value:
        i += 1
        cls = type(item)
        # Integers and strings inline: most small messages are made of them.
        if cls is int and _INT64_MIN <= item < _INT64_END:
            out += _PADDING[-len(out) & 7]
            out += _pack_int64(item)
            type_string += 'x'
            align = 7
            continue
        if cls is str:
            if '\0' in item:
                raise _nul_in_str()
            out += item.encode()
            out.append(0)
            type_string += 's'
            fixed = False
            if i != last:
                ends.append(len(out))
            continue
        item_type, data, item_align, item_fixed = _ENCODERS.get(cls, _enc_other)(item)
        if item_align:
            out += _PADDING[-len(out) & item_align]
            align |= item_align
        out += data
        type_string += item_type
        if not item_fixed:
            fixed = False
            if i != last:
                ends.append(len(out))

    if fixed:
        # A fixed-size tuple is padded to its alignment.
        out += _PADDING[-len(out) & align]
    elif ends:
        # The offsets of a tuple come in reverse order.
        ends.reverse()
        _append_offsets(out, ends)
    return (type_string + ')', out, align, fixed)


def _append_variant(out, item):
    # Appends a 'v' holding item to out, aligned.
    item_type, data, _, _ = _ENCODERS.get(type(item), _enc_other)(item)
    out += _PADDING[-len(out) & 7]
    out += data
    out.append(0)
    out += item_type.encode()


def _enc_list(value):
    if not value:
        return _EMPTY_LIST
    out = bytearray()
    ends = []
    for item in value:
        _append_variant(out, item)
        ends.append(len(out))
    _append_offsets(out, ends)
    return ('av', out, 7, False)


def _dict_has_int_keys(value):
    # Whether the keys are int (else they are str); raises for others.
    int_keys = None
    for key in value:
        if isinstance(key, str):
            is_int = False
        elif isinstance(key, int) and not isinstance(key, bool):
            is_int = True
        else:
            raise TypeError('Coproc can only send dictionaries whose keys are all str or all '
                            'int, not %s' % type(key).__name__)
        if int_keys is None:
            int_keys = is_int
        elif int_keys != is_int:
            raise TypeError('Coproc can only send dictionaries whose keys are all str or all int')
    return bool(int_keys)


def _int_key(key):
    if not _INT64_MIN <= key < _INT64_END:
        raise OverflowError('Coproc cannot send the dictionary key %d: it does not fit in '
                            '64 bits' % key)
    return int(key)


def _str_key(key):
    key = str.__str__(key)
    if '\0' in key:
        raise _nul_in_str()
    return key


def _reserved_key():
    return ValueError('Coproc cannot send a dictionary with a %r key: it is reserved for '
                      'dataclasses' % DATACLASS_KEY)


def _enc_dict(value):
    if DATACLASS_KEY in value:
        raise _reserved_key()
    return _enc_entries(value)


def _enc_entries(value):
    int_keys = _dict_has_int_keys(value)
    if not value:
        return _EMPTY_DICT
    out = bytearray()
    ends = []
    for key, item in value.items():
        out += _PADDING[-len(out) & 7]
        if int_keys:
            # {xv}: the key, then the variant, with no framing offset.
            out += _pack_int64(_int_key(key))
            _append_variant(out, item)
        else:
            # {sv}: the key, the variant, and the offset of the key's end.
            entry = bytearray(_str_key(key).encode())
            entry.append(0)
            key_end = len(entry)
            _append_variant(entry, item)
            _append_offsets(entry, (key_end,))
            out += entry
        ends.append(len(out))
    _append_offsets(out, ends)
    return ('a{xv}' if int_keys else 'a{sv}', out, 7, False)


def _enc_other(value):
    # Subclasses of the plain types, dataclasses, and what is not handled
    # here, in the order of to_variant()'s documentation. A subclass of a
    # plain type is sent as the plain value, as PyGObject reads it.
    if isinstance(value, _Variant):
        raise _NotHandled()
    if isinstance(value, bool):
        return _enc_bool(value)
    if isinstance(value, int):
        return _enc_int(int(value))
    if isinstance(value, float):
        return _enc_float(float(value))
    if isinstance(value, str):
        return _enc_str(str.__str__(value))
    if isinstance(value, bytes):
        return ('ay', bytes(memoryview(value)), 0, False)
    if isinstance(value, (bytearray, memoryview)):
        return _enc_bytes_like(value)
    if isinstance(value, tuple):
        return _enc_tuple(tuple(value))
    if isinstance(value, list):
        return _enc_list(list(value))
    if isinstance(value, dict):
        return _enc_dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _enc_entries(_dataclass_entries(value))
    raise TypeError('Coproc cannot send a value of type %s' % type(value).__name__)


_ENCODERS = {
    type(None): _enc_none,
    bool: _enc_bool,
    int: _enc_int,
    float: _enc_float,
    str: _enc_str,
    bytes: _enc_bytes,
    bytearray: _enc_bytes_like,
    memoryview: _enc_bytes_like,
    tuple: _enc_tuple,
    list: _enc_list,
    dict: _enc_dict,
}

# The GLib.VariantType of each type string met.
_VARIANT_TYPES = {}


def _variant_type(type_string):
    vtype = _VARIANT_TYPES.get(type_string)
    if vtype is None:
        vtype = _remember(_VARIANT_TYPES, type_string, GLib.VariantType.new(type_string))
    return vtype


def _variant_of_int(value):
    if _INT64_MIN <= value < _INT64_END:
        return _new_int64(value)
    if 0 <= value < _UINT64_END:
        return _new_uint64(value)
    raise _overflow(value)


def _variant_of_str(value):
    if '\0' in value:
        raise _nul_in_str()
    return _new_string(value)


def _variant_of_none(value):
    return _new_maybe(_VT_VARIANT, None)


# Values that have a GLib.Variant constructor of their own: one call.
_CONSTRUCTORS = {
    type(None): _variant_of_none,
    bool: _new_boolean,
    int: _variant_of_int,
    float: _new_double,
    str: _variant_of_str,
}


def to_variant(value, root='value'):
    """Converts a plain Python value to a ``GLib.Variant``.

    See the table in the module documentation of ``Coproc``. A
    ``GLib.Variant`` is returned as it is. A value GVariant cannot carry
    raises ``TypeError`` (``OverflowError`` too for integers that do not
    fit in 64 bits; ``ValueError`` for a ``str`` with a NUL character),
    whose message begins with the path of the value inside ``value``,
    named ``root``: ``"payload[2]['x']: set: ..."``.
    """
    cls = type(value)
    try:
        construct = _CONSTRUCTORS.get(cls)
        if construct is not None:
            return construct(value)
        encode = _ENCODERS.get(cls)
        if encode is None:
            if isinstance(value, _Variant):
                return value
            encode = _enc_other
        try:
            type_string, data, _, _ = encode(value)
        except _NotHandled:
            return to_variant_tree(value)
    except (TypeError, ValueError, OverflowError, RecursionError):
        _raise_unsendable(value, root)
        raise
    vtype = _VARIANT_TYPES.get(type_string)
    if vtype is None:
        vtype = _variant_type(type_string)
    # PyGObject reads a bytearray element by element: give it bytes.
    if cls is not bytes:
        data = bytes(data)
    return _new_from_bytes(vtype, _new_gbytes(data), True)


def serialize(value):
    """The type string and the serialized ``bytes`` of ``value``, as
    :func:`to_variant` would make them, or ``None`` when ``to_variant()``
    has to make the value another way (a number, a ``str`` or ``None``,
    which have a constructor of their own; a ``GLib.Variant``; anything the
    encoders leave to the child-by-child code; and any value that cannot
    be sent, for ``to_variant()`` to raise about). A sender passes the two
    to ``Coproc.Messenger.send_serialized()`` in one call, where a variant
    would cost two more: ``GLib.Bytes.new()`` and
    ``GLib.Variant.new_from_bytes()``.
    """
    cls = type(value)
    encode = _ENCODERS.get(cls)
    if encode is None:
        return None
    try:
        type_string, data, _, _ = encode(value)
    except (_NotHandled, TypeError, ValueError, OverflowError, RecursionError):
        return None
    # PyGObject reads a bytearray element by element: give it bytes.
    return type_string, (data if cls is bytes else bytes(data))


# What cannot be sent. The encoders above only raise; this code, run once
# they did, walks the value again to say what and where.

class _IntOutOfRange(OverflowError, TypeError):
    # Caught as either: OverflowError since 1.0, TypeError as everything
    # else GVariant cannot carry.
    pass


# Containers nested deeper than this are refused: GLib reads no value
# nested more than 128 containers deep, and every item of a list or a dict
# is two (the container and its variant).
_MAX_SEND_NESTING = 64

_HINTS = {
    set: 'GVariant has no sets: send a list or a tuple',
    frozenset: 'GVariant has no sets: send a list or a tuple',
    complex: 'GVariant has no complex numbers: send a (real, imag) tuple',
}
_DEFAULT_HINT = ('Coproc sends None, bool, int, float, str, bytes, tuple, list, dict, '
                 'dataclass instances and GLib.Variant values')


def _type_name(value):
    cls = type(value)
    if cls.__module__ == 'builtins':
        return cls.__qualname__
    return '%s.%s' % (cls.__module__, cls.__qualname__)


def _short_repr(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + '...'


def _unsendable_key(key, path):
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        return TypeError('%s: dict: a key of type %s: Coproc sends dictionaries whose keys are '
                         'all str or all int' % (path, _type_name(key)))
    if isinstance(key, int):
        if not _INT64_MIN <= key < _INT64_END:
            return _IntOutOfRange('%s: dict: the int key %d does not fit in 64 bits'
                                  % (path, key))
    elif '\0' in key:
        return ValueError('%s: dict: the str key %s contains a NUL character'
                          % (path, _short_repr(key)))
    return None


def _find_unsendable(value, path, depth):
    # The exception for the first part of value that cannot be sent, or
    # None.
    if value is None or isinstance(value, (bool, float, bytes, bytearray, memoryview,
                                           _Variant)):
        return None
    if isinstance(value, int):
        if _INT64_MIN <= value < _UINT64_END:
            return None
        return _IntOutOfRange('%s: int: %d does not fit in 64 bits (send it as a str)'
                              % (path, value))
    if isinstance(value, str):
        if '\0' in value:
            return ValueError('%s: str: contains a NUL character (send it as bytes)' % path)
        return None

    is_dataclass = dataclasses.is_dataclass(value) and not isinstance(value, type)
    if isinstance(value, (tuple, list, dict)) or is_dataclass:
        if depth >= _MAX_SEND_NESTING:
            return ValueError('%s: %s: nested more than %d containers deep (or it contains '
                              'itself)' % (path, _type_name(value), _MAX_SEND_NESTING))
        depth += 1

    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            problem = _find_unsendable(item, '%s[%d]' % (path, i), depth)
            if problem is not None:
                return problem
        return None
    if isinstance(value, dict):
        if DATACLASS_KEY in value:
            return ValueError('%s: dict: the key %r is reserved for dataclasses'
                              % (path, DATACLASS_KEY))
        key_types = set()
        for key, item in value.items():
            problem = _unsendable_key(key, path)
            if problem is not None:
                return problem
            key_types.add(str if isinstance(key, str) else int)
            if len(key_types) > 1:
                return TypeError('%s: dict: has both str and int keys: Coproc sends '
                                 'dictionaries whose keys are all str or all int' % path)
            problem = _find_unsendable(item, '%s[%s]' % (path, _short_repr(key)), depth)
            if problem is not None:
                return problem
        return None
    if is_dataclass:
        for field in dataclasses.fields(value):
            problem = _find_unsendable(getattr(value, field.name),
                                       '%s.%s' % (path, field.name), depth)
            if problem is not None:
                return problem
        return None
    return TypeError('%s: %s: %s' % (path, _type_name(value),
                                     _HINTS.get(type(value), _DEFAULT_HINT)))


def _raise_unsendable(value, root):
    # Raises the error that says what in value cannot be sent, if it finds
    # it; otherwise returns, and the caller raises what it caught.
    try:
        problem = _find_unsendable(value, root, 0)
    except Exception:
        # Something in value (a property, say) fails when read again.
        return
    if problem is not None:
        raise problem from None


# Decoders: one per type string, made on first use, called as
# decode(data, start, end, depth) for the value serialized in
# data[start:end], nested depth containers deep. They raise on anything
# that is not in normal form.

class _Malformed(Exception):
    pass


# How a tuple decoder reads each kind of child.
_NUMBER, _STRING, _OTHER = range(3)


def _dec_bool(data, start, end, depth):
    if end - start != 1 or data[start] > 1:
        raise _Malformed()
    return data[start] == 1


def _dec_byte(data, start, end, depth):
    if end - start != 1:
        raise _Malformed()
    return data[start]


def _number_type(code):
    # The basic type info of a number read by struct.
    number = struct.Struct(code)
    unpack_from = number.unpack_from
    size = number.size

    def decode(data, start, end, depth):
        if end - start != size:
            raise _Malformed()
        return unpack_from(data, start)[0]
    return (decode, size - 1, size, 1, _NUMBER, unpack_from)


def _dec_str(data, start, end, depth):
    # One NUL, at the end; strict UTF-8.
    if data.find(0, start, end) != end - 1:
        raise _Malformed()
    return data[start:end - 1].decode()


def _dec_bytes(data, start, end, depth):
    return data[start:end]


# GLib reads values nested 128 deep as units; anything close is left to it.
_MAX_NESTING = 120


def _dec_variant(data, start, end, depth):
    split = data.rindex(0, start, end)
    info = _type_info(data[split + 1:end].decode('ascii'))
    if info is None or depth + info[3] >= _MAX_NESTING:
        raise _Malformed()
    return info[0](data, start, split, depth + 1)


# A type info: (decoder, alignment mask, fixed size or 0, nesting depth,
# kind for tuple decoders, struct unpack_from for numbers).
_BASIC_TYPES = {
    'b': (_dec_bool, 0, 1, 1, _OTHER, None),
    'y': (_dec_byte, 0, 1, 1, _OTHER, None),
    'n': _number_type('=h'),
    'q': _number_type('=H'),
    'i': _number_type('=i'),
    'u': _number_type('=I'),
    'x': _number_type('=q'),
    't': _number_type('=Q'),
    'h': _number_type('=i'),
    'd': _number_type('=d'),
    's': (_dec_str, 0, 0, 1, _STRING, None),
}
# The memoryview formats of the numbers, native as GVariant's data is.
_CAST_CODES = {_BASIC_TYPES[t][5]: c for t, c in
               (('n', 'h'), ('q', 'H'), ('i', 'i'), ('u', 'I'), ('x', 'q'), ('t', 'Q'),
                ('d', 'd'))}
_VARIANT_INFO = (_dec_variant, 7, 0, 1, _OTHER, None)
_BYTES_INFO = (_dec_bytes, 0, 0, 2, _OTHER, None)


def _maybe_info(child):
    decode_child, align, child_size, child_depth = child[:4]

    def decode(data, start, end, depth):
        if start == end:
            return None
        if child_size:
            return decode_child(data, start, end, depth + 1)
        if data[end - 1] != 0:
            raise _Malformed()
        return decode_child(data, start, end - 1, depth + 1)
    return (decode, align, 0, child_depth + 1, _OTHER, None)


def _array_info(child, make):
    # make: list, dict, or _str_dict for a{sv}.
    decode_child, align, child_size, child_depth = child[:4]

    cast = _CAST_CODES.get(child[5]) if make is list else None
    if cast is not None:
        # An array of numbers: read at C speed.
        def decode(data, start, end, depth):
            if (end - start) % child_size:
                raise _Malformed()
            return memoryview(data)[start:end].cast(cast).tolist()
        return (decode, align, 0, child_depth + 1, _OTHER, None)

    if child_size:
        def decode(data, start, end, depth):
            if (end - start) % child_size:
                raise _Malformed()
            depth += 1
            return make([decode_child(data, at, at + child_size, depth)
                         for at in range(start, end, child_size)])
        return (decode, align, 0, child_depth + 1, _OTHER, None)

    def decode(data, start, end, depth):
        size = end - start
        if not size:
            return make()
        offset_size = _frame_size(size)
        read = _READ_OFFSET[offset_size]
        table = read(data, end - offset_size)[0]
        count, rest = divmod(size - table, offset_size)
        if table > size or rest or not count:
            raise _Malformed()
        depth += 1
        items = []
        position = 0
        for at in range(start + table, end, offset_size):
            item_end = read(data, at)[0]
            position += -position & align
            if not position <= item_end <= table:
                raise _Malformed()
            items.append(decode_child(data, start + position, start + item_end, depth))
            position = item_end
        return make(items)
    return (decode, align, 0, child_depth + 1, _OTHER, None)


def _tuple_info(children):
    # A tuple or dict entry.
    if not children:
        def decode_unit(data, start, end, depth):
            if end - start != 1:
                raise _Malformed()
            return ()
        return (decode_unit, 0, 1, 1, _OTHER, None)

    align = 0
    for child in children:
        align |= child[1]
    nesting = 1 + max(child[3] for child in children)

    if all(child[2] for child in children):
        # Fixed size: each child at a known place.
        layout = []
        position = 0
        for decode_child, child_align, child_size, _, _, _ in children:
            position += -position & child_align
            layout.append((decode_child, position, position + child_size))
            position += child_size
        total = position + (-position & align)

        def decode_fixed(data, start, end, depth):
            if end - start != total:
                raise _Malformed()
            depth += 1
            return tuple([decode_child(data, start + child_start, start + child_end, depth)
                          for decode_child, child_start, child_end in layout])
        return (decode_fixed, align, total, nesting, _OTHER, None)

    # For each child: how to read it, its alignment mask and fixed size (0
    # when variable), and whether a framing offset gives its end.
    last = len(children) - 1
    plan = []
    for i, (decode_child, child_align, child_size, _, kind, unpack_from) in enumerate(children):
        plan.append((kind, unpack_from or decode_child, child_align, child_size,
                     not child_size and i != last))
    n_offsets = sum(1 for step in plan if step[4])

    def decode(data, start, end, depth):
        body = size = end - start
        if n_offsets:
            offset_size = _frame_size(size)
            body -= n_offsets * offset_size
            if body < 0:
                raise _Malformed()
            read = _READ_OFFSET[offset_size]
            frame = end
        depth += 1
        position = 0
        items = []
        for kind, read_child, child_align, child_size, framed in plan:
            position += -position & child_align
            if child_size:
                item_end = position + child_size
            elif framed:
                frame -= offset_size
                item_end = read(data, frame)[0]
            else:
                item_end = body
            if not position <= item_end <= body:
                raise _Malformed()
            if kind == _NUMBER:
                items.append(read_child(data, start + position)[0])
            elif kind == _STRING:
                child_end = start + item_end - 1
                if data.find(0, start + position, start + item_end) != child_end:
                    raise _Malformed()
                items.append(data[start + position:child_end].decode())
            else:
                items.append(read_child(data, start + position, start + item_end, depth))
            position = item_end
        if position != body:
            raise _Malformed()
        return tuple(items)
    return (decode, align, 0, nesting, _OTHER, None)


_MAX_TYPE_DEPTH = 64


def _parse_type(type_string, i, depth):
    # Returns the info of the type at type_string[i] and the index after it.
    if depth > _MAX_TYPE_DEPTH:
        raise _NotHandled()
    code = type_string[i]
    info = _BASIC_TYPES.get(code)
    if info is not None:
        return info, i + 1
    if code == 'v':
        return _VARIANT_INFO, i + 1
    if code == 'm':
        child, i = _parse_type(type_string, i + 1, depth + 1)
        return _maybe_info(child), i
    if code == 'a':
        if type_string[i + 1] == 'y':
            return _BYTES_INFO, i + 2
        child, end = _parse_type(type_string, i + 1, depth + 1)
        if type_string.startswith('{sv}', i + 1):
            make = _str_dict
        elif type_string[i + 1] == '{':
            make = dict
        else:
            make = list
        return _array_info(child, make), end
    if code == '(' or code == '{':
        close = ')' if code == '(' else '}'
        i += 1
        children = []
        while type_string[i] != close:
            if code == '{' and not children and type_string[i] not in _BASIC_TYPES:
                raise _NotHandled()
            child, i = _parse_type(type_string, i, depth + 1)
            children.append(child)
        if code == '{' and len(children) != 2:
            raise _NotHandled()
        return _tuple_info(children), i + 1
    # 'o', 'g', and what is not a definite type.
    raise _NotHandled()


# The info of each type string met; None for the types this code does not
# decode.
_TYPE_INFOS = {}


def _type_info(type_string):
    info = _TYPE_INFOS.get(type_string, _UNSET)
    if info is _UNSET:
        try:
            info, end = _parse_type(type_string, 0, 0)
            if end != len(type_string):
                info = None
        except (_NotHandled, IndexError):
            info = None
        _remember(_TYPE_INFOS, type_string, info)
    return info


_LEAF_GETTERS = {
    'b': GLib.Variant.get_boolean,
    'y': GLib.Variant.get_byte,
    'n': GLib.Variant.get_int16,
    'q': GLib.Variant.get_uint16,
    'i': GLib.Variant.get_int32,
    'u': GLib.Variant.get_uint32,
    'x': GLib.Variant.get_int64,
    't': GLib.Variant.get_uint64,
    'h': GLib.Variant.get_handle,
    'd': GLib.Variant.get_double,
    's': GLib.Variant.get_string,
    'o': GLib.Variant.get_string,
    'g': GLib.Variant.get_string,
}


def _get_maybe_variant(variant):
    child = variant.get_maybe()
    return None if child is None else from_variant(child)


# The types read with one or two calls: basic types, and None.
_GETTERS = dict(_LEAF_GETTERS, mv=_get_maybe_variant)


def from_variant(variant):
    """Converts a ``GLib.Variant`` (or ``None``) to a plain Python value.

    See the table in the module documentation.
    """
    if variant is None:
        return None
    type_string = variant.get_type_string()
    getter = _GETTERS.get(type_string)
    if getter is not None:
        return getter(variant)
    info = _TYPE_INFOS.get(type_string, _UNSET)
    if info is _UNSET:
        info = _type_info(type_string)
    # GLib has no data for a fixed-size value of the wrong size, and aborts
    # when asked for its bytes.
    if info is not None and not (info[2] and not _get_data(variant)):
        data = _bytes_get_data(_get_data_as_bytes(variant))
        try:
            return info[0](data, 0, len(data), 0)
        except Exception:
            # Not in normal form.
            pass
    return from_variant_tree(variant)



# A batch of received values is decoded from one tuple of them all, which
# GLib serializes in one call: six calls for the batch instead of three for
# each value. It is done in chunks of at most _BATCH_CHUNK values and
# _MAX_BATCH_BYTES bytes, for chunks of at least _MIN_BATCH values.
_new_tuple_of_list = get_introspection_module('GLib').Variant.new_tuple
_MIN_BATCH = 16
_BATCH_CHUNK = 256
_MAX_BATCH_BYTES = 256 * 1024


def _from_batch(variants, type_string, info):
    # The values of variants, all of type_string, or None when they are not
    # read this way.
    count = len(variants)
    batch = _new_tuple_of_list(variants)
    if batch.get_type_string() != '(%s)' % (type_string * count) or \
       batch.get_size() > _MAX_BATCH_BYTES:
        return None
    data = _bytes_get_data(_get_data_as_bytes(batch))
    decode, align, size = info[:3]
    try:
        if size:
            # Fixed size: one after the other, with no padding.
            if len(data) != size * count:
                return None
            return [decode(data, at, at + size, 0) for at in range(0, len(data), size)]

        # The framing offsets of all values but the last, in reverse order.
        total = len(data)
        offset_size = _frame_size(total)
        read = _READ_OFFSET[offset_size]
        body = total - (count - 1) * offset_size
        values = []
        position = 0
        for frame in range(total - offset_size, body - 1, -offset_size):
            end = read(data, frame)[0]
            position += -position & align
            if not position <= end <= body:
                return None
            values.append(decode(data, position, end, 0))
            position = end
        position += -position & align
        values.append(decode(data, position, body, 0))
        return values
    except Exception:
        return None


def from_variants(variants):
    # [from_variant(variant) for variant in variants], for the payloads of a
    # batch of messages, which usually all have one type.
    values = []
    count = len(variants)
    start = 0
    while start < count:
        chunk = variants[start:start + _BATCH_CHUNK]
        start += _BATCH_CHUNK
        if len(chunk) >= _MIN_BATCH:
            type_string = _get_type_string(chunk[0])
            info = _type_info(type_string)
            if info is not None:
                chunk_values = _from_batch(chunk, type_string, info)
                if chunk_values is not None:
                    values += chunk_values
                    continue
        values += [from_variant(variant) for variant in chunk]
    return values


# The child-by-child paths.

def _int_variant(value):
    if _INT64_MIN <= value < _INT64_END:
        return GLib.Variant.new_int64(value)
    if 0 <= value < _UINT64_END:
        return GLib.Variant.new_uint64(value)
    raise _overflow(value)


def _dict_variant(value):
    if DATACLASS_KEY in value:
        raise _reserved_key()
    return _entries_variant(value)


def _entries_variant(value):
    entries = []
    if _dict_has_int_keys(value):
        for key, item in value.items():
            entries.append(GLib.Variant.new_dict_entry(
                GLib.Variant.new_int64(key), GLib.Variant.new_variant(to_variant_tree(item))))
        return GLib.Variant.new_array(_VT_INT_ENTRY, entries)

    for key, item in value.items():
        entries.append(GLib.Variant.new_dict_entry(
            GLib.Variant.new_string(_str_key(key)),
            GLib.Variant.new_variant(to_variant_tree(item))))
    return GLib.Variant.new_array(_VT_STR_ENTRY, entries)


def to_variant_tree(value):
    # to_variant(), one GLib.Variant call per value.
    if isinstance(value, GLib.Variant):
        return value
    if value is None:
        return GLib.Variant.new_maybe(_VT_VARIANT, None)
    if isinstance(value, bool):
        return GLib.Variant.new_boolean(value)
    if isinstance(value, int):
        return _int_variant(value)
    if isinstance(value, float):
        return GLib.Variant.new_double(value)
    if isinstance(value, str):
        if '\0' in value:
            raise _nul_in_str()
        return GLib.Variant.new_string(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        # One copy into a GBytes; the variant takes that buffer as it is.
        return GLib.Variant.new_from_bytes(_VT_BYTES, GLib.Bytes.new(bytes(value)), True)
    if isinstance(value, tuple):
        return GLib.Variant.new_tuple(*[to_variant_tree(item) for item in value])
    if isinstance(value, list):
        return GLib.Variant.new_array(
            _VT_VARIANT, [GLib.Variant.new_variant(to_variant_tree(item)) for item in value])
    if isinstance(value, dict):
        return _dict_variant(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _entries_variant(_dataclass_entries(value))
    raise TypeError('Coproc cannot send a value of type %s' % type(value).__name__)


def from_variant_tree(variant):
    # from_variant(), one GLib.Variant call per value.
    type_string = variant.get_type_string()
    first = type_string[0]

    getter = _LEAF_GETTERS.get(first)
    if getter is not None:
        return getter(variant)
    if first == 'v':
        return from_variant_tree(variant.get_variant())
    if first == 'm':
        child = variant.get_maybe()
        return None if child is None else from_variant_tree(child)
    if first == 'a':
        if type_string == 'ay':
            return variant.get_data_as_bytes().get_data()
        children = [variant.get_child_value(i) for i in range(variant.n_children())]
        if type_string[1] == '{':
            entries = [(from_variant_tree(entry.get_child_value(0)),
                        from_variant_tree(entry.get_child_value(1)))
                       for entry in children]
            return _str_dict(entries) if type_string == 'a{sv}' else dict(entries)
        return [from_variant_tree(child) for child in children]
    if first in '({':
        return tuple(from_variant_tree(variant.get_child_value(i))
                     for i in range(variant.n_children()))

    raise TypeError('Coproc cannot convert a variant of type %s' % type_string)


# The variants of recent channel ids of type int or short str: a program
# usually sends on a few channels, again and again. Equal ids of one of
# these types make equal variants.
_CHANNELS = {}


def channel_variant(channel_id):
    if channel_id is None:
        return None
    cls = type(channel_id)
    if cls is not int and (cls is not str or len(channel_id) > 64):
        return to_variant(channel_id, 'channel_id')
    key = (cls, channel_id)
    variant = _CHANNELS.get(key)
    if variant is None:
        variant = _remember(_CHANNELS, key, to_variant(channel_id, 'channel_id'))
    return variant
