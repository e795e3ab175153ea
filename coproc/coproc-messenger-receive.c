/* coproc-messenger-receive.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * CoprocMessenger, receiving: the receive calls, and the async receives
 * that wait for messages. The rest of the object is in coproc-messenger.c;
 * the state both share is in coproc-messenger-state-private.h.
 *
 * Every receive call first moves what has arrived into the queues, through
 * the transport, without signals (signals come only from the transport's
 * watch, in coproc-messenger.c); a special message that is pending fails
 * the call, which consumes it and lets parsing go on.
 */

#include "config.h"

#include <gio/gio.h>

#include "coproc-message-private.h"
#include "coproc-messenger-state-private.h"

/* Reads per receive call before it looks at the queues again. */
#define RECEIVE_MAX_READS 256

typedef struct
{
  CoprocMessenger *self;           /* borrowed: the task holds a reference */
  GTask           *task;           /* owned */
  CoprocChannel   *channel;        /* borrowed: channels live as long as the messenger */
  GSource         *cancel_source;  /* owned, may be NULL: on the messenger's context */
  guint            want_message : 1; /* finishes with the CoprocMessage, not its payload */
  guint            any : 1;        /* takes the first message of every channel; @channel
                                    * is then NULL */
} PendingReceive;

/* Taking messages ---------------------------------------------------------- */

static void
update_watch (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  coproc_transport_update_watch (priv->transport);
}

/* Takes the next message of @channel, and lets input in again once the
 * queues are back under their bound. */
static CoprocMessage *
take_message (CoprocMessenger *self,
              CoprocChannel   *channel)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  gboolean was_held = coproc_channels_full (&priv->channels);
  CoprocMessage *message;

  message = coproc_channels_take (&priv->channels, channel);
  if (message == NULL)
    return NULL;

  /* Below the bound again: let the watch read on. */
  if (was_held && !coproc_channels_full (&priv->channels))
    update_watch (self);

  return message;
}

/* Takes the first message of all channels (coproc_channels_first()). */
static CoprocMessage *
take_any (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  CoprocChannel *first = coproc_channels_first (&priv->channels);

  return first != NULL ? take_message (self, first) : NULL;
}

/* Moves what has arrived into the queues, without signals. */
static void
process_input (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  coproc_transport_pump (priv->transport, RECEIVE_MAX_READS, FALSE);
}

/* Hands the pending special message (or dropped frame) to the caller, and
 * lets parsing go on behind it. */
GError *
_coproc_messenger_steal_special (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  coproc_transport_resume_parsing (priv->transport);

  /* An error reply to a plain request counts as its reply now. */
  if (priv->pending_special_channel != NULL)
    {
      coproc_channel_count_reply (priv->pending_special_channel, FALSE);
      priv->pending_special_channel = NULL;
    }

  return g_steal_pointer (&priv->pending_special);
}

/* Async receives ---------------------------------------------------------- */

static void
pending_receive_free (PendingReceive *p)
{
  if (p->cancel_source != NULL)
    {
      g_source_destroy (p->cancel_source);
      g_source_unref (p->cancel_source);
    }
  g_clear_object (&p->task);
  g_free (p);
}

static void
pending_return_message (PendingReceive *p,
                        CoprocMessage  *message)
{
  if (p->want_message)
    g_task_return_pointer (p->task, message, g_object_unref);
  else
    {
      GVariant *payload = g_variant_ref (message->payload);

      g_object_unref (message);
      g_task_return_pointer (p->task, payload, (GDestroyNotify) g_variant_unref);
    }
}

/* Resolves pending receives in call order. Returning a task can run its
 * callback right here, which may add receives or dispose us: so each step
 * unlinks its entry first and starts over from the head. */
