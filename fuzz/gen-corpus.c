/* gen-corpus.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Writes the seed corpora of the fuzz targets: gen-corpus OUTDIR makes
 * OUTDIR/stream, OUTDIR/header and OUTDIR/body.
 *
 * The valid streams are recorded from a real messenger: each scenario below
 * talks into one end of a socket pair and every byte that comes out of the
 * other end is kept. Edge cases are made from those by changing a few bytes
 * (truncations, bad handshakes, unknown kinds, malformed bodies, oversized
 * frames), so every seed is one mutation away from something real.
 */

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>
#include "coproc-wire-private.h"

#include "fuzz-common.h"

typedef void (*Script) (CoprocMessenger *peer);

typedef struct
{
  const char *name;
  Script      script;
  gboolean    edges;            /* also write the edge cases made from it */
  guint       large_threshold;  /* payloads this big are passed in a memfd; 0: never */
} Scenario;

/* Recording ---------------------------------------------------------------- */

typedef struct
{
  int         fd;
  GByteArray *stream;   /* every byte that came out */
  GBytes     *file;     /* the contents of the first descriptor passed, if any */
} Recorder;

static GBytes *
read_passed_file (int fd)
{
  GByteArray *contents = g_byte_array_new ();
  guint8 buf[65536];
  gssize n;
  off_t offset = 0;

  while ((n = pread (fd, buf, sizeof buf, offset)) > 0)
    {
      g_byte_array_append (contents, buf, n);
      offset += n;
    }

  return g_byte_array_free_to_bytes (contents);
}

static gpointer
recorder_thread (gpointer data)
{
  Recorder *recorder = data;
  guint8 buf[65536];

  for (;;)
    {
      union {
        struct cmsghdr align;
        char           buf[CMSG_SPACE (sizeof (int) * 8)];
      } control;
      struct iovec iov = { buf, sizeof buf };
      struct msghdr msg = { 0 };
      gssize n;

      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;

      n = recvmsg (recorder->fd, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;

      for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
        {
          gsize n_fds = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);

          for (gsize i = 0; i < n_fds; i++)
            {
              int fd;

              memcpy (&fd, CMSG_DATA (c) + i * sizeof (int), sizeof fd);
              if (recorder->file == NULL)
                recorder->file = read_passed_file (fd);
              close (fd);
            }
        }

      g_byte_array_append (recorder->stream, buf, n);
    }

  return NULL;
}

/* Runs @script against a messenger and returns all it sent; @file gets
 * the contents of the first payload passed in a descriptor, if any. */
static GBytes *
record (Script   script,
        guint    large_threshold,
        GBytes **file)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(CoprocMessenger) peer = NULL;
  g_autoptr(GError) error = NULL;
  Recorder recorder = { 0 };
  GThread *thread;
  int fds[2];

  g_main_context_push_thread_default (context);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    g_error ("socketpair: %s", g_strerror (errno));

  recorder.fd = fds[1];
  recorder.stream = g_byte_array_new ();
  thread = g_thread_new ("recorder", recorder_thread, &recorder);

  socket = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);
  peer = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER,
                                          G_IO_STREAM (connection), &error);
  g_assert_no_error (error);
  coproc_messenger_set_large_message_threshold (peer, large_threshold);

  script (peer);

  /* Flushes everything, then hangs up: the recorder sees EOF. */
  coproc_messenger_close (peer, &error);
  g_assert_no_error (error);

  g_thread_join (thread);
  close (fds[1]);

  while (g_main_context_iteration (context, FALSE))
    ;
  g_clear_object (&peer);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  *file = recorder.file;
  return g_byte_array_free_to_bytes (recorder.stream);
}

/* Scenarios ---------------------------------------------------------------- */

static void
send_ok (gboolean ok,
         GError  *error)
{
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
script_empty (CoprocMessenger *peer)
{
}

static void
script_plain (CoprocMessenger *peer)
{
  GError *error = NULL;

  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_string ("hello"), NULL, &error),
           error);
}

