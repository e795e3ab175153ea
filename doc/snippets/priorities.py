# priorities.py: completes the Python block of "Priorities"
# (doc/messaging.md), and checks what it prints
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import contextlib
import dataclasses
import io

import gi
gi.require_version('Coproc', '1.0')
from gi.repository import Coproc  # noqa: E402

printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    @SNIPPET@

expected = [HighPriorityMessage('high %d' % i) for i in range(3)] + \
           [LowPriorityMessage('low %d' % i) for i in range(3)]
assert printed.getvalue() == ''.join('%s\n' % item for item in expected), printed.getvalue()

# The explicit priority puts 'urgent' before anything queued after it.
resource.send_norequest(HighPriorityMessage('high again'))
assert process.receive_available() == ['urgent', HighPriorityMessage('high again')]
