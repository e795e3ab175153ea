/* test-fds.c: messages with file descriptors (coproc_messenger_send_message)
 *
 * Descriptors sent with a message arrive in the received message's
 * GUnixFDList, in order, so that handles in the payload index them; what
 * is never claimed is closed; transports and peers that cannot carry them
 * refuse the send before anything leaves.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include "coproc-test-util.h"

/* A message of @kind with payload @payload and the descriptors @fds (which
 * the list duplicates: the caller keeps its own). */
static CoprocMessage *
message_with_fds (CoprocMessageKind  kind,
                  GVariant          *payload,
                  GVariant          *channel_id,
                  const int         *fds,
                  guint              n_fds)
{
  g_autoptr(CoprocMessage) message = coproc_message_new (kind, payload, channel_id);
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();

  for (guint i = 0; i < n_fds; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (g_unix_fd_list_append (list, fds[i], &error), ==, i);
      g_assert_no_error (error);
    }
  coproc_message_set_unix_fd_list (message, list);
  g_assert_true (coproc_message_get_unix_fd_list (message) == list);

  return g_steal_pointer (&message);
}

static int
memfd_with (const char *text)
{
  int fd = memfd_create ("test-fds", MFD_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  test_write_all (fd, text, strlen (text));
  return fd;
}

/* What a descriptor of a file holds, read from its start. */
static char *
read_file_fd (int fd)
{
  char buf[256];
  gssize n = pread (fd, buf, sizeof buf - 1, 0);

  g_assert_cmpint (n, >=, 0);
  buf[n] = '\0';
  return g_strdup (buf);
}

static char *
read_pipe (int fd)
{
  char buf[256];
  gssize n = read (fd, buf, sizeof buf - 1);

  g_assert_cmpint (n, >=, 0);
  buf[n] = '\0';
  return g_strdup (buf);
}

static CoprocMessage *
receive_message (CoprocMessenger *messenger,
                 GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;
  CoprocMessage *message;

  message = coproc_messenger_receive_message_blocking (messenger, channel_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (message);
  return message;
}

/* One descriptor: a pipe's write end, which the receiver writes to and the
 * sender reads back. The payload's handle 0 names it. */
static void
test_one_pipe (Pair          *pair,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) sent = NULL;
  g_autoptr(CoprocMessage) received = NULL;
  g_autofree char *echoed = NULL;
  GUnixFDList *list;
  gint32 handle;
  int pipe_fds[2];
  int fd;

  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));

  sent = message_with_fds (COPROC_MESSAGE_KIND_REQUEST,
                           g_variant_new ("(sh)", "write here", 0), NULL, &pipe_fds[1], 1);
  g_assert_true (coproc_messenger_send_message (pair->resource, sent, &error));
  g_assert_no_error (error);
  close (pipe_fds[1]);
  /* The sender's message keeps its own descriptor. */
  g_assert_cmpint (g_unix_fd_list_get_length (coproc_message_get_unix_fd_list (sent)), ==, 1);

  received = receive_message (pair->process, NULL);
  g_assert_true (coproc_message_get_request_reply (received));
  g_variant_get (coproc_message_get_payload (received), "(&sh)", NULL, &handle);
  g_assert_cmpint (handle, ==, 0);
  list = coproc_message_get_unix_fd_list (received);
  g_assert_nonnull (list);
  g_assert_cmpint (g_unix_fd_list_get_length (list), ==, 1);
  fd = g_unix_fd_list_get (list, handle, &error);
  g_assert_no_error (error);
  test_write_all (fd, "hello through the pipe", 22);
  close (fd);

  /* The sender's own copy goes with its message: then every write end is
   * closed once the received message goes too. */
  g_clear_object (&sent);
  g_clear_object (&received);
  echoed = read_pipe (pipe_fds[0]);
  g_assert_cmpstr (echoed, ==, "hello through the pipe");
  {
    char c;

    g_assert_cmpint (read (pipe_fds[0], &c, 1), ==, 0);   /* end of file: nothing holds it */
  }
  close (pipe_fds[0]);

  /* The request counts as one, as send_request would. */
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 1);
}

