/* coproc-transport.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The transport room: everything between a messenger and its stream. Its
 * interface, and the way of a message through the rooms, are described
 * in coproc-transport-private.h.
 *
 * How the rooms fit:
 *
 *   coproc-messenger.c          the GObject: properties, signals, specials,
 *   coproc-messenger-receive.c  constructors, sending and receiving calls,
 *                               async receives; it owns a CoprocTransport
 *                               and a CoprocChannels, and answers the
 *                               transport's callbacks
 *   coproc-channels.c           channel table, queues, counters, the
 *                               max-queued-bytes accounting
 *   coproc-transport.c          this file: the stream, the backends, the
 *                               write buffer, flushing, sending (a frame's
 *                               way is chosen in choose_way()), the input
 *                               pump and the watch source
 *   coproc-frame-parser.c       the read buffer: bytes and descriptors in,
 *                               frames out; no I/O
 *   coproc-payload-fd.c         sealed memfds for large payloads
 *   coproc-wire.c               the protocol's bytes; no I/O, no state
 *
 * Where later work fits: another backend (a pair of pipes, say) is one
 * more Backend table; several descriptors per frame extend OutFd and the
 * parser's claim of descriptors; bounds on descriptors and mappings belong
 * to the parser.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gfiledescriptorbased.h>

#include "coproc-error.h"
#include "coproc-payload-fd-private.h"
#include "coproc-transport-private.h"

#define FLUSH_BATCH_SIZE   (64 * 1024)
#define SEND_HIGH_WATER    COPROC_TRANSPORT_SEND_HIGH_WATER
#define MAX_FDS_IN_FLIGHT  COPROC_TRANSPORT_MAX_FDS_IN_FLIGHT
#define DIRECT_WRITE_SIZE  (SEND_HIGH_WATER / 2)
#define WBUF_KEEP_SIZE     (256 * 1024)
#define DISPATCH_MAX_READS 4
/* How long one dispatch of the watch may hand frames to the owner (µs)
 * before it yields to the other sources of the context. */
#define DISPATCH_TIME_BUDGET_US 1000

typedef enum
{
  IO_OK,
  IO_WOULD_BLOCK,
  IO_EOF,
  IO_BROKEN,       /* the stream failed: error set */
  IO_FATAL,        /* the peer broke the protocol (descriptors): error set */
} IOResult;

typedef struct
{
  guint64 offset;   /* stream offset of the frame the descriptor goes with; the
                     * descriptors of one frame are consecutive, in order */
  int     fd;       /* owned */
  gsize   size;     /* the payload it holds; 0 for a message's own descriptor */
} OutFd;

/* What a blocking call waits with. */
typedef struct
{
  GCancellable *cancellable;   /* borrowed, may be NULL */
  gint64        deadline;      /* monotonic time (µs) at which the wait fails; -1: none */
  guint         timeout_ms;    /* what @deadline came from, for the error message */
  int           epfd;          /* owned, -1 until needed: the socket's write space, watched
                                * edge-triggered, tells when the peer read something */
} Waiter;

static void
waiter_clear (Waiter *w)
{
  if (w->epfd >= 0)
    close (w->epfd);
  w->epfd = -1;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Waiter, waiter_clear)

/* What a wait is for, besides a hang-up: input, room to write, or the
 * peer reading some of what is in the kernel already. */
typedef enum
{
  WAIT_READ     = 1 << 0,
  WAIT_WRITE    = 1 << 1,
  WAIT_CONSUMED = 1 << 2,
} WaitFor;

typedef struct
{
  GSource          parent;
  CoprocTransport *transport;   /* borrowed: the transport destroys us when it closes
                                 * or is freed */
  gpointer         tag;         /* socket backend: the fd's tag while polled, else NULL */
  GIOCondition     events;      /* socket backend: what the fd is polled for, with tag */
  GSource         *in_child;    /* stream backend: owned, while input is wanted */
  GSource         *out_child;   /* stream backend: owned, while output is buffered */
  gboolean         yielded;     /* the last dispatch ran out of time: the next one
                                 * parses on, whatever the stream says */
} WatchSource;

/* How a transport reaches its stream: chosen once, at construction. */
typedef struct
{
  /* Reads up to @len bytes into @buf; descriptors that come with them go
   * to the parser. */
  IOResult     (*read)         (CoprocTransport      *t,
                                guint8               *buf,
                                gsize                 len,
                                gsize                *n_read,
                                GError              **error);
  /* Writes from @vectors (maybe only part of them), with @n_fds
   * descriptors attached to the first byte. */
  IOResult     (*write)        (CoprocTransport      *t,
                                const GOutputVector  *vectors,
                                guint                 n_vectors,
                                const int            *fds,
                                guint                 n_fds,
                                gsize                *n_written,
                                GError              **error);
  /* Blocks until readable (or writable), hung up, cancelled or past the
   * deadline, without touching the owner's context. */
  gboolean     (*wait)         (CoprocTransport      *t,
                                WaitFor               what,
                                Waiter               *w,
                                GError              **error);
  /* Sets what the watch polls for. */
  void         (*watch_update) (CoprocTransport      *t,
                                WatchSource          *ws,
                                gboolean              want_in,
                                gboolean              want_out);
  /* What the watch found, in its dispatch. */
  GIOCondition (*watch_query)  (CoprocTransport      *t,
                                WatchSource          *ws);

  guint passes_fds    : 1;  /* descriptors travel with bytes: payloads may go in memfds */
  guint writes_direct : 1;  /* large frames leave straight from the payload's memory */
  guint polls_one_fd  : 1;  /* a short read empties it, and waiting costs a poll() */
} Backend;

struct _CoprocTransport
{
  /* All of this is touched only from the thread owning @context. */

  const Backend                  *backend;         /* static; chosen at construction */
  GIOStream                      *stream;          /* owned */
  GInputStream                   *input;           /* borrowed from @stream */
  GOutputStream                  *output;          /* borrowed from @stream */
  int                             fd;              /* the socket backend's socket, else -1 */
  GMainContext                   *context;         /* owned, once started: where @watch runs */
  GSource                        *watch;           /* owned; a WatchSource, attached while open */
  const CoprocTransportCallbacks *callbacks;       /* static */
  GObject                        *owner;           /* borrowed: it owns us; held while we
                                                    * call it from @watch or a pump */

  CoprocFrameParser              *parser;          /* owned: the read buffer, parsing state,
                                                    * descriptors received */

  /* Outgoing bytes are [wbuf_start, wbuf_end) of @wbuf (@wbuf_size bytes);
   * frames are stored 8-byte aligned, as g_variant_store() needs. */
  guint8                         *wbuf;
  gsize                           wbuf_size;
  gsize                           wbuf_start;
  gsize                           wbuf_end;
  gsize                           unflushed;       /* bytes buffered since the last write try */
  guint64                         written_total;   /* stream offset of wbuf_start */
  GArray                         *out_fds;         /* of OutFd, in stream order; closed once
                                                    * sent or dropped */
  gsize                           out_fd_bytes;    /* the payloads of @out_fds */
  gsize                           passed_bytes;    /* the payloads of the descriptors sent since
                                                    * the peer was last seen to have read all
                                                    * we wrote (the kernel holds them for it) */
  guint                           passed_fds;      /* and their number */

  guint64                         max_read_ahead;  /* while parsing is paused, a send that
                                                    * waits reads no further once this much
                                                    * is buffered */
  guint32                         max_message_size; /* ours: in the handshake, and for sends */
  guint                           announce_minor;  /* the minor version our handshake names:
                                                    * 0 unless the peer is known to read it */
  guint                           large_threshold; /* payloads this big go in a memfd; 0: never */
  guint                           send_timeout;    /* ms a send or flush waits for the peer
                                                    * at most; 0: as long as it takes */
  CoprocTypeAnchor                send_anchor;     /* keeps the type
                                                    * of the last payload sent alive
                                                    * (coproc_wire_anchor_type()) */
  GError                         *write_error;     /* once a write failed: what sends fail with */
  GError                         *closed_error;    /* once closed: what every call fails with */

