/* coproc-messenger-send.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * CoprocMessenger, sending: the send calls (data, serialized payloads,
 * messages with descriptors, errors, close requests, flush) and the one
 * path they share into the transport, which gives a frame its priority
 * and a request its id. The rest of the object is in coproc-messenger.c;
 * the state both share is in coproc-messenger-state-private.h.
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

/* Sending ----------------------------------------------------------------- */

static gdouble
payload_priority (GVariant *payload)
{
  const char *type_string = g_variant_get_type_string (payload);
  g_autoptr(GVariant) value = NULL;

  /* Cheap test first: G_VARIANT_TYPE() validates its string on each call. */
  if (type_string[0] != 'a' || type_string[1] != '{' || type_string[2] != 's' ||
      !g_variant_type_is_subtype_of (g_variant_get_type (payload), G_VARIANT_TYPE ("a{s*}")))
    return INFINITY;

  value = g_variant_lookup_value (payload, "priority", NULL);
  if (value == NULL)
    return INFINITY;

  if (g_variant_is_of_type (value, G_VARIANT_TYPE_VARIANT))
    {
      GVariant *inner = g_variant_get_variant (value);
      g_variant_unref (value);
      value = inner;
    }

  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BYTE:    return g_variant_get_byte (value);
    case G_VARIANT_CLASS_INT16:   return g_variant_get_int16 (value);
    case G_VARIANT_CLASS_UINT16:  return g_variant_get_uint16 (value);
    case G_VARIANT_CLASS_INT32:   return g_variant_get_int32 (value);
    case G_VARIANT_CLASS_UINT32:  return g_variant_get_uint32 (value);
    case G_VARIANT_CLASS_INT64:   return g_variant_get_int64 (value);
    case G_VARIANT_CLASS_UINT64:  return g_variant_get_uint64 (value);
    case G_VARIANT_CLASS_DOUBLE:  return g_variant_get_double (value);
    default:                      return INFINITY;
    }
}

guint64
_coproc_messenger_next_request_id (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  /* Never 0, which means "no request"; 2^64 requests never wrap. */
  return ++priv->last_request_id;
}

gboolean
_coproc_messenger_send_data (CoprocMessenger    *self,
                             CoprocMessageKind   kind,
                             GVariant           *payload,
                             GVariant           *channel_id,
                             gboolean            explicit_priority,
                             gdouble             priority,
                             guint64             request_id,
                             gboolean            answer_oldest,
                             GCancellable       *cancellable,
                             GError            **error)
{
  return _coproc_messenger_send_data_full (self, kind, payload, channel_id, explicit_priority,
                                           priority, request_id, answer_oldest, NULL,
                                           cancellable, error);
}

gboolean
_coproc_messenger_send_data_full (CoprocMessenger    *self,
                                  CoprocMessageKind   kind,
                                  GVariant           *payload,
                                  GVariant           *channel_id,
                                  gboolean            explicit_priority,
                                  gdouble             priority,
                                  guint64             request_id,
                                  gboolean            answer_oldest,
                                  GUnixFDList        *fd_list,
                                  GCancellable       *cancellable,
                                  GError            **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  CoprocOutFrame frame;
  CoprocChannel *channel;
  gboolean ok;

  /* What goes on the wire must be what the peer accepts: the normal form
   * (values built by GVariant are; ones loaded from untrusted bytes may
   * not be). */
  payload = coproc_wire_take_normal (g_variant_ref_sink (payload));
  if (channel_id != NULL)
    channel_id = coproc_wire_take_normal (g_variant_ref_sink (channel_id));

  if (!explicit_priority)
    priority = payload_priority (payload);

  channel = coproc_channels_lookup (&priv->channels, channel_id, TRUE);

  /* Every request carries an id, which a peer that speaks protocol 1.1
   * echoes in its reply; a peer that speaks 1.0 ignores it. */
  if (kind == COPROC_MESSAGE_KIND_REQUEST && request_id == 0)
    request_id = _coproc_messenger_next_request_id (self);
  else if (kind == COPROC_MESSAGE_KIND_REPLY && answer_oldest &&
           !coproc_channel_oldest_taken (channel, &request_id))
    request_id = 0;

  frame.kind = kind == COPROC_MESSAGE_KIND_REQUEST ? COPROC_WIRE_KIND_REQUEST
             : kind == COPROC_MESSAGE_KIND_REPLY ? COPROC_WIRE_KIND_REPLY
             : COPROC_WIRE_KIND_NOREQUEST;
  frame.payload = payload;
  frame.channel_id = channel_id;
  frame.priority = priority;
  frame.request_id = kind == COPROC_MESSAGE_KIND_NOREQUEST ? 0 : request_id;
  frame.fd_list = fd_list != NULL && g_unix_fd_list_get_length (fd_list) > 0 ? fd_list : NULL;

  /* A send that fails on a hang-up says why, as a receive does. */
  if (priv->closed)
    _coproc_messenger_closed_error (self);
  ok = coproc_transport_send_frame (priv->transport, &frame, cancellable, error);
  if (ok)
    {
      coproc_channel_count_sent (channel, kind);
      if (kind == COPROC_MESSAGE_KIND_REPLY)
        coproc_channel_answered (channel, request_id);
    }

  g_variant_unref (payload);
  g_clear_pointer (&channel_id, g_variant_unref);
  return ok;
}

