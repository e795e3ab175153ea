/* pool-throughput.c: jobs per second through a CoprocWorkerPool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Tiny jobs (an int64 squared) and short CPU jobs (the primes below
 * 20000, about 2 ms of work each) go through:
 *
 *   single worker     one CoprocWorkerResource, one request_async() at a
 *                     time (the reference)
 *   pool N            a CoprocWorkerPool of N function workers, every job
 *                     submitted at once with submit_async(), jobs-per-worker
 *                     1 (the default) and, for tiny jobs, 4
 *
 * and, for the cost of correlation, send_request() + receive_async()
 * against request_async() on one worker, one at a time.
 *
 * Usage: pool-throughput [--jobs N] [--runs R]   (default 4000 jobs, 5 runs)
 * CPU jobs are a tenth as many. Prints the median (min-max) of jobs per
 * second over the runs. The
 * machine's other load shows in the spread: compare rows of one run.
 */

#include <stdlib.h>

#include <coproc.h>

static guint n_jobs = 4000;
static guint n_runs = 5;

/* The worker: answers (kind, n): kind 0 squares n, kind 1 counts the
 * primes below n. A 1.0-style worker: receive, then send_reply(). */
static int
job_worker (CoprocMessenger *messenger,
            gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(GVariant) job = NULL;
      gint32 kind;
      gint64 n, answer = 0;

      job = coproc_messenger_receive_blocking (messenger, NULL, NULL, NULL);
      if (job == NULL)
        return 0;

      g_variant_get (job, "(ix)", &kind, &n);
      if (kind == 0)
        answer = n * n;
      else
        for (gint64 i = 2; i < n; i++)
          {
            gboolean prime = TRUE;

            for (gint64 d = 2; d * d <= i; d++)
              if (i % d == 0)
                {
                  prime = FALSE;
                  break;
                }
            answer += prime;
          }

      if (!coproc_messenger_send_reply (messenger, g_variant_new_int64 (answer), NULL, NULL))
        return 1;
    }
}

#define PRIME_LIMIT 20000

typedef struct
{
  guint done;
  guint target;
  gint64 check;
} Counter;

static void
pool_job_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Counter *c = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = coproc_worker_pool_submit_finish (COPROC_WORKER_POOL (source),
                                                                result, &error);

  if (reply == NULL)
    g_error ("a job failed: %s", error->message);
  c->check += g_variant_get_int64 (reply);
  c->done++;
}

static gdouble
run_pool (guint  n_workers,
          guint  jobs_per_worker,
          gint32 kind)
{
  g_autoptr(CoprocWorkerPool) pool = coproc_worker_pool_new_for_function ("job", n_workers,
                                                                          G_TYPE_NONE);
  g_autoptr(GError) error = NULL;
  guint n = kind ? MAX (n_jobs / 10, 1) : n_jobs;
  Counter c = { 0, 0, 0 };
  gint64 start;

  g_object_set (pool, "jobs-per-worker", jobs_per_worker, NULL);
  if (!coproc_worker_pool_start (pool, &error))
    g_error ("starting the pool: %s", error->message);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    coproc_worker_pool_submit_async (pool,
                                     g_variant_new ("(ix)", kind, kind ? (gint64) PRIME_LIMIT : (gint64) i),
                                     NULL, pool_job_cb, &c);
  while (c.done < n)
    g_main_context_iteration (NULL, TRUE);

  {
    gdouble rate = n / ((g_get_monotonic_time () - start) / 1e6);

    if (!coproc_worker_pool_join (pool, NULL, &error))
      g_error ("joining: %s", error->message);
    return rate;
  }
}

typedef struct
{
  CoprocMessenger *messenger;
  gint32           kind;
  guint            sent;
  guint            done;
  guint            total;
  gboolean         correlated;
} Serial;

static void serial_next (Serial *s);

static void
serial_request_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Serial *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = coproc_messenger_request_finish (COPROC_MESSENGER (source),
                                                               result, &error);

  if (reply == NULL)
    g_error ("a request failed: %s", error->message);
  s->done++;
  serial_next (s);
}

static void
serial_receive_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Serial *s = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = coproc_messenger_receive_finish (COPROC_MESSENGER (source),
                                                               result, &error);

  if (reply == NULL)
    g_error ("a receive failed: %s", error->message);
  s->done++;
  serial_next (s);
}

