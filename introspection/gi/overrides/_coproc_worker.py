# _coproc_worker.py: the start of a Python worker process
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""Runs the Python target of a ``Coproc.WorkerResource``.

``Coproc.WorkerResource`` starts ``python3 -m gi.overrides._coproc_worker``
with its end of the socket as file descriptor 3 (``COPROC_FD``), or over
its standard input and output (``COPROC_TRANSPORT=stdio``), and a JSON
description of the worker in ``COPROC_PYTHON_WORKER``: the target's module
and qualified name, how to run the host's ``__main__`` again when the target
lives there, the host's ``sys.path`` and ``sys.argv``, and the keyword
arguments as a serialized ``a{sv}`` variant. This is not a program to run
by hand.
"""

import base64
import json
import os
import runpy
import sys
import traceback
import types

_WORKER_ENV = 'COPROC_PYTHON_WORKER'

# The exit statuses of a worker that could not run its target.
_EXIT_USAGE = 2
_EXIT_CANNOT_CONNECT = 126


def _fixup_main(description):
    # Runs the host's __main__ again under the name __mp_main__, as
    # multiprocessing's spawn method does, so that its top-level
    # definitions exist while its `if __name__ == '__main__':` block
    # does not run.
    if '__mp_main__' in sys.modules:
        return sys.modules['__mp_main__']

    main_module = types.ModuleType('__mp_main__')
    if 'main_module' in description:
        content = runpy.run_module(description['main_module'], run_name='__mp_main__',
                                   alter_sys=True)
    else:
        content = runpy.run_path(description['main_path'], run_name='__mp_main__')
    main_module.__dict__.update(content)
    sys.modules['__mp_main__'] = main_module
    sys.modules['__main__'] = main_module
    return main_module


def _load(description):
    import importlib

    if description['module'] == '__main__':
        module = _fixup_main(description)
    else:
        module = importlib.import_module(description['module'])
    obj = module
    for part in description['qualname'].split('.'):
        obj = getattr(obj, part)
    return obj


def _exit_status(code):
    # What a SystemExit with this code would make the exit status.
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def main():
    # A pool's workers share one argument vector, which holds the
    # description; a worker resource gives each its own environment.
    if len(sys.argv) > 1:
        raw = sys.argv[1]
    else:
        raw = os.environ.pop(_WORKER_ENV, None)
    if raw is None:
        print('%s: this module runs the workers of Coproc.WorkerResource; it is not a program'
              % __name__, file=sys.stderr)
        return _EXIT_USAGE

    config = json.loads(raw)
    sys.path[:] = config['sys_path']
    sys.argv[:] = config['argv']

    # Worker output shows up line by line, even when the host terminates it.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None and hasattr(stream, 'reconfigure'):
            stream.reconfigure(line_buffering=True)

    import gi
    gi.require_version('Coproc', '1.0')
    from gi.repository import Coproc, GLib

    # A messenger class defined in Python must exist before connecting.
    if 'messenger' in config:
        messenger_type = _load(config['messenger'])
    else:
        from gi.repository import GObject
        messenger_type = GObject.type_from_name(os.environ.get('COPROC_MESSENGER_TYPE',
                                                               'CoprocPriorityMessenger'))

    try:
        if os.environ.get('COPROC_TRANSPORT') == 'stdio':
            messenger = Coproc.Messenger.new_for_stdio(messenger_type)
        else:
            messenger = Coproc.Messenger.new_for_host(messenger_type)
    except GLib.Error as error:
        print('%s: the worker could not connect to its host: %s' % (__name__, error.message),
              file=sys.stderr)
        return _EXIT_CANNOT_CONNECT

    status = 0
    try:
        kwargs = {}
        if 'kwargs' in config:
            type_string, data = config['kwargs']
            variant = GLib.Variant.new_from_bytes(GLib.VariantType.new(type_string),
                                                  GLib.Bytes.new(base64.b64decode(data)),
                                                  False)
            kwargs = Coproc.from_variant(variant)

        if config.get('pool'):
            _serve_pool(messenger)
            return 0
        target = _load(config['target'])
        if isinstance(target, type):
            target(messenger=messenger, **kwargs)()
        else:
            target(messenger, **kwargs)
    except Coproc.ResourceRequestedClose:
        # The host asked the worker to end.
        pass
    except GLib.Error as error:
        if not (error.matches(Coproc.error_quark(), Coproc.Error.CLOSED) or
                error.matches(Coproc.error_quark(), Coproc.Error.WORKER_DIED)):
            status = _report(messenger)
        # Otherwise the host hung up: there is nobody left to tell.
    except SystemExit as exit:
        status = _exit_status(exit.code)
    except KeyboardInterrupt:
        status = 130
    except BaseException:
        status = _report(messenger)
    finally:
        try:
            messenger.close()
        except GLib.Error:
            pass

    return status


def _serve_pool(messenger):
    # Runs the items of each job a Coproc.Pool sends: [function, mode,
    # items], the function described as a worker target is. The reply is
    # [values, errors]: the value of each item (None for one that failed)
    # and, by index, the exception each failed item raised, as [domain,
    # code, message]; or, when every item succeeded and the values are all
    # ints (or all floats), the values alone as one "ax" (or "ad").
    from gi.overrides import _coproc_codec

    functions = {}
    while True:
        description, mode, items = messenger.receive_blocking()
        func = functions.get(description)
        if func is None:
            func = functions[description] = _load(json.loads(description))
        values = []
        errors = {}
        if mode == 'apply':
            for args, kwargs in items:
                try:
                    values.append(func(*args, **kwargs))
                except Exception as exception:
                    errors[len(values)] = _pool_error(exception)
                    values.append(None)
        else:
            # map() calls func at C speed; when an item raises, extend() has
            # kept the values before it and the iterator stands after it.
            remaining = iter(items)
            while True:
                try:
                    values.extend(map(func, remaining))
                except Exception as exception:
                    errors[len(values)] = _pool_error(exception)
                    values.append(None)
                    continue
                if len(values) == len(items):
                    break
                # func raised StopIteration, which ended extend() early: as in
                # a generator (PEP 479), it fails the item as a RuntimeError.
                errors[len(values)] = _pool_error(
                    RuntimeError('%s raised StopIteration' % getattr(func, '__qualname__', func)))
                values.append(None)
        packed = _coproc_codec.packed_numbers(values)
        try:
            if packed is not None and not errors:
                # The common case in a form the messengers check at once:
                # numbers alone, no [values, errors] around them.
                messenger.send_reply(packed)
            else:
                messenger.send_reply([values if packed is None else packed, errors])
        except TypeError:
            # A result that cannot be sent fails its item alone.
            for at, value in enumerate(values):
                try:
                    _coproc_codec.to_variant(value, 'the result')
                except TypeError as exception:
                    errors[at] = _pool_error(exception)
                    values[at] = None
            messenger.send_reply([values, errors])


def _pool_error(exception):
    from gi.repository import Coproc

    error = Coproc.error_from_exception(exception)
    return [error.domain, error.code, error.message]


def _report(messenger):
    # Prints the exception being handled and sends it to the host.
    from gi.repository import GLib

    exception = sys.exc_info()[1]
    traceback.print_exc()
    try:
        messenger.send_error(exception)
    except GLib.Error:
        pass
    return 1


if __name__ == '__main__':
    sys.exit(main())
