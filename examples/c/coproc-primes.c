/* coproc-primes.c: offload CPU work to worker processes from a main loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Counts the primes up to a limit by cutting the range into chunks and
 * handing them to several workers, each a process of its own. The host
 * never blocks: it runs a GMainLoop, as a GTK application would, and
 * learns of each result through coproc_messenger_receive_async(). A
 * worker gets its next chunk as soon as it returns one, so fast and slow
 * chunks even out. When all results are in, the host checks the total
 * and stops each worker with coproc_worker_resource_join_async().
 *
 * The workers run a function of this same program (coproc_worker_register()
 * and coproc_worker_dispatch()).
 *
 * Run it: ./coproc-primes [--workers N] [--limit N] [--chunks N]
 */

#include <stdlib.h>
#include <string.h>

#include <coproc.h>

/* The worker ---------------------------------------------------------------- */

static gboolean
is_prime (guint64 n)
{
  if (n < 2)
    return FALSE;
  if (n < 4)
    return TRUE;
  if (n % 2 == 0)
    return FALSE;

  for (guint64 d = 3; d * d <= n; d += 2)
    if (n % d == 0)
      return FALSE;

  return TRUE;
}

/* Each request is a range (lo, hi), hi excluded; each reply is
 * (lo, hi, number of primes in the range). */
static int
primes_worker (CoprocMessenger *messenger,
               gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(GVariant) range = NULL;
      g_autoptr(GError) error = NULL;
      guint64 lo, hi, count = 0;

      range = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (range == NULL)
        return g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED)
               ? EXIT_SUCCESS : EXIT_FAILURE;

      g_variant_get (range, "(tt)", &lo, &hi);
      for (guint64 n = lo; n < hi; n++)
        if (is_prime (n))
          count++;

      if (!coproc_messenger_send_reply (messenger, g_variant_new ("(ttt)", lo, hi, count),
                                        NULL, &error))
        return EXIT_FAILURE;
    }
}

/* The host ------------------------------------------------------------------ */

typedef struct
{
  GMainLoop *loop;
  GPtrArray *workers;      /* of CoprocWorkerResource */
  guint64    limit;
  guint      n_chunks;
  guint      next_chunk;   /* the next chunk to hand out */
  guint      n_done;       /* chunks counted */
  guint      n_joined;     /* workers that exited */
  guint64    total;
  gboolean   failed;
} Primes;

static void receive_result (Primes               *primes,
                            CoprocWorkerResource *worker);

static void
stop (Primes     *primes,
      const char *what,
      GError     *error)
{
  g_printerr ("coproc-primes: %s: %s\n", what, error ? error->message : "failed");
  primes->failed = TRUE;
  g_main_loop_quit (primes->loop);
}

/* Hands chunk number @primes->next_chunk to @worker. Chunks split
 * [1, limit] evenly. */
static gboolean
send_next_chunk (Primes               *primes,
                 CoprocWorkerResource *worker)
{
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GError) error = NULL;
  guint i = primes->next_chunk++;
  guint64 lo = 1 + primes->limit * i / primes->n_chunks;
  guint64 hi = 1 + primes->limit * (i + 1) / primes->n_chunks;

  if (!coproc_messenger_send_request (messenger, g_variant_new ("(tt)", lo, hi), NULL, &error))
    {
      stop (primes, "sending work", error);
      return FALSE;
    }

  return TRUE;
}

static void
print_progress (Primes *primes)
{
  const guint width = 20;
  guint filled = width * primes->n_done / primes->n_chunks;
  char bar[21];

  memset (bar, '#', filled);
  memset (bar + filled, '.', width - filled);
  bar[width] = '\0';

  g_print ("[%s] %u/%u chunks, %" G_GUINT64_FORMAT " primes so far\n",
           bar, primes->n_done, primes->n_chunks, primes->total);
}

static void
joined_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  Primes *primes = user_data;
  g_autoptr(GError) error = NULL;

  if (!coproc_worker_resource_join_finish (COPROC_WORKER_RESOURCE (object), result, &error))
    {
      stop (primes, "stopping a worker", error);
      return;
    }

  if (++primes->n_joined == primes->workers->len)
    g_main_loop_quit (primes->loop);
}

