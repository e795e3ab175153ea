/* coproc-gtk-demo.c: a GTK 4 application that counts primes in workers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The window counts the primes below a limit (a billion by default). The
 * work is split into blocks of a million numbers, and a few worker
 * processes sieve them: each worker is a function of this program
 * (coproc_worker_register() and coproc_worker_dispatch() at the top of
 * main()), started with coproc_worker_resource_new_for_function().
 *
 * The host never blocks: each block is a job of a CoprocWorkerPool, which
 * keeps a couple of blocks in hand on each worker; each job's callback, on
 * the main loop, moves the progress bar. "Crash a worker" kills one worker
 * with SIGKILL: the pool restarts it and sieves its blocks again, so the
 * count still comes out right. Cancel cancels the jobs and stops the
 * workers. About once a second, a timeout on the main loop reads each
 * worker's CPU time and memory (coproc_worker_resource_get_stats(), which
 * reads /proc and never waits for the worker) into its row.
 *
 * Options:
 *   --auto             start at once, quit when done
 *   --screenshot=FILE  save a PNG of the window when done
 *   --limit=N          count the primes below N
 *   --workers=N        how many worker processes to use
 *   --cancel-at=P      press Cancel once P percent of the work is done
 *   --crash-at=P       press "Crash a worker" once P percent is done
 *
 * With --auto, it prints what the window showed at the end: the result,
 * then a line for each worker's last figures (pid, resident memory,
 * processes, CPU seconds) and how many times the timeout read them.
 */

#include <math.h>
#include <signal.h>
#include <string.h>

#include <coproc.h>
#include <gtk/gtk.h>

#define DEFAULT_LIMIT        G_GUINT64_CONSTANT (1000000000)
#define MAX_LIMIT            G_GUINT64_CONSTANT (1000000000000)
#define DEFAULT_WORKERS      4
#define MAX_WORKERS          16
#define BLOCK_SIZE           G_GUINT64_CONSTANT (1000000)
/* Blocks each worker has in hand (the pool's jobs-per-worker): while it
 * sieves one, the next one is already waiting in its socket. */
#define BLOCKS_IN_FLIGHT     2
/* Restarts the pool makes in a minute before it gives up. */
#define MAX_RESTARTS         20
/* How often the workers' CPU and memory are read while they work. */
#define STATS_INTERVAL_MS    1000

/* The worker -------------------------------------------------------------- */

/* Counts the primes in [lo, hi) with a segmented sieve of Eratosthenes.
 * @small_primes holds the primes up to at least sqrt(hi). */
static guint64
count_primes_in_block (guint64       lo,
                       guint64       hi,
                       const GArray *small_primes)
{
  g_autofree guint8 *composite = NULL;
  guint64 count = 0;

  if (lo < 2)
    lo = 2;
  if (hi <= lo)
    return 0;

  composite = g_malloc0 (hi - lo);

  for (guint i = 0; i < small_primes->len; i++)
    {
      guint64 p = g_array_index (small_primes, guint32, i);
      guint64 first;

      if (p * p >= hi)
        break;

      first = MAX (p * p, (lo + p - 1) / p * p);
      for (guint64 n = first; n < hi; n += p)
        composite[n - lo] = 1;
    }

  for (guint64 n = 0; n < hi - lo; n++)
    count += !composite[n];

  return count;
}

/* Makes sure @small_primes holds every prime up to @bound. */
static void
extend_small_primes (GArray  *small_primes,
                     guint32  bound)
{
  g_autofree guint8 *composite = NULL;

  if (small_primes->len > 0 &&
      g_array_index (small_primes, guint32, small_primes->len - 1) >= bound)
    return;

  /* Sieve a little further than needed, so that this rarely runs again. */
  bound = MAX (bound * 2, 1024);
  composite = g_malloc0 ((gsize) bound + 1);
  g_array_set_size (small_primes, 0);

  for (guint64 n = 2; n <= bound; n++)
    {
      guint32 prime = (guint32) n;

      if (composite[n])
        continue;
      g_array_append_val (small_primes, prime);
      for (guint64 m = n * n; m <= bound; m += n)
        composite[m] = 1;
    }
}

