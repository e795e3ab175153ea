/* coproc-messenger-request.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * CoprocMessenger, correlated requests: request() and request_async()
 * send a request and complete with the peer's reply to *that* request;
 * reply_to() and reply_error() answer one request. The rest of the object
 * is in coproc-messenger.c and coproc-messenger-receive.c; the state they
 * share is in coproc-messenger-state-private.h.
 *
 * How a reply finds its request. Every request carries an id, unique per
 * messenger (coproc-messenger.c gives plain send_request() one too). A
 * peer that speaks protocol 1.1 echoes it in its reply, whether it
 * answers with reply_to() or with send_reply(), which answers the oldest
 * request it took on that channel (coproc-channels.c remembers them). A
 * peer that speaks 1.0 ignores ids and writes 0: its replies answer the
 * requests of their channel in the order they were sent, so the n-th
 * such reply answers the n-th request of the channel, whether that was a
 * correlated request (completed here) or a plain one (its reply is queued
 * as in 1.0).
 *
 * A request that arrived stays in priv->requests until its reply does,
 * even once its call gave up (cancelled, or failed with an error or close
 * request the peer sent): the late reply is then dropped, and counted.
 * When the connection ends, every request is forgotten, and the calls
 * still waiting fail with the hang-up error, after every reply that
 * arrived before the hang-up completed its request (the transport reports
 * the end of input only once every frame before it was delivered).
 */

#include "config.h"

#include <math.h>

#include <gio/gio.h>

#include "coproc-message-private.h"
#include "coproc-messenger-state-private.h"
#include "coproc-wire-private.h"

typedef struct
{
  guint64          id;            /* key in priv->requests */
  CoprocMessenger *self;          /* borrowed: the messenger outlives its requests */
  CoprocChannel   *channel;       /* borrowed: channels live as long as the messenger */
  guint            seq;           /* its ordinal among the requests sent on @channel */
  GList            channel_link;  /* in @channel->requests while in priv->requests */
  GList            waiting_link;  /* in priv->waiting_requests while @task waits */
  GTask           *task;          /* owned, may be NULL: the async call waiting */
  CoprocRequestDoneFunc done_func; /* may be NULL: the internal caller waiting, instead of @task */
  gpointer         done_data;     /* for @done_func */
  GSource         *cancel_source; /* owned, may be NULL: @task's, on the messenger's context */
  GVariant        *reply;         /* owned, may be NULL: for a sync call, the reply */
  GError          *error;         /* owned, may be NULL: for a sync call, the error reply */
  guint            ref_count;     /* priv->requests holds one, a sync call another */
  guint            registered : 1; /* in priv->requests and @channel->requests */
  guint            sync : 1;      /* a sync call waits on it */
  guint            answered : 1;  /* its reply or error reply arrived */
} PendingRequest;

static void
pending_request_unref (PendingRequest *p)
{
  if (--p->ref_count > 0)
    return;

  g_assert (!p->registered && p->task == NULL && p->cancel_source == NULL);
  g_clear_pointer (&p->reply, g_variant_unref);
  g_clear_error (&p->error);
  g_free (p);
}

/* Takes the request out of the table and its channel's list. */
static void
unregister (PendingRequest *p)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (p->self);

  if (!p->registered)
    return;

  p->registered = FALSE;
  g_hash_table_remove (priv->requests, &p->id);
  g_queue_unlink (&p->channel->requests, &p->channel_link);
}

/* Who waits for a request: an async call's task, or an internal caller's
 * function (see _coproc_messenger_request_full()). */
typedef struct
{
  GTask                 *task;   /* owned, may be NULL */
  CoprocRequestDoneFunc  func;   /* may be NULL */
  gpointer               data;
} Waiter;

/* The async call gives up waiting or is answered: returns who waits (the
 * task transfer full) for the caller to complete. */
static Waiter
steal_waiter (PendingRequest *p)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (p->self);
  Waiter waiter = { NULL, NULL, NULL };

  if (p->cancel_source != NULL)
    {
      g_source_destroy (p->cancel_source);
      g_clear_pointer (&p->cancel_source, g_source_unref);
    }
  if (p->task != NULL || p->done_func != NULL)
    g_queue_unlink (&priv->waiting_requests, &p->waiting_link);

  waiter.task = g_steal_pointer (&p->task);
  waiter.func = g_steal_pointer (&p->done_func);
  waiter.data = g_steal_pointer (&p->done_data);
  return waiter;
}

