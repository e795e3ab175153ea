/* test-worker-resource.c: CoprocWorkerResource, worker processes and
 * coproc_messenger_new_for_host()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The workers are coproc-test-worker (see its modes there) and the
 * function workers this program registers for itself.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coproc.h>

/* Shared with coproc-test-worker.c. */
#define TEST_ERROR_DOMAIN   "coproc-test-worker-error-quark"
#define DYING_ERROR_CODE    42
#define DYING_ERROR_MESSAGE "the worker reports an error before dying"
#define FILLER_SIZE         512

/* write-then-die sends this many messages before its error: about 1 MiB,
 * more than the socket holds, so the worker has to wait for us. */
#define N_BEFORE_ERROR      2000

#define FUNCTION_USER_DATA  "user data of the function worker"

static char *worker_path;


static GQuark
test_error_quark (void)
{
  return g_quark_from_static_string (TEST_ERROR_DOMAIN);
}

static CoprocWorkerResource *
test_worker_new (GType       messenger_type,
                 const char *mode,
                 ...) G_GNUC_NULL_TERMINATED;

static CoprocWorkerResource *
test_worker_new (GType       messenger_type,
                 const char *mode,
                 ...)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  const char *arg;
  va_list args;

  g_strv_builder_add (builder, worker_path);
  g_strv_builder_add (builder, mode);
  va_start (args, mode);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_strv_builder_add (builder, arg);
  va_end (args);
  argv = g_strv_builder_end (builder);

  return coproc_worker_resource_new ((const char * const *) argv, messenger_type);
}

static void
start_or_fail (CoprocWorkerResource *worker)
{
  g_autoptr(GError) error = NULL;

  coproc_worker_resource_start (worker, &error);
  g_assert_no_error (error);
}

/* Keeps count of what a resource emits, and checks where. */
typedef struct
{
  CoprocWorkerResource *worker;   /* borrowed */
  GMainContext         *context;  /* borrowed: where ::exited must be emitted */
  GThread              *thread;   /* borrowed: where everything must be emitted */
  guint                 n_exited;
  gint                  status;
  guint                 n_alive_notify;
  gboolean              last_alive;
} WorkerWatch;

static void
watch_exited_cb (CoprocWorkerResource *worker,
                 gint                  status,
                 gpointer              user_data)
{
  WorkerWatch *watch = user_data;

  g_assert_true (worker == watch->worker);
  g_assert_true (g_thread_self () == watch->thread);
  g_assert_true (g_main_context_is_owner (watch->context));
  g_assert_false (coproc_worker_resource_is_alive (worker));

  watch->n_exited++;
  watch->status = status;
}

static void
watch_alive_cb (GObject    *object,
                GParamSpec *pspec,
                gpointer    user_data)
{
  WorkerWatch *watch = user_data;
  gboolean alive;

  g_assert_true (g_thread_self () == watch->thread);

  g_object_get (object, "alive", &alive, NULL);
  watch->n_alive_notify++;
  watch->last_alive = alive;
}

static void
watch_init (WorkerWatch          *watch,
            CoprocWorkerResource *worker,
            GMainContext         *context)
{
  memset (watch, 0, sizeof *watch);
  watch->worker = worker;
  watch->context = context ? context : g_main_context_default ();
  watch->thread = g_thread_self ();

  g_signal_connect (worker, "exited", G_CALLBACK (watch_exited_cb), watch);
  g_signal_connect (worker, "notify::alive", G_CALLBACK (watch_alive_cb), watch);
}

static void
watch_clear (WorkerWatch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->worker, watch);
}

static void
wait_exited (WorkerWatch *watch)
{
  while (watch->n_exited == 0)
    g_main_context_iteration (watch->context, TRUE);
}

/* Runs whatever is ready on @context, without waiting. */
static void
drain_context (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

static void
assert_exited_with (gint status,
                    int  code)
{
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, code);
}

static void
assert_killed_by (gint status,
                  int  signum)
{
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, signum);
}

/* The message of COPROC_ERROR_WORKER_DIED says how the worker ended: its
 * exit status, or the signal that killed it. */
static void
assert_death_message (const GError *error,
                      GPid          pid,
                      int           code,
                      int           signum,
                      gboolean      broken)
{
  g_autoptr(GString) expected = g_string_new (NULL);
  const char *core = ", core dumped";

  if (signum != 0)
    g_string_printf (expected, "Worker process %d was killed by signal %d (%s)",
                     (int) pid, signum, g_strsignal (signum));
  else
    g_string_printf (expected, "Worker process %d exited with status %d", (int) pid, code);

  /* A crash may leave a core file, depending on the system. */
  if (signum != 0 && g_str_has_prefix (error->message, expected->str) &&
      g_str_has_prefix (error->message + expected->len, core))
    g_string_append (expected, core);

  if (broken)
    g_string_append (expected, " in the middle of a message");

  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_cmpstr (error->message, ==, expected->str);
}

/* The SIGPIPE tests make sure SIGPIPE has its default action (coproc never
 * changes it, but anything else in the process might have): a write
 * without MSG_NOSIGNAL would then kill the test. */
static void
sigpipe_default_begin (struct sigaction *saved)
{
  struct sigaction action = { 0 };

  action.sa_handler = SIG_DFL;
  sigemptyset (&action.sa_mask);
  g_assert_cmpint (sigaction (SIGPIPE, &action, saved), ==, 0);
}

static void
sigpipe_default_end (struct sigaction *saved)
{
  struct sigaction action;

  /* Nothing changed it behind our back. */
  g_assert_cmpint (sigaction (SIGPIPE, saved, &action), ==, 0);
  g_assert_true (action.sa_handler == SIG_DFL);
}

/* Blocks until the child @pid has ended. GLib's worker thread reaps it
 * at its own pace: WNOWAIT leaves that to it, and ECHILD means it did. */
static void
wait_child_ended (GPid pid)
{
  siginfo_t info;
  int r;

  do
    r = waitid (P_PID, pid, &info, WEXITED | WNOWAIT);
  while (r < 0 && errno == EINTR);

  g_assert_true (r == 0 || errno == ECHILD);
}

/* Counts this process's open descriptors, leaving out GLib's own event
 * and process descriptors (eventfd, pidfd): its worker thread, which reaps
 * the workers, closes those for a worker (and for the main context a join
 * waited with) a moment after the worker was reaped, on its own schedule.
 * The sockets, pipes and files coproc opens are all counted. */
static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL && !g_str_has_prefix (target, "anon_inode:"))
        n++;
    }

  return n;
}

static void
send_string (CoprocMessenger *messenger,
             const char      *text)
{
  g_autoptr(GError) error = NULL;

  coproc_messenger_send_norequest (messenger, g_variant_new_string (text), NULL, &error);
  g_assert_no_error (error);
}

static void
assert_receive_string (CoprocMessenger *messenger,
                       const char      *expected)
{
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;

  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (payload, NULL), ==, expected);
}

/* Lifecycle --------------------------------------------------------------- */

static void
test_start_join (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "echo", NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  WorkerWatch watch;
  gboolean alive;
  gint pid;

  g_test_summary ("A worker starts with a fresh messenger, answers, and exits 0 when joined");

  watch_init (&watch, worker, NULL);

  g_assert_null (coproc_worker_resource_get_messenger (worker));
  g_assert_false (coproc_worker_resource_is_alive (worker));
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, 0);
  g_assert_true (coproc_worker_resource_get_messenger_type (worker) == COPROC_TYPE_PRIORITY_MESSENGER);

  start_or_fail (worker);
  g_assert_true (coproc_worker_resource_is_alive (worker));
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), >, 0);
  g_object_get (worker, "alive", &alive, "pid", &pid, NULL);
  g_assert_true (alive);
  g_assert_cmpint (pid, ==, coproc_worker_resource_get_pid (worker));
  g_assert_cmpuint (watch.n_alive_notify, ==, 1);
  g_assert_true (watch.last_alive);

  messenger = coproc_worker_resource_get_messenger (worker);
  g_assert_true (COPROC_IS_PRIORITY_MESSENGER (messenger));

  coproc_messenger_send_request (messenger, g_variant_new_string ("hello"), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 1);
  reply = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "hello");
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (coproc_worker_resource_is_alive (worker));
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, 0);
  /* join() does not run the context: ::exited comes when it runs. */
  g_assert_cmpuint (watch.n_exited, ==, 0);

  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  drain_context (NULL);
  g_assert_cmpuint (watch.n_exited, ==, 1);
  g_assert_cmpuint (watch.n_alive_notify, ==, 2);
  g_assert_false (watch.last_alive);

  watch_clear (&watch);
}

