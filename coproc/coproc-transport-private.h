/* coproc-transport-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "coproc-frame-parser-private.h"

G_BEGIN_DECLS

/*
 * The transport room: everything between a messenger and its stream.
 *
 * A message's way, in one reading:
 *
 *   coproc_messenger_send_*()          messenger: normal form, accounting
 *     -> coproc_transport_send()       checks, the frame's way (inline, direct
 *                                      write or memfd), encoding (coproc-wire.c),
 *                                      the write buffer, descriptors
 *     -> the peer's transport          reads (a backend), parses (CoprocFrameParser)
 *     -> CoprocTransportCallbacks.frame
 *     -> the peer's messenger          specials, queues (coproc-channels.c), signals
 *
 * The transport owns the stream, the read buffer (in its parser), the write
 * buffer and its flush and high-water policy, the descriptors passed either
 * way, and the watch source on the owner's context. It reaches the stream
 * through one of two backends, chosen once when it is made: a Unix stream
 * socket (sendmsg/recvmsg: descriptors can be passed, large frames are
 * written from the payload's memory) or any GIOStream whose halves can be
 * polled (no descriptors). It reports to its owner through
 * CoprocTransportCallbacks, and knows nothing of channels, queues or
 * signals.
 */

/* The transport -------------------------------------------------------------
 *
 * Input: coproc_transport_pump() reads and parses until the stream would
 * block, a read budget is spent, or the owner stops it, and hands each
 * frame to the owner. The watch source does the same when the owner's
 * context runs (then with @in_dispatch set, so that the owner may emit
 * signals), for a few milliseconds of frames per dispatch at most (it
 * yields, ready again, and goes on in the next iteration), and also
 * writes buffered output.
 *
 * Parsing pauses when the owner returns FALSE from @frame or @dropped (a
 * special message waits to be surfaced, say) and stays paused until
 * coproc_transport_resume_parsing(): frames behind it stay buffered, and
 * the end of input is reported only once they are all delivered. While
 * paused, the watch reads nothing, and a send that must wait for the peer
 * still reads (without parsing) so that two peers sending to each other
 * never deadlock, but only up to the read-ahead bound, and not once the
 * peer's output ended.
 *
 * Output: a frame leaves at once when the stream has room, else waits in
 * the write buffer, which the watch, the owner's next call or
 * coproc_transport_flush() empties. Past a high-water mark a send blocks
 * until the peer has read enough, reading what the peer sends meanwhile.
 * Payloads passed in memfds count against that mark at their size until
 * the peer has read their frames (the kernel holds them meanwhile), and so
 * many descriptors may be on their way at once.
 *
 * A failed write does not end the transport: what the peer sent before is
 * still to be read. The failure is recorded, sends fail with it, and input
 * goes on until the peer's hang-up is read.
 */

/* What may be on its way to the peer before a send waits: bytes buffered
 * or in the kernel, payloads passed in descriptors counted at their size,
 * and descriptors the peer has not read yet. */
#define COPROC_TRANSPORT_SEND_HIGH_WATER   (16 * 1024 * 1024)
#define COPROC_TRANSPORT_MAX_FDS_IN_FLIGHT 64

typedef struct _CoprocTransport CoprocTransport;

/* How a transport reports to its owner. @owner is the object given to
 * coproc_transport_new(). Callbacks may re-enter the transport, and may
 * close it (coproc_transport_close()); the transport checks for that after
 * each call. */
