/* test-faults.c: the host survives whatever happens to its workers and
 * streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Workers die during the handshake, in the middle of a frame, while the
 * host is blocked sending to them, and in the middle of a large message;
 * streams deliver one byte at a time, short pieces and spurious
 * WOULD_BLOCKs; signals interrupt every system call; a worker floods a
 * host that takes nothing. Each time the host must fail pending work
 * promptly with a clear error, deliver everything that was sent before
 * the fault, and leak nothing.
 *
 * This program is also its own worker: as a function worker (see
 * coproc_worker_register() below), or as a "raw" worker that writes bytes
 * by hand (`--raw-worker MODE`).
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <coproc.h>
#include <gio/gfiledescriptorbased.h>

#include "coproc-wire-private.h"

#include "choppy-stream.h"
#include "raw-peer.h"

#define FAULTS_ERROR (faults_error_quark ())
#define FAULTS_ERROR_BOOM 7
#define RESULT_SIZE (16 * 1024)  /* all N_RESULTS fit in the socket at once */
#define N_RESULTS 4

static GQuark
faults_error_quark (void)
{
  return g_quark_from_static_string ("coproc-faults-error-quark");
}

/* Helpers ------------------------------------------------------------------ */

static void
iterate_until (gboolean *flag)
{
  while (!*flag)
    g_main_context_iteration (NULL, TRUE);
}

typedef struct
{
  gboolean done;
  gint     status;
} ExitState;

static void
exited_cb (CoprocWorkerResource *resource,
           gint                  status,
           ExitState            *state)
{
  g_assert_false (state->done);
  state->done = TRUE;
  state->status = status;
}

/* Waits for the worker's process to end (event: ::exited). */
static gint
wait_exited (CoprocWorkerResource *resource,
             ExitState            *state)
{
  iterate_until (&state->done);
  g_assert_false (coproc_worker_resource_is_alive (resource));
  return state->status;
}

static CoprocWorkerResource *
start_worker (CoprocWorkerResource *resource,
              ExitState            *state)
{
  g_autoptr(GError) error = NULL;

  g_signal_connect (resource, "exited", G_CALLBACK (exited_cb), state);
  coproc_worker_resource_start (resource, &error);
  g_assert_no_error (error);
  g_assert_nonnull (coproc_worker_resource_get_messenger (resource));

  return resource;
}

static CoprocWorkerResource *
start_function_worker (const char *name,
                       ExitState  *state)
{
  return start_worker (coproc_worker_resource_new_for_function (name,
                                                                COPROC_TYPE_PRIORITY_MESSENGER),
                       state);
}

static CoprocWorkerResource *
start_raw_worker (const char *mode,
                  ExitState  *state)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  const char *argv[] = { exe, "--raw-worker", mode, NULL };

  g_assert_nonnull (exe);
  return start_worker (coproc_worker_resource_new (argv, COPROC_TYPE_PRIORITY_MESSENGER), state);
}

static int
messenger_fd (CoprocMessenger *messenger)
{
  GIOStream *stream = coproc_messenger_get_stream (messenger);
  GInputStream *input = g_io_stream_get_input_stream (stream);

  /* A socket connection, or Unix streams over the socket. */
  if (G_IS_SOCKET_CONNECTION (stream))
    return g_socket_get_fd (g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream)));

  g_assert_true (G_IS_FILE_DESCRIPTOR_BASED (input));
  return g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (input));
}

static void
assert_worker_died (const GError         *error,
                    CoprocWorkerResource *resource,
                    gboolean              mid_message)
{
  /* The resource names the worker in the error. */
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_assert_nonnull (strstr (error->message, "Worker process"));
  if (mid_message)
    g_assert_nonnull (strstr (error->message, "in the middle of a message"));
  else
    g_assert_null (strstr (error->message, "in the middle of a message"));
}

static GVariant *
result_payload (guint index)
{
  g_autofree guint8 *data = g_malloc (RESULT_SIZE);

  for (guint i = 0; i < RESULT_SIZE; i++)
    data[i] = (guint8) (index * 31 + i);

  return g_variant_new ("(u@ay)", index,
                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, RESULT_SIZE, 1));
}

/* Frames written by hand ----------------------------------------------------- */

static void
write_all (int           fd,
           const guint8 *data,
           gsize         size)
{
  while (size > 0)
    {
      gssize n = write (fd, data, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        exit (3);
      data += n;
      size -= n;
    }
}

/* A worker that speaks the wire protocol by hand, on descriptor 3, so it
 * can stop anywhere. It never returns normally from the fault. */
static int
raw_worker (const char *mode)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 handshake[COPROC_WIRE_HANDSHAKE_SIZE];
  const int fd = 3;

  coproc_wire_write_handshake (handshake, 0, COPROC_DEFAULT_MAX_MESSAGE_SIZE);
  g_byte_array_append (out, handshake, sizeof handshake);

  if (g_str_equal (mode, "half-handshake"))
    {
      /* Dies in the middle of its handshake. */
      write_all (fd, out->data, COPROC_WIRE_HANDSHAKE_SIZE / 2);
      raise (SIGKILL);
    }
  else if (g_str_equal (mode, "mute"))
    {
      /* Says nothing and waits to be killed. */
      for (;;)
        pause ();
    }
  else if (g_str_equal (mode, "mid-frame"))
    {
      gsize whole;

      /* One whole frame, then half of the next one: the host must get the
       * first message and then learn of the death. */
      raw_append_frame (out, COPROC_WIRE_KIND_NOREQUEST, NULL, g_variant_new_string ("first"), FALSE);
      whole = out->len;
      raw_append_frame (out, COPROC_WIRE_KIND_NOREQUEST, NULL, g_variant_new_string ("second, cut short"), FALSE);
      write_all (fd, out->data, whole + (out->len - whole) / 2);
      raise (SIGKILL);
    }
  else if (g_str_equal (mode, "eof-in-large-message"))
    {
      CoprocWireHeader header = { 0 };
      guint8 raw[COPROC_WIRE_HEADER_SIZE];
      g_autofree guint8 *body = g_malloc0 (1024 * 1024);

      /* A message, then a header announcing 8 MiB of which 1 MiB comes;
       * then a clean exit. */
      raw_append_frame (out, COPROC_WIRE_KIND_NOREQUEST, NULL, g_variant_new_string ("before"), FALSE);
      header.kind = COPROC_WIRE_KIND_NOREQUEST;
      header.payload_size = 8 * 1024 * 1024;
      header.priority = INFINITY;
      coproc_wire_write_header (raw, &header);
      g_byte_array_append (out, raw, sizeof raw);
      write_all (fd, out->data, out->len);
      write_all (fd, body, 1024 * 1024);
      return 0;
    }

  g_printerr ("Unknown raw worker mode %s\n", mode);
  return 2;
}

