/* test-messenger.c: sending, receiving and counting over a messenger pair
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>
#include <glib-unix.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "coproc-test-util.h"

/* Fixture: a Pair from coproc-test-util.h */

/* Shorthands that assert success. */

static void
send_with_priority (CoprocMessenger   *messenger,
                    CoprocMessageKind  kind,
                    GVariant          *payload,
                    GVariant          *channel_id,
                    gdouble            priority)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_with_priority (messenger, kind, payload, channel_id,
                                                      priority, &error));
  g_assert_no_error (error);
}

static void
send_error (CoprocMessenger *messenger,
            GQuark           domain,
            gint             code,
            const char      *message)
{
  g_autoptr(GError) remote = g_error_new_literal (domain, code, message);
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_error (messenger, remote, &error));
  g_assert_no_error (error);
}

static void
send_close_request (CoprocMessenger *messenger)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_close_request (messenger, &error));
  g_assert_no_error (error);
}

static guint
available (CoprocMessenger *messenger,
           GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;
  guint n;

  n = coproc_messenger_available (messenger, channel_id, &error);
  g_assert_no_error (error);
  return n;
}

static CoprocMessage *
receive_message (CoprocMessenger *messenger,
                 GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;
  CoprocMessage *message;

  message = coproc_messenger_receive_message_blocking (messenger, channel_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (COPROC_IS_MESSAGE (message));
  return message;
}

static GPtrArray *
receive_available (CoprocMessenger *messenger,
                   GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *payloads;

  payloads = coproc_messenger_receive_available (messenger, channel_id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (payloads);
  return payloads;
}

static GPtrArray *
receive_remaining (CoprocMessenger *messenger,
                   GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *payloads;

  payloads = coproc_messenger_receive_remaining (messenger, channel_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (payloads);
  return payloads;
}

/* Receives the next payload on @channel_id and checks it against
 * @expected (floating, sunk here). */
#define assert_receive(messenger, channel_id, expected) \
  G_STMT_START { \
    g_autoptr(GVariant) received__ = receive_blocking ((messenger), (channel_id)); \
    test_assert_variant (received__, (expected)); \
  } G_STMT_END

/* Ports of the original library's tests ------------------------------------ */

/* tests/test_messenger.py: test_messenger */
static void
test_original_messenger (Pair          *pair,
                         gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  CoprocMessenger *rm = pair->resource;
  const gint32 vs[] = { 1, 2, 3 };
  g_autoptr(GPtrArray) replies = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 0);
  g_assert_cmpuint (available (pm, NULL), ==, 0);

  /* resource → process */
  send_request (rm, g_variant_new_string ("hi"), NULL);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 1);
  g_assert_cmpuint (available (rm, NULL), ==, 0);
  g_assert_cmpuint (available (pm, NULL), ==, 1);
  assert_receive (pm, NULL, g_variant_new_string ("hi"));
  g_assert_cmpuint (available (pm, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 1);

  /* process → resource */
  send_reply (pm, g_variant_new_string ("hi"), NULL);
  g_assert_cmpuint (available (rm, NULL), ==, 1);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 1);
  assert_receive (rm, NULL, g_variant_new_string ("hi"));
  g_assert_cmpuint (available (rm, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 0);

  /* close requests */
  send_close_request (rm);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_available (pm, NULL, &error), ==, 0);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
  g_clear_error (&error);

  /* errors */
  g_assert_cmpuint (available (rm, NULL), ==, 0);
  send_error (pm, TEST_ERROR, TEST_ERROR_BOOM, "test error was successful");
  g_assert_cmpuint (coproc_messenger_available (rm, NULL, &error), ==, 0);
  g_assert_error (error, TEST_ERROR, TEST_ERROR_BOOM);
  g_assert_cmpstr (error->message, ==, "test error was successful");
  g_clear_error (&error);

  /* several requests */
  for (guint i = 0; i < G_N_ELEMENTS (vs); i++)
    send_request (rm, g_variant_new_int32 (vs[i]), NULL);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, G_N_ELEMENTS (vs));
  g_assert_cmpuint (available (rm, NULL), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (vs); i++)
    {
      g_assert_cmpuint (available (pm, NULL), >, 0);
      assert_receive (pm, NULL, g_variant_new_int32 (vs[i]));
    }
  g_assert_cmpuint (available (pm, NULL), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (vs); i++)
    send_reply (pm, g_variant_new_int32 (vs[i]), NULL);
  g_assert_cmpuint (available (rm, NULL), ==, G_N_ELEMENTS (vs));
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, G_N_ELEMENTS (vs));
  replies = receive_remaining (rm, NULL);
  test_assert_int_array (replies, vs, G_N_ELEMENTS (vs));
  g_assert_cmpuint (available (rm, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 0);
}

/* The original's MessengerTester: available and remaining on both ends. */
static void
check_pair (Pair  *pair,
            guint  proc_available,
            guint  res_available,
            guint  proc_remaining,
            guint  res_remaining)
{
  g_assert_cmpuint (available (pair->resource, NULL), ==, res_available);
  g_assert_cmpuint (available (pair->process, NULL), ==, proc_available);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, NULL), ==, res_remaining);
  g_assert_cmpuint (coproc_messenger_remaining (pair->process, NULL), ==, proc_remaining);
}

/* tests/test_messenger.py: test_priority_messenger */
static void
test_original_priority_messenger (Pair          *pair,
                                  gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  CoprocMessenger *rm = pair->resource;
  const gint32 vs[] = { 1, 2, 3 };
  g_autoptr(GPtrArray) results = NULL;
  g_autoptr(GPtrArray) replies = NULL;
  g_autoptr(GPtrArray) remaining = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  /* simple send/receive */
  check_pair (pair, 0, 0, 0, 0);
  send_norequest (rm, g_variant_new_int32 (1), NULL);
  check_pair (pair, 1, 0, 0, 0);
  assert_receive (pm, NULL, g_variant_new_int32 (1));
  check_pair (pair, 0, 0, 0, 0);

  /* request/reply */
  send_request (rm, g_variant_new_int32 (1), NULL);
  check_pair (pair, 1, 0, 0, 1);
  results = receive_available (pm, NULL);
  check_pair (pair, 0, 0, 0, 1);
  g_assert_cmpuint (results->len, ==, 1);
  test_assert_variant (g_ptr_array_index (results, 0), g_variant_new_int32 (1));

  send_reply (pm, g_ptr_array_index (results, 0), NULL);
  check_pair (pair, 0, 1, 0, 1);
  assert_receive (rm, NULL, g_variant_new_int32 (1));
  check_pair (pair, 0, 0, 0, 0);

  g_assert_true (coproc_messenger_send_request_multiple (rm,
                                                         (GVariant *[]) {
                                                           g_variant_new_int32 (vs[0]),
                                                           g_variant_new_int32 (vs[1]),
                                                           g_variant_new_int32 (vs[2]),
                                                         },
                                                         3, NULL, &error));
  g_assert_no_error (error);
  check_pair (pair, G_N_ELEMENTS (vs), 0, 0, G_N_ELEMENTS (vs));
  g_clear_pointer (&results, g_ptr_array_unref);
  results = receive_available (pm, NULL);
  test_assert_int_array (results, vs, G_N_ELEMENTS (vs));
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, G_N_ELEMENTS (vs));
  for (guint i = 0; i < G_N_ELEMENTS (vs); i++)
    send_reply (pm, g_variant_new_int32 (vs[i]), NULL);
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, G_N_ELEMENTS (vs));
  replies = receive_available (rm, NULL);
  test_assert_int_array (replies, vs, G_N_ELEMENTS (vs));
  g_assert_cmpuint (coproc_messenger_remaining (rm, NULL), ==, 0);
  check_pair (pair, 0, 0, 0, 0);

  /* Nothing is outstanding: receive_remaining has nothing to wait for. */
  remaining = receive_remaining (rm, NULL);
  g_assert_cmpuint (remaining->len, ==, 0);

  /* close/error */
  send_close_request (rm);
  g_assert_cmpuint (coproc_messenger_available (pm, NULL, &error), ==, 0);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
  g_clear_error (&error);
  check_pair (pair, 0, 0, 0, 0);

  send_error (rm, TEST_ERROR, TEST_ERROR_FIRST, "test error");
  payload = coproc_messenger_receive_blocking (pm, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, TEST_ERROR, TEST_ERROR_FIRST);
  g_assert_cmpstr (error->message, ==, "test error");
}

/* Order ------------------------------------------------------------------- */

/* Lower priorities first, FIFO among equal ones, and a message sent
 * without a priority goes to the back (+inf). */
static void
test_priority_order (Pair          *pair,
                     gconstpointer  data)
{
  static const struct {
    const char *payload;
    gdouble     priority;   /* NAN: sent without a priority */
  } sends[] = {
    { "none-1", NAN },
    { "p3-a", 3 },
    { "p1-a", 1 },
    { "none-2", NAN },
    { "p3-b", 3 },
    { "minf", -INFINITY },
    { "p1-b", 1 },
    { "neg", -2.5 },
    { "pinf", INFINITY },
    { "p1-c", 1 },
    { "zero", 0 },
  };
  static const char * const expected[] = {
    "minf", "neg", "zero", "p1-a", "p1-b", "p1-c", "p3-a", "p3-b",
    "none-1", "none-2", "pinf",
  };
  g_autoptr(GPtrArray) payloads = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (sends); i++)
    {
      if (isnan (sends[i].priority))
        send_norequest (pair->resource, g_variant_new_string (sends[i].payload), NULL);
      else
        send_with_priority (pair->resource, COPROC_MESSAGE_KIND_NOREQUEST,
                            g_variant_new_string (sends[i].payload), NULL, sends[i].priority);
    }

  g_assert_cmpuint (available (pair->process, NULL), ==, G_N_ELEMENTS (sends));

  /* The first few one by one, with their priorities... */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(CoprocMessage) message = receive_message (pair->process, NULL);

      test_assert_variant (coproc_message_get_payload (message), g_variant_new_string (expected[i]));
    }

  /* ...the rest at once, in queue order. */
  payloads = receive_available (pair->process, NULL);
  g_assert_cmpuint (payloads->len, ==, G_N_ELEMENTS (expected) - 3);
  for (guint i = 3; i < G_N_ELEMENTS (expected); i++)
    test_assert_variant (g_ptr_array_index (payloads, i - 3), g_variant_new_string (expected[i]));
}

/* A message keeps the priority it was sent with. */
static void
test_priority_of_message (Pair          *pair,
                          gconstpointer  data)
{
  static const gdouble priorities[] = { -INFINITY, -1e300, -1, 0, 0.25, 7, 1e300, INFINITY };

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    send_with_priority (pair->resource, COPROC_MESSAGE_KIND_NOREQUEST,
                        g_variant_new_uint32 (i), NULL, priorities[i]);
  send_norequest (pair->resource, g_variant_new_uint32 (99), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      g_autoptr(CoprocMessage) message = receive_message (pair->process, NULL);

      test_assert_variant (coproc_message_get_payload (message), g_variant_new_uint32 (i));
      g_assert_cmpfloat (coproc_message_get_priority (message), ==, priorities[i]);
    }

  {
    g_autoptr(CoprocMessage) message = receive_message (pair->process, NULL);

    test_assert_variant (coproc_message_get_payload (message), g_variant_new_uint32 (99));
    g_assert_true (isinf (coproc_message_get_priority (message)));
    g_assert_cmpfloat (coproc_message_get_priority (message), >, 0);
  }
}

static GVariant *
dict_sv (const char *text,
         GVariant   *priority)
{
  g_auto(GVariantBuilder) builder = G_VARIANT_BUILDER_INIT (G_VARIANT_TYPE_VARDICT);

  g_variant_builder_add (&builder, "{sv}", "text", g_variant_new_string (text));
  if (priority != NULL)
    g_variant_builder_add (&builder, "{sv}", "priority", priority);

  return g_variant_builder_end (&builder);
}

