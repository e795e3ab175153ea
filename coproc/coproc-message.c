/* coproc-message.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <math.h>

#include "coproc-enums.h"
#include "coproc-message-private.h"
#include "coproc-messenger.h"

/**
 * CoprocMessage:
 *
 * One data message as it was received: its payload, the channel it came on,
 * its priority, and whether it is a request or a reply.
 *
 * Received messages are handed out by
 * [method@Coproc.Messenger.receive_message_blocking] and
 * [signal@Coproc.Messenger::message-received]; treat them as immutable.
 *
 * A message can also be built, with [ctor@Coproc.Message.new], to be sent
 * with [method@Coproc.Messenger.send_message]: that is how a message gets
 * a priority and file descriptors together (see
 * [method@Coproc.Message.set_unix_fd_list]).
 *
 * Since: 1.0
 */

G_DEFINE_FINAL_TYPE (CoprocMessage, coproc_message, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PAYLOAD,
  PROP_CHANNEL_ID,
  PROP_PRIORITY,
  PROP_REQUEST_REPLY,
  PROP_IS_REPLY,
  PROP_KIND,
  PROP_REQUEST_ID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

CoprocMessage *
_coproc_message_new (CoprocMessageKind  kind,
                     GVariant          *payload,
                     GVariant          *channel_id,
                     gdouble            priority)
{
  CoprocMessage *self = g_object_new (COPROC_TYPE_MESSAGE, NULL);

  self->kind = kind;
  self->payload = g_variant_ref_sink (payload);
  self->channel_id = channel_id ? g_variant_ref_sink (channel_id) : NULL;
  self->priority = priority;

  return self;
}

/* Remembers @messenger (a CoprocMessenger) as the one a received request
 * came on, without keeping it alive. Only requests pay for it: a weak
 * reference takes a global lock to set and to clear. */
void
_coproc_message_set_messenger (CoprocMessage *self,
                               gpointer       messenger)
{
  g_weak_ref_init (&self->messenger, messenger);
  self->has_messenger = TRUE;
}

static void
coproc_message_finalize (GObject *object)
{
  CoprocMessage *self = (CoprocMessage *) object;

  g_clear_pointer (&self->payload, g_variant_unref);
  g_clear_pointer (&self->channel_id, g_variant_unref);
  /* Closes the descriptors nobody took out of the list. */
  g_clear_object (&self->fd_list);
  if (self->has_messenger)
    g_weak_ref_clear (&self->messenger);

  G_OBJECT_CLASS (coproc_message_parent_class)->finalize (object);
}

static void
coproc_message_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  CoprocMessage *self = COPROC_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_PAYLOAD:
      g_value_set_variant (value, self->payload);
      break;

    case PROP_CHANNEL_ID:
      g_value_set_variant (value, self->channel_id);
      break;

    case PROP_PRIORITY:
      g_value_set_double (value, self->priority);
      break;

    case PROP_REQUEST_REPLY:
      g_value_set_boolean (value, coproc_message_get_request_reply (self));
      break;

    case PROP_IS_REPLY:
      g_value_set_boolean (value, coproc_message_get_is_reply (self));
      break;

    case PROP_KIND:
      g_value_set_enum (value, self->kind);
      break;

    case PROP_REQUEST_ID:
      g_value_set_uint64 (value, self->request_id);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
coproc_message_class_init (CoprocMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = coproc_message_finalize;
  object_class->get_property = coproc_message_get_property;

  /**
   * CoprocMessage:payload: (getter get_payload)
   *
   * The payload of the message. Never `NULL`.
   *
   * Since: 1.0
   */
  properties[PROP_PAYLOAD] =
    g_param_spec_variant ("payload", NULL, NULL,
                          G_VARIANT_TYPE_ANY, NULL,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessage:channel-id: (getter get_channel_id)
   *
   * The channel the message came on; `NULL` is the default channel.
   *
   * Since: 1.0
   */
  properties[PROP_CHANNEL_ID] =
    g_param_spec_variant ("channel-id", NULL, NULL,
                          G_VARIANT_TYPE_ANY, NULL,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessage:priority: (getter get_priority)
   *
   * The priority the sender gave the message; lower is more important.
   * `+inf` when the sender gave none.
   *
   * Since: 1.0
   */
  properties[PROP_PRIORITY] =
    g_param_spec_double ("priority", NULL, NULL,
                         -G_MAXDOUBLE, G_MAXDOUBLE, 0.0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /* Priorities are often infinite: widen the range past the finite doubles. */
  G_PARAM_SPEC_DOUBLE (properties[PROP_PRIORITY])->minimum = -INFINITY;
  G_PARAM_SPEC_DOUBLE (properties[PROP_PRIORITY])->maximum = INFINITY;

  /**
   * CoprocMessage:request-reply: (getter get_request_reply)
   *
   * Whether the message is a request that expects a reply.
   *
   * Since: 1.0
   */
  properties[PROP_REQUEST_REPLY] =
    g_param_spec_boolean ("request-reply", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessage:is-reply: (getter get_is_reply)
   *
   * Whether the message is a reply to a request.
   *
   * Since: 1.0
   */
  properties[PROP_IS_REPLY] =
    g_param_spec_boolean ("is-reply", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessage:kind: (getter get_kind)
   *
   * The kind of the message: plain, request or reply.
   *
   * Since: 1.0
   */
  properties[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL,
                       COPROC_TYPE_MESSAGE_KIND, COPROC_MESSAGE_KIND_NOREQUEST,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * CoprocMessage:request-id: (getter get_request_id)
   *
   * For a request, the id its sender gave it; for a reply, the id of the
   * request it answers. 0 when there is none: a plain message, or a peer
   * that speaks protocol 1.0 (see [the wire protocol](protocol.html)).
   *
   * Ids correlate a reply with its request: [method@Coproc.Messenger.reply_to]
   * answers a request by its id. Applications rarely need to read it.
   *
   * Since: 1.2
   */
  properties[PROP_REQUEST_ID] =
    g_param_spec_uint64 ("request-id", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
coproc_message_init (CoprocMessage *self)
{
}

/**
 * coproc_message_get_payload:
 * @self: a message
 *
 * Gets the payload of the message.
 *
 * Returns: (transfer none): the payload, never `NULL`
 *
 * Since: 1.0
 */
GVariant *
coproc_message_get_payload (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), NULL);

  return self->payload;
}

/**
 * coproc_message_get_channel_id:
 * @self: a message
 *
 * Gets the channel the message came on.
 *
 * Returns: (transfer none) (nullable): the channel id, or `NULL` for the
 *   default channel
 *
 * Since: 1.0
 */
GVariant *
coproc_message_get_channel_id (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), NULL);

  return self->channel_id;
}

/**
 * coproc_message_get_priority:
 * @self: a message
 *
 * Gets the priority of the message; lower is more important.
 *
 * Returns: the priority, `+inf` when the sender gave none
 *
 * Since: 1.0
 */
gdouble
coproc_message_get_priority (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), 0.0);

  return self->priority;
}

/**
 * coproc_message_get_request_reply:
 * @self: a message
 *
 * Whether the message is a request that expects a reply.
 *
 * Returns: `TRUE` for a request
 *
 * Since: 1.0
 */
gboolean
coproc_message_get_request_reply (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), FALSE);

  return self->kind == COPROC_MESSAGE_KIND_REQUEST;
}

/**
 * coproc_message_get_is_reply:
 * @self: a message
 *
 * Whether the message is a reply to a request.
 *
 * Returns: `TRUE` for a reply
 *
 * Since: 1.0
 */
gboolean
coproc_message_get_is_reply (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), FALSE);

  return self->kind == COPROC_MESSAGE_KIND_REPLY;
}

