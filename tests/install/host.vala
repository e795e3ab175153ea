/* host.vala: a Vala host, built and run by test-install.py against an
 * installed coproc, as the README's recipes say
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int double_numbers (Coproc.Messenger messenger) {
    try {
        while (true) {
            Variant number = messenger.receive_blocking (null);
            messenger.send_reply (2 * number.get_int32 (), null);
        }
    } catch (Coproc.Error.CLOSE_REQUESTED e) {
        return 0;
    } catch (Error e) {
        return 1;
    }
}

int main (string[] args) {
    int status;

    Coproc.worker_register ("double", double_numbers);
    if (Coproc.worker_dispatch (out status))
        return status;

    try {
        var worker = new Coproc.WorkerResource.for_function ("double", typeof (Coproc.PriorityMessenger));
        worker.start ();
        for (int i = 1; i <= 3; i++)
            worker.messenger.send_request (i, null);
        var line = new StringBuilder ("vala:");
        foreach (var reply in worker.messenger.receive_remaining (null))
            line.append_printf (" %d", reply.get_int32 ());
        print ("%s\n", line.str);
        worker.join (null);
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
