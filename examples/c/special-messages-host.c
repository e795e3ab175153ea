/* special-messages-host.c: errors and close requests sent across
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two kinds of message bypass channels and queues and are handled as soon
 * as they are read:
 *
 *   coproc_messenger_send_error()          the peer's next receive call
 *                                          fails with that error (same
 *                                          domain, code and message)
 *   coproc_messenger_send_close_request()  the peer's next receive call
 *                                          fails with
 *                                          COPROC_ERROR_CLOSE_REQUESTED
 *
 * The host sends a message and a close request; the worker, a separate
 * program, answers the close request with an error, which the host
 * catches.
 *
 * Run it: ./special-messages-host [PATH-TO-special-messages-worker]
 */

#include <stdlib.h>

#include <coproc.h>

/* The same domain as the worker's: errors are matched by domain name. */
#define EXAMPLE_ERROR (example_error_quark ())
#define EXAMPLE_ERROR_VALUE 1

static GQuark example_error_quark (void);
G_DEFINE_QUARK (example-error-quark, example_error)

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("special-messages-host: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

static char *
find_worker (int    argc,
             char **argv)
{
  g_autofree char *self = NULL;
  g_autofree char *dir = NULL;

  if (argc > 1)
    return g_strdup (argv[1]);

  self = g_file_read_link ("/proc/self/exe", NULL);
  dir = g_path_get_dirname (self ? self : argv[0]);
  return g_build_filename (dir, "special-messages-worker", NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *worker_path = find_worker (argc, argv);
  const char *worker_argv[] = { worker_path, NULL };
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;

  worker = coproc_worker_resource_new (worker_argv, COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    fail ("starting the worker", error);
  messenger = coproc_worker_resource_get_messenger (worker);

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_string ("message 1"), NULL, &error) ||
      !coproc_messenger_send_close_request (messenger, &error))
    fail ("sending", error);

  /* The worker's error arrives instead of a message. */
  if (coproc_messenger_await_available (messenger, NULL, &error))
    fail ("expected an error from the worker", NULL);

  if (!g_error_matches (error, EXAMPLE_ERROR, EXAMPLE_ERROR_VALUE))
    fail ("expected the worker's error", error);
  g_print ("successfully caught value error sent from process: %s\n", error->message);
  g_clear_error (&error);

  /* The worker exits on its own after answering: join() waits for that,
   * or reports that it is already over. */
  if (!coproc_worker_resource_join (worker, NULL, &error) &&
      !g_error_matches (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD))
    fail ("joining the worker", error);

  return EXIT_SUCCESS;
}
