# coproc: the original library's names, from gi.repository.Coproc
#
# SPDX-License-Identifier: LGPL-2.1-or-later

"""A stand-in for the original pure-Python ``coproc`` package.

Code written for the original (``import coproc``) finds here the names it
uses, each the corresponding class of ``gi.repository.Coproc``. The tests
of the original library run unchanged with this directory on ``sys.path``.
A name that ``Coproc`` does not have (yet) is missing here too.
"""

import gi

gi.require_version('Coproc', '1.0')

from gi.repository import Coproc  # noqa: E402

_NAMES = [
    # coproc.messenger
    'PriorityMessenger',
    'MultiMessenger',
    'ResourceRequestedClose',
    'MessageNotRecognizedError',
    # coproc.worker_resource
    'WorkerResource',
    'WorkerIsAlreadyAliveError',
    'WorkerIsAlreadyDeadError',
    'WorkerIsDeadError',
    # coproc.legacy_worker_resource
    'BaseWorkerProcess',
    # coproc.pool, coproc.lazypool
    'Pool',
    'LazyPool',
]

__all__ = [name for name in _NAMES if hasattr(Coproc, name)]
globals().update((name, getattr(Coproc, name)) for name in __all__)
