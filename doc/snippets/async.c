/* async.c: completes the C blocks of "Asynchronous receives"
 * (doc/mainloop.md) with an echo worker, and runs the main context until
 * the reply was taken
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: my-worker
 */

#include <coproc.h>

@SNIPPET callback@

int
main (void)
{
  const char *argv[] = { "./my-worker", NULL };
  g_autoptr(CoprocWorkerResource) worker = coproc_worker_resource_new (argv, G_TYPE_NONE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  GVariant *request = g_variant_new_string ("hello");
  CoprocMessenger *messenger;

  if (!coproc_worker_resource_start (worker, &error))
    g_error ("%s", error->message);
  messenger = coproc_worker_resource_get_messenger (worker);

  @SNIPPET call@

  g_assert_no_error (error);
  /* The callback warns on failure, and warnings are fatal here. */
  while (coproc_messenger_remaining (messenger, NULL) > 0)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
