/* channels.c: completes the C blocks of "Channels" (doc/messaging.md): the
 * worker is a function of this program, the host its main ()
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

  worker = harness_start_function_worker ("echo", echo_worker);
  messenger = coproc_worker_resource_get_messenger (worker);

  {
    @SNIPPET host@

    g_assert_no_error (error);
    g_assert_cmpstr (g_variant_get_string (a, NULL), ==, "hello");
    g_assert_cmpstr (g_variant_get_string (b, NULL), ==, "hi");
  }

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
