/* channels-worker.c: the worker of the channels example
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A worker can be any program: this one is a separate executable, which
 * channels-host starts. It echoes whatever arrives on channels 1 and 2
 * back on the same channel, until the host asks it to close.
 */

#include <stdlib.h>

#include <coproc.h>

#define CHANNEL_A 1
#define CHANNEL_B 2

/* A channel id is any GVariant; a fresh floating one is sunk by the call
 * it is passed to. */
static GVariant *
channel (gint32 id)
{
  return g_variant_new_int32 (id);
}

/* Sends back everything queued on @channel_id. */
static gboolean
echo_channel (CoprocMessenger  *messenger,
              gint32            channel_id,
              GError          **error)
{
  g_autoptr(GPtrArray) payloads = NULL;

  payloads = coproc_messenger_receive_available (messenger, channel (channel_id), error);
  if (payloads == NULL)
    return FALSE;

  for (guint i = 0; i < payloads->len; i++)
    if (!coproc_messenger_send_norequest (messenger, g_ptr_array_index (payloads, i),
                                          channel (channel_id), error))
      return FALSE;

  return TRUE;
}

int
main (void)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;

  /* The host started us with our end of the pipe as a file descriptor,
   * named in the environment: this connects to it. */
  messenger = coproc_messenger_new_for_host (COPROC_TYPE_PRIORITY_MESSENGER, &error);
  if (messenger == NULL)
    {
      g_printerr ("channels-worker: %s\n", error->message);
      return EXIT_FAILURE;
    }

  for (;;)
    {
      g_print ("awaiting messages\n");

      /* Waits until a message is queued on any channel. */
      if (!coproc_messenger_await_available (messenger, NULL, &error))
        break;

      g_print ("some messages were found\n");

      if (!echo_channel (messenger, CHANNEL_A, &error) ||
          !echo_channel (messenger, CHANNEL_B, &error))
        break;
    }

  /* A close request from the host is the normal way out. */
  if (!g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED))
    {
      g_printerr ("channels-worker: %s\n", error->message);
      return EXIT_FAILURE;
    }

  return EXIT_SUCCESS;
}
