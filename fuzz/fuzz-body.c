/* fuzz-body.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: a frame body (a channel id or a payload), which is the
 * serialized value, a NUL byte and its type string (doc/protocol.md), and
 * the (sis) body of an error frame.
 *
 * A body is accepted only in GVariant normal form, so what loads must store
 * back to exactly the input. An accepted (sis) body in a known domain gives
 * the GError it encodes; anything else fails with a protocol error or, for
 * an unknown domain, a "not recognized" error. New domains are never
 * interned here (quarks live forever).
 */

#include <string.h>

#include <gio/gio.h>

#include "coproc-error.h"
#include "coproc-wire-private.h"

static void
check_error_body (GVariant *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) remote = NULL;
  const char *domain;
  const char *message;
  gint32 code;

  remote = coproc_wire_error_from_variant (body, &error);
  if (remote == NULL)
    {
      g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
      return;
    }

  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (body, G_VARIANT_TYPE ("(sis)")));
  g_assert_nonnull (remote->message);
  g_assert_true (g_utf8_validate (remote->message, -1, NULL));
  g_variant_get (body, "(&si&s)", &domain, &code, &message);

  if (g_str_equal (domain, "coproc-error-quark") && code != 0)
    {
      /* coproc's own codes, but a close request, only this side raises. */
      g_assert_error (remote, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
      g_assert_nonnull (strstr (remote->message, message));
    }
  else if (g_strcmp0 (g_quark_to_string (remote->domain), domain) == 0)
    {
      g_autoptr(GVariant) again = g_variant_ref_sink (coproc_wire_error_to_variant (remote));

      /* A remote error keeps its domain, code and message exactly. */
      g_assert_cmpint (remote->code, ==, code);
      g_assert_cmpstr (remote->message, ==, message);
      g_assert_true (g_variant_equal (again, body));
    }
  else
    {
      /* Only an unknown domain (past the bound) is replaced, and it is
       * said which. */
      g_assert_cmpuint (g_quark_try_string (domain), ==, 0);
      g_assert_error (remote, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
      g_assert_nonnull (strstr (remote->message, domain));
    }
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  /* Domains an error body may name without interning anything new (the
   * others are interned up to the process-wide bound). */
  (void) G_IO_ERROR;
  (void) COPROC_ERROR;
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autofree guint8 *stored = NULL;
  g_autofree char *text = NULL;
  gsize stored_size;

  value = coproc_wire_load_variant (bytes, &error);
  if (value == NULL)
    {
      g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
      return 0;
    }

  g_assert_no_error (error);
  g_assert_false (g_variant_is_floating (value));
  g_assert_true (g_variant_is_normal_form (value));

  /* Normal form is unique: storing gives back the input, byte for byte. */
  stored_size = coproc_wire_variant_size (value);
  g_assert_cmpuint (stored_size, ==, size);
  stored = g_malloc (stored_size);
  coproc_wire_store_variant (value, stored);
  g_assert_cmpmem (stored, stored_size, data, size);

  /* What receivers and bindings do next with a payload. */
  text = g_variant_print (value, TRUE);
  g_assert_nonnull (text);

  check_error_body (value);

  return 0;
}
