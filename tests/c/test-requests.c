/* test-requests.c: correlated requests and their replies
 *
 * coproc_messenger_request(), request_async(), reply_to() and
 * reply_error(), over a messenger pair, and over a pair whose peer runs in
 * a thread of its own (for the blocking form, which waits while the peer
 * answers).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>

#include "coproc-test-util.h"

/* The outcome of one async request: its callback must run exactly once,
 * on the main thread's default context. */
typedef struct
{
  guint     n_calls;
  guint     order;      /* among the completions of the test, from 1 */
  GVariant *reply;
  GError   *error;
} Outcome;

static guint n_completions;

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->reply, g_variant_unref);
  g_clear_error (&o->error);
}

static void
request_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Outcome *o = user_data;

  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  g_assert_cmpuint (o->n_calls, ==, 0);
  o->n_calls++;
  o->order = ++n_completions;
  o->reply = coproc_messenger_request_finish (COPROC_MESSENGER (source), result, &o->error);
  g_assert_true ((o->reply == NULL) != (o->error == NULL));
}

static void
request_async (CoprocMessenger *messenger,
               GVariant        *payload,
               GVariant        *channel_id,
               GCancellable    *cancellable,
               Outcome         *o)
{
  memset (o, 0, sizeof *o);
  coproc_messenger_request_async (messenger, payload, channel_id, cancellable, request_cb, o);
}

static void
wait_outcome (Outcome *o)
{
  while (o->n_calls == 0)
    g_main_context_iteration (NULL, TRUE);
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

static void
reply_to (CoprocMessenger *messenger,
          CoprocMessage   *request,
          GVariant        *payload)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_reply_to (messenger, request, payload, &error));
  g_assert_no_error (error);
}

static void
reply_error (CoprocMessenger *messenger,
             CoprocMessage   *request,
             gint             code,
             const char      *text)
{
  g_autoptr(GError) remote = g_error_new_literal (TEST_ERROR, code, text);
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_reply_error (messenger, request, remote, &error));
  g_assert_no_error (error);
}