/* Function workers ----------------------------------------------------------- */

/* Sends N_RESULTS results, an error and a close request, then exits. */
static int
results_worker (CoprocMessenger *messenger,
                gpointer         user_data)
{
  g_autoptr(GError) boom = g_error_new (FAULTS_ERROR, FAULTS_ERROR_BOOM, "boom before dying");
  GError *error = NULL;

  for (guint i = 0; i < N_RESULTS; i++)
    {
      if (!coproc_messenger_send_norequest (messenger, result_payload (i), NULL, &error))
        return 1;
      if (i == N_RESULTS / 2 && !coproc_messenger_send_error (messenger, boom, &error))
        return 1;
    }
  if (!coproc_messenger_send_close_request (messenger, &error))
    return 1;

  return 0;
}

/* Sends its results, then stops reading forever: the host's sends fill
 * the pipe. */
static int
stall_worker (CoprocMessenger *messenger,
              gpointer         user_data)
{
  GError *error = NULL;

  for (guint i = 0; i < N_RESULTS; i++)
    {
      if (!coproc_messenger_send_norequest (messenger, result_payload (i), NULL, &error))
        return 1;
    }
  if (!coproc_messenger_flush (messenger, NULL, &error))
    return 1;

  for (;;)
    pause ();
}

/* Signal storms --------------------------------------------------------------- */

static volatile sig_atomic_t n_alarms;

static void
alarm_handler (int signum)
{
  n_alarms++;
}

/* SIGALRM every 100 µs, without SA_RESTART: every blocking system call of
 * the process is interrupted again and again. (Every 2 ms under valgrind,
 * where each signal costs far more.) */
static void
signal_storm_start (void)
{
  struct sigaction action = { 0 };
  suseconds_t interval = RUNNING_ON_VALGRIND ? 2000 : 100;
  struct itimerval timer = { { 0, interval }, { 0, interval } };

  action.sa_handler = alarm_handler;
  sigemptyset (&action.sa_mask);
  action.sa_flags = 0;
  g_assert_cmpint (sigaction (SIGALRM, &action, NULL), ==, 0);
  g_assert_cmpint (setitimer (ITIMER_REAL, &timer, NULL), ==, 0);
}

/* Stops the timer. The counting handler stays installed: a signal already
 * generated can still arrive after the timer stops (valgrind delivers them
 * late), and the default action would end the process. */
static void
signal_storm_stop (void)
{
  struct itimerval off = { { 0, 0 }, { 0, 0 } };

  g_assert_cmpint (setitimer (ITIMER_REAL, &off, NULL), ==, 0);
}

/* The echo peer ---------------------------------------------------------------- */

/* Sends back what it receives: a request as a reply, anything else as it
 * came, with the same channel and priority; errors as errors. It stops at
 * the close request or when the host goes away. */

static gboolean
echo_message_cb (CoprocMessenger *messenger,
                 CoprocMessage   *message,
                 GMainLoop       *loop)
{
  CoprocMessageKind kind = coproc_message_get_request_reply (message)
                           ? COPROC_MESSAGE_KIND_REPLY : coproc_message_get_kind (message);
  g_autoptr(GError) error = NULL;

  if (!coproc_messenger_send_with_priority (messenger, kind, coproc_message_get_payload (message),
                                            coproc_message_get_channel_id (message),
                                            coproc_message_get_priority (message), &error))
    g_main_loop_quit (loop);

  return TRUE;
}

static gboolean
echo_error_cb (CoprocMessenger *messenger,
               const GError    *remote_error,
               GMainLoop       *loop)
{
  coproc_messenger_send_error (messenger, remote_error, NULL);
  return TRUE;
}

static gboolean
echo_close_cb (CoprocMessenger *messenger,
               GMainLoop       *loop)
{
  g_main_loop_quit (loop);
  return TRUE;
}

static void
echo_closed_cb (CoprocMessenger *messenger,
                const GError    *error,
                GMainLoop       *loop)
{
  g_main_loop_quit (loop);
}

static void
echo_run (CoprocMessenger *messenger,
          GMainContext    *context)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (context, FALSE);

  g_signal_connect (messenger, "message-received", G_CALLBACK (echo_message_cb), loop);
  g_signal_connect (messenger, "error-received", G_CALLBACK (echo_error_cb), loop);
  g_signal_connect (messenger, "close-requested", G_CALLBACK (echo_close_cb), loop);
  g_signal_connect (messenger, "closed", G_CALLBACK (echo_closed_cb), loop);

  g_main_loop_run (loop);

  g_signal_handlers_disconnect_by_data (messenger, loop);
}

