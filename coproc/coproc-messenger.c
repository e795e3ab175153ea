/* coproc-messenger.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gfiledescriptorbased.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "coproc-enums.h"
#include "coproc-error.h"
#include "coproc-channels-private.h"
#include "coproc-message-private.h"
#include "coproc-messenger-private.h"
#include "coproc-payload-fd-private.h"
#include "coproc-queue-private.h"
#include "coproc-transport-private.h"
#include "coproc-wire-private.h"

/**
 * CoprocMessenger:
 *
 * One end of a message pipe between a host and a worker.
 *
 * A messenger owns one end of a bidirectional stream (normally a socket
 * pair), the queues of messages that arrived on it, and per-channel counters.
 * Messages are `GVariant` payloads sent on *channels* (any `GVariant`, or
 * `NULL` for the default channel), as plain messages, requests or replies;
 * errors and close requests travel beside them and are raised by the peer's
 * next receive call.
 *
 * `CoprocMessenger` is abstract: use [class@Coproc.PriorityMessenger], where
 * each channel is a priority queue, or [class@Coproc.MultiMessenger], where
 * each channel is a plain FIFO. Subclasses decide how a message is queued by
 * overriding [vfunc@Coproc.Messenger.queue_message].
 *
 * A messenger watches its stream from the `GMainContext` that was the
 * thread-default one when it was made. While that context runs, arriving
 * messages are offered to [signal@Coproc.Messenger::message-received]; a
 * handler that returns `TRUE` consumes the message, otherwise it stays queued
 * for the receive calls. The blocking calls never iterate that context.
 *
 * Sends never block while the socket has room: the frame is in the kernel
 * when the call returns. When the peer lags, frames wait in an outgoing
 * buffer and leave in large writes; past 16 MiB of buffered output a send
 * waits, reading what the peer sends meanwhile so that two peers sending
 * to each other cannot deadlock.
 *
 * A messenger is not thread-safe: use it from the thread that owns its
 * context.
 *
 * See [Messaging between processes](messaging.html) for a tour with
 * examples in C, Python, JavaScript and Vala, [Main loop
 * integration](mainloop.html), and [the wire protocol](protocol.html).
 *
 * Since: 1.0
 */

#define FLUSH_BATCH_SIZE     (64 * 1024)
#define SEND_HIGH_WATER      (16 * 1024 * 1024)
#define DIRECT_WRITE_SIZE    (SEND_HIGH_WATER / 2)
#define WBUF_KEEP_SIZE       (256 * 1024)
#define MAX_NEW_DOMAINS      64
#define DEFAULT_MAX_QUEUED_BYTES (256 * 1024 * 1024)
#define DEFAULT_LARGE_MESSAGE_THRESHOLD (1024 * 1024)
#define DISPATCH_MAX_READS   4
#define RECEIVE_MAX_READS    256

typedef struct
{
  CoprocMessenger *self;           /* borrowed: the task holds a reference */
  GTask           *task;           /* owned */
  CoprocChannel   *channel;        /* borrowed: channels live as long as the messenger */
  GSource         *cancel_source;  /* owned, may be NULL */
  guint            want_message : 1;
} PendingReceive;

typedef struct
{
  GSource          parent;
  CoprocMessenger *messenger;      /* borrowed: the messenger destroys us in dispose */
  gpointer         tag;            /* fd tag while the fd is polled; NULL otherwise */
  GSource         *in_child;       /* pollable-stream form only */
  GSource         *out_child;      /* pollable-stream form only */
} WatchSource;

typedef struct
{
  guint64 offset;   /* stream offset of the frame the descriptor goes with */
  int     fd;       /* owned */
} OutFd;

typedef enum
{
  IO_OK,
  IO_WOULD_BLOCK,
  IO_EOF,
  IO_ERROR,
} IOResult;

typedef struct
{
  /* All of this is touched only from the thread owning @context. */

  GIOStream     *stream;            /* owned; the end of the pipe we own */
  GInputStream  *input;             /* borrowed from @stream */
  GOutputStream *output;            /* borrowed from @stream */
  int            fd;                /* socket fd when @stream is a GSocketConnection, else -1 */
  GMainContext  *context;           /* owned; thread-default at construction */
  GSource       *watch;             /* owned; WatchSource attached to @context while open */
  GSource       *closed_idle;       /* owned; pending emission of ::closed */

  CoprocFrameParser *parser;        /* owned; the read buffer and what is parsed from it */

  /* Outgoing bytes are [wbuf_start, wbuf_end) of @wbuf. */
  guint8        *wbuf;
  gsize          wbuf_size;
  gsize          wbuf_start;
  gsize          wbuf_end;
  gsize          unflushed;         /* bytes appended since the last write attempt */
  guint64        written_total;     /* stream offset of wbuf_start */
  GArray        *out_fds;           /* of OutFd, in stream order; closed once sent */
  guint          large_threshold;   /* payloads this big go in a memfd; 0: never */

  CoprocChannels channels;          /* the channel table, queues, counters and their bounds */

  GQueue         pending;           /* of PendingReceive, in call order */
  GError        *pending_special;   /* a remote error or close request not yet surfaced */
  GError        *closed_error;      /* once closed: what receives fail with when dry */
  GError        *closed_signal_error; /* once closed: for ::closed, NULL for a clean hang-up */
  GError        *write_error;       /* once a write failed: what sends fail with; reading goes
                                     * on until the peer's hang-up, so nothing it sent is lost */

  CoprocError    hangup_code;
  char          *hangup_message;

  guint          max_message_size;
  guint          new_domains;       /* error domains interned for the peer */

  guint          drained : 1;         /* the last read found the socket emptied */
  guint          eof : 1;
  guint          closed : 1;
  guint          closed_emitted : 1;
  guint          disposed : 1;
} CoprocMessengerPrivate;

static void coproc_messenger_initable_iface_init (GInitableIface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (CoprocMessenger, coproc_messenger, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (CoprocMessenger)
                                  G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                         coproc_messenger_initable_iface_init))

enum {
  PROP_0,
  PROP_STREAM,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_QUEUED_BYTES,
  PROP_LARGE_MESSAGE_THRESHOLD,
  N_PROPS
};

enum {
  MESSAGE_RECEIVED,
  ERROR_RECEIVED,
  CLOSE_REQUESTED,
  CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void process_input    (CoprocMessenger *self,
                              gboolean         emit,
                              guint            max_reads);
static void complete_pending (CoprocMessenger *self);
static void update_watch     (CoprocMessenger *self);
static void mark_failed      (CoprocMessenger *self,
                              GError          *error);
static gboolean fd_is_stream_socket (int fd);

/* Channels ---------------------------------------------------------------- */

static inline gboolean
input_held (CoprocMessengerPrivate *priv)
{
  return coproc_channels_full (&priv->channels);
}

/* Takes the next message of @channel, and lets input in again once the
 * queues are back under their bound. */
static CoprocMessage *
take_message (CoprocMessenger *self,
              CoprocChannel   *channel)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gboolean was_held = input_held (priv);
  CoprocMessage *message;

  message = coproc_channels_take (&priv->channels, channel);
  if (message == NULL)
    return NULL;

  /* Below the bound again: let the watch read on. */
  if (was_held && !input_held (priv))
    update_watch (self);

  return message;
}

/* Buffers ----------------------------------------------------------------- */

static guint8 *
wbuf_reserve (CoprocMessengerPrivate *priv,
              gsize                   need)
{
  gsize used = priv->wbuf_end - priv->wbuf_start;

  if (priv->wbuf_size - priv->wbuf_end < need)
    {
      if (priv->wbuf_start > 0)
        {
          /* Frames are stored 8-byte aligned, as g_variant_store() needs:
           * after a partial write, keep the offsets modulo 8. */
          gsize shift = priv->wbuf_start & 7;

          memmove (priv->wbuf + shift, priv->wbuf + priv->wbuf_start, used);
          priv->wbuf_start = shift;
          priv->wbuf_end = shift + used;
        }
      if (priv->wbuf_size - priv->wbuf_end < need)
        {
          gsize size = MAX (MAX (priv->wbuf_size * 2, 64 * 1024), priv->wbuf_end + need);

          priv->wbuf = g_realloc (priv->wbuf, size);
          priv->wbuf_size = size;
        }
    }

  return priv->wbuf + priv->wbuf_end;
}

static inline gsize
wbuf_pending (CoprocMessengerPrivate *priv)
{
  return priv->wbuf_end - priv->wbuf_start;
}

/* Raw I/O ----------------------------------------------------------------- */

static void
close_out_fds (CoprocMessengerPrivate *priv)
{
  for (guint i = 0; i < priv->out_fds->len; i++)
    close (g_array_index (priv->out_fds, OutFd, i).fd);
  g_array_set_size (priv->out_fds, 0);
}

/* Hands descriptors the peer passed to the parser, until their frames
 * claim them. Any anomaly (truncation, a flood of descriptors) loses the
 * connection. */
static gboolean
take_passed_fds (CoprocMessenger *self,
                 struct msghdr   *msg)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  GError *error = NULL;
  gboolean ok = TRUE;

  for (struct cmsghdr *c = CMSG_FIRSTHDR (msg); c != NULL; c = CMSG_NXTHDR (msg, c))
    {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        {
          gsize n = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
          int fds[8];

          /* The parser keeps them even past its bound, to close them. */
          memcpy (fds, CMSG_DATA (c), MIN (n, G_N_ELEMENTS (fds)) * sizeof (int));
          if (!coproc_frame_parser_add_fds (priv->parser, fds, MIN (n, G_N_ELEMENTS (fds)),
                                            ok ? &error : NULL))
            ok = FALSE;
        }
    }

  if (ok && (msg->msg_flags & MSG_CTRUNC))
    {
      ok = FALSE;
      g_set_error_literal (&error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "The peer passed file descriptors out of protocol");
    }

  if (!ok)
    mark_failed (self, error);

  return ok;
}

