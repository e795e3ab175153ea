/* coproc-channels-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "coproc-message-private.h"
#include "coproc-queue-private.h"

G_BEGIN_DECLS

/*
 * CoprocChannels: a messenger's channel table, the queue of each channel,
 * its counters, and the accounting of everything queued.
 *
 * A channel id is a GVariant, or NULL for the default channel. Two ids
 * name the same channel when g_variant_equal() says so; the table keeps
 * and compares every id in normal form, where equal values have equal
 * bytes. Channels are made on first use and live as long as the table, so
 * a CoprocChannel pointer stays valid until coproc_channels_clear().
 *
 * Counting follows the original library: a message counts as received
 * when it is taken from its queue (coproc_channels_take()) or consumed
 * by a signal handler (coproc_channel_count_received()), not when it
 * arrives; a reply counts as a reply received only while requests sent
 * on its channel outnumber the replies received, so that `remaining`
 * never goes below zero and an unsolicited reply is delivered but not
 * counted.
 *
 * A request taken is remembered (its id) until it is answered, so that
 * a reply sent without naming its request answers the oldest request
 * taken on its channel and not answered yet.
 *
 * Not thread-safe: the owning messenger's thread alone touches it.
 */

/* At most this many requests taken and not answered are remembered per
 * channel (8 bytes each); past it the oldest is forgotten, so that a
 * program that never answers does not grow without bound. Answering it
 * with reply_to() still works; send_reply() then answers a younger one. */
#define COPROC_CHANNEL_MAX_TAKEN (1u << 20)

typedef struct
{
  GVariant    *channel_id;          /* owned, normal form; NULL for the default channel */
  CoprocQueue  queue;               /* of CoprocMessage (owned), ranked by the messenger */
  guint        requests_sent;       /* requests sent on this channel */
  guint        replies_received;    /* replies received that answered one; never above
                                     * requests_sent */
  guint        messages_sent;       /* data messages of every kind sent */
  guint        messages_received;   /* taken from the queue or consumed by a handler */

  /* Correlated requests (the messenger's requests room). */
  GQueue       requests;            /* the messenger's requests sent on this channel and
                                     * waiting for their reply, oldest first; owned by the
                                     * messenger, opaque here */
  guint        zero_replies;        /* replies without a request id that arrived while
                                     * requests were outstanding: the n-th answers the
                                     * n-th request sent (a protocol 1.0 peer) */
  GArray      *taken;               /* owned, may be NULL; of guint64: ids of the requests
                                     * this side took and has not answered, oldest first
                                     * from @taken_head */
  guint        taken_head;
} CoprocChannel;

typedef struct
{
  CoprocChannel  default_channel;   /* the NULL channel, never in @table */
  GHashTable    *table;             /* GVariant (normal form) → CoprocChannel; the value owns both */
  guint          total_queued;      /* messages queued on every channel */
  guint64        queued_bytes;      /* their estimated memory (coproc_channels_message_cost()) */
  guint64        max_queued_bytes;  /* the bound of coproc_channels_full(); > 0 */
  guint          queued_mappings;   /* queued messages whose payload is a mapping */
  guint64        next_arrival;      /* numbers the messages queued, over every channel */
} CoprocChannels;

/* At most this many queued payloads may lie in mappings of their own: a
 * process has some 65530 mappings in all (vm.max_map_count). */
#define COPROC_CHANNELS_MAX_MAPPINGS 128

void           coproc_channels_init    (CoprocChannels *channels,
                                        guint64         max_queued_bytes);
void           coproc_channels_clear   (CoprocChannels *channels);

/* The channel @channel_id names (NULL: the default one); NULL when it does
 * not exist yet and @create is FALSE. @channel_id is borrowed (never
 * floating) and need not be in normal form. */
CoprocChannel *coproc_channels_lookup  (CoprocChannels *channels,
                                        GVariant       *channel_id,
                                        gboolean        create);

/* Queues @message (a reference is taken) on its channel, at @rank: lower
 * ranks are taken first, equal ranks in the order they were queued. */
void           coproc_channels_enqueue (CoprocChannels *channels,
                                        CoprocMessage  *message,
                                        gdouble         rank);

/* The channel whose first message comes first of all: the lowest rank,
 * and of equal ranks the one queued first; NULL when nothing is queued. */
CoprocChannel *coproc_channels_first   (CoprocChannels *channels);

/* Takes the first message of @channel (transfer full), counting it as
 * received; NULL when its queue is empty. */
CoprocMessage *coproc_channels_take    (CoprocChannels *channels,
                                        CoprocChannel  *channel);

/* Counts @message as received on @channel without it having been queued
 * (a signal handler consumed it). */
void           coproc_channel_count_received (CoprocChannel *channel,
                                              CoprocMessage *message);

/* Counts a reply that arrived on @channel and was consumed at once,
 * as the answer of a correlated request: one more reply received, and
 * when @data (a reply message rather than an error reply) one more
 * message received. */
void           coproc_channel_count_reply    (CoprocChannel *channel,
                                              gboolean       data);

/* The id of the oldest request taken on @channel and not answered:
 * FALSE when there is none. */
gboolean       coproc_channel_oldest_taken   (CoprocChannel *channel,
                                              guint64       *request_id);

/* The request taken on @channel with @request_id (the oldest such) was
 * answered: it is forgotten. Nothing happens when there is none. */
void           coproc_channel_answered       (CoprocChannel *channel,
                                              guint64        request_id);

/* Counts a data message of @kind sent on @channel. */
void           coproc_channel_count_sent     (CoprocChannel     *channel,
                                              CoprocMessageKind  kind);

/* What a queued message is reckoned to cost in memory: its data (a mapped
 * payload: its mapping, in whole pages) plus a fixed overhead. */
guint64        coproc_channels_message_cost  (CoprocMessage *message);

/* Whether the queues hold max-queued-bytes or more, or
 * COPROC_CHANNELS_MAX_MAPPINGS mapped payloads: input is then held back
 * until messages are taken. */
static inline gboolean
coproc_channels_full (const CoprocChannels *channels)
{
  return channels->queued_bytes >= channels->max_queued_bytes ||
         channels->queued_mappings >= COPROC_CHANNELS_MAX_MAPPINGS;
}

/* Sets @error to COPROC_ERROR_QUEUE_FULL, saying which bound is reached:
 * a call cannot wait for a message while the queues are full. */
void           coproc_channels_set_full_error (const CoprocChannels  *channels,
                                               GError               **error);

/* Requests sent on @channel that have no reply received yet. */
static inline guint
coproc_channel_remaining (const CoprocChannel *channel)
{
  return channel->requests_sent - channel->replies_received;
}

G_END_DECLS
