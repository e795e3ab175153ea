/* coproc-messenger-state-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The state of a CoprocMessenger, shared by the files that implement it:
 * coproc-messenger.c (the object: construction, properties, signals,
 * sending, what arrives from the transport, closing),
 * coproc-messenger-receive.c (the receive calls and the async receives
 * waiting for messages) and coproc-messenger-request.c (correlated
 * requests and their replies). Nothing else includes this.
 */

#pragma once

#include "coproc-channels-private.h"
#include "coproc-error.h"
#include "coproc-messenger.h"
#include "coproc-messenger-private.h"
#include "coproc-transport-private.h"

G_BEGIN_DECLS

typedef struct
{
  /* All of this is touched only from the thread owning @context. */

  GIOStream       *stream;              /* owned; the end of the pipe we own (:stream) */
  GMainContext    *context;             /* owned; thread-default at construction: signals,
                                         * task callbacks and the transport's watch run there */
  CoprocTransport *transport;           /* owned; NULL until initialized: the stream's I/O,
                                         * buffers, parsing and watch */
  GSource         *closed_idle;         /* owned; pending emission of ::closed */

  CoprocChannels   channels;            /* the channel table, queues, counters and their bounds */

  GQueue           pending;             /* of PendingReceive, in call order */
  GError          *pending_special;     /* a remote error, close request or dropped frame not
                                         * surfaced yet; the transport's parsing is paused
                                         * while it is set */
  CoprocChannel   *pending_special_channel; /* borrowed, may be NULL: @pending_special is an
                                         * error reply to a plain request of this channel,
                                         * counted as its reply when surfaced */

  GHashTable      *requests;            /* guint64 id → PendingRequest: correlated requests
                                         * whose reply is still to come, also those whose
                                         * call gave up (their reply is then dropped) */
  GQueue           waiting_requests;    /* of PendingRequest, linked in place: the async
                                         * requests waiting, in call order */
  guint64          last_request_id;     /* the id of the last request sent; ids are never 0 */
  GError          *closed_error;        /* once closed: what receives fail with when dry */
  GError          *closed_signal_error; /* once closed: for ::closed, NULL for a clean hang-up */

  CoprocError      hangup_code;         /* what the peer hanging up is reported as */
  CoprocHangupMessageFunc hangup_message_func; /* may be NULL: builds the message */
  CoprocHangupWatchFunc hangup_watch_func; /* may be NULL: tells when the cause is known */
  GCancellable    *report_cancellable;  /* owned, while @report_pending: the watch */
  GSource         *report_timeout;      /* owned, while @report_pending: the fallback */
  gpointer         hangup_data;         /* owned, freed with @hangup_destroy */
  GDestroyNotify   hangup_destroy;

  guint            max_message_size;    /* :max-message-size, passed on to the transport */
  guint            large_threshold;     /* :large-message-threshold, passed on to the transport */
  guint            send_timeout;        /* :send-timeout in ms, passed on to the transport */
  guint            announce_minor;      /* the minor version to announce in the handshake
                                         * (only to a peer known to read it): passed on */
  guint            peer_minor;          /* what the peer speaks, known from elsewhere */

  guint            closed : 1;          /* the peer is gone or we closed; so is the transport */
  guint            closed_emitted : 1;  /* ::closed was emitted: never again */
  guint            disposed : 1;        /* dispose ran: nothing waits or is emitted any more */
  guint            report_pending : 1;  /* closed by a hang-up whose cause is not known yet:
                                         * @closed_error is provisional, and async calls
                                         * and ::closed wait for the final one */
  guint            report_truncated : 1; /* that hang-up cut a message short */
} CoprocMessengerPrivate;

/* The messenger's state (coproc-messenger.c). */
CoprocMessengerPrivate *_coproc_messenger_get_private  (CoprocMessenger *self);

/* What a blocking call that finds the messenger closed fails with: once
 * closed by a hang-up whose cause is still to be learnt, it waits for the
 * cause first (a bounded time). */
const GError           *_coproc_messenger_closed_error (CoprocMessenger *self);

/* coproc-messenger-receive.c: serves the async receives waiting, in call
 * order, from the queues, a pending special message, or the end of the
 * connection. */
void                    _coproc_messenger_complete_pending (CoprocMessenger *self);

/* Fails every async receive still waiting with a copy of @error. */
void                    _coproc_messenger_fail_pending     (CoprocMessenger *self,
                                                            const GError    *error);

/* What every receive call does first: pushes out pending output and moves
 * whatever has arrived into the queues, without signals. */
void                    _coproc_messenger_prepare_receive  (CoprocMessenger *self);

/* Whether a call that finds nothing to take may wait for input before
 * reading (coproc_transport_can_wait_first()). */
gboolean                _coproc_messenger_can_wait_first   (CoprocMessenger *self);

/* Hands the pending special message (transfer full) to the caller, counts
 * it as a reply when it answers a request, and lets parsing go on. */
GError                 *_coproc_messenger_steal_special    (CoprocMessenger *self);

/* Fails the caller with the pending special message, if there is one. */
gboolean                _coproc_messenger_take_special     (CoprocMessenger  *self,
                                                            GError          **error);

/* coproc-messenger.c: sends a data message; @payload and @channel_id are
 * sunk. A request carries @request_id, or a fresh one when it is 0. A
 * reply answers the request of @request_id, or when @answer_oldest the
 * oldest request taken on its channel and not answered yet. A wait for
 * the peer stops when @cancellable fires. */
gboolean                _coproc_messenger_send_data        (CoprocMessenger    *self,
                                                            CoprocMessageKind   kind,
                                                            GVariant           *payload,
                                                            GVariant           *channel_id,
                                                            gboolean            explicit_priority,
                                                            gdouble             priority,
                                                            guint64             request_id,
                                                            gboolean            answer_oldest,
                                                            GCancellable       *cancellable,
                                                            GError            **error);
/* The same, with the descriptors of @fd_list (may be NULL). */
gboolean                _coproc_messenger_send_data_full   (CoprocMessenger    *self,
                                                            CoprocMessageKind   kind,
                                                            GVariant           *payload,
                                                            GVariant           *channel_id,
                                                            gboolean            explicit_priority,
                                                            gdouble             priority,
                                                            guint64             request_id,
                                                            gboolean            answer_oldest,
                                                            GUnixFDList        *fd_list,
                                                            GCancellable       *cancellable,
                                                            GError            **error);

/* A fresh request id. */
guint64                 _coproc_messenger_next_request_id  (CoprocMessenger *self);

/* coproc-messenger-request.c: whether the reply @frame answers a
 * correlated request, which it then completes (or, when its call gave up,
 * is dropped). The reply is consumed: never queued, never signalled. */
gboolean                _coproc_messenger_take_reply       (CoprocMessenger *self,
                                                            CoprocFrame     *frame);

/* Whether the error reply @frame answers a correlated request, which then
 * fails with @remote (taken when TRUE is returned). */
gboolean                _coproc_messenger_take_error_reply (CoprocMessenger *self,
                                                            CoprocFrame     *frame,
                                                            GError          *remote);

/* Hands a pending special message to the oldest async request waiting
 * (when no async receive waits), and fails every request once closed. */
void                    _coproc_messenger_complete_requests (CoprocMessenger *self);

/* Fails every request still waiting with a copy of @error and forgets
 * every request whose reply is still to come. */
void                    _coproc_messenger_fail_requests    (CoprocMessenger *self,
                                                            const GError    *error);

/* Whether an async request waits. */
gboolean                _coproc_messenger_has_waiting_requests (CoprocMessenger *self);

G_END_DECLS
