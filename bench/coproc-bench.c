/* coproc-bench.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Measures coproc against other ways for a host to talk to a child process,
 * on the same workloads, in the same run:
 *
 *   W1   a stream of small messages host → worker, messages per second
 *   W2   ping-pong of a small message, microseconds per round trip
 *   W3   large byte-array payloads host → worker, MiB per second
 *   W4   many channels with random priorities: everything is queued, then
 *        taken in priority order per channel, messages per second
 *   mem  bytes of memory per queued small message, with a million queued
 *   loop a worker floods the host, which handles each message in a
 *        signal handler on its main loop: how late a 5 ms timeout fires
 *
 * A small message is the GVariant (xs): an int64 and a 16-character string.
 * Every receiver reads the values out of every message it gets. W1, W3 and
 * W4 are also measured with their payloads made the other usual ways
 * (g_variant_new_fixed_array, g_variant_new_from_data untrusted,
 * g_variant_new_from_bytes, GVariantBuilder), one row each.
 *
 * The other side is always a real child process: a coproc function worker,
 * or this program started again with --child for the other peers. Each
 * measurement is repeated, with the runs of all peers interleaved so that
 * noise on the machine hits all of them alike, and the table shows the
 * median, the range and the ratio of coproc to each peer.
 *
 * The Python rows come from bench.py, the GJS row from bench.js, run with
 * the uninstalled typelib and overrides of this build.
 *
 * This file is the driver: options, runs, the table and the children's
 * dispatch. Each peer is in its own file, bench-<peer>.c (bench-private.h
 * says how they fit together).
 *
 * Usage: coproc-bench [--quick] [--runs N] [--only W1,W2,W3,W4,mem,loop]
 *                     [--peers ID,…] (--help lists the IDs of this build)
 *                     [--scale F] [--w3-size MIB] [--no-python] [--no-gjs] [--original PATH]
 */

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-private.h"

const char * const workload_names[N_WORKLOADS] = { "W1", "W2", "W3", "W4", "mem", "loop" };

/* What the table shows: each workload's result, and for WLOOP a second
 * one, its longest delay. */
#define WLOOP_MAX N_WORKLOADS
#define N_METRICS (N_WORKLOADS + 1)

static const char * const metric_names[N_METRICS] = {
  "W1", "W2", "W3", "W4", "mem", "loop", "loop-max",
};

static const char * const metric_titles[N_METRICS] = {
  "W1 stream of small (xs), msg/s",
  "W2 round trip of (xs), µs (lower)",
  "W3 large ay payloads, MiB/s",
  "W4 64 channels, priorities, msg/s",
  "mem bytes per queued (xs) (lower)",
  "loop 5 ms timeout delay, median ms",
  "loop 5 ms timeout delay, max ms",
};

/* Where a row's peer runs; its label is prefixed with the language. */
typedef enum
{
  LANG_C,
  LANG_PYTHON,
  LANG_GJS,
} Lang;

static const char * const lang_prefixes[] = { "", "Python: ", "GJS: " };

char *self_exe;
GBytes *large_blob;

/* Children ---------------------------------------------------------------- */

static int
child_main (int    argc,
            char **argv)
{
  Workload w = N_WORKLOADS;
  guint64 n;
  guint64 size;

  if (argc < 6)
    {
      g_printerr ("usage: %s --child PEER WORKLOAD N SIZE [EXTRA]\n", argv[0]);
      return 2;
    }

  for (guint i = 0; i < N_WORKLOADS; i++)
    {
      if (g_str_equal (argv[3], workload_names[i]))
        w = i;
    }
  n = g_ascii_strtoull (argv[4], NULL, 10);
  size = g_ascii_strtoull (argv[5], NULL, 10);

  if (w == N_WORKLOADS)
    return 2;

  for (guint i = 0; bench_peers[i] != NULL; i++)
    {
      const BenchPeer *peer = bench_peers[i];

      if (peer->child != NULL && g_str_equal (argv[2], peer->name))
        return peer->child (w, n, size, argc > 6 ? argv[6] : NULL);
    }

  return 2;
}

/* Results ----------------------------------------------------------------- */

typedef struct
{
  guint     metric;
  char     *peer;
  Lang      lang;
  GArray   *values;   /* of gdouble, one per successful run */
  guint     failures;
} Row;