static void
test_start_twice (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "echo", NULL);
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  GPid pid;

  g_test_summary ("Starting a running worker fails with WORKER_ALREADY_ALIVE and changes nothing");

  start_or_fail (worker);
  messenger = coproc_worker_resource_get_messenger (worker);
  pid = coproc_worker_resource_get_pid (worker);

  g_assert_false (coproc_worker_resource_start (worker, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_ALIVE);
  g_clear_error (&error);

  g_assert_true (coproc_worker_resource_get_messenger (worker) == messenger);
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, pid);
  send_string (messenger, "still here");
  assert_receive_string (messenger, "still here");

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
}

typedef struct
{
  guint     n_calls;
  gboolean  ok;
  GError   *error;
} JoinResult;

static void
join_done_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  JoinResult *join = user_data;

  join->n_calls++;
  join->ok = coproc_worker_resource_join_finish (COPROC_WORKER_RESOURCE (object), result,
                                                 &join->error);
}

static void
assert_join_async_fails (CoprocWorkerResource *worker,
                         GQuark                domain,
                         gint                  code)
{
  JoinResult join = { 0 };

  coproc_worker_resource_join_async (worker, NULL, join_done_cb, &join);
  while (join.n_calls == 0)
    g_main_context_iteration (NULL, TRUE);
  drain_context (NULL);

  g_assert_cmpuint (join.n_calls, ==, 1);
  g_assert_false (join.ok);
  g_assert_error (join.error, domain, code);
  g_clear_error (&join.error);
}

static void
test_never_started (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "echo", NULL);
  g_autoptr(GError) error = NULL;

  g_test_summary ("join and terminate of a worker never started fail with WORKER_ALREADY_DEAD");

  g_assert_false (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
  g_clear_error (&error);

  g_assert_false (coproc_worker_resource_terminate (worker, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
  g_clear_error (&error);

  assert_join_async_fails (worker, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);

  g_assert_false (coproc_worker_resource_is_alive (worker));
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, 0);
  g_assert_null (coproc_worker_resource_get_messenger (worker));
}

static void
test_already_dead (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "exit1", NULL);
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  WorkerWatch watch;

  g_test_summary ("join and terminate of a worker that exited fail with WORKER_ALREADY_DEAD, "
                  "and its messenger reports WORKER_DIED");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  wait_exited (&watch);
  assert_exited_with (watch.status, 1);

  g_assert_false (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
  g_clear_error (&error);

  g_assert_false (coproc_worker_resource_terminate (worker, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
  g_clear_error (&error);

  assert_join_async_fails (worker, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);

  payload = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                               NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  g_assert_cmpuint (watch.n_exited, ==, 1);
  watch_clear (&watch);
}

static void
test_restart (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "echo", NULL);
  g_autoptr(CoprocMessenger) first = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *second;
  WorkerWatch watch;

  g_test_summary ("A worker can be started again after it exited; it gets a fresh messenger");

  watch_init (&watch, worker, NULL);

  start_or_fail (worker);
  first = g_object_ref (coproc_worker_resource_get_messenger (worker));
  send_string (first, "one");
  assert_receive_string (first, "one");
  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_exited_with (watch.status, 0);

  start_or_fail (worker);
  second = coproc_worker_resource_get_messenger (worker);
  g_assert_true (second != first);
  g_assert_true (coproc_messenger_is_closed (first));
  g_assert_false (coproc_messenger_is_closed (second));
  g_assert_cmpuint (coproc_messenger_messages_sent (second, NULL), ==, 0);
  send_string (second, "two");
  assert_receive_string (second, "two");

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  while (watch.n_exited < 2)
    g_main_context_iteration (NULL, TRUE);
  drain_context (NULL);

  g_assert_cmpuint (watch.n_exited, ==, 2);
  g_assert_cmpuint (watch.n_alive_notify, ==, 4);
  watch_clear (&watch);
}

static void
test_restart_before_exited (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "exit1", NULL);
  WorkerWatch watch;

  g_test_summary ("Each worker gets its ::exited, even when the next one was started before "
                  "the main loop ran");

  watch_init (&watch, worker, NULL);

  start_or_fail (worker);
  while (coproc_worker_resource_is_alive (worker))
    ;
  start_or_fail (worker);
  while (coproc_worker_resource_is_alive (worker))
    ;

  while (watch.n_exited < 2)
    g_main_context_iteration (NULL, TRUE);
  drain_context (NULL);

  g_assert_cmpuint (watch.n_exited, ==, 2);
  assert_exited_with (watch.status, 1);
  watch_clear (&watch);
}

static void
test_start_missing_program (void)
{
  const char *argv[] = { "/nonexistent/coproc-no-such-worker", NULL };
  g_autoptr(CoprocWorkerResource) worker = coproc_worker_resource_new (argv, G_TYPE_NONE);
  g_autoptr(GError) error = NULL;

  g_test_summary ("A program that cannot be run fails start() and leaves the resource idle");

  /* In a subprocess: the child that fails to exec is a copy of this
   * process, and a fresh one has no work of other tests in flight for
   * memory checkers to report. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  g_assert_false (coproc_worker_resource_start (worker, &error));
  g_assert_nonnull (error);
  g_assert_false (coproc_worker_resource_is_alive (worker));
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, 0);
  g_assert_null (coproc_worker_resource_get_messenger (worker));
}

static void
test_terminate_no_main_loop (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "sleep-forever", NULL);
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  WorkerWatch watch;

  g_test_summary ("After terminate(), a loop on is_alive() ends without any main loop running "
                  "(the original's `while w.is_alive(): pass`)");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);

  coproc_worker_resource_terminate (worker, &error);
  g_assert_no_error (error);

  while (coproc_worker_resource_is_alive (worker))
    ;

  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, 0);
  g_assert_cmpuint (watch.n_exited, ==, 0);   /* no main loop ran yet */

  payload = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                               NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  wait_exited (&watch);
  assert_killed_by (watch.status, SIGTERM);
  watch_clear (&watch);
}

static gboolean
error_seen_cb (CoprocMessenger *messenger,
               const GError    *error,
               gpointer         user_data)
{
  guint *n_seen = user_data;

  (*n_seen)++;
  return FALSE;   /* leave it pending */
}

static void
test_join_surfaces_pending_error (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "error-then-echo", NULL);
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  WorkerWatch watch;
  guint n_seen = 0;

  g_test_summary ("join() first fails with an error the worker already sent, "
                  "leaving the worker running; joining again stops it");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  messenger = coproc_worker_resource_get_messenger (worker);

  g_signal_connect (messenger, "error-received", G_CALLBACK (error_seen_cb), &n_seen);
  while (n_seen == 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_error (error, test_error_quark (), 7);
  g_assert_cmpstr (error->message, ==, "the worker reports a failure");
  g_clear_error (&error);
  g_assert_true (coproc_worker_resource_is_alive (worker));

  g_assert_true (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  g_assert_cmpuint (n_seen, ==, 1);

  watch_clear (&watch);
}

static void
test_join_async (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "echo", NULL);
  JoinResult join = { 0 };
  WorkerWatch watch;

  g_test_summary ("join_async() sends a close request and completes once the worker exited, "
                  "after ::exited");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  send_string (coproc_worker_resource_get_messenger (worker), "before joining");
  assert_receive_string (coproc_worker_resource_get_messenger (worker), "before joining");

  coproc_worker_resource_join_async (worker, NULL, join_done_cb, &join);
  while (join.n_calls == 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_no_error (join.error);
  g_assert_true (join.ok);
  g_assert_false (coproc_worker_resource_is_alive (worker));
  /* ::exited came first, and alive was notified. */
  g_assert_cmpuint (watch.n_exited, ==, 1);
  g_assert_false (watch.last_alive);

  wait_exited (&watch);
  drain_context (NULL);
  assert_exited_with (watch.status, 0);
  g_assert_cmpuint (join.n_calls, ==, 1);
  g_assert_cmpuint (watch.n_exited, ==, 1);
  watch_clear (&watch);
}

static void
test_join_async_cancelled (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "sleep-forever", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  JoinResult join = { 0 };
  WorkerWatch watch;

  g_test_summary ("Cancelling join_async() stops the wait, not the worker");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);

  coproc_worker_resource_join_async (worker, cancellable, join_done_cb, &join);
  g_cancellable_cancel (cancellable);
  while (join.n_calls == 0)
    g_main_context_iteration (NULL, TRUE);

  g_assert_false (join.ok);
  g_assert_error (join.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&join.error);
  g_assert_true (coproc_worker_resource_is_alive (worker));

  coproc_worker_resource_terminate (worker, &error);
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_killed_by (watch.status, SIGTERM);
  g_assert_cmpuint (join.n_calls, ==, 1);
  watch_clear (&watch);
}

static void
test_dispose_running (void)
{
  CoprocWorkerResource *worker = test_worker_new (G_TYPE_NONE, "sleep-forever", NULL);
  GPid pid;

  g_test_summary ("Releasing the last reference to a resource kills its running worker");

  start_or_fail (worker);
  pid = coproc_worker_resource_get_pid (worker);

  g_object_add_weak_pointer (G_OBJECT (worker), (gpointer *) &worker);
  g_object_unref (worker);
  g_assert_null (worker);

  wait_child_ended (pid);
}

/* Signals ----------------------------------------------------------------- */

static void
test_signals_on_start_context (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "exit1", "after-message", NULL);
  g_autoptr(GMainContext) context = g_main_context_new ();
  WorkerWatch watch;

  g_test_summary ("`alive` notifies and ::exited is emitted once, with the status, on the "
                  "context that was thread-default when start() was called");

  watch_init (&watch, worker, context);

  g_main_context_push_thread_default (context);
  start_or_fail (worker);
  g_main_context_pop_thread_default (context);

  g_assert_cmpuint (watch.n_alive_notify, ==, 1);
  g_assert_true (watch.last_alive);

  send_string (coproc_worker_resource_get_messenger (worker), "exit now");

  /* Only @context runs: watch_exited_cb() checks that it is the owner. */
  wait_exited (&watch);
  assert_exited_with (watch.status, 1);
  drain_context (context);
  drain_context (NULL);

  g_assert_cmpuint (watch.n_exited, ==, 1);
  g_assert_cmpuint (watch.n_alive_notify, ==, 2);
  g_assert_false (watch.last_alive);

  watch_clear (&watch);
}