static void
script_types (CoprocMessenger *peer)
{
  static const guint8 binary[] = { 0, 1, 2, 0xff, 0, 0x80 };
  g_auto(GVariantBuilder) dict = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);
  GVariant *payloads[13];
  GError *error = NULL;

  g_variant_builder_add (&dict, "{sv}", "text", g_variant_new_string ("x"));
  g_variant_builder_add (&dict, "{sv}", "count", g_variant_new_int64 (-7));

  payloads[0] = g_variant_new_int32 (42);
  payloads[1] = g_variant_new_string ("");
  payloads[2] = g_variant_new_boolean (TRUE);
  payloads[3] = g_variant_new_double (-0.5);
  payloads[4] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, binary, sizeof binary, 1);
  payloads[5] = g_variant_builder_end (&dict);
  payloads[6] = g_variant_new ("(sis)", "a", 1, "b");
  payloads[7] = g_variant_new ("av", NULL);
  payloads[8] = g_variant_new ("()");
  payloads[9] = g_variant_new_variant (g_variant_new_uint64 (G_MAXUINT64));
  payloads[10] = g_variant_new ("(yqunxthd)", 1, 2, 3, 4, (gint64) 5, (guint64) 6, 7, 8.0);
  payloads[11] = g_variant_new ("a(sas)", NULL);
  payloads[12] = g_variant_new ("mmi", FALSE, 0);

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    send_ok (coproc_messenger_send_norequest (peer, payloads[i], NULL, &error), error);
}

static void
script_channels (CoprocMessenger *peer)
{
  GVariant *channels[5];
  GError *error = NULL;

  channels[0] = g_variant_new_int32 (1);
  channels[1] = g_variant_new_string ("jobs");
  channels[2] = g_variant_new ("(is)", 2, "two");
  channels[3] = g_variant_new_bytestring ("raw");
  channels[4] = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      GVariant *channel = channels[i] ? g_variant_ref_sink (channels[i]) : NULL;

      send_ok (coproc_messenger_send_norequest (peer, g_variant_new_uint32 (i), channel, &error),
               error);
      send_ok (coproc_messenger_send_request (peer, g_variant_new_uint32 (i), channel, &error),
               error);
      g_clear_pointer (&channel, g_variant_unref);
    }
}

static void
script_requests (CoprocMessenger *peer)
{
  g_autoptr(GVariant) channel = g_variant_ref_sink (g_variant_new_int32 (1));
  GVariant *batch[3];
  GError *error = NULL;

  batch[0] = g_variant_new_int32 (1);
  batch[1] = g_variant_new_int32 (2);
  batch[2] = g_variant_new_int32 (3);

  send_ok (coproc_messenger_send_request (peer, g_variant_new_string ("job"), channel, &error),
           error);
  send_ok (coproc_messenger_send_request_multiple (peer, batch, G_N_ELEMENTS (batch), NULL,
                                                   &error),
           error);
  /* Replies nobody asked for: delivered, never counted. */
  send_ok (coproc_messenger_send_reply (peer, g_variant_new_string ("done"), channel, &error),
           error);
  send_ok (coproc_messenger_send_reply (peer, g_variant_new_int32 (0), NULL, &error), error);
}

static void
script_priorities (CoprocMessenger *peer)
{
  static const gdouble priorities[] = { 5, -INFINITY, NAN, 0, 1e300, -3, INFINITY, 5 };
  g_auto(GVariantBuilder) dict = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE ("a{si}"));
  GError *error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    send_ok (coproc_messenger_send_with_priority (peer, i % 3, g_variant_new_uint32 (i), NULL,
                                                  priorities[i], &error),
             error);

  /* A dictionary with a numeric "priority" entry gives its priority. */
  g_variant_builder_add (&dict, "{si}", "priority", -1);
  send_ok (coproc_messenger_send_norequest (peer, g_variant_builder_end (&dict), NULL, &error),
           error);
}

static void
script_errors (CoprocMessenger *peer)
{
  g_autoptr(GError) io_error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                                    "No such file");
  g_autoptr(GError) coproc_error = g_error_new_literal (COPROC_ERROR, COPROC_ERROR_WORKER_DIED,
                                                        "gone");
  g_autoptr(GError) app_error = g_error_new_literal (g_quark_from_static_string ("fuzz-app-error-quark"),
                                                     -2, "application failure");
  GError *error = NULL;

  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_int32 (1), NULL, &error), error);
  send_ok (coproc_messenger_send_error (peer, io_error, &error), error);
  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_int32 (2), NULL, &error), error);
  send_ok (coproc_messenger_send_error (peer, coproc_error, &error), error);
  send_ok (coproc_messenger_send_error (peer, app_error, &error), error);
  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_int32 (3), NULL, &error), error);
}

