/* test-worker-pool.c: CoprocWorkerPool with real worker processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The workers are coproc-test-worker in its "serve" mode: a job (si) is
 * (operation, number); "echo" answers with the number, "fail" with
 * reply_error() and the number as the code, "hold" keeps the request,
 * "release" answers every request held and then itself, "die" answers
 * those held and exits with the number as its status, "abort" answers
 * those held and aborts.
 */

#include "config.h"

#include <signal.h>
#include <string.h>

#include <coproc.h>

/* Shared with coproc-test-worker.c. */
#define TEST_WORKER_ERROR_DOMAIN "coproc-test-worker-error-quark"

static char *worker_path;

static CoprocWorkerPool *
new_pool (guint n_workers)
{
  const char *argv[] = { worker_path, "serve", NULL };

  return coproc_worker_pool_new (argv, n_workers, G_TYPE_NONE);
}

static GVariant *
op (const char *name,
    gint32      n)
{
  return g_variant_new ("(si)", name, n);
}

/* The outcome of one async job; its callback must run exactly once. */
typedef struct
{
  guint     n_calls;
  guint     order;
  GVariant *reply;
  GError   *error;
} Outcome;

static guint n_done;

static void
submit_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Outcome *o = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_assert_cmpuint (o->n_calls, ==, 0);
  o->n_calls++;
  o->order = ++n_done;
  o->reply = coproc_worker_pool_submit_finish (COPROC_WORKER_POOL (source), result, &o->error);
  g_assert_true ((o->reply == NULL) != (o->error == NULL));
}

static void
submit (CoprocWorkerPool *pool,
        GVariant         *payload,
        GCancellable     *cancellable,
        Outcome          *o)
{
  memset (o, 0, sizeof *o);
  coproc_worker_pool_submit_async (pool, payload, cancellable, submit_cb, o);
}

static void
wait_done (guint n)
{
  while (n_done < n)
    g_main_context_iteration (NULL, TRUE);
}

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->reply, g_variant_unref);
  g_clear_error (&o->error);
}

static void
assert_reply (Outcome *o,
              gint32   n)
{
  g_assert_cmpuint (o->n_calls, ==, 1);
  g_assert_no_error (o->error);
  g_assert_true (g_variant_is_of_type (o->reply, G_VARIANT_TYPE_INT32));
  g_assert_cmpint (g_variant_get_int32 (o->reply), ==, n);
}

static void
assert_error (Outcome *o,
              GQuark   domain,
              gint     code)
{
  g_assert_cmpuint (o->n_calls, ==, 1);
  g_assert_error (o->error, domain, code);
  g_assert_null (o->reply);
}

static void
join_pool (CoprocWorkerPool *pool)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_worker_pool_join (pool, NULL, &error));
  g_assert_no_error (error);
}

static CoprocMessenger *
worker_messenger (CoprocWorkerPool *pool,
                  guint             index)
{
  return coproc_worker_resource_get_messenger (coproc_worker_pool_get_worker (pool, index));
}

/* Each job gets its own answer, on every messenger kind; the jobs spread
 * over the workers; sync and async jobs mix. */
static void
test_results (gconstpointer data)
{
  const char *argv[] = { worker_path, "serve", NULL };
  g_autoptr(CoprocWorkerPool) pool =
    coproc_worker_pool_new (argv, 3, GPOINTER_TO_SIZE (data));
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome outcomes[120];
  guint64 sent = 0;

  g_assert_true (coproc_worker_pool_start (pool, &error));
  g_assert_no_error (error);
  g_assert_false (coproc_worker_pool_start (pool, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_ALIVE);
  g_clear_error (&error);

  n_done = 0;
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    submit (pool, op ("echo", (gint32) i * 7), NULL, &outcomes[i]);
  /* Never from inside the call. */
  g_assert_cmpuint (n_done, ==, 0);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, G_N_ELEMENTS (outcomes));

  /* A blocking job takes its turn after them, and runs without the
   * default context: none of their callbacks runs meanwhile. */
  reply = coproc_worker_pool_submit (pool, op ("echo", -5), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, -5);
  g_assert_cmpuint (n_done, ==, 0);

  wait_done (G_N_ELEMENTS (outcomes));
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      assert_reply (&outcomes[i], (gint32) i * 7);
      outcome_clear (&outcomes[i]);
    }
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);

  for (guint i = 0; i < 3; i++)
    {
      guint64 n = coproc_messenger_requests_sent (worker_messenger (pool, i), NULL);

      g_assert_cmpuint (n, >, 0);
      sent += n;
    }
  g_assert_cmpuint (sent, ==, G_N_ELEMENTS (outcomes) + 1);

  join_pool (pool);
}