/* Sending ----------------------------------------------------------------- */

/**
 * coproc_messenger_send_norequest:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a plain message: no reply is expected. Its priority is the
 * payload's numeric `"priority"` entry when the payload is a dictionary
 * (`a{sv}` or `a{s*}`), `+inf` otherwise.
 *
 * Returns: `TRUE` on success; `FALSE` with %COPROC_ERROR_CLOSED when the
 *   pipe is broken, %COPROC_ERROR_MESSAGE_TOO_LARGE,
 *   %G_IO_ERROR_INVALID_ARGUMENT for a payload or channel id that nests
 *   deeper than a receiver accepts (see [the wire protocol](protocol.html)),
 *   or %G_IO_ERROR_TIMED_OUT past [property@Coproc.Messenger:send-timeout]
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_norequest (CoprocMessenger  *self,
                                 GVariant         *payload,
                                 GVariant         *channel_id,
                                 GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data (self, COPROC_MESSAGE_KIND_NOREQUEST, payload, channel_id,
                                      FALSE, 0, 0, FALSE, NULL, error);
}

/**
 * coproc_messenger_send_request:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a request: the count of requests sent on @channel_id goes up by
 * one, and [method@Coproc.Messenger.remaining] with it until the peer's
 * reply is received.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_request (CoprocMessenger  *self,
                               GVariant         *payload,
                               GVariant         *channel_id,
                               GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data (self, COPROC_MESSAGE_KIND_REQUEST, payload, channel_id,
                                      FALSE, 0, 0, FALSE, NULL, error);
}

/**
 * coproc_messenger_send_request_multiple:
 * @self: a messenger
 * @payloads: (array length=n_payloads): the payloads; floating references
 *   are sunk
 * @n_payloads: the number of payloads
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @error: return location for a `GError`
 *
 * Sends one request per payload, in order, on the same channel.
 *
 * Returns: `TRUE` on success; on failure, the requests before the failing
 *   one were sent
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_request_multiple (CoprocMessenger  *self,
                                        GVariant * const *payloads,
                                        guint             n_payloads,
                                        GVariant         *channel_id,
                                        GError          **error)
{
  g_autoptr(GVariant) channel = NULL;
  guint i;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payloads != NULL || n_payloads == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  for (i = 0; i < n_payloads; i++)
    {
      if (!_coproc_messenger_send_data (self, COPROC_MESSAGE_KIND_REQUEST, payloads[i], channel,
                                        FALSE, 0, 0, FALSE, NULL, error))
        {
          /* Sink the payloads we will not send, as if sent. */
          for (i = i + 1; i < n_payloads; i++)
            g_variant_unref (g_variant_ref_sink (payloads[i]));
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * coproc_messenger_send_reply:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a reply: when the peer takes it, its count of replies received on
 * @channel_id goes up by one.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_reply (CoprocMessenger  *self,
                             GVariant         *payload,
                             GVariant         *channel_id,
                             GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data (self, COPROC_MESSAGE_KIND_REPLY, payload, channel_id,
                                      FALSE, 0, 0, TRUE, NULL, error);
}

