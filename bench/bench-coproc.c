/* bench-coproc.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * coproc-bench's coproc peer: the host sends through a
 * CoprocWorkerResource's messenger to a function worker of this program.
 */

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench-private.h"

static guint64
env_u64 (const char *name)
{
  const char *value = g_getenv (name);

  return value ? g_ascii_strtoull (value, NULL, 10) : 0;
}

static GVariant *
ctl_channel (void)
{
  return g_variant_new_string ("ctl");
}

static int
coproc_worker_w1 (CoprocMessenger *messenger,
                  gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  guint64 n = env_u64 ("COPROC_BENCH_N");
  guint64 count = 0;
  guint64 sum = 0;

  gboolean each = env_u64 ("COPROC_BENCH_EACH") != 0;

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), NULL, &error))
    return worker_failed ("ready", error);

  while (count < n && each)
    {
      g_autoptr(GVariant) value = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      gint64 x;

      if (value == NULL || !small_read (value, &x))
        return worker_failed ("receive", error);
      count++;
      sum += x;
    }

  /* A stream is best consumed a batch at a time: everything that has
   * arrived, with one look at the socket. */
  while (count < n && !each)
    {
      g_autoptr(GPtrArray) batch = NULL;

      if (!coproc_messenger_await_available (messenger, NULL, &error))
        return worker_failed ("receive", error);
      batch = coproc_messenger_receive_available (messenger, NULL, &error);
      if (batch == NULL)
        return worker_failed ("receive", error);

      for (guint i = 0; i < batch->len; i++)
        {
          gint64 x;

          if (!small_read (g_ptr_array_index (batch, i), &x))
            return worker_failed ("receive", NULL);
          count++;
          sum += x;
        }
    }

  if (!coproc_messenger_send_norequest (messenger, g_variant_new ("(tt)", count, sum), NULL, &error))
    return worker_failed ("reply", error);

  return 0;
}

static int
coproc_worker_w2 (CoprocMessenger *messenger,
                  gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  guint64 n = env_u64 ("COPROC_BENCH_N");

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), NULL, &error))
    return worker_failed ("ready", error);

  for (guint64 i = 0; i < n; i++)
    {
      g_autoptr(GVariant) value = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      gint64 x;

      if (value == NULL || !small_read (value, &x))
        return worker_failed ("receive", error);
      if (!coproc_messenger_send_reply (messenger, small_new (x), NULL, &error))
        return worker_failed ("reply", error);
    }

  return 0;
}

static int
coproc_worker_w3 (CoprocMessenger *messenger,
                  gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  guint64 n = env_u64 ("COPROC_BENCH_N");
  guint64 total = 0;

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), NULL, &error))
    return worker_failed ("ready", error);

  for (guint64 i = 0; i < n; i++)
    {
      g_autoptr(GVariant) value = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);

      if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BYTESTRING))
        return worker_failed ("receive", error);
      touch_pages (g_variant_get_data (value), g_variant_get_size (value));
      total += g_variant_get_size (value);
    }

  if (!coproc_messenger_send_norequest (messenger, g_variant_new ("(tt)", n, total), NULL, &error))
    return worker_failed ("reply", error);

  return 0;
}

static int
coproc_worker_w4 (CoprocMessenger *messenger,
                  gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) end = NULL;
  guint channels = env_u64 ("COPROC_BENCH_SIZE");
  W4Check check = { 0, 0, TRUE };

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), NULL, &error))
    return worker_failed ("ready", error);

  /* Everything before the end marker is queued by now. */
  end = coproc_messenger_receive_blocking (messenger, ctl_channel (), NULL, &error);
  if (end == NULL)
    return worker_failed ("receive", error);

  for (guint c = 0; c < channels; c++)
    {
      g_autoptr(GPtrArray) payloads = NULL;
      gint64 last = G_MININT64;

      payloads = coproc_messenger_receive_available (messenger, g_variant_new_uint32 (c), &error);
      if (payloads == NULL)
        return worker_failed ("receive", error);

      for (guint i = 0; i < payloads->len; i++)
        {
          gint64 x;

          if (!small_read (g_ptr_array_index (payloads, i), &x))
            return worker_failed ("receive", NULL);
          w4_check_one (&check, x, &last);
        }
    }

  if (!check.ordered)
    return worker_failed ("order", NULL);

  if (!coproc_messenger_send_norequest (messenger, g_variant_new ("(tt)", check.count, check.sum),
                                        NULL, &error))
    return worker_failed ("reply", error);

  return 0;
}

