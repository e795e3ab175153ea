/* coproc-messenger.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>

#include "coproc-enums.h"
#include "coproc-error.h"
#include "coproc-message-private.h"
#include "coproc-messenger-private.h"
#include "coproc-messenger-state-private.h"
#include "coproc-wire-private.h"

/**
 * CoprocMessenger:
 *
 * One end of a message pipe between a host and a worker.
 *
 * A messenger owns one end of a bidirectional stream (normally a socket
 * pair), the queues of messages that arrived on it, and per-channel counters.
 * Messages are `GVariant` payloads sent on *channels* (any `GVariant`, or
 * `NULL` for the default channel), as plain messages, requests or replies;
 * errors and close requests travel beside them and are raised by the peer's
 * next receive call.
 *
 * `CoprocMessenger` is abstract: use [class@Coproc.PriorityMessenger], where
 * each channel is a priority queue, or [class@Coproc.MultiMessenger], where
 * each channel is a plain FIFO. Subclasses decide how a message is queued by
 * overriding [vfunc@Coproc.Messenger.queue_message].
 *
 * A messenger watches its stream from the `GMainContext` that was the
 * thread-default one when it was made. While that context runs, arriving
 * messages are offered to [signal@Coproc.Messenger::message-received]; a
 * handler that returns `TRUE` consumes the message, otherwise it stays queued
 * for the receive calls. The blocking calls never iterate that context.
 *
 * Sends never block while the socket has room: the frame is in the kernel
 * when the call returns. When the peer lags, frames wait in an outgoing
 * buffer and leave in large writes; past 16 MiB of buffered output a send
 * waits, reading what the peer sends meanwhile so that two peers sending
 * to each other cannot deadlock. [property@Coproc.Messenger:send-timeout]
 * bounds that wait, and [method@Coproc.Messenger.send_cancellable] can be
 * cancelled.
 *
 * A messenger is not thread-safe: use it from the thread that owns its
 * context.
 *
 * See [Messaging between processes](messaging.html) for a tour with
 * examples in C, Python, JavaScript and Vala, [Main loop
 * integration](mainloop.html), and [the wire protocol](protocol.html).
 *
 * Since: 1.0
 */

#define DEFAULT_MAX_QUEUED_BYTES (256 * 1024 * 1024)
#define DEFAULT_LARGE_MESSAGE_THRESHOLD (1024 * 1024)

static void coproc_messenger_initable_iface_init (GInitableIface *iface);

G_DEFINE_ABSTRACT_TYPE_WITH_CODE (CoprocMessenger, coproc_messenger, G_TYPE_OBJECT,
                                  G_ADD_PRIVATE (CoprocMessenger)
                                  G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                         coproc_messenger_initable_iface_init))

CoprocMessengerPrivate *
_coproc_messenger_get_private (CoprocMessenger *self)
{
  return coproc_messenger_get_instance_private (self);
}

enum {
  PROP_0,
  PROP_STREAM,
  PROP_MAX_MESSAGE_SIZE,
  PROP_MAX_QUEUED_BYTES,
  PROP_LARGE_MESSAGE_THRESHOLD,
  PROP_SEND_TIMEOUT,
  N_PROPS
};

enum {
  MESSAGE_RECEIVED,
  ERROR_RECEIVED,
  CLOSE_REQUESTED,
  CLOSED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* Closing ----------------------------------------------------------------- */

static gboolean
emit_closed_cb (gpointer user_data)
{
  CoprocMessenger *self = user_data;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_clear_pointer (&priv->closed_idle, g_source_unref);

  /* After a hang-up whose cause came late, the async calls that waited
   * for it fail first. */
  if (!priv->disposed)
    {
      _coproc_messenger_complete_pending (self);
      _coproc_messenger_complete_requests (self);
    }

  if (!priv->closed_emitted && !priv->disposed)
    {
      priv->closed_emitted = TRUE;
      g_signal_emit (self, signals[CLOSED], 0, priv->closed_signal_error);
    }

  return G_SOURCE_REMOVE;
}

static void
schedule_closed (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (!priv->disposed && !priv->closed_emitted && priv->closed_idle == NULL)
    {
      priv->closed_idle = g_idle_source_new ();
      g_source_set_static_name (priv->closed_idle, "[coproc] messenger closed");
      g_source_set_callback (priv->closed_idle, emit_closed_cb,
                             g_object_ref (self), g_object_unref);
      g_source_attach (priv->closed_idle, priv->context);
    }
}

/* The one path for losing the peer: records why, closes the transport
 * (which releases the stream), and schedules ::closed on the owner's
 * context (once the cause of a hang-up is known). Pending receives fail
 * once the queue they wait on is dry. */
static void
mark_closed (CoprocMessenger *self,
             GError          *receive_error,
             GError          *signal_error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->closed)
    {
      g_clear_error (&receive_error);
      g_clear_error (&signal_error);
      return;
    }

  priv->closed = TRUE;
  priv->closed_error = receive_error;
  priv->closed_signal_error = signal_error;

  if (priv->transport != NULL)
    coproc_transport_close (priv->transport, receive_error);

  if (!priv->report_pending)
    schedule_closed (self);
}

static void
mark_failed (CoprocMessenger *self,
             GError          *error)
{
  mark_closed (self, g_error_copy (error), error);
}

/* The error of the peer hanging up, cut short in a message or not; NULL
 * with COPROC_HANGUP_PEEK while its cause is not known yet. */
static GError *
hangup_error (CoprocMessenger *self,
              CoprocHangupHow  how,
              gboolean         truncated)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  g_autofree char *message = NULL;

  if (priv->hangup_message_func != NULL)
    {
      message = priv->hangup_message_func (priv->hangup_data, how);
      if (message == NULL && how == COPROC_HANGUP_PEEK && priv->hangup_watch_func != NULL)
        return NULL;
    }

  if (message == NULL)
    message = g_strdup ("The peer closed the connection");

  if (truncated)
    return g_error_new (COPROC_ERROR, priv->hangup_code, "%s in the middle of a message",
                        message);
  return g_error_new_literal (COPROC_ERROR, priv->hangup_code, message);
}

