/* bench-minimal.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * coproc-bench's minimal GVariant framing peer.
 */

#include <unistd.h>

#include "bench-private.h"

/* Minimal framing --------------------------------------------------------- */

/* What a careful hand-written protocol does: a header with the body size
 * (and, for W4, the channel and priority), the body as g_variant_store()
 * writes it, padded to 8 bytes so that bodies stay aligned, and writes
 * batched into 64 KiB. The reader reads in large chunks and deserializes
 * in place with g_variant_new_from_data(). */

typedef struct
{
  int     fd;
  gsize   header;     /* 8, or 16 with a priority */
  guint8 *buf;
  gsize   len;
  gsize   size;
} Writer;

typedef struct
{
  int     fd;
  gsize   header;
  guint8 *buf;
  gsize   size;
  gsize   start;
  gsize   end;
} Reader;

static void
writer_init (Writer *w,
             int     fd,
             gsize   header)
{
  w->fd = fd;
  w->header = header;
  w->size = 2 * BATCH_SIZE;
  w->buf = g_malloc (w->size);
  w->len = 0;
}

static gboolean
writer_flush (Writer  *w,
              GError **error)
{
  if (w->len > 0 && !write_all (w->fd, w->buf, w->len, error))
    return FALSE;
  w->len = 0;
  return TRUE;
}

static gboolean
writer_put (Writer    *w,
            GVariant  *value,
            guint32    channel,
            gdouble    priority,
            GError   **error)
{
  gsize body = g_variant_get_size (value);
  gsize frame = w->header + pad8 (body);
  guint32 size32 = body;
  guint8 *out;

  if (w->size - w->len < frame)
    {
      w->size = MAX (w->size * 2, w->len + frame);
      w->buf = g_realloc (w->buf, w->size);
    }

  out = w->buf + w->len;
  memcpy (out, &size32, 4);
  memcpy (out + 4, &channel, 4);
  if (w->header == 16)
    memcpy (out + 8, &priority, 8);
  g_variant_store (value, out + w->header);
  memset (out + w->header + body, 0, pad8 (body) - body);
  w->len += frame;

  if (w->len >= BATCH_SIZE)
    return writer_flush (w, error);
  return TRUE;
}

static void
writer_clear (Writer *w)
{
  g_clear_pointer (&w->buf, g_free);
}

static void
reader_init (Reader *r,
             int     fd,
             gsize   header)
{
  r->fd = fd;
  r->header = header;
  r->size = 4 * BATCH_SIZE;
  r->buf = g_malloc (r->size);
  r->start = r->end = 0;
}

/* The next frame's body, valid until the next call. */
static const guint8 *
reader_next (Reader   *r,
             gsize    *body_size,
             guint32  *channel,
             gdouble  *priority,
             GError  **error)
{
  for (;;)
    {
      gsize avail = r->end - r->start;
      gsize need = r->header;
      gsize n;

      if (avail >= r->header)
        {
          guint32 size32;

          memcpy (&size32, r->buf + r->start, 4);
          need = r->header + pad8 (size32);
          if (avail >= need)
            {
              const guint8 *frame = r->buf + r->start;

              if (channel != NULL)
                memcpy (channel, frame + 4, 4);
              if (priority != NULL && r->header == 16)
                memcpy (priority, frame + 8, 8);
              r->start += need;
              *body_size = size32;
              return frame + r->header;
            }
        }

      if (r->start == r->end)
        r->start = r->end = 0;
      if (r->size - r->start < MAX (need, BATCH_SIZE))
        {
          memmove (r->buf, r->buf + r->start, avail);
          r->start = 0;
          r->end = avail;
          if (r->size < need)
            {
              r->size = MAX (need, r->size * 2);
              r->buf = g_realloc (r->buf, r->size);
            }
        }

      if (!read_some (r->fd, r->buf + r->end, r->size - r->end, &n, error))
        return NULL;
      r->end += n;
    }
}

