/* coproc-queue-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * CoprocQueue: a binary min-heap ordered by (rank, insertion order).
 *
 * Lower ranks come out first; equal ranks come out in the order they were
 * pushed. Push and pop are O(log n); a push whose rank is not below any
 * queued rank (the FIFO case) stops after one comparison.
 */
typedef struct
{
  gdouble  rank;
  guint64  seq;
  gpointer item;
} CoprocQueueEntry;

typedef struct
{
  CoprocQueueEntry *entries;
  guint             len;
  guint             alloc;
  guint64           next_seq;
} CoprocQueue;

void      coproc_queue_init  (CoprocQueue    *queue);
void      coproc_queue_clear (CoprocQueue    *queue,
                              GDestroyNotify  free_func);
void      coproc_queue_push  (CoprocQueue    *queue,
                              gdouble         rank,
                              gpointer        item);
gpointer  coproc_queue_pop   (CoprocQueue    *queue);
gpointer  coproc_queue_peek  (CoprocQueue    *queue);

static inline guint
coproc_queue_size (const CoprocQueue *queue)
{
  return queue->len;
}

G_END_DECLS
