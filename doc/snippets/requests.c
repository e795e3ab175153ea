/* requests.c: completes the C blocks of "Requests and replies"
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

  worker = harness_start_function_worker ("reply", reply_worker);
  messenger = coproc_worker_resource_get_messenger (worker);

  {
    @SNIPPET host@

    g_assert_no_error (error);
    g_assert_cmpstr (g_variant_get_string (reply, NULL), ==, "hello");
    g_assert_cmpuint (replies->len, ==, 3);
    for (guint i = 0; i < replies->len; i++)
      g_assert_cmpint (g_variant_get_int32 (g_ptr_array_index (replies, i)), ==, i);
    g_assert_cmpuint (coproc_messenger_remaining (messenger, NULL), ==, 0);
  }

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
