/* test-queue.c: the private priority queue behind every channel
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>

#include "coproc/coproc-queue-private.h"

/* Items are small integers stored in the pointer itself. */
#define ITEM(i) GUINT_TO_POINTER ((guint) (i) + 1)
#define ITEM_INDEX(p) (GPOINTER_TO_UINT (p) - 1)

static void
test_queue_empty (void)
{
  CoprocQueue queue;

  coproc_queue_init (&queue);
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 0);
  g_assert_null (coproc_queue_peek (&queue));
  g_assert_null (coproc_queue_pop (&queue));
  g_assert_null (coproc_queue_pop (&queue));

  coproc_queue_push (&queue, 1.0, ITEM (0));
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 1);
  g_assert_true (coproc_queue_peek (&queue) == ITEM (0));
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 1);
  g_assert_true (coproc_queue_pop (&queue) == ITEM (0));
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 0);
  g_assert_null (coproc_queue_pop (&queue));

  coproc_queue_clear (&queue, NULL);
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 0);
}

/* Lower ranks come out first, whatever the order they went in. */
static void
test_queue_heap_order (void)
{
  static const gdouble ranks[] = { 5, 3, 9, -1, 0, 7, 2, -INFINITY, 8, 1, INFINITY, 4, 6, -2.5 };
  gdouble sorted[G_N_ELEMENTS (ranks)];
  CoprocQueue queue;

  coproc_queue_init (&queue);
  for (guint i = 0; i < G_N_ELEMENTS (ranks); i++)
    {
      coproc_queue_push (&queue, ranks[i], ITEM (i));
      sorted[i] = ranks[i];
    }
  g_assert_cmpuint (coproc_queue_size (&queue), ==, G_N_ELEMENTS (ranks));

  /* Insertion sort of the expected ranks. */
  for (guint i = 1; i < G_N_ELEMENTS (sorted); i++)
    for (guint j = i; j > 0 && sorted[j - 1] > sorted[j]; j--)
      {
        gdouble t = sorted[j];
        sorted[j] = sorted[j - 1];
        sorted[j - 1] = t;
      }

  for (guint i = 0; i < G_N_ELEMENTS (sorted); i++)
    {
      gpointer peeked = coproc_queue_peek (&queue);
      gpointer item = coproc_queue_pop (&queue);

      g_assert_true (peeked == item);
      g_assert_nonnull (item);
      g_assert_cmpfloat (ranks[ITEM_INDEX (item)], ==, sorted[i]);
    }
  g_assert_null (coproc_queue_pop (&queue));

  coproc_queue_clear (&queue, NULL);
}

/* Equal ranks come out in the order they were pushed (the original
 * library's test_priorityqueue: many items of one priority, then one of
 * each, then runs of ten). */
static void
test_queue_fifo_ties (void)
{
  CoprocQueue queue;
  guint n = 0;
  guint expected_index;
  gdouble last_rank = -INFINITY;
  guint last_index = 0;

  coproc_queue_init (&queue);

  for (guint i = 0; i < 100; i++)
    coproc_queue_push (&queue, 1, ITEM (n++));
  for (guint i = 0; i < 100; i++)
    coproc_queue_push (&queue, i, ITEM (n++));
  for (guint i = 0; i < 100; i++)
    for (guint j = 0; j < 10; j++)
      coproc_queue_push (&queue, i, ITEM (n++));
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 1200);

  /* Rebuild each item's rank from its index and check stability. */
  for (guint k = 0; k < 1200; k++)
    {
      gpointer item = coproc_queue_pop (&queue);
      guint index;
      gdouble rank;

      g_assert_nonnull (item);
      index = ITEM_INDEX (item);
      if (index < 100)
        rank = 1;
      else if (index < 200)
        rank = index - 100;
      else
        rank = (index - 200) / 10;

      g_assert_cmpfloat (rank, >=, last_rank);
      if (k > 0 && rank == last_rank)
        g_assert_cmpuint (index, >, last_index);
      last_rank = rank;
      last_index = index;
    }
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 0);

  /* All one rank: a plain FIFO. */
  for (guint i = 0; i < 500; i++)
    coproc_queue_push (&queue, 42, ITEM (i));
  for (expected_index = 0; expected_index < 500; expected_index++)
    g_assert_true (coproc_queue_pop (&queue) == ITEM (expected_index));

  /* Interleaved pushes and pops of one rank, the way a channel is used:
   * items still come out in push order. */
  expected_index = 0;
  for (guint i = 0; i < 1000; i++)
    {
      coproc_queue_push (&queue, INFINITY, ITEM (i));
      if (i % 3 == 2)
        g_assert_true (coproc_queue_pop (&queue) == ITEM (expected_index++));
    }
  while (coproc_queue_size (&queue) > 0)
    g_assert_true (coproc_queue_pop (&queue) == ITEM (expected_index++));
  g_assert_cmpuint (expected_index, ==, 1000);
  coproc_queue_clear (&queue, NULL);
}

