# Coproc.py: PyGObject overrides for coproc
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Pythonic API for coproc: worker processes and messengers.

``from gi.repository import Coproc`` gives the API of the Python library of
the same name, on top of the C library::

    pm, rm = Coproc.PriorityMessenger.new_pair()      # (process, resource)
    rm.send_request('hi')
    assert pm.receive_blocking() == 'hi'

    with Coproc.WorkerResource(echo_process) as w:    # echo_process(messenger)
        w.messenger.send_norequest('hello')
        assert w.messenger.receive_blocking() == 'hello'

Values
    Payloads and channel ids are plain Python values, converted to and from
    ``GLib.Variant`` by :func:`to_variant` and :func:`from_variant`:

    ==========================  ===================  =====================
    Python                      GVariant             back in Python
    ==========================  ===================  =====================
    ``None``                    ``mv`` (nothing)     ``None``
    ``bool``                    ``b``                ``bool``
    ``int``                     ``x``; ``t`` above   ``int``
                                2**63-1
    ``float``                   ``d``                ``float``
    ``str``                     ``s``                ``str``
    ``bytes``, ``bytearray``,   ``ay``               ``bytes``
    ``memoryview``
    ``tuple``                   ``(...)``            ``tuple``
    ``list``                    ``av``               ``list``
    ``dict``, ``str`` keys      ``a{sv}``            ``dict``
    ``dict``, ``int`` keys      ``a{xv}``            ``dict``
    dataclass instance          ``a{sv}`` of its     the same dataclass,
                                fields and           if loaded; else
                                ``"@dataclass"``     ``dict``
    ``GLib.Variant``            itself, untouched    converted as above
    ==========================  ===================  =====================

    A value GVariant cannot carry raises ``TypeError`` before anything is
    sent, naming the value's type and where it is in the payload, as in
    ``payload[2]['x']: set: GVariant has no sets: send a list or a tuple``:
    sets, complex numbers, other objects, dictionaries whose keys are not
    all ``str`` or all ``int``, and integers outside ``[-2**63, 2**64)``
    (that error is an ``OverflowError`` too; send them as ``str``). A
    ``str`` with a NUL character raises ``ValueError`` (send it as
    ``bytes``). ``bytes`` go through ``GLib.Bytes`` in both directions, so
    no per-byte work is done in Python. Variants from other programs decode
    to the nearest Python type: any integer type to ``int``, ``o`` and ``g``
    to ``str``, other arrays to ``list``, other dictionaries to ``dict``,
    ``v`` to its content, a maybe to ``None`` or its content.

    A dataclass instance travels as its fields, with one more entry,
    ``"@dataclass"``, naming its class as ``(module, qualified name)``
    (``__main__`` for a script, in the host and in its workers alike). A
    receiver that has a dataclass of that name loaded already, with
    exactly those fields, gets an instance of it; otherwise it gets the
    dictionary of the fields. Modules are never imported for it and
    nothing is unpickled (see ``doc/security.md``). A ``dict`` with a
    ``"@dataclass"`` key cannot be sent.

    Channel ids are converted the same way; ``None`` is the default channel.
    Two channel ids are the same channel when their variants are equal in
    type and value: the Python ``1`` is the ``x`` 1, which is not the same
    channel as an ``i`` 1 sent by a C program.

Messengers (:class:`Messenger`, :class:`PriorityMessenger`, :class:`MultiMessenger`)
    ``Messenger.new_pair(messenger_type)`` and ``PriorityMessenger.new_pair()``
    return ``(process, resource)``; ``new_for_host()`` connects a worker.

    Sending: ``send_norequest(data, channel_id=None, *, priority=None)``,
    ``send_request``, ``send_reply``, ``send_request_multiple(iterable, ...)``,
    ``send_data_message(data, request_reply, is_reply, channel_id=None)``,
    ``send_error(exception, print_trace=False)``, ``send_close_request()``.
    They return ``None``.
    ``priority`` (lower is more important) overrides the ``'priority'``
    entry of a dictionary or dataclass payload.

    Receiving: ``available(channel_id=None)``,
    ``receive_available(channel_id=None)`` (a list),
    ``receive_blocking(channel_id=None, cancellable=None)``,
    ``receive_message_blocking(...)`` (a :class:`Message`),
    ``receive_message_any(cancellable=None)`` (the next :class:`Message` of
    any channel),
    ``receive_remaining(...)`` (a generator: each reply is yielded as soon
    as it is taken), ``receive_available_messages``,
    ``receive_remaining_messages``, ``await_available(cancellable=None)``.
    Counters: ``remaining``, ``requests_sent``, ``replies_received``,
    ``messages_sent``, ``messages_received``, ``queue_size``, each taking
    ``channel_id=None``.

    When the peer lags, what does not fit in the socket waits in the
    sender's buffer until the sender's main context runs or the sender
    makes another call; with both messengers of a pair in one thread, run
    the main context (or use signals) to move large amounts of data.

    Main loop: the ``message-received``, ``error-received``,
    ``close-requested`` and ``closed`` signals;
    ``receive_async(channel_id=None, cancellable=None, callback=None,
    *user_data)`` with ``receive_finish(result)`` returning a plain value
    (``receive_message_async``/``receive_message_finish`` and
    ``receive_message_any_async(cancellable=None, callback=None,
    *user_data)``/``receive_message_any_finish`` likewise). Without
    a callback, ``receive_async`` returns a ``concurrent.futures.Future``
    completed on the messenger's main context: use ``add_done_callback``,
    never ``result()`` before it is done, from the thread that runs that
    context.

Messages (:class:`Message`)
    ``payload``, ``channel_id``, ``priority``, ``request_reply``,
    ``is_reply`` and ``kind`` are plain attributes with plain values, for
    received messages and in ``message-received`` handlers alike;
    ``get_payload()`` and ``get_channel_id()`` still give the variants.

Errors
    Failures raise ``GLib.Error``. Some codes of ``Coproc.Error`` raise a
    subclass named as in the original library: :exc:`ResourceRequestedClose`
    (``CLOSE_REQUESTED``), :exc:`MessageNotRecognizedError`,
    :exc:`WorkerIsAlreadyAliveError`, :exc:`WorkerIsAlreadyDeadError` and
    :exc:`WorkerIsDeadError`; ``e.matches(Coproc.error_quark(), code)``
    holds for them.

    ``send_error(exc)`` with a ``GLib.Error`` sends it as it is. With any
    other exception it sends an error in the domain
    ``"coproc-python-exception"`` (:data:`PYTHON_EXCEPTION_DOMAIN`, code 0)
    whose message is ``"Name: text"``, ``text`` being the exception's
    single string argument, or ``str(exc)``, and ``Name`` the bare name of
    a built-in class, or ``module.QualName`` for others (``__main__`` for a
    script, in the host and in its workers alike). A Python receiver
    raises ``cls(text)`` when ``cls`` is a class of that name loaded in it
    already: a built-in subclass of ``Exception`` (never ``SystemExit`` or
    ``KeyboardInterrupt``), or any other subclass of ``BaseException``
    found as dataclasses are (modules are never imported for it). When
    there is no such class, or its constructor does not take a single
    message, the error arrives as ``GLib.Error``, as it does in programs
    written in other languages. Nothing is ever unpickled.
    :func:`exception_from_error` does the same conversion for errors
    received by an ``error-received`` handler.

