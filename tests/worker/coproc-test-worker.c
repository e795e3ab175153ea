/* coproc-test-worker.c: a worker program for the worker tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Started by CoprocWorkerResource in the tests; argv[1] chooses what it
 * does. Each mode is one way a real worker behaves, or misbehaves:
 *
 *   echo                    replies to requests, echoes plain messages;
 *                           exits 0 on a close request
 *   exit0|exit1 [after-message]
 *                           exits at once (without ever connecting), or
 *                           after answering one message with "ack"
 *   crash abort|segv        answers one message with "ack", then crashes
 *   mid-frame               answers one message with "ack", writes half a
 *                           frame, then _exit (0)
 *   sleep-forever           connects, then never reads again
 *   close-then-sleep        connects, closes its connection, then sleeps
 *                           until killed
 *   flood [SIZE]            sends numbered messages without end, with a
 *                           SIZE-byte filler; exits 0 on a close request
 *   garbage                 writes garbage on fd 3 instead of a handshake
 *   write-then-die N WAY    waits for one message, then sends N numbered
 *                           messages, an error, 3 more numbered messages
 *                           and a close request, flushes, and dies by WAY:
 *                           exit0, exit1, abort, segv, mid-frame, or wait
 *                           (never exits: the host kills it)
 *   read-then-exit N        reads N messages, then exits 0
 *   error-then-echo         sends an error, then works as echo
 *   leak-fds                replies with the descriptors it inherited
 *   env                     replies with what its environment says
 *   fds                     answers each request with what the files that
 *                           came with it hold (as), after writing "fd N"
 *                           into each pipe that came with it
 *   serve                   answers requests (si), (operation, number), in
 *                           the order the operations say: "echo" answers
 *                           with reply_to() and the number, "fail" with
 *                           reply_error() and the number as the code,
 *                           "hold" keeps the request, "release" answers
 *                           every request held (the last held first) and
 *                           then this one, "die" answers every request
 *                           held and _exit (number) without answering this
 *                           one, "echo-then-die" answers this one (not
 *                           those held) and _exit (0), "abort" answers
 *                           every request held and aborts; exits 0 on a
 *                           close request
 *   busy                    starts a child, touches 32 MiB, spends 0.2 s of
 *                           user CPU time, sends "ready", then works as echo
 *   noisy-echo              writes to its standard output, and has a child
 *                           write there, after connecting, then works as
 *                           echo (over COPROC_TRANSPORT=stdio that output
 *                           must reach stderr, not the host)
 *   sandbox-probe           answers requests (s): "tcp PORT" tries to
 *                           connect to 127.0.0.1:PORT, "create PATH" to
 *                           create a file, "read PATH" reads one, "exists
 *                           PATH" checks that one is there, "getenv NAME"
 *                           reads a variable, "caps" gives the effective
 *                           capabilities; each reply is a string; exits 0
 *                           on a close request
 *
 * Unexpected failures exit with status 99 and a message on stderr.
 */

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <coproc.h>

#define TEST_ERROR_DOMAIN "coproc-test-worker-error-quark"

/* Used by write-then-die; test-worker-resource.c checks for them. */
#define DYING_ERROR_CODE    42
#define DYING_ERROR_MESSAGE "the worker reports an error before dying"
#define FILLER_SIZE         512

static G_NORETURN void
fail (const char *what,
      GError     *error)
{
  g_printerr ("coproc-test-worker: %s: %s\n", what, error ? error->message : "failed");
  exit (99);
}

static CoprocMessenger *
connect_host (void)
{
  GType type = COPROC_TYPE_PRIORITY_MESSENGER;
  const char *type_name = g_getenv ("COPROC_MESSENGER_TYPE");
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;

  /* Use the kind of messenger the host uses. */
  g_type_ensure (COPROC_TYPE_PRIORITY_MESSENGER);
  g_type_ensure (COPROC_TYPE_MULTI_MESSENGER);
  if (type_name != NULL && g_type_from_name (type_name) != 0)
    type = g_type_from_name (type_name);

  if (g_strcmp0 (g_getenv ("COPROC_TRANSPORT"), "stdio") == 0)
    messenger = coproc_messenger_new_for_stdio (type, &error);
  else
    messenger = coproc_messenger_new_for_host (type, &error);
  if (messenger == NULL)
    fail ("connecting to the host", error);

  return messenger;
}

