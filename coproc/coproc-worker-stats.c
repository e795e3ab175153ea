/* coproc-worker-stats.c: what a running worker uses, read from /proc
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "coproc-worker-resource.h"

/* One process as /proc/PID/stat gives it. */
typedef struct
{
  GPid    pid;
  GPid    ppid;
  guint64 utime;    /* clock ticks */
  guint64 stime;    /* clock ticks */
  guint64 rss;      /* pages */
} ProcStat;

/* Parses the contents of /proc/PID/stat. The command name (field 2) is in
 * parentheses and may hold spaces and parentheses itself: the fields that
 * follow start after the last ')'. */
static gboolean
parse_stat (const char *contents,
            ProcStat   *stat)
{
  const char *p = strrchr (contents, ')');
  g_auto(GStrv) fields = NULL;

  if (p == NULL)
    return FALSE;

  /* fields[0] is field 3 (state). */
  fields = g_strsplit (p + 1 + strspn (p + 1, " "), " ", 0);
  if (g_strv_length (fields) < 22)
    return FALSE;

  stat->pid = (GPid) strtol (contents, NULL, 10);
  stat->ppid = (GPid) g_ascii_strtoll (fields[1], NULL, 10);
  stat->utime = g_ascii_strtoull (fields[11], NULL, 10);
  stat->stime = g_ascii_strtoull (fields[12], NULL, 10);
  stat->rss = g_ascii_strtoull (fields[21], NULL, 10);
  return stat->pid > 0;
}

static gboolean
read_stat (const char *pid_name,
           ProcStat   *stat)
{
  g_autofree char *path = g_build_filename ("/proc", pid_name, "stat", NULL);
  g_autofree char *contents = NULL;

  /* A process may end while we read: it is then no longer counted. */
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;

  return parse_stat (contents, stat);
}

/* Every process of the system. */
static GArray *
read_all_stats (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  GArray *stats = g_array_new (FALSE, FALSE, sizeof (ProcStat));
  const char *name;

  if (dir == NULL)
    return stats;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      ProcStat stat;

      if (g_ascii_isdigit (name[0]) && read_stat (name, &stat))
        g_array_append_val (stats, stat);
    }

  return stats;
}

/**
 * coproc_worker_resource_get_stats:
 * @self: a resource
 *
 * Reads what the running worker uses now, from `/proc`, summed over its
 * process tree: the worker and every process it started, still running
 * (so a wrapper such as `bwrap` counts with what it runs). The dictionary
 * holds:
 *
 * - `pid` (`i`): the worker's process id, as [method@Coproc.WorkerResource.get_pid];
 * - `rss-bytes` (`t`): resident memory;
 * - `user-seconds` and `system-seconds` (`d`): CPU time spent in user
 *   space and in the kernel, by the processes running now (children that
 *   ended and were waited for count in their parent's);
 * - `processes` (`u`): how many processes the tree holds.
 *
 * This is what the original library's `Monitor` reports; call it as often
 * as a display needs (each call reads `/proc` once).
 *
 * Returns: (transfer full) (nullable): a new `a{sv}` dictionary, or `NULL`
 *   when no worker is running
 *
 * Since: 1.2
 */
GVariant *
coproc_worker_resource_get_stats (CoprocWorkerResource *self)
{
  g_autoptr(GArray) stats = NULL;
  g_autoptr(GArray) tree = NULL;
  GVariantDict dict;
  guint64 utime = 0, stime = 0, rss = 0;
  gdouble ticks = (gdouble) sysconf (_SC_CLK_TCK);
  gboolean found = FALSE;
  GPid pid;

  g_return_val_if_fail (COPROC_IS_WORKER_RESOURCE (self), NULL);

  pid = coproc_worker_resource_get_pid (self);
  if (pid <= 0)
    return NULL;

  /* The tree, breadth first: the worker, then the children of each
   * process in it. Processes form a tree, so none comes twice. */
  stats = read_all_stats ();
  tree = g_array_new (FALSE, FALSE, sizeof (GPid));
  g_array_append_val (tree, pid);
  for (guint t = 0; t < tree->len; t++)
    {
      GPid member = g_array_index (tree, GPid, t);

      for (guint i = 0; i < stats->len; i++)
        {
          const ProcStat *stat = &g_array_index (stats, ProcStat, i);

          if (stat->ppid == member)
            g_array_append_val (tree, stat->pid);
          if (stat->pid != member)
            continue;
          found = TRUE;
          utime += stat->utime;
          stime += stat->stime;
          rss += stat->rss;
        }
    }
  /* Ended between the pid and the read. */
  if (!found)
    return NULL;

  g_variant_dict_init (&dict, NULL);
  g_variant_dict_insert (&dict, "pid", "i", (gint32) pid);
  g_variant_dict_insert (&dict, "rss-bytes", "t", rss * (guint64) sysconf (_SC_PAGESIZE));
  g_variant_dict_insert (&dict, "user-seconds", "d", utime / ticks);
  g_variant_dict_insert (&dict, "system-seconds", "d", stime / ticks);
  g_variant_dict_insert (&dict, "processes", "u", tree->len);

  return g_variant_dict_end (&dict);
}