Workers (:class:`WorkerResource`, :class:`BaseWorkerProcess`)
    ``WorkerResource(target, messenger_type=None)`` (``messenger_type``
    defaults to :class:`PriorityMessenger`; ``worker_process_type=`` is
    accepted for ``target``): ``target`` is a
    function called as ``target(messenger, **kwargs)``, a class called as
    ``target(messenger=messenger, **kwargs)()`` (for example a subclass of
    :class:`BaseWorkerProcess`), or an argument vector (a list of strings)
    for a program in any language. A function or class must be defined at
    the top level of a module the worker can import; the script run as
    ``__main__`` counts: as with ``multiprocessing``'s spawn method, the
    worker runs it again under the name ``__mp_main__``, so code guarded by
    ``if __name__ == '__main__':`` does not run again; a target defined in
    that block is refused with ``ValueError``.

    The worker is a fresh ``sys.executable`` that runs
    ``-m gi.overrides._coproc_worker``, with this process's ``sys.path`` and
    ``sys.argv``; it makes its messenger with
    ``Messenger.new_for_host()``, of the same kind as the host's, calls the
    target, and flushes and closes the messenger when the target returns.
    A target that ends with :exc:`ResourceRequestedClose` (as a worker
    waiting on a receive call does after ``join()``), or because the host
    hung up, exits with status 0; ``sys.exit(n)`` gives status ``n``. Any
    other uncaught exception is printed to standard error, sent to the host
    with ``send_error()`` and makes the exit status 1. Output on
    ``sys.stdout`` and ``sys.stderr`` of the worker is line-buffered.

    ``start(**kwargs)`` passes keyword arguments (any values
    :func:`to_variant` converts; they travel in the environment, so keep
    them small and send bulk data with the messenger). ``join()``,
    ``terminate()`` (both with ``check_alive=True``) and ``is_alive()`` are
    as in the original; ``w.messenger`` (which raises ``AttributeError``
    before the first start) and ``w.pid`` (0 when not running) are plain
    attributes. As a context
    manager it starts the worker on entry; on exit it terminates the
    worker and waits until it has ended (killing it when it is still there
    after ``exit_timeout`` seconds, 5 by default), and it never raises
    because the worker had already ended.

    ``WorkerResource(target, transport=..., sandbox=...)`` set the
    ``transport`` and ``sandbox`` properties; a sandboxed Python target
    (``sandbox=Coproc.Sandbox.BWRAP``, or ``AUTO``) still runs, as the
    sandbox keeps what the bootstrap needs (``PYTHONPATH``,
    ``GI_TYPELIB_PATH``, ``LD_LIBRARY_PATH`` and a readable file system).
    ``Pool(..., sandbox=...)`` sandboxes each of its workers the same way.