static int
echo_worker (CoprocMessenger *messenger,
             gpointer         user_data)
{
  gboolean storm = g_getenv ("COPROC_FAULTS_EINTR") != NULL;

  if (storm)
    signal_storm_start ();

  echo_run (messenger, NULL);

  if (storm)
    signal_storm_stop ();

  return 0;
}

/* Sends COPROC_FAULTS_FLOOD_BYTES of 64 KiB messages numbered from 0, as
 * fast as the host lets it. */
#define FLOOD_MESSAGE_SIZE (64 * 1024)

static int
flood_worker (CoprocMessenger *messenger,
              gpointer         user_data)
{
  guint64 total = g_ascii_strtoull (g_getenv ("COPROC_FAULTS_FLOOD_BYTES"), NULL, 10);
  g_autofree guint8 *data = g_malloc0 (FLOOD_MESSAGE_SIZE);
  g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&data), FLOOD_MESSAGE_SIZE);
  GError *error = NULL;

  for (guint64 seq = 0; seq * FLOOD_MESSAGE_SIZE < total; seq++)
    {
      GVariant *payload = g_variant_new ("(t@ay)", seq,
                                         g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                   bytes, TRUE));

      if (!coproc_messenger_send_norequest (messenger, payload, NULL, &error))
        return 1;
    }

  return 0;
}

/* The conversation ------------------------------------------------------------ */

#define N_CHANNELS 8

static const gdouble conversation_priorities[] = { 0, -2.5, 7, INFINITY };

static GVariant *
conversation_channel (guint index)
{
  guint c = index % N_CHANNELS;

  return c == 0 ? NULL : g_variant_new_int32 (c);
}

static gdouble
conversation_priority (guint index)
{
  return conversation_priorities[(index / N_CHANNELS) % G_N_ELEMENTS (conversation_priorities)];
}

static gboolean
conversation_is_request (guint index)
{
  return index % 3 != 0;
}

static GVariant *
conversation_payload (guint index)
{
  gsize len = (index * 37) % 500;
  g_autofree guint8 *data = g_malloc (len + 1);

  for (gsize j = 0; j < len; j++)
    data[j] = (guint8) (index + j);

  return g_variant_new ("(u@ay)", index,
                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, len, 1));
}

/* Sends @n messages on N_CHANNELS channels (requests and plain messages,
 * four priorities) and an error, to an echo peer; checks that every echo
 * comes back exactly once, in order within its channel and priority, and
 * that the counters agree; then asks the peer to close. */
static void
run_conversation (CoprocMessenger *host,
                  guint            n)
{
  g_autoptr(GError) boom = g_error_new (FAULTS_ERROR, FAULTS_ERROR_BOOM, "boom %u", n);
  guint expected[N_CHANNELS] = { 0 };
  guint requests[N_CHANNELS] = { 0 };
  guint received[N_CHANNELS] = { 0 };
  gint64 last[N_CHANNELS][G_N_ELEMENTS (conversation_priorities)];
  guint errors = 0;
  GError *error = NULL;

  for (guint c = 0; c < N_CHANNELS; c++)
    for (guint p = 0; p < G_N_ELEMENTS (conversation_priorities); p++)
      last[c][p] = -1;

  for (guint i = 0; i < n; i++)
    {
      CoprocMessageKind kind = conversation_is_request (i) ? COPROC_MESSAGE_KIND_REQUEST
                                                           : COPROC_MESSAGE_KIND_NOREQUEST;

      coproc_messenger_send_with_priority (host, kind, conversation_payload (i),
                                           conversation_channel (i), conversation_priority (i),
                                           &error);
      g_assert_no_error (error);
      expected[i % N_CHANNELS]++;
      if (kind == COPROC_MESSAGE_KIND_REQUEST)
        requests[i % N_CHANNELS]++;

      if (i == n / 2)
        {
          coproc_messenger_send_error (host, boom, &error);
          g_assert_no_error (error);
        }
    }

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      g_autoptr(GVariant) channel = conversation_channel (c);

      if (channel != NULL)
        g_variant_ref_sink (channel);

      while (received[c] < expected[c])
        {
          g_autoptr(CoprocMessage) message = NULL;
          g_autoptr(GVariant) expected_payload = NULL;
          guint32 index;
          guint p;

          message = coproc_messenger_receive_message_blocking (host, channel, NULL, &error);
          if (message == NULL)
            {
              /* The echoed error, exactly once, exactly as sent. */
              g_assert_error (error, FAULTS_ERROR, FAULTS_ERROR_BOOM);
              g_assert_cmpstr (error->message, ==, boom->message);
              g_clear_error (&error);
              errors++;
              continue;
            }

          g_variant_get_child (coproc_message_get_payload (message), 0, "u", &index);
          g_assert_cmpuint (index, <, n);
          g_assert_cmpuint (index % N_CHANNELS, ==, c);
          expected_payload = g_variant_ref_sink (conversation_payload (index));
          g_assert_cmpmem (g_variant_get_data (coproc_message_get_payload (message)),
                           g_variant_get_size (coproc_message_get_payload (message)),
                           g_variant_get_data (expected_payload),
                           g_variant_get_size (expected_payload));
          g_assert_cmpfloat (coproc_message_get_priority (message), ==,
                             conversation_priority (index));
          g_assert_cmpint (coproc_message_get_is_reply (message), ==,
                           conversation_is_request (index));
          g_assert_false (coproc_message_get_request_reply (message));

          /* Within a channel and a priority, first in, first out. */
          p = (index / N_CHANNELS) % G_N_ELEMENTS (conversation_priorities);
          g_assert_cmpint (last[c][p], <, (gint64) index);
          last[c][p] = index;
          received[c]++;
        }

      g_assert_cmpuint (coproc_messenger_requests_sent (host, channel), ==, requests[c]);
      g_assert_cmpuint (coproc_messenger_replies_received (host, channel), ==, requests[c]);
      g_assert_cmpuint (coproc_messenger_remaining (host, channel), ==, 0);
      g_assert_cmpuint (coproc_messenger_messages_sent (host, channel), ==, expected[c]);
      g_assert_cmpuint (coproc_messenger_messages_received (host, channel), ==, expected[c]);
      g_assert_cmpuint (coproc_messenger_queue_size (host, channel), ==, 0);
    }

  /* The error may have come after the last echo. */
  if (errors == 0)
    {
      g_assert_cmpuint (coproc_messenger_available (host, NULL, &error), ==, 0);
      g_assert_error (error, FAULTS_ERROR, FAULTS_ERROR_BOOM);
      g_clear_error (&error);
      errors++;
    }
  g_assert_cmpuint (errors, ==, 1);

  coproc_messenger_send_close_request (host, &error);
  g_assert_no_error (error);
  coproc_messenger_flush (host, NULL, &error);
  g_assert_no_error (error);
}

