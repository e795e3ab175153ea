/* coproc-bench.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Measures coproc against other ways for a host to talk to a child process,
 * on the same workloads, in the same run:
 *
 *   W1   a stream of small messages host → worker, messages per second
 *   W2   ping-pong of a small message, microseconds per round trip
 *   W3   large byte-array payloads host → worker, MiB per second
 *   W4   many channels with random priorities: everything is queued, then
 *        taken in priority order per channel, messages per second
 *   mem  bytes of memory per queued small message, with a million queued
 *
 * A small message is the GVariant (xs): an int64 and a 16-character string.
 * Every receiver reads the values out of every message it gets.
 *
 * The other side is always a real child process: a coproc function worker,
 * or this program started again with --child for the other peers. Each
 * measurement is repeated, with the runs of all peers interleaved so that
 * noise on the machine hits all of them alike, and the table shows the
 * median, the range and the ratio of coproc to each peer.
 *
 * The Python rows come from bench.py, run with the uninstalled typelib and
 * overrides of this build.
 *
 * Usage: coproc-bench [--quick] [--runs N] [--only W1,W2,W3,W4,mem]
 *                     [--peers coproc,coproc-each,coproc-fd,minimal,raw,gdbus,jsonrpc,zmq]
 *                     [--scale F] [--no-python] [--original PATH]
 */

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <coproc.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#ifdef BENCH_HAVE_JSONRPC
# include <jsonrpc-glib.h>
#endif
#ifdef BENCH_HAVE_ZMQ
# include <zmq.h>
#endif

#define SMALL_TEXT       "coproc-benchmark"   /* 16 characters */
#define SMALL_TEXT_LEN   16
#define BATCH_SIZE       (64 * 1024)
#define CHILD_FD         3
#define W4_SEQ_BITS      40
#define MIB              (1024.0 * 1024.0)

#define GDBUS_PATH       "/org/gnome/CoprocBench"
#define GDBUS_IFACE      "org.gnome.CoprocBench"

typedef enum
{
  W1,
  W2,
  W3,
  W4,
  WMEM,
  N_WORKLOADS
} Workload;

static const char * const workload_names[N_WORKLOADS] = { "W1", "W2", "W3", "W4", "mem" };

static const char * const workload_titles[N_WORKLOADS] = {
  "W1 stream of small (xs), msg/s",
  "W2 round trip of (xs), µs (lower)",
  "W3 large ay payloads, MiB/s",
  "W4 64 channels, priorities, msg/s",
  "mem bytes per queued (xs) (lower)",
};

typedef struct
{
  guint    runs;
  guint64  count[N_WORKLOADS];
  guint64  w3_size;
  guint    w4_channels;
  guint    w4_levels;
  gdouble  scale;
  gboolean quick;
} Params;

static char *self_exe;
static GBytes *large_blob;   /* W3's payload, touched once so that no run pays for its pages */

/* Helpers ----------------------------------------------------------------- */

static inline gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static inline gsize
pad8 (gsize n)
{
  return (n + 7) & ~(gsize) 7;
}

static inline GVariant *
small_new (gint64 i)
{
  return g_variant_new ("(xs)", i, SMALL_TEXT);
}

/* Reads a small message the way a receiver uses it. */
static inline gboolean
small_read (GVariant *value,
            gint64   *x)
{
  const char *text;

  if (!g_variant_is_of_type (value, G_VARIANT_TYPE ("(xs)")))
    return FALSE;
  g_variant_get (value, "(x&s)", x, &text);
  return strlen (text) == SMALL_TEXT_LEN;
}

/* Reads one byte of every page of a large payload, as a consumer would,
 * so that no peer gets away with data it never brought in. */
static volatile guint64 touch_sink;

static void
touch_pages (const void *data,
             gsize       size)
{
  const guint8 *p = data;
  guint64 sum = 0;

  for (gsize i = 0; i < size; i += 4096)
    sum += p[i];
  touch_sink += sum;
}

static guint64
env_u64 (const char *name)
{
  const char *value = g_getenv (name);

  return value ? g_ascii_strtoull (value, NULL, 10) : 0;
}

static gboolean
check_totals (GVariant  *reply,
              guint64    count,
              guint64    sum,
              GError   **error)
{
  guint64 got_count;
  guint64 got_sum;

  if (reply == NULL || !g_variant_is_of_type (reply, G_VARIANT_TYPE ("(tt)")))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "The worker's final reply is not (tt)");
      return FALSE;
    }

  g_variant_get (reply, "(tt)", &got_count, &got_sum);
  if (got_count != count || got_sum != sum)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The worker counted %" G_GUINT64_FORMAT " messages (sum %" G_GUINT64_FORMAT
                   "), expected %" G_GUINT64_FORMAT " (sum %" G_GUINT64_FORMAT ")",
                   got_count, got_sum, count, sum);
      return FALSE;
    }

  return TRUE;
}

static inline guint64
series_sum (guint64 n)
{
  return n * (n - 1) / 2;
}

/* The value a run reports, from the elapsed time. */
static gdouble
result_of (Workload w,
           guint64  n,
           guint64  size,
           gint64   ns)
{
  gdouble seconds = ns / 1e9;

  switch (w)
    {
    case W2:
      return seconds * 1e6 / n;
    case W3:
      return n * (size / MIB) / seconds;
    case W1:
    case W4:
    default:
      return n / seconds;
    }
}

/* Plain sockets ----------------------------------------------------------- */

static gboolean
write_all (int          fd,
           const void  *data,
           gsize        len,
           GError     **error)
{
  const guint8 *p = data;

  while (len > 0)
    {
      gssize n = send (fd, p, len, MSG_NOSIGNAL);

      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EINTR)
            continue;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "write: %s", g_strerror (errsv));
          return FALSE;
        }
      p += n;
      len -= n;
    }

  return TRUE;
}

/* Reads at least one byte; FALSE on error or end of stream. */
static gboolean
read_some (int      fd,
           void    *data,
           gsize    len,
           gsize   *out_len,
           GError **error)
{
  gssize n;

  do
    n = read (fd, data, len);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "read: %s", g_strerror (errsv));
      return FALSE;
    }
  if (n == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "The peer hung up");
      return FALSE;
    }

  *out_len = n;
  return TRUE;
}

static gboolean
read_all (int      fd,
          void    *data,
          gsize    len,
          GError **error)
{
  guint8 *p = data;

  while (len > 0)
    {
      gsize n;

      if (!read_some (fd, p, len, &n, error))
        return FALSE;
      p += n;
      len -= n;
    }

  return TRUE;
}

