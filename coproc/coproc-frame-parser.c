/* coproc-frame-parser.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The transport's frame parser: see coproc-frame-parser-private.h.
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "coproc-error.h"
#include "coproc-frame-parser-private.h"
#include "coproc-payload-fd-private.h"

#define READ_CHUNK_SIZE (128 * 1024)
#define PIN_RATIO       4   /* a value may keep a buffer this many times its size alive */

/* Channel ids recently received, by their encoding: a stream names the
 * same few channels again and again, and loading and validating an id
 * costs more than looking it up. Direct-mapped; only short encodings. */
#define ID_CACHE_SLOTS    64  /* a power of two */
#define ID_CACHE_MAX_SIZE 32  /* bytes of an encoding: value, NUL, type string */

typedef struct
{
  GVariant *value;                      /* owned, normal form; NULL: an empty slot */
  guint8    size;                       /* of @encoding */
  guint8    encoding[ID_CACHE_MAX_SIZE];  /* what @value was loaded from */
} CachedId;

struct _CoprocFrameParser
{
  /* Incoming bytes are [start, end) of @buf (@size bytes). Once a value
   * references the buffer, @chunk owns it and nothing before @end is ever
   * written again; the next growth starts a new buffer. */
  guint8  *buf;
  gsize    size;
  gsize    start;
  gsize    end;
  GBytes  *chunk;                  /* owned, may be NULL; owns @buf when set */
  gsize    need;                   /* bytes the frame being parsed still lacks */
  guint64  skip_bytes;             /* body bytes of a dropped, oversized frame still to discard */
  GArray  *fds;                    /* of int, owned: received, not claimed by a frame yet */
  guint32  max_message_size;       /* larger frames (channel + payload) are dropped */
  guint32  peer_max_message_size;  /* from the peer's handshake; 0 until then */
  guint    peer_minor;             /* the minor protocol version the peer is known to speak */
  guint    handshake_done : 1;

  CachedId  ids[ID_CACHE_SLOTS];
  CoprocTypeAnchor payload_anchor; /* keeps the type of the last payload
                                    * alive (coproc_wire_anchor_type()) */
};

void
coproc_frame_clear (CoprocFrame *frame)
{
  g_clear_pointer (&frame->channel_id, g_variant_unref);
  g_clear_pointer (&frame->payload, g_variant_unref);
  g_clear_object (&frame->fd_list);
  frame->payload_mapped = 0;
}

CoprocFrameParser *
coproc_frame_parser_new (guint32 max_message_size)
{
  CoprocFrameParser *parser = g_new0 (CoprocFrameParser, 1);

  parser->fds = g_array_new (FALSE, FALSE, sizeof (int));
  parser->max_message_size = max_message_size;

  return parser;
}

void
coproc_frame_parser_close_fds (CoprocFrameParser *parser)
{
  for (guint i = 0; i < parser->fds->len; i++)
    close (g_array_index (parser->fds, int, i));
  g_array_set_size (parser->fds, 0);
}

void
coproc_frame_parser_free (CoprocFrameParser *parser)
{
  if (parser == NULL)
    return;

  coproc_frame_parser_close_fds (parser);
  g_array_unref (parser->fds);
  for (guint i = 0; i < ID_CACHE_SLOTS; i++)
    g_clear_pointer (&parser->ids[i].value, g_variant_unref);
  coproc_wire_anchor_clear (&parser->payload_anchor);
  if (parser->chunk != NULL)
    g_bytes_unref (parser->chunk);
  else
    g_free (parser->buf);
  g_free (parser);
}

void
coproc_frame_parser_set_max_message_size (CoprocFrameParser *parser,
                                          guint32            max_message_size)
{
  parser->max_message_size = max_message_size;
}

guint32
coproc_frame_parser_get_peer_max_message_size (CoprocFrameParser *parser)
{
  return parser->peer_max_message_size;
}

guint
coproc_frame_parser_get_peer_minor (CoprocFrameParser *parser)
{
  return parser->peer_minor;
}

void
coproc_frame_parser_set_peer_minor (CoprocFrameParser *parser,
                                    guint              minor)
{
  parser->peer_minor = MAX (parser->peer_minor, minor);
}

gboolean
coproc_frame_parser_has_handshake (CoprocFrameParser *parser)
{
  return parser->handshake_done;
}

gsize
coproc_frame_parser_get_buffered (CoprocFrameParser *parser)
{
  return parser->end - parser->start;
}