  guint                           drained : 1;     /* the last read emptied the stream */
  guint                           eof : 1;         /* the end of input was read (or a reset) */
  guint                           paused : 1;      /* the owner stopped parsing, until it
                                                    * resumes it */
  guint                           closed : 1;      /* no more I/O: the stream is closed */
};

static void     lose             (CoprocTransport *t,
                                  gboolean         truncated,
                                  GError          *error);
static gboolean fd_is_stream_socket (int           fd);

/* The write buffer ------------------------------------------------------------ */

static inline gsize
wbuf_pending (CoprocTransport *t)
{
  return t->wbuf_end - t->wbuf_start;
}

static guint8 *
wbuf_reserve (CoprocTransport *t,
              gsize            need)
{
  gsize used = wbuf_pending (t);

  if (t->wbuf_size - t->wbuf_end < need)
    {
      if (t->wbuf_start > 0)
        {
          /* Keep the offsets modulo 8 after a partial write. */
          gsize shift = t->wbuf_start & 7;

          memmove (t->wbuf + shift, t->wbuf + t->wbuf_start, used);
          t->wbuf_start = shift;
          t->wbuf_end = shift + used;
        }
      if (t->wbuf_size - t->wbuf_end < need)
        {
          gsize size = MAX (MAX (t->wbuf_size * 2, 64 * 1024), t->wbuf_end + need);

          t->wbuf = g_realloc (t->wbuf, size);
          t->wbuf_size = size;
        }
    }

  return t->wbuf + t->wbuf_end;
}

/* Records that @n bytes at the head of the buffer left. */
static void
wbuf_consume (CoprocTransport *t,
              gsize            n)
{
  t->wbuf_start += n;
  t->written_total += n;
  if (t->wbuf_start == t->wbuf_end)
    {
      t->wbuf_start = t->wbuf_end = 0;
      if (t->wbuf_size > WBUF_KEEP_SIZE)
        {
          g_clear_pointer (&t->wbuf, g_free);
          t->wbuf_size = 0;
        }
    }
}

static void
close_out_fds (CoprocTransport *t)
{
  for (guint i = 0; i < t->out_fds->len; i++)
    close (g_array_index (t->out_fds, OutFd, i).fd);
  g_array_set_size (t->out_fds, 0);
  t->out_fd_bytes = 0;
  t->passed_bytes = 0;
  t->passed_fds = 0;
}

/* What leaves and has not reached the peer: the buffered bytes, and the
 * payloads of descriptors, buffered or in the kernel. The high-water mark
 * bounds it: a payload in a memfd is memory held for the peer as much as
 * bytes are. */
static inline gsize
outgoing_bytes (CoprocTransport *t)
{
  return wbuf_pending (t) + t->out_fd_bytes + t->passed_bytes;
}

static inline guint
outgoing_fds (CoprocTransport *t)
{
  return t->out_fds->len + t->passed_fds;
}

/* Whether @bytes more, and @n_fds more descriptors, may leave now: they
 * fit under the bounds, or nothing else is on its way. */
static inline gboolean
room_for (CoprocTransport *t,
          gsize            bytes,
          guint            n_fds)
{
  gsize outgoing = outgoing_bytes (t);

  return (outgoing == 0 && outgoing_fds (t) == 0) ||
         (outgoing + bytes <= SEND_HIGH_WATER && outgoing_fds (t) + n_fds <= MAX_FDS_IN_FLIGHT);
}

/* Descriptors sent are held by the kernel until the peer reads their
 * frames; the socket's queue tells that only when it is empty
 * (SIOCOUTQ: the memory of what the peer has not read). A buffer the peer
 * just read is still counted, as one byte, while the kernel wakes the
 * writers (sock_wfree()): so "empty" is less than any buffer takes. */
static void
forget_consumed (CoprocTransport *t)
{
  int queued = 0;

  if (t->passed_fds > 0 && ioctl (t->fd, SIOCOUTQ, &queued) == 0 && queued < 64)
    {
      t->passed_bytes = 0;
      t->passed_fds = 0;
    }
}

/* Output that can no longer leave. */
static void
drop_output (CoprocTransport *t)
{
  t->wbuf_start = t->wbuf_end = 0;
  close_out_fds (t);
}

/* The socket backend ----------------------------------------------------------- */

/* Hands descriptors the peer passed to the parser, until their frames
 * claim them. Any anomaly (truncation, a flood of descriptors) is fatal. */
static gboolean
take_passed_fds (CoprocTransport  *t,
                 struct msghdr    *msg,
                 GError          **error)
{
  gboolean ok = TRUE;

  for (struct cmsghdr *c = CMSG_FIRSTHDR (msg); c != NULL; c = CMSG_NXTHDR (msg, c))
    {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        {
          gsize n = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
          int fds[COPROC_FRAME_PARSER_MAX_FDS];

          /* The parser keeps them even past its bound, to close them. */
          memcpy (fds, CMSG_DATA (c), MIN (n, G_N_ELEMENTS (fds)) * sizeof (int));
          if (!coproc_frame_parser_add_fds (t->parser, fds, MIN (n, G_N_ELEMENTS (fds)),
                                            ok ? error : NULL))
            ok = FALSE;
        }
    }

  if (ok && (msg->msg_flags & MSG_CTRUNC))
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "The peer passed file descriptors out of protocol");
      ok = FALSE;
    }

  return ok;
}

/* What a failed read or write of the socket means. */
static IOResult
socket_failure (int          errsv,
                const char  *doing,
                GError     **error)
{
  if (errsv == EAGAIN || errsv == EWOULDBLOCK)
    return IO_WOULD_BLOCK;

  g_set_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
               "Error %s the peer: %s", doing, g_strerror (errsv));
  return IO_BROKEN;
}

static IOResult
socket_read (CoprocTransport  *t,
             guint8           *buf,
             gsize             len,
             gsize            *n_read,
             GError          **error)
{
  union {
    struct cmsghdr align;
    char           buf[CMSG_SPACE (sizeof (int) * COPROC_FRAME_PARSER_MAX_FDS)];
  } control;
  struct iovec iov = { buf, len };
  struct msghdr msg = { 0 };
  gssize n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  do
    n = recvmsg (t->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return socket_failure (errno, "reading from", error);

  if (msg.msg_controllen > 0 && !take_passed_fds (t, &msg, error))
    return IO_FATAL;

  *n_read = n;
  return n == 0 ? IO_EOF : IO_OK;
}

static IOResult
socket_write (CoprocTransport      *t,
              const GOutputVector  *vectors,
              guint                 n_vectors,
              const int            *fds,
              guint                 n_fds,
              gsize                *n_written,
              GError              **error)
{
  union {
    struct cmsghdr align;
    char           buf[CMSG_SPACE (sizeof (int) * COPROC_WIRE_MAX_FDS)];
  } control;
  struct iovec iov[3];
  struct msghdr msg = { 0 };
  gssize n;

  g_assert (n_vectors <= G_N_ELEMENTS (iov));

  for (guint i = 0; i < n_vectors; i++)
    {
      iov[i].iov_base = (gpointer) vectors[i].buffer;
      iov[i].iov_len = vectors[i].size;
    }
  msg.msg_iov = iov;
  msg.msg_iovlen = n_vectors;

  g_assert (n_fds <= COPROC_WIRE_MAX_FDS);

  if (n_fds > 0)
    {
      struct cmsghdr *c;

      /* Zeroed: the kernel reads the padding after the descriptors too. */
      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
      c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
      memcpy (CMSG_DATA (c), fds, sizeof (int) * n_fds);
    }

  /* MSG_NOSIGNAL: a dead peer is an error, never a SIGPIPE. */
  do
    n = sendmsg (t->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);

  if (n < 0)
    return socket_failure (errno, "writing to", error);

  *n_written = n;
  return IO_OK;
}

/* What is left of @w's time, for poll(): -1 for none. */
static int
waiter_poll_timeout (const Waiter *w)
{
  gint64 left;

  if (w->deadline < 0)
    return -1;

  left = w->deadline - g_get_monotonic_time ();
  return left <= 0 ? 0 : (int) MIN ((left + 999) / 1000, G_MAXINT);
}

/* Fails when @w's cancellable fired or its time is up. */
static gboolean
waiter_check (const Waiter  *w,
              GError       **error)
{
  if (g_cancellable_set_error_if_cancelled (w->cancellable, error))
    return FALSE;

  if (w->deadline >= 0 && g_get_monotonic_time () >= w->deadline)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "The peer read nothing for %u ms (send-timeout)", w->timeout_ms);
      return FALSE;
    }

  return TRUE;
}

