/* coproc-worker-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Set by the host for a worker started with new_for_function(). */
#define COPROC_ENV_WORKER          "COPROC_WORKER"
/* The GType name of the host's messenger, so the worker can match it. */
#define COPROC_ENV_MESSENGER_TYPE  "COPROC_MESSENGER_TYPE"
/* The descriptor number the worker's socket gets in the child. */
#define COPROC_WORKER_FD           3

G_END_DECLS
