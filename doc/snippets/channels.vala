/* channels.vala: completes the Vala blocks of "Channels"
 * (doc/messaging.md): the worker is a function of this program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

@SNIPPET worker@

int main (string[] args) {
    int status;

    Coproc.worker_register ("echo", echo_worker);
    if (Coproc.worker_dispatch (out status))
        return status;

    try {
        @SNIPPET host@

        worker.join (null);
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
