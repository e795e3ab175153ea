/* test-channels.c: the channel table, its counters and its accounting
 *
 * The table is tested alone, without a socket: messages are made by hand
 * and queued, taken and counted as a messenger does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>

#include "coproc/coproc-channels-private.h"

#define MAX_QUEUED (64 * 1024)

static CoprocMessage *
make_message (CoprocMessageKind  kind,
              GVariant          *payload,
              GVariant          *channel_id)
{
  return _coproc_message_new (kind, payload, channel_id, INFINITY);
}

/* Queues a message of @kind with an int32 payload, on @channel_id. */
static void
enqueue (CoprocChannels    *channels,
         CoprocMessageKind  kind,
         gint32             value,
         GVariant          *channel_id)
{
  g_autoptr(CoprocMessage) message = make_message (kind, g_variant_new_int32 (value), channel_id);

  coproc_channels_enqueue (channels, message, coproc_message_get_priority (message));
}

static gint32
take_value (CoprocChannels *channels,
            CoprocChannel  *channel)
{
  g_autoptr(CoprocMessage) message = coproc_channels_take (channels, channel);

  g_assert_nonnull (message);
  return g_variant_get_int32 (coproc_message_get_payload (message));
}

/* NULL is the default channel: always there, never in the table. */
static void
test_default_channel (void)
{
  CoprocChannels channels;
  CoprocChannel *channel;

  coproc_channels_init (&channels, MAX_QUEUED);

  channel = coproc_channels_lookup (&channels, NULL, FALSE);
  g_assert_nonnull (channel);
  g_assert_null (channel->channel_id);
  g_assert_true (coproc_channels_lookup (&channels, NULL, TRUE) == channel);
  g_assert_cmpuint (g_hash_table_size (channels.table), ==, 0);

  enqueue (&channels, COPROC_MESSAGE_KIND_NOREQUEST, 1, NULL);
  g_assert_cmpuint (coproc_queue_size (&channel->queue), ==, 1);
  g_assert_cmpuint (g_hash_table_size (channels.table), ==, 0);
  g_assert_cmpint (take_value (&channels, channel), ==, 1);
  g_assert_null (coproc_channels_take (&channels, channel));

  coproc_channels_clear (&channels);
}

/* Channels are made on demand, found again by equal ids, and distinct for
 * ids of different types or values. */
static void
test_lookup (void)
{
  CoprocChannels channels;
  CoprocChannel *one;
  CoprocChannel *name;
  g_autoptr(GVariant) one_again = g_variant_ref_sink (g_variant_new_int32 (1));
  g_autoptr(GVariant) unsigned_one = g_variant_ref_sink (g_variant_new_uint32 (1));
  g_autoptr(GVariant) loaded = NULL;
  g_autoptr(GVariant) built = g_variant_ref_sink (g_variant_new_string ("progress"));
  g_autoptr(GBytes) bytes = g_bytes_new_static ("progress", 9);

  coproc_channels_init (&channels, MAX_QUEUED);

  g_assert_null (coproc_channels_lookup (&channels, one_again, FALSE));
  g_assert_cmpuint (g_hash_table_size (channels.table), ==, 0);

  one = coproc_channels_lookup (&channels, one_again, TRUE);
  g_assert_nonnull (one);
  g_assert_true (coproc_channels_lookup (&channels, one_again, FALSE) == one);
  g_assert_true (coproc_channels_lookup (&channels, one_again, TRUE) == one);
  g_assert_null (coproc_channels_lookup (&channels, unsigned_one, FALSE));
  g_assert_true (coproc_channels_lookup (&channels, NULL, FALSE) != one);

  /* An id loaded from bytes is the same channel as one built. */
  name = coproc_channels_lookup (&channels, built, TRUE);
  loaded = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_STRING, bytes, FALSE));
  g_assert_true (coproc_channels_lookup (&channels, loaded, FALSE) == name);
  g_assert_true (name != one);
  g_assert_cmpuint (g_hash_table_size (channels.table), ==, 2);

  coproc_channels_clear (&channels);
}

/* An id not in normal form is kept, hashed and compared in its normal
 * form: here a fixed-size tuple loaded from bytes of the wrong size, which
 * reads as zeros. */
