/* async.vala: completes the Vala block of "Asynchronous receives"
 * (doc/mainloop.md) with an echo worker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: my-worker
 */

async void ask (Coproc.Messenger messenger) throws Error {
    @SNIPPET@

    if (reply.get_string () != "hello")
        throw new IOError.FAILED ("the reply is %s", reply.print (true));
}

int main () {
    var worker = new Coproc.WorkerResource ({ "./my-worker" }, typeof (Coproc.PriorityMessenger));
    var loop = new MainLoop ();
    int status = 1;

    try {
        worker.start ();
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    ask.begin (worker.messenger, (obj, res) => {
        try {
            ask.end (res);
            status = 0;
        } catch (Error e) {
            printerr ("%s\n", e.message);
        }
        loop.quit ();
    });
    loop.run ();
    try {
        worker.join (null);
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return status;
}