/* The limit: 15 pipes and a memfd; each pipe gets its index written, the
 * memfd is read. A large payload in a memfd of its own goes along. */
static void
test_sixteen (Pair          *pair,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) sent = NULL;
  g_autoptr(CoprocMessage) received = NULL;
  g_autoptr(GVariantBuilder) handles = g_variant_builder_new (G_VARIANT_TYPE ("ah"));
  g_autoptr(GVariant) handle_array = NULL;
  g_autofree char *big = g_strnfill (2 * 1024 * 1024, 'x');
  g_autofree char *content = NULL;
  const char *big_received;
  int read_ends[COPROC_MESSAGE_MAX_FDS - 1];
  int fds[COPROC_MESSAGE_MAX_FDS];
  guint fds_before = test_count_open_fds ();
  gint32 memfd_handle;
  GUnixFDList *list;
  int *taken;
  gint n_taken;

  g_assert_cmpint (COPROC_MESSAGE_MAX_FDS, >=, 16);

  for (guint i = 0; i < COPROC_MESSAGE_MAX_FDS - 1; i++)
    {
      int pipe_fds[2];

      g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));
      read_ends[i] = pipe_fds[0];
      fds[i] = pipe_fds[1];
      /* Handles in reverse order: indexes, not positions, matter. */
      g_variant_builder_add (handles, "h", COPROC_MESSAGE_MAX_FDS - 2 - i);
    }
  fds[COPROC_MESSAGE_MAX_FDS - 1] = memfd_with ("the memfd's content");

  /* The pipes in reverse order in the list, so that handle i names pipe i. */
  for (guint i = 0; i < (COPROC_MESSAGE_MAX_FDS - 1) / 2; i++)
    {
      int tmp = fds[i];

      fds[i] = fds[COPROC_MESSAGE_MAX_FDS - 2 - i];
      fds[COPROC_MESSAGE_MAX_FDS - 2 - i] = tmp;
    }

  sent = message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST,
                           g_variant_new ("(ahhs)", handles, COPROC_MESSAGE_MAX_FDS - 1, big),
                           g_variant_new_int32 (7), fds, COPROC_MESSAGE_MAX_FDS);
  g_assert_true (coproc_messenger_send_message (pair->resource, sent, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < COPROC_MESSAGE_MAX_FDS; i++)
    close (fds[i]);
  g_clear_object (&sent);

  received = receive_message (pair->process, g_variant_new_int32 (7));
  g_variant_get (coproc_message_get_payload (received), "(@ahh&s)",
                 &handle_array, &memfd_handle, &big_received);
  g_assert_cmpuint (strlen (big_received), ==, strlen (big));
  list = coproc_message_get_unix_fd_list (received);
  g_assert_cmpint (g_unix_fd_list_get_length (list), ==, COPROC_MESSAGE_MAX_FDS);

  /* Taken out of the message: the receiver owns them now. */
  taken = g_unix_fd_list_steal_fds (list, &n_taken);
  g_assert_cmpint (n_taken, ==, COPROC_MESSAGE_MAX_FDS);
  for (guint i = 0; i < COPROC_MESSAGE_MAX_FDS - 1; i++)
    {
      gint32 handle;
      g_autofree char *text = g_strdup_printf ("pipe %u", i);

      g_variant_get_child (handle_array, i, "h", &handle);
      test_write_all (taken[handle], text, strlen (text));
    }
  content = read_file_fd (taken[memfd_handle]);
  g_assert_cmpstr (content, ==, "the memfd's content");
  for (gint i = 0; i < n_taken; i++)
    close (taken[i]);
  g_free (taken);
  g_clear_object (&received);

  for (guint i = 0; i < COPROC_MESSAGE_MAX_FDS - 1; i++)
    {
      g_autofree char *expected = g_strdup_printf ("pipe %u", i);
      g_autofree char *got = read_pipe (read_ends[i]);

      g_assert_cmpstr (got, ==, expected);
      close (read_ends[i]);
    }

  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* Several messages of the limit sent before the peer reads any: they wait
 * in the socket (up to 64 descriptors on their way), then all arrive. */
static void
test_several_full (Pair          *pair,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint fds_before = test_count_open_fds ();
  int fds[COPROC_MESSAGE_MAX_FDS];

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = memfd_with ("x");

  for (gint32 i = 0; i < 4; i++)
    {
      g_autoptr(CoprocMessage) message =
        message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_int32 (i), NULL,
                          fds, G_N_ELEMENTS (fds));

      g_assert_true (coproc_messenger_send_message (pair->resource, message, &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);

  for (gint32 i = 0; i < 4; i++)
    {
      g_autoptr(CoprocMessage) message = receive_message (pair->process, NULL);

      test_assert_variant (coproc_message_get_payload (message), g_variant_new_int32 (i));
      g_assert_cmpint (g_unix_fd_list_get_length (coproc_message_get_unix_fd_list (message)),
                       ==, COPROC_MESSAGE_MAX_FDS);
    }
  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* One more than the limit is refused before anything leaves. */
static void
test_over_limit (Pair          *pair,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GVariant) payload = NULL;
  int fds[COPROC_MESSAGE_MAX_FDS + 1];
  guint fds_before = test_count_open_fds ();

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = memfd_with ("x");
  message = message_with_fds (COPROC_MESSAGE_KIND_REQUEST, g_variant_new_int32 (1), NULL,
                              fds, G_N_ELEMENTS (fds));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);

  g_assert_false (coproc_messenger_send_message (pair->resource, message, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "17"));
  g_assert_nonnull (strstr (error->message, "16"));
  g_clear_error (&error);
  g_clear_object (&message);

  /* Nothing was sent nor counted; the messenger goes on. */
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 0);
  send_norequest (pair->resource, g_variant_new_int32 (2), NULL);
  payload = receive_blocking (pair->process, NULL);
  test_assert_variant (payload, g_variant_new_int32 (2));
  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* A message dropped by the receiver (over its limit) closes its
 * descriptors. */
static void
test_dropped_closes (Pair          *pair,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autofree char *text = g_strnfill (4096, 'y');
  guint fds_before = test_count_open_fds ();
  int fds[3];

  /* Both handshakes are read first: the sender then knows the limit the
   * receiver announced, which the receiver lowers afterwards. */
  send_norequest (pair->resource, g_variant_new_int32 (0), NULL);
  payload = receive_blocking (pair->process, NULL);
  g_clear_pointer (&payload, g_variant_unref);
  coproc_messenger_set_max_message_size (pair->process, 1024);

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    fds[i] = memfd_with ("dropped");
  message = message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_string (text), NULL,
                              fds, G_N_ELEMENTS (fds));
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
  g_assert_true (coproc_messenger_send_message (pair->resource, message, &error));
  g_assert_no_error (error);
  g_clear_object (&message);
  send_norequest (pair->resource, g_variant_new_int32 (1), NULL);

  payload = coproc_messenger_receive_blocking (pair->process, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  payload = receive_blocking (pair->process, NULL);
  test_assert_variant (payload, g_variant_new_int32 (1));

  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* Messages queued with descriptors when their messenger goes: closed. */
static void
test_disposed_closes (void)
{
  g_autoptr(CoprocMessenger) process = NULL;
  g_autoptr(CoprocMessenger) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) marker = NULL;
  guint fds_before = test_count_open_fds ();
  int pipe_fds[2];
  char c;

  g_assert_true (coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &process, &resource,
                                            &error));
  g_assert_no_error (error);
  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));

  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(CoprocMessage) message = message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST,
                                                           g_variant_new_int32 (i), NULL,
                                                           &pipe_fds[1], 1);

      g_assert_true (coproc_messenger_send_message (resource, message, &error));
      g_assert_no_error (error);
    }
  close (pipe_fds[1]);
  send_norequest (resource, g_variant_new_int32 (99), g_variant_new_string ("marker"));

  /* Everything before the marker is queued, descriptors and all. */
  marker = receive_blocking (process, g_variant_new_string ("marker"));
  test_assert_variant (marker, g_variant_new_int32 (99));
  g_assert_cmpuint (coproc_messenger_available (process, NULL, NULL), ==, 5);

  g_clear_object (&process);
  g_clear_object (&resource);
  test_drain_context (NULL);

  /* No write end is left: the queued messages closed theirs. */
  g_assert_cmpint (read (pipe_fds[0], &c, 1), ==, 0);
  close (pipe_fds[0]);
  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* Streams that cannot pass descriptors, and peers that did not announce
 * protocol 1.2, refuse the send; nothing leaves. */
