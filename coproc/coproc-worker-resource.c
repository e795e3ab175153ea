/* coproc-worker-resource.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>
#include <gio/gfiledescriptorbased.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "coproc-enums.h"
#include "coproc-error.h"
#include "coproc-messenger-private.h"
#include "coproc-priority-messenger.h"
#include "coproc-sandbox-private.h"
#include "coproc-wire-private.h"
#include "coproc-worker-private.h"
#include "coproc-worker-resource.h"

/**
 * CoprocWorkerResource:
 *
 * Starts one worker process, supervises it, and holds the host's
 * [class@Coproc.Messenger] to it.
 *
 * The worker is any program, in any language, given as an argument vector
 * ([ctor@Coproc.WorkerResource.new]), or one of this program's own
 * functions ([ctor@Coproc.WorkerResource.new_for_function]). It receives
 * its end of a fresh socket pair as file descriptor 3, named in the
 * `COPROC_FD` environment variable, and connects with
 * [ctor@Coproc.Messenger.new_for_host]. It inherits nothing else but its
 * standard input, output and error.
 *
 * ```c
 * const char *argv[] = { "./my-worker", NULL };
 * g_autoptr(CoprocWorkerResource) worker =
 *   coproc_worker_resource_new (argv, COPROC_TYPE_PRIORITY_MESSENGER);
 *
 * if (!coproc_worker_resource_start (worker, &error))
 *   return FALSE;
 * messenger = coproc_worker_resource_get_messenger (worker);
 * coproc_messenger_send_request (messenger, g_variant_new_int32 (42), NULL, &error);
 * reply = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
 * coproc_worker_resource_join (worker, NULL, &error);
 * ```
 *
 * When the worker dies, however it dies, everything it wrote first is
 * still delivered, and then every receive waiting on its messenger fails
 * with %COPROC_ERROR_WORKER_DIED; [signal@Coproc.WorkerResource::exited]
 * is emitted once. A worker can be started again after it ended; it gets a
 * fresh messenger.
 *
 * Disposing of a resource whose worker is running kills the worker.
 *
 * See [Workers](workers.html) for the life cycle of a worker, function
 * workers, and workers written in other languages.
 *
 * Since: 1.0
 */

struct _CoprocWorkerResource
{
  GObject          parent_instance;

  char           **argv;            /* owned, construct-only */
  char            *worker_name;     /* owned; set for function workers */
  GType            messenger_type;  /* construct-only */
  GPtrArray       *environment;     /* owned; "NAME=value" strings for the child */
  CoprocWorkerTransport transport;
  CoprocSandbox    sandbox;
  GPtrArray       *sandbox_paths;   /* owned; of CoprocSandboxPath, in the order added */

  /* The current (or last) worker; replaced by each start(). */
  GSubprocess     *subprocess;      /* owned */
  CoprocMessenger *messenger;       /* owned */
  GCancellable    *wait_cancellable;/* owned; cancels our wait for the current worker */
  gpointer         exit_wait;       /* owned ExitWait of the current worker */
  GPid             pid;

  guint            alive : 1;       /* as last notified; is_alive() asks the process */
};

G_DEFINE_FINAL_TYPE (CoprocWorkerResource, coproc_worker_resource, G_TYPE_OBJECT)

G_DEFINE_ENUM_TYPE (CoprocWorkerTransport, coproc_worker_transport,
  G_DEFINE_ENUM_VALUE (COPROC_WORKER_TRANSPORT_SOCKET, "socket"),
  G_DEFINE_ENUM_VALUE (COPROC_WORKER_TRANSPORT_STDIO, "stdio"))

enum {
  PROP_0,
  PROP_ARGV,
  PROP_MESSENGER_TYPE,
  PROP_MESSENGER,
  PROP_PID,
  PROP_ALIVE,
  PROP_TRANSPORT,
  PROP_SANDBOX,
  N_PROPS
};

enum {
  EXITED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The wait for one worker's exit, which emits ::exited. Reference
 * counted: the wait itself and each join_async() of that worker hold one. */
typedef struct
{
  gint                  ref_count;  /* atomic */

  /* Weak: a pending wait must not keep the resource alive, or releasing
   * the last reference would never dispose it and kill the worker. */
  GWeakRef              self;
  GSubprocess          *subprocess; /* owned: the process this wait is for */
  GPtrArray            *joins;      /* owned; of GTask: join_async() calls whose worker
                                     * exited, held back until ::exited is emitted */
  guint                 done : 1;   /* ::exited was emitted, or never will be */
  guint                 wrapped : 1;/* the status is a sandbox wrapper's */
} ExitWait;

static void
set_alive (CoprocWorkerResource *self,
           gboolean              alive)
{
  alive = !!alive;
  if (self->alive == alive)
    return;

  self->alive = alive;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);
}

static gboolean
subprocess_running (GSubprocess *subprocess)
{
  /* GSubprocess reaps in GLib's worker thread, which always runs, and
   * forgets the identifier then: this is right without a main loop too. */
  return subprocess != NULL && g_subprocess_get_identifier (subprocess) != NULL;
}

/* The wait status of child @pid when it has exited, read without reaping
 * it (GSubprocess does, in GLib's worker thread, which may be slow to run
 * under valgrind or a heavy load). */