"""

import ast
import base64
import builtins
import collections
import concurrent.futures
import dataclasses
import functools
import itertools
import json
import math
import os
import signal
import site
import sys
import threading
import traceback

import gi
from gi.module import get_introspection_module
from gi.overrides import _coproc_codec as _codec
from gi.overrides import override
from gi.repository import Gio, GLib, GObject

Coproc = get_introspection_module('Coproc')

# The library the typelib names, as the dynamic linker looks for it.
_SHARED_LIBRARY = 'libcoproc-1.0.so.0'


def _check_shared_library():
    # A typelib whose shared library cannot be loaded names types nobody
    # registers, and the first override below would fail on a bare
    # assertion in gi. Say what is missing and which variable finds it.
    repository = gi.Repository.get_default()
    info = repository.find_by_name('Coproc', 'Messenger')
    if info is None or info.get_g_type() != GObject.TYPE_NONE:
        return

    typelib = os.path.abspath(repository.get_typelib_path('Coproc'))
    # <libdir>/girepository-1.0/Coproc-1.0.typelib when installed;
    # <builddir>/introspection/Coproc-1.0.typelib in a build tree.
    base = os.path.dirname(os.path.dirname(typelib))
    hint = 'the directory that holds it'
    for directory in (base, os.path.join(base, 'coproc')):
        if os.path.exists(os.path.join(directory, _SHARED_LIBRARY)):
            hint = directory
            break
    raise ImportError('The Coproc typelib %s was found, but not its shared library %s: set '
                      'LD_LIBRARY_PATH to %s (see "Building and installing" in coproc\'s '
                      'README)' % (typelib, _SHARED_LIBRARY, hint))


_check_shared_library()

__all__ = []

#: The error domain of Python exceptions sent by :meth:`Messenger.send_error`.
PYTHON_EXCEPTION_DOMAIN = 'coproc-python-exception'
__all__.append('PYTHON_EXCEPTION_DOMAIN')

_COPROC_ERROR_DOMAIN = 'coproc-error-quark'

# Registered once, so that errors of this domain from a peer are always
# known by name here.
GLib.quark_from_string(PYTHON_EXCEPTION_DOMAIN)

# The environment variable that carries a Python worker's description.
_WORKER_ENV = 'COPROC_PYTHON_WORKER'
_WORKER_MODULE = 'gi.overrides._coproc_worker'
# Keyword arguments travel in the environment; a single environment
# string is limited to 128 KiB by Linux.
_MAX_WORKER_ENV_SIZE = 120 * 1024

_UNSET = object()


# Values ---------------------------------------------------------------------
#
# The conversions live in _coproc_codec.py; these are the names this module
# calls them by, and the two that Coproc exports.

to_variant = _codec.to_variant
from_variant = _codec.from_variant
__all__ += ['to_variant', 'from_variant']

_channel = _codec.channel_variant
_from_variants = _codec.from_variants


# Errors ---------------------------------------------------------------------

class _CoprocError(GLib.Error):
    # A GLib.Error in the coproc domain with one fixed code.
    _code = None
    _default_message = None

    def __init__(self, message=None, domain=_COPROC_ERROR_DOMAIN, code=None):
        if message is None:
            message = self._default_message
        if code is None:
            code = int(self._code)
        super().__init__(message, domain, int(code))

    def copy(self):
        return type(self)(self.message, self.domain, self.code)

    def __repr__(self):
        return 'Coproc.%s(%r, %r, %d)' % (type(self).__name__, self.message, self.domain,
                                          self.code)


class ResourceRequestedClose(_CoprocError):
    """The peer sent a close request (``Coproc.Error.CLOSE_REQUESTED``)."""

    _code = Coproc.Error.CLOSE_REQUESTED
    _default_message = 'The peer requested that this side close'


class MessageNotRecognizedError(_CoprocError):
    """The peer sent a message of an unknown kind
    (``Coproc.Error.MESSAGE_NOT_RECOGNIZED``)."""

    _code = Coproc.Error.MESSAGE_NOT_RECOGNIZED
    _default_message = 'The peer sent a message that was not recognized'


class WorkerIsAlreadyAliveError(_CoprocError):
    """The worker was started while running
    (``Coproc.Error.WORKER_ALREADY_ALIVE``)."""

    _code = Coproc.Error.WORKER_ALREADY_ALIVE
    _default_message = 'The worker is already running'


class WorkerIsAlreadyDeadError(_CoprocError):
    """The worker was joined or terminated while not running
    (``Coproc.Error.WORKER_ALREADY_DEAD``)."""

    _code = Coproc.Error.WORKER_ALREADY_DEAD
    _default_message = 'The worker is not running'


class WorkerIsDeadError(_CoprocError):
    """The worker is not running (``Coproc.Error.WORKER_DEAD``)."""

    _code = Coproc.Error.WORKER_DEAD
    _default_message = 'The worker is not running'


_ERROR_CLASSES = {int(cls._code): cls for cls in (ResourceRequestedClose,
                                                   MessageNotRecognizedError,
                                                   WorkerIsAlreadyAliveError,
                                                   WorkerIsAlreadyDeadError,
                                                   WorkerIsDeadError)}

__all__ += ['ResourceRequestedClose', 'MessageNotRecognizedError', 'WorkerIsAlreadyAliveError',
            'WorkerIsAlreadyDeadError', 'WorkerIsDeadError']


# The longest dotted name of an exception class looked up: the peer chooses
# it, and each way to split it into module and class is tried.
_MAX_CLASS_NAME_PARTS = 32


def _exception_class(name):
    # The exception class a peer names, if this process has it loaded: a
    # built-in subclass of Exception by its bare name, any other subclass of
    # BaseException by module and qualified name. GLib.Error subclasses
    # travel in their own domains, never by name.
    if name.count('.') >= _MAX_CLASS_NAME_PARTS:
        return None
    if '.' not in name:
        module, qualname = 'builtins', name
        cls = _codec.loaded_class(module, qualname)
    else:
        # The module's name has dots too: try each split, the longest
        # module first. loaded_class() only answers for the right one.
        parts = name.split('.')
        cls = None
        for i in range(len(parts) - 1, 0, -1):
            cls = _codec.loaded_class('.'.join(parts[:i]), '.'.join(parts[i:]))
            if cls is not None:
                break
    if cls is None or not issubclass(cls, BaseException) or issubclass(cls, GLib.Error):
        return None
    if cls.__module__ == 'builtins' and not issubclass(cls, Exception):
        # Never SystemExit, KeyboardInterrupt or GeneratorExit.
        return None
    return cls


def _python_exception(message):
    # The exception that an error of PYTHON_EXCEPTION_DOMAIN stands for, or
    # None.
    name, colon, text = message.partition(': ')
    cls = _exception_class(name)
    if cls is None:
        return None
    try:
        return cls(text) if colon else cls()
    except Exception:
        # A class whose constructor needs more than a message.
        return None


def exception_from_error(error):
    """Returns the exception a receive call raises for ``error``.

    That is ``error`` itself, an instance of one of this module's
    ``GLib.Error`` subclasses, or the Python exception that a Python peer
    sent with :meth:`Messenger.send_error`, rebuilt from its class's name
    and its message when that class is loaded here (see the module
    documentation).
    """
    if error.domain == _COPROC_ERROR_DOMAIN:
        cls = _ERROR_CLASSES.get(error.code)
        if cls is not None and not isinstance(error, cls):
            return cls(error.message, error.domain, error.code)
    elif error.domain == PYTHON_EXCEPTION_DOMAIN:
        exc = _python_exception(error.message)
        if exc is not None:
            return exc
    return error


__all__.append('exception_from_error')


def error_from_exception(exception):
    """Returns the ``GLib.Error`` that :meth:`Messenger.send_error` sends for
    ``exception``: a ``GLib.Error`` is returned as it is; any other
    exception gives an error in :data:`PYTHON_EXCEPTION_DOMAIN`.
    """
    if isinstance(exception, GLib.Error):
        return exception
    if not isinstance(exception, BaseException):
        raise TypeError('send_error() takes an exception, not %s' % type(exception).__name__)

    cls = type(exception)
    if getattr(builtins, cls.__name__, None) is cls:
        name = cls.__name__
    else:
        name = '%s.%s' % _codec.class_identity(cls)

    args = exception.args
    if len(args) == 1 and isinstance(args[0], str):
        text = args[0]
    else:
        text = str(exception)
    if not args and not text:
        message = name
    else:
        message = '%s: %s' % (name, text)
    return GLib.Error(message, PYTHON_EXCEPTION_DOMAIN, 0)


__all__.append('error_from_exception')


def _raise_translated(error):
    translated = exception_from_error(error)
    if translated is error:
        raise error
    raise translated from None


def _translating(func):
    # Raises the exceptions of exception_from_error() for GLib errors.
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GLib.Error as error:
            _raise_translated(error)
    return wrapper


# Messages -------------------------------------------------------------------

_REQUEST_KIND = Coproc.MessageKind.REQUEST


class Message(Coproc.Message):
    """A data message, with plain attributes: received, or built with
    :meth:`new` to send with :meth:`Messenger.send_message` (a priority and
    file descriptors together)."""

    @classmethod
    def new(cls, kind, data, channel_id=None, *, priority=None, fds=None):
        """A message of ``kind`` (``Coproc.MessageKind``) with payload
        ``data`` (a plain value or a ``GLib.Variant``), on ``channel_id``.
        ``priority`` sets its priority (else the payload's ``'priority'``
        entry gives it, as for a send). ``fds`` is an iterable of file
        descriptors to send with it: they are duplicated, the caller keeps
        its own. As in D-Bus, a payload refers to them by index, with
        ``GLib.Variant('h', index)`` values."""
        message = Coproc.Message.new(kind, to_variant(data, 'payload'), _channel(channel_id))
        if priority is not None:
            message.set_priority(float(priority))
        if fds is not None:
            fd_list = Gio.UnixFDList.new()
            for fd in fds:
                fd_list.append(fd)
            message.set_unix_fd_list(fd_list)
        return message

    @property
    def fds(self):
        """The file descriptors that came with the message, as a list of
        ints (empty when none), in the order of the sender's list, so that
        the payload's handles index it. The caller owns them and closes
        them (``os.close``): the first access takes them out of the
        message's ``Gio.UnixFDList``; later ones return the same list."""
        def take():
            fd_list = self.get_unix_fd_list()
            if fd_list is None or fd_list.get_length() == 0:
                return []
            return list(fd_list.steal_fds())
        return self._cached('_coproc_fds', take)

    def _cached(self, name, compute):
        value = self.__dict__.get(name, _UNSET)
        if value is _UNSET:
            value = compute()
            self.__dict__[name] = value
        return value

    @property
    def payload(self):
        """The payload, as a plain value (:meth:`get_payload` gives the variant)."""
        return self._cached('_coproc_payload', lambda: from_variant(self.get_payload()))

    @property
    def channel_id(self):
        """The channel, as a plain value; ``None`` is the default channel."""
        return self._cached('_coproc_channel_id', lambda: from_variant(self.get_channel_id()))

    @property
    def priority(self):
        """The priority (lower is more important); ``inf`` when none was given."""
        return self.get_priority()

    @property
    def request_reply(self):
        """Whether the message is a request expecting a reply."""
        return self.get_request_reply()

    @property
    def is_reply(self):
        """Whether the message is a reply."""
        return self.get_is_reply()

    @property
    def kind(self):
        """The kind of message, a ``Coproc.MessageKind``."""
        return self.get_kind()

    def _messenger(self):
        messenger = self.dup_messenger()
        if messenger is None:
            if self.kind != _REQUEST_KIND:
                raise ValueError('only a received request can be answered; this is %s'
                                 % self.kind.value_nick)
            raise ValueError('the messenger this request came on is gone')
        return messenger

    def reply(self, data):
        """Answers this received request with ``data``, on the messenger it
        came on (:meth:`Messenger.reply_to`)."""
        self._messenger().reply_to(self, data)

    def reply_error(self, exception):
        """Answers this received request with ``exception``
        (:meth:`Messenger.reply_error`)."""
        self._messenger().reply_error(self, exception)

    def __repr__(self):
        return ('Message(payload=%r, channel_id=%r, priority=%r, request_reply=%r, '
                'is_reply=%r)' % (self.payload, self.channel_id, self.priority,
                                  self.request_reply, self.is_reply))


Message = override(Message)
__all__.append('Message')


# Messengers -----------------------------------------------------------------

def _request_message(data, channel_id, priority):
    """The request Message that ``request`` sends, or None for a plain
    payload without a priority."""
    if isinstance(data, Coproc.Message):
        if data.get_kind() != Coproc.MessageKind.REQUEST:
            raise ValueError('a request must be a message of kind REQUEST, not %s'
                             % data.get_kind().value_nick)
        if priority is not None:
            data.set_priority(float(priority))
        return data
    if priority is None:
        return None
    return Message.new(Coproc.MessageKind.REQUEST, data, channel_id, priority=priority)


def _messenger_gtype(messenger_type):
    if isinstance(messenger_type, GObject.GType):
        gtype = messenger_type
    else:
        gtype = getattr(messenger_type, '__gtype__', None)
        if not isinstance(gtype, GObject.GType):
            raise TypeError('messenger_type must be a messenger class or a GType, not %r'
                            % (messenger_type,))
    if not gtype.is_a(Coproc.Messenger.__gtype__) or gtype.is_abstract():
        raise TypeError('messenger_type must be a non-abstract type deriving from '
                        'Coproc.Messenger, not %s' % gtype.name)
    return gtype