static void
flush_or_fail (CoprocMessenger *messenger)
{
  g_autoptr(GError) error = NULL;

  if (!coproc_messenger_flush (messenger, NULL, &error))
    fail ("flushing", error);
}

/* Waits for one message and answers it with a plain "ack". */
static void
answer_one (CoprocMessenger *messenger)
{
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;

  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (payload == NULL)
    fail ("waiting for a message", error);
  if (!coproc_messenger_send_norequest (messenger, g_variant_new_string ("ack"), NULL, &error))
    fail ("sending ack", error);
  flush_or_fail (messenger);
}

static G_NORETURN void
crash (const char *how)
{
  struct rlimit no_core = { 0, 0 };

  /* No core file, and the default action even under a sanitizer, which
   * would otherwise turn the signal into an exit status. */
  setrlimit (RLIMIT_CORE, &no_core);

  if (g_str_equal (how, "segv"))
    {
      signal (SIGSEGV, SIG_DFL);
      raise (SIGSEGV);
    }

  signal (SIGABRT, SIG_DFL);
  abort ();
}

/* Writes the first half of a frame straight to the socket, then exits
 * without a word: the host sees the stream end in the middle of a message.
 * The header layout is that of doc/protocol.md: payload size, channel
 * size, kind, flags, fd count, reserved, priority, request id. */
static G_NORETURN void
write_half_frame_and_exit (void)
{
  guint8 frame[32 + 16] = { 0 };
  guint32 payload_size = GUINT32_TO_LE (64);
  gdouble priority = INFINITY;
  guint64 priority_bits;

  memcpy (&priority_bits, &priority, sizeof priority_bits);
  priority_bits = GUINT64_TO_LE (priority_bits);

  memcpy (frame, &payload_size, sizeof payload_size);
  frame[8] = 1;   /* a plain message */
  memcpy (frame + 16, &priority_bits, sizeof priority_bits);
  memset (frame + 32, 'x', 16);   /* 16 of the 64 payload bytes */

  /* The messenger made the socket non-blocking, and the host may still be
   * reading what came before: wait for room. */
  fcntl (3, F_SETFL, fcntl (3, F_GETFL) & ~O_NONBLOCK);

  for (gsize done = 0; done < sizeof frame;)
    {
      gssize n = write (3, frame + done, sizeof frame - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_printerr ("coproc-test-worker: could not write half a frame: %s\n", g_strerror (errno));
          _exit (99);
        }
      done += n;
    }

  _exit (0);
}

/* Mode "fds": for each request, writes "fd N" into each descriptor that
 * came with it that is a pipe, and answers with what each one that is a
 * file holds (as), closing them all; ends when the host hangs up. */
static int
run_fds (CoprocMessenger *messenger)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CoprocMessage) message = NULL;
      g_auto(GVariantBuilder) contents = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("as"));
      GUnixFDList *list;
      int *fds = NULL;
      gint n = 0;

      message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (message == NULL)
        return 0;
      list = coproc_message_get_unix_fd_list (message);
      if (list != NULL)
        fds = g_unix_fd_list_steal_fds (list, &n);
      for (gint i = 0; i < n; i++)
        {
          struct stat st;

          if (fstat (fds[i], &st) == 0 && S_ISFIFO (st.st_mode))
            {
              g_autofree char *text = g_strdup_printf ("fd %d", i);

              if (write (fds[i], text, strlen (text)) != (gssize) strlen (text))
                return 98;
            }
          else
            {
              char buf[256];
              gssize got = pread (fds[i], buf, sizeof buf - 1, 0);

              buf[MAX (got, 0)] = '\0';
              g_variant_builder_add (&contents, "s", buf);
            }
          close (fds[i]);
        }
      g_free (fds);
      if (!coproc_messenger_reply_to (messenger, message, g_variant_builder_end (&contents),
                                      &error))
        fail ("replying", error);
    }
}