static gboolean
peek_exit_status (GPid  pid,
                  int  *status)
{
  siginfo_t info = { 0 };

  if (pid <= 0 || waitid (P_PID, (id_t) pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid)
    return FALSE;

  if (info.si_code == CLD_EXITED)
    *status = (info.si_status & 0xff) << 8;
  else if (info.si_code == CLD_KILLED)
    *status = info.si_status & 0x7f;
  else if (info.si_code == CLD_DUMPED)
    *status = (info.si_status & 0x7f) | 0x80;
  else
    return FALSE;

  return TRUE;
}

static ExitWait *
exit_wait_new (CoprocWorkerResource *self,
               GSubprocess          *subprocess)
{
  ExitWait *wait = g_new0 (ExitWait, 1);

  wait->ref_count = 1;
  g_weak_ref_init (&wait->self, self);
  wait->subprocess = g_object_ref (subprocess);
  wait->joins = g_ptr_array_new ();

  return wait;
}

static ExitWait *
exit_wait_ref (ExitWait *wait)
{
  g_atomic_int_inc (&wait->ref_count);
  return wait;
}

static void
exit_wait_unref (gpointer data)
{
  ExitWait *wait = data;

  if (!g_atomic_int_dec_and_test (&wait->ref_count))
    return;

  g_assert (wait->joins->len == 0);
  g_ptr_array_unref (wait->joins);
  g_object_unref (wait->subprocess);
  g_weak_ref_clear (&wait->self);
  g_free (wait);
}

static void
exited_cb (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  ExitWait *wait = user_data;
  g_autoptr(CoprocWorkerResource) self = g_weak_ref_get (&wait->self);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) joins = NULL;

  if (g_subprocess_wait_finish (wait->subprocess, result, &error) && self != NULL)
    {
      gint status = g_subprocess_get_status (wait->subprocess);

      if (wait->wrapped)
        status = _coproc_sandbox_wait_status (status);
      if (wait->subprocess == self->subprocess)
        set_alive (self, FALSE);

      g_signal_emit (self, signals[EXITED], 0, status);
    }

  /* The joins of this worker complete after ::exited, and complete even
   * when it is not emitted (the resource is being disposed). */
  wait->done = TRUE;
  joins = g_steal_pointer (&wait->joins);
  wait->joins = g_ptr_array_new ();
  for (guint i = 0; i < joins->len; i++)
    {
      GTask *task = g_ptr_array_index (joins, i);

      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }

  exit_wait_unref (wait);
}

/* Death reports ------------------------------------------------------------ */

/* How long a blocking call that reads a hang-up waits for the worker's
 * exit status. A worker's socket closes as its process ends, and GLib
 * reaps the process a fraction of a millisecond later; a worker that
 * closed its socket and lives on costs this wait once. The main loop never
 * waits: the messenger reports the hang-up from there once the status is
 * known (hangup_watch()), or after as long without it. */
#define HANGUP_STATUS_WAIT_MS 100

typedef struct
{
  GSubprocess *subprocess;   /* owned */
  GPid         pid;
  gboolean     wrapped;      /* the status is a sandbox wrapper's */
} HangupReport;

static void
hangup_report_free (gpointer data)
{
  HangupReport *report = data;

  g_object_unref (report->subprocess);
  g_free (report);
}

static void
status_wait_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (object), result, NULL);
  *done = TRUE;
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* Waits up to @timeout_ms for @subprocess to be reaped, on a private
 * context, without running any other. Returns whether it was. */
static gboolean
wait_reaped (GSubprocess *subprocess,
             guint        timeout_ms)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GSource) timeout = NULL;
  gboolean done = FALSE;

  if (!subprocess_running (subprocess))
    return TRUE;

  context = g_main_context_new ();
  cancellable = g_cancellable_new ();
  g_main_context_push_thread_default (context);

  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_static_name (timeout, "[coproc] exit status wait");
  g_source_set_callback (timeout, cancel_cb, cancellable, NULL);
  g_source_attach (timeout, context);

  g_subprocess_wait_async (subprocess, cancellable, status_wait_cb, &done);
  while (!done)
    g_main_context_iteration (context, TRUE);

  g_source_destroy (timeout);
  g_main_context_pop_thread_default (context);

  return !subprocess_running (subprocess);
}

/* The message of COPROC_ERROR_WORKER_DIED: how the worker ended, once
 * GLib has reaped it. */
static char *
hangup_message (gpointer        user_data,
                CoprocHangupHow how)
{
  HangupReport *report = user_data;
  gboolean reaped;
  int status;

  switch (how)
    {
    case COPROC_HANGUP_PEEK:
      if (subprocess_running (report->subprocess))
        return NULL;
      reaped = TRUE;
      break;

    case COPROC_HANGUP_WAIT:
      reaped = wait_reaped (report->subprocess, HANGUP_STATUS_WAIT_MS);
      break;

    case COPROC_HANGUP_NOW:
    default:
      reaped = !subprocess_running (report->subprocess);
      break;
    }

  if (reaped)
    status = g_subprocess_get_status (report->subprocess);
  else if (!peek_exit_status (report->pid, &status))
    {
      if (subprocess_running (report->subprocess))
        return g_strdup_printf ("Worker process %d hung up: it closed its connection and is "
                                "still running", (int) report->pid);
      status = g_subprocess_get_status (report->subprocess);  /* reaped meanwhile */
    }
  if (report->wrapped)
    status = _coproc_sandbox_wait_status (status);
  if (WIFEXITED (status))
    return g_strdup_printf ("Worker process %d exited with status %d",
                            (int) report->pid, WEXITSTATUS (status));
  if (WIFSIGNALED (status))
    return g_strdup_printf ("Worker process %d was killed by signal %d (%s)%s",
                            (int) report->pid, WTERMSIG (status), g_strsignal (WTERMSIG (status)),
                            WCOREDUMP (status) ? ", core dumped" : "");

  return g_strdup_printf ("Worker process %d ended with wait status %d", (int) report->pid, status);
}

/* Tells the messenger once the worker is reaped: GSubprocess's wait
 * completes on the thread-default context, the messenger's. */
static void
hangup_watch (gpointer             user_data,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             callback_data)
{
  HangupReport *report = user_data;

  g_subprocess_wait_async (report->subprocess, cancellable, callback, callback_data);
}