/* Has @w watch the socket's write space edge-triggered: every time the
 * peer reads (and frees room), the descriptor becomes readable. */
static gboolean
watch_consumed (CoprocTransport  *t,
                Waiter           *w,
                GError          **error)
{
  struct epoll_event event = { .events = EPOLLOUT | EPOLLET };

  if (w->epfd >= 0)
    return TRUE;

  w->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (w->epfd < 0 || epoll_ctl (w->epfd, EPOLL_CTL_ADD, t->fd, &event) != 0)
    {
      int errsv = errno;

      waiter_clear (w);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Could not wait for the peer to read: %s", g_strerror (errsv));
      return FALSE;
    }

  return TRUE;
}

static gboolean
socket_wait (CoprocTransport  *t,
             WaitFor           what,
             Waiter           *w,
             GError          **error)
{
  GPollFD fds[3];
  guint n_fds = 1;
  gint consumed = -1;
  gboolean cancellable_polled;
  int r;

  fds[0].fd = t->fd;
  fds[0].events = ((what & WAIT_READ) ? G_IO_IN : 0) | G_IO_HUP | G_IO_ERR |
                  ((what & WAIT_WRITE) ? G_IO_OUT : 0);
  fds[0].revents = 0;

  if (what & WAIT_CONSUMED)
    {
      if (!watch_consumed (t, w, error))
        return FALSE;
      consumed = n_fds++;
      fds[consumed].fd = w->epfd;
      fds[consumed].events = G_IO_IN;
      fds[consumed].revents = 0;
    }

  cancellable_polled = g_cancellable_make_pollfd (w->cancellable, &fds[n_fds]);
  if (cancellable_polled)
    n_fds++;

  do
    r = g_poll (fds, n_fds, waiter_poll_timeout (w));
  while (r < 0 && errno == EINTR);

  if (cancellable_polled)
    g_cancellable_release_fd (w->cancellable);

  /* Take the edge, so that the next wait sleeps until the next read. */
  if (consumed >= 0 && fds[consumed].revents != 0)
    {
      struct epoll_event event;

      while (epoll_wait (w->epfd, &event, 1, 0) < 0 && errno == EINTR)
        ;
    }

  return waiter_check (w, error);
}

static void
socket_watch_update (CoprocTransport *t,
                     WatchSource     *ws,
                     gboolean         want_in,
                     gboolean         want_out)
{
  GIOCondition events = (want_in ? G_IO_IN | G_IO_HUP | G_IO_ERR : 0) | (want_out ? G_IO_OUT : 0);

  /* poll() reports a hang-up even on a descriptor polled for nothing: with
   * nothing to poll for (parsing is paused and the peer hung up), keeping
   * the descriptor would make the source dispatch in a busy loop. Drop it
   * until there is something to do. */
  if (events == 0)
    {
      if (ws->tag != NULL)
        g_source_remove_unix_fd ((GSource *) ws, ws->tag);
      ws->tag = NULL;
    }
  else if (ws->tag == NULL)
    ws->tag = g_source_add_unix_fd ((GSource *) ws, t->fd, events);
  else if (events != ws->events)
    g_source_modify_unix_fd ((GSource *) ws, ws->tag, events);
  /* Each change wakes the context up (an eventfd write, then one more
   * iteration), so one that changes nothing is not made: the watch is
   * updated after every dispatch and every send. */
  ws->events = events;
}

static GIOCondition
socket_watch_query (CoprocTransport *t,
                    WatchSource     *ws)
{
  return ws->tag != NULL ? g_source_query_unix_fd ((GSource *) ws, ws->tag)
                         : G_IO_IN | G_IO_OUT;
}

static const Backend socket_backend = {
  .read = socket_read,
  .write = socket_write,
  .wait = socket_wait,
  .watch_update = socket_watch_update,
  .watch_query = socket_watch_query,
  .passes_fds = TRUE,
  .writes_direct = TRUE,
  .polls_one_fd = TRUE,
};

/* The pollable-stream backend --------------------------------------------------- */

/* What a failed read or write of the stream (@local_error) means. */
static IOResult
stream_failure (const GError  *local_error,
                const char    *doing,
                GError       **error)
{
  if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return IO_WOULD_BLOCK;

  g_set_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
               "Error %s the peer: %s", doing, local_error->message);
  return IO_BROKEN;
}

static IOResult
stream_read (CoprocTransport  *t,
             guint8           *buf,
             gsize             len,
             gsize            *n_read,
             GError          **error)
{
  g_autoptr(GError) local_error = NULL;
  gssize n;

  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (t->input), buf, len,
                                                NULL, &local_error);
  if (n < 0)
    return stream_failure (local_error, "reading from", error);

  *n_read = n;
  return n == 0 ? IO_EOF : IO_OK;
}

static gboolean
sigpending_has_pipe (void)
{
  sigset_t pending;

  return sigpending (&pending) == 0 && sigismember (&pending, SIGPIPE) == 1;
}

static IOResult
stream_write (CoprocTransport      *t,
              const GOutputVector  *vectors,
              guint                 n_vectors,
              const int            *fds,
              guint                 n_fds,
              gsize                *n_written,
              GError              **error)
{
  g_autoptr(GError) local_error = NULL;
  sigset_t pipe_set;
  sigset_t old_set;
  gboolean was_pending;
  gssize n;

  g_assert (n_fds == 0);

  /* A pipe cannot be written with MSG_NOSIGNAL. Without touching the
   * process's signal dispositions: block SIGPIPE in this thread for the
   * write, and consume the one the write raised, if any. */
  sigemptyset (&pipe_set);
  sigaddset (&pipe_set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &pipe_set, &old_set);
  was_pending = sigpending_has_pipe ();

  /* Only the first vector: a short write is always allowed. (GLib 2.74's
   * writev for Unix streams misreports failures.) */
  n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (t->output),
                                                  vectors[0].buffer, vectors[0].size,
                                                  NULL, &local_error);

  if (n < 0 && !was_pending && sigpending_has_pipe ())
    {
      static const struct timespec zero = { 0, 0 };

      while (sigtimedwait (&pipe_set, NULL, &zero) < 0 && errno == EINTR)
        ;
    }
  pthread_sigmask (SIG_SETMASK, &old_set, NULL);

  if (n < 0)
    return stream_failure (local_error, "writing to", error);

  *n_written = n;
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

static GSource *
stream_source (CoprocTransport *t,
               gboolean         output,
               GCancellable    *cancellable)
{
  if (output)
    return g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (t->output),
                                                   cancellable);

  return g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (t->input), cancellable);
}