/* Says ready, waits for the host's go, then sends n small messages as
 * fast as they go; 0 or the worker's failure status. */
static int
worker_flood (CoprocMessenger *messenger,
              guint64          n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) go = NULL;

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), NULL, &error))
    return worker_failed ("ready", error);

  go = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (go == NULL)
    return worker_failed ("receive", error);

  for (guint64 i = 0; i < n; i++)
    {
      if (!coproc_messenger_send_norequest (messenger, small_new (i), NULL, &error))
        return worker_failed ("send", error);
    }

  return 0;
}

/* mem: the flood, then a message on the ctl channel that says it is over. */
static int
coproc_worker_mem (CoprocMessenger *messenger,
                   gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  int status = worker_flood (messenger, env_u64 ("COPROC_BENCH_N"));

  if (status != 0)
    return status;

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), ctl_channel (),
                                        &error))
    return worker_failed ("send", error);

  return 0;
}

/* WLOOP: the flood alone; the host counts it. */
static int
coproc_worker_loop (CoprocMessenger *messenger,
                    gpointer         user_data)
{
  return worker_flood (messenger, env_u64 ("COPROC_BENCH_N"));
}

static const char * const coproc_worker_names[N_WORKLOADS] = {
  "bench-w1", "bench-w2", "bench-w3", "bench-w4", "bench-mem", "bench-loop",
};

static const CoprocWorkerFunc coproc_worker_funcs[N_WORKLOADS] = {
  coproc_worker_w1, coproc_worker_w2, coproc_worker_w3, coproc_worker_w4, coproc_worker_mem,
  coproc_worker_loop,
};

GParamSpec *
large_threshold_pspec (void)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (COPROC_TYPE_PRIORITY_MESSENGER);

  return g_object_class_find_property (G_OBJECT_CLASS (klass), LARGE_THRESHOLD_PROPERTY);
}

/* Sends every payload through the socket, whatever its size. */
static void
disable_fd_passing (CoprocMessenger *messenger)
{
  GParamSpec *pspec = large_threshold_pspec ();
  GValue value = G_VALUE_INIT;

  if (pspec == NULL)
    return;

  g_value_init (&value, pspec->value_type);
  if (G_IS_PARAM_SPEC_UINT (pspec))
    g_value_set_uint (&value, G_PARAM_SPEC_UINT (pspec)->maximum);
  else if (G_IS_PARAM_SPEC_UINT64 (pspec))
    g_value_set_uint64 (&value, G_PARAM_SPEC_UINT64 (pspec)->maximum);
  else if (G_IS_PARAM_SPEC_INT64 (pspec))
    g_value_set_int64 (&value, G_PARAM_SPEC_INT64 (pspec)->maximum);
  else if (G_IS_PARAM_SPEC_INT (pspec))
    g_value_set_int (&value, G_PARAM_SPEC_INT (pspec)->maximum);
  else
    {
      g_value_unset (&value);
      return;
    }

  g_object_set_property (G_OBJECT (messenger), LARGE_THRESHOLD_PROPERTY, &value);
  g_value_unset (&value);
}

static CoprocWorkerResource *
coproc_start (Workload   w,
              guint64    n,
              guint64    size,
              gboolean   each,
              GError   **error)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) ready = NULL;
  char str[32];

  worker = coproc_worker_resource_new_for_function (coproc_worker_names[w],
                                                    COPROC_TYPE_PRIORITY_MESSENGER);
  g_snprintf (str, sizeof str, "%" G_GUINT64_FORMAT, n);
  coproc_worker_resource_setenv (worker, "COPROC_BENCH_N", str);
  g_snprintf (str, sizeof str, "%" G_GUINT64_FORMAT, size);
  coproc_worker_resource_setenv (worker, "COPROC_BENCH_SIZE", str);
  coproc_worker_resource_setenv (worker, "COPROC_BENCH_EACH", each ? "1" : "0");

  if (!coproc_worker_resource_start (worker, error))
    return NULL;

  ready = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                             NULL, NULL, error);
  if (ready == NULL)
    return NULL;

  return g_steal_pointer (&worker);
}

