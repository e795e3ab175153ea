/* test-mainloop.c: signals, async receives and the owner's GMainContext
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>

#include "coproc-test-util.h"

/* Shorthands ---------------------------------------------------------------- */

#define assert_receive(messenger, channel_id, expected) \
  G_STMT_START { \
    g_autoptr(GVariant) received__ = receive_blocking ((messenger), (channel_id)); \
    test_assert_variant (received__, (expected)); \
  } G_STMT_END

/* What the signal handlers saw. */
typedef struct
{
  GPtrArray *messages;         /* of CoprocMessage, every one offered */
  GPtrArray *errors;           /* of GError, every one offered */
  guint      n_close_requested;
  guint      n_closed;
  GError    *closed_error;     /* as passed to ::closed */
  gboolean   closed_error_set; /* whether ::closed had a non-NULL error */
  gboolean   handle;           /* what the special handlers return */
  gboolean   handle_messages;  /* what the message-received handler returns */
} Recorder;

static void
recorder_init (Recorder *recorder,
               gboolean  handle)
{
  memset (recorder, 0, sizeof *recorder);
  recorder->messages = g_ptr_array_new_with_free_func (g_object_unref);
  recorder->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  recorder->handle = handle;
  recorder->handle_messages = handle;
}

static void
recorder_clear (Recorder *recorder)
{
  g_clear_pointer (&recorder->messages, g_ptr_array_unref);
  g_clear_pointer (&recorder->errors, g_ptr_array_unref);
  g_clear_error (&recorder->closed_error);
}

static gboolean
on_message_received (CoprocMessenger *messenger,
                     CoprocMessage   *message,
                     Recorder        *recorder)
{
  g_assert_true (COPROC_IS_MESSENGER (messenger));
  g_assert_true (COPROC_IS_MESSAGE (message));
  g_ptr_array_add (recorder->messages, g_object_ref (message));
  return recorder->handle_messages;
}

static gboolean
on_error_received (CoprocMessenger *messenger,
                   const GError    *error,
                   Recorder        *recorder)
{
  g_assert_nonnull (error);
  g_ptr_array_add (recorder->errors, g_error_copy (error));
  return recorder->handle;
}

static gboolean
on_close_requested (CoprocMessenger *messenger,
                    Recorder        *recorder)
{
  recorder->n_close_requested++;
  return recorder->handle;
}

static void
on_closed (CoprocMessenger *messenger,
           const GError    *error,
           Recorder        *recorder)
{
  recorder->n_closed++;
  recorder->closed_error_set = error != NULL;
  g_clear_error (&recorder->closed_error);
  if (error != NULL)
    recorder->closed_error = g_error_copy (error);
}

static void
connect_recorder (CoprocMessenger *messenger,
                  Recorder        *recorder)
{
  g_signal_connect (messenger, "message-received", G_CALLBACK (on_message_received), recorder);
  g_signal_connect (messenger, "error-received", G_CALLBACK (on_error_received), recorder);
  g_signal_connect (messenger, "close-requested", G_CALLBACK (on_close_requested), recorder);
  g_signal_connect (messenger, "closed", G_CALLBACK (on_closed), recorder);
}

static void
disconnect_recorder (CoprocMessenger *messenger,
                     Recorder        *recorder)
{
  g_assert_cmpuint (g_signal_handlers_disconnect_by_data (messenger, recorder), ==, 4);
}

/* message-received ---------------------------------------------------------- */

/* A handler that returns TRUE consumes the message: it counts as received
 * (a reply as a reply received) and is never queued. */