static void
reader_clear (Reader *r)
{
  g_clear_pointer (&r->buf, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Writer, writer_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Reader, reader_clear)

static GVariant *
reader_next_variant (Reader              *r,
                     const GVariantType  *type,
                     GError             **error)
{
  const guint8 *body;
  gsize size;

  body = reader_next (r, &size, NULL, NULL, error);
  if (body == NULL)
    return NULL;

  return g_variant_ref_sink (g_variant_new_from_data (type, body, size, FALSE, NULL, NULL));
}

/* A binary min-heap by (priority, arrival), for the minimal W4 receiver. */
typedef struct
{
  gdouble   priority;
  guint64   seq;
  GVariant *value;
} HeapEntry;

static inline gboolean
heap_before (const HeapEntry *a,
             const HeapEntry *b)
{
  return a->priority != b->priority ? a->priority < b->priority : a->seq < b->seq;
}

static void
heap_push (GArray    *heap,
           HeapEntry *entry)
{
  HeapEntry *e;
  guint i;

  g_array_set_size (heap, heap->len + 1);
  e = (HeapEntry *) (void *) heap->data;
  i = heap->len - 1;
  while (i > 0 && heap_before (entry, &e[(i - 1) / 2]))
    {
      e[i] = e[(i - 1) / 2];
      i = (i - 1) / 2;
    }
  e[i] = *entry;
}

static GVariant *
heap_pop (GArray *heap)
{
  HeapEntry *e = (HeapEntry *) (void *) heap->data;
  HeapEntry last;
  GVariant *top;
  guint i = 0;

  if (heap->len == 0)
    return NULL;

  top = e[0].value;
  last = e[heap->len - 1];
  g_array_set_size (heap, heap->len - 1);

  for (;;)
    {
      guint child = 2 * i + 1;

      if (child >= heap->len)
        break;
      if (child + 1 < heap->len && heap_before (&e[child + 1], &e[child]))
        child++;
      if (!heap_before (&e[child], &last))
        break;
      e[i] = e[child];
      i = child;
    }
  if (heap->len > 0)
    e[i] = last;

  return top;
}

static gboolean
read_totals (Reader   *r,
             guint64   count,
             guint64   sum,
             GError  **error)
{
  g_autoptr(GVariant) reply = reader_next_variant (r, G_VARIANT_TYPE ("(tt)"), error);

  return reply != NULL && check_totals (reply, count, sum, error);
}

static gboolean
run_minimal (const BenchCase  *c,
             const Params     *p,
             Workload          w,
             guint64           n,
             gdouble          *value,
             GError          **error)
{
  g_autoptr(GSubprocess) child = NULL;
  Writer writer = { 0 };
  Reader reader = { 0 };
  W4Plan plan = { NULL, NULL };
  gsize header = w == W4 ? 16 : 8;
  guint64 size = w == W3 ? p->w3_size : w == W4 ? p->w4_channels : 0;
  int fd;
  guint8 ready;
  gint64 t0;
  gboolean ok = FALSE;

  child = spawn_connected_child ("minimal", w, n, size, &fd, error);
  if (child == NULL)
    return FALSE;

  writer_init (&writer, fd, header);
  reader_init (&reader, fd, 8);
  if (w == W4)
    w4_plan_init (&plan, p, n);

  if (!read_all (fd, &ready, 1, error))
    goto out;

  t0 = now_ns ();

  switch (w)
    {
    case W1:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = g_variant_ref_sink (small_new (i));

          if (!writer_put (&writer, v, 0, 0, error))
            goto out;
        }
      if (!writer_flush (&writer, error) || !read_totals (&reader, n, series_sum (n), error))
        goto out;
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = g_variant_ref_sink (small_new (i));
          g_autoptr(GVariant) echo = NULL;

          if (!writer_put (&writer, v, 0, 0, error) || !writer_flush (&writer, error))
            goto out;
          echo = reader_next_variant (&reader, G_VARIANT_TYPE ("(xs)"), error);
          if (!check_echo (echo, i, error))
            goto out;
        }
      break;

    case W3:
      {
        g_autoptr(GVariant) payload =
          large_payload_new ();

        for (guint64 i = 0; i < n; i++)
          {
            if (!writer_put (&writer, payload, 0, 0, error))
              goto out;
          }
        if (!writer_flush (&writer, error) || !read_totals (&reader, n, n * p->w3_size, error))
          goto out;
      }
      break;

    case W4:
      {
        g_autoptr(GVariant) end = g_variant_ref_sink (g_variant_new_uint64 (n));

        for (guint64 i = 0; i < n; i++)
          {
            g_autoptr(GVariant) v = g_variant_ref_sink (small_new (w4_x (&plan, i)));

            if (!writer_put (&writer, v, plan.channels[i], plan.priorities[i], error))
              goto out;
          }
        if (!writer_put (&writer, end, G_MAXUINT32, 0, error) || !writer_flush (&writer, error) ||
            !read_totals (&reader, n, series_sum (n), error))
          goto out;
      }
      break;

    case WMEM:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  *value = result_of (w, n, p->w3_size, now_ns () - t0);
  ok = TRUE;

out:
  close (fd);
  writer_clear (&writer);
  reader_clear (&reader);
  w4_plan_clear (&plan);
  return child_finish (child, ok, error);
}

