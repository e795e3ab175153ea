/* coproc-wire-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Wire protocol version 1. doc/protocol.md is the normative description;
 * this file and coproc-wire.c are its only implementation.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define COPROC_WIRE_MAGIC           "COPROC\r\n"
#define COPROC_WIRE_MAGIC_SIZE      8
#define COPROC_WIRE_VERSION         1
#define COPROC_WIRE_HANDSHAKE_SIZE  16
#define COPROC_WIRE_HEADER_SIZE     32
#define COPROC_WIRE_MAX_DOMAIN_SIZE 128
#define COPROC_WIRE_MAX_TYPE_SIZE   255 /* characters of a value's type string */
#define COPROC_WIRE_MINOR           2   /* protocol 1.2: descriptors of a message */
#define COPROC_WIRE_MAX_MESSAGE_FDS 16  /* COPROC_MESSAGE_MAX_FDS */
#define COPROC_WIRE_MAX_FDS         (1 + COPROC_WIRE_MAX_MESSAGE_FDS) /* per frame */
#define COPROC_WIRE_MAX_DEPTH       128 /* GLib's G_VARIANT_MAX_RECURSION_DEPTH */
#define COPROC_WIRE_MAX_REMOTE_DOMAINS 256 /* error domains interned for peers, per process */

/* Frame flags. */
#define COPROC_WIRE_FLAG_PAYLOAD_FD 0x01    /* the payload is in a sealed memfd sent with the frame */
#define COPROC_WIRE_FLAG_MESSAGE_FDS 0x02   /* protocol 1.2: the message's own descriptors go
                                             * with the frame, after the payload's */
#define COPROC_WIRE_FLAGS (COPROC_WIRE_FLAG_PAYLOAD_FD | COPROC_WIRE_FLAG_MESSAGE_FDS)

typedef enum
{
  COPROC_WIRE_KIND_NOREQUEST = 1,
  COPROC_WIRE_KIND_REQUEST   = 2,
  COPROC_WIRE_KIND_REPLY     = 3,
  COPROC_WIRE_KIND_ERROR     = 4,
  COPROC_WIRE_KIND_CLOSE     = 5,
  COPROC_WIRE_KIND_ERROR_REPLY = 6,  /* protocol 1.1: a request failed; body (sis) */
} CoprocWireKind;

#define COPROC_WIRE_KIND_LAST COPROC_WIRE_KIND_ERROR_REPLY

/* Whether frames of @kind are data messages, which go to channel queues. */
static inline gboolean
coproc_wire_kind_is_data (guint kind)
{
  return kind >= COPROC_WIRE_KIND_NOREQUEST && kind <= COPROC_WIRE_KIND_REPLY;
}

typedef struct
{
  guint32 payload_size;
  guint32 channel_size;
  guint8  kind;
  guint8  flags;
  guint16 n_fds;
  gdouble priority;
  guint64 request_id;
} CoprocWireHeader;

typedef struct
{
  guint   version;
  guint   minor;              /* 0 when the peer announces none */
  guint32 max_message_size;
} CoprocWireHandshake;

/* How many of a frame's descriptors are the message's own. */
static inline guint
coproc_wire_message_fds (const CoprocWireHeader *header)
{
  return header->n_fds - ((header->flags & COPROC_WIRE_FLAG_PAYLOAD_FD) ? 1 : 0);
}

static inline gsize
coproc_wire_pad8 (gsize n)
{
  return (n + 7) & ~(gsize) 7;
}

/* Size of the whole frame with this header, header included. */
static inline guint64
coproc_wire_frame_size (const CoprocWireHeader *header)
{
  guint64 size = COPROC_WIRE_HEADER_SIZE + coproc_wire_pad8 (header->channel_size);

  /* A payload passed in a file descriptor is not in the stream. */
  if (!(header->flags & COPROC_WIRE_FLAG_PAYLOAD_FD))
    size += coproc_wire_pad8 (header->payload_size);

  return size;
}

void      coproc_wire_write_handshake (guint8                 *out,
                                       guint                   minor,
                                       guint32                 max_message_size);
gboolean  coproc_wire_read_handshake  (const guint8           *in,
                                       CoprocWireHandshake    *handshake,
                                       GError                **error);

void      coproc_wire_write_header    (guint8                 *out,
                                       const CoprocWireHeader *header);
