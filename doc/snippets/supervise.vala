/* supervise.vala: completes the Vala block of "Supervising a worker from a
 * main loop" (doc/workers.md)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: my-worker
 */

async void supervise () throws Error {
    @SNIPPET@

    if (worker.is_alive ())
        throw new IOError.FAILED ("the worker is still running");
}

int main () {
    var loop = new MainLoop ();
    int status = 1;

    supervise.begin ((obj, res) => {
        try {
            supervise.end (res);
            status = 0;
        } catch (Error e) {
            printerr ("%s\n", e.message);
        }
        loop.quit ();
    });
    loop.run ();
    return status;
}
