/* fuzz-stream.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: everything a hostile peer can send. The input (laid out
 * in fuzz-common.h) is written into one end of a socket pair, or served by a
 * pollable in-memory stream; a messenger over the other end takes messages
 * until it reports that the peer is gone.
 *
 * Whatever the bytes, this must terminate, never crash or leak, never emit
 * a critical warning, and the counters must agree with what was taken.
 */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>

#include "coproc-wire-private.h"

#include "fuzz-common.h"

/* FuzzMessenger: queues like the priority or multi kinds do, and remembers
 * every channel it saw so that FUZZ_DRIVE_AWAIT can drain them all. */

#define FUZZ_TYPE_MESSENGER (fuzz_messenger_get_type ())
G_DECLARE_FINAL_TYPE (FuzzMessenger, fuzz_messenger, FUZZ, MESSENGER, CoprocMessenger)

struct _FuzzMessenger
{
  CoprocMessenger  parent_instance;
  GPtrArray       *channels;   /* of GVariant, owned; the non-default channels seen */
  gboolean         fifo;
};

G_DEFINE_FINAL_TYPE (FuzzMessenger, fuzz_messenger, COPROC_TYPE_MESSENGER)

static gboolean
find_channel (GPtrArray *channels,
              GVariant  *channel_id,
              guint     *index)
{
  for (guint i = 0; i < channels->len; i++)
    {
      if (g_variant_equal (g_ptr_array_index (channels, i), channel_id))
        {
          *index = i;
          return TRUE;
        }
    }

  return FALSE;
}

static void
fuzz_messenger_queue_message (CoprocMessenger *messenger,
                              CoprocMessage   *message)
{
  FuzzMessenger *self = FUZZ_MESSENGER (messenger);
  GVariant *channel_id = coproc_message_get_channel_id (message);
  guint index;

  if (channel_id != NULL && !find_channel (self->channels, channel_id, &index))
    g_ptr_array_add (self->channels, g_variant_ref (channel_id));

  coproc_messenger_enqueue (messenger, message,
                            self->fifo ? 0.0 : coproc_message_get_priority (message));
}

static void
fuzz_messenger_finalize (GObject *object)
{
  FuzzMessenger *self = FUZZ_MESSENGER (object);

  g_clear_pointer (&self->channels, g_ptr_array_unref);

  G_OBJECT_CLASS (fuzz_messenger_parent_class)->finalize (object);
}

static void
fuzz_messenger_class_init (FuzzMessengerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = fuzz_messenger_finalize;
  COPROC_MESSENGER_CLASS (klass)->queue_message = fuzz_messenger_queue_message;
}

static void
fuzz_messenger_init (FuzzMessenger *self)
{
  self->channels = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
}

/* Feeding ------------------------------------------------------------------ */

typedef struct
{
  const guint8 *data;
  gsize         len;
  gsize         offset;
  gsize         chunk;      /* 0: as much as fits */
  int           fd;         /* -1 when there is nothing to feed */
  gboolean      done;       /* everything written and the write side shut */

  /* Descriptor passing (FUZZ_STREAM_FDS). */
  gboolean      pass_fds;
  guint8        fd_flags;   /* FuzzFdFlags */
  const guint8 *file;
  gsize         file_size;
  GArray       *fd_frames;  /* of gsize: offsets of frames whose payload is passed */
  guint         next_fd_frame;
} Feeder;

/* Finds the frames that announce a passed payload, walking the stream as
 * the receiver will (as far as the headers make sense). */
static void
feeder_find_fd_frames (Feeder *feeder)
{
  gsize offset = COPROC_WIRE_HANDSHAKE_SIZE;

  while (offset + COPROC_WIRE_HEADER_SIZE <= feeder->len)
    {
      CoprocWireHeader header;

      /* Fills the header even when it fails validation. */
      coproc_wire_read_header (feeder->data + offset, &header, NULL);
      if (header.flags & COPROC_WIRE_FLAG_PAYLOAD_FD)
        g_array_append_val (feeder->fd_frames, offset);
      if (coproc_wire_frame_size (&header) > feeder->len - offset)
        break;
      offset += coproc_wire_frame_size (&header);
    }
}