/* NaN would break the ordering: it sorts as +inf, FIFO with other +inf. */
static void
test_queue_nan (void)
{
  CoprocQueue queue;

  coproc_queue_init (&queue);
  coproc_queue_push (&queue, NAN, ITEM (0));
  coproc_queue_push (&queue, INFINITY, ITEM (1));
  coproc_queue_push (&queue, 1e300, ITEM (2));
  coproc_queue_push (&queue, -NAN, ITEM (3));
  coproc_queue_push (&queue, -INFINITY, ITEM (4));
  coproc_queue_push (&queue, 0, ITEM (5));

  g_assert_true (coproc_queue_pop (&queue) == ITEM (4));
  g_assert_true (coproc_queue_pop (&queue) == ITEM (5));
  g_assert_true (coproc_queue_pop (&queue) == ITEM (2));
  g_assert_true (coproc_queue_pop (&queue) == ITEM (0));
  g_assert_true (coproc_queue_pop (&queue) == ITEM (1));
  g_assert_true (coproc_queue_pop (&queue) == ITEM (3));
  g_assert_null (coproc_queue_pop (&queue));

  coproc_queue_clear (&queue, NULL);
}

static guint n_freed;

static void
count_free (gpointer item)
{
  g_assert_nonnull (item);
  n_freed++;
}

/* clear() hands each remaining item to the free function exactly once, and
 * the queue is usable afterwards. */
static void
test_queue_clear (void)
{
  CoprocQueue queue;

  coproc_queue_init (&queue);
  for (guint i = 0; i < 100; i++)
    coproc_queue_push (&queue, i % 7, ITEM (i));
  for (guint i = 0; i < 30; i++)
    g_assert_nonnull (coproc_queue_pop (&queue));

  n_freed = 0;
  coproc_queue_clear (&queue, count_free);
  g_assert_cmpuint (n_freed, ==, 70);
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 0);
  g_assert_null (coproc_queue_pop (&queue));

  coproc_queue_push (&queue, 3, ITEM (7));
  g_assert_true (coproc_queue_pop (&queue) == ITEM (7));
  coproc_queue_clear (&queue, count_free);
  g_assert_cmpuint (n_freed, ==, 70);
}

/* The reference model: an array kept sorted by (rank, insertion order),
 * with stable insertion; entries before @head were popped. Ranks are
 * already NaN-mapped. */
typedef struct
{
  gdouble rank;
  guint   item;
} ModelEntry;

typedef struct
{
  GArray *entries;
  guint   head;
} Model;

static guint
model_size (Model *model)
{
  return model->entries->len - model->head;
}

static guint
model_first (Model *model)
{
  return g_array_index (model->entries, ModelEntry, model->head).item;
}

static void
model_push (Model   *model,
            gdouble  rank,
            guint    item)
{
  ModelEntry entry = { isnan (rank) ? INFINITY : rank, item };
  guint pos = model->entries->len;

  /* After every entry of a rank lower than or equal to this one. */
  while (pos > model->head && g_array_index (model->entries, ModelEntry, pos - 1).rank > entry.rank)
    pos--;
  g_array_insert_val (model->entries, pos, entry);
}

static void
model_pop (Model *model)
{
  model->head++;
  if (model->head > 4096 && model->head > model->entries->len / 2)
    {
      g_array_remove_range (model->entries, 0, model->head);
      model->head = 0;
    }
}

static gdouble
random_rank (GRand *rand)
{
  switch (g_rand_int_range (rand, 0, 20))
    {
    case 0:  return INFINITY;
    case 1:  return -INFINITY;
    case 2:  return NAN;
    case 3:  return g_rand_double_range (rand, -1e6, 1e6);
    default: return g_rand_int_range (rand, -5, 6);   /* many ties */
    }
}

/* Random pushes, pops and peeks against the reference model, seeded so a
 * failure is reproducible. */
