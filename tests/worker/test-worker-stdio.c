/* test-worker-stdio.c: workers over their standard input and output
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The same cases (requests and replies, errors, close, death) run over
 * COPROC_WORKER_TRANSPORT_STDIO along three routes:
 *
 *   direct   argv is coproc-test-worker itself
 *   sh       argv is sh -c 'exec "$0" "$@"' coproc-test-worker ...
 *   ssh      argv is ssh to a real OpenSSH server on 127.0.0.1, which
 *            this test starts with its own host and user keys; the remote
 *            command sets COPROC_TRANSPORT itself, as ssh passes no
 *            environment
 *
 * The ssh route needs /usr/sbin/sshd and ssh (tools/install-deps.sh
 * installs them): without them its cases fail, they are not skipped.
 */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <coproc.h>

/* Shared with coproc-test-worker.c. */
#define TEST_ERROR_DOMAIN "coproc-test-worker-error-quark"

#define SSHD_PATH "/usr/sbin/sshd"

typedef enum { ROUTE_DIRECT, ROUTE_SH, ROUTE_SSH } Route;

static const char * const route_names[] = { "direct", "sh", "ssh" };

static char *worker_path;

/* The OpenSSH server of the ssh route, started on first use. */
static struct
{
  char        *dir;       /* owned; keys, configuration */
  GSubprocess *sshd;      /* owned */
  guint16      port;
  char        *user_key;  /* owned */
} ssh;

static char *
run_or_fail (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
  return g_steal_pointer (&out);
}

static guint16
free_port (void)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  close (fd);

  return ntohs (addr.sin_port);
}

static gboolean
port_accepts (guint16 port)
{
  struct sockaddr_in addr = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  gboolean ok;

  addr.sin_family = AF_INET;
  addr.sin_port = htons (port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ok = connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0;
  close (fd);

  return ok;
}

static void
ensure_sshd (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host_key = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *config = NULL;
  g_autofree char *public_key = NULL;
  g_autofree char *authorized = NULL;
  g_autofree char *port_text = NULL;
  g_autofree char *ssh_keygen = NULL;
  g_autofree char *ssh_client = NULL;
  gint64 deadline;

  if (ssh.sshd != NULL)
    return;

  if (!g_file_test (SSHD_PATH, G_FILE_TEST_IS_EXECUTABLE))
    g_error (SSHD_PATH " is missing: install openssh-server (tools/install-deps.sh)");
  ssh_keygen = g_find_program_in_path ("ssh-keygen");
  ssh_client = g_find_program_in_path ("ssh");
  if (ssh_keygen == NULL || ssh_client == NULL)
    g_error ("ssh or ssh-keygen is missing: install openssh-client (tools/install-deps.sh)");

  ssh.dir = g_dir_make_tmp ("coproc-sshd-XXXXXX", &error);
  g_assert_no_error (error);

  host_key = g_build_filename (ssh.dir, "host_key", NULL);
  ssh.user_key = g_build_filename (ssh.dir, "user_key", NULL);
  {
    const char *host_argv[] = { ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-f", host_key, NULL };
    const char *user_argv[] = { ssh_keygen, "-q", "-t", "ed25519", "-N", "", "-f", ssh.user_key, NULL };

    g_free (run_or_fail (host_argv));
    g_free (run_or_fail (user_argv));
  }

  public_key = g_strconcat (ssh.user_key, ".pub", NULL);
  g_file_get_contents (public_key, &config, NULL, &error);
  g_assert_no_error (error);
  authorized = g_build_filename (ssh.dir, "authorized_keys", NULL);
  g_file_set_contents (authorized, config, -1, &error);
  g_assert_no_error (error);
  g_clear_pointer (&config, g_free);

  /* sshd wants its privilege separation directory. */
  if (!g_file_test ("/run/sshd", G_FILE_TEST_IS_DIR))
    g_assert_cmpint (g_mkdir_with_parents ("/run/sshd", 0755), ==, 0);

  ssh.port = free_port ();
  config = g_strdup_printf ("ListenAddress 127.0.0.1\n"
                            "HostKey %s\n"
                            "AuthorizedKeysFile %s\n"
                            "PidFile none\n"
                            "StrictModes no\n"
                            "PermitRootLogin prohibit-password\n"
                            "PasswordAuthentication no\n"
                            "KbdInteractiveAuthentication no\n"
                            "UsePAM no\n"
                            "LogLevel ERROR\n",
                            host_key, authorized);
  config_path = g_build_filename (ssh.dir, "sshd_config", NULL);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);

  port_text = g_strdup_printf ("%u", ssh.port);
  ssh.sshd = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error,
                               SSHD_PATH, "-f", config_path, "-D", "-e", "-p", port_text, NULL);
  g_assert_no_error (error);

  /* Wait until it listens (or gave up). */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!port_accepts (ssh.port))
    {
      if (g_subprocess_get_identifier (ssh.sshd) == NULL)
        g_error ("sshd exited before it listened on port %u", ssh.port);
      if (g_get_monotonic_time () > deadline)
        g_error ("sshd did not listen on port %u", ssh.port);
      g_usleep (20 * 1000);
    }
}