/* Death reports ------------------------------------------------------------
 *
 * A worker's socket closes as its process ends, and GLib learns the exit
 * status a little later. A blocking call that reads the hang-up waits for
 * it (a bounded time, in the message function). The watch, which runs on
 * the owner's context, must not: it closes the messenger at once with a
 * provisional error, and the async calls and ::closed wait until the
 * status is known (the hang-up watch tells) or REPORT_TIMEOUT_MS passed. */

#define REPORT_TIMEOUT_MS 100

/* Makes the error final: computed as @how says. The async calls that wait
 * fail, and ::closed is emitted, from the owner's context. */
static void
settle_report (CoprocMessenger *self,
               CoprocHangupHow  how)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  GError *error;

  if (!priv->report_pending)
    return;

  priv->report_pending = FALSE;
  g_cancellable_cancel (priv->report_cancellable);
  g_clear_object (&priv->report_cancellable);
  if (priv->report_timeout != NULL)
    {
      g_source_destroy (priv->report_timeout);
      g_clear_pointer (&priv->report_timeout, g_source_unref);
    }

  error = hangup_error (self, how, priv->report_truncated);
  g_clear_error (&priv->closed_error);
  priv->closed_error = error;
  if (priv->report_truncated)
    {
      g_clear_error (&priv->closed_signal_error);
      priv->closed_signal_error = g_error_copy (error);
    }
  if (priv->transport != NULL)
    coproc_transport_set_closed_error (priv->transport, error);

  schedule_closed (self);
}

static gboolean
report_timeout_cb (gpointer user_data)
{
  settle_report (user_data, COPROC_HANGUP_NOW);
  return G_SOURCE_REMOVE;
}

static void
report_known_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GWeakRef *ref = user_data;
  g_autoptr(CoprocMessenger) self = g_weak_ref_get (ref);

  g_weak_ref_clear (ref);
  g_free (ref);

  if (self != NULL)
    settle_report (self, COPROC_HANGUP_NOW);
}

/* Closes on a hang-up, waiting for nothing. */
static void
close_on_hangup (CoprocMessenger *self,
                 gboolean         truncated)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  GError *error = hangup_error (self, COPROC_HANGUP_PEEK, truncated);
  GWeakRef *ref;

  if (error != NULL)
    {
      if (truncated)
        mark_failed (self, error);
      else
        mark_closed (self, error, NULL);
      return;
    }

  priv->report_pending = TRUE;
  priv->report_truncated = !!truncated;
  priv->report_cancellable = g_cancellable_new ();
  mark_closed (self, hangup_error (self, COPROC_HANGUP_NOW, truncated), NULL);

  priv->report_timeout = g_timeout_source_new (REPORT_TIMEOUT_MS);
  g_source_set_static_name (priv->report_timeout, "[coproc] death report timeout");
  g_source_set_callback (priv->report_timeout, report_timeout_cb, self, NULL);
  g_source_attach (priv->report_timeout, priv->context);

  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  g_main_context_push_thread_default (priv->context);
  priv->hangup_watch_func (priv->hangup_data, priv->report_cancellable, report_known_cb, ref);
  g_main_context_pop_thread_default (priv->context);
}

/* For a caller that waits without the owner's context (a blocking call
 * of the worker pool): makes a pending death report final now, waiting a
 * bounded time for its cause, and fails the async calls that wait for it,
 * at once rather than from the owner's context. */
void
_coproc_messenger_settle_hangup (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (!priv->closed || priv->disposed)
    return;

  settle_report (self, COPROC_HANGUP_WAIT);
  g_object_ref (self);
  _coproc_messenger_complete_pending (self);
  _coproc_messenger_complete_requests (self);
  g_object_unref (self);
}

const GError *
_coproc_messenger_closed_error (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  settle_report (self, COPROC_HANGUP_WAIT);
  return priv->closed_error;
}

/* Incoming frames ---------------------------------------------------------- */

static gboolean
has_handler (CoprocMessenger *self,
             guint            signal_id,
             gboolean         class_handler)
{
  return class_handler || g_signal_has_handler_pending (self, signals[signal_id], 0, FALSE);
}

static CoprocMessageKind
message_kind (CoprocWireKind kind)
{
  switch (kind)
    {
    case COPROC_WIRE_KIND_REQUEST:
      return COPROC_MESSAGE_KIND_REQUEST;
    case COPROC_WIRE_KIND_REPLY:
      return COPROC_MESSAGE_KIND_REPLY;
    default:
      return COPROC_MESSAGE_KIND_NOREQUEST;
    }
}

/* A data message: offered to ::message-received when @emit, queued unless
 * a handler consumed it. Returns whether parsing may go on. */
static gboolean
deliver_data (CoprocMessenger *self,
              CoprocFrame     *frame,
              gboolean         emit)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocMessengerClass *klass = COPROC_MESSENGER_GET_CLASS (self);
  g_autoptr(CoprocMessage) message = NULL;
  gboolean handled = FALSE;

  /* The reply of a correlated request completes it, and goes no further. */
  if (frame->kind == COPROC_WIRE_KIND_REPLY && _coproc_messenger_take_reply (self, frame))
    return !priv->disposed;

  /* The message takes its own references (ref_sink of a variant that is
   * not floating); the transport drops the frame's. */
  message = _coproc_message_new (message_kind (frame->kind), frame->payload, frame->channel_id,
                                 isnan (frame->priority) ? INFINITY : frame->priority);
  message->request_id = frame->request_id;
  message->mapped_size = frame->payload_mapped;
  message->fd_list = g_steal_pointer (&frame->fd_list);
  if (message->kind == COPROC_MESSAGE_KIND_REQUEST)
    _coproc_message_set_messenger (message, self);

  if (emit && has_handler (self, MESSAGE_RECEIVED, klass->message_received != NULL))
    {
      g_signal_emit (self, signals[MESSAGE_RECEIVED], 0, message, &handled);
      if (handled)
        {
          coproc_channel_count_received (coproc_channels_lookup (&priv->channels,
                                                                 message->channel_id, TRUE),
                                         message);
          return !priv->disposed;
        }
      if (priv->disposed)
        return FALSE;
    }

  klass->queue_message (self, message);
  return TRUE;
}

/* A special message (@special, taken): offered to @signal_id's handlers
 * when @emit; unless one consumed it, it waits to be surfaced by the next
 * receive call, and parsing stops until then. An error reply to a plain
 * request of @reply_channel (else NULL) counts as its reply once consumed.
 * Returns whether parsing may go on. */