# The C functions called for each message.
_send_norequest = Coproc.Messenger.send_norequest
_send_request = Coproc.Messenger.send_request
_send_reply = Coproc.Messenger.send_reply
_send_with_priority = Coproc.Messenger.send_with_priority
_send_serialized = Coproc.Messenger.send_serialized
_serialize = _codec.serialize
_receive_available = Coproc.Messenger.receive_available
_receive_blocking = Coproc.Messenger.receive_blocking
_receive_message_blocking = Coproc.Messenger.receive_message_blocking
_await_available = Coproc.Messenger.await_available

_NOREQUEST = Coproc.MessageKind.NOREQUEST
_REQUEST = Coproc.MessageKind.REQUEST
_REPLY = Coproc.MessageKind.REPLY


class Messenger(Coproc.Messenger):
    """One end of a connection between two processes (see the module
    documentation)."""

    def __repr__(self):
        return '%s(queued_bytes=%d, closed=%s)' % (type(self).__name__,
                                                   Coproc.Messenger.queued_bytes(self),
                                                   Coproc.Messenger.is_closed(self))

    # Construction

    @classmethod
    def new_pair(cls, messenger_type=None):
        """Returns ``(process, resource)``, two connected messengers of
        ``messenger_type`` (by default, the class this is called on)."""
        gtype = _messenger_gtype(cls if messenger_type is None else messenger_type)
        try:
            _, process, resource = Coproc.Messenger.new_pair(gtype)
        except GLib.Error as error:
            _raise_translated(error)
        return process, resource

    @classmethod
    def new_for_host(cls, messenger_type=None):
        """In a worker, connects to the host that started this process."""
        gtype = _messenger_gtype(cls if messenger_type is None else messenger_type)
        try:
            return Coproc.Messenger.new_for_host(gtype)
        except GLib.Error as error:
            _raise_translated(error)

    @classmethod
    def new_for_stdio(cls, messenger_type=None):
        """In a worker started with ``transport=Coproc.WorkerTransport.STDIO``,
        connects to the host over standard input and output (standard
        output then goes to standard error)."""
        gtype = _messenger_gtype(cls if messenger_type is None else messenger_type)
        try:
            return Coproc.Messenger.new_for_stdio(gtype)
        except GLib.Error as error:
            _raise_translated(error)

    @classmethod
    def new_for_stream(cls, *args):
        """``new_for_stream([messenger_type,] stream)``: a messenger over any
        ``Gio.IOStream`` whose streams are pollable."""
        if len(args) == 1:
            messenger_type, stream = cls, args[0]
        elif len(args) == 2:
            messenger_type, stream = args
        else:
            raise TypeError('new_for_stream() takes ([messenger_type,] stream)')
        try:
            return Coproc.Messenger.new_for_stream(_messenger_gtype(messenger_type), stream)
        except GLib.Error as error:
            _raise_translated(error)

    # Sending

    # These are called for every message: each makes its GLib.Variants and
    # calls the C function itself.

    def _send(self, kind, data, channel_id, priority):
        payload = to_variant(data, 'payload')
        channel = _channel(channel_id)
        try:
            if priority is not None:
                _send_with_priority(self, kind, payload, channel, float(priority))
            elif kind == _REQUEST:
                _send_request(self, payload, channel)
            elif kind == _REPLY:
                _send_reply(self, payload, channel)
            else:
                _send_norequest(self, payload, channel)
        except GLib.Error as error:
            _raise_translated(error)

    def send_norequest(self, data, channel_id=None, *, priority=None):
        """Sends ``data``; no reply is expected."""
        if priority is not None:
            return self._send(_NOREQUEST, data, channel_id, priority)
        serialized = _serialize(data)
        payload = to_variant(data, 'payload') if serialized is None else None
        channel = None if channel_id is None else _channel(channel_id)
        try:
            if payload is None:
                _send_serialized(self, _NOREQUEST, serialized[0], serialized[1], channel)
            else:
                _send_norequest(self, payload, channel)
        except GLib.Error as error:
            _raise_translated(error)

    def send_request(self, data, channel_id=None, *, priority=None):
        """Sends ``data`` as a request: ``remaining(channel_id)`` grows by one."""
        if priority is not None:
            return self._send(_REQUEST, data, channel_id, priority)
        serialized = _serialize(data)
        payload = to_variant(data, 'payload') if serialized is None else None
        channel = None if channel_id is None else _channel(channel_id)
        try:
            if payload is None:
                _send_serialized(self, _REQUEST, serialized[0], serialized[1], channel)
            else:
                _send_request(self, payload, channel)
        except GLib.Error as error:
            _raise_translated(error)

    def send_reply(self, data, channel_id=None, *, priority=None):
        """Sends ``data`` as a reply: the peer counts one more reply received."""
        if priority is not None:
            return self._send(_REPLY, data, channel_id, priority)
        serialized = _serialize(data)
        payload = to_variant(data, 'payload') if serialized is None else None
        channel = None if channel_id is None else _channel(channel_id)
        try:
            if payload is None:
                _send_serialized(self, _REPLY, serialized[0], serialized[1], channel)
            else:
                _send_reply(self, payload, channel)
        except GLib.Error as error:
            _raise_translated(error)

    def send_request_multiple(self, data, channel_id=None, *, priority=None):
        """Sends each item of the iterable ``data`` as a request."""
        items = list(data)
        try:
            payloads = [to_variant(item) for item in items]
        except (TypeError, ValueError):
            # Again, to name the item in the error.
            for i, item in enumerate(items):
                to_variant(item, 'payloads[%d]' % i)
            raise
        channel = _channel(channel_id)
        try:
            if priority is None:
                Coproc.Messenger.send_request_multiple(self, payloads, channel)
            else:
                for payload in payloads:
                    Coproc.Messenger.send_with_priority(self, Coproc.MessageKind.REQUEST,
                                                        payload, channel, float(priority))
        except GLib.Error as error:
            _raise_translated(error)

    def send_data_message(self, data, request_reply, is_reply, channel_id=None, *,
                          priority=None):
        """Sends ``data`` as a request, a reply or a plain message."""
        if request_reply and is_reply:
            raise ValueError('a message cannot be both a request and a reply')
        if request_reply:
            kind = Coproc.MessageKind.REQUEST
        elif is_reply:
            kind = Coproc.MessageKind.REPLY
        else:
            kind = Coproc.MessageKind.NOREQUEST
        self._send(kind, data, channel_id, priority)

    def send_error(self, exception, print_trace=False):
        """Sends an exception; the peer's next receive call raises it (see the
        module documentation for what a peer receives). With
        ``print_trace``, prints the exception's traceback to standard error
        first."""
        error = error_from_exception(exception)
        if print_trace:
            traceback.print_exception(exception)
        try:
            Coproc.Messenger.send_error(self, error)
        except GLib.Error as send_error:
            _raise_translated(send_error)

    @_translating
    def send_close_request(self):
        """Asks the peer to close: its next receive call raises
        :exc:`ResourceRequestedClose`."""
        Coproc.Messenger.send_close_request(self)

    @_translating
    def flush(self, cancellable=None):
        """Blocks until all buffered output is in the kernel."""
        Coproc.Messenger.flush(self, cancellable)

    @_translating
    def close(self):
        """Flushes the output and closes the connection."""
        Coproc.Messenger.close(self)

    # Receiving

    @_translating
    def available(self, channel_id=None):
        """Reads what has arrived and returns how many messages are queued on
        the channel."""
        return Coproc.Messenger.available(self, _channel(channel_id))

    def receive_available(self, channel_id=None):
        """Takes all queued payloads of the channel: a list, maybe empty."""
        try:
            payloads = _receive_available(self, _channel(channel_id))
        except GLib.Error as error:
            _raise_translated(error)
        return _from_variants(payloads)

    def receive_available_messages(self, channel_id=None):
        """Like :meth:`receive_available`, as a list of :class:`Message`."""
        channel = _channel(channel_id)
        count = self.available(channel)
        return [self.receive_message_blocking(channel) for _ in range(count)]

    def receive_message_blocking(self, channel_id=None, cancellable=None):
        """Waits for the next message on the channel and returns it, as a
        :class:`Message`."""
        try:
            return _receive_message_blocking(self, _channel(channel_id), cancellable)
        except GLib.Error as error:
            _raise_translated(error)

    def receive_message_any(self, cancellable=None):
        """Waits for the next message on any channel and returns it, as a
        :class:`Message` (its ``channel_id`` tells the channel)."""
        try:
            return Coproc.Messenger.receive_message_any(self, cancellable)
        except GLib.Error as error:
            _raise_translated(error)

    def receive_blocking(self, channel_id=None, cancellable=None):
        """Waits for the next message on the channel and returns its payload."""
        try:
            payload = _receive_blocking(self, _channel(channel_id), cancellable)
        except GLib.Error as error:
            _raise_translated(error)
        return from_variant(payload)

    def receive_remaining_messages(self, channel_id=None, cancellable=None):
        """Yields messages of the channel until every request sent there has
        its reply (plain messages that arrive in between are yielded too)."""
        channel = _channel(channel_id)
        while Coproc.Messenger.remaining(self, channel) > 0:
            yield self.receive_message_blocking(channel, cancellable)

    def receive_remaining(self, channel_id=None, cancellable=None):
        """Yields payloads of the channel until every request sent there has
        its reply, each as soon as it is taken."""
        for message in self.receive_remaining_messages(channel_id, cancellable):
            yield message.payload

    def await_available(self, cancellable=None):
        """Waits until at least one message is queued, on any channel."""
        try:
            _await_available(self, cancellable)
        except GLib.Error as error:
            _raise_translated(error)

    def _receive_future(self, start, finish, channel_id, cancellable):
        future = concurrent.futures.Future()
        future.set_running_or_notify_cancel()

        def done(messenger, result):
            try:
                value = finish(result)
            except BaseException as exception:
                future.set_exception(exception)
            else:
                future.set_result(value)

        start(self, _channel(channel_id), cancellable, done)
        return future

    def receive_async(self, channel_id=None, cancellable=None, callback=None, *user_data):
        """Receives the next payload of the channel without blocking.

        ``callback(messenger, result, *user_data)`` runs on the messenger's
        main context and calls :meth:`receive_finish`. Without a callback,
        returns a ``concurrent.futures.Future`` of the payload.
        """
        if callback is None:
            return self._receive_future(Coproc.Messenger.receive_async, self.receive_finish,
                                        channel_id, cancellable)
        Coproc.Messenger.receive_async(self, _channel(channel_id), cancellable, callback,
                                       *user_data)
        return None

    @_translating
    def receive_finish(self, result):
        """Finishes :meth:`receive_async`: returns the payload."""
        return from_variant(Coproc.Messenger.receive_finish(self, result))

    def receive_message_async(self, channel_id=None, cancellable=None, callback=None,
                              *user_data):
        """Like :meth:`receive_async`, for the whole :class:`Message`."""
        if callback is None:
            return self._receive_future(Coproc.Messenger.receive_message_async,
                                        self.receive_message_finish, channel_id, cancellable)
        Coproc.Messenger.receive_message_async(self, _channel(channel_id), cancellable,
                                               callback, *user_data)
        return None

    @_translating
    def receive_message_finish(self, result):
        """Finishes :meth:`receive_message_async`: returns the :class:`Message`."""
        return Coproc.Messenger.receive_message_finish(self, result)

    def receive_message_any_async(self, cancellable=None, callback=None, *user_data):
        """Like :meth:`receive_message_async`, for the next message on any
        channel. Without a callback, returns a ``concurrent.futures.Future``
        of the :class:`Message`."""
        if callback is None:
            future = concurrent.futures.Future()
            future.set_running_or_notify_cancel()

            def done(messenger, result):
                try:
                    value = self.receive_message_any_finish(result)
                except BaseException as exception:
                    future.set_exception(exception)
                else:
                    future.set_result(value)

            Coproc.Messenger.receive_message_any_async(self, cancellable, done)
            return future
        Coproc.Messenger.receive_message_any_async(self, cancellable, callback, *user_data)
        return None

    @_translating
    def receive_message_any_finish(self, result):
        """Finishes :meth:`receive_message_any_async`: returns the :class:`Message`."""
        return Coproc.Messenger.receive_message_any_finish(self, result)

    # Correlated requests

    def send_message(self, message):
        """Sends ``message``, a :class:`Message` made with
        :meth:`Message.new`, with its priority and its file descriptors.
        Raises ``GLib.Error`` ``Gio.IOErrorEnum.NOT_SUPPORTED`` when the
        messenger's stream or its peer cannot carry descriptors, and
        ``INVALID_ARGUMENT`` for more than ``Coproc.MESSAGE_MAX_FDS``."""
        try:
            Coproc.Messenger.send_message(self, message)
        except GLib.Error as error:
            _raise_translated(error)

    def request(self, data, channel_id=None, *, priority=None, cancellable=None):
        """Sends ``data`` as a request on the channel and waits for the peer's
        reply to *that* request: returns the reply's payload. Anything else
        that arrives meanwhile is queued; the messenger's main context is not
        run. A request the peer answers with :meth:`reply_error` raises that
        exception; one still waiting when the peer goes away raises
        ``GLib.Error`` ``Coproc.Error.WORKER_DIED`` (a worker) or ``CLOSED``.
        ``priority`` goes with the request (a ``PriorityMessenger`` peer
        takes more important requests first); ``data`` may also be a
        request :class:`Message` made with :meth:`Message.new`, to send
        file descriptors with it."""
        message = _request_message(data, channel_id, priority)
        try:
            if message is not None:
                reply = Coproc.Messenger.request_message(self, message, cancellable)
            else:
                reply = Coproc.Messenger.request(self, to_variant(data, 'payload'),
                                                 _channel(channel_id), cancellable)
        except GLib.Error as error:
            _raise_translated(error)
        return from_variant(reply)

    def request_async(self, data, channel_id=None, cancellable=None, callback=None, *user_data,
                      priority=None):
        """Like :meth:`request`, without blocking; any number may be
        outstanding at once.

        ``callback(messenger, result, *user_data)`` runs on the messenger's
        main context and calls :meth:`request_finish`. Without a callback,
        returns a ``concurrent.futures.Future`` of the reply's payload.
        ``priority`` and a request :class:`Message` as ``data`` work as
        for :meth:`request`.
        """
        message = _request_message(data, channel_id, priority)
        payload = None if message is not None else to_variant(data, 'payload')

        def start(callback, *user_data):
            if message is not None:
                Coproc.Messenger.request_message_async(self, message, cancellable, callback,
                                                       *user_data)
            else:
                Coproc.Messenger.request_async(self, payload, _channel(channel_id),
                                               cancellable, callback, *user_data)

        if callback is None:
            future = concurrent.futures.Future()
            future.set_running_or_notify_cancel()

            def done(messenger, result):
                try:
                    value = self.request_finish(result)
                except BaseException as exception:
                    future.set_exception(exception)
                else:
                    future.set_result(value)

            start(done)
            return future
        start(callback, *user_data)
        return None

    @_translating
    def request_finish(self, result):
        """Finishes :meth:`request_async`: returns the reply's payload."""
        return from_variant(Coproc.Messenger.request_finish(self, result))

    def reply_to(self, request, data):
        """Answers the received request ``request`` (a :class:`Message`) with
        ``data``, whatever the order requests are answered in."""
        payload = to_variant(data, 'payload')
        try:
            Coproc.Messenger.reply_to(self, request, payload)
        except GLib.Error as error:
            _raise_translated(error)

    def reply_error(self, request, exception):
        """Answers the received request ``request`` with ``exception``: the
        peer's :meth:`request` raises it (see the module documentation for
        the class it arrives as); nothing else fails."""
        try:
            Coproc.Messenger.reply_error(self, request, error_from_exception(exception))
        except GLib.Error as error:
            _raise_translated(error)

    # Counters

    def remaining(self, channel_id=None):
        """Requests sent on the channel that have no reply received yet."""
        return Coproc.Messenger.remaining(self, _channel(channel_id))

    def requests_sent(self, channel_id=None):
        """Requests sent on the channel."""
        return Coproc.Messenger.requests_sent(self, _channel(channel_id))

    def replies_received(self, channel_id=None):
        """Replies received (taken) on the channel."""
        return Coproc.Messenger.replies_received(self, _channel(channel_id))

    def messages_sent(self, channel_id=None):
        """Data messages sent on the channel."""
        return Coproc.Messenger.messages_sent(self, _channel(channel_id))

    def messages_received(self, channel_id=None):
        """Data messages received (taken) on the channel."""
        return Coproc.Messenger.messages_received(self, _channel(channel_id))

    def queue_size(self, channel_id=None):
        """Messages queued on the channel now, without reading."""
        return Coproc.Messenger.queue_size(self, _channel(channel_id))


