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

/* Returns the message of the hang-up error, newly allocated, or NULL for
 * the default one. Called once, when the hang-up is read. */
typedef char *(*CoprocHangupMessageFunc) (gpointer user_data);

/* How receive calls report the peer hanging up. WorkerResource sets
 * COPROC_ERROR_WORKER_DIED with a message naming the process and how it
 * ended. The messenger owns @user_data and frees it with @destroy. */
void _coproc_messenger_set_hangup_error (CoprocMessenger         *self,
                                         CoprocError              code,
                                         CoprocHangupMessageFunc  message_func,
                                         gpointer                 user_data,
                                         GDestroyNotify           destroy);

/* A messenger over @fd, a connected Unix stream socket it takes. */
CoprocMessenger *_coproc_messenger_new_for_socket_fd (GType    messenger_type,
                                                      int      fd,
                                                      GError **error);

/* The socket, or -1 for other streams and once closed. */
int _coproc_messenger_get_fd (CoprocMessenger *self);

/* Whether the queues are past max-queued-bytes, so input is held back. */
gboolean _coproc_messenger_input_held (CoprocMessenger *self);

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
