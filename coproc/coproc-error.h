/* coproc-error.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include <glib.h>

#include "coproc-version-macros.h"

G_BEGIN_DECLS

/**
 * COPROC_ERROR:
 *
 * The error domain of coproc: errors in this domain come from the
 * [enum@Coproc.Error] enumeration.
 *
 * Since: 1.0
 */
#define COPROC_ERROR (coproc_error_quark ())

/**
 * CoprocError:
 * @COPROC_ERROR_CLOSE_REQUESTED: the peer sent a close request (the original
 *   library's `ResourceRequestedClose`)
 * @COPROC_ERROR_MESSAGE_NOT_RECOGNIZED: the peer sent a message of a kind this
 *   version does not know
 * @COPROC_ERROR_CLOSED: the peer hung up, or the stream is closed or broken
 * @COPROC_ERROR_PROTOCOL: the peer sent malformed or hostile data (bad
 *   handshake, bad frame, malformed body); the connection is unusable afterwards
 * @COPROC_ERROR_MESSAGE_TOO_LARGE: a message is larger than the messenger's
 *   [property@Coproc.Messenger:max-message-size]
 * @COPROC_ERROR_WORKER_ALREADY_ALIVE: the worker was started while it is
 *   still running
 * @COPROC_ERROR_WORKER_ALREADY_DEAD: the worker was joined or terminated while
 *   it is not running
 * @COPROC_ERROR_WORKER_DEAD: the worker is not running, so the operation
 *   cannot be done
 * @COPROC_ERROR_WORKER_DIED: the worker process ended while the host was
 *   waiting on it
 * @COPROC_ERROR_QUEUE_FULL: the queues hold more than
 *   [property@Coproc.Messenger:max-queued-bytes] and the call would have to
 *   read more from the peer to finish
 * @COPROC_ERROR_POOL_FAILED: a [class@Coproc.WorkerPool] gave up: its
 *   workers were restarted more often than
 *   [property@Coproc.WorkerPool:max-restarts] allows (since 1.2)
 *
 * Error codes in the `COPROC_ERROR` domain. Codes are never renumbered;
 * new ones are only appended.
 *
 * Since: 1.0
 */
typedef enum
{
  COPROC_ERROR_CLOSE_REQUESTED,
  COPROC_ERROR_MESSAGE_NOT_RECOGNIZED,
  COPROC_ERROR_CLOSED,
  COPROC_ERROR_PROTOCOL,
  COPROC_ERROR_MESSAGE_TOO_LARGE,
  COPROC_ERROR_WORKER_ALREADY_ALIVE,
  COPROC_ERROR_WORKER_ALREADY_DEAD,
  COPROC_ERROR_WORKER_DEAD,
  COPROC_ERROR_WORKER_DIED,
  COPROC_ERROR_QUEUE_FULL,
  COPROC_ERROR_POOL_FAILED,
} CoprocError;

COPROC_AVAILABLE_IN_ALL
GQuark coproc_error_quark (void);

G_END_DECLS