/* A descriptor as the feeder's flags want it; -1 if none could be made. */
static int
feeder_make_fd (Feeder *feeder)
{
  int fd;

  if (feeder->fd_flags & FUZZ_FD_PIPE)
    {
      int pipe_fds[2];

      if (pipe2 (pipe_fds, O_CLOEXEC) != 0)
        return -1;
      close (pipe_fds[1]);
      return pipe_fds[0];
    }

  fd = memfd_create ("fuzz-payload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return -1;

  if (feeder->file_size > 0 &&
      write (fd, feeder->file, feeder->file_size) != (gssize) feeder->file_size)
    g_error ("Could not fill a memfd: %s", g_strerror (errno));

  if (!(feeder->fd_flags & FUZZ_FD_UNSEALED) &&
      fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    g_error ("Could not seal a memfd: %s", g_strerror (errno));

  return fd;
}

static gssize
feeder_send (Feeder   *feeder,
             gsize     n,
             gboolean  attach)
{
  union {
    struct cmsghdr align;
    char           buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct iovec iov = { (guint8 *) feeder->data + feeder->offset, n };
  struct msghdr msg = { 0 };
  gssize written;
  int passed = -1;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;

  if (attach && (passed = feeder_make_fd (feeder)) >= 0)
    {
      struct cmsghdr *c;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (c), &passed, sizeof (int));
    }

  written = sendmsg (feeder->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);

  /* In flight, the kernel holds its own reference. */
  if (passed >= 0)
    close (passed);

  return written;
}

/* Writes the next piece; returns TRUE when that made progress. */
static gboolean
feeder_step (Feeder *feeder)
{
  gsize n;
  gssize written;
  gboolean attach = FALSE;
  gboolean frame_fd = FALSE;

  if (feeder->done)
    return FALSE;

  if (feeder->offset == feeder->len)
    {
      shutdown (feeder->fd, SHUT_WR);
      feeder->done = TRUE;
      return TRUE;
    }

  n = feeder->len - feeder->offset;
  if (feeder->chunk > 0)
    n = MIN (n, feeder->chunk);

  if (feeder->pass_fds)
    {
      /* As a real sender does: a passed payload's descriptor goes with
       * the first byte of its frame, and no other write carries one. */
      if (feeder->next_fd_frame < feeder->fd_frames->len)
        {
          gsize next = g_array_index (feeder->fd_frames, gsize, feeder->next_fd_frame);

          if (next == feeder->offset)
            {
              frame_fd = TRUE;
              /* Up to the next frame that needs its own descriptor. */
              if (feeder->next_fd_frame + 1 < feeder->fd_frames->len)
                next = g_array_index (feeder->fd_frames, gsize, feeder->next_fd_frame + 1);
              else
                next = feeder->len;
            }
          n = MIN (n, next - feeder->offset);
        }
      attach = frame_fd || (feeder->fd_flags & FUZZ_FD_EVERY_WRITE);
    }

  written = feeder_send (feeder, n, attach);
  if (written < 0)
    {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return FALSE;

      /* The messenger gave up on the stream: nothing more can arrive. */
      feeder->done = TRUE;
      return TRUE;
    }

  if (frame_fd)
    feeder->next_fd_frame++;
  feeder->offset += written;
  return TRUE;
}

/* Driving ------------------------------------------------------------------ */

typedef struct
{
  CoprocMessenger *messenger;
  FuzzDrive        drive;
  gboolean         consume;
  guint64          taken_default;   /* messages taken from the default channel */
  GArray          *taken;           /* guint64 per FuzzMessenger channel */
  guint            closed_emissions;
  gboolean         receive_pending;
  gboolean         stuck;           /* the queues are full of what this drive cannot take */
  guint64          steps;
  guint64          max_steps;
} Driver;

/* Every call consumes input or reports the end, so a bounded number of calls
 * must drain any input; more means the messenger is spinning. */
static void
count_step (Driver *driver)
{
  if (++driver->steps > driver->max_steps)
    g_error ("The messenger made no progress after %" G_GUINT64_FORMAT " calls",
             driver->steps);
}

static gboolean
input_held (Driver *driver)
{
  return coproc_messenger_queued_bytes (driver->messenger) >=
         coproc_messenger_get_max_queued_bytes (driver->messenger);
}

/* Past max-queued-bytes the messenger reads no more. Only FUZZ_DRIVE_AWAIT
 * knows every channel; the others take from the default channel alone, and
 * once that is dry while the bound holds input back, nothing can move. */
static gboolean
check_stuck (Driver *driver)
{
  if (!driver->stuck && driver->drive != FUZZ_DRIVE_AWAIT &&
      !coproc_messenger_is_closed (driver->messenger) && input_held (driver) &&
      coproc_messenger_queue_size (driver->messenger, NULL) == 0)
    driver->stuck = TRUE;

  return driver->stuck;
}

/* The end of the conversation: the peer hung up or broke the protocol. */
static gboolean
is_final_error (Driver       *driver,
                const GError *error)
{
  return coproc_messenger_is_closed (driver->messenger) &&
         (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSED) ||
          g_error_matches (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL));
}

/* A receive that would have to read past max-queued-bytes fails at once. */
static gboolean
is_queue_full (Driver       *driver,
               const GError *error)
{
  if (!g_error_matches (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL) ||
      coproc_messenger_is_closed (driver->messenger) || !input_held (driver))
    return FALSE;

  driver->stuck = TRUE;
  return TRUE;
}

static guint64 *
taken_slot (Driver   *driver,
            GVariant *channel_id)
{
  FuzzMessenger *fm = FUZZ_MESSENGER (driver->messenger);
  guint index = 0;

  g_assert_true (find_channel (fm->channels, channel_id, &index));
  if (driver->taken->len < fm->channels->len)
    g_array_set_size (driver->taken, fm->channels->len);

  return &g_array_index (driver->taken, guint64, index);
}

/* Takes what is queued on every channel the messenger can tell us about. */
static void
take_available (Driver *driver)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) payloads = NULL;
  guint n;

  count_step (driver);

  n = coproc_messenger_available (driver->messenger, NULL, &error);
  if (error != NULL)
    {
      g_assert_cmpuint (n, ==, 0);
      return;
    }
  g_assert_cmpuint (n, ==, coproc_messenger_queue_size (driver->messenger, NULL));

  payloads = coproc_messenger_receive_available (driver->messenger, NULL, &error);
  if (payloads == NULL)
    {
      g_assert_nonnull (error);
      return;
    }
  g_assert_cmpuint (payloads->len, >=, n);
  driver->taken_default += payloads->len;

  if (driver->drive == FUZZ_DRIVE_AWAIT)
    {
      FuzzMessenger *fm = FUZZ_MESSENGER (driver->messenger);

      for (guint i = 0; i < fm->channels->len; i++)
        {
          GVariant *channel_id = g_ptr_array_index (fm->channels, i);
          g_autoptr(GPtrArray) more = NULL;

          more = coproc_messenger_receive_available (driver->messenger, channel_id, &error);
          if (more == NULL)
            return;
          *taken_slot (driver, channel_id) += more->len;
        }
    }
}