/* Tests: the handshake ----------------------------------------------------------- */

/* A worker that dies after half of its handshake: every receive fails
 * with WORKER_DIED, saying the stream broke off inside a message. */
static void
test_handshake_worker_dies (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  ExitState state = { 0 };
  CoprocMessenger *messenger;
  gint status;

  resource = start_raw_worker ("half-handshake", &state);
  messenger = coproc_worker_resource_get_messenger (resource);

  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_null (payload);
  assert_worker_died (error, resource, TRUE);
  g_clear_error (&error);

  status = wait_exited (resource, &state);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

  /* Still the same answer, at once; sends fail too. */
  g_assert_false (coproc_messenger_await_available (messenger, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
  g_clear_error (&error);
  g_assert_false (coproc_messenger_send_norequest (messenger, g_variant_new_int32 (1), NULL,
                                                   &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
}

typedef struct
{
  guint    emissions;
  GError  *error;
} ClosedState;

static void
closed_cb (CoprocMessenger *messenger,
           const GError    *error,
           ClosedState     *state)
{
  state->emissions++;
  g_clear_error (&state->error);
  state->error = error ? g_error_copy (error) : NULL;
}

typedef struct
{
  gboolean  done;
  GError   *error;
  GVariant *payload;
} AsyncState;

static void
received_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncState *state = user_data;

  state->payload = coproc_messenger_receive_finish (COPROC_MESSENGER (object), result,
                                                    &state->error);
  state->done = TRUE;
}

/* A worker killed before it said anything: blocking, waiting and async
 * receives all fail promptly with WORKER_DIED; ::closed comes once. */
static void
test_handshake_killed (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  ExitState state = { 0 };
  ClosedState closed = { 0 };
  AsyncState async = { 0 };
  CoprocMessenger *messenger;
  gint status;

  resource = start_raw_worker ("mute", &state);
  messenger = coproc_worker_resource_get_messenger (resource);
  g_signal_connect (messenger, "closed", G_CALLBACK (closed_cb), &closed);

  coproc_messenger_receive_async (messenger, NULL, NULL, received_cb, &async);
  g_assert_cmpint (kill (coproc_worker_resource_get_pid (resource), SIGKILL), ==, 0);

  iterate_until (&async.done);
  g_assert_null (async.payload);
  assert_worker_died (async.error, resource, FALSE);
  g_clear_error (&async.error);

  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_null (payload);
  assert_worker_died (error, resource, FALSE);
  g_clear_error (&error);

  g_assert_false (coproc_messenger_await_available (messenger, NULL, &error));
  assert_worker_died (error, resource, FALSE);

  status = wait_exited (resource, &state);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);

  /* A hang-up between messages is a clean one. */
  while (closed.emissions == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (closed.emissions, ==, 1);
  g_assert_no_error (closed.error);
  g_signal_handlers_disconnect_by_data (messenger, &closed);
}

/* Tests: frames cut short ---------------------------------------------------- */

/* Killed in the middle of a frame: the whole message before it arrives,
 * then the death, reported as a stream that broke off. */
static void
test_frame_killed_mid_frame (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariant) second = NULL;
  g_autoptr(GError) error = NULL;
  ExitState state = { 0 };
  ClosedState closed = { 0 };
  CoprocMessenger *messenger;
  gint status;

  resource = start_raw_worker ("mid-frame", &state);
  messenger = coproc_worker_resource_get_messenger (resource);
  g_signal_connect (messenger, "closed", G_CALLBACK (closed_cb), &closed);

  first = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (first, NULL), ==, "first");

  second = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_null (second);
  assert_worker_died (error, resource, TRUE);

  status = wait_exited (resource, &state);
  g_assert_true (WIFSIGNALED (status));

  while (closed.emissions == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (closed.emissions, ==, 1);
  g_assert_nonnull (closed.error);
  assert_worker_died (closed.error, resource, TRUE);
  g_clear_error (&closed.error);
  g_signal_handlers_disconnect_by_data (messenger, &closed);
}

/* The worker exits after 1 MiB of an 8 MiB message: the async receive
 * gets the message before it, then fails with WORKER_DIED. */
static void
test_frame_eof_in_large_message (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  ExitState state = { 0 };
  AsyncState first = { 0 };
  AsyncState second = { 0 };
  CoprocMessenger *messenger;
  gint status;

  resource = start_raw_worker ("eof-in-large-message", &state);
  messenger = coproc_worker_resource_get_messenger (resource);

  coproc_messenger_receive_async (messenger, NULL, NULL, received_cb, &first);
  coproc_messenger_receive_async (messenger, NULL, NULL, received_cb, &second);
  iterate_until (&second.done);

  g_assert_true (first.done);
  g_assert_no_error (first.error);
  g_assert_cmpstr (g_variant_get_string (first.payload, NULL), ==, "before");
  g_clear_pointer (&first.payload, g_variant_unref);

  g_assert_null (second.payload);
  assert_worker_died (second.error, resource, TRUE);
  g_clear_error (&second.error);

  status = wait_exited (resource, &state);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
}

/* Tests: sending to a worker that is gone ------------------------------------- */

/* Takes everything the worker sent before it died: its N_RESULTS results
 * in order, its error and its close request once each, then WORKER_DIED. */
static void
receive_results (CoprocMessenger      *messenger,
                 CoprocWorkerResource *resource,
                 gboolean              with_specials)
{
  guint next = 0;
  guint errors = 0;
  guint close_requests = 0;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = NULL;
      g_autoptr(GVariant) expected = NULL;

      payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (payload == NULL)
        {
          if (g_error_matches (error, FAULTS_ERROR, FAULTS_ERROR_BOOM))
            errors++;
          else if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
            close_requests++;
          else
            {
              assert_worker_died (error, resource, FALSE);
              break;
            }
          continue;
        }

      expected = g_variant_ref_sink (result_payload (next));
      g_assert_cmpmem (g_variant_get_data (payload), g_variant_get_size (payload),
                       g_variant_get_data (expected), g_variant_get_size (expected));
      next++;
    }

  g_assert_cmpuint (next, ==, N_RESULTS);
  g_assert_cmpuint (errors, ==, with_specials ? 1 : 0);
  g_assert_cmpuint (close_requests, ==, with_specials ? 1 : 0);
}

/* The worker sent its results and exited before the host read anything;
 * the host's next send fails (the pipe is broken), yet everything the
 * worker sent is still delivered, then its death. */
static void
test_send_peer_gone_results_kept (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  ExitState state = { 0 };
  CoprocMessenger *messenger;
  GPollFD pfd;

  resource = start_function_worker ("results", &state);
  messenger = coproc_worker_resource_get_messenger (resource);

  /* Wait for the hang-up without reading anything. */
  pfd.fd = messenger_fd (messenger);
  pfd.events = G_IO_HUP;
  pfd.revents = 0;
  while (!(pfd.revents & G_IO_HUP))
    g_assert_cmpint (g_poll (&pfd, 1, -1), >=, 0);

  g_assert_false (coproc_messenger_send_norequest (messenger, g_variant_new_string ("work"),
                                                   NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == COPROC_ERROR &&
                 (error->code == COPROC_ERROR_CLOSED || error->code == COPROC_ERROR_WORKER_DIED));
  g_test_message ("Send to a worker that is gone: %s", error->message);
  g_clear_error (&error);

  receive_results (messenger, resource, TRUE);

  g_assert_cmpint (wait_exited (resource, &state), ==, 0);
}

typedef struct
{
  pid_t    host_tid;
  GPid     worker;
  gboolean killed;
} Killer;

/* Whether process @pid is inside pause(), by its /proc/PID/syscall. */
static gboolean
process_sleeps_in_pause (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/syscall", (int) pid);
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL) || !g_ascii_isdigit (contents[0]))
    return FALSE;

  return g_ascii_strtoull (contents, NULL, 10) == __NR_pause;
}

