/* host.c: a C host, built and run by test-install.py against an installed
 * coproc, as the README's recipes say
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <coproc.h>

static int
double_numbers (CoprocMessenger *messenger,
                gpointer         user_data)
{
  GVariant *number;

  while ((number = coproc_messenger_receive_blocking (messenger, NULL, NULL, NULL)) != NULL)
    {
      coproc_messenger_send_reply (messenger,
                                   g_variant_new_int32 (2 * g_variant_get_int32 (number)),
                                   NULL, NULL);
      g_variant_unref (number);
    }

  return 0;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GPtrArray) replies = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  int status;

  coproc_worker_register ("double", double_numbers, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  worker = coproc_worker_resource_new_for_function ("double", COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    g_error ("%s", error->message);
  messenger = coproc_worker_resource_get_messenger (worker);

  for (gint32 i = 1; i <= 3; i++)
    coproc_messenger_send_request (messenger, g_variant_new_int32 (i), NULL, NULL);
  replies = coproc_messenger_receive_remaining (messenger, NULL, NULL, &error);
  if (replies == NULL)
    g_error ("%s", error->message);

  g_print ("c:");
  for (guint i = 0; i < replies->len; i++)
    g_print (" %d", g_variant_get_int32 (g_ptr_array_index (replies, i)));
  g_print ("\n");

  if (!coproc_worker_resource_join (worker, NULL, &error))
    g_error ("%s", error->message);
  return 0;
}