static gpointer
start_in_thread (gpointer data)
{
  CoprocWorkerResource *worker = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  WorkerWatch watch;

  g_main_context_push_thread_default (context);

  watch_init (&watch, worker, context);
  start_or_fail (worker);
  send_string (coproc_worker_resource_get_messenger (worker), "exit now");
  wait_exited (&watch);
  drain_context (context);

  assert_exited_with (watch.status, 1);
  g_assert_cmpuint (watch.n_exited, ==, 1);
  g_assert_cmpuint (watch.n_alive_notify, ==, 2);
  watch_clear (&watch);

  g_main_context_pop_thread_default (context);

  return NULL;
}

static void
test_signals_in_thread (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "exit1", "after-message", NULL);
  GThread *thread;

  g_test_summary ("A worker started from another thread with its own context signals there");

  thread = g_thread_new ("start-in-thread", start_in_thread, worker);
  g_thread_join (thread);
}

/* Exit statuses, ::closed, and a pending receive_async ---------------------- */

typedef struct
{
  const char *mode;
  const char *arg;
  int         code;      /* exit code, or -1 */
  int         signum;    /* terminating signal, or 0 */
  gboolean    broken;    /* ::closed carries an error */
} ExitCase;

typedef struct
{
  guint     n_done;
  GVariant *first;
  GError   *second_error;
} PendingPair;

static void
pair_first_cb (GObject      *object,
               GAsyncResult *result,
               gpointer      user_data)
{
  PendingPair *pair = user_data;
  g_autoptr(GError) error = NULL;

  pair->first = coproc_messenger_receive_finish (COPROC_MESSENGER (object), result, &error);
  g_assert_no_error (error);
  pair->n_done++;
}

static void
pair_second_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  PendingPair *pair = user_data;
  g_autoptr(GVariant) payload = NULL;

  payload = coproc_messenger_receive_finish (COPROC_MESSENGER (object), result, &pair->second_error);
  g_assert_null (payload);
  pair->n_done++;
}

typedef struct
{
  guint    n_closed;
  gboolean with_error;
} ClosedCount;

static void
closed_cb (CoprocMessenger *messenger,
           const GError    *error,
           gpointer         user_data)
{
  ClosedCount *closed = user_data;

  closed->n_closed++;
  closed->with_error = error != NULL;
}

