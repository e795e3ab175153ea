/* requests.c: requests, replies and receive_remaining()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A request is a message that expects a reply. The messenger counts, per
 * channel, the requests sent and the replies received;
 * coproc_messenger_remaining() is the difference, and
 * coproc_messenger_receive_remaining() takes messages until every request
 * has its reply.
 *
 * The worker is a function of this program (see choosing-messenger.c for
 * how that works): it answers every message with a reply.
 *
 * Run it: ./requests
 */

#include <stdlib.h>

#include <coproc.h>

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("requests: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

/* The worker: echo every message as a reply, until asked to close. */
static int
echo_process (CoprocMessenger *messenger,
              gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(GVariant) data = NULL;
      g_autoptr(GError) error = NULL;

      data = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (data == NULL)
        return g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED)
               ? EXIT_SUCCESS : EXIT_FAILURE;

      if (!coproc_messenger_send_reply (messenger, data, NULL, &error))
        return EXIT_FAILURE;
    }
}

static void
print_remaining (CoprocMessenger *messenger,
                 guint            expected)
{
  guint remaining = coproc_messenger_remaining (messenger, NULL);

  g_print ("w.messenger.remaining()=%u\n", remaining);
  if (remaining != expected)
    fail ("remaining", NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GPtrArray) replies = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *numbers[3];
  CoprocMessenger *messenger;
  int status;

  coproc_worker_register ("echo-process", echo_process, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  worker = coproc_worker_resource_new_for_function ("echo-process", COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    fail ("starting the worker", error);
  messenger = coproc_worker_resource_get_messenger (worker);

  /* One request, one reply. */
  print_remaining (messenger, 0);
  if (!coproc_messenger_send_request (messenger, g_variant_new_string ("hello"), NULL, &error))
    fail ("sending a request", error);
  print_remaining (messenger, 1);

  reply = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (reply == NULL)
    fail ("receiving the reply", error);
  g_print ("w.messenger.receive_blocking()='%s'\n", g_variant_get_string (reply, NULL));
  if (!g_str_equal (g_variant_get_string (reply, NULL), "hello"))
    fail ("the reply", NULL);
  print_remaining (messenger, 0);

  /* Three requests at once, then every reply they are owed, in order. */
  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    numbers[i] = g_variant_new_int32 (i);
  if (!coproc_messenger_send_request_multiple (messenger, numbers, G_N_ELEMENTS (numbers),
                                               NULL, &error))
    fail ("sending requests", error);
  g_print ("sent %u requests\n", (guint) G_N_ELEMENTS (numbers));
  print_remaining (messenger, 3);

  replies = coproc_messenger_receive_remaining (messenger, NULL, NULL, &error);
  if (replies == NULL)
    fail ("receiving the replies", error);
  for (guint i = 0; i < replies->len; i++)
    {
      gint32 value = g_variant_get_int32 (g_ptr_array_index (replies, i));

      g_print ("%d\n", value);
      if (value != (gint32) i)
        fail ("the replies are out of order", NULL);
    }
  if (replies->len != 3)
    fail ("three replies were owed", NULL);
  print_remaining (messenger, 0);

  if (!coproc_worker_resource_join (worker, NULL, &error))
    fail ("joining the worker", error);

  return EXIT_SUCCESS;
}