/* Reads what has arrived, without emitting anything. */
static void
pump (CoprocMessenger *messenger)
{
  g_autoptr(GError) error = NULL;

  coproc_messenger_available (messenger, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
count_message_cb (CoprocMessenger *messenger,
                  CoprocMessage   *message,
                  gpointer         user_data)
{
  guint *count = user_data;

  (*count)++;
  return FALSE;
}

/* Basic use ----------------------------------------------------------------------- */

static void
test_async_basic (Pair          *pair,
                  gconstpointer  data)
{
  g_autoptr(CoprocMessage) request = NULL;
  guint n_signalled = 0;
  Outcome o;

  g_signal_connect (pair->resource, "message-received", G_CALLBACK (count_message_cb),
                    &n_signalled);

  request_async (pair->resource, g_variant_new_string ("ping"), NULL, NULL, &o);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 1);

  request = receive_message (pair->process, NULL);
  g_assert_true (coproc_message_get_request_reply (request));
  g_assert_cmpuint (coproc_message_get_request_id (request), !=, 0);
  test_assert_variant (coproc_message_get_payload (request), g_variant_new_string ("ping"));
  reply_to (pair->process, request, g_variant_new_string ("pong"));

  wait_outcome (&o);
  g_assert_no_error (o.error);
  test_assert_variant (o.reply, g_variant_new_string ("pong"));

  /* The reply counts, but is never queued nor signalled. */
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_messages_received (pair->resource, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_queue_size (pair->resource, NULL), ==, 0);
  test_drain_context (NULL);
  g_assert_cmpuint (n_signalled, ==, 0);
  g_assert_cmpuint (o.n_calls, ==, 1);

  g_signal_handlers_disconnect_by_data (pair->resource, &n_signalled);
  outcome_clear (&o);
}

/* Each request id is fresh, and a reply carries the id of its request. */
static void
test_request_ids (Pair          *pair,
                  gconstpointer  data)
{
  g_autoptr(CoprocMessage) first = NULL;
  g_autoptr(CoprocMessage) second = NULL;
  g_autoptr(CoprocMessage) reply = NULL;
  g_autoptr(CoprocMessage) plain = NULL;
  guint64 id;

  send_request (pair->resource, g_variant_new_int32 (1), NULL);
  send_request (pair->resource, g_variant_new_int32 (2), NULL);
  send_norequest (pair->resource, g_variant_new_int32 (3), NULL);
  first = receive_message (pair->process, NULL);
  second = receive_message (pair->process, NULL);
  plain = receive_message (pair->process, NULL);
  g_assert_cmpuint (coproc_message_get_request_id (first), !=, 0);
  g_assert_cmpuint (coproc_message_get_request_id (second), !=, 0);
  g_assert_cmpuint (coproc_message_get_request_id (first), !=,
                    coproc_message_get_request_id (second));
  g_assert_cmpuint (coproc_message_get_request_id (plain), ==, 0);

  /* send_reply() answers the oldest request taken: the first. */
  send_reply (pair->process, g_variant_new_int32 (10), NULL);
  reply = receive_message (pair->resource, NULL);
  g_assert_true (coproc_message_get_is_reply (reply));
  g_object_get (reply, "request-id", &id, NULL);
  g_assert_cmpuint (id, ==, coproc_message_get_request_id (first));
}

/* Many requests, on two channels, answered out of order ------------------------- */

#define N_OUT_OF_ORDER 200

static void
test_out_of_order (Pair          *pair,
                   gconstpointer  data)
{
  g_autoptr(GVariant) two = g_variant_ref_sink (g_variant_new_string ("two"));
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);
  Outcome outcomes[N_OUT_OF_ORDER];
  GRand *rand = g_rand_new_with_seed (1234);

  n_completions = 0;
  for (guint i = 0; i < N_OUT_OF_ORDER; i++)
    request_async (pair->resource, g_variant_new_uint32 (i), i % 2 ? two : NULL, NULL,
                   &outcomes[i]);

  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, NULL), ==, N_OUT_OF_ORDER / 2);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, two), ==, N_OUT_OF_ORDER / 2);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, two), ==, N_OUT_OF_ORDER / 2);

  for (guint i = 0; i < N_OUT_OF_ORDER; i++)
    g_ptr_array_add (requests, receive_message (pair->process, i % 2 ? two : NULL));

  /* Answer in a shuffled order. */
  for (guint i = requests->len; i > 1; i--)
    {
      guint j = g_rand_int_range (rand, 0, i);
      gpointer tmp = requests->pdata[i - 1];

      requests->pdata[i - 1] = requests->pdata[j];
      requests->pdata[j] = tmp;
    }
  for (guint i = 0; i < requests->len; i++)
    {
      CoprocMessage *request = g_ptr_array_index (requests, i);
      guint32 n = g_variant_get_uint32 (coproc_message_get_payload (request));

      reply_to (pair->process, request, g_variant_new_uint32 (n * 10));
    }

  test_wait_for_count (&n_completions, N_OUT_OF_ORDER);
  for (guint i = 0; i < N_OUT_OF_ORDER; i++)
    {
      g_assert_cmpuint (outcomes[i].n_calls, ==, 1);
      g_assert_no_error (outcomes[i].error);
      test_assert_variant (outcomes[i].reply, g_variant_new_uint32 (i * 10));
      outcome_clear (&outcomes[i]);
    }

  for (guint c = 0; c < 2; c++)
    {
      GVariant *channel = c ? two : NULL;

      g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, channel), ==,
                        N_OUT_OF_ORDER / 2);
      g_assert_cmpuint (coproc_messenger_remaining (pair->resource, channel), ==, 0);
      g_assert_cmpuint (coproc_messenger_queue_size (pair->resource, channel), ==, 0);
      g_assert_cmpuint (coproc_messenger_messages_sent (pair->process, channel), ==,
                        N_OUT_OF_ORDER / 2);
    }

  g_rand_free (rand);
}

/* A worker written for 1.0 (receive, then send_reply) serves correlated
 * requests, many outstanding at once. */
