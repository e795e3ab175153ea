/* catch.vala: completes the Vala block of "In JavaScript and Vala"
 * (doc/errors.md): a function whose receive fails
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int receive_one (Coproc.Messenger messenger) {
    @SNIPPET@
    return 2;
}

int main () {
    try {
        Coproc.Messenger messenger, peer;
        Coproc.Messenger.new_pair (typeof (Coproc.PriorityMessenger), out messenger, out peer);

        peer.send_close_request ();
        if (receive_one (messenger) != 0)
            error ("a close request should return 0");

        peer.close ();
        if (receive_one (messenger) != 1)
            error ("a closed peer should return 1");
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