/* The body of each worker process. Every request is a block, "(tt)": the
 * range [lo, hi). The reply is "(ttt)": the range and how many primes it
 * holds. A close request, or the host going away, ends the loop. */
static int
primes_worker (CoprocMessenger *messenger,
               gpointer         user_data)
{
  g_autoptr(GArray) small_primes = g_array_new (FALSE, FALSE, sizeof (guint32));

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) block = NULL;
      guint64 lo, hi, count;

      block = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);
      if (block == NULL)
        {
          if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED) ||
              g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSED))
            return 0;
          g_printerr ("primes worker: %s\n", error->message);
          return 1;
        }

      if (!g_variant_is_of_type (block, G_VARIANT_TYPE ("(tt)")))
        {
          g_printerr ("primes worker: unexpected request of type %s\n",
                      g_variant_get_type_string (block));
          return 1;
        }

      g_variant_get (block, "(tt)", &lo, &hi);
      if (hi < lo || hi - lo > BLOCK_SIZE || hi > MAX_LIMIT)
        {
          /* Tell the host, which gets it as a GError, and carry on. */
          g_autoptr(GError) bad_block = NULL;

          bad_block = g_error_new (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   "Cannot sieve [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ")",
                                   lo, hi);
          if (!coproc_messenger_send_error (messenger, bad_block, &error))
            return 1;
          continue;
        }

      extend_small_primes (small_primes, (guint32) sqrt ((double) hi) + 1);
      count = count_primes_in_block (lo, hi, small_primes);

      if (!coproc_messenger_send_reply (messenger, g_variant_new ("(ttt)", lo, hi, count),
                                        NULL, &error))
        {
          /* The host quit while this block was being sieved. */
          if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_CLOSED))
            return 0;
          g_printerr ("primes worker: %s\n", error->message);
          return 1;
        }
    }
}

/* The application --------------------------------------------------------- */

typedef struct _Demo Demo;

typedef struct
{
  Demo                 *demo;            /* unowned */
  guint                 index;
  guint                 starts;          /* processes started for it */
  GtkWidget            *label;           /* unowned, in the window */

  /* Its last figures, from coproc_worker_resource_get_stats() */
  gboolean              have_stats;
  GPid                  stats_pid;       /* the process they are of */
  guint64               rss_bytes;
  guint                 processes;
  double                cpu_seconds;     /* user + system */
  double                cpu_percent;     /* of one core, since the reading before */
  gint64                stats_time;      /* monotonic, of the last reading */
} Worker;

typedef enum
{
  RUN_IDLE,
  RUN_WORKING,
  RUN_DONE,
  RUN_CANCELLED,
  RUN_FAILED,
} RunState;

struct _Demo
{
  GtkApplication *app;

  /* Options */
  guint64         limit;
  guint           n_workers;
  gboolean        auto_run;
  char           *screenshot;
  double          cancel_at;            /* a fraction; > 1 when not asked */
  double          crash_at;             /* a fraction; > 1 when not asked */

  /* Widgets: unowned, they live in the window; NULL once it is gone */
  GtkWidget      *window;
  GtkWidget      *progress;
  GtkWidget      *spinner;
  GtkWidget      *status;
  GtkWidget      *result;
  GtkWidget      *start_button;
  GtkWidget      *cancel_button;
  GtkWidget      *crash_button;
  GtkWidget      *workers_box;

  /* The current run */
  RunState        state;
  CoprocWorkerPool *pool;               /* owned: the current (or last) run's */
  GCancellable   *cancellable;          /* owned: cancels the current run's jobs */
  GPtrArray      *workers;              /* of Worker, owned */
  guint           n_kills;
  guint64         n_blocks;
  guint64         blocks_done;
  guint64         primes;
  guint           stats_id;             /* the timeout that reads the workers' figures */
  guint           n_stats_reads;        /* how many times it did */
  gint64          start_time;
  gint64          elapsed;
  char           *failure;
};

static void finish_run (Demo       *demo,
                        RunState    state,
                        const char *failure);

