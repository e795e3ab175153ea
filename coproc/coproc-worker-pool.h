/* coproc-worker-pool.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include <gio/gio.h>

#include "coproc-version-macros.h"
#include "coproc-worker-resource.h"

G_BEGIN_DECLS

#define COPROC_TYPE_WORKER_POOL (coproc_worker_pool_get_type ())

COPROC_AVAILABLE_IN_1_2
G_DECLARE_FINAL_TYPE (CoprocWorkerPool, coproc_worker_pool, COPROC, WORKER_POOL, GObject)

COPROC_AVAILABLE_IN_1_2
CoprocWorkerPool     *coproc_worker_pool_new              (const char * const   *argv,
                                                           guint                 n_workers,
                                                           GType                 messenger_type);
COPROC_AVAILABLE_IN_1_2
CoprocWorkerPool     *coproc_worker_pool_new_for_function (const char           *name,
                                                           guint                 n_workers,
                                                           GType                 messenger_type);

COPROC_AVAILABLE_IN_1_2
void                  coproc_worker_pool_add_sandbox_path (CoprocWorkerPool     *self,
                                                           const char           *path,
                                                           gboolean              writable);

COPROC_AVAILABLE_IN_1_2
gboolean              coproc_worker_pool_start            (CoprocWorkerPool     *self,
                                                           GError              **error);
COPROC_AVAILABLE_IN_1_2
GVariant             *coproc_worker_pool_submit           (CoprocWorkerPool     *self,
                                                           GVariant             *payload,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
COPROC_AVAILABLE_IN_1_2
void                  coproc_worker_pool_submit_async     (CoprocWorkerPool     *self,
                                                           GVariant             *payload,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
COPROC_AVAILABLE_IN_1_2
GVariant             *coproc_worker_pool_submit_finish    (CoprocWorkerPool     *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);
COPROC_AVAILABLE_IN_1_2
gboolean              coproc_worker_pool_join             (CoprocWorkerPool     *self,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
COPROC_AVAILABLE_IN_1_2
void                  coproc_worker_pool_terminate        (CoprocWorkerPool     *self);

COPROC_AVAILABLE_IN_1_2
guint                 coproc_worker_pool_get_n_workers    (CoprocWorkerPool     *self);
COPROC_AVAILABLE_IN_1_2
CoprocWorkerResource *coproc_worker_pool_get_worker       (CoprocWorkerPool     *self,
                                                           guint                 index);
COPROC_AVAILABLE_IN_1_2
guint                 coproc_worker_pool_get_pending      (CoprocWorkerPool     *self);
COPROC_AVAILABLE_IN_1_2
gboolean              coproc_worker_pool_get_failed       (CoprocWorkerPool     *self);

G_END_DECLS
