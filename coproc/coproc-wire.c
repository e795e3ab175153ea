/* coproc-wire.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Encoding and validation of wire protocol version 1 (doc/protocol.md).
 * Nothing here does I/O; everything read from a peer is treated as hostile.
 */

#include "config.h"

#include <string.h>

#include "coproc-error.h"
#include "coproc-wire-private.h"

static inline void
put_u16 (guint8 *out, guint16 v)
{
  v = GUINT16_TO_LE (v);
  memcpy (out, &v, sizeof v);
}

static inline void
put_u32 (guint8 *out, guint32 v)
{
  v = GUINT32_TO_LE (v);
  memcpy (out, &v, sizeof v);
}

static inline void
put_u64 (guint8 *out, guint64 v)
{
  v = GUINT64_TO_LE (v);
  memcpy (out, &v, sizeof v);
}

static inline guint16
get_u16 (const guint8 *in)
{
  guint16 v;
  memcpy (&v, in, sizeof v);
  return GUINT16_FROM_LE (v);
}

static inline guint32
get_u32 (const guint8 *in)
{
  guint32 v;
  memcpy (&v, in, sizeof v);
  return GUINT32_FROM_LE (v);
}

static inline guint64
get_u64 (const guint8 *in)
{
  guint64 v;
  memcpy (&v, in, sizeof v);
  return GUINT64_FROM_LE (v);
}

void
coproc_wire_write_handshake (guint8  *out,
                             guint    minor,
                             guint32  max_message_size)
{
  memcpy (out, COPROC_WIRE_MAGIC, COPROC_WIRE_MAGIC_SIZE);
  put_u16 (out + 8, COPROC_WIRE_VERSION);
  put_u16 (out + 10, minor);
  put_u32 (out + 12, max_message_size);
}

gboolean
coproc_wire_read_handshake (const guint8         *in,
                            CoprocWireHandshake  *handshake,
                            GError              **error)
{
  guint version;

  if (memcmp (in, COPROC_WIRE_MAGIC, COPROC_WIRE_MAGIC_SIZE) != 0)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "The peer is not a coproc messenger (bad handshake magic)");
      return FALSE;
    }

  version = get_u16 (in + 8);
  if (version != COPROC_WIRE_VERSION)
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                   "The peer speaks coproc protocol version %u; this side speaks version %u",
                   version, (guint) COPROC_WIRE_VERSION);
      return FALSE;
    }

  /* Protocol 1.2: the minor version, which a peer announces only to a
   * peer it knows reads it (a 1.0 receiver refuses anything but 0). */
  handshake->minor = get_u16 (in + 10);
  handshake->version = version;
  handshake->max_message_size = get_u32 (in + 12);
  return TRUE;
}

void
coproc_wire_write_header (guint8                 *out,
                          const CoprocWireHeader *header)
{
  guint64 prio_bits;

  put_u32 (out + 0, header->payload_size);
  put_u32 (out + 4, header->channel_size);
  out[8] = header->kind;
  out[9] = header->flags;
  put_u16 (out + 10, header->n_fds);
  put_u32 (out + 12, 0);
  memcpy (&prio_bits, &header->priority, sizeof prio_bits);
  put_u64 (out + 16, prio_bits);
  put_u64 (out + 24, header->request_id);
}