static IOResult
read_some (CoprocMessenger  *self,
           GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gsize space;
  guint8 *buf = coproc_frame_parser_get_space (priv->parser, &space);
  gssize n;

  if (priv->fd >= 0)
    {
      union {
        struct cmsghdr align;
        char           buf[CMSG_SPACE (sizeof (int) * 8)];
      } control;
      struct iovec iov;
      struct msghdr msg = { 0 };

      iov.iov_base = buf;
      iov.iov_len = space;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;

      do
        n = recvmsg (priv->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      while (n < 0 && errno == EINTR);

      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            return IO_WOULD_BLOCK;

          g_set_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                       "Error reading from the peer: %s", g_strerror (errsv));
          return IO_ERROR;
        }

      if (msg.msg_controllen > 0 && !take_passed_fds (self, &msg))
        return IO_ERROR;
    }
  else
    {
      GError *local_error = NULL;

      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (priv->input),
                                                    buf, space,
                                                    NULL, &local_error);
      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_error_free (local_error);
              return IO_WOULD_BLOCK;
            }

          g_set_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                       "Error reading from the peer: %s", local_error->message);
          g_error_free (local_error);
          return IO_ERROR;
        }
    }

  if (n == 0)
    return IO_EOF;

  /* A socket read that did not fill the space left it empty: no need to
   * ask again (a read that finds nothing costs a system call). */
  priv->drained = priv->fd >= 0 && (gsize) n < space;
  coproc_frame_parser_commit (priv->parser, n);
  return IO_OK;
}

static gboolean
sigpending_has_pipe (void)
{
  sigset_t pending;

  return sigpending (&pending) == 0 && sigismember (&pending, SIGPIPE) == 1;
}

static IOResult
write_some (CoprocMessenger  *self,
            GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gssize n;

  if (priv->fd >= 0)
    {
      union {
        struct cmsghdr align;
        char           buf[CMSG_SPACE (sizeof (int))];
      } control;
      struct iovec iov;
      struct msghdr msg = { 0 };
      OutFd *next = priv->out_fds->len > 0 ? &g_array_index (priv->out_fds, OutFd, 0) : NULL;
      gsize len = wbuf_pending (priv);

      iov.iov_base = priv->wbuf + priv->wbuf_start;
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;

      /* A descriptor travels with the first byte of its frame: write up to
       * that frame, then the frame with the descriptor attached. */
      if (next != NULL && next->offset > priv->written_total)
        len = MIN (len, next->offset - priv->written_total);
      else if (next != NULL)
        {
          struct cmsghdr *c;

          if (priv->out_fds->len > 1)
            len = MIN (len, g_array_index (priv->out_fds, OutFd, 1).offset - priv->written_total);

          /* Zeroed: the kernel reads the padding after the descriptor too. */
          memset (&control, 0, sizeof control);
          msg.msg_control = control.buf;
          msg.msg_controllen = sizeof control.buf;
          c = CMSG_FIRSTHDR (&msg);
          c->cmsg_level = SOL_SOCKET;
          c->cmsg_type = SCM_RIGHTS;
          c->cmsg_len = CMSG_LEN (sizeof (int));
          memcpy (CMSG_DATA (c), &next->fd, sizeof (int));
        }
      else
        next = NULL;

      iov.iov_len = len;

      /* MSG_NOSIGNAL: a dead peer is an error, never a SIGPIPE. */
      do
        n = sendmsg (priv->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);

      if (n > 0 && msg.msg_control != NULL)
        {
          close (next->fd);
          g_array_remove_index (priv->out_fds, 0);
        }

      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            return IO_WOULD_BLOCK;

          g_set_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                       "Error writing to the peer: %s", g_strerror (errsv));
          return IO_ERROR;
        }
    }
  else
    {
      GError *local_error = NULL;
      sigset_t pipe_set;
      sigset_t old_set;
      gboolean was_pending;

      /* A pipe cannot be written with MSG_NOSIGNAL. Without touching the
       * process's signal dispositions: block SIGPIPE in this thread for the
       * write, and consume the one the write raised, if any. */
      sigemptyset (&pipe_set);
      sigaddset (&pipe_set, SIGPIPE);
      pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);
      was_pending = sigpending_has_pipe ();

      n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (priv->output),
                                                      priv->wbuf + priv->wbuf_start,
                                                      wbuf_pending (priv),
                                                      NULL, &local_error);

      if (n < 0 && !was_pending && sigpending_has_pipe ())
        {
          static const struct timespec zero = { 0, 0 };

          while (sigtimedwait (&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
        }
      pthread_sigmask (SIG_SETMASK, &old_set, NULL);
      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_error_free (local_error);
              return IO_WOULD_BLOCK;
            }

          g_set_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                       "Error writing to the peer: %s", local_error->message);
          g_error_free (local_error);
          return IO_ERROR;
        }
    }

  priv->wbuf_start += n;
  priv->written_total += n;
  if (priv->wbuf_start == priv->wbuf_end)
    {
      priv->wbuf_start = priv->wbuf_end = 0;
      if (priv->wbuf_size > WBUF_KEEP_SIZE)
        {
          g_clear_pointer (&priv->wbuf, g_free);
          priv->wbuf_size = 0;
        }
    }

  return IO_OK;
}

static gboolean
wait_pollable_cb (GObject  *stream,
                  gpointer  user_data)
{
  gboolean *fired = user_data;

  *fired = TRUE;
  return G_SOURCE_CONTINUE;
}

/* Blocks until the stream is readable (or writable, with @want_write),
 * the peer hangs up, or @cancellable is cancelled. Never touches the
 * owner's context. */
static gboolean
wait_io (CoprocMessenger  *self,
         gboolean          want_read,
         gboolean          want_write,
         GCancellable     *cancellable,
         GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  if (priv->fd >= 0)
    {
      GPollFD fds[2];
      guint n_fds = 1;
      int r;

      fds[0].fd = priv->fd;
      fds[0].events = (want_read ? G_IO_IN : 0) | G_IO_HUP | G_IO_ERR | (want_write ? G_IO_OUT : 0);
      fds[0].revents = 0;
      if (g_cancellable_make_pollfd (cancellable, &fds[1]))
        n_fds = 2;

      do
        r = g_poll (fds, n_fds, -1);
      while (r < 0 && errno == EINTR);

      if (n_fds == 2)
        g_cancellable_release_fd (cancellable);
    }
  else
    {
      g_autoptr(GMainContext) context = g_main_context_new ();
      g_autoptr(GSource) in_source = NULL;
      g_autoptr(GSource) out_source = NULL;
      gboolean fired = FALSE;

      if (want_read || !want_write)
        {
          in_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (priv->input),
                                                             cancellable);
          g_source_set_callback (in_source, G_SOURCE_FUNC (wait_pollable_cb), &fired, NULL);
          g_source_attach (in_source, context);
        }

      if (want_write)
        {
          out_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (priv->output),
                                                               cancellable);
          g_source_set_callback (out_source, G_SOURCE_FUNC (wait_pollable_cb), &fired, NULL);
          g_source_attach (out_source, context);
        }

      while (!fired)
        g_main_context_iteration (context, TRUE);

      if (in_source != NULL)
        g_source_destroy (in_source);
      if (out_source != NULL)
        g_source_destroy (out_source);
    }

  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

/* Closing ----------------------------------------------------------------- */

static gboolean
emit_closed_cb (gpointer user_data)
{
  CoprocMessenger *self = user_data;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_clear_pointer (&priv->closed_idle, g_source_unref);

  if (!priv->closed_emitted && !priv->disposed)
    {
      priv->closed_emitted = TRUE;
      g_signal_emit (self, signals[CLOSED], 0, priv->closed_signal_error);
    }

  return G_SOURCE_REMOVE;
}

/* The one path for losing the peer: records why, releases the stream, and
 * schedules ::closed on the owner's context. Pending receives fail once the
 * queue they wait on is dry. */
static void
mark_closed (CoprocMessenger *self,
             GError          *receive_error,
             GError          *signal_error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->closed)
    {
      g_clear_error (&receive_error);
      g_clear_error (&signal_error);
      return;
    }

  priv->closed = TRUE;
  priv->closed_error = receive_error;
  priv->closed_signal_error = signal_error;

  /* Unsent output can no longer leave. */
  priv->wbuf_start = priv->wbuf_end = 0;
  close_out_fds (priv);
  coproc_frame_parser_close_fds (priv->parser);

  if (priv->watch != NULL)
    {
      g_source_destroy (priv->watch);
      g_clear_pointer (&priv->watch, g_source_unref);
    }

  if (priv->stream != NULL)
    g_io_stream_close (priv->stream, NULL, NULL);

  if (!priv->disposed && !priv->closed_emitted && priv->closed_idle == NULL)
    {
      priv->closed_idle = g_idle_source_new ();
      g_source_set_static_name (priv->closed_idle, "[coproc] messenger closed");
      g_source_set_callback (priv->closed_idle, emit_closed_cb,
                             g_object_ref (self), g_object_unref);
      g_source_attach (priv->closed_idle, priv->context);
    }
}

static void
mark_failed (CoprocMessenger *self,
             GError          *error)
{
  mark_closed (self, g_error_copy (error), error);
}

static GError *
hangup_error (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  return g_error_new_literal (COPROC_ERROR, priv->hangup_code,
                              priv->hangup_message ? priv->hangup_message
                                                   : "The peer closed the connection");
}

static void
finish_eof (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (coproc_frame_parser_in_frame (priv->parser))
    {
      g_autoptr(GError) cause = hangup_error (self);

      mark_failed (self, g_error_new (COPROC_ERROR, priv->hangup_code,
                                      "%s in the middle of a message", cause->message));
    }
  else
    mark_closed (self, hangup_error (self), NULL);
}

/* Parsing ----------------------------------------------------------------- */

static gboolean
has_handler (CoprocMessenger *self,
             guint            signal_id,
             gboolean         class_handler)
{
  return class_handler || g_signal_has_handler_pending (self, signals[signal_id], 0, FALSE);
}

