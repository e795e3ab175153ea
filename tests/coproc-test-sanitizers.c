/* coproc-test-sanitizers.c: defaults for the sanitizers, linked into the
 * C tests (test_sanitizers_c in tests/meson.build)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#if defined(__SANITIZE_ADDRESS__)

const char *__asan_default_options (void);
const char *__lsan_default_suppressions (void);

/* GLib is built without frame pointers: only the slow unwinder sees the
 * GLib frames that the suppressions below name. */
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

/* LeakSanitizer reads these suppressions at exit. Only allocations GLib
 * itself makes and never frees belong here. */
const char *
__lsan_default_suppressions (void)
{
  /* g_test_init (G_TEST_OPTION_ISOLATE_DIRS) in GLib 2.74 gives each test
   * case its own XDG directories and never frees the previous names. */
  return "leak:g_set_user_dirs\n";
}

#endif
