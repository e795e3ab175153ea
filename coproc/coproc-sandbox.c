/* coproc-sandbox.c: confining workers with bubblewrap or flatpak-spawn
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <gio/gio.h>

#include "coproc-sandbox-private.h"
#include "coproc-worker-private.h"

G_DEFINE_ENUM_TYPE (CoprocSandbox, coproc_sandbox,
  G_DEFINE_ENUM_VALUE (COPROC_SANDBOX_NONE, "none"),
  G_DEFINE_ENUM_VALUE (COPROC_SANDBOX_AUTO, "auto"),
  G_DEFINE_ENUM_VALUE (COPROC_SANDBOX_BWRAP, "bwrap"),
  G_DEFINE_ENUM_VALUE (COPROC_SANDBOX_FLATPAK_SPAWN, "flatpak-spawn"))

/* The file every Flatpak sandbox has, and only those. */
#define FLATPAK_INFO "/.flatpak-info"

struct _CoprocSandboxPlan
{
  CoprocSandbox          kind;       /* BWRAP or FLATPAK_SPAWN, never AUTO */
  CoprocWorkerTransport  transport;
  GPtrArray             *prefix;     /* owned; of char *: the wrapper and its options */
};

/* bwrap option lists that already ran /bin/true: a process checks each
 * once. Keys are the options joined by newlines. */
G_LOCK_DEFINE_STATIC (probed);
static GHashTable *probed;

void
_coproc_sandbox_path_free (gpointer data)
{
  CoprocSandboxPath *path = data;

  g_free (path->path);
  g_free (path);
}

/* What a sandboxed worker keeps of this process's environment: what
 * programs, the Python bootstrap and GObject Introspection need to start,
 * and the debugging switches of GLib and the sanitizers. Anything else
 * (the session bus, the display, XDG_RUNTIME_DIR, credentials) stays out;
 * setenv() adds to it. */
static gboolean
environ_kept (const char *entry)
{
  static const char * const kept[] = {
    "PATH", "LANG", "LANGUAGE", "TZ",
    "PYTHONPATH", "PYTHONHOME", "GI_TYPELIB_PATH", "LD_LIBRARY_PATH",
    "G_DEBUG", "G_SLICE", "G_MESSAGES_DEBUG",
    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "MALLOC_CHECK_", "MALLOC_PERTURB_",
  };
  const char *eq = strchr (entry, '=');
  gsize len;

  if (eq == NULL)
    return FALSE;
  len = eq - entry;

  if (len > 3 && strncmp (entry, "LC_", 3) == 0)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (kept); i++)
    if (strlen (kept[i]) == len && strncmp (entry, kept[i], len) == 0)
      return TRUE;

  return FALSE;
}

/* The environment a sandboxed worker starts from. */
char **
_coproc_sandbox_environ (void)
{
  g_auto(GStrv) host = g_get_environ ();
  GPtrArray *env = g_ptr_array_new ();

  for (guint i = 0; host[i] != NULL; i++)
    if (environ_kept (host[i]))
      g_ptr_array_add (env, g_strdup (host[i]));
  g_ptr_array_add (env, NULL);

  return (char **) g_ptr_array_free (env, FALSE);
}

/* bwrap and flatpak-spawn leave with 128 + N when the sandboxed process
 * was killed by signal N: make that the wait status of a death by N. */
int
_coproc_sandbox_wait_status (int status)
{
  if (WIFEXITED (status) && WEXITSTATUS (status) > 128 && WEXITSTATUS (status) - 128 < NSIG)
    return WEXITSTATUS (status) - 128;

  return status;
}

static void
add (GPtrArray  *args,
     const char *first,
     ...)
{
  va_list ap;

  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, g_strdup (arg));
  va_end (ap);
}

static gboolean
is_under (const char *path,
          const char *dir)
{
  gsize len = strlen (dir);

  return strncmp (path, dir, len) == 0 && (path[len] == '\0' || path[len] == '/');
}

/* The search paths of the environment a sandboxed worker keeps. */
static const char * const search_paths[] = { "LD_LIBRARY_PATH", "GI_TYPELIB_PATH", "PYTHONPATH" };

/* Binds @path read-only at its place when it lies in a directory that the
 * sandbox replaces (/tmp, /run, XDG_RUNTIME_DIR) and exists. */
static void
keep_visible (GPtrArray  *args,
              const char *path,
              const char *runtime_dir)
{
  if (path == NULL || !g_path_is_absolute (path))
    return;
  if (!is_under (path, "/tmp") && !is_under (path, "/run") &&
      !(runtime_dir != NULL && g_path_is_absolute (runtime_dir) && is_under (path, runtime_dir)))
    return;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return;

  for (guint i = 0; i + 2 < args->len; i++)
    if (g_strcmp0 (g_ptr_array_index (args, i), "--ro-bind") == 0 &&
        g_strcmp0 (g_ptr_array_index (args, i + 1), path) == 0)
      return;

  add (args, "--ro-bind", path, path, NULL);
}

