/* coproc-worker-pool.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * How it works. A job is a correlated request on the default channel of
 * one worker's messenger. The pool learns of its end through
 * _coproc_messenger_request_full(), at the moment the reply (or the
 * worker's hang-up) is read, whichever call or source reads it: the
 * messengers' watches on the pool's context, or the sync calls here,
 * which read the workers' sockets themselves on a private context. So the
 * scheduling never depends on a context the caller is not running.
 *
 * A worker is down from the moment its death is noticed (its messenger's
 * hang-up, or ::exited) until it is restarted, which needs its process
 * reaped (GLib reaps in its own worker thread). Each job in flight on it
 * comes back as an attempt that failed with the hang-up and waits again,
 * in submission order, or fails once it has had max-attempts attempts.
 *
 * The callbacks of async jobs are never run from inside a messenger's
 * read loop: ended jobs go to a queue that an idle source on the pool's
 * context completes.
 */

#include "config.h"

#include <glib-unix.h>

#include "coproc-enums.h"
#include "coproc-error.h"
#include "coproc-messenger-private.h"
#include "coproc-priority-messenger.h"
#include "coproc-worker-pool.h"
#include "coproc-worker-resource.h"

/**
 * CoprocWorkerPool:
 *
 * A supervised pool of identical workers that run jobs.
 *
 * A job is a payload sent to one worker as a request on the default
 * channel (see [method@Coproc.Messenger.request]); it ends with the
 * worker's reply, or with the error of its
 * [method@Coproc.Messenger.reply_error]. Workers are ordinary coproc
 * workers, in any language, or one of this program's registered functions
 * ([ctor@Coproc.WorkerPool.new_for_function]); a worker written for
 * coproc 1.0 (receive, then [method@Coproc.Messenger.send_reply]) serves a
 * pool unchanged.
 *
 * ```c
 * const char *argv[] = { "./my-worker", NULL };
 * g_autoptr(CoprocWorkerPool) pool = coproc_worker_pool_new (argv, 4, G_TYPE_NONE);
 *
 * coproc_worker_pool_submit_async (pool, g_variant_new_int32 (42), NULL, done_cb, NULL);
 * ```
 *
 * Jobs start in submission order, each on the least-loaded worker that has
 * a free slot ([property@Coproc.WorkerPool:jobs-per-worker] jobs in flight
 * at most); the others wait in the pool, not in a socket buffer.
 *
 * A worker that dies, however it dies, is restarted, and each job that was
 * in flight on it is started again on a live worker, up to
 * [property@Coproc.WorkerPool:max-attempts] attempts in all; after that the
 * job fails with %COPROC_ERROR_WORKER_DIED. Every job ends exactly once,
 * with its reply or with an error. When workers are restarted more than
 * [property@Coproc.WorkerPool:max-restarts] times within
 * [property@Coproc.WorkerPool:restart-period] seconds, the pool gives up,
 * as an Erlang/OTP supervisor does: [property@Coproc.WorkerPool:failed]
 * becomes `TRUE`, its workers are stopped, and every pending and later job
 * fails with %COPROC_ERROR_POOL_FAILED.
 *
 * A pool belongs to the thread and the main context that were
 * thread-default when it was made: its signals and the callbacks of
 * [method@Coproc.WorkerPool.submit_async] run there.
 *
 * See [Jobs and pools](jobs.html).
 *
 * Since: 1.2
 */

typedef enum
{
  POOL_NEW,          /* not started */
  POOL_RUNNING,
  POOL_STOPPED,      /* joined, terminated or disposed: final */
} PoolState;

typedef struct _PoolWorker PoolWorker;

struct _CoprocWorkerPool
{
  GObject       parent_instance;

  char        **argv;               /* owned, construct-only; NULL for a function pool */
  char         *function_name;      /* owned; set for a function pool */
  GType         messenger_type;     /* construct-only */
  guint         n_workers;          /* construct-only; never 0 once constructed */
  guint         jobs_per_worker;    /* ≥ 1 */
  guint         max_attempts;       /* ≥ 1 */
  guint         max_restarts;
  guint         restart_period;     /* seconds, ≥ 1 */
  CoprocSandbox sandbox;            /* passed to each worker */
  CoprocWorkerTransport transport;  /* passed to each worker */
  GPtrArray    *sandbox_paths;      /* owned; "r:PATH" or "w:PATH", passed to each worker */

  GMainContext *context;            /* owned: thread-default at construction */
  GPtrArray    *workers;            /* owned, of PoolWorker; made at first use */
  GQueue        waiting;            /* of Job, linked in place, in submission order */
  GQueue        running;            /* of Job, linked in place: jobs with an attempt in flight */
  GQueue        completions;        /* of Job (a reference each): async jobs that ended,
                                     * their tasks to return from @completion_idle */
  GSource      *completion_idle;    /* owned, may be NULL */
  GHashTable   *cancel_groups;      /* owned: GCancellable → CancelGroup, of async jobs */
  GArray       *restart_times;      /* of gint64 (monotonic µs): recent restarts */
  guint64       last_seq;           /* submission number of the last job */
  guint         n_pending;          /* jobs submitted and not ended */

  PoolState     state;
  guint         failed : 1;
  guint         disposed : 1;
  guint         dispatching : 1;    /* dispatch() runs: do not enter it again */
  guint         dispatch_again : 1; /* something changed while dispatch() ran */
};

struct _PoolWorker
{
  CoprocWorkerPool     *pool;       /* borrowed: the pool owns its workers */
  guint                 index;
  CoprocWorkerResource *resource;   /* owned */
  gulong                exited_id;
  guint                 n_running;  /* attempts in flight on its current messenger */
  guint                 down : 1;   /* dead or dying: gets no job until restarted */
};

typedef struct
{
  gint              ref_count;
  CoprocWorkerPool *pool;           /* borrowed: a pending job's task holds the pool */
  GTask            *task;           /* owned, NULL for a sync job and once returned */
  GVariant         *payload;        /* owned */
  guint64           seq;            /* submission number */
  guint             attempts;       /* attempts started */
  GList             link;           /* in pool->waiting or pool->running until ended */
  GQueue           *queue;          /* the queue @link is in, or NULL */
  struct _CancelGroup *cancel_group; /* borrowed, may be NULL: the jobs of its cancellable */
  GList             cancel_link;    /* in cancel_group->jobs */
  GVariant         *reply;          /* owned, may be NULL: the outcome, once ended */
  GError           *error;          /* owned, may be NULL: the outcome, once ended */
  guint             ended : 1;
} Job;

typedef struct
{
  Job             *job;             /* owned reference */
  PoolWorker      *worker;          /* borrowed */
  CoprocMessenger *messenger;       /* owned: the messenger the request went on */
} Attempt;

