/* kinds.c: completes the C block of "Two kinds of messenger"
 * (doc/messaging.md)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <coproc.h>

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) received = NULL;

  @SNIPPET@

  g_assert_no_error (error);
  g_assert_true (coproc_worker_resource_get_messenger_type (worker) == COPROC_TYPE_MULTI_MESSENGER);
  g_assert_true (COPROC_IS_PRIORITY_MESSENGER (process));
  g_assert_true (COPROC_IS_PRIORITY_MESSENGER (resource));

  /* The two ends are connected. */
  coproc_messenger_send_norequest (resource, g_variant_new_string ("ping"), NULL, &error);
  g_assert_no_error (error);
  received = coproc_messenger_receive_blocking (process, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_string (received, NULL), ==, "ping");

  return 0;
}