gboolean
coproc_wire_read_header (const guint8      *in,
                         CoprocWireHeader  *header,
                         GError           **error)
{
  guint64 prio_bits;

  header->payload_size = get_u32 (in + 0);
  header->channel_size = get_u32 (in + 4);
  header->kind = in[8];
  header->flags = in[9];
  header->n_fds = get_u16 (in + 10);
  prio_bits = get_u64 (in + 16);
  memcpy (&header->priority, &prio_bits, sizeof prio_bits);
  header->request_id = get_u64 (in + 24);

  if ((header->flags & ~COPROC_WIRE_FLAGS) != 0 || get_u32 (in + 12) != 0)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "Received a frame with reserved bits set");
      return FALSE;
    }

  /* Exactly one descriptor with a passed payload, then 1 to
   * COPROC_WIRE_MAX_MESSAGE_FDS of the message's own with that flag. */
  if (header->n_fds < ((header->flags & COPROC_WIRE_FLAG_PAYLOAD_FD) ? 1 : 0) ||
      ((header->flags & COPROC_WIRE_FLAG_MESSAGE_FDS)
       ? coproc_wire_message_fds (header) == 0 ||
         coproc_wire_message_fds (header) > COPROC_WIRE_MAX_MESSAGE_FDS
       : coproc_wire_message_fds (header) != 0))
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                   "Received a frame announcing %u file descriptors, more than a message "
                   "carries or not what its flags say (at most %u, and one for a payload "
                   "passed in a memfd)", (guint) header->n_fds, (guint) COPROC_WIRE_MAX_FDS);
      return FALSE;
    }

  if ((header->flags & COPROC_WIRE_FLAGS) && !coproc_wire_kind_is_data (header->kind))
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "Received a special message with file descriptors");
      return FALSE;
    }

  /* The sizes are sound: the frame can be skipped. */
  if (header->kind < COPROC_WIRE_KIND_NOREQUEST || header->kind > COPROC_WIRE_KIND_LAST)
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED,
                   "Received a message of unknown kind %u", (guint) header->kind);
      return FALSE;
    }

  switch (header->kind)
    {
    case COPROC_WIRE_KIND_CLOSE:
      if (header->payload_size != 0 || header->channel_size != 0)
        {
          g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                               "Received a close request with a body");
          return FALSE;
        }
      break;

    case COPROC_WIRE_KIND_ERROR:
      if (header->channel_size != 0)
        {
          g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                               "Received an error frame with a channel");
          return FALSE;
        }
      G_GNUC_FALLTHROUGH;

    default:
      /* A body is a variant: at least a NUL and a one-character type. */
      if (header->payload_size < 2)
        {
          g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                               "Received a frame with an empty body");
          return FALSE;
        }
      if (header->channel_size == 1)
        {
          g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                               "Received a frame with a malformed channel");
          return FALSE;
        }
      break;
    }

  return TRUE;
}

/* A value travels as the serialized form of a GVariant of type "v" holding it:
 * the value's own serialization, a NUL byte, then its type string. The value
 * starts at offset 0, so 8-byte alignment of the frame body suffices.
 */
gsize
coproc_wire_variant_size (GVariant *value)
{
  return g_variant_get_size (value) + 1 + strlen (g_variant_get_type_string (value));
}

void
coproc_wire_store_variant (GVariant *value,
                           guint8   *out)
{
  const char *type_string = g_variant_get_type_string (value);
  gsize size = g_variant_get_size (value);

#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    g_autoptr(GVariant) swapped = g_variant_byteswap (value);
    g_variant_store (swapped, out);
  }
#else
  g_variant_store (value, out);
#endif
  out[size] = '\0';
  memcpy (out + size + 1, type_string, strlen (type_string));
}

/* The fixed size of the type at *@p if it is *dense*: a number type (not a
 * boolean), or a tuple or dict entry of dense members laid out without any
 * padding. Every byte sequence of that size is then the normal form of a
 * value of the type. Returns 0 for any other type (and for a malformed
 * string); advances *@p past the type when it returns non-zero. */