void
_coproc_messenger_complete_pending (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  gboolean progress = TRUE;

  if (g_queue_is_empty (&priv->pending))
    return;

  g_object_ref (self);

  while (progress && !priv->disposed)
    {
      progress = FALSE;

      for (GList *l = priv->pending.head; l != NULL; l = l->next)
        {
          PendingReceive *p = l->data;
          CoprocMessage *message;

          if (priv->pending_special != NULL)
            {
              GError *error = _coproc_messenger_steal_special (self);

              g_queue_delete_link (&priv->pending, l);
              g_task_return_error (p->task, error);
              pending_receive_free (p);
              progress = TRUE;
              break;
            }

          message = p->any ? take_any (self) : take_message (self, p->channel);
          if (message != NULL)
            {
              g_queue_delete_link (&priv->pending, l);
              pending_return_message (p, message);
              pending_receive_free (p);
              progress = TRUE;
              break;
            }

          /* After a hang-up, wait until its cause is known (the report
           * comes from the context, soon). */
          if (priv->closed && priv->report_pending)
            continue;

          if (priv->closed || coproc_channels_full (&priv->channels))
            {
              g_queue_delete_link (&priv->pending, l);
              if (priv->closed)
                g_task_return_error (p->task, g_error_copy (priv->closed_error));
              else
                {
                  GError *error = NULL;

                  coproc_channels_set_full_error (&priv->channels, &error);
                  g_task_return_error (p->task, error);
                }
              pending_receive_free (p);
              progress = TRUE;
              break;
            }
        }
    }

  g_object_unref (self);
}

static gboolean
receive_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  PendingReceive *p = user_data;
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (p->self);
  GList *link = g_queue_find (&priv->pending, p);

  if (link != NULL)
    {
      g_queue_delete_link (&priv->pending, link);
      g_task_return_new_error (p->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The receive was cancelled");
      g_clear_pointer (&p->cancel_source, g_source_unref);
      pending_receive_free (p);
    }

  return G_SOURCE_REMOVE;
}

static void
receive_async_common (CoprocMessenger     *self,
                      GVariant            *channel_id,
                      gboolean             any,
                      gboolean             want_message,
                      gpointer             source_tag,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GVariant) channel = NULL;
  PendingReceive *p;

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, "[coproc] receive");
  /* A message taken for this call is delivered even if the cancellable
   * fires afterwards: cancelling never loses a message. */
  g_task_set_check_cancellable (task, FALSE);

  if (g_task_return_error_if_cancelled (task))
    return;

  /* A disposed messenger completes nothing that waits: fail at once. */
  if (priv->disposed)
    {
      g_task_return_error (task, g_error_copy (priv->closed_error));
      return;
    }

  p = g_new0 (PendingReceive, 1);
  p->self = self;
  p->task = g_steal_pointer (&task);
  p->channel = any ? NULL : coproc_channels_lookup (&priv->channels, channel, TRUE);
  p->want_message = !!want_message;
  p->any = !!any;

  if (cancellable != NULL)
    {
      p->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (p->cancel_source, "[coproc] receive cancelled");
      g_source_set_callback (p->cancel_source, G_SOURCE_FUNC (receive_cancelled_cb), p, NULL);
      g_source_attach (p->cancel_source, priv->context);
    }

  g_queue_push_tail (&priv->pending, p);

  if (!priv->closed)
    coproc_transport_flush_nonblocking (priv->transport, NULL);
  if (!priv->closed)
    process_input (self);
  else
    _coproc_messenger_complete_pending (self);

  update_watch (self);
}

/* Receive helpers --------------------------------------------------------- */

/* Whether a receive that finds nothing queued may wait for input before
 * reading: nothing is buffered, pending or to be flushed, so a read now
 * could only find what waiting would also reveal. Saves a system call. */
gboolean
_coproc_messenger_can_wait_first (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  return !priv->closed && priv->pending_special == NULL && !coproc_channels_full (&priv->channels) &&
         coproc_transport_can_wait_first (priv->transport);
}

void
_coproc_messenger_prepare_receive (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  if (!priv->closed && coproc_transport_has_output (priv->transport))
    coproc_transport_flush_nonblocking (priv->transport, NULL);
  if (!priv->closed)
    process_input (self);
}

gboolean
_coproc_messenger_take_special (CoprocMessenger  *self,
                                GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  if (priv->pending_special == NULL)
    return FALSE;

  g_propagate_error (error, _coproc_messenger_steal_special (self));
  update_watch (self);
  return TRUE;
}

void
_coproc_messenger_fail_pending (CoprocMessenger *self,
                                const GError    *error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  PendingReceive *p;

  while ((p = g_queue_pop_head (&priv->pending)) != NULL)
    {
      g_task_return_error (p->task, g_error_copy (error));
      pending_receive_free (p);
    }
}