static int
run_echo (CoprocMessenger *messenger)
{
  for (;;)
    {
      g_autoptr(CoprocMessage) message = NULL;
      g_autoptr(GError) error = NULL;
      GVariant *payload;
      gboolean ok;

      message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (message == NULL)
        {
          if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
            return 0;
          fail ("receiving", error);
        }

      payload = coproc_message_get_payload (message);
      if (coproc_message_get_request_reply (message))
        ok = coproc_messenger_send_reply (messenger, payload, NULL, &error);
      else
        ok = coproc_messenger_send_norequest (messenger, payload, NULL, &error);
      if (!ok)
        fail ("echoing", error);
    }
}

/* "busy": uses what coproc_worker_resource_get_stats() reports: starts a
 * child (which ends with this process), touches 32 MiB, and spends 0.2 s of
 * CPU time in user space; then says "ready" and echoes. */
static int
run_busy (CoprocMessenger *messenger)
{
  g_autoptr(GError) error = NULL;
  gsize size = 32 * 1024 * 1024;
  volatile guint8 *memory = g_malloc (size);
  struct rusage usage;
  pid_t child;
  int status;

  child = fork ();
  if (child == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      for (;;)
        pause ();
    }
  if (child < 0)
    fail ("forking", NULL);

  for (gsize i = 0; i < size; i += 4096)
    memory[i] = (guint8) i;
  do
    {
      for (guint i = 0; i < 1000000; i++)
        memory[i % size] += 1;
      getrusage (RUSAGE_SELF, &usage);
    }
  while (usage.ru_utime.tv_sec * G_USEC_PER_SEC + usage.ru_utime.tv_usec < 200000);

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_string ("ready"), NULL, &error))
    fail ("sending", error);

  /* Kept until the host is done reading what this uses. */
  status = run_echo (messenger);
  g_free ((gpointer) memory);
  return status;
}

static int
run_flood (CoprocMessenger *messenger,
           gsize            filler_size)
{
  g_autofree char *filler = g_malloc (filler_size + 1);

  memset (filler, 'f', filler_size);
  filler[filler_size] = '\0';

  for (guint64 i = 0;; i++)
    {
      g_autoptr(GError) error = NULL;

      if (!coproc_messenger_send_norequest (messenger, g_variant_new ("(ts)", i, filler),
                                            NULL, &error))
        return 0;   /* the host is gone */

      /* Look for a close request now and then. */
      if (i % 64 == 0)
        {
          coproc_messenger_available (messenger, NULL, &error);
          if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
            return 0;
        }
    }
}

static int
run_garbage (void)
{
  static const char garbage[64] = "This is no coproc handshake, and no frame either.";
  char buffer[256];

  if (write (3, garbage, sizeof garbage) != sizeof garbage)
    return 99;

  /* Wait for the host to hang up on us. */
  while (read (3, buffer, sizeof buffer) > 0)
    ;

  return 0;
}

static int
run_write_then_die (CoprocMessenger *messenger,
                    guint            n,
                    const char      *way)
{
  g_autoptr(GVariant) trigger = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) dying_error = NULL;
  g_autofree char *filler = g_strnfill (FILLER_SIZE, 'd');

  trigger = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (trigger == NULL)
    fail ("waiting for the trigger", error);

  for (guint i = 0; i < n; i++)
    if (!coproc_messenger_send_norequest (messenger, g_variant_new ("(us)", i, filler),
                                          NULL, &error))
      fail ("sending", error);

  dying_error = g_error_new_literal (g_quark_from_static_string (TEST_ERROR_DOMAIN),
                                     DYING_ERROR_CODE, DYING_ERROR_MESSAGE);
  if (!coproc_messenger_send_error (messenger, dying_error, &error))
    fail ("sending an error", error);

  for (guint i = n; i < n + 3; i++)
    if (!coproc_messenger_send_norequest (messenger, g_variant_new ("(us)", i, filler),
                                          NULL, &error))
      fail ("sending", error);

  if (!coproc_messenger_send_close_request (messenger, &error))
    fail ("sending a close request", error);

  flush_or_fail (messenger);

  if (g_str_equal (way, "exit0"))
    return 0;
  if (g_str_equal (way, "exit1"))
    return 1;
  if (g_str_equal (way, "abort") || g_str_equal (way, "segv"))
    crash (way);
  if (g_str_equal (way, "mid-frame"))
    write_half_frame_and_exit ();
  if (g_str_equal (way, "wait"))
    {
      for (;;)
        pause ();
    }

  g_printerr ("coproc-test-worker: unknown way to die: %s\n", way);
  return 99;
}