static void
test_message_received_handled (Pair          *pair,
                               gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  Recorder recorder;

  recorder_init (&recorder, TRUE);
  connect_recorder (pm, &recorder);

  send_norequest (pair->resource, g_variant_new_string ("a"), g_variant_new_int32 (1));
  send_request (pair->resource, g_variant_new_string ("b"), NULL);
  test_wait_for_count (&recorder.messages->len, 2);

  test_assert_variant (coproc_message_get_payload (recorder.messages->pdata[0]), g_variant_new_string ("a"));
  test_assert_variant (coproc_message_get_channel_id (recorder.messages->pdata[0]), g_variant_new_int32 (1));
  test_assert_variant (coproc_message_get_payload (recorder.messages->pdata[1]), g_variant_new_string ("b"));
  g_assert_true (coproc_message_get_request_reply (recorder.messages->pdata[1]));

  g_assert_cmpuint (coproc_messenger_messages_received (pm, g_variant_new_int32 (1)), ==, 1);
  g_assert_cmpuint (coproc_messenger_messages_received (pm, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_queue_size (pm, g_variant_new_int32 (1)), ==, 0);
  g_assert_cmpuint (coproc_messenger_available (pm, NULL, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_available (pm, g_variant_new_int32 (1), NULL), ==, 0);

  /* A consumed reply answers the request. */
  send_request (pm, g_variant_new_string ("question"), NULL);
  g_assert_cmpuint (coproc_messenger_remaining (pm, NULL), ==, 1);
  assert_receive (pair->resource, NULL, g_variant_new_string ("question"));
  send_reply (pair->resource, g_variant_new_string ("answer"), NULL);
  test_wait_for_count (&recorder.messages->len, 3);
  g_assert_true (coproc_message_get_is_reply (recorder.messages->pdata[2]));
  g_assert_cmpuint (coproc_messenger_remaining (pm, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_replies_received (pm, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_messages_received (pm, NULL), ==, 2);

  /* Exactly once each. */
  test_drain_context (NULL);
  g_assert_cmpuint (recorder.messages->len, ==, 3);

  disconnect_recorder (pm, &recorder);
  recorder_clear (&recorder);
}

/* A handler that returns FALSE leaves the message queued for the receive
 * calls; nothing is counted until it is taken. */
static void
test_message_received_unhandled (Pair          *pair,
                                 gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  Recorder recorder;

  recorder_init (&recorder, FALSE);
  connect_recorder (pm, &recorder);

  send_request (pm, g_variant_new_string ("question"), NULL);
  assert_receive (pair->resource, NULL, g_variant_new_string ("question"));
  send_norequest (pair->resource, g_variant_new_string ("a"), NULL);
  send_reply (pair->resource, g_variant_new_string ("answer"), NULL);
  test_wait_for_count (&recorder.messages->len, 2);

  /* Queued by the context, without any receive call. */
  g_assert_cmpuint (coproc_messenger_queue_size (pm, NULL), ==, 2);
  g_assert_cmpuint (coproc_messenger_messages_received (pm, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_remaining (pm, NULL), ==, 1);

  assert_receive (pm, NULL, g_variant_new_string ("a"));
  assert_receive (pm, NULL, g_variant_new_string ("answer"));
  g_assert_cmpuint (coproc_messenger_messages_received (pm, NULL), ==, 2);
  g_assert_cmpuint (coproc_messenger_remaining (pm, NULL), ==, 0);

  test_drain_context (NULL);
  g_assert_cmpuint (recorder.messages->len, ==, 2);

  disconnect_recorder (pm, &recorder);
  recorder_clear (&recorder);
}

/* Without any handler, the context still moves arriving messages into the
 * queues. */
static void
test_no_handler_queues (Pair          *pair,
                        gconstpointer  data)
{
  send_norequest (pair->resource, g_variant_new_int32 (1), NULL);
  send_norequest (pair->resource, g_variant_new_int32 (2), NULL);

  while (coproc_messenger_queue_size (pair->process, NULL) < 2)
    g_main_context_iteration (NULL, TRUE);

  assert_receive (pair->process, NULL, g_variant_new_int32 (1));
  assert_receive (pair->process, NULL, g_variant_new_int32 (2));
}

/* error-received and close-requested ---------------------------------------- */

static void
test_error_received (Pair          *pair,
                     gconstpointer  data)
{
  for (guint handle = 0; handle < 2; handle++)
    {
      CoprocMessenger *pm = pair->process;
      g_autoptr(GError) remote = g_error_new_literal (TEST_ERROR, TEST_ERROR_BOOM, "boom ✓");
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = NULL;
      Recorder recorder;
      const GError *seen;

      recorder_init (&recorder, handle);
      recorder.handle_messages = FALSE;
      connect_recorder (pm, &recorder);

      g_assert_true (coproc_messenger_send_error (pair->resource, remote, &error));
      g_assert_no_error (error);
      send_norequest (pair->resource, g_variant_new_uint32 (handle), NULL);
      test_wait_for_count (&recorder.errors->len, 1);

      seen = recorder.errors->pdata[0];
      g_assert_error (seen, TEST_ERROR, TEST_ERROR_BOOM);
      g_assert_cmpstr (seen->message, ==, "boom ✓");

      payload = coproc_messenger_receive_blocking (pm, NULL, NULL, &error);
      if (handle)
        {
          /* Consumed: the receive goes on to the data behind it. */
          g_assert_no_error (error);
          test_assert_variant (payload, g_variant_new_uint32 (handle));
        }
      else
        {
          /* Not consumed: the next receive call fails with it, once. */
          g_assert_null (payload);
          g_assert_error (error, TEST_ERROR, TEST_ERROR_BOOM);
          g_assert_cmpstr (error->message, ==, "boom ✓");
          assert_receive (pm, NULL, g_variant_new_uint32 (handle));
        }

      test_drain_context (NULL);
      g_assert_cmpuint (recorder.errors->len, ==, 1);
      disconnect_recorder (pm, &recorder);
      recorder_clear (&recorder);
    }
}

static void
test_close_requested (Pair          *pair,
                      gconstpointer  data)
{
  for (guint handle = 0; handle < 2; handle++)
    {
      CoprocMessenger *pm = pair->process;
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = NULL;
      Recorder recorder;

      recorder_init (&recorder, handle);
      recorder.handle_messages = FALSE;
      connect_recorder (pm, &recorder);

      g_assert_true (coproc_messenger_send_close_request (pair->resource, &error));
      g_assert_no_error (error);
      send_norequest (pair->resource, g_variant_new_uint32 (handle), NULL);
      test_wait_for_count (&recorder.n_close_requested, 1);

      payload = coproc_messenger_receive_blocking (pm, NULL, NULL, &error);
      if (handle)
        {
          g_assert_no_error (error);
          test_assert_variant (payload, g_variant_new_uint32 (handle));
        }
      else
        {
          g_assert_null (payload);
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
          assert_receive (pm, NULL, g_variant_new_uint32 (handle));
        }

      test_drain_context (NULL);
      g_assert_cmpuint (recorder.n_close_requested, ==, 1);
      g_assert_cmpuint (recorder.n_closed, ==, 0);
      disconnect_recorder (pm, &recorder);
      recorder_clear (&recorder);
    }
}

/* Specials are offered before the data behind them. */
static void
test_specials_in_order (Pair          *pair,
                        gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  g_autoptr(GError) remote = g_error_new_literal (TEST_ERROR, TEST_ERROR_FIRST, "between");
  g_autoptr(GError) error = NULL;
  Recorder recorder;

  recorder_init (&recorder, TRUE);
  connect_recorder (pm, &recorder);

  send_norequest (pair->resource, g_variant_new_int32 (1), NULL);
  g_assert_true (coproc_messenger_send_error (pair->resource, remote, &error));
  send_norequest (pair->resource, g_variant_new_int32 (2), NULL);
  g_assert_true (coproc_messenger_send_close_request (pair->resource, &error));
  send_norequest (pair->resource, g_variant_new_int32 (3), NULL);
  g_assert_no_error (error);

  test_wait_for_count (&recorder.messages->len, 3);
  g_assert_cmpuint (recorder.errors->len, ==, 1);
  g_assert_cmpuint (recorder.n_close_requested, ==, 1);
  for (guint i = 0; i < 3; i++)
    test_assert_variant (coproc_message_get_payload (recorder.messages->pdata[i]),
                         g_variant_new_int32 (i + 1));

  disconnect_recorder (pm, &recorder);
  recorder_clear (&recorder);
}

/* closed ---------------------------------------------------------------- */

/* A clean hang-up: ::closed once, with a NULL error; queued messages stay. */
static void
test_closed_clean (Pair          *pair,
                   gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  Recorder recorder;

  recorder_init (&recorder, FALSE);
  connect_recorder (pm, &recorder);

  send_norequest (pair->resource, g_variant_new_string ("last"), NULL);
  g_clear_object (&pair->resource);
  test_wait_for_count (&recorder.n_closed, 1);

  g_assert_false (recorder.closed_error_set);
  g_assert_true (coproc_messenger_is_closed (pm));
  g_assert_cmpuint (recorder.messages->len, ==, 1);

  assert_receive (pm, NULL, g_variant_new_string ("last"));
  payload = coproc_messenger_receive_blocking (pm, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  /* Never again. */
  test_drain_context (NULL);
  g_assert_cmpuint (recorder.n_closed, ==, 1);

  disconnect_recorder (pm, &recorder);
  recorder_clear (&recorder);
}

/* A hang-up noticed by a receive call, not by the context: ::closed is
 * still emitted once, when the context runs. */
static void
test_closed_noticed_by_receive (Pair          *pair,
                                gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  Recorder recorder;

  recorder_init (&recorder, FALSE);
  connect_recorder (pm, &recorder);

  g_clear_object (&pair->resource);
  payload = coproc_messenger_receive_blocking (pm, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_assert_cmpuint (recorder.n_closed, ==, 0);

  test_wait_for_count (&recorder.n_closed, 1);
  g_assert_false (recorder.closed_error_set);
  test_drain_context (NULL);
  g_assert_cmpuint (recorder.n_closed, ==, 1);

  disconnect_recorder (pm, &recorder);
  recorder_clear (&recorder);
}

/* A broken stream: ::closed once, with the error. */
static void
test_closed_broken (void)
{
  static const char handshake[16] = "COPROC\r\n\x01\x00\x00\x00\x00\x00\x00\x01";
  static const char garbage[16] = "GET / HTTP/1.1\r\n";

  for (guint how = 0; how < 2; how++)
    {
      g_autoptr(CoprocMessenger) messenger = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = NULL;
      CoprocError expected_code = how == 0 ? COPROC_ERROR_PROTOCOL : COPROC_ERROR_CLOSED;
      Recorder recorder;
      int fds[2];

      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
      messenger = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[0], 0);
      recorder_init (&recorder, FALSE);
      connect_recorder (messenger, &recorder);

      if (how == 0)
        {
          /* Not a messenger at all. */
          test_write_all (fds[1], garbage, sizeof garbage);
        }
      else
        {
          /* A messenger that dies in the middle of a frame header. */
          test_write_all (fds[1], handshake, sizeof handshake);
          test_write_all (fds[1], "\x10\x00\x00\x00", 4);
          close (fds[1]);
          fds[1] = -1;
        }

      test_wait_for_count (&recorder.n_closed, 1);
      g_assert_true (recorder.closed_error_set);
      g_assert_error (recorder.closed_error, COPROC_ERROR, (gint) expected_code);

      /* Receives fail with the same error. */
      payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      g_assert_null (payload);
      g_assert_error (error, COPROC_ERROR, (gint) expected_code);

      test_drain_context (NULL);
      g_assert_cmpuint (recorder.n_closed, ==, 1);
      g_assert_cmpuint (recorder.messages->len, ==, 0);

      disconnect_recorder (messenger, &recorder);
      recorder_clear (&recorder);
      if (fds[1] >= 0)
        close (fds[1]);
    }
}

/* The owner's context ------------------------------------------------------ */

typedef struct
{
  int            fd;
  GThread       *thread;
  GMainContext  *context;
  TestEvent      ready;
  guint          n_messages;
  guint          n_closed;
  guint          n_async;
  gboolean       all_on_owner;
  gboolean       closed_error_set;
  GVariant      *async_payload;
} ThreadedData;

static void
check_owner (ThreadedData *data)
{
  if (!g_main_context_is_owner (data->context) || g_thread_self () != data->thread)
    data->all_on_owner = FALSE;
}

static gboolean
threaded_message_received (CoprocMessenger *messenger,
                           CoprocMessage   *message,
                           ThreadedData    *data)
{
  GVariant *payload = coproc_message_get_payload (message);

  check_owner (data);
  data->n_messages++;

  /* The last one is left for the pending async receive. */
  return !g_variant_is_of_type (payload, G_VARIANT_TYPE_STRING);
}

static void
threaded_closed (CoprocMessenger *messenger,
                 const GError    *error,
                 ThreadedData    *data)
{
  check_owner (data);
  data->n_closed++;
  data->closed_error_set = error != NULL;
}

static void
threaded_receive_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  ThreadedData *data = user_data;
  g_autoptr(GError) error = NULL;

  check_owner (data);
  data->n_async++;
  data->async_payload = coproc_messenger_receive_finish (COPROC_MESSENGER (source), result, &error);
  g_assert_no_error (error);
}

static gpointer
threaded_owner (gpointer user_data)
{
  ThreadedData *data = user_data;
  g_autoptr(CoprocMessenger) messenger = NULL;

  g_main_context_push_thread_default (data->context);

  messenger = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, data->fd, 0);
  g_signal_connect (messenger, "message-received", G_CALLBACK (threaded_message_received), data);
  g_signal_connect (messenger, "closed", G_CALLBACK (threaded_closed), data);
  coproc_messenger_receive_async (messenger, NULL, NULL, threaded_receive_cb, data);
  test_event_set (&data->ready);

  while (data->n_closed == 0 || data->n_async == 0)
    g_main_context_iteration (data->context, TRUE);

  g_clear_object (&messenger);
  test_drain_context (data->context);
  g_main_context_pop_thread_default (data->context);

  return NULL;
}

/* A messenger made in another thread, with that thread's context pushed as
 * thread-default, emits its signals and completes its async calls there,
 * never on the global default context. */
static void
test_signals_on_owner_context (void)
{
  ThreadedData data = { .all_on_owner = TRUE };
  g_autoptr(CoprocMessenger) messenger = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  data.fd = fds[0];
  data.context = g_main_context_new ();
  test_event_init (&data.ready);
  messenger = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[1], 0);

  data.thread = g_thread_new ("owner", threaded_owner, &data);
  test_event_wait (&data.ready);

  for (gint32 i = 0; i < 10; i++)
    send_norequest (messenger, g_variant_new_int32 (i), NULL);
  send_norequest (messenger, g_variant_new_string ("for the async receive"), NULL);
  g_clear_object (&messenger);

  /* Running the global default context meanwhile changes nothing. */
  test_drain_context (NULL);
  g_thread_join (data.thread);

  g_assert_true (data.all_on_owner);
  g_assert_cmpuint (data.n_messages, ==, 11);
  g_assert_cmpuint (data.n_closed, ==, 1);
  g_assert_false (data.closed_error_set);
  g_assert_cmpuint (data.n_async, ==, 1);
  test_assert_variant (data.async_payload, g_variant_new_string ("for the async receive"));

  g_variant_unref (data.async_payload);
  g_main_context_unref (data.context);
  test_event_clear (&data.ready);
}

/* Async receives ----------------------------------------------------------- */

typedef struct
{
  guint      n_calls;     /* callbacks run, in any order */
  GPtrArray *order;       /* indices of the calls, in completion order */
  GPtrArray *payloads;    /* of GVariant, NULL entries for failures */
  GPtrArray *errors;      /* of GError, NULL entries for successes */
} AsyncLog;

typedef struct
{
  AsyncLog *log;
  guint     index;
  gboolean  want_message;
} AsyncCall;

/* Free functions for arrays with NULL entries. */
static void
free_variant (gpointer value)
{
  if (value != NULL)
    g_variant_unref (value);
}

static void
free_error (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static void
async_log_init (AsyncLog *log)
{
  log->n_calls = 0;
  log->order = g_ptr_array_new ();
  log->payloads = g_ptr_array_new_with_free_func (free_variant);
  log->errors = g_ptr_array_new_with_free_func (free_error);
}

static void
async_log_clear (AsyncLog *log)
{
  g_clear_pointer (&log->order, g_ptr_array_unref);
  g_clear_pointer (&log->payloads, g_ptr_array_unref);
  g_clear_pointer (&log->errors, g_ptr_array_unref);
}

static void
receive_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  AsyncCall *call = user_data;
  CoprocMessenger *messenger = COPROC_MESSENGER (source);
  GError *error = NULL;
  GVariant *payload;

  if (call->want_message)
    {
      g_autoptr(CoprocMessage) message = coproc_messenger_receive_message_finish (messenger, result, &error);

      payload = message ? g_variant_ref (coproc_message_get_payload (message)) : NULL;
    }
  else
    payload = coproc_messenger_receive_finish (messenger, result, &error);

  g_assert_true ((payload == NULL) != (error == NULL));
  g_ptr_array_add (call->log->order, GUINT_TO_POINTER (call->index));
  g_ptr_array_add (call->log->payloads, payload);
  g_ptr_array_add (call->log->errors, error);
  call->log->n_calls++;
  g_free (call);
}

static void
start_receive (CoprocMessenger *messenger,
               GVariant        *channel_id,
               GCancellable    *cancellable,
               AsyncLog        *log,
               guint            index,
               gboolean         want_message)
{
  AsyncCall *call = g_new0 (AsyncCall, 1);

  call->log = log;
  call->index = index;
  call->want_message = want_message;

  if (want_message)
    coproc_messenger_receive_message_async (messenger, channel_id, cancellable, receive_cb, call);
  else
    coproc_messenger_receive_async (messenger, channel_id, cancellable, receive_cb, call);
}

/* Index of call @index in the log, asserting it ran exactly once. */
static guint
log_position (AsyncLog *log,
              guint     index)
{
  guint position = G_MAXUINT;

  for (guint i = 0; i < log->order->len; i++)
    {
      if (GPOINTER_TO_UINT (log->order->pdata[i]) == index)
        {
          g_assert_cmpuint (position, ==, G_MAXUINT);
          position = i;
        }
    }
  g_assert_cmpuint (position, !=, G_MAXUINT);

  return position;
}

static void
assert_call_payload (AsyncLog *log,
                     guint     index,
                     GVariant *expected)
{
  guint position = log_position (log, index);

  g_assert_no_error (log->errors->pdata[position]);
  test_assert_variant (log->payloads->pdata[position], expected);
}

static void
assert_call_error (AsyncLog *log,
                   guint     index,
                   GQuark    domain,
                   gint      code)
{
  guint position = log_position (log, index);

  g_assert_error ((GError *) log->errors->pdata[position], domain, code);
  g_assert_null (log->payloads->pdata[position]);
}

/* Iterates the default context a while without blocking: enough for
 * anything ready to run. */
static void
spin_context (void)
{
  for (guint i = 0; i < 10; i++)
    g_main_context_iteration (NULL, FALSE);
}

/* With a message already there, the receive completes without anything
 * more arriving; otherwise it waits. */
static void
test_receive_async_immediate_and_waiting (Pair          *pair,
                                          gconstpointer  data)
{
  gboolean want_message = GPOINTER_TO_SIZE (data) == COPROC_TYPE_MULTI_MESSENGER;
  AsyncLog log;

  async_log_init (&log);

  /* Queued already. */
  send_norequest (pair->resource, g_variant_new_string ("queued"), NULL);
  g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 1);
  start_receive (pair->process, NULL, NULL, &log, 0, want_message);
  test_wait_for_count (&log.n_calls, 1);
  assert_call_payload (&log, 0, g_variant_new_string ("queued"));
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, NULL), ==, 1);

  /* In the kernel, not read yet. */
  send_norequest (pair->resource, g_variant_new_string ("in flight"), NULL);
  start_receive (pair->process, NULL, NULL, &log, 1, want_message);
  test_wait_for_count (&log.n_calls, 2);
  assert_call_payload (&log, 1, g_variant_new_string ("in flight"));

  /* Nothing yet: it waits. */
  start_receive (pair->process, NULL, NULL, &log, 2, want_message);
  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 2);
  send_norequest (pair->resource, g_variant_new_string ("later"), NULL);
  test_wait_for_count (&log.n_calls, 3);
  assert_call_payload (&log, 2, g_variant_new_string ("later"));

  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 3);
  async_log_clear (&log);
}

