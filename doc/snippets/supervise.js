// supervise.js: completes the JavaScript block of "Supervising a worker
// from a main loop" (doc/workers.md)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// snippet-support: my-worker

import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

@SNIPPET@

if (worker.is_alive())
    throw new Error('the worker is still running');