static void
test_not_supported (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  guint fds_before = test_count_open_fds ();
  int fd = memfd_with ("never sent");

  message = message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_int32 (1), NULL,
                              &fd, 1);
  close (fd);

  /* Pipes, as a worker over its standard input and output has. */
  {
    g_autoptr(CoprocMessenger) a = NULL;
    g_autoptr(CoprocMessenger) b = NULL;
    int ab[2], ba[2];

    g_assert_true (g_unix_open_pipe (ab, FD_CLOEXEC, NULL));
    g_assert_true (g_unix_open_pipe (ba, FD_CLOEXEC, NULL));
    for (guint i = 0; i < 2; i++)
      {
        g_unix_set_fd_nonblocking (ab[i], TRUE, NULL);
        g_unix_set_fd_nonblocking (ba[i], TRUE, NULL);
      }
    {
      g_autoptr(GInputStream) in_a = g_unix_input_stream_new (ba[0], TRUE);
      g_autoptr(GOutputStream) out_a = g_unix_output_stream_new (ab[1], TRUE);
      g_autoptr(GInputStream) in_b = g_unix_input_stream_new (ab[0], TRUE);
      g_autoptr(GOutputStream) out_b = g_unix_output_stream_new (ba[1], TRUE);
      g_autoptr(GIOStream) sa = g_simple_io_stream_new (in_a, out_a);
      g_autoptr(GIOStream) sb = g_simple_io_stream_new (in_b, out_b);

      a = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, sa, &error);
      g_assert_no_error (error);
      b = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, sb, &error);
      g_assert_no_error (error);
    }

    g_assert_false (coproc_messenger_send_message (a, message, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (error->message, "Unix domain socket"));
    g_clear_error (&error);

    /* The message goes without descriptors. */
    coproc_message_set_unix_fd_list (message, NULL);
    g_assert_true (coproc_messenger_send_message (a, message, &error));
    g_assert_no_error (error);
    {
      g_autoptr(CoprocMessage) got = receive_message (b, NULL);

      test_assert_variant (coproc_message_get_payload (got), g_variant_new_int32 (1));
      g_assert_null (coproc_message_get_unix_fd_list (got));
    }
  }

  /* A socket given as a stream: its peer announced nothing. */
  {
    g_autoptr(CoprocMessenger) a = NULL;
    g_autoptr(CoprocMessenger) b = NULL;
    g_autoptr(GVariant) payload = NULL;
    int sv[2];

    fd = memfd_with ("never sent either");
    g_clear_object (&message);
    message = message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_int32 (2), NULL,
                                &fd, 1);
    close (fd);

    g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    a = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, sv[0], 0);
    b = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, sv[1], 0);

    g_assert_false (coproc_messenger_send_message (a, message, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
    g_assert_nonnull (strstr (error->message, "1.2"));
    g_clear_error (&error);

    send_norequest (a, g_variant_new_int32 (3), NULL);
    payload = receive_blocking (b, NULL);
    test_assert_variant (payload, g_variant_new_int32 (3));
  }

  g_clear_object (&message);
  test_drain_context (NULL);
  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* Priorities order messages with descriptors as any others, each arriving
 * with its own. */
static void
test_priority_order (Pair          *pair,
                     gconstpointer  data)
{
  static const gdouble priorities[] = { 3, 1, 2, -5 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) marker = NULL;
  guint fds_before = test_count_open_fds ();

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      g_autofree char *text = g_strdup_printf ("priority %g", priorities[i]);
      int fd = memfd_with (text);
      g_autoptr(CoprocMessage) message =
        message_with_fds (COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_double (priorities[i]),
                          g_variant_new_int32 (1), &fd, 1);

      close (fd);
      coproc_message_set_priority (message, priorities[i]);
      g_assert_cmpfloat (coproc_message_get_priority (message), ==, priorities[i]);
      g_assert_true (coproc_messenger_send_message (pair->resource, message, &error));
      g_assert_no_error (error);
    }
  send_norequest (pair->resource, g_variant_new_int32 (0), g_variant_new_int32 (2));
  marker = receive_blocking (pair->process, g_variant_new_int32 (2));

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      static const gdouble expected[] = { -5, 1, 2, 3 };
      g_autoptr(CoprocMessage) message = receive_message (pair->process, g_variant_new_int32 (1));
      g_autofree char *text = g_strdup_printf ("priority %g", expected[i]);
      g_autofree char *content = NULL;
      int fd;

      g_assert_cmpfloat (coproc_message_get_priority (message), ==, expected[i]);
      test_assert_variant (coproc_message_get_payload (message),
                           g_variant_new_double (expected[i]));
      fd = g_unix_fd_list_get (coproc_message_get_unix_fd_list (message), 0, &error);
      g_assert_no_error (error);
      content = read_file_fd (fd);
      close (fd);
      g_assert_cmpstr (content, ==, text);
    }

  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* The payload's "priority" entry is the priority unless the sender set
 * one; kinds outside the data kinds are refused. */