static void
stop_sshd (void)
{
  if (ssh.sshd != NULL)
    {
      g_subprocess_force_exit (ssh.sshd);
      g_subprocess_wait (ssh.sshd, NULL, NULL);
      g_clear_object (&ssh.sshd);
    }

  if (ssh.dir != NULL)
    {
      const char *names[] = { "host_key", "host_key.pub", "user_key", "user_key.pub",
                              "authorized_keys", "sshd_config" };

      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        {
          g_autofree char *path = g_build_filename (ssh.dir, names[i], NULL);

          g_unlink (path);
        }
      g_rmdir (ssh.dir);
      g_clear_pointer (&ssh.dir, g_free);
    }
  g_clear_pointer (&ssh.user_key, g_free);
}

/* The argv that reaches coproc-test-worker in @mode along @route. */
static GStrv
route_argv (Route        route,
            GType        messenger_type,
            const char  *mode)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  switch (route)
    {
    case ROUTE_DIRECT:
      g_strv_builder_add_many (builder, worker_path, mode, NULL);
      break;

    case ROUTE_SH:
      g_strv_builder_add_many (builder, "/bin/sh", "-c", "exec \"$0\" \"$@\"", worker_path, mode,
                               NULL);
      break;

    case ROUTE_SSH:
      {
        g_autofree char *quoted = g_shell_quote (worker_path);
        g_autofree char *remote = g_strdup_printf ("COPROC_TRANSPORT=stdio "
                                                   "COPROC_MESSENGER_TYPE=%s exec %s %s",
                                                   g_type_name (messenger_type), quoted, mode);
        g_autofree char *port = NULL;
        g_autofree char *target = NULL;

        ensure_sshd ();
        port = g_strdup_printf ("%u", ssh.port);
        target = g_strdup_printf ("%s@127.0.0.1", g_get_user_name ());
        g_strv_builder_add_many (builder, "ssh", "-T",
                                 "-o", "BatchMode=yes",
                                 "-o", "StrictHostKeyChecking=no",
                                 "-o", "UserKnownHostsFile=/dev/null",
                                 "-o", "LogLevel=ERROR",
                                 "-i", ssh.user_key, "-p", port, target, remote, NULL);
      }
      break;

    default:
      g_assert_not_reached ();
    }

  return g_strv_builder_end (builder);
}

static CoprocWorkerResource *
start_worker (Route       route,
              GType       messenger_type,
              const char *mode)
{
  g_auto(GStrv) argv = route_argv (route, messenger_type, mode);
  g_autoptr(GError) error = NULL;
  CoprocWorkerResource *worker = coproc_worker_resource_new ((const char * const *) argv,
                                                             messenger_type);

  coproc_worker_resource_set_transport (worker, COPROC_WORKER_TRANSPORT_STDIO);
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);
  return worker;
}

typedef struct
{
  gboolean exited;
  gint     status;
} ExitWatch;