static GPtrArray *rows;

static Row *
row_get (guint       metric,
         const char *peer,
         Lang        lang)
{
  Row *row;

  for (guint i = 0; i < rows->len; i++)
    {
      row = g_ptr_array_index (rows, i);
      if (row->metric == metric && row->lang == lang && g_str_equal (row->peer, peer))
        return row;
    }

  row = g_new0 (Row, 1);
  row->metric = metric;
  row->peer = g_strdup (peer);
  row->lang = lang;
  row->values = g_array_new (FALSE, FALSE, sizeof (gdouble));
  g_ptr_array_add (rows, row);
  return row;
}

static void
row_free (gpointer data)
{
  Row *row = data;

  g_free (row->peer);
  g_array_unref (row->values);
  g_free (row);
}

static gdouble
row_median (Row *row)
{
  return values_median (row->values);
}

static void
row_range (Row     *row,
           gdouble *min,
           gdouble *max)
{
  values_range (row->values, min, max);
}

static Row *
row_find (guint       metric,
          const char *peer,
          Lang        lang)
{
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);

      if (row->metric == metric && row->lang == lang && g_str_equal (row->peer, peer))
        return row;
    }
  return NULL;
}

static gdouble
median_of (guint       metric,
           const char *peer,
           Lang        lang)
{
  Row *row = row_find (metric, peer, lang);

  return row != NULL ? row_median (row) : NAN;
}

/* The largest of a row's values, NAN without any. */
static gdouble
max_of (guint       metric,
        const char *peer,
        Lang        lang)
{
  Row *row = row_find (metric, peer, lang);
  gdouble min;
  gdouble max;

  if (row == NULL || row->values->len == 0)
    return NAN;
  row_range (row, &min, &max);
  return max;
}

static void
format_value (char    *buf,
              gsize    size,
              guint    metric,
              gdouble  v)
{
  if (isnan (v))
    g_snprintf (buf, size, "—");
  else if (metric == W2 || metric == WLOOP || metric == WLOOP_MAX)
    g_snprintf (buf, size, "%.2f", v);
  else if (metric == WMEM)
    g_snprintf (buf, size, "%.1f", v);
  else
    g_snprintf (buf, size, "%.0f", v);
}

/* Pads a UTF-8 string to @width columns (the table has a few non-ASCII
 * characters). */
static void
print_cell (const char *text,
            int         width,
            gboolean    right)
{
  int len = g_utf8_strlen (text, -1);

  if (right)
    printf ("%*s%s", MAX (0, width - len), "", text);
  else
    printf ("%s%*s", text, MAX (0, width - len), "");
}

/* One line of the table; @title is the metric's, on its first line. */
static void
print_row (Row        *row,
           const char *title)
{
  /* Each language's rows compare with its own coproc row. */
  const char *reference = "coproc";
  char label[128];
  char median[32];
  char lo[32];
  char hi[32];
  char range[80];
  char ratio[32];
  gdouble min;
  gdouble max;
  gdouble m;
  gdouble ref;

  m = row_median (row);
  row_range (row, &min, &max);
  ref = median_of (row->metric, reference, row->lang);
  format_value (median, sizeof median, row->metric, m);
  format_value (lo, sizeof lo, row->metric, row->values->len ? min : NAN);
  format_value (hi, sizeof hi, row->metric, row->values->len ? max : NAN);
  g_snprintf (range, sizeof range, "%s – %s", lo, hi);
  if (g_str_equal (row->peer, reference) || isnan (ref) || isnan (m))
    g_snprintf (ratio, sizeof ratio, "—");
  else
    g_snprintf (ratio, sizeof ratio, "%.2f", ref / m);
  g_snprintf (label, sizeof label, "%s%s%s", lang_prefixes[row->lang], row->peer,
              row->failures ? " (failed)" : "");

  print_cell (title, 36, FALSE);
  print_cell (label, 34, FALSE);
  print_cell (median, 12, TRUE);
  print_cell (range, 26, TRUE);
  print_cell (ratio, 16, TRUE);
  printf ("\n");
}

