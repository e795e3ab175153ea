/* coproc-sandbox-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

#include "coproc-worker-resource.h"

G_BEGIN_DECLS

/* A path granted to a sandboxed worker. */
typedef struct
{
  char     *path;      /* owned; absolute */
  gboolean  writable;
} CoprocSandboxPath;

void      _coproc_sandbox_path_free     (gpointer data);

/* How one worker is to be wrapped: made (and checked) before the spawn. */
typedef struct _CoprocSandboxPlan CoprocSandboxPlan;

CoprocSandboxPlan *_coproc_sandbox_plan_new  (CoprocSandbox           sandbox,
                                              const char             *program,
                                              GPtrArray              *paths,
                                              CoprocWorkerTransport   transport,
                                              GError                **error);
void      _coproc_sandbox_plan_free     (CoprocSandboxPlan      *plan);
CoprocSandbox _coproc_sandbox_plan_get_kind (CoprocSandboxPlan  *plan);
char    **_coproc_sandbox_plan_command  (CoprocSandboxPlan      *plan,
                                         const char * const     *argv,
                                         const char * const     *envp);

char    **_coproc_sandbox_environ       (void);
int       _coproc_sandbox_wait_status   (int                     status);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CoprocSandboxPlan, _coproc_sandbox_plan_free)

G_END_DECLS