static int
run_read_then_exit (CoprocMessenger *messenger,
                    guint            n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GVariant) payload = NULL;
      g_autoptr(GError) error = NULL;

      payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (payload == NULL)
        fail ("receiving", error);
    }

  return 0;
}

static int
run_error_then_echo (CoprocMessenger *messenger)
{
  g_autoptr(GError) remote = NULL;
  g_autoptr(GError) error = NULL;

  remote = g_error_new_literal (g_quark_from_static_string (TEST_ERROR_DOMAIN), 7,
                                "the worker reports a failure");
  if (!coproc_messenger_send_error (messenger, remote, &error))
    fail ("sending an error", error);

  return run_echo (messenger);
}

static void
serve_reply (CoprocMessenger *messenger,
             CoprocMessage   *request)
{
  g_autoptr(GError) error = NULL;
  gint32 n;

  g_variant_get (coproc_message_get_payload (request), "(&si)", NULL, &n);
  if (!coproc_messenger_reply_to (messenger, request, g_variant_new_int32 (n), &error))
    fail ("answering", error);
}

static void
serve_release (CoprocMessenger *messenger,
               GPtrArray       *held)
{
  while (held->len > 0)
    {
      serve_reply (messenger, g_ptr_array_index (held, held->len - 1));
      g_ptr_array_remove_index (held, held->len - 1);
    }
}

static int
run_serve (CoprocMessenger *messenger)
{
  g_autoptr(GPtrArray) held = g_ptr_array_new_with_free_func (g_object_unref);

  for (;;)
    {
      g_autoptr(CoprocMessage) request = NULL;
      g_autoptr(GError) error = NULL;
      const char *op;
      gint32 n;

      request = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (request == NULL)
        {
          if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
            return 0;
          fail ("receiving", error);
        }
      if (!coproc_message_get_request_reply (request) ||
          !g_variant_is_of_type (coproc_message_get_payload (request), G_VARIANT_TYPE ("(si)")))
        fail ("expecting a request (si)", NULL);

      g_variant_get (coproc_message_get_payload (request), "(&si)", &op, &n);
      if (g_str_equal (op, "echo"))
        serve_reply (messenger, request);
      else if (g_str_equal (op, "fail"))
        {
          g_autoptr(GError) remote = g_error_new (g_quark_from_static_string (TEST_ERROR_DOMAIN),
                                                  n, "request failed with code %d", n);

          if (!coproc_messenger_reply_error (messenger, request, remote, &error))
            fail ("answering with an error", error);
        }
      else if (g_str_equal (op, "hold"))
        g_ptr_array_add (held, g_object_ref (request));
      else if (g_str_equal (op, "release"))
        {
          serve_release (messenger, held);
          serve_reply (messenger, request);
        }
      else if (g_str_equal (op, "abort"))
        {
          serve_release (messenger, held);
          flush_or_fail (messenger);
          crash ("abort");
        }
      else if (g_str_equal (op, "die") || g_str_equal (op, "echo-then-die"))
        {
          if (g_str_equal (op, "echo-then-die"))
            serve_reply (messenger, request);
          else
            serve_release (messenger, held);
          flush_or_fail (messenger);
          _exit (op[0] == 'd' ? n : 0);
        }
      else
        fail ("an unknown operation", NULL);
    }
}

/* Lists the open descriptors, leaving out the one the listing uses. */
static GVariant *
list_fds (void)
{
  g_autoptr(GArray) fds = g_array_new (FALSE, FALSE, sizeof (gint32));
  struct dirent *entry;
  DIR *dir;

  dir = opendir ("/proc/self/fd");
  if (dir == NULL)
    {
      g_printerr ("coproc-test-worker: cannot list /proc/self/fd\n");
      exit (99);
    }

  while ((entry = readdir (dir)) != NULL)
    {
      gint32 fd;

      if (entry->d_name[0] == '.')
        continue;
      fd = (gint32) g_ascii_strtoll (entry->d_name, NULL, 10);
      if (fd != dirfd (dir))
        g_array_append_val (fds, fd);
    }
  closedir (dir);

  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, fds->data, fds->len, sizeof (gint32));
}

