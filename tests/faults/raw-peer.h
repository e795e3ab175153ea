/* raw-peer.h: a peer that writes the protocol by hand, for the fault tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Frames are built with the wire codec (coproc-wire-private.h) and written
 * to a raw socket, with a descriptor when asked; the measures the tests
 * take of the process (memory, mappings, descriptors) are here too.
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

  coproc_wire_write_handshake (handshake, 0);
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

/* One sendmsg() of @data with @fd (or -1) attached to its first byte.
 * Returns what sendmsg() returns; errno is kept. */
static inline gssize
raw_send_once (int           sock,
               const guint8 *data,
               gsize         size,
               int           fd,
               int           flags)
{
  union {
    struct cmsghdr align;
    char           buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct iovec iov = { (gpointer) data, size };
  struct msghdr msg = { 0 };
  gssize n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
    }

  do
    n = sendmsg (sock, &msg, flags | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);

  return n;
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

/* A field of /proc/self/status in kB ("VmRSS", say), as bytes. */
static inline guint64
proc_status_bytes (const char *field)
{
  g_autofree char *status = NULL;
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, key);
  g_assert_nonnull (line);

  return g_ascii_strtoull (line + strlen (key), NULL, 10) * 1024;
}

/* The number of mappings of this process (lines of /proc/self/maps). */
static inline guint
count_mappings (void)
{
  g_autofree char *maps = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  for (const char *p = maps; *p != '\0'; p++)
    n += *p == '\n';

  return n;
}

static inline guint
count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;

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
