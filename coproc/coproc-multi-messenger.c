/* coproc-multi-messenger.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "coproc-multi-messenger.h"

/**
 * CoprocMultiMessenger:
 *
 * A [class@Coproc.Messenger] whose channels are plain FIFO queues: messages
 * are taken in arrival order and priorities are ignored.
 *
 * Since: 1.0
 */

struct _CoprocMultiMessenger
{
  CoprocMessenger parent_instance;
};

G_DEFINE_FINAL_TYPE (CoprocMultiMessenger, coproc_multi_messenger, COPROC_TYPE_MESSENGER)

static void
coproc_multi_messenger_queue_message (CoprocMessenger *self,
                                        CoprocMessage   *message)
{
  coproc_messenger_enqueue (self, message, 0.0);
}

static void
coproc_multi_messenger_class_init (CoprocMultiMessengerClass *klass)
{
  CoprocMessengerClass *messenger_class = COPROC_MESSENGER_CLASS (klass);

  messenger_class->queue_message = coproc_multi_messenger_queue_message;
}

static void
coproc_multi_messenger_init (CoprocMultiMessenger *self)
{
}