static void
coproc_worker_resource_dispose (GObject *object)
{
  CoprocWorkerResource *self = (CoprocWorkerResource *) object;

  if (subprocess_running (self->subprocess))
    {
      if (self->messenger != NULL)
        coproc_messenger_send_close_request (self->messenger, NULL);
      g_subprocess_force_exit (self->subprocess);
    }

  g_cancellable_cancel (self->wait_cancellable);
  g_clear_object (&self->wait_cancellable);
  g_clear_pointer (&self->exit_wait, exit_wait_unref);

  if (self->messenger != NULL)
    g_object_run_dispose (G_OBJECT (self->messenger));
  g_clear_object (&self->messenger);
  g_clear_object (&self->subprocess);

  G_OBJECT_CLASS (coproc_worker_resource_parent_class)->dispose (object);
}

static void
coproc_worker_resource_finalize (GObject *object)
{
  CoprocWorkerResource *self = (CoprocWorkerResource *) object;

  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->worker_name, g_free);
  g_clear_pointer (&self->environment, g_ptr_array_unref);
  g_clear_pointer (&self->sandbox_paths, g_ptr_array_unref);

  G_OBJECT_CLASS (coproc_worker_resource_parent_class)->finalize (object);
}

static void
coproc_worker_resource_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  CoprocWorkerResource *self = COPROC_WORKER_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_ARGV:
      g_value_set_boxed (value, self->argv);
      break;

    case PROP_MESSENGER_TYPE:
      g_value_set_gtype (value, self->messenger_type);
      break;

    case PROP_MESSENGER:
      g_value_set_object (value, self->messenger);
      break;

    case PROP_PID:
      g_value_set_int (value, coproc_worker_resource_get_pid (self));
      break;

    case PROP_ALIVE:
      g_value_set_boolean (value, coproc_worker_resource_is_alive (self));
      break;

    case PROP_TRANSPORT:
      g_value_set_enum (value, self->transport);
      break;

    case PROP_SANDBOX:
      g_value_set_enum (value, self->sandbox);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_worker_resource_set_property (GObject      *object,
                                     guint         prop_id,
                                     const GValue *value,
                                     GParamSpec   *pspec)
{
  CoprocWorkerResource *self = COPROC_WORKER_RESOURCE (object);

  switch (prop_id)
    {
    case PROP_ARGV:
      self->argv = g_value_dup_boxed (value);
      break;

    case PROP_MESSENGER_TYPE:
      {
        GType type = g_value_get_gtype (value);

        if (type != G_TYPE_NONE && type != G_TYPE_INVALID)
          {
            g_return_if_fail (g_type_is_a (type, COPROC_TYPE_MESSENGER) && !G_TYPE_IS_ABSTRACT (type));
            self->messenger_type = type;
          }
      }
      break;

    case PROP_TRANSPORT:
      coproc_worker_resource_set_transport (self, g_value_get_enum (value));
      break;

    case PROP_SANDBOX:
      coproc_worker_resource_set_sandbox (self, g_value_get_enum (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_worker_resource_class_init (CoprocWorkerResourceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = coproc_worker_resource_dispose;
  object_class->finalize = coproc_worker_resource_finalize;
  object_class->get_property = coproc_worker_resource_get_property;
  object_class->set_property = coproc_worker_resource_set_property;

  /**
   * CoprocWorkerResource:argv: (getter get_argv)
   *
   * The worker program and its arguments. `argv[0]` is looked up in `PATH`
   * when it has no slash.
   *
   * Since: 1.0
   */
  properties[PROP_ARGV] =
    g_param_spec_boxed ("argv", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerResource:messenger-type: (getter get_messenger_type)
   *
   * The kind of messenger to make for each worker: a non-abstract type
   * deriving from [class@Coproc.Messenger]. The default is
   * [class@Coproc.PriorityMessenger].
   *
   * Since: 1.0
   */
  properties[PROP_MESSENGER_TYPE] =
    g_param_spec_gtype ("messenger-type", NULL, NULL,
                        G_TYPE_NONE,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerResource:messenger: (getter get_messenger)
   *
   * The host's messenger to the current (or last) worker; `NULL` before
   * the first start, so start the worker before using it (messenger calls
   * on `NULL` are programmer errors: they emit a critical warning).
   *
   * Since: 1.0
   */
  properties[PROP_MESSENGER] =
    g_param_spec_object ("messenger", NULL, NULL,
                         COPROC_TYPE_MESSENGER,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerResource:pid: (getter get_pid)
   *
   * The process id of the running worker, or 0. For a sandboxed worker
   * (see [property@Coproc.WorkerResource:sandbox]) it is the sandbox
   * wrapper's: the process whose `SIGKILL` kills the worker.
   *
   * Since: 1.0
   */
  properties[PROP_PID] =
    g_param_spec_int ("pid", NULL, NULL,
                      0, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerResource:alive:
   *
   * Whether the worker is running. Reading it asks the process, so it is
   * right even in a program that runs no main loop; the notification comes
   * from the context that was thread-default when the worker was started.
   *
   * Since: 1.0
   */
  properties[PROP_ALIVE] =
    g_param_spec_boolean ("alive", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerResource:transport: (getter get_transport) (setter set_transport)
   *
   * How the host and the worker are connected; it applies to workers
   * started from then on.
   *
   * With %COPROC_WORKER_TRANSPORT_SOCKET (the default), the worker gets
   * its end of a socket pair as descriptor 3 and connects with
   * [ctor@Coproc.Messenger.new_for_host].
   *
   * With %COPROC_WORKER_TRANSPORT_STDIO, the protocol runs over the
   * worker's standard input and output (two pipes), and its standard
   * error is this process's; the environment says
   * `COPROC_TRANSPORT=stdio`, and the worker connects with
   * [ctor@Coproc.Messenger.new_for_stdio]. The program in
   * [property@Coproc.WorkerResource:argv] may then relay both streams
   * elsewhere: `ssh HOST PROGRAM`, `podman exec -i CONTAINER PROGRAM`,
   * `flatpak-spawn --host PROGRAM`. Payloads of any size travel inline,
   * no descriptor is passed, and everything else works as over a socket.
   * Function workers ([ctor@Coproc.WorkerResource.new_for_function])
   * follow the environment and connect either way.
   *
   * Since: 1.2
   */
  properties[PROP_TRANSPORT] =
    g_param_spec_enum ("transport", NULL, NULL,
                       COPROC_TYPE_WORKER_TRANSPORT,
                       COPROC_WORKER_TRANSPORT_SOCKET,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocWorkerResource:sandbox: (getter get_sandbox) (setter set_sandbox)
   *
   * How workers started from then on are confined. With
   * %COPROC_SANDBOX_NONE (the default) a worker runs as this process does.
   *
   * With %COPROC_SANDBOX_BWRAP the worker runs under bubblewrap (`bwrap`,
   * found in `PATH`): in fresh network, PID, IPC and UTS namespaces (no
   * network at all, not even loopback), in a new session, with no
   * capabilities, and it dies with the host. The file system is the host's,
   * read-only, with a private empty `/tmp` and `/run` (the session and
   * system buses, the display sockets), an empty `XDG_RUNTIME_DIR` wherever
   * it is, a minimal `/dev` and its own `/proc`, and the paths given to
   * [method@Coproc.WorkerResource.add_sandbox_path]. A worker program
   * (`argv[0]`, an absolute path) that lies in one of the directories the
   * sandbox replaces is made visible, read-only, at its place; anything
   * else the worker needs from there must be granted. Its environment is
   * clean: `PATH`, the locale (`LANG`, `LANGUAGE`, `LC_*`, `TZ`), what
   * Python and GObject Introspection need to start (`PYTHONPATH`,
   * `PYTHONHOME`, `GI_TYPELIB_PATH`, `LD_LIBRARY_PATH`), the debugging
   * switches of GLib and the sanitizers (`G_DEBUG`, `G_SLICE`,
   * `G_MESSAGES_DEBUG`, `ASAN_OPTIONS`, `UBSAN_OPTIONS`, `LSAN_OPTIONS`,
   * `MALLOC_CHECK_`, `MALLOC_PERTURB_`), the variables of the environment
   * contract, and what [method@Coproc.WorkerResource.setenv] gave; never
   * `DBUS_SESSION_BUS_ADDRESS`, `DISPLAY`, `WAYLAND_DISPLAY` or
   * `XDG_RUNTIME_DIR`.
   *
   * With %COPROC_SANDBOX_FLATPAK_SPAWN, inside a Flatpak, the worker runs
   * under `flatpak-spawn --sandbox --no-network --watch-bus --clear-env`,
   * with the same environment and the granted paths exposed;
   * %COPROC_SANDBOX_AUTO picks it inside a Flatpak, and bubblewrap
   * elsewhere.
   *
   * [method@Coproc.WorkerResource.start] first checks that the sandbox can
   * be set up (bubblewrap runs `/bin/true` in it, once per process for each
   * set of options) and fails with `G_IO_ERROR_NOT_SUPPORTED` and the reason
   * when it cannot: a worker never runs unsandboxed when a sandbox was
   * asked for.
   *
   * Everything else works as without a sandbox: both transports, function
   * workers, descriptors and large payloads, statistics (the wrapper's
   * processes included). [property@Coproc.WorkerResource:pid] is then the
   * wrapper's process, the one to signal: killing it kills the worker and
   * everything the worker started. A worker killed by signal N makes the
   * wrapper exit with status 128 + N; the resource reports that as a death
   * by signal N, in [signal@Coproc.WorkerResource::exited] and in the
   * %COPROC_ERROR_WORKER_DIED message (so a sandboxed worker that exits
   * with such a status itself is reported as killed).
   *
   * Since: 1.2
   */
  properties[PROP_SANDBOX] =
    g_param_spec_enum ("sandbox", NULL, NULL,
                       COPROC_TYPE_SANDBOX,
                       COPROC_SANDBOX_NONE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CoprocWorkerResource::exited:
   * @self: the resource
   * @status: the wait status of the process, as from
   *   `g_subprocess_get_status()`: check it with `g_spawn_check_wait_status()`
   *   or the `WIFEXITED()` family
   *
   * Emitted once per started worker when its process ended, for whatever
   * reason, on the context that was thread-default when it was started.
   *
   * It comes before [method@Coproc.WorkerResource.join_async] of that
   * worker completes. [method@Coproc.WorkerResource.join], which does not
   * run the context, returns first: the signal follows when the context
   * runs.
   *
   * Since: 1.0
   */
  signals[EXITED] =
    g_signal_new ("exited",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
coproc_worker_resource_init (CoprocWorkerResource *self)
{
  self->messenger_type = COPROC_TYPE_PRIORITY_MESSENGER;
  self->environment = g_ptr_array_new_with_free_func (g_free);
  self->sandbox_paths = g_ptr_array_new_with_free_func (_coproc_sandbox_path_free);
}

/**
 * coproc_worker_resource_new:
 * @argv: (array zero-terminated=1) (element-type filename): the worker
 *   program and its arguments
 * @messenger_type: the kind of messenger, a type deriving from
 *   [class@Coproc.Messenger], or `G_TYPE_NONE` for
 *   [class@Coproc.PriorityMessenger]
 *
 * Creates a resource for a worker running @argv. Nothing starts until
 * [method@Coproc.WorkerResource.start].
 *
 * Returns: (transfer full): the new resource
 *
 * Since: 1.0
 */
CoprocWorkerResource *
coproc_worker_resource_new (const char * const *argv,
                            GType               messenger_type)
{
  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  return g_object_new (COPROC_TYPE_WORKER_RESOURCE,
                       "argv", argv,
                       "messenger-type", messenger_type,
                       NULL);
}

/**
 * coproc_worker_resource_new_for_function:
 * @name: the name a worker function was registered with, by
 *   [func@Coproc.worker_register]
 * @messenger_type: the kind of messenger, or `G_TYPE_NONE` for
 *   [class@Coproc.PriorityMessenger]
 *
 * Creates a resource whose worker runs one of this program's own
 * functions: starting it executes this program again, and
 * [func@Coproc.worker_dispatch] runs the function in the new process. The
 * worker's messenger is of the same kind as the host's.
 *
 * Returns: (transfer full): the new resource
 *
 * Since: 1.0
 */
CoprocWorkerResource *
coproc_worker_resource_new_for_function (const char *name,
                                         GType       messenger_type)
{
  g_autofree char *exe = NULL;
  CoprocWorkerResource *self;
  const char *argv[2] = { NULL, NULL };

  g_return_val_if_fail (name != NULL && *name != '\0', NULL);

  exe = g_file_read_link ("/proc/self/exe", NULL);
  argv[0] = exe ? exe : g_get_prgname ();

  self = coproc_worker_resource_new (argv, messenger_type);
  self->worker_name = g_strdup (name);

  return self;
}

/**
 * coproc_worker_resource_get_argv:
 * @self: a resource
 *
 * Gets [property@Coproc.WorkerResource:argv].
 *
 * Returns: (transfer none) (array zero-terminated=1) (element-type filename):
 *   the worker's argument vector
 *
 * Since: 1.0
 */
const char * const *
coproc_worker_resource_get_argv (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), NULL);

  return (const char * const *) self->argv;
}

/**
 * coproc_worker_resource_get_messenger_type:
 * @self: a resource
 *
 * Gets [property@Coproc.WorkerResource:messenger-type].
 *
 * Returns: the messenger type
 *
 * Since: 1.0
 */
GType
coproc_worker_resource_get_messenger_type (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), G_TYPE_INVALID);

  return self->messenger_type;
}

/**
 * coproc_worker_resource_get_messenger:
 * @self: a resource
 *
 * Gets the host's messenger to the current (or last) worker.
 *
 * There is none before [method@Coproc.WorkerResource.start] has
 * succeeded: calling a messenger function on the `NULL` this returns then
 * is a programmer error, which emits a critical warning. (The Python
 * overrides raise `AttributeError` instead, naming `start()`.)
 *
 * Returns: (transfer none) (nullable): the messenger, or `NULL` before the
 *   first start
 *
 * Since: 1.0
 */
CoprocMessenger *
coproc_worker_resource_get_messenger (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), NULL);

  return self->messenger;
}

/**
 * coproc_worker_resource_get_pid:
 * @self: a resource
 *
 * Gets the process id of the running worker. For a sandboxed worker it is
 * the sandbox wrapper's, whose death kills the worker: see
 * [property@Coproc.WorkerResource:sandbox].
 *
 * Returns: the pid, or 0 when no worker is running
 *
 * Since: 1.0
 */
GPid
coproc_worker_resource_get_pid (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), 0);

  return subprocess_running (self->subprocess) ? self->pid : 0;
}

/**
 * coproc_worker_resource_is_alive:
 * @self: a resource
 *
 * Whether the worker is running now. This asks the process, so a loop
 * such as `while (coproc_worker_resource_is_alive (w));` ends when the
 * worker does, with or without a main loop.
 *
 * Returns: `TRUE` while the worker runs
 *
 * Since: 1.0
 */
gboolean
coproc_worker_resource_is_alive (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), FALSE);

  return subprocess_running (self->subprocess);
}

/**
 * coproc_worker_resource_setenv:
 * @self: a resource
 * @variable: (type filename): the environment variable to set
 * @value: (type filename): its value
 *
 * Sets an environment variable for workers started from now on. The
 * worker otherwise inherits this process's environment; a sandboxed one
 * only the part that [property@Coproc.WorkerResource:sandbox] lists.
 *
 * Since: 1.0
 */
void
coproc_worker_resource_setenv (CoprocWorkerResource *self,
                               const char           *variable,
                               const char           *value)
{
  g_return_if_fail (COPROC_IS_WORKER_RESOURCE (self));
  g_return_if_fail (variable != NULL && strchr (variable, '=') == NULL);
  g_return_if_fail (value != NULL);

  g_ptr_array_add (self->environment, g_strconcat (variable, "=", value, NULL));
}

/**
 * coproc_worker_resource_get_transport:
 * @self: a resource
 *
 * Gets [property@Coproc.WorkerResource:transport].
 *
 * Returns: how workers are connected
 *
 * Since: 1.2
 */
CoprocWorkerTransport
coproc_worker_resource_get_transport (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), COPROC_WORKER_TRANSPORT_SOCKET);

  return self->transport;
}

/**
 * coproc_worker_resource_set_transport:
 * @self: a resource
 * @transport: how to connect the workers started from now on
 *
 * Sets [property@Coproc.WorkerResource:transport]. Set it before
 * [method@Coproc.WorkerResource.start]: a running worker keeps its
 * connection.
 *
 * Since: 1.2
 */
void
coproc_worker_resource_set_transport (CoprocWorkerResource  *self,
                                      CoprocWorkerTransport  transport)
{
  g_return_if_fail (COPROC_IS_WORKER_RESOURCE (self));
  g_return_if_fail (transport == COPROC_WORKER_TRANSPORT_SOCKET ||
                    transport == COPROC_WORKER_TRANSPORT_STDIO);

  if (self->transport == transport)
    return;

  self->transport = transport;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRANSPORT]);
}