/* Handles one frame; returns FALSE when parsing must stop (a special is pending). */
static gboolean
handle_frame (CoprocMessenger *self,
              CoprocFrame     *frame,
              gboolean         emit)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocMessengerClass *klass = COPROC_MESSENGER_GET_CLASS (self);
  gboolean handled = FALSE;

  switch (frame->kind)
    {
    case COPROC_WIRE_KIND_NOREQUEST:
    case COPROC_WIRE_KIND_REQUEST:
    case COPROC_WIRE_KIND_REPLY:
      {
        g_autoptr(CoprocMessage) message = NULL;
        CoprocMessageKind kind = frame->kind == COPROC_WIRE_KIND_REQUEST ? COPROC_MESSAGE_KIND_REQUEST
                               : frame->kind == COPROC_WIRE_KIND_REPLY ? COPROC_MESSAGE_KIND_REPLY
                               : COPROC_MESSAGE_KIND_NOREQUEST;

        /* The message takes its own references (ref_sink of a variant that
         * is not floating); coproc_frame_clear() drops the frame's. */
        message = _coproc_message_new (kind, frame->payload, frame->channel_id,
                                       isnan (frame->priority) ? INFINITY : frame->priority);

        if (emit && has_handler (self, MESSAGE_RECEIVED, klass->message_received != NULL))
          {
            g_signal_emit (self, signals[MESSAGE_RECEIVED], 0, message, &handled);
            if (handled)
              {
                coproc_channel_count_received (coproc_channels_lookup (&priv->channels,
                                                                       message->channel_id, TRUE),
                                               message);
                return !priv->disposed;
              }
            if (priv->disposed)
              return FALSE;
          }

        klass->queue_message (self, message);
        return TRUE;
      }

    case COPROC_WIRE_KIND_ERROR:
      {
        g_autoptr(GError) remote = NULL;
        g_autoptr(GError) local_error = NULL;
        gboolean known_domain = TRUE;

        /* Only domains this process did not know yet count against the
         * bound: errors in known domains may come any number of times. */
        if (g_variant_is_of_type (frame->payload, G_VARIANT_TYPE ("(sis)")))
          {
            const char *domain;

            g_variant_get_child (frame->payload, 0, "&s", &domain);
            known_domain = g_quark_try_string (domain) != 0;
          }

        remote = coproc_wire_error_from_variant (frame->payload,
                                                 priv->new_domains < MAX_NEW_DOMAINS,
                                                 &local_error);
        if (remote == NULL)
          remote = g_steal_pointer (&local_error);
        else if (!known_domain && remote->domain != COPROC_ERROR)
          priv->new_domains++;

        if (emit && has_handler (self, ERROR_RECEIVED, klass->error_received != NULL))
          {
            g_signal_emit (self, signals[ERROR_RECEIVED], 0, remote, &handled);
            if (handled || priv->disposed)
              return !priv->disposed;
          }

        priv->pending_special = g_steal_pointer (&remote);
        return FALSE;
      }

    case COPROC_WIRE_KIND_CLOSE:
      if (emit && has_handler (self, CLOSE_REQUESTED, klass->close_requested != NULL))
        {
          g_signal_emit (self, signals[CLOSE_REQUESTED], 0, &handled);
          if (handled || priv->disposed)
            return !priv->disposed;
        }

      priv->pending_special = g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED,
                                                   "The peer requested that this side close");
      return FALSE;

    default:
      g_assert_not_reached ();
    }
}

/* Moves what has arrived into the queues, emitting signals when @emit.
 * Stops at a special message, at a would-block, or after @max_reads reads. */
static void
process_input (CoprocMessenger *self,
               gboolean         emit,
               guint            max_reads)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  guint reads = 0;
  gboolean had_special;

  g_object_ref (self);

again:
  while (!priv->closed && !priv->disposed && priv->pending_special == NULL)
    {
      CoprocFrame frame = { 0 };
      GError *error = NULL;
      IOResult r;

      switch (coproc_frame_parser_next (priv->parser, &frame, &error))
        {
        case COPROC_PARSE_FRAME:
          handle_frame (self, &frame, emit);
          coproc_frame_clear (&frame);
          continue;

        case COPROC_PARSE_DROPPED:
          priv->pending_special = error;
          continue;

        case COPROC_PARSE_FATAL:
          mark_failed (self, error);
          continue;

        case COPROC_PARSE_NEED_MORE:
        default:
          break;
        }

      if (priv->eof)
        {
          finish_eof (self);
          break;
        }

      /* Past the bound the kernel holds the peer back (see max-queued-bytes). */
      if (reads >= max_reads || input_held (priv) || (reads > 0 && priv->drained))
        break;
      reads++;

      r = read_some (self, &error);
      if (r == IO_WOULD_BLOCK)
        break;
      else if (r == IO_EOF)
        priv->eof = TRUE;
      else if (r == IO_ERROR)
        {
          /* A reset is how a crashed peer often looks: treat it as a
           * hang-up, after what was already read. */
          g_clear_error (&error);
          priv->eof = TRUE;
        }
    }

  had_special = priv->pending_special != NULL;
  complete_pending (self);

  /* A special message handed to a waiting async receive may leave frames
   * behind it in the buffer: parse them for the receives still waiting. */
  if (had_special && priv->pending_special == NULL && !g_queue_is_empty (&priv->pending) &&
      !priv->closed && !priv->disposed)
    goto again;

  g_object_unref (self);
}

/* Reads into the buffer without parsing; used while a send waits and a
 * special message holds up parsing, so the peer never blocks on us. */
static void
drain_input (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->pending_special == NULL)
    {
      process_input (self, FALSE, 1);
      return;
    }

  if (!priv->eof && !priv->closed)
    {
      IOResult r = read_some (self, NULL);

      if (r == IO_EOF || r == IO_ERROR)
        priv->eof = TRUE;
    }
}

/* Output ------------------------------------------------------------------ */

static gboolean
flush_nonblocking (CoprocMessenger  *self,
                   GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  priv->unflushed = 0;

  while (wbuf_pending (priv) > 0)
    {
      GError *local_error = NULL;
      IOResult r = write_some (self, &local_error);

      if (r == IO_WOULD_BLOCK)
        break;
      if (r == IO_ERROR)
        {
          /* The peer stopped reading, but what it wrote before is still
           * to be received: drop the output, keep the input open until
           * its hang-up is read. */
          priv->wbuf_start = priv->wbuf_end = 0;
          close_out_fds (priv);
          g_propagate_error (error, g_error_copy (local_error));
          if (priv->write_error == NULL)
            priv->write_error = local_error;
          else
            g_error_free (local_error);
          return FALSE;
        }
    }

  return TRUE;
}

/* Writes until at most @target bytes are pending, reading meanwhile. */
static gboolean
flush_until (CoprocMessenger  *self,
             gsize             target,
             GCancellable     *cancellable,
             GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  for (;;)
    {
      if (!flush_nonblocking (self, error))
        return FALSE;
      if (wbuf_pending (priv) <= target)
        break;
      if (!wait_io (self, !input_held (priv), TRUE, cancellable, error))
        return FALSE;
      drain_input (self);
      if (priv->closed)
        {
          g_propagate_error (error, g_error_copy (priv->closed_error));
          return FALSE;
        }
    }

  update_watch (self);
  return TRUE;
}

static gboolean
check_open (CoprocMessenger  *self,
            GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->closed)
    {
      g_propagate_error (error, g_error_copy (priv->closed_error));
      return FALSE;
    }

  if (priv->write_error != NULL)
    {
      g_propagate_error (error, g_error_copy (priv->write_error));
      return FALSE;
    }

  return TRUE;
}

/* Writes one frame from its parts, blocking until all of it is in the
 * kernel, and reading what the peer sends meanwhile. What was buffered
 * before goes first. */
static gboolean
send_direct (CoprocMessenger        *self,
             const CoprocWireHeader *header,
             GVariant               *channel_id,
             GVariant               *payload,
             GError                **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gsize head_len = COPROC_WIRE_HEADER_SIZE + coproc_wire_pad8 (header->channel_size);
  gsize value_len = g_variant_get_size (payload);
  gsize tail_len = coproc_wire_pad8 (header->payload_size) - value_len;
  const char *type_string = g_variant_get_type_string (payload);
  g_autofree guint8 *head = g_malloc0 (head_len);
  g_autofree guint8 *tail = g_malloc0 (tail_len);
  const guint8 *value = g_variant_get_data (payload);
  gsize total = head_len + value_len + tail_len;
  gsize sent = 0;

  if (!flush_until (self, 0, NULL, error))
    return FALSE;

  coproc_wire_write_header (head, header);
  if (channel_id != NULL)
    coproc_wire_store_variant (channel_id, head + COPROC_WIRE_HEADER_SIZE);
  /* The "v" encoding: the value, a NUL, its type string; then padding. */
  memcpy (tail + 1, type_string, strlen (type_string));

  while (sent < total)
    {
      const guint8 *parts[3] = { head, value, tail };
      gsize lens[3] = { head_len, value_len, tail_len };
      struct iovec iov[3];
      struct msghdr msg = { 0 };
      gsize skip = sent;
      gssize n;

      for (guint i = 0; i < 3; i++)
        {
          gsize off = MIN (skip, lens[i]);

          iov[msg.msg_iovlen].iov_base = (guint8 *) parts[i] + off;
          iov[msg.msg_iovlen].iov_len = lens[i] - off;
          skip -= off;
          if (lens[i] > off)
            msg.msg_iovlen++;
        }
      msg.msg_iov = iov;

      do
        n = sendmsg (priv->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);

      if (n > 0)
        {
          sent += n;
          priv->written_total += n;
          continue;
        }

      if (errno != EAGAIN && errno != EWOULDBLOCK)
        {
          int errsv = errno;

          if (priv->write_error == NULL)
            priv->write_error = g_error_new (COPROC_ERROR, COPROC_ERROR_CLOSED,
                                             "Error writing to the peer: %s", g_strerror (errsv));
          g_propagate_error (error, g_error_copy (priv->write_error));
          return FALSE;
        }

      if (!wait_io (self, !input_held (priv), TRUE, NULL, error))
        return FALSE;
      drain_input (self);
      if (!check_open (self, error))
        return FALSE;
    }

  update_watch (self);
  return TRUE;
}

static gboolean
send_frame (CoprocMessenger  *self,
            CoprocWireKind    kind,
            GVariant         *payload,
            GVariant         *channel_id,
            gdouble           priority,
            GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocWireHeader header = { 0 };
  guint64 limit;
  gsize payload_size = 0;
  gsize channel_size = 0;
  gsize frame_size;
  gboolean was_empty;
  guint8 *out;

  if (!check_open (self, error))
    return FALSE;

  /* The protocol carries type strings of at most 255 characters. */
  if ((payload != NULL &&
       strlen (g_variant_get_type_string (payload)) > COPROC_WIRE_MAX_TYPE_SIZE) ||
      (channel_id != NULL &&
       strlen (g_variant_get_type_string (channel_id)) > COPROC_WIRE_MAX_TYPE_SIZE))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "The type of a payload or channel id is longer than the "
                           "255 characters the protocol allows");
      return FALSE;
    }

  if (payload != NULL)
    payload_size = coproc_wire_variant_size (payload);
  if (channel_id != NULL)
    channel_size = coproc_wire_variant_size (channel_id);

  limit = priv->max_message_size;
  if (coproc_frame_parser_get_peer_max_message_size (priv->parser) != 0)
    limit = MIN (limit, coproc_frame_parser_get_peer_max_message_size (priv->parser));

  if ((guint64) payload_size + channel_size > limit)
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE,
                   "A message of %" G_GSIZE_FORMAT " bytes is larger than the maximum of %"
                   G_GUINT64_FORMAT " bytes", payload_size + channel_size, limit);
      return FALSE;
    }

  header.kind = kind;
  header.payload_size = payload_size;
  header.channel_size = channel_size;
  header.priority = priority;

  /* Large payloads go in a sealed memfd: one copy here, none at the peer. */
  if (priv->fd >= 0 && priv->large_threshold > 0 && payload_size >= priv->large_threshold &&
      kind != COPROC_WIRE_KIND_ERROR && kind != COPROC_WIRE_KIND_CLOSE)
    {
      int memfd = coproc_payload_fd_create (payload, payload_size);

      if (memfd >= 0)
        {
          OutFd entry = { priv->written_total + wbuf_pending (priv), memfd };

          g_array_append_val (priv->out_fds, entry);
          header.flags = COPROC_WIRE_FLAG_PAYLOAD_FD;
          header.n_fds = 1;
          payload = NULL;
        }
    }

  frame_size = coproc_wire_frame_size (&header);

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  /* A frame this large makes the send wait for the peer anyway: write it
   * straight from the payload's memory rather than copying it in. */
  if (payload != NULL && priv->fd >= 0 && frame_size >= DIRECT_WRITE_SIZE)
    return send_direct (self, &header, channel_id, payload, error);