/* Payloads as users build them ------------------------------------------- */

/* The ways a payload is made, each measured in its own row. A small (xs)
 * is made afresh for every message, each way; so is W3's ay, except in the
 * first rows, which send one trusted variant again and again. */
typedef enum
{
  FORM_USUAL,         /* W1, W4: g_variant_new ("(xs)"); W3: one reused trusted variant */
  FORM_FIXED_ARRAY,   /* g_variant_new_fixed_array () (W3; an (xs) has no such form) */
  FORM_FROM_DATA,     /* g_variant_new_from_data (…, trusted = FALSE), e.g. bytes read from elsewhere */
  FORM_FROM_BYTES,    /* g_variant_new_from_bytes (…, trusted = TRUE), as GNOME code makes them */
  FORM_BUILDER,       /* GVariantBuilder, child by child */
} PayloadForm;

/* How a coproc row runs (BenchCase.data). */
typedef struct
{
  gboolean    fd_passing;   /* the default large-message-threshold, not its maximum */
  gboolean    each;         /* W1's worker takes one message per receive_blocking */
  PayloadForm form;
} CoprocWay;

/* The serialized (xs): the int64, then the string and its nul. */
#define SMALL_SERIALIZED_SIZE (8 + SMALL_TEXT_LEN + 1)

static void
small_serialize (gint64  x,
                 guint8 *data)
{
  gint64 le = GINT64_TO_LE (x);

  memcpy (data, &le, sizeof le);
  memcpy (data + sizeof le, SMALL_TEXT, SMALL_TEXT_LEN + 1);
}

/* A small message with @x, made @form's way; floating. */
static GVariant *
small_form_new (PayloadForm form,
                gint64      x)
{
  switch (form)
    {
    case FORM_FROM_DATA:
      {
        guint8 *data = g_malloc (SMALL_SERIALIZED_SIZE);

        small_serialize (x, data);
        return g_variant_new_from_data (G_VARIANT_TYPE ("(xs)"), data, SMALL_SERIALIZED_SIZE,
                                        FALSE, g_free, data);
      }

    case FORM_FROM_BYTES:
      {
        g_autoptr(GBytes) bytes = NULL;
        guint8 data[SMALL_SERIALIZED_SIZE];

        small_serialize (x, data);
        bytes = g_bytes_new (data, sizeof data);
        return g_variant_new_from_bytes (G_VARIANT_TYPE ("(xs)"), bytes, TRUE);
      }

    case FORM_BUILDER:
      {
        GVariantBuilder builder;

        g_variant_builder_init (&builder, G_VARIANT_TYPE ("(xs)"));
        g_variant_builder_add (&builder, "x", x);
        g_variant_builder_add (&builder, "s", SMALL_TEXT);
        return g_variant_builder_end (&builder);
      }

    case FORM_USUAL:
    case FORM_FIXED_ARRAY:
    default:
      return small_new (x);
    }
}

/* W3's @n payloads, made @form's way before the clock starts: what the
 * rows compare is what sending does with them, not what making them costs
 * (a fixed array copies its 16 MiB, a builder takes seconds). Each is a
 * variant of its own, so that nothing learnt about one (GVariant caches
 * that a value is in normal form) helps the next; only FORM_USUAL sends
 * one variant n times. */
