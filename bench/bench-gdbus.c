/* bench-gdbus.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * coproc-bench's GDBus peer-to-peer peer: g_dbus_connection_new() over a
 * socket pair; signals for W1 and W3, method calls for W2.
 */

#include "bench-private.h"

#define GDBUS_PATH       "/org/gnome/CoprocBench"
#define GDBUS_IFACE      "org.gnome.CoprocBench"

static const char gdbus_xml[] =
  "<node>"
  "  <interface name='" GDBUS_IFACE "'>"
  "    <method name='Ping'/>"
  "    <method name='Echo'>"
  "      <arg direction='in' type='x'/><arg direction='in' type='s'/>"
  "      <arg direction='out' type='x'/><arg direction='out' type='s'/>"
  "    </method>"
  "    <method name='Flood'><arg direction='in' type='t'/></method>"
  "    <method name='Done'>"
  "      <arg direction='out' type='t'/><arg direction='out' type='t'/>"
  "    </method>"
  "    <signal name='Small'><arg type='x'/><arg type='s'/></signal>"
  "    <signal name='Blob'><arg type='ay'/></signal>"
  "  </interface>"
  "</node>";

static void
gdbus_signal_cb (GDBusConnection *connection,
                 const char      *sender,
                 const char      *path,
                 const char      *iface,
                 const char      *signal_name,
                 GVariant        *params,
                 gpointer         user_data)
{
  ChildState *st = user_data;

  if (g_str_equal (signal_name, "Small"))
    {
      gint64 x;

      if (!small_read (params, &x))
        st->bad = TRUE;
      st->sum += x;
    }
  else
    {
      g_autoptr(GVariant) blob = g_variant_get_child_value (params, 0);

      touch_pages (g_variant_get_data (blob), g_variant_get_size (blob));
      st->sum += g_variant_get_size (blob);
    }
  st->count++;
}

static void
gdbus_method_cb (GDBusConnection       *connection,
                 const char            *sender,
                 const char            *path,
                 const char            *iface,
                 const char            *method,
                 GVariant              *params,
                 GDBusMethodInvocation *invocation,
                 gpointer               user_data)
{
  ChildState *st = user_data;

  if (g_str_equal (method, "Echo"))
    {
      gint64 x = 0;

      if (!small_read (params, &x))
        st->bad = TRUE;
      g_dbus_method_invocation_return_value (invocation, small_new (x));
    }
  else if (g_str_equal (method, "Done"))
    g_dbus_method_invocation_return_value (invocation,
                                           g_variant_new ("(tt)", st->count,
                                                          st->bad ? 0 : st->sum));
  else if (g_str_equal (method, "Flood"))
    {
      guint64 n;

      /* WLOOP: the answer, then n signals as fast as they go. */
      g_variant_get (params, "(t)", &n);
      g_dbus_method_invocation_return_value (invocation, NULL);
      for (guint64 i = 0; i < n; i++)
        {
          if (!g_dbus_connection_emit_signal (connection, NULL, GDBUS_PATH, GDBUS_IFACE, "Small",
                                              small_new (i), NULL))
            st->bad = TRUE;
        }
    }
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static void
quit_loop_cb (gpointer   instance,
              gboolean   remote_peer_vanished,
              GError    *error,
              GMainLoop *loop)
{
  g_main_loop_quit (loop);
}

static int
child_gdbus (Workload    w,
             guint64     n,
             guint64     size,
             const char *extra)
{
  static const GDBusInterfaceVTable vtable = { gdbus_method_cb, NULL, NULL, { 0 } };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GDBusNodeInfo) node = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  ChildState st = { loop, 0, 0, FALSE };

  stream = connection_for_fd (CHILD_FD, &error);
  if (stream == NULL)
    return worker_failed ("socket", error);

  /* Nothing is read before the object is there: a call that came first
   * would fail with UnknownMethod. */
  bus = g_dbus_connection_new_sync (G_IO_STREAM (stream), NULL,
                                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                    G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING,
                                    NULL, NULL, &error);
  if (bus == NULL)
    return worker_failed ("connect", error);

  node = g_dbus_node_info_new_for_xml (gdbus_xml, &error);
  g_assert_no_error (error);
  if (g_dbus_connection_register_object (bus, GDBUS_PATH, node->interfaces[0], &vtable,
                                         &st, NULL, &error) == 0)
    return worker_failed ("register", error);
  g_dbus_connection_signal_subscribe (bus, NULL, GDBUS_IFACE, NULL, GDBUS_PATH, NULL,
                                      G_DBUS_SIGNAL_FLAGS_NONE, gdbus_signal_cb, &st, NULL);
  g_signal_connect (bus, "closed", G_CALLBACK (quit_loop_cb), loop);
  g_dbus_connection_start_message_processing (bus);

  g_main_loop_run (loop);

  return st.bad ? worker_failed ("receive", NULL) : 0;
}

