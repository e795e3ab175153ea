/* protocol-example.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Produces the worked example of doc/protocol.md: a messenger writes its
 * handshake, a request, an error and a close request into a socket pair,
 * and the bytes that reach the other end are dumped, eight per line.
 *
 * A second example (protocol 1.2) is a worker's messenger, whose host
 * said it speaks 1.2, sending a message with one file descriptor: the
 * handshake announces the minor version, and the frame counts the
 * descriptor that arrives with its first byte.
 *
 * Without arguments the dumps are printed. With the path of protocol.md,
 * each dump is compared with the one on the page (the lines between the
 * "protocol-example" markers, and between the "protocol-fds-example"
 * ones; each line's offset and bytes must match, the annotations after
 * them are free) and the program fails on any difference.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>
#include <glib-unix.h>

#define BEGIN_MARKER "<!-- protocol-example: begin -->"
#define END_MARKER   "<!-- protocol-example: end -->"
#define FDS_BEGIN_MARKER "<!-- protocol-fds-example: begin -->"
#define FDS_END_MARKER   "<!-- protocol-fds-example: end -->"

/* Writes the frames and returns every byte the peer end received. */
static GBytes *
produce_frames (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) remote_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) received = g_byte_array_new ();
  guint8 buffer[4096];
  gssize n;
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));

  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);

  /* Constructing the messenger writes its handshake. */
  messenger = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER,
                                               G_IO_STREAM (connection), &error);
  g_assert_no_error (error);

  /* A request with payload "hello" on channel 1 (an int32), priority 0.5. */
  coproc_messenger_send_with_priority (messenger, COPROC_MESSAGE_KIND_REQUEST,
                                       g_variant_new_string ("hello"),
                                       g_variant_new_int32 (1),
                                       0.5, &error);
  g_assert_no_error (error);

  /* An error in the GIO domain. */
  remote_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no such file");
  coproc_messenger_send_error (messenger, remote_error, &error);
  g_assert_no_error (error);

  coproc_messenger_send_close_request (messenger, &error);
  g_assert_no_error (error);

  /* Closing flushes, then hangs up: read to the end. */
  coproc_messenger_close (messenger, &error);
  g_assert_no_error (error);

  while ((n = read (fds[1], buffer, sizeof buffer)) > 0)
    g_byte_array_append (received, buffer, n);
  g_assert_cmpint (n, ==, 0);
  close (fds[1]);

  return g_byte_array_free_to_bytes (g_steal_pointer (&received));
}

/* The protocol 1.2 example: a worker's messenger sends a plain message
 * (payload ("log", handle 0)) with one descriptor, the write end of a pipe.
 * Returns the bytes; checks that exactly one descriptor came, with the
 * frame's first byte. */
static GBytes *
produce_fds_frames (void)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) received = g_byte_array_new ();
  g_autofree char *fd_string = NULL;
  guint8 buffer[4096];
  guint n_fds = 0;
  gsize fds_at = 0;
  int pipe_fds[2];
  int fds[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));
  if (!g_unix_open_pipe (pipe_fds, FD_CLOEXEC, &error))
    g_error ("pipe: %s", error->message);

  /* What a host of protocol 1.2 gives its worker. */
  fd_string = g_strdup_printf ("%d", fds[0]);
  g_setenv ("COPROC_FD", fd_string, TRUE);
  g_setenv ("COPROC_PROTOCOL_MINOR", "2", TRUE);
  messenger = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  g_assert_no_error (error);

  g_unix_fd_list_append (list, pipe_fds[1], &error);
  g_assert_no_error (error);
  message = coproc_message_new (COPROC_MESSAGE_KIND_NOREQUEST,
                                g_variant_new ("(sh)", "log", 0), NULL);
  coproc_message_set_priority (message, 1.0);
  coproc_message_set_unix_fd_list (message, list);
  coproc_messenger_send_message (messenger, message, &error);
  g_assert_no_error (error);

  coproc_messenger_close (messenger, &error);
  g_assert_no_error (error);

  for (;;)
    {
      union {
        struct cmsghdr align;
        char           buf[CMSG_SPACE (sizeof (int) * 4)];
      } control;
      struct iovec iov = { buffer, sizeof buffer };
      struct msghdr msg = { 0 };
      gssize n;

      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      n = recvmsg (fds[1], &msg, MSG_CMSG_CLOEXEC);
      g_assert_cmpint (n, >=, 0);
      if (n == 0)
        break;
      for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          {
            guint count = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);

            for (guint i = 0; i < count; i++)
              close (((int *) CMSG_DATA (c))[i]);
            n_fds += count;
            /* The read that brought them ends with their frame's first
             * bytes (a read may begin with data sent before). */
            fds_at = received->len + n;
          }
      g_byte_array_append (received, buffer, n);
    }
  close (fds[1]);
  close (pipe_fds[0]);
  close (pipe_fds[1]);

  /* One descriptor, with the frame after the handshake. */
  if (n_fds != 1 || fds_at <= 16)
    g_error ("expected 1 descriptor with the frame at offset 16, got %u in a read "
             "ending at %" G_GSIZE_FORMAT, n_fds, fds_at);

  return g_byte_array_free_to_bytes (g_steal_pointer (&received));
}