static void
test_normal_form_ids (void)
{
  static const guint8 three[3] = { '1', '2', '3' };
  CoprocChannels channels;
  CoprocChannel *channel;
  g_autoptr(GVariant) odd = NULL;
  g_autoptr(GVariant) zeros = g_variant_ref_sink (g_variant_new ("(xx)", (gint64) 0, (gint64) 0));

  coproc_channels_init (&channels, MAX_QUEUED);

  odd = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(xx)"), three, sizeof three,
                                                     FALSE, NULL, NULL));
  g_assert_false (g_variant_is_normal_form (odd));

  channel = coproc_channels_lookup (&channels, odd, TRUE);
  g_assert_nonnull (channel);
  g_assert_true (g_variant_is_normal_form (channel->channel_id));
  g_assert_true (g_variant_equal (channel->channel_id, zeros));
  g_assert_true (coproc_channels_lookup (&channels, zeros, FALSE) == channel);
  g_assert_true (coproc_channels_lookup (&channels, odd, FALSE) == channel);

  /* A message on the odd id lands on the same channel. */
  enqueue (&channels, COPROC_MESSAGE_KIND_NOREQUEST, 5, odd);
  g_assert_cmpuint (coproc_queue_size (&channel->queue), ==, 1);
  g_assert_cmpuint (g_hash_table_size (channels.table), ==, 1);

  coproc_channels_clear (&channels);
}

/* remaining is requests sent minus replies received and never goes below
 * zero: a reply that answers no request is delivered but not counted. */
static void
test_counters (void)
{
  CoprocChannels channels;
  CoprocChannel *channel;
  g_autoptr(GVariant) id = g_variant_ref_sink (g_variant_new_string ("work"));

  coproc_channels_init (&channels, MAX_QUEUED);
  channel = coproc_channels_lookup (&channels, id, TRUE);

  /* An unsolicited reply first. */
  enqueue (&channels, COPROC_MESSAGE_KIND_REPLY, 0, id);
  g_assert_cmpint (take_value (&channels, channel), ==, 0);
  g_assert_cmpuint (channel->messages_received, ==, 1);
  g_assert_cmpuint (channel->replies_received, ==, 0);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 0);

  coproc_channel_count_sent (channel, COPROC_MESSAGE_KIND_REQUEST);
  coproc_channel_count_sent (channel, COPROC_MESSAGE_KIND_REQUEST);
  coproc_channel_count_sent (channel, COPROC_MESSAGE_KIND_NOREQUEST);
  coproc_channel_count_sent (channel, COPROC_MESSAGE_KIND_REPLY);
  g_assert_cmpuint (channel->requests_sent, ==, 2);
  g_assert_cmpuint (channel->messages_sent, ==, 4);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 2);

  /* A reply counts when it is taken, not when it is queued. */
  enqueue (&channels, COPROC_MESSAGE_KIND_REPLY, 1, id);
  enqueue (&channels, COPROC_MESSAGE_KIND_NOREQUEST, 2, id);
  enqueue (&channels, COPROC_MESSAGE_KIND_REPLY, 3, id);
  enqueue (&channels, COPROC_MESSAGE_KIND_REPLY, 4, id);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 2);

  g_assert_cmpint (take_value (&channels, channel), ==, 1);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 1);
  g_assert_cmpint (take_value (&channels, channel), ==, 2);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 1);
  g_assert_cmpint (take_value (&channels, channel), ==, 3);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 0);
  /* One reply too many. */
  g_assert_cmpint (take_value (&channels, channel), ==, 4);
  g_assert_cmpuint (coproc_channel_remaining (channel), ==, 0);
  g_assert_cmpuint (channel->replies_received, ==, 2);
  g_assert_cmpuint (channel->messages_received, ==, 5);

  /* A message consumed by a handler counts the same way, unqueued. */
  coproc_channel_count_sent (channel, COPROC_MESSAGE_KIND_REQUEST);
  {
    g_autoptr(CoprocMessage) reply = make_message (COPROC_MESSAGE_KIND_REPLY,
                                                   g_variant_new_int32 (9), id);

    coproc_channel_count_received (channel, reply);
    g_assert_cmpuint (coproc_channel_remaining (channel), ==, 0);
    coproc_channel_count_received (channel, reply);
    g_assert_cmpuint (coproc_channel_remaining (channel), ==, 0);
  }
  g_assert_cmpuint (channel->replies_received, ==, 3);
  g_assert_cmpuint (channel->requests_sent, ==, 3);
  g_assert_cmpuint (channel->messages_received, ==, 7);
  g_assert_cmpuint (channels.total_queued, ==, 0);

  coproc_channels_clear (&channels);
}

/* What is queued is counted in messages and in bytes, on every channel,
 * and the counts go back to zero as messages are taken. */
