/* special.vala: completes the Vala blocks of "Special messages"
 * (doc/messaging.md): the worker is a function of this program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

@SNIPPET worker@

int main (string[] args) {
    int status;

    Coproc.worker_register ("print", print_worker);
    if (Coproc.worker_dispatch (out status))
        return status;

    var worker = new Coproc.WorkerResource.for_function ("print", typeof (Coproc.PriorityMessenger));
    try {
        worker.start ();
        var messenger = worker.messenger;

        @SNIPPET host@
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }

    try {
        worker.join (null);
    } catch (Coproc.Error.WORKER_ALREADY_DEAD e) {
        /* It returned already. */
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