#endif

  /* A frame that takes the buffer past the high-water mark makes this send
   * wait anyway: wait first, until the frame fits under the mark, so that
   * what is buffered need not be moved to make room for it (for a large
   * payload, that move costs as much as copying the payload in). */
  if (!(header.flags & COPROC_WIRE_FLAG_PAYLOAD_FD) && wbuf_pending (priv) > 0 &&
      wbuf_pending (priv) + frame_size > SEND_HIGH_WATER &&
      !flush_until (self, frame_size < SEND_HIGH_WATER ? SEND_HIGH_WATER - frame_size : 0,
                    NULL, error))
    return FALSE;

  was_empty = wbuf_pending (priv) == 0;
  out = wbuf_reserve (priv, frame_size);

  coproc_wire_write_header (out, &header);
  out += COPROC_WIRE_HEADER_SIZE;
  if (channel_id != NULL)
    {
      coproc_wire_store_variant (channel_id, out);
      memset (out + channel_size, 0, coproc_wire_pad8 (channel_size) - channel_size);
      out += coproc_wire_pad8 (channel_size);
    }
  if (payload != NULL)
    {
      coproc_wire_store_variant (payload, out);
      memset (out + payload_size, 0, coproc_wire_pad8 (payload_size) - payload_size);
    }

  priv->wbuf_end += frame_size;
  priv->unflushed += frame_size;

  if (was_empty || priv->unflushed >= FLUSH_BATCH_SIZE)
    {
      if (!flush_nonblocking (self, error))
        return FALSE;
    }

  if (wbuf_pending (priv) > SEND_HIGH_WATER)
    return flush_until (self, SEND_HIGH_WATER, NULL, error);

  if (was_empty && wbuf_pending (priv) > 0)
    update_watch (self);

  return TRUE;
}

static gdouble
payload_priority (GVariant *payload)
{
  const char *type_string = g_variant_get_type_string (payload);
  g_autoptr(GVariant) value = NULL;

  /* Cheap test first: G_VARIANT_TYPE() validates its string on each call. */
  if (type_string[0] != 'a' || type_string[1] != '{' || type_string[2] != 's' ||
      !g_variant_type_is_subtype_of (g_variant_get_type (payload), G_VARIANT_TYPE ("a{s*}")))
    return INFINITY;

  value = g_variant_lookup_value (payload, "priority", NULL);
  if (value == NULL)
    return INFINITY;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (value);
      g_variant_unref (value);
      value = inner;
    }

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BYTE:    return g_variant_get_byte (value);
    case G_VARIANT_CLASS_INT16:   return g_variant_get_int16 (value);
    case G_VARIANT_CLASS_UINT16:  return g_variant_get_uint16 (value);
    case G_VARIANT_CLASS_INT32:   return g_variant_get_int32 (value);
    case G_VARIANT_CLASS_UINT32:  return g_variant_get_uint32 (value);
    case G_VARIANT_CLASS_INT64:   return g_variant_get_int64 (value);
    case G_VARIANT_CLASS_UINT64:  return g_variant_get_uint64 (value);
    case G_VARIANT_CLASS_DOUBLE:  return g_variant_get_double (value);
    default:                      return INFINITY;
    }
}

static gboolean
send_data (CoprocMessenger    *self,
           CoprocMessageKind   kind,
           GVariant           *payload,
           GVariant           *channel_id,
           gboolean            explicit_priority,
           gdouble             priority,
           GError            **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocWireKind wire_kind;

  /* What goes on the wire must be what the peer accepts: the normal form
   * (values built by GVariant are; ones loaded from untrusted bytes may
   * not be). */
  payload = coproc_wire_take_normal (g_variant_ref_sink (payload));
  if (channel_id != NULL)
    channel_id = coproc_wire_take_normal (g_variant_ref_sink (channel_id));

  if (!explicit_priority)
    priority = payload_priority (payload);

  wire_kind = kind == COPROC_MESSAGE_KIND_REQUEST ? COPROC_WIRE_KIND_REQUEST
            : kind == COPROC_MESSAGE_KIND_REPLY ? COPROC_WIRE_KIND_REPLY
            : COPROC_WIRE_KIND_NOREQUEST;

  if (!send_frame (self, wire_kind, payload, channel_id, priority, error))
    {
      g_variant_unref (payload);
      g_clear_pointer (&channel_id, g_variant_unref);
      return FALSE;
    }

  coproc_channel_count_sent (coproc_channels_lookup (&priv->channels, channel_id, TRUE), kind);

  g_variant_unref (payload);
  g_clear_pointer (&channel_id, g_variant_unref);
  return TRUE;
}

/* The watch source -------------------------------------------------------- */

static gboolean
watch_child_cb (gpointer user_data)
{
  /* The parent dispatches whenever a child fires. */
  return G_SOURCE_CONTINUE;
}

static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  WatchSource *ws = (WatchSource *) source;
  CoprocMessenger *self = ws->messenger;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  GIOCondition cond = G_IO_IN | G_IO_OUT;
  gboolean keep;

  if (ws->tag != NULL)
    cond = g_source_query_unix_fd (source, ws->tag);

  g_object_ref (self);

  if ((cond & G_IO_OUT) && wbuf_pending (priv) > 0)
    flush_nonblocking (self, NULL);

  if (!priv->closed && (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
    process_input (self, TRUE, DISPATCH_MAX_READS);

  keep = !priv->closed && !priv->disposed;
  if (keep)
    update_watch (self);

  g_object_unref (self);

  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
watch_finalize (GSource *source)
{
  WatchSource *ws = (WatchSource *) source;

  g_clear_pointer (&ws->in_child, g_source_unref);
  g_clear_pointer (&ws->out_child, g_source_unref);
}

static GSourceFuncs watch_funcs = {
  .dispatch = watch_dispatch,
  .finalize = watch_finalize,
};

static void
set_child (GSource  *parent,
           GSource **child,
           GSource  *(*create) (CoprocMessengerPrivate *),
           CoprocMessengerPrivate *priv,
           gboolean  want)
{
  if (want && *child == NULL)
    {
      *child = create (priv);
      g_source_set_callback (*child, watch_child_cb, NULL, NULL);
      g_source_add_child_source (parent, *child);
    }
  else if (!want && *child != NULL)
    {
      g_source_remove_child_source (parent, *child);
      g_clear_pointer (child, g_source_unref);
    }
}

static GSource *
create_in_child (CoprocMessengerPrivate *priv)
{
  return g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (priv->input), NULL);
}

static GSource *
create_out_child (CoprocMessengerPrivate *priv)
{
  return g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (priv->output), NULL);
}

/* Polls for input unless a special message waits to be surfaced (then the
 * kernel holds the peer back), and for output while some is buffered. */
static void
update_watch (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  WatchSource *ws = (WatchSource *) priv->watch;
  gboolean want_in;
  gboolean want_out;

  if (ws == NULL || priv->closed)
    return;

  want_in = (priv->pending_special == NULL || !g_queue_is_empty (&priv->pending)) &&
            !input_held (priv);
  want_out = wbuf_pending (priv) > 0;

  if (priv->fd >= 0)
    {
      GIOCondition events = (want_in ? G_IO_IN : 0) | (want_out ? G_IO_OUT : 0) | G_IO_HUP | G_IO_ERR;

      if (!want_in)
        events &= ~(G_IO_HUP | G_IO_ERR);

      /* poll() reports a hang-up even on a descriptor polled for nothing:
       * with nothing to poll for (a special message waits to be surfaced
       * and the peer hung up), keeping the descriptor would make the source
       * dispatch in a busy loop. Drop it until there is something to do. */
      if (events == 0)
        {
          if (ws->tag != NULL)
            g_source_remove_unix_fd (priv->watch, ws->tag);
          ws->tag = NULL;
        }
      else if (ws->tag == NULL)
        ws->tag = g_source_add_unix_fd (priv->watch, priv->fd, events);
      else
        g_source_modify_unix_fd (priv->watch, ws->tag, events);
    }
  else
    {
      set_child (priv->watch, &ws->in_child, create_in_child, priv, want_in);
      set_child (priv->watch, &ws->out_child, create_out_child, priv, want_out);
    }
}

static void
start_watch (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  WatchSource *ws;

  priv->watch = g_source_new (&watch_funcs, sizeof (WatchSource));
  g_source_set_static_name (priv->watch, "[coproc] messenger watch");
  ws = (WatchSource *) priv->watch;
  ws->messenger = self;

  if (priv->fd >= 0)
    ws->tag = g_source_add_unix_fd (priv->watch, priv->fd, G_IO_IN | G_IO_HUP | G_IO_ERR);

  update_watch (self);
  g_source_attach (priv->watch, priv->context);
}

/* Async receives ---------------------------------------------------------- */

static void
pending_receive_free (PendingReceive *p)
{
  if (p->cancel_source != NULL)
    {
      g_source_destroy (p->cancel_source);
      g_source_unref (p->cancel_source);
    }
  g_clear_object (&p->task);
  g_free (p);
}

static void
pending_return_message (PendingReceive *p,
                        CoprocMessage  *message)
{
  if (p->want_message)
    g_task_return_pointer (p->task, message, g_object_unref);
  else
    {
      GVariant *payload = g_variant_ref (message->payload);

      g_object_unref (message);
      g_task_return_pointer (p->task, payload, (GDestroyNotify) g_variant_unref);
    }
}