static void
script_close (CoprocMessenger *peer)
{
  GError *error = NULL;

  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_int32 (1), NULL, &error), error);
  send_ok (coproc_messenger_send_close_request (peer, &error), error);
  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_int32 (2), NULL, &error), error);
}

static void
script_large (CoprocMessenger *peer)
{
  g_autofree guint8 *data = g_malloc (20000);
  GError *error = NULL;

  for (guint i = 0; i < 20000; i++)
    data[i] = (guint8) (i * 7);

  send_ok (coproc_messenger_send_norequest (peer,
                                            g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                       data, 20000, 1),
                                            NULL, &error),
           error);
  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_string ("after"), NULL, &error),
           error);
}

static void
script_conversation (CoprocMessenger *peer)
{
  g_autoptr(GVariant) channel = g_variant_ref_sink (g_variant_new_string ("work"));
  g_autoptr(GError) failure = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "failed");
  GError *error = NULL;

  for (int i = 0; i < 6; i++)
    {
      g_autoptr(GVariant) payload = g_variant_ref_sink (g_variant_new ("(ids)", i, i * 0.5,
                                                                       "item"));

      if (i % 2 == 0)
        send_ok (coproc_messenger_send_request (peer, payload, channel, &error), error);
      else
        send_ok (coproc_messenger_send_reply (peer, payload, NULL, &error), error);
    }

  send_ok (coproc_messenger_send_error (peer, failure, &error), error);
  send_ok (coproc_messenger_send_with_priority (peer, COPROC_MESSAGE_KIND_NOREQUEST,
                                                g_variant_new_string ("urgent"), channel, -10,
                                                &error),
           error);
  send_ok (coproc_messenger_send_close_request (peer, &error), error);
}

/* With a low large-message-threshold: the same payload twice, passed in
 * memfds, around a small one that stays inline. */
static void
script_passed (CoprocMessenger *peer)
{
  g_autoptr(GVariant) channel = g_variant_ref_sink (g_variant_new_int32 (3));
  guint8 data[200];
  GError *error = NULL;

  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) i;

  for (int i = 0; i < 2; i++)
    {
      send_ok (coproc_messenger_send_request (peer,
                                              g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data,
                                                                         sizeof data, 1),
                                              i == 0 ? NULL : channel, &error),
               error);
      send_ok (coproc_messenger_send_norequest (peer, g_variant_new_string ("inline"), NULL,
                                                &error),
               error);
    }
}

/* With a low large-message-threshold: many small payloads, each passed in
 * a memfd of its own (the receiver copies them out rather than map each). */
static void
script_passed_many (CoprocMessenger *peer)
{
  guint8 data[100];
  GError *error = NULL;

  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 3);

  for (int i = 0; i < 40; i++)
    send_ok (coproc_messenger_send_norequest (peer,
                                              g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data,
                                                                         sizeof data, 1),
                                              NULL, &error),
             error);
}

/* @n levels of "av" around @leaf. */
static GVariant *
nest_av (guint     n,
         GVariant *leaf)
{
  for (guint i = 0; i < n; i++)
    {
      GVariant *child = g_variant_new_variant (leaf);

      leaf = g_variant_new_array (NULL, &child, 1);
    }

  return leaf;
}

/* Values nested as deep as a receiver accepts (GLib's limit for
 * untrusted data): one level more is refused by the sender. */
static void
script_nesting (CoprocMessenger *peer)
{
  GVariant *deep_v = g_variant_new_int32 (7);
  GError *error = NULL;

  for (guint i = 0; i < 127; i++)
    deep_v = g_variant_new_variant (deep_v);

  send_ok (coproc_messenger_send_norequest (peer, nest_av (63, g_variant_new_int32 (1)), NULL,
                                            &error),
           error);
  send_ok (coproc_messenger_send_norequest (peer, deep_v, NULL, &error), error);
  send_ok (coproc_messenger_send_norequest (peer, nest_av (62, g_variant_new ("a{sv}", NULL)),
                                            g_variant_new_int32 (2), &error),
           error);
  send_ok (coproc_messenger_send_norequest (peer, g_variant_new_int32 (3), NULL, &error), error);
}