static GTask *
steal_task (PendingRequest *p)
{
  Waiter waiter = steal_waiter (p);

  g_assert (waiter.func == NULL);
  return waiter.task;
}

static gboolean
waiter_present (Waiter *waiter)
{
  return waiter->task != NULL || waiter->func != NULL;
}

/* Completes @waiter with @reply (borrowed) or @error (taken). */
static void
waiter_complete (Waiter   *waiter,
                 GVariant *reply,
                 GError   *error)
{
  if (waiter->task != NULL)
    {
      g_autoptr(GTask) task = g_steal_pointer (&waiter->task);

      if (error != NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, g_variant_ref (reply), (GDestroyNotify) g_variant_unref);
    }
  else if (waiter->func != NULL)
    {
      waiter->func (reply, error, waiter->data);
      g_clear_error (&error);
    }
  else
    g_clear_error (&error);
}

/* The reply (@reply borrowed, or @error taken) of @p arrived: it completes
 * the call waiting, or is dropped when none waits any more. Either way it
 * counts as the request's reply. */
static void
answer (PendingRequest *p,
        GVariant       *reply,
        GError         *error)
{
  Waiter waiter;

  coproc_channel_count_reply (p->channel, error == NULL);
  unregister (p);
  p->answered = TRUE;

  waiter = steal_waiter (p);
  if (waiter_present (&waiter))
    waiter_complete (&waiter, reply, g_steal_pointer (&error));
  else if (p->sync)
    {
      p->reply = reply ? g_variant_ref (reply) : NULL;
      p->error = g_steal_pointer (&error);
    }

  g_clear_error (&error);
  pending_request_unref (p);
}

/* The request a reply (or error reply) answers, or NULL. */
static PendingRequest *
find_request (CoprocMessenger *self,
              CoprocFrame     *frame)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  CoprocChannel *channel;
  PendingRequest *p;

  if (frame->request_id != 0)
    return g_hash_table_size (priv->requests) > 0
           ? g_hash_table_lookup (priv->requests, &frame->request_id) : NULL;

  /* A peer known to echo ids sends 0 only in a reply to no request. */
  if (coproc_transport_get_peer_minor (priv->transport) >= 1)
    return NULL;

  /* A 1.0 peer: the n-th reply of the channel answers its n-th request. */
  channel = coproc_channels_lookup (&priv->channels, frame->channel_id, FALSE);
  if (channel == NULL || channel->zero_replies >= channel->requests_sent)
    return NULL;
  channel->zero_replies++;

  if (channel->requests.head == NULL)
    return NULL;
  p = channel->requests.head->data;
  if (p->seq > channel->zero_replies)
    return NULL;                       /* it answers a plain request, sent before */

  /* Replies the peer sent to no request put it ahead: it answers this one. */
  channel->zero_replies = p->seq;
  return p;
}

gboolean
_coproc_messenger_take_reply (CoprocMessenger *self,
                              CoprocFrame     *frame)
{
  PendingRequest *p = find_request (self, frame);

  if (p == NULL)
    return FALSE;

  answer (p, frame->payload, NULL);
  return TRUE;
}

gboolean
_coproc_messenger_take_error_reply (CoprocMessenger *self,
                                    CoprocFrame     *frame,
                                    GError          *remote)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  PendingRequest *p;

  if (frame->request_id == 0 || g_hash_table_size (priv->requests) == 0)
    return FALSE;

  p = g_hash_table_lookup (priv->requests, &frame->request_id);
  if (p == NULL)
    return FALSE;

  answer (p, NULL, remote);
  return TRUE;
}

gboolean
_coproc_messenger_has_waiting_requests (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  return !g_queue_is_empty (&priv->waiting_requests);
}