/**
 * coproc_message_get_kind:
 * @self: a message
 *
 * Gets the kind of the message.
 *
 * Returns: the kind
 *
 * Since: 1.0
 */
CoprocMessageKind
coproc_message_get_kind (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), COPROC_MESSAGE_KIND_NOREQUEST);

  return self->kind;
}

/**
 * coproc_message_get_request_id:
 * @self: a message
 *
 * Gets [property@Coproc.Message:request-id].
 *
 * Returns: the id of the request (the one a reply answers), or 0
 *
 * Since: 1.2
 */
guint64
coproc_message_get_request_id (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), 0);

  return self->request_id;
}

/**
 * coproc_message_dup_messenger:
 * @self: a message
 *
 * Gets the messenger a received request came on, to answer it with
 * [method@Coproc.Messenger.reply_to] or
 * [method@Coproc.Messenger.reply_error]: bindings use it to give a request
 * a way to answer itself (in Python, `message.reply (payload)`).
 *
 * The message does not keep its messenger alive: once the messenger is
 * finalized, this returns `NULL`.
 *
 * Returns: (transfer full) (nullable): the messenger, or `NULL` for a
 *   message that is not a received request, or whose messenger is gone
 *
 * Since: 1.2
 */
CoprocMessenger *
coproc_message_dup_messenger (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), NULL);

  if (!self->has_messenger)
    return NULL;

  return g_weak_ref_get (&self->messenger);
}

