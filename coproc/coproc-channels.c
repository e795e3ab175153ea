/* coproc-channels.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The channel table of a messenger: see coproc-channels-private.h.
 */

#include "config.h"

#include <string.h>

#include "coproc-channels-private.h"
#include "coproc-error.h"
#include "coproc-wire-private.h"

/* Bytes a queued message costs beyond its data, as measured. */
#define MESSAGE_OVERHEAD 320

static guint
channel_hash (gconstpointer key)
{
  GVariant *value = (GVariant *) key;
  const guint8 *data;
  gsize size;
  guint hash;

  hash = g_str_hash (g_variant_get_type_string (value));
  data = g_variant_get_data (value);
  size = g_variant_get_size (value);
  for (gsize i = 0; i < size; i++)
    hash = hash * 33 + data[i];

  return hash;
}

/* Channel ids are the same channel when g_variant_equal() says so. Every
 * id here is in normal form (coproc_channels_lookup() sees to it), where
 * equal values have equal bytes: compare the bytes, as g_variant_equal()
 * does for trusted values, without its fallback of printing both values. */
static gboolean
channel_equal (gconstpointer a,
               gconstpointer b)
{
  GVariant *va = (GVariant *) a;
  GVariant *vb = (GVariant *) b;
  gsize size = g_variant_get_size (va);

  return strcmp (g_variant_get_type_string (va), g_variant_get_type_string (vb)) == 0 &&
         size == g_variant_get_size (vb) &&
         (size == 0 || memcmp (g_variant_get_data (va), g_variant_get_data (vb), size) == 0);
}

static void
channel_free (gpointer data)
{
  CoprocChannel *channel = data;

  g_assert (g_queue_is_empty (&channel->requests));
  coproc_queue_clear (&channel->queue, g_object_unref);
  g_clear_pointer (&channel->channel_id, g_variant_unref);
  g_clear_pointer (&channel->taken, g_array_unref);
  g_free (channel);
}

void
coproc_channels_init (CoprocChannels *channels,
                      guint64         max_queued_bytes)
{
  g_assert (max_queued_bytes > 0);

  memset (channels, 0, sizeof *channels);
  coproc_queue_init (&channels->default_channel.queue);
  channels->table = g_hash_table_new_full (channel_hash, channel_equal, NULL, channel_free);
  channels->max_queued_bytes = max_queued_bytes;
}

void
coproc_channels_clear (CoprocChannels *channels)
{
  g_assert (g_queue_is_empty (&channels->default_channel.requests));
  coproc_queue_clear (&channels->default_channel.queue, g_object_unref);
  g_clear_pointer (&channels->default_channel.taken, g_array_unref);
  g_clear_pointer (&channels->table, g_hash_table_unref);
  channels->total_queued = 0;
  channels->queued_bytes = 0;
  channels->queued_mappings = 0;
}

CoprocChannel *
coproc_channels_lookup (CoprocChannels *channels,
                        GVariant       *channel_id,
                        gboolean        create)
{
  g_autoptr(GVariant) normal = NULL;
  CoprocChannel *channel;

  if (channel_id == NULL)
    return &channels->default_channel;

  /* Ids are hashed and compared by their bytes, which must then be those
   * of the normal form (a value the caller loaded from untrusted bytes may
   * not be). */
  if (!coproc_wire_is_normal (channel_id))
    channel_id = normal = g_variant_get_normal_form (channel_id);

  channel = g_hash_table_lookup (channels->table, channel_id);
  if (channel == NULL && create)
    {
      channel = g_new0 (CoprocChannel, 1);
      channel->channel_id = g_variant_ref_sink (channel_id);
      coproc_queue_init (&channel->queue);
      g_hash_table_insert (channels->table, channel->channel_id, channel);
    }

  return channel;
}

guint64
coproc_channels_message_cost (CoprocMessage *message)
{
  GVariant *channel_id = message->channel_id;

  return MESSAGE_OVERHEAD
         + (message->mapped_size ? message->mapped_size : g_variant_get_size (message->payload))
         + (channel_id ? g_variant_get_size (channel_id) : 0);
}

void
coproc_channels_set_full_error (const CoprocChannels  *channels,
                                GError               **error)
{
  if (channels->queued_bytes >= channels->max_queued_bytes)
    g_set_error (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL,
                 "Cannot wait for a message: the queues hold %" G_GUINT64_FORMAT
                 " bytes of messages no one took, the maximum is %" G_GUINT64_FORMAT,
                 channels->queued_bytes, channels->max_queued_bytes);
  else
    g_set_error (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL,
                 "Cannot wait for a message: the queues hold %u messages no one took "
                 "whose payloads are mapped, the maximum is %u",
                 channels->queued_mappings, (guint) COPROC_CHANNELS_MAX_MAPPINGS);
}