static gpointer
killer_thread (gpointer data)
{
  Killer *killer = data;

  /* The worker has sent its results once it sleeps in pause(). */
  while (!thread_sleeps_in_poll (killer->host_tid) || !process_sleeps_in_pause (killer->worker))
    g_thread_yield ();

  killer->killed = kill (killer->worker, SIGKILL) == 0;
  return NULL;
}

/* The worker stops reading; the host sends until it blocks; the worker is
 * killed then. The blocked send returns with an error, and what the
 * worker had sent is delivered. */
static void
test_send_killed_while_host_blocked (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) big = NULL;
  g_autofree guint8 *data = g_malloc0 (256 * 1024);
  ExitState state = { 0 };
  Killer killer = { 0 };
  CoprocMessenger *messenger;
  GThread *thread;
  gboolean ok = TRUE;
  guint sent = 0;
  gint status;

  resource = start_function_worker ("stall", &state);
  messenger = coproc_worker_resource_get_messenger (resource);
  /* Inline payloads, so that they fill the pipe. */
  coproc_messenger_set_large_message_threshold (messenger, 0);
  big = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, 256 * 1024, 1));

  killer.host_tid = getpid ();
  killer.worker = coproc_worker_resource_get_pid (resource);
  thread = g_thread_new ("killer", killer_thread, &killer);

  /* 1 GiB could never fit: the host must block, and the kill ends it. */
  while (ok && sent < 4096)
    {
      ok = coproc_messenger_send_norequest (messenger, big, NULL, &error);
      sent++;
    }
  g_thread_join (thread);

  g_assert_true (killer.killed);
  g_assert_false (ok);
  g_assert_nonnull (error);
  g_assert_true (error->domain == COPROC_ERROR &&
                 (error->code == COPROC_ERROR_CLOSED || error->code == COPROC_ERROR_WORKER_DIED));
  g_test_message ("Blocked send after %u messages: %s", sent, error->message);
  g_clear_error (&error);

  receive_results (messenger, resource, FALSE);

  status = wait_exited (resource, &state);
  g_assert_true (WIFSIGNALED (status));
  g_assert_cmpint (WTERMSIG (status), ==, SIGKILL);
}

/* Tests: hard streams --------------------------------------------------------- */

typedef struct
{
  GIOStream *stream;   /* owned */
} EchoThread;