/* Resolves pending receives in call order. Returning a task can run its
 * callback right here, which may add receives or dispose us: so each step
 * unlinks its entry first and starts over from the head. */
static void
complete_pending (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gboolean progress = TRUE;

  if (g_queue_is_empty (&priv->pending))
    return;

  g_object_ref (self);

  while (progress && !priv->disposed)
    {
      progress = FALSE;

      for (GList *l = priv->pending.head; l != NULL; l = l->next)
        {
          PendingReceive *p = l->data;
          CoprocMessage *message;

          if (priv->pending_special != NULL)
            {
              GError *error = g_steal_pointer (&priv->pending_special);

              g_queue_delete_link (&priv->pending, l);
              g_task_return_error (p->task, error);
              pending_receive_free (p);
              progress = TRUE;
              break;
            }

          message = take_message (self, p->channel);
          if (message != NULL)
            {
              g_queue_delete_link (&priv->pending, l);
              pending_return_message (p, message);
              pending_receive_free (p);
              progress = TRUE;
              break;
            }

          if (priv->closed || input_held (priv))
            {
              g_queue_delete_link (&priv->pending, l);
              if (priv->closed)
                g_task_return_error (p->task, g_error_copy (priv->closed_error));
              else
                g_task_return_new_error (p->task, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL,
                                         "Cannot wait for a message: the queues hold %"
                                         G_GUINT64_FORMAT " bytes of messages no one took",
                                         priv->channels.queued_bytes);
              pending_receive_free (p);
              progress = TRUE;
              break;
            }
        }
    }

  g_object_unref (self);
}

static gboolean
receive_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  PendingReceive *p = user_data;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (p->self);
  GList *link = g_queue_find (&priv->pending, p);

  if (link != NULL)
    {
      g_queue_delete_link (&priv->pending, link);
      g_task_return_new_error (p->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The receive was cancelled");
      g_clear_pointer (&p->cancel_source, g_source_unref);
      pending_receive_free (p);
    }

  return G_SOURCE_REMOVE;
}

static void
receive_async_common (CoprocMessenger     *self,
                      GVariant            *channel_id,
                      gboolean             want_message,
                      gpointer             source_tag,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GVariant) channel = NULL;
  PendingReceive *p;

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, "[coproc] receive");
  /* A message taken for this call is delivered even if the cancellable
   * fires afterwards: cancelling never loses a message. */
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  /* A disposed messenger completes nothing that waits: fail at once. */
  if (priv->disposed)
    {
      g_task_return_error (task, g_error_copy (priv->closed_error));
      return;
    }

  p = g_new0 (PendingReceive, 1);
  p->self = self;
  p->task = g_steal_pointer (&task);
  p->channel = coproc_channels_lookup (&priv->channels, channel, TRUE);
  p->want_message = !!want_message;

  if (cancellable != NULL)
    {
      p->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (p->cancel_source, "[coproc] receive cancelled");
      g_source_set_callback (p->cancel_source, G_SOURCE_FUNC (receive_cancelled_cb), p, NULL);
      g_source_attach (p->cancel_source, priv->context);
    }

  g_queue_push_tail (&priv->pending, p);

  if (!priv->closed)
    flush_nonblocking (self, NULL);
  if (!priv->closed)
    process_input (self, FALSE, RECEIVE_MAX_READS);
  else
    complete_pending (self);

  update_watch (self);
}

/* Receive helpers --------------------------------------------------------- */

/* Whether a receive that finds nothing queued may wait for input before
 * reading: nothing is buffered, pending or to be flushed, so a read now
 * could only find what waiting would also reveal. Saves a system call. */
static gboolean
can_wait_first (CoprocMessengerPrivate *priv)
{
  return priv->fd >= 0 && coproc_frame_parser_is_empty (priv->parser) &&
         priv->pending_special == NULL &&
         !priv->closed && !priv->eof && wbuf_pending (priv) == 0 && !input_held (priv);
}

/* What every receive call does first: push out pending output and move
 * whatever has arrived into the queues. */
static void
prepare_receive (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (!priv->closed && wbuf_pending (priv) > 0)
    flush_nonblocking (self, NULL);
  if (!priv->closed)
    process_input (self, FALSE, RECEIVE_MAX_READS);
}

static gboolean
take_special (CoprocMessenger  *self,
              GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->pending_special == NULL)
    return FALSE;

  g_propagate_error (error, g_steal_pointer (&priv->pending_special));
  update_watch (self);
  return TRUE;
}

/* GObject ----------------------------------------------------------------- */

static void
coproc_messenger_real_queue_message (CoprocMessenger *self,
                                     CoprocMessage   *message)
{
  coproc_messenger_enqueue (self, message, message->priority);
}

static void
fail_all_pending (CoprocMessenger *self,
                  const GError    *error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  PendingReceive *p;

  while ((p = g_queue_pop_head (&priv->pending)) != NULL)
    {
      g_task_return_error (p->task, g_error_copy (error));
      pending_receive_free (p);
    }
}

static void
coproc_messenger_dispose (GObject *object)
{
  CoprocMessenger *self = (CoprocMessenger *) object;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (!priv->disposed)
    {
      g_autoptr(GError) error = g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSED,
                                                     "The messenger was disposed");

      /* Last chance for buffered output; never block here. */
      if (!priv->closed && wbuf_pending (priv) > 0)
        flush_nonblocking (self, NULL);

      priv->disposed = TRUE;
      mark_closed (self, g_error_copy (error), NULL);
      fail_all_pending (self, error);
    }

  if (priv->closed_idle != NULL)
    {
      g_source_destroy (priv->closed_idle);
      g_clear_pointer (&priv->closed_idle, g_source_unref);
    }

  G_OBJECT_CLASS (coproc_messenger_parent_class)->dispose (object);
}

static void
coproc_messenger_finalize (GObject *object)
{
  CoprocMessenger *self = (CoprocMessenger *) object;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_assert (g_queue_is_empty (&priv->pending));

  coproc_channels_clear (&priv->channels);
  g_clear_pointer (&priv->parser, coproc_frame_parser_free);
  g_clear_pointer (&priv->wbuf, g_free);
  close_out_fds (priv);
  g_clear_pointer (&priv->out_fds, g_array_unref);
  g_clear_error (&priv->pending_special);
  g_clear_error (&priv->closed_error);
  g_clear_error (&priv->closed_signal_error);
  g_clear_error (&priv->write_error);
  g_clear_pointer (&priv->hangup_message, g_free);
  g_clear_object (&priv->stream);
  g_clear_pointer (&priv->context, g_main_context_unref);

  G_OBJECT_CLASS (coproc_messenger_parent_class)->finalize (object);
}