/**
 * coproc_messenger_send_with_priority:
 * @self: a messenger
 * @kind: plain message, request or reply
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @priority: the priority; lower is more important
 * @error: return location for a `GError`
 *
 * Sends a data message with an explicit priority, which takes precedence
 * over a `"priority"` entry in the payload.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_with_priority (CoprocMessenger    *self,
                                     CoprocMessageKind   kind,
                                     GVariant           *payload,
                                     GVariant           *channel_id,
                                     gdouble             priority,
                                     GError            **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (kind <= COPROC_MESSAGE_KIND_REPLY, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data (self, kind, payload, channel_id, TRUE, priority, 0, TRUE,
                                      NULL, error);
}

/**
 * coproc_messenger_send_message:
 * @self: a messenger
 * @message: a data message made with [ctor@Coproc.Message.new]
 * @error: return location for a `GError`
 *
 * Sends @message: its payload on its channel, as
 * [method@Coproc.Messenger.send_norequest],
 * [method@Coproc.Messenger.send_request] or
 * [method@Coproc.Messenger.send_reply] do for its kind (and counted as
 * they count), with the priority [method@Coproc.Message.set_priority]
 * gave it (else the one its payload gives), and with its file
 * descriptors ([method@Coproc.Message.set_unix_fd_list]).
 *
 * The descriptors are duplicated: @message keeps its own. The receiver
 * finds them, in the same order, in the list of the message it receives
 * ([method@Coproc.Message.get_unix_fd_list]), so that handles (`h`
 * values) in the payload index them as they did here.
 *
 * A message with descriptors fails, and nothing is sent:
 *
 * - with %G_IO_ERROR_INVALID_ARGUMENT when it has more than
 *   %COPROC_MESSAGE_MAX_FDS;
 * - with %G_IO_ERROR_NOT_SUPPORTED when the messenger's stream cannot
 *   pass descriptors (only a Unix domain socket can: not a worker over
 *   its standard input and output, nor a pipe or a TCP connection), or
 *   when the peer did not announce protocol 1.2. Messengers made in pairs
 *   ([func@Coproc.Messenger.new_pair]), and a worker and its host, do; a
 *   peer of coproc 1.0 or 1.1, and a messenger made over a stream
 *   ([ctor@Coproc.Messenger.new_for_stream]), which has no way to know
 *   its peer reads them, do not.
 *
 * To know what the peer speaks, the first message with descriptors may
 * wait for the peer's handshake (which a worker sends as it starts).
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.2
 */
gboolean
coproc_messenger_send_message (CoprocMessenger  *self,
                               CoprocMessage    *message,
                               GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (COPROC_IS_MESSAGE (message), FALSE);
  g_return_val_if_fail (message->kind <= COPROC_MESSAGE_KIND_REPLY, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data_full (self, message->kind, message->payload,
                                           message->channel_id, message->explicit_priority,
                                           message->priority, 0,
                                           message->kind == COPROC_MESSAGE_KIND_REPLY,
                                           message->fd_list, NULL, error);
}

/**
 * coproc_messenger_send_serialized:
 * @self: a messenger
 * @kind: plain message, request or reply
 * @type_string: the payload's type: a definite GVariant type string
 * @data: (array length=size) (element-type guint8): the payload in
 *   GVariant's serialized form, as `g_variant_get_data()` gives it
 * @size: the length of @data
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Sends a data message whose payload is given serialized, as
 * [method@Coproc.Messenger.send_norequest],
 * [method@Coproc.Messenger.send_request] or
 * [method@Coproc.Messenger.send_reply] do for @kind (and with the priority
 * they give it). The message is the same as with a payload made by
 * `g_variant_new_from_data (type, data, size, FALSE, NULL, NULL)`: for a
 * binding that serializes values itself, it saves making a `GVariant` and
 * the bytes it holds, which there cost a call each. @data is copied; the
 * caller keeps it.
 *
 * Fails with %G_IO_ERROR_INVALID_ARGUMENT, and sends nothing, when
 * @type_string is not a definite type or @data is not a value of that type
 * in normal form.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.2
 */
gboolean
coproc_messenger_send_serialized (CoprocMessenger    *self,
                                  CoprocMessageKind   kind,
                                  const char         *type_string,
                                  const guint8       *data,
                                  gsize               size,
                                  GVariant           *channel_id,
                                  GError            **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) payload = NULL;
  g_autoptr(GVariant) channel = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (kind <= COPROC_MESSAGE_KIND_REPLY, FALSE);
  g_return_val_if_fail (type_string != NULL, FALSE);
  g_return_val_if_fail (data != NULL || size == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Sunk first: a floating id is ours whatever happens. */
  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  if (!g_variant_type_string_is_valid (type_string) ||
      !g_variant_type_is_definite ((const GVariantType *) type_string))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send a payload of type \"%s\": not a definite GVariant type",
                   type_string);
      return FALSE;
    }

  bytes = g_bytes_new (data, size);
  payload = g_variant_ref_sink (g_variant_new_from_bytes ((const GVariantType *) type_string,
                                                          bytes, FALSE));
  if (!coproc_wire_is_normal (payload))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot send a payload of type \"%s\": its %" G_GSIZE_FORMAT " bytes are "
                   "not a value of that type in normal form", type_string, size);
      return FALSE;
    }

  return _coproc_messenger_send_data (self, kind, payload, channel, FALSE, 0, 0,
                                      kind == COPROC_MESSAGE_KIND_REPLY, NULL, error);
}