/* Several pending receives are served in call order. */
static void
test_receive_async_order (Pair          *pair,
                          gconstpointer  data)
{
  AsyncLog log;

  async_log_init (&log);

  for (guint i = 0; i < 5; i++)
    start_receive (pair->process, NULL, NULL, &log, i, i % 2);
  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 0);

  for (guint i = 0; i < 5; i++)
    send_norequest (pair->resource, g_variant_new_uint32 (i), NULL);
  test_wait_for_count (&log.n_calls, 5);

  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpuint (GPOINTER_TO_UINT (log.order->pdata[i]), ==, i);
      assert_call_payload (&log, i, g_variant_new_uint32 (i));
    }

  async_log_clear (&log);
}

/* Receives wait on their own channel. */
static void
test_receive_async_channels (Pair          *pair,
                             gconstpointer  data)
{
  AsyncLog log;

  async_log_init (&log);

  start_receive (pair->process, g_variant_new_string ("one"), NULL, &log, 1, FALSE);
  start_receive (pair->process, g_variant_new_string ("two"), NULL, &log, 2, TRUE);
  start_receive (pair->process, NULL, NULL, &log, 0, FALSE);

  send_norequest (pair->resource, g_variant_new_int32 (2), g_variant_new_string ("two"));
  test_wait_for_count (&log.n_calls, 1);
  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 1);
  assert_call_payload (&log, 2, g_variant_new_int32 (2));

  send_norequest (pair->resource, g_variant_new_int32 (0), NULL);
  send_norequest (pair->resource, g_variant_new_int32 (1), g_variant_new_string ("one"));
  test_wait_for_count (&log.n_calls, 3);
  assert_call_payload (&log, 1, g_variant_new_int32 (1));
  assert_call_payload (&log, 0, g_variant_new_int32 (0));

  async_log_clear (&log);
}

