/* test-worker-sandbox.c: sandboxed workers, with the real bubblewrap
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each confinement the sandbox promises is checked by asking a sandboxed
 * coproc-test-worker (mode sandbox-probe) to break it, and by looking on
 * the host side that nothing happened; where it matters the same probe runs
 * unsandboxed first, to show that the probe itself can succeed.
 *
 * bwrap must be installed (tools/install-deps.sh installs bubblewrap):
 * without it these tests fail, they are not skipped.
 */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <coproc.h>

static char *worker_path;

static CoprocWorkerResource *
new_worker (const char *mode)
{
  const char *argv[] = { worker_path, mode, NULL };

  return coproc_worker_resource_new (argv, G_TYPE_NONE);
}

static CoprocWorkerResource *
start_sandboxed (const char            *mode,
                 CoprocWorkerTransport  transport)
{
  g_autoptr(GError) error = NULL;
  CoprocWorkerResource *worker = new_worker (mode);

  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
  coproc_worker_resource_set_transport (worker, transport);
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);

  return worker;
}

/* What the worker answers to one probe. */
static char *
ask (CoprocWorkerResource *worker,
     const char           *format,
     ...) G_GNUC_PRINTF (2, 3);

static char *
ask (CoprocWorkerResource *worker,
     const char           *format,
     ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *what = NULL;
  va_list ap;

  va_start (ap, format);
  what = g_strdup_vprintf (format, ap);
  va_end (ap);

  reply = coproc_messenger_request (coproc_worker_resource_get_messenger (worker),
                                    g_variant_new_string (what), NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s → %s", what, g_variant_get_string (reply, NULL));

  return g_variant_dup_string (reply, NULL);
}

static void
join (CoprocWorkerResource *worker)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_worker_resource_join (worker, NULL, &error));
  g_assert_no_error (error);
}

/* A fresh directory in /var/tmp: neither /tmp nor /run, which the
 * sandbox replaces (the build directory may be in /tmp). */
static char *
make_dir (const char *name)
{
  g_autofree char *template = g_strdup_printf ("coproc-sandbox-%s-XXXXXX", name);
  char *path = g_build_filename ("/var/tmp", template, NULL);

  g_assert_nonnull (g_mkdtemp (path));
  return path;
}

static void
remove_dir (const char *dir,
            const char * const *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);

      g_unlink (path);
      g_rmdir (path);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* How many processes this one has as children now. */
static guint
count_children (void)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *stat = NULL;
      const char *p;

      if (!g_ascii_isdigit (name[0]))
        continue;
      path = g_build_filename ("/proc", name, "stat", NULL);
      if (!g_file_get_contents (path, &stat, NULL, NULL) || (p = strrchr (stat, ')')) == NULL)
        continue;
      /* ") S PPID ..." */
      if (atoi (p + 4) == getpid ())
        n++;
    }

  return n;
}

/* Requests and replies, payloads far above the memfd threshold (a
 * descriptor over the socket, inline over pipes), and the close request
 * of join(). The worker's pid is bwrap's, and its statistics count the
 * wrapper's processes. */
static void
test_requests (gconstpointer data)
{
  CoprocWorkerTransport transport = GPOINTER_TO_INT (data);
  g_autoptr(CoprocWorkerResource) worker = start_sandboxed ("echo", transport);
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autofree char *comm = NULL;
  g_autofree char *comm_path = NULL;
  g_autofree char *big = NULL;
  guint32 processes = 0;

  for (gint32 i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) reply = coproc_messenger_request (messenger, g_variant_new_int32 (i),
                                                            NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int32 (reply), ==, i);
    }

  big = g_malloc (4 * 1024 * 1024 + 1);
  memset (big, 'x', 4 * 1024 * 1024);
  big[4 * 1024 * 1024] = '\0';
  {
    g_autoptr(GVariant) reply = coproc_messenger_request (messenger, g_variant_new_string (big),
                                                          NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, big);
  }

  comm_path = g_strdup_printf ("/proc/%d/comm", (int) coproc_worker_resource_get_pid (worker));
  g_assert_true (g_file_get_contents (comm_path, &comm, NULL, NULL));
  g_assert_cmpstr (g_strchomp (comm), ==, "bwrap");

  /* bwrap, its init in the PID namespace, and the worker. */
  stats = coproc_worker_resource_get_stats (worker);
  g_assert_nonnull (stats);
  g_assert_true (g_variant_lookup (stats, "processes", "u", &processes));
  g_assert_cmpuint (processes, >=, 3);

  join (worker);
}