/* No worker holds more jobs than jobs-per-worker; the rest wait in the
 * pool, not in a socket; raising the limit lets them go. */
static void
test_jobs_per_worker (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  Outcome outcomes[8];

  g_object_set (pool, "jobs-per-worker", 3, NULL);
  n_done = 0;
  for (guint i = 0; i < 6; i++)
    submit (pool, op ("hold", (gint32) i), NULL, &outcomes[i]);
  submit (pool, op ("release", 6), NULL, &outcomes[6]);
  submit (pool, op ("release", 7), NULL, &outcomes[7]);

  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpuint (coproc_messenger_requests_sent (worker_messenger (pool, i), NULL), ==, 3);
      g_assert_cmpuint (coproc_messenger_remaining (worker_messenger (pool, i), NULL), ==, 3);
    }
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 8);

  /* Spin a while: the held jobs stay held, the others keep waiting. */
  for (guint i = 0; i < 20; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (n_done, ==, 0);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpuint (coproc_messenger_requests_sent (worker_messenger (pool, i), NULL), ==, 3);

  g_object_set (pool, "jobs-per-worker", 4, NULL);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpuint (coproc_messenger_requests_sent (worker_messenger (pool, i), NULL), ==, 4);

  wait_done (8);
  for (guint i = 0; i < 8; i++)
    {
      assert_reply (&outcomes[i], (gint32) i);
      outcome_clear (&outcomes[i]);
    }

  join_pool (pool);
}

/* A job failed by reply_error() fails alone. */
static void
test_reply_error (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  GQuark domain = g_quark_from_static_string (TEST_WORKER_ERROR_DOMAIN);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome outcomes[5];

  n_done = 0;
  submit (pool, op ("echo", 1), NULL, &outcomes[0]);
  submit (pool, op ("fail", 7), NULL, &outcomes[1]);
  submit (pool, op ("echo", 2), NULL, &outcomes[2]);
  submit (pool, op ("fail", 8), NULL, &outcomes[3]);
  submit (pool, op ("echo", 3), NULL, &outcomes[4]);
  wait_done (5);

  assert_reply (&outcomes[0], 1);
  assert_error (&outcomes[1], domain, 7);
  g_assert_cmpstr (outcomes[1].error->message, ==, "request failed with code 7");
  assert_reply (&outcomes[2], 2);
  assert_error (&outcomes[3], domain, 8);
  assert_reply (&outcomes[4], 3);
  for (guint i = 0; i < 5; i++)
    outcome_clear (&outcomes[i]);

  reply = coproc_worker_pool_submit (pool, op ("fail", 9), NULL, &error);
  g_assert_error (error, domain, 9);
  g_assert_null (reply);
  g_clear_error (&error);
  reply = coproc_worker_pool_submit (pool, op ("echo", 4), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 4);

  g_assert_false (coproc_worker_pool_get_failed (pool));
  join_pool (pool);
}

/* Workers killed while 300 jobs run ------------------------------------- */

typedef struct
{
  CoprocWorkerPool *pool;
  Outcome          *outcomes;
  guint             n_kills;
  GPid              killed[3];      /* the last pid killed, per worker */
  guint             n_started;
  guint             n_exited;
} KillState;

static KillState *kill_state;