/**
 * coproc_message_new:
 * @kind: plain message, request or reply
 * @payload: the payload; a floating reference is sunk
 * @channel_id: (nullable): the channel, or `NULL` for the default channel;
 *   a floating reference is sunk
 *
 * Creates a data message to send with
 * [method@Coproc.Messenger.send_message]. Unless
 * [method@Coproc.Message.set_priority] gives it a priority, it is sent
 * with the one [method@Coproc.Messenger.send_norequest] would give its
 * payload: the `"priority"` entry of a dictionary that has one, else
 * `+inf`.
 *
 * Returns: (transfer full): the new message
 *
 * Since: 1.2
 */
CoprocMessage *
coproc_message_new (CoprocMessageKind  kind,
                    GVariant          *payload,
                    GVariant          *channel_id)
{
  g_return_val_if_fail (kind == COPROC_MESSAGE_KIND_NOREQUEST ||
                        kind == COPROC_MESSAGE_KIND_REQUEST ||
                        kind == COPROC_MESSAGE_KIND_REPLY, NULL);
  g_return_val_if_fail (payload != NULL, NULL);

  return _coproc_message_new (kind, payload, channel_id, INFINITY);
}

/**
 * coproc_message_set_priority:
 * @self: a message made with [ctor@Coproc.Message.new]
 * @priority: the priority; lower is more important
 *
 * Sets the priority the message is sent with, in place of the one its
 * payload would give it.
 *
 * Since: 1.2
 */
void
coproc_message_set_priority (CoprocMessage *self,
                             gdouble        priority)
{
  g_return_if_fail (COPROC_IS_MESSAGE (self));

  self->priority = priority;
  self->explicit_priority = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRIORITY]);
}

/**
 * coproc_message_set_unix_fd_list:
 * @self: a message made with [ctor@Coproc.Message.new]
 * @fd_list: (nullable): the file descriptors to send with the message, or
 *   `NULL` for none
 *
 * Sets the file descriptors that go with the message. As in D-Bus (and
 * GDBus), a payload refers to them by their index in the list, with
 * values of type `h` (handles): the receiver finds the same indexes into
 * the list of the message it receives.
 *
 * [method@Coproc.Messenger.send_message] passes duplicates of the
 * descriptors; the list keeps its own, which are closed with it. At most
 * %COPROC_MESSAGE_MAX_FDS descriptors go with one message, and only over
 * a Unix domain socket to a peer that speaks protocol 1.2 (see [the wire
 * protocol](protocol.html#descriptors-of-a-message)).
 *
 * Since: 1.2
 */
void
coproc_message_set_unix_fd_list (CoprocMessage *self,
                                 GUnixFDList   *fd_list)
{
  g_return_if_fail (COPROC_IS_MESSAGE (self));
  g_return_if_fail (fd_list == NULL || G_IS_UNIX_FD_LIST (fd_list));

  g_set_object (&self->fd_list, fd_list);
}

/**
 * coproc_message_get_unix_fd_list:
 * @self: a message
 *
 * Gets the file descriptors that go with the message: for a received
 * message, the ones its sender passed, which the message owns. Take them
 * with `g_unix_fd_list_steal_fds()` or duplicate them with
 * `g_unix_fd_list_get()`; whatever is left in the list is closed when the
 * message is finalized, and the descriptors of a message that is never
 * received (dropped, or queued when its messenger goes) are closed with
 * it.
 *
 * Returns: (transfer none) (nullable): the list, or `NULL` when the
 *   message has no descriptors
 *
 * Since: 1.2
 */
GUnixFDList *
coproc_message_get_unix_fd_list (CoprocMessage *self)
{
  g_return_val_if_fail (COPROC_IS_MESSAGE (self), NULL);

  return self->fd_list;
}