static gboolean
offer_special (CoprocMessenger *self,
               guint            signal_id,
               gboolean         class_handler,
               GError          *special,
               CoprocChannel   *reply_channel,
               gboolean         emit)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gboolean handled = FALSE;

  if (emit && has_handler (self, signal_id, class_handler))
    {
      if (signal_id == ERROR_RECEIVED)
        g_signal_emit (self, signals[ERROR_RECEIVED], 0, special, &handled);
      else
        g_signal_emit (self, signals[CLOSE_REQUESTED], 0, &handled);

      if (handled || priv->disposed)
        {
          if (handled && reply_channel != NULL)
            coproc_channel_count_reply (reply_channel, FALSE);
          g_error_free (special);
          return !priv->disposed;
        }
    }

  g_assert (priv->pending_special == NULL);
  priv->pending_special = special;
  priv->pending_special_channel = reply_channel;
  return FALSE;
}

/* The GError an error frame carries, or why it is unusable. */
static GError *
remote_error (GVariant *body)
{
  GError *local_error = NULL;
  GError *remote = coproc_wire_error_from_variant (body, &local_error);

  return remote != NULL ? remote : local_error;
}

/* An error reply fails its correlated request alone. One to a request
 * sent with plain send_request() is raised by the next receive call, as
 * an error message is. Returns whether parsing may go on. */
static gboolean
deliver_error_reply (CoprocMessenger *self,
                     CoprocFrame     *frame,
                     gboolean         emit)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocMessengerClass *klass = COPROC_MESSENGER_GET_CLASS (self);
  GError *remote = remote_error (frame->payload);
  CoprocChannel *channel = NULL;

  if (_coproc_messenger_take_error_reply (self, frame, remote))
    return !priv->disposed;

  /* Without an id, it names no request: an error message. */
  if (frame->request_id != 0)
    channel = coproc_channels_lookup (&priv->channels, frame->channel_id, TRUE);

  return offer_special (self, ERROR_RECEIVED, klass->error_received != NULL, remote, channel,
                        emit);
}

/* CoprocTransportCallbacks.frame */
static gboolean
transport_frame_cb (GObject     *owner,
                    CoprocFrame *frame,
                    gboolean     in_dispatch)
{
  CoprocMessenger *self = (CoprocMessenger *) owner;
  CoprocMessengerClass *klass = COPROC_MESSENGER_GET_CLASS (self);

  switch (frame->kind)
    {
    case COPROC_WIRE_KIND_NOREQUEST:
    case COPROC_WIRE_KIND_REQUEST:
    case COPROC_WIRE_KIND_REPLY:
      return deliver_data (self, frame, in_dispatch);

    case COPROC_WIRE_KIND_ERROR:
      return offer_special (self, ERROR_RECEIVED, klass->error_received != NULL,
                            remote_error (frame->payload), NULL, in_dispatch);

    case COPROC_WIRE_KIND_ERROR_REPLY:
      return deliver_error_reply (self, frame, in_dispatch);

    case COPROC_WIRE_KIND_CLOSE:
      return offer_special (self, CLOSE_REQUESTED, klass->close_requested != NULL,
                            g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED,
                                                 "The peer requested that this side close"),
                            NULL, in_dispatch);

    default:
      g_assert_not_reached ();
    }
}

/* CoprocTransportCallbacks.dropped: a frame that could not be used is
 * reported like a special message, by the next receive call. */
static gboolean
transport_dropped_cb (GObject *owner,
                      GError  *error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private ((CoprocMessenger *) owner);

  g_assert (priv->pending_special == NULL);
  priv->pending_special = error;
  return FALSE;
}

/* CoprocTransportCallbacks.lost */
static void
transport_lost_cb (GObject  *owner,
                   gboolean  truncated,
                   GError   *error)
{
  CoprocMessenger *self = (CoprocMessenger *) owner;

  if (error != NULL)
    mark_failed (self, error);
  else
    close_on_hangup (self, truncated);
}

/* CoprocTransportCallbacks.want_input: past max-queued-bytes the kernel
 * holds the peer back. */
static gboolean
transport_want_input_cb (GObject *owner)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private ((CoprocMessenger *) owner);

  return !coproc_channels_full (&priv->channels);
}

/* CoprocTransportCallbacks.input_done */
static gboolean
transport_input_done_cb (GObject *owner)
{
  CoprocMessenger *self = (CoprocMessenger *) owner;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gboolean had_special = priv->pending_special != NULL;

  _coproc_messenger_complete_pending (self);
  _coproc_messenger_complete_requests (self);

  /* A special message handed to a waiting async call may leave frames
   * behind it in the buffer: parse them for the calls still waiting. */
  return had_special && priv->pending_special == NULL &&
         (!g_queue_is_empty (&priv->pending) || _coproc_messenger_has_waiting_requests (self)) &&
         !priv->closed && !priv->disposed;
}

static const CoprocTransportCallbacks transport_callbacks = {
  .frame = transport_frame_cb,
  .dropped = transport_dropped_cb,
  .lost = transport_lost_cb,
  .want_input = transport_want_input_cb,
  .input_done = transport_input_done_cb,
};

/* GObject ----------------------------------------------------------------- */

static void
coproc_messenger_real_queue_message (CoprocMessenger *self,
                                     CoprocMessage   *message)
{
  coproc_messenger_enqueue (self, message, message->priority);
}

static void
coproc_messenger_dispose (GObject *object)
{
  CoprocMessenger *self = (CoprocMessenger *) object;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  settle_report (self, COPROC_HANGUP_NOW);

  if (!priv->disposed)
    {
      g_autoptr(GError) error = NULL;

      /* Last chance for buffered output; never block here. */
      if (!priv->closed && priv->transport != NULL &&
          coproc_transport_has_output (priv->transport))
        coproc_transport_flush_nonblocking (priv->transport, NULL);

      priv->disposed = TRUE;

      /* What still waits on a messenger that the peer's hang-up already
       * closed (a worker resource restarting its dead worker disposes
       * the old messenger) fails with why it closed. */
      if (priv->closed && priv->closed_error != NULL)
        error = g_error_copy (priv->closed_error);
      else
        {
          error = g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSED,
                                       "The messenger was disposed");
          mark_closed (self, g_error_copy (error), NULL);
        }
      _coproc_messenger_fail_pending (self, error);
      _coproc_messenger_fail_requests (self, error);
    }

  if (priv->closed_idle != NULL)
    {
      g_source_destroy (priv->closed_idle);
      g_clear_pointer (&priv->closed_idle, g_source_unref);
    }

  G_OBJECT_CLASS (coproc_messenger_parent_class)->dispose (object);
}