/* The async jobs that share a cancellable watch it through one source, so
 * that a batch of jobs submitted with one cancellable costs the pool's
 * context one source, not one each. */
typedef struct _CancelGroup
{
  CoprocWorkerPool *pool;           /* borrowed */
  GCancellable     *cancellable;    /* owned */
  GSource          *source;         /* owned */
  GQueue            jobs;           /* of Job, linked in place (cancel_link) */
  guint             firing : 1;     /* its callback runs: it frees the group */
} CancelGroup;

static void cancel_group_free (CancelGroup *group);

G_DEFINE_FINAL_TYPE (CoprocWorkerPool, coproc_worker_pool, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ARGV,
  PROP_MESSENGER_TYPE,
  PROP_N_WORKERS,
  PROP_JOBS_PER_WORKER,
  PROP_MAX_ATTEMPTS,
  PROP_MAX_RESTARTS,
  PROP_RESTART_PERIOD,
  PROP_FAILED,
  PROP_SANDBOX,
  PROP_TRANSPORT,
  N_PROPS
};

enum {
  WORKER_STARTED,
  WORKER_EXITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void dispatch      (CoprocWorkerPool *self);
static void maybe_restart (PoolWorker       *w);

/* Jobs ----------------------------------------------------------------------- */

static Job *
job_ref (Job *job)
{
  job->ref_count++;
  return job;
}

static void
job_unref (Job *job)
{
  if (--job->ref_count > 0)
    return;

  g_assert (job->ended && job->queue == NULL && job->cancel_group == NULL && job->task == NULL);
  g_clear_pointer (&job->payload, g_variant_unref);
  g_clear_pointer (&job->reply, g_variant_unref);
  g_clear_error (&job->error);
  g_free (job);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Job, job_unref)

static gboolean
completion_idle_cb (gpointer user_data)
{
  CoprocWorkerPool *self = user_data;
  g_autoptr(CoprocWorkerPool) hold = NULL;

  hold = g_object_ref (self);
  g_clear_pointer (&self->completion_idle, g_source_unref);

  while (!g_queue_is_empty (&self->completions))
    {
      g_autoptr(Job) job = g_queue_pop_head (&self->completions);
      g_autoptr(GTask) task = g_steal_pointer (&job->task);

      if (job->error != NULL)
        g_task_return_error (task, g_steal_pointer (&job->error));
      else
        g_task_return_pointer (task, g_steal_pointer (&job->reply),
                               (GDestroyNotify) g_variant_unref);
    }

  return G_SOURCE_REMOVE;
}

/* Ends @job with @reply (borrowed) or @error (taken), once: later ends
 * are ignored. An async job's task returns from an idle source. Drops the
 * pool's reference to @job. */
static void
job_end (Job      *job,
         GVariant *reply,
         GError   *error)
{
  CoprocWorkerPool *self = job->pool;

  if (job->ended)
    {
      g_clear_error (&error);
      return;
    }

  job->ended = TRUE;
  if (job->queue != NULL)
    {
      g_queue_unlink (job->queue, &job->link);
      job->queue = NULL;
    }
  if (job->cancel_group != NULL)
    {
      CancelGroup *group = job->cancel_group;

      g_queue_unlink (&group->jobs, &job->cancel_link);
      job->cancel_group = NULL;
      if (g_queue_is_empty (&group->jobs) && !group->firing)
        g_hash_table_remove (self->cancel_groups, group->cancellable);
    }

  g_assert (self->n_pending > 0);
  self->n_pending--;

  job->reply = reply ? g_variant_ref (reply) : NULL;
  job->error = error;

  if (job->task != NULL)
    {
      g_queue_push_tail (&self->completions, job_ref (job));
      if (self->completion_idle == NULL)
        {
          self->completion_idle = g_idle_source_new ();
          g_source_set_priority (self->completion_idle, G_PRIORITY_DEFAULT);
          g_source_set_static_name (self->completion_idle, "[coproc] pool job completions");
          g_source_set_callback (self->completion_idle, completion_idle_cb, self, NULL);
          g_source_attach (self->completion_idle, self->context);
        }
    }

  job_unref (job);
}

static void
fail_all_jobs (CoprocWorkerPool *self,
               GQuark            domain,
               gint              code,
               const char       *message)
{
  while (!g_queue_is_empty (&self->waiting))
    job_end (self->waiting.head->data, NULL, g_error_new_literal (domain, code, message));
  while (!g_queue_is_empty (&self->running))
    job_end (self->running.head->data, NULL, g_error_new_literal (domain, code, message));
}

/* Puts @job back among the waiting jobs, in submission order. */
static void
requeue (Job *job)
{
  CoprocWorkerPool *self = job->pool;
  GList *l;

  g_queue_unlink (job->queue, &job->link);
  for (l = self->waiting.head; l != NULL; l = l->next)
    if (((Job *) l->data)->seq > job->seq)
      break;

  if (l != NULL)
    g_queue_insert_before_link (&self->waiting, l, &job->link);
  else
    g_queue_push_tail_link (&self->waiting, &job->link);
  job->queue = &self->waiting;
}

/* Workers ---------------------------------------------------------------- */

static void
pool_worker_free (gpointer data)
{
  PoolWorker *w = data;

  g_clear_signal_handler (&w->exited_id, w->resource);
  g_clear_object (&w->resource);
  g_free (w);
}

static CoprocMessenger *
worker_messenger (PoolWorker *w)
{
  return coproc_worker_resource_get_messenger (w->resource);
}

/* Marks @w dead or dying, and makes sure its process ends. */
static void
worker_down (PoolWorker *w)
{
  if (w->down)
    return;

  w->down = TRUE;
  if (coproc_worker_resource_is_alive (w->resource))
    coproc_worker_resource_terminate (w->resource, NULL);
}

static gboolean
worker_up (PoolWorker *w)
{
  CoprocMessenger *messenger;

  if (w->down)
    return FALSE;

  messenger = worker_messenger (w);
  if (messenger == NULL || coproc_messenger_is_closed (messenger) ||
      !coproc_worker_resource_is_alive (w->resource))
    {
      worker_down (w);
      return FALSE;
    }

  return TRUE;
}

static void
exited_cb (CoprocWorkerResource *resource,
           gint                  status,
           gpointer              user_data)
{
  PoolWorker *w = user_data;
  g_autoptr(CoprocWorkerPool) self = g_object_ref (w->pool);

  g_signal_emit (self, signals[WORKER_EXITED], 0, w->index, status);

  /* The end of a process already replaced by a new one. */
  if (self->workers == NULL || coproc_worker_resource_is_alive (resource))
    return;

  worker_down (w);
  maybe_restart (w);
  dispatch (self);
}

static void
ensure_workers (CoprocWorkerPool *self)
{
  if (self->workers != NULL || self->disposed)
    return;

  self->workers = g_ptr_array_new_with_free_func (pool_worker_free);
  for (guint i = 0; i < self->n_workers; i++)
    {
      PoolWorker *w = g_new0 (PoolWorker, 1);

      w->pool = self;
      w->index = i;
      if (self->function_name != NULL)
        w->resource = coproc_worker_resource_new_for_function (self->function_name,
                                                               self->messenger_type);
      else
        w->resource = coproc_worker_resource_new ((const char * const *) self->argv,
                                                  self->messenger_type);
      coproc_worker_resource_set_sandbox (w->resource, self->sandbox);
      coproc_worker_resource_set_transport (w->resource, self->transport);
      for (guint j = 0; j < self->sandbox_paths->len; j++)
        {
          const char *entry = g_ptr_array_index (self->sandbox_paths, j);

          coproc_worker_resource_add_sandbox_path (w->resource, entry + 2, entry[0] == 'w');
        }
      w->exited_id = g_signal_connect (w->resource, "exited", G_CALLBACK (exited_cb), w);
      w->down = TRUE;
      g_ptr_array_add (self->workers, w);
    }
}

/* Starts @w's worker on the pool's context. */
static gboolean
worker_start (PoolWorker  *w,
              GError     **error)
{
  CoprocWorkerPool *self = w->pool;
  gboolean ok;

  g_main_context_push_thread_default (self->context);
  ok = coproc_worker_resource_start (w->resource, error);
  g_main_context_pop_thread_default (self->context);

  if (ok)
    w->down = FALSE;
  return ok;
}

static void
pool_fail (CoprocWorkerPool *self,
           const char       *message)
{
  if (self->failed || self->state != POOL_RUNNING)
    return;

  g_object_ref (self);
  self->failed = TRUE;

  fail_all_jobs (self, COPROC_ERROR, COPROC_ERROR_POOL_FAILED, message);
  for (guint i = 0; i < self->workers->len; i++)
    {
      PoolWorker *w = g_ptr_array_index (self->workers, i);

      w->down = FALSE;
      worker_down (w);
    }

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FAILED]);
  g_object_unref (self);
}

