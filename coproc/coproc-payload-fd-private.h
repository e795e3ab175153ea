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
 * change after it was validated and no copy is made on either side (small
 * payloads are copied out instead: see COPROC_PAYLOAD_FD_MIN_MAP_SIZE).
 *
 * Pure functions of their arguments; any thread.
 */

/* A new memfd holding the encoding of @payload (coproc_wire_store_variant(),
 * @size bytes), sealed. Returns the descriptor (close-on-exec, owned by the
 * caller), or -1 with errno set: the caller then sends the payload inline. */
int     coproc_payload_fd_create (GVariant  *payload,
                                  gsize      size);

/* Payloads smaller than this are copied out of their memfd rather than
 * mapped: mappings are a scarce resource of the process (vm.max_map_count,
 * 65530 by default), and a copy of this much costs about what a mapping
 * does. */
#define COPROC_PAYLOAD_FD_MIN_MAP_SIZE (256 * 1024)

/* The first @size bytes of @fd, after checking that it is a regular file
 * of at least that size with the seals above: mapped read-only, and then
 * *@mapped_size is the size of the mapping (@size rounded up to whole
 * pages), or copied out when @size is under COPROC_PAYLOAD_FD_MIN_MAP_SIZE
 * (*@mapped_size 0). Takes @fd, which is closed whatever happens. Returns
 * bytes that unmap or free themselves when released, or NULL with
 * COPROC_ERROR_PROTOCOL. */
GBytes *coproc_payload_fd_take   (int        fd,
                                  gsize      size,
                                  gsize     *mapped_size,
                                  GError   **error);

/* The memory a mapping of @size bytes takes: whole pages. */
gsize   coproc_payload_fd_mapped_size (gsize size);

G_END_DECLS
