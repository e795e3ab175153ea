# test_errors.py: errors and close requests across a messenger pair
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys
import types

import gi
gi.require_version('Coproc', '1.0')
import pytest  # noqa: E402
from gi.module import get_introspection_module  # noqa: E402
from gi.overrides import _coproc_codec as codec  # noqa: E402
from gi.repository import Coproc, GLib  # noqa: E402

# The C methods, without the Python overrides: what programs in other
# languages see.
RawCoproc = get_introspection_module('Coproc')


class CustomError(Exception):
    pass


class Outer:
    class NestedError(LookupError):
        pass


class TestStop(BaseException):
    # Like the original library's tests' TestError: not an Exception.
    __test__ = False


class TwoArgumentError(Exception):
    def __init__(self, code, text):
        super().__init__(code, text)


class NotAnException:
    pass


AliasError = CustomError


def receive_calls(messenger):
    return [
        lambda: messenger.available(),
        lambda: messenger.receive_available(),
        lambda: messenger.receive_blocking(),
        lambda: messenger.receive_message_blocking(),
        lambda: messenger.await_available(),
        lambda: list(messenger.receive_remaining()),
    ]


def test_resource_requested_close_is_a_glib_error():
    assert issubclass(Coproc.ResourceRequestedClose, GLib.Error)
    e = Coproc.ResourceRequestedClose()
    assert e.matches(Coproc.error_quark(), Coproc.Error.CLOSE_REQUESTED)
    assert e.domain == 'coproc-error-quark'
    assert e.code == Coproc.Error.CLOSE_REQUESTED


@pytest.mark.parametrize('call', range(6))
def test_close_request_raises_in_every_receive_call(call):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_request('outstanding')
    pm.send_close_request()
    # receive_remaining needs an outstanding request to receive at all.
    with pytest.raises(Coproc.ResourceRequestedClose) as info:
        receive_calls(rm)[call]()
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.CLOSE_REQUESTED)
    assert isinstance(info.value, GLib.Error)
    # Consumed: the next call does not raise it again.
    assert rm.available() == 0


def test_close_request_bypasses_queued_data():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    rm.send_norequest('before')
    rm.send_close_request()
    with pytest.raises(Coproc.ResourceRequestedClose):
        pm.receive_blocking()
    assert pm.receive_blocking() == 'before'


@pytest.mark.parametrize('exception', [
    ValueError('boom'),
    KeyError('key'),
    TypeError(),
    RuntimeError(''),
    ZeroDivisionError('division by zero'),
    OSError('disk'),
    FileNotFoundError('missing: really'),
    NotImplementedError('later'),
    StopIteration('done'),
    ArithmeticError('a: b: c'),
    # Classes of this module, loaded on the receiving side too.
    CustomError('mine'),
    CustomError(),
    Outer.NestedError('deep'),
    TestStop('stop'),
], ids=repr)
def test_exception_crosses_as_itself(exception):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(exception)
    with pytest.raises(type(exception)) as info:
        rm.receive_blocking()
    assert type(info.value) is type(exception)
    assert info.value.args == exception.args


def test_exception_with_other_arguments_keeps_its_text():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(ValueError(1, 'two'))
    with pytest.raises(ValueError) as info:
        rm.available()
    assert info.value.args == ("(1, 'two')",)


@pytest.mark.parametrize('exception, message', [
    (ValueError('boom'), 'ValueError: boom'),
    (CustomError('mine'), 'test_errors.CustomError: mine'),
    (CustomError(), 'test_errors.CustomError'),
    (Outer.NestedError('deep'), 'test_errors.Outer.NestedError: deep'),
], ids=repr)
def test_error_message_names_the_class(exception, message):
    # What programs in other languages see.
    error = Coproc.error_from_exception(exception)
    assert (error.domain, error.code, error.message) == \
        (Coproc.PYTHON_EXCEPTION_DOMAIN, 0, message)


def test_exception_class_of_the_main_script(monkeypatch):
    # A worker runs the host's script as __mp_main__; both are __main__.
    script = types.ModuleType('__mp_main__')
    exec('class JobError(Exception):\n    pass\n', script.__dict__)
    monkeypatch.setitem(sys.modules, '__mp_main__', script)
    error = Coproc.error_from_exception(script.JobError('bad job'))
    assert error.message == '__main__.JobError: bad job'
    assert type(Coproc.exception_from_error(error)) is script.JobError


@pytest.mark.parametrize('exception, message', [
    (KeyboardInterrupt(), 'KeyboardInterrupt'),
    (SystemExit(3), 'SystemExit: 3'),
    (TwoArgumentError(1, 'x'), "test_errors.TwoArgumentError: (1, 'x')"),
], ids=repr)
def test_other_exceptions_arrive_as_glib_error(exception, message):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(exception)
    with pytest.raises(GLib.Error) as info:
        rm.receive_blocking()
    assert type(info.value) is GLib.Error
    assert info.value.domain == Coproc.PYTHON_EXCEPTION_DOMAIN
    assert info.value.code == 0
    assert info.value.message == message


def test_other_languages_see_a_readable_error():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(ValueError('boom'))
    with pytest.raises(GLib.Error) as info:
        RawCoproc.Messenger.receive_blocking(rm, None, None)
    assert info.value.domain == 'coproc-python-exception'
    assert info.value.message == 'ValueError: boom'