static void
coproc_messenger_finalize (GObject *object)
{
  CoprocMessenger *self = (CoprocMessenger *) object;
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_assert (g_queue_is_empty (&priv->pending));
  g_assert (g_queue_is_empty (&priv->waiting_requests));

  g_clear_pointer (&priv->requests, g_hash_table_unref);
  coproc_channels_clear (&priv->channels);
  g_clear_pointer (&priv->transport, coproc_transport_free);
  g_clear_error (&priv->pending_special);
  g_clear_error (&priv->closed_error);
  g_clear_error (&priv->closed_signal_error);
  if (priv->hangup_destroy != NULL)
    priv->hangup_destroy (priv->hangup_data);
  g_clear_object (&priv->stream);
  g_clear_pointer (&priv->context, g_main_context_unref);

  G_OBJECT_CLASS (coproc_messenger_parent_class)->finalize (object);
}

static void
coproc_messenger_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  CoprocMessenger *self = COPROC_MESSENGER (object);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STREAM:
      g_value_set_object (value, priv->stream);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint (value, priv->max_message_size);
      break;

    case PROP_MAX_QUEUED_BYTES:
      g_value_set_uint64 (value, priv->channels.max_queued_bytes);
      break;

    case PROP_LARGE_MESSAGE_THRESHOLD:
      g_value_set_uint (value, priv->large_threshold);
      break;

    case PROP_SEND_TIMEOUT:
      g_value_set_uint (value, priv->send_timeout);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_messenger_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  CoprocMessenger *self = COPROC_MESSENGER (object);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_STREAM:
      priv->stream = g_value_dup_object (value);
      break;

    case PROP_MAX_MESSAGE_SIZE:
      coproc_messenger_set_max_message_size (self, g_value_get_uint (value));
      break;

    case PROP_MAX_QUEUED_BYTES:
      coproc_messenger_set_max_queued_bytes (self, g_value_get_uint64 (value));
      break;

    case PROP_LARGE_MESSAGE_THRESHOLD:
      coproc_messenger_set_large_message_threshold (self, g_value_get_uint (value));
      break;

    case PROP_SEND_TIMEOUT:
      coproc_messenger_set_send_timeout (self, g_value_get_uint (value));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_messenger_class_init (CoprocMessengerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = coproc_messenger_dispose;
  object_class->finalize = coproc_messenger_finalize;
  object_class->get_property = coproc_messenger_get_property;
  object_class->set_property = coproc_messenger_set_property;

  klass->queue_message = coproc_messenger_real_queue_message;

  /**
   * CoprocMessenger:stream: (getter get_stream)
   *
   * The stream the messenger owns: one end of the pipe. The messenger
   * closes it when the peer hangs up, on [method@Coproc.Messenger.close],
   * and when it is disposed.
   *
   * Since: 1.0
   */
  properties[PROP_STREAM] =
    g_param_spec_object ("stream", NULL, NULL,
                         G_TYPE_IO_STREAM,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:max-message-size: (getter get_max_message_size) (setter set_max_message_size)
   *
   * The largest message, in bytes of its encoded channel and payload, that
   * this messenger sends or accepts. A larger incoming message is discarded
   * as it streams past, without being held in memory, and the next receive
   * call fails with %COPROC_ERROR_MESSAGE_TOO_LARGE; the messages around it
   * are kept. The peer learns this limit in the handshake and refuses to
   * send larger messages.
   *
   * The default, 128 MiB, is GDBus's own message limit: large enough for
   * bulk data, small enough that a hostile peer cannot make the host
   * allocate without bound.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint ("max-message-size", NULL, NULL,
                       64, G_MAXUINT32 - 64, COPROC_DEFAULT_MAX_MESSAGE_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:max-queued-bytes: (getter get_max_queued_bytes) (setter set_max_queued_bytes)
   *
   * A bound on the memory held by messages that arrived and were not taken
   * yet (their data plus a small per-message overhead). Once the queues hold
   * this much, the messenger stops reading from the stream: the peer's sends
   * then wait in the kernel (backpressure) until messages are taken. A
   * flooding or hostile peer cannot make the host allocate without bound.
   *
   * A call that would have to read past the bound to finish — a blocking or
   * async receive on a channel whose queue is empty — fails with
   * %COPROC_ERROR_QUEUE_FULL instead of waiting forever. Calls that only
   * look, like [method@Coproc.Messenger.available], do not fail.
   *
   * Payloads received in memory files count at the size of their mapping;
   * at most 128 queued messages may hold one, and past that input is held
   * too. While an error, a close request or a dropped message waits to be
   * surfaced, nothing behind it is parsed; a send that waits for the peer
   * meanwhile reads at most this many bytes ahead, unparsed.
   *
   * The default is 256 MiB, twice the default
   * [property@Coproc.Messenger:max-message-size].
   *
   * Since: 1.0
   */
  properties[PROP_MAX_QUEUED_BYTES] =
    g_param_spec_uint64 ("max-queued-bytes", NULL, NULL,
                         1, G_MAXUINT64, DEFAULT_MAX_QUEUED_BYTES,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:large-message-threshold: (getter get_large_message_threshold) (setter set_large_message_threshold)
   *
   * Payloads of at least this many bytes (encoded) do not travel through
   * the socket: the sender writes the payload once into a memory file
   * (`memfd`), seals it so that it can no longer change, and passes its
   * descriptor with the message (`SCM_RIGHTS`); the receiver maps it
   * read-only and hands out a `GVariant` over the mapping, with no copy.
   * This is transparent to both sides' code: any payload type qualifies.
   *
   * It applies to socket streams (as made by
   * [func@Coproc.Messenger.new_pair] and [class@Coproc.WorkerResource]);
   * 0 turns it off. The receiver accepts only sealed memory files. The
   * default is 1 MiB. A payload passed this way costs the receiver one
   * mapping instead of a copy and does not hold up the small messages
   * behind it; it is not faster: every page is fresh shared memory, and
   * measured on a 2-CPU virtual machine (doc/performance.md), copying
   * through the socket moves payloads of up to some 24 MiB 1.4 to 2.5
   * times faster, and larger ones about as fast.
   *
   * Since: 1.0
   */
  properties[PROP_LARGE_MESSAGE_THRESHOLD] =
    g_param_spec_uint ("large-message-threshold", NULL, NULL,
                       0, G_MAXUINT32, DEFAULT_LARGE_MESSAGE_THRESHOLD,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessenger:send-timeout: (getter get_send_timeout) (setter set_send_timeout)
   *
   * How long, in milliseconds, a send waits for the peer at most; 0, the
   * default, waits as long as it takes.
   *
   * A send waits only when the peer lags: past 16 MiB of buffered output
   * (descriptors passed with large payloads count at their payload's
   * size), until the peer has read enough. A peer that stalls would make
   * it wait forever. With a timeout, the send fails with
   * %G_IO_ERROR_TIMED_OUT instead, and nothing of its message was sent; so
   * do [method@Coproc.Messenger.flush] and [method@Coproc.Messenger.close],
   * leaving the output buffered. A message that was already partly written
   * when the time ran out is sent whole: its rest is buffered, to leave
   * when the peer reads, and the call succeeds. The messenger stays usable
   * either way. To cancel a single send, see
   * [method@Coproc.Messenger.send_cancellable].
   *
   * Since: 1.2
   */
  properties[PROP_SEND_TIMEOUT] =
    g_param_spec_uint ("send-timeout", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CoprocMessenger::message-received:
   * @self: the messenger
   * @message: the message that arrived
   *
   * Emitted on the messenger's context when a data message arrives while
   * that context runs. A handler that returns `TRUE` consumes the message:
   * it counts as received (and, for a reply, as a reply received) and is not
   * queued. Otherwise it is queued for the receive calls.
   *
   * Returns: `TRUE` to consume the message
   *
   * Since: 1.0
   */
  signals[MESSAGE_RECEIVED] =
    g_signal_new ("message-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, message_received),
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 1, COPROC_TYPE_MESSAGE);

  /**
   * CoprocMessenger::error-received:
   * @self: the messenger
   * @error: the error the peer sent
   *
   * Emitted on the messenger's context when the peer sent an error with
   * [method@Coproc.Messenger.send_error]. A handler that returns `TRUE`
   * consumes it; otherwise the next receive call fails with it.
   *
   * Returns: `TRUE` to consume the error
   *
   * Since: 1.0
   */
  signals[ERROR_RECEIVED] =
    g_signal_new ("error-received",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, error_received),
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 1, G_TYPE_ERROR);

  /**
   * CoprocMessenger::close-requested:
   * @self: the messenger
   *
   * Emitted on the messenger's context when the peer sent a close request.
   * A handler that returns `TRUE` consumes it; otherwise the next receive
   * call fails with %COPROC_ERROR_CLOSE_REQUESTED.
   *
   * Returns: `TRUE` to consume the close request
   *
   * Since: 1.0
   */
  signals[CLOSE_REQUESTED] =
    g_signal_new ("close-requested",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, close_requested),
                  g_signal_accumulator_true_handled, NULL,
                  NULL,
                  G_TYPE_BOOLEAN, 0);

  /**
   * CoprocMessenger::closed:
   * @self: the messenger
   * @error: (nullable): why the connection ended, or `NULL` when the peer
   *   hung up cleanly
   *
   * Emitted once, on the messenger's context, when the peer hung up or the
   * stream broke. Messages that arrived before remain queued.
   *
   * Since: 1.0
   */
  signals[CLOSED] =
    g_signal_new ("closed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (CoprocMessengerClass, closed),
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
coproc_messenger_init (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  priv->max_message_size = COPROC_DEFAULT_MAX_MESSAGE_SIZE;
  priv->large_threshold = DEFAULT_LARGE_MESSAGE_THRESHOLD;
  priv->hangup_code = COPROC_ERROR_CLOSED;
  coproc_channels_init (&priv->channels, DEFAULT_MAX_QUEUED_BYTES);
  g_queue_init (&priv->pending);
  g_queue_init (&priv->waiting_requests);
  priv->requests = g_hash_table_new (g_int64_hash, g_int64_equal);
}

static gboolean
coproc_messenger_initable_init (GInitable     *initable,
                                GCancellable  *cancellable,
                                GError       **error)
{
  CoprocMessenger *self = COPROC_MESSENGER (initable);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->stream == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "A messenger needs a stream");
      return FALSE;
    }

  if (priv->transport != NULL)
    return TRUE;

  priv->transport = coproc_transport_new (priv->stream, priv->max_message_size,
                                         priv->large_threshold, &transport_callbacks,
                                         G_OBJECT (self), error);
  if (priv->transport == NULL)
    return FALSE;

  priv->context = g_main_context_ref_thread_default ();

  coproc_transport_set_minors (priv->transport, priv->announce_minor, priv->peer_minor);
  coproc_transport_set_max_read_ahead (priv->transport, priv->channels.max_queued_bytes);
  coproc_transport_set_send_timeout (priv->transport, priv->send_timeout);
  coproc_transport_start (priv->transport, priv->context);
  return TRUE;
}

static void
coproc_messenger_initable_iface_init (GInitableIface *iface)
{
  iface->init = coproc_messenger_initable_init;
}

/* Internal API ------------------------------------------------------------ */

gboolean
_coproc_messenger_input_held (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  return coproc_channels_full (&priv->channels);
}

void
_coproc_messenger_set_hangup_error (CoprocMessenger         *self,
                                    CoprocError              code,
                                    CoprocHangupMessageFunc  message_func,
                                    CoprocHangupWatchFunc    watch_func,
                                    gpointer                 user_data,
                                    GDestroyNotify           destroy)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  if (priv->hangup_destroy != NULL)
    priv->hangup_destroy (priv->hangup_data);

  priv->hangup_code = code;
  priv->hangup_message_func = message_func;
  priv->hangup_watch_func = watch_func;
  priv->hangup_data = user_data;
  priv->hangup_destroy = destroy;
}

/* Constructors ------------------------------------------------------------ */

static gboolean
check_messenger_type (GType messenger_type)
{
  return g_type_is_a (messenger_type, COPROC_TYPE_MESSENGER) &&
         !G_TYPE_IS_ABSTRACT (messenger_type);
}

/* Takes @fd, a connected Unix stream socket. The stream wraps it in Unix
 * streams rather than a GSocket: creating a GSocket makes GLib ignore
 * SIGPIPE for the whole process, and coproc leaves signal dispositions to
 * the application (its writes use MSG_NOSIGNAL). */
CoprocMessenger *
_coproc_messenger_new_for_socket_fd (GType    messenger_type,
                                     int      fd,
                                     GError **error)
{
  return _coproc_messenger_new_for_socket_fd_full (messenger_type, fd, 0, 0, error);
}

/* The same, announcing @announce_minor in the handshake (to a peer known
 * to read it), the peer known to speak @peer_minor. */
CoprocMessenger *
_coproc_messenger_new_for_socket_fd_full (GType    messenger_type,
                                          int      fd,
                                          guint    announce_minor,
                                          guint    peer_minor,
                                          GError **error)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (fd, TRUE);
  g_autoptr(GOutputStream) output = g_unix_output_stream_new (fd, FALSE);
  g_autoptr(GIOStream) stream = g_simple_io_stream_new (input, output);
  g_autoptr(CoprocMessenger) messenger = g_object_new (messenger_type, "stream", stream, NULL);
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (messenger);

  priv->announce_minor = announce_minor;
  priv->peer_minor = peer_minor;
  if (!g_initable_init (G_INITABLE (messenger), NULL, error))
    return NULL;

  return g_steal_pointer (&messenger);
}

int
_coproc_messenger_get_fd (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  return priv->closed || priv->transport == NULL ? -1 : coproc_transport_get_fd (priv->transport);
}

/**
 * coproc_messenger_new_pair:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @process: (out) (transfer full) (optional): the messenger for the worker
 *   (process) end
 * @resource: (out) (transfer full) (optional): the messenger for the host
 *   (resource) end
 * @error: return location for a `GError`
 *
 * Creates two connected messengers in this process, over a fresh
 * `socketpair()`. This is the original library's `new_pair()`, which returns
 * `(process, resource)`.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_new_pair (GType             messenger_type,
                           CoprocMessenger **process,
                           CoprocMessenger **resource,
                           GError          **error)
{
  g_autoptr(CoprocMessenger) p = NULL;
  g_autoptr(CoprocMessenger) r = NULL;
  int fds[2];

  g_return_val_if_fail (check_messenger_type (messenger_type), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Could not create a socket pair: %s", g_strerror (errsv));
      return FALSE;
    }

  /* Both ends are this library: each announces what it speaks. */
  p = _coproc_messenger_new_for_socket_fd_full (messenger_type, fds[0], COPROC_WIRE_MINOR, 0,
                                                error);
  if (p == NULL)
    {
      close (fds[1]);
      return FALSE;
    }

  r = _coproc_messenger_new_for_socket_fd_full (messenger_type, fds[1], COPROC_WIRE_MINOR, 0,
                                                error);
  if (r == NULL)
    return FALSE;

  if (process != NULL)
    *process = g_steal_pointer (&p);
  if (resource != NULL)
    *resource = g_steal_pointer (&r);

  return TRUE;
}