/* Receiving --------------------------------------------------------------- */

/**
 * coproc_messenger_available:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @error: return location for a `GError`
 *
 * Moves everything that has arrived into the queues, then counts the
 * messages queued on @channel_id.
 *
 * Fails when the peer sent an error or a close request (which this call
 * then consumes).
 *
 * Returns: the number of queued messages, or 0 with @error set
 *
 * Since: 1.0
 */
guint
coproc_messenger_available (CoprocMessenger  *self,
                            GVariant         *channel_id,
                            GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GVariant) channel = NULL;
  CoprocChannel *cs;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), 0);
  g_return_val_if_fail (error == NULL || *error == NULL, 0);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  _coproc_messenger_prepare_receive (self);
  if (_coproc_messenger_take_special (self, error))
    return 0;

  cs = coproc_channels_lookup (&priv->channels, channel, FALSE);
  return cs ? coproc_queue_size (&cs->queue) : 0;
}

/**
 * coproc_messenger_receive_available:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @error: return location for a `GError`
 *
 * Moves everything that has arrived into the queues, then takes every
 * message queued on @channel_id, in queue order.
 *
 * Returns: (transfer container) (element-type GVariant): the payloads,
 *   maybe none, or `NULL` with @error set
 *
 * Since: 1.0
 */
GPtrArray *
coproc_messenger_receive_available (CoprocMessenger  *self,
                                    GVariant         *channel_id,
                                    GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GVariant) channel = NULL;
  GPtrArray *payloads;
  CoprocChannel *cs;
  CoprocMessage *message;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  _coproc_messenger_prepare_receive (self);
  if (_coproc_messenger_take_special (self, error))
    return NULL;

  payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  cs = coproc_channels_lookup (&priv->channels, channel, FALSE);
  if (cs != NULL)
    {
      while ((message = take_message (self, cs)) != NULL)
        {
          g_ptr_array_add (payloads, g_variant_ref (message->payload));
          g_object_unref (message);
        }
    }

  return payloads;
}

/* Waits for the next message of @channel (borrowed), or with @any of every
 * channel, and takes it. */
static CoprocMessage *
receive_message_blocking (CoprocMessenger  *self,
                          GVariant         *channel,
                          gboolean          any,
                          GCancellable     *cancellable,
                          GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  if (_coproc_messenger_can_wait_first (self))
    {
      CoprocChannel *cs = any ? NULL : coproc_channels_lookup (&priv->channels, channel, FALSE);
      guint queued = any ? priv->channels.total_queued
                         : cs != NULL ? coproc_queue_size (&cs->queue) : 0;

      if (queued == 0 && !coproc_transport_wait (priv->transport, TRUE, FALSE, cancellable, error))
        return NULL;
    }

  for (;;)
    {
      CoprocMessage *message;

      _coproc_messenger_prepare_receive (self);
      if (_coproc_messenger_take_special (self, error))
        return NULL;

      if (any)
        message = take_any (self);
      else
        {
          CoprocChannel *cs = coproc_channels_lookup (&priv->channels, channel, FALSE);

          message = cs != NULL ? take_message (self, cs) : NULL;
        }
      if (message != NULL)
        return message;

      if (priv->closed)
        {
          g_propagate_error (error, g_error_copy (_coproc_messenger_closed_error (self)));
          return NULL;
        }

      if (coproc_channels_full (&priv->channels))
        {
          coproc_channels_set_full_error (&priv->channels, error);
          return NULL;
        }

      if (!coproc_transport_wait (priv->transport, TRUE,
                                  coproc_transport_has_output (priv->transport),
                                  cancellable, error))
        return NULL;
    }
}

/**
 * coproc_messenger_receive_message_blocking:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits for the next message on @channel_id and takes it. Messages that
 * arrive on other channels meanwhile are queued. This does not iterate any
 * main context.
 *
 * Fails with the peer's error, with %COPROC_ERROR_CLOSE_REQUESTED, with
 * %COPROC_ERROR_CLOSED (or %COPROC_ERROR_WORKER_DIED for a worker's
 * messenger) once the peer is gone and the channel's queue is empty, or
 * with %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the message, or `NULL` with @error set
 *
 * Since: 1.0
 */