gboolean
coproc_frame_parser_is_empty (CoprocFrameParser *parser)
{
  return parser->end == parser->start;
}

gboolean
coproc_frame_parser_in_frame (CoprocFrameParser *parser)
{
  return parser->end > parser->start || parser->skip_bytes > 0;
}

/* Makes room for @need bytes after @end, keeping [start, end). */
static void
reserve (CoprocFrameParser *parser,
         gsize              need)
{
  gsize used = parser->end - parser->start;
  gsize size;

  if (parser->size - parser->end >= need)
    return;

  if (parser->chunk == NULL && parser->size - used >= need)
    {
      memmove (parser->buf, parser->buf + parser->start, used);
      parser->start = 0;
      parser->end = used;
      return;
    }

  size = MAX (READ_CHUNK_SIZE, used + need);
  size = coproc_wire_pad8 (size);

  if (parser->chunk == NULL)
    {
      if (parser->start > 0)
        memmove (parser->buf, parser->buf + parser->start, used);
      parser->buf = g_realloc (parser->buf, size);
    }
  else
    {
      guint8 *fresh = g_malloc (size);

      /* Values still reference the old buffer through the chunk. */
      memcpy (fresh, parser->buf + parser->start, used);
      g_clear_pointer (&parser->chunk, g_bytes_unref);
      parser->buf = fresh;
    }

  parser->size = size;
  parser->start = 0;
  parser->end = used;
}

guint8 *
coproc_frame_parser_get_space (CoprocFrameParser *parser,
                               gsize             *len)
{
  /* Room for what the current frame lacks, but never more than doubling
   * what has actually arrived: a claimed length alone allocates nothing. */
  reserve (parser, MIN (MAX (parser->need, READ_CHUNK_SIZE / 2),
                        MAX (READ_CHUNK_SIZE, parser->end - parser->start)));

  *len = parser->size - parser->end;
  return parser->buf + parser->end;
}

void
coproc_frame_parser_commit (CoprocFrameParser *parser,
                            gsize              n_bytes)
{
  g_assert (n_bytes <= parser->size - parser->end);

  parser->end += n_bytes;
}

gboolean
coproc_frame_parser_add_fds (CoprocFrameParser  *parser,
                             const int          *fds,
                             guint               n_fds,
                             GError            **error)
{
  g_array_append_vals (parser->fds, fds, n_fds);

  if (parser->fds->len > COPROC_FRAME_PARSER_MAX_FDS)
    {
      g_set_error_literal (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                           "The peer passed file descriptors out of protocol");
      return FALSE;
    }

  return TRUE;
}

/* The buffer as a GBytes that values loaded from it reference (transfer
 * none). */
static GBytes *
buffer_chunk (CoprocFrameParser *parser)
{
  if (parser->chunk == NULL)
    parser->chunk = g_bytes_new_with_free_func (parser->buf, parser->size, g_free, parser->buf);

  return parser->chunk;
}

static inline gsize
buffered (CoprocFrameParser *parser)
{
  return parser->end - parser->start;
}

/* Nothing was read yet when there is no buffer: NULL + 0 is undefined. */
static inline const guint8 *
buffered_data (CoprocFrameParser *parser)
{
  return parser->buf != NULL ? parser->buf + parser->start : NULL;
}

static int
claim_fd (CoprocFrameParser *parser)
{
  int fd = g_array_index (parser->fds, int, 0);

  g_array_remove_index (parser->fds, 0);
  return fd;
}

/* The message's own descriptors, @n of them, next in line, in a list
 * that owns them. */
static GUnixFDList *
claim_message_fds (CoprocFrameParser *parser,
                   guint              n)
{
  GUnixFDList *list = g_unix_fd_list_new_from_array ((const int *) parser->fds->data, n);

  g_array_remove_range (parser->fds, 0, n);
  return list;
}

/* Stage 1: the peer's handshake, once. */
static CoprocParseResult
parse_handshake (CoprocFrameParser  *parser,
                 GError            **error)
{
  CoprocWireHandshake handshake;

  if (buffered (parser) < COPROC_WIRE_HANDSHAKE_SIZE)
    {
      parser->need = COPROC_WIRE_HANDSHAKE_SIZE - buffered (parser);
      return COPROC_PARSE_NEED_MORE;
    }

  if (!coproc_wire_read_handshake (buffered_data (parser), &handshake, error))
    return COPROC_PARSE_FATAL;

  parser->handshake_done = TRUE;
  parser->peer_max_message_size = handshake.max_message_size;
  parser->peer_minor = MAX (parser->peer_minor, handshake.minor);
  parser->start += COPROC_WIRE_HANDSHAKE_SIZE;
  return COPROC_PARSE_FRAME;
}