/**
 * coproc_worker_resource_get_sandbox:
 * @self: a resource
 *
 * Gets [property@Coproc.WorkerResource:sandbox].
 *
 * Returns: how workers are confined
 *
 * Since: 1.2
 */
CoprocSandbox
coproc_worker_resource_get_sandbox (CoprocWorkerResource *self)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), COPROC_SANDBOX_NONE);

  return self->sandbox;
}

/**
 * coproc_worker_resource_set_sandbox:
 * @self: a resource
 * @sandbox: how to confine the workers started from now on
 *
 * Sets [property@Coproc.WorkerResource:sandbox]. Set it before
 * [method@Coproc.WorkerResource.start]: a running worker stays as it was
 * started.
 *
 * Since: 1.2
 */
void
coproc_worker_resource_set_sandbox (CoprocWorkerResource *self,
                                    CoprocSandbox         sandbox)
{
  g_return_if_fail (COPROC_IS_WORKER_RESOURCE (self));
  g_return_if_fail (sandbox >= COPROC_SANDBOX_NONE && sandbox <= COPROC_SANDBOX_FLATPAK_SPAWN);

  if (self->sandbox == sandbox)
    return;

  self->sandbox = sandbox;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SANDBOX]);
}

/**
 * coproc_worker_resource_add_sandbox_path:
 * @self: a resource
 * @path: (type filename): a file or directory of the host, made absolute
 *   against the current directory
 * @writable: whether the worker may change it
 *
 * Lets sandboxed workers started from now on reach @path, at the same
 * place, read-only or writable (see
 * [property@Coproc.WorkerResource:sandbox]). The rest of the file system
 * stays read-only. Paths apply in the order added, after the sandbox's own
 * `/tmp` and `/run`, so a path below those is granted too. A path that does
 * not exist makes [method@Coproc.WorkerResource.start] fail.
 *
 * It has no effect on a worker that is not sandboxed.
 *
 * Since: 1.2
 */