typedef struct
{
  /* A frame arrived. @frame is the transport's (take what you keep with
   * references). Returns FALSE to pause parsing. */
  gboolean (*frame)      (GObject     *owner,
                          CoprocFrame *frame,
                          gboolean     in_dispatch);

  /* A frame was read but cannot be used: @error (transfer full) says why
   * (too large, unknown kind, malformed). Returns FALSE to pause parsing. */
  gboolean (*dropped)    (GObject     *owner,
                          GError      *error);

  /* Input has ended, once every frame before the end was delivered: the
   * peer hung up (@error NULL; @truncated when that cut a frame short), or
   * the stream broke or the peer broke the protocol (@error, transfer full,
   * says how). The owner closes the transport from here, with the error
   * the transport's calls fail with from then on. */
  void     (*lost)       (GObject     *owner,
                          gboolean     truncated,
                          GError      *error);

  /* Whether the transport may read more input now: FALSE while the owner
   * holds as much as it may (max-queued-bytes); the kernel then holds the
   * peer back. */
  gboolean (*want_input) (GObject     *owner);

  /* The transport is done with a batch of input (the stream would block,
   * the read budget is spent, parsing paused or input ended). The owner
   * serves what waited for input. Returns TRUE to have the transport parse
   * on at once (it resumed parsing for callers that still wait). */
  gboolean (*input_done) (GObject     *owner);
} CoprocTransportCallbacks;

/* Made for @stream (a reference is taken): a GSocketConnection, Unix
 * streams over one stream socket, or any stream whose halves can be polled
 * (else G_IO_ERROR_NOT_SUPPORTED). @callbacks must outlive the transport;
 * @owner is borrowed, and must free the transport before it goes away.
 * @max_message_size is announced in the handshake and bounds what is
 * received and sent; payloads of @large_threshold bytes or more go in a
 * memfd where the stream can pass descriptors (0: never). */
CoprocTransport *coproc_transport_new        (GIOStream                      *stream,
                                              guint32                         max_message_size,
                                              guint                           large_threshold,
                                              const CoprocTransportCallbacks *callbacks,
                                              GObject                        *owner,
                                              GError                        **error);

/* Writes the handshake and attaches the watch to @context. A write that
 * fails (the peer may already have hung up) is recorded as any other:
 * input is still read. */
void             coproc_transport_start      (CoprocTransport  *transport,
                                              GMainContext     *context);

/* Drops unsent output, closes every descriptor and the stream, and removes
 * the watch. From then on the transport's calls fail with a copy of @error.
 * Closing a closed transport does nothing. */
void             coproc_transport_close      (CoprocTransport  *transport,
                                              const GError     *error);
void             coproc_transport_free       (CoprocTransport  *transport);

gboolean         coproc_transport_is_closed  (CoprocTransport  *transport);

/* The socket of the socket backend; -1 for other streams and once closed. */
int              coproc_transport_get_fd     (CoprocTransport  *transport);

void             coproc_transport_set_max_message_size (CoprocTransport *transport,
                                                        guint32          max_message_size);
void             coproc_transport_set_large_threshold  (CoprocTransport *transport,
                                                        guint            large_threshold);
/* How long a send or a flush waits for the peer at most, in ms; 0: as
 * long as it takes. */
void             coproc_transport_set_send_timeout     (CoprocTransport *transport,
                                                        guint            send_timeout);

/* While parsing is paused, a send that waits for the peer reads ahead only
 * until this much is buffered (the owner's max-queued-bytes). */
void             coproc_transport_set_max_read_ahead   (CoprocTransport *transport,
                                                        guint64          max_read_ahead);

/* Fails with the closing error once closed, or with the write error once a
 * write failed. */
gboolean         coproc_transport_check_open (CoprocTransport  *transport,
                                              GError          **error);

/* A frame to send. */
typedef struct
{
  CoprocWireKind  kind;
  GVariant       *payload;      /* borrowed, normal form; NULL for a close request */
  GVariant       *channel_id;   /* borrowed, normal form; NULL for the default channel */
  gdouble         priority;
  guint64         request_id;   /* 0 when none */
  GUnixFDList    *fd_list;      /* borrowed, may be NULL: the message's own descriptors,
                                 * duplicated to go with the frame (protocol 1.2) */
} CoprocOutFrame;