/* The label of a payload sent by test_priority_from_dict(): the "text"
 * entry of an a{sv}, the other key of any other dictionary, the first
 * member of a tuple, or the string itself. */
static const char *
dict_text (GVariant *payload)
{
  const char *text = NULL;

  if (g_variant_is_of_type (payload, G_VARIANT_TYPE_VARDICT))
    g_assert_true (g_variant_lookup (payload, "text", "&s", &text));
  else if (g_variant_is_of_type (payload, G_VARIANT_TYPE ("a{s*}")))
    {
      GVariantIter iter;
      const char *key;
      GVariant *value;

      g_variant_iter_init (&iter, payload);
      while (g_variant_iter_next (&iter, "{&s*}", &key, &value))
        {
          if (strcmp (key, "priority") != 0)
            text = key;
          g_variant_unref (value);
        }
    }
  else if (g_variant_is_of_type (payload, G_VARIANT_TYPE_TUPLE))
    g_variant_get_child (payload, 0, "&s", &text);
  else if (g_variant_is_of_type (payload, G_VARIANT_TYPE_STRING))
    text = g_variant_get_string (payload, NULL);

  g_assert_nonnull (text);
  return text;
}

/* A dictionary payload's numeric "priority" entry is its priority, unless
 * the sender gives one explicitly. */
static void
test_priority_from_dict (Pair          *pair,
                         gconstpointer  data)
{
  static const char * const expected_order[] = {
    "explicit-minus", "sv-double", "sv-int32", "si", "sv-byte", "sd", "sv-uint64",
    "explicit-over-dict", "plain", "sv-no-priority", "sv-string",
    "tuple", "ss",
  };
  static const struct {
    const char *text;
    gdouble     priority;
  } expected_priority[] = {
    { "explicit-minus", -5 },
    { "sv-double", 0.5 },
    { "sv-int32", 1 },
    { "si", 2 },
    { "sv-byte", 3 },
    { "sd", 3.5 },
    { "sv-uint64", 4 },
    { "explicit-over-dict", 10 },
  };
  CoprocMessenger *rm = pair->resource;
  GVariantBuilder builder;

  /* +inf: no priority at all, or none that is numeric */
  send_norequest (rm, g_variant_new_string ("plain"), NULL);
  send_norequest (rm, dict_sv ("sv-no-priority", NULL), NULL);
  send_norequest (rm, dict_sv ("sv-string", g_variant_new_string ("high")), NULL);
  send_norequest (rm, g_variant_new_parsed ("('tuple', {'priority': <0>})"), NULL);
  send_norequest (rm, g_variant_new_parsed ("{'ss': 'x', 'priority': '0'}"), NULL);

  /* a{sv} with numbers of several types */
  send_norequest (rm, dict_sv ("sv-uint64", g_variant_new_uint64 (4)), NULL);
  send_norequest (rm, dict_sv ("sv-int32", g_variant_new_int32 (1)), NULL);
  send_norequest (rm, dict_sv ("sv-double", g_variant_new_double (0.5)), NULL);
  send_norequest (rm, dict_sv ("sv-byte", g_variant_new_byte (3)), NULL);

  /* a{si} and a{sd}: the dictionary of any value type */
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{si}"));
  g_variant_builder_add (&builder, "{si}", "si", 100);
  g_variant_builder_add (&builder, "{si}", "priority", 2);
  send_norequest (rm, g_variant_builder_end (&builder), NULL);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{sd}"));
  g_variant_builder_add (&builder, "{sd}", "priority", 3.5);
  g_variant_builder_add (&builder, "{sd}", "sd", 100.0);
  send_norequest (rm, g_variant_builder_end (&builder), NULL);

  /* An explicit priority overrides the dictionary's. */
  send_with_priority (rm, COPROC_MESSAGE_KIND_NOREQUEST,
                      dict_sv ("explicit-over-dict", g_variant_new_int32 (0)), NULL, 10);
  send_with_priority (rm, COPROC_MESSAGE_KIND_NOREQUEST,
                      dict_sv ("explicit-minus", g_variant_new_int32 (100)), NULL, -5);

  g_assert_cmpuint (available (pair->process, NULL), ==, G_N_ELEMENTS (expected_order));

  for (guint i = 0; i < G_N_ELEMENTS (expected_order); i++)
    {
      g_autoptr(CoprocMessage) message = receive_message (pair->process, NULL);
      const char *text = dict_text (coproc_message_get_payload (message));
      gdouble priority = INFINITY;

      for (guint j = 0; j < G_N_ELEMENTS (expected_priority); j++)
        if (strcmp (expected_priority[j].text, text) == 0)
          priority = expected_priority[j].priority;

      /* Both kinds carry the priority; only the priority kind sorts by it. */
      g_assert_cmpfloat (coproc_message_get_priority (message), ==, priority);
      if (GPOINTER_TO_SIZE (data) == COPROC_TYPE_PRIORITY_MESSENGER)
        g_assert_cmpstr (text, ==, expected_order[i]);
    }
}

/* A MultiMessenger is a plain FIFO: priorities are carried, not used. */
static void
test_multi_fifo (Pair          *pair,
                 gconstpointer  data)
{
  static const gdouble priorities[] = { 5, -INFINITY, 1, NAN, 0, INFINITY, -3, 1 };
  g_autoptr(GPtrArray) payloads = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (priorities); i++)
    {
      if (isnan (priorities[i]))
        send_norequest (pair->resource, dict_sv ("x", g_variant_new_int32 (-100)), NULL);
      else
        send_with_priority (pair->resource, COPROC_MESSAGE_KIND_NOREQUEST,
                            g_variant_new_int32 (i), NULL, priorities[i]);
    }

  g_assert_cmpuint (available (pair->process, NULL), ==, G_N_ELEMENTS (priorities));
  {
    g_autoptr(CoprocMessage) first = receive_message (pair->process, NULL);

    test_assert_variant (coproc_message_get_payload (first), g_variant_new_int32 (0));
    g_assert_cmpfloat (coproc_message_get_priority (first), ==, 5);
  }

  payloads = receive_available (pair->process, NULL);
  g_assert_cmpuint (payloads->len, ==, G_N_ELEMENTS (priorities) - 1);
  for (guint i = 1; i < G_N_ELEMENTS (priorities); i++)
    {
      if (isnan (priorities[i]))
        test_assert_variant (g_ptr_array_index (payloads, i - 1),
                             dict_sv ("x", g_variant_new_int32 (-100)));
      else
        test_assert_variant (g_ptr_array_index (payloads, i - 1), g_variant_new_int32 (i));
    }
}

/* Channels ---------------------------------------------------------------- */

/* Channel ids of many types, all distinct: NULL (the default channel)
 * included. Built fresh on each call, floating. */
static GVariant *
make_channel (guint i)
{
  static const guint8 bytes[] = { 'a', 'b', 0, 'c' };

  switch (i)
    {
    case 0:  return NULL;
    case 1:  return g_variant_new_int32 (1);
    case 2:  return g_variant_new_int64 (1);
    case 3:  return g_variant_new_uint32 (1);
    case 4:  return g_variant_new_int32 (2);
    case 5:  return g_variant_new_string ("1");
    case 6:  return g_variant_new_string ("");
    case 7:  return g_variant_new_string ("worker");
    case 8:  return g_variant_new_object_path ("/worker");
    case 9:  return g_variant_new_boolean (TRUE);
    case 10: return g_variant_new_boolean (FALSE);
    case 11: return g_variant_new_double (1.0);
    case 12: return g_variant_new_byte (1);
    case 13: return g_variant_new_parsed ("(1, 'a')");
    case 14: return g_variant_new_parsed ("(1, 'b')");
    case 15: return g_variant_new_parsed ("('a', 1)");
    case 16: return g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, bytes, sizeof bytes, 1);
    case 17: return g_variant_new_bytestring ("ab");
    case 18: return g_variant_new_parsed ("[1, 2, 3]");
    case 19: return g_variant_new_parsed ("@ai []");
    case 20: return g_variant_new_parsed ("{'k': <(1, [<'deep'>, <@mi nothing>])>}");
    case 21: return g_variant_new_variant (g_variant_new_int32 (1));
    case 22: return g_variant_new_parsed ("@mi nothing");
    case 23: return g_variant_new_parsed ("@ms 'x'");
    case 24: return g_variant_new_parsed ("((1, 2), (3, 4))");
    default: return NULL;
    }
}

#define N_CHANNELS 25

static void
test_channels_distinct (Pair          *pair,
                        gconstpointer  data)
{
  /* One message per channel, in two rounds so that they interleave. */
  for (guint round = 0; round < 2; round++)
    for (guint i = 0; i < N_CHANNELS; i++)
      send_request (pair->resource, g_variant_new ("(uu)", round, i), make_channel (i));

  for (guint i = 0; i < N_CHANNELS; i++)
    {
      g_assert_cmpuint (available (pair->process, make_channel (i)), ==, 2);
      g_assert_cmpuint (coproc_messenger_queue_size (pair->process, make_channel (i)), ==, 2);
      g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, make_channel (i)), ==, 2);
      g_assert_cmpuint (coproc_messenger_messages_sent (pair->resource, make_channel (i)), ==, 2);
    }

  /* Take them channel by channel, in reverse. */
  for (guint k = N_CHANNELS; k > 0; k--)
    {
      guint i = k - 1;

      for (guint round = 0; round < 2; round++)
        {
          g_autoptr(CoprocMessage) message = receive_message (pair->process, make_channel (i));
          g_autoptr(GVariant) channel = make_channel (i);

          test_assert_variant (coproc_message_get_payload (message),
                               g_variant_new ("(uu)", round, i));
          if (channel == NULL)
            g_assert_null (coproc_message_get_channel_id (message));
          else
            test_assert_variant (coproc_message_get_channel_id (message),
                                 g_variant_ref_sink (channel));
          g_assert_true (coproc_message_get_request_reply (message));
        }

      g_assert_cmpuint (available (pair->process, make_channel (i)), ==, 0);
      g_assert_cmpuint (coproc_messenger_messages_received (pair->process, make_channel (i)), ==, 2);

      /* The channels not taken yet are untouched. */
      for (guint j = 0; j < i; j++)
        g_assert_cmpuint (coproc_messenger_queue_size (pair->process, make_channel (j)), ==, 2);
    }
}

/* Channel ids that g_variant_equal() says are equal are the same channel,
 * however they were built. */
/* A payload given serialized arrives as the value it encodes, of the kind
 * asked for; bytes that are not a value in normal form, or a type that is
 * not definite, are refused and send nothing. */
