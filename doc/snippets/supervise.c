/* supervise.c: completes the C blocks of "Supervising a worker from a main
 * loop" (doc/workers.md) and runs the main loop until the worker was
 * joined
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: my-worker
 */

#include <coproc.h>

@SNIPPET callbacks@

static gboolean
supervise (CoprocWorkerResource *worker)
{
  g_autoptr(GError) error = NULL;

  @SNIPPET start@

  return TRUE;
}

static void
count_exited_cb (CoprocWorkerResource *worker,
                 gint                  status,
                 gpointer              user_data)
{
  guint *n_exited = user_data;

  (*n_exited)++;
}

int
main (void)
{
  const char *argv[] = { "./my-worker", NULL };
  g_autoptr(CoprocWorkerResource) worker = coproc_worker_resource_new (argv, G_TYPE_NONE);
  guint n_exited = 0;

  g_signal_connect (worker, "exited", G_CALLBACK (count_exited_cb), &n_exited);
  g_assert_true (supervise (worker));

  /* The callbacks warn on failure, and warnings are fatal here. */
  while (n_exited == 0)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  g_assert_false (coproc_worker_resource_is_alive (worker));
  return 0;
}
