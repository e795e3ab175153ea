/* bench-zmq.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * coproc-bench's ZeroMQ peer: a PAIR socket over ipc://, one zmq message
 * per payload, the same GVariant serialization. Compiled only when libzmq
 * is found.
 */

#include <errno.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zmq.h>

#include "bench-private.h"

static gboolean
zmq_failed (const char  *what,
            GError     **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, zmq_strerror (zmq_errno ()));
  return FALSE;
}

static gboolean
zmq_send_all (void        *sock,
              const void  *data,
              gsize        len,
              GError     **error)
{
  while (zmq_send (sock, data, len, 0) < 0)
    {
      if (zmq_errno () != EINTR)
        return zmq_failed ("zmq_send", error);
    }
  return TRUE;
}

static gboolean
zmq_send_variant (void      *sock,
                  GVariant  *value,
                  GError   **error)
{
  guint64 buf[16];
  gsize size = g_variant_get_size (value);

  if (size > sizeof buf)
    return zmq_send_all (sock, g_variant_get_data (value), size, error);

  g_variant_store (value, buf);
  return zmq_send_all (sock, buf, size, error);
}

/* Receives a small message into @buf (128 bytes, aligned) and returns a
 * variant over it, valid while @buf is. */
static GVariant *
zmq_recv_small (void                *sock,
                const GVariantType  *type,
                guint64             *buf,
                GError             **error)
{
  int n;

  while ((n = zmq_recv (sock, buf, 128, 0)) < 0)
    {
      if (zmq_errno () != EINTR)
        {
          zmq_failed ("zmq_recv", error);
          return NULL;
        }
    }
  if (n > 128)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Message too large");
      return NULL;
    }

  return g_variant_ref_sink (g_variant_new_from_data (type, buf, n, FALSE, NULL, NULL));
}

/* Receives a large message and returns the size of the byte array in it. */
static gboolean
zmq_recv_large (void     *sock,
                guint64  *size,
                GError  **error)
{
  g_autoptr(GVariant) view = NULL;
  zmq_msg_t msg;

  zmq_msg_init (&msg);
  while (zmq_msg_recv (&msg, sock, 0) < 0)
    {
      if (zmq_errno () != EINTR)
        {
          zmq_msg_close (&msg);
          return zmq_failed ("zmq_msg_recv", error);
        }
    }

  view = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, zmq_msg_data (&msg),
                                                      zmq_msg_size (&msg), FALSE, NULL, NULL));
  *size = g_variant_get_size (view);
  touch_pages (g_variant_get_data (view), *size);
  g_clear_pointer (&view, g_variant_unref);
  zmq_msg_close (&msg);

  return TRUE;
}

static int
child_zmq (Workload    w,
           guint64     n,
           guint64     size,
           const char *endpoint)
{
  g_autoptr(GError) error = NULL;
  void *ctx;
  void *sock;
  guint8 ready = 1;
  guint64 count = 0;
  guint64 sum = 0;
  int ret = 0;

  if (endpoint == NULL)
    return 2;

  ctx = zmq_ctx_new ();
  sock = zmq_socket (ctx, ZMQ_PAIR);
  if (zmq_connect (sock, endpoint) != 0)
    {
      zmq_failed ("zmq_connect", &error);
      return worker_failed ("connect", error);
    }
  if (!zmq_send_all (sock, &ready, 1, &error))
    return worker_failed ("ready", error);

  for (count = 0; count < n; count++)
    {
      g_autoptr(GVariant) v = NULL;
      guint64 buf[16];
      guint64 size_read;
      gint64 x;

      if (w == W3)
        {
          if (!zmq_recv_large (sock, &size_read, &error))
            return worker_failed ("receive", error);
          sum += size_read;
          continue;
        }

      v = zmq_recv_small (sock, G_VARIANT_TYPE ("(xs)"), buf, &error);
      if (v == NULL)
        return worker_failed ("receive", error);

      if (!small_read (v, &x))
        return worker_failed ("receive", NULL);
      else if (w == W2)
        {
          g_autoptr(GVariant) echo = g_variant_ref_sink (small_new (x));

          if (!zmq_send_variant (sock, echo, &error))
            return worker_failed ("reply", error);
        }
      else
        sum += x;
    }

  if (w != W2)
    {
      g_autoptr(GVariant) reply = g_variant_ref_sink (g_variant_new ("(tt)", count, sum));

      if (!zmq_send_variant (sock, reply, &error))
        ret = worker_failed ("reply", error);
    }

  zmq_close (sock);
  zmq_ctx_term (ctx);
  return ret;
}

static gboolean
run_zmq (const BenchCase  *c,
         const Params     *p,
         Workload          w,
         guint64           n,
         gdouble          *value,
         GError          **error)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *path = NULL;
  g_autofree char *endpoint = NULL;
  void *ctx = zmq_ctx_new ();
  void *sock = zmq_socket (ctx, ZMQ_PAIR);
  guint8 ready;
  gint64 t0;
  gboolean ok = FALSE;

  path = g_strdup_printf ("%s/coproc-bench-%d.ipc", g_get_tmp_dir (), (int) getpid ());
  endpoint = g_strconcat ("ipc://", path, NULL);
  if (zmq_bind (sock, endpoint) != 0)
    {
      zmq_failed ("zmq_bind", error);
      goto out;
    }

  child = spawn_child ("zmq", w, n, 0, -1, endpoint, error);
  if (child == NULL)
    goto out;

  if (zmq_recv (sock, &ready, 1, 0) != 1)
    {
      zmq_failed ("zmq_recv", error);
      goto out;
    }

  t0 = now_ns ();

  switch (w)
    {
    case W1:
    case W3:
      {
        g_autoptr(GVariant) payload = NULL;
        g_autoptr(GVariant) reply = NULL;
        guint64 buf[16];

        if (w == W3)
          payload = large_payload_new ();
        for (guint64 i = 0; i < n; i++)
          {
            g_autoptr(GVariant) v = w == W3 ? g_variant_ref (payload) : g_variant_ref_sink (small_new (i));

            if (!zmq_send_variant (sock, v, error))
              goto out;
          }
        reply = zmq_recv_small (sock, G_VARIANT_TYPE ("(tt)"), buf, error);
        if (!check_totals (reply, n, w == W3 ? n * p->w3_size : series_sum (n), error))
          goto out;
      }
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = g_variant_ref_sink (small_new (i));
          g_autoptr(GVariant) echo = NULL;
          guint64 buf[16];

          if (!zmq_send_variant (sock, v, error))
            goto out;
          echo = zmq_recv_small (sock, G_VARIANT_TYPE ("(xs)"), buf, error);
          if (!check_echo (echo, i, error))
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
  zmq_close (sock);
  zmq_ctx_term (ctx);
  g_unlink (path);
  return child != NULL ? child_finish (child, ok, error) : ok;
}

static const BenchCase zmq_cases[] = {
  { "zmq", "ZeroMQ PAIR ipc://", run_zmq, BIT (W1) | BIT (W2) | BIT (W3), { 0 }, NULL },
};

const BenchPeer bench_peer_zmq = {
  "zmq", NULL, child_zmq, zmq_cases, G_N_ELEMENTS (zmq_cases),
};