/* Waits on a private context, never the owner's. */
static gboolean
wait_timeout_cb (gpointer user_data)
{
  gboolean *fired = user_data;

  *fired = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
stream_wait (CoprocTransport  *t,
             WaitFor           what,
             Waiter           *w,
             GError          **error)
{
  gboolean want_read = (what & WAIT_READ) != 0;
  /* No descriptors pass here: nothing is held in the kernel for the peer
   * but bytes, and room to write is what the peer reading gives. */
  gboolean want_write = (what & (WAIT_WRITE | WAIT_CONSUMED)) != 0;
  g_autoptr(GMainContext) context = g_main_context_new ();
  GSource *sources[3] = { NULL, NULL, NULL };
  gboolean fired = FALSE;
  int timeout = waiter_poll_timeout (w);

  /* Waiting for nothing is waiting for input (a hang-up shows there). */
  gboolean wants[2] = { want_read || !want_write, want_write };

  for (guint i = 0; i < 2; i++)
    {
      if (!wants[i])
        continue;

      sources[i] = stream_source (t, i == 1, w->cancellable);
      g_source_set_callback (sources[i], G_SOURCE_FUNC (wait_pollable_cb), &fired, NULL);
      g_source_attach (sources[i], context);
    }

  if (timeout >= 0)
    {
      sources[2] = g_timeout_source_new (timeout);
      g_source_set_callback (sources[2], wait_timeout_cb, &fired, NULL);
      g_source_attach (sources[2], context);
    }

  while (!fired)
    g_main_context_iteration (context, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      if (sources[i] != NULL)
        {
          g_source_destroy (sources[i]);
          g_source_unref (sources[i]);
        }
    }

  return waiter_check (w, error);
}

static gboolean
watch_child_cb (gpointer user_data)
{
  /* The parent dispatches whenever a child fires. */
  return G_SOURCE_CONTINUE;
}

static void
set_child (CoprocTransport  *t,
           WatchSource      *ws,
           GSource         **child,
           gboolean          output,
           gboolean          want)
{
  if (want && *child == NULL)
    {
      *child = stream_source (t, output, NULL);
      g_source_set_callback (*child, watch_child_cb, NULL, NULL);
      g_source_add_child_source ((GSource *) ws, *child);
    }
  else if (!want && *child != NULL)
    {
      g_source_remove_child_source ((GSource *) ws, *child);
      g_clear_pointer (child, g_source_unref);
    }
}

static void
stream_watch_update (CoprocTransport *t,
                     WatchSource     *ws,
                     gboolean         want_in,
                     gboolean         want_out)
{
  set_child (t, ws, &ws->in_child, FALSE, want_in);
  set_child (t, ws, &ws->out_child, TRUE, want_out);
}

static GIOCondition
stream_watch_query (CoprocTransport *t,
                    WatchSource     *ws)
{
  /* A child fired; a try finds out which. */
  return G_IO_IN | G_IO_OUT;
}

static const Backend stream_backend = {
  .read = stream_read,
  .write = stream_write,
  .wait = stream_wait,
  .watch_update = stream_watch_update,
  .watch_query = stream_watch_query,
};

/* Construction and closing -------------------------------------------------------- */

static const Backend *
choose_backend (GIOStream  *stream,
                int        *fd,
                GError    **error)
{
  GInputStream *input = g_io_stream_get_input_stream (stream);
  GOutputStream *output = g_io_stream_get_output_stream (stream);

  *fd = -1;

  if (G_IS_SOCKET_CONNECTION (stream))
    {
      GSocket *socket = g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));

      *fd = g_socket_get_fd (socket);
      g_socket_set_blocking (socket, FALSE);
      return &socket_backend;
    }

  /* Unix streams over one socket, as new_pair() and workers make them. */
  if (G_IS_FILE_DESCRIPTOR_BASED (input) && G_IS_FILE_DESCRIPTOR_BASED (output) &&
      g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (input)) ==
      g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (output)) &&
      fd_is_stream_socket (g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (input))))
    {
      *fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (input));
      return &socket_backend;
    }

  if (G_IS_POLLABLE_INPUT_STREAM (input) &&
      g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (input)) &&
      G_IS_POLLABLE_OUTPUT_STREAM (output) &&
      g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (output)))
    return &stream_backend;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "A messenger needs a socket connection or a stream "
                       "whose input and output can be polled");
  return NULL;
}