static void
kill_submit_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  submit_cb (source, result, user_data);

  /* Every 10th completion kills a worker, round robin, while others
   * are in flight. */
  if (n_done % 10 == 0)
    {
      guint index = (n_done / 10) % 3;
      CoprocWorkerResource *worker = coproc_worker_pool_get_worker (kill_state->pool, index);
      GPid pid = coproc_worker_resource_get_pid (worker);

      /* Each process once: a killed one may not be reaped yet. */
      if (pid > 0 && pid != kill_state->killed[index])
        {
          g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
          kill_state->killed[index] = pid;
          kill_state->n_kills++;
        }
    }
}

static void
count_started_cb (CoprocWorkerPool *pool,
                  guint             index,
                  gpointer          user_data)
{
  KillState *state = user_data;

  g_assert_cmpuint (index, <, 3);
  state->n_started++;
}

static void
count_exited_cb (CoprocWorkerPool *pool,
                 guint             index,
                 gint              status,
                 gpointer          user_data)
{
  KillState *state = user_data;

  g_assert_cmpuint (index, <, 3);
  state->n_exited++;
}

static void
test_killed_workers (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  KillState state = { 0 };
  Outcome *outcomes = g_new0 (Outcome, 300);
  guint n_replies = 0, n_died = 0;

  g_test_summary ("Every job ends exactly once, with its answer or WORKER_DIED, "
                  "while workers are killed; the pool goes on working");

  g_object_set (pool, "max-restarts", 1000, NULL);
  g_signal_connect (pool, "worker-started", G_CALLBACK (count_started_cb), &state);
  g_signal_connect (pool, "worker-exited", G_CALLBACK (count_exited_cb), &state);
  state.pool = pool;
  state.outcomes = outcomes;
  kill_state = &state;

  n_done = 0;
  for (guint i = 0; i < 300; i++)
    {
      memset (&outcomes[i], 0, sizeof outcomes[i]);
      coproc_worker_pool_submit_async (pool, op ("echo", (gint32) i), NULL,
                                       kill_submit_cb, &outcomes[i]);
    }
  wait_done (300);

  for (guint i = 0; i < 300; i++)
    {
      g_assert_cmpuint (outcomes[i].n_calls, ==, 1);
      if (outcomes[i].error != NULL)
        {
          assert_error (&outcomes[i], COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
          n_died++;
        }
      else
        {
          assert_reply (&outcomes[i], (gint32) i);
          n_replies++;
        }
      outcome_clear (&outcomes[i]);
    }
  g_assert_cmpuint (n_replies + n_died, ==, 300);
  g_assert_cmpuint (state.n_kills, >=, 10);
  g_test_message ("%u kills, %u replies, %u jobs failed with WORKER_DIED",
                  state.n_kills, n_replies, n_died);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);
  g_assert_false (coproc_worker_pool_get_failed (pool));

  /* Still working, on every worker. */
  reply = coproc_worker_pool_submit (pool, op ("echo", 1000), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 1000);

  /* Each kill was seen and restarted (a kill may land on a worker that
   * was already dying, so count at least). */
  while (state.n_exited < state.n_kills)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (state.n_started, >=, 3 + state.n_kills);

  join_pool (pool);
  kill_state = NULL;
  g_free (outcomes);
}

/* Jobs that kill their workers (exit, abort), among 300: with one job in
 * flight per worker, exactly those fail, with WORKER_DIED; every other
 * job gets its own answer. */