static GPtrArray *
large_forms_new (PayloadForm form,
                 guint64     n)
{
  GPtrArray *payloads = g_ptr_array_new_full (n, (GDestroyNotify) g_variant_unref);
  gsize size;
  const guint8 *data = g_bytes_get_data (large_blob, &size);
  g_autoptr(GVariant) usual = large_payload_new ();

  for (guint64 i = 0; i < n; i++)
    {
      GVariant *v;

      switch (form)
        {
        case FORM_FIXED_ARRAY:
          v = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, size, 1);
          break;

        case FORM_FROM_DATA:
          v = g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, FALSE,
                                       (GDestroyNotify) g_bytes_unref, g_bytes_ref (large_blob));
          break;

        case FORM_FROM_BYTES:
          v = g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, large_blob, TRUE);
          break;

        case FORM_BUILDER:
          {
            GVariantBuilder builder;

            g_variant_builder_init (&builder, G_VARIANT_TYPE_BYTESTRING);
            for (gsize j = 0; j < size; j++)
              g_variant_builder_add (&builder, "y", data[j]);
            v = g_variant_builder_end (&builder);
          }
          break;

        case FORM_USUAL:
        default:
          v = usual;   /* not floating: sinking it takes a reference */
          break;
        }

      g_ptr_array_add (payloads, g_variant_ref_sink (v));
    }

  return payloads;
}

static gsize
malloc_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

static gboolean
run_coproc_common (const Params     *p,
                   const CoprocWay  *way,
                   Workload          w,
                   guint64           n,
                   gdouble          *value,
                   GError          **error)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) reply = NULL;
  CoprocMessenger *m;
  guint64 size = w == W3 ? p->w3_size : w == W4 ? p->w4_channels : 0;
  W4Plan plan = { NULL, NULL };
  GVariant **channels = NULL;
  g_autoptr(GPtrArray) payloads = NULL;
  gint64 t0;
  gint64 t1;
  gsize mem_before = 0;
  gboolean ok = FALSE;

  if (w == W4)
    w4_plan_init (&plan, p, n);
  if (w == W3)
    {
      /* One such payload takes 10 s and 2.6 GiB to build. */
      if (way->form == FORM_BUILDER)
        n = 1;
      payloads = large_forms_new (way->form, n);
    }

  worker = coproc_start (w, n, size, way->each, error);
  if (worker == NULL)
    goto out;
  m = coproc_worker_resource_get_messenger (worker);
  if (!way->fd_passing)
    disable_fd_passing (m);

  if (w == W4)
    {
      channels = g_new (GVariant *, p->w4_channels);
      for (guint c = 0; c < p->w4_channels; c++)
        channels[c] = g_variant_ref_sink (g_variant_new_uint32 (c));
    }

  if (w == WMEM)
    {
      /* A million messages queued on purpose: lift the bound on queues. */
      coproc_messenger_set_max_queued_bytes (m, G_MAXUINT64);
      malloc_trim (0);
      mem_before = malloc_in_use ();
    }

  t0 = now_ns ();

  switch (w)
    {
    case W1:
      for (guint64 i = 0; i < n; i++)
        {
          if (!coproc_messenger_send_norequest (m, small_form_new (way->form, i), NULL, error))
            goto out;
        }
      reply = coproc_messenger_receive_blocking (m, NULL, NULL, error);
      if (!check_totals (reply, n, series_sum (n), error))
        goto out;
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) echo = NULL;

          if (!coproc_messenger_send_request (m, small_new (i), NULL, error))
            goto out;
          echo = coproc_messenger_receive_blocking (m, NULL, NULL, error);
          if (!check_echo (echo, i, error))
            goto out;
        }
      break;

    case W3:
      for (guint64 i = 0; i < n; i++)
        {
          if (!coproc_messenger_send_norequest (m, g_ptr_array_index (payloads, i), NULL, error))
            goto out;
        }
      reply = coproc_messenger_receive_blocking (m, NULL, NULL, error);
      if (!check_totals (reply, n, n * p->w3_size, error))
        goto out;
      break;

    case W4:
      for (guint64 i = 0; i < n; i++)
        {
          if (!coproc_messenger_send_with_priority (m, COPROC_MESSAGE_KIND_NOREQUEST,
                                                    small_form_new (way->form, w4_x (&plan, i)),
                                                    channels[plan.channels[i]],
                                                    plan.priorities[i], error))
            goto out;
        }
      if (!coproc_messenger_send_norequest (m, g_variant_new_uint64 (n), ctl_channel (), error))
        goto out;
      reply = coproc_messenger_receive_blocking (m, NULL, NULL, error);
      if (!check_totals (reply, n, series_sum (n), error))
        goto out;
      break;

    case WMEM:
      {
        g_autoptr(GVariant) end = NULL;

        if (!coproc_messenger_send_norequest (m, g_variant_new_boolean (TRUE), NULL, error))
          goto out;
        end = coproc_messenger_receive_blocking (m, ctl_channel (), NULL, error);
        if (end == NULL)
          goto out;
        if (coproc_messenger_queue_size (m, NULL) != n)
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                         "%u messages queued, expected %" G_GUINT64_FORMAT,
                         coproc_messenger_queue_size (m, NULL), n);
            goto out;
          }
        *value = ((gdouble) malloc_in_use () - (gdouble) mem_before) / n;
      }
      break;

    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  t1 = now_ns ();
  if (w != WMEM)
    *value = result_of (w, n, p->w3_size, t1 - t0);

  /* The worker returns after its last reply, so it may be gone already. */
  {
    g_autoptr(GError) join_error = NULL;

    ok = coproc_worker_resource_join (worker, NULL, &join_error) ||
         g_error_matches (join_error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
    if (!ok)
      g_propagate_error (error, g_steal_pointer (&join_error));
  }

out:
  if (channels != NULL)
    {
      for (guint c = 0; c < p->w4_channels; c++)
        g_variant_unref (channels[c]);
      g_free (channels);
    }
  w4_plan_clear (&plan);
  return ok;
}

