/* readme-host.vala: completes the Vala example of README.md
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: worker
 */

async void run () throws Error {
    @SNIPPET@

    if (reply.get_int32 () != 42)
        throw new IOError.FAILED ("the reply is %s, not 42", reply.print (true));
    worker.join (null);
}

int main () {
    var loop = new MainLoop ();
    int status = 1;

    run.begin ((obj, res) => {
        try {
            run.end (res);
            status = 0;
        } catch (Error e) {
            printerr ("%s\n", e.message);
        }
        loop.quit ();
    });
    loop.run ();
    return status;
}
