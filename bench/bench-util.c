/* bench-util.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Helpers of coproc-bench shared by the driver and the peers: checking
 * what a child answered, plain sockets, starting the children, W4's plan.
 */

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-private.h"

/* Reads one byte of every page of a large payload, as a consumer would,
 * so that no peer gets away with data it never brought in. */
static volatile guint64 touch_sink;

void
touch_pages (const void *data,
             gsize       size)
{
  const guint8 *p = data;
  guint64 sum = 0;

  for (gsize i = 0; i < size; i += 4096)
    sum += p[i];
  touch_sink += sum;
}

gboolean
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

/* The value a run reports, from the elapsed time. */
gdouble
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

int
worker_failed (const char   *what,
               const GError *error)
{
  g_printerr ("coproc-bench worker: %s: %s\n", what, error ? error->message : "bad data");
  return 1;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  gdouble x = *(const gdouble *) a;
  gdouble y = *(const gdouble *) b;

  return x < y ? -1 : x > y ? 1 : 0;
}

/* The median of @values (of gdouble), NAN if there are none. */
gdouble
values_median (GArray *values)
{
  g_autoptr(GArray) sorted = NULL;
  guint n = values->len;

  if (n == 0)
    return NAN;

  sorted = g_array_copy (values);
  g_array_sort (sorted, compare_doubles);
  if (n % 2 == 1)
    return g_array_index (sorted, gdouble, n / 2);
  return (g_array_index (sorted, gdouble, n / 2 - 1) + g_array_index (sorted, gdouble, n / 2)) / 2;
}

/* The smallest and the largest of @values (of gdouble): INFINITY and
 * -INFINITY if there are none. */
void
values_range (GArray  *values,
              gdouble *min,
              gdouble *max)
{
  *min = INFINITY;
  *max = -INFINITY;
  for (guint i = 0; i < values->len; i++)
    {
      *min = MIN (*min, g_array_index (values, gdouble, i));
      *max = MAX (*max, g_array_index (values, gdouble, i));
    }
}

/* Checks that @echo, a W2 peer's answer, is the small message @i. */
gboolean
check_echo (GVariant  *echo,
            guint64    i,
            GError   **error)
{
  gint64 x;

  if (echo == NULL)
    return FALSE;   /* @error is set already */

  if (!small_read (echo, &x) || x != (gint64) i)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Bad echo");
      return FALSE;
    }

  return TRUE;
}

/* W3's payload as the first rows send it: one trusted variant over
 * large_blob, sent again and again. */
GVariant *
large_payload_new (void)
{
  return g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, large_blob, TRUE));
}

/* Plain sockets ----------------------------------------------------------- */

gboolean
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
gboolean
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

gboolean
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
GSubprocess *
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
GSubprocess *
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

/* Waits for @child, started for a run whose outcome so far is @ok, and
 * returns the outcome: a child that failed fails the run, but the first
 * error is the one reported. */
gboolean
child_finish (GSubprocess  *child,
              gboolean      ok,
              GError      **error)
{
  return g_subprocess_wait_check (child, NULL, ok ? error : NULL) && ok;
}

/* Wraps @fd, a connected socket, in a GSocketConnection. @fd is taken,
 * and closed if that fails. */
GSocketConnection *
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

/* W4 --------------------------------------------------------------------- */

void
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

void
w4_plan_clear (W4Plan *plan)
{
  g_clear_pointer (&plan->channels, g_free);
  g_clear_pointer (&plan->priorities, g_free);
}

/* WLOOP ------------------------------------------------------------------- */

void
loop_probe_init (LoopProbe *probe,
                 guint64    n)
{
  probe->loop = g_main_loop_new (NULL, FALSE);
  probe->timeout = NULL;
  probe->delays = g_array_new (FALSE, FALSE, sizeof (gdouble));
  probe->expected = n;
  probe->count = 0;
  probe->sum = 0;
  probe->error = NULL;
}

/* Counts a message the peer's handler took, and reads it as every receiver
 * does. */
void
loop_probe_message (LoopProbe *probe,
                    GVariant  *payload)
{
  gint64 x;

  if (!small_read (payload, &x))
    {
      loop_probe_fail (probe, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                                                   "A message of the flood is not (xs)"));
      return;
    }
  probe->count++;
  probe->sum += x;
}

/* Ends the run with @error (taken), unless it has failed already. */
void
loop_probe_fail (LoopProbe *probe,
                 GError    *error)
{
  if (probe->error == NULL)
    probe->error = error;
  else
    g_error_free (error);
  g_main_loop_quit (probe->loop);
}

static gboolean
loop_probe_tick (gpointer user_data)
{
  LoopProbe *probe = user_data;
  /* The ready time is still the one this dispatch was due at: a timeout
   * source sets the next one after its callback. */
  gdouble delay = (g_get_monotonic_time () - g_source_get_ready_time (probe->timeout)) / 1e3;

  g_array_append_val (probe->delays, delay);
  if (probe->count < probe->expected)
    return G_SOURCE_CONTINUE;

  g_main_loop_quit (probe->loop);
  return G_SOURCE_REMOVE;
}

/* Runs the main loop with the timeout until the flood is over, and gives
 * the median and the longest delay, in ms. The flood must be under way, or
 * about to start, when it is called. */
gboolean
loop_probe_run (LoopProbe  *probe,
                gdouble    *value,
                GError    **error)
{
  gdouble min;

  probe->timeout = g_timeout_source_new (LOOP_INTERVAL_MS);
  g_source_set_callback (probe->timeout, loop_probe_tick, probe, NULL);
  g_source_set_static_name (probe->timeout, "coproc-bench loop probe");
  g_source_attach (probe->timeout, NULL);

  g_main_loop_run (probe->loop);
  g_source_destroy (probe->timeout);

  if (probe->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&probe->error));
      return FALSE;
    }
  if (probe->count != probe->expected || probe->sum != series_sum (probe->expected))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "The host handled %" G_GUINT64_FORMAT " messages (sum %" G_GUINT64_FORMAT
                   "), expected %" G_GUINT64_FORMAT, probe->count, probe->sum, probe->expected);
      return FALSE;
    }

  value[0] = values_median (probe->delays);
  values_range (probe->delays, &min, &value[1]);
  return TRUE;
}

void
loop_probe_clear (LoopProbe *probe)
{
  g_clear_pointer (&probe->timeout, g_source_unref);
  g_clear_pointer (&probe->delays, g_array_unref);
  g_clear_pointer (&probe->loop, g_main_loop_unref);
  g_clear_error (&probe->error);
}
