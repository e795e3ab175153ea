// catch.js: completes the JavaScript block of "In JavaScript and Vala"
// (doc/errors.md): a function whose receive fails with a close request
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import Coproc from 'gi://Coproc?version=1.0';

const [, messenger, peer] = Coproc.Messenger.new_pair(Coproc.PriorityMessenger.$gtype);

function receiveOne() {
    @SNIPPET@
    throw new Error('the receive did not fail');
}

peer.send_close_request();
if (receiveOne() !== undefined)
    throw new Error('unexpected result');

// Any other error is thrown again.
peer.close();
let thrown = null;
try {
    receiveOne();
} catch (e) {
    thrown = e;
}
if (thrown === null || !thrown.matches(Coproc.Error, Coproc.Error.CLOSED))
    throw new Error(`expected CLOSED, got ${thrown}`);