/* Counts one more restart; FALSE when that is more than the pool allows. */
static gboolean
note_restart (CoprocWorkerPool *self)
{
  gint64 now = g_get_monotonic_time ();
  gint64 since = now - (gint64) self->restart_period * G_USEC_PER_SEC;
  guint old = 0;

  while (old < self->restart_times->len && g_array_index (self->restart_times, gint64, old) < since)
    old++;
  g_array_remove_range (self->restart_times, 0, old);

  if (self->restart_times->len >= self->max_restarts)
    return FALSE;

  g_array_append_val (self->restart_times, now);
  return TRUE;
}

/* Restarts @w when it is down and its process is gone. */
static void
maybe_restart (PoolWorker *w)
{
  CoprocWorkerPool *self = w->pool;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;

  if (!w->down || self->state != POOL_RUNNING || self->failed ||
      coproc_worker_resource_is_alive (w->resource))
    return;

  /* Take what the dead worker wrote: replies to jobs it finished, then
   * its hang-up, which sends the others back to wait. */
  messenger = worker_messenger (w);
  if (messenger != NULL)
    {
      coproc_messenger_available (messenger, NULL, NULL);
      _coproc_messenger_settle_hangup (messenger);
    }

  if (self->state != POOL_RUNNING || self->failed)
    return;

  if (!note_restart (self))
    {
      g_autofree char *message =
        g_strdup_printf ("The worker pool gave up: its workers were restarted more than %u "
                         "times within %u seconds", self->max_restarts, self->restart_period);

      pool_fail (self, message);
      return;
    }

  if (!worker_start (w, &error))
    {
      g_autofree char *message =
        g_strdup_printf ("The worker pool gave up: worker %u could not be restarted: %s",
                         w->index, error->message);

      pool_fail (self, message);
      return;
    }

  g_signal_emit (self, signals[WORKER_STARTED], 0, w->index);
}

/* Scheduling ------------------------------------------------------------- */

static gboolean
is_hangup (CoprocMessenger *messenger,
           const GError    *error)
{
  return coproc_messenger_is_closed (messenger) &&
         (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED) ||
          g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSED));
}

static void
attempt_finish (Attempt      *attempt,
                GVariant     *reply,
                const GError *error)
{
  PoolWorker *w = attempt->worker;
  CoprocWorkerPool *self = w->pool;
  Job *job = attempt->job;
  gboolean gone = reply == NULL && is_hangup (attempt->messenger, error);

  g_assert (w->n_running > 0);
  w->n_running--;

  if (!job->ended)
    {
      if (reply != NULL)
        job_end (job, reply, NULL);
      else if (!gone)
        job_end (job, NULL, g_error_copy (error));
      else if (job->attempts >= self->max_attempts)
        job_end (job, NULL,
                 g_error_new (COPROC_ERROR, COPROC_ERROR_WORKER_DIED,
                              "The job was started %u times, and each time its worker died; "
                              "the last time: %s", job->attempts, error->message));
      else
        requeue (job);
    }

  if (gone && attempt->messenger == worker_messenger (w))
    worker_down (w);

  job_unref (attempt->job);
  g_object_unref (attempt->messenger);
  g_free (attempt);

  dispatch (self);
}

static void
attempt_done_cb (GVariant     *reply,
                 const GError *error,
                 gpointer      user_data)
{
  attempt_finish (user_data, reply, error);
}

static void
start_attempt (PoolWorker *w,
               Job        *job)
{
  g_autoptr(GError) error = NULL;
  Attempt *attempt;

  g_queue_unlink (job->queue, &job->link);
  g_queue_push_tail_link (&w->pool->running, &job->link);
  job->queue = &w->pool->running;
  job->attempts++;

  attempt = g_new0 (Attempt, 1);
  attempt->job = job_ref (job);
  attempt->worker = w;
  attempt->messenger = g_object_ref (worker_messenger (w));
  w->n_running++;

  if (!_coproc_messenger_request_full (attempt->messenger, job->payload, NULL,
                                       attempt_done_cb, attempt, &error))
    attempt_finish (attempt, NULL, error);
}

/* The live worker with the fewest jobs in flight and a free slot (the
 * first such one on a tie), or NULL. */
static PoolWorker *
least_loaded (CoprocWorkerPool *self)
{
  PoolWorker *best = NULL;

  for (guint i = 0; i < self->workers->len; i++)
    {
      PoolWorker *w = g_ptr_array_index (self->workers, i);

      if (w->n_running >= self->jobs_per_worker || !worker_up (w))
        continue;
      if (best == NULL || w->n_running < best->n_running)
        best = w;
    }

  return best;
}