/* "1234567" → "1,234,567" */
static char *
format_count (guint64 n)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
  GString *out = g_string_new (NULL);
  gsize len = strlen (digits);

  for (gsize i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (out, ',');
      g_string_append_c (out, digits[i]);
    }

  return g_string_free (out, FALSE);
}

static void
update_worker_label (Worker *worker)
{
  CoprocWorkerResource *resource = coproc_worker_pool_get_worker (worker->demo->pool,
                                                                  worker->index);
  GString *text = g_string_new (NULL);
  GPid pid = resource != NULL ? coproc_worker_resource_get_pid (resource) : 0;

  /* A worker that stopped keeps the pid of its last figures. */
  if (pid <= 0)
    pid = worker->stats_pid;
  g_string_append_printf (text, "Worker %u  ·  pid %d", worker->index + 1, (int) pid);
  if (worker->have_stats)
    {
      g_autofree char *rss = g_format_size (worker->rss_bytes);

      g_string_append_printf (text, "  ·  CPU %.1f s", worker->cpu_seconds);
      if (worker->cpu_percent >= 0.0)
        g_string_append_printf (text, " (%.0f %%)", worker->cpu_percent);
      g_string_append_printf (text, "  ·  %s", rss);
      if (worker->processes > 1)
        g_string_append_printf (text, " in %u processes", worker->processes);
    }
  if (worker->starts > 1)
    g_string_append_printf (text, "  ·  restarted %u×", worker->starts - 1);
  gtk_label_set_text (GTK_LABEL (worker->label), text->str);
  g_string_free (text, TRUE);
}

/* Reads what each running worker uses now into its row. The last
 * reading, as the run ends, shows CPU time and memory, but no share of a
 * core: it comes too soon after the one before to mean much. */
static void
read_worker_stats (Demo     *demo,
                   gboolean  last)
{
  gint64 now = g_get_monotonic_time ();

  for (guint i = 0; i < demo->workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (demo->workers, i);
      CoprocWorkerResource *resource = coproc_worker_pool_get_worker (demo->pool, i);
      g_autoptr(GVariant) stats = NULL;
      gint32 pid;
      guint64 rss;
      guint32 processes;
      double user, system;

      if (resource == NULL)
        continue;
      /* NULL between a worker's death and its restart: keep the last. */
      stats = coproc_worker_resource_get_stats (resource);
      if (stats == NULL ||
          !g_variant_lookup (stats, "pid", "i", &pid) ||
          !g_variant_lookup (stats, "rss-bytes", "t", &rss) ||
          !g_variant_lookup (stats, "processes", "u", &processes) ||
          !g_variant_lookup (stats, "user-seconds", "d", &user) ||
          !g_variant_lookup (stats, "system-seconds", "d", &system))
        continue;

      /* The share of a core since the last reading of the same process. */
      if (!last && worker->have_stats && worker->stats_pid == pid && now > worker->stats_time)
        worker->cpu_percent = 100.0 * (user + system - worker->cpu_seconds) * G_USEC_PER_SEC /
                              (now - worker->stats_time);
      else
        worker->cpu_percent = -1.0;

      worker->have_stats = TRUE;
      worker->stats_pid = pid;
      worker->rss_bytes = rss;
      worker->processes = processes;
      worker->cpu_seconds = user + system;
      worker->stats_time = now;
      update_worker_label (worker);
    }
}

static gboolean
stats_timeout_cb (gpointer user_data)
{
  Demo *demo = user_data;

  demo->n_stats_reads++;
  read_worker_stats (demo, FALSE);
  return G_SOURCE_CONTINUE;
}

