// priorities.js: completes the JavaScript block of "Priorities"
// (doc/messaging.md)
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Coproc from 'gi://Coproc?version=1.0';

@SNIPPET@

const [urgent] = process.receive_available(null);
if (urgent.unpack() !== 'urgent')
    throw new Error(`got ${urgent.print(true)}`);