static GVariant *
gdbus_call (GDBusConnection  *bus,
            const char       *method,
            GVariant         *params,
            GError          **error)
{
  return g_dbus_connection_call_sync (bus, NULL, GDBUS_PATH, GDBUS_IFACE, method, params, NULL,
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

static void
loop_signal_cb (GDBusConnection *connection,
                const char      *sender,
                const char      *path,
                const char      *iface,
                const char      *signal_name,
                GVariant        *params,
                gpointer         user_data)
{
  loop_probe_message (user_data, params);
}

static void
loop_closed_cb (GDBusConnection *connection,
                gboolean         remote_peer_vanished,
                GError          *error,
                LoopProbe       *probe)
{
  loop_probe_fail (probe, error != NULL ? g_error_copy (error)
                                        : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED,
                                                               "The peer hung up mid-flood"));
}

/* WLOOP: the child emits the flood as signals, which GDBus delivers to a
 * handler on the main context that runs the probe's timeout. */
static gboolean
run_gdbus_loop (GDBusConnection  *bus,
                guint64           n,
                gdouble          *value,
                GError          **error)
{
  g_autoptr(GVariant) answer = NULL;
  LoopProbe probe;
  guint subscription;
  gulong closed_id;
  gboolean ok = FALSE;

  loop_probe_init (&probe, n);
  subscription = g_dbus_connection_signal_subscribe (bus, NULL, GDBUS_IFACE, "Small", GDBUS_PATH,
                                                     NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                     loop_signal_cb, &probe, NULL);
  closed_id = g_signal_connect (bus, "closed", G_CALLBACK (loop_closed_cb), &probe);

  answer = gdbus_call (bus, "Flood", g_variant_new ("(t)", n), error);
  ok = answer != NULL && loop_probe_run (&probe, value, error);

  g_signal_handler_disconnect (bus, closed_id);
  g_dbus_connection_signal_unsubscribe (bus, subscription);
  loop_probe_clear (&probe);
  return ok;
}

static gboolean
run_gdbus (const BenchCase  *c,
           const Params     *p,
           Workload          w,
           guint64           n,
           gdouble          *value,
           GError          **error)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GSocketConnection) stream = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) pong = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *guid = g_dbus_generate_guid ();
  int fd;
  gint64 t0;
  gboolean ok = FALSE;

  child = spawn_connected_child ("gdbus", w, n, 0, &fd, error);
  if (child == NULL)
    return FALSE;

  stream = connection_for_fd (fd, error);
  if (stream == NULL)
    goto out;
  bus = g_dbus_connection_new_sync (G_IO_STREAM (stream), guid,
                                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER,
                                    NULL, NULL, error);
  if (bus == NULL)
    goto out;

  pong = gdbus_call (bus, "Ping", NULL, error);
  if (pong == NULL)
    goto out;

  if (w == WLOOP)
    {
      ok = run_gdbus_loop (bus, n, value, error);
      goto out;
    }

  t0 = now_ns ();

  switch (w)
    {
    case W1:
      for (guint64 i = 0; i < n; i++)
        {
          if (!g_dbus_connection_emit_signal (bus, NULL, GDBUS_PATH, GDBUS_IFACE, "Small",
                                              small_new (i), error))
            goto out;
        }
      reply = gdbus_call (bus, "Done", NULL, error);
      if (!check_totals (reply, n, series_sum (n), error))
        goto out;
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) echo = gdbus_call (bus, "Echo", small_new (i), error);

          if (!check_echo (echo, i, error))
            goto out;
        }
      break;

    case W3:
      {
        g_autoptr(GVariant) payload =
          large_payload_new ();

        for (guint64 i = 0; i < n; i++)
          {
            if (!g_dbus_connection_emit_signal (bus, NULL, GDBUS_PATH, GDBUS_IFACE, "Blob",
                                                g_variant_new_tuple (&payload, 1), error))
              goto out;
          }
        reply = gdbus_call (bus, "Done", NULL, error);
        if (!check_totals (reply, n, n * p->w3_size, error))
          goto out;
      }
      break;

    case W4:
    case WMEM:
    case WLOOP:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  *value = result_of (w, n, p->w3_size, now_ns () - t0);
  ok = TRUE;

out:
  if (bus != NULL)
    g_dbus_connection_close_sync (bus, NULL, NULL);
  else if (stream != NULL)
    g_io_stream_close (G_IO_STREAM (stream), NULL, NULL);
  return child_finish (child, ok, error);
}

static const BenchCase gdbus_cases[] = {
  { "gdbus", "GDBus peer-to-peer", run_gdbus, BIT (W1) | BIT (W2) | BIT (W3) | BIT (WLOOP),
    { 0.1, 0.5, 0.25, 0, 0, 0 }, NULL, NULL },
};

const BenchPeer bench_peer_gdbus = {
  "gdbus", NULL, child_gdbus, gdbus_cases, G_N_ELEMENTS (gdbus_cases),
};
