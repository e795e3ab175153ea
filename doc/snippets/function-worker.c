/* function-worker.c: completes the C block of "Two kinds of worker"
 * (doc/workers.md) with primes_below (), and runs its main () as the
 * first thing of a host that starts the worker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <coproc.h>

static guint32
primes_below (guint32 limit)
{
  guint32 count = 0;

  for (guint32 n = 2; n < limit; n++)
    {
      gboolean prime = TRUE;

      for (guint32 d = 2; d * d <= n && prime; d++)
        prime = n % d != 0;
      count += prime;
    }

  return count;
}

#define main snippet_main
int snippet_main (int argc, char **argv);

@SNIPPET@

#undef main

int
main (int    argc,
      char **argv)
{
  /* Read before the block's main () runs: dispatch removes it. */
  gboolean is_worker = g_getenv ("COPROC_WORKER") != NULL;
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  int status;

  status = snippet_main (argc, argv);
  if (is_worker || status != 0)
    return status;

  worker = coproc_worker_resource_new_for_function ("primes", COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    g_error ("%s", error->message);
  messenger = coproc_worker_resource_get_messenger (worker);
  coproc_messenger_send_request (messenger, g_variant_new_uint32 (100), NULL, &error);
  g_assert_no_error (error);
  reply = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint32 (reply), ==, 25);

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
