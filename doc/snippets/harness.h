/* harness.h: what the C harnesses of the snippets share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <stdlib.h>

#include <coproc.h>

/* Registers @func as the function worker @name. In the worker process, runs
 * it and exits with its status; in the host, starts the worker and returns
 * its resource. Called first thing in main (). */
static inline CoprocWorkerResource *
harness_start_function_worker (const char       *name,
                               CoprocWorkerFunc  func)
{
  g_autoptr(GError) error = NULL;
  CoprocWorkerResource *worker;
  int status;

  coproc_worker_register (name, func, NULL);
  if (coproc_worker_dispatch (&status))
    exit (status);

  worker = coproc_worker_resource_new_for_function (name, COPROC_TYPE_PRIORITY_MESSENGER);
  if (!coproc_worker_resource_start (worker, &error))
    g_error ("%s", error->message);
  return worker;
}
