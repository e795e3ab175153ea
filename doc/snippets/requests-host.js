// requests-host.js: completes the JavaScript host of "Requests and
// replies" (doc/messaging.md), with its reply-worker.js
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

const worker = Coproc.WorkerResource.new(['gjs', '-m', 'reply-worker.js'],
    Coproc.PriorityMessenger.$gtype);
worker.start();
const messenger = worker.messenger;

@SNIPPET@

worker.join(null);