static gsize
dense_size (const char **p,
            const char  *end,
            gsize       *alignment)
{
  char c;

  if (*p >= end)
    return 0;

  c = *(*p)++;
  switch (c)
    {
    case 'y':
      *alignment = 1;
      return 1;

    case 'n':
    case 'q':
      *alignment = 2;
      return 2;

    case 'i':
    case 'u':
    case 'h':
      *alignment = 4;
      return 4;

    case 'x':
    case 't':
    case 'd':
      *alignment = 8;
      return 8;

    case '(':
    case '{':
      {
        char close = c == '(' ? ')' : '}';
        gsize offset = 0;
        gsize align = 1;

        while (*p < end && **p != close)
          {
            gsize member_align;
            gsize member = dense_size (p, end, &member_align);

            /* A member that does not start where the previous one ended
             * would need padding, which must be zero. */
            if (member == 0 || offset % member_align != 0)
              return 0;
            offset += member;
            align = MAX (align, member_align);
          }

        if (*p >= end)
          return 0;
        (*p)++;

        /* The unit type "()" is one zero byte; trailing padding must be
         * zero too. */
        if (offset == 0 || offset % align != 0)
          return 0;

        *alignment = align;
        return offset;
      }

    default:
      /* Booleans, strings, variants, maybes, arrays: not every byte
       * sequence is normal. */
      return 0;
    }
}

/* What decides whether data of a type is always normal: its unit, the
 * size of an array's element or of the value itself, when the type is
 * dense (and @array is set for an array), else 0. */
typedef struct
{
  gsize    unit;    /* 0 when the type is not dense */
  gboolean array;   /* @unit is an element's size, not the value's */
} DenseUnit;

static DenseUnit
dense_unit (const char *type_string,
            gsize       type_len)
{
  const char *p = type_string;
  const char *end = type_string + type_len;
  DenseUnit result = { 0, FALSE };
  gsize alignment;

  /* Longer type strings cannot travel anyway; this bounds the recursion. */
  if (type_len == 0 || type_len > COPROC_WIRE_MAX_TYPE_SIZE)
    return result;

  if (*p == 'a')
    {
      result.array = TRUE;
      p++;
    }

  result.unit = dense_size (&p, end, &alignment);
  if (p != end)
    result.unit = 0;

  return result;
}

static inline gboolean
dense_allows (DenseUnit dense,
              gsize     size)
{
  /* An array of fixed-size elements is their concatenation. */
  return dense.unit != 0 && (dense.array ? size % dense.unit == 0 : size == dense.unit);
}

gboolean
coproc_wire_data_always_normal (const char *type_string,
                                gsize       type_len,
                                gsize       size)
{
  return dense_allows (dense_unit (type_string, type_len), size);
}

/* The characters of dense type strings. */
static const guint8 dense_chars[256] = {
  ['y'] = 1, ['n'] = 1, ['q'] = 1, ['i'] = 1, ['u'] = 1, ['h'] = 1, ['x'] = 1, ['t'] = 1,
  ['d'] = 1, ['('] = 1, [')'] = 1, ['{'] = 1, ['}'] = 1,
};

/* dense_unit() of a NUL-terminated type string, that turns most types
 * that are not dense (those with strings, booleans, variants, nested
 * arrays) down in the one pass that measures them. */
static DenseUnit
dense_unit_of_string (const char *type_string)
{
  DenseUnit none = { 0, FALSE };
  gsize len = type_string[0] == 'a' ? 1 : 0;

  for (; type_string[len] != '\0'; len++)
    {
      if (!dense_chars[(guchar) type_string[len]])
        return none;
    }

  return dense_unit (type_string, len);
}

gboolean
coproc_wire_is_normal (GVariant *value)
{
  DenseUnit dense = dense_unit_of_string (g_variant_get_type_string (value));

  /* A value of a fixed-size type loaded from bytes of the wrong size has
   * no data (it reads as zeros) and is not in normal form: look at the
   * data of those, which are small. An array's size is its data's. */
  if (dense.unit != 0 && dense_allows (dense, g_variant_get_size (value)) &&
      (dense.array || g_variant_get_data (value) != NULL))
    return TRUE;

  /* GLib answers at once for trusted values (those it built itself), and
   * otherwise checks element by element (about 14 ns per byte of an "ay"). */
  return g_variant_is_normal_form (value);
}

GVariant *
coproc_wire_take_normal (GVariant *value)
{
  GVariant *normal;

  if (coproc_wire_is_normal (value))
    return value;

  normal = g_variant_get_normal_form (value);
  g_variant_unref (value);
  return normal;
}

