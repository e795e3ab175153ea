/* priorities.c: messages taken in priority order
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * With a CoprocPriorityMessenger each channel is a priority queue: lower
 * priorities are taken first, equal ones in the order they arrived. A
 * message whose payload is a dictionary with a numeric "priority" entry
 * gets that priority; any other message goes to the back (+inf).
 *
 * The host sends three low-priority and three high-priority messages,
 * interleaved; the worker takes them all at once and prints them, high
 * ones first. So that the worker looks only once all six are queued, the
 * host then sends "print" on a second channel: messages arrive in the
 * order they were sent, so when "print" is there, so are the six. The
 * worker replies with the order it saw, for the host to check.
 *
 * Run it: ./priorities
 */

#include <stdlib.h>

#include <coproc.h>

#define CONTROL "control"

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("priorities: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

/* A message such as {"text": <"high 0">, "priority": <0>}. */
static GVariant *
prioritized_message (const char *text,
                     gint32      priority)
{
  GVariantDict dict;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "text", "s", text);
  g_variant_dict_insert (&dict, "priority", "i", priority);
  return g_variant_dict_end (&dict);
}

/* The worker: on "print", take everything queued on the default channel,
 * print it, and reply with the texts in the order taken. */
static int
print_process (CoprocMessenger *messenger,
               gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(GVariant) command = NULL;
      g_autoptr(GPtrArray) messages = NULL;
      g_autoptr(GError) error = NULL;
      GVariantBuilder order;

      command = coproc_messenger_receive_blocking (messenger, g_variant_new_string (CONTROL),
                                                   NULL, &error);
      if (command == NULL)
        return g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED)
               ? EXIT_SUCCESS : EXIT_FAILURE;

      messages = coproc_messenger_receive_available (messenger, NULL, &error);
      if (messages == NULL)
        return EXIT_FAILURE;

      g_variant_builder_init (&order, G_VARIANT_TYPE_STRING_ARRAY);
      for (guint i = 0; i < messages->len; i++)
        {
          GVariant *message = g_ptr_array_index (messages, i);
          const char *text;
          gint32 priority;

          g_variant_lookup (message, "text", "&s", &text);
          g_variant_lookup (message, "priority", "i", &priority);
          g_print ("%s (priority %d)\n", text, priority);
          g_variant_builder_add (&order, "s", text);
        }

      if (!coproc_messenger_send_reply (messenger, g_variant_builder_end (&order),
                                        g_variant_new_string (CONTROL), &error))
        return EXIT_FAILURE;
    }
}

int
main (int    argc,
      char **argv)
{
  const char *expected[] = { "high 0", "high 1", "high 2", "low 0", "low 1", "low 2", NULL };
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) order = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **texts = NULL;
  CoprocMessenger *messenger;
  int status;

  coproc_worker_register ("print-process", print_process, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  worker = coproc_worker_resource_new_for_function ("print-process", COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    fail ("starting the worker", error);
  messenger = coproc_worker_resource_get_messenger (worker);

  /* Lower is more important: priority 0 goes before priority 1. */
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *low = g_strdup_printf ("low %u", i);
      g_autofree char *high = g_strdup_printf ("high %u", i);

      if (!coproc_messenger_send_norequest (messenger, prioritized_message (low, 1), NULL, &error) ||
          !coproc_messenger_send_norequest (messenger, prioritized_message (high, 0), NULL, &error))
        fail ("sending", error);
    }

  if (!coproc_messenger_send_request (messenger, g_variant_new_string ("print"),
                                      g_variant_new_string (CONTROL), &error))
    fail ("sending print", error);

  order = coproc_messenger_receive_blocking (messenger, g_variant_new_string (CONTROL), NULL, &error);
  if (order == NULL)
    fail ("waiting for the worker", error);

  texts = g_variant_get_strv (order, NULL);
  if (!g_strv_equal (texts, expected))
    fail ("the worker took the messages in the wrong order", NULL);
  g_print ("the worker took the high-priority messages first\n");

  if (!coproc_worker_resource_join (worker, NULL, &error))
    fail ("joining the worker", error);

  return EXIT_SUCCESS;
}
