/* coproc-multi-messenger.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include "coproc-messenger.h"

G_BEGIN_DECLS

#define COPROC_TYPE_MULTI_MESSENGER (coproc_multi_messenger_get_type ())

COPROC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CoprocMultiMessenger, coproc_multi_messenger, COPROC, MULTI_MESSENGER, CoprocMessenger)

G_END_DECLS