static int
run_leak_fds (GVariant *inherited)
{
  g_autoptr(CoprocMessenger) messenger = connect_host ();
  g_autoptr(GError) error = NULL;

  if (!coproc_messenger_send_norequest (messenger, inherited, NULL, &error))
    fail ("sending the descriptors", error);

  return run_echo (messenger);
}

static int
run_env (void)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;
  const char *names[] = { "COPROC_FD", "COPROC_MESSENGER_TYPE", "COPROC_WORKER",
                          "COPROC_TEST_VALUE" };

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);

  /* What the host put into the environment... */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *value = g_getenv (names[i]);

      if (value != NULL)
        g_variant_builder_add (&builder, "{sv}", names[i], g_variant_new_string (value));
    }

  /* ...and what connecting did to it. */
  messenger = connect_host ();
  g_variant_builder_add (&builder, "{sv}", "fd-still-named",
                         g_variant_new_boolean (g_getenv ("COPROC_FD") != NULL));
  g_variant_builder_add (&builder, "{sv}", "cloexec",
                         g_variant_new_boolean ((fcntl (3, F_GETFD) & FD_CLOEXEC) != 0));
  g_variant_builder_add (&builder, "{sv}", "messenger-type",
                         g_variant_new_string (G_OBJECT_TYPE_NAME (messenger)));
  g_variant_builder_add (&builder, "{sv}", "pid", g_variant_new_int32 (getpid ()));

  if (!coproc_messenger_send_norequest (messenger, g_variant_builder_end (&builder), NULL, &error))
    fail ("sending the report", error);

  return run_echo (messenger);
}

static guint
parse_count (const char *text)
{
  guint64 value;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &value, NULL))
    {
      g_printerr ("coproc-test-worker: expected a count, got \"%s\"\n", text ? text : "");
      exit (99);
    }

  return value;
}

static gboolean
in_child_pid_namespace (void)
{
  g_autofree char *status = NULL;
  g_autofree char *init = NULL;
  const char *line;

  /* In bubblewrap's PID namespace, with its own /proc, pid 1 is bwrap. */
  if (g_file_get_contents ("/proc/1/comm", &init, NULL, NULL) &&
      g_str_equal (g_strchomp (init), "bwrap"))
    return TRUE;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return FALSE;
  line = strstr (status, "\nNSpid:");
  if (line == NULL)
    return FALSE;
  line += strlen ("\nNSpid:");
  line += strspn (line, " \t");
  line += strspn (line, "0123456789");
  /* A second pid on the line: this process is in a nested namespace. */
  return *line == ' ' || *line == '\t';
}

/* What a sandboxed worker may and may not do; each answer is a string. */
static char *
probe (const char *what)
{
  if (g_str_has_prefix (what, "tcp "))
    {
      struct sockaddr_in addr = { 0 };
      int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int r;

      if (fd < 0)
        return g_strdup_printf ("socket failed: %s", g_strerror (errno));
      addr.sin_family = AF_INET;
      addr.sin_port = htons ((guint16) atoi (what + 4));
      addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
      r = connect (fd, (struct sockaddr *) &addr, sizeof addr);
      close (fd);
      return r == 0 ? g_strdup ("connected") : g_strdup_printf ("failed: %s", g_strerror (errno));
    }

  if (g_str_has_prefix (what, "create "))
    {
      int fd = open (what + 7, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

      if (fd < 0)
        return g_strdup_printf ("failed: %s", g_strerror (errno));
      if (write (fd, "sandboxed\n", 10) != 10)
        {
          close (fd);
          return g_strdup_printf ("write failed: %s", g_strerror (errno));
        }
      close (fd);
      return g_strdup ("created");
    }

  if (g_str_has_prefix (what, "read "))
    {
      g_autofree char *contents = NULL;
      g_autoptr(GError) error = NULL;

      if (!g_file_get_contents (what + 5, &contents, NULL, &error))
        return g_strdup_printf ("failed: %s", error->message);
      return g_strdup_printf ("read: %s", contents);
    }

  if (g_str_has_prefix (what, "exists "))
    return g_strdup (g_file_test (what + 7, G_FILE_TEST_EXISTS) ? "exists" : "missing");

  if (g_str_equal (what, "caps"))
    {
      g_autofree char *status = NULL;
      const char *line;

      if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) ||
          (line = strstr (status, "\nCapEff:")) == NULL)
        return g_strdup ("failed: no CapEff in /proc/self/status");
      line += strlen ("\nCapEff:");
      line += strspn (line, " \t");
      return g_strndup (line, strcspn (line, "\n"));
    }

  if (g_str_has_prefix (what, "getenv "))
    {
      const char *value = g_getenv (what + 7);

      return value ? g_strdup_printf ("set: %s", value) : g_strdup ("unset");
    }

  return g_strdup_printf ("unknown probe: %s", what);
}