static void
test_message_new (void)
{
  g_autoptr(CoprocMessage) message = NULL;

  message = coproc_message_new (COPROC_MESSAGE_KIND_REPLY, g_variant_new_int32 (1), NULL);
  g_assert_true (coproc_message_get_is_reply (message));
  g_assert_null (coproc_message_get_channel_id (message));
  g_assert_null (coproc_message_get_unix_fd_list (message));
  g_assert_true (isinf (coproc_message_get_priority (message)));
  coproc_message_set_priority (message, -1.5);
  g_assert_cmpfloat (coproc_message_get_priority (message), ==, -1.5);

  if (g_test_undefined ())
    {
      g_autoptr(GVariant) payload = g_variant_ref_sink (g_variant_new_int32 (1));
      CoprocMessage *bad;

      g_test_expect_message ("Coproc", G_LOG_LEVEL_CRITICAL, "*kind*");
      bad = coproc_message_new ((CoprocMessageKind) 7, payload, NULL);
      g_test_assert_expected_messages ();
      g_assert_null (bad);
    }
}

/* A priority given by the payload's entry, when the sender sets none. */
static void
test_payload_priority (Pair          *pair,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(CoprocMessage) received = NULL;
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "priority", "i", 4);
  message = coproc_message_new (COPROC_MESSAGE_KIND_NOREQUEST, g_variant_dict_end (&dict), NULL);
  g_assert_true (coproc_messenger_send_message (pair->resource, message, &error));
  g_assert_no_error (error);

  received = receive_message (pair->process, NULL);
  g_assert_cmpfloat (coproc_message_get_priority (received), ==, 4);
  g_assert_null (coproc_message_get_unix_fd_list (received));
}

