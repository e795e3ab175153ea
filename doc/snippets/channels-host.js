// channels-host.js: completes the JavaScript host of "Channels"
// (doc/messaging.md), beside its echo-worker.js
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Coproc from 'gi://Coproc?version=1.0';

@SNIPPET@

if (worker.is_alive())
    throw new Error('the worker is still running');