static void
test_queued_bytes (void)
{
  CoprocChannels channels;
  CoprocChannel *a;
  CoprocChannel *b;
  guint64 expected = 0;
  g_autoptr(GVariant) id_a = g_variant_ref_sink (g_variant_new_string ("a"));
  g_autoptr(GVariant) id_b = g_variant_ref_sink (g_variant_new ("(ii)", 1, 2));

  coproc_channels_init (&channels, MAX_QUEUED);
  a = coproc_channels_lookup (&channels, id_a, TRUE);
  b = coproc_channels_lookup (&channels, id_b, TRUE);

  for (guint i = 0; i < 30; i++)
    {
      g_autofree guint8 *data = g_malloc0 (i * 100);
      g_autoptr(CoprocMessage) message = NULL;
      GVariant *id = i % 3 == 0 ? NULL : i % 3 == 1 ? id_a : id_b;

      message = make_message (COPROC_MESSAGE_KIND_NOREQUEST,
                              g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, data, i * 100, 1),
                              id);
      expected += coproc_channels_message_cost (message);
      g_assert_cmpuint (coproc_channels_message_cost (message), >=,
                        i * 100 + (id ? g_variant_get_size (id) : 0));
      coproc_channels_enqueue (&channels, message, i);
    }

  g_assert_cmpuint (channels.total_queued, ==, 30);
  g_assert_cmpuint (channels.queued_bytes, ==, expected);
  g_assert_cmpuint (coproc_queue_size (&a->queue), ==, 10);
  g_assert_cmpuint (coproc_queue_size (&b->queue), ==, 10);
  g_assert_false (coproc_channels_full (&channels));

  /* The bound is a property of the table: past it, the table is full. */
  channels.max_queued_bytes = expected;
  g_assert_true (coproc_channels_full (&channels));
  channels.max_queued_bytes = expected + 1;
  g_assert_false (coproc_channels_full (&channels));

  {
    CoprocChannel *all[] = { a, b, coproc_channels_lookup (&channels, NULL, FALSE) };

    for (guint c = 0; c < G_N_ELEMENTS (all); c++)
      {
        CoprocMessage *message;

        while ((message = coproc_channels_take (&channels, all[c])) != NULL)
          {
            expected -= coproc_channels_message_cost (message);
            g_assert_cmpuint (channels.queued_bytes, ==, expected);
            g_object_unref (message);
          }
      }
  }

  g_assert_cmpuint (channels.total_queued, ==, 0);
  g_assert_cmpuint (channels.queued_bytes, ==, 0);
  g_assert_cmpuint (coproc_channels_lookup (&channels, NULL, FALSE)->messages_received, ==, 10);

  coproc_channels_clear (&channels);
}

/* Messages come out of a channel by rank, equal ranks first in, first out;
 * channels do not see each other's messages. */
static void
test_ranks (void)
{
  static const gdouble ranks[] = { 3, 1, 2, 1, INFINITY, -1, 2 };
  static const gint32 order[] = { 5, 1, 3, 2, 6, 0, 4 };
  CoprocChannels channels;
  CoprocChannel *channel;
  g_autoptr(GVariant) id = g_variant_ref_sink (g_variant_new_byte (7));

  coproc_channels_init (&channels, MAX_QUEUED);
  channel = coproc_channels_lookup (&channels, id, TRUE);

  for (guint i = 0; i < G_N_ELEMENTS (ranks); i++)
    {
      g_autoptr(CoprocMessage) message = make_message (COPROC_MESSAGE_KIND_NOREQUEST,
                                                       g_variant_new_int32 (i), id);

      coproc_channels_enqueue (&channels, message, ranks[i]);
      enqueue (&channels, COPROC_MESSAGE_KIND_NOREQUEST, 100 + i, NULL);
    }

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpint (take_value (&channels, channel), ==, order[i]);
  g_assert_null (coproc_channels_take (&channels, channel));
  g_assert_cmpuint (channels.total_queued, ==, G_N_ELEMENTS (ranks));

  /* Clearing releases what is still queued (valgrind checks it). */
  coproc_channels_clear (&channels);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Coproc/Channels/default", test_default_channel);
  g_test_add_func ("/Coproc/Channels/lookup", test_lookup);
  g_test_add_func ("/Coproc/Channels/normal-form-ids", test_normal_form_ids);
  g_test_add_func ("/Coproc/Channels/counters", test_counters);
  g_test_add_func ("/Coproc/Channels/queued-bytes", test_queued_bytes);
  g_test_add_func ("/Coproc/Channels/ranks", test_ranks);

  return g_test_run ();
}