void
_coproc_messenger_fail_requests (CoprocMessenger *self,
                                 const GError    *error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GArray) waiters = NULL;
  GHashTableIter iter;
  gpointer value;

  if (g_hash_table_size (priv->requests) == 0 && g_queue_is_empty (&priv->waiting_requests))
    return;

  /* Collect first: completing a task may run its callback right here,
   * which may start new requests. */
  waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
  while (!g_queue_is_empty (&priv->waiting_requests))
    {
      Waiter waiter = steal_waiter (priv->waiting_requests.head->data);

      g_array_append_val (waiters, waiter);
    }

  g_hash_table_iter_init (&iter, priv->requests);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      PendingRequest *p = value;

      g_hash_table_iter_steal (&iter);
      p->registered = FALSE;
      g_queue_unlink (&p->channel->requests, &p->channel_link);
      pending_request_unref (p);
    }

  for (guint i = 0; i < waiters->len; i++)
    waiter_complete (&g_array_index (waiters, Waiter, i), NULL, g_error_copy (error));
}

void
_coproc_messenger_complete_requests (CoprocMessenger *self)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  if (g_hash_table_size (priv->requests) == 0 && g_queue_is_empty (&priv->waiting_requests))
    return;

  g_object_ref (self);

  /* An error or close request the peer sent fails the oldest async request
   * waiting, as it fails the next receive call; async receives waiting
   * took it first. Its reply, if it comes, is dropped. */
  while (!priv->disposed && priv->pending_special != NULL && g_queue_is_empty (&priv->pending) &&
         !g_queue_is_empty (&priv->waiting_requests))
    {
      Waiter waiter = steal_waiter (priv->waiting_requests.head->data);

      waiter_complete (&waiter, NULL, _coproc_messenger_steal_special (self));
      coproc_transport_update_watch (priv->transport);
    }

  if (priv->closed && !priv->disposed && !priv->report_pending)
    _coproc_messenger_fail_requests (self, priv->closed_error);

  g_object_unref (self);
}

/* Starting and waiting --------------------------------------------------------- */

/* Registers a request and sends it; @payload and @channel_id are sunk by
 * the caller. The request waits for @task (an async call: a reference is
 * taken), or for a sync call when @task is NULL (the call then holds a
 * reference of its own, to release). Returns NULL with @error set when the
 * request could not be sent: the call is then the caller's to fail.
 *
 * A request whose send failed because the peer stopped reading waits too:
 * it fails once the peer's hang-up is read, as every request still
 * waiting then does. */
static PendingRequest *
start_request (CoprocMessenger        *self,
               GVariant               *payload,
               GVariant               *channel_id,
               CoprocMessage          *message,
               GTask                  *task,
               CoprocRequestDoneFunc   done_func,
               gpointer                done_data,
               GError                **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GError) local_error = NULL;
  PendingRequest *p;

  if (priv->closed)
    {
      g_propagate_error (error, g_error_copy (_coproc_messenger_closed_error (self)));
      return NULL;
    }

  /* An error or close request the peer sent, not surfaced yet, fails this
   * call as it would fail a receive call: the request is not sent. */
  if (_coproc_messenger_take_special (self, error))
    return NULL;

  p = g_new0 (PendingRequest, 1);
  p->ref_count = 1;
  p->self = self;
  p->id = _coproc_messenger_next_request_id (self);
  p->channel = coproc_channels_lookup (&priv->channels, channel_id, TRUE);
  p->seq = p->channel->requests_sent + 1;
  p->channel_link.data = p;
  p->waiting_link.data = p;
  p->registered = TRUE;
  g_hash_table_insert (priv->requests, &p->id, p);
  g_queue_push_tail_link (&p->channel->requests, &p->channel_link);

  /* Waiting before it is sent: input read while sending may end it. */
  if (task != NULL || done_func != NULL)
    {
      p->task = task ? g_object_ref (task) : NULL;
      p->done_func = done_func;
      p->done_data = done_data;
      g_queue_push_tail_link (&priv->waiting_requests, &p->waiting_link);
    }
  else
    {
      p->sync = TRUE;
      p->ref_count++;
    }

  /* A message gives the request its priority and descriptors. */
  if (_coproc_messenger_send_data_full (self, COPROC_MESSAGE_KIND_REQUEST, payload, channel_id,
                                        message != NULL && message->explicit_priority,
                                        message != NULL ? message->priority : 0, p->id, FALSE,
                                        message != NULL ? message->fd_list : NULL,
                                        NULL, &local_error))
    return p;

  /* The connection ended meanwhile, which completed the call; or the peer
   * stopped reading, and its hang-up will. */
  if (!p->registered || (!priv->closed && coproc_transport_write_failed (priv->transport)))
    return p;

  /* Not sent: the reference taken above goes, the caller fails its call. */
  {
    Waiter waiter = steal_waiter (p);

    g_clear_object (&waiter.task);
  }
  unregister (p);
  if (p->sync)
    pending_request_unref (p);
  pending_request_unref (p);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

