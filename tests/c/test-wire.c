/* test-wire.c: the rule that decides normal form without a walk
 *
 * coproc_wire_data_always_normal() lets senders and receivers skip GLib's
 * element-by-element check of a value. It must never claim more than GLib
 * itself accepts: each type it accepts is checked here against
 * g_variant_is_normal_form() on random bytes, and each type it refuses has
 * a byte sequence GLib does not accept.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "coproc/coproc-wire-private.h"

static gboolean
always_normal (const char *type_string,
               gsize       size)
{
  return coproc_wire_data_always_normal (type_string, strlen (type_string), size);
}

/* Whether GLib finds @size bytes of @data normal for @type_string. */
static gboolean
glib_normal (const char   *type_string,
             const guint8 *data,
             gsize         size)
{
  g_autoptr(GVariant) value = NULL;

  value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE (type_string), data, size,
                                                       FALSE, NULL, NULL));
  return g_variant_is_normal_form (value);
}

typedef struct
{
  const char *type;
  gsize       unit;     /* an element's size (arrays) or the value's size */
} Dense;

static const Dense dense_types[] = {
  { "y", 1 }, { "n", 2 }, { "q", 2 }, { "i", 4 }, { "u", 4 }, { "h", 4 },
  { "x", 8 }, { "t", 8 }, { "d", 8 },
  { "ay", 1 }, { "an", 2 }, { "aq", 2 }, { "ai", 4 }, { "au", 4 }, { "ah", 4 },
  { "ax", 8 }, { "at", 8 }, { "ad", 8 },
  { "(ii)", 8 }, { "(yy)", 2 }, { "(ny)", 0 } /* trailing padding: not dense */,
  { "a(ii)", 8 }, { "a(dd)", 16 }, { "a(yyyy)", 4 }, { "a(iu)", 8 }, { "a(xi)", 0 },
  { "a(ix)", 0 }, { "a(ixi)", 0 }, { "a(iixi)", 0 }, { "a(iixii)", 24 }, { "a((ii)(ii))", 16 },
  { "a{ii}", 8 }, { "a{yy}", 2 }, { "{qq}", 4 }, { "a(qqi)", 8 }, { "a(yyqi)", 8 },
};

/* Every type the rule accepts: random bytes of a whole number of units are
 * normal for GLib too. */
static void
test_dense_agrees_with_glib (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261202);

  for (guint t = 0; t < G_N_ELEMENTS (dense_types); t++)
    {
      const Dense *d = &dense_types[t];
      gboolean array = d->type[0] == 'a';

      if (d->unit == 0)
        continue;

      for (guint round = 0; round < 200; round++)
        {
          gsize n = array ? g_rand_int_range (rand, 0, 40) : 1;
          gsize size = n * d->unit;
          g_autofree guint8 *data = g_malloc (size + 1);

          for (gsize i = 0; i < size; i++)
            data[i] = g_rand_int (rand);

          g_assert_true (always_normal (d->type, size));
          if (!glib_normal (d->type, data, size))
            g_error ("%s: %" G_GSIZE_FORMAT " random bytes are not normal for GLib", d->type, size);
        }
    }
}

/* Wrong sizes and padded layouts are left to GLib. */
static void
test_dense_sizes (void)
{
  for (guint t = 0; t < G_N_ELEMENTS (dense_types); t++)
    {
      const Dense *d = &dense_types[t];

      if (d->unit == 0)
        {
          g_assert_false (always_normal (d->type, 0));
          g_assert_false (always_normal (d->type, 8));
          g_assert_false (always_normal (d->type, 16));
          g_assert_false (always_normal (d->type, 24));
          continue;
        }

      if (d->type[0] == 'a')
        {
          g_assert_true (always_normal (d->type, 0));
          g_assert_true (always_normal (d->type, 3 * d->unit));
          if (d->unit > 1)
            g_assert_false (always_normal (d->type, 3 * d->unit + 1));
        }
      else
        {
          g_assert_true (always_normal (d->type, d->unit));
          g_assert_false (always_normal (d->type, 0));
          g_assert_false (always_normal (d->type, d->unit + 1));
          if (d->unit > 1)
            g_assert_false (always_normal (d->type, d->unit - 1));
        }
    }
}

typedef struct
{
  const char   *type;
  const guint8 *data;
  gsize         size;
} NotNormal;

/* Types the rule refuses, each with bytes (of a size the rule would accept
 * for a dense type) that GLib does not accept: these need the walk. */