static gboolean
fd_is_stream_socket (int fd)
{
  struct stat st;
  int type = 0;
  socklen_t len = sizeof type;

  return fstat (fd, &st) == 0 && S_ISSOCK (st.st_mode) &&
         getsockopt (fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

CoprocTransport *
coproc_transport_new (GIOStream                      *stream,
                      guint32                         max_message_size,
                      guint                           large_threshold,
                      const CoprocTransportCallbacks *callbacks,
                      GObject                        *owner,
                      GError                        **error)
{
  CoprocTransport *t;
  const Backend *backend;
  int fd;

  backend = choose_backend (stream, &fd, error);
  if (backend == NULL)
    return NULL;

  t = g_new0 (CoprocTransport, 1);
  t->backend = backend;
  t->stream = g_object_ref (stream);
  t->input = g_io_stream_get_input_stream (stream);
  t->output = g_io_stream_get_output_stream (stream);
  t->fd = fd;
  t->callbacks = callbacks;
  t->owner = owner;
  t->parser = coproc_frame_parser_new (max_message_size);
  t->out_fds = g_array_new (FALSE, FALSE, sizeof (OutFd));
  t->max_message_size = max_message_size;
  t->large_threshold = large_threshold;
  t->max_read_ahead = G_MAXUINT64;

  return t;
}

static gboolean watch_dispatch (GSource     *source,
                                GSourceFunc  callback,
                                gpointer     user_data);
static void     watch_finalize (GSource     *source);

static GSourceFuncs watch_funcs = {
  .dispatch = watch_dispatch,
  .finalize = watch_finalize,
};

void
coproc_transport_start (CoprocTransport *t,
                        GMainContext    *context)
{
  guint8 *out;

  g_assert (t->context == NULL);

  t->context = g_main_context_ref (context);

  out = wbuf_reserve (t, COPROC_WIRE_HANDSHAKE_SIZE);
  coproc_wire_write_handshake (out, t->announce_minor, t->max_message_size);
  t->wbuf_end += COPROC_WIRE_HANDSHAKE_SIZE;

  /* The peer may have said its last words and hung up before this side
   * says anything: then this write fails. That is no reason to refuse the
   * connection. The failure is recorded (sends fail with it), and what the
   * peer sent is read as usual, then its hang-up. */
  coproc_transport_flush_nonblocking (t, NULL);

  t->watch = g_source_new (&watch_funcs, sizeof (WatchSource));
  g_source_set_static_name (t->watch, "[coproc] messenger watch");
  ((WatchSource *) t->watch)->transport = t;
  coproc_transport_update_watch (t);
  g_source_attach (t->watch, t->context);
}

static void
destroy_watch (CoprocTransport *t)
{
  if (t->watch != NULL)
    {
      g_source_destroy (t->watch);
      g_clear_pointer (&t->watch, g_source_unref);
    }
}

void
coproc_transport_close (CoprocTransport *t,
                        const GError    *error)
{
  if (t->closed)
    return;

  t->closed = TRUE;
  t->closed_error = g_error_copy (error);

  drop_output (t);
  coproc_frame_parser_close_fds (t->parser);
  destroy_watch (t);
  g_io_stream_close (t->stream, NULL, NULL);
}

void
coproc_transport_set_closed_error (CoprocTransport *t,
                                   const GError    *error)
{
  g_return_if_fail (t->closed);

  g_clear_error (&t->closed_error);
  t->closed_error = g_error_copy (error);
}

void
coproc_transport_free (CoprocTransport *t)
{
  if (t == NULL)
    return;

  destroy_watch (t);
  close_out_fds (t);
  g_array_unref (t->out_fds);
  g_free (t->wbuf);
  coproc_frame_parser_free (t->parser);
  coproc_wire_anchor_clear (&t->send_anchor);
  g_clear_error (&t->write_error);
  g_clear_error (&t->closed_error);
  g_clear_pointer (&t->context, g_main_context_unref);
  g_object_unref (t->stream);
  g_free (t);
}

gboolean
coproc_transport_is_closed (CoprocTransport *t)
{
  return t->closed;
}

int
coproc_transport_get_fd (CoprocTransport *t)
{
  return t->closed ? -1 : t->fd;
}

void
coproc_transport_set_max_message_size (CoprocTransport *t,
                                       guint32          max_message_size)
{
  t->max_message_size = max_message_size;
  coproc_frame_parser_set_max_message_size (t->parser, max_message_size);
}

void
coproc_transport_set_send_timeout (CoprocTransport *t,
                                   guint            send_timeout)
{
  t->send_timeout = send_timeout;
}

/* The waiter of a send or flush: @cancellable, and the send timeout. */
static Waiter
waiter_for_send (CoprocTransport *t,
                 GCancellable    *cancellable)
{
  Waiter w = { cancellable, -1, t->send_timeout, -1 };

  if (t->send_timeout > 0)
    w.deadline = g_get_monotonic_time () + (gint64) t->send_timeout * 1000;

  return w;
}

/* Whether @error only says that a wait was cut short. */
static gboolean
is_interruption (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

void
coproc_transport_set_max_read_ahead (CoprocTransport *t,
                                     guint64          max_read_ahead)
{
  t->max_read_ahead = max_read_ahead;
}

void
coproc_transport_set_large_threshold (CoprocTransport *t,
                                      guint            large_threshold)
{
  t->large_threshold = large_threshold;
}

/* The one path for the end of input: the owner closes us from @lost. */
static void
lose (CoprocTransport *t,
      gboolean         truncated,
      GError          *error)
{
  if (t->closed)
    {
      g_clear_error (&error);
      return;
    }

  t->callbacks->lost (t->owner, truncated, error);
  g_assert (t->closed);
}

/* Output ---------------------------------------------------------------------- */

gboolean
coproc_transport_has_output (CoprocTransport *t)
{
  return wbuf_pending (t) > 0;
}

gboolean
coproc_transport_check_open (CoprocTransport  *t,
                             GError          **error)
{
  if (t->closed)
    {
      g_propagate_error (error, g_error_copy (t->closed_error));
      return FALSE;
    }

  if (t->write_error != NULL)
    {
      g_propagate_error (error, g_error_copy (t->write_error));
      return FALSE;
    }

  return TRUE;
}

/* A write failed: the peer stopped reading, but what it wrote before is
 * still to be received. Drop the output, keep the input open until its
 * hang-up is read. Takes @error. */
static void
record_write_error (CoprocTransport *t,
                    GError          *error)
{
  drop_output (t);
  if (t->write_error == NULL)
    t->write_error = error;
  else
    g_error_free (error);
}

/* Writes from the buffer once. A descriptor travels with the first byte of
 * its frame: write up to that frame, then the frame with the descriptor. */
static IOResult
write_buffered (CoprocTransport  *t,
                GError          **error)
{
  OutFd *next = t->out_fds->len > 0 ? &g_array_index (t->out_fds, OutFd, 0) : NULL;
  GOutputVector vector = { t->wbuf + t->wbuf_start, wbuf_pending (t) };
  int fds[COPROC_WIRE_MAX_FDS];
  guint n_fds = 0;
  gsize n = 0;
  IOResult r;

  if (next != NULL && next->offset > t->written_total)
    vector.size = MIN (vector.size, next->offset - t->written_total);
  else if (next != NULL)
    {
      /* Every descriptor of the frame, then up to the next frame's. */
      while (n_fds < t->out_fds->len &&
             g_array_index (t->out_fds, OutFd, n_fds).offset == next->offset)
        {
          fds[n_fds] = g_array_index (t->out_fds, OutFd, n_fds).fd;
          n_fds++;
        }
      if (t->out_fds->len > n_fds)
        vector.size = MIN (vector.size,
                           g_array_index (t->out_fds, OutFd, n_fds).offset - t->written_total);
    }

  r = t->backend->write (t, &vector, 1, fds, n_fds, &n, error);
  if (r != IO_OK)
    return r;

  if (n_fds > 0 && n > 0)
    {
      /* The kernel holds them for the peer now. */
      for (guint i = 0; i < n_fds; i++)
        {
          OutFd *sent = &g_array_index (t->out_fds, OutFd, i);

          t->out_fd_bytes -= sent->size;
          t->passed_bytes += sent->size;
          close (sent->fd);
        }
      t->passed_fds += n_fds;
      g_array_remove_range (t->out_fds, 0, n_fds);
    }
  wbuf_consume (t, n);

  return IO_OK;
}

gboolean
coproc_transport_flush_nonblocking (CoprocTransport  *t,
                                    GError          **error)
{
  t->unflushed = 0;

  while (wbuf_pending (t) > 0)
    {
      GError *local_error = NULL;
      IOResult r = write_buffered (t, &local_error);

      if (r == IO_WOULD_BLOCK)
        break;
      if (r != IO_OK)
        {
          g_propagate_error (error, g_error_copy (local_error));
          record_write_error (t, local_error);
          return FALSE;
        }
    }

  return TRUE;
}

static void drain (CoprocTransport *t);

/* Whether a send that waits for the peer reads meanwhile: while the owner
 * wants input, so that two peers sending to each other never deadlock.
 * While parsing is paused, what is read stays unparsed in the buffer: it
 * is read only up to max_read_ahead, and not at all once the peer's output
 * ended (the end of input would be reported at once, again and again). */
static gboolean
reads_while_waiting (CoprocTransport *t)
{
  if (!t->callbacks->want_input (t->owner))
    return FALSE;

  return !t->paused ||
         (!t->eof && coproc_frame_parser_get_buffered (t->parser) < t->max_read_ahead);
}

/* Waits until the stream takes output, reading what the peer sends
 * meanwhile (without parsing while parsing is paused). */
static gboolean
wait_writable (CoprocTransport  *t,
               Waiter           *w,
               GError          **error)
{
  if (!t->backend->wait (t, (reads_while_waiting (t) ? WAIT_READ : 0) | WAIT_WRITE, w, error))
    return FALSE;

  drain (t);
  return coproc_transport_check_open (t, error);
}

/* Writes until at most @target bytes are buffered. */
static gboolean
flush_until (CoprocTransport  *t,
             gsize             target,
             Waiter           *w,
             GError          **error)
{
  for (;;)
    {
      if (!coproc_transport_flush_nonblocking (t, error))
        return FALSE;
      if (wbuf_pending (t) <= target)
        break;
      if (!wait_writable (t, w, error))
        return FALSE;
    }

  coproc_transport_update_watch (t);
  return TRUE;
}

/* Waits until @bytes more, with @n_fds more descriptors, fit under the
 * bounds of what is outgoing (room_for()), writing what is buffered and
 * reading what the peer sends meanwhile. Once all that is left is in the
 * kernel, it waits for the peer to read. */
static gboolean
make_room (CoprocTransport  *t,
           gsize             bytes,
           guint             n_fds,
           Waiter           *w,
           GError          **error)
{
  for (;;)
    {
      gboolean in_kernel;

      if (!coproc_transport_flush_nonblocking (t, error))
        return FALSE;
      forget_consumed (t);
      if (room_for (t, bytes, n_fds))
        break;

      in_kernel = wbuf_pending (t) == 0 && t->out_fds->len == 0;
      if (!t->backend->wait (t, (reads_while_waiting (t) ? WAIT_READ : 0) |
                                (in_kernel ? WAIT_CONSUMED : WAIT_WRITE),
                             w, error))
        return FALSE;

      drain (t);
      if (!coproc_transport_check_open (t, error))
        return FALSE;
    }

  coproc_transport_update_watch (t);
  return TRUE;
}

gboolean
coproc_transport_flush (CoprocTransport  *t,
                        GCancellable     *cancellable,
                        GError          **error)
{
  g_auto(Waiter) w = waiter_for_send (t, cancellable);

  return flush_until (t, 0, &w, error);
}

/* Sending --------------------------------------------------------------------- */

typedef enum
{
  WAY_INLINE,   /* encoded into the write buffer */
  WAY_DIRECT,   /* written straight from the payload's memory, blocking */
  WAY_MEMFD,    /* the payload in a sealed memfd passed with the frame */
} FrameWay;

/* How a frame leaves: decided here alone. A large payload goes in a memfd
 * where descriptors can be passed (one copy here, none at the peer); else
 * a frame so large that its send waits for the peer anyway is written
 * from the payload's memory rather than copied in. */
static FrameWay
choose_way (CoprocTransport        *t,
            const CoprocWireHeader *header,
            gboolean                memfd_possible)
{
  gboolean data = coproc_wire_kind_is_data (header->kind);

  if (memfd_possible && data && t->backend->passes_fds && t->large_threshold > 0 &&
      header->payload_size >= t->large_threshold)
    return WAY_MEMFD;

#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  /* The payload's memory is the encoding only in little-endian order. */
  if (t->backend->writes_direct && header->payload_size > 0 &&
      coproc_wire_frame_size (header) >= DIRECT_WRITE_SIZE)
    return WAY_DIRECT;
#endif

  return WAY_INLINE;
}

/* Puts @payload in a memfd that goes with the frame's first byte. */
static gboolean
attach_memfd (CoprocTransport  *t,
              CoprocWireHeader *header,
              GVariant         *payload)
{
  OutFd entry;

  entry.fd = coproc_payload_fd_create (payload, header->payload_size);
  if (entry.fd < 0)
    return FALSE;

  entry.offset = t->written_total + wbuf_pending (t);
  entry.size = header->payload_size;
  g_array_append_val (t->out_fds, entry);
  t->out_fd_bytes += entry.size;
  header->flags = COPROC_WIRE_FLAG_PAYLOAD_FD;
  header->n_fds = 1;
  return TRUE;
}

/* Stores a value's encoding and its padding. */
static guint8 *
put_value (guint8   *out,
           GVariant *value,
           gsize     size)
{
  coproc_wire_store_variant (value, out);
  memset (out + size, 0, coproc_wire_pad8 (size) - size);
  return out + coproc_wire_pad8 (size);
}

/* The frame into the write buffer; @payload is NULL when it travels in a
 * memfd (or there is none). */
static gboolean
buffer_frame (CoprocTransport         *t,
              const CoprocWireHeader  *header,
              GVariant                *channel_id,
              GVariant                *payload,
              Waiter                  *w,
              GError                 **error)
{
  gsize frame_size = coproc_wire_frame_size (header);
  g_autoptr(GError) local_error = NULL;
  gboolean was_empty;
  guint8 *out;

  /* A frame that takes the buffer past the high-water mark makes this send
   * wait anyway: wait first, until the frame fits under the mark, so that
   * what is buffered need not be moved to make room for it (for a large
   * payload, that move costs as much as copying the payload in). A wait
   * cut short here sends nothing. */
  if (payload != NULL && !room_for (t, frame_size, 0) && !make_room (t, frame_size, 0, w, error))
    return FALSE;

  was_empty = wbuf_pending (t) == 0;
  out = wbuf_reserve (t, frame_size);

  coproc_wire_write_header (out, header);
  out += COPROC_WIRE_HEADER_SIZE;
  if (channel_id != NULL)
    out = put_value (out, channel_id, header->channel_size);
  if (payload != NULL)
    put_value (out, payload, header->payload_size);

  t->wbuf_end += frame_size;
  t->unflushed += frame_size;

  /* The first frame leaves at once; more leave in batches. */
  if ((was_empty || t->unflushed >= FLUSH_BATCH_SIZE) && !coproc_transport_flush_nonblocking (t, error))
    return FALSE;

  /* A frame larger than the mark alone. Once it is buffered, the message
   * is sent: a wait cut short leaves it to leave later. */
  if (wbuf_pending (t) > SEND_HIGH_WATER &&
      !flush_until (t, SEND_HIGH_WATER, w, &local_error))
    {
      if (!is_interruption (local_error))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      was_empty = TRUE;
    }

  if (was_empty && wbuf_pending (t) > 0)
    coproc_transport_update_watch (t);

  return TRUE;
}

/* A direct write cut short after @sent of its @total bytes: the rest of
 * the frame goes into the (empty) write buffer, so that the message still
 * leaves whole. The frame ends at a multiple of 8 in the stream; so does
 * its rest in the buffer. */
static void
buffer_rest (CoprocTransport     *t,
             const GOutputVector *parts,
             guint                n_parts,
             gsize                sent,
             gsize                total)
{
  gsize rest = total - sent;
  gsize shift = (8 - rest % 8) % 8;
  guint8 *out;

  g_assert (wbuf_pending (t) == 0 && t->out_fds->len == 0);

  out = wbuf_reserve (t, shift + rest) + shift;
  t->wbuf_start = t->wbuf_end = shift;
  for (guint i = 0; i < n_parts; i++)
    {
      gsize skip = MIN (sent, parts[i].size);

      sent -= skip;
      memcpy (out, (const guint8 *) parts[i].buffer + skip, parts[i].size - skip);
      out += parts[i].size - skip;
    }
  t->wbuf_end += rest;
  coproc_transport_update_watch (t);
}

/* The remaining bytes of @n_parts parts, @sent bytes in, as vectors. */
static guint
remaining_vectors (const GOutputVector *parts,
                   guint                n_parts,
                   gsize                sent,
                   GOutputVector       *vectors)
{
  guint n_vectors = 0;

  for (guint i = 0; i < n_parts; i++)
    {
      gsize off = MIN (sent, parts[i].size);

      sent -= off;
      if (parts[i].size > off)
        {
          vectors[n_vectors].buffer = (const guint8 *) parts[i].buffer + off;
          vectors[n_vectors].size = parts[i].size - off;
          n_vectors++;
        }
    }

  return n_vectors;
}

/* Writes one frame from its parts (the header and channel, the payload's
 * own memory, the rest of its encoding), blocking until all of it is in
 * the kernel, and reading what the peer sends meanwhile. What was buffered
 * before goes first. */
static gboolean
write_direct (CoprocTransport         *t,
              const CoprocWireHeader  *header,
              GVariant                *channel_id,
              GVariant                *payload,
              Waiter                  *w,
              GError                 **error)
{
  gsize head_len = COPROC_WIRE_HEADER_SIZE + coproc_wire_pad8 (header->channel_size);
  gsize value_len = g_variant_get_size (payload);
  gsize tail_len = coproc_wire_pad8 (header->payload_size) - value_len;
  const char *type_string = g_variant_get_type_string (payload);
  g_autofree guint8 *head = g_malloc0 (head_len);
  g_autofree guint8 *tail = g_malloc0 (tail_len);
  const GOutputVector parts[3] = {
    { head, head_len }, { g_variant_get_data (payload), value_len }, { tail, tail_len },
  };
  gsize total = head_len + value_len + tail_len;
  gsize sent = 0;

  if (!make_room (t, total, 0, w, error) || !flush_until (t, 0, w, error))
    return FALSE;

  coproc_wire_write_header (head, header);
  if (channel_id != NULL)
    coproc_wire_store_variant (channel_id, head + COPROC_WIRE_HEADER_SIZE);
  /* The "v" encoding: the value, a NUL, its type string; then padding. */
  memcpy (tail + 1, type_string, strlen (type_string));

  while (sent < total)
    {
      GOutputVector vectors[G_N_ELEMENTS (parts)];
      guint n_vectors = remaining_vectors (parts, G_N_ELEMENTS (parts), sent, vectors);
      GError *local_error = NULL;
      gsize n = 0;

      switch (t->backend->write (t, vectors, n_vectors, NULL, 0, &n, &local_error))
        {
        case IO_OK:
          sent += n;
          t->written_total += n;
          break;

        case IO_WOULD_BLOCK:
          if (!wait_writable (t, w, &local_error))
            {
              /* Cut short: once part of the frame left, the rest must too. */
              if (sent > 0 && is_interruption (local_error))
                {
                  g_clear_error (&local_error);
                  buffer_rest (t, parts, G_N_ELEMENTS (parts), sent, total);
                  return TRUE;
                }
              g_propagate_error (error, local_error);
              return FALSE;
            }
          break;

        default:
          record_write_error (t, local_error);
          g_propagate_error (error, g_error_copy (t->write_error));
          return FALSE;
        }
    }

  coproc_transport_update_watch (t);
  return TRUE;
}

/* The encoded size of @value (coproc_wire_variant_size()), once the
 * protocol and the receiver can take its type and its nesting. */
static gboolean
encoded_size (GVariant  *value,
              gsize     *size,
              GError   **error)
{
  const char *type_string = g_variant_get_type_string (value);
  gboolean has_variant;
  gsize type_len = coproc_wire_type_scan (type_string, &has_variant);

  if (type_len > COPROC_WIRE_MAX_TYPE_SIZE)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "The type of a payload or channel id is longer than the "
                           "255 characters the protocol allows");
      return FALSE;
    }

  if ((has_variant || type_len > COPROC_WIRE_MAX_DEPTH) &&
      !coproc_wire_nesting_is_acceptable (value, type_string, type_len))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A payload or channel id of type %s nests deeper than a receiver "
                   "accepts: GLib loads untrusted data only up to %u levels of containers, "
                   "a variant counting with the depth of its value's type",
                   type_len <= 64 ? type_string : "(too long to show)",
                   (guint) COPROC_WIRE_MAX_DEPTH);
      return FALSE;
    }

  *size = g_variant_get_size (value) + 1 + type_len;
  return TRUE;
}