/* A sync call waits for its request's reply, reading the stream itself
 * (as receive_message_blocking() does) and never touching the owner's
 * context. What else arrives meanwhile is queued; an error or close
 * request the peer sent fails the call. */
static GVariant *
wait_request (CoprocMessenger  *self,
              PendingRequest   *p,
              GCancellable     *cancellable,
              GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);

  if (_coproc_messenger_can_wait_first (self) &&
      !coproc_transport_wait (priv->transport, TRUE, FALSE, cancellable, error))
    return NULL;

  for (;;)
    {
      _coproc_messenger_prepare_receive (self);

      if (p->answered)
        {
          if (p->error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&p->error));
              return NULL;
            }
          return g_steal_pointer (&p->reply);
        }

      if (_coproc_messenger_take_special (self, error))
        return NULL;

      if (priv->closed)
        {
          g_propagate_error (error, g_error_copy (_coproc_messenger_closed_error (self)));
          return NULL;
        }

      if (coproc_channels_full (&priv->channels))
        {
          g_set_error (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL,
                       "Cannot wait for a reply: the queues hold %" G_GUINT64_FORMAT
                       " bytes of messages no one took, the maximum is %" G_GUINT64_FORMAT,
                       priv->channels.queued_bytes, priv->channels.max_queued_bytes);
          return NULL;
        }

      if (!coproc_transport_wait (priv->transport, TRUE,
                                  coproc_transport_has_output (priv->transport),
                                  cancellable, error))
        return NULL;
    }
}

static gboolean
request_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  PendingRequest *p = user_data;
  g_autoptr(GTask) task = steal_task (p);

  /* The request stays registered: its reply, when it comes, is dropped. */
  if (task != NULL)
    g_task_return_error_if_cancelled (task);

  return G_SOURCE_REMOVE;
}

gboolean
_coproc_messenger_request_full (CoprocMessenger        *self,
                                GVariant               *payload,
                                GVariant               *channel_id,
                                CoprocRequestDoneFunc   func,
                                gpointer                user_data,
                                GError                **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GVariant) owned_payload = g_variant_ref_sink (payload);
  g_autoptr(GVariant) channel = channel_id ? g_variant_ref_sink (channel_id) : NULL;

  g_return_val_if_fail (func != NULL, FALSE);

  if (start_request (self, owned_payload, channel, NULL, NULL, func, user_data, error) == NULL)
    return FALSE;

  coproc_transport_update_watch (priv->transport);
  return TRUE;
}

/* Public API ----------------------------------------------------------------------- */

static GVariant *request_sync  (CoprocMessenger     *self,
                                GVariant            *payload,
                                GVariant            *channel_id,
                                CoprocMessage       *message,
                                GCancellable        *cancellable,
                                GError             **error);
static void      request_async (CoprocMessenger     *self,
                                GVariant            *payload,
                                GVariant            *channel_id,
                                CoprocMessage       *message,
                                GCancellable        *cancellable,
                                gpointer             source_tag,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);