CoprocMessage *
coproc_messenger_receive_message_blocking (CoprocMessenger  *self,
                                           GVariant         *channel_id,
                                           GCancellable     *cancellable,
                                           GError          **error)
{
  g_autoptr(GVariant) channel = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  return receive_message_blocking (self, channel, FALSE, cancellable, error);
}

/**
 * coproc_messenger_receive_message_any:
 * @self: a messenger
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits for the next message on any channel and takes it: of the first
 * messages of all channels, the one that would be taken first from a
 * single queue (for a [class@Coproc.PriorityMessenger] the one of highest
 * priority, then the one that arrived first; for a
 * [class@Coproc.MultiMessenger] the one that arrived first). The message
 * tells its channel ([method@Coproc.Message.get_channel_id]). This does
 * not iterate any main context; the async form is
 * [method@Coproc.Messenger.receive_message_any_async].
 *
 * Fails as [method@Coproc.Messenger.receive_message_blocking] does, once
 * every queue is empty.
 *
 * Returns: (transfer full): the message, or `NULL` with @error set
 *
 * Since: 1.2
 */
CoprocMessage *
coproc_messenger_receive_message_any (CoprocMessenger  *self,
                                      GCancellable     *cancellable,
                                      GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return receive_message_blocking (self, NULL, TRUE, cancellable, error);
}

/**
 * coproc_messenger_receive_blocking:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits for the next message on @channel_id and returns its payload, as
 * [method@Coproc.Messenger.receive_message_blocking] does.
 *
 * Returns: (transfer full): the payload, or `NULL` with @error set
 *
 * Since: 1.0
 */
GVariant *
coproc_messenger_receive_blocking (CoprocMessenger  *self,
                                   GVariant         *channel_id,
                                   GCancellable     *cancellable,
                                   GError          **error)
{
  g_autoptr(CoprocMessage) message = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);

  message = coproc_messenger_receive_message_blocking (self, channel_id, cancellable, error);
  if (message == NULL)
    return NULL;

  return g_variant_ref (message->payload);
}

/**
 * coproc_messenger_receive_remaining:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Takes messages from @channel_id until every request sent there has its
 * reply, and returns their payloads in order. A plain message that arrives
 * in between is included, so nothing is lost. With no outstanding request
 * this returns an empty array at once.
 *
 * On failure the messages taken so far are discarded; use
 * [method@Coproc.Messenger.receive_message_blocking] in a loop on
 * [method@Coproc.Messenger.remaining] to keep them.
 *
 * Returns: (transfer container) (element-type GVariant): the payloads, or
 *   `NULL` with @error set
 *
 * Since: 1.0
 */
GPtrArray *
coproc_messenger_receive_remaining (CoprocMessenger  *self,
                                    GVariant         *channel_id,
                                    GCancellable     *cancellable,
                                    GError          **error)
{
  g_autoptr(GPtrArray) payloads = NULL;
  g_autoptr(GVariant) channel = NULL;

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

  while (coproc_messenger_remaining (self, channel) > 0)
    {
      g_autoptr(CoprocMessage) message = NULL;

      message = coproc_messenger_receive_message_blocking (self, channel, cancellable, error);
      if (message == NULL)
        return NULL;

      g_ptr_array_add (payloads, g_variant_ref (message->payload));
    }

  return g_steal_pointer (&payloads);
}

/**
 * coproc_messenger_await_available:
 * @self: a messenger
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Waits until at least one message is queued, on any channel. This does
 * not iterate any main context.
 *
 * Returns: `TRUE` when a message is queued; `FALSE` with @error set as for
 *   [method@Coproc.Messenger.receive_message_blocking]
 *
 * Since: 1.0
 */
gboolean
coproc_messenger_await_available (CoprocMessenger  *self,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (priv->channels.total_queued == 0 && _coproc_messenger_can_wait_first (self) &&
      !coproc_transport_wait (priv->transport, TRUE, FALSE, cancellable, error))
    return FALSE;

  for (;;)
    {
      _coproc_messenger_prepare_receive (self);
      if (_coproc_messenger_take_special (self, error))
        return FALSE;

      if (priv->channels.total_queued > 0)
        return TRUE;

      if (priv->closed)
        {
          g_propagate_error (error, g_error_copy (_coproc_messenger_closed_error (self)));
          return FALSE;
        }

      if (!coproc_transport_wait (priv->transport, TRUE,
                                  coproc_transport_has_output (priv->transport),
                                  cancellable, error))
        return FALSE;
    }
}