/* Brings every widget in line with the state of the run. */
static void
update_ui (Demo *demo)
{
  g_autofree char *status = NULL;
  g_autofree char *percent = NULL;
  double fraction = demo->n_blocks > 0 ? (double) demo->blocks_done / demo->n_blocks : 0.0;
  gboolean working = demo->state == RUN_WORKING;

  gtk_progress_bar_set_fraction (GTK_PROGRESS_BAR (demo->progress), fraction);
  percent = g_strdup_printf ("%.0f %%", floor (fraction * 100.0));
  gtk_progress_bar_set_text (GTK_PROGRESS_BAR (demo->progress), percent);

  gtk_spinner_set_spinning (GTK_SPINNER (demo->spinner), working);
  gtk_widget_set_sensitive (demo->start_button, !working);
  gtk_widget_set_sensitive (demo->cancel_button, working);
  gtk_widget_set_sensitive (demo->crash_button, working);

  switch (demo->state)
    {
    case RUN_IDLE:
      status = g_strdup ("Press Start to count them in worker processes");
      break;
    case RUN_WORKING:
      status = g_strdup_printf ("Working…  %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " blocks",
                                demo->blocks_done, demo->n_blocks);
      break;
    case RUN_DONE:
      if (demo->n_kills > 0)
        status = g_strdup_printf ("Done in %.2f s with %u workers, %u of them killed on the way",
                                  demo->elapsed / (double) G_USEC_PER_SEC, demo->n_workers,
                                  demo->n_kills);
      else
        status = g_strdup_printf ("Done in %.2f s with %u workers",
                                  demo->elapsed / (double) G_USEC_PER_SEC, demo->n_workers);
      break;
    case RUN_CANCELLED:
      status = g_strdup_printf ("Cancelled after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " blocks",
                                demo->blocks_done, demo->n_blocks);
      break;
    case RUN_FAILED:
    default:
      status = g_strdup_printf ("Failed: %s", demo->failure);
      break;
    }
  gtk_label_set_text (GTK_LABEL (demo->status), status);

  if (demo->state == RUN_IDLE)
    {
      gtk_label_set_text (GTK_LABEL (demo->result), "—");
    }
  else
    {
      g_autofree char *primes = format_count (demo->primes);
      g_autofree char *text = NULL;

      if (demo->state == RUN_DONE)
        text = g_strdup_printf ("%s primes", primes);
      else
        text = g_strdup_printf ("%s primes so far", primes);
      gtk_label_set_text (GTK_LABEL (demo->result), text);
    }

  gtk_widget_remove_css_class (demo->result, "success");
  gtk_widget_remove_css_class (demo->result, "warning");
  gtk_widget_remove_css_class (demo->result, "error");
  if (demo->state == RUN_DONE)
    gtk_widget_add_css_class (demo->result, "success");
  else if (demo->state == RUN_CANCELLED)
    gtk_widget_add_css_class (demo->result, "warning");
  else if (demo->state == RUN_FAILED)
    gtk_widget_add_css_class (demo->result, "error");
}

/* A block's job ended, on the main loop: count it. Jobs of a run that
 * ended (cancelled, failed, or an earlier run) are ignored. */
static void
block_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint64 lo, hi, count;

  reply = coproc_worker_pool_submit_finish (COPROC_WORKER_POOL (source), result, &error);
  if (demo->state != RUN_WORKING || COPROC_WORKER_POOL (source) != demo->pool)
    return;

  if (reply == NULL)
    {
      finish_run (demo, RUN_FAILED, error->message);
      return;
    }
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(ttt)")))
    {
      finish_run (demo, RUN_FAILED, "a worker sent an answer of the wrong type");
      return;
    }

  g_variant_get (reply, "(ttt)", &lo, &hi, &count);
  demo->primes += count;
  demo->blocks_done++;

  if (demo->blocks_done == demo->n_blocks)
    {
      demo->elapsed = g_get_monotonic_time () - demo->start_time;
      finish_run (demo, RUN_DONE, NULL);
      return;
    }

  /* --cancel-at and --crash-at: as if the user pressed the button now. */
  if ((double) demo->blocks_done / demo->n_blocks >= demo->cancel_at)
    {
      g_signal_emit_by_name (demo->cancel_button, "clicked");
      return;
    }
  if ((double) demo->blocks_done / demo->n_blocks >= demo->crash_at)
    {
      demo->crash_at = 2.0;
      g_signal_emit_by_name (demo->crash_button, "clicked");
    }

  update_ui (demo);
}

/* The pool started a worker process: at the start, or after a death. */
static void
worker_started_cb (CoprocWorkerPool *pool,
                   guint             index,
                   gpointer          user_data)
{
  Demo *demo = user_data;
  Worker *worker;

  if (pool != demo->pool || index >= demo->workers->len)
    return;

  worker = g_ptr_array_index (demo->workers, index);
  worker->starts++;
  update_worker_label (worker);
}