/**
 * coproc_messenger_send_cancellable:
 * @self: a messenger
 * @kind: plain message, request or reply
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Sends a data message, as [method@Coproc.Messenger.send_norequest],
 * [method@Coproc.Messenger.send_request] or
 * [method@Coproc.Messenger.send_reply] do for @kind (and with the
 * priority they give it), but stops waiting when @cancellable is
 * cancelled.
 *
 * A send waits only when the peer lags (see
 * [property@Coproc.Messenger:send-timeout]). Cancelled while it waits
 * for room, it fails with %G_IO_ERROR_CANCELLED and nothing of the
 * message was sent; the messenger stays usable. A message that was partly
 * written already is sent whole: its rest is buffered, to leave when the
 * peer reads, and the call succeeds. A messenger is not thread-safe, but
 * the cancellable may be cancelled from any thread, or from a signal
 * handler through `g_cancellable_cancel()`.
 *
 * Returns: `TRUE` when the message was sent (or buffered whole)
 *
 * Since: 1.2
 */
gboolean
coproc_messenger_send_cancellable (CoprocMessenger    *self,
                                   CoprocMessageKind   kind,
                                   GVariant           *payload,
                                   GVariant           *channel_id,
                                   GCancellable       *cancellable,
                                   GError            **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (kind <= COPROC_MESSAGE_KIND_REPLY, FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data (self, kind, payload, channel_id, FALSE, 0, 0,
                                      kind == COPROC_MESSAGE_KIND_REPLY, cancellable, error);
}

/**
 * coproc_messenger_send_error:
 * @self: a messenger
 * @remote_error: the error to send
 * @error: return location for a `GError`
 *
 * Sends an error. It bypasses channels and queues: the peer's next receive
 * call fails with an error of the same domain, code and message (or the
 * peer's [signal@Coproc.Messenger::error-received] handlers consume it).
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_error (CoprocMessenger  *self,
                             const GError     *remote_error,
                             GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GVariant) body = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (remote_error != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  body = g_variant_ref_sink (coproc_wire_error_to_variant (remote_error));
  if (priv->closed)
    _coproc_messenger_closed_error (self);
  return coproc_transport_send (priv->transport, COPROC_WIRE_KIND_ERROR, body, NULL, -INFINITY,
                                error);
}

/**
 * coproc_messenger_send_close_request:
 * @self: a messenger
 * @error: return location for a `GError`
 *
 * Asks the peer to close. It bypasses channels and queues: the peer's next
 * receive call fails with %COPROC_ERROR_CLOSE_REQUESTED (or the peer's
 * [signal@Coproc.Messenger::close-requested] handlers consume it).
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_send_close_request (CoprocMessenger  *self,
                                     GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->closed)
    _coproc_messenger_closed_error (self);
  return coproc_transport_send (priv->transport, COPROC_WIRE_KIND_CLOSE, NULL, NULL, -INFINITY,
                                error);
}

/**
 * coproc_messenger_flush:
 * @self: a messenger
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Blocks until every buffered outgoing frame is in the kernel. Sends only
 * buffer when the peer lags; a worker that is about to exit calls this so
 * that its last messages leave. While it waits it keeps reading what the
 * peer sends into the queues. It fails with %G_IO_ERROR_CANCELLED or, past
 * [property@Coproc.Messenger:send-timeout], %G_IO_ERROR_TIMED_OUT; what was
 * buffered stays buffered.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_flush (CoprocMessenger  *self,
                        GCancellable     *cancellable,
                        GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->closed)
    _coproc_messenger_closed_error (self);
  if (!coproc_transport_check_open (priv->transport, error))
    return FALSE;

  return coproc_transport_flush (priv->transport, cancellable, error);
}