static void
exited_cb (CoprocWorkerResource *worker,
           gint                  status,
           gpointer              user_data)
{
  ExitWatch *watch = user_data;

  watch->exited = TRUE;
  watch->status = status;
}

static void
wait_exited (ExitWatch *watch)
{
  while (!watch->exited)
    g_main_context_iteration (NULL, TRUE);
}

/* The outcome of one async request. */
typedef struct
{
  guint     n_calls;
  GVariant *reply;
  GError   *error;
} Outcome;

static void
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Outcome *o = user_data;

  o->n_calls++;
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
wait_outcome (Outcome *o)
{
  while (o->n_calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (o->n_calls, ==, 1);
}

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->reply, g_variant_unref);
  g_clear_error (&o->error);
}

static GVariant *
op (const char *name,
    gint32      n)
{
  return g_variant_new ("(si)", name, n);
}

typedef struct
{
  Route route;
  GType messenger_type;
} Case;

/* Many outstanding requests, one far above the memfd threshold (which
 * travels inline here), and the close request of join(). Output the
 * worker writes to its standard output, itself or from a child, goes to
 * standard error and does not disturb the protocol. */
static void
test_requests (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(CoprocWorkerResource) worker = start_worker (c->route, c->messenger_type, "noisy-echo");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GVariant) big_reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *big = NULL;
  ExitWatch watch = { 0 };
  Outcome outcomes[64];
  gsize big_size = 4 * 1024 * 1024;

  g_test_summary ("Requests and replies over a worker's standard input and output");
  g_signal_connect (worker, "exited", G_CALLBACK (exited_cb), &watch);

  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    request_async (messenger, g_variant_new_int32 (i), &outcomes[i]);
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      wait_outcome (&outcomes[i]);
      g_assert_no_error (outcomes[i].error);
      g_assert_cmpint (g_variant_get_int32 (outcomes[i].reply), ==, i);
      outcome_clear (&outcomes[i]);
    }

  g_assert_cmpuint (big_size, >=, coproc_messenger_get_large_message_threshold (messenger));
  big = g_malloc (big_size + 1);
  memset (big, 'x', big_size);
  big[big_size] = '\0';
  big_reply = coproc_messenger_request (messenger, g_variant_new_string (big), NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (big_reply, NULL), ==, big);

  g_assert_true (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_no_error (error);
  wait_exited (&watch);
  g_assert_true (WIFEXITED (watch.status));
  g_assert_cmpint (WEXITSTATUS (watch.status), ==, 0);
}

/* reply_error() from the worker arrives as that error; the other
 * outstanding requests complete as usual. */