static void
test_exit_status (gconstpointer data)
{
  const ExitCase *exit_case = data;
  g_autoptr(CoprocWorkerResource) worker = NULL;
  PendingPair pair = { 0 };
  ClosedCount closed = { 0 };
  CoprocMessenger *messenger;
  WorkerWatch watch;
  GPid pid;

  g_test_summary ("A worker that ends after a message: two pending receive_async calls get the "
                  "message, then WORKER_DIED; ::closed and ::exited come once, with the status");

  worker = test_worker_new (G_TYPE_NONE, exit_case->mode, exit_case->arg, NULL);
  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  messenger = coproc_worker_resource_get_messenger (worker);
  pid = coproc_worker_resource_get_pid (worker);
  g_signal_connect (messenger, "closed", G_CALLBACK (closed_cb), &closed);

  coproc_messenger_receive_async (messenger, NULL, NULL, pair_first_cb, &pair);
  coproc_messenger_receive_async (messenger, NULL, NULL, pair_second_cb, &pair);
  send_string (messenger, "go");

  while (pair.n_done < 2 || watch.n_exited == 0 || closed.n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  drain_context (NULL);

  g_assert_cmpstr (g_variant_get_string (pair.first, NULL), ==, "ack");
  g_assert_error (pair.second_error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_cmpuint (pair.n_done, ==, 2);
  g_assert_cmpuint (closed.n_closed, ==, 1);
  g_assert_cmpint (closed.with_error, ==, exit_case->broken);
  g_assert_cmpuint (watch.n_exited, ==, 1);
  if (exit_case->signum != 0)
    assert_killed_by (watch.status, exit_case->signum);
  else
    assert_exited_with (watch.status, exit_case->code);
  assert_death_message (pair.second_error, pid, exit_case->code, exit_case->signum,
                        exit_case->broken);

  g_variant_unref (pair.first);
  g_error_free (pair.second_error);
  watch_clear (&watch);
}

/* Death with receives pending: nothing lost, nothing hangs ----------------- */

typedef enum
{
  EVENT_DATA,
  EVENT_REMOTE_ERROR,
  EVENT_CLOSE_REQUESTED,
  EVENT_END,
} EventKind;

typedef struct
{
  EventKind  kind;
  guint      value;     /* EVENT_DATA */
  GError    *error;     /* the others */
} Event;

static void
event_free (Event *event)
{
  g_clear_error (&event->error);
  g_free (event);
}

/* Takes @payload and @error. */
static Event *
event_new (GVariant *payload,
           GError   *error)
{
  Event *event = g_new0 (Event, 1);

  if (payload != NULL)
    {
      const char *filler;

      g_assert_true (g_variant_is_of_type (payload, G_VARIANT_TYPE ("(us)")));
      g_variant_get (payload, "(u&s)", &event->value, &filler);
      g_assert_cmpuint (strlen (filler), ==, FILLER_SIZE);
      event->kind = EVENT_DATA;
      g_variant_unref (payload);
    }
  else if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
    event->kind = EVENT_CLOSE_REQUESTED;
  else if (error->domain == test_error_quark ())
    event->kind = EVENT_REMOTE_ERROR;
  else
    event->kind = EVENT_END;

  event->error = error;
  return event;
}

/* What write-then-die sends, as it must arrive: the N_BEFORE_ERROR + 3
 * numbered messages in order; the error before any message sent after
 * it; the close request after the error; and the worker's death last. */
static void
assert_nothing_lost (GPtrArray *events)
{
  guint next = 0;
  gboolean seen_error = FALSE;
  gboolean seen_close = FALSE;

  for (guint i = 0; i < events->len; i++)
    {
      Event *event = g_ptr_array_index (events, i);

      switch (event->kind)
        {
        case EVENT_DATA:
          g_assert_cmpuint (event->value, ==, next);
          if (event->value >= N_BEFORE_ERROR)
            g_assert_true (seen_error);
          next++;
          break;

        case EVENT_REMOTE_ERROR:
          g_assert_false (seen_error);
          g_assert_error (event->error, test_error_quark (), DYING_ERROR_CODE);
          g_assert_cmpstr (event->error->message, ==, DYING_ERROR_MESSAGE);
          seen_error = TRUE;
          break;

        case EVENT_CLOSE_REQUESTED:
          g_assert_true (seen_error);
          g_assert_false (seen_close);
          seen_close = TRUE;
          break;

        case EVENT_END:
        default:
          g_assert_cmpuint (i, ==, events->len - 1);
          g_assert_error (event->error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
          break;
        }
    }

  g_assert_cmpuint (next, ==, N_BEFORE_ERROR + 3);
  g_assert_true (seen_error);
  g_assert_true (seen_close);
  g_assert_cmpint (((Event *) g_ptr_array_index (events, events->len - 1))->kind, ==, EVENT_END);
}

typedef struct
{
  const char *way;        /* how write-then-die dies; "wait": the host kills it */
  gboolean    use_async;
  int         code;
  int         signum;
} DeathCase;

typedef struct
{
  CoprocMessenger *messenger;   /* owned */
  GAsyncQueue     *events;      /* owned; of Event */
} Receiver;

static gpointer
receive_until_end_thread (gpointer data)
{
  Receiver *receiver = data;

  for (;;)
    {
      GError *error = NULL;
      GVariant *payload;
      Event *event;

      payload = coproc_messenger_receive_blocking (receiver->messenger, NULL, NULL, &error);
      event = event_new (payload, error);
      g_async_queue_push (receiver->events, event);
      if (event->kind == EVENT_END)
        break;
    }

  g_object_unref (receiver->messenger);
  g_async_queue_unref (receiver->events);
  g_free (receiver);
  return NULL;
}

typedef struct
{
  GPtrArray  *events;
  const char *way;
  GPid        pid;
  gboolean    done;
} AsyncDeath;

static void
death_receive_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CoprocMessenger *messenger = COPROC_MESSENGER (object);
  AsyncDeath *death = user_data;
  GError *error = NULL;
  GVariant *payload;
  Event *event;

  payload = coproc_messenger_receive_finish (messenger, result, &error);
  event = event_new (payload, error);
  g_ptr_array_add (death->events, event);

  if (event->kind == EVENT_CLOSE_REQUESTED && g_str_equal (death->way, "wait"))
    g_assert_cmpint (kill (death->pid, SIGKILL), ==, 0);

  if (event->kind == EVENT_END)
    death->done = TRUE;
  else
    coproc_messenger_receive_async (messenger, NULL, NULL, death_receive_cb, death);
}

static void
test_death (gconstpointer data)
{
  const DeathCase *death_case = data;
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) event_free);
  g_autofree char *n = g_strdup_printf ("%u", N_BEFORE_ERROR);
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  WorkerWatch watch;
  GPid pid;

  g_test_summary ("However a worker dies, with receive_blocking() pending in another thread or "
                  "receive_async() pending, everything it wrote is delivered in order and then "
                  "the receive fails with WORKER_DIED");

  worker = test_worker_new (G_TYPE_NONE, "write-then-die", n, death_case->way, NULL);
  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  messenger = coproc_worker_resource_get_messenger (worker);
  pid = coproc_worker_resource_get_pid (worker);

  coproc_messenger_send_request (messenger, g_variant_new_string ("go"), NULL, &error);
  g_assert_no_error (error);

  if (death_case->use_async)
    {
      AsyncDeath death = { events, death_case->way, pid, FALSE };

      coproc_messenger_receive_async (messenger, NULL, NULL, death_receive_cb, &death);
      while (!death.done)
        g_main_context_iteration (NULL, TRUE);
    }
  else
    {
      /* The thread owns the messenger until it ends; this thread does
       * not touch it, nor run the context it is attached to. */
      g_autoptr(GAsyncQueue) queue = g_async_queue_new ();
      Receiver *receiver = g_new0 (Receiver, 1);
      GThread *thread;
      Event *event;

      receiver->messenger = g_object_ref (messenger);
      receiver->events = g_async_queue_ref (queue);
      thread = g_thread_new ("receive-until-end", receive_until_end_thread, receiver);

      do
        {
          event = g_async_queue_pop (queue);
          g_ptr_array_add (events, event);

          if (event->kind == EVENT_CLOSE_REQUESTED && g_str_equal (death_case->way, "wait"))
            g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
        }
      while (event->kind != EVENT_END);

      g_thread_join (thread);
    }

  assert_nothing_lost (events);
  g_assert_true (coproc_messenger_is_closed (messenger));
  assert_death_message (((Event *) g_ptr_array_index (events, events->len - 1))->error,
                        pid, MAX (death_case->code, 0), death_case->signum,
                        g_str_equal (death_case->way, "mid-frame"));

  wait_exited (&watch);
  if (death_case->signum != 0)
    assert_killed_by (watch.status, death_case->signum);
  else
    assert_exited_with (watch.status, death_case->code);

  watch_clear (&watch);
}

static void
test_death_hangup_only (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "close-then-sleep",
                                                            NULL);
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  WorkerWatch watch;

  g_test_summary ("A worker that closes its connection and lives on: the receive fails with "
                  "WORKER_DIED, saying the process still runs, after a bounded wait for its exit");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);

  payload = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                               NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  expected = g_strdup_printf ("Worker process %d hung up: it closed its connection and is "
                              "still running", (int) coproc_worker_resource_get_pid (worker));
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_true (coproc_worker_resource_is_alive (worker));

  g_clear_error (&error);
  g_assert_true (coproc_worker_resource_terminate (worker, &error));
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_killed_by (watch.status, SIGTERM);
  watch_clear (&watch);
}

typedef struct
{
  CoprocMessenger *messenger;
  GError          *error;            /* the receive's */
  gboolean         done;
  guint            ticks_reporting;  /* ticks while closed and the receive still waited */
  guint            n_closed;
  gboolean         closed_before_done;
} AsyncReport;