/* The header of a frame, once the protocol's limits allow it. */
static gboolean
make_header (CoprocTransport       *t,
             const CoprocOutFrame  *frame,
             CoprocWireHeader      *header,
             GError               **error)
{
  guint32 peer_max = coproc_frame_parser_get_peer_max_message_size (t->parser);
  guint64 limit = t->max_message_size;
  gsize payload_size = 0;
  gsize channel_size = 0;

  if ((frame->payload != NULL && !encoded_size (frame->payload, &payload_size, error)) ||
      (frame->channel_id != NULL && !encoded_size (frame->channel_id, &channel_size, error)))
    return FALSE;

  if (peer_max != 0)
    limit = MIN (limit, peer_max);

  if ((guint64) payload_size + channel_size > limit)
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE,
                   "A message of %" G_GSIZE_FORMAT " bytes is larger than the maximum of %"
                   G_GUINT64_FORMAT " bytes", payload_size + channel_size, limit);
      return FALSE;
    }

  memset (header, 0, sizeof *header);
  header->kind = frame->kind;
  header->payload_size = payload_size;
  header->channel_size = channel_size;
  header->priority = frame->priority;
  header->request_id = frame->request_id;
  return TRUE;
}

gboolean
coproc_transport_send (CoprocTransport  *t,
                       CoprocWireKind    kind,
                       GVariant         *payload,
                       GVariant         *channel_id,
                       gdouble           priority,
                       GError          **error)
{
  CoprocOutFrame frame = { kind, payload, channel_id, priority, 0 };

  return coproc_transport_send_frame (t, &frame, NULL, error);
}