static void
drive_blocking (Driver *driver)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CoprocMessage) message = NULL;

      count_step (driver);
      message = coproc_messenger_receive_message_blocking (driver->messenger, NULL, NULL, &error);
      if (message != NULL)
        {
          g_assert_null (coproc_message_get_channel_id (message));
          g_assert_nonnull (coproc_message_get_payload (message));
          driver->taken_default++;
        }
      else
        {
          g_assert_nonnull (error);
          if (is_final_error (driver, error) || is_queue_full (driver, error))
            return;
        }
    }
}

static void
drive_poll (Driver *driver)
{
  while ((!coproc_messenger_is_closed (driver->messenger) ||
          coproc_messenger_queue_size (driver->messenger, NULL) > 0) &&
         !check_stuck (driver))
    take_available (driver);

  /* What the peer sent before it went away stays surfaced in order; one
   * more round takes anything a last special message held back. */
  take_available (driver);
}

static void
drive_await (Driver *driver)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;

      count_step (driver);
      if (!coproc_messenger_await_available (driver->messenger, NULL, &error))
        {
          g_assert_nonnull (error);
          if (is_final_error (driver, error))
            return;
          continue;
        }

      take_available (driver);
    }
}

static void
receive_next (Driver *driver);

static void
received_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Driver *driver = user_data;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (driver->receive_pending);
  driver->receive_pending = FALSE;

  message = coproc_messenger_receive_message_finish (COPROC_MESSENGER (object), result, &error);
  if (message != NULL)
    {
      g_assert_null (coproc_message_get_channel_id (message));
      driver->taken_default++;
    }
  else
    {
      g_assert_nonnull (error);
      if (is_queue_full (driver, error))
        return;
    }

  if (message != NULL || !coproc_messenger_is_closed (driver->messenger))
    receive_next (driver);
}

static void
receive_next (Driver *driver)
{
  count_step (driver);
  driver->receive_pending = TRUE;
  coproc_messenger_receive_message_async (driver->messenger, NULL, NULL, received_cb, driver);
}

