// SPDX-License-Identifier: LGPL-2.1-or-later
//
// A small TAP harness for the GJS tests. Tests are async functions run one
// after another inside a GLib main loop, so promises returned by the GIO
// style *_async calls settle and signals are delivered while a test awaits.

import GLib from 'gi://GLib';
import system from 'system';

const tests = [];

/**
 * Registers a test.
 *
 * @param {string} path - a TAP test name, /Coproc/<Class>/<behaviour>
 * @param {Function} fn - an (async) function; a thrown exception fails it
 */
export function test(path, fn) {
    tests.push({path, fn});
}

/** Runs every registered test and exits the process with the TAP verdict. */
export function run() {
    const loop = new GLib.MainLoop(null, false);
    let failures = 0;

    GLib.idle_add(GLib.PRIORITY_DEFAULT, () => {
        (async () => {
            print(`1..${tests.length}`);
            for (const [i, {path, fn}] of tests.entries()) {
                try {
                    // eslint-disable-next-line no-await-in-loop
                    await fn();
                    print(`ok ${i + 1} ${path}`);
                } catch (e) {
                    failures++;
                    print(`not ok ${i + 1} ${path}`);
                    const text = `${e}\n${e.stack ?? ''}`;
                    for (const line of text.trimEnd().split('\n'))
                        print(`# ${line}`);
                }
            }
        })().finally(() => loop.quit());
        return GLib.SOURCE_REMOVE;
    });

    loop.run();
    system.exit(failures > 0 ? 1 : 0);
}

class AssertionError extends Error {
    constructor(message) {
        super(message);
        this.name = 'AssertionError';
    }
}

function describe(value) {
    if (value instanceof GLib.Variant)
        return `GLib.Variant(${value.print(true)})`;
    try {
        return JSON.stringify(value, (_k, v) => typeof v === 'bigint' ? `${v}n` : v);
    } catch {
        return String(value);
    }
}

export function assertTrue(value, what = 'value') {
    if (!value)
        throw new AssertionError(`${what}: expected true, got ${describe(value)}`);
}

export function assertFalse(value, what = 'value') {
    if (value)
        throw new AssertionError(`${what}: expected false, got ${describe(value)}`);
}

export function assertEqual(actual, expected, what = 'value') {
    if (!Object.is(actual, expected)) {
        throw new AssertionError(
            `${what}: expected ${describe(expected)}, got ${describe(actual)}`);
    }
}

/** Compares plain values (arrays, objects, numbers, strings) structurally. */
export function assertDeepEqual(actual, expected, what = 'value') {
    const a = describe(actual);
    const b = describe(expected);
    if (a !== b)
        throw new AssertionError(`${what}: expected ${b}, got ${a}`);
}

/** Checks that @variant equals @expected in type and value. */
export function assertVariant(variant, expected, what = 'variant') {
    if (!(variant instanceof GLib.Variant))
        throw new AssertionError(`${what}: expected a GLib.Variant, got ${describe(variant)}`);
    if (!variant.equal(expected)) {
        throw new AssertionError(
            `${what}: expected ${describe(expected)}, got ${describe(variant)}`);
    }
}

function checkError(e, domain, code, what) {
    if (!(e instanceof GLib.Error))
        throw new AssertionError(`${what}: expected a GLib.Error, got ${e}`);
    if (!e.matches(domain, code)) {
        throw new AssertionError(
            `${what}: expected error ${GLib.quark_to_string(domain)}:${code}, ` +
            `got ${GLib.quark_to_string(e.domain)}:${e.code} (${e.message})`);
    }
    return e;
}

/** Calls @fn, which must throw a GLib.Error of @domain and @code; returns it. */
export function assertThrows(fn, domain, code, what = 'call') {
    try {
        fn();
    } catch (e) {
        return checkError(e, domain, code, what);
    }
    throw new AssertionError(`${what}: expected an error, but it succeeded`);
}

/** Awaits @promise, which must reject with a GLib.Error of @domain and @code. */
export async function assertRejects(promise, domain, code, what = 'promise') {
    try {
        await promise;
    } catch (e) {
        return checkError(e, domain, code, what);
    }
    throw new AssertionError(`${what}: expected a rejection, but it resolved`);
}

/**
 * Returns a promise that resolves with the arguments of the next emission of
 * @signal on @object; the handler returns @handled to the emitter.
 */
export function nextSignal(object, signal, handled = undefined) {
    return new Promise(resolve => {
        const id = object.connect(signal, (_obj, ...args) => {
            object.disconnect(id);
            resolve(args);
            return handled;
        });
    });
}

/** Shorthands for building payloads and channel ids. */
export const str = s => new GLib.Variant('s', s);
export const int32 = i => new GLib.Variant('i', i);
