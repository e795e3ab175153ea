/* replay.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Runs a fuzz target over files, without libFuzzer: the test suite links
 * each target with this to replay the checked-in corpus with any compiler,
 * under the sanitizers and valgrind. Arguments are files or directories
 * (whose files are taken in name order); the output is TAP, one test per
 * file. A target that finds a bug aborts, which fails the run.
 */

#include <glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static gint
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
collect (const char *path,
         GPtrArray  *files)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_ptr_array_add (files, g_strdup (path));
      return;
    }

  dir = g_dir_open (path, 0, NULL);
  if (dir == NULL)
    g_error ("Cannot read the directory %s", path);

  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_paths);

  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add (files, g_strdup (g_ptr_array_index (names, i)));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  int status = 0;

  LLVMFuzzerInitialize (&argc, &argv);

  for (int i = 1; i < argc; i++)
    collect (argv[i], files);

  if (files->len == 0)
    {
      g_printerr ("Usage: %s FILE-OR-DIRECTORY...\n", argv[0]);
      return 2;
    }

  g_print ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autoptr(GError) error = NULL;
      g_autofree char *contents = NULL;
      gsize size;

      if (!g_file_get_contents (path, &contents, &size, &error))
        {
          g_print ("not ok %u - %s: %s\n", i + 1, path, error->message);
          status = 1;
          continue;
        }

      LLVMFuzzerTestOneInput ((const guint8 *) contents, size);
      g_print ("ok %u - %s\n", i + 1, path);
    }

  return status;
}