static void
print_table (void)
{
  printf ("\n");
  print_cell ("workload", 36, FALSE);
  print_cell ("peer", 34, FALSE);
  print_cell ("median", 12, TRUE);
  print_cell ("min – max", 26, TRUE);
  print_cell ("coproc ÷ peer", 16, TRUE);
  printf ("\n");
  for (guint i = 0; i < 36 + 34 + 12 + 26 + 16; i++)
    printf ("-");
  printf ("\n");

  for (guint metric = 0; metric < N_METRICS; metric++)
    {
      gboolean first = TRUE;

      for (Lang lang = LANG_C; lang <= LANG_GJS; lang++)
        {
          for (guint i = 0; i < rows->len; i++)
            {
              Row *row = g_ptr_array_index (rows, i);

              if (row->metric != metric || row->lang != lang)
                continue;

              print_row (row, first ? metric_titles[metric] : "");
              first = FALSE;
            }
        }
    }
}

/* One line of the targets: @ratio against @bound, then @note if any. */
static void
print_target_with_note (const char *text,
                        gdouble     ratio,
                        gdouble     bound,
                        gboolean    at_most,
                        const char *missing,
                        const char *note)
{
  gboolean met = at_most ? ratio <= bound : ratio >= bound;

  print_cell (text, 64, FALSE);
  if (isnan (ratio))
    printf ("n/a (%s)", missing);
  else
    printf ("%6.2f  %s", ratio, met ? "met" : "MISSED");
  printf ("%s%s\n", note != NULL ? "  " : "", note != NULL ? note : "");
}

static void
print_target (const char *text,
              gdouble     ratio,
              gdouble     bound,
              gboolean    at_most,
              const char *missing)
{
  print_target_with_note (text, ratio, bound, at_most, missing, NULL);
}

/* Every way of making W3's ay is held to the target of the first rows;
 * the note gives the ratio to raw bytes sent from a buffer per payload,
 * the bound of the ways that make a copy per message. */
static void
print_w3_form_targets (gdouble raw_w3)
{
  gdouble raw_fresh = median_of (W3, "raw bytes, a buffer per payload", LANG_C);

  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = g_ptr_array_index (rows, i);
      g_autofree char *text = NULL;
      g_autofree char *note = NULL;

      if (row->metric != W3 || !g_str_has_prefix (row->peer, "coproc, ") ||
          g_str_equal (row->peer, "coproc, fd passing"))
        continue;

      text = g_strdup_printf ("  W3  %s%s ≥ 0.9 × raw", lang_prefixes[row->lang], row->peer);
      if (!isnan (raw_fresh))
        note = g_strdup_printf ("(%.2f × raw with a buffer per payload)",
                                row_median (row) / raw_fresh);
      print_target_with_note (text, row_median (row) / raw_w3, 0.9, FALSE, "not run", note);
    }
}