/* Renders the window as it is now into a PNG file. */
static gboolean
save_screenshot (GtkWidget   *window,
                 const char  *path,
                 GError     **error)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderer *renderer;
  int width = gdk_paintable_get_intrinsic_width (paintable);
  int height = gdk_paintable_get_intrinsic_height (paintable);

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "The window has not been drawn");
      return FALSE;
    }

  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write %s", path);
      return FALSE;
    }

  return TRUE;
}

/* In --auto mode: called once the final state has been painted. */
static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  Demo *demo = user_data;

  g_signal_handlers_disconnect_by_func (clock, after_paint_cb, demo);

  if (demo->screenshot != NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!save_screenshot (demo->window, demo->screenshot, &error))
        {
          g_printerr ("%s\n", error->message);
          demo->state = RUN_FAILED;
        }
    }

  /* The application ends once its window is gone and every worker has
   * exited (each join holds the application). */
  gtk_window_destroy (GTK_WINDOW (demo->window));
}

static void
report_and_quit (Demo *demo)
{
  GdkFrameClock *clock;

  /* What the window shows, for whoever started us with --auto. */
  switch (demo->state)
    {
    case RUN_DONE:
      if (demo->n_kills > 0)
        g_print ("%" G_GUINT64_FORMAT " primes below %" G_GUINT64_FORMAT ", %u worker%s killed "
                 "on the way\n", demo->primes, demo->limit, demo->n_kills,
                 demo->n_kills > 1 ? "s" : "");
      else
        g_print ("%" G_GUINT64_FORMAT " primes below %" G_GUINT64_FORMAT "\n",
                 demo->primes, demo->limit);
      break;
    case RUN_CANCELLED:
      g_print ("Cancelled\n");
      break;
    case RUN_FAILED:
    case RUN_IDLE:
    case RUN_WORKING:
    default:
      g_print ("Failed: %s\n", demo->failure);
      break;
    }

  /* The figures in the workers' rows. */
  for (guint i = 0; i < demo->workers->len; i++)
    {
      Worker *worker = g_ptr_array_index (demo->workers, i);

      if (worker->have_stats)
        g_print ("worker %u: pid %d, rss-bytes %" G_GUINT64_FORMAT ", processes %u, "
                 "cpu-seconds %.2f\n", worker->index + 1, (int) worker->stats_pid,
                 worker->rss_bytes, worker->processes, worker->cpu_seconds);
      else
        g_print ("worker %u: no figures\n", worker->index + 1);
    }
  g_print ("figures read %u times while working\n", demo->n_stats_reads);

  /* Quit (and take the screenshot) once the window shows the final state. */
  clock = gtk_widget_get_frame_clock (demo->window);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), demo);
  gtk_widget_queue_draw (demo->window);
}

static void
finish_run (Demo       *demo,
            RunState    state,
            const char *failure)
{
  g_return_if_fail (demo->state == RUN_WORKING);

  demo->state = state;
  g_free (demo->failure);
  demo->failure = g_strdup (failure);

  /* The rows keep the figures of the workers' last moments. */
  g_clear_handle_id (&demo->stats_id, g_source_remove);
  if (demo->window != NULL)
    read_worker_stats (demo, TRUE);

  if (state == RUN_DONE)
    {
      g_autoptr(GError) error = NULL;

      /* The polite way: every worker is idle now; a close request each,
       * then a short wait for them to exit. */
      if (!coproc_worker_pool_join (demo->pool, NULL, &error))
        g_warning ("Could not join the workers: %s", error->message);
    }
  else
    {
      /* Stop now: the jobs still pending end (their callbacks find the run
       * over), and the workers get a close request, then SIGTERM. */
      g_cancellable_cancel (demo->cancellable);
      coproc_worker_pool_terminate (demo->pool);
    }

  /* The window may be gone already: closing it cancels the run. */
  if (demo->window == NULL)
    return;

  update_ui (demo);

  if (demo->auto_run)
    report_and_quit (demo);
}