/* Starts waiting jobs, in submission order, while workers have room. */
static void
dispatch (CoprocWorkerPool *self)
{
  if (self->dispatching)
    {
      self->dispatch_again = TRUE;
      return;
    }

  self->dispatching = TRUE;
  do
    {
      self->dispatch_again = FALSE;
      while (self->state == POOL_RUNNING && !self->failed && !g_queue_is_empty (&self->waiting))
        {
          PoolWorker *w = least_loaded (self);

          if (w == NULL)
            break;
          start_attempt (w, self->waiting.head->data);
        }
    }
  while (self->dispatch_again);
  self->dispatching = FALSE;
}

/* Waiting without a main loop ---------------------------------------------- */

static gboolean
pump_cb (gint         fd,
         GIOCondition condition,
         gpointer     user_data)
{
  PoolWorker *w = user_data;
  CoprocMessenger *messenger = worker_messenger (w);
  g_autoptr(GError) error = NULL;

  /* Reading completes the requests whose replies arrived. A worker that
   * sent an error nobody asked for, or floods the queues, is stopped:
   * reading would get nowhere. */
  coproc_messenger_available (messenger, NULL, &error);
  _coproc_messenger_settle_hangup (messenger);
  if ((error != NULL && !coproc_messenger_is_closed (messenger)) ||
      _coproc_messenger_input_held (messenger))
    worker_down (w);

  return G_SOURCE_REMOVE;
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_REMOVE;
}

typedef gboolean (*DoneFunc) (CoprocWorkerPool *self,
                              gpointer          data);

/* Runs the pool until @done says so, reading the workers' sockets on a
 * private context: no source of any other context runs meanwhile. */
static gboolean
wait_until (CoprocWorkerPool  *self,
            DoneFunc           done,
            gpointer           data,
            GCancellable      *cancellable,
            GError           **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GPtrArray) sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  gboolean ok = TRUE;

  g_main_context_push_thread_default (context);

  while (!done (self, data))
    {
      gboolean restarting = FALSE;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }

      for (guint i = 0; i < self->workers->len; i++)
        {
          PoolWorker *w = g_ptr_array_index (self->workers, i);
          CoprocMessenger *messenger = worker_messenger (w);
          int fd = messenger ? _coproc_messenger_get_fd (messenger) : -1;

          if (w->down && self->state == POOL_RUNNING && !self->failed)
            restarting = TRUE;
          if (fd >= 0 && !coproc_messenger_is_closed (messenger))
            {
              GSource *source = g_unix_fd_source_new (fd, G_IO_IN | G_IO_HUP | G_IO_ERR);

              g_source_set_static_name (source, "[coproc] pool wait");
              g_source_set_callback (source, G_SOURCE_FUNC (pump_cb), w, NULL);
              g_source_attach (source, context);
              g_ptr_array_add (sources, source);
            }
        }

      /* A dead worker's process is reaped by GLib's own thread: look
       * again soon, to restart it. */
      if (restarting)
        {
          GSource *source = g_timeout_source_new (5);

          g_source_set_static_name (source, "[coproc] pool restart wait");
          g_source_set_callback (source, wake_cb, NULL, NULL);
          g_source_attach (source, context);
          g_ptr_array_add (sources, source);
        }

      if (cancellable != NULL)
        {
          GSource *source = g_cancellable_source_new (cancellable);

          g_source_set_static_name (source, "[coproc] pool wait cancelled");
          g_source_set_callback (source, wake_cb, NULL, NULL);
          g_source_attach (source, context);
          g_ptr_array_add (sources, source);
        }

      g_main_context_iteration (context, TRUE);

      for (guint i = 0; i < sources->len; i++)
        g_source_destroy (g_ptr_array_index (sources, i));
      g_ptr_array_set_size (sources, 0);

      for (guint i = 0; i < self->workers->len; i++)
        maybe_restart (g_ptr_array_index (self->workers, i));
      dispatch (self);
    }

  g_main_context_pop_thread_default (context);
  return ok;
}

/* GObject ------------------------------------------------------------------ */

static void
coproc_worker_pool_constructed (GObject *object)
{
  CoprocWorkerPool *self = (CoprocWorkerPool *) object;

  G_OBJECT_CLASS (coproc_worker_pool_parent_class)->constructed (object);

  if (self->n_workers == 0)
    self->n_workers = g_get_num_processors ();
}

static void
coproc_worker_pool_dispose (GObject *object)
{
  CoprocWorkerPool *self = (CoprocWorkerPool *) object;

  g_object_ref (self);
  self->disposed = TRUE;
  if (self->state == POOL_RUNNING)
    {
      self->state = POOL_STOPPED;
      fail_all_jobs (self, COPROC_ERROR, COPROC_ERROR_CLOSED, "The worker pool was disposed");
    }
  self->state = POOL_STOPPED;

  /* Their dispose fails what is still in flight, which ends here. */
  if (self->workers != NULL)
    {
      for (guint i = 0; i < self->workers->len; i++)
        {
          PoolWorker *w = g_ptr_array_index (self->workers, i);

          g_clear_signal_handler (&w->exited_id, w->resource);
          g_object_run_dispose (G_OBJECT (w->resource));
        }
      g_clear_pointer (&self->workers, g_ptr_array_unref);
    }

  if (self->completion_idle != NULL)
    {
      g_source_destroy (self->completion_idle);
      completion_idle_cb (self);
    }

  G_OBJECT_CLASS (coproc_worker_pool_parent_class)->dispose (object);
  g_object_unref (self);
}

static void
coproc_worker_pool_finalize (GObject *object)
{
  CoprocWorkerPool *self = (CoprocWorkerPool *) object;

  g_assert (g_queue_is_empty (&self->waiting) && g_queue_is_empty (&self->running));
  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->function_name, g_free);
  g_clear_pointer (&self->restart_times, g_array_unref);
  g_clear_pointer (&self->cancel_groups, g_hash_table_unref);
  g_clear_pointer (&self->sandbox_paths, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (coproc_worker_pool_parent_class)->finalize (object);
}

