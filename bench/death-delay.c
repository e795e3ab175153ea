/* death-delay.c: how soon a pending receive learns that its worker died
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Measures the time from a worker's death to the failure of a receive that
 * waits on it, for four cases:
 *
 *   blocking / SIGKILL   receive_blocking() waits in a thread; the host
 *                        kills the worker with SIGKILL
 *   blocking / abort     the same; the worker calls abort() by itself
 *   async / SIGKILL      receive_async() is pending while the host's main
 *                        loop runs; the host kills the worker
 *   async / abort        the same; the worker calls abort() by itself
 *
 * For SIGKILL the clock starts just before kill(); for abort() the worker
 * writes the time into a file both processes map, just before it calls
 * abort() (core dumps are off in the worker, so none is written). Both
 * read CLOCK_MONOTONIC, which is the same clock in every process. The
 * clock stops when the receive has failed with COPROC_ERROR_WORKER_DIED.
 *
 * Usage: death-delay [--runs N]     (default 50 runs per case)
 * Prints the median, minimum and maximum delay of each case in
 * microseconds.
 */

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <coproc.h>

#define STAMP_VARIABLE "DEATH_DELAY_STAMP"

/* The worker ------------------------------------------------------------------ */

/* Waits for commands; "abort" makes it record the time and abort(). */
static int
death_worker (CoprocMessenger *messenger,
              gpointer         user_data)
{
  for (;;)
    {
      g_autoptr(GVariant) command = NULL;
      struct rlimit no_core = { 0, 0 };
      const char *path;
      gint64 *stamp;
      int fd;

      command = coproc_messenger_receive_blocking (messenger, NULL, NULL, NULL);
      if (command == NULL)
        return EXIT_SUCCESS;

      if (!g_str_equal (g_variant_get_string (command, NULL), "abort"))
        continue;

      path = g_getenv (STAMP_VARIABLE);
      fd = path ? open (path, O_RDWR) : -1;
      stamp = fd >= 0 ? mmap (NULL, sizeof *stamp, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
                      : MAP_FAILED;
      if (stamp == MAP_FAILED)
        return EXIT_FAILURE;

      setrlimit (RLIMIT_CORE, &no_core);
      signal (SIGABRT, SIG_DFL);

      *stamp = g_get_monotonic_time ();
      abort ();
    }
}

/* The host -------------------------------------------------------------------- */

typedef enum
{
  DEATH_KILL,
  DEATH_ABORT,
} DeathKind;

typedef struct
{
  CoprocWorkerResource *worker;
  volatile gint64      *stamp;       /* shared with the worker */
  guint                 n_exited;
} Bench;

static G_NORETURN void
fail (const char   *what,
      const GError *error)
{
  g_printerr ("death-delay: %s: %s\n", what, error ? error->message : "unexpected result");
  exit (EXIT_FAILURE);
}

static void
exited_cb (CoprocWorkerResource *worker,
           gint                  status,
           gpointer              user_data)
{
  Bench *bench = user_data;

  bench->n_exited++;
}

static void
start_worker (Bench *bench)
{
  g_autoptr(GError) error = NULL;

  if (!coproc_worker_resource_start (bench->worker, &error))
    fail ("starting a worker", error);
}

static void
wait_exited (Bench *bench,
             guint  n_before)
{
  while (bench->n_exited == n_before)
    g_main_context_iteration (NULL, TRUE);
}

static void
check_died (const GError *error)
{
  if (!g_error_matches (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED))
    fail ("expected WORKER_DIED", error);
}

/* The blocking cases. The thread owns the messenger while it runs; the
 * main thread does not touch it nor run its context meanwhile. */
typedef struct
{
  CoprocMessenger *messenger;
  DeathKind        kind;
  GMutex           lock;
  GCond            cond;
  gboolean         ready;
  gint64           failed_at;
} Receiver;

static gpointer
receive_thread (gpointer data)
{
  Receiver *receiver = data;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;

  if (receiver->kind == DEATH_ABORT &&
      !coproc_messenger_send_norequest (receiver->messenger, g_variant_new_string ("abort"),
                                        NULL, &error))
    fail ("sending abort", error);

  g_mutex_lock (&receiver->lock);
  receiver->ready = TRUE;
  g_cond_signal (&receiver->cond);
  g_mutex_unlock (&receiver->lock);

  payload = coproc_messenger_receive_blocking (receiver->messenger, NULL, NULL, &error);
  receiver->failed_at = g_get_monotonic_time ();
  check_died (error);

  return NULL;
}

static gint64
measure_blocking (Bench     *bench,
                  DeathKind  kind)
{
  Receiver receiver = { 0 };
  guint n_exited = bench->n_exited;
  GThread *thread;
  gint64 died_at = 0;

  start_worker (bench);
  receiver.messenger = coproc_worker_resource_get_messenger (bench->worker);
  receiver.kind = kind;
  g_mutex_init (&receiver.lock);
  g_cond_init (&receiver.cond);

  thread = g_thread_new ("receive", receive_thread, &receiver);

  g_mutex_lock (&receiver.lock);
  while (!receiver.ready)
    g_cond_wait (&receiver.cond, &receiver.lock);
  g_mutex_unlock (&receiver.lock);

  if (kind == DEATH_KILL)
    {
      /* Give the thread time to settle in its poll(). */
      g_usleep (2000);
      died_at = g_get_monotonic_time ();
      kill (coproc_worker_resource_get_pid (bench->worker), SIGKILL);
    }

  g_thread_join (thread);
  if (kind == DEATH_ABORT)
    died_at = *bench->stamp;

  g_mutex_clear (&receiver.lock);
  g_cond_clear (&receiver.cond);
  wait_exited (bench, n_exited);

  return receiver.failed_at - died_at;
}

/* The async cases. */
typedef struct
{
  Bench   *bench;
  gint64   died_at;
  gint64   failed_at;
  gboolean done;
} Pending;

static void
received_cb (GObject      *object,
             GAsyncResult *result,
             gpointer      user_data)
{
  Pending *pending = user_data;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GError) error = NULL;

  payload = coproc_messenger_receive_finish (COPROC_MESSENGER (object), result, &error);
  pending->failed_at = g_get_monotonic_time ();
  check_died (error);
  pending->done = TRUE;
}