/* One line per 8 bytes: "0000  43 4f 50 52 4f 43 0d 0a". */
static GPtrArray *
dump_lines (GBytes *bytes)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  const guint8 *data;
  gsize size;

  data = g_bytes_get_data (bytes, &size);
  for (gsize offset = 0; offset < size; offset += 8)
    {
      GString *line = g_string_new (NULL);

      g_string_append_printf (line, "%04" G_GSIZE_MODIFIER "x ", offset);
      for (gsize i = offset; i < MIN (offset + 8, size); i++)
        g_string_append_printf (line, " %02x", data[i]);
      g_ptr_array_add (lines, g_string_free (line, FALSE));
    }

  return lines;
}

/* The offset and byte columns of the page's dump, normalized like ours. */
static GPtrArray *
page_lines (const char *path,
            const char *begin_marker,
            const char *end_marker)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *result = g_ptr_array_new_with_free_func (g_free);
  gboolean inside = FALSE;
  gboolean found = FALSE;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) tokens = NULL;
      GString *line;
      guint n_bytes;
      guint t;

      if (strstr (lines[i], begin_marker) != NULL)
        {
          inside = found = TRUE;
          continue;
        }
      if (strstr (lines[i], end_marker) != NULL)
        break;
      if (!inside || g_str_has_prefix (lines[i], "```") || *g_strstrip (lines[i]) == '\0')
        continue;

      tokens = g_strsplit_set (lines[i], " ", -1);
      line = g_string_new (tokens[0]);
      g_string_append_c (line, ' ');
      for (t = 1, n_bytes = 0; tokens[t] != NULL && n_bytes < 8; t++)
        {
          if (*tokens[t] == '\0')
            continue;
          if (strlen (tokens[t]) != 2 || !g_ascii_isxdigit (tokens[t][0]) ||
              !g_ascii_isxdigit (tokens[t][1]))
            break;
          g_string_append_printf (line, " %s", tokens[t]);
          n_bytes++;
        }
      g_ptr_array_add (result, g_string_free (line, FALSE));
    }

  if (!found)
    g_error ("%s has no “%s” marker", path, begin_marker);

  return result;
}

/* Compares a dump with the page's; prints ours on a difference. */
static gboolean
check_dump (const char *path,
            GPtrArray  *ours,
            const char *begin_marker,
            const char *end_marker)
{
  g_autoptr(GPtrArray) theirs = page_lines (path, begin_marker, end_marker);
  gboolean same = ours->len == theirs->len;

  for (guint i = 0; same && i < ours->len; i++)
    same = g_str_equal (g_ptr_array_index (ours, i), g_ptr_array_index (theirs, i));

  if (!same)
    {
      g_printerr ("The dump after %s in %s does not match what the library writes:\n",
                  begin_marker, path);
      for (guint i = 0; i < ours->len; i++)
        g_printerr ("%s\n", (const char *) g_ptr_array_index (ours, i));
      return FALSE;
    }

  g_print ("The worked example after %s in %s matches the library's output (%u lines)\n",
           begin_marker, path, ours->len);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GBytes) bytes = produce_frames ();
  g_autoptr(GBytes) fds_bytes = produce_fds_frames ();
  g_autoptr(GPtrArray) ours = dump_lines (bytes);
  g_autoptr(GPtrArray) fds_ours = dump_lines (fds_bytes);
  gboolean ok;

  if (argc < 2)
    {
      for (guint i = 0; i < ours->len; i++)
        g_print ("%s\n", (const char *) g_ptr_array_index (ours, i));
      g_print ("\n");
      for (guint i = 0; i < fds_ours->len; i++)
        g_print ("%s\n", (const char *) g_ptr_array_index (fds_ours, i));
      return 0;
    }

  ok = check_dump (argv[1], ours, BEGIN_MARKER, END_MARKER);
  ok = check_dump (argv[1], fds_ours, FDS_BEGIN_MARKER, FDS_END_MARKER) && ok;
  return ok ? 0 : 1;
}