guint
coproc_transport_get_peer_minor (CoprocTransport *t)
{
  return coproc_frame_parser_get_peer_minor (t->parser);
}

void
coproc_transport_set_minors (CoprocTransport *t,
                             guint            announce_minor,
                             guint            peer_minor)
{
  g_assert (t->context == NULL);

  t->announce_minor = announce_minor;
  coproc_frame_parser_set_peer_minor (t->parser, peer_minor);
}

gboolean
coproc_transport_passes_fds (CoprocTransport *t)
{
  return t->backend->passes_fds;
}

/* Waits until the peer's handshake is parsed, reading meanwhile: what the
 * peer speaks decides whether a message's descriptors may go. */
static gboolean
wait_handshake (CoprocTransport  *t,
                Waiter           *w,
                GError          **error)
{
  while (!coproc_frame_parser_has_handshake (t->parser))
    {
      if (!coproc_transport_check_open (t, error))
        return FALSE;

      if (!t->paused)
        coproc_transport_pump (t, 1, FALSE);
      if (coproc_frame_parser_has_handshake (t->parser))
        break;
      if (!coproc_transport_check_open (t, error))
        return FALSE;
      if (t->paused || t->eof)
        {
          /* Cannot happen before a handshake; never spin. */
          g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_CLOSED,
                               "The peer's handshake did not arrive");
          return FALSE;
        }
      if (!t->backend->wait (t, WAIT_READ, w, error))
        return FALSE;
    }

  return TRUE;
}

/* Whether the message's @n descriptors may go with a frame: the stream
 * passes descriptors, the peer reads them (protocol 1.2), and there are
 * not too many. */
static gboolean
check_message_fds (CoprocTransport  *t,
                   guint             n,
                   Waiter           *w,
                   GError          **error)
{
  if (n > COPROC_WIRE_MAX_MESSAGE_FDS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "A message carries %u file descriptors; at most %u can go with one message",
                   n, (guint) COPROC_WIRE_MAX_MESSAGE_FDS);
      return FALSE;
    }

  if (!t->backend->passes_fds)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "This messenger's stream cannot pass file descriptors: only a "
                           "Unix domain socket can");
      return FALSE;
    }

  /* What the peer speaks is known already, or its handshake says. */
  if (coproc_frame_parser_get_peer_minor (t->parser) < COPROC_WIRE_MINOR &&
      !wait_handshake (t, w, error))
    return FALSE;

  if (coproc_frame_parser_get_peer_minor (t->parser) < COPROC_WIRE_MINOR)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "The peer did not announce coproc protocol 1.2, which file "
                           "descriptors of a message need (a peer of coproc 1.0 or 1.1, or "
                           "one made over a stream with no way to announce it)");
      return FALSE;
    }

  return TRUE;
}

/* Duplicates of the descriptors of @list, to go with the frame that is
 * buffered next. */
static gboolean
attach_message_fds (CoprocTransport   *t,
                    CoprocWireHeader  *header,
                    GUnixFDList       *list,
                    GError           **error)
{
  const int *fds = g_unix_fd_list_peek_fds (list, NULL);
  guint n = g_unix_fd_list_get_length (list);
  guint first = t->out_fds->len;

  for (guint i = 0; i < n; i++)
    {
      OutFd entry = { t->written_total + wbuf_pending (t), -1, 0 };

      entry.fd = fcntl (fds[i], F_DUPFD_CLOEXEC, 3);
      if (entry.fd < 0)
        {
          int errsv = errno;

          for (guint j = first; j < t->out_fds->len; j++)
            close (g_array_index (t->out_fds, OutFd, j).fd);
          g_array_set_size (t->out_fds, first);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "Could not duplicate file descriptor %d of the message: %s",
                       fds[i], g_strerror (errsv));
          return FALSE;
        }
      g_array_append_val (t->out_fds, entry);
    }

  header->flags |= COPROC_WIRE_FLAG_MESSAGE_FDS;
  header->n_fds += n;
  return TRUE;
}

/* A send that failed before its frame was buffered takes back the
 * descriptors attached for it, from the @first-th on. */
static void
detach_fds (CoprocTransport *t,
            guint            first,
            guint64          frame_offset)
{
  if (t->written_total + wbuf_pending (t) != frame_offset)
    return;   /* the frame is buffered: they go with it */

  for (guint i = first; i < t->out_fds->len; i++)
    {
      OutFd *entry = &g_array_index (t->out_fds, OutFd, i);

      t->out_fd_bytes -= entry->size;
      close (entry->fd);
    }
  if (first < t->out_fds->len)
    g_array_set_size (t->out_fds, first);
}

gboolean
coproc_transport_write_failed (CoprocTransport *t)
{
  return t->write_error != NULL;
}

gboolean
coproc_transport_send_frame (CoprocTransport      *t,
                             const CoprocOutFrame *frame,
                             GCancellable         *cancellable,
                             GError              **error)
{
  GVariant *payload = frame->payload;
  GVariant *channel_id = frame->channel_id;
  g_auto(Waiter) w = waiter_for_send (t, cancellable);
  guint n_message_fds = frame->fd_list ? g_unix_fd_list_get_length (frame->fd_list) : 0;
  CoprocWireHeader header;
  guint first_fd;
  guint64 frame_offset;
  FrameWay way;
  gboolean ok;

  if (!coproc_transport_check_open (t, error) || !make_header (t, frame, &header, error) ||
      (n_message_fds > 0 && !check_message_fds (t, n_message_fds, &w, error)))
    return FALSE;

  if (payload != NULL)
    coproc_wire_anchor_type (&t->send_anchor, payload);

  /* A payload in a memfd waits for room before it is copied in; so do a
   * message's descriptors before they are duplicated. */
  way = choose_way (t, &header, TRUE);
  if (n_message_fds > 0 && way == WAY_DIRECT)
    way = WAY_INLINE;   /* descriptors go with buffered frames only */
  if ((way == WAY_MEMFD || n_message_fds > 0) &&
      !room_for (t, way == WAY_MEMFD ? header.payload_size : coproc_wire_frame_size (&header),
                 n_message_fds + (way == WAY_MEMFD)) &&
      !make_room (t, way == WAY_MEMFD ? header.payload_size : coproc_wire_frame_size (&header),
                  n_message_fds + (way == WAY_MEMFD), &w, error))
    return FALSE;

  first_fd = t->out_fds->len;
  frame_offset = t->written_total + wbuf_pending (t);
  if (way == WAY_MEMFD && !attach_memfd (t, &header, payload))
    {
      way = choose_way (t, &header, FALSE);
      if (n_message_fds > 0 && way == WAY_DIRECT)
        way = WAY_INLINE;
    }
  if (n_message_fds > 0 && !attach_message_fds (t, &header, frame->fd_list, error))
    {
      detach_fds (t, first_fd, frame_offset);
      return FALSE;
    }

  switch (way)
    {
    case WAY_DIRECT:
      return write_direct (t, &header, channel_id, payload, &w, error);

    case WAY_MEMFD:
      ok = buffer_frame (t, &header, channel_id, NULL, &w, error);
      break;

    case WAY_INLINE:
    default:
      ok = buffer_frame (t, &header, channel_id, payload, &w, error);
      break;
    }

  if (!ok)
    detach_fds (t, first_fd, frame_offset);
  return ok;
}