static void
print_targets (void)
{
  gdouble coproc_w1 = median_of (W1, "coproc", LANG_C);
  gdouble coproc_w2 = median_of (W2, "coproc", LANG_C);
  gdouble coproc_w3 = median_of (W3, "coproc", LANG_C);
  gdouble coproc_w3_fd = median_of (W3, "coproc, fd passing", LANG_C);
  gdouble raw_w3 = median_of (W3, "raw bytes", LANG_C);
  gdouble orig_w4 = median_of (W4, "original coproc", LANG_PYTHON);
  gdouble py_w1 = median_of (W1, "coproc", LANG_PYTHON);

  printf ("\nTargets (ratios of medians from this run):\n");
  print_target ("  W1  coproc ≥ 0.9 × minimal framing (msg/s)",
                coproc_w1 / median_of (W1, "minimal GVariant framing", LANG_C), 0.9, FALSE,
                "not run");
  print_target ("  W2  coproc ≤ 1.25 × minimal framing (µs per round trip)",
                coproc_w2 / median_of (W2, "minimal GVariant framing", LANG_C), 1.25, TRUE,
                "not run");
  print_target ("  W3  coproc ≥ 0.9 × raw socket bandwidth", coproc_w3 / raw_w3, 0.9, FALSE,
                "not run");
  print_w3_form_targets (raw_w3);
  print_target ("  W3  coproc with fd passing ≥ 1.5 × raw socket bandwidth",
                large_threshold_pspec () ? coproc_w3_fd / raw_w3 : NAN, 1.5, FALSE,
                large_threshold_pspec () ? "not run"
                                         : "this build has no " LARGE_THRESHOLD_PROPERTY);
  print_target ("  W4  coproc (C) ≥ 20 × the original Python library",
                median_of (W4, "coproc", LANG_C) / orig_w4, 20, FALSE, "original not run");
  print_target ("  W4  coproc (Python) vs the original Python library",
                median_of (W4, "coproc", LANG_PYTHON) / orig_w4, 1, FALSE, "not run");
  print_target ("  W1  coproc (Python) ≥ 5 × the original Python library",
                py_w1 / median_of (W1, "original coproc", LANG_PYTHON), 5, FALSE, "not run");
  print_target ("  W1  coproc (Python) ahead of multiprocessing.Pipe",
                py_w1 / median_of (W1, "multiprocessing.Pipe", LANG_PYTHON), 1, FALSE, "not run");
  print_target ("  W2  coproc (Python) vs multiprocessing.Pipe (µs, lower is better)",
                median_of (W2, "coproc", LANG_PYTHON) /
                median_of (W2, "multiprocessing.Pipe", LANG_PYTHON), 1, TRUE, "not run");
  print_target ("  loop  coproc (C): no timeout delayed > 8 ms (longest, ms)",
                max_of (WLOOP_MAX, "coproc", LANG_C), 8, TRUE, "not run");
  print_target ("  loop  coproc (Python): no timeout delayed > 8 ms (longest, ms)",
                max_of (WLOOP_MAX, "coproc", LANG_PYTHON), 8, TRUE, "not run");
}

/* Python and GJS ---------------------------------------------------------- */

/* Runs a script of the benchmark in another language, with the
 * uninstalled library, typelib and overrides of this build, and folds the
 * results it prints (lines of RESULT, metric, peer, value, separated by
 * tabs) into the table as @lang's rows. */
static gboolean
run_script (Lang                lang,
            const char * const *argv,
            GError            **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) lines = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_setenv (launcher, "GI_TYPELIB_PATH",
                                BENCH_BUILD_ROOT G_DIR_SEPARATOR_S "introspection", TRUE);
  g_subprocess_launcher_setenv (launcher, "LD_LIBRARY_PATH",
                                BENCH_BUILD_ROOT G_DIR_SEPARATOR_S "coproc", TRUE);
  g_subprocess_launcher_setenv (launcher, "PYTHONPATH",
                                BENCH_SOURCE_ROOT G_DIR_SEPARATOR_S "introspection", TRUE);
  g_subprocess_launcher_setenv (launcher, "PYTHONDONTWRITEBYTECODE", "1", TRUE);

  proc = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (proc == NULL)
    return FALSE;
  if (!g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, NULL, error))
    return FALSE;

  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "\t", 4);

      if (g_strv_length (fields) != 4 || !g_str_equal (fields[0], "RESULT"))
        continue;
      for (guint metric = 0; metric < N_METRICS; metric++)
        {
          if (g_str_equal (fields[1], metric_names[metric]))
            {
              Row *row = row_get (metric, fields[2], lang);
              gdouble v = g_ascii_strtod (fields[3], NULL);

              if (isnan (v))
                row->failures++;
              else
                g_array_append_val (row->values, v);
            }
        }
    }

  return g_subprocess_wait_check (proc, NULL, error);
}

static const char *
typelib_path (void)
{
  return BENCH_BUILD_ROOT G_DIR_SEPARATOR_S "introspection" G_DIR_SEPARATOR_S "Coproc-1.0.typelib";
}

/* What bench.py measures. */
#define PYTHON_WORKLOADS (BIT (W1) | BIT (W2) | BIT (W3) | BIT (W4) | BIT (WLOOP))

