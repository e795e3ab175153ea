/* special.c: completes the C blocks of "Special messages"
 * (doc/messaging.md): the worker is a function of this program
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: harness.h
 */

#include "harness.h"

@SNIPPET worker@

int
main (int    argc,
      char **argv)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;

  worker = harness_start_function_worker ("print", print_worker);
  messenger = coproc_worker_resource_get_messenger (worker);

  {
    @SNIPPET host@

    g_assert_error (error, EXAMPLE_ERROR, EXAMPLE_ERROR_CLOSED_SUCCESSFULLY);
    g_clear_error (&error);
  }

  /* The worker has returned 0, or is about to. */
  if (!coproc_worker_resource_join (worker, NULL, &error))
    g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD);
  return 0;
}