static void
coproc_worker_pool_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  CoprocWorkerPool *self = COPROC_WORKER_POOL (object);

  switch (prop_id)
    {
    case PROP_ARGV:
      g_value_set_boxed (value, self->argv);
      break;

    case PROP_MESSENGER_TYPE:
      g_value_set_gtype (value, self->messenger_type);
      break;

    case PROP_N_WORKERS:
      g_value_set_uint (value, self->n_workers);
      break;

    case PROP_JOBS_PER_WORKER:
      g_value_set_uint (value, self->jobs_per_worker);
      break;

    case PROP_MAX_ATTEMPTS:
      g_value_set_uint (value, self->max_attempts);
      break;

    case PROP_MAX_RESTARTS:
      g_value_set_uint (value, self->max_restarts);
      break;

    case PROP_RESTART_PERIOD:
      g_value_set_uint (value, self->restart_period);
      break;

    case PROP_FAILED:
      g_value_set_boolean (value, self->failed);
      break;

    case PROP_SANDBOX:
      g_value_set_enum (value, self->sandbox);
      break;

    case PROP_TRANSPORT:
      g_value_set_enum (value, self->transport);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_uint_prop (CoprocWorkerPool *self,
               guint            *field,
               guint             value,
               guint             prop_id)
{
  if (*field == value)
    return;

  *field = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
coproc_worker_pool_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  CoprocWorkerPool *self = COPROC_WORKER_POOL (object);

  switch (prop_id)
    {
    case PROP_ARGV:
      self->argv = g_value_dup_boxed (value);
      break;

    case PROP_MESSENGER_TYPE:
      {
        GType type = g_value_get_gtype (value);

        if (type != G_TYPE_NONE && type != G_TYPE_INVALID)
          {
            g_return_if_fail (g_type_is_a (type, COPROC_TYPE_MESSENGER) && !G_TYPE_IS_ABSTRACT (type));
            self->messenger_type = type;
          }
      }
      break;

    case PROP_N_WORKERS:
      self->n_workers = g_value_get_uint (value);
      break;

    case PROP_JOBS_PER_WORKER:
      set_uint_prop (self, &self->jobs_per_worker, g_value_get_uint (value), prop_id);
      if (self->workers != NULL)
        dispatch (self);
      break;

    case PROP_MAX_ATTEMPTS:
      set_uint_prop (self, &self->max_attempts, g_value_get_uint (value), prop_id);
      break;

    case PROP_MAX_RESTARTS:
      set_uint_prop (self, &self->max_restarts, g_value_get_uint (value), prop_id);
      break;

    case PROP_RESTART_PERIOD:
      set_uint_prop (self, &self->restart_period, g_value_get_uint (value), prop_id);
      break;

    case PROP_SANDBOX:
      if (self->sandbox != (CoprocSandbox) g_value_get_enum (value))
        {
          self->sandbox = g_value_get_enum (value);
          for (guint i = 0; self->workers != NULL && i < self->workers->len; i++)
            {
              PoolWorker *w = g_ptr_array_index (self->workers, i);

              coproc_worker_resource_set_sandbox (w->resource, self->sandbox);
            }
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    case PROP_TRANSPORT:
      if (self->transport != (CoprocWorkerTransport) g_value_get_enum (value))
        {
          self->transport = g_value_get_enum (value);
          for (guint i = 0; self->workers != NULL && i < self->workers->len; i++)
            {
              PoolWorker *w = g_ptr_array_index (self->workers, i);

              coproc_worker_resource_set_transport (w->resource, self->transport);
            }
          g_object_notify_by_pspec (object, pspec);
        }
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_worker_pool_class_init (CoprocWorkerPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = coproc_worker_pool_constructed;
  object_class->dispose = coproc_worker_pool_dispose;
  object_class->finalize = coproc_worker_pool_finalize;
  object_class->get_property = coproc_worker_pool_get_property;
  object_class->set_property = coproc_worker_pool_set_property;

  /**
   * CoprocWorkerPool:argv:
   *
   * The worker program and its arguments, as for
   * [property@Coproc.WorkerResource:argv]; `NULL` for a pool of function
   * workers.
   *
   * Since: 1.2
   */
  properties[PROP_ARGV] =
    g_param_spec_boxed ("argv", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:messenger-type:
   *
   * The kind of messenger of each worker, as for
   * [property@Coproc.WorkerResource:messenger-type]. The default is
   * [class@Coproc.PriorityMessenger].
   *
   * Since: 1.2
   */
  properties[PROP_MESSENGER_TYPE] =
    g_param_spec_gtype ("messenger-type", NULL, NULL,
                        G_TYPE_NONE,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:n-workers: (getter get_n_workers)
   *
   * How many workers the pool runs. Set to 0 (the default), it becomes the
   * number of processors, `g_get_num_processors()`.
   *
   * Since: 1.2
   */
  properties[PROP_N_WORKERS] =
    g_param_spec_uint ("n-workers", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:jobs-per-worker:
   *
   * How many jobs may be in flight on one worker at once. The default, 1,
   * suits workers that answer one request after the other; a worker that
   * answers with [method@Coproc.Messenger.reply_to] in any order can take
   * more.
   *
   * Since: 1.2
   */
  properties[PROP_JOBS_PER_WORKER] =
    g_param_spec_uint ("jobs-per-worker", NULL, NULL,
                       1, G_MAXUINT, 1,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:max-attempts:
   *
   * How many times in all a job is started when its workers die while
   * running it. After that many, it fails with %COPROC_ERROR_WORKER_DIED:
   * a job that kills every worker it touches fails alone.
   *
   * Since: 1.2
   */
  properties[PROP_MAX_ATTEMPTS] =
    g_param_spec_uint ("max-attempts", NULL, NULL,
                       1, G_MAXUINT, 2,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:max-restarts:
   *
   * How many worker restarts the pool makes within
   * [property@Coproc.WorkerPool:restart-period] seconds; one more, and it
   * gives up (see [property@Coproc.WorkerPool:failed]).
   *
   * Since: 1.2
   */
  properties[PROP_MAX_RESTARTS] =
    g_param_spec_uint ("max-restarts", NULL, NULL,
                       0, G_MAXUINT, 5,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:restart-period:
   *
   * The window, in seconds, in which [property@Coproc.WorkerPool:max-restarts]
   * counts restarts.
   *
   * Since: 1.2
   */
  properties[PROP_RESTART_PERIOD] =
    g_param_spec_uint ("restart-period", NULL, NULL,
                       1, G_MAXUINT, 60,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:failed: (getter get_failed)
   *
   * Whether the pool gave up, because its workers were restarted more
   * than [property@Coproc.WorkerPool:max-restarts] times within
   * [property@Coproc.WorkerPool:restart-period] seconds (or a worker could
   * not be restarted at all). Its workers are then stopped, and every
   * pending and later job fails with %COPROC_ERROR_POOL_FAILED. It never
   * becomes `FALSE` again: make a new pool.
   *
   * Since: 1.2
   */
  properties[PROP_FAILED] =
    g_param_spec_boolean ("failed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:sandbox:
   *
   * How the pool's workers are confined, as
   * [property@Coproc.WorkerResource:sandbox] says; each worker, restarted
   * ones included, gets it, with the paths of
   * [method@Coproc.WorkerPool.add_sandbox_path]. Set it before
   * [method@Coproc.WorkerPool.start]. A sandbox that cannot be set up
   * fails [method@Coproc.WorkerPool.start] with `G_IO_ERROR_NOT_SUPPORTED`.
   *
   * Since: 1.2
   */
  properties[PROP_SANDBOX] =
    g_param_spec_enum ("sandbox", NULL, NULL,
                       COPROC_TYPE_SANDBOX,
                       COPROC_SANDBOX_NONE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerPool:transport:
   *
   * How the pool reaches its workers, as
   * [property@Coproc.WorkerResource:transport] says: with
   * %COPROC_WORKER_TRANSPORT_STDIO the argument vector may be
   * `ssh HOST PROGRAM`, and the pool's workers run on another machine. Set
   * it before [method@Coproc.WorkerPool.start].
   *
   * Since: 1.2
   */
  properties[PROP_TRANSPORT] =
    g_param_spec_enum ("transport", NULL, NULL,
                       COPROC_TYPE_WORKER_TRANSPORT,
                       COPROC_WORKER_TRANSPORT_SOCKET,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CoprocWorkerPool::worker-started:
   * @self: the pool
   * @index: the worker's index, below [property@Coproc.WorkerPool:n-workers]
   *
   * Emitted each time a worker is started: by
   * [method@Coproc.WorkerPool.start], and by each restart.
   *
   * Since: 1.2
   */
  signals[WORKER_STARTED] =
    g_signal_new ("worker-started",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT);

  /**
   * CoprocWorkerPool::worker-exited:
   * @self: the pool
   * @index: the worker's index
   * @wait_status: the wait status of its process, as for
   *   [signal@Coproc.WorkerResource::exited]
   *
   * Emitted once for each worker process that ended, for whatever reason,
   * when the pool's context runs. (A blocking call may have restarted the
   * worker already: this signal can then come after the
   * [signal@Coproc.WorkerPool::worker-started] of the new process.)
   *
   * Since: 1.2
   */
  signals[WORKER_EXITED] =
    g_signal_new ("worker-exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_INT);
}

static void
coproc_worker_pool_init (CoprocWorkerPool *self)
{
  self->messenger_type = COPROC_TYPE_PRIORITY_MESSENGER;
  self->jobs_per_worker = 1;
  self->max_attempts = 2;
  self->max_restarts = 5;
  self->restart_period = 60;
  self->context = g_main_context_ref_thread_default ();
  self->restart_times = g_array_new (FALSE, FALSE, sizeof (gint64));
  self->cancel_groups = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) cancel_group_free);
  self->sandbox_paths = g_ptr_array_new_with_free_func (g_free);
  self->state = POOL_NEW;
}

/* Public API ----------------------------------------------------------------- */

/**
 * coproc_worker_pool_new:
 * @argv: (array zero-terminated=1) (element-type filename): the worker
 *   program and its arguments
 * @n_workers: how many workers to run, or 0 for one per processor
 * @messenger_type: the kind of messenger, a type deriving from
 *   [class@Coproc.Messenger], or `G_TYPE_NONE` for
 *   [class@Coproc.PriorityMessenger]
 *
 * Creates a pool of @n_workers workers, each running @argv. Nothing starts
 * until [method@Coproc.WorkerPool.start] or the first job.
 *
 * Returns: (transfer full): the new pool
 *
 * Since: 1.2
 */
CoprocWorkerPool *
coproc_worker_pool_new (const char * const *argv,
                        guint               n_workers,
                        GType               messenger_type)
{
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  return g_object_new (COPROC_TYPE_WORKER_POOL,
                       "argv", argv,
                       "n-workers", n_workers,
                       "messenger-type", messenger_type,
                       NULL);
}

/**
 * coproc_worker_pool_new_for_function:
 * @name: the name a worker function was registered with, by
 *   [func@Coproc.worker_register]
 * @n_workers: how many workers to run, or 0 for one per processor
 * @messenger_type: the kind of messenger, or `G_TYPE_NONE` for
 *   [class@Coproc.PriorityMessenger]
 *
 * Creates a pool whose workers run one of this program's own functions,
 * as [ctor@Coproc.WorkerResource.new_for_function] does.
 *
 * Returns: (transfer full): the new pool
 *
 * Since: 1.2
 */
CoprocWorkerPool *
coproc_worker_pool_new_for_function (const char *name,
                                     guint       n_workers,
                                     GType       messenger_type)
{
  CoprocWorkerPool *self;

  g_return_val_if_fail (name != NULL && *name != '\0', NULL);

  self = g_object_new (COPROC_TYPE_WORKER_POOL,
                       "n-workers", n_workers,
                       "messenger-type", messenger_type,
                       NULL);
  self->function_name = g_strdup (name);

  return self;
}

/**
 * coproc_worker_pool_start:
 * @self: a pool
 * @error: return location for a `GError`
 *
 * Starts every worker, on the pool's context. The first job starts a pool
 * that was not started; call this to start the workers ahead of time, or
 * to learn early that they cannot be started.
 *
 * Returns: `TRUE` on success; `FALSE` with the error that kept a worker
 *   from starting (the others are stopped then), with
 *   %COPROC_ERROR_WORKER_ALREADY_ALIVE when the pool was started already,
 *   or with %COPROC_ERROR_CLOSED when it was stopped
 *
 * Since: 1.2
 */
gboolean
coproc_worker_pool_start (CoprocWorkerPool  *self,
                          GError           **error)
{
  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state == POOL_RUNNING)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_ALIVE,
                           "The worker pool cannot be started: it is already running");
      return FALSE;
    }
  if (self->state == POOL_STOPPED)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                           "The worker pool cannot be started: it was stopped");
      return FALSE;
    }

  ensure_workers (self);
  for (guint i = 0; i < self->workers->len; i++)
    {
      if (!worker_start (g_ptr_array_index (self->workers, i), error))
        {
          for (guint j = 0; j < i; j++)
            {
              PoolWorker *w = g_ptr_array_index (self->workers, j);

              w->down = FALSE;
              worker_down (w);
            }
          return FALSE;
        }
    }

  self->state = POOL_RUNNING;

  g_object_ref (self);
  for (guint i = 0; self->workers != NULL && i < self->workers->len; i++)
    g_signal_emit (self, signals[WORKER_STARTED], 0, i);
  g_object_unref (self);

  return TRUE;
}

/* Fails with the reason a job cannot be taken now, starting the pool when
 * it was not started yet. */
static gboolean
check_accepting (CoprocWorkerPool  *self,
                 GError           **error)
{
  if (self->state == POOL_NEW && !coproc_worker_pool_start (self, error))
    return FALSE;

  if (self->failed)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_POOL_FAILED,
                           "The worker pool gave up after too many worker restarts");
      return FALSE;
    }
  if (self->state != POOL_RUNNING)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                           "The worker pool was stopped");
      return FALSE;
    }

  return TRUE;
}

static Job *
job_new (CoprocWorkerPool *self,
         GVariant         *payload,
         GTask            *task)
{
  Job *job = g_new0 (Job, 1);

  job->ref_count = 1;
  job->pool = self;
  job->task = task ? g_object_ref (task) : NULL;
  job->payload = g_variant_ref_sink (payload);
  job->seq = ++self->last_seq;
  job->link.data = job;
  g_queue_push_tail_link (&self->waiting, &job->link);
  job->queue = &self->waiting;
  self->n_pending++;

  return job;
}

static gboolean
job_ended (CoprocWorkerPool *self,
           gpointer          data)
{
  return ((Job *) data)->ended;
}

/**
 * coproc_worker_pool_submit:
 * @self: a pool
 * @payload: the job's payload; a floating reference is sunk
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Runs a job and waits for its end: the blocking form of
 * [method@Coproc.WorkerPool.submit_async], for programs and threads that
 * run no main loop. The job takes its turn after the jobs submitted
 * before it.
 *
 * While it waits it runs the pool on a private main context: it reads the
 * workers' sockets itself and restarts workers that die, but runs no
 * source of any other context. So no callback of an async job runs
 * meanwhile (they follow when the pool's context runs), nor any
 * [signal@Coproc.WorkerPool::worker-exited]; only a restart made here
 * emits [signal@Coproc.WorkerPool::worker-started], or a notification of
 * [property@Coproc.WorkerPool:failed]. Call it from the thread that made
 * the pool.
 *
 * Cancelling it ends the job at once with %G_IO_ERROR_CANCELLED: a job
 * still waiting never starts, and the answer of a running one is dropped.
 *
 * Returns: (transfer full): the payload of the worker's reply, or `NULL`
 *   with @error set: the error of the worker's
 *   [method@Coproc.Messenger.reply_error], %COPROC_ERROR_WORKER_DIED when
 *   its workers died [property@Coproc.WorkerPool:max-attempts] times,
 *   %COPROC_ERROR_POOL_FAILED, %COPROC_ERROR_CLOSED when the pool was
 *   stopped, %G_IO_ERROR_CANCELLED, or the error that kept the workers
 *   from starting
 *
 * Since: 1.2
 */
GVariant *
coproc_worker_pool_submit (CoprocWorkerPool  *self,
                           GVariant          *payload,
                           GCancellable      *cancellable,
                           GError           **error)
{
  g_autoptr(GVariant) owned_payload = NULL;
  g_autoptr(Job) job = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), NULL);
  g_return_val_if_fail (payload != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  owned_payload = g_variant_ref_sink (payload);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!check_accepting (self, error))
    return NULL;

  g_object_ref (self);
  job = job_ref (job_new (self, owned_payload, NULL));
  dispatch (self);

  if (!wait_until (self, job_ended, job, cancellable, &local_error))
    job_end (job, NULL, g_steal_pointer (&local_error));
  g_object_unref (self);

  if (job->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&job->error));
      return NULL;
    }

  return g_steal_pointer (&job->reply);
}

