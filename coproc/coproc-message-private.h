/* coproc-message-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "coproc-message.h"

G_BEGIN_DECLS

CoprocMessage *_coproc_message_new (CoprocMessageKind  kind,
                                    GVariant          *payload,
                                    GVariant          *channel_id,
                                    gdouble            priority);

G_END_DECLS
