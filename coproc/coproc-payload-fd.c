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

/* Copies a small payload out of its memfd: a mapping per message would
 * let a peer use up the process's mappings (vm.max_map_count) with tiny
 * ones, and for them a copy costs no more than a mapping. */
static GBytes *
copy_out (int      fd,
          gsize    size,
          GError **error)
{
  guint8 *data = g_malloc (size);
  gsize done = 0;

  while (done < size)
    {
      gssize n = pread (fd, data + done, size - done, done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int errsv = n < 0 ? errno : EIO;

          g_free (data);
          g_set_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                       "Could not read a received payload: %s", g_strerror (errsv));
          return NULL;
        }
      done += n;
    }

  return g_bytes_new_take (data, size);
}

/* Maps a payload passed in a memfd, read-only, without copying it (or
 * copies a small one). The peer must have sealed it, so it cannot change
 * under us. */
GBytes *
coproc_payload_fd_take (int      fd,
                        gsize    size,
                        gsize   *mapped_size,
                        GError **error)
{
  struct stat st;
  int seals;
  Mapping *m;

  *mapped_size = 0;

  seals = fcntl (fd, F_GET_SEALS);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || (guint64) st.st_size < size ||
      seals < 0 || (seals & PAYLOAD_SEALS) != PAYLOAD_SEALS)
    {
      close (fd);
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "Received a message whose payload is not in a sealed memory file");
      return NULL;
    }

  if (size < COPROC_PAYLOAD_FD_MIN_MAP_SIZE)
    {
      GBytes *bytes = copy_out (fd, size, error);

      close (fd);
      return bytes;
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

  *mapped_size = coproc_payload_fd_mapped_size (size);
  return g_bytes_new_with_free_func (m->data, size, mapping_free, m);
}

gsize
coproc_payload_fd_mapped_size (gsize size)
{
  gsize page_size = sysconf (_SC_PAGESIZE);

  return (size + page_size - 1) / page_size * page_size;
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