gboolean  coproc_wire_read_header     (const guint8           *in,
                                       CoprocWireHeader       *header,
                                       GError                **error);

gsize     coproc_wire_variant_size    (GVariant               *value);
void      coproc_wire_store_variant   (GVariant               *value,
                                       guint8                 *out);
GVariant *coproc_wire_load_variant    (GBytes                 *bytes,
                                       GError                **error);
GVariant *coproc_wire_load_variant_slice (GBytes              *chunk,
                                          gsize                offset,
                                          gsize                size,
                                          GError             **error);
/* The same, copying the value's data out of @data (@size bytes), which it
 * then does not reference. */
GVariant *coproc_wire_load_variant_copy  (const guint8        *data,
                                          gsize                size,
                                          GError             **error);

/* Whether every sequence of @size bytes is the normal form of a value of
 * type @type_string (@type_len characters, no NUL needed): true for arrays
 * of numbers and of tuples of numbers without padding when @size is a whole
 * number of elements, and for such a tuple or number when @size is its
 * size. Booleans, strings and anything with offsets or padding need a
 * check of their bytes. Senders and receivers share this one rule. */
gboolean  coproc_wire_data_always_normal (const char          *type_string,
                                          gsize                type_len,
                                          gsize                size);
/* Whether @value is in normal form, deciding without a walk through its
 * elements when coproc_wire_data_always_normal() allows. */
gboolean  coproc_wire_is_normal       (GVariant               *value);
/* Trades a reference to @value for one to its normal form (the same
 * value when it is normal already). */
GVariant *coproc_wire_take_normal     (GVariant               *value);
/* Keeps the type information of a value's type alive: GLib frees a
 * container type's information with the last value of that type and
 * builds it again (about 2 000 instructions) for the next one, so a
 * stream of values made and freed one at a time would pay that for each.
 * @value is an empty value of the type, which holds nothing else; basic
 * types need none. */
typedef struct
{
  GVariant   *value;         /* owned, may be NULL */
  const char *type_string;   /* @value's, shared by every value of its type */
} CoprocTypeAnchor;

/* Anchors @value's type in @anchor (when it is not anchored already). */
void      coproc_wire_anchor_type     (CoprocTypeAnchor       *anchor,
                                       GVariant               *value);
void      coproc_wire_anchor_clear    (CoprocTypeAnchor       *anchor);

/* Whether a receiver accepts how deeply @value nests (@type_string, of
 * @type_len characters, is its type). GLib loads untrusted data only
 * when, counting the value itself at depth 0 and each element, member or
 * child of a variant one deeper than its container, every part lies at a
 * depth below COPROC_WIRE_MAX_DEPTH and every variant at depth d holds a
 * value whose type is less than COPROC_WIRE_MAX_DEPTH - d deep (a basic
 * type is 1 deep, a container 1 more than its deepest member), and the
 * type string itself nests at most as deep as GLib's parser goes. Decided
 * from the type string for types without variants; the others are walked
 * where their size leaves room for too deep a nesting. */
gboolean  coproc_wire_nesting_is_acceptable (GVariant         *value,
                                             const char       *type_string,
                                             gsize             type_len);

/* The length of @type_string, and whether a variant lies in it: a type
 * without one, of at most COPROC_WIRE_MAX_DEPTH characters, always nests
 * acceptably. One pass, for the senders' hot path. */
static inline gsize
coproc_wire_type_scan (const char *type_string,
                       gboolean   *has_variant)
{
  gboolean variant = FALSE;
  gsize len;

  for (len = 0; type_string[len] != '\0'; len++)
    variant |= type_string[len] == 'v';

  *has_variant = variant;
  return len;
}

GVariant *coproc_wire_error_to_variant (const GError          *error);
/* The error an error frame's body (sis) describes, or NULL with
 * COPROC_ERROR_PROTOCOL when it is malformed. An error in a domain this
 * process does not know interns it, COPROC_WIRE_MAX_REMOTE_DOMAINS times
 * at most in the whole process; past that, and for coproc's own codes
 * other than COPROC_ERROR_CLOSE_REQUESTED, the error is
 * COPROC_ERROR_MESSAGE_NOT_RECOGNIZED, its message naming what was sent. */
GError   *coproc_wire_error_from_variant (GVariant            *body,
                                          GError             **error);

G_END_DECLS