static void
cancel_group_free (CancelGroup *group)
{
  g_assert (g_queue_is_empty (&group->jobs));
  g_source_destroy (group->source);
  g_source_unref (group->source);
  g_object_unref (group->cancellable);
  g_free (group);
}

static gboolean
cancel_group_cb (GCancellable *cancellable,
                 gpointer      user_data)
{
  CancelGroup *group = user_data;
  CoprocWorkerPool *self = group->pool;
  g_autoptr(CoprocWorkerPool) hold = NULL;

  /* A waiting job never starts; a running one's answer is dropped. */
  hold = g_object_ref (self);
  group->firing = TRUE;
  while (!g_queue_is_empty (&group->jobs))
    {
      GError *error = NULL;

      g_cancellable_set_error_if_cancelled (cancellable, &error);
      job_end (group->jobs.head->data, NULL, error);
    }
  g_hash_table_remove (self->cancel_groups, cancellable);

  dispatch (self);
  return G_SOURCE_REMOVE;
}

/* Ends @job when @cancellable is cancelled. */
static void
job_watch_cancellable (Job          *job,
                       GCancellable *cancellable)
{
  CoprocWorkerPool *self = job->pool;
  CancelGroup *group = g_hash_table_lookup (self->cancel_groups, cancellable);

  if (group == NULL)
    {
      group = g_new0 (CancelGroup, 1);
      group->pool = self;
      group->cancellable = g_object_ref (cancellable);
      group->source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (group->source, "[coproc] pool jobs cancelled");
      g_source_set_callback (group->source, G_SOURCE_FUNC (cancel_group_cb), group, NULL);
      g_source_attach (group->source, self->context);
      g_hash_table_insert (self->cancel_groups, cancellable, group);
    }

  job->cancel_link.data = job;
  g_queue_push_tail_link (&group->jobs, &job->cancel_link);
  job->cancel_group = group;
}