static gboolean
make_pair (int      fds[2],
           GError **error)
{
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "socketpair: %s", g_strerror (errsv));
      return FALSE;
    }

  return TRUE;
}

/* Starts this program again as the child of a non-coproc peer. @fd, when
 * not -1, becomes its fd 3 (and is closed here). */
static GSubprocess *
spawn_child (const char  *peer,
             Workload     w,
             guint64      n,
             guint64      size,
             int          fd,
             const char  *extra,
             GError     **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  char n_str[32];
  char size_str[32];

  g_snprintf (n_str, sizeof n_str, "%" G_GUINT64_FORMAT, n);
  g_snprintf (size_str, sizeof size_str, "%" G_GUINT64_FORMAT, size);

  if (fd >= 0)
    g_subprocess_launcher_take_fd (launcher, fd, CHILD_FD);

  return g_subprocess_launcher_spawn (launcher, error, self_exe, "--child", peer,
                                      workload_names[w], n_str, size_str, extra, NULL);
}

/* Starts the child for @peer joined to this process by a socket pair, and
 * puts this process's end of it in @fd. */
static GSubprocess *
spawn_connected_child (const char  *peer,
                       Workload     w,
                       guint64      n,
                       guint64      size,
                       int         *fd,
                       GError     **error)
{
  GSubprocess *child;
  int fds[2];

  if (!make_pair (fds, error))
    return NULL;

  child = spawn_child (peer, w, n, size, fds[1], NULL, error);
  if (child == NULL)
    {
      close (fds[0]);
      return NULL;
    }

  *fd = fds[0];
  return child;
}

/* Wraps @fd, a connected socket, in a GSocketConnection. @fd is taken,
 * and closed if that fails. */
static GSocketConnection *
connection_for_fd (int      fd,
                   GError **error)
{
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, error);

  if (socket == NULL)
    {
      close (fd);
      return NULL;
    }

  return g_socket_connection_factory_create_connection (socket);
}

/* Minimal framing --------------------------------------------------------- */

/* What a careful hand-written protocol does: a header with the body size
 * (and, for W4, the channel and priority), the body as g_variant_store()
 * writes it, padded to 8 bytes so that bodies stay aligned, and writes
 * batched into 64 KiB. The reader reads in large chunks and deserializes
 * in place with g_variant_new_from_data(). */

typedef struct
{
  int     fd;
  gsize   header;     /* 8, or 16 with a priority */
  guint8 *buf;
  gsize   len;
  gsize   size;
} Writer;

typedef struct
{
  int     fd;
  gsize   header;
  guint8 *buf;
  gsize   size;
  gsize   start;
  gsize   end;
} Reader;

static void
writer_init (Writer *w,
             int     fd,
             gsize   header)
{
  w->fd = fd;
  w->header = header;
  w->size = 2 * BATCH_SIZE;
  w->buf = g_malloc (w->size);
  w->len = 0;
}

static gboolean
writer_flush (Writer  *w,
              GError **error)
{
  if (w->len > 0 && !write_all (w->fd, w->buf, w->len, error))
    return FALSE;
  w->len = 0;
  return TRUE;
}

static gboolean
writer_put (Writer    *w,
            GVariant  *value,
            guint32    channel,
            gdouble    priority,
            GError   **error)
{
  gsize body = g_variant_get_size (value);
  gsize frame = w->header + pad8 (body);
  guint32 size32 = body;
  guint8 *out;

  if (w->size - w->len < frame)
    {
      w->size = MAX (w->size * 2, w->len + frame);
      w->buf = g_realloc (w->buf, w->size);
    }

  out = w->buf + w->len;
  memcpy (out, &size32, 4);
  memcpy (out + 4, &channel, 4);
  if (w->header == 16)
    memcpy (out + 8, &priority, 8);
  g_variant_store (value, out + w->header);
  memset (out + w->header + body, 0, pad8 (body) - body);
  w->len += frame;

  if (w->len >= BATCH_SIZE)
    return writer_flush (w, error);
  return TRUE;
}

static void
writer_clear (Writer *w)
{
  g_clear_pointer (&w->buf, g_free);
}

static void
reader_init (Reader *r,
             int     fd,
             gsize   header)
{
  r->fd = fd;
  r->header = header;
  r->size = 4 * BATCH_SIZE;
  r->buf = g_malloc (r->size);
  r->start = r->end = 0;
}

/* The next frame's body, valid until the next call. */
static const guint8 *
reader_next (Reader   *r,
             gsize    *body_size,
             guint32  *channel,
             gdouble  *priority,
             GError  **error)
{
  for (;;)
    {
      gsize avail = r->end - r->start;
      gsize need = r->header;
      gsize n;

      if (avail >= r->header)
        {
          guint32 size32;

          memcpy (&size32, r->buf + r->start, 4);
          need = r->header + pad8 (size32);
          if (avail >= need)
            {
              const guint8 *frame = r->buf + r->start;

              if (channel != NULL)
                memcpy (channel, frame + 4, 4);
              if (priority != NULL && r->header == 16)
                memcpy (priority, frame + 8, 8);
              r->start += need;
              *body_size = size32;
              return frame + r->header;
            }
        }

      if (r->start == r->end)
        r->start = r->end = 0;
      if (r->size - r->start < MAX (need, BATCH_SIZE))
        {
          memmove (r->buf, r->buf + r->start, avail);
          r->start = 0;
          r->end = avail;
          if (r->size < need)
            {
              r->size = MAX (need, r->size * 2);
              r->buf = g_realloc (r->buf, r->size);
            }
        }

      if (!read_some (r->fd, r->buf + r->end, r->size - r->end, &n, error))
        return NULL;
      r->end += n;
    }
}

static void
reader_clear (Reader *r)
{
  g_clear_pointer (&r->buf, g_free);
}

static GVariant *
reader_next_variant (Reader              *r,
                     const GVariantType  *type,
                     GError             **error)
{
  const guint8 *body;
  gsize size;

  body = reader_next (r, &size, NULL, NULL, error);
  if (body == NULL)
    return NULL;

  return g_variant_ref_sink (g_variant_new_from_data (type, body, size, FALSE, NULL, NULL));
}

/* A binary min-heap by (priority, arrival), for the minimal W4 receiver. */
typedef struct
{
  gdouble   priority;
  guint64   seq;
  GVariant *value;
} HeapEntry;

static inline gboolean
heap_before (const HeapEntry *a,
             const HeapEntry *b)
{
  return a->priority != b->priority ? a->priority < b->priority : a->seq < b->seq;
}