static void
serial_next (Serial *s)
{
  g_autoptr(GError) error = NULL;
  GVariant *job;

  if (s->sent == s->total)
    return;
  s->sent++;
  job = g_variant_new ("(ix)", s->kind, s->kind ? (gint64) PRIME_LIMIT : (gint64) s->sent);
  if (s->correlated)
    coproc_messenger_request_async (s->messenger, job, NULL, NULL, serial_request_cb, s);
  else if (coproc_messenger_send_request (s->messenger, job, NULL, &error))
    coproc_messenger_receive_async (s->messenger, NULL, NULL, serial_receive_cb, s);
  else
    g_error ("sending: %s", error->message);
}

static gdouble
run_single (gint32   kind,
            gboolean correlated)
{
  g_autoptr(CoprocWorkerResource) worker = coproc_worker_resource_new_for_function ("job",
                                                                                   G_TYPE_NONE);
  g_autoptr(GError) error = NULL;
  Serial s = { 0 };
  gint64 start;
  gdouble rate;

  if (!coproc_worker_resource_start (worker, &error))
    g_error ("starting the worker: %s", error->message);
  s.messenger = coproc_worker_resource_get_messenger (worker);
  s.kind = kind;
  s.correlated = correlated;
  s.total = kind ? MAX (n_jobs / 10, 1) : n_jobs;

  start = g_get_monotonic_time ();
  serial_next (&s);
  while (s.done < s.total)
    g_main_context_iteration (NULL, TRUE);
  rate = s.total / ((g_get_monotonic_time () - start) / 1e6);

  if (!coproc_worker_resource_join (worker, NULL, &error))
    g_error ("joining: %s", error->message);
  return rate;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return (x > y) - (x < y);
}

typedef gdouble (*RunFunc) (gpointer data);

typedef struct
{
  const char *label;
  gint32      kind;
  guint       n_workers;       /* 0: a single worker resource */
  guint       jobs_per_worker;
  gboolean    correlated;
} Case;

static void
measure (const Case *c)
{
  g_autoptr(GArray) rates = g_array_new (FALSE, FALSE, sizeof (gdouble));

  for (guint r = 0; r < n_runs; r++)
    {
      gdouble rate = c->n_workers == 0 ? run_single (c->kind, c->correlated)
                                       : run_pool (c->n_workers, c->jobs_per_worker, c->kind);

      g_array_append_val (rates, rate);
    }
  g_array_sort (rates, compare_doubles);

  g_print ("%-48s %10.0f jobs/s  (%.0f-%.0f)\n", c->label,
           g_array_index (rates, gdouble, rates->len / 2),
           g_array_index (rates, gdouble, 0), g_array_index (rates, gdouble, rates->len - 1));
}

int
main (int    argc,
      char **argv)
{
  static const Case cases[] = {
    { "tiny jobs, single worker, send_request+receive", 0, 0, 1, FALSE },
    { "tiny jobs, single worker, request_async",        0, 0, 1, TRUE },
    { "tiny jobs, pool of 1",                            0, 1, 1, TRUE },
    { "tiny jobs, pool of 2",                            0, 2, 1, TRUE },
    { "tiny jobs, pool of 4",                            0, 4, 1, TRUE },
    { "tiny jobs, pool of 2, jobs-per-worker 4",         0, 2, 4, TRUE },
    { "primes below 20000, single worker, request_async", 1, 0, 1, TRUE },
    { "primes below 20000, pool of 1",                    1, 1, 1, TRUE },
    { "primes below 20000, pool of 2",                    1, 2, 1, TRUE },
    { "primes below 20000, pool of 4",                    1, 4, 1, TRUE },
  };
  int status;

  coproc_worker_register ("job", job_worker, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--jobs") && i + 1 < argc)
        n_jobs = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      else if (g_str_equal (argv[i], "--runs") && i + 1 < argc)
        n_runs = (guint) g_ascii_strtoull (argv[++i], NULL, 10);
      else
        {
          g_printerr ("usage: %s [--jobs N] [--runs R]\n", argv[0]);
          return 2;
        }
    }
  if (n_jobs == 0 || n_runs == 0)
    return 2;

  g_print ("%u jobs per run, %u runs, %u processors; median (min-max)\n",
           n_jobs, n_runs, g_get_num_processors ());
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    measure (&cases[i]);

  return EXIT_SUCCESS;
}