static void
test_send_serialized (Pair          *pair,
                      gconstpointer  data)
{
  CoprocMessenger *rm = pair->resource;
  CoprocMessenger *pm = pair->process;
  g_autoptr(GVariant) tuple = g_variant_ref_sink (g_variant_new ("(xs)", (gint64) 42, "forty-two"));
  g_autoptr(GVariant) dict = g_variant_ref_sink (g_variant_new_parsed ("{'priority': <2.5>}"));
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 not_a_string[] = { 'a', 'b' };  /* no NUL */

  g_assert_true (coproc_messenger_send_serialized (rm, COPROC_MESSAGE_KIND_REQUEST, "(xs)",
                                                   g_variant_get_data (tuple),
                                                   g_variant_get_size (tuple),
                                                   g_variant_new_string ("c"), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (coproc_messenger_remaining (rm, g_variant_new_string ("c")), ==, 1);

  g_assert_false (coproc_messenger_send_serialized (rm, COPROC_MESSAGE_KIND_NOREQUEST, "s",
                                                    not_a_string, sizeof not_a_string, NULL,
                                                    &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "normal form"));
  g_clear_error (&error);

  g_assert_false (coproc_messenger_send_serialized (rm, COPROC_MESSAGE_KIND_NOREQUEST, "(x",
                                                    g_variant_get_data (tuple), 8, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (coproc_messenger_send_serialized (rm, COPROC_MESSAGE_KIND_NOREQUEST, "a*",
                                                    NULL, 0, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* An empty array (no bytes at all), and a dictionary that carries its
   * priority, as a payload built as a GVariant would. */
  g_assert_true (coproc_messenger_send_serialized (rm, COPROC_MESSAGE_KIND_NOREQUEST, "as",
                                                   NULL, 0, g_variant_new_string ("e"), &error));
  g_assert_no_error (error);
  g_assert_true (coproc_messenger_send_serialized (rm, COPROC_MESSAGE_KIND_NOREQUEST, "a{sv}",
                                                   g_variant_get_data (dict),
                                                   g_variant_get_size (dict), NULL, &error));
  g_assert_no_error (error);

  message = coproc_messenger_receive_message_blocking (pm, g_variant_new_string ("c"), NULL,
                                                       &error);
  g_assert_no_error (error);
  g_assert_cmpint (coproc_message_get_kind (message), ==, COPROC_MESSAGE_KIND_REQUEST);
  test_assert_variant (coproc_message_get_payload (message), tuple);
  g_clear_object (&message);

  /* Nothing of the refused sends arrived. */
  message = coproc_messenger_receive_message_blocking (pm, g_variant_new_string ("e"), NULL,
                                                       &error);
  g_assert_no_error (error);
  test_assert_variant (coproc_message_get_payload (message),
                       g_variant_new_array (G_VARIANT_TYPE_STRING, NULL, 0));
  g_clear_object (&message);
  message = coproc_messenger_receive_message_blocking (pm, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_variant (coproc_message_get_payload (message), dict);
  g_assert_cmpfloat (coproc_message_get_priority (message), ==, 2.5);
  g_clear_object (&message);
  g_assert_cmpuint (available (pm, NULL), ==, 0);

  /* A reply answers the request taken. */
  g_assert_true (coproc_messenger_send_serialized (pm, COPROC_MESSAGE_KIND_REPLY, "(xs)",
                                                   g_variant_get_data (tuple),
                                                   g_variant_get_size (tuple),
                                                   g_variant_new_string ("c"), &error));
  g_assert_no_error (error);
  assert_receive (rm, g_variant_new_string ("c"), tuple);
  g_assert_cmpuint (coproc_messenger_remaining (rm, g_variant_new_string ("c")), ==, 0);
}

/* More channels than the receiver keeps ids of, named in turn again and
 * again: every message lands on its own channel, with its own id. */
static void
test_channels_many (Pair          *pair,
                    gconstpointer  data)
{
  const guint n_channels = 300;
  const guint rounds = 3;

  /* The receiver reads now and then, so that the socket never fills and
   * leaves frames in the sender's buffer. */
  for (guint r = 0; r < rounds; r++)
    for (guint c = 0; c < n_channels; c++)
      {
        send_norequest (pair->resource, g_variant_new_uint32 (r * 1000 + c),
                        c % 2 ? g_variant_new_uint32 (c) : g_variant_new_int32 ((gint32) c));
        if (c % 32 == 31)
          available (pair->process, NULL);
      }

  for (guint c = 0; c < n_channels; c++)
    {
      g_autoptr(GVariant) id = g_variant_ref_sink (c % 2 ? g_variant_new_uint32 (c)
                                                         : g_variant_new_int32 ((gint32) c));

      g_assert_cmpuint (available (pair->process, id), ==, rounds);
      for (guint r = 0; r < rounds; r++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(CoprocMessage) message =
            coproc_messenger_receive_message_blocking (pair->process, id, NULL, &error);

          g_assert_no_error (error);
          test_assert_variant (coproc_message_get_payload (message),
                               g_variant_new_uint32 (r * 1000 + c));
          test_assert_variant (coproc_message_get_channel_id (message), id);
        }
    }
}

static void
test_channels_equal (Pair          *pair,
                     gconstpointer  data)
{
  GVariantBuilder builder;
  g_autoptr(GVariant) tuple_a = NULL;
  g_autoptr(GVariant) tuple_b = NULL;
  g_autoptr(GVariant) tuple_c = NULL;
  g_autoptr(GVariant) from_data = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *dynamic = g_strdup_printf ("chan-%d", 7);

  /* Strings: static, built, and taken. */
  send_norequest (pair->resource, g_variant_new_int32 (1), g_variant_new_string ("chan-7"));
  send_norequest (pair->resource, g_variant_new_int32 (2), g_variant_new_string (dynamic));
  send_norequest (pair->resource, g_variant_new_int32 (3),
                  g_variant_new_take_string (g_strdup ("chan-7")));
  g_assert_cmpuint (available (pair->process, g_variant_new_parsed ("'chan-7'")), ==, 3);

  /* Tuples: parsed, built with a builder, deserialized from bytes. */
  tuple_a = g_variant_ref_sink (g_variant_new_parsed ("(int64 5, 'x', [byte 1, 2])"));
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("(xsay)"));
  g_variant_builder_add (&builder, "x", (gint64) 5);
  g_variant_builder_add (&builder, "s", "x");
  g_variant_builder_add_value (&builder, g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                    (const guint8[]) { 1, 2 },
                                                                    2, 1));
  tuple_b = g_variant_ref_sink (g_variant_builder_end (&builder));
  bytes = g_variant_get_data_as_bytes (tuple_a);
  from_data = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("(xsay)"), bytes, TRUE));
  g_assert_true (g_variant_equal (tuple_a, tuple_b));
  g_assert_true (g_variant_equal (tuple_a, from_data));

  send_request (pair->resource, g_variant_new_int32 (10), tuple_a);
  send_request (pair->resource, g_variant_new_int32 (11), tuple_b);
  send_request (pair->resource, g_variant_new_int32 (12), from_data);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, tuple_b), ==, 3);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, from_data), ==, 3);

  /* A same-looking tuple of another type is another channel. */
  tuple_c = g_variant_ref_sink (g_variant_new_parsed ("(5, 'x', [byte 1, 2])"));
  g_assert_false (g_variant_equal (tuple_a, tuple_c));
  g_assert_cmpuint (available (pair->process, tuple_c), ==, 0);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, tuple_c), ==, 0);

  g_assert_cmpuint (available (pair->process, from_data), ==, 3);
  for (gint32 i = 10; i <= 12; i++)
    {
      /* Each reply goes back on an equal but distinct channel id. */
      g_autoptr(GVariant) request = receive_blocking (pair->process, i % 2 ? tuple_b : tuple_a);

      test_assert_variant (request, g_variant_new_int32 (i));
      send_reply (pair->process, request, i % 2 ? tuple_a : from_data);
    }
  {
    g_autoptr(GPtrArray) replies = receive_remaining (pair->resource, tuple_b);

    test_assert_int_array (replies, (const gint32[]) { 10, 11, 12 }, 3);
  }
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, tuple_a), ==, 0);
  g_assert_cmpuint (coproc_messenger_replies_received (pair->resource, from_data), ==, 3);

  /* The default channel is NULL, distinct from every value. */
  g_assert_cmpuint (available (pair->process, NULL), ==, 0);
  {
    g_autoptr(GPtrArray) strings = receive_available (pair->process, g_variant_new_string ("chan-7"));

    test_assert_int_array (strings, (const gint32[]) { 1, 2, 3 }, 3);
  }
}

/* Counters ---------------------------------------------------------------- */

static void
check_counters (CoprocMessenger *messenger,
                GVariant        *channel_id,
                guint            remaining,
                guint            requests_sent,
                guint            replies_received,
                guint            messages_sent,
                guint            messages_received,
                guint            queue_size)
{
  g_autoptr(GVariant) channel = channel_id ? g_variant_ref_sink (channel_id) : NULL;

  g_assert_cmpuint (coproc_messenger_remaining (messenger, channel), ==, remaining);
  g_assert_cmpuint (coproc_messenger_requests_sent (messenger, channel), ==, requests_sent);
  g_assert_cmpuint (coproc_messenger_replies_received (messenger, channel), ==, replies_received);
  g_assert_cmpuint (coproc_messenger_messages_sent (messenger, channel), ==, messages_sent);
  g_assert_cmpuint (coproc_messenger_messages_received (messenger, channel), ==, messages_received);
  g_assert_cmpuint (coproc_messenger_queue_size (messenger, channel), ==, queue_size);
}

static void
test_counters (Pair          *pair,
               gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  CoprocMessenger *rm = pair->resource;
  g_autoptr(GPtrArray) taken = NULL;

  check_counters (rm, NULL, 0, 0, 0, 0, 0, 0);
  check_counters (pm, g_variant_new_int32 (1), 0, 0, 0, 0, 0, 0);

  /* An unsolicited reply is delivered but not counted as a reply. */
  send_reply (pm, g_variant_new_string ("unsolicited"), NULL);
  check_counters (pm, NULL, 0, 0, 0, 1, 0, 0);
  /* queue_size does not read the stream; available does. */
  check_counters (rm, NULL, 0, 0, 0, 0, 0, 0);
  g_assert_cmpuint (available (rm, NULL), ==, 1);
  check_counters (rm, NULL, 0, 0, 0, 0, 0, 1);
  assert_receive (rm, NULL, g_variant_new_string ("unsolicited"));
  check_counters (rm, NULL, 0, 0, 0, 0, 1, 0);

  /* Two requests, three replies: remaining never goes below zero. */
  send_request (rm, g_variant_new_int32 (1), NULL);
  send_request (rm, g_variant_new_int32 (2), NULL);
  check_counters (rm, NULL, 2, 2, 0, 2, 1, 0);
  send_reply (pm, g_variant_new_int32 (1), NULL);
  send_reply (pm, g_variant_new_int32 (2), NULL);
  send_reply (pm, g_variant_new_int32 (3), NULL);
  check_counters (pm, NULL, 0, 0, 0, 4, 0, 0);
  /* Replies count when taken, not when they arrive. */
  g_assert_cmpuint (available (rm, NULL), ==, 3);
  check_counters (rm, NULL, 2, 2, 0, 2, 1, 3);
  assert_receive (rm, NULL, g_variant_new_int32 (1));
  check_counters (rm, NULL, 1, 2, 1, 2, 2, 2);
  taken = receive_available (rm, NULL);
  g_assert_cmpuint (taken->len, ==, 2);
  check_counters (rm, NULL, 0, 2, 2, 2, 4, 0);

  /* Plain messages and their counters, per channel. */
  send_norequest (rm, g_variant_new_int32 (5), g_variant_new_int32 (1));
  send_norequest (rm, g_variant_new_int32 (6), g_variant_new_int32 (1));
  send_request (rm, g_variant_new_int32 (7), g_variant_new_int32 (2));
  check_counters (rm, g_variant_new_int32 (1), 0, 0, 0, 2, 0, 0);
  check_counters (rm, g_variant_new_int32 (2), 1, 1, 0, 1, 0, 0);
  check_counters (rm, NULL, 0, 2, 2, 2, 4, 0);
  g_assert_cmpuint (available (pm, g_variant_new_int32 (1)), ==, 2);
  check_counters (pm, g_variant_new_int32 (1), 0, 0, 0, 0, 0, 2);
  check_counters (pm, g_variant_new_int32 (2), 0, 0, 0, 0, 0, 1);
  assert_receive (pm, g_variant_new_int32 (2), g_variant_new_int32 (7));
  check_counters (pm, g_variant_new_int32 (2), 0, 0, 0, 0, 1, 0);
  check_counters (pm, g_variant_new_int32 (1), 0, 0, 0, 0, 0, 2);

  /* A reply on another channel does not answer this one's request. */
  send_reply (pm, g_variant_new_int32 (8), g_variant_new_int32 (3));
  assert_receive (rm, g_variant_new_int32 (3), g_variant_new_int32 (8));
  check_counters (rm, g_variant_new_int32 (2), 1, 1, 0, 1, 0, 0);
  check_counters (rm, g_variant_new_int32 (3), 0, 0, 0, 0, 1, 0);
  send_reply (pm, g_variant_new_int32 (9), g_variant_new_int32 (2));
  assert_receive (rm, g_variant_new_int32 (2), g_variant_new_int32 (9));
  check_counters (rm, g_variant_new_int32 (2), 0, 1, 1, 1, 1, 0);

  /* Special messages count on no channel. */
  send_error (rm, TEST_ERROR, TEST_ERROR_BOOM, "x");
  send_close_request (rm);
  check_counters (rm, NULL, 0, 2, 2, 2, 4, 0);
}