static char *
describe_command (GPtrArray *args)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < args->len; i++)
    {
      const char *arg = g_ptr_array_index (args, i);

      if (arg == NULL)
        break;
      if (i > 0)
        g_string_append_c (text, ' ');
      g_string_append (text, arg);
    }

  return g_string_free (text, FALSE);
}

/* Runs /bin/true in the sandbox the options describe, so that a sandbox
 * that cannot be set up fails start() and never a worker. */
static gboolean
probe_bwrap (GPtrArray  *prefix,
             GError    **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(GPtrArray) argv = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) env = NULL;
  g_autofree char *key = NULL;
  g_autofree char *errors = NULL;
  g_autofree char *command = NULL;
  gboolean known;

  g_ptr_array_add (prefix, NULL);
  key = g_strjoinv ("\n", (char **) prefix->pdata);
  g_ptr_array_remove_index (prefix, prefix->len - 1);

  G_LOCK (probed);
  known = probed != NULL && g_hash_table_contains (probed, key);
  G_UNLOCK (probed);
  if (known)
    return TRUE;

  argv = g_ptr_array_new ();
  for (guint i = 0; i < prefix->len; i++)
    g_ptr_array_add (argv, g_ptr_array_index (prefix, i));
  g_ptr_array_add (argv, (gpointer) "--");
  g_ptr_array_add (argv, (gpointer) "/bin/true");
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  env = _coproc_sandbox_environ ();
  g_subprocess_launcher_set_environ (launcher, env);

  subprocess = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                             &local_error);
  if (subprocess == NULL ||
      !g_subprocess_communicate_utf8 (subprocess, NULL, NULL, NULL, &errors, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The worker cannot be sandboxed: bwrap did not run: %s",
                   local_error->message);
      return FALSE;
    }

  if (!g_subprocess_get_successful (subprocess))
    {
      int status = g_subprocess_get_status (subprocess);

      command = describe_command (argv);
      g_debug ("The sandbox check failed: %s", command);
      g_strchomp (errors);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The worker cannot be sandboxed: bubblewrap could not set up the "
                   "sandbox (%s %d): %s",
                   WIFEXITED (status) ? "exit status" : "signal",
                   WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status),
                   *errors ? errors : "it gave no reason");
      return FALSE;
    }

  G_LOCK (probed);
  if (probed == NULL)
    probed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (probed, g_steal_pointer (&key));
  G_UNLOCK (probed);

  return TRUE;
}

static gboolean
plan_bwrap (CoprocSandboxPlan  *plan,
            const char         *program,
            GPtrArray          *paths,
            GError            **error)
{
  g_autofree char *bwrap = g_find_program_in_path ("bwrap");
  const char *runtime_dir = g_getenv ("XDG_RUNTIME_DIR");

  if (bwrap == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The worker cannot be sandboxed: bwrap (bubblewrap) was not found in PATH");
      return FALSE;
    }

  add (plan->prefix, bwrap,
       /* The sandbox goes when its parent, this wrapper, goes: killing
        * the wrapper kills the worker. */
       "--die-with-parent",
       "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
       "--unshare-cgroup-try",
       /* No terminal to push input into (TIOCSTI), no capabilities even
        * when this process has them (a root worker could remount). */
       "--new-session", "--cap-drop", "ALL",
       "--ro-bind", "/", "/",
       "--dev", "/dev",
       "--proc", "/proc",
       "--tmpfs", "/tmp",
       NULL);

  /* /run holds the session's and the system's sockets: the session bus in
   * /run/user/UID, the system bus in /run/dbus. */
  if (g_file_test ("/run", G_FILE_TEST_IS_DIR))
    add (plan->prefix, "--tmpfs", "/run", NULL);
  if (runtime_dir != NULL && g_path_is_absolute (runtime_dir) &&
      g_file_test (runtime_dir, G_FILE_TEST_IS_DIR) &&
      !is_under (runtime_dir, "/tmp") && !is_under (runtime_dir, "/run"))
    add (plan->prefix, "--tmpfs", runtime_dir, NULL);

  /* The worker's program stays where it is, even in a directory the
   * sandbox replaces (a program built in /tmp, say), and so do the
   * directories where it finds its libraries, typelibs and Python
   * modules. */
  keep_visible (plan->prefix, program, runtime_dir);
  for (gsize i = 0; i < G_N_ELEMENTS (search_paths); i++)
    {
      const char *value = g_getenv (search_paths[i]);
      g_auto(GStrv) dirs = NULL;

      if (value == NULL)
        continue;
      dirs = g_strsplit (value, G_SEARCHPATH_SEPARATOR_S, -1);
      for (guint j = 0; dirs[j] != NULL; j++)
        keep_visible (plan->prefix, dirs[j], runtime_dir);
    }

  for (guint i = 0; paths != NULL && i < paths->len; i++)
    {
      CoprocSandboxPath *path = g_ptr_array_index (paths, i);

      add (plan->prefix, path->writable ? "--bind" : "--ro-bind", path->path, path->path, NULL);
    }

  return probe_bwrap (plan->prefix, error);
}