void
coproc_wire_anchor_type (CoprocTypeAnchor *anchor,
                         GVariant         *value)
{
  const char *type_string = g_variant_get_type_string (value);

  /* While the anchor holds a type's information, every value of that
   * type shares it, and its type string with it. */
  if (type_string == anchor->type_string)
    return;

  /* GLib's information for basic types is static. */
  if (type_string[0] == '\0' || strchr ("am({", type_string[0]) == NULL)
    return;

  coproc_wire_anchor_clear (anchor);
  anchor->value = g_variant_ref_sink (g_variant_new_from_data (g_variant_get_type (value), NULL, 0,
                                                               FALSE, NULL, NULL));
  anchor->type_string = g_variant_get_type_string (anchor->value);
}

void
coproc_wire_anchor_clear (CoprocTypeAnchor *anchor)
{
  g_clear_pointer (&anchor->value, g_variant_unref);
  anchor->type_string = NULL;
}

/* The depth of the type at *@p, as GLib counts it: 1 for a basic type or
 * a variant, 1 more than the deepest member for a container (0 for the
 * unit type "()"). Advances *@p past the type. @p is a valid type string,
 * whose nesting GLib bounds, so the recursion is bounded. */
static gsize
type_depth (const char **p)
{
  gsize depth = 0;

  switch (*(*p)++)
    {
    case 'a':
    case 'm':
      return 1 + type_depth (p);

    case '(':
    case '{':
      while (**p != ')' && **p != '}')
        {
          gsize member = type_depth (p);

          depth = MAX (depth, 1 + member);
        }
      (*p)++;
      return depth;

    default:
      return 1;
    }
}

static gsize
type_string_depth (const char *type_string)
{
  return type_depth (&type_string);
}

/* The value of the variant @value, as its bytes say. GLib's accessor
 * hands out a unit "()" in place of a value that would nest too deep for
 * where @value lies among the values GLib itself took it from, even in
 * data it trusts; that depth need not be the one a receiver sees. */
static GVariant *
variant_child (GVariant *value)
{
  GVariant *child = g_variant_get_variant (value);
  const guint8 *data;
  const guint8 *nul;
  gsize size;
  g_autofree char *type_string = NULL;

  /* A real unit in a variant is its byte, a NUL and "()". */
  size = g_variant_get_size (value);
  if (!g_variant_is_of_type (child, G_VARIANT_TYPE_UNIT) || size == 4)
    return child;

  g_variant_unref (child);
  data = g_variant_get_data (value);
  nul = memrchr (data, '\0', size);
  type_string = g_strndup ((const char *) nul + 1, size - (gsize) (nul + 1 - data));

  return g_variant_ref_sink (g_variant_new_from_data ((const GVariantType *) type_string, data,
                                                      (gsize) (nul - data), TRUE,
                                                      (GDestroyNotify) g_variant_unref,
                                                      g_variant_ref (value)));
}

/* GLib's rule for untrusted data (coproc-wire-private.h), checked on
 * @value and what it holds, @value lying at @depth. */
static gboolean
nesting_fits (GVariant *value,
              gsize     depth)
{
  const char *type_string = g_variant_get_type_string (value);
  gsize n_children;

  if (depth >= COPROC_WIRE_MAX_DEPTH)
    return FALSE;

  /* Every variant inside holds its value's type string, at least as long
   * as that type is deep, so no part of @value can lie deeper than its
   * type's depth plus its size: nothing to look at below. */
  if (depth + type_string_depth (type_string) + g_variant_get_size (value) < COPROC_WIRE_MAX_DEPTH)
    return TRUE;

  /* Without a variant inside, no part of @value lies deeper than its
   * type, whatever its size: an "ax" in a variant is not walked element
   * by element. */
  if (strchr (type_string, 'v') == NULL &&
      depth + type_string_depth (type_string) < COPROC_WIRE_MAX_DEPTH)
    return TRUE;

  if (type_string[0] == 'v')
    {
      g_autoptr(GVariant) child = variant_child (value);

      return depth + type_string_depth (g_variant_get_type_string (child)) < COPROC_WIRE_MAX_DEPTH &&
             nesting_fits (child, depth + 1);
    }

  if (!g_variant_is_container (value))
    return TRUE;

  n_children = g_variant_n_children (value);
  for (gsize i = 0; i < n_children; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (!nesting_fits (child, depth + 1))
        return FALSE;
    }

  return TRUE;
}