static const Scenario scenarios[] = {
  { "empty", script_empty, FALSE, 0 },
  { "plain", script_plain, TRUE, 0 },
  { "types", script_types, FALSE, 0 },
  { "channels", script_channels, TRUE, 0 },
  { "requests", script_requests, FALSE, 0 },
  { "priorities", script_priorities, FALSE, 0 },
  { "errors", script_errors, TRUE, 0 },
  { "close", script_close, TRUE, 0 },
  { "large", script_large, FALSE, 0 },
  { "conversation", script_conversation, TRUE, 0 },
  { "passed", script_passed, FALSE, 64 },
  { "passed-many", script_passed_many, FALSE, 64 },
  { "nesting", script_nesting, TRUE, 0 },
};

/* Writing ------------------------------------------------------------------ */

static char *outdir;
static GHashTable *written;   /* GBytes set: no seed twice */

static void
write_seed (const char   *target,
            const char   *name,
            const guint8 *prefix,
            gsize         prefix_size,
            const guint8 *data,
            gsize         size)
{
  g_autoptr(GByteArray) all = g_byte_array_sized_new (prefix_size + size);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (outdir, target, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GBytes *bytes;

  g_byte_array_append (all, prefix, prefix_size);
  g_byte_array_append (all, data, size);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&all));

  if (g_hash_table_contains (written, bytes))
    {
      g_bytes_unref (bytes);
      return;
    }

  if (g_mkdir_with_parents (dir, 0755) != 0)
    g_error ("Cannot create %s: %s", dir, g_strerror (errno));
  if (!g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                            &error))
    g_error ("%s", error->message);

  g_hash_table_add (written, bytes);
}

typedef struct
{
  guint8      mode;
  guint8      chunk;
  const char *suffix;
} StreamVariant;

static const StreamVariant all_variants[] = {
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, 0), 0, "blocking" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_POLL, 0), 0, "poll" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_AWAIT, 0), 0, "await" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_MAIN_LOOP, 0), 0, "loop" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_MAIN_LOOP, FUZZ_STREAM_CONSUME | FUZZ_STREAM_MULTI), 0,
    "loop-consume-multi" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_POLL, FUZZ_STREAM_MULTI), 7, "poll-multi-chunk7" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, FUZZ_STREAM_MEMORY), 0, "blocking-memory" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_AWAIT, FUZZ_STREAM_SMALL_MAX | FUZZ_STREAM_MULTI), 1,
    "await-smallmax-fifo-chunk1" },
};

static const StreamVariant edge_variants[] = {
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, 0), 0, "blocking" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_MAIN_LOOP, 0), 3, "loop-chunk3" },
  { FUZZ_STREAM_MODE (FUZZ_DRIVE_AWAIT, FUZZ_STREAM_SMALL_MAX | FUZZ_STREAM_MEMORY), 0,
    "await-smallmax-memory" },
};

static void
write_stream (const char          *name,
              const StreamVariant *variants,
              gsize                n_variants,
              const guint8        *data,
              gsize                size)
{
  for (gsize i = 0; i < n_variants; i++)
    {
      g_autofree char *file = g_strdup_printf ("%s-%s", name, variants[i].suffix);
      guint8 prefix[FUZZ_STREAM_PREFIX_SIZE] = { variants[i].mode, variants[i].chunk };

      write_seed ("stream", file, prefix, sizeof prefix, data, size);
    }
}

/* A stream whose frames pass payloads in descriptors: the option bytes,
 * the file header, the stream, then the file (see fuzz-common.h). */