static void
coproc_messenger_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  CoprocMessenger *self = COPROC_MESSENGER (object);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STREAM:
      g_value_set_object (value, priv->stream);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, priv->max_message_size);
      break;

    case PROP_MAX_QUEUED_BYTES:
      g_value_set_uint64 (value, priv->channels.max_queued_bytes);
      break;

    case PROP_LARGE_MESSAGE_THRESHOLD:
      g_value_set_uint (value, priv->large_threshold);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_messenger_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  CoprocMessenger *self = COPROC_MESSENGER (object);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STREAM:
      priv->stream = g_value_dup_object (value);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      coproc_messenger_set_max_message_size (self, g_value_get_uint (value));
      break;

    case PROP_MAX_QUEUED_BYTES:
      coproc_messenger_set_max_queued_bytes (self, g_value_get_uint64 (value));
      break;

    case PROP_LARGE_MESSAGE_THRESHOLD:
      coproc_messenger_set_large_message_threshold (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_messenger_class_init (CoprocMessengerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = coproc_messenger_dispose;
  object_class->finalize = coproc_messenger_finalize;
  object_class->get_property = coproc_messenger_get_property;
  object_class->set_property = coproc_messenger_set_property;

  klass->queue_message = coproc_messenger_real_queue_message;

  /**
   * CoprocMessenger:stream: (getter get_stream)
   *
   * The stream the messenger owns: one end of the pipe. The messenger
   * closes it when the peer hangs up, on [method@Coproc.Messenger.close],
   * and when it is disposed.
   *
   * Since: 1.0
   */
  properties[PROP_STREAM] =
    g_param_spec_object ("stream", NULL, NULL,
                         G_TYPE_IO_STREAM,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:max-message-size: (getter get_max_message_size) (setter set_max_message_size)
   *
   * The largest message, in bytes of its encoded channel and payload, that
   * this messenger sends or accepts. A larger incoming message is discarded
   * as it streams past, without being held in memory, and the next receive
   * call fails with %COPROC_ERROR_MESSAGE_TOO_LARGE; the messages around it
   * are kept. The peer learns this limit in the handshake and refuses to
   * send larger messages.
   *
   * The default, 128 MiB, is GDBus's own message limit: large enough for
   * bulk data, small enough that a hostile peer cannot make the host
   * allocate without bound.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint ("max-message-size", NULL, NULL,
                       64, G_MAXUINT32 - 64, COPROC_DEFAULT_MAX_MESSAGE_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:max-queued-bytes: (getter get_max_queued_bytes) (setter set_max_queued_bytes)
   *
   * A bound on the memory held by messages that arrived and were not taken
   * yet (their data plus a small per-message overhead). Once the queues hold
   * this much, the messenger stops reading from the stream: the peer's sends
   * then wait in the kernel (backpressure) until messages are taken. A
   * flooding or hostile peer cannot make the host allocate without bound.
   *
   * A call that would have to read past the bound to finish — a blocking or
   * async receive on a channel whose queue is empty — fails with
   * %COPROC_ERROR_QUEUE_FULL instead of waiting forever. Calls that only
   * look, like [method@Coproc.Messenger.available], do not fail.
   *
   * The default is 256 MiB, twice the default
   * [property@Coproc.Messenger:max-message-size].
   *
   * Since: 1.0
   */
  properties[PROP_MAX_QUEUED_BYTES] =
    g_param_spec_uint64 ("max-queued-bytes", NULL, NULL,
                         1, G_MAXUINT64, DEFAULT_MAX_QUEUED_BYTES,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:large-message-threshold: (getter get_large_message_threshold) (setter set_large_message_threshold)
   *
   * Payloads of at least this many bytes (encoded) do not travel through
   * the socket: the sender writes the payload once into a memory file
   * (`memfd`), seals it so that it can no longer change, and passes its
   * descriptor with the message (`SCM_RIGHTS`); the receiver maps it
   * read-only and hands out a `GVariant` over the mapping, with no copy.
   * This is transparent to both sides' code: any payload type qualifies.
   *
   * It applies to socket streams (as made by
   * [func@Coproc.Messenger.new_pair] and [class@Coproc.WorkerResource]);
   * 0 turns it off. The receiver accepts only sealed memory files. The
   * default is 1 MiB, above which mapping beats copying through the kernel.
   *
   * Since: 1.0
   */
  properties[PROP_LARGE_MESSAGE_THRESHOLD] =
    g_param_spec_uint ("large-message-threshold", NULL, NULL,
                       0, G_MAXUINT32, DEFAULT_LARGE_MESSAGE_THRESHOLD,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CoprocMessenger::message-received:
   * @self: the messenger
   * @message: the message that arrived
   *
   * Emitted on the messenger's context when a data message arrives while
   * that context runs. A handler that returns `TRUE` consumes the message:
   * it counts as received (and, for a reply, as a reply received) and is not
   * queued. Otherwise it is queued for the receive calls.
   *
   * Returns: `TRUE` to consume the message
   *
   * Since: 1.0
   */
  signals[MESSAGE_RECEIVED] =
    g_signal_new ("message-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, message_received),
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 1, COPROC_TYPE_MESSAGE);

  /**
   * CoprocMessenger::error-received:
   * @self: the messenger
   * @error: the error the peer sent
   *
   * Emitted on the messenger's context when the peer sent an error with
   * [method@Coproc.Messenger.send_error]. A handler that returns `TRUE`
   * consumes it; otherwise the next receive call fails with it.
   *
   * Returns: `TRUE` to consume the error
   *
   * Since: 1.0
   */
  signals[ERROR_RECEIVED] =
    g_signal_new ("error-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, error_received),
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 1, G_TYPE_ERROR);

  /**
   * CoprocMessenger::close-requested:
   * @self: the messenger
   *
   * Emitted on the messenger's context when the peer sent a close request.
   * A handler that returns `TRUE` consumes it; otherwise the next receive
   * call fails with %COPROC_ERROR_CLOSE_REQUESTED.
   *
   * Returns: `TRUE` to consume the close request
   *
   * Since: 1.0
   */
  signals[CLOSE_REQUESTED] =
    g_signal_new ("close-requested",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, close_requested),
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 0);

  /**
   * CoprocMessenger::closed:
   * @self: the messenger
   * @error: (nullable): why the connection ended, or `NULL` when the peer
   *   hung up cleanly
   *
   * Emitted once, on the messenger's context, when the peer hung up or the
   * stream broke. Messages that arrived before remain queued.
   *
   * Since: 1.0
   */
  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, closed),
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
coproc_messenger_init (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  priv->fd = -1;
  priv->max_message_size = COPROC_DEFAULT_MAX_MESSAGE_SIZE;
  priv->large_threshold = DEFAULT_LARGE_MESSAGE_THRESHOLD;
  priv->parser = coproc_frame_parser_new (priv->max_message_size);
  priv->out_fds = g_array_new (FALSE, FALSE, sizeof (OutFd));
  priv->hangup_code = COPROC_ERROR_CLOSED;
  coproc_channels_init (&priv->channels, DEFAULT_MAX_QUEUED_BYTES);
  g_queue_init (&priv->pending);
}

static gboolean
coproc_messenger_initable_init (GInitable     *initable,
                                GCancellable  *cancellable,
                                GError       **error)
{
  CoprocMessenger *self = COPROC_MESSENGER (initable);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  guint8 *out;

  if (priv->stream == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A messenger needs a stream");
      return FALSE;
    }

  if (priv->context != NULL)
    return TRUE;

  priv->input = g_io_stream_get_input_stream (priv->stream);
  priv->output = g_io_stream_get_output_stream (priv->stream);

  if (G_IS_SOCKET_CONNECTION (priv->stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (priv->stream));

      priv->fd = g_socket_get_fd (socket);
      g_socket_set_blocking (socket, FALSE);
    }
  else if (G_IS_FILE_DESCRIPTOR_BASED (priv->input) && G_IS_FILE_DESCRIPTOR_BASED (priv->output) &&
           g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (priv->input)) ==
           g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (priv->output)) &&
           fd_is_stream_socket (g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (priv->input))))
    {
      /* Unix streams over one socket, as new_pair() and workers make them. */
      priv->fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (priv->input));
    }
  else if (!G_IS_POLLABLE_INPUT_STREAM (priv->input) ||
           !g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (priv->input)) ||
           !G_IS_POLLABLE_OUTPUT_STREAM (priv->output) ||
           !g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (priv->output)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "A messenger needs a socket connection or a stream "
                           "whose input and output can be polled");
      return FALSE;
    }

  priv->context = g_main_context_ref_thread_default ();

  out = wbuf_reserve (priv, COPROC_WIRE_HANDSHAKE_SIZE);
  coproc_wire_write_handshake (out, priv->max_message_size);
  priv->wbuf_end += COPROC_WIRE_HANDSHAKE_SIZE;

  if (!flush_nonblocking (self, error))
    return FALSE;

  start_watch (self);
  return TRUE;
}

static void
coproc_messenger_initable_iface_init (GInitableIface *iface)
{
  iface->init = coproc_messenger_initable_init;
}

/* Internal API ------------------------------------------------------------ */

gboolean
_coproc_messenger_input_held (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  return input_held (priv);
}

void
_coproc_messenger_set_hangup_error (CoprocMessenger *self,
                                    CoprocError      code,
                                    const char      *message)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  priv->hangup_code = code;
  g_free (priv->hangup_message);
  priv->hangup_message = g_strdup (message);
}

/* Constructors ------------------------------------------------------------ */

static gboolean
fd_is_stream_socket (int fd)
{
  struct stat st;
  int type = 0;
  socklen_t len = sizeof type;

  return fstat (fd, &st) == 0 && S_ISSOCK (st.st_mode) &&
         getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

static gboolean
check_messenger_type (GType messenger_type)
{
  return g_type_is_a (messenger_type, COPROC_TYPE_MESSENGER) &&
         !G_TYPE_IS_ABSTRACT (messenger_type);
}

/* Takes @fd, a connected Unix stream socket. The stream wraps it in Unix
 * streams rather than a GSocket: creating a GSocket makes GLib ignore
 * SIGPIPE for the whole process, and coproc leaves signal dispositions to
 * the application (its writes use MSG_NOSIGNAL). */
CoprocMessenger *
_coproc_messenger_new_for_socket_fd (GType    messenger_type,
                                     int      fd,
                                     GError **error)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (fd, TRUE);
  g_autoptr(GOutputStream) output = g_unix_output_stream_new (fd, FALSE);
  g_autoptr(GIOStream) stream = g_simple_io_stream_new (input, output);

  return coproc_messenger_new_for_stream (messenger_type, stream, error);
}

int
_coproc_messenger_get_fd (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  return priv->closed ? -1 : priv->fd;
}

/**
 * coproc_messenger_new_pair:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @process: (out) (transfer full) (optional): the messenger for the worker
 *   (process) end
 * @resource: (out) (transfer full) (optional): the messenger for the host
 *   (resource) end
 * @error: return location for a `GError`
 *
 * Creates two connected messengers in this process, over a fresh
 * `socketpair()`. This is the original library's `new_pair()`, which returns
 * `(process, resource)`.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_new_pair (GType             messenger_type,
                           CoprocMessenger **process,
                           CoprocMessenger **resource,
                           GError          **error)
{
  g_autoptr(CoprocMessenger) p = NULL;
  g_autoptr(CoprocMessenger) r = NULL;
  int fds[2];

  g_return_val_if_fail (check_messenger_type (messenger_type), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Could not create a socket pair: %s", g_strerror (errsv));
      return FALSE;
    }

  p = _coproc_messenger_new_for_socket_fd (messenger_type, fds[0], error);
  if (p == NULL)
    {
      close (fds[1]);
      return FALSE;
    }

  r = _coproc_messenger_new_for_socket_fd (messenger_type, fds[1], error);
  if (r == NULL)
    return FALSE;

  if (process != NULL)
    *process = g_steal_pointer (&p);
  if (resource != NULL)
    *resource = g_steal_pointer (&r);

  return TRUE;
}

/**
 * coproc_messenger_new_for_stream:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @stream: the stream to own: a `GSocketConnection`, or any `GIOStream`
 *   whose input and output streams are pollable
 * @error: return location for a `GError`
 *
 * Creates a messenger over @stream, which it owns from now on. The peer at
 * the other end must be a coproc messenger too (see [the wire
 * protocol](protocol.html)).
 *
 * Returns: (transfer full) (type Coproc.Messenger): the new messenger, or
 *   `NULL` with @error set
 *
 * Since: 1.0
 */
CoprocMessenger *
coproc_messenger_new_for_stream (GType       messenger_type,
                                 GIOStream  *stream,
                                 GError    **error)
{
  g_return_val_if_fail (check_messenger_type (messenger_type), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (messenger_type, NULL, error, "stream", stream, NULL);
}

/**
 * coproc_messenger_new_for_host:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @error: return location for a `GError`
 *
 * In a worker, connects to the host that started this process. The host
 * passes one end of a socket pair and names its file descriptor in the
 * `COPROC_FD` environment variable (see [the environment
 * contract](workers.html#the-environment-contract)); this checks that it
 * really is a Unix stream socket, marks it close-on-exec so that the
 * worker's own children do not inherit it, and removes the variable.
 *
 * Fails with %G_IO_ERROR_NOT_FOUND when this process was not started by a
 * coproc host, and %G_IO_ERROR_INVALID_ARGUMENT when the descriptor is not
 * a usable socket.
 *
 * Returns: (transfer full) (type Coproc.Messenger): the messenger, or `NULL`
 *   with @error set
 *
 * Since: 1.0
 */
CoprocMessenger *
coproc_messenger_new_for_host (GType    messenger_type,
                               GError **error)
{
  const char *value;
  guint64 fd;
  struct stat st;
  int optval = 0;
  socklen_t optlen = sizeof optval;
  int flags;

  g_return_val_if_fail (check_messenger_type (messenger_type), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  value = g_getenv (COPROC_ENV_FD);
  if (value == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "This process was not started by a coproc host "
                           "(" COPROC_ENV_FD " is not set)");
      return NULL;
    }

  if (!g_ascii_string_to_unsigned (value, 10, 3, G_MAXINT, &fd, NULL))
    goto invalid;

  flags = fcntl ((int) fd, F_GETFD);
  if (flags < 0 || fstat ((int) fd, &st) != 0 || !S_ISSOCK (st.st_mode))
    goto invalid;

  if (getsockopt ((int) fd, SOL_SOCKET, SO_DOMAIN, &optval, &optlen) != 0 || optval != AF_UNIX)
    goto invalid;
  optlen = sizeof optval;
  if (getsockopt ((int) fd, SOL_SOCKET, SO_TYPE, &optval, &optlen) != 0 || optval != SOCK_STREAM)
    goto invalid;

  fcntl ((int) fd, F_SETFD, flags | FD_CLOEXEC);
  g_unsetenv (COPROC_ENV_FD);

  return _coproc_messenger_new_for_socket_fd (messenger_type, (int) fd, error);

invalid:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               COPROC_ENV_FD "=%s does not name a Unix stream socket from a coproc host",
               value);
  return NULL;
}

