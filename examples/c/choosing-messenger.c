/* choosing-messenger.c: choose the kind of messenger a worker talks through
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A CoprocWorkerResource makes one messenger for the host (this process)
 * and one for the worker, both of the kind you pass to its constructor:
 *
 *   COPROC_TYPE_PRIORITY_MESSENGER  every channel is a priority queue
 *   COPROC_TYPE_MULTI_MESSENGER     every channel is a plain FIFO
 *
 * The worker here is a function of this same program. It is registered
 * with coproc_worker_register(); starting the resource runs this program
 * again, and coproc_worker_dispatch() at the top of main() runs the
 * function in that new process instead of the host's code.
 *
 * Run it: ./choosing-messenger
 */

#include <stdlib.h>

#include <coproc.h>

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("choosing-messenger: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

/* The worker: it reports the kind of messenger it got, then waits for
 * the host to ask it to close, as a well-behaved worker does. */
static int
example_process (CoprocMessenger *messenger,
                 gpointer         user_data)
{
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;

  g_print ("process messenger: %s\n", G_OBJECT_TYPE_NAME (messenger));

  if (!coproc_messenger_send_norequest (messenger,
                                        g_variant_new_string (G_OBJECT_TYPE_NAME (messenger)),
                                        NULL, &error))
    return EXIT_FAILURE;

  /* The next receive fails with COPROC_ERROR_CLOSE_REQUESTED when the
   * host calls coproc_worker_resource_join(). */
  payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (!g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
    return EXIT_FAILURE;

  return EXIT_SUCCESS;
}

static void
run_with (GType messenger_type)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;

  worker = coproc_worker_resource_new_for_function ("example-process", messenger_type);
  if (!coproc_worker_resource_start (worker, &error))
    fail ("starting the worker", error);

  /* The host's end: owned by the resource, made fresh by each start. */
  messenger = coproc_worker_resource_get_messenger (worker);
  g_print ("resource messenger: %s\n", G_OBJECT_TYPE_NAME (messenger));

  reply = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
  if (reply == NULL)
    fail ("waiting for the worker", error);

  /* Both ends are of the kind we asked for. */
  if (G_OBJECT_TYPE (messenger) != messenger_type ||
      !g_str_equal (g_variant_get_string (reply, NULL), g_type_name (messenger_type)))
    fail ("the worker's messenger is of another kind", NULL);

  /* Ask the worker to close, and wait until it has exited. */
  if (!coproc_worker_resource_join (worker, NULL, &error))
    fail ("joining the worker", error);
}

int
main (int    argc,
      char **argv)
{
  int status;

  /* First thing in main(): when this process was started as the worker,
   * run it and exit with its status. */
  coproc_worker_register ("example-process", example_process, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  run_with (COPROC_TYPE_PRIORITY_MESSENGER);
  run_with (COPROC_TYPE_MULTI_MESSENGER);

  return EXIT_SUCCESS;
}