Messenger = override(Messenger)
__all__.append('Messenger')


# Made now, after the Messenger override, so that they derive from it.
Coproc.PriorityMessenger
Coproc.MultiMessenger


@dataclasses.dataclass
class BaseWorkerProcess:
    """A convenient base for worker classes: ``WorkerResource`` makes an
    instance with the worker's messenger, then calls it."""

    messenger: Messenger


__all__.append('BaseWorkerProcess')


# Workers --------------------------------------------------------------------

def _resolve(module, qualname):
    obj = module
    for part in qualname.split('.'):
        obj = getattr(obj, part)
    return obj


def _main_description():
    # How a worker can run this process's __main__ module again.
    main = sys.modules.get('__main__')
    spec = getattr(main, '__spec__', None)
    if spec is not None and spec.name not in ('__main__', None):
        return {'main_module': spec.name}
    path = getattr(main, '__file__', None)
    if path:
        return {'main_path': os.path.abspath(path)}
    raise ValueError('A worker target defined in an interactive session cannot be imported '
                     'by the worker: define it in a module or a script file')


def _is_main_test(test):
    # Whether an `if` tests `__name__ == '__main__'` (True), its negation
    # (False), or something else (None).
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and
            isinstance(test.ops[0], (ast.Eq, ast.NotEq))):
        return None
    sides = [test.left, test.comparators[0]]
    names = [side for side in sides if isinstance(side, ast.Name) and side.id == '__name__']
    constants = [side for side in sides
                 if isinstance(side, ast.Constant) and side.value == '__main__']
    if not names or not constants:
        return None
    return isinstance(test.ops[0], ast.Eq)