static void
async_report_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AsyncReport *report = user_data;
  g_autoptr(GVariant) payload = NULL;

  payload = coproc_messenger_receive_finish (COPROC_MESSENGER (object), result, &report->error);
  g_assert_null (payload);
  report->done = TRUE;
}

static gboolean
async_report_tick_cb (gpointer user_data)
{
  AsyncReport *report = user_data;

  if (coproc_messenger_is_closed (report->messenger) && !report->done)
    report->ticks_reporting++;
  return G_SOURCE_CONTINUE;
}

static void
async_report_closed_cb (CoprocMessenger *messenger,
                        const GError    *error,
                        AsyncReport     *report)
{
  report->n_closed++;
  report->closed_before_done = !report->done;
}

static void
test_death_report_async (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "close-then-sleep",
                                                            NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) tick = NULL;
  g_autofree char *expected = NULL;
  AsyncReport report = { 0 };
  WorkerWatch watch;

  g_test_summary ("A hang-up read by the watch is reported without blocking the main loop: "
                  "while the exit status is awaited, the context runs other sources, and the "
                  "async receive fails from the loop, then ::closed is emitted");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  report.messenger = coproc_worker_resource_get_messenger (worker);
  g_signal_connect (report.messenger, "closed", G_CALLBACK (async_report_closed_cb), &report);

  tick = g_timeout_source_new (1);
  g_source_set_callback (tick, async_report_tick_cb, &report, NULL);
  g_source_attach (tick, NULL);

  coproc_messenger_receive_async (report.messenger, NULL, NULL, async_report_cb, &report);
  while (!report.done || report.n_closed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (tick);

  /* The worker lives on: the report comes from the fallback, and the
   * loop ran meanwhile. */
  g_assert_cmpuint (report.ticks_reporting, >, 0);
  g_assert_error (report.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  expected = g_strdup_printf ("Worker process %d hung up: it closed its connection and is "
                              "still running", (int) coproc_worker_resource_get_pid (worker));
  g_assert_cmpstr (report.error->message, ==, expected);
  g_assert_cmpuint (report.n_closed, ==, 1);
  g_assert_false (report.closed_before_done);

  /* Later calls fail alike, at once. */
  g_assert_null (coproc_messenger_receive_blocking (report.messenger, NULL, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  g_assert_false (coproc_messenger_send_norequest (report.messenger, g_variant_new_int32 (1),
                                                   NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  g_assert_true (coproc_worker_resource_terminate (worker, &error));
  g_assert_no_error (error);
  wait_exited (&watch);
  watch_clear (&watch);
  g_clear_error (&report.error);
}

/* Misbehaving workers ------------------------------------------------------ */

static void
test_garbage_handshake (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "garbage", NULL);
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  WorkerWatch watch;

  g_test_summary ("A worker that writes garbage instead of a handshake is a PROTOCOL error");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);

  payload = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                               NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);

  /* The host hung up on it, so the worker sees its input end. */
  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  watch_clear (&watch);
}

static void
test_no_sigpipe_dead_worker (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "exit0", NULL);
  g_autofree char *text = g_strnfill (1024, 'p');
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  struct sigaction saved;
  WorkerWatch watch;

  g_test_summary ("Writing to a worker that died does not kill the host with SIGPIPE "
                  "(the test keeps SIGPIPE's default action)");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  sigpipe_default_begin (&saved);
  messenger = coproc_worker_resource_get_messenger (worker);

  /* No main loop runs, so the messenger has not noticed the death: the
   * send below really writes to a socket with nobody at the other end. */
  while (coproc_worker_resource_is_alive (worker))
    ;
  g_assert_false (coproc_messenger_is_closed (messenger));

  g_assert_false (coproc_messenger_send_norequest (messenger, g_variant_new_string (text),
                                                   NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == COPROC_ERROR);
  g_clear_error (&error);

  g_assert_false (coproc_messenger_send_close_request (messenger, &error));
  g_assert_nonnull (error);
  sigpipe_default_end (&saved);

  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  watch_clear (&watch);
}

static void
test_no_sigpipe_blocked_send (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "read-then-exit", "5", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autofree guint8 *block = g_malloc0 (1024 * 1024);
  CoprocMessenger *messenger;
  struct sigaction saved;
  WorkerWatch watch;
  guint sent = 0;

  g_test_summary ("A send that waits for room while the worker dies fails with an error; "
                  "no SIGPIPE, no hang");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  sigpipe_default_begin (&saved);
  messenger = coproc_worker_resource_get_messenger (worker);
  payload = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, block,
                                                           1024 * 1024, 1));

  /* 64 MiB: far past what the socket and the outgoing buffer hold, so the
   * sends wait for the worker, which reads 5 MiB and exits. */
  while (sent < 64 && coproc_messenger_send_norequest (messenger, payload, NULL, &error))
    sent++;

  g_assert_cmpuint (sent, <, 64);
  g_assert_nonnull (error);
  g_assert_true (error->domain == COPROC_ERROR);
  sigpipe_default_end (&saved);

  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  watch_clear (&watch);
}

/* The host's main loop while a worker does not keep up, or floods ------------ */

typedef struct
{
  CoprocMessenger *messenger;
  GVariant        *payload;
  guint            n_sent;
  guint            n_to_send;
  guint            ticks;
  guint            ticks_while_sending;
  gboolean         done;
} SendState;

static gboolean
tick_cb (gpointer user_data)
{
  guint *ticks = user_data;

  (*ticks)++;
  return G_SOURCE_CONTINUE;
}

static gboolean
send_one_cb (gpointer user_data)
{
  SendState *state = user_data;
  g_autoptr(GError) error = NULL;

  coproc_messenger_send_norequest (state->messenger, state->payload, NULL, &error);
  g_assert_no_error (error);

  if (++state->n_sent < state->n_to_send)
    return G_SOURCE_CONTINUE;

  state->ticks_while_sending = state->ticks;
  state->done = TRUE;
  return G_SOURCE_REMOVE;
}

/* An idle source that runs in every iteration of the default context. */
static GSource *
add_busy_idle (GSourceFunc func,
               gpointer    data)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, NULL);
  g_source_attach (source, NULL);

  return source;
}

static void
test_never_reading_worker (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "sleep-forever", NULL);
  g_autofree guint8 *block = g_malloc0 (64 * 1024);
  g_autoptr(GSource) ticker = NULL;
  g_autoptr(GSource) sender = NULL;
  g_autoptr(GError) error = NULL;
  SendState state = { 0 };
  WorkerWatch watch;

  g_test_summary ("Sending 8 MiB from the main loop to a worker that never reads: every send "
                  "returns at once and the loop's other sources keep running");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);

  state.messenger = coproc_worker_resource_get_messenger (worker);
  state.payload = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, block,
                                                                 64 * 1024, 1));
  state.n_to_send = 128;

  /* The ticker and the sender have the same priority: each iteration of
   * the loop dispatches both, unless a send blocks the loop. */
  ticker = add_busy_idle (tick_cb, &state.ticks);
  sender = add_busy_idle (send_one_cb, &state);

  while (!state.done)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (state.n_sent, ==, state.n_to_send);
  g_assert_cmpuint (state.ticks_while_sending, >=, state.n_to_send - 1);
  g_assert_false (coproc_messenger_is_closed (state.messenger));

  g_source_destroy (ticker);
  coproc_worker_resource_terminate (worker, &error);
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_killed_by (watch.status, SIGTERM);

  g_variant_unref (state.payload);
  watch_clear (&watch);
}

typedef struct
{
  guint64 next;
  guint64 target;
} FloodState;

