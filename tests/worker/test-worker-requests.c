/* test-worker-requests.c: correlated requests to worker processes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The workers are coproc-test-worker in its "echo" mode (a worker written
 * for coproc 1.0: receive, then send_reply()) and its "serve" mode (which
 * answers with reply_to() and reply_error(), in the order it is told, and
 * dies when it is told).
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include <coproc.h>

/* Shared with coproc-test-worker.c. */
#define TEST_ERROR_DOMAIN "coproc-test-worker-error-quark"

static char *worker_path;

static CoprocWorkerResource *
start_worker (GType       messenger_type,
              const char *mode)
{
  const char *argv[] = { worker_path, mode, NULL };
  g_autoptr(GError) error = NULL;
  CoprocWorkerResource *worker = coproc_worker_resource_new (argv, messenger_type);

  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);
  return worker;
}

static void
join_worker (CoprocWorkerResource *worker)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_no_error (error);
}

/* The outcome of one async request; its callback runs exactly once. */
typedef struct
{
  guint     n_calls;
  guint     order;
  GVariant *reply;
  GError   *error;
} Outcome;

static guint n_completions;

static void
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Outcome *o = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_assert_cmpuint (o->n_calls, ==, 0);
  o->n_calls++;
  o->order = ++n_completions;
  o->reply = coproc_messenger_request_finish (COPROC_MESSENGER (source), result, &o->error);
}

static void
request_async (CoprocMessenger *messenger,
               GVariant        *payload,
               Outcome         *o)
{
  memset (o, 0, sizeof *o);
  coproc_messenger_request_async (messenger, payload, NULL, NULL, request_cb, o);
}

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->reply, g_variant_unref);
  g_clear_error (&o->error);
}

static void
wait_completions (guint n)
{
  while (n_completions < n)
    g_main_context_iteration (NULL, TRUE);
}

static GVariant *
op (const char *name,
    gint32      n)
{
  return g_variant_new ("(si)", name, n);
}

static void
assert_int_reply (Outcome *o,
                  gint32   n)
{
  g_assert_cmpuint (o->n_calls, ==, 1);
  g_assert_no_error (o->error);
  g_assert_true (g_variant_is_of_type (o->reply, G_VARIANT_TYPE_INT32));
  g_assert_cmpint (g_variant_get_int32 (o->reply), ==, n);
}

/* A worker written for 1.0 (receive_message_blocking(), then
 * send_reply()) serves many outstanding correlated requests. */
static void
test_echo_worker (gconstpointer data)
{
  g_autoptr(CoprocWorkerResource) worker = start_worker (GPOINTER_TO_SIZE (data), "echo");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  Outcome outcomes[150];

  n_completions = 0;
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    request_async (messenger, g_variant_new_int32 (i), &outcomes[i]);

  wait_completions (G_N_ELEMENTS (outcomes));
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      assert_int_reply (&outcomes[i], i);
      outcome_clear (&outcomes[i]);
    }
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_queue_size (messenger, NULL), ==, 0);

  join_worker (worker);
}

/* reply_to() and reply_error() from another process, out of order. */
static void
test_serve (gconstpointer data)
{
  g_autoptr(CoprocWorkerResource) worker = start_worker (GPOINTER_TO_SIZE (data), "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GVariant) sync_reply = NULL;
  g_autoptr(GError) error = NULL;
  Outcome held, failed, released;

  n_completions = 0;
  request_async (messenger, op ("hold", 1), &held);
  request_async (messenger, op ("fail", 7), &failed);
  request_async (messenger, op ("release", 3), &released);
  wait_completions (3);

  g_assert_error (failed.error, g_quark_from_static_string (TEST_ERROR_DOMAIN), 7);
  g_assert_cmpstr (failed.error->message, ==, "request failed with code 7");
  g_assert_cmpuint (failed.order, ==, 1);
  assert_int_reply (&held, 1);
  assert_int_reply (&released, 3);
  g_assert_cmpuint (held.order, <, released.order);

  /* The blocking form, on the same messenger. */
  sync_reply = coproc_messenger_request (messenger, op ("echo", 5), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (sync_reply), ==, 5);
  g_assert_cmpuint (coproc_messenger_replies_received (messenger, NULL), ==, 4);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);

  outcome_clear (&held);
  outcome_clear (&failed);
  outcome_clear (&released);
  join_worker (worker);
}

