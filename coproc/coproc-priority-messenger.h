/* coproc-priority-messenger.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include "coproc-messenger.h"

G_BEGIN_DECLS

#define COPROC_TYPE_PRIORITY_MESSENGER (coproc_priority_messenger_get_type ())

COPROC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CoprocPriorityMessenger, coproc_priority_messenger, COPROC, PRIORITY_MESSENGER, CoprocMessenger)

G_END_DECLS