static int
run_sandbox_probe (CoprocMessenger *messenger)
{
  for (;;)
    {
      g_autoptr(CoprocMessage) message = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *answer = NULL;

      message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (message == NULL)
        {
          if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
            return 0;
          fail ("receiving", error);
        }

      answer = probe (g_variant_get_string (coproc_message_get_payload (message), NULL));
      if (!coproc_messenger_reply_to (messenger, message, g_variant_new_string (answer), &error))
        fail ("replying", error);
    }
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  const char *mode = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : NULL;
  GVariant *inherited;

  /* First, before anything can open a descriptor of its own. */
  inherited = g_variant_ref_sink (list_fds ());

  /* Never outlive a test that failed and left us behind. (In a sandbox's
   * own PID namespace, the parent is that namespace's init, pid 1.) */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () == 1 && !in_child_pid_namespace ())
    return 99;

  if (g_str_equal (mode, "leak-fds"))
    {
      int status = run_leak_fds (inherited);

      g_variant_unref (inherited);
      return status;
    }
  g_variant_unref (inherited);

  if (g_str_equal (mode, "exit0") || g_str_equal (mode, "exit1"))
    {
      if (g_strcmp0 (arg, "after-message") == 0)
        {
          messenger = connect_host ();
          answer_one (messenger);
        }
      return mode[4] == '1' ? 1 : 0;
    }

  if (g_str_equal (mode, "garbage"))
    return run_garbage ();
  if (g_str_equal (mode, "env"))
    return run_env ();

  messenger = connect_host ();

  if (g_str_equal (mode, "echo"))
    return run_echo (messenger);

  if (g_str_equal (mode, "crash"))
    {
      answer_one (messenger);
      crash (arg ? arg : "abort");
    }

  if (g_str_equal (mode, "mid-frame"))
    {
      answer_one (messenger);
      write_half_frame_and_exit ();
    }

  if (g_str_equal (mode, "sleep-forever"))
    {
      for (;;)
        pause ();
    }

  if (g_str_equal (mode, "close-then-sleep"))
    {
      coproc_messenger_close (messenger, NULL);
      for (;;)
        pause ();
    }

  if (g_str_equal (mode, "flood"))
    return run_flood (messenger, arg ? parse_count (arg) : 16);

  if (g_str_equal (mode, "write-then-die") && argc > 3)
    return run_write_then_die (messenger, parse_count (arg), argv[3]);

  if (g_str_equal (mode, "read-then-exit"))
    return run_read_then_exit (messenger, parse_count (arg));

  if (g_str_equal (mode, "error-then-echo"))
    return run_error_then_echo (messenger);

  if (g_str_equal (mode, "serve"))
    return run_serve (messenger);

  if (g_str_equal (mode, "fds"))
    return run_fds (messenger);

  if (g_str_equal (mode, "busy"))
    return run_busy (messenger);

  if (g_str_equal (mode, "noisy-echo"))
    {
      g_print ("coproc-test-worker: this goes to standard output\n");
      fflush (stdout);
      if (system ("echo 'coproc-test-worker: and so does this, from a child'") != 0)
        return 99;
      return run_echo (messenger);
    }

  if (g_str_equal (mode, "sandbox-probe"))
    return run_sandbox_probe (messenger);

  g_printerr ("coproc-test-worker: unknown mode \"%s\"\n", mode);
  return 99;
}