/* Open descriptors, but for GLib's eventfds, which its main contexts and
 * tasks make once, lazily. */
static guint
count_fds_but_eventfds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target == NULL || strstr (target, "eventfd") == NULL)
        n++;
    }

  return n;
}

static void
request_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GPtrArray *replies = user_data;
  g_autoptr(GError) error = NULL;
  GVariant *reply = coproc_messenger_request_message_finish (COPROC_MESSENGER (source), result,
                                                             &error);

  g_assert_no_error (error);
  g_ptr_array_add (replies, reply);
}

/* A correlated request carries its priority: a PriorityMessenger peer
 * takes the most important first, and each reply completes its own
 * request. One request goes with a descriptor. */
static void
test_request_priority (Pair          *pair,
                       gconstpointer  data)
{
  static const gdouble priorities[] = { 5, 1, 3 };
  g_autoptr(GPtrArray) replies = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) marker = NULL;
  guint fds_before = count_fds_but_eventfds ();

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      g_autoptr(CoprocMessage) message =
        coproc_message_new (COPROC_MESSAGE_KIND_REQUEST, g_variant_new_double (priorities[i]),
                            g_variant_new_int32 (1));

      coproc_message_set_priority (message, priorities[i]);
      if (i == 1)
        {
          int fd = memfd_with ("with the request");
          g_autoptr(GUnixFDList) list = g_unix_fd_list_new_from_array (&fd, 1);

          coproc_message_set_unix_fd_list (message, list);
        }
      coproc_messenger_request_message_async (pair->resource, message, NULL, request_done_cb,
                                              replies);
    }
  send_norequest (pair->resource, g_variant_new_int32 (0), g_variant_new_int32 (2));
  marker = receive_blocking (pair->process, g_variant_new_int32 (2));

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      static const gdouble expected[] = { 1, 3, 5 };
      g_autoptr(CoprocMessage) request = receive_message (pair->process, g_variant_new_int32 (1));
      GUnixFDList *list = coproc_message_get_unix_fd_list (request);

      g_assert_true (coproc_message_get_request_reply (request));
      g_assert_cmpfloat (coproc_message_get_priority (request), ==, expected[i]);
      if (expected[i] == 1)
        {
          g_autofree char *content = NULL;
          int fd;

          g_assert_nonnull (list);
          fd = g_unix_fd_list_get (list, 0, &error);
          g_assert_no_error (error);
          content = read_file_fd (fd);
          close (fd);
          g_assert_cmpstr (content, ==, "with the request");
        }
      else
        g_assert_null (list);
      g_assert_true (coproc_messenger_reply_to (pair->process, request,
                                                g_variant_new_double (expected[i] * 10), &error));
      g_assert_no_error (error);
    }

  while (replies->len < G_N_ELEMENTS (priorities))
    g_main_context_iteration (NULL, TRUE);
  /* Each reply completed its own request: in the order answered. */
  test_assert_variant (g_ptr_array_index (replies, 0), g_variant_new_double (10));
  test_assert_variant (g_ptr_array_index (replies, 1), g_variant_new_double (30));
  test_assert_variant (g_ptr_array_index (replies, 2), g_variant_new_double (50));

  g_assert_cmpuint (count_fds_but_eventfds (), ==, fds_before);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  test_add_both ("fds/one-pipe", test_one_pipe);
  test_add_both ("fds/sixteen", test_sixteen);
  test_add_both ("fds/over-limit", test_over_limit);
  test_add_both ("fds/several-full", test_several_full);
  test_add_both ("fds/dropped-closes", test_dropped_closes);
  test_add_pair ("PriorityMessenger", "fds/priority-order", COPROC_TYPE_PRIORITY_MESSENGER,
                 test_priority_order);
  test_add_both ("fds/payload-priority", test_payload_priority);
  test_add_pair ("PriorityMessenger", "request/priority", COPROC_TYPE_PRIORITY_MESSENGER,
                 test_request_priority);
  g_test_add_func ("/Coproc/Messenger/fds/disposed-closes", test_disposed_closes);
  g_test_add_func ("/Coproc/Messenger/fds/not-supported", test_not_supported);
  g_test_add_func ("/Coproc/Message/new", test_message_new);

  return g_test_run ();
}
