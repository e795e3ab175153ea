// kinds.js: completes the JavaScript block of "Two kinds of messenger"
// (doc/messaging.md)
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Coproc from 'gi://Coproc?version=1.0';

@SNIPPET@

if (GObject.type_name(worker.messenger_type) !== 'CoprocMultiMessenger')
    throw new Error(`messenger-type is ${GObject.type_name(worker.messenger_type)}`);
if (!(process instanceof Coproc.PriorityMessenger) || !(resource instanceof Coproc.PriorityMessenger))
    throw new Error('new_pair() made the wrong kind');
resource.send_norequest(new GLib.Variant('s', 'ping'), null);
if (process.receive_blocking(null, null).unpack() !== 'ping')
    throw new Error('the pair is not connected');