static gboolean
kill_cb (gpointer user_data)
{
  Pending *pending = user_data;

  pending->died_at = g_get_monotonic_time ();
  kill (coproc_worker_resource_get_pid (pending->bench->worker), SIGKILL);

  return G_SOURCE_REMOVE;
}

static gint64
measure_async (Bench     *bench,
               DeathKind  kind)
{
  g_autoptr(GError) error = NULL;
  Pending pending = { bench, 0, 0, FALSE };
  guint n_exited = bench->n_exited;
  CoprocMessenger *messenger;

  start_worker (bench);
  messenger = coproc_worker_resource_get_messenger (bench->worker);

  coproc_messenger_receive_async (messenger, NULL, NULL, received_cb, &pending);

  if (kind == DEATH_KILL)
    {
      /* Kill from the running main loop, once it waits for input. */
      g_autoptr(GSource) source = g_timeout_source_new (2);

      g_source_set_callback (source, kill_cb, &pending, NULL);
      g_source_attach (source, NULL);
    }
  else if (!coproc_messenger_send_norequest (messenger, g_variant_new_string ("abort"),
                                             NULL, &error))
    fail ("sending abort", error);

  while (!pending.done)
    g_main_context_iteration (NULL, TRUE);

  if (kind == DEATH_ABORT)
    pending.died_at = *bench->stamp;

  wait_exited (bench, n_exited);

  return pending.failed_at - pending.died_at;
}

static int
compare_int64 (gconstpointer a,
               gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
report (const char *name,
        GArray     *delays)
{
  gint64 *d = (gint64 *) delays->data;
  guint n = delays->len;
  gint64 median;

  g_array_sort (delays, compare_int64);
  median = n % 2 ? d[n / 2] : (d[n / 2 - 1] + d[n / 2]) / 2;

  g_print ("%-20s  median %6" G_GINT64_FORMAT " us   min %6" G_GINT64_FORMAT
           " us   max %6" G_GINT64_FORMAT " us   (%u runs)\n",
           name, median, d[0], d[n - 1], n);
}

int
main (int    argc,
      char **argv)
{
  static const struct
  {
    const char *name;
    gboolean    use_async;
    DeathKind   kind;
  } cases[] = {
    { "blocking / SIGKILL", FALSE, DEATH_KILL },
    { "blocking / abort", FALSE, DEATH_ABORT },
    { "async / SIGKILL", TRUE, DEATH_KILL },
    { "async / abort", TRUE, DEATH_ABORT },
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stamp_path = NULL;
  gint n_runs = 50;
  GOptionEntry entries[] = {
    { "runs", 'n', 0, G_OPTION_ARG_INT, &n_runs, "Runs per case (50)", "N" },
    { NULL }
  };
  Bench bench = { 0 };
  void *stamp;
  int status;
  int fd;

  coproc_worker_register ("death-delay", death_worker, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  context = g_option_context_new ("- time from a worker's death to a failed receive");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    fail ("options", error);
  if (n_runs < 1)
    fail ("--runs must be at least 1", NULL);

  /* The file the worker writes its time of death into. */
  fd = g_file_open_tmp ("death-delay-XXXXXX", &stamp_path, &error);
  if (fd < 0)
    fail ("creating the time stamp file", error);
  if (ftruncate (fd, sizeof (gint64)) != 0)
    fail ("sizing the time stamp file", NULL);
  stamp = mmap (NULL, sizeof (gint64), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (stamp == MAP_FAILED)
    fail ("mapping the time stamp file", NULL);
  close (fd);
  bench.stamp = stamp;

  bench.worker = coproc_worker_resource_new_for_function ("death-delay", G_TYPE_NONE);
  coproc_worker_resource_setenv (bench.worker, STAMP_VARIABLE, stamp_path);
  g_signal_connect (bench.worker, "exited", G_CALLBACK (exited_cb), &bench);

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GArray) delays = g_array_new (FALSE, FALSE, sizeof (gint64));

      for (gint run = 0; run < n_runs; run++)
        {
          gint64 delay = cases[c].use_async ? measure_async (&bench, cases[c].kind)
                                            : measure_blocking (&bench, cases[c].kind);
          g_array_append_val (delays, delay);
        }

      report (cases[c].name, delays);
    }

  g_signal_handlers_disconnect_by_data (bench.worker, &bench);
  g_object_unref (bench.worker);
  munmap (stamp, sizeof (gint64));
  g_unlink (stamp_path);

  return EXIT_SUCCESS;
}