void
coproc_channels_enqueue (CoprocChannels *channels,
                         CoprocMessage  *message,
                         gdouble         rank)
{
  CoprocChannel *channel = coproc_channels_lookup (channels, message->channel_id, TRUE);

  message->arrival = channels->next_arrival++;
  coproc_queue_push (&channel->queue, rank, g_object_ref (message));
  channels->total_queued++;
  channels->queued_bytes += coproc_channels_message_cost (message);
  channels->queued_mappings += message->mapped_size > 0;
}

/* Whether the first message of @a comes before that of @b (NULL: none). */
static gboolean
comes_first (CoprocChannel *a,
             CoprocChannel *b)
{
  const CoprocQueueEntry *ea, *eb;

  if (coproc_queue_size (&a->queue) == 0)
    return FALSE;
  if (b == NULL)
    return TRUE;

  ea = &a->queue.entries[0];
  eb = &b->queue.entries[0];
  if (ea->rank != eb->rank)
    return ea->rank < eb->rank;
  return ((CoprocMessage *) ea->item)->arrival < ((CoprocMessage *) eb->item)->arrival;
}

CoprocChannel *
coproc_channels_first (CoprocChannels *channels)
{
  CoprocChannel *first = NULL;
  GHashTableIter iter;
  gpointer value;

  if (channels->total_queued == 0)
    return NULL;

  if (comes_first (&channels->default_channel, first))
    first = &channels->default_channel;

  g_hash_table_iter_init (&iter, channels->table);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (comes_first (value, first))
      first = value;

  return first;
}

CoprocMessage *
coproc_channels_take (CoprocChannels *channels,
                      CoprocChannel  *channel)
{
  CoprocMessage *message = coproc_queue_pop (&channel->queue);

  if (message == NULL)
    return NULL;

  g_assert (channels->total_queued > 0);
  channels->total_queued--;
  channels->queued_bytes -= coproc_channels_message_cost (message);
  channels->queued_mappings -= message->mapped_size > 0;
  coproc_channel_count_received (channel, message);

  return message;
}

/* Remembers a request this side took, to be answered. */
static void
push_taken (CoprocChannel *channel,
            guint64        request_id)
{
  if (channel->taken == NULL)
    channel->taken = g_array_new (FALSE, FALSE, sizeof (guint64));

  if (channel->taken->len - channel->taken_head >= COPROC_CHANNEL_MAX_TAKEN)
    channel->taken_head++;

  /* Answered entries before the head are dropped once they are half. */
  if (channel->taken_head > 64 && channel->taken_head >= channel->taken->len / 2)
    {
      g_array_remove_range (channel->taken, 0, channel->taken_head);
      channel->taken_head = 0;
    }

  g_array_append_val (channel->taken, request_id);
}

void
coproc_channel_count_received (CoprocChannel *channel,
                               CoprocMessage *message)
{
  channel->messages_received++;

  if (message->kind == COPROC_MESSAGE_KIND_REQUEST)
    push_taken (channel, message->request_id);

  /* An unsolicited reply is delivered but not counted. */
  if (message->kind == COPROC_MESSAGE_KIND_REPLY &&
      channel->replies_received < channel->requests_sent)
    channel->replies_received++;
}

void
coproc_channel_count_reply (CoprocChannel *channel,
                            gboolean       data)
{
  if (data)
    channel->messages_received++;
  if (channel->replies_received < channel->requests_sent)
    channel->replies_received++;
}

gboolean
coproc_channel_oldest_taken (CoprocChannel *channel,
                             guint64       *request_id)
{
  if (channel->taken == NULL || channel->taken_head >= channel->taken->len)
    return FALSE;

  *request_id = g_array_index (channel->taken, guint64, channel->taken_head);
  return TRUE;
}

void
coproc_channel_answered (CoprocChannel *channel,
                         guint64        request_id)
{
  GArray *taken = channel->taken;

  if (taken == NULL)
    return;

  for (guint i = channel->taken_head; i < taken->len; i++)
    {
      if (g_array_index (taken, guint64, i) != request_id)
        continue;

      if (i == channel->taken_head)
        channel->taken_head++;
      else
        g_array_remove_index (taken, i);
      break;
    }

  if (channel->taken_head == taken->len)
    {
      g_array_set_size (taken, 0);
      channel->taken_head = 0;
    }
}

void
coproc_channel_count_sent (CoprocChannel     *channel,
                           CoprocMessageKind  kind)
{
  channel->messages_sent++;
  if (kind == COPROC_MESSAGE_KIND_REQUEST)
    channel->requests_sent++;
}
