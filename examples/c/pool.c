/* pool.c: jobs on a supervised pool of workers, from a main loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A CoprocWorkerPool runs identical workers and hands each job to the
 * least-loaded one. A job is a request; its callback gets that job's
 * reply. Halfway through, this program kills one worker with SIGKILL: the
 * pool restarts it and starts its job again elsewhere, so every result
 * still comes out right.
 *
 * The workers are a function of this program (see choosing-messenger.c
 * for how that works). They answer like any coproc 1.0 worker: receive,
 * then send_reply().
 *
 * Run it: ./pool
 */

#include <signal.h>
#include <stdlib.h>

#include <coproc.h>

#define N_JOBS 40

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("pool: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

/* The worker: squares every number it is sent, until asked to close. */
static int
square_process (CoprocMessenger *messenger,
                gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(GVariant) number = NULL;
      g_autoptr(GError) error = NULL;
      gint64 n;

      number = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (number == NULL)
        return g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED)
               ? EXIT_SUCCESS : EXIT_FAILURE;

      n = g_variant_get_int64 (number);
      if (!coproc_messenger_send_reply (messenger, g_variant_new_int64 (n * n), NULL, &error))
        return EXIT_FAILURE;
    }
}

typedef struct
{
  GMainLoop *loop;
  gint64     results[N_JOBS];
  guint      n_done;
  gboolean   killed;
} State;

typedef struct
{
  State *state;
  guint  index;
} Job;

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CoprocWorkerPool *pool = COPROC_WORKER_POOL (source);
  g_autofree Job *job = user_data;
  State *state = job->state;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = coproc_worker_pool_submit_finish (pool, result, &error);
  if (reply == NULL)
    fail ("a job", error);
  state->results[job->index] = g_variant_get_int64 (reply);

  /* Halfway: kill a worker while it runs a job. */
  if (++state->n_done == N_JOBS / 2)
    {
      GPid pid = coproc_worker_resource_get_pid (coproc_worker_pool_get_worker (pool, 0));

      if (pid > 0)
        {
          kill (pid, SIGKILL);
          state->killed = TRUE;
        }
    }

  if (state->n_done == N_JOBS)
    g_main_loop_quit (state->loop);
}

/* The pool restarts a worker that died; the signal tells when. */
static void
worker_started_cb (CoprocWorkerPool *pool,
                   guint             index,
                   gpointer          user_data)
{
  g_print ("worker %u started\n", index + 1);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(CoprocWorkerPool) pool = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  State state = { 0 };
  int status;

  coproc_worker_register ("square", square_process, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;

  /* Three workers, each running one job at a time. */
  pool = coproc_worker_pool_new_for_function ("square", 3, G_TYPE_NONE);
  g_signal_connect (pool, "worker-started", G_CALLBACK (worker_started_cb), NULL);
  if (!coproc_worker_pool_start (pool, &error))
    fail ("starting the workers", error);

  for (guint i = 0; i < N_JOBS; i++)
    {
      Job *job = g_new0 (Job, 1);

      job->state = &state;
      job->index = i;
      coproc_worker_pool_submit_async (pool, g_variant_new_int64 (i), NULL, job_done_cb, job);
    }
  g_print ("%u jobs submitted to %u workers\n", N_JOBS, coproc_worker_pool_get_n_workers (pool));

  g_main_loop_run (loop);

  for (guint i = 0; i < N_JOBS; i++)
    if (state.results[i] != (gint64) i * i)
      fail ("a result", NULL);
  g_print ("%u results, all right; %s\n", N_JOBS,
           state.killed ? "a worker was killed on the way" : "no worker was killed");

  if (!coproc_worker_pool_join (pool, NULL, &error))
    fail ("joining the pool", error);

  return EXIT_SUCCESS;
}
