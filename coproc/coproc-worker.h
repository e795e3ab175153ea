/* coproc-worker.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include <gio/gio.h>

#include "coproc-messenger.h"
#include "coproc-version-macros.h"

G_BEGIN_DECLS

/**
 * CoprocWorkerFunc:
 * @messenger: the worker's messenger, connected to the host
 * @user_data: the data given to [func@Coproc.worker_register]
 *
 * The body of a worker that runs one of the program's own functions. It
 * runs in a fresh process, started by re-executing the program; it usually
 * loops on the receive calls until the host sends a close request.
 *
 * Returns: the exit status of the worker process
 *
 * Since: 1.0
 */
typedef int (*CoprocWorkerFunc) (CoprocMessenger *messenger,
                                 gpointer         user_data);

COPROC_AVAILABLE_IN_ALL
void     coproc_worker_register (const char       *name,
                                 CoprocWorkerFunc  func,
                                 gpointer          user_data);
COPROC_AVAILABLE_IN_ALL
gboolean coproc_worker_dispatch (int              *exit_status);

G_END_DECLS
