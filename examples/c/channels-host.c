/* channels-host.c: send and receive on two channels over one pipe
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every message travels on a channel: any GVariant, or NULL for the
 * default channel. Each channel has its own queue, so a receive on one
 * channel never takes a message meant for another.
 *
 * The worker is a separate program, channels-worker, which echoes what
 * it gets on channels 1 and 2.
 *
 * Run it: ./channels-host [PATH-TO-channels-worker]
 * (by default the worker is looked for next to this program)
 */

#include <stdlib.h>

#include <coproc.h>

#define CHANNEL_A 1
#define CHANNEL_B 2

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("channels-host: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

static GVariant *
channel (gint32 id)
{
  return g_variant_new_int32 (id);
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
  return g_build_filename (dir, "channels-worker", NULL);
}

static void
print_and_check (const char *label,
                 GVariant   *payload,
                 const char *expected)
{
  g_print ("%s='%s'\n", label, g_variant_get_string (payload, NULL));
  if (!g_str_equal (g_variant_get_string (payload, NULL), expected))
    fail (label, NULL);
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *worker_path = find_worker (argc, argv);
  const char *worker_argv[] = { worker_path, NULL };
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GVariant) on_a = NULL;
  g_autoptr(GVariant) on_b = NULL;
  g_autoptr(GError) error = NULL;
  CoprocMessenger *messenger;
  guint n;

  worker = coproc_worker_resource_new (worker_argv, COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    fail ("starting the worker", error);
  messenger = coproc_worker_resource_get_messenger (worker);

  /* Nothing has arrived on the default channel (NULL). */
  n = coproc_messenger_available (messenger, NULL, &error);
  g_print ("w.messenger.available()=%u\n", n);
  if (error != NULL || n != 0)
    fail ("available", error);

  if (!coproc_messenger_send_norequest (messenger, g_variant_new_string ("hello"),
                                        channel (CHANNEL_A), &error) ||
      !coproc_messenger_send_norequest (messenger, g_variant_new_string ("hi"),
                                        channel (CHANNEL_B), &error))
    fail ("sending", error);

  /* The echoes come back on their own channels, not the default one. */
  n = coproc_messenger_available (messenger, NULL, &error);
  g_print ("w.messenger.available()=%u\n", n);
  if (error != NULL || n != 0)
    fail ("available", error);

  /* Receive channel B first: the message on A waits in its own queue. */
  on_b = coproc_messenger_receive_blocking (messenger, channel (CHANNEL_B), NULL, &error);
  if (on_b == NULL)
    fail ("receiving on channel B", error);
  on_a = coproc_messenger_receive_blocking (messenger, channel (CHANNEL_A), NULL, &error);
  if (on_a == NULL)
    fail ("receiving on channel A", error);

  print_and_check ("w.messenger.receive_blocking(CHANNEL_A)", on_a, "hello");
  print_and_check ("w.messenger.receive_blocking(CHANNEL_B)", on_b, "hi");

  /* Send a close request and wait for the worker to exit. */
  if (!coproc_worker_resource_join (worker, NULL, &error))
    fail ("joining the worker", error);

  return EXIT_SUCCESS;
}