static gboolean
flood_message_cb (CoprocMessenger *messenger,
                  CoprocMessage   *message,
                  gpointer         user_data)
{
  FloodState *flood = user_data;
  guint64 seq;
  const char *filler;

  g_variant_get (coproc_message_get_payload (message), "(t&s)", &seq, &filler);
  g_assert_cmpuint (seq, ==, flood->next);
  g_assert_cmpuint (strlen (filler), ==, 1024);
  flood->next++;

  return TRUE;
}

static void
test_flooding_worker (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "flood", "1024", NULL);
  g_autoptr(GSource) ticker = NULL;
  g_autoptr(GError) error = NULL;
  FloodState flood = { 0, 20000 };
  CoprocMessenger *messenger;
  WorkerWatch watch;
  guint ticks = 0;
  gulong handler;

  g_test_summary ("A worker that sends without end does not starve the host's main loop, "
                  "loses nothing, and stops when joined");

  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  messenger = coproc_worker_resource_get_messenger (worker);

  handler = g_signal_connect (messenger, "message-received", G_CALLBACK (flood_message_cb), &flood);
  ticker = add_busy_idle (tick_cb, &ticks);

  while (flood.next < flood.target)
    g_main_context_iteration (NULL, TRUE);

  /* The messenger handles a bounded amount per dispatch, so the ticker
   * ran in between. */
  g_assert_cmpuint (ticks, >, 1);

  g_source_destroy (ticker);
  g_signal_handler_disconnect (messenger, handler);

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  watch_clear (&watch);
}

/* Function workers ---------------------------------------------------------- */

static int
function_echo (CoprocMessenger *messenger,
               gpointer         user_data)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "messenger-type",
                         g_variant_new_string (G_OBJECT_TYPE_NAME (messenger)));
  g_variant_builder_add (&builder, "{sv}", "user-data", g_variant_new_string (user_data));
  g_variant_builder_add (&builder, "{sv}", "worker-variable-unset",
                         g_variant_new_boolean (g_getenv ("COPROC_WORKER") == NULL));
  if (!coproc_messenger_send_norequest (messenger, g_variant_builder_end (&builder), NULL, NULL))
    return 99;

  for (;;)
    {
      g_autoptr(CoprocMessage) message = NULL;
      g_autoptr(GError) error = NULL;

      message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (message == NULL)
        return g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED) ? 0 : 99;

      if (!coproc_messenger_send_reply (messenger, coproc_message_get_payload (message), NULL, NULL))
        return 99;
    }
}

static int
function_status (CoprocMessenger *messenger,
                 gpointer         user_data)
{
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;

  /* Waits for the close request, then exits with the status it was
   * registered with. */
  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (!g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
    return 99;

  return GPOINTER_TO_INT (user_data);
}

static void
test_function_worker (gconstpointer data)
{
  const char *type_name = data;
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  const char *text;
  gboolean unset;
  WorkerWatch watch;
  GType type;

  g_test_summary ("A registered function runs as a worker in a new process, with a messenger "
                  "of the host's kind and its user data");

  g_type_ensure (COPROC_TYPE_PRIORITY_MESSENGER);
  g_type_ensure (COPROC_TYPE_MULTI_MESSENGER);
  type = g_type_from_name (type_name);
  g_assert_true (type != 0);

  worker = coproc_worker_resource_new_for_function ("test-echo", type);
  g_assert_true (coproc_worker_resource_get_messenger_type (worker) == type);
  watch_init (&watch, worker, NULL);
  start_or_fail (worker);
  messenger = coproc_worker_resource_get_messenger (worker);
  g_assert_true (G_OBJECT_TYPE (messenger) == type);

  report = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (report, "messenger-type", "&s", &text));
  g_assert_cmpstr (text, ==, type_name);
  g_assert_true (g_variant_lookup (report, "user-data", "&s", &text));
  g_assert_cmpstr (text, ==, FUNCTION_USER_DATA);
  g_assert_true (g_variant_lookup (report, "worker-variable-unset", "b", &unset));
  g_assert_true (unset);

  coproc_messenger_send_request (messenger, g_variant_new_int32 (42), NULL, &error);
  g_assert_no_error (error);
  reply = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 42);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_exited_with (watch.status, 0);
  watch_clear (&watch);
}

static void
test_function_status (void)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GError) error = NULL;
  WorkerWatch watch;

  g_test_summary ("A function worker's return value is its exit status");

  worker = coproc_worker_resource_new_for_function ("test-status", G_TYPE_NONE);
  watch_init (&watch, worker, NULL);
  start_or_fail (worker);

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  wait_exited (&watch);
  assert_exited_with (watch.status, 5);
  watch_clear (&watch);
}

static void
test_function_unknown (void)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  WorkerWatch watch;

  g_test_summary ("A function worker name the program never registered exits with status 127");

  if (g_test_subprocess ())
    {
      worker = coproc_worker_resource_new_for_function ("no-such-worker", G_TYPE_NONE);
      watch_init (&watch, worker, NULL);
      start_or_fail (worker);
      wait_exited (&watch);
      assert_exited_with (watch.status, 127);
      watch_clear (&watch);
      return;
    }

  /* In a subprocess, to check what the worker says on stderr. */
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*no-such-worker*");
}

/* The worker's environment and descriptors --------------------------------- */

static void
test_environment (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (COPROC_TYPE_MULTI_MESSENGER, "env", NULL);
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GError) error = NULL;
  const char *text;
  gboolean flag;
  gint32 pid;

  g_test_summary ("The worker finds its socket as fd 3 named by COPROC_FD, the host's messenger "
                  "type, and the variables set with setenv(); connecting hides the descriptor");

  coproc_worker_resource_setenv (worker, "COPROC_TEST_VALUE", "a value with spaces");
  start_or_fail (worker);

  report = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                              NULL, NULL, &error);
  g_assert_no_error (error);

  g_assert_true (g_variant_lookup (report, "COPROC_FD", "&s", &text));
  g_assert_cmpstr (text, ==, "3");
  g_assert_true (g_variant_lookup (report, "COPROC_MESSENGER_TYPE", "&s", &text));
  g_assert_cmpstr (text, ==, "CoprocMultiMessenger");
  g_assert_false (g_variant_lookup (report, "COPROC_WORKER", "&s", &text));
  g_assert_true (g_variant_lookup (report, "COPROC_TEST_VALUE", "&s", &text));
  g_assert_cmpstr (text, ==, "a value with spaces");
  g_assert_true (g_variant_lookup (report, "messenger-type", "&s", &text));
  g_assert_cmpstr (text, ==, "CoprocMultiMessenger");
  g_assert_true (g_variant_lookup (report, "fd-still-named", "b", &flag));
  g_assert_false (flag);
  g_assert_true (g_variant_lookup (report, "cloexec", "b", &flag));
  g_assert_true (flag);
  g_assert_true (g_variant_lookup (report, "pid", "i", &pid));
  g_assert_cmpint (pid, ==, coproc_worker_resource_get_pid (worker));

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
}

static void
test_inherited_fds (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "leak-fds", NULL);
  g_autoptr(GVariant) report = NULL;
  g_autoptr(GArray) expected = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr(GError) error = NULL;
  const gint32 *fds;
  gsize n_fds;
  int extra[4];

  g_test_summary ("The worker inherits fds 0, 1, 2 and its socket as 3, and nothing else, "
                  "even descriptors of the host without FD_CLOEXEC");

  /* Descriptors a careless host might hold: none of them close-on-exec. */
  extra[0] = open ("/dev/null", O_RDONLY);
  g_assert_cmpint (extra[0], >=, 0);
  g_assert_cmpint (pipe (extra + 1), ==, 0);
  extra[3] = fcntl (2, F_DUPFD, 20);
  g_assert_cmpint (extra[3], >=, 0);
  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    g_assert_cmpint (fcntl (extra[i], F_GETFD) & FD_CLOEXEC, ==, 0);

  /* The worker gets our standard descriptors, whichever are open. */
  for (gint32 fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) >= 0)
      g_array_append_val (expected, fd);
  g_array_append_vals (expected, &(gint32) { 3 }, 1);

  start_or_fail (worker);
  report = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker),
                                              NULL, NULL, &error);
  g_assert_no_error (error);

  fds = g_variant_get_fixed_array (report, &n_fds, sizeof (gint32));
  g_assert_cmpmem (fds, n_fds * sizeof (gint32), expected->data, expected->len * sizeof (gint32));

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
    close (extra[i]);
}