def _bound_names(nodes):
    # The names that statements bind in their own scope (not inside the
    # functions and classes they define).
    names = set()
    pending = list(nodes)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            pending.extend(node.decorator_list)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split('.')[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        pending.extend(ast.iter_child_nodes(node))
    return names


def _main_guarded_names(path):
    # The top-level names a script binds only under
    # `if __name__ == '__main__':`: a worker, which runs the script again as
    # __mp_main__, never has them. Parsed once per version of the file, as
    # each call of a pool asks.
    try:
        status = os.stat(path)
    except OSError:
        return frozenset()
    return _parse_main_guarded_names(path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=8)
def _parse_main_guarded_names(path, mtime_ns, size):
    try:
        with open(path, 'rb') as source:
            tree = ast.parse(source.read(), path)
    except (OSError, SyntaxError, ValueError):
        return frozenset()

    guarded = set()
    visible = set()
    for statement in tree.body:
        main_test = _is_main_test(statement.test) if isinstance(statement, ast.If) else None
        if main_test is None:
            visible |= _bound_names([statement])
        elif main_test:
            guarded |= _bound_names(statement.body)
            visible |= _bound_names(statement.orelse)
        else:
            visible |= _bound_names(statement.body)
            guarded |= _bound_names(statement.orelse)
    return frozenset(guarded - visible)


def _describe(obj, what):
    module = getattr(obj, '__module__', None)
    qualname = getattr(obj, '__qualname__', None)
    if not module or not qualname or '<' in qualname:
        raise ValueError('%s %r must be defined at the top level of a module' % (what, obj))

    description = {'module': module, 'qualname': qualname}
    if module in ('__main__', '__mp_main__'):
        description['module'] = '__main__'
        description.update(_main_description())
        path = getattr(sys.modules.get(module), '__file__', None)
        if path and qualname.split('.')[0] in _main_guarded_names(path):
            raise ValueError("%s %s is defined under \"if __name__ == '__main__':\", which "
                             "the worker does not run: define it at the top level of %s, "
                             "outside that block" % (what, qualname, path))

    try:
        found = _resolve(sys.modules[module], qualname)
    except (KeyError, AttributeError):
        found = None
    if found is not obj:
        raise ValueError('%s %r is not importable as %s.%s' % (what, obj, module, qualname))

    return description


def _overrides_root():
    # The sys.path entry that holds this gi/overrides directory.
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _default_sys_path():
    try:
        paths = site.getsitepackages()
    except AttributeError:
        paths = []
    try:
        paths.append(site.getusersitepackages())
    except AttributeError:
        pass
    return paths


def _encode_kwargs(kwargs):
    variant = to_variant(dict(kwargs), 'kwargs')
    data = variant.get_data_as_bytes().get_data()
    return [variant.get_type_string(), base64.b64encode(data).decode('ascii')]


def _timed_cancellable(seconds):
    cancellable = Gio.Cancellable()
    timer = threading.Timer(seconds, cancellable.cancel)
    timer.daemon = True
    timer.start()
    return cancellable, timer


def _is_already_dead(error):
    return error.matches(Coproc.error_quark(), Coproc.Error.WORKER_ALREADY_DEAD)


def _sandbox_hidden_paths():
    # What a sandboxed Python worker must read that the sandbox hides (its
    # /tmp and /run are its own, XDG_RUNTIME_DIR is emptied): the entries
    # of sys.path and the main script's directory that lie there. They are
    # granted read-only.
    hidden = ['/tmp', '/run']
    runtime_dir = os.environ.get('XDG_RUNTIME_DIR')
    if runtime_dir and os.path.isabs(runtime_dir):
        hidden.append(runtime_dir)
    candidates = list(sys.path)
    main = sys.modules.get('__main__')
    main_file = getattr(main, '__file__', None)
    if main_file:
        candidates.append(os.path.dirname(os.path.abspath(main_file)))
    paths = []
    for entry in candidates:
        if not entry:
            entry = os.getcwd()
        entry = os.path.abspath(entry)
        if entry in paths or not os.path.isdir(entry):
            continue
        if any(entry == h or entry.startswith(h.rstrip('/') + '/') for h in hidden):
            paths.append(entry)
    return paths


class WorkerResource(Coproc.WorkerResource):
    """Runs a worker process and holds the host's messenger to it (see the
    module documentation)."""

    # How long leaving a ``with`` block waits for a terminated worker before
    # killing it.
    exit_timeout = 5.0

    def __init__(self, target=None, messenger_type=None, method=None, *,
                 worker_process_type=None, transport=None, sandbox=None):
        if worker_process_type is not None:
            # The name of the target in the original library's first version.
            if target is not None:
                raise TypeError('give either target or worker_process_type')
            target = worker_process_type
        if target is None:
            raise TypeError('WorkerResource() needs a target')
        if method not in (None, 'spawn'):
            raise ValueError('Coproc workers are always fresh processes (method "spawn")')

        self.target = target
        self._python = None
        self._messenger_class = None
        self._granted = set()

        gtype = Coproc.PriorityMessenger.__gtype__
        if messenger_type is not None:
            gtype = _messenger_gtype(messenger_type)
            if not isinstance(messenger_type, GObject.GType):
                self._messenger_class = messenger_type

        if isinstance(target, (list, tuple)):
            if not target or not all(isinstance(arg, (str, bytes, os.PathLike))
                                     for arg in target):
                raise TypeError('an argument vector must be a non-empty list of strings')
            argv = [os.fsdecode(arg) for arg in target]
        elif callable(target):
            self._python = {'target': _describe(target, 'The worker target')}
            if self._messenger_class is not None and \
               not self._messenger_class.__module__.startswith('gi.'):
                self._python['messenger'] = _describe(self._messenger_class,
                                                      'The messenger type')
            argv = [sys.executable or '/usr/bin/python3', '-m', _WORKER_MODULE]
        else:
            raise TypeError('a worker target is a function, a class or an argument vector, '
                            'not %r' % (target,))

        super().__init__(argv=argv, messenger_type=gtype)
        if transport is not None:
            self.set_transport(transport)
        if sandbox is not None:
            # A Python target runs sandboxed too: the bootstrap finds the
            # overrides through PYTHONPATH (set below) and the typelib
            # through GI_TYPELIB_PATH and LD_LIBRARY_PATH, which the
            # sandbox's environment keeps; the file system is readable.
            self.set_sandbox(sandbox)

        if self._python is not None:
            root = _overrides_root()
            python_path = os.environ.get('PYTHONPATH', '')
            entries = [entry for entry in python_path.split(os.pathsep) if entry]
            if root not in entries and root not in _default_sys_path():
                self.setenv('PYTHONPATH', os.pathsep.join([root] + entries))

    def __repr__(self):
        return '<Coproc.WorkerResource target=%r pid=%d>' % (getattr(self, 'target', None),
                                                             self.get_pid())

    @property
    def messenger(self):
        """The host's messenger to the current (or last) worker.

        Raises :exc:`AttributeError` before the first :meth:`start`.
        """
        messenger = self.get_messenger()
        if messenger is None:
            raise AttributeError('WorkerResource.messenger exists once the worker is started: '
                                 'call start() first (a with block does)')
        return messenger

    @property
    def pid(self):
        """The process id of the running worker, or 0."""
        return self.get_pid()

    def stats(self):
        """What the running worker's process tree uses now, read from /proc: a
        dict with ``pid``, ``rss-bytes``, ``user-seconds``,
        ``system-seconds`` and ``processes``; ``None`` when no worker runs."""
        stats = self.get_stats()
        return None if stats is None else stats.unpack()

    def start(self, **kwargs):
        """Starts the worker; keyword arguments are passed to the target."""
        python = getattr(self, '_python', None)
        if python is None:
            if kwargs:
                raise TypeError('keyword arguments are only passed to Python targets')
        else:
            config = dict(python, sys_path=list(sys.path), argv=list(sys.argv))
            if kwargs:
                config['kwargs'] = _encode_kwargs(kwargs)
            value = json.dumps(config)
            if len(value) > _MAX_WORKER_ENV_SIZE:
                raise ValueError('The keyword arguments of the worker are too large: send '
                                 'large data with the messenger')
            self.setenv(_WORKER_ENV, value)
            if self.get_sandbox() != Coproc.Sandbox.NONE:
                for path in _sandbox_hidden_paths():
                    if path not in self._granted:
                        self.add_sandbox_path(path, False)
                        self._granted.add(path)
        try:
            Coproc.WorkerResource.start(self)
        except GLib.Error as error:
            _raise_translated(error)

    def join(self, check_alive=True, cancellable=None):
        """Raises any error the worker already sent, then sends a close
        request and waits for the worker to exit.

        Raises :exc:`WorkerIsAlreadyDeadError` when the worker is not
        running, unless ``check_alive`` is false.
        """
        try:
            Coproc.WorkerResource.join(self, cancellable)
        except GLib.Error as error:
            if check_alive or not _is_already_dead(error):
                _raise_translated(error)

    def terminate(self, check_alive=True):
        """Sends a close request, then ``SIGTERM``, without waiting.

        Raises :exc:`WorkerIsAlreadyDeadError` when the worker is not
        running, unless ``check_alive`` is false.
        """
        try:
            Coproc.WorkerResource.terminate(self)
        except GLib.Error as error:
            if check_alive or not _is_already_dead(error):
                _raise_translated(error)

    def _wait_exit(self):
        # Waits until the worker has ended and GLib has reaped it. join()
        # does that; first it fails with each error the worker sent and
        # nobody received, which does not matter here. A worker that
        # outlives exit_timeout is killed.
        cancellable, timer = _timed_cancellable(self.exit_timeout)
        try:
            while True:
                try:
                    Coproc.WorkerResource.join(self, cancellable)
                    return
                except GLib.Error as error:
                    if _is_already_dead(error):
                        return
                    if cancellable is not None and cancellable.is_cancelled():
                        pid = self.get_pid()
                        if pid:
                            os.kill(pid, signal.SIGKILL)
                        cancellable = None
        finally:
            timer.cancel()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        if self.is_alive():
            self.terminate(check_alive=False)
            self._wait_exit()
        return False


WorkerResource = override(WorkerResource)
__all__.append('WorkerResource')


# Pools ----------------------------------------------------------------------

_POOL_MAP = 'map'
# The chunks map() keeps in flight on each worker when it chose their size.
_MAP_JOBS_PER_WORKER = 2
_POOL_APPLY = 'apply'
# The reply of a chunk whose items all succeeded with numbers of one type.
_POOL_PACKED_REPLY_TYPES = frozenset(('ax', 'ad'))


def _pool_worker_argv(config):
    # The bootstrap is run by its path, so that a worker finds it wherever
    # the overrides are; the configuration goes in the argument vector, as
    # a pool's workers share one.
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_coproc_worker.py')
    return [sys.executable or '/usr/bin/python3', script, json.dumps(config)]


class Pool:
    """A pool of Python worker processes that run functions.

    ``Pool(n_workers=None, *, verbose=False, messenger_type=None,
    sandbox=None)`` runs ``n_workers`` workers (``None``: one per processor)
    on a ``Coproc.WorkerPool``, so a worker that crashes is restarted and
    the items it was running are run again elsewhere. ``func`` is any
    function defined at the top level of a module (or of the main script):
    it is sent by its qualified name, never pickled.

    An exception that ``func`` raises for an item is raised by the call that
    returns or yields that item, as its own class when that class is loaded
    here (see the module documentation); the pool stays usable.

    Use it as a context manager, which starts the workers and stops them at
    the end; a pool that is not entered starts at its first call, and is
    stopped by :meth:`join`, :meth:`terminate` or when it is collected.
    The calls run the pool on a main context of its own: they never run the
    caller's. A pool belongs to the thread that made it.
    """

    def __init__(self, n_workers=None, *, verbose=False, messenger_type=None, sandbox=None):
        if n_workers is not None and (not isinstance(n_workers, int) or n_workers < 1):
            raise ValueError('n_workers must be a positive number of workers, or None for '
                             'one per processor, not %r' % (n_workers,))
        self.n_workers = n_workers
        self.verbose = verbose
        gtype = Coproc.PriorityMessenger.__gtype__
        if messenger_type is not None:
            gtype = _messenger_gtype(messenger_type)
        self._messenger_gtype = gtype
        self._sandbox = sandbox
        self._context = GLib.MainContext.new()
        self._pool = None

    def __repr__(self):
        return '<Coproc.Pool n_workers=%r running=%r>' % (self.n_workers, self._pool is not None)

    # Starting and stopping

    def start(self):
        """Starts the workers (the first call of a pool does it too)."""
        if self._pool is not None:
            return
        config = {'pool': True, 'sys_path': list(sys.path), 'argv': list(sys.argv)}
        self._context.push_thread_default()
        try:
            pool = Coproc.WorkerPool.new(_pool_worker_argv(config), self.n_workers or 0,
                                         self._messenger_gtype)
            if self._sandbox is not None:
                pool.set_property('sandbox', self._sandbox)
                for path in _sandbox_hidden_paths():
                    pool.add_sandbox_path(path, False)
            pool.start()
        except GLib.Error as error:
            _raise_translated(error)
        finally:
            self._context.pop_thread_default()
        self._pool = pool

    def join(self):
        """Waits for the items submitted to end, then stops the workers."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        self._context.push_thread_default()
        try:
            pool.join(None)
        except GLib.Error as error:
            _raise_translated(error)
        finally:
            self._context.pop_thread_default()

    def terminate(self):
        """Stops the workers at once; items still running fail."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    close = join

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.terminate()
        return False

    def __del__(self):
        pool = getattr(self, '_pool', None)
        if pool is not None:
            pool.terminate()

    # Running

    def _iteration(self):
        self._context.push_thread_default()
        try:
            self._context.iteration(True)
        finally:
            self._context.pop_thread_default()

    def _chunks(self, func, mode, items, chunksize):
        # The payload of each chunk, as (number of chunks, iterator): each is
        # made when the one before is on its way, so that the workers start
        # while the host still converts. What is wrong with the call itself
        # is raised here, before anything is sent; an item that cannot be
        # sent, when its chunk is made.
        if not isinstance(chunksize, int) or chunksize < 1:
            raise ValueError('chunksize must be a positive integer, not %r' % (chunksize,))
        description = json.dumps(_describe(func, 'The function'))

        def payloads():
            for start in range(0, len(items), chunksize):
                chunk = items[start:start + chunksize]
                packed = _codec.packed_numbers(chunk)
                try:
                    payload = to_variant([description, mode, chunk if packed is None else packed])
                except (TypeError, ValueError):
                    # Again, item by item, to name the one that cannot go.
                    for at, item in enumerate(chunk, start):
                        to_variant(item, 'items[%d]' % at)
                    raise
                yield payload

        return -(-len(items) // chunksize), payloads()

    def _outcomes(self, chunks, cancellable=None, jobs_per_worker=1):
        # Submits each chunk of (number, payloads) from _chunks(); yields
        # (index, values, errors) as chunks end: the value of each item, and
        # by index the exception of each item that failed. A chunk that
        # failed as a whole (its worker died too often, the pool failed)
        # gives values None and its exception as errors. jobs_per_worker
        # chunks are in flight on each worker. What still runs when the
        # caller stops early, or when a later chunk cannot be made, is
        # cancelled.
        n_chunks, payloads = chunks
        self.start()
        pool = self._pool
        pool.set_property('jobs-per-worker', jobs_per_worker)
        if cancellable is None:
            cancellable = Gio.Cancellable()
        ended = collections.deque()

        def done(source, result, index):
            try:
                reply = source.submit_finish(result)
            except GLib.Error as error:
                ended.append((index, None, exception_from_error(error)))
                return
            if reply.get_type_string() in _POOL_PACKED_REPLY_TYPES:
                # Every item succeeded: the values alone.
                ended.append((index, from_variant(reply), None))
                return
            values, errors = from_variant(reply)
            ended.append((index, values,
                          {at: _pool_exception(error) for at, error in errors.items()}))

        # The callbacks run on the context that is thread-default at the
        # call; between two chunks, the replies that came are taken, and
        # the chunks waiting in the pool go to the workers that sent them.
        n_submitted = 0
        self._context.push_thread_default()
        try:
            for index, payload in enumerate(payloads):
                pool.submit_async(payload, cancellable, done, index)
                n_submitted += 1
                self._context.iteration(False)
        except BaseException:
            # A chunk that cannot be made: those sent are not wanted.
            cancellable.cancel()
            while len(ended) < n_submitted:
                self._context.iteration(True)
            raise
        finally:
            self._context.pop_thread_default()
        assert n_submitted == n_chunks

        n_done = 0
        try:
            while n_done < n_chunks:
                while not ended:
                    self._iteration()
                entry = ended.popleft()
                n_done += 1
                if self.verbose:
                    print('Coproc.Pool: %d of %d chunks done' % (n_done, n_chunks),
                          file=sys.stderr)
                yield entry
        finally:
            # A generator closed early: what still runs is not wanted.
            if n_done < n_chunks:
                cancellable.cancel()

    @staticmethod
    def _values(values, errors):
        # The values of a chunk, up to its first failed item, whose exception
        # is raised once they have been taken.
        if values is None:
            raise errors
        if not errors:
            return values
        first = min(errors)
        return itertools.chain(values[:first], _raising(errors[first]))

    def imap(self, func, iterable, chunksize=1):
        """Yields ``func(item)`` for each item, in the order of the items."""
        items = list(iterable)
        chunks = self._chunks(func, _POOL_MAP, items, chunksize)
        waiting = {}
        next_index = 0
        for index, values, errors in self._outcomes(chunks):
            waiting[index] = (values, errors)
            while next_index in waiting:
                yield from self._values(*waiting.pop(next_index))
                next_index += 1

    def map(self, func, iterable, chunksize=None):
        """Returns ``[func(item) for item in iterable]``, computed by the
        workers. Waits for every item; raises the exception of the first
        item that failed.

        The items go to the workers ``chunksize`` at a time; by default, as
        ``multiprocessing.Pool.map`` does, in about four chunks per worker,
        which a short function needs to be fast (``chunksize=1`` balances
        long items of uneven length best)."""
        items = list(iterable)
        jobs_per_worker = 1
        if chunksize is None:
            self.start()
            chunksize = max(1, math.ceil(len(items) / (4 * self._pool.get_n_workers())))
            # Chunks of one size: while a worker runs one, the next waits in
            # its socket, so that it never waits for the host.
            jobs_per_worker = _MAP_JOBS_PER_WORKER
        chunks = self._chunks(func, _POOL_MAP, items, chunksize)
        outcomes = [None] * chunks[0]
        for index, values, errors in self._outcomes(chunks, None, jobs_per_worker):
            outcomes[index] = (values, errors)
        results = []
        for values, errors in outcomes:
            results.extend(self._values(values, errors))
        return results

    def map_unordered(self, func, iterable, chunksize=1):
        """Yields ``func(item)`` for each item as each ends, in no set order."""
        items = list(iterable)
        chunks = self._chunks(func, _POOL_MAP, items, chunksize)
        for _, values, errors in self._outcomes(chunks):
            yield from self._values(values, errors)

    imap_unordered = map_unordered

    def apply(self, func, *args, **kwargs):
        """Returns ``func(*args, **kwargs)``, computed by a worker."""
        chunks = self._chunks(func, _POOL_APPLY, [[list(args), kwargs]], 1)
        for _, values, errors in self._outcomes(chunks):
            (value,) = self._values(values, errors)
            return value


def _raising(exception):
    # An iterator that raises exception when it is first advanced.
    raise exception
    yield


def _pool_exception(error):
    # The exception of an item, as the worker gave it: (domain, code, message).
    domain, code, message = error
    return exception_from_error(GLib.Error(message, domain, code))


__all__.append('Pool')


class LazyPool(Pool):
    """The original library's ``LazyPool``: a :class:`Pool` whose workers
    start at each call and stop once it has returned (or, for a generator,
    once it is exhausted)."""

    def _outcomes(self, chunks, cancellable=None, jobs_per_worker=1):
        try:
            yield from super()._outcomes(chunks, cancellable, jobs_per_worker)
        finally:
            self.join()


__all__.append('LazyPool')