static gpointer
echo_thread (gpointer data)
{
  EchoThread *peer = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);

  messenger = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, peer->stream,
                                               &error);
  g_assert_no_error (error);
  echo_run (messenger, context);
  coproc_messenger_close (messenger, NULL);

  while (g_main_context_iteration (context, FALSE))
    ;
  g_clear_object (&messenger);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  g_clear_object (&peer->stream);
  return NULL;
}

static GIOStream *
socket_stream (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (socket));
}

/* A whole conversation where both ends' streams move a byte or a few at a
 * time and refuse half the calls: everything arrives, exactly once. */
static void
run_choppy_conversation (ChoppyMode mode,
                         guint32    seed,
                         guint      n)
{
  g_autoptr(GIOStream) host_base = NULL;
  g_autoptr(GIOStream) peer_base = NULL;
  g_autoptr(GIOStream) host_stream = NULL;
  g_autoptr(CoprocMessenger) host = NULL;
  g_autoptr(GError) error = NULL;
  EchoThread peer = { 0 };
  GThread *thread;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  host_base = socket_stream (fds[0]);
  peer_base = socket_stream (fds[1]);
  host_stream = choppy_stream_new (host_base, mode, seed);
  peer.stream = choppy_stream_new (peer_base, mode, seed + 1);

  host = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, host_stream, &error);
  g_assert_no_error (error);
  thread = g_thread_new ("echo", echo_thread, &peer);

  run_conversation (host, n);
  g_thread_join (thread);

  /* The peer closed after the close request: a clean hang-up. */
  g_assert_null (coproc_messenger_receive_blocking (host, NULL, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  g_test_message ("%s stream, seed %u: %" G_GUINT64_FORMAT " short moves, %" G_GUINT64_FORMAT
                  " refusals on the host side", mode == CHOPPY_ONE_BYTE ? "one-byte" : "random",
                  seed, choppy_stream_get_moves (CHOPPY_STREAM (host_stream)),
                  choppy_stream_get_refusals (CHOPPY_STREAM (host_stream)));
  g_assert_cmpuint (choppy_stream_get_moves (CHOPPY_STREAM (host_stream)), >, n);
  if (mode == CHOPPY_RANDOM)
    g_assert_cmpuint (choppy_stream_get_refusals (CHOPPY_STREAM (host_stream)), >, 0);
}

static void
test_streams_one_byte (void)
{
  run_choppy_conversation (CHOPPY_ONE_BYTE, 1, RUNNING_ON_VALGRIND ? 40 : 150);
}

static void
test_streams_random (void)
{
  static const guint32 seeds[] = { 7, 1234, 99991 };

  for (guint i = 0; i < G_N_ELEMENTS (seeds); i++)
    run_choppy_conversation (CHOPPY_RANDOM, seeds[i], RUNNING_ON_VALGRIND ? 60 : 300);
}

/* A conversation with a real worker while SIGALRM interrupts both
 * processes every 100 µs. */
static void
test_eintr_storm (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  ExitState state = { 0 };

  resource = coproc_worker_resource_new_for_function ("echo", COPROC_TYPE_PRIORITY_MESSENGER);
  coproc_worker_resource_setenv (resource, "COPROC_FAULTS_EINTR", "1");
  start_worker (resource, &state);

  n_alarms = 0;
  signal_storm_start ();
  run_conversation (coproc_worker_resource_get_messenger (resource),
                    RUNNING_ON_VALGRIND ? 200 : 2000);
  signal_storm_stop ();

  g_test_message ("%d signals during the conversation", (int) n_alarms);
  g_assert_cmpint (n_alarms, >, 0);
  g_assert_cmpint (wait_exited (resource, &state), ==, 0);
}

/* An interposed relay between host and worker that passes bytes one at a
 * time, each only once the previous one was read. */
typedef struct
{
  int from;
  int to;
} Relay;

static void
wait_consumed (int fd)
{
  /* SIOCOUTQ: bytes written to a Unix socket and not yet read by the
   * peer. A peer that does not read now is not waited for long. */
  for (guint spins = 0; spins < 10000; spins++)
    {
      int queued = 0;

      if (ioctl (fd, SIOCOUTQ, &queued) != 0 || queued == 0)
        return;
      g_thread_yield ();
    }
}

static gpointer
relay_thread (gpointer data)
{
  Relay *relay = data;
  guint8 buf[4096];

  for (;;)
    {
      gssize n = read (relay->from, buf, sizeof buf);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;

      for (gssize i = 0; i < n; i++)
        {
          gssize w;

          do
            w = send (relay->to, buf + i, 1, MSG_NOSIGNAL);
          while (w < 0 && errno == EINTR);
          if (w != 1)
            goto out;
          wait_consumed (relay->to);
        }
    }

out:
  shutdown (relay->to, SHUT_WR);
  return NULL;
}

static void
test_relay_one_byte_at_a_time (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) worker = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(CoprocMessenger) host = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  const char *argv[] = { exe, NULL };
  int host_pair[2];
  int worker_pair[2];
  Relay up;
  Relay down;
  GThread *up_thread;
  GThread *down_thread;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, host_pair), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, worker_pair), ==, 0);

  /* The worker gets its end as a coproc host would pass it. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_take_fd (launcher, worker_pair[1], 3);
  g_subprocess_launcher_setenv (launcher, "COPROC_FD", "3", TRUE);
  g_subprocess_launcher_setenv (launcher, "COPROC_WORKER", "echo", TRUE);
  g_subprocess_launcher_setenv (launcher, "COPROC_MESSENGER_TYPE", "CoprocPriorityMessenger",
                                TRUE);
  worker = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_launcher_close (launcher);

  up = (Relay) { host_pair[1], worker_pair[0] };
  down = (Relay) { worker_pair[0], host_pair[1] };
  up_thread = g_thread_new ("relay-up", relay_thread, &up);
  down_thread = g_thread_new ("relay-down", relay_thread, &down);

  stream = socket_stream (host_pair[0]);
  host = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, stream, &error);
  g_assert_no_error (error);

  run_conversation (host, RUNNING_ON_VALGRIND ? 20 : 100);

  g_subprocess_wait_check (worker, NULL, &error);
  g_assert_no_error (error);

  /* The worker is gone: the relay passes on its hang-up. */
  g_assert_null (coproc_messenger_receive_blocking (host, NULL, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  g_clear_object (&host);
  g_thread_join (up_thread);
  g_thread_join (down_thread);
  close (host_pair[1]);
  close (worker_pair[0]);
}

/* Tests: a flood ------------------------------------------------------------- */

#define FLOOD_MAX_QUEUED (16 * 1024 * 1024)

/* A worker floods a host whose main loop runs and takes nothing. Once the
 * queues hold max-queued-bytes, the host stops reading and the kernel
 * holds the worker back; then every message is taken, and all arrive. The
 * host's memory stays bounded throughout. */
static void
test_flood_bounded (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *flood_string = NULL;
  ExitState state = { 0 };
  CoprocMessenger *messenger;
  guint64 flood_bytes;
  guint64 queued;
  guint64 received = 0;
  gsize baseline;
  gsize ceiling;
  gsize held_rss;
  gsize peak_rss;
  GPollFD pfd;
  int pending = 0;

  /* 256 MiB, sixteen times the bound, keeps the suite quick (valgrind runs
   * the host some fifty times slower); COPROC_FAULTS_FLOOD_MIB=1024 for
   * a gibibyte. */
  if (g_getenv ("COPROC_FAULTS_FLOOD_MIB") != NULL)
    flood_bytes = g_ascii_strtoull (g_getenv ("COPROC_FAULTS_FLOOD_MIB"), NULL, 10) << 20;
  else
    flood_bytes = RUNNING_ON_VALGRIND ? 64 << 20 : 256 << 20;
  g_assert_cmpuint (flood_bytes, >=, 2 * FLOOD_MAX_QUEUED);
  flood_string = g_strdup_printf ("%" G_GUINT64_FORMAT, flood_bytes);

  baseline = test_proc_status_bytes ("VmRSS");
  /* The queues, a read buffer per message still queued, what is being
   * read and parsed, and the sanitizers' own overhead (ASan keeps freed
   * memory in quarantine; memcheck shadows all of it). */
  ceiling = baseline + 4 * FLOOD_MAX_QUEUED + 32 * 1024 * 1024;
  if (UNDER_ASAN)
    ceiling += 320 * 1024 * 1024;
  if (RUNNING_ON_VALGRIND)
    ceiling += 4 * FLOOD_MAX_QUEUED;

  resource = coproc_worker_resource_new_for_function ("flood", COPROC_TYPE_PRIORITY_MESSENGER);
  coproc_worker_resource_setenv (resource, "COPROC_FAULTS_FLOOD_BYTES", flood_string);
  start_worker (resource, &state);
  messenger = coproc_worker_resource_get_messenger (resource);
  coproc_messenger_set_max_queued_bytes (messenger, FLOOD_MAX_QUEUED);

  /* The main loop runs; no one takes anything. */
  while (coproc_messenger_queued_bytes (messenger) < FLOOD_MAX_QUEUED)
    g_main_context_iteration (NULL, TRUE);
  queued = coproc_messenger_queued_bytes (messenger);

  /* The worker goes on writing: bytes wait in the kernel, unread. */
  pfd.fd = messenger_fd (messenger);
  pfd.events = G_IO_IN;
  pfd.revents = 0;
  g_assert_cmpint (g_poll (&pfd, 1, -1), ==, 1);
  g_assert_cmpint (ioctl (pfd.fd, FIONREAD, &pending), ==, 0);
  g_assert_cmpint (pending, >, 0);

  /* Whatever else the loop does now, it reads nothing more. */
  for (guint i = 0; i < 100; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (coproc_messenger_queued_bytes (messenger), ==, queued);

  held_rss = test_proc_status_bytes ("VmRSS");
  peak_rss = held_rss;
  g_assert_cmpuint (held_rss, <, ceiling);

  /* A receive on a channel where nothing waits cannot read past the bound. */
  {
    g_autoptr(GVariant) other = g_variant_ref_sink (g_variant_new_string ("elsewhere"));

    g_assert_null (coproc_messenger_receive_blocking (messenger, other, NULL, &error));
    g_assert_error (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL);
    g_clear_error (&error);
  }

  /* Now take it all: the bound holds while input flows again. */
  for (guint64 seq = 0;; seq++)
    {
      g_autoptr(GVariant) payload = NULL;
      g_autoptr(GVariant) data = NULL;
      guint64 got;

      payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (payload == NULL)
        {
          assert_worker_died (error, resource, FALSE);
          g_clear_error (&error);
          break;
        }

      g_variant_get (payload, "(t@ay)", &got, &data);
      g_assert_cmpuint (got, ==, seq);
      g_assert_cmpuint (g_variant_get_size (data), ==, FLOOD_MESSAGE_SIZE);
      received += FLOOD_MESSAGE_SIZE;

      if (seq % 256 == 0)
        {
          gsize rss;

          /* The watch reads too, whenever the loop runs. */
          while (g_main_context_iteration (NULL, FALSE))
            ;
          g_assert_cmpuint (coproc_messenger_queued_bytes (messenger), <,
                            FLOOD_MAX_QUEUED + 2 * (FLOOD_MESSAGE_SIZE + 256));
          rss = test_proc_status_bytes ("VmRSS");
          peak_rss = MAX (peak_rss, rss);
          g_assert_cmpuint (rss, <, ceiling);
        }
    }

  g_assert_cmpuint (received, ==, flood_bytes);
  g_assert_cmpint (wait_exited (resource, &state), ==, 0);

  g_test_message ("Flood of %" G_GUINT64_FORMAT " MiB with max-queued-bytes %d MiB: "
                  "host RSS %" G_GSIZE_FORMAT " MiB at start, %" G_GSIZE_FORMAT
                  " MiB while held, peak %" G_GSIZE_FORMAT " MiB; ceiling %" G_GSIZE_FORMAT
                  " MiB", flood_bytes >> 20, FLOOD_MAX_QUEUED >> 20, baseline >> 20,
                  held_rss >> 20, peak_rss >> 20, ceiling >> 20);
}

/* Tests: regressions --------------------------------------------------------- */

/* Received payloads are released with their messages. They once kept an
 * extra reference each, so every message leaked its data. */
static void
test_regress_payloads_released (void)
{
  g_autoptr(CoprocMessenger) sender = NULL;
  g_autoptr(CoprocMessenger) receiver = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = g_malloc0 (64 * 1024);
  struct mallinfo2 before;
  struct mallinfo2 after;
  gsize in_use_before;
  gsize in_use_after;

  coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &sender, &receiver, &error);
  g_assert_no_error (error);
  payload = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data,
                                                           64 * 1024, 1));

  /* Warm up the buffers, then count what stays allocated. One message at a
   * time: it fits in the socket, so this single thread never waits on
   * itself. */
  coproc_messenger_send_norequest (sender, payload, NULL, &error);
  g_assert_no_error (error);
  g_variant_unref (coproc_messenger_receive_blocking (receiver, NULL, NULL, &error));
  g_assert_no_error (error);
  before = mallinfo2 ();

  /* 100 MiB. */
  for (guint i = 0; i < 1600; i++)
    {
      g_autoptr(CoprocMessage) message = NULL;

      coproc_messenger_send_norequest (sender, payload, NULL, &error);
      g_assert_no_error (error);
      message = coproc_messenger_receive_message_blocking (receiver, NULL, NULL, &error);
      g_assert_no_error (error);
      /* (g_variant_equal() would print both arrays to compare them.) */
      g_assert_cmpmem (g_variant_get_data (coproc_message_get_payload (message)),
                       g_variant_get_size (coproc_message_get_payload (message)),
                       data, 64 * 1024);
    }

  after = mallinfo2 ();
  /* In use: small blocks plus the large ones malloc maps on its own. */
  in_use_before = before.uordblks + before.hblkhd;
  in_use_after = after.uordblks + after.hblkhd;
  g_test_message ("Heap in use grew by %" G_GSIZE_FORMAT " bytes over 100 MiB of messages",
                  in_use_after > in_use_before ? in_use_after - in_use_before : 0);
  g_assert_cmpuint (in_use_after, <, in_use_before + 16 * 1024 * 1024);
}