static void
cycle_start_join (CoprocWorkerResource *worker,
                  WorkerWatch          *watch)
{
  g_autoptr(GError) error = NULL;
  guint n_exited = watch->n_exited;

  start_or_fail (worker);
  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);

  while (watch->n_exited == n_exited)
    g_main_context_iteration (NULL, TRUE);
}

static void
cycle_start_terminate (CoprocWorkerResource *worker,
                       WorkerWatch          *watch)
{
  g_autoptr(GError) error = NULL;
  guint n_exited = watch->n_exited;

  start_or_fail (worker);
  coproc_worker_resource_terminate (worker, &error);
  g_assert_no_error (error);

  while (watch->n_exited == n_exited)
    g_main_context_iteration (NULL, TRUE);
}

/* A cycle is a fork, an exec and the worker's GLib start-up: 1000 cycles
 * of either kind take about 1.5 s on a 2-core machine, but 17 s when the
 * test and the worker are built with AddressSanitizer, whose start-up is
 * slow; 300 cycles keep that near 5 s, and catch a leak just as well. */
#ifdef __SANITIZE_ADDRESS__
#define N_CYCLES 300
#else
#define N_CYCLES 1000
#endif

static void
test_fd_hygiene (gconstpointer data)
{
  gboolean use_terminate = GPOINTER_TO_INT (data);
  g_autoptr(CoprocWorkerResource) worker = NULL;
  WorkerWatch watch;
  guint before;
  guint after;

  g_test_summary ("Starting and stopping a worker many times leaks no descriptor");

  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  worker = test_worker_new (G_TYPE_NONE, "echo", NULL);
  watch_init (&watch, worker, NULL);

  /* The first cycle sets up what GLib keeps for good (its worker
   * thread and child-watch machinery). */
  if (use_terminate)
    cycle_start_terminate (worker, &watch);
  else
    cycle_start_join (worker, &watch);
  drain_context (NULL);
  before = count_fds ();

  for (guint i = 0; i < N_CYCLES; i++)
    {
      if (use_terminate)
        cycle_start_terminate (worker, &watch);
      else
        cycle_start_join (worker, &watch);
    }
  drain_context (NULL);
  after = count_fds ();

  g_assert_cmpuint (after, ==, before);
  g_assert_cmpuint (watch.n_exited, ==, N_CYCLES + 1);
  watch_clear (&watch);
}

/* coproc_messenger_new_for_host() ------------------------------------------ */

typedef enum
{
  HOST_FD_UNSET,
  HOST_FD_GARBAGE,
  HOST_FD_NOT_A_SOCKET,
  HOST_FD_CLOSED,
  HOST_FD_DATAGRAM,
  HOST_FD_STDIO,
  HOST_FD_OK,
} HostFdCase;

static void
assert_new_for_host_fails (gint code)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;

  messenger = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  g_assert_null (messenger);
  g_assert_error (error, G_IO_ERROR, code);
  g_assert_nonnull (strstr (error->message, "COPROC_FD"));
}

static void
set_fd_variable (int fd)
{
  g_autofree char *text = g_strdup_printf ("%d", fd);

  g_setenv ("COPROC_FD", text, TRUE);
}

static void
run_new_for_host_case (HostFdCase host_case)
{
  int fds[2];

  switch (host_case)
    {
    case HOST_FD_UNSET:
      g_unsetenv ("COPROC_FD");
      assert_new_for_host_fails (G_IO_ERROR_NOT_FOUND);
      break;

    case HOST_FD_GARBAGE:
      {
        const char *values[] = { "", "abc", "3x", "-4", " 3", "0x3", "99999999999999999999" };

        for (guint i = 0; i < G_N_ELEMENTS (values); i++)
          {
            g_setenv ("COPROC_FD", values[i], TRUE);
            assert_new_for_host_fails (G_IO_ERROR_INVALID_ARGUMENT);
          }
      }
      break;

    case HOST_FD_NOT_A_SOCKET:
      fds[0] = open ("/dev/null", O_RDWR);
      g_assert_cmpint (fds[0], >=, 3);
      set_fd_variable (fds[0]);
      assert_new_for_host_fails (G_IO_ERROR_INVALID_ARGUMENT);
      close (fds[0]);
      break;

    case HOST_FD_CLOSED:
      fds[0] = open ("/dev/null", O_RDWR);
      close (fds[0]);
      set_fd_variable (fds[0]);
      assert_new_for_host_fails (G_IO_ERROR_INVALID_ARGUMENT);
      break;

    case HOST_FD_DATAGRAM:
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_DGRAM, 0, fds), ==, 0);
      set_fd_variable (fds[0]);
      assert_new_for_host_fails (G_IO_ERROR_INVALID_ARGUMENT);
      close (fds[0]);
      close (fds[1]);
      break;

    case HOST_FD_STDIO:
      set_fd_variable (1);
      assert_new_for_host_fails (G_IO_ERROR_INVALID_ARGUMENT);
      break;

    case HOST_FD_OK:
      {
        g_autoptr(CoprocMessenger) worker_end = NULL;
        g_autoptr(CoprocMessenger) host_end = NULL;
        g_autoptr(GSocket) socket = NULL;
        g_autoptr(GSocketConnection) connection = NULL;
        g_autoptr(GVariant) payload = NULL;
        g_autoptr(GError) error = NULL;

        g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
        set_fd_variable (fds[0]);

        worker_end = coproc_messenger_new_for_host (COPROC_TYPE_MULTI_MESSENGER, &error);
        g_assert_no_error (error);
        g_assert_true (COPROC_IS_MULTI_MESSENGER (worker_end));
        g_assert_null (g_getenv ("COPROC_FD"));
        g_assert_cmpint (fcntl (fds[0], F_GETFD) & FD_CLOEXEC, ==, FD_CLOEXEC);

        socket = g_socket_new_from_fd (fds[1], &error);
        g_assert_no_error (error);
        connection = g_socket_connection_factory_create_connection (socket);
        host_end = coproc_messenger_new_for_stream (COPROC_TYPE_MULTI_MESSENGER,
                                                    G_IO_STREAM (connection), &error);
        g_assert_no_error (error);

        send_string (host_end, "from the host");
        assert_receive_string (worker_end, "from the host");
        send_string (worker_end, "from the worker");
        assert_receive_string (host_end, "from the worker");
      }
      break;

    default:
      g_assert_not_reached ();
    }
}