static void
heap_push (GArray    *heap,
           HeapEntry *entry)
{
  HeapEntry *e;
  guint i;

  g_array_set_size (heap, heap->len + 1);
  e = (HeapEntry *) (void *) heap->data;
  i = heap->len - 1;
  while (i > 0 && heap_before (entry, &e[(i - 1) / 2]))
    {
      e[i] = e[(i - 1) / 2];
      i = (i - 1) / 2;
    }
  e[i] = *entry;
}

static GVariant *
heap_pop (GArray *heap)
{
  HeapEntry *e = (HeapEntry *) (void *) heap->data;
  HeapEntry last;
  GVariant *top;
  guint i = 0;

  if (heap->len == 0)
    return NULL;

  top = e[0].value;
  last = e[heap->len - 1];
  g_array_set_size (heap, heap->len - 1);

  for (;;)
    {
      guint child = 2 * i + 1;

      if (child >= heap->len)
        break;
      if (child + 1 < heap->len && heap_before (&e[child + 1], &e[child]))
        child++;
      if (!heap_before (&e[child], &last))
        break;
      e[i] = e[child];
      i = child;
    }
  if (heap->len > 0)
    e[i] = last;

  return top;
}

/* Checks W4's order on one channel: x is (priority << W4_SEQ_BITS | index),
 * so priority order, first-in first-out among equals, means x never
 * decreases. */
typedef struct
{
  guint64  count;
  guint64  sum;
  gboolean ordered;
} W4Check;

static inline void
w4_check_one (W4Check *check,
              gint64   x,
              gint64  *last)
{
  if (x < *last)
    check->ordered = FALSE;
  *last = x;
  check->count++;
  check->sum += (guint64) x & ((G_GUINT64_CONSTANT (1) << W4_SEQ_BITS) - 1);
}

/* The W4 send sequence: the same in every run, for every peer. */
typedef struct
{
  guint32 *channels;
  gdouble *priorities;
} W4Plan;

static void
w4_plan_init (W4Plan       *plan,
              const Params *p,
              guint64       n)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240501);

  plan->channels = g_new (guint32, n);
  plan->priorities = g_new (gdouble, n);
  for (guint64 i = 0; i < n; i++)
    {
      plan->channels[i] = g_rand_int_range (rand, 0, p->w4_channels);
      plan->priorities[i] = g_rand_int_range (rand, 0, p->w4_levels);
    }
}

static void
w4_plan_clear (W4Plan *plan)
{
  g_clear_pointer (&plan->channels, g_free);
  g_clear_pointer (&plan->priorities, g_free);
}

static inline gint64
w4_x (const W4Plan *plan,
      guint64       i)
{
  return ((gint64) plan->priorities[i] << W4_SEQ_BITS) | (gint64) i;
}

/* coproc ------------------------------------------------------------------ */

static GVariant *
ctl_channel (void)
{
  return g_variant_new_string ("ctl");
}

static int
worker_failed (const char   *what,
               const GError *error)
{
  g_printerr ("coproc-bench worker: %s: %s\n", what, error ? error->message : "bad data");
  return 1;
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

static int
coproc_worker_mem (CoprocMessenger *messenger,
                   gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) go = NULL;
  guint64 n = env_u64 ("COPROC_BENCH_N");

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

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_boolean (TRUE), ctl_channel (),
                                        &error))
    return worker_failed ("send", error);

  return 0;
}

static const char * const coproc_worker_names[N_WORKLOADS] = {
  "bench-w1", "bench-w2", "bench-w3", "bench-w4", "bench-mem",
};

/* The name of the messenger property that turns on fd passing for large
 * payloads, when this build of the library has it. */
#define LARGE_THRESHOLD_PROPERTY "large-message-threshold"

static GParamSpec *
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

static gsize
malloc_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