void
coproc_worker_resource_add_sandbox_path (CoprocWorkerResource *self,
                                         const char           *path,
                                         gboolean              writable)
{
  CoprocSandboxPath *entry;

  g_return_if_fail (COPROC_IS_WORKER_RESOURCE (self));
  g_return_if_fail (path != NULL && *path != '\0');

  entry = g_new0 (CoprocSandboxPath, 1);
  entry->path = g_canonicalize_filename (path, NULL);
  entry->writable = !!writable;
  g_ptr_array_add (self->sandbox_paths, entry);
}

/* The host's end of a worker's connection, and how the launcher hands the
 * worker its end; @env is the worker's environment. */
static CoprocMessenger *
prepare_connection (CoprocWorkerResource  *self,
                    GSubprocessLauncher   *launcher,
                    char                ***env,
                    GError               **error)
{
  CoprocMessenger *messenger;

  if (self->transport == COPROC_WORKER_TRANSPORT_STDIO)
    {
      g_autoptr(GInputStream) input = NULL;
      g_autoptr(GOutputStream) output = NULL;
      g_autoptr(GIOStream) stream = NULL;
      int to_worker[2], from_worker[2];

      if (!g_unix_open_pipe (to_worker, FD_CLOEXEC, error))
        return NULL;
      if (!g_unix_open_pipe (from_worker, FD_CLOEXEC, error))
        {
          close (to_worker[0]);
          close (to_worker[1]);
          return NULL;
        }

      /* Our ends never block: the transport polls them. */
      g_unix_set_fd_nonblocking (to_worker[1], TRUE, NULL);
      g_unix_set_fd_nonblocking (from_worker[0], TRUE, NULL);

      /* The launcher owns the worker's ends and closes them after the spawn. */
      g_subprocess_launcher_take_stdin_fd (launcher, to_worker[0]);
      g_subprocess_launcher_take_stdout_fd (launcher, from_worker[1]);

      input = g_unix_input_stream_new (from_worker[0], TRUE);
      output = g_unix_output_stream_new (to_worker[1], TRUE);
      stream = g_simple_io_stream_new (input, output);

      messenger = coproc_messenger_new_for_stream (self->messenger_type, stream, error);
      if (messenger == NULL)
        return NULL;

      *env = g_environ_unsetenv (*env, COPROC_ENV_FD);
      *env = g_environ_unsetenv (*env, COPROC_ENV_PROTOCOL_MINOR);
      *env = g_environ_setenv (*env, COPROC_ENV_TRANSPORT, "stdio", TRUE);
    }
  else
    {
      g_autofree char *fd_string = NULL;
      int fds[2];

      if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        {
          int errsv = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "Could not create a socket pair: %s", g_strerror (errsv));
          return NULL;
        }

      messenger = _coproc_messenger_new_for_socket_fd (self->messenger_type, fds[0], error);
      if (messenger == NULL)
        {
          close (fds[1]);
          return NULL;
        }

      /* The child gets its end as fd 3; the launcher owns our copy of it. */
      g_subprocess_launcher_take_fd (launcher, fds[1], COPROC_WORKER_FD);
      fd_string = g_strdup_printf ("%d", COPROC_WORKER_FD);
      *env = g_environ_setenv (*env, COPROC_ENV_FD, fd_string, TRUE);
      *env = g_environ_unsetenv (*env, COPROC_ENV_TRANSPORT);
      /* A worker of protocol 1.2 or later announces its minor version in
       * its handshake once it knows that this side reads it. */
      *env = g_environ_setenv (*env, COPROC_ENV_PROTOCOL_MINOR,
                               G_STRINGIFY (COPROC_WIRE_MINOR), TRUE);
    }

  return messenger;
}