static void
write_fd_stream (const char   *name,
                 guint8        mode,
                 guint8        chunk,
                 guint8        fd_flags,
                 const guint8 *data,
                 gsize         size,
                 const guint8 *file,
                 gsize         file_size)
{
  g_autoptr(GByteArray) all = g_byte_array_new ();
  guint8 prefix[FUZZ_STREAM_PREFIX_SIZE] = { mode | FUZZ_STREAM_FDS, chunk };
  guint8 header[FUZZ_STREAM_FD_HEADER_SIZE];
  guint32 le = GUINT32_TO_LE ((guint32) file_size);

  memcpy (header, &le, sizeof le);
  header[4] = fd_flags;
  g_byte_array_append (all, header, sizeof header);
  g_byte_array_append (all, data, size);
  g_byte_array_append (all, file, file_size);

  write_seed ("stream", name, prefix, sizeof prefix, all->data, all->len);
}

static void
write_fd_streams (const char   *name,
                  const guint8 *data,
                  gsize         size,
                  GBytes       *file)
{
  const guint8 *contents;
  gsize file_size;
  g_autofree char *file_name = NULL;

#define FD_SEED(what, mode, chunk, flags, len) \
  G_STMT_START { \
    g_free (file_name); \
    file_name = g_strdup_printf ("%s-%s", name, what); \
    write_fd_stream (file_name, (mode), (chunk), (flags), data, size, contents, (len)); \
  } G_STMT_END

  contents = g_bytes_get_data (file, &file_size);

  FD_SEED ("fds-blocking", FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, 0), 0, 0, file_size);
  FD_SEED ("fds-poll-chunk5", FUZZ_STREAM_MODE (FUZZ_DRIVE_POLL, 0), 5, 0, file_size);
  FD_SEED ("fds-await", FUZZ_STREAM_MODE (FUZZ_DRIVE_AWAIT, 0), 0, 0, file_size);
  FD_SEED ("fds-loop", FUZZ_STREAM_MODE (FUZZ_DRIVE_MAIN_LOOP, 0), 0, 0, file_size);
  FD_SEED ("fds-loop-smallqueue",
           FUZZ_STREAM_MODE (FUZZ_DRIVE_MAIN_LOOP, FUZZ_STREAM_SMALL_QUEUE), 0, 0, file_size);
  FD_SEED ("fds-smallmax", FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, FUZZ_STREAM_SMALL_MAX), 0, 0,
           file_size);

  /* Descriptors a sender must not pass. */
  FD_SEED ("fds-unsealed", FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, 0), 0, FUZZ_FD_UNSEALED,
           file_size);
  FD_SEED ("fds-pipe", FUZZ_STREAM_MODE (FUZZ_DRIVE_POLL, 0), 0, FUZZ_FD_PIPE, file_size);
  FD_SEED ("fds-every-write", FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, 0), 1, FUZZ_FD_EVERY_WRITE,
           file_size);
  FD_SEED ("fds-short-file", FUZZ_STREAM_MODE (FUZZ_DRIVE_AWAIT, 0), 0, 0, file_size / 2);

#undef FD_SEED

  /* Frames that announce descriptors that never come. */
  {
    guint8 prefix[FUZZ_STREAM_PREFIX_SIZE] = { FUZZ_STREAM_MODE (FUZZ_DRIVE_BLOCKING, 0), 0 };
    g_autofree char *missing = g_strdup_printf ("%s-fds-missing", name);

    write_seed ("stream", missing, prefix, sizeof prefix, data, size);
  }
}

/* Frames of a recorded stream ---------------------------------------------- */

typedef struct
{
  gsize            offset;   /* of the header, from the start of the stream */
  CoprocWireHeader header;
} FrameInfo;

static GArray *
split_frames (const guint8 *data,
              gsize         size)
{
  GArray *frames = g_array_new (FALSE, TRUE, sizeof (FrameInfo));
  gsize offset = COPROC_WIRE_HANDSHAKE_SIZE;

  while (offset + COPROC_WIRE_HEADER_SIZE <= size)
    {
      FrameInfo info = { offset };
      g_autoptr(GError) error = NULL;

      if (!coproc_wire_read_header (data + offset, &info.header, &error))
        g_error ("The library wrote a bad frame: %s", error->message);
      g_array_append_val (frames, info);
      offset += coproc_wire_frame_size (&info.header);
    }

  g_assert_cmpuint (offset, ==, size);
  return frames;
}

static void
put_u32 (guint8  *out,
         guint32  value)
{
  value = GUINT32_TO_LE (value);
  memcpy (out, &value, sizeof value);
}