static gboolean
run_coproc_common (const Params  *p,
                   Workload       w,
                   guint64        n,
                   gboolean       fd_passing,
                   gboolean       each,
                   gdouble       *value,
                   GError       **error)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) reply = NULL;
  CoprocMessenger *m;
  guint64 size = w == W3 ? p->w3_size : w == W4 ? p->w4_channels : 0;
  W4Plan plan = { NULL, NULL };
  GVariant **channels = NULL;
  gint64 t0;
  gint64 t1;
  gsize mem_before = 0;
  gboolean ok = FALSE;

  if (w == W4)
    w4_plan_init (&plan, p, n);

  worker = coproc_start (w, n, size, each, error);
  if (worker == NULL)
    goto out;
  m = coproc_worker_resource_get_messenger (worker);
  if (!fd_passing)
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
          if (!coproc_messenger_send_norequest (m, small_new (i), NULL, error))
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
          gint64 x;

          if (!coproc_messenger_send_request (m, small_new (i), NULL, error))
            goto out;
          echo = coproc_messenger_receive_blocking (m, NULL, NULL, error);
          if (echo == NULL)
            goto out;
          if (!small_read (echo, &x) || x != (gint64) i)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad echo");
              goto out;
            }
        }
      break;

    case W3:
      {
        g_autoptr(GVariant) payload =
          g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, large_blob, TRUE));

        for (guint64 i = 0; i < n; i++)
          {
            if (!coproc_messenger_send_norequest (m, payload, NULL, error))
              goto out;
          }
        reply = coproc_messenger_receive_blocking (m, NULL, NULL, error);
        if (!check_totals (reply, n, n * p->w3_size, error))
          goto out;
      }
      break;

    case W4:
      for (guint64 i = 0; i < n; i++)
        {
          if (!coproc_messenger_send_with_priority (m, COPROC_MESSAGE_KIND_NOREQUEST,
                                                    small_new (w4_x (&plan, i)),
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
  child = g_subprocess_launcher_spawn (launcher, error, self_exe, "--child", "coproc-mem",
                                       workload_names[WMEM], n_str, "0", NULL);
  if (child == NULL || !g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, error) ||
      !g_subprocess_wait_check (child, NULL, error))
    return FALSE;

  *value = g_ascii_strtod (out, NULL);
  return TRUE;
}

static gboolean
run_coproc (const Params  *p,
            Workload       w,
            guint64        n,
            gdouble       *value,
            GError       **error)
{
  if (w == WMEM)
    return run_coproc_mem (n, value, error);

  return run_coproc_common (p, w, n, FALSE, FALSE, value, error);
}

static gboolean
run_coproc_each (const Params  *p,
                 Workload       w,
                 guint64        n,
                 gdouble       *value,
                 GError       **error)
{
  return run_coproc_common (p, w, n, FALSE, TRUE, value, error);
}

static gboolean
run_coproc_fd (const Params  *p,
               Workload       w,
               guint64        n,
               gdouble       *value,
               GError       **error)
{
  return run_coproc_common (p, w, n, TRUE, FALSE, value, error);
}

/* Minimal framing and raw bytes: hosts --------------------------------------- */

static gsize
small_frame_size (void)
{
  g_autoptr(GVariant) v = g_variant_ref_sink (small_new (0));

  return 8 + pad8 (g_variant_get_size (v));
}

static gboolean
read_totals (Reader   *r,
             guint64   count,
             guint64   sum,
             GError  **error)
{
  g_autoptr(GVariant) reply = reader_next_variant (r, G_VARIANT_TYPE ("(tt)"), error);

  return reply != NULL && check_totals (reply, count, sum, error);
}

static gboolean
run_minimal (const Params  *p,
             Workload       w,
             guint64        n,
             gdouble       *value,
             GError       **error)
{
  g_autoptr(GSubprocess) child = NULL;
  Writer writer = { 0 };
  Reader reader = { 0 };
  W4Plan plan = { NULL, NULL };
  gsize header = w == W4 ? 16 : 8;
  guint64 size = w == W3 ? p->w3_size : w == W4 ? p->w4_channels : 0;
  int fd;
  guint8 ready;
  gint64 t0;
  gboolean ok = FALSE;

  child = spawn_connected_child ("minimal", w, n, size, &fd, error);
  if (child == NULL)
    return FALSE;

  writer_init (&writer, fd, header);
  reader_init (&reader, fd, 8);
  if (w == W4)
    w4_plan_init (&plan, p, n);

  if (!read_all (fd, &ready, 1, error))
    goto out;

  t0 = now_ns ();

  switch (w)
    {
    case W1:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = g_variant_ref_sink (small_new (i));

          if (!writer_put (&writer, v, 0, 0, error))
            goto out;
        }
      if (!writer_flush (&writer, error) || !read_totals (&reader, n, series_sum (n), error))
        goto out;
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = g_variant_ref_sink (small_new (i));
          g_autoptr(GVariant) echo = NULL;
          gint64 x;

          if (!writer_put (&writer, v, 0, 0, error) || !writer_flush (&writer, error))
            goto out;
          echo = reader_next_variant (&reader, G_VARIANT_TYPE ("(xs)"), error);
          if (echo == NULL)
            goto out;
          if (!small_read (echo, &x) || x != (gint64) i)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad echo");
              goto out;
            }
        }
      break;

    case W3:
      {
        g_autoptr(GVariant) payload =
          g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, large_blob, TRUE));

        for (guint64 i = 0; i < n; i++)
          {
            if (!writer_put (&writer, payload, 0, 0, error))
              goto out;
          }
        if (!writer_flush (&writer, error) || !read_totals (&reader, n, n * p->w3_size, error))
          goto out;
      }
      break;

    case W4:
      {
        g_autoptr(GVariant) end = g_variant_ref_sink (g_variant_new_uint64 (n));

        for (guint64 i = 0; i < n; i++)
          {
            g_autoptr(GVariant) v = g_variant_ref_sink (small_new (w4_x (&plan, i)));

            if (!writer_put (&writer, v, plan.channels[i], plan.priorities[i], error))
              goto out;
          }
        if (!writer_put (&writer, end, G_MAXUINT32, 0, error) || !writer_flush (&writer, error) ||
            !read_totals (&reader, n, series_sum (n), error))
          goto out;
      }
      break;

    case WMEM:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  *value = result_of (w, n, p->w3_size, now_ns () - t0);
  ok = TRUE;

