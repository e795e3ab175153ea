// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A worker written in GJS, started by test-worker-resource.js with
// Coproc.WorkerResource.new(['gjs', '-m', 'worker.js', MODE], type).
//
// Modes:
//   echo   answers each request with a reply and each plain message with a
//          plain message, same payload and channel; sends back the errors it
//          receives; exits 0 on a close request
//   type   sends the type name of its messenger, then echoes
//   die    sends 'last words'; once the host answers, sends an error and
//          'after the error', then exits with status 7 at once

import GLib from 'gi://GLib';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

// The host names the kind of messenger it made; use the same on this side.
const messengerType = GLib.getenv('COPROC_MESSENGER_TYPE') === 'CoprocMultiMessenger'
    ? Coproc.MultiMessenger : Coproc.PriorityMessenger;
const messenger = Coproc.Messenger.new_for_host(messengerType.$gtype);
const mode = system.programArgs[0] ?? 'echo';

if (mode === 'die') {
    messenger.send_norequest(new GLib.Variant('s', 'last words'), null);
    messenger.receive_blocking(null, null);
    messenger.send_error(new GLib.Error(GLib.quark_from_string('worker-error-quark'), 3,
        'dying'));
    messenger.send_norequest(new GLib.Variant('s', 'after the error'), null);
    messenger.flush(null);
    system.exit(7);
}

if (mode === 'type')
    messenger.send_norequest(new GLib.Variant('s', messenger.constructor.$gtype.name), null);

const loop = new GLib.MainLoop(null, false);

messenger.connect('message-received', (m, message) => {
    if (message.request_reply)
        m.send_reply(message.payload, message.channel_id);
    else
        m.send_norequest(message.payload, message.channel_id);
    return true;
});
messenger.connect('error-received', (m, error) => {
    m.send_error(error);
    return true;
});
messenger.connect('close-requested', () => {
    loop.quit();
    return true;
});
messenger.connect('closed', () => loop.quit());

loop.run();