static void
test_errors (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(CoprocWorkerResource) worker = start_worker (c->route, c->messenger_type, "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GError) error = NULL;
  Outcome held, failed, released;

  request_async (messenger, op ("hold", 1), &held);
  request_async (messenger, op ("fail", 7), &failed);
  request_async (messenger, op ("release", 3), &released);
  wait_outcome (&held);
  wait_outcome (&failed);
  wait_outcome (&released);

  g_assert_error (failed.error, g_quark_from_static_string (TEST_ERROR_DOMAIN), 7);
  g_assert_cmpstr (failed.error->message, ==, "request failed with code 7");
  g_assert_no_error (held.error);
  g_assert_cmpint (g_variant_get_int32 (held.reply), ==, 1);
  g_assert_no_error (released.error);
  g_assert_cmpint (g_variant_get_int32 (released.reply), ==, 3);

  outcome_clear (&held);
  outcome_clear (&failed);
  outcome_clear (&released);

  g_assert_true (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_no_error (error);
}

/* The worker answers what it holds and exits with status 3 without
 * answering the last request: that one fails with WORKER_DIED. */
static void
test_died (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(CoprocWorkerResource) worker = start_worker (c->route, c->messenger_type, "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GVariant) after = NULL;
  g_autoptr(GError) error = NULL;
  ExitWatch watch = { 0 };
  Outcome a, dying;

  g_signal_connect (worker, "exited", G_CALLBACK (exited_cb), &watch);
  request_async (messenger, op ("hold", 1), &a);
  request_async (messenger, op ("die", 3), &dying);
  wait_outcome (&a);
  wait_outcome (&dying);

  g_assert_no_error (a.error);
  g_assert_cmpint (g_variant_get_int32 (a.reply), ==, 1);
  g_assert_error (dying.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  after = coproc_messenger_request (messenger, op ("echo", 4), NULL, NULL, &error);
  g_assert_null (after);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  wait_exited (&watch);
  /* ssh exits with the remote command's status. */
  g_assert_true (WIFEXITED (watch.status));
  g_assert_cmpint (WEXITSTATUS (watch.status), ==, 3);

  outcome_clear (&a);
  outcome_clear (&dying);
}

/* SIGKILL of pid while a request waits: the request fails with
 * WORKER_DIED, and the blocking form after it too. */
static void
test_killed (gconstpointer data)
{
  const Case *c = data;
  g_autoptr(CoprocWorkerResource) worker = start_worker (c->route, c->messenger_type, "serve");
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  ExitWatch watch = { 0 };
  Outcome held;

  g_signal_connect (worker, "exited", G_CALLBACK (exited_cb), &watch);

  /* The worker is up and holds a request. */
  reply = coproc_messenger_request (messenger, op ("echo", 1), NULL, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  request_async (messenger, op ("hold", 2), &held);

  g_assert_cmpint (kill (coproc_worker_resource_get_pid (worker), SIGKILL), ==, 0);
  wait_outcome (&held);
  g_assert_error (held.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  reply = coproc_messenger_request (messenger, op ("echo", 3), NULL, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);

  wait_exited (&watch);
  g_assert_true (WIFSIGNALED (watch.status));
  outcome_clear (&held);
}

/* A function worker follows COPROC_TRANSPORT: it connects over stdio. */
static int
function_echo (CoprocMessenger *messenger,
               gpointer         user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) request = NULL;
  const char *transport = g_getenv ("COPROC_TRANSPORT");

  /* new_for_stdio() removed it, and took standard output away. */
  g_print ("function worker: standard output goes to standard error\n");
  request = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
  if (request == NULL)
    return 99;
  if (!coproc_messenger_reply_to (messenger, request,
                                  g_variant_new ("(sb)", "function", transport == NULL), &error))
    return 99;
  coproc_messenger_receive_message_blocking (messenger, NULL, NULL, NULL);
  return 0;
}

static void
test_function_worker (void)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  ExitWatch watch = { 0 };
  const char *name;
  gboolean unset;

  worker = coproc_worker_resource_new_for_function ("stdio-echo", G_TYPE_NONE);
  g_assert_cmpint (coproc_worker_resource_get_transport (worker), ==,
                   COPROC_WORKER_TRANSPORT_SOCKET);
  g_object_set (worker, "transport", COPROC_WORKER_TRANSPORT_STDIO, NULL);
  g_assert_cmpint (coproc_worker_resource_get_transport (worker), ==,
                   COPROC_WORKER_TRANSPORT_STDIO);
  g_signal_connect (worker, "exited", G_CALLBACK (exited_cb), &watch);
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);

  reply = coproc_messenger_request (coproc_worker_resource_get_messenger (worker),
                                    g_variant_new_int32 (1), NULL, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(&sb)", &name, &unset);
  g_assert_cmpstr (name, ==, "function");
  g_assert_true (unset);

  g_assert_true (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_no_error (error);
  wait_exited (&watch);
  g_assert_true (WIFEXITED (watch.status));
  g_assert_cmpint (WEXITSTATUS (watch.status), ==, 0);
}

/* In a process whose standard input is not open, new_for_stdio() fails
 * with INVALID_ARGUMENT. */
static void
test_no_stdin (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CoprocMessenger) messenger = NULL;

      close (STDIN_FILENO);
      messenger = coproc_messenger_new_for_stdio (COPROC_TYPE_PRIORITY_MESSENGER, &error);
      g_assert_null (messenger);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "Standard input"));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static char *
find_test_worker (void)
{
  char *path;

  path = g_test_build_filename (G_TEST_BUILT, "worker", "coproc-test-worker", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_free (path);
      path = g_test_build_filename (G_TEST_BUILT, "coproc-test-worker", NULL);
    }

  /* The ssh route starts it from the remote user's home directory. */
  {
    char *absolute = g_canonicalize_filename (path, NULL);

    g_free (path);
    path = absolute;
  }

  return path;
}

static void
pool_submit_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Outcome *o = user_data;

  o->n_calls++;
  o->reply = coproc_worker_pool_submit_finish (COPROC_WORKER_POOL (source), result, &o->error);
}

/* A pool whose workers are reached over ssh: jobs spread over both, each
 * answered once, and a failed job fails alone. */
static void
test_pool_over_ssh (void)
{
  g_auto(GStrv) argv = route_argv (ROUTE_SSH, COPROC_TYPE_PRIORITY_MESSENGER, "serve");
  g_autoptr(CoprocWorkerPool) pool =
    coproc_worker_pool_new ((const char * const *) argv, 2, G_TYPE_NONE);
  g_autoptr(GError) error = NULL;
  Outcome outcomes[20];
  CoprocWorkerTransport transport = COPROC_WORKER_TRANSPORT_SOCKET;

  g_object_set (pool, "transport", COPROC_WORKER_TRANSPORT_STDIO, NULL);
  g_object_get (pool, "transport", &transport, NULL);
  g_assert_cmpint (transport, ==, COPROC_WORKER_TRANSPORT_STDIO);
  g_assert_true (coproc_worker_pool_start (pool, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpint (coproc_worker_resource_get_transport (coproc_worker_pool_get_worker (pool, i)),
                     ==, COPROC_WORKER_TRANSPORT_STDIO);

  memset (outcomes, 0, sizeof outcomes);
  for (gint32 i = 0; i < 20; i++)
    coproc_worker_pool_submit_async (pool, op (i == 13 ? "fail" : "echo", i), NULL,
                                     pool_submit_cb, &outcomes[i]);
  for (gint32 i = 0; i < 20; i++)
    {
      wait_outcome (&outcomes[i]);
      if (i == 13)
        g_assert_error (outcomes[i].error, g_quark_from_string (TEST_ERROR_DOMAIN), 13);
      else
        {
          g_assert_no_error (outcomes[i].error);
          g_assert_cmpint (g_variant_get_int32 (outcomes[i].reply), ==, i);
        }
      outcome_clear (&outcomes[i]);
    }

  g_assert_true (coproc_worker_pool_join (pool, NULL, &error));
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  static const struct { const char *name; GTestDataFunc func; } cases[] = {
    { "requests", test_requests },
    { "errors", test_errors },
    { "died", test_died },
    { "killed", test_killed },
  };
  static Case routes[G_N_ELEMENTS (route_names)][2];
  int status;

  coproc_worker_register ("stdio-echo", function_echo, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  g_test_init (&argc, &argv, NULL);
  worker_path = find_test_worker ();

  for (guint r = 0; r < G_N_ELEMENTS (route_names); r++)
    {
      routes[r][0] = (Case) { r, COPROC_TYPE_PRIORITY_MESSENGER };
      routes[r][1] = (Case) { r, COPROC_TYPE_MULTI_MESSENGER };

      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        for (guint k = 0; k < 2; k++)
          {
            g_autofree char *path =
              g_strdup_printf ("/Coproc/WorkerResource/stdio/%s/%s/%s", route_names[r],
                               cases[i].name, k == 0 ? "PriorityMessenger" : "MultiMessenger");

            g_test_add_data_func (path, &routes[r][k], cases[i].func);
          }
    }
  g_test_add_func ("/Coproc/WorkerResource/stdio/function-worker", test_function_worker);
  g_test_add_func ("/Coproc/WorkerPool/stdio/over-ssh", test_pool_over_ssh);
  g_test_add_func ("/Coproc/Messenger/new-for-stdio/no-stdin", test_no_stdin);

  status = g_test_run ();

  stop_sshd ();
  g_free (worker_path);
  return status;
}