out:
  close (fd);
  writer_clear (&writer);
  reader_clear (&reader);
  w4_plan_clear (&plan);
  if (!g_subprocess_wait_check (child, NULL, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

static gboolean
run_raw (const Params  *p,
         Workload       w,
         guint64        n,
         gdouble       *value,
         GError       **error)
{
  g_autoptr(GSubprocess) child = NULL;
  g_autofree guint8 *buf = NULL;
  gsize frame = small_frame_size ();
  guint64 size = w == W3 ? p->w3_size : frame;
  int fd;
  guint8 ready;
  gint64 t0;
  gboolean ok = FALSE;

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

        for (guint64 sent = 0; sent < total; sent += chunk)
          {
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
  if (!g_subprocess_wait_check (child, NULL, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

/* Minimal framing and raw bytes: children --------------------------------- */

static int
child_minimal (Workload w,
               guint64  n,
               guint64  size)
{
  g_autoptr(GError) error = NULL;
  Writer writer;
  Reader reader;
  guint8 ready = 1;
  guint64 count = 0;
  guint64 sum = 0;

  writer_init (&writer, CHILD_FD, 8);
  reader_init (&reader, CHILD_FD, w == W4 ? 16 : 8);

  if (!write_all (CHILD_FD, &ready, 1, &error))
    return worker_failed ("ready", error);

  switch (w)
    {
    case W1:
      for (count = 0; count < n; count++)
        {
          g_autoptr(GVariant) v = reader_next_variant (&reader, G_VARIANT_TYPE ("(xs)"), &error);
          gint64 x;

          if (v == NULL || !small_read (v, &x))
            return worker_failed ("receive", error);
          sum += x;
        }
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = reader_next_variant (&reader, G_VARIANT_TYPE ("(xs)"), &error);
          g_autoptr(GVariant) echo = NULL;
          gint64 x;

          if (v == NULL || !small_read (v, &x))
            return worker_failed ("receive", error);
          echo = g_variant_ref_sink (small_new (x));
          if (!writer_put (&writer, echo, 0, 0, &error) || !writer_flush (&writer, &error))
            return worker_failed ("reply", error);
        }
      return 0;

    case W3:
      for (count = 0; count < n; count++)
        {
          g_autoptr(GVariant) v = reader_next_variant (&reader, G_VARIANT_TYPE_BYTESTRING, &error);

          if (v == NULL)
            return worker_failed ("receive", error);
          touch_pages (g_variant_get_data (v), g_variant_get_size (v));
          sum += g_variant_get_size (v);
        }
      break;

    case W4:
      {
        g_autoptr(GPtrArray) heaps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
        W4Check check = { 0, 0, TRUE };
        guint64 seq = 0;

        for (guint c = 0; c < size; c++)
          g_ptr_array_add (heaps, g_array_new (FALSE, FALSE, sizeof (HeapEntry)));

        for (;;)
          {
            const guint8 *body;
            gsize body_size;
            guint32 channel;
            HeapEntry entry;

            body = reader_next (&reader, &body_size, &channel, &entry.priority, &error);
            if (body == NULL)
              return worker_failed ("receive", error);
            if (channel == G_MAXUINT32)
              break;
            if (channel >= size)
              return worker_failed ("channel", NULL);

            /* Queued messages outlive the read buffer: each gets its own copy. */
            entry.value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(xs)"),
                                                                       g_memdup2 (body, body_size),
                                                                       body_size, FALSE, g_free,
                                                                       NULL));
            entry.seq = seq++;
            heap_push (g_ptr_array_index (heaps, channel), &entry);
          }

        for (guint c = 0; c < size; c++)
          {
            GVariant *v;
            gint64 last = G_MININT64;

            while ((v = heap_pop (g_ptr_array_index (heaps, c))) != NULL)
              {
                gint64 x;

                if (!small_read (v, &x))
                  return worker_failed ("receive", NULL);
                w4_check_one (&check, x, &last);
                g_variant_unref (v);
              }
          }
        if (!check.ordered)
          return worker_failed ("order", NULL);
        count = check.count;
        sum = check.sum;
      }
      break;

    case WMEM:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  {
    g_autoptr(GVariant) reply = g_variant_ref_sink (g_variant_new ("(tt)", count, sum));

    if (!writer_put (&writer, reply, 0, 0, &error) || !writer_flush (&writer, &error))
      return worker_failed ("reply", error);
  }

  writer_clear (&writer);
  reader_clear (&reader);
  return 0;
}

static int
child_raw (Workload w,
           guint64  n,
           guint64  size)
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

/* GDBus peer-to-peer ------------------------------------------------------ */

static const char gdbus_xml[] =
  "<node>"
  "  <interface name='" GDBUS_IFACE "'>"
  "    <method name='Ping'/>"
  "    <method name='Echo'>"
  "      <arg direction='in' type='x'/><arg direction='in' type='s'/>"
  "      <arg direction='out' type='x'/><arg direction='out' type='s'/>"
  "    </method>"
  "    <method name='Done'>"
  "      <arg direction='out' type='t'/><arg direction='out' type='t'/>"
  "    </method>"
  "    <signal name='Small'><arg type='x'/><arg type='s'/></signal>"
  "    <signal name='Blob'><arg type='ay'/></signal>"
  "  </interface>"
  "</node>";

typedef struct
{
  GMainLoop *loop;
  guint64    count;
  guint64    sum;
  gboolean   bad;
} ChildState;

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
child_gdbus (Workload w,
             guint64  n,
             guint64  size)
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

  bus = g_dbus_connection_new_sync (G_IO_STREAM (stream), NULL,
                                    G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
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

static gboolean
run_gdbus (const Params  *p,
           Workload       w,
           guint64        n,
           gdouble       *value,
           GError       **error)
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
          gint64 x;

          if (echo == NULL)
            goto out;
          if (!small_read (echo, &x) || x != (gint64) i)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad echo");
              goto out;
            }
        }
      break;

    case W3:
      {
        g_autoptr(GVariant) payload =
          g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, large_blob, TRUE));

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
  if (!g_subprocess_wait_check (child, NULL, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

/* jsonrpc-glib ------------------------------------------------------------ */

#ifdef BENCH_HAVE_JSONRPC

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
child_jsonrpc (Workload w,
               guint64  n,
               guint64  size)
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
run_jsonrpc (const Params  *p,
             Workload       w,
             guint64        n,
             gdouble       *value,
             GError       **error)
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
  if (!g_subprocess_wait_check (child, NULL, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

#endif /* BENCH_HAVE_JSONRPC */

/* ZeroMQ PAIR over ipc:// ------------------------------------------------- */

#ifdef BENCH_HAVE_ZMQ

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
  void *ctx = zmq_ctx_new ();
  void *sock = zmq_socket (ctx, ZMQ_PAIR);
  guint8 ready = 1;
  guint64 count = 0;
  guint64 sum = 0;
  int ret = 0;

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
run_zmq (const Params  *p,
         Workload       w,
         guint64        n,
         gdouble       *value,
         GError       **error)
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
          payload = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                  large_blob, TRUE));
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
          gint64 x;

          if (!zmq_send_variant (sock, v, error))
            goto out;
          echo = zmq_recv_small (sock, G_VARIANT_TYPE ("(xs)"), buf, error);
          if (echo == NULL)
            goto out;
          if (!small_read (echo, &x) || x != (gint64) i)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad echo");
              goto out;
            }
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
  if (child != NULL && !g_subprocess_wait_check (child, NULL, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

#endif /* BENCH_HAVE_ZMQ */

/* Children ---------------------------------------------------------------- */

static int
child_main (int    argc,
            char **argv)
{
  Workload w = N_WORKLOADS;
  guint64 n;
  guint64 size;

  if (argc < 6)
    {
      g_printerr ("usage: %s --child PEER WORKLOAD N SIZE [EXTRA]\n", argv[0]);
      return 2;
    }

  for (guint i = 0; i < N_WORKLOADS; i++)
    {
      if (g_str_equal (argv[3], workload_names[i]))
        w = i;
    }
  n = g_ascii_strtoull (argv[4], NULL, 10);
  size = g_ascii_strtoull (argv[5], NULL, 10);

  if (w == N_WORKLOADS)
    return 2;
  if (g_str_equal (argv[2], "coproc-mem"))
    {
      g_autoptr(GError) error = NULL;
      Params p = { 0 };
      gdouble value;

      if (!run_coproc_common (&p, WMEM, n, FALSE, FALSE, &value, &error))
        return worker_failed ("memory", error);
      printf ("%.3f\n", value);
      return 0;
    }
  if (g_str_equal (argv[2], "minimal"))
    return child_minimal (w, n, size);
  if (g_str_equal (argv[2], "raw"))
    return child_raw (w, n, size);
  if (g_str_equal (argv[2], "gdbus"))
    return child_gdbus (w, n, size);
#ifdef BENCH_HAVE_JSONRPC
  if (g_str_equal (argv[2], "jsonrpc"))
    return child_jsonrpc (w, n, size);
#endif
#ifdef BENCH_HAVE_ZMQ
  if (g_str_equal (argv[2], "zmq") && argc >= 7)
    return child_zmq (w, n, size, argv[6]);
#endif

  return 2;
}

/* Results ----------------------------------------------------------------- */

typedef gboolean (*RunFunc) (const Params  *p,
                             Workload       w,
                             guint64        n,
                             gdouble       *value,
                             GError       **error);

typedef struct
{
  const char *id;
  const char *label;
  RunFunc     run;
  guint       workloads;            /* bit mask of Workload */
  gdouble     scale[N_WORKLOADS];   /* of the count, for slow peers; 0 means 1 */
} Peer;

#define BIT(w) (1u << (w))

static const Peer c_peers[] = {
  { "coproc", "coproc", run_coproc, BIT (W1) | BIT (W2) | BIT (W3) | BIT (W4) | BIT (WMEM), { 0 } },
  { "coproc-each", "coproc, receive_blocking each", run_coproc_each, BIT (W1), { 0 } },
  { "coproc-fd", "coproc, fd passing", run_coproc_fd, BIT (W3), { 0 } },
  { "minimal", "minimal GVariant framing", run_minimal, BIT (W1) | BIT (W2) | BIT (W3) | BIT (W4), { 0 } },
  { "raw", "raw bytes", run_raw, BIT (W1) | BIT (W2) | BIT (W3), { 0 } },
  { "gdbus", "GDBus peer-to-peer", run_gdbus, BIT (W1) | BIT (W2) | BIT (W3), { 0.1, 0.5, 0.25, 0, 0 } },
#ifdef BENCH_HAVE_JSONRPC
  { "jsonrpc", "jsonrpc-glib", run_jsonrpc, BIT (W1) | BIT (W2), { 0.05, 0.5, 0, 0, 0 } },
#endif
#ifdef BENCH_HAVE_ZMQ
  { "zmq", "ZeroMQ PAIR ipc://", run_zmq, BIT (W1) | BIT (W2) | BIT (W3), { 0 } },
#endif
};

typedef struct
{
  Workload  workload;
  char     *peer;
  gboolean  python;
  GArray   *values;   /* of gdouble, one per successful run */
  guint     failures;
} Row;

static GPtrArray *rows;

static Row *
row_get (Workload    w,
         const char *peer,
         gboolean    python)
{
  Row *row;

  for (guint i = 0; i < rows->len; i++)
    {
      row = g_ptr_array_index (rows, i);
      if (row->workload == w && row->python == python && g_str_equal (row->peer, peer))
        return row;
    }

  row = g_new0 (Row, 1);
  row->workload = w;
  row->peer = g_strdup (peer);
  row->python = python;
  row->values = g_array_new (FALSE, FALSE, sizeof (gdouble));
  g_ptr_array_add (rows, row);
  return row;
}

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->peer);
  g_array_unref (row->values);
  g_free (row);
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  gdouble x = *(const gdouble *) a;
  gdouble y = *(const gdouble *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

static gdouble
row_median (Row *row)
{
  g_autoptr(GArray) sorted = NULL;
  guint n = row->values->len;

  if (n == 0)
    return NAN;

  sorted = g_array_copy (row->values);
  g_array_sort (sorted, compare_doubles);
  if (n % 2 == 1)
    return g_array_index (sorted, gdouble, n / 2);
  return (g_array_index (sorted, gdouble, n / 2 - 1) + g_array_index (sorted, gdouble, n / 2)) / 2;
}

static void
row_range (Row     *row,
           gdouble *min,
           gdouble *max)
{
  *min = INFINITY;
  *max = -INFINITY;
  for (guint i = 0; i < row->values->len; i++)
    {
      *min = MIN (*min, g_array_index (row->values, gdouble, i));
      *max = MAX (*max, g_array_index (row->values, gdouble, i));
    }
}

static gdouble
median_of (Workload    w,
           const char *peer,
           gboolean    python)
{
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);

      if (row->workload == w && row->python == python && g_str_equal (row->peer, peer))
        return row_median (row);
    }
  return NAN;
}

static void
format_value (char    *buf,
              gsize    size,
              Workload w,
              gdouble  v)
{
  if (isnan (v))
    g_snprintf (buf, size, "—");
  else if (w == W2)
    g_snprintf (buf, size, "%.2f", v);
  else if (w == WMEM)
    g_snprintf (buf, size, "%.1f", v);
  else
    g_snprintf (buf, size, "%.0f", v);
}

/* Pads a UTF-8 string to @width columns (the table has a few non-ASCII
 * characters). */
static void
print_cell (const char *text,
            int         width,
            gboolean    right)
{
  int len = g_utf8_strlen (text, -1);

  if (right)
    printf ("%*s%s", MAX (0, width - len), "", text);
  else
    printf ("%s%*s", text, MAX (0, width - len), "");
}

static void
print_table (void)
{
  printf ("\n");
  print_cell ("workload", 36, FALSE);
  print_cell ("peer", 34, FALSE);
  print_cell ("median", 12, TRUE);
  print_cell ("min – max", 26, TRUE);
  print_cell ("coproc ÷ peer", 16, TRUE);
  printf ("\n");
  for (guint i = 0; i < 36 + 34 + 12 + 26 + 16; i++)
    printf ("-");
  printf ("\n");

  for (guint w = 0; w < N_WORKLOADS; w++)
    {
      gboolean first = TRUE;

      for (guint pass = 0; pass < 2; pass++)
        {
          for (guint i = 0; i < rows->len; i++)
            {
              Row *row = g_ptr_array_index (rows, i);
              /* Python rows compare with Python coproc, C rows with C coproc. */
              const char *reference = "coproc";
              char label[128];
              char median[32];
              char lo[32];
              char hi[32];
              char range[80];
              char ratio[32];
              gdouble min;
              gdouble max;
              gdouble m;
              gdouble ref;

              if (row->workload != w || row->python != (pass == 1))
                continue;

              m = row_median (row);
              row_range (row, &min, &max);
              ref = median_of (w, reference, row->python);
              format_value (median, sizeof median, w, m);
              format_value (lo, sizeof lo, w, row->values->len ? min : NAN);
              format_value (hi, sizeof hi, w, row->values->len ? max : NAN);
              g_snprintf (range, sizeof range, "%s – %s", lo, hi);
              if (g_str_equal (row->peer, reference) || isnan (ref) || isnan (m))
                g_snprintf (ratio, sizeof ratio, "—");
              else
                g_snprintf (ratio, sizeof ratio, "%.2f", ref / m);
              g_snprintf (label, sizeof label, "%s%s%s", row->python ? "Python: " : "", row->peer,
                          row->failures ? " (failed)" : "");

              print_cell (first ? workload_titles[w] : "", 36, FALSE);
              print_cell (label, 34, FALSE);
              print_cell (median, 12, TRUE);
              print_cell (range, 26, TRUE);
              print_cell (ratio, 16, TRUE);
              printf ("\n");
              first = FALSE;
            }
        }
    }
}

static void
print_target (const char *text,
              gdouble     ratio,
              gdouble     bound,
              gboolean    at_most,
              const char *missing)
{
  gboolean met = at_most ? ratio <= bound : ratio >= bound;

  print_cell (text, 64, FALSE);
  if (isnan (ratio))
    printf ("n/a (%s)\n", missing);
  else
    printf ("%6.2f  %s\n", ratio, met ? "met" : "MISSED");
}

static void
print_targets (void)
{
  gdouble coproc_w1 = median_of (W1, "coproc", FALSE);
  gdouble coproc_w2 = median_of (W2, "coproc", FALSE);
  gdouble coproc_w3 = median_of (W3, "coproc", FALSE);
  gdouble coproc_w3_fd = median_of (W3, "coproc, fd passing", FALSE);
  gdouble raw_w3 = median_of (W3, "raw bytes", FALSE);
  gdouble orig_w4 = median_of (W4, "original coproc", TRUE);
  gdouble py_w1 = median_of (W1, "coproc", TRUE);

  printf ("\nTargets (ratios of medians from this run):\n");
  print_target ("  W1  coproc ≥ 0.9 × minimal framing (msg/s)",
                coproc_w1 / median_of (W1, "minimal GVariant framing", FALSE), 0.9, FALSE,
                "not run");
  print_target ("  W2  coproc ≤ 1.25 × minimal framing (µs per round trip)",
                coproc_w2 / median_of (W2, "minimal GVariant framing", FALSE), 1.25, TRUE,
                "not run");
  print_target ("  W3  coproc ≥ 0.9 × raw socket bandwidth", coproc_w3 / raw_w3, 0.9, FALSE,
                "not run");
  print_target ("  W3  coproc with fd passing ≥ 1.5 × raw socket bandwidth",
                large_threshold_pspec () ? coproc_w3_fd / raw_w3 : NAN, 1.5, FALSE,
                large_threshold_pspec () ? "not run"
                                         : "this build has no " LARGE_THRESHOLD_PROPERTY);
  print_target ("  W4  coproc (C) ≥ 20 × the original Python library",
                median_of (W4, "coproc", FALSE) / orig_w4, 20, FALSE, "original not run");
  print_target ("  W4  coproc (Python) vs the original Python library",
                median_of (W4, "coproc", TRUE) / orig_w4, 1, FALSE, "not run");
  print_target ("  W1  coproc (Python) ≥ 5 × the original Python library",
                py_w1 / median_of (W1, "original coproc", TRUE), 5, FALSE, "not run");
  print_target ("  W1  coproc (Python) ahead of multiprocessing.Pipe",
                py_w1 / median_of (W1, "multiprocessing.Pipe", TRUE), 1, FALSE, "not run");
  print_target ("  W2  coproc (Python) vs multiprocessing.Pipe (µs, lower is better)",
                median_of (W2, "coproc", TRUE) / median_of (W2, "multiprocessing.Pipe", TRUE), 1,
                TRUE, "not run");
}

/* Python ------------------------------------------------------------------ */

static gboolean
run_python (const Params  *p,
            guint          workloads,
            const char    *original,
            GError       **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *typelib = g_build_filename (BENCH_BUILD_ROOT, "introspection",
                                               "Coproc-1.0.typelib", NULL);
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) only = g_string_new (NULL);

  if (!g_file_test (BENCH_PYTHON, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test (typelib, G_FILE_TEST_EXISTS))
    {
      g_printerr ("Python rows skipped: no %s or no %s\n", BENCH_PYTHON, typelib);
      return TRUE;
    }

  for (guint w = 0; w < N_WORKLOADS; w++)
    {
      if (workloads & BIT (w))
        g_string_append_printf (only, "%s%s", only->len ? "," : "", workload_names[w]);
    }

  g_ptr_array_add (argv, g_strdup (BENCH_PYTHON));
  g_ptr_array_add (argv, g_strdup (BENCH_SCRIPT));
  g_ptr_array_add (argv, g_strdup_printf ("--runs=%u", p->runs));
  g_ptr_array_add (argv, g_strdup_printf ("--scale=%g", p->scale));
  g_ptr_array_add (argv, g_strdup_printf ("--only=%s", only->str));
  if (p->quick)
    g_ptr_array_add (argv, g_strdup ("--quick"));
  if (original != NULL)
    g_ptr_array_add (argv, g_strdup_printf ("--original=%s", original));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "GI_TYPELIB_PATH",
                                BENCH_BUILD_ROOT G_DIR_SEPARATOR_S "introspection", TRUE);
  g_subprocess_launcher_setenv (launcher, "LD_LIBRARY_PATH",
                                BENCH_BUILD_ROOT G_DIR_SEPARATOR_S "coproc", TRUE);
  g_subprocess_launcher_setenv (launcher, "PYTHONPATH",
                                BENCH_SOURCE_ROOT G_DIR_SEPARATOR_S "introspection", TRUE);
  g_subprocess_launcher_setenv (launcher, "PYTHONDONTWRITEBYTECODE", "1", TRUE);

  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, error);
  if (proc == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, error))
    return FALSE;

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "\t", 4);

      if (g_strv_length (fields) != 4 || !g_str_equal (fields[0], "RESULT"))
        continue;
      for (guint w = 0; w < N_WORKLOADS; w++)
        {
          if (g_str_equal (fields[1], workload_names[w]))
            {
              Row *row = row_get (w, fields[2], TRUE);
              gdouble v = g_ascii_strtod (fields[3], NULL);

              if (isnan (v))
                row->failures++;
              else
                g_array_append_val (row->values, v);
            }
        }
    }

  return g_subprocess_wait_check (proc, NULL, error);
}