/**
 * coproc_messenger_request:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Sends a request and waits for the peer's reply to that request. The
 * request counts in [method@Coproc.Messenger.requests_sent] and
 * [method@Coproc.Messenger.remaining] exactly as with
 * [method@Coproc.Messenger.send_request]; its reply is never queued nor
 * offered to [signal@Coproc.Messenger::message-received], and counts in
 * [method@Coproc.Messenger.replies_received] when it arrives.
 *
 * The peer answers with [method@Coproc.Messenger.reply_to], or with
 * [method@Coproc.Messenger.send_reply], which answers the oldest request
 * it took on that channel: so a worker written for coproc 1.0 (receive,
 * then `send_reply()`) serves requests made this way unchanged.
 *
 * Like [method@Coproc.Messenger.receive_message_blocking], this reads the
 * stream itself and does not iterate any main context: messages that
 * arrive meanwhile are queued, and no signal is emitted. It fails with the
 * error of the peer's [method@Coproc.Messenger.reply_error] for this
 * request, with an error or close request the peer sent with
 * [method@Coproc.Messenger.send_error] or
 * [method@Coproc.Messenger.send_close_request] (then the request's reply,
 * if it comes, is dropped), with %COPROC_ERROR_CLOSED (or
 * %COPROC_ERROR_WORKER_DIED for a worker's messenger) when the peer goes
 * away first, or with %G_IO_ERROR_CANCELLED. See
 * [method@Coproc.Messenger.request_async] for the form that does not
 * block.
 *
 * Returns: (transfer full): the payload of the reply, or `NULL` with
 *   @error set
 *
 * Since: 1.2
 */
