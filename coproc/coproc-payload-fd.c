/* coproc-payload-fd.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Payloads in sealed memory files: see coproc-payload-fd-private.h.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coproc-error.h"
#include "coproc-payload-fd-private.h"
#include "coproc-wire-private.h"

#define PAYLOAD_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

typedef struct
{
  gpointer data;
  gsize    size;
} Mapping;

static void
mapping_free (gpointer user_data)
{
  Mapping *m = user_data;

  munmap (m->data, m->size);
  g_free (m);
}

/* Maps a payload passed in a memfd, read-only, without copying it. The
 * peer must have sealed it, so it cannot change under us. */
GBytes *
coproc_payload_fd_map (int      fd,
                       gsize    size,
                       GError **error)
{
  struct stat st;
  int seals;
  Mapping *m;

  seals = fcntl (fd, F_GET_SEALS);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size < size ||
      seals < 0 || (seals & PAYLOAD_SEALS) != PAYLOAD_SEALS)
    {
      close (fd);
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "Received a message whose payload is not in a sealed memory file");
      return NULL;
    }

  m = g_new (Mapping, 1);
  m->size = size;
  /* Populated at once: one call instead of a page fault per page. */
  m->data = mmap (NULL, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
  close (fd);

  if (m->data == MAP_FAILED)
    {
      int errsv = errno;

      g_free (m);
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                   "Could not map a received payload: %s", g_strerror (errsv));
      return NULL;
    }

  return g_bytes_new_with_free_func (m->data, size, mapping_free, m);
}

static gboolean
write_all_fd (int          fd,
              const void  *data,
              gsize        len)
{
  const guint8 *p = data;

  while (len > 0)
    {
      gssize n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      len -= n;
    }

  return TRUE;
}

int
coproc_payload_fd_create (GVariant *payload,
                          gsize     size)
{
  int fd;

  fd = memfd_create ("coproc-message", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -1;

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  {
    const char *type_string = g_variant_get_type_string (payload);

    /* The encoding of coproc_wire_store_variant(), written rather than
     * copied into a mapping: write() fills the file's pages without
     * zeroing them first or faulting them in one at a time (twice as fast
     * for large payloads). */
    if (!write_all_fd (fd, g_variant_get_data (payload), g_variant_get_size (payload)) ||
        !write_all_fd (fd, "", 1) ||
        !write_all_fd (fd, type_string, strlen (type_string)))
      goto fail;
  }
#else
  {
    gpointer data;

    if (ftruncate (fd, size) != 0)
      goto fail;

    data = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED)
      goto fail;
    coproc_wire_store_variant (payload, data);
    munmap (data, size);
  }
#endif

  if (fcntl (fd, F_ADD_SEALS, PAYLOAD_SEALS | F_SEAL_SEAL) != 0)
    goto fail;

  return fd;

fail:
  {
    int errsv = errno;

    close (fd);
    errno = errsv;
    return -1;
  }
}