/**
 * coproc_messenger_new_for_stream:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @stream: the stream to own: a `GSocketConnection`, or any `GIOStream`
 *   whose input and output streams are pollable
 * @error: return location for a `GError`
 *
 * Creates a messenger over @stream, which it owns from now on. The peer at
 * the other end must be a coproc messenger too (see [the wire
 * protocol](protocol.html)).
 *
 * Returns: (transfer full) (type Coproc.Messenger): the new messenger, or
 *   `NULL` with @error set
 *
 * Since: 1.0
 */
CoprocMessenger *
coproc_messenger_new_for_stream (GType       messenger_type,
                                 GIOStream  *stream,
                                 GError    **error)
{
  g_return_val_if_fail (check_messenger_type (messenger_type), NULL);
  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (messenger_type, NULL, error, "stream", stream, NULL);
}

/**
 * coproc_messenger_new_for_host:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @error: return location for a `GError`
 *
 * In a worker, connects to the host that started this process. The host
 * passes one end of a socket pair and names its file descriptor in the
 * `COPROC_FD` environment variable (see [the environment
 * contract](workers.html#the-environment-contract)); this checks that it
 * really is a Unix stream socket, marks it close-on-exec so that the
 * worker's own children do not inherit it, and removes the variable.
 *
 * Fails with %G_IO_ERROR_NOT_FOUND when this process was not started by a
 * coproc host, and %G_IO_ERROR_INVALID_ARGUMENT when the descriptor is not
 * a usable socket.
 *
 * Returns: (transfer full) (type Coproc.Messenger): the messenger, or `NULL`
 *   with @error set
 *
 * Since: 1.0
 */