/* Memory is measured in a fresh process that allocates with plain malloc:
 * in this one, GSlice's caches still hold what earlier runs freed, and new
 * messages would come out of them unseen. */
static gboolean
run_coproc_mem (guint64   n,
                gdouble  *value,
                GError  **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) child = NULL;
  g_autofree char *out = NULL;
  char n_str[32];

  g_snprintf (n_str, sizeof n_str, "%" G_GUINT64_FORMAT, n);
  g_subprocess_launcher_setenv (launcher, "G_SLICE", "always-malloc", TRUE);
  child = g_subprocess_launcher_spawn (launcher, error, self_exe, "--child", "coproc",
                                       workload_names[WMEM], n_str, "0", NULL);
  if (child == NULL || !g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, error) ||
      !g_subprocess_wait_check (child, NULL, error))
    return FALSE;

  *value = g_ascii_strtod (out, NULL);
  return TRUE;
}

static gboolean
loop_message_cb (CoprocMessenger *messenger,
                 CoprocMessage   *message,
                 LoopProbe       *probe)
{
  loop_probe_message (probe, coproc_message_get_payload (message));
  return TRUE;
}

static void
loop_closed_cb (CoprocMessenger *messenger,
                GError          *error,
                LoopProbe       *probe)
{
  /* The worker hangs up once it has sent everything. */
  if (probe->count < probe->expected)
    loop_probe_fail (probe, error != NULL ? g_error_copy (error)
                                          : g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSED,
                                                                 "The worker hung up mid-flood"));
}

/* WLOOP: the host takes the flood in a message-received handler, on the
 * main context, which also runs the probe's timeout. */
static gboolean
run_coproc_loop (guint64   n,
                 gdouble  *value,
                 GError  **error)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GError) join_error = NULL;
  CoprocMessenger *m;
  LoopProbe probe;
  gboolean ok = FALSE;

  loop_probe_init (&probe, n);

  worker = coproc_start (WLOOP, n, 0, FALSE, error);
  if (worker == NULL)
    goto out;
  m = coproc_worker_resource_get_messenger (worker);
  g_signal_connect (m, "message-received", G_CALLBACK (loop_message_cb), &probe);
  g_signal_connect (m, "closed", G_CALLBACK (loop_closed_cb), &probe);

  if (!coproc_messenger_send_norequest (m, g_variant_new_boolean (TRUE), NULL, error) ||
      !loop_probe_run (&probe, value, error))
    goto out;

  g_signal_handlers_disconnect_by_data (m, &probe);
  ok = coproc_worker_resource_join (worker, NULL, &join_error) ||
       g_error_matches (join_error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&join_error));

out:
  if (worker != NULL && !ok)
    g_signal_handlers_disconnect_by_data (coproc_worker_resource_get_messenger (worker), &probe);
  loop_probe_clear (&probe);
  return ok;
}

