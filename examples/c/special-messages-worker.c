/* special-messages-worker.c: the worker of the special-messages example
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Prints what it receives. When the host sends a close request, it answers
 * with an error of its own and exits.
 */

#include <stdlib.h>

#include <coproc.h>

/* An error domain of this example. It crosses the pipe by name, with its
 * code and message, so the host recognises it when it defines the same. */
#define EXAMPLE_ERROR (example_error_quark ())
#define EXAMPLE_ERROR_VALUE 1

static GQuark example_error_quark (void);
G_DEFINE_QUARK (example-error-quark, example_error)

static void
print_all (GPtrArray *payloads)
{
  for (guint i = 0; i < payloads->len; i++)
    g_print ("%s\n", g_variant_get_string (g_ptr_array_index (payloads, i), NULL));
}

int
main (void)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) closed_ok = NULL;
  g_autoptr(GError) error = NULL;

  messenger = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  if (messenger == NULL)
    {
      g_printerr ("special-messages-worker: %s\n", error->message);
      return EXIT_FAILURE;
    }

  for (;;)
    {
      g_autoptr(GPtrArray) results = NULL;

      if (!coproc_messenger_await_available (messenger, NULL, &error))
        break;

      results = coproc_messenger_receive_available (messenger, NULL, &error);
      if (results == NULL)
        break;

      print_all (results);
    }

  if (!g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
    {
      g_printerr ("special-messages-worker: %s\n", error->message);
      return EXIT_FAILURE;
    }

  /* A close request overtakes data sent before it, which is still queued:
   * take what is left before leaving. */
  {
    g_autoptr(GPtrArray) left = coproc_messenger_receive_available (messenger, NULL, NULL);

    if (left != NULL)
      print_all (left);
  }

  /* The host's next receive call fails with this error. */
  closed_ok = g_error_new_literal (EXAMPLE_ERROR, EXAMPLE_ERROR_VALUE,
                                   "process was closed successfully");
  g_clear_error (&error);
  if (!coproc_messenger_send_error (messenger, closed_ok, &error) ||
      !coproc_messenger_flush (messenger, NULL, &error))
    {
      g_printerr ("special-messages-worker: %s\n", error->message);
      return EXIT_FAILURE;
    }

  return EXIT_SUCCESS;
}