static gboolean
run_python (const Params  *p,
            guint          workloads,
            const char    *original,
            GError       **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) only = g_string_new (NULL);

  if (!g_file_test (BENCH_PYTHON, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test (typelib_path (), G_FILE_TEST_EXISTS))
    {
      g_printerr ("Python rows skipped: no %s or no %s\n", BENCH_PYTHON, typelib_path ());
      return TRUE;
    }

  for (guint w = 0; w < N_WORKLOADS; w++)
    {
      if (workloads & BIT (w))
        g_string_append_printf (only, "%s%s", only->len ? "," : "", workload_names[w]);
    }

  g_ptr_array_add (argv, g_strdup (BENCH_PYTHON));
  g_ptr_array_add (argv, g_strdup (BENCH_SCRIPT));
  g_ptr_array_add (argv, g_strdup_printf ("--runs=%u", p->runs));
  g_ptr_array_add (argv, g_strdup_printf ("--scale=%g", p->scale));
  g_ptr_array_add (argv, g_strdup_printf ("--only=%s", only->str));
  g_ptr_array_add (argv, g_strdup_printf ("--bench-exe=%s", self_exe));
  g_ptr_array_add (argv, g_strdup_printf ("--w3-size=%" G_GUINT64_FORMAT, p->w3_size));
  if (p->quick)
    g_ptr_array_add (argv, g_strdup ("--quick"));
  if (original != NULL)
    g_ptr_array_add (argv, g_strdup_printf ("--original=%s", original));
  g_ptr_array_add (argv, NULL);

  return run_script (LANG_PYTHON, (const char * const *) argv->pdata, error);
}

/* The GJS row: W3 from a GJS host (bench.js). */
static gboolean
run_gjs (const Params  *p,
         GError       **error)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *gjs = g_find_program_in_path ("gjs");
  guint64 n = MAX (2, (guint64) (p->count[W3] * W3_FORMS_SCALE));

  if (gjs == NULL || !g_file_test (typelib_path (), G_FILE_TEST_EXISTS))
    {
      g_printerr ("GJS row skipped: %s\n", gjs == NULL ? "no gjs on PATH" : "no Coproc typelib");
      return TRUE;
    }

  g_ptr_array_add (argv, g_steal_pointer (&gjs));
  g_ptr_array_add (argv, g_strdup ("-m"));
  g_ptr_array_add (argv, g_strdup (BENCH_GJS_SCRIPT));
  g_ptr_array_add (argv, g_strdup_printf ("--runs=%u", p->runs));
  g_ptr_array_add (argv, g_strdup_printf ("--count=%" G_GUINT64_FORMAT, n));
  g_ptr_array_add (argv, g_strdup_printf ("--size=%" G_GUINT64_FORMAT, p->w3_size));
  g_ptr_array_add (argv, g_strdup_printf ("--bench-exe=%s", self_exe));
  g_ptr_array_add (argv, NULL);

  return run_script (LANG_GJS, (const char * const *) argv->pdata, error);
}

/* Main -------------------------------------------------------------------- */

/* The machine may be shared: the load around the run says how much. */
static void
print_loadavg (const char *when)
{
  g_autofree char *loadavg = NULL;

  if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL))
    printf ("load average %s the run: %s", when, loadavg);
}

static void
print_machine (const Params *p)
{
  g_autofree char *cpuinfo = NULL;
  const char *model = "unknown CPU";
  g_auto(GStrv) lines = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    {
      lines = g_strsplit (cpuinfo, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          if (g_str_has_prefix (lines[i], "model name"))
            {
              const char *colon = strchr (lines[i], ':');

              if (colon != NULL)
                model = g_strstrip ((char *) colon + 1);
              break;
            }
        }
    }

  printf ("coproc-bench: %s, %ld CPUs online; GLib %u.%u.%u; %u run(s) per peer%s\n",
           model, sysconf (_SC_NPROCESSORS_ONLN), glib_major_version, glib_minor_version,
           glib_micro_version, p->runs, p->quick ? " (quick: counts too small to mean anything)" : "");
  print_loadavg ("before");
  printf ("counts: W1 %" G_GUINT64_FORMAT ", W2 %" G_GUINT64_FORMAT ", W3 %" G_GUINT64_FORMAT
           " × %" G_GUINT64_FORMAT " MiB, W4 %" G_GUINT64_FORMAT " over %u channels and %u priority levels,"
           " mem %" G_GUINT64_FORMAT ", loop %" G_GUINT64_FORMAT " against a %d ms timeout"
           " (slow peers run fewer and are scaled to the same unit)\n",
           p->count[W1], p->count[W2], p->count[W3], p->w3_size >> 20, p->count[W4],
           p->w4_channels, p->w4_levels, p->count[WMEM], p->count[WLOOP], LOOP_INTERVAL_MS);
}