/**
 * coproc_messenger_receive_async:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when a message is received
 * @user_data: data for @callback
 *
 * Receives the next message on @channel_id without blocking. @callback runs
 * on the messenger's context; call [method@Coproc.Messenger.receive_finish]
 * there to get the payload. Several receives may be pending; they are
 * served in call order.
 *
 * Cancelling fails the call with %G_IO_ERROR_CANCELLED unless a message
 * was already taken for it, in which case the message is delivered: no
 * message is ever lost to a cancellation.
 *
 * Since: 1.0
 */
void
coproc_messenger_receive_async (CoprocMessenger     *self,
                                GVariant            *channel_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_common (self, channel_id, FALSE, FALSE, coproc_messenger_receive_async,
                        cancellable, callback, user_data);
}

/**
 * coproc_messenger_receive_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.receive_async].
 *
 * Returns: (transfer full): the payload, or `NULL` with @error set
 *
 * Since: 1.0
 */
GVariant *
coproc_messenger_receive_finish (CoprocMessenger  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_messenger_receive_async), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * coproc_messenger_receive_message_async:
 * @self: a messenger
 * @channel_id: (nullable): the channel, or `NULL` for the default channel
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when a message is received
 * @user_data: data for @callback
 *
 * Like [method@Coproc.Messenger.receive_async], but finishes with the whole
 * [class@Coproc.Message].
 *
 * Since: 1.0
 */
void
coproc_messenger_receive_message_async (CoprocMessenger     *self,
                                        GVariant            *channel_id,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_common (self, channel_id, FALSE, TRUE, coproc_messenger_receive_message_async,
                        cancellable, callback, user_data);
}

/**
 * coproc_messenger_receive_message_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.receive_message_async].
 *
 * Returns: (transfer full): the message, or `NULL` with @error set
 *
 * Since: 1.0
 */
CoprocMessage *
coproc_messenger_receive_message_finish (CoprocMessenger  *self,
                                         GAsyncResult     *result,
                                         GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_messenger_receive_message_async),
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * coproc_messenger_receive_message_any_async:
 * @self: a messenger
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called when a message is received
 * @user_data: data for @callback
 *
 * Receives the next message on any channel without blocking, the one
 * [method@Coproc.Messenger.receive_message_any] would take. @callback runs
 * on the messenger's context; call
 * [method@Coproc.Messenger.receive_message_any_finish] there to get the
 * message. It is served in call order with the other async receives, and
 * cancelled as they are: a message already taken for it is delivered.
 *
 * Since: 1.2
 */
void
coproc_messenger_receive_message_any_async (CoprocMessenger     *self,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  receive_async_common (self, NULL, TRUE, TRUE, coproc_messenger_receive_message_any_async,
                        cancellable, callback, user_data);
}

/**
 * coproc_messenger_receive_message_any_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.receive_message_any_async].
 *
 * Returns: (transfer full): the message, or `NULL` with @error set
 *
 * Since: 1.2
 */
CoprocMessage *
coproc_messenger_receive_message_any_finish (CoprocMessenger  *self,
                                             GAsyncResult     *result,
                                             GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result,
                                                  coproc_messenger_receive_message_any_async),
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * coproc_messenger_enqueue:
 * @self: a messenger
 * @message: a received message
 * @rank: where it goes: lower ranks are taken first, equal ranks in the
 *   order they were queued; NaN counts as `+inf`
 *
 * Puts @message into the queue of its channel. This is for implementations
 * of [vfunc@Coproc.Messenger.queue_message]; [class@Coproc.PriorityMessenger]
 * ranks by priority, [class@Coproc.MultiMessenger] ranks everything equal.
 *
 * Since: 1.0
 */
void
coproc_messenger_enqueue (CoprocMessenger *self,
                          CoprocMessage   *message,
                          gdouble          rank)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (COPROC_IS_MESSAGE (message));

  coproc_channels_enqueue (&priv->channels, message, rank);
}