/* Edge cases made from a valid stream: @data is handshake + frames. */
static void
write_edges (const char   *name,
             const guint8 *data,
             gsize         size,
             GArray       *frames)
{
  const gsize n = G_N_ELEMENTS (edge_variants);
  g_autofree guint8 *copy = g_memdup2 (data, size);
  g_autofree char *file = NULL;
  FrameInfo *last;

#define EDGE(what, bytes, len) \
  G_STMT_START { \
    g_free (file); \
    file = g_strdup_printf ("%s-%s", name, what); \
    write_stream (file, edge_variants, n, (bytes), (len)); \
  } G_STMT_END

  /* Cut short: in the handshake, in a header, in a body. */
  EDGE ("cut-handshake", data, COPROC_WIRE_HANDSHAKE_SIZE / 2);
  if (frames->len == 0)
    return;

  last = &g_array_index (frames, FrameInfo, frames->len - 1);
  EDGE ("cut-header", data, last->offset + COPROC_WIRE_HEADER_SIZE / 2);
  if (coproc_wire_frame_size (&last->header) > COPROC_WIRE_HEADER_SIZE)
    EDGE ("cut-body", data, last->offset + COPROC_WIRE_HEADER_SIZE + 1);

  /* Bad handshakes. */
  copy[0] ^= 0x20;
  EDGE ("bad-magic", copy, size);
  memcpy (copy, data, size);
  copy[8] = 2;
  EDGE ("version-2", copy, size);
  memcpy (copy, data, size);
  copy[11] = 1;
  EDGE ("handshake-flags", copy, size);
  memcpy (copy, data, size);
  put_u32 (copy + 12, 64);
  EDGE ("peer-max-64", copy, size);

  /* The first frame, changed; the frames after it must still arrive. */
  {
    FrameInfo *first = &g_array_index (frames, FrameInfo, 0);
    guint8 *h = copy + first->offset;
    gsize body = first->offset + COPROC_WIRE_HEADER_SIZE;

    memcpy (copy, data, size);
    h[8] = 9;
    EDGE ("unknown-kind", copy, size);

    memcpy (copy, data, size);
    h[9] = 1;
    EDGE ("header-flags", copy, size);

    memcpy (copy, data, size);
    h[10] = 1;
    EDGE ("n-fds", copy, size);

    memcpy (copy, data, size);
    h[12] = 1;
    EDGE ("header-reserved", copy, size);

    memcpy (copy, data, size);
    h[8] = COPROC_WIRE_KIND_CLOSE;
    EDGE ("close-with-body", copy, size);

    memcpy (copy, data, size);
    h[8] = COPROC_WIRE_KIND_ERROR;
    EDGE ("as-error", copy, size);

    if (first->header.payload_size > 0)
      {
        gsize payload = body + coproc_wire_pad8 (first->header.channel_size);
        gsize end = payload + first->header.payload_size;

        /* An invalid type string, then an indefinite one. */
        memcpy (copy, data, size);
        copy[end - 1] = '{';
        EDGE ("bad-type", copy, size);

        memcpy (copy, data, size);
        copy[end - 1] = '*';
        EDGE ("indefinite-type", copy, size);

        /* No NUL before the type string: no type at all. */
        memcpy (copy, data, size);
        memset (copy + payload, 'a', first->header.payload_size);
        EDGE ("no-type", copy, size);

        /* Announces more than the stream holds. */
        memcpy (copy, data, size);
        put_u32 (h, 0xfffffff0u);
        EDGE ("huge-payload", copy, size);

        memcpy (copy, data, size);
        put_u32 (h, FUZZ_STREAM_SMALL_MAX_SIZE * 2);
        EDGE ("long-payload", copy, size);
      }

    memcpy (copy, data, size);
    put_u32 (h + 4, 1);
    EDGE ("channel-size-1", copy, size);
  }

#undef EDGE
}

