/* bench-jsonrpc.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * coproc-bench's jsonrpc-glib peer: notifications for W1, calls for W2.
 * Compiled only when jsonrpc-glib is found.
 */

#include <jsonrpc-glib.h>

#include "bench-private.h"

static GVariant *
unbox (GVariant *value)
{
  while (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (value);

      g_variant_unref (value);
      value = inner;
    }
  return value;
}

/* JSON arrays arrive as "av": reads [int, int-or-string]. */
static gboolean
json_pair_read (GVariant    *value,
                gint64      *first,
                gint64      *second,
                const char **text)
{
  g_autoptr(GVariant) a = NULL;
  g_autoptr(GVariant) b = NULL;

  if (value == NULL || !g_variant_is_container (value) || g_variant_n_children (value) != 2)
    return FALSE;

  a = unbox (g_variant_get_child_value (value, 0));
  b = unbox (g_variant_get_child_value (value, 1));
  if (!g_variant_is_of_type (a, G_VARIANT_TYPE_INT64))
    return FALSE;
  *first = g_variant_get_int64 (a);

  if (text != NULL)
    {
      if (!g_variant_is_of_type (b, G_VARIANT_TYPE_STRING))
        return FALSE;
      *text = g_intern_string (g_variant_get_string (b, NULL));
      return strlen (*text) == SMALL_TEXT_LEN;
    }

  if (!g_variant_is_of_type (b, G_VARIANT_TYPE_INT64))
    return FALSE;
  *second = g_variant_get_int64 (b);
  return TRUE;
}

static void
jsonrpc_notification_cb (JsonrpcServer *server,
                         JsonrpcClient *client,
                         const char    *method,
                         GVariant      *params,
                         ChildState    *st)
{
  gint64 x;
  const char *text;

  if (!json_pair_read (params, &x, NULL, &text))
    st->bad = TRUE;
  st->count++;
  st->sum += x;
}

static gboolean
jsonrpc_call_cb (JsonrpcServer *server,
                 JsonrpcClient *client,
                 const char    *method,
                 GVariant      *id,
                 GVariant      *params,
                 ChildState    *st)
{
  GVariant *reply;

  if (g_str_equal (method, "echo"))
    {
      gint64 x = 0;
      const char *text;

      if (!json_pair_read (params, &x, NULL, &text))
        st->bad = TRUE;
      reply = small_new (x);
    }
  else if (g_str_equal (method, "done"))
    reply = g_variant_new ("(xx)", (gint64) st->count, (gint64) (st->bad ? 0 : st->sum));
  else
    reply = g_variant_new_boolean (TRUE);

  jsonrpc_client_reply (client, id, reply, NULL, NULL);
  return TRUE;
}

static void
jsonrpc_closed_cb (JsonrpcServer *server,
                   JsonrpcClient *client,
                   ChildState    *st)
{
  g_main_loop_quit (st->loop);
}

static int
child_jsonrpc (Workload    w,
               guint64     n,
               guint64     size,
               const char *extra)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(JsonrpcServer) server = jsonrpc_server_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  ChildState st = { loop, 0, 0, FALSE };

  stream = connection_for_fd (CHILD_FD, &error);
  if (stream == NULL)
    return worker_failed ("socket", error);

  g_signal_connect (server, "notification", G_CALLBACK (jsonrpc_notification_cb), &st);
  g_signal_connect (server, "handle-call", G_CALLBACK (jsonrpc_call_cb), &st);
  g_signal_connect (server, "client-closed", G_CALLBACK (jsonrpc_closed_cb), &st);
  jsonrpc_server_accept_io_stream (server, G_IO_STREAM (stream));

  g_main_loop_run (loop);

  return st.bad ? worker_failed ("receive", NULL) : 0;
}

static gboolean
run_jsonrpc (const BenchCase  *c,
             const Params     *p,
             Workload          w,
             guint64           n,
             gdouble          *value,
             GError          **error)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(JsonrpcClient) client = NULL;
  g_autoptr(GVariant) pong = NULL;
  int fd;
  gint64 t0;
  gboolean ok = FALSE;

  child = spawn_connected_child ("jsonrpc", w, n, 0, &fd, error);
  if (child == NULL)
    return FALSE;

  stream = connection_for_fd (fd, error);
  if (stream == NULL)
    goto out;
  client = jsonrpc_client_new (G_IO_STREAM (stream));

  if (!jsonrpc_client_call (client, "ping", NULL, NULL, &pong, error))
    goto out;

  t0 = now_ns ();

  switch (w)
    {
    case W1:
      {
        g_autoptr(GVariant) reply = NULL;
        gint64 count = 0;
        gint64 sum = 0;

        for (guint64 i = 0; i < n; i++)
          {
            if (!jsonrpc_client_send_notification (client, "small", small_new (i), NULL, error))
              goto out;
          }
        if (!jsonrpc_client_call (client, "done", NULL, NULL, &reply, error))
          goto out;
        if (!json_pair_read (reply, &count, &sum, NULL) ||
            (guint64) count != n || (guint64) sum != series_sum (n))
          {
            g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad totals");
            goto out;
          }
      }
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) echo = NULL;
          const char *text;
          gint64 x;

          if (!jsonrpc_client_call (client, "echo", small_new (i), NULL, &echo, error))
            goto out;
          if (!json_pair_read (echo, &x, NULL, &text) || x != (gint64) i)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad echo");
              goto out;
            }
        }
      break;

    case W3:
    case W4:
    case WMEM:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  *value = result_of (w, n, p->w3_size, now_ns () - t0);
  ok = TRUE;

out:
  if (client != NULL)
    jsonrpc_client_close (client, NULL, NULL);
  else if (stream != NULL)
    g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
  return child_finish (child, ok, error);
}

static const BenchCase jsonrpc_cases[] = {
  { "jsonrpc", "jsonrpc-glib", run_jsonrpc, BIT (W1) | BIT (W2), { 0.05, 0.5, 0, 0, 0 }, NULL },
};

const BenchPeer bench_peer_jsonrpc = {
  "jsonrpc", NULL, child_jsonrpc, jsonrpc_cases, G_N_ELEMENTS (jsonrpc_cases),
};