static void
test_deadly_jobs_among_many (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (3);
  Outcome *outcomes = g_new0 (Outcome, 300);
  guint n_deadly = 0;

  g_object_set (pool, "max-restarts", 100, NULL);
  n_done = 0;
  for (guint i = 0; i < 300; i++)
    {
      const char *what = i % 25 == 7 ? (i % 2 ? "die" : "abort") : "echo";

      submit (pool, op (what, (gint32) i), NULL, &outcomes[i]);
    }
  wait_done (300);

  for (guint i = 0; i < 300; i++)
    {
      if (i % 25 == 7)
        {
          assert_error (&outcomes[i], COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
          g_assert_nonnull (strstr (outcomes[i].error->message, i % 2 ? "exited with status"
                                                                       : "killed by signal 6"));
          n_deadly++;
        }
      else
        assert_reply (&outcomes[i], (gint32) i);
      outcome_clear (&outcomes[i]);
    }
  g_assert_cmpuint (n_deadly, ==, 12);
  g_assert_false (coproc_worker_pool_get_failed (pool));

  join_pool (pool);
  g_free (outcomes);
}

/* A job that kills every worker it touches fails alone, after
 * max-attempts attempts; the others get their answers. */
static void
test_deadly_job (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome outcomes[6];

  g_object_set (pool, "max-attempts", 3, "max-restarts", 10, NULL);
  n_done = 0;
  submit (pool, op ("echo", 0), NULL, &outcomes[0]);
  submit (pool, op ("die", 3), NULL, &outcomes[1]);
  for (guint i = 2; i < 6; i++)
    submit (pool, op ("echo", (gint32) i), NULL, &outcomes[i]);
  wait_done (6);

  assert_reply (&outcomes[0], 0);
  assert_error (&outcomes[1], COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (outcomes[1].error->message, "started 3 times"));
  g_assert_nonnull (strstr (outcomes[1].error->message, "exited with status 3"));
  for (guint i = 2; i < 6; i++)
    assert_reply (&outcomes[i], (gint32) i);
  for (guint i = 0; i < 6; i++)
    outcome_clear (&outcomes[i]);

  /* The same, blocking: restarts happen without the default context. */
  g_object_set (pool, "max-attempts", 2, NULL);
  reply = coproc_worker_pool_submit (pool, op ("die", 4), NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_null (reply);
  g_clear_error (&error);
  reply = coproc_worker_pool_submit (pool, op ("echo", 9), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 9);

  g_assert_false (coproc_worker_pool_get_failed (pool));
  join_pool (pool);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  guint *n = user_data;

  (*n)++;
}

/* More than max-restarts restarts within restart-period: the pool gives
 * up, fails every pending and later job with POOL_FAILED, never hangs. */
static void
test_restart_intensity (gconstpointer data)
{
  gboolean blocking = GPOINTER_TO_INT (data);
  g_autoptr(CoprocWorkerPool) pool = new_pool (1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome outcomes[4];
  guint n_notify = 0;

  g_object_set (pool, "max-restarts", 2, "max-attempts", 100, NULL);
  g_signal_connect (pool, "notify::failed", G_CALLBACK (notify_cb), &n_notify);

  n_done = 0;
  if (blocking)
    {
      reply = coproc_worker_pool_submit (pool, op ("die", 1), NULL, &error);
      g_assert_error (error, COPROC_ERROR, COPROC_ERROR_POOL_FAILED);
      g_assert_null (reply);
      g_clear_error (&error);
    }
  else
    {
      submit (pool, op ("die", 1), NULL, &outcomes[0]);
      for (guint i = 1; i < 4; i++)
        submit (pool, op ("echo", (gint32) i), NULL, &outcomes[i]);
      wait_done (4);
      for (guint i = 0; i < 4; i++)
        {
          assert_error (&outcomes[i], COPROC_ERROR, COPROC_ERROR_POOL_FAILED);
          outcome_clear (&outcomes[i]);
        }
    }

  g_assert_true (coproc_worker_pool_get_failed (pool));
  g_assert_cmpuint (n_notify, ==, 1);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);

  /* Later jobs fail at once, both ways. */
  reply = coproc_worker_pool_submit (pool, op ("echo", 5), NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_POOL_FAILED);
  g_clear_error (&error);
  submit (pool, op ("echo", 6), NULL, &outcomes[0]);
  wait_done (blocking ? 1 : 5);
  assert_error (&outcomes[0], COPROC_ERROR, COPROC_ERROR_POOL_FAILED);
  outcome_clear (&outcomes[0]);

  /* Its worker is stopped. */
  while (coproc_worker_resource_is_alive (coproc_worker_pool_get_worker (pool, 0)))
    g_main_context_iteration (NULL, TRUE);
  join_pool (pool);
}

/* Cancelling a waiting job removes it, before it is ever sent; cancelling
 * a running one drops its answer; the worker goes on. */
static void
test_cancel (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (1);
  g_autoptr(GCancellable) cancel_waiting = g_cancellable_new ();
  g_autoptr(GCancellable) cancel_running = g_cancellable_new ();
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  CoprocMessenger *messenger;
  Outcome outcomes[4];

  n_done = 0;
  submit (pool, op ("hold", 1), cancel_running, &outcomes[0]);
  submit (pool, op ("echo", 2), cancel_waiting, &outcomes[1]);
  messenger = worker_messenger (pool, 0);
  g_assert_cmpuint (coproc_messenger_requests_sent (messenger, NULL), ==, 1);

  g_cancellable_cancel (cancel_waiting);
  wait_done (1);
  assert_error (&outcomes[1], G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 1);

  g_cancellable_cancel (cancel_running);
  wait_done (2);
  assert_error (&outcomes[0], G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);

  /* The worker still holds the first job, so its slot is taken until
   * it answers: with a second slot, this job releases it (that answer is
   * dropped) and gets its own. */
  g_object_set (pool, "jobs-per-worker", 2, NULL);
  submit (pool, op ("release", 3), NULL, &outcomes[2]);
  wait_done (3);
  assert_reply (&outcomes[2], 3);
  g_assert_cmpuint (coproc_messenger_requests_sent (messenger, NULL), ==, 2);
  g_assert_cmpuint (coproc_messenger_replies_received (messenger, NULL), ==, 2);

  /* Already cancelled: fails without being sent, both ways. */
  g_cancellable_cancel (cancelled);
  submit (pool, op ("echo", 4), cancelled, &outcomes[3]);
  wait_done (4);
  assert_error (&outcomes[3], G_IO_ERROR, G_IO_ERROR_CANCELLED);
  reply = coproc_worker_pool_submit (pool, op ("echo", 5), cancelled, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (coproc_messenger_requests_sent (messenger, NULL), ==, 2);
  for (guint i = 0; i < 4; i++)
    outcome_clear (&outcomes[i]);

  join_pool (pool);
}

/* Many jobs that share one cancellable: those that ended keep their
 * answers, cancelling ends every other one once, and jobs of another
 * cancellable go on. */
static void
test_cancel_shared (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  g_autoptr(GCancellable) shared = g_cancellable_new ();
  g_autoptr(GCancellable) other = g_cancellable_new ();
  const guint n = 2000;
  Outcome *outcomes = g_new0 (Outcome, n + 2);
  guint n_replies = 0, n_cancelled = 0;

  n_done = 0;
  for (guint i = 0; i < n; i++)
    submit (pool, op ("echo", (gint32) i), shared, &outcomes[i]);
  submit (pool, op ("echo", -1), other, &outcomes[n]);
  wait_done (100);
  g_cancellable_cancel (shared);
  submit (pool, op ("echo", -2), other, &outcomes[n + 1]);
  wait_done (n + 2);
  g_assert_cmpuint (n_done, ==, n + 2);

  for (guint i = 0; i < n; i++)
    {
      if (outcomes[i].reply != NULL)
        {
          assert_reply (&outcomes[i], (gint32) i);
          n_replies++;
        }
      else
        {
          assert_error (&outcomes[i], G_IO_ERROR, G_IO_ERROR_CANCELLED);
          n_cancelled++;
        }
    }
  g_assert_cmpuint (n_replies, >=, 100);
  g_assert_cmpuint (n_cancelled, >, 0);
  g_assert_cmpuint (n_replies + n_cancelled, ==, n);
  assert_reply (&outcomes[n], -1);
  assert_reply (&outcomes[n + 1], -2);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);

  for (guint i = 0; i < n + 2; i++)
    outcome_clear (&outcomes[i]);
  g_free (outcomes);
  join_pool (pool);
}

/* join waits for every pending job, then stops the workers; the pool then
 * takes no more jobs. */
static void
test_join (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome outcomes[20];

  n_done = 0;
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    submit (pool, op ("echo", (gint32) i), NULL, &outcomes[i]);

  join_pool (pool);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);
  for (guint i = 0; i < 2; i++)
    g_assert_false (coproc_worker_resource_is_alive (coproc_worker_pool_get_worker (pool, i)));

  /* Their callbacks run when the default context runs. */
  g_assert_cmpuint (n_done, ==, 0);
  wait_done (G_N_ELEMENTS (outcomes));
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      assert_reply (&outcomes[i], (gint32) i);
      outcome_clear (&outcomes[i]);
    }

  reply = coproc_worker_pool_submit (pool, op ("echo", 1), NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (coproc_worker_pool_join (pool, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (coproc_worker_pool_start (pool, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
}

/* terminate fails every pending job with CLOSED and stops the workers. */
static void
test_terminate (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome outcomes[6];

  n_done = 0;
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    submit (pool, op ("hold", (gint32) i), NULL, &outcomes[i]);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 6);

  coproc_worker_pool_terminate (pool);
  g_assert_cmpuint (coproc_worker_pool_get_pending (pool), ==, 0);
  wait_done (G_N_ELEMENTS (outcomes));
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      assert_error (&outcomes[i], COPROC_ERROR, COPROC_ERROR_CLOSED);
      outcome_clear (&outcomes[i]);
    }

  for (guint i = 0; i < 2; i++)
    while (coproc_worker_resource_is_alive (coproc_worker_pool_get_worker (pool, i)))
      g_main_context_iteration (NULL, TRUE);

  reply = coproc_worker_pool_submit (pool, op ("echo", 1), NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);
  coproc_worker_pool_terminate (pool);
}

static void
test_n_workers_default (void)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (0);
  guint n = 0;

  g_assert_cmpuint (coproc_worker_pool_get_n_workers (pool), ==, g_get_num_processors ());
  g_object_get (pool, "n-workers", &n, NULL);
  g_assert_cmpuint (n, ==, g_get_num_processors ());
  g_assert_nonnull (coproc_worker_pool_get_worker (pool, n - 1));
  g_assert_false (coproc_worker_resource_is_alive (coproc_worker_pool_get_worker (pool, 0)));
}

/* A program that cannot be started: start() says why, jobs fail. */
static void
test_start_fails (void)
{
  const char *argv[] = { "/nonexistent/coproc-worker", NULL };
  g_autoptr(CoprocWorkerPool) pool = coproc_worker_pool_new (argv, 2, G_TYPE_NONE);
  g_autoptr(GError) error = NULL;
  Outcome outcome;

  g_assert_false (coproc_worker_pool_start (pool, &error));
  g_assert_error (error, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
  g_clear_error (&error);

  n_done = 0;
  submit (pool, op ("echo", 1), NULL, &outcome);
  wait_done (1);
  assert_error (&outcome, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
  outcome_clear (&outcome);
}

/* Many pools, jobs and restarts leave no descriptor open. */
typedef struct
{
  guint n_started;
  guint n_exited;
} Lives;

static void
life_started_cb (CoprocWorkerPool *pool,
                 guint             index,
                 gpointer          user_data)
{
  ((Lives *) user_data)->n_started++;
}

static void
life_exited_cb (CoprocWorkerPool *pool,
                guint             index,
                gint              status,
                gpointer          user_data)
{
  ((Lives *) user_data)->n_exited++;
}

/* Runs jobs on a fresh pool (every fourth one kills its worker twice),
 * stops it, and waits until every worker process it started has been
 * seen to exit. */
static void
run_pool_and_stop (guint    n_jobs,
                   gboolean terminate)
{
  g_autoptr(CoprocWorkerPool) pool = new_pool (2);
  g_autoptr(GError) error = NULL;
  Lives lives = { 0 };

  g_object_set (pool, "max-restarts", 100, NULL);
  g_signal_connect (pool, "worker-started", G_CALLBACK (life_started_cb), &lives);
  g_signal_connect (pool, "worker-exited", G_CALLBACK (life_exited_cb), &lives);

  for (guint i = 0; i < n_jobs; i++)
    {
      g_autoptr(GVariant) reply = NULL;

      reply = coproc_worker_pool_submit (pool, op (i % 4 == 3 ? "die" : "echo", 0), NULL, &error);
      if (i % 4 == 3)
        {
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
          g_clear_error (&error);
        }
      else
        g_assert_no_error (error);
    }

  if (terminate)
    coproc_worker_pool_terminate (pool);
  else
    join_pool (pool);

  while (lives.n_exited < lives.n_started)
    g_main_context_iteration (NULL, TRUE);
}

/* The open descriptors, leaving out GLib's pidfds: GLib closes the one
 * of a reaped child in its own worker thread, a moment after the exit
 * was reported, so one may still be open when we count. */
static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/fd/%s", name);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (g_strcmp0 (target, "anon_inode:[pidfd]") != 0)
        n++;
    }

  return n;
}

static void
test_no_fd_leaks (void)
{
  guint before;

  /* Whatever GLib opens once for good (its wakeup descriptors, the
   * child watch) is opened first. */
  run_pool_and_stop (1, FALSE);

  before = count_fds ();
  for (guint round = 0; round < 3; round++)
    run_pool_and_stop (10, round == 2);
  g_assert_cmpuint (count_fds (), ==, before);
}

static char *
find_test_worker (void)
{
  char *path;

  /* G_TEST_BUILDDIR is the tests/ build directory under `meson test`,
   * and this program's own directory when it runs by hand. */
  path = g_test_build_filename (G_TEST_BUILT, "worker", "coproc-test-worker", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_free (path);
      path = g_test_build_filename (G_TEST_BUILT, "coproc-test-worker", NULL);
    }

  return path;
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  worker_path = find_test_worker ();

  g_test_add_data_func ("/Coproc/WorkerPool/results/priority",
                        GSIZE_TO_POINTER (COPROC_TYPE_PRIORITY_MESSENGER), test_results);
  g_test_add_data_func ("/Coproc/WorkerPool/results/multi",
                        GSIZE_TO_POINTER (COPROC_TYPE_MULTI_MESSENGER), test_results);
  g_test_add_func ("/Coproc/WorkerPool/jobs-per-worker", test_jobs_per_worker);
  g_test_add_func ("/Coproc/WorkerPool/reply-error", test_reply_error);
  g_test_add_func ("/Coproc/WorkerPool/killed-workers", test_killed_workers);
  g_test_add_func ("/Coproc/WorkerPool/deadly-job", test_deadly_job);
  g_test_add_func ("/Coproc/WorkerPool/deadly-jobs-among-many", test_deadly_jobs_among_many);
  g_test_add_data_func ("/Coproc/WorkerPool/restart-intensity/async",
                        GINT_TO_POINTER (FALSE), test_restart_intensity);
  g_test_add_data_func ("/Coproc/WorkerPool/restart-intensity/sync",
                        GINT_TO_POINTER (TRUE), test_restart_intensity);
  g_test_add_func ("/Coproc/WorkerPool/cancel", test_cancel);
  g_test_add_func ("/Coproc/WorkerPool/cancel-shared", test_cancel_shared);
  g_test_add_func ("/Coproc/WorkerPool/join", test_join);
  g_test_add_func ("/Coproc/WorkerPool/terminate", test_terminate);
  g_test_add_func ("/Coproc/WorkerPool/n-workers-default", test_n_workers_default);
  g_test_add_func ("/Coproc/WorkerPool/start-fails", test_start_fails);
  g_test_add_func ("/Coproc/WorkerPool/no-fd-leaks", test_no_fd_leaks);

  status = g_test_run ();
  g_free (worker_path);
  return status;
}