gboolean
coproc_wire_nesting_is_acceptable (GVariant   *value,
                                   const char *type_string,
                                   gsize       type_len)
{
  /* Most types: no variant inside, and at most as deep as long, so that
   * every part lies above the limit. */
  if (type_len <= COPROC_WIRE_MAX_DEPTH && memchr (type_string, 'v', type_len) == NULL)
    return TRUE;

  /* GLib builds types that nest deeper than it accepts in a type string. */
  if (type_len > COPROC_WIRE_MAX_DEPTH && !g_variant_type_string_is_valid (type_string))
    return FALSE;

  return nesting_fits (value, 0);
}

/* The last type string coproc_wire_load_variant() accepted, per thread,
 * and what it says of normal form: validating a type string costs more
 * than loading a small value, and a stream usually carries one type after
 * another. */
static __thread struct
{
  char      type[COPROC_WIRE_MAX_TYPE_SIZE + 1];  /* @len characters, no NUL */
  gsize     len;                                 /* 0: none yet */
  DenseUnit dense;                               /* dense_unit() of @type */
} last_valid_type;

GVariant *
coproc_wire_load_variant (GBytes  *bytes,
                          GError **error)
{
  return coproc_wire_load_variant_slice (bytes, 0, g_bytes_get_size (bytes), error);
}

/* The value encoded in the @size bytes at @data: at @offset of @chunk,
 * whose memory the value then references, or copied when @chunk is NULL. */
static GVariant *
load_encoding (GBytes        *chunk,
               const guint8  *data,
               gsize          offset,
               gsize          size,
               GError       **error)
{
  const guint8 *nul;
  const char *type_string;
  gsize type_len;
  char type_buf[256];
  g_autoptr(GBytes) value_bytes = NULL;
  g_autoptr(GVariant) value = NULL;

  if (size == 0)
    goto malformed;

  nul = memrchr (data, '\0', size);
  if (nul == NULL)
    goto malformed;

  type_string = (const char *) nul + 1;
  type_len = size - (gsize) (nul + 1 - data);
  if (type_len == 0 || type_len > COPROC_WIRE_MAX_TYPE_SIZE)
    goto malformed;

  /* The type string is not NUL-terminated in the frame. */
  memcpy (type_buf, type_string, type_len);
  type_buf[type_len] = '\0';

  if (type_len != last_valid_type.len || memcmp (type_buf, last_valid_type.type, type_len) != 0)
    {
      if (!g_variant_type_string_is_valid (type_buf) ||
          !g_variant_type_is_definite ((const GVariantType *) type_buf))
        goto malformed;

      memcpy (last_valid_type.type, type_buf, type_len);
      last_valid_type.len = type_len;
      last_valid_type.dense = dense_unit (type_buf, type_len);
    }

  if (chunk != NULL)
    value_bytes = g_bytes_new_from_bytes (chunk, offset, (gsize) (nul - data));
  else
    value_bytes = g_bytes_new (data, (gsize) (nul - data));
  value = g_variant_ref_sink (g_variant_new_from_bytes ((const GVariantType *) type_buf,
                                                        value_bytes, FALSE));
#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    GVariant *swapped = g_variant_ref_sink (g_variant_byteswap (value));
    g_variant_unref (value);
    value = swapped;
  }