/* A TCP listener on 127.0.0.1, non-blocking; its port in @port. */
static int
listen_loopback (guint16 *port)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

  g_assert_cmpint (fd, >=, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &addr, sizeof addr), ==, 0);
  g_assert_cmpint (listen (fd, 8), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &addr, &len), ==, 0);
  *port = ntohs (addr.sin_port);

  return fd;
}

/* Whether a connection reached the listener; takes it. The connect() of
 * the probe has returned by then: a connection that was made is in the
 * backlog already. */
static gboolean
accept_pending (int listener)
{
  int fd = accept4 (listener, NULL, NULL, SOCK_CLOEXEC);

  if (fd < 0)
    {
      g_assert_cmpint (errno, ==, EAGAIN);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* No network at all: not even a listener of the host on 127.0.0.1. */
static void
test_network (void)
{
  g_autoptr(CoprocWorkerResource) free_worker = new_worker ("sandbox-probe");
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *answer = NULL;
  guint16 port;
  int listener = listen_loopback (&port);

  /* Unsandboxed, the probe connects. */
  g_assert_true (coproc_worker_resource_start (free_worker, &error));
  g_assert_no_error (error);
  answer = ask (free_worker, "tcp %u", port);
  g_assert_cmpstr (answer, ==, "connected");
  g_assert_true (accept_pending (listener));
  join (free_worker);
  g_clear_pointer (&answer, g_free);

  worker = start_sandboxed ("sandbox-probe", COPROC_WORKER_TRANSPORT_SOCKET);
  answer = ask (worker, "tcp %u", port);
  g_assert_true (g_str_has_prefix (answer, "failed: "));
  g_assert_false (accept_pending (listener));
  join (worker);
  close (listener);
}

/* The file system is read-only except the sandbox's own /tmp and the
 * paths granted writable; a read-only grant can be read; no capability
 * is left to remount anything. */
static void
test_files (void)
{
  g_autofree char *outside = make_dir ("outside");
  g_autofree char *rw = make_dir ("rw");
  g_autofree char *ro = make_dir ("ro");
  g_autofree char *outside_file = g_build_filename (outside, "made-in-sandbox", NULL);
  g_autofree char *rw_file = g_build_filename (rw, "made-in-sandbox", NULL);
  g_autofree char *ro_file = g_build_filename (ro, "made-in-sandbox", NULL);
  g_autofree char *ro_data = g_build_filename (ro, "data", NULL);
  g_autofree char *tmp_file = g_strdup_printf ("/tmp/coproc-sandbox-%d", (int) getpid ());
  g_autofree char *answer = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(CoprocWorkerResource) worker = new_worker ("sandbox-probe");
  g_autoptr(GError) error = NULL;
  const char *names[] = { "made-in-sandbox", "data", NULL };

  g_file_set_contents (ro_data, "granted read-only", -1, &error);
  g_assert_no_error (error);

  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
  coproc_worker_resource_add_sandbox_path (worker, rw, TRUE);
  coproc_worker_resource_add_sandbox_path (worker, ro, FALSE);
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);

  answer = ask (worker, "create %s", outside_file);
  g_assert_cmpstr (answer, ==, "failed: Read-only file system");
  g_assert_false (g_file_test (outside_file, G_FILE_TEST_EXISTS));
  g_clear_pointer (&answer, g_free);

  answer = ask (worker, "create %s", rw_file);
  g_assert_cmpstr (answer, ==, "created");
  g_assert_true (g_file_get_contents (rw_file, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "sandboxed\n");
  g_clear_pointer (&answer, g_free);

  answer = ask (worker, "read %s", ro_data);
  g_assert_cmpstr (answer, ==, "read: granted read-only");
  g_clear_pointer (&answer, g_free);

  answer = ask (worker, "create %s", ro_file);
  g_assert_cmpstr (answer, ==, "failed: Read-only file system");
  g_assert_false (g_file_test (ro_file, G_FILE_TEST_EXISTS));
  g_clear_pointer (&answer, g_free);

  /* /tmp is the sandbox's own: writable, and nothing reaches the host's. */
  answer = ask (worker, "create %s", tmp_file);
  g_assert_cmpstr (answer, ==, "created");
  g_assert_false (g_file_test (tmp_file, G_FILE_TEST_EXISTS));
  g_clear_pointer (&answer, g_free);

  answer = ask (worker, "caps");
  g_assert_cmpstr (answer, ==, "0000000000000000");

  join (worker);
  remove_dir (outside, names);
  remove_dir (rw, names);
  remove_dir (ro, names);
}

/* A clean environment: no session bus, display or XDG_RUNTIME_DIR, whose
 * contents are hidden too; what setenv() gave and PATH are there. */
static void
test_environment (void)
{
  g_autofree char *runtime = make_dir ("runtime");
  g_autofree char *bus = g_build_filename (runtime, "bus", NULL);
  g_autofree char *answer = NULL;
  g_autoptr(CoprocWorkerResource) free_worker = new_worker ("sandbox-probe");
  g_autoptr(CoprocWorkerResource) worker = new_worker ("sandbox-probe");
  g_autoptr(GError) error = NULL;
  const char *hidden[] = { "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY",
                           "XDG_RUNTIME_DIR" };
  const char *names[] = { "bus", NULL };
  g_autofree char *bus_address = g_strdup_printf ("unix:path=%s", bus);

  /* This process's environment, as a desktop session's would be. */
  g_file_set_contents (bus, "a socket would be here", -1, &error);
  g_assert_no_error (error);
  g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
  g_setenv ("DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  g_setenv ("DISPLAY", ":0", TRUE);
  g_setenv ("WAYLAND_DISPLAY", "wayland-0", TRUE);

  /* Unsandboxed, the worker sees all of it. */
  g_assert_true (coproc_worker_resource_start (free_worker, &error));
  g_assert_no_error (error);
  answer = ask (free_worker, "getenv DBUS_SESSION_BUS_ADDRESS");
  g_assert_true (g_str_has_prefix (answer, "set: ") && g_str_equal (answer + 5, bus_address));
  g_clear_pointer (&answer, g_free);
  answer = ask (free_worker, "exists %s", bus);
  g_assert_cmpstr (answer, ==, "exists");
  g_clear_pointer (&answer, g_free);
  join (free_worker);

  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
  coproc_worker_resource_setenv (worker, "COPROC_TEST_GIVEN", "by setenv");
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (hidden); i++)
    {
      answer = ask (worker, "getenv %s", hidden[i]);
      g_assert_cmpstr (answer, ==, "unset");
      g_clear_pointer (&answer, g_free);
    }
  answer = ask (worker, "exists %s", bus);
  g_assert_cmpstr (answer, ==, "missing");
  g_clear_pointer (&answer, g_free);
  answer = ask (worker, "getenv COPROC_TEST_GIVEN");
  g_assert_cmpstr (answer, ==, "set: by setenv");
  g_clear_pointer (&answer, g_free);
  answer = ask (worker, "getenv PATH");
  g_assert_true (g_str_has_prefix (answer, "set: ") && g_str_equal (answer + 5, g_getenv ("PATH")));
  g_clear_pointer (&answer, g_free);
  join (worker);

  g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
  g_unsetenv ("DISPLAY");
  g_unsetenv ("WAYLAND_DISPLAY");
  remove_dir (runtime, names);
}

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

typedef struct
{
  guint n_exited;
  gint  status;
} ExitWatch;

static void
exited_cb (CoprocWorkerResource *worker,
           gint                  status,
           gpointer              user_data)
{
  ExitWatch *watch = user_data;

  watch->n_exited++;
  watch->status = status;
}

/* Death: SIGKILL of the pid (bwrap's) ends the worker, and a worker that
 * dies by a signal inside is reported as killed by it, not as bwrap's
 * exit status 128 + N. Either way pending requests fail with WORKER_DIED
 * at once. */
static void
test_death (gconstpointer data)
{
  gboolean from_outside = GPOINTER_TO_INT (data);
  int signal_number = from_outside ? SIGKILL : SIGABRT;
  g_autoptr(CoprocWorkerResource) worker = start_sandboxed ("serve",
                                                            COPROC_WORKER_TRANSPORT_SOCKET);
  CoprocMessenger *messenger = coproc_worker_resource_get_messenger (worker);
  g_autofree char *expected = NULL;
  Outcome held = { 0 }, last = { 0 };
  ExitWatch watch = { 0 };

  g_signal_connect (worker, "exited", G_CALLBACK (exited_cb), &watch);

  coproc_messenger_request_async (messenger, g_variant_new ("(si)", "hold", 1), NULL, NULL,
                                  request_cb, &held);
  if (from_outside)
    {
      /* Make sure the worker has the held request before it is killed. */
      coproc_messenger_request_async (messenger, g_variant_new ("(si)", "echo", 2), NULL, NULL,
                                      request_cb, &last);
      while (last.n_calls == 0)
        g_main_context_iteration (NULL, TRUE);
      g_assert_no_error (last.error);
      g_assert_cmpint (kill (coproc_worker_resource_get_pid (worker), SIGKILL), ==, 0);
    }
  else
    {
      /* "abort" answers what is held, then aborts without answering this. */
      coproc_messenger_request_async (messenger, g_variant_new ("(si)", "abort", 0), NULL, NULL,
                                      request_cb, &last);
    }

  while (last.n_calls == 0 || held.n_calls == 0)
    g_main_context_iteration (NULL, TRUE);

  expected = g_strdup_printf ("killed by signal %d", signal_number);
  if (from_outside)
    {
      g_assert_error (held.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
      g_assert_nonnull (strstr (held.error->message, expected));
    }
  else
    {
      g_assert_no_error (held.error);
      g_assert_error (last.error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
      g_assert_nonnull (strstr (last.error->message, expected));
    }

  while (watch.n_exited == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (watch.n_exited, ==, 1);
  g_assert_true (WIFSIGNALED (watch.status));
  g_assert_cmpint (WTERMSIG (watch.status), ==, signal_number);
  g_assert_false (coproc_worker_resource_is_alive (worker));

  g_clear_pointer (&held.reply, g_variant_unref);
  g_clear_pointer (&last.reply, g_variant_unref);
  g_clear_error (&held.error);
  g_clear_error (&last.error);
}

/* The first descendant of @pid whose command is @comm, or 0. */
static GPid
find_descendant (GPid        pid,
                 const char *comm)
{
  g_autoptr(GArray) tree = g_array_new (FALSE, FALSE, sizeof (GPid));

  g_array_append_val (tree, pid);
  for (guint i = 0; i < tree->len; i++)
    {
      g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
      const char *name;

      while ((name = g_dir_read_name (proc)) != NULL)
        {
          g_autofree char *path = NULL;
          g_autofree char *stat = NULL;
          const char *p;
          GPid child;

          if (!g_ascii_isdigit (name[0]))
            continue;
          path = g_build_filename ("/proc", name, "stat", NULL);
          if (!g_file_get_contents (path, &stat, NULL, NULL) || (p = strrchr (stat, ')')) == NULL)
            continue;
          if (atoi (p + 4) != g_array_index (tree, GPid, i))
            continue;
          child = atoi (name);
          if (strncmp (strchr (stat, '(') + 1, comm, strlen (comm)) == 0 &&
              strchr (stat, '(')[1 + strlen (comm)] == ')')
            return child;
          g_array_append_val (tree, child);
        }
    }

  return 0;
}

/* Waits until @pid has ended: a pidfd becomes readable then. */
static void
wait_gone (GPid pid)
{
  int fd = pidfd_open (pid, 0);
  struct pollfd poll_fd = { 0 };

  if (fd < 0 && errno == ENOSYS)
    {
      /* valgrind does not know pidfd_open(): watch /proc instead. */
      g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);

      for (;;)
        {
          g_autofree char *stat = NULL;
          const char *p;

          if (!g_file_get_contents (path, &stat, NULL, NULL) ||
              ((p = strrchr (stat, ')')) != NULL && (p[2] == 'Z' || p[2] == 'X')))
            return;
          g_usleep (1000);
        }
    }
  if (fd < 0)
    {
      g_assert_cmpint (errno, ==, ESRCH);
      return;
    }
  poll_fd.fd = fd;
  poll_fd.events = POLLIN;
  while (poll (&poll_fd, 1, -1) < 0)
    g_assert_cmpint (errno, ==, EINTR);
  close (fd);
}

/* The sandbox dies with its host: a host killed by SIGKILL, which can
 * clean nothing up, takes bwrap and the worker with it. The worker is a
 * plain `sleep`, which would otherwise outlive it. */
static void
test_dies_with_host (void)
{
  g_autofree char *record = g_strdup_printf ("%s/sandbox-host-%d",
                                             g_test_get_dir (G_TEST_BUILT),
                                             g_test_subprocess () ? (int) getppid ()
                                                                  : (int) getpid ());
  g_autofree char *contents = NULL;
  g_auto(GStrv) pids = NULL;

  if (g_test_subprocess ())
    {
      const char *argv[] = { "/bin/sleep", "1000", NULL };
      g_autoptr(CoprocWorkerResource) worker = coproc_worker_resource_new (argv, G_TYPE_NONE);
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      GPid bwrap, sleeper = 0;

      coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
      g_assert_true (coproc_worker_resource_start (worker, &error));
      g_assert_no_error (error);
      bwrap = coproc_worker_resource_get_pid (worker);
      /* Until bwrap has set up the sandbox and started the worker. */
      while ((sleeper = find_descendant (bwrap, "sleep")) == 0)
        g_usleep (1000);

      text = g_strdup_printf ("%d %d", (int) bwrap, (int) sleeper);
      g_file_set_contents (record, text, -1, &error);
      g_assert_no_error (error);
      kill (getpid (), SIGKILL);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  g_assert_true (g_file_get_contents (record, &contents, NULL, NULL));
  g_unlink (record);
  pids = g_strsplit (contents, " ", 2);
  g_assert_cmpuint (g_strv_length (pids), ==, 2);
  g_test_message ("host killed; waiting for bwrap %s and the worker %s to end", pids[0], pids[1]);
  wait_gone (atoi (pids[0]));
  wait_gone (atoi (pids[1]));
}

/* A sandbox that cannot be set up fails start() with the reason, and
 * nothing runs. */
static void
assert_start_fails (CoprocWorkerResource *worker,
                    const char           *reason)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (coproc_worker_resource_start (worker, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, reason));
  g_assert_cmpint (coproc_worker_resource_get_pid (worker), ==, 0);
  g_assert_false (coproc_worker_resource_is_alive (worker));
  g_assert_null (coproc_worker_resource_get_messenger (worker));
  g_assert_cmpuint (count_children (), ==, 0);
}

static void
test_no_bwrap (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(CoprocWorkerResource) worker = new_worker ("echo");
      g_autofree char *empty = make_dir ("path");

      /* A PATH without bwrap in it. */
      g_setenv ("PATH", empty, TRUE);
      coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
      assert_start_fails (worker, "bwrap (bubblewrap) was not found in PATH");
      g_rmdir (empty);
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_missing_path (void)
{
  g_autoptr(CoprocWorkerResource) worker = new_worker ("echo");
  g_autofree char *missing = g_test_build_filename (G_TEST_BUILT, "sandbox-no-such-path", NULL);

  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));
  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
  coproc_worker_resource_add_sandbox_path (worker, missing, TRUE);
  assert_start_fails (worker, "Can't find source path");
}

static void
test_flatpak_outside (void)
{
  g_autoptr(CoprocWorkerResource) worker = new_worker ("echo");

  /* This machine is no Flatpak. */
  g_assert_false (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS));
  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_FLATPAK_SPAWN);
  assert_start_fails (worker, "does not run inside a Flatpak");
}

/* A function worker of this program, sandboxed by AUTO (bubblewrap here),
 * over either transport. */
static int
function_tcp_probe (CoprocMessenger *messenger,
                    gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(CoprocMessage) message = NULL;
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *answer = NULL;

      message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (message == NULL)
        return g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED) ? 0 : 1;

      connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                    g_variant_get_uint16 (coproc_message_get_payload (message)),
                                                    NULL, &error);
      answer = connection ? g_strdup ("connected") : g_strdup_printf ("failed: %s", error->message);
      if (!coproc_messenger_reply_to (messenger, message, g_variant_new_string (answer), NULL))
        return 1;
    }
}

