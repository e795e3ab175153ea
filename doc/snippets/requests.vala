/* requests.vala: completes the Vala block of "Requests and replies"
 * (doc/messaging.md): runs reply_worker () as a function worker and
 * run_host () on its messenger
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

@SNIPPET@

int main (string[] args) {
    int status;

    Coproc.worker_register ("reply", reply_worker);
    if (Coproc.worker_dispatch (out status))
        return status;

    var worker = new Coproc.WorkerResource.for_function ("reply", typeof (Coproc.PriorityMessenger));
    var loop = new MainLoop ();
    status = 1;
    try {
        worker.start ();
        run_host.begin (worker.messenger, (obj, res) => {
            try {
                run_host.end (res);
                status = 0;
            } catch (Error e) {
                printerr ("%s\n", e.message);
            }
            loop.quit ();
        });
        loop.run ();
        worker.join (null);
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return status;
}
