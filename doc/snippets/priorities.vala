/* priorities.vala: completes the Vala block of "Priorities"
 * (doc/messaging.md)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

int main () {
    try {
        @SNIPPET@
    } catch (Error e) {
        printerr ("%s\n", e.message);
        return 1;
    }
    return 0;
}