/* Stage 2: discards what is left of a dropped frame's body. Returns FALSE
 * while more of it is still to come. */
static gboolean
skip_dropped (CoprocFrameParser *parser)
{
  gsize n = MIN (parser->skip_bytes, buffered (parser));

  parser->skip_bytes -= n;
  parser->start += n;
  if (parser->skip_bytes == 0)
    return TRUE;

  /* Discard what we have; read on into an empty buffer. */
  parser->start = parser->end = parser->chunk ? parser->end : 0;
  return FALSE;
}

/* Stage 3: the next header, decoded and checked. @header_error receives
 * an unknown kind, which only drops the frame once it has been skipped. */
static CoprocParseResult
parse_header (CoprocFrameParser  *parser,
              CoprocWireHeader   *header,
              GError            **header_error,
              GError            **error)
{
  if (buffered (parser) < COPROC_WIRE_HEADER_SIZE)
    {
      parser->need = COPROC_WIRE_HEADER_SIZE - buffered (parser);
      return COPROC_PARSE_NEED_MORE;
    }

  if (!coproc_wire_read_header (buffered_data (parser), header, header_error) &&
      !g_error_matches (*header_error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED))
    {
      g_propagate_error (error, g_steal_pointer (header_error));
      return COPROC_PARSE_FATAL;
    }

  /* A frame's descriptors arrived with its first byte. */
  if (header->n_fds > parser->fds->len)
    {
      g_set_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL,
                   "A message announced %u file descriptors, and only %u arrived",
                   (guint) header->n_fds, parser->fds->len);
      return COPROC_PARSE_FATAL;
    }

  return COPROC_PARSE_FRAME;
}

/* Stage 4: a frame over the size limit is dropped before any of its body
 * is held; framing is intact, so the body is skipped as it streams past. */
static CoprocParseResult
drop_oversized (CoprocFrameParser       *parser,
                const CoprocWireHeader  *header,
                GError                 **error)
{
  guint64 size = (guint64) header->channel_size + header->payload_size;

  if (size <= parser->max_message_size)
    return COPROC_PARSE_FRAME;

  for (guint i = 0; i < header->n_fds; i++)
    close (claim_fd (parser));
  parser->start += COPROC_WIRE_HEADER_SIZE;
  parser->skip_bytes = coproc_wire_frame_size (header) - COPROC_WIRE_HEADER_SIZE;
  g_set_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE,
               "Dropped a message of %" G_GUINT64_FORMAT " bytes from the peer: "
               "the maximum is %u bytes", size, parser->max_message_size);
  return COPROC_PARSE_DROPPED;
}

/* A value encoded in [@offset, @offset + @size) of the buffer. A value
 * kept references what it was loaded from: a small one (a message left
 * queued, a channel id in the channel table) would keep a whole read
 * buffer alive. So values under a quarter of the buffer are copied out,
 * and those that reference it are at least a quarter of it: the memory
 * held stays within four times the values' own. */
static GVariant *
load_value (CoprocFrameParser  *parser,
            gsize               offset,
            gsize               size,
            GError            **error)
{
  if (size < parser->size / PIN_RATIO)
    return coproc_wire_load_variant_copy (parser->buf + offset, size, error);

  return coproc_wire_load_variant_slice (buffer_chunk (parser), offset, size, error);
}

/* A channel id encoded in [@offset, @offset + @size) of the buffer: the
 * one loaded from the same bytes before, when the cache still holds it
 * (the same bytes are the same valid value), else loaded and cached. */
static GVariant *
load_channel_id (CoprocFrameParser  *parser,
                 gsize               offset,
                 gsize               size,
                 GError            **error)
{
  const guint8 *encoding = parser->buf + offset;
  CachedId *slot;
  GVariant *value;
  guint hash = 5381;

  /* A value that references the buffer is not kept: it would pin it. */
  if (size > ID_CACHE_MAX_SIZE || size >= parser->size / PIN_RATIO)
    return load_value (parser, offset, size, error);

  for (gsize i = 0; i < size; i++)
    hash = hash * 33 + encoding[i];
  slot = &parser->ids[(hash ^ (hash >> 7)) & (ID_CACHE_SLOTS - 1)];

  if (slot->value != NULL && slot->size == size && memcmp (slot->encoding, encoding, size) == 0)
    return g_variant_ref (slot->value);

  value = load_value (parser, offset, size, error);
  if (value == NULL)
    return NULL;

  g_clear_pointer (&slot->value, g_variant_unref);
  slot->value = g_variant_ref (value);
  slot->size = (guint8) size;
  memcpy (slot->encoding, encoding, size);
  return value;
}