/* Cancelling: before the call, while it is pending, and after it got its
 * message. No message is ever lost. */
static void
test_receive_async_cancel (Pair          *pair,
                           gconstpointer  data)
{
  AsyncLog log;

  async_log_init (&log);

  /* Before the call: fails at once, the queued message stays. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    send_norequest (pair->resource, g_variant_new_int32 (1), NULL);
    g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 1);
    g_cancellable_cancel (cancellable);
    start_receive (pair->process, NULL, cancellable, &log, 0, FALSE);
    test_wait_for_count (&log.n_calls, 1);
    assert_call_error (&log, 0, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    assert_receive (pair->process, NULL, g_variant_new_int32 (1));
  }

  /* While pending: fails, and the next message is not taken by it. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    start_receive (pair->process, NULL, cancellable, &log, 1, TRUE);
    spin_context ();
    g_assert_cmpuint (log.n_calls, ==, 1);
    g_cancellable_cancel (cancellable);
    test_wait_for_count (&log.n_calls, 2);
    assert_call_error (&log, 1, G_IO_ERROR, G_IO_ERROR_CANCELLED);

    send_norequest (pair->resource, g_variant_new_int32 (2), NULL);
    g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 1);
    assert_receive (pair->process, NULL, g_variant_new_int32 (2));
  }

  /* After completion, before the callback ran: the message is delivered. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    send_norequest (pair->resource, g_variant_new_int32 (3), NULL);
    g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 1);
    start_receive (pair->process, NULL, cancellable, &log, 2, FALSE);
    g_cancellable_cancel (cancellable);
    test_wait_for_count (&log.n_calls, 3);
    assert_call_payload (&log, 2, g_variant_new_int32 (3));
    g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 0);
  }

  /* One cancellable for two pending calls on different channels, with a
   * third one that is not cancelled. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    start_receive (pair->process, g_variant_new_int32 (1), cancellable, &log, 3, FALSE);
    start_receive (pair->process, NULL, NULL, &log, 4, FALSE);
    start_receive (pair->process, g_variant_new_int32 (2), cancellable, &log, 5, TRUE);
    g_cancellable_cancel (cancellable);
    test_wait_for_count (&log.n_calls, 5);
    assert_call_error (&log, 3, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    assert_call_error (&log, 5, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    send_norequest (pair->resource, g_variant_new_int32 (4), NULL);
    test_wait_for_count (&log.n_calls, 6);
    assert_call_payload (&log, 4, g_variant_new_int32 (4));
  }

  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 6);
  async_log_clear (&log);
}

/* Pending receives fail promptly when the peer goes, after the messages
 * it sent; a special fails the first pending receive. */
static void
test_receive_async_peer_closes (Pair          *pair,
                                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  AsyncLog log;

  async_log_init (&log);

  start_receive (pair->process, NULL, NULL, &log, 0, FALSE);
  start_receive (pair->process, NULL, NULL, &log, 1, FALSE);
  g_assert_true (coproc_messenger_send_close_request (pair->resource, &error));
  g_assert_no_error (error);
  test_wait_for_count (&log.n_calls, 1);
  assert_call_error (&log, 0, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);

  start_receive (pair->process, NULL, NULL, &log, 2, TRUE);
  start_receive (pair->process, g_variant_new_int32 (9), NULL, &log, 3, FALSE);
  send_norequest (pair->resource, g_variant_new_string ("last"), NULL);
  g_clear_object (&pair->resource);

  test_wait_for_count (&log.n_calls, 4);
  assert_call_payload (&log, 1, g_variant_new_string ("last"));
  assert_call_error (&log, 2, COPROC_ERROR, COPROC_ERROR_CLOSED);
  assert_call_error (&log, 3, COPROC_ERROR, COPROC_ERROR_CLOSED);

  /* And any later one. */
  start_receive (pair->process, NULL, NULL, &log, 4, FALSE);
  test_wait_for_count (&log.n_calls, 5);
  assert_call_error (&log, 4, COPROC_ERROR, COPROC_ERROR_CLOSED);

  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 5);
  async_log_clear (&log);
}