/**
 * coproc_worker_resource_start:
 * @self: a resource
 * @error: return location for a `GError`
 *
 * Starts the worker with its end of a fresh socket pair and makes a fresh
 * messenger for the host's end, attached to the thread-default context.
 *
 * Returns: `TRUE` on success; `FALSE` with
 *   %COPROC_ERROR_WORKER_ALREADY_ALIVE when the worker is running, with
 *   `G_IO_ERROR_NOT_SUPPORTED` when the sandbox asked for cannot be set up
 *   (see [property@Coproc.WorkerResource:sandbox]), or the error that kept
 *   the program from starting
 *
 * Since: 1.0
 */
gboolean
coproc_worker_resource_start (CoprocWorkerResource  *self,
                              GError               **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(CoprocMessenger) messenger = NULL;
  g_autoptr(CoprocSandboxPlan) plan = NULL;
  g_auto(GStrv) env = NULL;
  g_auto(GStrv) command = NULL;
  const char * const *argv = (const char * const *) self->argv;
  HangupReport *report;
  ExitWait *wait;
  const char *identifier;

  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (coproc_worker_resource_is_alive (self))
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_ALIVE,
                   "Worker %d cannot be started: it is already running", (int) self->pid);
      return FALSE;
    }

  /* A sandbox that cannot be set up fails here, before anything runs. */
  if (self->sandbox != COPROC_SANDBOX_NONE)
    {
      plan = _coproc_sandbox_plan_new (self->sandbox, self->argv[0], self->sandbox_paths,
                                       self->transport, error);
      if (plan == NULL)
        return FALSE;
      env = _coproc_sandbox_environ ();
    }
  else
    env = g_get_environ ();

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  /* The messenger comes first: its handshake then waits in the socket
   * (or pipe), and a worker that exits at once cannot make this fail. */
  messenger = prepare_connection (self, launcher, &env, error);
  if (messenger == NULL)
    {
      g_subprocess_launcher_close (launcher);
      return FALSE;
    }

  env = g_environ_setenv (env, COPROC_ENV_MESSENGER_TYPE, g_type_name (self->messenger_type), TRUE);
  if (self->worker_name != NULL)
    env = g_environ_setenv (env, COPROC_ENV_WORKER, self->worker_name, TRUE);
  else
    env = g_environ_unsetenv (env, COPROC_ENV_WORKER);

  for (guint i = 0; i < self->environment->len; i++)
    {
      const char *entry = g_ptr_array_index (self->environment, i);
      const char *eq = strchr (entry, '=');
      g_autofree char *variable = g_strndup (entry, eq - entry);

      env = g_environ_setenv (env, variable, eq + 1, TRUE);
    }

  g_subprocess_launcher_set_environ (launcher, env);
  if (plan != NULL)
    {
      command = _coproc_sandbox_plan_command (plan, argv, (const char * const *) env);
      argv = (const char * const *) command;
      if (g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) == FALSE)
        {
          g_autofree char *text = g_strjoinv (" ", command);

          g_debug ("Starting a sandboxed worker: %s", text);
        }
    }

  subprocess = g_subprocess_launcher_spawnv (launcher, argv, error);

  /* Close our copy of the child's end at once, so that the worker's death
   * is a hang-up on our end. */
  g_subprocess_launcher_close (launcher);

  if (subprocess == NULL)
    return FALSE;

  identifier = g_subprocess_get_identifier (subprocess);
  self->pid = identifier ? (GPid) g_ascii_strtoll (identifier, NULL, 10) : 0;

  report = g_new0 (HangupReport, 1);
  report->subprocess = g_object_ref (subprocess);
  report->pid = self->pid;
  report->wrapped = plan != NULL;
  _coproc_messenger_set_hangup_error (messenger, COPROC_ERROR_WORKER_DIED,
                                      hangup_message, hangup_watch, report,
                                      hangup_report_free);

  /* Retire the previous worker's messenger. Its wait goes on: that worker
   * has exited, and its ::exited may still be on its way. */
  g_clear_object (&self->wait_cancellable);
  if (self->messenger != NULL)
    g_object_run_dispose (G_OBJECT (self->messenger));
  g_set_object (&self->messenger, messenger);
  g_set_object (&self->subprocess, subprocess);

  self->wait_cancellable = g_cancellable_new ();
  wait = exit_wait_new (self, subprocess);
  wait->wrapped = plan != NULL;
  g_clear_pointer (&self->exit_wait, exit_wait_unref);
  self->exit_wait = exit_wait_ref (wait);
  g_subprocess_wait_async (subprocess, self->wait_cancellable, exited_cb, wait);

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSENGER]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PID]);
  set_alive (self, TRUE);
  g_object_thaw_notify (G_OBJECT (self));

  return TRUE;
}