/* After a partial write, the outgoing buffer was compacted to offset 0,
 * which put the next frame at an odd address: g_variant_store() then
 * aborted on the misaligned payload. */
static void
test_regress_partial_write_alignment (void)
{
  g_autoptr(GIOStream) base = NULL;
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *data = g_malloc0 (40 * 1024);
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  base = socket_stream (fds[0]);
  /* Every write moves one byte: the first frame is left partly written. */
  stream = choppy_stream_new (base, CHOPPY_ONE_BYTE, 0);
  messenger = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, stream, &error);
  g_assert_no_error (error);

  /* The second frame does not fit behind the first: the buffer is
   * compacted, then the frame (of alignment 4) is stored. */
  for (guint i = 0; i < 3; i++)
    {
      coproc_messenger_send_norequest (messenger,
                                       g_variant_new ("(u@ay)", i,
                                                      g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                                 data, 40 * 1024, 1)),
                                       NULL, &error);
      g_assert_no_error (error);
    }

  close (fds[1]);
}

int
main (int    argc,
      char **argv)
{
  int status;

  if (argc == 3 && g_str_equal (argv[1], "--raw-worker"))
    return raw_worker (argv[2]);

  coproc_worker_register ("results", results_worker, NULL);
  coproc_worker_register ("stall", stall_worker, NULL);
  coproc_worker_register ("echo", echo_worker, NULL);
  coproc_worker_register ("flood", flood_worker, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Coproc/Faults/handshake/worker-dies", test_handshake_worker_dies);
  g_test_add_func ("/Coproc/Faults/handshake/killed", test_handshake_killed);
  g_test_add_func ("/Coproc/Faults/frame/killed-mid-frame", test_frame_killed_mid_frame);
  g_test_add_func ("/Coproc/Faults/frame/eof-in-large-message", test_frame_eof_in_large_message);
  g_test_add_func ("/Coproc/Faults/send/peer-gone-results-kept", test_send_peer_gone_results_kept);
  g_test_add_func ("/Coproc/Faults/send/killed-while-host-blocked",
                   test_send_killed_while_host_blocked);
  g_test_add_func ("/Coproc/Faults/streams/one-byte", test_streams_one_byte);
  g_test_add_func ("/Coproc/Faults/streams/random-short-would-block", test_streams_random);
  g_test_add_func ("/Coproc/Faults/streams/eintr-storm", test_eintr_storm);
  g_test_add_func ("/Coproc/Faults/streams/relay-one-byte-at-a-time",
                   test_relay_one_byte_at_a_time);
  g_test_add_func ("/Coproc/Faults/flood/bounded-memory", test_flood_bounded);
  g_test_add_func ("/Coproc/Faults/regress/payloads-released", test_regress_payloads_released);
  g_test_add_func ("/Coproc/Faults/regress/partial-write-alignment",
                   test_regress_partial_write_alignment);

  return g_test_run ();
}