/* Receiving --------------------------------------------------------------- */

/* receive_remaining waits for every reply; a plain message that arrives in
 * between is included, what comes after the last reply is left queued. */
static void
test_receive_remaining (Pair          *pair,
                        gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  CoprocMessenger *rm = pair->resource;
  g_autoptr(GPtrArray) empty = NULL;
  g_autoptr(GPtrArray) got = NULL;
  g_autoptr(GPtrArray) rest = NULL;

  for (gint32 i = 1; i <= 3; i++)
    send_request (rm, g_variant_new_int32 (i), g_variant_new_string ("jobs"));
  g_assert_cmpuint (coproc_messenger_remaining (rm, g_variant_new_string ("jobs")), ==, 3);

  /* Other channels have nothing outstanding. */
  empty = receive_remaining (rm, NULL);
  g_assert_cmpuint (empty->len, ==, 0);

  for (gint32 i = 1; i <= 3; i++)
    {
      g_autoptr(GVariant) request = receive_blocking (pm, g_variant_new_string ("jobs"));

      test_assert_variant (request, g_variant_new_int32 (i));
      send_reply (pm, g_variant_new_int32 (10 * i), g_variant_new_string ("jobs"));
      if (i == 1)
        send_norequest (pm, g_variant_new_int32 (-1), g_variant_new_string ("jobs"));
      /* On another channel: not part of this wait. */
      send_reply (pm, g_variant_new_int32 (-2), g_variant_new_string ("other"));
    }
  send_norequest (pm, g_variant_new_int32 (-3), g_variant_new_string ("jobs"));

  got = receive_remaining (rm, g_variant_new_string ("jobs"));
  test_assert_int_array (got, (const gint32[]) { 10, -1, 20, 30 }, 4);
  g_assert_cmpuint (coproc_messenger_remaining (rm, g_variant_new_string ("jobs")), ==, 0);
  g_assert_cmpuint (coproc_messenger_replies_received (rm, g_variant_new_string ("jobs")), ==, 3);

  rest = receive_available (rm, g_variant_new_string ("jobs"));
  test_assert_int_array (rest, (const gint32[]) { -3 }, 1);
  g_assert_cmpuint (available (rm, g_variant_new_string ("other")), ==, 3);
}

typedef struct
{
  CoprocMessenger *messenger;
  TestEvent        go;
  guint            n;
  GVariant        *channel_id;
} ReplierData;

/* Answers @n requests as they come, once told to start. */
static gpointer
replier_thread (gpointer user_data)
{
  ReplierData *data = user_data;

  test_event_wait (&data->go);
  for (guint i = 0; i < data->n; i++)
    {
      g_autoptr(GVariant) request = receive_blocking (data->messenger, data->channel_id);

      send_reply (data->messenger, request, data->channel_id);
    }

  return NULL;
}

/* receive_remaining blocks while replies are still to come. */
static void
test_receive_remaining_waits (Pair          *pair,
                              gconstpointer  data)
{
  ReplierData replier = { .messenger = pair->process, .n = 50 };
  g_autoptr(GPtrArray) got = NULL;
  GThread *thread;

  test_event_init (&replier.go);
  replier.channel_id = g_variant_ref_sink (g_variant_new_string ("work"));
  thread = g_thread_new ("replier", replier_thread, &replier);

  for (guint i = 0; i < replier.n; i++)
    send_request (pair->resource, g_variant_new_uint32 (i), replier.channel_id);

  test_event_set (&replier.go);
  got = receive_remaining (pair->resource, replier.channel_id);
  g_thread_join (thread);

  g_assert_cmpuint (got->len, ==, replier.n);
  for (guint i = 0; i < replier.n; i++)
    test_assert_variant (g_ptr_array_index (got, i), g_variant_new_uint32 (i));
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, replier.channel_id), ==, 0);

  g_variant_unref (replier.channel_id);
  test_event_clear (&replier.go);
}

/* receive_available returns everything queued, in queue order, and an
 * empty array when there is nothing. */
static void
test_receive_available (Pair          *pair,
                        gconstpointer  data)
{
  gboolean priority = GPOINTER_TO_SIZE (data) == COPROC_TYPE_PRIORITY_MESSENGER;
  g_autoptr(GPtrArray) none = NULL;
  g_autoptr(GPtrArray) unknown = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) again = NULL;

  none = receive_available (pair->process, NULL);
  g_assert_cmpuint (none->len, ==, 0);
  unknown = receive_available (pair->process, g_variant_new_string ("never used"));
  g_assert_cmpuint (unknown->len, ==, 0);

  send_with_priority (pair->resource, COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_int32 (1), NULL, 9);
  send_with_priority (pair->resource, COPROC_MESSAGE_KIND_REQUEST, g_variant_new_int32 (2), NULL, 2);
  send_norequest (pair->resource, g_variant_new_int32 (3), NULL);
  send_with_priority (pair->resource, COPROC_MESSAGE_KIND_REPLY, g_variant_new_int32 (4), NULL, 2);
  send_with_priority (pair->resource, COPROC_MESSAGE_KIND_NOREQUEST, g_variant_new_int32 (5), NULL, -1);

  all = receive_available (pair->process, NULL);
  if (priority)
    test_assert_int_array (all, (const gint32[]) { 5, 2, 4, 1, 3 }, 5);
  else
    test_assert_int_array (all, (const gint32[]) { 1, 2, 3, 4, 5 }, 5);
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, NULL), ==, 5);

  again = receive_available (pair->process, NULL);
  g_assert_cmpuint (again->len, ==, 0);
}

/* await_available returns once something is queued on any channel,
 * without taking it. */
static void
test_await_available (Pair          *pair,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  send_norequest (pair->resource, g_variant_new_string ("x"), g_variant_new_int32 (3));
  g_assert_true (coproc_messenger_await_available (pair->process, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (coproc_messenger_queue_size (pair->process, g_variant_new_int32 (3)), ==, 1);

  /* Still queued: returns at once. */
  g_assert_true (coproc_messenger_await_available (pair->process, NULL, &error));
  g_assert_no_error (error);
  assert_receive (pair->process, g_variant_new_int32 (3), g_variant_new_string ("x"));
  g_assert_cmpuint (coproc_messenger_queue_size (pair->process, g_variant_new_int32 (3)), ==, 0);
}

typedef struct
{
  CoprocMessenger *messenger;
  TestEvent        go;
} SenderData;

static gpointer
late_sender_thread (gpointer user_data)
{
  SenderData *data = user_data;

  test_event_wait (&data->go);
  send_norequest (data->messenger, g_variant_new_string ("late"), g_variant_new_string ("elsewhere"));

  return NULL;
}

/* await_available blocks until a message comes. */
static void
test_await_available_waits (Pair          *pair,
                            gconstpointer  data)
{
  SenderData sender = { .messenger = pair->resource };
  g_autoptr(GError) error = NULL;
  GThread *thread;

  test_event_init (&sender.go);
  thread = g_thread_new ("sender", late_sender_thread, &sender);

  test_event_set (&sender.go);
  g_assert_true (coproc_messenger_await_available (pair->process, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (thread);

  g_assert_cmpuint (coproc_messenger_queue_size (pair->process, g_variant_new_string ("elsewhere")), ==, 1);
  g_assert_cmpuint (coproc_messenger_queue_size (pair->process, NULL), ==, 0);
  test_event_clear (&sender.go);
}

static void
test_send_request_multiple (Pair          *pair,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  GVariant *payloads[4];

  /* Nothing at all is fine. */
  g_assert_true (coproc_messenger_send_request_multiple (pair->resource, NULL, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, NULL), ==, 0);

  /* Floating payloads are sunk; the channel is one for all. */
  payloads[0] = g_variant_new_int32 (1);
  payloads[1] = g_variant_new_string ("two");
  payloads[2] = g_variant_ref_sink (g_variant_new_parsed ("(3, [3])"));
  payloads[3] = g_variant_new_bytestring ("four");
  g_assert_true (coproc_messenger_send_request_multiple (pair->resource, payloads, 4,
                                                         g_variant_new_string ("batch"), &error));
  g_assert_no_error (error);
  test_assert_variant (payloads[2], g_variant_new_parsed ("(3, [3])"));
  g_variant_unref (payloads[2]);

  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, g_variant_new_string ("batch")), ==, 4);
  g_assert_cmpuint (coproc_messenger_messages_sent (pair->resource, g_variant_new_string ("batch")), ==, 4);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, g_variant_new_string ("batch")), ==, 4);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, NULL), ==, 0);

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(CoprocMessage) message = receive_message (pair->process, g_variant_new_string ("batch"));

      g_assert_true (coproc_message_get_request_reply (message));
      g_assert_false (coproc_message_get_is_reply (message));
      g_assert_cmpint (coproc_message_get_kind (message), ==, COPROC_MESSAGE_KIND_REQUEST);
      send_reply (pair->process, coproc_message_get_payload (message), g_variant_new_string ("batch"));
    }
  {
    g_autoptr(GPtrArray) replies = receive_remaining (pair->resource, g_variant_new_string ("batch"));

    g_assert_cmpuint (replies->len, ==, 4);
    test_assert_variant (g_ptr_array_index (replies, 0), g_variant_new_int32 (1));
    test_assert_variant (g_ptr_array_index (replies, 3), g_variant_new_bytestring ("four"));
  }
}