/* Input ----------------------------------------------------------------------- */

/* Reads once into the parser. */
static IOResult
read_input (CoprocTransport  *t,
            GError          **error)
{
  gsize space;
  guint8 *buf = coproc_frame_parser_get_space (t->parser, &space);
  gsize n = 0;
  IOResult r;

  r = t->backend->read (t, buf, space, &n, error);
  if (r != IO_OK)
    return r;

  /* A read of a socket that did not fill the space left it empty: no need
   * to ask again (a read that finds nothing costs a system call). */
  t->drained = t->backend->polls_one_fd && n < space;
  coproc_frame_parser_commit (t->parser, n);
  return IO_OK;
}

/* Reads once; the result of anything but a fatal read is left to parsing. */
static IOResult
read_step (CoprocTransport *t)
{
  GError *error = NULL;
  IOResult r = read_input (t, &error);

  switch (r)
    {
    case IO_EOF:
      t->eof = TRUE;
      break;

    case IO_BROKEN:
      /* A reset is how a crashed peer often looks: treat it as a hang-up,
       * after what was already read. */
      g_clear_error (&error);
      t->eof = TRUE;
      break;

    case IO_FATAL:
      lose (t, FALSE, error);
      break;

    default:
      break;
    }

  return r;
}

/* Parses the next frame and hands it over. Returns FALSE when no whole
 * frame is buffered. */
static gboolean
deliver_next (CoprocTransport *t,
              gboolean         in_dispatch)
{
  CoprocFrame frame = { 0 };
  GError *error = NULL;

  switch (coproc_frame_parser_next (t->parser, &frame, &error))
    {
    case COPROC_PARSE_FRAME:
      if (!t->callbacks->frame (t->owner, &frame, in_dispatch))
        t->paused = TRUE;
      coproc_frame_clear (&frame);
      return TRUE;

    case COPROC_PARSE_DROPPED:
      if (!t->callbacks->dropped (t->owner, error))
        t->paused = TRUE;
      return TRUE;

    case COPROC_PARSE_FATAL:
      lose (t, FALSE, error);
      return TRUE;

    case COPROC_PARSE_NEED_MORE:
    default:
      return FALSE;
    }
}

/* One pass of the pump: parse what is buffered, read more, until the
 * stream would block, @max_reads reads were made, the owner paused
 * parsing, input ended, or (with a @deadline, a monotonic time) the time
 * is up after a frame: then it returns FALSE. */
static gboolean
pump_pass (CoprocTransport *t,
           guint            max_reads,
           gint64           deadline,
           gboolean         in_dispatch,
           guint           *reads)
{
  while (!t->closed && !t->paused)
    {
      if (deliver_next (t, in_dispatch))
        {
          if (deadline >= 0 && !t->closed && !t->paused && g_get_monotonic_time () >= deadline)
            return FALSE;
          continue;
        }

      if (t->eof)
        {
          lose (t, coproc_frame_parser_in_frame (t->parser), NULL);
          break;
        }

      /* Past the owner's bound the kernel holds the peer back. */
      if (*reads >= max_reads || !t->callbacks->want_input (t->owner) ||
          (*reads > 0 && t->drained))
        break;
      (*reads)++;

      if (read_step (t) == IO_WOULD_BLOCK)
        break;
    }

  return TRUE;
}

/* Pumps until done, or until @deadline (-1: none) is past; returns FALSE
 * in that case, with frames (or input) maybe left. The owner serves what
 * waited for input either way. */
static gboolean
pump_until (CoprocTransport *t,
            guint            max_reads,
            gint64           deadline,
            gboolean         in_dispatch)
{
  GObject *owner = g_object_ref (t->owner);
  guint reads = 0;
  gboolean in_time;

  do
    in_time = pump_pass (t, max_reads, deadline, in_dispatch, &reads);
  while (t->callbacks->input_done (owner) && !t->closed && in_time);

  g_object_unref (owner);
  return in_time;
}

void
coproc_transport_pump (CoprocTransport *t,
                       guint            max_reads,
                       gboolean         in_dispatch)
{
  pump_until (t, max_reads, -1, in_dispatch);
}

void
coproc_transport_resume_parsing (CoprocTransport *t)
{
  t->paused = FALSE;
}

/* Reads while a send waits for the peer, so that the peer never blocks on
 * us: parses too, unless parsing is paused (reads_while_waiting()). */
static void
drain (CoprocTransport *t)
{
  if (!t->paused)
    {
      coproc_transport_pump (t, 1, FALSE);
      return;
    }

  if (!t->closed && reads_while_waiting (t))
    read_step (t);
}

gboolean
coproc_transport_wait (CoprocTransport  *t,
                       gboolean          want_read,
                       gboolean          want_write,
                       GCancellable     *cancellable,
                       GError          **error)
{
  g_auto(Waiter) w = { cancellable, -1, 0, -1 };

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  return t->backend->wait (t, (want_read ? WAIT_READ : 0) | (want_write ? WAIT_WRITE : 0), &w,
                           error);
}

gboolean
coproc_transport_can_wait_first (CoprocTransport *t)
{
  return t->backend->polls_one_fd && coproc_frame_parser_is_empty (t->parser) && !t->paused &&
         !t->closed && !t->eof && wbuf_pending (t) == 0;
}

/* The watch source ---------------------------------------------------------------- */

/* Each dispatch hands frames to the owner (and so to its signal handlers)
 * for DISPATCH_TIME_BUDGET_US at most, besides reading at most
 * DISPATCH_MAX_READS times. When the time is up it returns with the source
 * ready again (a ready time of 0): the sources of the same priority that
 * are ready too dispatch in this iteration, and the next one goes on where
 * this one stopped, frames still buffered and in order. */
static gboolean
watch_dispatch (GSource     *source,
                GSourceFunc  callback,
                gpointer     user_data)
{
  WatchSource *ws = (WatchSource *) source;
  CoprocTransport *t = ws->transport;
  GIOCondition cond = t->backend->watch_query (t, ws);
  GObject *owner = g_object_ref (t->owner);
  gboolean resume = ws->yielded;
  gboolean keep;

  ws->yielded = FALSE;
  if (resume)
    g_source_set_ready_time (source, -1);

  if ((cond & G_IO_OUT) && wbuf_pending (t) > 0)
    coproc_transport_flush_nonblocking (t, NULL);

  if (!t->closed && (resume || (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))) &&
      !pump_until (t, DISPATCH_MAX_READS, g_get_monotonic_time () + DISPATCH_TIME_BUDGET_US,
                   TRUE))
    ws->yielded = TRUE;

  keep = !t->closed;
  if (keep)
    {
      coproc_transport_update_watch (t);
      if (ws->yielded)
        g_source_set_ready_time (source, 0);
    }

  /* The last reference may go here, and the transport with it. */
  g_object_unref (owner);

  return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
watch_finalize (GSource *source)
{
  WatchSource *ws = (WatchSource *) source;

  g_clear_pointer (&ws->in_child, g_source_unref);
  g_clear_pointer (&ws->out_child, g_source_unref);
}

void
coproc_transport_update_watch (CoprocTransport *t)
{
  if (t->watch == NULL || t->closed)
    return;

  t->backend->watch_update (t, (WatchSource *) t->watch,
                            !t->paused && t->callbacks->want_input (t->owner),
                            wbuf_pending (t) > 0);
}