static void
test_served_by_send_reply (Pair          *pair,
                           gconstpointer  data)
{
  g_autoptr(GVariant) other = g_variant_ref_sink (g_variant_new_int32 (7));
  Outcome outcomes[100];

  n_completions = 0;
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    request_async (pair->resource, g_variant_new_uint32 (i), i % 3 ? NULL : other, NULL,
                   &outcomes[i]);

  /* Take some, answer some, take more: send_reply answers the oldest
   * taken and unanswered request of its channel. */
  for (guint round = 0; round < 2; round++)
    for (guint c = 0; c < 2; c++)
      {
        GVariant *channel = c ? other : NULL;
        guint queued = coproc_messenger_available (pair->process, channel, NULL);
        g_autoptr(GPtrArray) taken = NULL;

        taken = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
        for (guint i = 0; i < (round == 0 ? queued / 2 : queued); i++)
          g_ptr_array_add (taken, receive_blocking (pair->process, channel));
        for (guint i = 0; i < taken->len; i++)
          send_reply (pair->process, g_ptr_array_index (taken, i), channel);
      }

  test_wait_for_count (&n_completions, G_N_ELEMENTS (outcomes));
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      g_assert_no_error (outcomes[i].error);
      test_assert_variant (outcomes[i].reply, g_variant_new_uint32 (i));
      outcome_clear (&outcomes[i]);
    }
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, other), ==, 0);
  g_assert_cmpuint (coproc_messenger_queue_size (pair->resource, NULL), ==, 0);
}

/* Plain requests and correlated ones on one channel: each reply goes where
 * its request came from. */
static void
test_mixed_with_plain (Pair          *pair,
                       gconstpointer  data)
{
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariant) third = NULL;
  Outcome o;

  send_request (pair->resource, g_variant_new_int32 (1), NULL);
  request_async (pair->resource, g_variant_new_int32 (2), NULL, NULL, &o);
  send_request (pair->resource, g_variant_new_int32 (3), NULL);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 3);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GVariant) payload = receive_blocking (pair->process, NULL);

      send_reply (pair->process, g_variant_new_int32 (g_variant_get_int32 (payload) * 10), NULL);
    }

  wait_outcome (&o);
  test_assert_variant (o.reply, g_variant_new_int32 (20));
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 2);

  first = receive_blocking (pair->resource, NULL);
  third = receive_blocking (pair->resource, NULL);
  test_assert_variant (first, g_variant_new_int32 (10));
  test_assert_variant (third, g_variant_new_int32 (30));
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 0);
  outcome_clear (&o);
}

/* A reply to no request is delivered as an ordinary reply, as in 1.0. */
static void
test_unsolicited_reply (Pair          *pair,
                        gconstpointer  data)
{
  g_autoptr(CoprocMessage) reply = NULL;
  g_autoptr(CoprocMessage) request = NULL;
  Outcome o;

  request_async (pair->resource, g_variant_new_int32 (1), NULL, NULL, &o);
  request = receive_message (pair->process, NULL);

  /* Answered with reply_to(): send_reply() has nothing left to answer. */
  reply_to (pair->process, request, g_variant_new_int32 (2));
  send_reply (pair->process, g_variant_new_int32 (3), NULL);

  wait_outcome (&o);
  test_assert_variant (o.reply, g_variant_new_int32 (2));
  reply = receive_message (pair->resource, NULL);
  g_assert_true (coproc_message_get_is_reply (reply));
  g_assert_cmpuint (coproc_message_get_request_id (reply), ==, 0);
  test_assert_variant (coproc_message_get_payload (reply), g_variant_new_int32 (3));
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, NULL), ==, 1);
  outcome_clear (&o);
}

/* Error replies ------------------------------------------------------------------- */