/* Properties -------------------------------------------------------------- */

/**
 * coproc_messenger_get_stream:
 * @self: a messenger
 *
 * Gets the stream the messenger owns.
 *
 * Returns: (transfer none): the stream
 *
 * Since: 1.0
 */
GIOStream *
coproc_messenger_get_stream (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);

  return priv->stream;
}

/**
 * coproc_messenger_get_max_message_size:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:max-message-size].
 *
 * Returns: the largest message size, in bytes
 *
 * Since: 1.0
 */
guint
coproc_messenger_get_max_message_size (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->max_message_size;
}

/**
 * coproc_messenger_set_max_message_size:
 * @self: a messenger
 * @max_message_size: the largest message size, in bytes
 *
 * Sets [property@Coproc.Messenger:max-message-size]. Set it at
 * construction to have the peer learn it in the handshake.
 *
 * Since: 1.0
 */
void
coproc_messenger_set_max_message_size (CoprocMessenger *self,
                                       guint            max_message_size)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (max_message_size >= 64);

  if (priv->max_message_size == max_message_size)
    return;

  priv->max_message_size = max_message_size;
  coproc_frame_parser_set_max_message_size (priv->parser, max_message_size);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * coproc_messenger_get_max_queued_bytes:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:max-queued-bytes].
 *
 * Returns: the bound, in bytes
 *
 * Since: 1.0
 */
guint64
coproc_messenger_get_max_queued_bytes (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->channels.max_queued_bytes;
}

/**
 * coproc_messenger_set_max_queued_bytes:
 * @self: a messenger
 * @max_queued_bytes: the bound, in bytes
 *
 * Sets [property@Coproc.Messenger:max-queued-bytes].
 *
 * Since: 1.0
 */
void
coproc_messenger_set_max_queued_bytes (CoprocMessenger *self,
                                       guint64          max_queued_bytes)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (max_queued_bytes > 0);

  if (priv->channels.max_queued_bytes == max_queued_bytes)
    return;

  priv->channels.max_queued_bytes = max_queued_bytes;
  update_watch (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_QUEUED_BYTES]);
}

/**
 * coproc_messenger_get_large_message_threshold:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:large-message-threshold].
 *
 * Returns: the threshold, in bytes; 0 when payloads never go in a memfd
 *
 * Since: 1.0
 */
guint
coproc_messenger_get_large_message_threshold (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->large_threshold;
}

/**
 * coproc_messenger_set_large_message_threshold:
 * @self: a messenger
 * @threshold: the threshold in bytes, or 0 to always send payloads inline
 *
 * Sets [property@Coproc.Messenger:large-message-threshold].
 *
 * Since: 1.0
 */
void
coproc_messenger_set_large_message_threshold (CoprocMessenger *self,
                                              guint            threshold)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));

  if (priv->large_threshold == threshold)
    return;

  priv->large_threshold = threshold;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LARGE_MESSAGE_THRESHOLD]);
}

/**
 * coproc_messenger_queued_bytes:
 * @self: a messenger
 *
 * Estimates the memory held by queued messages, as counted against
 * [property@Coproc.Messenger:max-queued-bytes].
 *
 * Returns: the estimate, in bytes
 *
 * Since: 1.0
 */
guint64
coproc_messenger_queued_bytes (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->channels.queued_bytes;
}

/**
 * coproc_messenger_is_closed:
 * @self: a messenger
 *
 * Whether the connection has ended: the peer hung up, the stream broke, or
 * [method@Coproc.Messenger.close] was called. Messages that arrived before
 * can still be received.
 *
 * Returns: `TRUE` once closed
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_is_closed (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), TRUE);

  return priv->closed;
}

/* Sending ----------------------------------------------------------------- */

/**
 * coproc_messenger_send_norequest:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a plain message: no reply is expected. Its priority is the
 * payload's numeric `"priority"` entry when the payload is a dictionary
 * (`a{sv}` or `a{s*}`), `+inf` otherwise.
 *
 * Returns: `TRUE` on success; `FALSE` with %COPROC_ERROR_CLOSED when the
 *   pipe is broken, or %COPROC_ERROR_MESSAGE_TOO_LARGE
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_norequest (CoprocMessenger  *self,
                                 GVariant         *payload,
                                 GVariant         *channel_id,
                                 GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_data (self, COPROC_MESSAGE_KIND_NOREQUEST, payload, channel_id, FALSE, 0, error);
}

/**
 * coproc_messenger_send_request:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a request: the count of requests sent on @channel_id goes up by
 * one, and [method@Coproc.Messenger.remaining] with it until the peer's
 * reply is received.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_request (CoprocMessenger  *self,
                               GVariant         *payload,
                               GVariant         *channel_id,
                               GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_data (self, COPROC_MESSAGE_KIND_REQUEST, payload, channel_id, FALSE, 0, error);
}

/**
 * coproc_messenger_send_request_multiple:
 * @self: a messenger
 * @payloads: (array length=n_payloads): the payloads; floating references
 *   are sunk
 * @n_payloads: the number of payloads
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @error: return location for a `GError`
 *
 * Sends one request per payload, in order, on the same channel.
 *
 * Returns: `TRUE` on success; on failure, the requests before the failing
 *   one were sent
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_request_multiple (CoprocMessenger  *self,
                                        GVariant * const *payloads,
                                        guint             n_payloads,
                                        GVariant         *channel_id,
                                        GError          **error)
{
  g_autoptr(GVariant) channel = NULL;
  guint i;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payloads != NULL || n_payloads == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  for (i = 0; i < n_payloads; i++)
    {
      if (!send_data (self, COPROC_MESSAGE_KIND_REQUEST, payloads[i], channel, FALSE, 0, error))
        {
          /* Sink the payloads we will not send, as if sent. */
          for (i = i + 1; i < n_payloads; i++)
            g_variant_unref (g_variant_ref_sink (payloads[i]));
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * coproc_messenger_send_reply:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a reply: when the peer takes it, its count of replies received on
 * @channel_id goes up by one.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_reply (CoprocMessenger  *self,
                             GVariant         *payload,
                             GVariant         *channel_id,
                             GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_data (self, COPROC_MESSAGE_KIND_REPLY, payload, channel_id, FALSE, 0, error);
}

/**
 * coproc_messenger_send_with_priority:
 * @self: a messenger
 * @kind: plain message, request or reply
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @priority: the priority; lower is more important
 * @error: return location for a `GError`
 *
 * Sends a data message with an explicit priority, which takes precedence
 * over a `"priority"` entry in the payload.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_with_priority (CoprocMessenger    *self,
                                     CoprocMessageKind   kind,
                                     GVariant           *payload,
                                     GVariant           *channel_id,
                                     gdouble             priority,
                                     GError            **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (kind <= COPROC_MESSAGE_KIND_REPLY, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_data (self, kind, payload, channel_id, TRUE, priority, error);
}

/**
 * coproc_messenger_send_error:
 * @self: a messenger
 * @remote_error: the error to send
 * @error: return location for a `GError`
 *
 * Sends an error. It bypasses channels and queues: the peer's next receive
 * call fails with an error of the same domain, code and message (or the
 * peer's [signal@Coproc.Messenger::error-received] handlers consume it).
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_error (CoprocMessenger  *self,
                             const GError     *remote_error,
                             GError          **error)
{
  g_autoptr(GVariant) body = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (remote_error != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  body = g_variant_ref_sink (coproc_wire_error_to_variant (remote_error));
  return send_frame (self, COPROC_WIRE_KIND_ERROR, body, NULL, -INFINITY, error);
}

/**
 * coproc_messenger_send_close_request:
 * @self: a messenger
 * @error: return location for a `GError`
 *
 * Asks the peer to close. It bypasses channels and queues: the peer's next
 * receive call fails with %COPROC_ERROR_CLOSE_REQUESTED (or the peer's
 * [signal@Coproc.Messenger::close-requested] handlers consume it).
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_close_request (CoprocMessenger  *self,
                                     GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return send_frame (self, COPROC_WIRE_KIND_CLOSE, NULL, NULL, -INFINITY, error);
}

/**
 * coproc_messenger_flush:
 * @self: a messenger
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Blocks until every buffered outgoing frame is in the kernel. Sends only
 * buffer when the peer lags; a worker that is about to exit calls this so
 * that its last messages leave. While it waits it keeps reading what the
 * peer sends into the queues.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_flush (CoprocMessenger  *self,
                        GCancellable     *cancellable,
                        GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_open (self, error))
    return FALSE;

  return flush_until (self, 0, cancellable, error);
}

/**
 * coproc_messenger_close:
 * @self: a messenger
 * @error: return location for a `GError`
 *
 * Flushes buffered output and closes the stream; the peer sees a hang-up.
 * Queued messages can still be received; receives that would wait fail
 * with %COPROC_ERROR_CLOSED. Closing a closed messenger does nothing.
 *
 * Returns: `TRUE` when all output was delivered to the kernel
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_close (CoprocMessenger  *self,
                        GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gboolean ret = TRUE;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->closed)
    return TRUE;

  if (wbuf_pending (priv) > 0)
    ret = flush_until (self, 0, NULL, error);

  mark_closed (self,
               g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSED, "The messenger was closed"),
               NULL);
  complete_pending (self);

  return ret;
}

/* Receiving --------------------------------------------------------------- */

/**
 * coproc_messenger_available:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @error: return location for a `GError`
 *
 * Moves everything that has arrived into the queues, then counts the
 * messages queued on @channel_id.
 *
 * Fails when the peer sent an error or a close request (which this call
 * then consumes).
 *
 * Returns: the number of queued messages, or 0 with @error set
 *
 * Since: 1.0
 */
guint
coproc_messenger_available (CoprocMessenger  *self,
                            GVariant         *channel_id,
                            GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  g_autoptr(GVariant) channel = NULL;
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  prepare_receive (self);
  if (take_special (self, error))
    return 0;

  cs = coproc_channels_lookup (&priv->channels, channel, FALSE);
  return cs ? coproc_queue_size (&cs->queue) : 0;
}