CoprocMessenger *
coproc_messenger_new_for_host (GType    messenger_type,
                               GError **error)
{
  const char *value;
  const char *minor_value;
  guint64 host_minor;
  guint64 fd;
  struct stat st;
  int optval = 0;
  socklen_t optlen = sizeof optval;
  int flags;

  g_return_val_if_fail (check_messenger_type (messenger_type), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  value = g_getenv (COPROC_ENV_FD);
  if (value == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "This process was not started by a coproc host "
                           "(" COPROC_ENV_FD " is not set)");
      return NULL;
    }

  if (!g_ascii_string_to_unsigned (value, 10, 3, G_MAXINT, &fd, NULL))
    goto invalid;

  flags = fcntl ((int) fd, F_GETFD);
  if (flags < 0 || fstat ((int) fd, &st) != 0 || !S_ISSOCK (st.st_mode))
    goto invalid;

  if (getsockopt ((int) fd, SOL_SOCKET, SO_DOMAIN, &optval, &optlen) != 0 || optval != AF_UNIX)
    goto invalid;
  optlen = sizeof optval;
  if (getsockopt ((int) fd, SOL_SOCKET, SO_TYPE, &optval, &optlen) != 0 || optval != SOCK_STREAM)
    goto invalid;

  fcntl ((int) fd, F_SETFD, flags | FD_CLOEXEC);
  g_unsetenv (COPROC_ENV_FD);

  /* A host of protocol 1.2 or later says so: then this side announces
   * its own minor version, which the host reads. */
  minor_value = g_getenv (COPROC_ENV_PROTOCOL_MINOR);
  if (minor_value == NULL ||
      !g_ascii_string_to_unsigned (minor_value, 10, 0, G_MAXUINT16, &host_minor, NULL))
    host_minor = 0;
  g_unsetenv (COPROC_ENV_PROTOCOL_MINOR);

  return _coproc_messenger_new_for_socket_fd_full (messenger_type, (int) fd,
                                                   host_minor >= COPROC_WIRE_MINOR
                                                   ? COPROC_WIRE_MINOR : 0,
                                                   (guint) host_minor, error);

invalid:
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               COPROC_ENV_FD "=%s does not name a Unix stream socket from a coproc host",
               value);
  return NULL;
}