static void
test_queue_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (0xC0990C);
  g_autoptr(GArray) entries = g_array_new (FALSE, FALSE, sizeof (ModelEntry));
  Model model = { entries, 0 };
  CoprocQueue queue;
  guint next_item = 0;
  guint max_len = 0;

  coproc_queue_init (&queue);

  for (guint round = 0; round < 40; round++)
    {
      /* Alternate growing and draining phases: pushes, then pops three
       * times out of four, peeks otherwise. */
      guint push_weight = round % 2 == 0 ? 60 : 20;
      guint pop_weight = push_weight + (100 - push_weight) * 3 / 4;
      guint steps = g_rand_int_range (rand, 100, 3000);

      for (guint s = 0; s < steps; s++)
        {
          guint op = g_rand_int_range (rand, 0, 100);

          if (op < push_weight)
            {
              gdouble rank = random_rank (rand);

              coproc_queue_push (&queue, rank, ITEM (next_item));
              model_push (&model, rank, next_item);
              next_item++;
            }
          else if (op < pop_weight)
            {
              gpointer item = coproc_queue_pop (&queue);

              if (model_size (&model) == 0)
                g_assert_null (item);
              else
                {
                  g_assert_nonnull (item);
                  g_assert_cmpuint (ITEM_INDEX (item), ==, model_first (&model));
                  model_pop (&model);
                }
            }
          else
            {
              gpointer item = coproc_queue_peek (&queue);

              if (model_size (&model) == 0)
                g_assert_null (item);
              else
                g_assert_cmpuint (ITEM_INDEX (item), ==, model_first (&model));
            }

          g_assert_cmpuint (coproc_queue_size (&queue), ==, model_size (&model));
          max_len = MAX (max_len, model_size (&model));
        }
    }

  /* Drain what is left, in model order. */
  while (model_size (&model) > 0)
    {
      gpointer item = coproc_queue_pop (&queue);

      g_assert_nonnull (item);
      g_assert_cmpuint (ITEM_INDEX (item), ==, model_first (&model));
      model_pop (&model);
    }
  g_assert_null (coproc_queue_pop (&queue));
  g_test_message ("the queue held up to %u items", max_len);
  g_assert_cmpuint (max_len, >, 500);

  coproc_queue_clear (&queue, NULL);
}

/* Large counts: growth, order, and shrinking back after a burst. */
static void
test_queue_large (void)
{
  const guint n = 100000;
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  CoprocQueue queue;
  gdouble last_rank = -INFINITY;
  guint64 last_item = 0;
  guint alloc_at_peak;

  coproc_queue_init (&queue);

  /* Ranks 0..999 in random order; items record their push order. */
  for (guint i = 0; i < n; i++)
    coproc_queue_push (&queue, g_rand_int_range (rand, 0, 1000), ITEM (i));
  g_assert_cmpuint (coproc_queue_size (&queue), ==, n);
  alloc_at_peak = queue.alloc;
  g_assert_cmpuint (alloc_at_peak, >=, n);

  for (guint i = 0; i < n; i++)
    {
      gdouble rank = queue.entries[0].rank;
      gpointer item = coproc_queue_pop (&queue);

      g_assert_nonnull (item);
      g_assert_cmpfloat (rank, >=, last_rank);
      if (i > 0 && rank == last_rank)
        g_assert_cmpuint (ITEM_INDEX (item), >, last_item);
      last_rank = rank;
      last_item = ITEM_INDEX (item);
    }
  g_assert_cmpuint (coproc_queue_size (&queue), ==, 0);
  g_assert_null (coproc_queue_pop (&queue));

  /* The memory of the burst was given back. */
  g_assert_cmpuint (queue.alloc, <, alloc_at_peak / 4);

  /* A long FIFO run (the common case: no priorities). */
  for (guint i = 0; i < n; i++)
    coproc_queue_push (&queue, INFINITY, ITEM (i));
  for (guint i = 0; i < n; i++)
    g_assert_true (coproc_queue_pop (&queue) == ITEM (i));

  coproc_queue_clear (&queue, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Coproc/Queue/empty", test_queue_empty);
  g_test_add_func ("/Coproc/Queue/heap-order", test_queue_heap_order);
  g_test_add_func ("/Coproc/Queue/fifo-ties", test_queue_fifo_ties);
  g_test_add_func ("/Coproc/Queue/nan", test_queue_nan);
  g_test_add_func ("/Coproc/Queue/clear", test_queue_clear);
  g_test_add_func ("/Coproc/Queue/random", test_queue_random);
  g_test_add_func ("/Coproc/Queue/large", test_queue_large);

  return g_test_run ();
}