static void
start_run (Demo *demo)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *child;

  g_return_if_fail (demo->state != RUN_WORKING);

  /* The previous run's workers have stopped or are stopping: let go. */
  g_ptr_array_set_size (demo->workers, 0);
  while ((child = gtk_widget_get_first_child (demo->workers_box)) != NULL)
    gtk_box_remove (GTK_BOX (demo->workers_box), child);
  if (demo->pool != NULL)
    g_signal_handlers_disconnect_by_data (demo->pool, demo);
  g_clear_object (&demo->pool);
  g_clear_object (&demo->cancellable);

  demo->n_blocks = (demo->limit + BLOCK_SIZE - 1) / BLOCK_SIZE;
  demo->blocks_done = 0;
  demo->primes = 0;
  demo->elapsed = 0;
  demo->n_kills = 0;
  demo->n_stats_reads = 0;
  demo->start_time = g_get_monotonic_time ();
  demo->state = RUN_WORKING;

  demo->pool = coproc_worker_pool_new_for_function ("primes", demo->n_workers,
                                                    COPROC_TYPE_PRIORITY_MESSENGER);
  g_object_set (demo->pool,
                "jobs-per-worker", BLOCKS_IN_FLIGHT,
                "max-restarts", MAX_RESTARTS,
                NULL);
  demo->cancellable = g_cancellable_new ();

  for (guint i = 0; i < demo->n_workers; i++)
    {
      Worker *worker = g_new0 (Worker, 1);

      worker->demo = demo;
      worker->index = i;
      worker->label = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (worker->label), 0.0);
      gtk_widget_add_css_class (worker->label, "worker");
      gtk_box_append (GTK_BOX (demo->workers_box), worker->label);
      g_ptr_array_add (demo->workers, worker);
    }
  g_signal_connect (demo->pool, "worker-started", G_CALLBACK (worker_started_cb), demo);

  if (!coproc_worker_pool_start (demo->pool, &error))
    {
      finish_run (demo, RUN_FAILED, error->message);
      return;
    }

  /* Each worker's CPU and memory, while they work. */
  demo->stats_id = g_timeout_add (STATS_INTERVAL_MS, stats_timeout_cb, demo);

  /* Every block is a job; the pool hands them out as workers have room. */
  for (guint64 b = 0; b < demo->n_blocks; b++)
    {
      guint64 lo = b * BLOCK_SIZE;
      guint64 hi = MIN (lo + BLOCK_SIZE, demo->limit);

      coproc_worker_pool_submit_async (demo->pool, g_variant_new ("(tt)", lo, hi),
                                       demo->cancellable, block_done_cb, demo);
    }

  update_ui (demo);
}

static void
start_clicked_cb (GtkButton *button,
                  gpointer   user_data)
{
  start_run (user_data);
}

static void
cancel_clicked_cb (GtkButton *button,
                   gpointer   user_data)
{
  Demo *demo = user_data;

  if (demo->state == RUN_WORKING)
    finish_run (demo, RUN_CANCELLED, NULL);
}

/* Kills one worker, in turn, with SIGKILL, as a crash would. */
static void
crash_clicked_cb (GtkButton *button,
                  gpointer   user_data)
{
  Demo *demo = user_data;
  CoprocWorkerResource *resource;
  GPid pid;

  if (demo->state != RUN_WORKING)
    return;

  resource = coproc_worker_pool_get_worker (demo->pool, demo->n_kills % demo->n_workers);
  pid = coproc_worker_resource_get_pid (resource);
  if (pid > 0 && kill (pid, SIGKILL) == 0)
    demo->n_kills++;
}

static void
window_destroy_cb (GtkWidget *window,
                   gpointer   user_data)
{
  Demo *demo = user_data;

  /* Closing the window while the workers count cancels them. */
  demo->window = NULL;
  if (demo->state == RUN_WORKING)
    finish_run (demo, RUN_CANCELLED, NULL);
}