/**
 * coproc_worker_pool_submit_async:
 * @self: a pool
 * @payload: the job's payload; a floating reference is sunk
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the job ends
 * @user_data: data for @callback
 *
 * Submits a job: it starts, in submission order, on the least-loaded
 * worker that has a free slot, or waits in the pool until one has. Call
 * [method@Coproc.WorkerPool.submit_finish] from @callback to get its
 * result. This never blocks; the first job starts the pool when it was
 * not started.
 *
 * @callback runs exactly once, never from inside this call, on the
 * thread-default main context of this call, as for any `GTask`: the
 * pool's context (the thread-default one when the pool was made), unless
 * another context is pushed around the call. When the job's worker dies, the job starts again on a live
 * worker, up to [property@Coproc.WorkerPool:max-attempts] attempts in all.
 *
 * Cancelling ends the job at once with %G_IO_ERROR_CANCELLED: a job still
 * waiting is removed and never starts; the answer of a running one is
 * dropped when it comes (its worker is busy with it until then).
 *
 * Since: 1.2
 */
void
coproc_worker_pool_submit_async (CoprocWorkerPool    *self,
                                 GVariant            *payload,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GVariant) owned_payload = NULL;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  Job *job;

  g_return_if_fail (COPROC_IS_WORKER_POOL (self));
  g_return_if_fail (payload != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  owned_payload = g_variant_ref_sink (payload);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, coproc_worker_pool_submit_async);
  g_task_set_name (task, "[coproc] pool job");

  if (g_task_return_error_if_cancelled (task))
    return;
  if (!check_accepting (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  job = job_new (self, owned_payload, task);
  if (cancellable != NULL)
    job_watch_cancellable (job, cancellable);

  dispatch (self);
}

/**
 * coproc_worker_pool_submit_finish:
 * @self: a pool
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.WorkerPool.submit_async].
 *
 * Returns: (transfer full): the payload of the worker's reply, or `NULL`
 *   with @error set, as for [method@Coproc.WorkerPool.submit]
 *
 * Since: 1.2
 */
GVariant *
coproc_worker_pool_submit_finish (CoprocWorkerPool  *self,
                                  GAsyncResult      *result,
                                  GError           **error)
{
  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_worker_pool_submit_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
no_job_pending (CoprocWorkerPool *self,
                gpointer          data)
{
  return self->n_pending == 0;
}

/**
 * coproc_worker_pool_join:
 * @self: a pool
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Stops the pool the polite way: waits until no job is pending, then
 * sends each worker a close request and waits for it to exit (see
 * [method@Coproc.WorkerResource.join]). Like
 * [method@Coproc.WorkerPool.submit], it runs the pool on a private
 * context meanwhile, not the caller's; the callbacks of the jobs that
 * ended run when the pool's context runs next.
 *
 * Afterwards the pool takes no more jobs: they fail with
 * %COPROC_ERROR_CLOSED. Cancelling the wait for pending jobs leaves the
 * pool running; cancelling the wait for the workers' exits terminates
 * the workers still running.
 *
 * Returns: `TRUE` once every worker has exited; `FALSE` with
 *   %G_IO_ERROR_CANCELLED, %COPROC_ERROR_CLOSED when the pool was stopped
 *   already, or an error or close request a worker sent and nobody took
 *   (that worker is terminated)
 *
 * Since: 1.2
 */
gboolean
coproc_worker_pool_join (CoprocWorkerPool  *self,
                         GCancellable      *cancellable,
                         GError           **error)
{
  g_autoptr(CoprocWorkerPool) hold = NULL;
  g_autoptr(GError) first_error = NULL;

  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (self->state == POOL_STOPPED)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                           "The worker pool cannot be joined: it was stopped already");
      return FALSE;
    }
  if (self->state == POOL_NEW)
    {
      self->state = POOL_STOPPED;
      return TRUE;
    }

  hold = g_object_ref (self);
  if (!wait_until (self, no_job_pending, NULL, cancellable, error))
    return FALSE;

  self->state = POOL_STOPPED;
  for (guint i = 0; self->workers != NULL && i < self->workers->len; i++)
    {
      PoolWorker *w = g_ptr_array_index (self->workers, i);
      g_autoptr(GError) local_error = NULL;

      CoprocMessenger *messenger = worker_messenger (w);

      if (!coproc_worker_resource_is_alive (w->resource))
        continue;

      /* A worker that hung up cannot be asked to close. */
      if (messenger == NULL || coproc_messenger_is_closed (messenger))
        {
          coproc_worker_resource_terminate (w->resource, NULL);
          continue;
        }

      if (!coproc_worker_resource_join (w->resource, cancellable, &local_error))
        {
          coproc_worker_resource_terminate (w->resource, NULL);
          if (first_error == NULL &&
              !g_error_matches (local_error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD))
            first_error = g_steal_pointer (&local_error);
        }
    }

  if (first_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }

  return TRUE;
}