/* Disposing a messenger with receives pending fails them, each once. */
static void
test_dispose_with_pending (Pair          *pair,
                           gconstpointer  data)
{
  AsyncLog log;

  async_log_init (&log);

  for (guint i = 0; i < 3; i++)
    start_receive (pair->process, i == 1 ? g_variant_new_int32 (1) : NULL, NULL, &log, i, i == 2);
  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 0);

  g_object_run_dispose (G_OBJECT (pair->process));
  test_wait_for_count (&log.n_calls, 3);
  for (guint i = 0; i < 3; i++)
    assert_call_error (&log, i, COPROC_ERROR, COPROC_ERROR_CLOSED);

  /* A disposed messenger fails everything, cleanly. */
  start_receive (pair->process, NULL, NULL, &log, 3, FALSE);
  test_wait_for_count (&log.n_calls, 4);
  assert_call_error (&log, 3, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_assert_true (coproc_messenger_is_closed (pair->process));

  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 4);
  async_log_clear (&log);
}

/* Dropping the last reference with receives pending is safe too: the
 * pending calls keep the messenger alive until they complete. */
static void
test_unref_with_pending (Pair          *pair,
                         gconstpointer  data)
{
  AsyncLog log;

  async_log_init (&log);

  start_receive (pair->process, NULL, NULL, &log, 0, FALSE);
  send_norequest (pair->resource, g_variant_new_string ("x"), NULL);
  start_receive (pair->process, NULL, NULL, &log, 1, FALSE);
  g_clear_object (&pair->process);
  g_clear_object (&pair->resource);

  test_wait_for_count (&log.n_calls, 2);
  spin_context ();
  g_assert_cmpuint (log.n_calls, ==, 2);
  async_log_clear (&log);
}

/* Re-entrant handlers -------------------------------------------------------- */

typedef struct
{
  guint n_calls;
  guint n_echoed;
  guint n_taken;
} EchoData;

/* Echoes requests from within the handler; on other messages, re-enters
 * the receive and send calls. */
static gboolean
echo_message_received (CoprocMessenger *messenger,
                       CoprocMessage   *message,
                       EchoData        *data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) queued = NULL;

  data->n_calls++;

  if (coproc_message_get_request_reply (message))
    {
      g_assert_true (coproc_messenger_send_reply (messenger, coproc_message_get_payload (message),
                                                  coproc_message_get_channel_id (message), &error));
      g_assert_no_error (error);
      data->n_echoed++;
      return TRUE;
    }

  g_assert_cmpuint (coproc_messenger_available (messenger, g_variant_new_string ("side"), &error), <=, 20);
  g_assert_no_error (error);
  queued = coproc_messenger_receive_available (messenger, g_variant_new_string ("side"), &error);
  g_assert_no_error (error);
  data->n_taken += queued->len;
  g_assert_true (coproc_messenger_send_norequest (messenger, coproc_message_get_payload (message),
                                                  g_variant_new_string ("seen"), &error));
  g_assert_no_error (error);

  return FALSE;
}

static gint
compare_uint32_variants (gconstpointer a,
                         gconstpointer b)
{
  guint32 x = g_variant_get_uint32 (*(GVariant * const *) a);
  guint32 y = g_variant_get_uint32 (*(GVariant * const *) b);

  return x < y ? -1 : x > y;
}

/* Handlers that call back into the messenger. Messages a nested receive
 * call reads are queued without being offered to the handler: nothing is
 * lost either way. */
