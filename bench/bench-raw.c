/* bench-raw.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * coproc-bench's raw bytes peer: the same number of bytes in large writes
 * and reads, with no framing at all.
 */

#include <unistd.h>

#include "bench-private.h"

static gsize
small_frame_size (void)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (small_new (0));

  return 8 + pad8 (g_variant_get_size (v));
}

static gboolean
run_raw (const BenchCase  *c,
         const Params     *p,
         Workload          w,
         guint64           n,
         gdouble          *value,
         GError          **error)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autofree guint8 *buf = NULL;
  g_autoptr(GPtrArray) fresh = NULL;
  gsize frame = small_frame_size ();
  guint64 size = w == W3 ? p->w3_size : frame;
  int fd;
  guint8 ready;
  gint64 t0;
  gboolean ok = FALSE;

  /* A payload of its own for every message, written before the clock
   * starts, as most ways of making W3's payloads leave them. */
  if (c->data != NULL && w == W3)
    {
      fresh = g_ptr_array_new_full (n, g_free);
      for (guint64 i = 0; i < n; i++)
        g_ptr_array_add (fresh, g_memdup2 (g_bytes_get_data (large_blob, NULL), size));
    }

  child = spawn_connected_child ("raw", w, n, size, &fd, error);
  if (child == NULL)
    return FALSE;

  buf = g_malloc0 (BATCH_SIZE);

  if (!read_all (fd, &ready, 1, error))
    goto out;

  t0 = now_ns ();

  switch (w)
    {
    case W1:
    case W3:
      {
        const guint8 *data = w == W3 ? g_bytes_get_data (large_blob, NULL) : buf;
        gsize chunk = w == W3 ? p->w3_size : BATCH_SIZE;
        guint64 total = n * size;
        guint64 done;

        for (guint64 i = 0, sent = 0; sent < total; i++, sent += chunk)
          {
            if (fresh != NULL)
              data = g_ptr_array_index (fresh, i);
            if (!write_all (fd, data, MIN (chunk, total - sent), error))
              goto out;
          }
        if (!read_all (fd, &done, sizeof done, error))
          goto out;
        if (done != total)
          {
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Short transfer");
            goto out;
          }
      }
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          if (!write_all (fd, buf, frame, error) || !read_all (fd, buf, frame, error))
            goto out;
        }
      break;

    case W4:
    case WMEM:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  *value = result_of (w, n, p->w3_size, now_ns () - t0);
  ok = TRUE;

out:
  close (fd);
  return child_finish (child, ok, error);
}

static int
child_raw (Workload    w,
           guint64     n,
           guint64     size,
           const char *extra)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *buf = NULL;
  gsize buf_size = w == W3 ? size : 4 * BATCH_SIZE;
  guint8 ready = 1;

  buf = g_malloc (buf_size);
  if (!write_all (CHILD_FD, &ready, 1, &error))
    return worker_failed ("ready", error);

  if (w == W2)
    {
      for (guint64 i = 0; i < n; i++)
        {
          if (!read_all (CHILD_FD, buf, size, &error) || !write_all (CHILD_FD, buf, size, &error))
            return worker_failed ("echo", error);
        }
    }
  else
    {
      guint64 total = n * size;
      guint64 got = 0;

      while (got < total)
        {
          gsize len;

          if (!read_some (CHILD_FD, buf, MIN (buf_size, total - got), &len, &error))
            return worker_failed ("receive", error);
          touch_pages (buf, len);
          got += len;
        }
      if (!write_all (CHILD_FD, &got, sizeof got, &error))
        return worker_failed ("reply", error);
    }

  return 0;
}

/* The first row writes W3's one buffer again and again, which the caches
 * favour; the second writes a buffer of its own per payload, as the W3
 * rows that send a copy of their own per message (a fixed array, Python,
 * GJS) must: the memory's bandwidth, not the socket's, then sets the limit. */
static const gboolean fresh_buffers = TRUE;

static const BenchCase raw_cases[] = {
  { "raw", "raw bytes", run_raw, BIT (W1) | BIT (W2) | BIT (W3), { 0 }, NULL, NULL },
  { "raw-fresh", "raw bytes, a buffer per payload", run_raw, BIT (W3),
    { 0, 0, W3_FORMS_SCALE, 0, 0, 0 }, NULL, &fresh_buffers },
};

const BenchPeer bench_peer_raw = {
  "raw", NULL, child_raw, raw_cases, G_N_ELEMENTS (raw_cases),
};