/**
 * coproc_worker_pool_terminate:
 * @self: a pool
 *
 * Stops the pool at once: every pending job fails with
 * %COPROC_ERROR_CLOSED, and every worker is sent a close request and
 * `SIGTERM` (see [method@Coproc.WorkerResource.terminate]), without
 * waiting for them to exit. Later jobs fail with %COPROC_ERROR_CLOSED.
 *
 * Since: 1.2
 */
void
coproc_worker_pool_terminate (CoprocWorkerPool *self)
{
  g_return_if_fail (COPROC_IS_WORKER_POOL (self));

  if (self->state == POOL_STOPPED)
    return;

  g_object_ref (self);
  self->state = POOL_STOPPED;
  fail_all_jobs (self, COPROC_ERROR, COPROC_ERROR_CLOSED, "The worker pool was terminated");

  for (guint i = 0; self->workers != NULL && i < self->workers->len; i++)
    {
      PoolWorker *w = g_ptr_array_index (self->workers, i);

      if (coproc_worker_resource_is_alive (w->resource))
        coproc_worker_resource_terminate (w->resource, NULL);
    }
  g_object_unref (self);
}

/**
 * coproc_worker_pool_get_n_workers:
 * @self: a pool
 *
 * Gets [property@Coproc.WorkerPool:n-workers]: how many workers the pool
 * runs (the number of processors when it was made with 0).
 *
 * Returns: the number of workers
 *
 * Since: 1.2
 */
guint
coproc_worker_pool_get_n_workers (CoprocWorkerPool *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), 0);

  return self->n_workers;
}

/**
 * coproc_worker_pool_get_worker:
 * @self: a pool
 * @index: a worker index, below [property@Coproc.WorkerPool:n-workers]
 *
 * Gets the resource of one worker, to read its pid or statistics, say.
 * The pool supervises it: do not start, join or terminate it yourself.
 * It is the same object across restarts.
 *
 * Returns: (transfer none) (nullable): the worker's resource, or `NULL`
 *   once the pool was disposed
 *
 * Since: 1.2
 */
CoprocWorkerResource *
coproc_worker_pool_get_worker (CoprocWorkerPool *self,
                               guint             index)
{
  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), NULL);
  g_return_val_if_fail (index < self->n_workers, NULL);

  ensure_workers (self);
  if (self->workers == NULL)
    return NULL;

  return ((PoolWorker *) g_ptr_array_index (self->workers, index))->resource;
}

/**
 * coproc_worker_pool_get_pending:
 * @self: a pool
 *
 * Gets how many jobs were submitted and have not ended yet: those waiting
 * for a worker and those running.
 *
 * Returns: the number of pending jobs
 *
 * Since: 1.2
 */
guint
coproc_worker_pool_get_pending (CoprocWorkerPool *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), 0);

  return self->n_pending;
}

/**
 * coproc_worker_pool_get_failed:
 * @self: a pool
 *
 * Gets [property@Coproc.WorkerPool:failed].
 *
 * Returns: whether the pool gave up
 *
 * Since: 1.2
 */
gboolean
coproc_worker_pool_get_failed (CoprocWorkerPool *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_POOL (self), FALSE);

  return self->failed;
}

/**
 * coproc_worker_pool_add_sandbox_path:
 * @self: a pool
 * @path: (type filename): a file or directory of the host
 * @writable: whether the workers may change it
 *
 * Grants @path to each sandboxed worker of the pool, as
 * [method@Coproc.WorkerResource.add_sandbox_path] does for one worker.
 * Call it before [method@Coproc.WorkerPool.start].
 *
 * Since: 1.2
 */
void
coproc_worker_pool_add_sandbox_path (CoprocWorkerPool *self,
                                     const char       *path,
                                     gboolean          writable)
{
  g_return_if_fail (COPROC_IS_WORKER_POOL (self));
  g_return_if_fail (path != NULL && *path != '\0');

  g_ptr_array_add (self->sandbox_paths, g_strconcat (writable ? "w:" : "r:", path, NULL));
  for (guint i = 0; self->workers != NULL && i < self->workers->len; i++)
    {
      PoolWorker *w = g_ptr_array_index (self->workers, i);

      coproc_worker_resource_add_sandbox_path (w->resource, path, writable);
    }
}