static gboolean
check_running (CoprocWorkerResource  *self,
               const char            *what,
               GError               **error)
{
  if (coproc_worker_resource_is_alive (self))
    return TRUE;

  if (self->subprocess == NULL)
    g_set_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD,
                 "The worker cannot be %s: it was never started", what);
  else
    g_set_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_ALREADY_DEAD,
                 "Worker %d cannot be %s: it is not running", (int) self->pid, what);
  return FALSE;
}

/* Surfaces a remote error or close request already sent by the worker,
 * then asks it to close. Errors about the pipe itself do not matter here. */
static gboolean
request_close (CoprocWorkerResource  *self,
               GError               **error)
{
  g_autoptr(GError) local_error = NULL;

  coproc_messenger_available (self->messenger, NULL, &local_error);
  if (local_error != NULL &&
      !g_error_matches (local_error, COPROC_ERROR, COPROC_ERROR_CLOSED) &&
      !g_error_matches (local_error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }

  coproc_messenger_send_close_request (self->messenger, NULL);
  return TRUE;
}

typedef struct
{
  gboolean      done;
  gboolean      ok;
  GError       *error;
} SyncJoin;

static void
join_wait_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  SyncJoin *state = user_data;

  state->ok = g_subprocess_wait_finish (G_SUBPROCESS (object), result, &state->error);
  state->done = TRUE;
}