/* Moves @fd out of the way of the standard descriptors: a close-on-exec,
 * non-blocking duplicate, or -1 with errno set. */
static int
take_standard_fd (int fd)
{
  int flags;
  int copy = fcntl (fd, F_DUPFD_CLOEXEC, 3);

  if (copy < 0)
    return -1;

  flags = fcntl (copy, F_GETFL);
  if (flags < 0 || fcntl (copy, F_SETFL, flags | O_NONBLOCK) != 0)
    {
      int errsv = errno;

      close (copy);
      errno = errsv;
      return -1;
    }

  return copy;
}

/**
 * coproc_messenger_new_for_stdio:
 * @messenger_type: a non-abstract type deriving from [class@Coproc.Messenger]
 * @error: return location for a `GError`
 *
 * In a worker started with %COPROC_WORKER_TRANSPORT_STDIO (see
 * [property@Coproc.WorkerResource:transport]), connects to the host over
 * this process's standard input and output: the host may be at the other
 * end of `ssh`, `podman exec -i` or any other program that relays both.
 *
 * It takes descriptors 0 and 1 for the messenger (as close-on-exec,
 * non-blocking duplicates), then points descriptor 0 at `/dev/null` and
 * descriptor 1 at standard error, so that nothing written to standard
 * output from now on (`printf()`, `g_print()`, Python's `print()`, a
 * child process's output) can corrupt the protocol: it appears on
 * standard error instead. Call it before anything writes to standard
 * output; output still buffered in `stdout` is flushed to standard error.
 * It also removes `COPROC_TRANSPORT` from the environment.
 *
 * Over standard input and output, payloads of any size travel inline
 * (never in a memfd, whatever
 * [property@Coproc.Messenger:large-message-threshold] says), and no descriptor
 * can be passed.
 *
 * Fails with %G_IO_ERROR_INVALID_ARGUMENT when descriptor 0 or 1 is not
 * open, and %G_IO_ERROR_NOT_SUPPORTED when they cannot be polled (a
 * regular file, say).
 *
 * Returns: (transfer full) (type Coproc.Messenger): the messenger, or `NULL`
 *   with @error set
 *
 * Since: 1.2
 */
CoprocMessenger *
coproc_messenger_new_for_stdio (GType    messenger_type,
                                GError **error)
{
  g_autoptr(GInputStream) input = NULL;
  g_autoptr(GOutputStream) output = NULL;
  g_autoptr(GIOStream) stream = NULL;
  CoprocMessenger *messenger;
  int in_fd, out_fd, null_fd;

  g_return_val_if_fail (check_messenger_type (messenger_type), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  in_fd = take_standard_fd (STDIN_FILENO);
  if (in_fd < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Standard input cannot carry the connection to the host: %s",
                   g_strerror (errsv));
      return NULL;
    }

  out_fd = take_standard_fd (STDOUT_FILENO);
  if (out_fd < 0)
    {
      int errsv = errno;

      close (in_fd);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Standard output cannot carry the connection to the host: %s",
                   g_strerror (errsv));
      return NULL;
    }

  input = g_unix_input_stream_new (in_fd, TRUE);
  output = g_unix_output_stream_new (out_fd, TRUE);
  stream = g_simple_io_stream_new (input, output);

  messenger = coproc_messenger_new_for_stream (messenger_type, stream, error);
  if (messenger == NULL)
    return NULL;

  /* From now on, what is written to standard output goes to standard
   * error, and standard input reads nothing. */
  fflush (stdout);
  if (fcntl (STDERR_FILENO, F_GETFD) >= 0)
    dup2 (STDERR_FILENO, STDOUT_FILENO);
  else
    {
      null_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null_fd >= 0)
        {
          dup2 (null_fd, STDOUT_FILENO);
          close (null_fd);
        }
    }

  null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd >= 0)
    {
      dup2 (null_fd, STDIN_FILENO);
      close (null_fd);
    }

  g_unsetenv (COPROC_ENV_TRANSPORT);

  return messenger;
}

/* Properties -------------------------------------------------------------- */

/**
 * coproc_messenger_get_stream:
 * @self: a messenger
 *
 * Gets the stream the messenger owns.
 *
 * Returns: (transfer none): the stream
 *
 * Since: 1.0
 */
GIOStream *
coproc_messenger_get_stream (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);

  return priv->stream;
}

/**
 * coproc_messenger_get_max_message_size:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:max-message-size].
 *
 * Returns: the largest message size, in bytes
 *
 * Since: 1.0
 */
guint
coproc_messenger_get_max_message_size (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->max_message_size;
}

/**
 * coproc_messenger_set_max_message_size:
 * @self: a messenger
 * @max_message_size: the largest message size, in bytes
 *
 * Sets [property@Coproc.Messenger:max-message-size]. Set it at
 * construction to have the peer learn it in the handshake.
 *
 * Since: 1.0
 */
void
coproc_messenger_set_max_message_size (CoprocMessenger *self,
                                       guint            max_message_size)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (max_message_size >= 64);

  if (priv->max_message_size == max_message_size)
    return;

  priv->max_message_size = max_message_size;
  if (priv->transport != NULL)
    coproc_transport_set_max_message_size (priv->transport, max_message_size);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * coproc_messenger_get_max_queued_bytes:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:max-queued-bytes].
 *
 * Returns: the bound, in bytes
 *
 * Since: 1.0
 */
guint64
coproc_messenger_get_max_queued_bytes (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->channels.max_queued_bytes;
}

/**
 * coproc_messenger_set_max_queued_bytes:
 * @self: a messenger
 * @max_queued_bytes: the bound, in bytes
 *
 * Sets [property@Coproc.Messenger:max-queued-bytes].
 *
 * Since: 1.0
 */
