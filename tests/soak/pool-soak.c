/* pool-soak.c: a thousand worker restarts in a CoprocWorkerPool
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A pool of 2 workers (coproc-test-worker in its "serve" mode) runs jobs
 * that kill their worker ("die", max-attempts 1), each followed by an
 * ordinary job, so that every job kills one worker and the pool restarts
 * it. Checks that every deadly job fails with WORKER_DIED and every other
 * one gets its answer; that no descriptor stays open; and that resident
 * memory stays flat once warm: it grows by less than 512 KiB from the
 * 100th restart to the last. (Under AddressSanitizer, whose quarantine
 * holds freed memory, and valgrind, resident memory says nothing: their
 * leak checkers check instead.)
 *
 * Usage: pool-soak [--restarts=N] [GTest options]   (default 1,000; 150
 * under valgrind)
 */

#include "config.h"

#include <string.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
# include <valgrind/valgrind.h>
#else
# define RUNNING_ON_VALGRIND 0
#endif

#if defined (__SANITIZE_ADDRESS__)
# define UNDER_ASAN 1
#else
# define UNDER_ASAN 0
#endif

#include <coproc.h>

#include "coproc-test-util.h"

#define WARM_RESTARTS 100
#define MAX_GROWTH    (512 * 1024)

static char *worker_path;
static guint n_restarts = 1000;

/* The open descriptors, leaving out GLib's pidfds: GLib closes the one
 * of a reaped child in its own worker thread, a moment after the exit
 * was reported, so one may still be open when we count. */
static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/fd/%s", name);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (g_strcmp0 (target, "anon_inode:[pidfd]") != 0)
        n++;
    }

  return n;
}

static void
started_cb (CoprocWorkerPool *pool,
            guint             index,
            gpointer          user_data)
{
  (*(guint *) user_data)++;
}

static void
test_restarts (void)
{
  const char *argv[] = { worker_path, "serve", NULL };
  g_autoptr(CoprocWorkerPool) pool = coproc_worker_pool_new (argv, 2, G_TYPE_NONE);
  guint n_started = 0, fds_warm = 0;
  guint64 rss_warm = 0, rss;

  g_object_set (pool, "max-attempts", 1, "max-restarts", G_MAXUINT, NULL);
  g_signal_connect (pool, "worker-started", G_CALLBACK (started_cb), &n_started);

  for (guint i = 0; i < n_restarts; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) reply = NULL;

      reply = coproc_worker_pool_submit (pool, g_variant_new ("(si)", "die", 0), NULL, &error);
      g_assert_error (error, COPROC_ERROR, COPROC_ERROR_WORKER_DIED);
      g_assert_null (reply);
      g_clear_error (&error);

      reply = coproc_worker_pool_submit (pool, g_variant_new ("(si)", "echo", (gint32) i),
                                         NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_variant_get_int32 (reply), ==, (gint32) i);

      /* Let the exits be reported. */
      while (g_main_context_iteration (NULL, FALSE))
        ;

      if (i + 1 == MIN (WARM_RESTARTS, n_restarts / 2))
        {
          fds_warm = count_fds ();
          rss_warm = test_proc_status_bytes ("VmRSS");
        }
    }

  g_assert_false (coproc_worker_pool_get_failed (pool));
  g_assert_cmpuint (n_started, >=, 2 + n_restarts);

  rss = test_proc_status_bytes ("VmRSS");
  g_test_message ("%u restarts; resident memory %" G_GUINT64_FORMAT " KiB when warm, %"
                  G_GUINT64_FORMAT " KiB at the end", n_started - 2, rss_warm / 1024, rss / 1024);
  g_assert_cmpuint (count_fds (), ==, fds_warm);
  if (!UNDER_ASAN && !RUNNING_ON_VALGRIND)
    g_assert_cmpuint (rss, <, rss_warm + MAX_GROWTH);

  g_assert_true (coproc_worker_pool_join (pool, NULL, NULL));
}

int
main (int    argc,
      char **argv)
{
  int status;

  if (RUNNING_ON_VALGRIND)
    n_restarts = 150;
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix (argv[i], "--restarts="))
      {
        n_restarts = (guint) g_ascii_strtoull (argv[i] + strlen ("--restarts="), NULL, 10);
        argv[i] = (char *) "";
      }

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  worker_path = g_test_build_filename (G_TEST_BUILT, "..", "worker", "coproc-test-worker", NULL);
  if (!g_file_test (worker_path, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_free (worker_path);
      worker_path = g_test_build_filename (G_TEST_BUILT, "worker", "coproc-test-worker", NULL);
    }

  g_test_add_func ("/Coproc/WorkerPool/soak/restarts", test_restarts);

  status = g_test_run ();
  g_free (worker_path);
  return status;
}
