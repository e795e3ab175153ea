/* priorities.c: completes the C blocks of "Priorities" (doc/messaging.md),
 * over the two ends of a pair
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <coproc.h>

@SNIPPET helper@

int
main (void)
{
  g_autoptr(CoprocMessenger) process = NULL;
  g_autoptr(CoprocMessenger) resource = NULL;
  g_autoptr(GPtrArray) payloads = NULL;
  g_autoptr(GError) error = NULL;
  static const char * const expected[] = {
    "high 0", "high 1", "high 2", "low 0", "low 1", "low 2",
  };

  coproc_messenger_new_pair (COPROC_TYPE_PRIORITY_MESSENGER, &process, &resource, &error);
  g_assert_no_error (error);

  @SNIPPET main@

  g_assert_no_error (error);
  g_assert_cmpuint (payloads->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < payloads->len; i++)
    {
      const char *text = NULL;

      g_variant_lookup (g_ptr_array_index (payloads, i), "text", "&s", &text);
      g_assert_cmpstr (text, ==, expected[i]);
    }

  return 0;
}