static void
test_reply_error (Pair          *pair,
                  gconstpointer  data)
{
  Outcome outcomes[3];
  Outcome after;
  g_autoptr(CoprocMessage) last = NULL;

  n_completions = 0;
  for (guint i = 0; i < 3; i++)
    request_async (pair->resource, g_variant_new_int32 (i), NULL, NULL, &outcomes[i]);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CoprocMessage) request = receive_message (pair->process, NULL);

      if (i == 1)
        reply_error (pair->process, request, TEST_ERROR_BOOM, "the second one failed");
      else
        reply_to (pair->process, request, g_variant_new_int32 (i));
    }

  test_wait_for_count (&n_completions, 3);
  test_assert_variant (outcomes[0].reply, g_variant_new_int32 (0));
  g_assert_error (outcomes[1].error, TEST_ERROR, TEST_ERROR_BOOM);
  g_assert_cmpstr (outcomes[1].error->message, ==, "the second one failed");
  test_assert_variant (outcomes[2].reply, g_variant_new_int32 (2));
  for (guint i = 0; i < 3; i++)
    outcome_clear (&outcomes[i]);

  /* It counted as that request's reply; nothing else failed. */
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, NULL), ==, 3);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_available (pair->resource, NULL, NULL), ==, 0);

  /* The messenger stays usable. */
  request_async (pair->resource, g_variant_new_int32 (9), NULL, NULL, &after);
  last = receive_message (pair->process, NULL);
  reply_to (pair->process, last, g_variant_new_int32 (90));
  wait_outcome (&after);
  test_assert_variant (after.reply, g_variant_new_int32 (90));
  outcome_clear (&after);
  g_assert_false (coproc_messenger_is_closed (pair->resource));
}

/* An error reply to a plain request fails the next receive call, as an
 * error message does, and counts as the request's reply. */
static void
test_reply_error_to_plain_request (Pair          *pair,
                                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) second = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GVariant) channel = g_variant_ref_sink (g_variant_new_string ("jobs"));

  send_request (pair->resource, g_variant_new_int32 (1), channel);
  send_request (pair->resource, g_variant_new_int32 (2), channel);

  {
    g_autoptr(CoprocMessage) one = receive_message (pair->process, channel);
    g_autoptr(CoprocMessage) two = receive_message (pair->process, channel);

    reply_error (pair->process, one, TEST_ERROR_FIRST, "not this one");
    reply_to (pair->process, two, g_variant_new_int32 (20));
  }

  payload = coproc_messenger_receive_blocking (pair->resource, channel, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, TEST_ERROR, TEST_ERROR_FIRST);
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, channel), ==, 1);

  second = receive_blocking (pair->resource, channel);
  test_assert_variant (second, g_variant_new_int32 (20));
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, channel), ==, 0);
}

/* An error the peer sends with send_error() fails the oldest async request
 * waiting, as it would fail the next receive call; its reply is dropped. */
static void
test_send_error_fails_oldest (Pair          *pair,
                              gconstpointer  data)
{
  g_autoptr(GError) remote = g_error_new_literal (TEST_ERROR, TEST_ERROR_BOOM, "boom");
  Outcome first, second;

  n_completions = 0;
  request_async (pair->resource, g_variant_new_int32 (1), NULL, NULL, &first);
  request_async (pair->resource, g_variant_new_int32 (2), NULL, NULL, &second);

  {
    g_autoptr(CoprocMessage) one = receive_message (pair->process, NULL);
    g_autoptr(CoprocMessage) two = receive_message (pair->process, NULL);

    g_assert_true (coproc_messenger_send_error (pair->process, remote, NULL));
    reply_to (pair->process, one, g_variant_new_int32 (10));
    reply_to (pair->process, two, g_variant_new_int32 (20));
  }

  test_wait_for_count (&n_completions, 2);
  g_assert_error (first.error, TEST_ERROR, TEST_ERROR_BOOM);
  test_assert_variant (second.reply, g_variant_new_int32 (20));
  g_assert_cmpuint (first.order, <, second.order);

  /* The first one's reply came, was dropped, and counted. */
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, NULL), ==, 2);
  g_assert_cmpuint (coproc_messenger_queue_size (pair->resource, NULL), ==, 0);
  outcome_clear (&first);
  outcome_clear (&second);
}

/* Cancelling ---------------------------------------------------------------------- */

typedef enum
{
  CANCEL_BEFORE_REPLY,    /* the peer has not answered yet */
  CANCEL_REPLY_IN_SOCKET, /* the reply is in the socket, not read yet */
  CANCEL_AFTER_CALLBACK,  /* the call completed */
} CancelWhen;

