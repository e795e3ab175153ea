/* coproc-frame-parser-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>
#include <gio/gunixfdlist.h>

#include "coproc-wire-private.h"

G_BEGIN_DECLS

/*
 * CoprocFrameParser, part of the transport room (coproc-transport-private.h),
 * turns the bytes (and file descriptors) read from the peer into frames:
 * the peer's handshake, then one frame after another. It owns the read
 * buffer: input is read straight into the space it hands out
 * (coproc_frame_parser_get_space() and _commit()). Large values it yields
 * reference that buffer without a copy; values under a quarter of it are
 * copied out, so that no small value kept long keeps a whole buffer alive.
 *
 * Nothing read is trusted: no size from a header is used for an allocation
 * before it is checked against max-message-size, and the buffer grows only
 * with what has actually arrived. A frame too large is skipped as it
 * streams past, never held.
 *
 * It does no I/O, so it can be fed bytes directly. Not thread-safe.
 */

typedef struct _CoprocFrameParser CoprocFrameParser;

/* A parsed frame. */
typedef struct
{
  CoprocWireKind  kind;
  gdouble         priority;     /* as sent: NaN is the receiver's to interpret */
  guint64         request_id;
  GVariant       *channel_id;   /* owned, normal form; NULL for the default channel */
  GVariant       *payload;      /* owned, normal form; NULL for a close request */
  gsize           payload_mapped; /* the memory of the mapping @payload lies in (a payload
                                   * passed in a memfd); 0 when it is not mapped */
  GUnixFDList    *fd_list;      /* owned, may be NULL: the message's own descriptors
                                 * (protocol 1.2); closed with the list */
} CoprocFrame;

typedef enum
{
  COPROC_PARSE_NEED_MORE,   /* no whole frame is buffered: read more */
  COPROC_PARSE_FRAME,       /* a frame was parsed */
  COPROC_PARSE_DROPPED,     /* a frame was consumed but is unusable: error set; go on */
  COPROC_PARSE_FATAL,       /* framing is lost: error set; the stream is unusable */
} CoprocParseResult;

/* At most this many descriptors may wait for their frames. */
#define COPROC_FRAME_PARSER_MAX_FDS 128

void               coproc_frame_clear                (CoprocFrame       *frame);

CoprocFrameParser *coproc_frame_parser_new           (guint32            max_message_size);
void               coproc_frame_parser_free          (CoprocFrameParser *parser);

/* Frames whose channel and payload together are larger are dropped. */
void               coproc_frame_parser_set_max_message_size (CoprocFrameParser *parser,
                                                             guint32            max_message_size);

/* Room for the next read: at least what the frame being parsed still lacks
 * (within reason: never more than about twice what has arrived), at the
 * end of the buffer. Write up to *@len bytes there, then commit them. */
guint8            *coproc_frame_parser_get_space     (CoprocFrameParser *parser,
                                                      gsize             *len);
void               coproc_frame_parser_commit        (CoprocFrameParser *parser,
                                                      gsize              n_bytes);

/* Takes @n_fds descriptors that arrived with the bytes committed next (or
 * last). Frames that announce a descriptor claim them in order. Fails with
 * COPROC_ERROR_PROTOCOL when more than COPROC_FRAME_PARSER_MAX_FDS would
 * wait: a fatal violation (the descriptors are kept, to be closed with the
 * parser). */
gboolean           coproc_frame_parser_add_fds       (CoprocFrameParser *parser,
                                                      const int         *fds,
                                                      guint              n_fds,
                                                      GError           **error);

/* Parses the next frame from what is buffered. On COPROC_PARSE_FRAME,
 * @frame is filled (the caller clears it); on COPROC_PARSE_DROPPED and
 * COPROC_PARSE_FATAL, @error is set. After a fatal result the parser must
 * not be used for parsing again. */
CoprocParseResult  coproc_frame_parser_next          (CoprocFrameParser *parser,
                                                      CoprocFrame       *frame,
                                                      GError           **error);

/* The bytes buffered and not parsed yet. */
gsize              coproc_frame_parser_get_buffered  (CoprocFrameParser *parser);

/* Whether nothing at all is buffered. */
gboolean           coproc_frame_parser_is_empty      (CoprocFrameParser *parser);

/* Whether part of a frame (or of the handshake) is buffered or being
 * skipped: the input would end in the middle of a message. */
gboolean           coproc_frame_parser_in_frame      (CoprocFrameParser *parser);

/* The largest message the peer accepts, from its handshake; 0 until the
 * handshake was parsed (and when the peer announces none). */
guint32            coproc_frame_parser_get_peer_max_message_size (CoprocFrameParser *parser);

/* The minor protocol version the peer is known to speak: what its
 * handshake announced (protocol 1.2), at least 1 once it sent a frame with
 * a non-zero request id (only protocol 1.1 senders write one), else 0. */
guint              coproc_frame_parser_get_peer_minor (CoprocFrameParser *parser);

/* Raises what the peer is known to speak to @minor: what the peer said
 * some other way (a worker's environment names its host's). */
void               coproc_frame_parser_set_peer_minor (CoprocFrameParser *parser,
                                                       guint              minor);

/* Whether the peer's handshake was parsed. */
gboolean           coproc_frame_parser_has_handshake (CoprocFrameParser *parser);

/* Closes every descriptor not claimed yet. */
void               coproc_frame_parser_close_fds     (CoprocFrameParser *parser);

G_END_DECLS