/* Header and body seeds from a recorded stream. */
static void
write_parts (const char   *name,
             const guint8 *data,
             gsize         size,
             GArray       *frames)
{
  for (guint i = 0; i < frames->len; i++)
    {
      FrameInfo *f = &g_array_index (frames, FrameInfo, i);
      gsize body = f->offset + COPROC_WIRE_HEADER_SIZE;
      g_autofree char *file = NULL;

      file = g_strdup_printf ("%s-%u", name, i);
      write_seed ("header", file, data, COPROC_WIRE_HANDSHAKE_SIZE,
                  data + f->offset, COPROC_WIRE_HEADER_SIZE);

      if (f->header.channel_size > 0)
        {
          g_free (file);
          file = g_strdup_printf ("%s-%u-channel", name, i);
          write_seed ("body", file, NULL, 0, data + body, f->header.channel_size);
        }
      if (f->header.payload_size > 0 && !(f->header.flags & COPROC_WIRE_FLAG_PAYLOAD_FD))
        {
          g_free (file);
          file = g_strdup_printf ("%s-%u-payload", name, i);
          write_seed ("body", file, NULL, 0,
                      data + body + coproc_wire_pad8 (f->header.channel_size),
                      f->header.payload_size);
        }
    }
}

/* One level deeper than a receiver accepts: a sender refuses to send it,
 * so it is written by hand, as a body and in a stream between two
 * markers. */
static void
write_too_deep (void)
{
  g_autoptr(GVariant) deep = g_variant_ref_sink (nest_av (64, g_variant_new_int32 (1)));
  g_autoptr(GVariant) marker = g_variant_ref_sink (g_variant_new_int32 (5));
  g_autoptr(GByteArray) stream = g_byte_array_new ();
  gsize size = coproc_wire_variant_size (deep);
  g_autofree guint8 *body = g_malloc0 (size);
  guint8 handshake[COPROC_WIRE_HANDSHAKE_SIZE];

  coproc_wire_store_variant (deep, body);
  write_seed ("body", "nesting-too-deep-payload", NULL, 0, body, size);

  coproc_wire_write_handshake (handshake, 0, COPROC_DEFAULT_MAX_MESSAGE_SIZE);
  g_byte_array_append (stream, handshake, sizeof handshake);
  for (guint i = 0; i < 3; i++)
    {
      GVariant *value = i == 1 ? deep : marker;
      CoprocWireHeader header = { 0 };
      g_autofree guint8 *frame = NULL;

      header.kind = COPROC_WIRE_KIND_NOREQUEST;
      header.payload_size = coproc_wire_variant_size (value);
      header.priority = INFINITY;
      frame = g_malloc0 (coproc_wire_frame_size (&header));
      coproc_wire_write_header (frame, &header);
      coproc_wire_store_variant (value, frame + COPROC_WIRE_HEADER_SIZE);
      g_byte_array_append (stream, frame, coproc_wire_frame_size (&header));
    }
  write_stream ("nesting-too-deep", edge_variants, G_N_ELEMENTS (edge_variants), stream->data,
                stream->len);
}

int
main (int    argc,
      char **argv)
{
  if (argc != 2)
    {
      g_printerr ("Usage: %s OUTDIR\n", argv[0]);
      return 2;
    }

  outdir = argv[1];
  written = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                   (GDestroyNotify) g_bytes_unref, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (scenarios); i++)
    {
      g_autoptr(GBytes) file = NULL;
      g_autoptr(GBytes) stream = record (scenarios[i].script, scenarios[i].large_threshold,
                                         &file);
      const guint8 *data;
      gsize size;
      g_autoptr(GArray) frames = NULL;

      data = g_bytes_get_data (stream, &size);
      frames = split_frames (data, size);

      if (file != NULL)
        {
          g_autofree char *payload_name = g_strdup_printf ("%s-file", scenarios[i].name);

          write_fd_streams (scenarios[i].name, data, size, file);
          write_seed ("body", payload_name, NULL, 0, g_bytes_get_data (file, NULL),
                      g_bytes_get_size (file));
        }
      else
        write_stream (scenarios[i].name, all_variants, G_N_ELEMENTS (all_variants), data, size);

      if (scenarios[i].edges)
        write_edges (scenarios[i].name, data, size, frames);
      write_parts (scenarios[i].name, data, size, frames);
    }

  write_too_deep ();

  g_print ("%u seeds written to %s\n", g_hash_table_size (written), outdir);
  g_hash_table_unref (written);

  return 0;
}