/* A CoprocMessage describes what was sent, through getters and properties. */
static void
test_message_properties (Pair          *pair,
                         gconstpointer  data)
{
  static const struct {
    CoprocMessageKind kind;
    gboolean          request_reply;
    gboolean          is_reply;
  } kinds[] = {
    { COPROC_MESSAGE_KIND_NOREQUEST, FALSE, FALSE },
    { COPROC_MESSAGE_KIND_REQUEST, TRUE, FALSE },
    { COPROC_MESSAGE_KIND_REPLY, FALSE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr(CoprocMessage) message = NULL;
      g_autoptr(GVariant) payload = NULL;
      g_autoptr(GVariant) channel_id = NULL;
      gdouble priority;
      gboolean request_reply, is_reply;

      send_with_priority (pair->resource, kinds[i].kind, g_variant_new_parsed ("{'n': <%u>}", i),
                          g_variant_new_parsed ("('chan', %u)", i), i + 0.5);
      message = receive_message (pair->process, g_variant_new_parsed ("('chan', %u)", i));

      test_assert_variant (coproc_message_get_payload (message), g_variant_new_parsed ("{'n': <%u>}", i));
      test_assert_variant (coproc_message_get_channel_id (message), g_variant_new_parsed ("('chan', %u)", i));
      g_assert_cmpfloat (coproc_message_get_priority (message), ==, i + 0.5);
      g_assert_cmpint (coproc_message_get_kind (message), ==, kinds[i].kind);
      g_assert_cmpint (coproc_message_get_request_reply (message), ==, kinds[i].request_reply);
      g_assert_cmpint (coproc_message_get_is_reply (message), ==, kinds[i].is_reply);

      g_object_get (message,
                    "payload", &payload,
                    "channel-id", &channel_id,
                    "priority", &priority,
                    "request-reply", &request_reply,
                    "is-reply", &is_reply,
                    NULL);
      g_assert_true (payload == coproc_message_get_payload (message));
      g_assert_true (channel_id == coproc_message_get_channel_id (message));
      g_assert_cmpfloat (priority, ==, i + 0.5);
      g_assert_cmpint (request_reply, ==, kinds[i].request_reply);
      g_assert_cmpint (is_reply, ==, kinds[i].is_reply);
    }

  /* The default channel is NULL. */
  send_norequest (pair->resource, g_variant_new_boolean (TRUE), NULL);
  {
    g_autoptr(CoprocMessage) message = receive_message (pair->process, NULL);
    g_autoptr(GVariant) channel_id = NULL;

    g_assert_null (coproc_message_get_channel_id (message));
    g_object_get (message, "channel-id", &channel_id, NULL);
    g_assert_null (channel_id);
  }
}

/* Payloads of many types come back equal. */
static void
test_payload_types (Pair          *pair,
                    gconstpointer  data)
{
  static const char * const texts[] = {
    "true", "byte 0xff", "int16 -5", "uint16 65535", "-2147483648", "uint32 4294967295",
    "int64 -9223372036854775807", "uint64 18446744073709551615", "3.25", "'text'",
    "''", "'ünïcödé ✓'", "objectpath '/a/b'", "signature 'a{sv}'", "<42>", "<<'nested'>>",
    "@ay []", "b'bytes'", "[1, 2, 3]", "@as []", "['a', 'b']", "(1, 'a', true)", "()",
    "{'a': <1>, 'b': <[<'x'>]>}", "@a{sv} {}", "{1: 'one'}", "@mi nothing", "@mi 5",
    "just @ms nothing", "[(1, [<(2, @mb nothing)>])]", "@a(iv) [(0, <()>)]",
    "handle 3",
  };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    send_norequest (pair->resource, g_variant_new_parsed (texts[i]), NULL);
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    assert_receive (pair->process, NULL, g_variant_new_parsed (texts[i]));
}

/* Special messages --------------------------------------------------------- */

typedef enum
{
  CALL_AVAILABLE,
  CALL_RECEIVE_AVAILABLE,
  CALL_RECEIVE_BLOCKING,
  CALL_RECEIVE_MESSAGE_BLOCKING,
  CALL_RECEIVE_REMAINING,
  CALL_AWAIT_AVAILABLE,
  N_CALLS
} ReceiveCall;

static const char * const call_names[] = {
  "available", "receive_available", "receive_blocking", "receive_message_blocking",
  "receive_remaining", "await_available",
};

/* Makes one receive call of the given kind on the default channel;
 * returns whether it succeeded. */
static gboolean
do_receive_call (CoprocMessenger  *messenger,
                 ReceiveCall       call,
                 GCancellable     *cancellable,
                 GError          **error)
{
  switch (call)
    {
    case CALL_AVAILABLE:
      {
        GError *local_error = NULL;

        coproc_messenger_available (messenger, NULL, &local_error);
        if (local_error != NULL)
          {
            g_propagate_error (error, local_error);
            return FALSE;
          }
        return TRUE;
      }

    case CALL_RECEIVE_AVAILABLE:
      {
        g_autoptr(GPtrArray) payloads = coproc_messenger_receive_available (messenger, NULL, error);

        return payloads != NULL;
      }

    case CALL_RECEIVE_BLOCKING:
      {
        g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (messenger, NULL,
                                                                         cancellable, error);

        return payload != NULL;
      }

    case CALL_RECEIVE_MESSAGE_BLOCKING:
      {
        g_autoptr(CoprocMessage) message =
          coproc_messenger_receive_message_blocking (messenger, NULL, cancellable, error);

        return message != NULL;
      }

    case CALL_RECEIVE_REMAINING:
      {
        g_autoptr(GPtrArray) payloads = coproc_messenger_receive_remaining (messenger, NULL,
                                                                            cancellable, error);

        return payloads != NULL;
      }

    case CALL_AWAIT_AVAILABLE:
      return coproc_messenger_await_available (messenger, cancellable, error);

    case N_CALLS:
    default:
      g_assert_not_reached ();
    }
}

/* A close request or a remote error is raised by the next receive call,
 * whatever it is, even with data queued before it; the data is still
 * there afterwards, in order. */
static void
test_specials_raised (Pair          *pair,
                      gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  CoprocMessenger *rm = pair->resource;

  for (ReceiveCall call = 0; call < N_CALLS; call++)
    {
      for (guint special = 0; special < 3; special++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GPtrArray) rest = NULL;

          g_test_message ("%s after special %u", call_names[call], special);

          /* receive_remaining only waits while a request is outstanding. */
          if (call == CALL_RECEIVE_REMAINING)
            send_request (pm, g_variant_new_int32 (0), NULL);

          send_norequest (rm, g_variant_new_int32 (1), NULL);
          switch (special)
            {
            case 0:
              send_close_request (rm);
              break;
            case 1:
              send_error (rm, TEST_ERROR, TEST_ERROR_BOOM, "custom domain ✓");
              break;
            case 2:
              send_error (rm, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "");
              break;
            default:
              g_assert_not_reached ();
            }
          send_norequest (rm, g_variant_new_int32 (2), NULL);

          g_assert_false (do_receive_call (pm, call, NULL, &error));
          switch (special)
            {
            case 0:
              g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
              break;
            case 1:
              g_assert_error (error, TEST_ERROR, TEST_ERROR_BOOM);
              g_assert_cmpstr (error->message, ==, "custom domain ✓");
              break;
            case 2:
              g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
              g_assert_cmpstr (error->message, ==, "");
              break;
            default:
              g_assert_not_reached ();
            }

          /* Raised once; the data around it is all there. */
          g_assert_cmpuint (available (pm, NULL), ==, 2);
          rest = receive_available (pm, NULL);
          test_assert_int_array (rest, (const gint32[]) { 1, 2 }, 2);

          if (call == CALL_RECEIVE_REMAINING)
            {
              send_reply (rm, g_variant_new_int32 (0), NULL);
              g_clear_pointer (&rest, g_ptr_array_unref);
              rest = receive_remaining (pm, NULL);
              test_assert_int_array (rest, (const gint32[]) { 0 }, 1);
            }
        }
    }
}

/* Specials are handled as soon as they are read, before the data behind
 * them and before data on other channels; several in a row are raised one
 * per call, in order. */
static void
test_specials_before_data (Pair          *pair,
                           gconstpointer  data)
{
  CoprocMessenger *pm = pair->process;
  CoprocMessenger *rm = pair->resource;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  send_error (rm, TEST_ERROR, TEST_ERROR_NEGATIVE, "first");
  send_norequest (rm, g_variant_new_int32 (1), NULL);
  send_close_request (rm);
  send_error (rm, TEST_ERROR, TEST_ERROR_FIRST, "third");
  send_norequest (rm, g_variant_new_int32 (2), g_variant_new_int32 (5));

  payload = coproc_messenger_receive_blocking (pm, g_variant_new_int32 (5), NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, TEST_ERROR, TEST_ERROR_NEGATIVE);
  g_assert_cmpstr (error->message, ==, "first");
  g_clear_error (&error);

  payload = coproc_messenger_receive_blocking (pm, g_variant_new_int32 (5), NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
  g_clear_error (&error);

  /* The data before a special was read; a call on its channel still
   * raises the special first. */
  g_assert_cmpuint (coproc_messenger_queue_size (pm, NULL), ==, 1);
  payload = coproc_messenger_receive_blocking (pm, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, TEST_ERROR, TEST_ERROR_FIRST);
  g_assert_cmpstr (error->message, ==, "third");
  g_clear_error (&error);

  assert_receive (pm, g_variant_new_int32 (5), g_variant_new_int32 (2));
  assert_receive (pm, NULL, g_variant_new_int32 (1));
}

/* A subclass that overrides queue_message ---------------------------------- */

/* Ranks messages by the length of their string payload (shortest first)
 * and drops the payload "drop". */
#define TEST_TYPE_LENGTH_MESSENGER (test_length_messenger_get_type ())
G_DECLARE_FINAL_TYPE (TestLengthMessenger, test_length_messenger, TEST, LENGTH_MESSENGER, CoprocMessenger)

struct _TestLengthMessenger
{
  CoprocMessenger parent_instance;
  guint           n_queued;
  guint           n_dropped;
};

G_DEFINE_FINAL_TYPE (TestLengthMessenger, test_length_messenger, COPROC_TYPE_MESSENGER)

static void
test_length_messenger_queue_message (CoprocMessenger *messenger,
                                     CoprocMessage   *message)
{
  TestLengthMessenger *self = TEST_LENGTH_MESSENGER (messenger);
  GVariant *payload = coproc_message_get_payload (message);
  gsize length = 0;

  if (g_variant_is_of_type (payload, G_VARIANT_TYPE_STRING))
    {
      const char *text = g_variant_get_string (payload, &length);

      if (strcmp (text, "drop") == 0)
        {
          self->n_dropped++;
          return;
        }
    }

  self->n_queued++;
  coproc_messenger_enqueue (messenger, message, length);
}

static void
test_length_messenger_class_init (TestLengthMessengerClass *klass)
{
  CoprocMessengerClass *messenger_class = COPROC_MESSENGER_CLASS (klass);

  messenger_class->queue_message = test_length_messenger_queue_message;
}

static void
test_length_messenger_init (TestLengthMessenger *self)
{
}

static void
test_custom_queue (Pair          *pair,
                   gconstpointer  data)
{
  static const char * const sent[] = { "ccc", "a", "drop", "bb", "dd", "", "drop", "eeeee" };
  static const char * const expected[] = { "", "a", "bb", "dd", "ccc", "eeeee" };
  TestLengthMessenger *pm = TEST_LENGTH_MESSENGER (pair->process);
  g_autoptr(GPtrArray) rest = NULL;

  g_assert_true (TEST_IS_LENGTH_MESSENGER (pair->resource));

  for (guint i = 0; i < G_N_ELEMENTS (sent); i++)
    send_with_priority (pair->resource, COPROC_MESSAGE_KIND_NOREQUEST,
                        g_variant_new_string (sent[i]), NULL, -(gdouble) i);
  /* Ranked with the rest by the subclass: other types rank 0. */
  send_norequest (pair->resource, g_variant_new_int32 (7), g_variant_new_int32 (1));

  g_assert_cmpuint (available (pair->process, NULL), ==, G_N_ELEMENTS (expected));
  g_assert_cmpuint (pm->n_queued, ==, G_N_ELEMENTS (expected) + 1);
  g_assert_cmpuint (pm->n_dropped, ==, 2);

  assert_receive (pair->process, NULL, g_variant_new_string (expected[0]));
  rest = receive_available (pair->process, NULL);
  g_assert_cmpuint (rest->len, ==, G_N_ELEMENTS (expected) - 1);
  for (guint i = 1; i < G_N_ELEMENTS (expected); i++)
    test_assert_variant (g_ptr_array_index (rest, i - 1), g_variant_new_string (expected[i]));

  assert_receive (pair->process, g_variant_new_int32 (1), g_variant_new_int32 (7));
  /* Dropped messages were never received. */
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, NULL), ==, G_N_ELEMENTS (expected));
}

/* Cancellation ------------------------------------------------------------- */

typedef struct
{
  GCancellable *cancellable;
  TestEvent     receiving;
} CancelData;

static gpointer
cancel_thread (gpointer user_data)
{
  CancelData *data = user_data;

  test_event_wait (&data->receiving);
  g_cancellable_cancel (data->cancellable);

  return NULL;
}

/* A blocking call waiting for a message is cancelled from another thread;
 * the messenger stays usable and nothing is lost. */