static gboolean
run_coproc (const BenchCase  *c,
            const Params     *p,
            Workload          w,
            guint64           n,
            gdouble          *value,
            GError          **error)
{
  if (w == WMEM)
    return run_coproc_mem (n, value, error);
  if (w == WLOOP)
    return run_coproc_loop (n, value, error);

  return run_coproc_common (p, c->data, w, n, value, error);
}

static gboolean
has_fd_passing (void)
{
  return large_threshold_pspec () != NULL;
}

/* The child: `--child coproc mem N 0` measures the memory of N queued
 * messages and prints it. With another workload, it is that workload's
 * worker, for a host that starts it by its argument vector (the Python
 * and GJS rows of W3): `--child coproc W3 N SIZE`. */
static int
coproc_child (Workload    w,
              guint64     n,
              guint64     size,
              const char *extra)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessenger) messenger = NULL;
  char str[32];
  int status;

  if (w == WMEM)
    {
      Params p = { 0 };
      CoprocWay way = { FALSE, FALSE, FORM_USUAL };
      gdouble value;

      if (!run_coproc_common (&p, &way, WMEM, n, &value, &error))
        return worker_failed ("memory", error);
      printf ("%.3f\n", value);
      return 0;
    }

  /* What a function worker finds in its environment. */
  g_snprintf (str, sizeof str, "%" G_GUINT64_FORMAT, n);
  g_setenv ("COPROC_BENCH_N", str, TRUE);
  g_snprintf (str, sizeof str, "%" G_GUINT64_FORMAT, size);
  g_setenv ("COPROC_BENCH_SIZE", str, TRUE);

  messenger = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  if (messenger == NULL)
    return worker_failed ("connect", error);

  status = coproc_worker_funcs[w] (messenger, NULL);
  coproc_messenger_close (messenger, NULL);
  return status;
}

/* Workers first: in a worker process nothing else may run. */
static void
coproc_init (void)
{
  for (guint w = 0; w < N_WORKLOADS; w++)
    coproc_worker_register (coproc_worker_names[w], coproc_worker_funcs[w], NULL);
}

static const CoprocWay way_usual = { FALSE, FALSE, FORM_USUAL };
static const CoprocWay way_each = { FALSE, TRUE, FORM_USUAL };
static const CoprocWay way_fd_passing = { TRUE, FALSE, FORM_USUAL };
static const CoprocWay way_fixed_array = { FALSE, FALSE, FORM_FIXED_ARRAY };
static const CoprocWay way_from_data = { FALSE, FALSE, FORM_FROM_DATA };
static const CoprocWay way_from_bytes = { FALSE, FALSE, FORM_FROM_BYTES };
static const CoprocWay way_builder = { FALSE, FALSE, FORM_BUILDER };

static const BenchCase coproc_cases[] = {
  { "coproc", "coproc", run_coproc, BIT (W1) | BIT (W2) | BIT (W3) | BIT (W4) | BIT (WMEM) | BIT (WLOOP),
    { 0 }, NULL, &way_usual },
  { "coproc-each", "coproc, receive_blocking each", run_coproc, BIT (W1), { 0 }, NULL, &way_each },
  { "coproc-fd", "coproc, fd passing", run_coproc, BIT (W3), { 0 }, has_fd_passing, &way_fd_passing },
  { "coproc-fixed-array", "coproc, g_variant_new_fixed_array", run_coproc, BIT (W3),
    { 0, 0, W3_FORMS_SCALE, 0, 0, 0 }, NULL, &way_fixed_array },
  { "coproc-from-data", "coproc, new_from_data untrusted", run_coproc, BIT (W1) | BIT (W3) | BIT (W4),
    { 0, 0, W3_FORMS_SCALE, 0, 0, 0 }, NULL, &way_from_data },
  { "coproc-from-bytes", "coproc, new_from_bytes trusted", run_coproc, BIT (W1) | BIT (W3) | BIT (W4),
    { 0 }, NULL, &way_from_bytes },
  { "coproc-builder", "coproc, GVariantBuilder", run_coproc, BIT (W1) | BIT (W3) | BIT (W4),
    { 0 }, NULL, &way_builder },
};

const BenchPeer bench_peer_coproc = {
  "coproc", coproc_init, coproc_child, coproc_cases, G_N_ELEMENTS (coproc_cases),
};