static const char demo_css[] =
  ".demo-box { padding: 24px; }\n"
  ".result { font-size: 24pt; font-weight: 800; font-feature-settings: \"tnum\"; }\n"
  ".result.success { color: @success_color; }\n"
  ".result.warning { color: @warning_color; }\n"
  ".result.error { color: @error_color; }\n"
  ".workers { padding: 12px 16px; border-radius: 8px;"
  "           background-color: alpha(currentColor, 0.06); }\n"
  ".worker { font-feature-settings: \"tnum\"; }\n"
  "progressbar > trough, progressbar > trough > progress { min-height: 14px; }\n";

static void
build_window (Demo *demo)
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();
  g_autofree char *limit = format_count (demo->limit);
  g_autofree char *heading = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *block = NULL;
  GtkWidget *header, *box, *label, *row, *buttons;

  gtk_css_provider_load_from_data (css, demo_css, -1);
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  demo->window = gtk_application_window_new (demo->app);
  gtk_window_set_title (GTK_WINDOW (demo->window), "Prime Counter");
  gtk_window_set_default_size (GTK_WINDOW (demo->window), 520, -1);
  gtk_window_set_resizable (GTK_WINDOW (demo->window), FALSE);
  g_signal_connect (demo->window, "destroy", G_CALLBACK (window_destroy_cb), demo);

  header = gtk_header_bar_new ();
  demo->spinner = gtk_spinner_new ();
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), demo->spinner);
  gtk_window_set_titlebar (GTK_WINDOW (demo->window), header);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_add_css_class (box, "demo-box");
  gtk_window_set_child (GTK_WINDOW (demo->window), box);

  heading = g_strdup_printf ("Primes below %s", limit);
  label = gtk_label_new (heading);
  gtk_widget_add_css_class (label, "title-2");
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_box_append (GTK_BOX (box), label);

  block = format_count (BLOCK_SIZE);
  subtitle = g_strdup_printf ("Sieving blocks of %s numbers in %u worker processes",
                              block, demo->n_workers);
  label = gtk_label_new (subtitle);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_widget_add_css_class (label, "dim-label");
  gtk_box_append (GTK_BOX (box), label);

  demo->result = gtk_label_new (NULL);
  gtk_widget_add_css_class (demo->result, "result");
  gtk_widget_set_margin_top (demo->result, 12);
  gtk_box_append (GTK_BOX (box), demo->result);

  demo->progress = gtk_progress_bar_new ();
  gtk_progress_bar_set_show_text (GTK_PROGRESS_BAR (demo->progress), TRUE);
  gtk_box_append (GTK_BOX (box), demo->progress);

  demo->status = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (demo->status), 0.0);
  gtk_widget_add_css_class (demo->status, "caption");
  gtk_box_append (GTK_BOX (box), demo->status);

  demo->workers_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gtk_widget_add_css_class (demo->workers_box, "workers");
  gtk_box_append (GTK_BOX (box), demo->workers_box);

  buttons = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_widget_set_halign (buttons, GTK_ALIGN_END);
  gtk_widget_set_margin_top (buttons, 12);
  gtk_box_append (GTK_BOX (box), buttons);

  demo->cancel_button = gtk_button_new_with_mnemonic ("_Cancel");
  gtk_widget_add_css_class (demo->cancel_button, "destructive-action");
  g_signal_connect (demo->cancel_button, "clicked", G_CALLBACK (cancel_clicked_cb), demo);
  gtk_box_append (GTK_BOX (buttons), demo->cancel_button);

  demo->crash_button = gtk_button_new_with_mnemonic ("C_rash a Worker");
  g_signal_connect (demo->crash_button, "clicked", G_CALLBACK (crash_clicked_cb), demo);
  gtk_box_append (GTK_BOX (buttons), demo->crash_button);

  demo->start_button = gtk_button_new_with_mnemonic ("_Start");
  gtk_widget_add_css_class (demo->start_button, "suggested-action");
  g_signal_connect (demo->start_button, "clicked", G_CALLBACK (start_clicked_cb), demo);
  gtk_box_append (GTK_BOX (buttons), demo->start_button);

  row = gtk_label_new ("Workers appear here while they count.");
  gtk_widget_add_css_class (row, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (row), 0.0);
  gtk_box_append (GTK_BOX (demo->workers_box), row);

  gtk_window_set_default_widget (GTK_WINDOW (demo->window), demo->start_button);

  update_ui (demo);
}