/* Sends one frame. A frame with descriptors of its own waits for the
 * peer's handshake, and fails with G_IO_ERROR_NOT_SUPPORTED when the
 * stream cannot pass descriptors or the peer did not announce protocol
 * 1.2, with G_IO_ERROR_INVALID_ARGUMENT when there are more than
 * COPROC_WIRE_MAX_MESSAGE_FDS. Fails without sending when the type strings are too
 * long for the protocol or a value nests deeper than a receiver accepts
 * (G_IO_ERROR_INVALID_ARGUMENT), or the message is larger than ours or the
 * peer's limit (COPROC_ERROR_MESSAGE_TOO_LARGE). A send that must wait for
 * the peer stops waiting when @cancellable fires or the send timeout
 * passes: before any of the frame is buffered, it fails
 * (G_IO_ERROR_CANCELLED, _TIMED_OUT) and nothing is sent; after, it
 * succeeds, and the rest leaves later (a message never half leaves). */
gboolean         coproc_transport_send_frame (CoprocTransport      *transport,
                                              const CoprocOutFrame *frame,
                                              GCancellable         *cancellable,
                                              GError              **error);

/* coproc_transport_send_frame() of a frame without a request id, and
 * without a cancellable. */
gboolean         coproc_transport_send       (CoprocTransport  *transport,
                                              CoprocWireKind    kind,
                                              GVariant         *payload,
                                              GVariant         *channel_id,
                                              gdouble           priority,
                                              GError          **error);

/* Whether a write failed: the peer stopped reading (it is gone, or going);
 * what it sent before is still to be read, then its hang-up. */
gboolean         coproc_transport_write_failed (CoprocTransport *transport);

/* The minor protocol version the peer is known to speak
 * (coproc_frame_parser_get_peer_minor()). */
guint            coproc_transport_get_peer_minor (CoprocTransport *transport);

/* Before the transport starts: the minor version its handshake announces
 * (only to a peer known to read it), and what the peer is known to speak
 * from elsewhere (0: nothing). */
void             coproc_transport_set_minors     (CoprocTransport *transport,
                                                  guint            announce_minor,
                                                  guint            peer_minor);

/* Whether descriptors can travel over the stream (a Unix domain socket). */
gboolean         coproc_transport_passes_fds     (CoprocTransport *transport);

/* Whether output waits in the write buffer. */
gboolean         coproc_transport_has_output (CoprocTransport  *transport);

/* Writes what the stream takes now. */
gboolean         coproc_transport_flush_nonblocking (CoprocTransport  *transport,
                                                     GError          **error);

/* Blocks until all output is in the kernel, reading meanwhile; fails when
 * @cancellable fires or the send timeout passes (the output stays
 * buffered). */
gboolean         coproc_transport_flush      (CoprocTransport  *transport,
                                              GCancellable     *cancellable,
                                              GError          **error);

/* Reads and parses, at most @max_reads reads, handing frames to the owner. */
void             coproc_transport_pump       (CoprocTransport  *transport,
                                              guint             max_reads,
                                              gboolean          in_dispatch);

void             coproc_transport_resume_parsing (CoprocTransport *transport);

/* Once closed: replaces the error every call fails with. */
void             coproc_transport_set_closed_error (CoprocTransport *transport,
                                                    const GError    *error);

/* Blocks until the stream is readable (or writable, with @want_write), the
 * peer hangs up, or @cancellable is cancelled. Never touches the owner's
 * context. */
gboolean         coproc_transport_wait       (CoprocTransport  *transport,
                                              gboolean          want_read,
                                              gboolean          want_write,
                                              GCancellable     *cancellable,
                                              GError          **error);

/* Whether a caller that finds nothing queued may wait for input before
 * reading: nothing is buffered or to be flushed, so a read now could only
 * find what waiting would also reveal, and waiting costs no more than a
 * read. Saves a system call. */
gboolean         coproc_transport_can_wait_first (CoprocTransport *transport);

/* Has the watch poll for what there is to do now: input unless parsing is
 * paused or the owner wants none, output while some is buffered. */
void             coproc_transport_update_watch (CoprocTransport *transport);

G_END_DECLS
