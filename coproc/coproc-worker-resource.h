/* coproc-worker-resource.h
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
 * CoprocWorkerTransport:
 * @COPROC_WORKER_TRANSPORT_SOCKET: a socket pair; the worker's end is file
 *   descriptor 3 ([ctor@Coproc.Messenger.new_for_host])
 * @COPROC_WORKER_TRANSPORT_STDIO: the worker's standard input and output
 *   ([ctor@Coproc.Messenger.new_for_stdio]); its standard error passes
 *   through
 *
 * How a host and its worker are connected: see
 * [property@Coproc.WorkerResource:transport].
 *
 * Since: 1.2
 */
typedef enum
{
  COPROC_WORKER_TRANSPORT_SOCKET,
  COPROC_WORKER_TRANSPORT_STDIO,
} CoprocWorkerTransport;

#define COPROC_TYPE_WORKER_TRANSPORT (coproc_worker_transport_get_type ())
COPROC_AVAILABLE_IN_1_2
GType coproc_worker_transport_get_type (void) G_GNUC_CONST;

/**
 * CoprocSandbox:
 * @COPROC_SANDBOX_NONE: no sandbox: the worker runs as this process does
 * @COPROC_SANDBOX_AUTO: %COPROC_SANDBOX_FLATPAK_SPAWN inside a Flatpak,
 *   %COPROC_SANDBOX_BWRAP elsewhere
 * @COPROC_SANDBOX_BWRAP: bubblewrap (`bwrap`), found in `PATH`
 * @COPROC_SANDBOX_FLATPAK_SPAWN: `flatpak-spawn --sandbox --no-network`,
 *   only inside a Flatpak
 *
 * How a worker is confined: see [property@Coproc.WorkerResource:sandbox].
 *
 * Since: 1.2
 */
typedef enum
{
  COPROC_SANDBOX_NONE,
  COPROC_SANDBOX_AUTO,
  COPROC_SANDBOX_BWRAP,
  COPROC_SANDBOX_FLATPAK_SPAWN,
} CoprocSandbox;

#define COPROC_TYPE_SANDBOX (coproc_sandbox_get_type ())
COPROC_AVAILABLE_IN_1_2
GType coproc_sandbox_get_type (void) G_GNUC_CONST;

#define COPROC_TYPE_WORKER_RESOURCE (coproc_worker_resource_get_type ())

COPROC_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (CoprocWorkerResource, coproc_worker_resource, COPROC, WORKER_RESOURCE, GObject)

COPROC_AVAILABLE_IN_ALL
CoprocWorkerResource *coproc_worker_resource_new              (const char * const   *argv,
                                                               GType                 messenger_type);
COPROC_AVAILABLE_IN_ALL
CoprocWorkerResource *coproc_worker_resource_new_for_function (const char           *name,
                                                               GType                 messenger_type);

COPROC_AVAILABLE_IN_ALL
const char * const   *coproc_worker_resource_get_argv         (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_ALL
GType                 coproc_worker_resource_get_messenger_type (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_ALL
CoprocMessenger      *coproc_worker_resource_get_messenger    (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_ALL
GPid                  coproc_worker_resource_get_pid          (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_ALL
gboolean              coproc_worker_resource_is_alive         (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_1_2
GVariant             *coproc_worker_resource_get_stats        (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_ALL
void                  coproc_worker_resource_setenv           (CoprocWorkerResource *self,
                                                               const char           *variable,
                                                               const char           *value);
COPROC_AVAILABLE_IN_1_2
CoprocWorkerTransport coproc_worker_resource_get_transport    (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_1_2
void                  coproc_worker_resource_set_transport    (CoprocWorkerResource *self,
                                                               CoprocWorkerTransport transport);
COPROC_AVAILABLE_IN_1_2
CoprocSandbox         coproc_worker_resource_get_sandbox      (CoprocWorkerResource *self);
COPROC_AVAILABLE_IN_1_2
void                  coproc_worker_resource_set_sandbox      (CoprocWorkerResource *self,
                                                               CoprocSandbox         sandbox);
COPROC_AVAILABLE_IN_1_2
void                  coproc_worker_resource_add_sandbox_path (CoprocWorkerResource *self,
                                                               const char           *path,
                                                               gboolean              writable);

COPROC_AVAILABLE_IN_ALL
gboolean              coproc_worker_resource_start            (CoprocWorkerResource *self,
                                                               GError              **error);
COPROC_AVAILABLE_IN_ALL
gboolean              coproc_worker_resource_join             (CoprocWorkerResource *self,
                                                               GCancellable         *cancellable,
                                                               GError              **error);
COPROC_AVAILABLE_IN_ALL
void                  coproc_worker_resource_join_async       (CoprocWorkerResource *self,
                                                               GCancellable         *cancellable,
                                                               GAsyncReadyCallback   callback,
                                                               gpointer              user_data);
COPROC_AVAILABLE_IN_ALL
gboolean              coproc_worker_resource_join_finish      (CoprocWorkerResource *self,
                                                               GAsyncResult         *result,
                                                               GError              **error);
COPROC_AVAILABLE_IN_ALL
gboolean              coproc_worker_resource_terminate        (CoprocWorkerResource *self,
                                                               GError              **error);

G_END_DECLS
