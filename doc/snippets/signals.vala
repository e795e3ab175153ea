/* signals.vala: completes the Vala block of "Signals" (doc/mainloop.md): a
 * worker of this program reports progress, and the handler moves a
 * stand-in for the bar
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* A stand-in for Gtk.ProgressBar, which would need a display. */
class ProgressBar {
    public double fraction = 0.0;
}

int progress_worker (Coproc.Messenger messenger) {
    try {
        messenger.send_norequest ("not progress", null);
        messenger.send_norequest (0.5, "progress");
        messenger.send_norequest (1.0, "progress");
        messenger.receive_blocking (null);
    } catch (Coproc.Error.CLOSE_REQUESTED e) {
        return 0;
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}

int main (string[] args) {
    int status;

    Coproc.worker_register ("progress", progress_worker);
    if (Coproc.worker_dispatch (out status))
        return status;

    var bar = new ProgressBar ();
    try {
        var worker = new Coproc.WorkerResource.for_function ("progress", typeof (Coproc.PriorityMessenger));
        worker.start ();
        var messenger = worker.messenger;

        @SNIPPET@

        while (bar.fraction != 1.0)
            MainContext.default ().iteration (true);
        var left = messenger.receive_available (null);
        if (left.length != 1 || left[0].get_string () != "not progress")
            error ("the default channel's message was not left queued");
        worker.join (null);
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
