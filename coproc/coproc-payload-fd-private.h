/* coproc-payload-fd-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * Payloads passed in file descriptors (doc/protocol.md, "Payloads in file
 * descriptors"): the sender writes a payload's encoding once into a memory
 * file (memfd) and seals it against writing, shrinking and growing; the
 * receiver checks the seals and maps it read-only, so the data cannot
 * change after it was validated and no copy is made on either side.
 *
 * Pure functions of their arguments; any thread.
 */

/* A new memfd holding the encoding of @payload (coproc_wire_store_variant(),
 * @size bytes), sealed. Returns the descriptor (close-on-exec, owned by the
 * caller), or -1 with errno set: the caller then sends the payload inline. */
int     coproc_payload_fd_create (GVariant  *payload,
                                  gsize      size);

/* Maps the first @size bytes of @fd read-only, after checking that it is a
 * regular file of at least that size with the seals above. Takes @fd,
 * which is closed whatever happens. Returns bytes that unmap themselves
 * when released, or NULL with COPROC_ERROR_PROTOCOL. */
GBytes *coproc_payload_fd_map    (int        fd,
                                  gsize      size,
                                  GError   **error);

G_END_DECLS