/**
 * coproc_messenger_receive_available:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @error: return location for a `GError`
 *
 * Moves everything that has arrived into the queues, then takes every
 * message queued on @channel_id, in queue order.
 *
 * Returns: (transfer container) (element-type GVariant): the payloads,
 *   maybe none, or `NULL` with @error set
 *
 * Since: 1.0
 */
GPtrArray *
coproc_messenger_receive_available (CoprocMessenger  *self,
                                    GVariant         *channel_id,
                                    GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  g_autoptr(GVariant) channel = NULL;
  GPtrArray *payloads;
  CoprocChannel *cs;
  CoprocMessage *message;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  prepare_receive (self);
  if (take_special (self, error))
    return NULL;

  payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  cs = coproc_channels_lookup (&priv->channels, channel, FALSE);
  if (cs != NULL)
    {
      while ((message = take_message (self, cs)) != NULL)
        {
          g_ptr_array_add (payloads, g_variant_ref (message->payload));
          g_object_unref (message);
        }
    }

  return payloads;
}

/**
 * coproc_messenger_receive_message_blocking:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits for the next message on @channel_id and takes it. Messages that
 * arrive on other channels meanwhile are queued. This does not iterate any
 * main context.
 *
 * Fails with the peer's error, with %COPROC_ERROR_CLOSE_REQUESTED, with
 * %COPROC_ERROR_CLOSED (or %COPROC_ERROR_WORKER_DIED for a worker's
 * messenger) once the peer is gone and the channel's queue is empty, or
 * with %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the message, or `NULL` with @error set
 *
 * Since: 1.0
 */
CoprocMessage *
coproc_messenger_receive_message_blocking (CoprocMessenger  *self,
                                           GVariant         *channel_id,
                                           GCancellable     *cancellable,
                                           GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  g_autoptr(GVariant) channel = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  if (can_wait_first (priv))
    {
      CoprocChannel *cs = coproc_channels_lookup (&priv->channels, channel, FALSE);

      if ((cs == NULL || coproc_queue_size (&cs->queue) == 0) &&
          !wait_io (self, TRUE, FALSE, cancellable, error))
        return NULL;
    }

  for (;;)
    {
      CoprocChannel *cs;
      CoprocMessage *message;

      prepare_receive (self);
      if (take_special (self, error))
        return NULL;

      cs = coproc_channels_lookup (&priv->channels, channel, FALSE);
      if (cs != NULL && (message = take_message (self, cs)) != NULL)
        return message;

      if (priv->closed)
        {
          g_propagate_error (error, g_error_copy (priv->closed_error));
          return NULL;
        }

      if (input_held (priv))
        {
          g_set_error (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL,
                       "Cannot wait for a message: the queues hold %" G_GUINT64_FORMAT
                       " bytes of messages no one took, the maximum is %" G_GUINT64_FORMAT,
                       priv->channels.queued_bytes, priv->channels.max_queued_bytes);
          return NULL;
        }

      if (!wait_io (self, TRUE, wbuf_pending (priv) > 0, cancellable, error))
        return NULL;
    }
}

/**
 * coproc_messenger_receive_blocking:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits for the next message on @channel_id and returns its payload, as
 * [method@Coproc.Messenger.receive_message_blocking] does.
 *
 * Returns: (transfer full): the payload, or `NULL` with @error set
 *
 * Since: 1.0
 */
GVariant *
coproc_messenger_receive_blocking (CoprocMessenger  *self,
                                   GVariant         *channel_id,
                                   GCancellable     *cancellable,
                                   GError          **error)
{
  g_autoptr(CoprocMessage) message = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);

  message = coproc_messenger_receive_message_blocking (self, channel_id, cancellable, error);
  if (message == NULL)
    return NULL;

  return g_variant_ref (message->payload);
}

/**
 * coproc_messenger_receive_remaining:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Takes messages from @channel_id until every request sent there has its
 * reply, and returns their payloads in order. A plain message that arrives
 * in between is included, so nothing is lost. With no outstanding request
 * this returns an empty array at once.
 *
 * On failure the messages taken so far are discarded; use
 * [method@Coproc.Messenger.receive_message_blocking] in a loop on
 * [method@Coproc.Messenger.remaining] to keep them.
 *
 * Returns: (transfer container) (element-type GVariant): the payloads, or
 *   `NULL` with @error set
 *
 * Since: 1.0
 */
GPtrArray *
coproc_messenger_receive_remaining (CoprocMessenger  *self,
                                    GVariant         *channel_id,
                                    GCancellable     *cancellable,
                                    GError          **error)
{
  g_autoptr(GPtrArray) payloads = NULL;
  g_autoptr(GVariant) channel = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

  while (coproc_messenger_remaining (self, channel) > 0)
    {
      g_autoptr(CoprocMessage) message = NULL;

      message = coproc_messenger_receive_message_blocking (self, channel, cancellable, error);
      if (message == NULL)
        return NULL;

      g_ptr_array_add (payloads, g_variant_ref (message->payload));
    }

  return g_steal_pointer (&payloads);
}

/**
 * coproc_messenger_await_available:
 * @self: a messenger
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits until at least one message is queued, on any channel. This does
 * not iterate any main context.
 *
 * Returns: `TRUE` when a message is queued; `FALSE` with @error set as for
 *   [method@Coproc.Messenger.receive_message_blocking]
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_await_available (CoprocMessenger  *self,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->channels.total_queued == 0 && can_wait_first (priv) &&
      !wait_io (self, TRUE, FALSE, cancellable, error))
    return FALSE;

  for (;;)
    {
      prepare_receive (self);
      if (take_special (self, error))
        return FALSE;

      if (priv->channels.total_queued > 0)
        return TRUE;

      if (priv->closed)
        {
          g_propagate_error (error, g_error_copy (priv->closed_error));
          return FALSE;
        }

      if (!wait_io (self, TRUE, wbuf_pending (priv) > 0, cancellable, error))
        return FALSE;
    }
}

/**
 * coproc_messenger_receive_async:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when a message is received
 * @user_data: data for @callback
 *
 * Receives the next message on @channel_id without blocking. @callback runs
 * on the messenger's context; call [method@Coproc.Messenger.receive_finish]
 * there to get the payload. Several receives may be pending; they are
 * served in call order.
 *
 * Cancelling fails the call with %G_IO_ERROR_CANCELLED unless a message
 * was already taken for it, in which case the message is delivered: no
 * message is ever lost to a cancellation.
 *
 * Since: 1.0
 */
void
coproc_messenger_receive_async (CoprocMessenger     *self,
                                GVariant            *channel_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_common (self, channel_id, FALSE, coproc_messenger_receive_async,
                        cancellable, callback, user_data);
}

/**
 * coproc_messenger_receive_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.receive_async].
 *
 * Returns: (transfer full): the payload, or `NULL` with @error set
 *
 * Since: 1.0
 */
GVariant *
coproc_messenger_receive_finish (CoprocMessenger  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_messenger_receive_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * coproc_messenger_receive_message_async:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when a message is received
 * @user_data: data for @callback
 *
 * Like [method@Coproc.Messenger.receive_async], but finishes with the whole
 * [class@Coproc.Message].
 *
 * Since: 1.0
 */
void
coproc_messenger_receive_message_async (CoprocMessenger     *self,
                                        GVariant            *channel_id,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_common (self, channel_id, TRUE, coproc_messenger_receive_message_async,
                        cancellable, callback, user_data);
}

/**
 * coproc_messenger_receive_message_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.receive_message_async].
 *
 * Returns: (transfer full): the message, or `NULL` with @error set
 *
 * Since: 1.0
 */
CoprocMessage *
coproc_messenger_receive_message_finish (CoprocMessenger  *self,
                                         GAsyncResult     *result,
                                         GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_messenger_receive_message_async),
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * coproc_messenger_enqueue:
 * @self: a messenger
 * @message: a received message
 * @rank: where it goes: lower ranks are taken first, equal ranks in the
 *   order they were queued; NaN counts as `+inf`
 *
 * Puts @message into the queue of its channel. This is for implementations
 * of [vfunc@Coproc.Messenger.queue_message]; [class@Coproc.PriorityMessenger]
 * ranks by priority, [class@Coproc.MultiMessenger] ranks everything equal.
 *
 * Since: 1.0
 */
void
coproc_messenger_enqueue (CoprocMessenger *self,
                          CoprocMessage   *message,
                          gdouble          rank)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (COPROC_IS_MESSAGE (message));

  coproc_channels_enqueue (&priv->channels, message, rank);
}

/* Counters ---------------------------------------------------------------- */

static CoprocChannel *
counter_channel (CoprocMessenger *self,
                 GVariant        *channel_id)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocChannel *cs;

  if (channel_id == NULL)
    return coproc_channels_lookup (&priv->channels, NULL, FALSE);

  g_variant_ref_sink (channel_id);
  cs = coproc_channels_lookup (&priv->channels, channel_id, FALSE);
  g_variant_unref (channel_id);

  return cs;
}

/**
 * coproc_messenger_remaining:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the requests sent on @channel_id that have no reply received yet.
 * A reply counts when it is taken from the queue or consumed by a
 * [signal@Coproc.Messenger::message-received] handler, not when it arrives.
 *
 * Returns: requests sent minus replies received, never below zero
 *
 * Since: 1.0
 */
guint
coproc_messenger_remaining (CoprocMessenger *self,
                            GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? coproc_channel_remaining (cs) : 0;
}

/**
 * coproc_messenger_requests_sent:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the requests sent on @channel_id.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_requests_sent (CoprocMessenger *self,
                                GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->requests_sent : 0;
}

/**
 * coproc_messenger_replies_received:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the replies received on @channel_id that answered a request.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_replies_received (CoprocMessenger *self,
                                   GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->replies_received : 0;
}

/**
 * coproc_messenger_messages_sent:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the data messages of every kind sent on @channel_id.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_messages_sent (CoprocMessenger *self,
                                GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->messages_sent : 0;
}

/**
 * coproc_messenger_messages_received:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the data messages taken from @channel_id's queue or consumed by a
 * signal handler.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_messages_received (CoprocMessenger *self,
                                    GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->messages_received : 0;
}

/**
 * coproc_messenger_queue_size:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the messages queued on @channel_id now, without reading from the
 * stream (unlike [method@Coproc.Messenger.available]).
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_queue_size (CoprocMessenger *self,
                             GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? coproc_queue_size (&cs->queue) : 0;
}
