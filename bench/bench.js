// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The GJS row of coproc-bench: W3 from a GJS host. A 16 MiB Uint8Array is
// made into a GLib.Variant of type 'ay' the usual way (new GLib.Variant),
// one variant per message, before the clock starts, as the C rows of the
// other payload forms do; the host sends them through the socket to the C
// program's own W3 worker (coproc-bench --child coproc W3 N SIZE), so that
// this row differs from the C rows by the host alone.
//
// coproc-bench runs it as `gjs -m bench.js --runs=N --count=N --size=BYTES
// --bench-exe=PATH`, with the uninstalled typelib of its build, and folds
// the results into its table; it prints one line per run:
// RESULT <tab> W3 <tab> peer <tab> MiB/s.

import GLib from 'gi://GLib';
import Coproc from 'gi://Coproc?version=1.0';
import system from 'system';

const PEER = 'coproc, Uint8Array';

function parseArgs(args) {
    const options = {runs: 5, count: 16, size: 16 * 1024 * 1024, benchExe: null};
    for (const arg of args) {
        const [key, value] = arg.split('=', 2);
        if (key === '--runs')
            options.runs = Number(value);
        else if (key === '--count')
            options.count = Number(value);
        else if (key === '--size')
            options.size = Number(value);
        else if (key === '--bench-exe')
            options.benchExe = value;
        else
            throw new Error(`bench.js: unknown argument ${arg}`);
    }
    if (options.benchExe === null)
        throw new Error('bench.js: --bench-exe is needed');
    return options;
}

function runOnce({count, size, benchExe}) {
    const worker = Coproc.WorkerResource.new(
        [benchExe, '--child', 'coproc', 'W3', `${count}`, `${size}`],
        Coproc.PriorityMessenger.$gtype);
    worker.start();
    const messenger = worker.get_messenger();
    // Through the socket, as the C rows compared with raw bytes.
    messenger.set_large_message_threshold(GLib.MAXUINT32);
    if (!messenger.receive_blocking(null, null).unpack())
        throw new Error('the worker did not say it was ready');

    const data = new Uint8Array(size).fill(0x5a);
    const payloads = [];
    for (let i = 0; i < count; i++)
        payloads.push(new GLib.Variant('ay', data));

    const t0 = GLib.get_monotonic_time();
    for (const payload of payloads)
        messenger.send_norequest(payload, null);
    const [got, total] = messenger.receive_blocking(null, null).deepUnpack();
    const seconds = (GLib.get_monotonic_time() - t0) / 1e6;

    if (got !== count || total !== count * size)
        throw new Error(`the worker counted ${got} payloads, ${total} bytes`);
    try {
        worker.join(null);
    } catch (e) {
        // It returns after its answer, so it may be gone already.
        if (!e.matches(Coproc.Error, Coproc.Error.WORKER_ALREADY_DEAD))
            throw e;
    }
    return count * size / (1024 * 1024) / seconds;
}

const options = parseArgs(system.programArgs);
let failed = false;
for (let run = 0; run < options.runs; run++) {
    let value;
    try {
        value = runOnce(options);
        printerr(`GJS W3   run ${run + 1}/${options.runs}  ${PEER}  ${value.toFixed(2)}`);
    } catch (e) {
        printerr(`GJS W3   run ${run + 1}/${options.runs}  ${PEER}  FAILED: ${e.message}`);
        value = NaN;
        failed = true;
    }
    print(`RESULT\tW3\t${PEER}\t${value}`);
}
system.exit(failed ? 1 : 0);