static guint
parse_workloads (const char *only)
{
  g_auto(GStrv) names = NULL;
  guint mask = 0;

  if (only == NULL)
    return BIT (N_WORKLOADS) - 1;

  names = g_strsplit (only, ",", -1);
  for (guint i = 0; names[i] != NULL; i++)
    {
      for (guint w = 0; w < N_WORKLOADS; w++)
        {
          if (g_ascii_strcasecmp (g_strstrip (names[i]), workload_names[w]) == 0)
            mask |= BIT (w);
        }
    }

  return mask;
}

/* The IDs of the rows of this build's peers, for --peers. */
static char *
list_case_ids (void)
{
  GString *ids = g_string_new (NULL);

  for (guint i = 0; bench_peers[i] != NULL; i++)
    {
      for (guint j = 0; j < bench_peers[i]->n_cases; j++)
        g_string_append_printf (ids, "%s%s", ids->len ? "," : "", bench_peers[i]->cases[j].id);
    }

  return g_string_free (ids, FALSE);
}

/* Runs @c once for workload @w, unless it is not asked for, and records
 * the result; FALSE if the run failed. */
static gboolean
run_case (const BenchCase    *c,
          const Params       *p,
          Workload            w,
          guint               r,
          const char * const *peer_list)
{
  g_autoptr(GError) run_error = NULL;
  gdouble scale_w = c->scale[w] > 0 ? c->scale[w] : 1.0;
  guint64 n = MAX (2, (guint64) (p->count[w] * scale_w));
  gdouble value[2] = { NAN, NAN };
  Row *row;
  Row *row_max = NULL;

  if (!(c->workloads & BIT (w)))
    return TRUE;
  if (peer_list != NULL && !g_strv_contains (peer_list, c->id))
    return TRUE;
  if (c->available != NULL && !c->available ())
    return TRUE;

  row = row_get (w, c->label, LANG_C);
  if (w == WLOOP)
    row_max = row_get (WLOOP_MAX, c->label, LANG_C);

  if (!c->run (c, p, w, n, value, &run_error))
    {
      row->failures++;
      if (row_max != NULL)
        row_max->failures++;
      g_printerr ("%-4s run %u/%u  %-28s FAILED: %s\n", workload_names[w], r + 1,
                  p->runs, c->label, run_error->message);
      return FALSE;
    }

  g_array_append_val (row->values, value[0]);
  if (row_max != NULL)
    {
      g_array_append_val (row_max->values, value[1]);
      g_printerr ("%-4s run %u/%u  %-28s %14.2f (longest %.2f)\n", workload_names[w], r + 1,
                  p->runs, c->label, value[0], value[1]);
    }
  else
    g_printerr ("%-4s run %u/%u  %-28s %14.2f\n", workload_names[w], r + 1, p->runs,
                c->label, value[0]);
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *only = NULL;
  g_autofree char *peer_filter = NULL;
  g_auto(GStrv) peer_list = NULL;
  g_autofree char *original = NULL;
  g_autofree char *case_ids = list_case_ids ();
  gboolean quick = FALSE;
  gboolean no_python = FALSE;
  gboolean no_gjs = FALSE;
  gint runs = 0;
  gdouble scale = 1.0;
  gint w3_mib = 0;
  gboolean failed = FALSE;
  guint workloads;
  Params p = { 0 };
  int status;
  GOptionEntry entries[] = {
    { "quick", 0, 0, G_OPTION_ARG_NONE, &quick, "Smoke run: tiny counts, one run", NULL },
    { "runs", 0, 0, G_OPTION_ARG_INT, &runs, "Runs per peer (default 5)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "Workloads to run (default all)",
      "W1,W2,W3,W4,mem,loop" },
    { "peers", 0, 0, G_OPTION_ARG_STRING, &peer_filter, "C peers to run (default all)",
      case_ids },
    { "scale", 0, 0, G_OPTION_ARG_DOUBLE, &scale, "Multiply every count by this", "F" },
    { "w3-size", 0, 0, G_OPTION_ARG_INT, &w3_mib,
      "Size of each W3 payload in MiB (default 16); the count is scaled to the same bytes", "MIB" },
    { "no-python", 0, 0, G_OPTION_ARG_NONE, &no_python, "Skip the Python rows", NULL },
    { "no-gjs", 0, 0, G_OPTION_ARG_NONE, &no_gjs, "Skip the GJS row", NULL },
    { "original", 0, 0, G_OPTION_ARG_FILENAME, &original,
      "The original Python coproc: a checkout or bare git repository "
      "(default: $COPROC_BENCH_ORIGINAL)", "PATH" },
    { NULL }
  };

  /* Workers first: in a worker process nothing else may run. */
  for (guint i = 0; bench_peers[i] != NULL; i++)
    {
      if (bench_peers[i]->init != NULL)
        bench_peers[i]->init ();
    }
  if (coproc_worker_dispatch (&status))
    return status;

  signal (SIGPIPE, SIG_IGN);

  if (argc > 1 && g_str_equal (argv[1], "--child"))
    return child_main (argc, argv);

  context = g_option_context_new ("— benchmark coproc against other IPC");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  self_exe = g_file_read_link ("/proc/self/exe", NULL);
  if (original == NULL && g_getenv ("COPROC_BENCH_ORIGINAL") != NULL)
    original = g_strdup (g_getenv ("COPROC_BENCH_ORIGINAL"));

  p.quick = quick;
  p.runs = runs > 0 ? (guint) runs : quick ? 1 : 5;
  p.scale = scale > 0 ? scale : 1.0;
  p.w4_channels = 64;
  p.w4_levels = 16;
  if (quick)
    {
      p.count[W1] = 5000;
      p.count[W2] = 200;
      p.count[W3] = 4;
      p.w3_size = 1024 * 1024;
      p.count[W4] = 5000;
      p.count[WMEM] = 5000;
      p.count[WLOOP] = 20000;
    }
  else
    {
      p.count[W1] = 1000000;
      p.count[W2] = 20000;
      p.count[W3] = 64;
      p.w3_size = 16 * 1024 * 1024;
      p.count[W4] = 200000;
      p.count[WMEM] = 1000000;
      p.count[WLOOP] = 100000;
    }
  if (w3_mib > 0)
    {
      guint64 bytes = p.count[W3] * p.w3_size;

      p.w3_size = (guint64) w3_mib * 1024 * 1024;
      p.count[W3] = MAX (1, bytes / p.w3_size);
    }
  for (guint w = 0; w < N_WORKLOADS; w++)
    p.count[w] = MAX (1, (guint64) (p.count[w] * p.scale));

  workloads = parse_workloads (only);
  if (peer_filter != NULL)
    peer_list = g_strsplit (peer_filter, ",", -1);
  large_blob = g_bytes_new_take (g_malloc (p.w3_size), p.w3_size);
  memset ((void *) g_bytes_get_data (large_blob, NULL), 0x5a, p.w3_size);

  rows = g_ptr_array_new_with_free_func (row_free);
  print_machine (&p);

  for (guint w = 0; w < N_WORKLOADS; w++)
    {
      if (!(workloads & BIT (w)))
        continue;

      for (guint r = 0; r < p.runs; r++)
        {
          for (guint i = 0; bench_peers[i] != NULL; i++)
            {
              for (guint j = 0; j < bench_peers[i]->n_cases; j++)
                {
                  if (!run_case (&bench_peers[i]->cases[j], &p, w, r,
                                 (const char * const *) peer_list))
                    failed = TRUE;
                }
            }
        }
    }

  if (!no_python && (workloads & PYTHON_WORKLOADS))
    {
      if (!run_python (&p, workloads & PYTHON_WORKLOADS, original, &error))
        {
          g_printerr ("Python benchmark failed: %s\n", error->message);
          g_clear_error (&error);
          failed = TRUE;
        }
    }

  if (!no_gjs && (workloads & BIT (W3)))
    {
      if (!run_gjs (&p, &error))
        {
          g_printerr ("GJS benchmark failed: %s\n", error->message);
          g_clear_error (&error);
          failed = TRUE;
        }
    }

  print_table ();
  print_targets ();
  printf ("\n");
  print_loadavg ("after");

  g_ptr_array_unref (rows);
  g_bytes_unref (large_blob);
  g_free (self_exe);

  return failed ? 1 : 0;
}