static gboolean
message_received_cb (CoprocMessenger *messenger,
                     CoprocMessage   *message,
                     Driver          *driver)
{
  g_assert_nonnull (coproc_message_get_payload (message));
  if (driver->consume && coproc_message_get_channel_id (message) == NULL)
    driver->taken_default++;

  return driver->consume;
}

static gboolean
error_received_cb (CoprocMessenger *messenger,
                   const GError    *error,
                   Driver          *driver)
{
  g_assert_nonnull (error);
  g_assert_nonnull (error->message);

  return driver->consume;
}

static gboolean
close_requested_cb (CoprocMessenger *messenger,
                    Driver          *driver)
{
  return driver->consume;
}

static void
closed_cb (CoprocMessenger *messenger,
           const GError    *error,
           Driver          *driver)
{
  g_assert_true (coproc_messenger_is_closed (messenger));
  driver->closed_emissions++;
}

static guint32
get_u32_le (const guint8 *in)
{
  guint32 v;

  memcpy (&v, in, sizeof v);
  return GUINT32_FROM_LE (v);
}

/* Runs one input through a fresh messenger. */
static void
run_input (const guint8 *data,
           gsize         size)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) taken = NULL;
  g_autoptr(GArray) fd_frames = NULL;
  Feeder feeder = { 0 };
  Driver driver = { 0 };
  guint8 mode;
  GType type;
  int fds[2] = { -1, -1 };

  if (size < FUZZ_STREAM_PREFIX_SIZE)
    return;

  mode = data[0];
  feeder.chunk = data[1];
  feeder.data = data + FUZZ_STREAM_PREFIX_SIZE;
  feeder.len = size - FUZZ_STREAM_PREFIX_SIZE;
  feeder.fd = -1;
  fd_frames = g_array_new (FALSE, FALSE, sizeof (gsize));
  feeder.fd_frames = fd_frames;

  if ((mode & FUZZ_STREAM_FDS) && !(mode & FUZZ_STREAM_MEMORY))
    {
      if (feeder.len < FUZZ_STREAM_FD_HEADER_SIZE)
        return;

      feeder.pass_fds = TRUE;
      feeder.file_size = MIN (get_u32_le (feeder.data), feeder.len - FUZZ_STREAM_FD_HEADER_SIZE);
      feeder.fd_flags = feeder.data[4];
      feeder.data += FUZZ_STREAM_FD_HEADER_SIZE;
      feeder.len -= FUZZ_STREAM_FD_HEADER_SIZE + feeder.file_size;
      feeder.file = feeder.data + feeder.len;
      feeder_find_fd_frames (&feeder);
    }

  driver.drive = (mode & FUZZ_STREAM_DRIVE_MASK) >> FUZZ_STREAM_DRIVE_SHIFT;
  driver.consume = (mode & FUZZ_STREAM_CONSUME) != 0;
  /* Generous: one call per input byte, plus the calls around the end. */
  driver.max_steps = 2 * feeder.len + 64;
  taken = g_array_new (FALSE, TRUE, sizeof (guint64));
  driver.taken = taken;

  if (driver.drive == FUZZ_DRIVE_AWAIT)
    type = FUZZ_TYPE_MESSENGER;
  else if (mode & FUZZ_STREAM_MULTI)
    type = COPROC_TYPE_MULTI_MESSENGER;
  else
    type = COPROC_TYPE_PRIORITY_MESSENGER;

  /* Each run owns a fresh context: nothing outlives it. */
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);

  if (mode & FUZZ_STREAM_MEMORY)
    {
      g_autoptr(GInputStream) input = NULL;
      g_autoptr(GOutputStream) output = NULL;

      input = g_memory_input_stream_new_from_data (feeder.data, feeder.len, NULL);
      output = g_memory_output_stream_new_resizable ();
      stream = g_simple_io_stream_new (input, output);
      feeder.done = TRUE;
    }
  else
    {
      g_autoptr(GSocket) socket = NULL;

      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        g_error ("socketpair: %s", g_strerror (errno));
      socket = g_socket_new_from_fd (fds[1], &error);
      g_assert_no_error (error);
      stream = G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
      feeder.fd = fds[0];
    }

  messenger = coproc_messenger_new_for_stream (type, stream, &error);
  g_assert_no_error (error);
  driver.messenger = messenger;

  if (mode & FUZZ_STREAM_SMALL_MAX)
    coproc_messenger_set_max_message_size (messenger, FUZZ_STREAM_SMALL_MAX_SIZE);
  if (mode & FUZZ_STREAM_SMALL_QUEUE)
    coproc_messenger_set_max_queued_bytes (messenger, FUZZ_STREAM_SMALL_QUEUE_SIZE);
  if (type == FUZZ_TYPE_MESSENGER)
    FUZZ_MESSENGER (messenger)->fifo = (mode & FUZZ_STREAM_MULTI) != 0;

  if (driver.drive == FUZZ_DRIVE_MAIN_LOOP)
    {
      g_signal_connect (messenger, "message-received", G_CALLBACK (message_received_cb), &driver);
      g_signal_connect (messenger, "error-received", G_CALLBACK (error_received_cb), &driver);
      g_signal_connect (messenger, "close-requested", G_CALLBACK (close_requested_cb), &driver);
      g_signal_connect (messenger, "closed", G_CALLBACK (closed_cb), &driver);
      receive_next (&driver);
    }

  /* While the peer's bytes are still being written, only calls that never
   * block: the writer is this same thread. */
  while (!feeder.done && !check_stuck (&driver))
    {
      gboolean progress = feeder_step (&feeder);

      if (driver.drive == FUZZ_DRIVE_MAIN_LOOP)
        {
          g_main_context_iteration (context, FALSE);
          /* A special message nobody handled holds up reading until a
           * receive call surfaces it. */
          if (!progress)
            take_available (&driver);
        }
      else
        take_available (&driver);
    }

  if (!driver.stuck)
    {
      switch (driver.drive)
        {
        case FUZZ_DRIVE_BLOCKING:
          drive_blocking (&driver);
          break;

        case FUZZ_DRIVE_POLL:
          drive_poll (&driver);
          break;

        case FUZZ_DRIVE_AWAIT:
          drive_await (&driver);
          break;

        case FUZZ_DRIVE_MAIN_LOOP:
        default:
          while ((driver.closed_emissions == 0 && !driver.stuck) || driver.receive_pending)
            {
              count_step (&driver);
              g_main_context_iteration (context, TRUE);
            }
          break;
        }
    }

  /* Either the peer is gone, or the bound holds back input that only a
   * receive on a channel this drive does not know could make room for. */
  if (driver.stuck)
    {
      g_assert_true (input_held (&driver));
      g_assert_cmpuint (driver.drive, !=, FUZZ_DRIVE_AWAIT);
    }
  else
    g_assert_true (coproc_messenger_is_closed (messenger));

  /* From here on, a receive never blocks: it returns what is queued or fails. */
  {
    g_autoptr(GError) local_error = NULL;
    g_autoptr(CoprocMessage) message = NULL;

    message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &local_error);
    if (message != NULL)
      driver.taken_default++;
    else
      g_assert_nonnull (local_error);
  }

  /* The counters account exactly for what was taken. Nothing was sent, so
   * no reply, solicited or not, counts as a reply received. */
  g_assert_cmpuint (coproc_messenger_messages_received (messenger, NULL), ==,
                    driver.taken_default);
  g_assert_cmpuint (coproc_messenger_requests_sent (messenger, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_replies_received (messenger, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_messages_sent (messenger, NULL), ==, 0);

  if (type == FUZZ_TYPE_MESSENGER)
    {
      FuzzMessenger *fm = FUZZ_MESSENGER (messenger);

      for (guint i = 0; i < fm->channels->len; i++)
        {
          GVariant *channel_id = g_ptr_array_index (fm->channels, i);
          guint64 n = i < taken->len ? g_array_index (taken, guint64, i) : 0;

          g_assert_cmpuint (coproc_messenger_messages_received (messenger, channel_id), ==, n);
          g_assert_cmpuint (coproc_messenger_replies_received (messenger, channel_id), ==, 0);
        }
    }

  /* Let ::closed and any completion run, then drop everything. */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_clear_object (&messenger);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  if (driver.drive == FUZZ_DRIVE_MAIN_LOOP && !driver.stuck)
    g_assert_cmpuint (driver.closed_emissions, ==, 1);

  if (fds[0] >= 0)
    close (fds[0]);
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  /* A critical warning is a bug the fuzzer found. */
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  g_type_ensure (COPROC_TYPE_PRIORITY_MESSENGER);
  g_type_ensure (COPROC_TYPE_MULTI_MESSENGER);
  g_type_ensure (FUZZ_TYPE_MESSENGER);

  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  run_input (data, size);
  return 0;
}
