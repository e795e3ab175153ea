/* coproc-queue.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>

#include "coproc-queue-private.h"

void
coproc_queue_init (CoprocQueue *queue)
{
  queue->entries = NULL;
  queue->len = 0;
  queue->alloc = 0;
  queue->next_seq = 0;
}

void
coproc_queue_clear (CoprocQueue    *queue,
                    GDestroyNotify  free_func)
{
  if (free_func != NULL)
    {
      for (guint i = 0; i < queue->len; i++)
        free_func (queue->entries[i].item);
    }

  g_clear_pointer (&queue->entries, g_free);
  queue->len = 0;
  queue->alloc = 0;
}

static inline gboolean
entry_before (const CoprocQueueEntry *a,
              const CoprocQueueEntry *b)
{
  if (a->rank != b->rank)
    return a->rank < b->rank;
  return a->seq < b->seq;
}

void
coproc_queue_push (CoprocQueue *queue,
                   gdouble      rank,
                   gpointer     item)
{
  CoprocQueueEntry entry;
  guint i;

  /* NaN would break the ordering; it sorts last, like +inf. */
  if (isnan (rank))
    rank = INFINITY;

  if (queue->len == queue->alloc)
    {
      queue->alloc = MAX (16, queue->alloc * 2);
      queue->entries = g_renew (CoprocQueueEntry, queue->entries, queue->alloc);
    }

  entry.rank = rank;
  entry.seq = queue->next_seq++;
  entry.item = item;

  i = queue->len++;
  while (i > 0)
    {
      guint parent = (i - 1) / 2;

      if (!entry_before (&entry, &queue->entries[parent]))
        break;
      queue->entries[i] = queue->entries[parent];
      i = parent;
    }
  queue->entries[i] = entry;
}

gpointer
coproc_queue_peek (CoprocQueue *queue)
{
  return queue->len > 0 ? queue->entries[0].item : NULL;
}

gpointer
coproc_queue_pop (CoprocQueue *queue)
{
  CoprocQueueEntry last;
  gpointer item;
  guint i = 0;

  if (queue->len == 0)
    return NULL;

  item = queue->entries[0].item;
  last = queue->entries[--queue->len];

  for (;;)
    {
      guint child = 2 * i + 1;

      if (child >= queue->len)
        break;
      if (child + 1 < queue->len &&
          entry_before (&queue->entries[child + 1], &queue->entries[child]))
        child++;
      if (!entry_before (&queue->entries[child], &last))
        break;
      queue->entries[i] = queue->entries[child];
      i = child;
    }
  if (queue->len > 0)
    queue->entries[i] = last;

  /* Give memory back when a burst has drained. */
  if (queue->alloc > 1024 && queue->len < queue->alloc / 4)
    {
      queue->alloc /= 2;
      queue->entries = g_renew (CoprocQueueEntry, queue->entries, queue->alloc);
    }

  return item;
}