static void
check_cancel (Pair       *pair,
              CancelWhen  when)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(CoprocMessage) request = NULL;
  g_autoptr(CoprocMessage) next = NULL;
  Outcome o, after;

  request_async (pair->resource, g_variant_new_int32 (1), NULL, cancellable, &o);
  request = receive_message (pair->process, NULL);

  if (when != CANCEL_BEFORE_REPLY)
    reply_to (pair->process, request, g_variant_new_int32 (10));
  if (when == CANCEL_AFTER_CALLBACK)
    wait_outcome (&o);

  g_cancellable_cancel (cancellable);
  wait_outcome (&o);
  if (when == CANCEL_AFTER_CALLBACK)
    test_assert_variant (o.reply, g_variant_new_int32 (10));
  else
    g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  if (when == CANCEL_BEFORE_REPLY)
    {
      /* Cancelled, the request is still outstanding until its reply. */
      g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 1);
      reply_to (pair->process, request, g_variant_new_int32 (10));
    }

  /* The late reply is dropped, and counted. */
  pump (pair->resource);
  test_drain_context (NULL);
  g_assert_cmpuint (o.n_calls, ==, 1);
  g_assert_cmpuint (coproc_messenger_queue_size (pair->resource, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, 0);

  /* The next request gets its own reply, not the dropped one. */
  request_async (pair->resource, g_variant_new_int32 (2), NULL, NULL, &after);
  next = receive_message (pair->process, NULL);
  reply_to (pair->process, next, g_variant_new_int32 (20));
  wait_outcome (&after);
  test_assert_variant (after.reply, g_variant_new_int32 (20));

  outcome_clear (&o);
  outcome_clear (&after);
}

static void
test_cancel_before_reply (Pair          *pair,
                          gconstpointer  data)
{
  check_cancel (pair, CANCEL_BEFORE_REPLY);
}

static void
test_cancel_reply_in_socket (Pair          *pair,
                             gconstpointer  data)
{
  check_cancel (pair, CANCEL_REPLY_IN_SOCKET);
}

static void
test_cancel_after_callback (Pair          *pair,
                            gconstpointer  data)
{
  check_cancel (pair, CANCEL_AFTER_CALLBACK);
}

static void
test_cancelled_before_call (Pair          *pair,
                            gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  Outcome o;

  g_cancellable_cancel (cancellable);
  request_async (pair->resource, g_variant_new_int32 (1), NULL, cancellable, &o);
  wait_outcome (&o);
  g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  outcome_clear (&o);

  reply = coproc_messenger_request (pair->resource, g_variant_new_int32 (1), NULL, cancellable,
                                    &error);
  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Nothing was sent. */
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, NULL), ==, 0);
}

/* The end of the connection ------------------------------------------------------- */

/* The peer answers some requests and hangs up: those answered complete
 * first, the others fail with CLOSED, each callback once. */
static void
test_peer_gone_async (Pair          *pair,
                      gconstpointer  data)
{
  Outcome outcomes[5];

  n_completions = 0;
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    request_async (pair->resource, g_variant_new_int32 (i), NULL, NULL, &outcomes[i]);

  {
    g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);

    for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
      g_ptr_array_add (requests, receive_message (pair->process, NULL));
    reply_to (pair->process, g_ptr_array_index (requests, 3), g_variant_new_int32 (30));
    reply_to (pair->process, g_ptr_array_index (requests, 1), g_variant_new_int32 (10));
  }
  g_clear_object (&pair->process);

  test_wait_for_count (&n_completions, G_N_ELEMENTS (outcomes));
  test_drain_context (NULL);
  for (guint i = 0; i < G_N_ELEMENTS (outcomes); i++)
    {
      g_assert_cmpuint (outcomes[i].n_calls, ==, 1);
      if (i == 1 || i == 3)
        {
          test_assert_variant (outcomes[i].reply, g_variant_new_int32 (i * 10));
          g_assert_cmpuint (outcomes[i].order, <=, 2);
        }
      else
        {
          g_assert_error (outcomes[i].error, COPROC_ERROR, COPROC_ERROR_CLOSED);
          g_assert_cmpuint (outcomes[i].order, >, 2);
        }
      outcome_clear (&outcomes[i]);
    }

  /* Once closed, a request fails at once. */
  request_async (pair->resource, g_variant_new_int32 (9), NULL, NULL, &outcomes[0]);
  wait_outcome (&outcomes[0]);
  g_assert_error (outcomes[0].error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  outcome_clear (&outcomes[0]);
}

