/* signals.c: completes the C blocks of "Signals" (doc/mainloop.md): a
 * worker of this program reports progress, and the handler moves the bar
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * snippet-support: harness.h
 */

#include "harness.h"

/* A stand-in for the GTK widget, which would need a display: the handler
 * only sets its fraction. */
typedef struct
{
  double fraction;
} GtkProgressBar;

static void
gtk_progress_bar_set_fraction (GtkProgressBar *bar,
                               double          fraction)
{
  bar->fraction = fraction;
}

@SNIPPET handler@

static void
connect_handler (CoprocMessenger *messenger,
                 GtkProgressBar  *bar)
{
  @SNIPPET connect@
}

/* Sends a message of its own on the default channel, then its progress. */
static int
progress_worker (CoprocMessenger *messenger,
                 gpointer         user_data)
{
  g_autoptr(GVariant) close = NULL;

  coproc_messenger_send_norequest (messenger, g_variant_new_string ("not progress"), NULL, NULL);
  coproc_messenger_send_norequest (messenger, g_variant_new_double (0.5),
                                   g_variant_new_string ("progress"), NULL);
  coproc_messenger_send_norequest (messenger, g_variant_new_double (1.0),
                                   g_variant_new_string ("progress"), NULL);
  close = coproc_messenger_receive_blocking (messenger, NULL, NULL, NULL);
  return 0;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(CoprocWorkerResource) worker = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autoptr(GError) error = NULL;
  GtkProgressBar bar = { 0.0 };
  CoprocMessenger *messenger;

  worker = harness_start_function_worker ("progress", progress_worker);
  messenger = coproc_worker_resource_get_messenger (worker);
  connect_handler (messenger, &bar);

  while (bar.fraction != 1.0)
    g_main_context_iteration (NULL, TRUE);

  /* The message of the default channel was left queued. */
  left = coproc_messenger_receive_available (messenger, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 1);
  g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (left, 0), NULL), ==, "not progress");

  coproc_worker_resource_join (worker, NULL, &error);
  g_assert_no_error (error);
  return 0;
}
