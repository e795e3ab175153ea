/* coproc-priority-messenger.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "coproc-message-private.h"
#include "coproc-priority-messenger.h"

/**
 * CoprocPriorityMessenger:
 *
 * A [class@Coproc.Messenger] whose channels are priority queues: lower
 * priorities are taken first, equal priorities in arrival order. A message
 * sent without a priority has `+inf` and goes to the back.
 *
 * This is the default kind of messenger everywhere.
 *
 * Since: 1.0
 */

struct _CoprocPriorityMessenger
{
  CoprocMessenger parent_instance;
};

G_DEFINE_FINAL_TYPE (CoprocPriorityMessenger, coproc_priority_messenger, COPROC_TYPE_MESSENGER)

static void
coproc_priority_messenger_queue_message (CoprocMessenger *self,
                                        CoprocMessage   *message)
{
  coproc_messenger_enqueue (self, message, message->priority);
}

static void
coproc_priority_messenger_class_init (CoprocPriorityMessengerClass *klass)
{
  CoprocMessengerClass *messenger_class = COPROC_MESSENGER_CLASS (klass);

  messenger_class->queue_message = coproc_priority_messenger_queue_message;
}

static void
coproc_priority_messenger_init (CoprocPriorityMessenger *self)
{
}