static void
test_new_for_host (gconstpointer data)
{
  /* Changing the environment is not safe once threads run, so each case
   * runs in a fresh subprocess. */
  if (g_test_subprocess ())
    {
      run_new_for_host_case (GPOINTER_TO_INT (data));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* Setup ---------------------------------------------------------------------- */

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

/* What get_stats() reads for a worker that uses known amounts: its own
 * figures are lower bounds, as the worker measured them itself. */
static void
test_stats (void)
{
  g_autoptr(CoprocWorkerResource) worker = test_worker_new (G_TYPE_NONE, "busy", NULL);
  g_autoptr(GVariant) ready = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autoptr(GError) error = NULL;
  GVariantDict dict;
  gint32 pid;
  guint64 rss;
  gdouble user, system;
  guint32 processes;

  g_test_summary ("get_stats() sums the worker's process tree: pid, resident memory, CPU time "
                  "and the number of processes; NULL when no worker runs");

  g_assert_null (coproc_worker_resource_get_stats (worker));
  start_or_fail (worker);
  ready = coproc_messenger_receive_blocking (coproc_worker_resource_get_messenger (worker), NULL,
                                             NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (ready, NULL), ==, "ready");

  stats = coproc_worker_resource_get_stats (worker);
  g_assert_nonnull (stats);
  g_assert_true (g_variant_is_of_type (stats, G_VARIANT_TYPE_VARDICT));
  g_variant_dict_init (&dict, stats);
  g_assert_true (g_variant_dict_lookup (&dict, "pid", "i", &pid));
  g_assert_true (g_variant_dict_lookup (&dict, "rss-bytes", "t", &rss));
  g_assert_true (g_variant_dict_lookup (&dict, "user-seconds", "d", &user));
  g_assert_true (g_variant_dict_lookup (&dict, "system-seconds", "d", &system));
  g_assert_true (g_variant_dict_lookup (&dict, "processes", "u", &processes));
  g_variant_dict_clear (&dict);
  {
    g_autofree char *printed = g_variant_print (stats, TRUE);

    g_test_message ("%s", printed);
  }

  g_assert_cmpint (pid, ==, coproc_worker_resource_get_pid (worker));
  g_assert_cmpuint (processes, ==, 2);
  g_assert_cmpuint (rss, >=, 32 * 1024 * 1024);
  g_assert_cmpfloat (user, >=, 0.19);
  g_assert_cmpfloat (system, >=, 0.0);

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (coproc_worker_resource_get_stats (worker));
}

int
main (int    argc,
      char **argv)
{
  static const ExitCase exit_cases[] = {
    { "exit0", "after-message", 0, 0, FALSE },
    { "exit1", "after-message", 1, 0, FALSE },
    { "crash", "abort", -1, SIGABRT, FALSE },
    { "crash", "segv", -1, SIGSEGV, FALSE },
    { "mid-frame", NULL, 0, 0, TRUE },
  };
  static const DeathCase death_cases[] = {
    { "exit0", FALSE, 0, 0 },
    { "exit1", FALSE, 1, 0 },
    { "abort", FALSE, -1, SIGABRT },
    { "segv", FALSE, -1, SIGSEGV },
    { "wait", FALSE, -1, SIGKILL },
    { "mid-frame", FALSE, 0, 0 },
    { "exit0", TRUE, 0, 0 },
    { "exit1", TRUE, 1, 0 },
    { "abort", TRUE, -1, SIGABRT },
    { "segv", TRUE, -1, SIGSEGV },
    { "wait", TRUE, -1, SIGKILL },
    { "mid-frame", TRUE, 0, 0 },
  };
  static const struct { const char *name; HostFdCase value; } host_cases[] = {
    { "unset", HOST_FD_UNSET },
    { "garbage", HOST_FD_GARBAGE },
    { "not-a-socket", HOST_FD_NOT_A_SOCKET },
    { "closed", HOST_FD_CLOSED },
    { "datagram", HOST_FD_DATAGRAM },
    { "stdio", HOST_FD_STDIO },
    { "ok", HOST_FD_OK },
  };
  int status;

  /* A function worker is this program started again: run it, if that is
   * what this process is for, before anything else. */
  coproc_worker_register ("test-echo", function_echo, (gpointer) FUNCTION_USER_DATA);
  coproc_worker_register ("test-status", function_status, GINT_TO_POINTER (5));
  if (coproc_worker_dispatch (&status))
    return status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  worker_path = find_test_worker ();

  g_test_add_func ("/Coproc/WorkerResource/start-join", test_start_join);
  g_test_add_func ("/Coproc/WorkerResource/stats", test_stats);
  g_test_add_func ("/Coproc/WorkerResource/start-twice", test_start_twice);
  g_test_add_func ("/Coproc/WorkerResource/never-started", test_never_started);
  g_test_add_func ("/Coproc/WorkerResource/already-dead", test_already_dead);
  g_test_add_func ("/Coproc/WorkerResource/restart", test_restart);
  g_test_add_func ("/Coproc/WorkerResource/restart-before-exited", test_restart_before_exited);
  g_test_add_func ("/Coproc/WorkerResource/death/report-async", test_death_report_async);
  g_test_add_func ("/Coproc/WorkerResource/start-missing-program", test_start_missing_program);
  g_test_add_func ("/Coproc/WorkerResource/terminate-no-main-loop", test_terminate_no_main_loop);
  g_test_add_func ("/Coproc/WorkerResource/join-surfaces-pending-error", test_join_surfaces_pending_error);
  g_test_add_func ("/Coproc/WorkerResource/join-async", test_join_async);
  g_test_add_func ("/Coproc/WorkerResource/join-async-cancelled", test_join_async_cancelled);
  g_test_add_func ("/Coproc/WorkerResource/dispose-running", test_dispose_running);
  g_test_add_func ("/Coproc/WorkerResource/signals/start-context", test_signals_on_start_context);
  g_test_add_func ("/Coproc/WorkerResource/signals/thread", test_signals_in_thread);

  for (guint i = 0; i < G_N_ELEMENTS (exit_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/Coproc/WorkerResource/exit-status/%s%s%s",
                                               exit_cases[i].mode,
                                               exit_cases[i].arg ? "-" : "",
                                               exit_cases[i].arg ? exit_cases[i].arg : "");
      g_test_add_data_func (path, &exit_cases[i], test_exit_status);
    }

  for (guint i = 0; i < G_N_ELEMENTS (death_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/Coproc/WorkerResource/death/%s/%s",
                                               death_cases[i].use_async ? "receive-async"
                                                                        : "receive-blocking",
                                               g_str_equal (death_cases[i].way, "wait")
                                                 ? "sigkill" : death_cases[i].way);
      g_test_add_data_func (path, &death_cases[i], test_death);
    }

  g_test_add_func ("/Coproc/WorkerResource/death/hangup-only", test_death_hangup_only);
  g_test_add_func ("/Coproc/WorkerResource/garbage-handshake", test_garbage_handshake);
  g_test_add_func ("/Coproc/WorkerResource/no-sigpipe/dead-worker", test_no_sigpipe_dead_worker);
  g_test_add_func ("/Coproc/WorkerResource/no-sigpipe/blocked-send", test_no_sigpipe_blocked_send);
  g_test_add_func ("/Coproc/WorkerResource/main-loop/never-reading-worker", test_never_reading_worker);
  g_test_add_func ("/Coproc/WorkerResource/main-loop/flooding-worker", test_flooding_worker);

  g_test_add_data_func ("/Coproc/WorkerResource/function/priority-messenger",
                        "CoprocPriorityMessenger", test_function_worker);
  g_test_add_data_func ("/Coproc/WorkerResource/function/multi-messenger",
                        "CoprocMultiMessenger", test_function_worker);
  g_test_add_func ("/Coproc/WorkerResource/function/exit-status", test_function_status);
  g_test_add_func ("/Coproc/WorkerResource/function/unknown", test_function_unknown);

  g_test_add_func ("/Coproc/WorkerResource/environment", test_environment);
  g_test_add_func ("/Coproc/WorkerResource/fds/inherited", test_inherited_fds);
  g_test_add_data_func ("/Coproc/WorkerResource/fds/no-leak-start-join",
                        GINT_TO_POINTER (FALSE), test_fd_hygiene);
  g_test_add_data_func ("/Coproc/WorkerResource/fds/no-leak-start-terminate",
                        GINT_TO_POINTER (TRUE), test_fd_hygiene);

  for (guint i = 0; i < G_N_ELEMENTS (host_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/Coproc/Messenger/new-for-host/%s",
                                               host_cases[i].name);
      g_test_add_data_func (path, GINT_TO_POINTER (host_cases[i].value), test_new_for_host);
    }

  status = g_test_run ();
  g_free (worker_path);

  return status;
}