GVariant *
coproc_messenger_request (CoprocMessenger  *self,
                          GVariant         *payload,
                          GVariant         *channel_id,
                          GCancellable     *cancellable,
                          GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (payload != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return request_sync (self, payload, channel_id, NULL, cancellable, error);
}

/**
 * coproc_messenger_request_message:
 * @self: a messenger
 * @message: a request made with [ctor@Coproc.Message.new], of kind
 *   %COPROC_MESSAGE_KIND_REQUEST
 * @cancellable: (nullable): a `GCancellable`
 * @error: return location for a `GError`
 *
 * Like [method@Coproc.Messenger.request], for a request built by the
 * caller: it goes with the priority [method@Coproc.Message.set_priority]
 * gave it (a peer's [class@Coproc.PriorityMessenger] takes more important
 * requests first), and with its file descriptors, as
 * [method@Coproc.Messenger.send_message] sends them (and refuses them).
 *
 * Returns: (transfer full): the payload of the reply, or `NULL` with
 *   @error set
 *
 * Since: 1.2
 */
GVariant *
coproc_messenger_request_message (CoprocMessenger  *self,
                                  CoprocMessage    *message,
                                  GCancellable     *cancellable,
                                  GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (COPROC_IS_MESSAGE (message), NULL);
  g_return_val_if_fail (message->kind == COPROC_MESSAGE_KIND_REQUEST, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return request_sync (self, message->payload, message->channel_id, message, cancellable,
                       error);
}

static GVariant *
request_sync (CoprocMessenger  *self,
              GVariant         *payload,
              GVariant         *channel_id,
              CoprocMessage    *message,
              GCancellable     *cancellable,
              GError          **error)
{
  g_autoptr(GVariant) owned_payload = NULL;
  g_autoptr(GVariant) channel = NULL;
  PendingRequest *p;
  GVariant *reply;

  owned_payload = g_variant_ref_sink (payload);
  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  p = start_request (self, owned_payload, channel, message, NULL, NULL, NULL, error);
  if (p == NULL)
    return NULL;

  reply = wait_request (self, p, cancellable, error);
  p->sync = FALSE;
  pending_request_unref (p);

  return reply;
}

/**
 * coproc_messenger_request_async:
 * @self: a messenger
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called with the reply
 * @user_data: data for @callback
 *
 * Sends a request and completes, without blocking, with the peer's reply
 * to that request: call [method@Coproc.Messenger.request_finish] from
 * @callback to get it. The request is sent before this returns (a send
 * that fails, say because the message is too large, completes the call
 * with that error).
 *
 * Any number of requests may be outstanding, on one channel or many, and
 * their replies may come in any order: each completes its own call. The
 * request counts as [method@Coproc.Messenger.send_request] does; its
 * reply is never queued nor offered to
 * [signal@Coproc.Messenger::message-received], and counts in
 * [method@Coproc.Messenger.replies_received] when it completes the call.
 *
 * @callback runs exactly once, on the thread-default main context of the
 * caller (normally the messenger's). The call fails with the error of the
 * peer's [method@Coproc.Messenger.reply_error] for this request (nothing
 * else fails, and the messenger stays usable). An error or close request
 * that the peer sent with [method@Coproc.Messenger.send_error] or
 * [method@Coproc.Messenger.send_close_request], and that no signal handler
 * consumed, fails the oldest call waiting (an async receive waiting takes
 * it first), as it would fail the next receive call.
 *
 * Cancelling fails the call at once with %G_IO_ERROR_CANCELLED; the reply,
 * when it comes, is dropped (and counted as a reply received). When the
 * peer goes away, every request still waiting fails with
 * %COPROC_ERROR_CLOSED, or %COPROC_ERROR_WORKER_DIED for the messenger of
 * a [class@Coproc.WorkerResource], but only after every reply that arrived
 * before the hang-up completed its request.
 *
 * The replies are read by the messenger's watch when its main context
 * runs, or by the messenger's next blocking call.
 *
 * Since: 1.2
 */
void
coproc_messenger_request_async (CoprocMessenger     *self,
                                GVariant            *payload,
                                GVariant            *channel_id,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (payload != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request_async (self, payload, channel_id, NULL, cancellable, coproc_messenger_request_async,
                 callback, user_data);
}

/**
 * coproc_messenger_request_message_async:
 * @self: a messenger
 * @message: a request made with [ctor@Coproc.Message.new], of kind
 *   %COPROC_MESSAGE_KIND_REQUEST
 * @cancellable: (nullable): a `GCancellable`
 * @callback: (scope async): called with the reply
 * @user_data: data for @callback
 *
 * Like [method@Coproc.Messenger.request_async], for a request built by the
 * caller, with its priority and its file descriptors (see
 * [method@Coproc.Messenger.request_message]). Call
 * [method@Coproc.Messenger.request_message_finish] from @callback.
 *
 * Since: 1.2
 */
void
coproc_messenger_request_message_async (CoprocMessenger     *self,
                                        CoprocMessage       *message,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  g_return_if_fail (COPROC_IS_MESSENGER (self));
  g_return_if_fail (COPROC_IS_MESSAGE (message));
  g_return_if_fail (message->kind == COPROC_MESSAGE_KIND_REQUEST);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  request_async (self, message->payload, message->channel_id, message, cancellable,
                 coproc_messenger_request_message_async, callback, user_data);
}

/**
 * coproc_messenger_request_message_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.request_message_async] (the same as
 * [method@Coproc.Messenger.request_finish], which finishes either).
 *
 * Returns: (transfer full): the payload of the reply, or `NULL` with
 *   @error set
 *
 * Since: 1.2
 */
GVariant *
coproc_messenger_request_message_finish (CoprocMessenger  *self,
                                         GAsyncResult     *result,
                                         GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_messenger_request_async) ||
                        g_async_result_is_tagged (result, coproc_messenger_request_message_async),
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
request_async (CoprocMessenger     *self,
               GVariant            *payload,
               GVariant            *channel_id,
               CoprocMessage       *message,
               GCancellable        *cancellable,
               gpointer             source_tag,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GVariant) owned_payload = NULL;
  g_autoptr(GVariant) channel = NULL;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  PendingRequest *p;

  owned_payload = g_variant_ref_sink (payload);
  if (channel_id != NULL)
    channel = g_variant_ref_sink (channel_id);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, "[coproc] request");

  if (g_task_return_error_if_cancelled (task))
    return;

  p = start_request (self, owned_payload, channel, message, task, NULL, NULL, &error);
  if (p == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  if (cancellable != NULL && p->task != NULL)
    {
      p->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_static_name (p->cancel_source, "[coproc] request cancelled");
      g_source_set_callback (p->cancel_source, G_SOURCE_FUNC (request_cancelled_cb), p, NULL);
      g_source_attach (p->cancel_source, priv->context);
    }

  /* The watch reads the reply; a send that failed waits for the hang-up. */
  coproc_transport_update_watch (priv->transport);
}

/**
 * coproc_messenger_request_finish:
 * @self: a messenger
 * @result: the result passed to the callback
 * @error: return location for a `GError`
 *
 * Finishes [method@Coproc.Messenger.request_async] (or
 * [method@Coproc.Messenger.request_message_async]).
 *
 * Returns: (transfer full): the payload of the reply, or `NULL` with
 *   @error set
 *
 * Since: 1.2
 */
GVariant *
coproc_messenger_request_finish (CoprocMessenger  *self,
                                 GAsyncResult     *result,
                                 GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_async_result_is_tagged (result, coproc_messenger_request_async) ||
                        g_async_result_is_tagged (result, coproc_messenger_request_message_async),
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * coproc_messenger_reply_to:
 * @self: a messenger
 * @request: a request this messenger received
 * @payload: the payload of the reply; a floating reference is sunk
 * @error: return location for a `GError`
 *
 * Answers @request: the reply goes on the request's channel and completes
 * the peer's [method@Coproc.Messenger.request] (or
 * [method@Coproc.Messenger.request_async]) for that very request, whatever
 * the order in which requests are answered. To a request sent with
 * [method@Coproc.Messenger.send_request], it is an ordinary reply.
 *
 * [method@Coproc.Messenger.send_reply] answers the oldest request taken on
 * its channel and not answered yet; this answers the one given, so that
 * requests can be answered in any order.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.2
 */
gboolean
coproc_messenger_reply_to (CoprocMessenger  *self,
                           CoprocMessage    *request,
                           GVariant         *payload,
                           GError          **error)
{
  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (COPROC_IS_MESSAGE (request), FALSE);
  g_return_val_if_fail (request->kind == COPROC_MESSAGE_KIND_REQUEST, FALSE);
  g_return_val_if_fail (payload != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _coproc_messenger_send_data (self, COPROC_MESSAGE_KIND_REPLY, payload,
                                      request->channel_id, FALSE, 0, request->request_id,
                                      FALSE, NULL, error);
}

/**
 * coproc_messenger_reply_error:
 * @self: a messenger
 * @request: a request this messenger received
 * @reply_error: the error to answer with
 * @error: return location for a `GError`
 *
 * Answers @request with an error: the peer's
 * [method@Coproc.Messenger.request] (or
 * [method@Coproc.Messenger.request_async]) for that request fails with an
 * error of the same domain, code and message. Nothing else fails, the
 * peer's messenger stays usable, and the error counts as the request's
 * reply.
 *
 * For a request that was sent with plain
 * [method@Coproc.Messenger.send_request], the peer's next receive call
 * raises the error, as one sent with [method@Coproc.Messenger.send_error];
 * that also holds for a peer that speaks protocol 1.0, which is sent a
 * plain error message.
 *
 * Returns: `TRUE` on success
 *
 * Since: 1.2
 */
gboolean
coproc_messenger_reply_error (CoprocMessenger  *self,
                              CoprocMessage    *request,
                              const GError     *reply_error,
                              GError          **error)
{
  CoprocMessengerPrivate *priv = _coproc_messenger_get_private (self);
  g_autoptr(GVariant) body = NULL;
  g_autoptr(GVariant) channel_id = NULL;
  CoprocOutFrame frame = { 0 };

  g_return_val_if_fail (COPROC_IS_MESSENGER (self), FALSE);
  g_return_val_if_fail (COPROC_IS_MESSAGE (request), FALSE);
  g_return_val_if_fail (request->kind == COPROC_MESSAGE_KIND_REQUEST, FALSE);
  g_return_val_if_fail (reply_error != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  body = g_variant_ref_sink (coproc_wire_error_to_variant (reply_error));
  frame.payload = body;
  frame.priority = -INFINITY;

  /* Only a sender that speaks protocol 1.1 gives its requests an id, and
   * only such a peer reads error replies: to others, an error message. */
  if (request->request_id != 0)
    {
      if (request->channel_id != NULL)
        channel_id = coproc_wire_take_normal (g_variant_ref (request->channel_id));
      frame.kind = COPROC_WIRE_KIND_ERROR_REPLY;
      frame.channel_id = channel_id;
      frame.request_id = request->request_id;
    }
  else
    frame.kind = COPROC_WIRE_KIND_ERROR;

  if (priv->closed)
    _coproc_messenger_closed_error (self);
  if (!coproc_transport_send_frame (priv->transport, &frame, NULL, error))
    return FALSE;

  coproc_channel_answered (coproc_channels_lookup (&priv->channels, request->channel_id, TRUE),
                           request->request_id);
  return TRUE;
}