/* Main -------------------------------------------------------------------- */

/* The machine may be shared: the load around the run says how much. */
static void
print_loadavg (const char *when)
{
  g_autofree char *loadavg = NULL;

  if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL))
    printf ("load average %s the run: %s", when, loadavg);
}

static void
print_machine (const Params *p)
{
  g_autofree char *cpuinfo = NULL;
  const char *model = "unknown CPU";
  g_auto(GStrv) lines = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      lines = g_strsplit (cpuinfo, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (g_str_has_prefix (lines[i], "model name"))
            {
              const char *colon = strchr (lines[i], ':');

              if (colon != NULL)
                model = g_strstrip ((char *) colon + 1);
              break;
            }
        }
    }

  printf ("coproc-bench: %s, %ld CPUs online; GLib %u.%u.%u; %u run(s) per peer%s\n",
           model, sysconf (_SC_NPROCESSORS_ONLN), glib_major_version, glib_minor_version,
           glib_micro_version, p->runs, p->quick ? " (quick: counts too small to mean anything)" : "");
  print_loadavg ("before");
  printf ("counts: W1 %" G_GUINT64_FORMAT ", W2 %" G_GUINT64_FORMAT ", W3 %" G_GUINT64_FORMAT
           " × %" G_GUINT64_FORMAT " MiB, W4 %" G_GUINT64_FORMAT " over %u channels and %u priority levels,"
           " mem %" G_GUINT64_FORMAT " (slow peers run fewer and are scaled to the same unit)\n",
           p->count[W1], p->count[W2], p->count[W3], p->w3_size >> 20, p->count[W4],
           p->w4_channels, p->w4_levels, p->count[WMEM]);
}