/* Stage 5: the values of a whole frame, loaded from the buffer (or mapped
 * from the frame's descriptor) and validated. */
static gboolean
load_values (CoprocFrameParser       *parser,
             const CoprocWireHeader  *header,
             CoprocFrame             *frame,
             GError                 **error)
{
  gsize body = parser->start + COPROC_WIRE_HEADER_SIZE;
  int fd = -1;

  /* The frame's descriptor goes with it whatever happens, never left for
   * the next frame to claim. */
  if (header->flags & COPROC_WIRE_FLAG_PAYLOAD_FD)
    fd = claim_fd (parser);
  if (header->flags & COPROC_WIRE_FLAG_MESSAGE_FDS)
    frame->fd_list = claim_message_fds (parser, coproc_wire_message_fds (header));

  if (header->channel_size > 0)
    {
      frame->channel_id = load_channel_id (parser, body, header->channel_size, error);
      if (frame->channel_id == NULL)
        {
          if (fd >= 0)
            close (fd);
          return FALSE;
        }
    }

  if (fd >= 0)
    {
      g_autoptr(GBytes) bytes = coproc_payload_fd_take (fd, header->payload_size,
                                                        &frame->payload_mapped, error);

      if (bytes == NULL)
        return FALSE;
      frame->payload = coproc_wire_load_variant (bytes, error);
    }
  else if (header->payload_size > 0)
    {
      frame->payload = load_value (parser, body + coproc_wire_pad8 (header->channel_size),
                                   header->payload_size, error);
    }

  if (frame->payload != NULL)
    coproc_wire_anchor_type (&parser->payload_anchor, frame->payload);

  return header->payload_size == 0 || frame->payload != NULL;
}

/* Kept out of line, so that the common call that finds nothing stays
 * cheap. */
G_GNUC_NO_INLINE static CoprocParseResult
parse_next (CoprocFrameParser  *parser,
            CoprocFrame        *frame,
            GError            **error)
{
  CoprocWireHeader header;
  CoprocParseResult result;
  guint64 frame_size;
  g_autoptr(GError) header_error = NULL;

  parser->need = 0;

  if (!parser->handshake_done && (result = parse_handshake (parser, error)) != COPROC_PARSE_FRAME)
    return result;

  if (parser->skip_bytes > 0 && !skip_dropped (parser))
    return COPROC_PARSE_NEED_MORE;

  if ((result = parse_header (parser, &header, &header_error, error)) != COPROC_PARSE_FRAME ||
      (result = drop_oversized (parser, &header, error)) != COPROC_PARSE_FRAME)
    return result;

  frame_size = coproc_wire_frame_size (&header);
  if (buffered (parser) < frame_size)
    {
      parser->need = frame_size - buffered (parser);
      return COPROC_PARSE_NEED_MORE;
    }

  if (header_error != NULL)
    {
      /* An unknown kind: skip it, report it, go on. */
      parser->start += frame_size;
      g_propagate_error (error, g_steal_pointer (&header_error));
      return COPROC_PARSE_DROPPED;
    }

  frame->kind = header.kind;
  frame->priority = header.priority;
  frame->request_id = header.request_id;
  if (header.request_id != 0)
    parser->peer_minor = MAX (parser->peer_minor, 1);

  if (!load_values (parser, &header, frame, error))
    {
      parser->start += frame_size;
      coproc_frame_clear (frame);
      return COPROC_PARSE_DROPPED;
    }

  parser->start += frame_size;
  return COPROC_PARSE_FRAME;
}

CoprocParseResult
coproc_frame_parser_next (CoprocFrameParser  *parser,
                          CoprocFrame        *frame,
                          GError            **error)
{
  gsize available = buffered (parser);

  /* Most calls find a whole frame or nothing at all: say so at once when
   * not even a header is there. */
  if (available < COPROC_WIRE_HEADER_SIZE && parser->handshake_done && parser->skip_bytes == 0)
    {
      parser->need = COPROC_WIRE_HEADER_SIZE - available;
      return COPROC_PARSE_NEED_MORE;
    }

  return parse_next (parser, frame, error);
}