/* Closing or disposing of the messenger fails the requests waiting. */
static void
test_close_fails_waiting (Pair          *pair,
                          gconstpointer  data)
{
  Outcome closed, disposed;
  g_autoptr(CoprocMessenger) other = NULL;
  g_autoptr(CoprocMessenger) other_peer = NULL;

  request_async (pair->resource, g_variant_new_int32 (1), NULL, NULL, &closed);
  g_assert_true (coproc_messenger_close (pair->resource, NULL));
  wait_outcome (&closed);
  g_assert_error (closed.error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  outcome_clear (&closed);

  g_assert_true (coproc_messenger_new_pair (GPOINTER_TO_SIZE (data), &other_peer, &other, NULL));
  request_async (other, g_variant_new_int32 (1), NULL, NULL, &disposed);
  g_object_run_dispose (G_OBJECT (other));
  wait_outcome (&disposed);
  g_assert_error (disposed.error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  outcome_clear (&disposed);
}

/* A peer in a thread, for the blocking form ---------------------------------------- */

typedef struct _ThreadPeer ThreadPeer;
typedef void (*ThreadPeerFunc) (ThreadPeer *peer, CoprocMessenger *messenger);

struct _ThreadPeer
{
  GType           type;
  int             fd;         /* taken by the thread's messenger */
  ThreadPeerFunc  func;
  GThread        *thread;
  GCancellable   *cancellable; /* borrowed: what the peer may cancel */
  TestEvent       go;          /* set by the test when the peer may go on */
};

static gpointer
thread_peer_main (gpointer user_data)
{
  ThreadPeer *peer = user_data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  CoprocMessenger *messenger;

  /* The thread's messenger watches a context of its own, never run. */
  g_main_context_push_thread_default (context);
  messenger = test_messenger_for_fd (peer->type, peer->fd, 0);
  peer->func (peer, messenger);
  g_object_unref (messenger);
  g_main_context_pop_thread_default (context);

  return NULL;
}

/* Returns the messenger of this end; the peer runs @func in its thread. */
static CoprocMessenger *
thread_peer_start (ThreadPeer     *peer,
                   GType           type,
                   ThreadPeerFunc  func)
{
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  memset (peer, 0, sizeof *peer);
  peer->type = type;
  peer->fd = fds[1];
  peer->func = func;
  test_event_init (&peer->go);
  peer->thread = g_thread_new ("peer", thread_peer_main, peer);

  return test_messenger_for_fd (type, fds[0], 0);
}

static void
thread_peer_join (ThreadPeer *peer)
{
  g_thread_join (peer->thread);
  test_event_clear (&peer->go);
}

static GVariant *
request_sync (CoprocMessenger *messenger,
              GVariant        *payload)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply;

  reply = coproc_messenger_request (messenger, payload, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  return reply;
}

/* Sends a note, then answers each request with ten times its number,
 * until told to close. */
static void
serve_times_ten (ThreadPeer      *peer,
                 CoprocMessenger *messenger)
{
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CoprocMessage) request = NULL;
      gint32 n;

      request = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
      if (request == NULL)
        {
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
          return;
        }

      n = g_variant_get_int32 (coproc_message_get_payload (request));
      send_norequest (messenger, g_variant_new_string ("note"), NULL);
      if (n < 0)
        reply_error (messenger, request, TEST_ERROR_NEGATIVE, "negative");
      else
        reply_to (messenger, request, g_variant_new_int32 (n * 10));
    }
}

