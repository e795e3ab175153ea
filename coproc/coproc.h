/* coproc.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define COPROC_INSIDE
# include "coproc-version-macros.h"
# include "coproc-error.h"
# include "coproc-message.h"
# include "coproc-enums.h"
# include "coproc-messenger.h"
# include "coproc-priority-messenger.h"
# include "coproc-multi-messenger.h"
# include "coproc-worker-resource.h"
# include "coproc-worker-pool.h"
# include "coproc-worker.h"
#undef COPROC_INSIDE

G_END_DECLS