static void
test_cancel_from_thread (Pair          *pair,
                         gconstpointer  data)
{
  static const ReceiveCall calls[] = {
    CALL_RECEIVE_BLOCKING, CALL_RECEIVE_MESSAGE_BLOCKING, CALL_RECEIVE_REMAINING, CALL_AWAIT_AVAILABLE,
  };

  /* receive_remaining needs something outstanding to wait for. */
  send_request (pair->process, g_variant_new_string ("pending"), NULL);

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      CancelData cancel = { .cancellable = cancellable };
      GThread *thread;

      g_test_message ("cancelling %s", call_names[calls[i]]);

      test_event_init (&cancel.receiving);
      thread = g_thread_new ("canceller", cancel_thread, &cancel);

      /* The other thread cancels once this one is about to block. */
      test_event_set (&cancel.receiving);
      g_assert_false (do_receive_call (pair->process, calls[i], cancellable, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_thread_join (thread);
      test_event_clear (&cancel.receiving);

      /* Still usable. */
      send_norequest (pair->resource, g_variant_new_uint32 (i), NULL);
      assert_receive (pair->process, NULL, g_variant_new_uint32 (i));
    }

  /* The request is still outstanding, its reply still counts. */
  g_assert_cmpuint (coproc_messenger_remaining (pair->process, NULL), ==, 1);
  send_reply (pair->resource, g_variant_new_string ("done"), NULL);
  {
    g_autoptr(GPtrArray) replies = receive_remaining (pair->process, NULL);

    g_assert_cmpuint (replies->len, ==, 1);
  }
}

/* A cancellable already cancelled fails a call that would wait. */
static void
test_cancel_before (Pair          *pair,
                    gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  g_cancellable_cancel (cancellable);
  payload = coproc_messenger_receive_blocking (pair->process, NULL, cancellable, &error);
  g_assert_null (payload);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  g_assert_false (coproc_messenger_await_available (pair->process, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  send_norequest (pair->resource, g_variant_new_string ("kept"), NULL);
  assert_receive (pair->process, NULL, g_variant_new_string ("kept"));
}

/* Makes both ends send every payload through the socket: by default,
 * large payloads travel in sealed memory files instead. */
static void
set_inline_payloads (Pair *pair)
{
  coproc_messenger_set_large_message_threshold (pair->process, 0);
  coproc_messenger_set_large_message_threshold (pair->resource, 0);
  g_assert_cmpuint (coproc_messenger_get_large_message_threshold (pair->process), ==, 0);
}

/* Message size limits ------------------------------------------------------ */

static GVariant *
make_bytes_payload (gsize  size,
                    guint8 seed)
{
  guint8 *data = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 31 + seed);

  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, TRUE, g_free, data);
}

static void
assert_bytes_payload (GVariant *payload,
                      gsize     size,
                      guint8    seed)
{
  const guint8 *data;
  gsize n;

  g_assert_true (g_variant_is_of_type (payload, G_VARIANT_TYPE_BYTESTRING));
  data = g_variant_get_fixed_array (payload, &n, 1);
  g_assert_cmpuint (n, ==, size);
  for (gsize i = 0; i < size; i++)
    {
      if (data[i] != (guint8) (i * 31 + seed))
        g_assert_cmpuint (data[i], ==, (guint8) (i * 31 + seed));
    }
}

/* A send larger than the sender's own limit fails and sends nothing. */
static void
test_max_size_send (Pair          *pair,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  guint max = 0;

  g_assert_cmpuint (coproc_messenger_get_max_message_size (pair->resource), ==,
                    COPROC_DEFAULT_MAX_MESSAGE_SIZE);
  coproc_messenger_set_max_message_size (pair->resource, 1024);
  g_object_get (pair->resource, "max-message-size", &max, NULL);
  g_assert_cmpuint (max, ==, 1024);

  g_assert_false (coproc_messenger_send_norequest (pair->resource, make_bytes_payload (2048, 1),
                                                   NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* The channel counts too. */
  g_assert_false (coproc_messenger_send_request (pair->resource, g_variant_new_int32 (1),
                                                 make_bytes_payload (1100, 2), &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  g_assert_cmpuint (coproc_messenger_messages_sent (pair->resource, NULL), ==, 0);
  g_assert_cmpuint (coproc_messenger_requests_sent (pair->resource, NULL), ==, 0);
  g_assert_cmpuint (available (pair->process, NULL), ==, 0);
  g_assert_false (coproc_messenger_is_closed (pair->resource));

  /* Within the limit it goes, and is the first thing the peer sees. */
  send_norequest (pair->resource, make_bytes_payload (900, 3), NULL);
  {
    g_autoptr(GVariant) payload = receive_blocking (pair->process, NULL);

    assert_bytes_payload (payload, 900, 3);
  }
  g_assert_cmpuint (available (pair->process, NULL), ==, 0);
}

/* The receiver's limit travels in the handshake: the sender refuses to
 * send what the receiver would drop. */
static void
test_max_size_handshake (void)
{
  g_autoptr(CoprocMessenger) small = NULL;
  g_autoptr(CoprocMessenger) sender = NULL;
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  small = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[0], 4096);
  sender = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[1], 0);
  g_assert_cmpuint (coproc_messenger_get_max_message_size (small), ==, 4096);

  /* Any receive call reads the peer's handshake. */
  g_assert_cmpuint (available (sender, NULL), ==, 0);
  g_assert_false (coproc_messenger_send_norequest (sender, make_bytes_payload (8192, 4), NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpuint (coproc_messenger_messages_sent (sender, NULL), ==, 0);

  send_norequest (sender, make_bytes_payload (4000, 5), NULL);
  {
    g_autoptr(GVariant) payload = receive_blocking (small, NULL);

    assert_bytes_payload (payload, 4000, 5);
  }

  g_clear_object (&small);
  g_clear_object (&sender);
  test_drain_context (NULL);
}

typedef struct
{
  CoprocMessenger *messenger;
  gsize            big_size;
} BigSenderData;

static gpointer
big_sender_thread (gpointer user_data)
{
  BigSenderData *data = user_data;
  g_autoptr(GError) error = NULL;

  send_norequest (data->messenger, make_bytes_payload (10, 1), NULL);
  send_norequest (data->messenger, make_bytes_payload (data->big_size, 2), NULL);
  send_norequest (data->messenger, make_bytes_payload (20, 3), NULL);
  g_assert_true (coproc_messenger_flush (data->messenger, NULL, &error));
  g_assert_no_error (error);

  return NULL;
}

/* A receiver whose limit shrank after the handshake drops an oversized
 * message as it streams past, reports it once, and keeps the messages
 * before and after it. */
static void
check_max_size_receive (Pair *pair)
{
  BigSenderData sender = { pair->resource, 3 * 1024 * 1024 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  guint n_errors = 0;
  GThread *thread;

  coproc_messenger_set_max_message_size (pair->process, 1024);

  /* The big message is skipped as it streams past. Its error comes from
   * the receive call that reads it: the small message before it may have
   * been read by an earlier call, or by the same one and then be
   * delivered after the error. Either way: one error, two messages, in
   * order. */
  thread = g_thread_new ("big-sender", big_sender_thread, &sender);

  for (guint n_payloads = 0; n_payloads < 2;)
    {
      payload = coproc_messenger_receive_blocking (pair->process, NULL, NULL, &error);
      if (payload == NULL)
        {
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE);
          g_clear_error (&error);
          n_errors++;
          continue;
        }

      assert_bytes_payload (payload, n_payloads == 0 ? 10 : 20, n_payloads == 0 ? 1 : 3);
      g_clear_pointer (&payload, g_variant_unref);
      n_payloads++;
    }
  g_assert_cmpuint (n_errors, ==, 1);

  g_thread_join (thread);
  g_assert_false (coproc_messenger_is_closed (pair->process));
  g_assert_cmpuint (coproc_messenger_messages_received (pair->process, NULL), ==, 2);

  /* The connection goes on both ways. */
  send_norequest (pair->process, g_variant_new_string ("ok"), NULL);
  assert_receive (pair->resource, NULL, g_variant_new_string ("ok"));
  send_norequest (pair->resource, g_variant_new_string ("ok too"), NULL);
  assert_receive (pair->process, NULL, g_variant_new_string ("ok too"));
}

/* The big payload in a memory file: dropped with its descriptor. */
static void
test_max_size_receive (Pair          *pair,
                       gconstpointer  data)
{
  check_max_size_receive (pair);
}

/* The big payload through the socket: skipped while it is still being
 * written. */
static void
test_max_size_receive_inline (Pair          *pair,
                              gconstpointer  data)
{
  set_inline_payloads (pair);
  check_max_size_receive (pair);
}

/* Closing ----------------------------------------------------------------- */

/* After the peer closes, queued messages are still delivered, then every
 * receive that would wait fails with CLOSED. */
static void
check_peer_gone (CoprocMessenger *messenger)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GPtrArray) payloads = NULL;

  /* What was sent before the close is all there, in order. */
  assert_receive (messenger, NULL, g_variant_new_int32 (1));
  g_assert_cmpuint (available (messenger, g_variant_new_string ("other")), ==, 1);
  assert_receive (messenger, NULL, g_variant_new_int32 (2));
  g_assert_true (coproc_messenger_is_closed (messenger));

  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  message = coproc_messenger_receive_message_blocking (messenger, NULL, NULL, &error);
  g_assert_null (message);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  /* A request was outstanding: receive_remaining cannot complete. */
  payloads = coproc_messenger_receive_remaining (messenger, NULL, NULL, &error);
  g_assert_null (payloads);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  /* await_available: something is still queued on another channel. */
  g_assert_true (coproc_messenger_await_available (messenger, NULL, &error));
  g_assert_no_error (error);
  assert_receive (messenger, g_variant_new_string ("other"), g_variant_new_int32 (3));
  g_assert_false (coproc_messenger_await_available (messenger, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  /* Sending fails too. */
  g_assert_false (coproc_messenger_send_norequest (messenger, g_variant_new_int32 (4), NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);
  g_assert_false (coproc_messenger_send_close_request (messenger, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
}

static void
send_before_close (Pair *pair)
{
  send_request (pair->process, g_variant_new_string ("outstanding"), NULL);
  send_norequest (pair->resource, g_variant_new_int32 (1), NULL);
  send_norequest (pair->resource, g_variant_new_int32 (3), g_variant_new_string ("other"));
  send_norequest (pair->resource, g_variant_new_int32 (2), NULL);
}

static void
test_close (Pair          *pair,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  send_before_close (pair);
  g_assert_true (coproc_messenger_close (pair->resource, &error));
  g_assert_no_error (error);
  g_assert_true (coproc_messenger_is_closed (pair->resource));

  /* Closing again does nothing; the closed end refuses to send. */
  g_assert_true (coproc_messenger_close (pair->resource, &error));
  g_assert_no_error (error);
  g_assert_false (coproc_messenger_send_norequest (pair->resource, g_variant_new_int32 (0), NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  check_peer_gone (pair->process);
}

static void
test_dispose_peer (Pair          *pair,
                   gconstpointer  data)
{
  send_before_close (pair);
  g_clear_object (&pair->resource);
  check_peer_gone (pair->process);
}

typedef struct
{
  CoprocMessenger *messenger;
  TestEvent        receiving;
  GError          *error;
  GVariant        *payload;
} BlockedReceiveData;

static gpointer
blocked_receive_thread (gpointer user_data)
{
  BlockedReceiveData *data = user_data;

  test_event_set (&data->receiving);
  data->payload = coproc_messenger_receive_blocking (data->messenger, NULL, NULL, &data->error);

  return NULL;
}

/* A receive blocked in another thread fails as soon as the peer goes,
 * closed (@dispose FALSE) or disposed (@dispose TRUE). */
static void
check_close_wakes_receive (Pair     *pair,
                           gboolean  dispose)
{
  BlockedReceiveData receive = { .messenger = pair->process };
  GThread *thread;

  test_event_init (&receive.receiving);
  thread = g_thread_new ("receiver", blocked_receive_thread, &receive);

  test_event_wait (&receive.receiving);
  if (dispose)
    g_clear_object (&pair->resource);
  else
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (coproc_messenger_close (pair->resource, &error));
      g_assert_no_error (error);
    }

  g_thread_join (thread);
  g_assert_null (receive.payload);
  g_assert_error (receive.error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&receive.error);
  test_event_clear (&receive.receiving);
}

static void
test_close_wakes_receive (Pair          *pair,
                          gconstpointer  data)
{
  check_close_wakes_receive (pair, FALSE);
}

static void
test_dispose_wakes_receive (Pair          *pair,
                            gconstpointer  data)
{
  check_close_wakes_receive (pair, TRUE);
}

/* Sending to a peer that is gone fails with an error, never with SIGPIPE
 * (this test leaves SIGPIPE at its default action, which would kill it);
 * what the peer sent before it went is still delivered. */
static void
test_send_to_closed_peer (Pair          *pair,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  send_norequest (pair->resource, g_variant_new_string ("last words"), NULL);
  g_clear_object (&pair->resource);

  /* The first send may still reach the kernel before the hang-up is
   * noticed; sending on is an error soon after, never a signal. */
  for (guint i = 0; i < 100 && ok; i++)
    ok = coproc_messenger_send_norequest (pair->process, make_bytes_payload (64 * 1024, i),
                                          NULL, &error);
  g_assert_false (ok);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  {
    g_autoptr(GError) remote = g_error_new_literal (TEST_ERROR, TEST_ERROR_FIRST, "unsent");

    g_assert_false (coproc_messenger_send_error (pair->process, remote, &error));
    g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
    g_clear_error (&error);
  }

  assert_receive (pair->process, NULL, g_variant_new_string ("last words"));
  g_assert_false (coproc_messenger_await_available (pair->process, NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
}

/* Large transfers ---------------------------------------------------------- */

#define BIG_CHUNK_SIZE (1024 * 1024)
#define BIG_N_CHUNKS   64

typedef struct
{
  CoprocMessenger *messenger;
  guint8           side;
  GBytes          *template;   /* BIG_CHUNK_SIZE bytes of this side's pattern */
  GBytes          *peer_template;
  guint            n_received;
} ExchangeData;

static GBytes *
make_template (guint8 side)
{
  guint8 *data = g_malloc (BIG_CHUNK_SIZE);

  for (gsize i = 0; i < BIG_CHUNK_SIZE; i++)
    data[i] = (guint8) ((i >> 3) ^ (i * 7) ^ side);

  return g_bytes_new_take (data, BIG_CHUNK_SIZE);
}

/* Each chunk is the side's pattern with its sequence number in front. */
static GVariant *
make_chunk (GBytes *template,
            guint32 index)
{
  guint8 *data = g_memdup2 (g_bytes_get_data (template, NULL), BIG_CHUNK_SIZE);

  memcpy (data, &index, sizeof index);
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, BIG_CHUNK_SIZE, TRUE, g_free, data);
}

static void
check_chunk (GVariant *payload,
             GBytes   *template,
             guint32   index)
{
  const guint8 *data;
  const guint8 *expected = g_bytes_get_data (template, NULL);
  guint32 got_index;
  gsize n;

  g_assert_true (g_variant_is_of_type (payload, G_VARIANT_TYPE_BYTESTRING));
  data = g_variant_get_fixed_array (payload, &n, 1);
  g_assert_cmpuint (n, ==, BIG_CHUNK_SIZE);
  memcpy (&got_index, data, sizeof got_index);
  g_assert_cmpuint (got_index, ==, index);
  g_assert_true (memcmp (data + sizeof index, expected + sizeof index,
                         BIG_CHUNK_SIZE - sizeof index) == 0);
}

static gpointer
exchange_thread (gpointer user_data)
{
  ExchangeData *data = user_data;
  g_autoptr(GError) error = NULL;

  /* Everything out before anything is read. */
  for (guint32 i = 0; i < BIG_N_CHUNKS; i++)
    {
      g_assert_true (coproc_messenger_send_norequest (data->messenger,
                                                      make_chunk (data->template, i),
                                                      NULL, &error));
      g_assert_no_error (error);
    }

  for (guint32 i = 0; i < BIG_N_CHUNKS; i++)
    {
      g_autoptr(GVariant) payload = NULL;

      payload = coproc_messenger_receive_blocking (data->messenger, NULL, NULL, &error);
      g_assert_no_error (error);
      check_chunk (payload, data->peer_template, i);
      data->n_received++;
    }

  g_assert_true (coproc_messenger_flush (data->messenger, NULL, &error));
  g_assert_no_error (error);

  return NULL;
}

/* Both ends send 64 MiB before either reads: neither may deadlock, and
 * every byte arrives in order. */
static void
check_no_deadlock (Pair *pair)
{
  ExchangeData a = { pair->process, 1, NULL, NULL, 0 };
  ExchangeData b = { pair->resource, 2, NULL, NULL, 0 };
  GThread *ta, *tb;

  a.template = b.peer_template = make_template (1);
  b.template = a.peer_template = make_template (2);

  ta = g_thread_new ("exchange-a", exchange_thread, &a);
  tb = g_thread_new ("exchange-b", exchange_thread, &b);
  g_thread_join (ta);
  g_thread_join (tb);

  g_assert_cmpuint (a.n_received, ==, BIG_N_CHUNKS);
  g_assert_cmpuint (b.n_received, ==, BIG_N_CHUNKS);
  g_assert_cmpuint (coproc_messenger_messages_sent (pair->process, NULL), ==, BIG_N_CHUNKS);
  g_assert_cmpuint (coproc_messenger_messages_received (pair->resource, NULL), ==, BIG_N_CHUNKS);

  g_bytes_unref (a.template);
  g_bytes_unref (b.template);
}

/* Through the socket: each side's sends wait on the socket buffer while
 * they read what the other sends. */
static void
test_no_deadlock (Pair          *pair,
                  gconstpointer  data)
{
  set_inline_payloads (pair);
  check_no_deadlock (pair);
}

/* In memory files, one descriptor per message. */
static void
test_no_deadlock_memfd (Pair          *pair,
                        gconstpointer  data)
{
  check_no_deadlock (pair);
}

typedef struct
{
  CoprocMessenger   *messenger;
  CoprocMessageKind  kind;
  GVariant          *payload;
} LargeSendData;

static gpointer
large_send_thread (gpointer user_data)
{
  LargeSendData *data = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_with_priority (data->messenger, data->kind, data->payload,
                                                      g_variant_new_string ("big"), 1, &error));
  g_assert_no_error (error);
  /* The peer reads in another thread; make sure it all leaves. */
  g_assert_true (coproc_messenger_flush (data->messenger, NULL, &error));
  g_assert_no_error (error);

  return NULL;
}

/* Compares two "ay" values by their data (g_variant_equal() prints values
 * it does not trust, which takes long for megabytes). */
static void
assert_same_bytes (GVariant *a,
                   GVariant *b)
{
  gsize size_a, size_b;
  const guint8 *data_a = g_variant_get_fixed_array (a, &size_a, 1);
  const guint8 *data_b = g_variant_get_fixed_array (b, &size_b, 1);

  g_assert_cmpuint (size_a, ==, size_b);
  g_assert_true (memcmp (data_a, data_b, size_a) == 0);
}

/* A single 16 MiB message goes through intact, both ways. */
static void
check_large_message (Pair *pair)
{
  const gsize size = 16 * 1024 * 1024;
  LargeSendData send = { pair->resource, COPROC_MESSAGE_KIND_REQUEST, NULL };
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GVariant) echoed = NULL;
  GThread *thread;

  send.payload = g_variant_ref_sink (make_bytes_payload (size, 77));
  thread = g_thread_new ("large-send", large_send_thread, &send);
  message = receive_message (pair->process, g_variant_new_string ("big"));
  g_thread_join (thread);

  g_assert_true (coproc_message_get_request_reply (message));
  assert_bytes_payload (coproc_message_get_payload (message), size, 77);
  assert_same_bytes (coproc_message_get_payload (message), send.payload);

  /* And back, as a reply, from the other side. */
  send.messenger = pair->process;
  send.kind = COPROC_MESSAGE_KIND_REPLY;
  thread = g_thread_new ("large-reply", large_send_thread, &send);
  echoed = receive_blocking (pair->resource, g_variant_new_string ("big"));
  g_thread_join (thread);
  assert_same_bytes (echoed, send.payload);
  g_assert_cmpuint (coproc_messenger_remaining (pair->resource, g_variant_new_string ("big")), ==, 0);

  g_variant_unref (send.payload);
}

static void
test_large_message (Pair          *pair,
                    gconstpointer  data)
{
  check_large_message (pair);
}

static void
test_large_message_inline (Pair          *pair,
                           gconstpointer  data)
{
  set_inline_payloads (pair);
  check_large_message (pair);
}

/* Payloads as users build them: g_variant_new_fixed_array() and
 * g_variant_new_from_data (…, trusted = FALSE) give values GLib does not
 * trust. Whatever the sender decides about their normal form, what arrives
 * is what was sent. */
static void
check_payloads_as_built (Pair *pair)
{
  const gsize size = 16 * 1024 * 1024;
  g_autofree guint8 *data = g_malloc (size);
  GVariant *payloads[4];

  for (gsize i = 0; i < size; i++)
    data[i] = (guint8) (i * 7 + 3);

  payloads[0] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, size, 1);
  payloads[1] = g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, size, FALSE, NULL, NULL);
  payloads[2] = g_variant_new_from_data (G_VARIANT_TYPE ("a(ii)"), data, 1024 * 1024, FALSE,
                                         NULL, NULL);
  payloads[3] = g_variant_new_from_data (G_VARIANT_TYPE ("(qqi)"), data, 8, FALSE, NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (payloads); i++)
    {
      LargeSendData send = { pair->resource, COPROC_MESSAGE_KIND_NOREQUEST, NULL };
      g_autoptr(GVariant) received = NULL;
      GThread *thread;

      send.payload = g_variant_ref_sink (payloads[i]);
      thread = g_thread_new ("as-built-send", large_send_thread, &send);
      received = receive_blocking (pair->process, g_variant_new_string ("big"));
      g_thread_join (thread);

      g_assert_true (g_variant_is_of_type (received, g_variant_get_type (send.payload)));
      g_assert_cmpuint (g_variant_get_size (received), ==, g_variant_get_size (send.payload));
      g_assert_true (memcmp (g_variant_get_data (received), g_variant_get_data (send.payload),
                             g_variant_get_size (received)) == 0);
      g_variant_unref (send.payload);
    }
}

static void
test_payloads_as_built (Pair          *pair,
                        gconstpointer  data)
{
  check_payloads_as_built (pair);
}

static void
test_payloads_as_built_inline (Pair          *pair,
                               gconstpointer  data)
{
  set_inline_payloads (pair);
  check_payloads_as_built (pair);
}

/* Untrusted values whose bytes are not all normal still travel in their
 * normal form: booleans other than 0 and 1, strings without their
 * terminating zero, padding that is not zero. */
static void
test_non_normal_untrusted (Pair          *pair,
                           gconstpointer  data)
{
  static const guint8 bools[] = { 1, 0, 2, 1 };
  static const guint8 strings[] = { 'a', 'b', 'c', 3 };
  static const guint8 padded[] = { 1, 0xff, 2, 0, 3, 0xff, 4, 0 };
  static const struct { const char *type; const guint8 *data; gsize size; } cases[] = {
    { "ab", bools, sizeof bools },
    { "as", strings, sizeof strings },
    { "a(yn)", padded, sizeof padded },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GVariant) value = NULL;
      g_autoptr(GVariant) normal = NULL;
      g_autoptr(GVariant) received = NULL;
      g_autoptr(GError) error = NULL;

      value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE (cases[i].type),
                                                           cases[i].data, cases[i].size,
                                                           FALSE, NULL, NULL));
      g_assert_false (g_variant_is_normal_form (value));
      normal = g_variant_get_normal_form (value);

      g_assert_true (coproc_messenger_send_norequest (pair->resource, value, NULL, &error));
      g_assert_no_error (error);
      received = receive_blocking (pair->process, NULL);
      g_assert_true (g_variant_is_normal_form (received));
      g_assert_cmpuint (g_variant_get_size (received), ==, g_variant_get_size (normal));
      g_assert_true (memcmp (g_variant_get_data (received), g_variant_get_data (normal),
                             g_variant_get_size (normal)) == 0);
    }
}

/* Other constructors ------------------------------------------------------- */

/* A messenger over any stream whose two halves can be polled: here two
 * pipes, which are not sockets. */
static void
test_pollable_stream (void)
{
  g_autoptr(GIOStream) stream_a = NULL;
  g_autoptr(GIOStream) stream_b = NULL;
  g_autoptr(CoprocMessenger) a = NULL;
  g_autoptr(CoprocMessenger) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  int ab[2], ba[2];

  g_assert_true (g_unix_open_pipe (ab, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  g_assert_true (g_unix_open_pipe (ba, FD_CLOEXEC, &error));
  g_assert_no_error (error);

  {
    g_autoptr(GInputStream) in_a = g_unix_input_stream_new (ba[0], TRUE);
    g_autoptr(GOutputStream) out_a = g_unix_output_stream_new (ab[1], TRUE);
    g_autoptr(GInputStream) in_b = g_unix_input_stream_new (ab[0], TRUE);
    g_autoptr(GOutputStream) out_b = g_unix_output_stream_new (ba[1], TRUE);

    stream_a = g_simple_io_stream_new (in_a, out_a);
    stream_b = g_simple_io_stream_new (in_b, out_b);
  }

  a = coproc_messenger_new_for_stream (COPROC_TYPE_MULTI_MESSENGER, stream_a, &error);
  g_assert_no_error (error);
  b = coproc_messenger_new_for_stream (COPROC_TYPE_MULTI_MESSENGER, stream_b, &error);
  g_assert_no_error (error);
  g_assert_true (coproc_messenger_get_stream (a) == stream_a);

  send_request (a, g_variant_new_string ("over pipes"), g_variant_new_int32 (1));
  assert_receive (b, g_variant_new_int32 (1), g_variant_new_string ("over pipes"));
  send_reply (b, g_variant_new_string ("back"), g_variant_new_int32 (1));
  {
    g_autoptr(GPtrArray) replies = receive_remaining (a, g_variant_new_int32 (1));

    g_assert_cmpuint (replies->len, ==, 1);
  }

  send_norequest (b, g_variant_new_string ("before close"), NULL);
  g_assert_true (coproc_messenger_close (b, &error));
  g_assert_no_error (error);

  /* Writing into a pipe nobody reads is an error, not SIGPIPE... */
  g_assert_false (coproc_messenger_send_norequest (a, g_variant_new_string ("nobody"), NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_clear_error (&error);

  /* ...and what the peer sent before it closed is still there; then the
   * hang-up. */
  assert_receive (a, NULL, g_variant_new_string ("before close"));
  payload = coproc_messenger_receive_blocking (a, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  g_clear_object (&a);
  g_clear_object (&b);
  test_drain_context (NULL);
}

/* A worker finds its host through COPROC_FD. */
static void
test_new_for_host (void)
{
  g_autoptr(CoprocMessenger) host = NULL;
  g_autoptr(CoprocMessenger) worker = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *fd_text = NULL;
  int fds[2];
  int pipe_fds[2];

  g_unsetenv ("COPROC_FD");
  worker = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  g_assert_null (worker);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Something that is not a socket is refused. */
  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, &error));
  g_assert_no_error (error);
  fd_text = g_strdup_printf ("%d", pipe_fds[0]);
  g_setenv ("COPROC_FD", fd_text, TRUE);
  worker = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  g_assert_null (worker);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  close (pipe_fds[0]);
  close (pipe_fds[1]);
  g_clear_pointer (&fd_text, g_free);

  g_setenv ("COPROC_FD", "not a number", TRUE);
  worker = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  g_assert_null (worker);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  /* A Unix stream socket works, and the variable is consumed. */
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  fd_text = g_strdup_printf ("%d", fds[0]);
  g_setenv ("COPROC_FD", fd_text, TRUE);
  worker = coproc_messenger_new_for_host (COPROC_TYPE_MULTI_MESSENGER, &error);
  g_assert_no_error (error);
  g_assert_true (COPROC_IS_MULTI_MESSENGER (worker));
  g_assert_null (g_getenv ("COPROC_FD"));

  host = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[1], 0);
  send_request (host, g_variant_new_string ("ping"), NULL);
  assert_receive (worker, NULL, g_variant_new_string ("ping"));
  send_reply (worker, g_variant_new_string ("pong"), NULL);
  assert_receive (host, NULL, g_variant_new_string ("pong"));

  g_clear_object (&host);
  g_clear_object (&worker);
  test_drain_context (NULL);
}

/* A library leaves signal dispositions to the application. */
static void
test_leaves_sigpipe_alone (void)
{
  g_autoptr(CoprocMessenger) process = NULL;
  g_autoptr(CoprocMessenger) resource = NULL;
  g_autoptr(GError) error = NULL;
  struct sigaction action;

  g_test_summary ("Making messengers and sending does not change SIGPIPE's disposition");

  /* Other tests of this program make GSockets, which ignore SIGPIPE for the
   * whole process: check in a fresh one. */
  if (!g_test_subprocess ())
    {
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_passed ();
      return;
    }

  g_assert_cmpint (sigaction (SIGPIPE, NULL, &action), ==, 0);
  g_assert_true (action.sa_handler == SIG_DFL);

  coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &process, &resource, &error);
  g_assert_no_error (error);
  coproc_messenger_send_norequest (resource, g_variant_new_int32 (1), NULL, &error);
  g_assert_no_error (error);

  g_assert_cmpint (sigaction (SIGPIPE, NULL, &action), ==, 0);
  g_assert_true (action.sa_handler == SIG_DFL);
}

/* A value loaded from untrusted bytes may not be in normal form: as a
 * channel id or payload it is used in its normal form. */
static void
test_non_normal_values (void)
{
  g_autoptr(CoprocMessenger) process = NULL;
  g_autoptr(CoprocMessenger) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) channel = NULL;
  g_autoptr(GVariant) normal = NULL;
  g_autoptr(GVariant) received = NULL;
  static const guint8 three[3] = { '1', '2', '3' };

  g_test_summary ("Channel ids and payloads not in normal form (a fixed-size tuple "
                  "of the wrong size) are sent and counted in their normal form");

  coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &process, &resource, &error);
  g_assert_no_error (error);

  channel = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(xx)"), three,
                                                         sizeof three, FALSE, NULL, NULL));
  g_assert_false (g_variant_is_normal_form (channel));
  normal = g_variant_get_normal_form (channel);

  coproc_messenger_send_request (resource, channel, channel, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (coproc_messenger_requests_sent (resource, channel), ==, 1);
  g_assert_cmpuint (coproc_messenger_requests_sent (resource, normal), ==, 1);

  received = coproc_messenger_receive_blocking (process, channel, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (received, normal));
  g_assert_cmpuint (coproc_messenger_messages_received (process, normal), ==, 1);
}

/* The protocol carries type strings of up to 255 characters. */
static void
test_long_type_string (void)
{
  g_autoptr(CoprocMessenger) process = NULL;
  g_autoptr(CoprocMessenger) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariantBuilder) builder = NULL;
  g_autoptr(GVariant) ok = NULL;
  GVariant *value;

  g_test_summary ("A payload whose type string is too long is refused by the sender, "
                  "and nothing is sent");

  coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &process, &resource, &error);
  g_assert_no_error (error);

  builder = g_variant_builder_new (G_VARIANT_TYPE_TUPLE);
  for (guint i = 0; i < 300; i++)
    g_variant_builder_add (builder, "y", (guchar) i);
  value = g_variant_builder_end (builder);
  g_clear_pointer (&builder, g_variant_builder_unref);

  g_assert_false (coproc_messenger_send_norequest (resource, value, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (coproc_messenger_messages_sent (resource, NULL), ==, 0);

  coproc_messenger_send_norequest (resource, g_variant_new_int32 (7), NULL, &error);
  g_assert_no_error (error);
  ok = coproc_messenger_receive_blocking (process, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_variant_get_int32 (ok), ==, 7);
}

/* Registration ------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  test_add_both ("original/messenger", test_original_messenger);
  test_add_both ("original/priority-messenger", test_original_priority_messenger);
  test_add_pair ("PriorityMessenger", "order", COPROC_TYPE_PRIORITY_MESSENGER, test_priority_order);
  test_add_both ("message-priority", test_priority_of_message);
  test_add_both ("dict-priority", test_priority_from_dict);
  test_add_pair ("MultiMessenger", "fifo", COPROC_TYPE_MULTI_MESSENGER, test_multi_fifo);
  test_add_both ("channels/distinct", test_channels_distinct);
  test_add_both ("channels/equal", test_channels_equal);
  test_add_both ("channels/many", test_channels_many);
  test_add_both ("send-serialized", test_send_serialized);
  test_add_both ("counters", test_counters);
  test_add_both ("payload-types", test_payload_types);
  test_add_both ("message-properties", test_message_properties);
  test_add_both ("receive-remaining", test_receive_remaining);
  test_add_both ("receive-remaining-waits", test_receive_remaining_waits);
  test_add_both ("receive-available", test_receive_available);
  test_add_both ("await-available", test_await_available);
  test_add_both ("await-available-waits", test_await_available_waits);
  test_add_both ("send-request-multiple", test_send_request_multiple);
  test_add_both ("specials/raised", test_specials_raised);
  test_add_both ("specials/before-data", test_specials_before_data);
  test_add_pair ("Messenger", "custom-queue", TEST_TYPE_LENGTH_MESSENGER, test_custom_queue);
  test_add_both ("cancel/from-thread", test_cancel_from_thread);
  test_add_both ("cancel/before", test_cancel_before);
  test_add_both ("max-message-size/send", test_max_size_send);
  g_test_add_func ("/Coproc/Messenger/max-message-size/handshake", test_max_size_handshake);
  test_add_both ("max-message-size/receive", test_max_size_receive);
  test_add_both ("max-message-size/receive-inline", test_max_size_receive_inline);
  test_add_both ("close/close", test_close);
  test_add_both ("close/dispose", test_dispose_peer);
  test_add_both ("close/wakes-receive", test_close_wakes_receive);
  test_add_both ("close/dispose-wakes-receive", test_dispose_wakes_receive);
  test_add_both ("close/send-to-closed-peer", test_send_to_closed_peer);
  test_add_pair ("PriorityMessenger", "no-deadlock", COPROC_TYPE_PRIORITY_MESSENGER, test_no_deadlock);
  test_add_pair ("MultiMessenger", "no-deadlock-memfd", COPROC_TYPE_MULTI_MESSENGER, test_no_deadlock_memfd);
  test_add_pair ("MultiMessenger", "large-message", COPROC_TYPE_MULTI_MESSENGER, test_large_message);
  test_add_pair ("PriorityMessenger", "large-message-inline", COPROC_TYPE_PRIORITY_MESSENGER,
            test_large_message_inline);
  test_add_pair ("MultiMessenger", "payloads-as-built", COPROC_TYPE_MULTI_MESSENGER,
                 test_payloads_as_built);
  test_add_pair ("MultiMessenger", "payloads-as-built-inline", COPROC_TYPE_MULTI_MESSENGER,
                 test_payloads_as_built_inline);
  test_add_both ("non-normal-untrusted", test_non_normal_untrusted);
  g_test_add_func ("/Coproc/Messenger/pollable-stream", test_pollable_stream);
  g_test_add_func ("/Coproc/Messenger/new-for-host", test_new_for_host);
  g_test_add_func ("/Coproc/Messenger/leaves-sigpipe-alone", test_leaves_sigpipe_alone);
  g_test_add_func ("/Coproc/Messenger/non-normal-values", test_non_normal_values);
  g_test_add_func ("/Coproc/Messenger/long-type-string", test_long_type_string);

  return g_test_run ();
}
