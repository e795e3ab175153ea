/* coproc-message.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "coproc-version-macros.h"

G_BEGIN_DECLS

/**
 * CoprocMessageKind:
 * @COPROC_MESSAGE_KIND_NOREQUEST: a plain message; no reply is expected
 * @COPROC_MESSAGE_KIND_REQUEST: a request: the sender counts one more request
 *   sent on its channel and expects a reply
 * @COPROC_MESSAGE_KIND_REPLY: a reply: the receiver counts one more reply
 *   received on its channel
 *
 * The kinds of data message, as given to
 * [method@Coproc.Messenger.send_with_priority].
 *
 * Since: 1.0
 */
typedef enum
{
  COPROC_MESSAGE_KIND_NOREQUEST,
  COPROC_MESSAGE_KIND_REQUEST,
  COPROC_MESSAGE_KIND_REPLY,
} CoprocMessageKind;

/**
 * COPROC_MESSAGE_MAX_FDS:
 *
 * The most file descriptors one message can carry (see
 * [method@Coproc.Message.set_unix_fd_list]). A send of a message with more
 * fails with %G_IO_ERROR_INVALID_ARGUMENT, and sends nothing.
 *
 * Since: 1.2
 */
#define COPROC_MESSAGE_MAX_FDS 16

#define COPROC_TYPE_MESSAGE (coproc_message_get_type ())

COPROC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CoprocMessage, coproc_message, COPROC, MESSAGE, GObject)

COPROC_AVAILABLE_IN_ALL
GVariant          *coproc_message_get_payload       (CoprocMessage *self);
COPROC_AVAILABLE_IN_ALL
GVariant          *coproc_message_get_channel_id    (CoprocMessage *self);
COPROC_AVAILABLE_IN_ALL
gdouble            coproc_message_get_priority      (CoprocMessage *self);
COPROC_AVAILABLE_IN_ALL
gboolean           coproc_message_get_request_reply (CoprocMessage *self);
COPROC_AVAILABLE_IN_ALL
gboolean           coproc_message_get_is_reply      (CoprocMessage *self);
COPROC_AVAILABLE_IN_ALL
CoprocMessageKind  coproc_message_get_kind          (CoprocMessage *self);
COPROC_AVAILABLE_IN_1_2
guint64            coproc_message_get_request_id    (CoprocMessage *self);

COPROC_AVAILABLE_IN_1_2
CoprocMessage     *coproc_message_new               (CoprocMessageKind  kind,
                                                     GVariant          *payload,
                                                     GVariant          *channel_id);
COPROC_AVAILABLE_IN_1_2
void               coproc_message_set_priority      (CoprocMessage     *self,
                                                     gdouble            priority);
COPROC_AVAILABLE_IN_1_2
void               coproc_message_set_unix_fd_list  (CoprocMessage     *self,
                                                     GUnixFDList       *fd_list);
COPROC_AVAILABLE_IN_1_2
GUnixFDList       *coproc_message_get_unix_fd_list  (CoprocMessage     *self);

G_END_DECLS