static void
test_function (gconstpointer data)
{
  CoprocWorkerTransport transport = GPOINTER_TO_INT (data);
  g_autoptr(CoprocWorkerResource) worker =
    coproc_worker_resource_new_for_function ("tcp-probe", G_TYPE_NONE);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;
  int listener = listen_loopback (&port);

  g_object_set (worker, "sandbox", COPROC_SANDBOX_AUTO, "transport", transport, NULL);
  g_assert_true (coproc_worker_resource_start (worker, &error));
  g_assert_no_error (error);

  reply = coproc_messenger_request (coproc_worker_resource_get_messenger (worker),
                                    g_variant_new_uint16 (port), NULL, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("tcp %u → %s", port, g_variant_get_string (reply, NULL));
  g_assert_true (g_str_has_prefix (g_variant_get_string (reply, NULL), "failed: "));
  g_assert_false (accept_pending (listener));

  join (worker);
  close (listener);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_property (void)
{
  g_autoptr(CoprocWorkerResource) worker = new_worker ("echo");
  CoprocSandbox sandbox = COPROC_SANDBOX_AUTO;
  guint n_notify = 0;

  g_assert_cmpint (coproc_worker_resource_get_sandbox (worker), ==, COPROC_SANDBOX_NONE);
  g_signal_connect (worker, "notify::sandbox", G_CALLBACK (notify_cb), &n_notify);
  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
  coproc_worker_resource_set_sandbox (worker, COPROC_SANDBOX_BWRAP);
  g_assert_cmpuint (n_notify, ==, 1);
  g_object_get (worker, "sandbox", &sandbox, NULL);
  g_assert_cmpint (sandbox, ==, COPROC_SANDBOX_BWRAP);
  g_assert_cmpstr (g_enum_get_value (g_type_class_peek (COPROC_TYPE_SANDBOX),
                                     COPROC_SANDBOX_FLATPAK_SPAWN)->value_nick, ==,
                   "flatpak-spawn");
}

typedef struct
{
  guint n_started;
  guint n_exited;
  gint  last_status;
} PoolWatch;

static void
pool_started_cb (CoprocWorkerPool *pool,
                 guint             index,
                 gpointer          user_data)
{
  ((PoolWatch *) user_data)->n_started++;
}

static void
pool_exited_cb (CoprocWorkerPool *pool,
                guint             index,
                gint              status,
                gpointer          user_data)
{
  PoolWatch *watch = user_data;

  watch->n_exited++;
  watch->last_status = status;
}

static void
submit_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Outcome *o = user_data;

  o->n_calls++;
  o->reply = coproc_worker_pool_submit_finish (COPROC_WORKER_POOL (source), result, &o->error);
}

static gboolean
is_bwrap (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/comm", (int) pid);
  g_autofree char *comm = NULL;

  return g_file_get_contents (path, &comm, NULL, NULL) && g_str_equal (g_strchomp (comm), "bwrap");
}

/* A sandboxed pool answers jobs; when its worker is killed (SIGKILL of
 * its pid, bwrap's), the job in flight runs again on the restarted
 * worker, which is sandboxed too. */
static void
test_pool (void)
{
  const char *argv[] = { worker_path, "serve", NULL };
  g_autoptr(CoprocWorkerPool) pool = coproc_worker_pool_new (argv, 1, G_TYPE_NONE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *granted = make_dir ("pool");
  CoprocSandbox sandbox = COPROC_SANDBOX_NONE;
  CoprocWorkerResource *worker;
  PoolWatch watch = { 0 };
  Outcome held = { 0 };
  GPid first_pid, second_pid;
  const char *names[] = { NULL };

  g_object_set (pool, "sandbox", COPROC_SANDBOX_BWRAP, "jobs-per-worker", 2, NULL);
  coproc_worker_pool_add_sandbox_path (pool, granted, TRUE);
  g_object_get (pool, "sandbox", &sandbox, NULL);
  g_assert_cmpint (sandbox, ==, COPROC_SANDBOX_BWRAP);
  g_signal_connect (pool, "worker-started", G_CALLBACK (pool_started_cb), &watch);
  g_signal_connect (pool, "worker-exited", G_CALLBACK (pool_exited_cb), &watch);

  g_assert_true (coproc_worker_pool_start (pool, &error));
  g_assert_no_error (error);
  worker = coproc_worker_pool_get_worker (pool, 0);
  g_assert_cmpint (coproc_worker_resource_get_sandbox (worker), ==, COPROC_SANDBOX_BWRAP);

  for (gint32 i = 0; i < 10; i++)
    {
      reply = coproc_worker_pool_submit (pool, g_variant_new ("(si)", "echo", i), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int32 (reply), ==, i);
      g_clear_pointer (&reply, g_variant_unref);
    }

  first_pid = coproc_worker_resource_get_pid (worker);
  g_assert_true (is_bwrap (first_pid));

  /* A job in flight on the worker, then the worker killed. */
  coproc_worker_pool_submit_async (pool, g_variant_new ("(si)", "hold", 7), NULL, submit_cb, &held);
  reply = coproc_worker_pool_submit (pool, g_variant_new ("(si)", "echo", 8), NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  g_assert_cmpint (kill (first_pid, SIGKILL), ==, 0);

  while (watch.n_exited == 0 || watch.n_started < 2)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (WIFSIGNALED (watch.last_status));
  g_assert_cmpint (WTERMSIG (watch.last_status), ==, SIGKILL);
  g_assert_cmpuint (held.n_calls, ==, 0);

  second_pid = coproc_worker_resource_get_pid (worker);
  g_assert_cmpint (second_pid, !=, first_pid);
  g_assert_true (is_bwrap (second_pid));

  /* The held job runs again there: releasing answers it. */
  reply = coproc_worker_pool_submit (pool, g_variant_new ("(si)", "release", 9), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (reply), ==, 9);
  while (held.n_calls == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (held.n_calls, ==, 1);
  g_assert_no_error (held.error);
  g_assert_cmpint (g_variant_get_int32 (held.reply), ==, 7);
  g_clear_pointer (&held.reply, g_variant_unref);

  g_assert_true (coproc_worker_pool_join (pool, NULL, &error));
  g_assert_no_error (error);
  remove_dir (granted, names);
}

/* A pool whose sandbox cannot be set up does not start. */
static void
test_pool_start_fails (void)
{
  const char *argv[] = { worker_path, "serve", NULL };
  g_autoptr(CoprocWorkerPool) pool = coproc_worker_pool_new (argv, 2, G_TYPE_NONE);
  g_autoptr(GError) error = NULL;

  g_object_set (pool, "sandbox", COPROC_SANDBOX_FLATPAK_SPAWN, NULL);
  g_assert_false (coproc_worker_pool_start (pool, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_cmpuint (count_children (), ==, 0);
}

static char *
find_test_worker (void)
{
  char *path = g_test_build_filename (G_TEST_BUILT, "worker", "coproc-test-worker", NULL);

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
  g_autofree char *bwrap = NULL;
  int status;

  coproc_worker_register ("tcp-probe", function_tcp_probe, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  worker_path = find_test_worker ();

  bwrap = g_find_program_in_path ("bwrap");
  if (bwrap == NULL && !g_test_subprocess ())
    g_error ("bwrap is missing: install bubblewrap (tools/install-deps.sh)");
  g_type_class_ref (COPROC_TYPE_SANDBOX);

  g_test_add_data_func ("/Coproc/Sandbox/requests/socket",
                        GINT_TO_POINTER (COPROC_WORKER_TRANSPORT_SOCKET), test_requests);
  g_test_add_data_func ("/Coproc/Sandbox/requests/stdio",
                        GINT_TO_POINTER (COPROC_WORKER_TRANSPORT_STDIO), test_requests);
  g_test_add_func ("/Coproc/Sandbox/no-network", test_network);
  g_test_add_func ("/Coproc/Sandbox/files", test_files);
  g_test_add_func ("/Coproc/Sandbox/environment", test_environment);
  g_test_add_data_func ("/Coproc/Sandbox/death/sigkill-of-pid", GINT_TO_POINTER (TRUE),
                        test_death);
  g_test_add_data_func ("/Coproc/Sandbox/death/abort-inside", GINT_TO_POINTER (FALSE),
                        test_death);
  g_test_add_func ("/Coproc/Sandbox/death/host-killed", test_dies_with_host);
  g_test_add_func ("/Coproc/Sandbox/start-fails/no-bwrap", test_no_bwrap);
  g_test_add_func ("/Coproc/Sandbox/start-fails/missing-path", test_missing_path);
  g_test_add_func ("/Coproc/Sandbox/start-fails/flatpak-outside-flatpak", test_flatpak_outside);
  g_test_add_data_func ("/Coproc/Sandbox/function/socket",
                        GINT_TO_POINTER (COPROC_WORKER_TRANSPORT_SOCKET), test_function);
  g_test_add_data_func ("/Coproc/Sandbox/function/stdio",
                        GINT_TO_POINTER (COPROC_WORKER_TRANSPORT_STDIO), test_function);
  g_test_add_func ("/Coproc/Sandbox/property", test_property);
  g_test_add_func ("/Coproc/Sandbox/pool/jobs-and-restart", test_pool);
  g_test_add_func ("/Coproc/Sandbox/pool/start-fails", test_pool_start_fails);

  status = g_test_run ();
  g_free (worker_path);
  return status;
}