static void
test_refused_types (void)
{
  static const guint8 two[] = { 2 };
  static const guint8 bools[] = { 1, 0, 2, 1 };
  static const guint8 no_nul[] = { 'a', 'b', 'c', 'd' };
  static const guint8 padded[] = { 1, 0xff, 2, 0 };               /* (yn): pad byte set */
  static const guint8 trailing[] = { 1, 0, 2, 0xff };             /* (ny): pad byte set */
  static const guint8 padded_x[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9 };
  static const guint8 unit[] = { 1 };
  static const guint8 maybe[] = { 1, 2, 3, 4, 5 };
  static const NotNormal cases[] = {
    { "b", two, sizeof two },
    { "ab", bools, sizeof bools },
    { "as", no_nul, sizeof no_nul },
    { "s", no_nul, sizeof no_nul },
    { "(yn)", padded, sizeof padded },
    { "a(ny)", trailing, sizeof trailing },
    { "a(ix)", padded_x, sizeof padded_x },
    { "()", unit, sizeof unit },
    { "a()", unit, sizeof unit },
    { "mi", maybe, sizeof maybe },
    { "ai", maybe, sizeof maybe },
    { "(ii)", maybe, sizeof maybe },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_false (always_normal (cases[i].type, cases[i].size));
      g_assert_false (glib_normal (cases[i].type, cases[i].data, cases[i].size));
    }

  /* Variable-size elements have offsets; variants and nesting are GLib's. */
  g_assert_false (always_normal ("aay", 8));
  g_assert_false (always_normal ("av", 8));
  g_assert_false (always_normal ("v", 8));
  g_assert_false (always_normal ("a{sv}", 8));
  g_assert_false (always_normal ("(is)", 8));
  g_assert_false (always_normal ("aai", 8));
  g_assert_false (always_normal ("", 0));
  /* Malformed strings are never accepted. */
  g_assert_false (always_normal ("(ii", 8));
  g_assert_false (always_normal ("a", 0));
  g_assert_false (always_normal ("ii", 8));
  g_assert_false (always_normal ("(ii))", 8));
}

/* coproc_wire_is_normal() and coproc_wire_take_normal() on values. */
static void
test_values (void)
{
  static const guint8 bools[] = { 1, 0, 2, 1 };
  g_autofree guint8 *bytes = g_malloc0 (1 << 20);
  g_autoptr(GVariant) fixed = NULL;
  g_autoptr(GVariant) untrusted = NULL;
  g_autoptr(GVariant) same = NULL;
  GVariant *value;

  memset (bytes, 0xa5, 1 << 20);
  fixed = g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_INT32, bytes,
                                                         (1 << 20) / 4, 4));
  g_assert_true (coproc_wire_is_normal (fixed));
  same = coproc_wire_take_normal (g_variant_ref (fixed));
  g_assert_true (same == fixed);

  /* Bytes of the wrong size for a fixed-size type give a value that reads
   * as zeros and is not normal, though its size is the type's. */
  value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(ii)"), bools, 3,
                                                       FALSE, NULL, NULL));
  g_assert_cmpuint (g_variant_get_size (value), ==, 8);
  g_assert_false (coproc_wire_is_normal (value));
  g_variant_unref (value);
  value = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("(ii)"), bytes, 8,
                                                       FALSE, NULL, NULL));
  g_assert_true (coproc_wire_is_normal (value));
  g_variant_unref (value);
  value = g_variant_ref_sink (g_variant_new ("(ii)", 1, 2));
  g_assert_true (coproc_wire_is_normal (value));
  g_variant_unref (value);

  value = g_variant_ref_sink (g_variant_new ("(sb)", "trusted", TRUE));
  g_assert_true (coproc_wire_is_normal (value));
  g_variant_unref (value);

  untrusted = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE ("ab"), bools,
                                                           sizeof bools, FALSE, NULL, NULL));
  g_assert_false (coproc_wire_is_normal (untrusted));
  value = coproc_wire_take_normal (g_variant_ref (untrusted));
  g_assert_true (value != untrusted);
  g_assert_true (g_variant_is_normal_form (value));
  g_assert_cmpuint (g_variant_n_children (value), ==, 4);
  g_variant_unref (value);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Coproc/Wire/always-normal/agrees-with-glib", test_dense_agrees_with_glib);
  g_test_add_func ("/Coproc/Wire/always-normal/sizes", test_dense_sizes);
  g_test_add_func ("/Coproc/Wire/always-normal/refused", test_refused_types);
  g_test_add_func ("/Coproc/Wire/always-normal/values", test_values);

  return g_test_run ();
}