static gboolean
plan_flatpak_spawn (CoprocSandboxPlan  *plan,
                    GPtrArray          *paths,
                    GError            **error)
{
  g_autofree char *flatpak_spawn = NULL;

  if (!g_file_test (FLATPAK_INFO, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The worker cannot be sandboxed with flatpak-spawn: this process does not "
                   "run inside a Flatpak (there is no %s)", FLATPAK_INFO);
      return FALSE;
    }

  flatpak_spawn = g_find_program_in_path ("flatpak-spawn");
  if (flatpak_spawn == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The worker cannot be sandboxed: flatpak-spawn was not found in PATH");
      return FALSE;
    }

  add (plan->prefix, flatpak_spawn, "--sandbox", "--no-network", "--watch-bus", "--clear-env",
       NULL);
  for (guint i = 0; paths != NULL && i < paths->len; i++)
    {
      CoprocSandboxPath *path = g_ptr_array_index (paths, i);

      g_ptr_array_add (plan->prefix,
                       g_strconcat (path->writable ? "--sandbox-expose-path="
                                                   : "--sandbox-expose-path-ro=",
                                    path->path, NULL));
    }

  return TRUE;
}

/* Decides how to confine a worker and checks that it can be done. */
CoprocSandboxPlan *
_coproc_sandbox_plan_new (CoprocSandbox           sandbox,
                          const char             *program,
                          GPtrArray              *paths,
                          CoprocWorkerTransport   transport,
                          GError                **error)
{
  g_autoptr(CoprocSandboxPlan) plan = g_new0 (CoprocSandboxPlan, 1);
  gboolean ok;

  g_return_val_if_fail (sandbox != COPROC_SANDBOX_NONE, NULL);

  if (sandbox == COPROC_SANDBOX_AUTO)
    sandbox = g_file_test (FLATPAK_INFO, G_FILE_TEST_EXISTS) ? COPROC_SANDBOX_FLATPAK_SPAWN
                                                             : COPROC_SANDBOX_BWRAP;

  plan->kind = sandbox;
  plan->transport = transport;
  plan->prefix = g_ptr_array_new_with_free_func (g_free);

  if (sandbox == COPROC_SANDBOX_FLATPAK_SPAWN)
    ok = plan_flatpak_spawn (plan, paths, error);
  else
    ok = plan_bwrap (plan, program, paths, error);

  return ok ? g_steal_pointer (&plan) : NULL;
}

void
_coproc_sandbox_plan_free (CoprocSandboxPlan *plan)
{
  g_clear_pointer (&plan->prefix, g_ptr_array_unref);
  g_free (plan);
}

CoprocSandbox
_coproc_sandbox_plan_get_kind (CoprocSandboxPlan *plan)
{
  return plan->kind;
}

/* The command that runs @argv in the sandbox, with exactly @envp as its
 * environment. bwrap passes on its own environment, which the launcher
 * sets to @envp: values never appear in a command line, which every user
 * may read. flatpak-spawn starts the worker elsewhere and needs them as
 * options. */
char **
_coproc_sandbox_plan_command (CoprocSandboxPlan  *plan,
                              const char * const *argv,
                              const char * const *envp)
{
  GPtrArray *command = g_ptr_array_new ();

  for (guint i = 0; i < plan->prefix->len; i++)
    g_ptr_array_add (command, g_strdup (g_ptr_array_index (plan->prefix, i)));

  if (plan->kind == COPROC_SANDBOX_FLATPAK_SPAWN)
    {
      for (guint i = 0; envp[i] != NULL; i++)
        g_ptr_array_add (command, g_strconcat ("--env=", envp[i], NULL));
      if (plan->transport == COPROC_WORKER_TRANSPORT_SOCKET)
        g_ptr_array_add (command, g_strdup_printf ("--forward-fd=%d", COPROC_WORKER_FD));
    }
  else
    g_ptr_array_add (command, g_strdup ("--"));

  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (command, g_strdup (argv[i]));
  g_ptr_array_add (command, NULL);

  return (char **) g_ptr_array_free (command, FALSE);
}
