/* raw-peer.h: a peer that writes the protocol by hand, for the fault tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Frames are built with the wire codec (coproc-wire-private.h) and written
 * to a raw socket, with a descriptor when asked; the measures the tests
 * take of the process that the other tests do not (mappings, threads
 * asleep) are here too, beside those of coproc-test-util.h.
 */

#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
# include <valgrind/valgrind.h>
#else
# define RUNNING_ON_VALGRIND 0
#endif

#include "coproc-wire-private.h"

#include "coproc-test-util.h"

/* Under AddressSanitizer, freed memory waits in quarantine: resident
 * memory says little there. */
#if defined (__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#elif defined (__has_feature)
# if __has_feature (address_sanitizer)
#  define UNDER_ASAN 1
# endif
#endif
#ifndef UNDER_ASAN
# define UNDER_ASAN 0
#endif

G_BEGIN_DECLS

static inline void
raw_append_handshake (GByteArray *out)
{
  guint8 handshake[COPROC_WIRE_HANDSHAKE_SIZE];

  coproc_wire_write_handshake (handshake, 0, 0);
  g_byte_array_append (out, handshake, sizeof handshake);
}

/* A frame of @kind (@channel_id and @payload may be NULL; floating
 * references are sunk). With @payload_fd the header announces the payload
 * in a descriptor, and the stream carries no payload bytes. */
static inline void
raw_append_frame (GByteArray     *out,
                  CoprocWireKind  kind,
                  GVariant       *channel_id,
                  GVariant       *payload,
                  gboolean        payload_fd)
{
  g_autoptr(GVariant) channel = channel_id ? g_variant_ref_sink (channel_id) : NULL;
  g_autoptr(GVariant) owned = payload ? g_variant_ref_sink (payload) : NULL;
  CoprocWireHeader header = { 0 };
  guint8 *frame;
  gsize body;

  header.kind = kind;
  header.payload_size = owned ? coproc_wire_variant_size (owned) : 0;
  header.channel_size = channel ? coproc_wire_variant_size (channel) : 0;
  header.priority = kind == COPROC_WIRE_KIND_ERROR || kind == COPROC_WIRE_KIND_CLOSE ? -INFINITY
                                                                                     : INFINITY;
  if (payload_fd)
    {
      header.flags = COPROC_WIRE_FLAG_PAYLOAD_FD;
      header.n_fds = 1;
    }

  frame = g_malloc0 (coproc_wire_frame_size (&header));
  coproc_wire_write_header (frame, &header);
  body = COPROC_WIRE_HEADER_SIZE;
  if (channel != NULL)
    {
      coproc_wire_store_variant (channel, frame + body);
      body += coproc_wire_pad8 (header.channel_size);
    }
  if (owned != NULL && !payload_fd)
    coproc_wire_store_variant (owned, frame + body);
  g_byte_array_append (out, frame, coproc_wire_frame_size (&header));
  g_free (frame);
}

/* A sealed memory file holding the encoding of @payload (sunk), as a
 * sender passes it. */
static inline int
raw_sealed_memfd (GVariant *payload)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (payload);
  gsize size = coproc_wire_variant_size (owned);
  g_autofree guint8 *data = g_malloc0 (size);
  int fd = memfd_create ("coproc-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

  g_assert_cmpint (fd, >=, 0);
  coproc_wire_store_variant (owned, data);
  g_assert_cmpint (write (fd, data, size), ==, (gssize) size);
  g_assert_cmpint (fcntl (fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW), ==, 0);

  return fd;
}

/* The number of mappings of this process that map a memfd (lines of
 * /proc/self/maps naming one): payloads passed in memfds. Other mappings
 * come and go with the allocator, and under the sanitizers with theirs. */
static inline guint
count_mappings (void)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    n += strstr (lines[i], "/memfd:") != NULL;

  return n;
}

/* Whether thread @tid of this process sleeps in poll(): blocked, waiting
 * for its descriptors (a thread that polls in a loop never sleeps). */
static inline gboolean
thread_sleeps_in_poll (pid_t tid)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/syscall", (int) tid);
  g_autofree char *contents = NULL;
  guint64 number;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;

  if (!g_ascii_isdigit (contents[0]))
    return FALSE;
  number = g_ascii_strtoull (contents, NULL, 10);

  return number == 7 /* poll */ || number == 271 /* ppoll */;
}

G_END_DECLS
