/* readme-example.c: the example of README.md, compiled and run by the tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <coproc.h>

/* The worker: replies to each number with its double, until asked to close. */
static int
double_numbers (CoprocMessenger *messenger,
                gpointer         user_data)
{
  GVariant *number;

  while ((number = coproc_messenger_receive_blocking (messenger, NULL, NULL, NULL)) != NULL)
    {
      gint32 n = g_variant_get_int32 (number);

      coproc_messenger_send_reply (messenger, g_variant_new_int32 (2 * n), NULL, NULL);
      g_variant_unref (number);
    }

  return 0;   /* the host sent a close request */
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

  /* Started again as the worker, the program runs double_numbers() here. */
  coproc_worker_register ("double", double_numbers, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  worker = coproc_worker_resource_new_for_function ("double", COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    g_error ("%s", error->message);
  messenger = coproc_worker_resource_get_messenger (worker);

  for (gint32 i = 1; i <= 3; i++)
    coproc_messenger_send_request (messenger, g_variant_new_int32 (i), NULL, NULL);

  /* Blocks until every request sent has its reply: prints 2, 4, 6. */
  replies = coproc_messenger_receive_remaining (messenger, NULL, NULL, &error);
  if (replies == NULL)
    g_error ("%s", error->message);
  for (guint i = 0; i < replies->len; i++)
    g_print ("%d\n", g_variant_get_int32 (g_ptr_array_index (replies, i)));

  /* Sends a close request and waits for the worker to exit. */
  if (!coproc_worker_resource_join (worker, NULL, &error))
    g_error ("%s", error->message);

  return 0;
}