static gboolean
flag_cb (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

/* The blocking form never iterates the caller's context: a source ready
 * there does not run during it, and what arrives meanwhile is queued,
 * not signalled. */
static void
test_sync_request (void)
{
  ThreadPeer peer;
  g_autoptr(CoprocMessenger) messenger = thread_peer_start (&peer, COPROC_TYPE_PRIORITY_MESSENGER,
                                                            serve_times_ten);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) failed = NULL;
  gboolean ran = FALSE;
  guint n_signalled = 0;

  g_signal_connect (messenger, "message-received", G_CALLBACK (count_message_cb), &n_signalled);
  g_idle_add (flag_cb, &ran);

  for (gint32 i = 0; i < 20; i++)
    {
      g_autoptr(GVariant) reply = request_sync (messenger, g_variant_new_int32 (i));

      test_assert_variant (reply, g_variant_new_int32 (i * 10));
    }
  g_assert_false (ran);
  g_assert_cmpuint (n_signalled, ==, 0);
  g_assert_cmpuint (coproc_messenger_queue_size (messenger, NULL), ==, 20);
  g_assert_cmpuint (coproc_messenger_replies_received (messenger, NULL), ==, 20);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);

  /* An error reply fails that request alone. */
  failed = coproc_messenger_request (messenger, g_variant_new_int32 (-1), NULL, NULL, &error);
  g_assert_null (failed);
  g_assert_error (error, TEST_ERROR, TEST_ERROR_NEGATIVE);
  g_clear_pointer (&failed, g_variant_unref);
  failed = request_sync (messenger, g_variant_new_int32 (3));
  test_assert_variant (failed, g_variant_new_int32 (30));
  g_assert_false (ran);

  test_drain_context (NULL);
  g_assert_true (ran);

  g_assert_true (coproc_messenger_send_close_request (messenger, NULL));
  thread_peer_join (&peer);
  g_signal_handlers_disconnect_by_data (messenger, &n_signalled);
}

/* Takes a request, cancels the caller's call, waits, then answers. */
static void
serve_after_cancel (ThreadPeer      *peer,
                    CoprocMessenger *messenger)
{
  g_autoptr(CoprocMessage) request = receive_message (messenger, NULL);

  g_cancellable_cancel (peer->cancellable);
  test_event_wait (&peer->go);
  reply_to (messenger, request, g_variant_new_int32 (1));
  serve_times_ten (peer, messenger);
}

static void
test_sync_cancel (void)
{
  ThreadPeer peer;
  g_autoptr(CoprocMessenger) messenger = thread_peer_start (&peer, COPROC_TYPE_MULTI_MESSENGER,
                                                            serve_after_cancel);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  peer.cancellable = cancellable;
  reply = coproc_messenger_request (messenger, g_variant_new_int32 (5), NULL, cancellable, &error);
  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 1);
  test_event_set (&peer.go);

  /* The late reply is dropped when it comes; the next call gets its own. */
  reply = request_sync (messenger, g_variant_new_int32 (2));
  test_assert_variant (reply, g_variant_new_int32 (20));
  g_assert_cmpuint (coproc_messenger_replies_received (messenger, NULL), ==, 2);
  g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);

  g_assert_true (coproc_messenger_send_close_request (messenger, NULL));
  thread_peer_join (&peer);
}

/* Takes three requests, answers the first and the last, and hangs up. */
static void
answer_two_and_leave (ThreadPeer      *peer,
                      CoprocMessenger *messenger)
{
  g_autoptr(CoprocMessage) a = receive_message (messenger, NULL);
  g_autoptr(CoprocMessage) b = receive_message (messenger, NULL);
  g_autoptr(CoprocMessage) c = receive_message (messenger, NULL);

  reply_to (messenger, a, g_variant_new_string ("a"));
  reply_to (messenger, c, g_variant_new_string ("c"));
}

/* The reply that arrived before the hang-up completes the blocking call;
 * the others fail with CLOSED once the replies before are in. */