static int
child_minimal (Workload    w,
               guint64     n,
               guint64     size,
               const char *extra)
{
  g_autoptr(GError) error = NULL;
  g_auto(Writer) writer = { 0 };
  g_auto(Reader) reader = { 0 };
  guint8 ready = 1;
  guint64 count = 0;
  guint64 sum = 0;

  writer_init (&writer, CHILD_FD, 8);
  reader_init (&reader, CHILD_FD, w == W4 ? 16 : 8);

  if (!write_all (CHILD_FD, &ready, 1, &error))
    return worker_failed ("ready", error);

  switch (w)
    {
    case W1:
      for (count = 0; count < n; count++)
        {
          g_autoptr(GVariant) v = reader_next_variant (&reader, G_VARIANT_TYPE ("(xs)"), &error);
          gint64 x;

          if (v == NULL || !small_read (v, &x))
            return worker_failed ("receive", error);
          sum += x;
        }
      break;

    case W2:
      for (guint64 i = 0; i < n; i++)
        {
          g_autoptr(GVariant) v = reader_next_variant (&reader, G_VARIANT_TYPE ("(xs)"), &error);
          g_autoptr(GVariant) echo = NULL;
          gint64 x;

          if (v == NULL || !small_read (v, &x))
            return worker_failed ("receive", error);
          echo = g_variant_ref_sink (small_new (x));
          if (!writer_put (&writer, echo, 0, 0, &error) || !writer_flush (&writer, &error))
            return worker_failed ("reply", error);
        }
      return 0;

    case W3:
      for (count = 0; count < n; count++)
        {
          g_autoptr(GVariant) v = reader_next_variant (&reader, G_VARIANT_TYPE_BYTESTRING, &error);

          if (v == NULL)
            return worker_failed ("receive", error);
          touch_pages (g_variant_get_data (v), g_variant_get_size (v));
          sum += g_variant_get_size (v);
        }
      break;

    case W4:
      {
        g_autoptr(GPtrArray) heaps = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
        W4Check check = { 0, 0, TRUE };
        guint64 seq = 0;

        for (guint c = 0; c < size; c++)
          g_ptr_array_add (heaps, g_array_new (FALSE, FALSE, sizeof (HeapEntry)));

        for (;;)
          {
            const guint8 *body;
            gsize body_size;
            guint32 channel;
            HeapEntry entry;
            guint8 *copy;

            body = reader_next (&reader, &body_size, &channel, &entry.priority, &error);
            if (body == NULL)
              return worker_failed ("receive", error);
            if (channel == G_MAXUINT32)
              break;
            if (channel >= size)
              return worker_failed ("channel", NULL);

            /* Queued messages outlive the read buffer: each gets its own copy. */
            copy = g_memdup2 (body, body_size);
            entry.value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(xs)"),
                                                                       copy, body_size, FALSE,
                                                                       g_free, copy));
            entry.seq = seq++;
            heap_push (g_ptr_array_index (heaps, channel), &entry);
          }

        for (guint c = 0; c < size; c++)
          {
            GVariant *v;
            gint64 last = G_MININT64;

            while ((v = heap_pop (g_ptr_array_index (heaps, c))) != NULL)
              {
                gint64 x;

                if (!small_read (v, &x))
                  return worker_failed ("receive", NULL);
                w4_check_one (&check, x, &last);
                g_variant_unref (v);
              }
          }
        if (!check.ordered)
          return worker_failed ("order", NULL);
        count = check.count;
        sum = check.sum;
      }
      break;

    case WMEM:
    case N_WORKLOADS:
    default:
      g_assert_not_reached ();
    }

  {
    g_autoptr(GVariant) reply = g_variant_ref_sink (g_variant_new ("(tt)", count, sum));

    if (!writer_put (&writer, reply, 0, 0, &error) || !writer_flush (&writer, &error))
      return worker_failed ("reply", error);
  }

  return 0;
}

static const BenchCase minimal_cases[] = {
  { "minimal", "minimal GVariant framing", run_minimal, BIT (W1) | BIT (W2) | BIT (W3) | BIT (W4), { 0 }, NULL },
};

const BenchPeer bench_peer_minimal = {
  "minimal", NULL, child_minimal, minimal_cases, G_N_ELEMENTS (minimal_cases),
};