static guint
parse_workloads (const char *only)
{
  g_auto(GStrv) names = NULL;
  guint mask = 0;

  if (only == NULL)
    return BIT (N_WORKLOADS) - 1;

  names = g_strsplit (only, ",", -1);
  for (guint i = 0; names[i] != NULL; i++)
    {
      for (guint w = 0; w < N_WORKLOADS; w++)
        {
          if (g_ascii_strcasecmp (g_strstrip (names[i]), workload_names[w]) == 0)
            mask |= BIT (w);
        }
    }

  return mask;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *only = NULL;
  g_autofree char *peer_filter = NULL;
  g_auto(GStrv) peer_list = NULL;
  g_autofree char *original = NULL;
  gboolean quick = FALSE;
  gboolean no_python = FALSE;
  gint runs = 0;
  gdouble scale = 1.0;
  gboolean failed = FALSE;
  guint workloads;
  Params p = { 0 };
  int status;
  GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Smoke run: tiny counts, one run", NULL },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per peer (default 5)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Workloads to run (default all)", "W1,W2,W3,W4,mem" },
    { "peers", 0, 0, G_OPTION_ARG_STRING, &peer_filter, "C peers to run (default all)",
      "coproc,coproc-each,coproc-fd,minimal,raw,gdbus,jsonrpc,zmq" },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &scale, "Multiply every count by this", "F" },
    { "no-python", 0, 0, G_OPTION_ARG_NONE, &no_python, "Skip the Python rows", NULL },
    { "original", 0, 0, G_OPTION_ARG_FILENAME, &original,
      "The original Python coproc: a checkout or bare git repository "
      "(default: $COPROC_BENCH_ORIGINAL)", "PATH" },
    { NULL }
  };

  /* Workers first: in a worker process nothing else may run. */
  coproc_worker_register (coproc_worker_names[W1], coproc_worker_w1, NULL);
  coproc_worker_register (coproc_worker_names[W2], coproc_worker_w2, NULL);
  coproc_worker_register (coproc_worker_names[W3], coproc_worker_w3, NULL);
  coproc_worker_register (coproc_worker_names[W4], coproc_worker_w4, NULL);
  coproc_worker_register (coproc_worker_names[WMEM], coproc_worker_mem, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  signal (SIGPIPE, SIG_IGN);

  if (argc > 1 && g_str_equal (argv[1], "--child"))
    return child_main (argc, argv);

  context = g_option_context_new ("— benchmark coproc against other IPC");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (original == NULL && g_getenv ("COPROC_BENCH_ORIGINAL") != NULL)
    original = g_strdup (g_getenv ("COPROC_BENCH_ORIGINAL"));

  p.quick = quick;
  p.runs = runs > 0 ? (guint) runs : quick ? 1 : 5;
  p.scale = scale > 0 ? scale : 1.0;
  p.w4_channels = 64;
  p.w4_levels = 16;
  if (quick)
    {
      p.count[W1] = 5000;
      p.count[W2] = 200;
      p.count[W3] = 4;
      p.w3_size = 1024 * 1024;
      p.count[W4] = 5000;
      p.count[WMEM] = 5000;
    }
  else
    {
      p.count[W1] = 1000000;
      p.count[W2] = 20000;
      p.count[W3] = 64;
      p.w3_size = 16 * 1024 * 1024;
      p.count[W4] = 200000;
      p.count[WMEM] = 1000000;
    }
  for (guint w = 0; w < N_WORKLOADS; w++)
    p.count[w] = MAX (1, (guint64) (p.count[w] * p.scale));

  workloads = parse_workloads (only);
  if (peer_filter != NULL)
    peer_list = g_strsplit (peer_filter, ",", -1);
  large_blob = g_bytes_new_take (g_malloc (p.w3_size), p.w3_size);
  memset ((void *) g_bytes_get_data (large_blob, NULL), 0x5a, p.w3_size);

  rows = g_ptr_array_new_with_free_func (row_free);
  print_machine (&p);

  for (guint w = 0; w < N_WORKLOADS; w++)
    {
      if (!(workloads & BIT (w)))
        continue;

      for (guint r = 0; r < p.runs; r++)
        {
          for (guint i = 0; i < G_N_ELEMENTS (c_peers); i++)
            {
              const Peer *peer = &c_peers[i];
              g_autoptr(GError) run_error = NULL;
              gdouble scale_w = peer->scale[w] > 0 ? peer->scale[w] : 1.0;
              guint64 n = MAX (2, (guint64) (p.count[w] * scale_w));
              gdouble value = NAN;
              Row *row;

              if (!(peer->workloads & BIT (w)))
                continue;
              if (peer_list != NULL && !g_strv_contains ((const char * const *) peer_list, peer->id))
                continue;
              if (peer->run == run_coproc_fd && large_threshold_pspec () == NULL)
                continue;

              row = row_get (w, peer->label, FALSE);
              if (peer->run (&p, w, n, &value, &run_error))
                {
                  g_array_append_val (row->values, value);
                  g_printerr ("%-4s run %u/%u  %-28s %14.2f\n", workload_names[w], r + 1, p.runs,
                              peer->label, value);
                }
              else
                {
                  row->failures++;
                  failed = TRUE;
                  g_printerr ("%-4s run %u/%u  %-28s FAILED: %s\n", workload_names[w], r + 1,
                              p.runs, peer->label, run_error->message);
                }
            }
        }
    }

  if (!no_python && (workloads & (BIT (W1) | BIT (W2) | BIT (W4))))
    {
      if (!run_python (&p, workloads & (BIT (W1) | BIT (W2) | BIT (W4)), original, &error))
        {
          g_printerr ("Python benchmark failed: %s\n", error->message);
          g_clear_error (&error);
          failed = TRUE;
        }
    }

  print_table ();
  print_targets ();
  printf ("\n");
  print_loadavg ("after");

  g_ptr_array_unref (rows);
  g_bytes_unref (large_blob);
  g_free (self_exe);

  return failed ? 1 : 0;
}
