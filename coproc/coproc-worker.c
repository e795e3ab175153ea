/* coproc-worker.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "coproc-messenger-private.h"
#include "coproc-priority-messenger.h"
#include "coproc-multi-messenger.h"
#include "coproc-worker.h"
#include "coproc-worker-private.h"

typedef struct
{
  CoprocWorkerFunc func;
  gpointer         user_data;
} WorkerEntry;

G_LOCK_DEFINE_STATIC (workers);
static GHashTable *workers;   /* name → WorkerEntry, protected by the lock */

/**
 * coproc_worker_register:
 * @name: a name for the worker, unique in the program
 * @func: (scope forever): the worker's body
 * @user_data: (closure func): data for @func
 *
 * Registers one of the program's functions as a worker that
 * [ctor@Coproc.WorkerResource.new_for_function] can start. The worker runs
 * in a fresh process made by executing this same program again (never by
 * `fork()` alone, which is unsafe in a threaded GLib program); early in
 * `main()`, [func@Coproc.worker_dispatch] notices that and runs @func:
 *
 * ```c
 * int
 * main (int argc, char **argv)
 * {
 *   int status;
 *
 *   coproc_worker_register ("primes", count_primes, NULL);
 *   if (coproc_worker_dispatch (&status))
 *     return status;
 *
 *   // the host program goes on here
 * }
 * ```
 *
 * Register the same workers, in the same way, in every run of the program.
 *
 * Since: 1.0
 */
void
coproc_worker_register (const char       *name,
                        CoprocWorkerFunc  func,
                        gpointer          user_data)
{
  WorkerEntry *entry;

  g_return_if_fail (name != NULL && *name != '\0');
  g_return_if_fail (func != NULL);

  entry = g_new0 (WorkerEntry, 1);
  entry->func = func;
  entry->user_data = user_data;

  G_LOCK (workers);
  if (workers == NULL)
    workers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (workers, g_strdup (name), entry);
  G_UNLOCK (workers);
}

/**
 * coproc_worker_dispatch:
 * @exit_status: (out) (optional): where to store the worker's exit status
 *
 * Runs the registered worker this process was started for, if any. Call it
 * early in `main()`, after [func@Coproc.worker_register] and before the
 * program does anything else; when it returns `TRUE`, return @exit_status
 * from `main()`.
 *
 * The worker's messenger comes from [ctor@Coproc.Messenger.new_for_host]
 * (or [ctor@Coproc.Messenger.new_for_stdio] when the environment says
 * `COPROC_TRANSPORT=stdio`), of the kind the host chose. When the worker function returns, its
 * buffered messages are flushed before the messenger is closed.
 *
 * Returns: `TRUE` when this process was a worker and the worker has run;
 *   `FALSE` in an ordinary run of the program
 *
 * Since: 1.0
 */
gboolean
coproc_worker_dispatch (int *exit_status)
{
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  const char *type_name;
  WorkerEntry entry = { 0 };
  GType messenger_type = COPROC_TYPE_PRIORITY_MESSENGER;
  gboolean found = FALSE;
  int status;

  if (g_getenv (COPROC_ENV_WORKER) == NULL)
    return FALSE;

  name = g_strdup (g_getenv (COPROC_ENV_WORKER));
  g_unsetenv (COPROC_ENV_WORKER);

  G_LOCK (workers);
  if (workers != NULL)
    {
      WorkerEntry *e = g_hash_table_lookup (workers, name);

      if (e != NULL)
        {
          entry = *e;
          found = TRUE;
        }
    }
  G_UNLOCK (workers);

  if (!found)
    {
      g_printerr ("coproc: this program has no worker named “%s”\n", name);
      if (exit_status != NULL)
        *exit_status = 127;
      return TRUE;
    }

  type_name = g_getenv (COPROC_ENV_MESSENGER_TYPE);
  if (type_name != NULL)
    {
      GType t;

      g_type_ensure (COPROC_TYPE_PRIORITY_MESSENGER);
      g_type_ensure (COPROC_TYPE_MULTI_MESSENGER);
      t = g_type_from_name (type_name);
      if (t != 0 && g_type_is_a (t, COPROC_TYPE_MESSENGER) && !G_TYPE_IS_ABSTRACT (t))
        messenger_type = t;
    }

  if (g_strcmp0 (g_getenv (COPROC_ENV_TRANSPORT), "stdio") == 0)
    messenger = coproc_messenger_new_for_stdio (messenger_type, &error);
  else
    messenger = coproc_messenger_new_for_host (messenger_type, &error);
  if (messenger == NULL)
    {
      g_printerr ("coproc: worker “%s” could not connect to its host: %s\n",
                  name, error->message);
      if (exit_status != NULL)
        *exit_status = 126;
      return TRUE;
    }

  status = entry.func (messenger, entry.user_data);

  /* Let the last messages leave; a host that is gone is no error here. */
  coproc_messenger_close (messenger, NULL);

  if (exit_status != NULL)
    *exit_status = status;

  return TRUE;
}
