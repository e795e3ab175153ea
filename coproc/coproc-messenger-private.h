/* coproc-messenger-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "coproc-error.h"
#include "coproc-messenger.h"

G_BEGIN_DECLS

/* The environment variable naming the host's socket in a worker. */
#define COPROC_ENV_FD "COPROC_FD"
/* Set to "stdio" by a host whose worker talks over its standard input and
 * output; unset for a socket. */
#define COPROC_ENV_TRANSPORT "COPROC_TRANSPORT"
/* Set by a host that speaks protocol 1.2 or later to its minor version
 * ("2"): a worker that reads it announces its own in its handshake. */
#define COPROC_ENV_PROTOCOL_MINOR "COPROC_PROTOCOL_MINOR"

/* How a hang-up message is asked for. */
typedef enum
{
  COPROC_HANGUP_PEEK,  /* NULL while the cause is not known yet */
  COPROC_HANGUP_WAIT,  /* waits for the cause, a bounded time: blocking calls */
  COPROC_HANGUP_NOW,   /* what is known now, without waiting */
} CoprocHangupHow;

/* Returns the message of the hang-up error, newly allocated, or NULL for
 * the default one (with COPROC_HANGUP_PEEK: also while the cause is not
 * known yet). */
typedef char *(*CoprocHangupMessageFunc) (gpointer        user_data,
                                          CoprocHangupHow how);

/* Calls @callback on the thread-default context once the cause is known
 * (or @cancellable fires). */
typedef void (*CoprocHangupWatchFunc) (gpointer             user_data,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             callback_data);

/* How receive calls report the peer hanging up. WorkerResource sets
 * COPROC_ERROR_WORKER_DIED with a message naming the process and how it
 * ended, which it may learn a little after the hang-up: the messenger then
 * asks @watch_func (may be NULL) to tell it, and meanwhile neither fails
 * its async calls nor emits ::closed, so that the main loop never waits
 * for the cause. The messenger owns @user_data and frees it with
 * @destroy. */
void _coproc_messenger_set_hangup_error (CoprocMessenger         *self,
                                         CoprocError              code,
                                         CoprocHangupMessageFunc  message_func,
                                         CoprocHangupWatchFunc    watch_func,
                                         gpointer                 user_data,
                                         GDestroyNotify           destroy);

/* A messenger over @fd, a connected Unix stream socket it takes. */
CoprocMessenger *_coproc_messenger_new_for_socket_fd (GType    messenger_type,
                                                      int      fd,
                                                      GError **error);
/* The same, announcing protocol minor version @announce_minor in the
 * handshake (only to a peer known to read it: a 1.0 peer refuses it), the
 * peer known to speak @peer_minor from elsewhere (0: nothing known). */
CoprocMessenger *_coproc_messenger_new_for_socket_fd_full (GType    messenger_type,
                                                           int      fd,
                                                           guint    announce_minor,
                                                           guint    peer_minor,
                                                           GError **error);

/* The socket, or -1 for other streams and once closed. */
int _coproc_messenger_get_fd (CoprocMessenger *self);

/* Whether the queues are past max-queued-bytes, so input is held back. */
gboolean _coproc_messenger_input_held (CoprocMessenger *self);

/* Makes a pending hang-up report final now (waiting a bounded time for
 * its cause) and fails what waits for it, for a caller that waits without
 * the messenger's context. Does nothing unless the peer hung up. */
void _coproc_messenger_settle_hangup (CoprocMessenger *self);

/* Called once when an internal request ends: with the reply (borrowed) or
 * with @error (borrowed), at the moment it is read, by whichever call or
 * source reads the stream; so on no particular main context. */
typedef void (*CoprocRequestDoneFunc) (GVariant     *reply,
                                       const GError *error,
                                       gpointer      user_data);

/* coproc_messenger_request_async() for code of the library itself: @func
 * is called instead of completing a task. Returns FALSE with @error when
 * the request could not be sent; @func is then never called. Floating
 * @payload and @channel_id are sunk. */
gboolean _coproc_messenger_request_full (CoprocMessenger        *self,
                                         GVariant               *payload,
                                         GVariant               *channel_id,
                                         CoprocRequestDoneFunc   func,
                                         gpointer                user_data,
                                         GError                **error);

G_END_DECLS