static void
test_reentrant_handler (Pair          *pair,
                        gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  EchoData echo = { 0 };
  g_autoptr(GPtrArray) requests = NULL;
  g_autoptr(GPtrArray) replies = NULL;
  g_autoptr(GPtrArray) side = NULL;
  g_autoptr(GPtrArray) seen = NULL;
  g_autoptr(GError) error = NULL;

  g_signal_connect (pm, "message-received", G_CALLBACK (echo_message_received), &echo);

  for (guint32 i = 0; i < 20; i++)
    {
      send_request (pair->resource, g_variant_new_uint32 (i), NULL);
      send_norequest (pair->resource, g_variant_new_uint32 (100 + i), g_variant_new_string ("side"));
    }

  /* Every message is accounted for: offered, or queued by a nested call. */
  while (echo.n_echoed + coproc_messenger_queue_size (pm, NULL) < 20 ||
         echo.n_taken + coproc_messenger_queue_size (pm, g_variant_new_string ("side")) < 20)
    g_main_context_iteration (NULL, TRUE);
  g_signal_handlers_disconnect_by_data (pm, &echo);

  /* Requests that were not offered are answered here. */
  requests = coproc_messenger_receive_available (pm, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < requests->len; i++)
    send_reply (pm, requests->pdata[i], NULL);
  g_assert_cmpuint (echo.n_echoed + requests->len, ==, 20);

  replies = coproc_messenger_receive_remaining (pair->resource, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (replies->len, ==, 20);
  g_ptr_array_sort (replies, compare_uint32_variants);
  for (guint32 i = 0; i < 20; i++)
    test_assert_variant (replies->pdata[i], g_variant_new_uint32 (i));

  side = coproc_messenger_receive_available (pm, g_variant_new_string ("side"), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (echo.n_taken + side->len, ==, 20);
  g_assert_cmpuint (coproc_messenger_messages_received (pm, g_variant_new_string ("side")), ==, 20);

  /* What the handler sent went out. */
  g_assert_cmpuint (coproc_messenger_messages_sent (pm, g_variant_new_string ("seen")), ==,
                    echo.n_calls - echo.n_echoed);
  seen = coproc_messenger_receive_available (pair->resource, g_variant_new_string ("seen"), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (seen->len, ==, echo.n_calls - echo.n_echoed);
}

typedef struct
{
  guint n_calls;
} DisposeData;

static gboolean
dispose_message_received (CoprocMessenger *messenger,
                          CoprocMessage   *message,
                          DisposeData     *data)
{
  data->n_calls++;
  g_object_run_dispose (G_OBJECT (messenger));
  return FALSE;
}

/* A handler that disposes its messenger with more messages behind. */
static void
test_handler_disposes (Pair          *pair,
                       gconstpointer  data)
{
  DisposeData dispose = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  g_signal_connect (pair->process, "message-received", G_CALLBACK (dispose_message_received), &dispose);

  for (guint i = 0; i < 10; i++)
    send_norequest (pair->resource, g_variant_new_uint32 (i), NULL);
  test_wait_for_count (&dispose.n_calls, 1);
  spin_context ();
  g_assert_cmpuint (dispose.n_calls, ==, 1);
  g_assert_true (coproc_messenger_is_closed (pair->process));

  payload = coproc_messenger_receive_blocking (pair->process, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (coproc_messenger_send_norequest (pair->process, g_variant_new_int32 (0), NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  /* The peer sees the hang-up. */
  g_assert_false (coproc_messenger_await_available (pair->resource, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  g_signal_handlers_disconnect_by_data (pair->process, &dispose);
}

/* A handler that drops the last reference to its messenger; it may still
 * be called for messages already read. */
static gboolean
unref_message_received (CoprocMessenger  *messenger,
                        CoprocMessage    *message,
                        CoprocMessenger **owner)
{
  g_assert_true (*owner == messenger || *owner == NULL);
  g_clear_object (owner);
  return TRUE;
}

static void
unref_closed (CoprocMessenger  *messenger,
              const GError     *error,
              CoprocMessenger **owner)
{
  g_assert_true (*owner == messenger);
  g_clear_object (owner);
}

static void
test_handler_unrefs (Pair          *pair,
                     gconstpointer  data)
{
  gpointer weak;

  /* From message-received, with more messages behind. */
  weak = pair->process;
  g_object_add_weak_pointer (weak, &weak);
  g_signal_connect (pair->process, "message-received", G_CALLBACK (unref_message_received),
                    &pair->process);
  send_norequest (pair->resource, g_variant_new_int32 (1), NULL);
  send_norequest (pair->resource, g_variant_new_int32 (2), NULL);
  while (weak != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (pair->process);

  /* From closed. */
  weak = pair->resource;
  g_object_add_weak_pointer (weak, &weak);
  g_signal_connect (pair->resource, "closed", G_CALLBACK (unref_closed), &pair->resource);
  while (weak != NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (pair->resource);
}

/* Blocking calls and the caller's context ------------------------------------ */

static gboolean
set_flag (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

typedef struct
{
  CoprocMessenger *messenger;
  TestEvent        go;
  guint            n;
} LateSender;

static gpointer
late_sender_thread (gpointer user_data)
{
  LateSender *sender = user_data;

  test_event_wait (&sender->go);
  for (guint i = 0; i < sender->n; i++)
    send_reply (sender->messenger, g_variant_new_uint32 (i), NULL);

  return NULL;
}

/* While a blocking call waits, the caller's context does not run: neither
 * an idle of the caller's nor the messenger's own signals. */
static void
test_blocking_does_not_iterate (Pair          *pair,
                                gconstpointer  data)
{
  for (guint call = 0; call < 3; call++)
    {
      LateSender sender = { .messenger = pair->resource, .n = 3 };
      g_autoptr(GError) error = NULL;
      gboolean idle_ran = FALSE;
      GSource *idle;
      Recorder recorder;
      GThread *thread;

      recorder_init (&recorder, TRUE);
      connect_recorder (pair->process, &recorder);
      test_event_init (&sender.go);
      for (guint i = 0; i < sender.n; i++)
        send_request (pair->process, g_variant_new_uint32 (i), NULL);

      idle = g_idle_source_new ();
      g_source_set_callback (idle, set_flag, &idle_ran, NULL);
      g_source_attach (idle, g_main_context_get_thread_default ());

      thread = g_thread_new ("late-sender", late_sender_thread, &sender);
      test_event_set (&sender.go);

      switch (call)
        {
        case 0:
          {
            g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (pair->process, NULL,
                                                                             NULL, &error);

            g_assert_no_error (error);
            test_assert_variant (payload, g_variant_new_uint32 (0));
          }
          break;

        case 1:
          g_assert_true (coproc_messenger_await_available (pair->process, NULL, &error));
          g_assert_no_error (error);
          break;

        case 2:
          {
            g_autoptr(GPtrArray) replies = coproc_messenger_receive_remaining (pair->process, NULL,
                                                                               NULL, &error);

            g_assert_no_error (error);
            g_assert_cmpuint (replies->len, ==, sender.n);
          }
          break;

        default:
          g_assert_not_reached ();
        }

      g_thread_join (thread);
      g_assert_false (idle_ran);
      g_assert_cmpuint (recorder.messages->len, ==, 0);

      /* Both run as soon as the context does. */
      test_wait_for_flag (&idle_ran);
      g_source_destroy (idle);
      g_source_unref (idle);
      {
        g_autoptr(GPtrArray) rest = coproc_messenger_receive_available (pair->process, NULL, &error);

        g_assert_no_error (error);
        g_assert_cmpuint (coproc_messenger_remaining (pair->process, NULL), ==, 0);
      }

      disconnect_recorder (pair->process, &recorder);
      recorder_clear (&recorder);
      test_event_clear (&sender.go);
    }
}

/* The watch's time bound -------------------------------------------------- */

#define FLOOD_SIZE 200

typedef struct
{
  guint n_received;      /* messages the handler took, all in order */
  guint n_ticks;         /* timeout callbacks while messages were still due */
  guint idle_saw;        /* messages taken when the idle ran; G_MAXUINT before */
} Flood;

/* A handler that takes 100 µs per message, as a slow application does. */
static gboolean
on_flood_message (CoprocMessenger *messenger,
                  CoprocMessage   *message,
                  Flood           *flood)
{
  g_assert_cmpuint (g_variant_get_uint32 (coproc_message_get_payload (message)), ==,
                    flood->n_received);
  flood->n_received++;
  g_usleep (100);
  return TRUE;
}

static gboolean
flood_tick_cb (gpointer user_data)
{
  Flood *flood = user_data;

  if (flood->n_received < FLOOD_SIZE)
    flood->n_ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
flood_idle_cb (gpointer user_data)
{
  Flood *flood = user_data;

  flood->idle_saw = flood->n_received;
  return G_SOURCE_REMOVE;
}

/* Messages whose handling takes longer than a dispatch may do not hold the
 * context: a default-priority idle and timeout of the application run
 * between dispatches of the watch, before the last message is handled,
 * and every message still arrives, in order, by the signal, although all
 * of them were read at once (the peer sends nothing more: the watch goes
 * on by itself). */
static void
test_watch_yields (Pair          *pair,
                   gconstpointer  data)
{
  Flood flood = { 0, 0, G_MAXUINT };
  g_autoptr(GSource) tick = NULL;
  g_autoptr(GSource) idle = NULL;
  gulong handler;

  handler = g_signal_connect (pair->process, "message-received", G_CALLBACK (on_flood_message),
                              &flood);

  /* 200 small messages: one read takes them all (and the old count bound
   * handled them in one dispatch, some 20 ms with this handler). */
  for (guint i = 0; i < FLOOD_SIZE; i++)
    send_norequest (pair->resource, g_variant_new_uint32 (i), NULL);
  g_assert_true (coproc_messenger_flush (pair->resource, NULL, NULL));

  tick = g_timeout_source_new (1);
  g_source_set_callback (tick, flood_tick_cb, &flood, NULL);
  g_source_attach (tick, NULL);
  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (idle, flood_idle_cb, &flood, NULL);
  g_source_attach (idle, NULL);

  test_wait_for_count (&flood.n_received, FLOOD_SIZE);

  g_assert_cmpuint (flood.idle_saw, <, FLOOD_SIZE);
  g_assert_cmpuint (flood.n_ticks, >=, 2);
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, NULL), ==, FLOOD_SIZE);
  g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 0);

  g_source_destroy (tick);
  g_source_destroy (idle);
  g_signal_handler_disconnect (pair->process, handler);
}

/* A receive call between two dispatches takes the next message in order:
 * what the watch left buffered is not skipped, and the watch goes on with
 * the messages after it. */
static void
test_watch_yields_to_receive (Pair          *pair,
                              gconstpointer  data)
{
  Flood flood = { 0, 0, G_MAXUINT };
  g_autoptr(GError) error = NULL;
  gulong handler;

  handler = g_signal_connect (pair->process, "message-received", G_CALLBACK (on_flood_message),
                              &flood);

  for (guint i = 0; i < FLOOD_SIZE; i++)
    send_norequest (pair->resource, g_variant_new_uint32 (i), NULL);
  g_assert_true (coproc_messenger_flush (pair->resource, NULL, NULL));

  /* One iteration: one dispatch, which yields before the end. */
  while (flood.n_received == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (flood.n_received, <, FLOOD_SIZE);

  /* The receive call queues the rest, without signals; its message is the
   * next one. */
  {
    g_autoptr(GVariant) next = coproc_messenger_receive_blocking (pair->process, NULL, NULL,
                                                                  &error);

    g_assert_no_error (error);
    g_assert_cmpuint (g_variant_get_uint32 (next), ==, flood.n_received);
  }
  g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==,
                    FLOOD_SIZE - flood.n_received - 1);

  /* The watch finds nothing left to hand out, and stops being ready. */
  test_drain_context (NULL);
  g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==,
                    FLOOD_SIZE - flood.n_received - 1);

  g_signal_handler_disconnect (pair->process, handler);
}

/* Receiving from any channel ---------------------------------------------- */

typedef struct
{
  const char *channel;   /* NULL: the default channel */
  gdouble     priority;
  const char *payload;
} AnySend;

/* Sent in this order: the payload names the channel and the priority. */
static const AnySend any_sends[] = {
  { "a", 5, "a5" },
  { "b", 1, "b1" },
  { NULL, 5, "d5" },
  { "a", 1, "a1" },
};

static void
send_any_messages (CoprocMessenger *messenger)
{
  for (guint i = 0; i < G_N_ELEMENTS (any_sends); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (coproc_messenger_send_with_priority (
          messenger, COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_string (any_sends[i].payload),
          any_sends[i].channel ? g_variant_new_string (any_sends[i].channel) : NULL,
          any_sends[i].priority, &error));
      g_assert_no_error (error);
    }
}

/* What the messages of any_sends come out as, from all channels: by
 * priority, then arrival, for a PriorityMessenger; by arrival otherwise. */
static const char * const *
any_expected_order (CoprocMessenger *messenger)
{
  static const char * const by_priority[] = { "b1", "a1", "a5", "d5" };
  static const char * const by_arrival[] = { "a5", "b1", "d5", "a1" };

  return COPROC_IS_PRIORITY_MESSENGER (messenger) ? by_priority : by_arrival;
}

static void
assert_any_message (CoprocMessage *message,
                    const char    *payload)
{
  GVariant *channel = coproc_message_get_channel_id (message);

  test_assert_variant (coproc_message_get_payload (message), g_variant_new_string (payload));
  /* The message tells its channel: the payload's first letter. */
  if (payload[0] == 'd')
    g_assert_null (channel);
  else
    {
      char name[2] = { payload[0], '\0' };

      test_assert_variant (channel, g_variant_new_string (name));
    }
}

/* receive_message_any takes the first message of all channels, tells its
 * channel, counts it there, and fails like the other receive calls once
 * the peer is gone and every queue is empty. */
static void
test_receive_any_blocking (Pair          *pair,
                           gconstpointer  data)
{
  const char * const *expected = any_expected_order (pair->process);
  g_autoptr(GError) error = NULL;

  send_any_messages (pair->resource);

  for (guint i = 0; i < G_N_ELEMENTS (any_sends); i++)
    {
      g_autoptr(CoprocMessage) message = coproc_messenger_receive_message_any (pair->process, NULL,
                                                                               &error);

      g_assert_no_error (error);
      assert_any_message (message, expected[i]);
    }
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, g_variant_new_string ("a")),
                    ==, 2);
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 0);

  /* It waits for what comes next, on a channel never seen before. */
  send_norequest (pair->resource, g_variant_new_string ("late"), g_variant_new_int32 (7));
  {
    g_autoptr(CoprocMessage) message = coproc_messenger_receive_message_any (pair->process, NULL,
                                                                             &error);

    g_assert_no_error (error);
    test_assert_variant (coproc_message_get_payload (message), g_variant_new_string ("late"));
    test_assert_variant (coproc_message_get_channel_id (message), g_variant_new_int32 (7));
  }

  /* A cancelled call fails at once, taking nothing. */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    send_norequest (pair->resource, g_variant_new_string ("kept"), NULL);
    g_cancellable_cancel (cancellable);
    g_assert_null (coproc_messenger_receive_message_any (pair->process, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    assert_receive (pair->process, NULL, g_variant_new_string ("kept"));
  }

  g_assert_true (coproc_messenger_close (pair->resource, &error));
  g_assert_no_error (error);
  g_assert_null (coproc_messenger_receive_message_any (pair->process, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
}

typedef struct
{
  GPtrArray *results;   /* of CoprocMessage, or NULL for a failure */
  GError    *error;     /* the last failure */
} AnyResults;

static void
clear_message (gpointer message)
{
  if (message != NULL)
    g_object_unref (message);
}

static void
any_done_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  AnyResults *results = user_data;
  CoprocMessage *message;

  message = coproc_messenger_receive_message_any_finish (COPROC_MESSENGER (object), result,
                                                         &results->error);
  g_ptr_array_add (results->results, message);
}

static void
channel_done_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  AnyResults *results = user_data;
  CoprocMessage *message;

  message = coproc_messenger_receive_message_finish (COPROC_MESSENGER (object), result,
                                                     &results->error);
  g_ptr_array_add (results->results, message);
}

/* The async form: completes from what is queued, in the same order, waits
 * for a message on any channel, takes its turn among the other async
 * receives, and fails once the peer is gone. */
static void
test_receive_any_async (Pair          *pair,
                        gconstpointer  data)
{
  const char * const *expected = any_expected_order (pair->process);
  AnyResults results = { g_ptr_array_new_with_free_func (clear_message), NULL };

  send_any_messages (pair->resource);
  g_assert_true (coproc_messenger_flush (pair->resource, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (any_sends); i++)
    coproc_messenger_receive_message_any_async (pair->process, NULL, any_done_cb, &results);
  test_wait_for_count (&results.results->len, G_N_ELEMENTS (any_sends));
  g_assert_no_error (results.error);
  for (guint i = 0; i < G_N_ELEMENTS (any_sends); i++)
    assert_any_message (results.results->pdata[i], expected[i]);
  g_ptr_array_set_size (results.results, 0);

  /* Waiting: a receive on channel "x" was called first, so it takes the
   * message of "x"; the receive of any channel takes the next one, of "y". */
  coproc_messenger_receive_message_async (pair->process, g_variant_new_string ("x"), NULL,
                                          channel_done_cb, &results);
  coproc_messenger_receive_message_any_async (pair->process, NULL, any_done_cb, &results);
  test_drain_context (NULL);
  g_assert_cmpuint (results.results->len, ==, 0);
  send_norequest (pair->resource, g_variant_new_string ("for x"), g_variant_new_string ("x"));
  send_norequest (pair->resource, g_variant_new_string ("for y"), g_variant_new_string ("y"));
  test_wait_for_count (&results.results->len, 2);
  g_assert_no_error (results.error);
  test_assert_variant (coproc_message_get_payload (results.results->pdata[0]),
                       g_variant_new_string ("for x"));
  test_assert_variant (coproc_message_get_payload (results.results->pdata[1]),
                       g_variant_new_string ("for y"));
  test_assert_variant (coproc_message_get_channel_id (results.results->pdata[1]),
                       g_variant_new_string ("y"));
  g_ptr_array_set_size (results.results, 0);

  /* The peer goes away: the waiting call fails. */
  coproc_messenger_receive_message_any_async (pair->process, NULL, any_done_cb, &results);
  g_assert_true (coproc_messenger_close (pair->resource, NULL));
  test_wait_for_count (&results.results->len, 1);
  g_assert_null (results.results->pdata[0]);
  g_assert_error (results.error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  g_clear_error (&results.error);
  g_ptr_array_unref (results.results);
}

/* Registration ------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  test_add_both ("signals/message-received/handled", test_message_received_handled);
  test_add_both ("signals/message-received/unhandled", test_message_received_unhandled);
  test_add_both ("signals/message-received/no-handler", test_no_handler_queues);
  test_add_both ("signals/error-received", test_error_received);
  test_add_both ("signals/close-requested", test_close_requested);
  test_add_both ("signals/specials-in-order", test_specials_in_order);
  test_add_both ("signals/closed/clean", test_closed_clean);
  test_add_both ("signals/closed/noticed-by-receive", test_closed_noticed_by_receive);
  g_test_add_func ("/Coproc/Messenger/signals/closed/broken", test_closed_broken);
  g_test_add_func ("/Coproc/Messenger/signals/owner-context", test_signals_on_owner_context);
  test_add_both ("receive-async/immediate-and-waiting", test_receive_async_immediate_and_waiting);
  test_add_both ("receive-async/order", test_receive_async_order);
  test_add_both ("receive-async/channels", test_receive_async_channels);
  test_add_both ("receive-async/cancel", test_receive_async_cancel);
  test_add_both ("receive-async/peer-closes", test_receive_async_peer_closes);
  test_add_both ("receive-async/dispose-with-pending", test_dispose_with_pending);
  test_add_both ("receive-async/unref-with-pending", test_unref_with_pending);
  test_add_both ("reentrancy/handler-sends-and-receives", test_reentrant_handler);
  test_add_both ("reentrancy/handler-disposes", test_handler_disposes);
  test_add_both ("reentrancy/handler-unrefs", test_handler_unrefs);
  test_add_both ("blocking-does-not-iterate", test_blocking_does_not_iterate);
  test_add_both ("watch/yields", test_watch_yields);
  test_add_both ("watch/yields-to-receive", test_watch_yields_to_receive);
  test_add_both ("receive-any/blocking", test_receive_any_blocking);
  test_add_both ("receive-any/async", test_receive_any_async);

  return g_test_run ();
}