static void
test_sync_peer_gone (void)
{
  ThreadPeer peer;
  g_autoptr(CoprocMessenger) messenger = thread_peer_start (&peer, COPROC_TYPE_PRIORITY_MESSENGER,
                                                            answer_two_and_leave);
  g_autoptr(GVariant) c = NULL;
  g_autoptr(GVariant) d = NULL;
  g_autoptr(GError) error = NULL;
  Outcome a, b;

  n_completions = 0;
  request_async (messenger, g_variant_new_string ("a"), NULL, NULL, &a);
  request_async (messenger, g_variant_new_string ("b"), NULL, NULL, &b);
  c = request_sync (messenger, g_variant_new_string ("c"));
  test_assert_variant (c, g_variant_new_string ("c"));
  thread_peer_join (&peer);

  d = coproc_messenger_request (messenger, g_variant_new_string ("d"), NULL, NULL, &error);
  g_assert_null (d);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  test_wait_for_count (&n_completions, 2);
  test_assert_variant (a.reply, g_variant_new_string ("a"));
  g_assert_error (b.error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_assert_cmpuint (a.order, <, b.order);
  test_drain_context (NULL);
  g_assert_cmpuint (a.n_calls + b.n_calls, ==, 2);
  outcome_clear (&a);
  outcome_clear (&b);
}

/* A received request knows its messenger, without keeping it alive; other
 * messages have none. */
static void
test_dup_messenger (void)
{
  CoprocMessenger *process = NULL;
  CoprocMessenger *resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) request = NULL;
  g_autoptr(CoprocMessage) plain = NULL;
  g_autoptr(CoprocMessenger) dup = NULL;
  Outcome outcome = { 0 };

  g_assert_true (coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &process, &resource,
                                            &error));
  g_assert_no_error (error);

  request_async (resource, g_variant_new_string ("q"), NULL, NULL, &outcome);
  g_assert_true (coproc_messenger_send_norequest (resource, g_variant_new_string ("p"), NULL,
                                                  &error));
  g_assert_no_error (error);
  request = receive_message (process, NULL);
  plain = receive_message (process, NULL);

  g_assert_null (coproc_message_dup_messenger (plain));
  dup = coproc_message_dup_messenger (request);
  g_assert_true (dup == process);
  g_clear_object (&dup);

  /* Answered through the messenger it gives. */
  dup = coproc_message_dup_messenger (request);
  reply_to (dup, request, g_variant_new_string ("a"));
  g_clear_object (&dup);
  wait_outcome (&outcome);
  test_assert_variant (outcome.reply, g_variant_new_string ("a"));
  outcome_clear (&outcome);

  g_object_unref (process);
  g_assert_null (coproc_message_dup_messenger (request));
  g_object_unref (resource);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  test_add_both ("request/async", test_async_basic);
  test_add_both ("request/ids", test_request_ids);
  test_add_both ("request/out-of-order", test_out_of_order);
  test_add_both ("request/served-by-send-reply", test_served_by_send_reply);
  test_add_both ("request/mixed-with-plain", test_mixed_with_plain);
  test_add_both ("request/unsolicited-reply", test_unsolicited_reply);
  test_add_both ("request/reply-error", test_reply_error);
  test_add_both ("request/reply-error-to-plain-request", test_reply_error_to_plain_request);
  test_add_both ("request/send-error-fails-oldest", test_send_error_fails_oldest);
  test_add_both ("request/cancel-before-reply", test_cancel_before_reply);
  test_add_both ("request/cancel-reply-in-socket", test_cancel_reply_in_socket);
  test_add_both ("request/cancel-after-callback", test_cancel_after_callback);
  test_add_both ("request/cancelled-before-call", test_cancelled_before_call);
  test_add_both ("request/peer-gone-async", test_peer_gone_async);
  test_add_both ("request/close-fails-waiting", test_close_fails_waiting);
  g_test_add_func ("/Coproc/Messenger/request/dup-messenger", test_dup_messenger);
  g_test_add_func ("/Coproc/Messenger/request/sync", test_sync_request);
  g_test_add_func ("/Coproc/Messenger/request/sync-cancel", test_sync_cancel);
  g_test_add_func ("/Coproc/Messenger/request/sync-peer-gone", test_sync_peer_gone);

  return g_test_run ();
}
