/* coproc-messenger-state-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The state of a CoprocMessenger, shared by the two files that implement
 * it: coproc-messenger.c (the object: construction, properties, signals,
 * sending, what arrives from the transport, closing) and
 * coproc-messenger-receive.c (the receive calls and the async receives
 * waiting for messages). Nothing else includes this.
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
  GError          *closed_error;        /* once closed: what receives fail with when dry */
  GError          *closed_signal_error; /* once closed: for ::closed, NULL for a clean hang-up */

  CoprocError      hangup_code;         /* what the peer hanging up is reported as */
  CoprocHangupMessageFunc hangup_message_func; /* may be NULL: builds the message, once */
  gpointer         hangup_data;         /* owned, freed with @hangup_destroy */
  GDestroyNotify   hangup_destroy;

  guint            max_message_size;    /* :max-message-size, passed on to the transport */
  guint            large_threshold;     /* :large-message-threshold, passed on to the transport */
  guint            new_domains;         /* error domains interned for the peer, at most
                                         * MAX_NEW_DOMAINS */

  guint            closed : 1;          /* the peer is gone or we closed; so is the transport */
  guint            closed_emitted : 1;  /* ::closed was emitted: never again */
  guint            disposed : 1;        /* dispose ran: nothing waits or is emitted any more */
} CoprocMessengerPrivate;

/* The messenger's state (coproc-messenger.c). */
CoprocMessengerPrivate *_coproc_messenger_get_private  (CoprocMessenger *self);

/* coproc-messenger-receive.c: serves the async receives waiting, in call
 * order, from the queues, a pending special message, or the end of the
 * connection. */
void                    _coproc_messenger_complete_pending (CoprocMessenger *self);

/* Fails every async receive still waiting with a copy of @error. */
void                    _coproc_messenger_fail_pending     (CoprocMessenger *self,
                                                            const GError    *error);

G_END_DECLS
