// readme-host.js: completes the JavaScript example of README.md
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// snippet-support: worker.js

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import Coproc from 'gi://Coproc?version=1.0';

@SNIPPET@

if (reply.get_int32() !== 42)
    throw new Error(`the reply is ${reply.print(true)}, not 42`);
worker.join(null);
