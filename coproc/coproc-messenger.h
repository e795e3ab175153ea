/* coproc-messenger.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (COPROC_INSIDE) && !defined (COPROC_COMPILATION)
# error "Only <coproc.h> can be included directly."
#endif

#include <gio/gio.h>

#include "coproc-message.h"
#include "coproc-version-macros.h"

G_BEGIN_DECLS

/**
 * COPROC_DEFAULT_MAX_MESSAGE_SIZE:
 *
 * The default of [property@Coproc.Messenger:max-message-size]: 128 MiB.
 *
 * Since: 1.0
 */
#define COPROC_DEFAULT_MAX_MESSAGE_SIZE (128u * 1024u * 1024u)

#define COPROC_TYPE_MESSENGER (coproc_messenger_get_type ())

COPROC_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (CoprocMessenger, coproc_messenger, COPROC, MESSENGER, GObject)

/**
 * CoprocMessengerClass:
 * @parent_class: the parent class
 * @queue_message: puts a received data message into the queue of its
 *   channel; implementations call [method@Coproc.Messenger.enqueue] with the
 *   rank they choose (lower ranks are taken first, equal ranks in arrival
 *   order), or drop the message by not calling it
 * @message_received: class handler of [signal@Coproc.Messenger::message-received]
 * @error_received: class handler of [signal@Coproc.Messenger::error-received]
 * @close_requested: class handler of [signal@Coproc.Messenger::close-requested]
 * @closed: class handler of [signal@Coproc.Messenger::closed]
 *
 * The class structure of [class@Coproc.Messenger].
 *
 * Since: 1.0
 */
struct _CoprocMessengerClass
{
  GObjectClass parent_class;

  void     (*queue_message)    (CoprocMessenger *self,
                                CoprocMessage   *message);

  gboolean (*message_received) (CoprocMessenger *self,
                                CoprocMessage   *message);
  gboolean (*error_received)   (CoprocMessenger *self,
                                const GError    *error);
  gboolean (*close_requested)  (CoprocMessenger *self);
  void     (*closed)           (CoprocMessenger *self,
                                const GError    *error);

  /*< private >*/
  gpointer _reserved[12];
};

COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_new_pair                 (GType              messenger_type,
                                                            CoprocMessenger  **process,
                                                            CoprocMessenger  **resource,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
CoprocMessenger *coproc_messenger_new_for_stream           (GType              messenger_type,
                                                            GIOStream         *stream,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
CoprocMessenger *coproc_messenger_new_for_host             (GType              messenger_type,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
CoprocMessenger *coproc_messenger_new_for_stdio            (GType              messenger_type,
                                                            GError           **error);

COPROC_AVAILABLE_IN_ALL
GIOStream       *coproc_messenger_get_stream               (CoprocMessenger   *self);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_get_max_message_size     (CoprocMessenger   *self);
COPROC_AVAILABLE_IN_ALL
void             coproc_messenger_set_max_message_size     (CoprocMessenger   *self,
                                                            guint              max_message_size);
COPROC_AVAILABLE_IN_ALL
guint64          coproc_messenger_get_max_queued_bytes     (CoprocMessenger   *self);
COPROC_AVAILABLE_IN_ALL
void             coproc_messenger_set_max_queued_bytes     (CoprocMessenger   *self,
                                                            guint64            max_queued_bytes);
COPROC_AVAILABLE_IN_ALL
guint64          coproc_messenger_queued_bytes             (CoprocMessenger   *self);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_get_large_message_threshold (CoprocMessenger *self);
COPROC_AVAILABLE_IN_ALL
void             coproc_messenger_set_large_message_threshold (CoprocMessenger *self,
                                                               guint            threshold);
COPROC_AVAILABLE_IN_1_2
guint            coproc_messenger_get_send_timeout         (CoprocMessenger   *self);
COPROC_AVAILABLE_IN_1_2
void             coproc_messenger_set_send_timeout         (CoprocMessenger   *self,
                                                            guint              timeout_ms);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_is_closed                (CoprocMessenger   *self);

COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_norequest           (CoprocMessenger   *self,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_request             (CoprocMessenger   *self,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_request_multiple    (CoprocMessenger   *self,
                                                            GVariant * const  *payloads,
                                                            guint              n_payloads,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_reply               (CoprocMessenger   *self,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_with_priority       (CoprocMessenger   *self,
                                                            CoprocMessageKind  kind,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            gdouble            priority,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
gboolean         coproc_messenger_send_message             (CoprocMessenger   *self,
                                                            CoprocMessage     *message,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
gboolean         coproc_messenger_send_serialized          (CoprocMessenger   *self,
                                                            CoprocMessageKind  kind,
                                                            const char        *type_string,
                                                            const guint8      *data,
                                                            gsize              size,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
gboolean         coproc_messenger_send_cancellable         (CoprocMessenger   *self,
                                                            CoprocMessageKind  kind,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_error               (CoprocMessenger   *self,
                                                            const GError      *remote_error,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_send_close_request       (CoprocMessenger   *self,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_flush                    (CoprocMessenger   *self,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_close                    (CoprocMessenger   *self,
                                                            GError           **error);

COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_available                (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
GPtrArray       *coproc_messenger_receive_available        (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
GVariant        *coproc_messenger_receive_blocking         (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
CoprocMessage   *coproc_messenger_receive_message_blocking (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
GPtrArray       *coproc_messenger_receive_remaining        (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
gboolean         coproc_messenger_await_available          (CoprocMessenger   *self,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
void             coproc_messenger_receive_async            (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GAsyncReadyCallback callback,
                                                            gpointer           user_data);
COPROC_AVAILABLE_IN_ALL
GVariant        *coproc_messenger_receive_finish           (CoprocMessenger   *self,
                                                            GAsyncResult      *result,
                                                            GError           **error);
COPROC_AVAILABLE_IN_ALL
void             coproc_messenger_receive_message_async    (CoprocMessenger   *self,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GAsyncReadyCallback callback,
                                                            gpointer           user_data);
COPROC_AVAILABLE_IN_ALL
CoprocMessage   *coproc_messenger_receive_message_finish   (CoprocMessenger   *self,
                                                            GAsyncResult      *result,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
CoprocMessage   *coproc_messenger_receive_message_any      (CoprocMessenger   *self,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
void             coproc_messenger_receive_message_any_async (CoprocMessenger  *self,
                                                            GCancellable      *cancellable,
                                                            GAsyncReadyCallback callback,
                                                            gpointer           user_data);
COPROC_AVAILABLE_IN_1_2
CoprocMessage   *coproc_messenger_receive_message_any_finish (CoprocMessenger *self,
                                                            GAsyncResult      *result,
                                                            GError           **error);

COPROC_AVAILABLE_IN_1_2
GVariant        *coproc_messenger_request                  (CoprocMessenger   *self,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
void             coproc_messenger_request_async            (CoprocMessenger   *self,
                                                            GVariant          *payload,
                                                            GVariant          *channel_id,
                                                            GCancellable      *cancellable,
                                                            GAsyncReadyCallback callback,
                                                            gpointer           user_data);
COPROC_AVAILABLE_IN_1_2
GVariant        *coproc_messenger_request_finish           (CoprocMessenger   *self,
                                                            GAsyncResult      *result,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
GVariant        *coproc_messenger_request_message          (CoprocMessenger   *self,
                                                            CoprocMessage     *message,
                                                            GCancellable      *cancellable,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
void             coproc_messenger_request_message_async    (CoprocMessenger   *self,
                                                            CoprocMessage     *message,
                                                            GCancellable      *cancellable,
                                                            GAsyncReadyCallback callback,
                                                            gpointer           user_data);
COPROC_AVAILABLE_IN_1_2
GVariant        *coproc_messenger_request_message_finish   (CoprocMessenger   *self,
                                                            GAsyncResult      *result,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
gboolean         coproc_messenger_reply_to                 (CoprocMessenger   *self,
                                                            CoprocMessage     *request,
                                                            GVariant          *payload,
                                                            GError           **error);
COPROC_AVAILABLE_IN_1_2
gboolean         coproc_messenger_reply_error              (CoprocMessenger   *self,
                                                            CoprocMessage     *request,
                                                            const GError      *reply_error,
                                                            GError           **error);
/* A method of CoprocMessage, declared here where CoprocMessenger is. */
COPROC_AVAILABLE_IN_1_2
CoprocMessenger *coproc_message_dup_messenger              (CoprocMessage     *self);

COPROC_AVAILABLE_IN_ALL
void             coproc_messenger_enqueue                  (CoprocMessenger   *self,
                                                            CoprocMessage     *message,
                                                            gdouble            rank);

COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_remaining                (CoprocMessenger   *self,
                                                            GVariant          *channel_id);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_requests_sent            (CoprocMessenger   *self,
                                                            GVariant          *channel_id);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_replies_received         (CoprocMessenger   *self,
                                                            GVariant          *channel_id);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_messages_sent            (CoprocMessenger   *self,
                                                            GVariant          *channel_id);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_messages_received        (CoprocMessenger   *self,
                                                            GVariant          *channel_id);
COPROC_AVAILABLE_IN_ALL
guint            coproc_messenger_queue_size               (CoprocMessenger   *self,
                                                            GVariant          *channel_id);

G_END_DECLS