void
coproc_messenger_set_max_queued_bytes (CoprocMessenger *self,
                                       guint64          max_queued_bytes)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (max_queued_bytes > 0);

  if (priv->channels.max_queued_bytes == max_queued_bytes)
    return;

  priv->channels.max_queued_bytes = max_queued_bytes;
  if (priv->transport != NULL)
    {
      coproc_transport_set_max_read_ahead (priv->transport, max_queued_bytes);
      coproc_transport_update_watch (priv->transport);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_QUEUED_BYTES]);
}

/**
 * coproc_messenger_get_large_message_threshold:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:large-message-threshold].
 *
 * Returns: the threshold, in bytes; 0 when payloads never go in a memfd
 *
 * Since: 1.0
 */
guint
coproc_messenger_get_large_message_threshold (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->large_threshold;
}

/**
 * coproc_messenger_set_large_message_threshold:
 * @self: a messenger
 * @threshold: the threshold in bytes, or 0 to always send payloads inline
 *
 * Sets [property@Coproc.Messenger:large-message-threshold].
 *
 * Since: 1.0
 */
void
coproc_messenger_set_large_message_threshold (CoprocMessenger *self,
                                              guint            threshold)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));

  if (priv->large_threshold == threshold)
    return;

  priv->large_threshold = threshold;
  if (priv->transport != NULL)
    coproc_transport_set_large_threshold (priv->transport, threshold);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LARGE_MESSAGE_THRESHOLD]);
}

/**
 * coproc_messenger_get_send_timeout:
 * @self: a messenger
 *
 * Gets [property@Coproc.Messenger:send-timeout].
 *
 * Returns: the timeout in milliseconds; 0 when sends wait as long as it
 *   takes
 *
 * Since: 1.2
 */
guint
coproc_messenger_get_send_timeout (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->send_timeout;
}

/**
 * coproc_messenger_set_send_timeout:
 * @self: a messenger
 * @timeout_ms: the timeout in milliseconds, or 0 to wait as long as it takes
 *
 * Sets [property@Coproc.Messenger:send-timeout].
 *
 * Since: 1.2
 */
void
coproc_messenger_set_send_timeout (CoprocMessenger *self,
                                   guint            timeout_ms)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));

  if (priv->send_timeout == timeout_ms)
    return;

  priv->send_timeout = timeout_ms;
  if (priv->transport != NULL)
    coproc_transport_set_send_timeout (priv->transport, timeout_ms);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEND_TIMEOUT]);
}

/**
 * coproc_messenger_queued_bytes:
 * @self: a messenger
 *
 * Estimates the memory held by queued messages, as counted against
 * [property@Coproc.Messenger:max-queued-bytes].
 *
 * Returns: the estimate, in bytes
 *
 * Since: 1.0
 */
guint64
coproc_messenger_queued_bytes (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  return priv->channels.queued_bytes;
}

/**
 * coproc_messenger_is_closed:
 * @self: a messenger
 *
 * Whether the connection has ended: the peer hung up, the stream broke, or
 * [method@Coproc.Messenger.close] was called. Messages that arrived before
 * can still be received.
 *
 * Returns: `TRUE` once closed
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_is_closed (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), TRUE);

  return priv->closed;
}

/**
 * coproc_messenger_close:
 * @self: a messenger
 * @error: return location for a `GError`
 *
 * Flushes buffered output and closes the stream; the peer sees a hang-up.
 * Queued messages can still be received; receives that would wait fail
 * with %COPROC_ERROR_CLOSED. Closing a closed messenger does nothing.
 *
 * Returns: `TRUE` when all output was delivered to the kernel
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_close (CoprocMessenger  *self,
                        GError          **error)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  gboolean ret = TRUE;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->closed)
    return TRUE;

  if (coproc_transport_has_output (priv->transport))
    ret = coproc_transport_flush (priv->transport, NULL, error);

  mark_closed (self,
               g_error_new_literal (COPROC_ERROR, COPROC_ERROR_CLOSED, "The messenger was closed"),
               NULL);
  _coproc_messenger_complete_pending (self);
  _coproc_messenger_complete_requests (self);

  return ret;
}

/* Counters ---------------------------------------------------------------- */

static CoprocChannel *
counter_channel (CoprocMessenger *self,
                 GVariant        *channel_id)
{
  CoprocMessengerPrivate *priv = coproc_messenger_get_instance_private (self);
  CoprocChannel *cs;

  if (channel_id == NULL)
    return coproc_channels_lookup (&priv->channels, NULL, FALSE);

  g_variant_ref_sink (channel_id);
  cs = coproc_channels_lookup (&priv->channels, channel_id, FALSE);
  g_variant_unref (channel_id);

  return cs;
}

/**
 * coproc_messenger_remaining:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the requests sent on @channel_id that have no reply received yet.
 * A reply counts when it is taken from the queue or consumed by a
 * [signal@Coproc.Messenger::message-received] handler, not when it arrives.
 *
 * Returns: requests sent minus replies received, never below zero
 *
 * Since: 1.0
 */
guint
coproc_messenger_remaining (CoprocMessenger *self,
                            GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? coproc_channel_remaining (cs) : 0;
}

/**
 * coproc_messenger_requests_sent:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the requests sent on @channel_id.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_requests_sent (CoprocMessenger *self,
                                GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->requests_sent : 0;
}

/**
 * coproc_messenger_replies_received:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the replies received on @channel_id that answered a request.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_replies_received (CoprocMessenger *self,
                                   GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->replies_received : 0;
}

/**
 * coproc_messenger_messages_sent:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the data messages of every kind sent on @channel_id.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_messages_sent (CoprocMessenger *self,
                                GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->messages_sent : 0;
}

/**
 * coproc_messenger_messages_received:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the data messages taken from @channel_id's queue or consumed by a
 * signal handler.
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_messages_received (CoprocMessenger *self,
                                    GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? cs->messages_received : 0;
}

/**
 * coproc_messenger_queue_size:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 *
 * Counts the messages queued on @channel_id now, without reading from the
 * stream (unlike [method@Coproc.Messenger.available]).
 *
 * Returns: the count
 *
 * Since: 1.0
 */
guint
coproc_messenger_queue_size (CoprocMessenger *self,
                             GVariant        *channel_id)
{
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);

  cs = counter_channel (self, channel_id);
  return cs ? coproc_queue_size (&cs->queue) : 0;
}