static gboolean
join_drain_cb (gint         fd,
               GIOCondition condition,
               gpointer     user_data)
{
  CoprocMessenger *messenger = user_data;

  /* Keep reading while we wait, so a worker blocked on a full pipe can
   * finish. What arrives stays queued. */
  coproc_messenger_available (messenger, NULL, NULL);

  /* Past max-queued-bytes nothing more is read: stop watching. */
  if (coproc_messenger_is_closed (messenger) || _coproc_messenger_input_held (messenger))
    return G_SOURCE_REMOVE;

  return G_SOURCE_CONTINUE;
}

/**
 * coproc_worker_resource_join:
 * @self: a resource
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Stops the worker the polite way: first fails with any error or close
 * request the worker already sent, then sends a close request and waits
 * for the worker to exit. While it waits it keeps reading the worker's
 * messages into the queues, so a worker blocked on a full pipe can finish.
 * It does not iterate the thread-default context.
 *
 * Cancelling stops the wait; it does not kill the worker.
 *
 * Returns: `TRUE` once the worker has exited; `FALSE` with
 *   %COPROC_ERROR_WORKER_ALREADY_DEAD when it is not running, or with the
 *   worker's pending error
 *
 * Since: 1.0
 */
gboolean
coproc_worker_resource_join (CoprocWorkerResource  *self,
                             GCancellable          *cancellable,
                             GError               **error)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GSource) drain = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  g_autoptr(CoprocMessenger) messenger = NULL;
  SyncJoin state = { 0 };
  int fd;

  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_running (self, "joined", error))
    return FALSE;
  if (!request_close (self, error))
    return FALSE;

  subprocess = g_object_ref (self->subprocess);
  messenger = g_object_ref (self->messenger);

  context = g_main_context_new ();
  g_main_context_push_thread_default (context);

  g_subprocess_wait_async (subprocess, cancellable, join_wait_cb, &state);

  fd = _coproc_messenger_get_fd (messenger);
  if (fd < 0 && !coproc_messenger_is_closed (messenger))
    {
      /* Over pipes, the input is the worker's standard output. */
      GInputStream *input = g_io_stream_get_input_stream (coproc_messenger_get_stream (messenger));

      if (G_IS_FILE_DESCRIPTOR_BASED (input))
        fd = g_file_descriptor_based_get_fd (G_FILE_DESCRIPTOR_BASED (input));
    }
  if (fd >= 0)
    {
      drain = g_unix_fd_source_new (fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
      g_source_set_static_name (drain, "[coproc] join drain");
      g_source_set_callback (drain, G_SOURCE_FUNC (join_drain_cb), messenger, NULL);
      g_source_attach (drain, context);
    }

  while (!state.done)
    g_main_context_iteration (context, TRUE);

  if (drain != NULL)
    g_source_destroy (drain);
  g_main_context_pop_thread_default (context);

  if (!state.ok)
    {
      g_propagate_error (error, state.error);
      return FALSE;
    }

  return TRUE;
}

static void
join_async_wait_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExitWait *wait = g_task_get_task_data (task);
  GError *error = NULL;

  if (!g_subprocess_wait_finish (G_SUBPROCESS (object), result, &error))
    g_task_return_error (task, error);
  else if (!wait->done)
    g_ptr_array_add (wait->joins, g_steal_pointer (&task));   /* after ::exited */
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * coproc_worker_resource_join_async:
 * @self: a resource
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when the worker has exited
 * @user_data: data for @callback
 *
 * The non-blocking form of [method@Coproc.WorkerResource.join]. The
 * messenger keeps working on its own context meanwhile. Cancelling stops
 * the wait; it does not kill the worker.
 *
 * It completes after [signal@Coproc.WorkerResource::exited] was emitted
 * for the worker, so its callback finds the `alive` property already
 * notified. (When the worker was started on another context, that
 * context must run for the join to complete.)
 *
 * Since: 1.0
 */
void
coproc_worker_resource_join_async (CoprocWorkerResource *self,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (COPROC_IS_WORKER_RESOURCE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, coproc_worker_resource_join_async);
  g_task_set_name (task, "[coproc] join");

  if (!check_running (self, "joined", &error) || !request_close (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  g_task_set_task_data (task, exit_wait_ref (self->exit_wait), exit_wait_unref);
  g_subprocess_wait_async (self->subprocess, cancellable, join_async_wait_cb,
                           g_steal_pointer (&task));
}

/**
 * coproc_worker_resource_join_finish:
 * @self: a resource
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.WorkerResource.join_async].
 *
 * Returns: `TRUE` once the worker has exited
 *
 * Since: 1.0
 */
gboolean
coproc_worker_resource_join_finish (CoprocWorkerResource  *self,
                                    GAsyncResult          *result,
                                    GError               **error)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_worker_resource_join_async), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * coproc_worker_resource_terminate:
 * @self: a resource
 * @error: return location for a `GError`
 *
 * Sends a close request, then `SIGTERM`, without waiting for the worker
 * to exit. Receives on its messenger fail with
 * %COPROC_ERROR_WORKER_DIED once it is gone.
 *
 * Returns: `TRUE` on success; `FALSE` with
 *   %COPROC_ERROR_WORKER_ALREADY_DEAD when the worker is not running
 *
 * Since: 1.0
 */
gboolean
coproc_worker_resource_terminate (CoprocWorkerResource  *self,
                                  GError               **error)
{
  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_running (self, "terminated", error))
    return FALSE;

  coproc_messenger_send_close_request (self->messenger, NULL);
  g_subprocess_send_signal (self->subprocess, SIGTERM);

  return TRUE;
}