static void
activate_cb (GApplication *app,
             gpointer      user_data)
{
  Demo *demo = user_data;

  if (demo->window == NULL)
    build_window (demo);

  gtk_window_present (GTK_WINDOW (demo->window));

  if (demo->auto_run && demo->state == RUN_IDLE)
    start_run (demo);
}

static int
handle_local_options_cb (GApplication *app,
                         GVariantDict *options,
                         gpointer      user_data)
{
  Demo *demo = user_data;
  gint64 limit;
  int workers;
  double cancel_at;
  double crash_at;

  if (g_variant_dict_lookup (options, "limit", "x", &limit))
    {
      if (limit < 2 || (guint64) limit > MAX_LIMIT)
        {
          g_printerr ("--limit must be between 2 and %" G_GUINT64_FORMAT "\n", MAX_LIMIT);
          return 1;
        }
      demo->limit = limit;
    }

  if (g_variant_dict_lookup (options, "workers", "i", &workers))
    {
      if (workers < 1 || workers > MAX_WORKERS)
        {
          g_printerr ("--workers must be between 1 and %d\n", MAX_WORKERS);
          return 1;
        }
      demo->n_workers = workers;
    }

  if (g_variant_dict_lookup (options, "cancel-at", "d", &cancel_at))
    demo->cancel_at = CLAMP (cancel_at, 0.0, 100.0) / 100.0;
  if (g_variant_dict_lookup (options, "crash-at", "d", &crash_at))
    demo->crash_at = CLAMP (crash_at, 0.0, 100.0) / 100.0;

  demo->auto_run = g_variant_dict_contains (options, "auto");
  g_variant_dict_lookup (options, "screenshot", "^ay", &demo->screenshot);

  return -1;
}

static const GOptionEntry demo_options[] = {
  { "auto", 0, 0, G_OPTION_ARG_NONE, NULL, "Start at once and quit when done", NULL },
  { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL, "Save a PNG of the window when done", "FILE" },
  { "limit", 0, 0, G_OPTION_ARG_INT64, NULL, "Count the primes below N", "N" },
  { "workers", 0, 0, G_OPTION_ARG_INT, NULL, "How many worker processes to use", "N" },
  { "cancel-at", 0, 0, G_OPTION_ARG_DOUBLE, NULL, "Press Cancel at P percent of the work", "P" },
  { "crash-at", 0, 0, G_OPTION_ARG_DOUBLE, NULL, "Kill a worker at P percent of the work", "P" },
  { NULL }
};

int
main (int    argc,
      char **argv)
{
  g_autoptr(GtkApplication) app = NULL;
  Demo demo = { 0 };
  int status;

  /* When this process was started as a worker, be the worker and leave.
   * This comes first: a worker must not initialize GTK. */
  coproc_worker_register ("primes", primes_worker, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  demo.limit = DEFAULT_LIMIT;
  demo.n_workers = DEFAULT_WORKERS;
  demo.cancel_at = 2.0;
  demo.crash_at = 2.0;
  demo.workers = g_ptr_array_new_with_free_func (g_free);

  app = gtk_application_new ("org.gnome.Coproc.GtkDemo", G_APPLICATION_NON_UNIQUE);
  demo.app = app;
  g_application_add_main_option_entries (G_APPLICATION (app), demo_options);
  g_signal_connect (app, "handle-local-options", G_CALLBACK (handle_local_options_cb), &demo);
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), &demo);

  status = g_application_run (G_APPLICATION (app), argc, argv);

  g_clear_handle_id (&demo.stats_id, g_source_remove);
  g_clear_pointer (&demo.workers, g_ptr_array_unref);
  if (demo.pool != NULL)
    g_signal_handlers_disconnect_by_data (demo.pool, &demo);
  g_clear_object (&demo.pool);
  g_clear_object (&demo.cancellable);
  g_free (demo.screenshot);
  g_free (demo.failure);

  if (status == 0 && demo.auto_run && demo.state != RUN_DONE && demo.state != RUN_CANCELLED)
    status = 1;

  return status;
}