#endif

  /* Anything not in normal form is rejected: it is either corrupt or an
   * attempt to make accessors do surprising amounts of work. Data of a
   * type where every byte sequence of its size is normal (arrays of
   * numbers, say) is decided without GLib's walk through each element. */
  if (!dense_allows (last_valid_type.dense, (gsize) (nul - data)) &&
      !g_variant_is_normal_form (value))
    goto malformed;

  return g_steal_pointer (&value);

malformed:
  g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                       "Received a malformed message body");
  return NULL;
}

/* The same for [offset, offset + size) of @chunk: the value references
 * @chunk directly, with no intermediate slice. */
GVariant *
coproc_wire_load_variant_slice (GBytes  *chunk,
                                gsize    offset,
                                gsize    size,
                                GError **error)
{
  const guint8 *data;

  g_return_val_if_fail (offset + size <= g_bytes_get_size (chunk), NULL);

  /* An empty chunk may have no data at all: no offset from NULL. */
  data = g_bytes_get_data (chunk, NULL);
  if (data != NULL)
    data += offset;

  return load_encoding (chunk, data, offset, size, error);
}

GVariant *
coproc_wire_load_variant_copy (const guint8  *data,
                               gsize          size,
                               GError       **error)
{
  return load_encoding (NULL, data, 0, size, error);
}

GVariant *
coproc_wire_error_to_variant (const GError *error)
{
  const char *domain = g_quark_to_string (error->domain);
  const char *message = error->message ? error->message : "";

  if (domain == NULL)
    domain = "";
  if (!g_utf8_validate (message, -1, NULL))
    message = "(invalid UTF-8 in error message)";

  return g_variant_new ("(sis)", domain, error->code, message);
}

static gboolean
domain_is_acceptable (const char *domain)
{
  gsize len = strlen (domain);

  if (len == 0 || len > COPROC_WIRE_MAX_DOMAIN_SIZE)
    return FALSE;

  for (const char *p = domain; *p; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.' && *p != ':')
        return FALSE;
    }

  return TRUE;
}

/* The one piece of state of this file: the error domains interned on a
 * peer's word, in the whole process. Quarks are never freed, so a bound
 * per connection would let a host that keeps reconnecting grow the quark
 * table without end. Atomic: messengers may live in several threads. */
static gint n_remote_domains;

/* Takes one of the COPROC_WIRE_MAX_REMOTE_DOMAINS; FALSE once all are
 * taken. */
static gboolean
claim_remote_domain (void)
{
  gint n;

  do
    {
      n = g_atomic_int_get (&n_remote_domains);
      if (n >= COPROC_WIRE_MAX_REMOTE_DOMAINS)
        return FALSE;
    }
  while (!g_atomic_int_compare_and_exchange (&n_remote_domains, n, n + 1));

  return TRUE;
}

GError *
coproc_wire_error_from_variant (GVariant  *body,
                                GError   **error)
{
  const char *domain;
  const char *message;
  gint32 code;
  GQuark quark;

  if (!g_variant_is_of_type (body, G_VARIANT_TYPE ("(sis)")))
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "Received an error frame whose body is not (sis)");
      return NULL;
    }

  g_variant_get (body, "(&si&s)", &domain, &code, &message);

  if (!domain_is_acceptable (domain))
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "Received an error with an invalid domain name");
      return NULL;
    }

  /* coproc's own codes say what this side saw of its connection and its
   * workers (the peer hung up, a worker died, a frame was dropped): a
   * peer cannot say them for it. A close request is the one the peer may
   * send as an error, since it may send it anyway. */
  quark = g_quark_try_string (domain);
  if (quark == COPROC_ERROR && code != COPROC_ERROR_CLOSE_REQUESTED)
    return g_error_new (COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED,
                        "Remote error in coproc's own domain %s (code %d), which only this "
                        "side raises: %s", domain, code, message);

  if (quark == 0)
    {
      if (!claim_remote_domain ())
        return g_error_new (COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED,
                            "Remote error in unknown domain %s (code %d): %s",
                            domain, code, message);
      quark = g_quark_from_string (domain);
    }

  return g_error_new_literal (quark, code, message);
}