static void
result_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  CoprocWorkerResource *worker = user_data;
  Primes *primes = g_object_get_data (G_OBJECT (worker), "primes");
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint64 lo, hi, count;

  /* A worker that crashed ends up here too, with COPROC_ERROR_WORKER_DIED. */
  reply = coproc_messenger_receive_finish (COPROC_MESSENGER (object), result, &error);
  if (reply == NULL)
    {
      stop (primes, "waiting for a result", error);
      return;
    }
  if (primes->failed)
    return;

  g_variant_get (reply, "(ttt)", &lo, &hi, &count);
  primes->total += count;
  primes->n_done++;
  print_progress (primes);

  if (primes->next_chunk < primes->n_chunks)
    {
      if (send_next_chunk (primes, worker))
        receive_result (primes, worker);
    }
  else
    {
      /* Nothing left for this worker: send it a close request and have
       * joined_cb() called once it exited. */
      coproc_worker_resource_join_async (worker, NULL, joined_cb, primes);
    }
}

static void
receive_result (Primes               *primes,
                CoprocWorkerResource *worker)
{
  coproc_messenger_receive_async (coproc_worker_resource_get_messenger (worker), NULL, NULL,
                                  result_cb, worker);
}

/* π(n) for a few limits, to check the answer. */
static guint64
known_count (guint64 limit)
{
  static const struct { guint64 limit; guint64 count; } known[] = {
    { 1000, 168 }, { 10000, 1229 }, { 100000, 9592 }, { 1000000, 78498 },
    { 2000000, 148933 }, { 5000000, 348513 }, { 10000000, 664579 },
    { 20000000, 1270607 }, { 100000000, 5761455 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (known[i].limit == limit)
      return known[i].count;

  return 0;
}

/* For other limits: a sieve in the host, much faster than the workers'
 * trial division, which is only there to give them something to do. */
static guint64
sieve_count (guint64 limit)
{
  g_autofree guint8 *composite = g_malloc0 (limit + 1);
  guint64 count = 0;

  for (guint64 n = 2; n <= limit; n++)
    {
      if (composite[n])
        continue;
      count++;
      for (guint64 m = n * n; m <= limit; m += n)
        composite[m] = 1;
    }

  return count;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GPtrArray) workers = NULL;
  g_autoptr(GError) error = NULL;
  gint n_workers = 4;
  gint64 limit = 20000000;
  gint n_chunks = 40;
  GOptionEntry entries[] = {
    { "workers", 'w', 0, G_OPTION_ARG_INT, &n_workers, "Number of worker processes (4)", "N" },
    { "limit", 'l', 0, G_OPTION_ARG_INT64, &limit, "Count the primes up to N (20000000)", "N" },
    { "chunks", 'c', 0, G_OPTION_ARG_INT, &n_chunks, "Cut the work into N chunks (40)", "N" },
    { NULL }
  };
  Primes primes = { 0 };
  guint64 expected;
  int status;

  coproc_worker_register ("primes", primes_worker, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  context = g_option_context_new ("- count primes with worker processes");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("coproc-primes: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (n_workers < 1 || limit < 1 || limit > G_MAXINT32 || n_chunks < 1 || n_chunks > limit)
    {
      g_printerr ("coproc-primes: need --workers >= 1, 1 <= --limit < 2^31 and 1 <= --chunks <= --limit\n");
      return EXIT_FAILURE;
    }

  loop = g_main_loop_new (NULL, FALSE);
  workers = g_ptr_array_new_with_free_func (g_object_unref);
  primes.loop = loop;
  primes.workers = workers;
  primes.limit = limit;
  primes.n_chunks = n_chunks;

  g_print ("Counting primes up to %" G_GINT64_FORMAT " with %d workers\n", limit, n_workers);

  /* Start the workers and give each one a first chunk. */
  for (gint i = 0; i < n_workers && primes.next_chunk < primes.n_chunks; i++)
    {
      CoprocWorkerResource *worker;

      worker = coproc_worker_resource_new_for_function ("primes", COPROC_TYPE_PRIORITY_MESSENGER);
      g_ptr_array_add (workers, worker);
      g_object_set_data (G_OBJECT (worker), "primes", &primes);

      if (!coproc_worker_resource_start (worker, &error))
        {
          g_printerr ("coproc-primes: starting a worker: %s\n", error->message);
          return EXIT_FAILURE;
        }

      if (!send_next_chunk (&primes, worker))
        return EXIT_FAILURE;
      receive_result (&primes, worker);
    }

  /* Everything else happens in the callbacks, until every worker exited. */
  g_main_loop_run (loop);

  if (primes.failed)
    {
      /* Releasing the resources kills the workers still running. */
      return EXIT_FAILURE;
    }

  expected = known_count (limit);
  if (expected == 0)
    expected = sieve_count (limit);

  g_print ("%" G_GUINT64_FORMAT " primes up to %" G_GINT64_FORMAT " (expected %" G_GUINT64_FORMAT ")\n",
           primes.total, limit, expected);

  return primes.total == expected ? EXIT_SUCCESS : EXIT_FAILURE;
}