/* The worker answers two requests and dies: those two complete first,
 * the third fails with WORKER_DIED, each callback once. */
static void
test_died_async (gconstpointer data)
{
  g_autoptr(CoprocWorkerResource) worker = start_worker (GPOINTER_TO_SIZE (data), "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  Outcome a, b, c, late;

  n_completions = 0;
  request_async (messenger, op ("hold", 1), &a);
  request_async (messenger, op ("hold", 2), &b);
  request_async (messenger, op ("die", 0), &c);
  wait_completions (3);

  assert_int_reply (&a, 1);
  assert_int_reply (&b, 2);
  g_assert_error (c.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_cmpuint (c.order, ==, 3);

  /* Later requests fail at once, the same way. */
  request_async (messenger, op ("echo", 4), &late);
  wait_completions (4);
  g_assert_error (late.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (a.n_calls + b.n_calls + c.n_calls + late.n_calls, ==, 4);
  outcome_clear (&a);
  outcome_clear (&b);
  outcome_clear (&c);
  outcome_clear (&late);
}

/* The blocking form gets the reply the worker sent just before it died;
 * what waits beside it fails with WORKER_DIED. */
static void
test_died_sync (gconstpointer data)
{
  g_autoptr(CoprocWorkerResource) worker = start_worker (GPOINTER_TO_SIZE (data), "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) after = NULL;
  g_autoptr(GError) error = NULL;
  Outcome held;

  n_completions = 0;
  request_async (messenger, op ("hold", 1), &held);
  reply = coproc_messenger_request (messenger, op ("echo-then-die", 2), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 2);

  after = coproc_messenger_request (messenger, op ("echo", 3), NULL, NULL, &error);
  g_assert_null (after);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  wait_completions (1);
  g_assert_error (held.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  outcome_clear (&held);
}

static void
exited_cb (CoprocWorkerResource *worker,
           gint                  status,
           gpointer              user_data)
{
  gboolean *exited = user_data;

  *exited = TRUE;
}

/* A request to a worker that was killed fails with WORKER_DIED, promptly,
 * for both forms: the send fails, and the call waits for the hang-up. */
static void
test_killed_before (gconstpointer data)
{
  g_autoptr(CoprocWorkerResource) worker = start_worker (GPOINTER_TO_SIZE (data), "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exited = FALSE;
  Outcome o;

  g_signal_connect (worker, "exited", G_CALLBACK (exited_cb), &exited);
  g_assert_cmpint (kill (coproc_worker_resource_get_pid (worker), SIGKILL), ==, 0);
  while (!exited)
    g_main_context_iteration (NULL, TRUE);

  n_completions = 0;
  request_async (messenger, op ("echo", 1), &o);
  wait_completions (1);
  g_assert_error (o.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  outcome_clear (&o);

  reply = coproc_messenger_request (messenger, op ("echo", 2), NULL, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
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

static void
add_both (const char    *name,
          GTestDataFunc  func)
{
  static const struct { const char *kind; GType (*type) (void); } kinds[] = {
    { "PriorityMessenger", coproc_priority_messenger_get_type },
    { "MultiMessenger", coproc_multi_messenger_get_type },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *path = g_strdup_printf ("/Coproc/WorkerResource/requests/%s/%s",
                                               name, kinds[i].kind);

      g_test_add_data_func (path, GSIZE_TO_POINTER (kinds[i].type ()), func);
    }
}

/* A real worker receives descriptors with a request, uses them and closes
 * them: its reply carries what the files held, the pipes get what it
 * wrote, and no copy of a write end is left anywhere. The worker learnt
 * from its environment that the host reads protocol 1.2. */
static void
test_fds_to_worker (gconstpointer data)
{
  g_autoptr(CoprocWorkerResource) worker = start_worker (GPOINTER_TO_SIZE (data), "fds");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  int pipes[2][2];
  int memfd = memfd_create ("test", MFD_CLOEXEC);
  char buf[64];

  g_assert_cmpint (write (memfd, "file content", 12), ==, 12);
  g_unix_fd_list_append (list, memfd, &error);
  g_assert_no_error (error);
  close (memfd);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (g_unix_open_pipe (pipes[i], FD_CLOEXEC, NULL));
      g_unix_fd_list_append (list, pipes[i][1], &error);
      g_assert_no_error (error);
      close (pipes[i][1]);
    }

  message = coproc_message_new (COPROC_MESSAGE_KIND_REQUEST, g_variant_new ("(hhh)", 0, 1, 2),
                                NULL);
  coproc_message_set_unix_fd_list (message, list);
  g_clear_object (&list);
  reply = coproc_messenger_request_message (messenger, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "as");
  g_assert_cmpuint (g_variant_n_children (reply), ==, 1);
  {
    const char *content;

    g_variant_get_child (reply, 0, "&s", &content);
    g_assert_cmpstr (content, ==, "file content");
  }
  g_clear_object (&message);

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *expected = g_strdup_printf ("fd %u", i + 1);
      gssize n = read (pipes[i][0], buf, sizeof buf);

      g_assert_cmpint (n, ==, strlen (expected));
      g_assert_cmpmem (buf, n, expected, strlen (expected));
      g_assert_cmpint (read (pipes[i][0], buf, sizeof buf), ==, 0);
      close (pipes[i][0]);
    }

  g_assert_true (coproc_messenger_close (messenger, &error));
  g_assert_no_error (error);
  join_worker (worker);
}

/* A worker that does not announce protocol 1.2 (as one of coproc 1.0 or
 * 1.1 would not: here its environment does not tell it that the host
 * reads the announcement) gets no descriptors: the send waits for its
 * handshake, then fails with NOT_SUPPORTED, and the worker is served as
 * before. */
static void
test_fds_to_old_worker (gconstpointer data)
{
  const char *argv[] = { worker_path, "echo", NULL };
  g_autoptr(CoprocWorkerResource) worker =
    coproc_worker_resource_new (argv, GPOINTER_TO_SIZE (data));
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  int memfd = memfd_create ("test", MFD_CLOEXEC);

  coproc_worker_resource_setenv (worker, "COPROC_PROTOCOL_MINOR", "0");
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);
  messenger = coproc_worker_resource_get_messenger (worker);

  message = coproc_message_new (COPROC_MESSAGE_KIND_REQUEST, g_variant_new_int32 (3), NULL);
  {
    g_autoptr(GUnixFDList) list = g_unix_fd_list_new_from_array (&memfd, 1);

    coproc_message_set_unix_fd_list (message, list);
  }
  g_assert_null (coproc_messenger_request_message (messenger, message, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "1.2"));
  g_clear_error (&error);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);

  /* Without descriptors, the same request is served. */
  coproc_message_set_unix_fd_list (message, NULL);
  reply = coproc_messenger_request_message (messenger, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (reply, G_VARIANT_TYPE_INT32));
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 3);   /* echoed */

  g_assert_true (coproc_messenger_close (messenger, &error));
  g_assert_no_error (error);
  join_worker (worker);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  worker_path = find_test_worker ();

  add_both ("echo-worker", test_echo_worker);
  add_both ("serve", test_serve);
  add_both ("died-async", test_died_async);
  add_both ("died-sync", test_died_sync);
  add_both ("killed-before", test_killed_before);
  add_both ("fds", test_fds_to_worker);
  add_both ("fds-not-announced", test_fds_to_old_worker);

  status = g_test_run ();
  g_free (worker_path);
  return status;
}
