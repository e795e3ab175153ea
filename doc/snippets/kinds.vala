/* kinds.vala: completes the Vala block of "Two kinds of messenger"
 * (doc/messaging.md)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int main () {
    try {
        @SNIPPET@

        if (worker.messenger_type != typeof (Coproc.MultiMessenger))
            error ("messenger-type is %s", worker.messenger_type.name ());
        if (!(process is Coproc.PriorityMessenger) || !(resource is Coproc.PriorityMessenger))
            error ("new_pair () made the wrong kind");
        resource.send_norequest ("ping", null);
        if (process.receive_blocking (null).get_string () != "ping")
            error ("the pair is not connected");
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
