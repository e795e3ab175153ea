/* coproc-message-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "coproc-message.h"

G_BEGIN_DECLS

/* The library reads the fields directly on its hot paths. */
struct _CoprocMessage
{
  GObject            parent_instance;

  /* Owned, never NULL. */
  GVariant          *payload;
  /* Owned; NULL is the default channel. */
  GVariant          *channel_id;
  gdouble            priority;
  CoprocMessageKind  kind;
  /* For a request, the id its sender gave it; for a reply, the id of the
   * request it answers; 0 when none. */
  guint64            request_id;
  /* The memory of the mapping @payload lies in (a payload received in a
   * memfd), counted by the queues instead of its size; 0: not mapped. */
  gsize              mapped_size;
  /* For a received request, the messenger it came on, to answer it with;
   * set (and cleared) only when @has_messenger. */
  GWeakRef           messenger;
  gboolean           has_messenger;
  /* Owned, may be NULL: the descriptors that go with the message. */
  GUnixFDList       *fd_list;
  /* Whether the sender gave a priority (coproc_message_set_priority()),
   * rather than leaving it to the payload's "priority" entry. */
  gboolean           explicit_priority;
  /* Set when queued: the order of arrival over every channel. */
  guint64            arrival;
};

CoprocMessage *_coproc_message_new (CoprocMessageKind  kind,
                                    GVariant          *payload,
                                    GVariant          *channel_id,
                                    gdouble            priority);

void           _coproc_message_set_messenger (CoprocMessage *self,
                                              gpointer       messenger);

G_END_DECLS