@pytest.mark.parametrize('message', [
    'print: not an exception class',
    '__import__: os',
    'os.system: true',
    'NoSuchName: x',
    'UnicodeDecodeError: needs five arguments',
    'builtins.SystemExit: 3',
    'test_errors.NotAnException: not a BaseException',
    'test_errors.AliasError: not the class\'s own name',
    'test_errors.GLib.Error: a GLib.Error subclass',
    'test_errors.no.such.Error: x',
    'this.Zen: never imported',
    'test_errors.Outer..NestedError: x',
    '.CustomError: x',
    '',
], ids=repr)
def test_only_loaded_exception_classes_are_rebuilt(message, monkeypatch):
    monkeypatch.delitem(sys.modules, 'this', raising=False)
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(GLib.Error(message, Coproc.PYTHON_EXCEPTION_DOMAIN, 0))
    with pytest.raises(GLib.Error) as info:
        rm.receive_blocking()
    assert type(info.value) is GLib.Error
    assert info.value.message == message
    assert 'this' not in sys.modules


def test_long_class_names_are_not_looked_up(monkeypatch):
    # Each split of a dotted name into module and class is tried: never
    # for a name of a peer's choosing with thousands of parts.
    looked_up = []
    loaded_class = codec.loaded_class
    monkeypatch.setattr(codec, 'loaded_class',
                        lambda *name: looked_up.append(name) or loaded_class(*name))

    error = GLib.Error('test_errors.' + 'Outer.' * 1000 + 'NestedError: x',
                       Coproc.PYTHON_EXCEPTION_DOMAIN, 0)
    assert Coproc.exception_from_error(error) is error
    assert looked_up == []

    error = GLib.Error('test_errors.Outer.NestedError: x', Coproc.PYTHON_EXCEPTION_DOMAIN, 0)
    assert type(Coproc.exception_from_error(error)) is Outer.NestedError
    assert looked_up == [('test_errors.Outer', 'NestedError'), ('test_errors', 'Outer.NestedError')]


def test_glib_error_passes_through():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(GLib.Error('a message', 'my-app-error-quark', 7))
    with pytest.raises(GLib.Error) as info:
        rm.receive_blocking()
    assert type(info.value) is GLib.Error
    assert (info.value.domain, info.value.code, info.value.message) == \
        ('my-app-error-quark', 7, 'a message')
    assert info.value.matches(GLib.quark_from_string('my-app-error-quark'), 7)


def test_coproc_errors_keep_their_class():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_error(Coproc.ResourceRequestedClose('sent as an error'))
    with pytest.raises(Coproc.ResourceRequestedClose) as info:
        rm.receive_blocking()
    assert info.value.message == 'sent as an error'


def test_send_error_needs_an_exception():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    with pytest.raises(TypeError):
        pm.send_error('not an exception')
    assert rm.available() == 0


def test_errors_arrive_before_queued_data():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_norequest(1)
    pm.send_error(ValueError('first'))
    pm.send_norequest(2)
    with pytest.raises(ValueError, match='^first$'):
        rm.receive_available()
    assert rm.receive_available() == [1, 2]


def test_closed_peer():
    pm, rm = Coproc.PriorityMessenger.new_pair()
    pm.send_norequest('last words')
    pm.close()
    assert rm.receive_blocking() == 'last words'
    with pytest.raises(GLib.Error) as info:
        rm.receive_blocking()
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.CLOSED)
    with pytest.raises(GLib.Error) as info:
        pm.send_norequest('after close')
    assert info.value.matches(Coproc.error_quark(), Coproc.Error.CLOSED)


def test_helpers():
    error = Coproc.error_from_exception(KeyError('k'))
    assert (error.domain, error.code, error.message) == \
        (Coproc.PYTHON_EXCEPTION_DOMAIN, 0, 'KeyError: k')
    exception = Coproc.exception_from_error(error)
    assert type(exception) is KeyError and exception.args == ('k',)

    plain = GLib.Error('m', 'coproc-error-quark', int(Coproc.Error.PROTOCOL))
    assert Coproc.exception_from_error(plain) is plain
    close = Coproc.exception_from_error(
        GLib.Error('m', 'coproc-error-quark', int(Coproc.Error.CLOSE_REQUESTED)))
    assert type(close) is Coproc.ResourceRequestedClose
    assert repr(close) == "Coproc.ResourceRequestedClose('m', 'coproc-error-quark', 0)"

    for cls, code in [(Coproc.MessageNotRecognizedError, Coproc.Error.MESSAGE_NOT_RECOGNIZED),
                      (Coproc.WorkerIsAlreadyAliveError, Coproc.Error.WORKER_ALREADY_ALIVE),
                      (Coproc.WorkerIsAlreadyDeadError, Coproc.Error.WORKER_ALREADY_DEAD),
                      (Coproc.WorkerIsDeadError, Coproc.Error.WORKER_DEAD)]:
        assert cls().matches(Coproc.error_quark(), code)
        assert type(Coproc.exception_from_error(GLib.Error('m', 'coproc-error-quark',
                                                           int(code)))) is cls


def test_send_error_print_trace(capsys):
    pm, rm = Coproc.PriorityMessenger.new_pair()
    try:
        raise OSError('with a traceback')
    except OSError as e:
        pm.send_error(e, print_trace=True)
    assert 'raise OSError' in capsys.readouterr().err
    pm.send_error(OSError('quiet by default'))
    assert capsys.readouterr().err == ''
    with pytest.raises(OSError, match='^with a traceback$'):
        rm.available()
    with pytest.raises(OSError, match='^quiet by default$'):
        rm.available()
