/* coproc-test-util.h: helpers shared by the C tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <coproc.h>

G_BEGIN_DECLS

/* An error domain of the tests' own, to check that remote errors keep
 * their domain, code and message. */
#define TEST_ERROR (test_error_quark ())

typedef enum
{
  TEST_ERROR_FIRST = 1,
  TEST_ERROR_BOOM = 7,
  TEST_ERROR_NEGATIVE = -3,
} TestError;

static inline GQuark
test_error_quark (void)
{
  return g_quark_from_static_string ("coproc-test-error-quark");
}

/* Asserts that @actual equals @expected, printing both when not.
 * A floating @expected is sunk and released. */
#define test_assert_variant(actual, expected) \
  test_assert_variant_impl (__FILE__, __LINE__, G_STRFUNC, #actual, (actual), (expected))

static inline void
test_assert_variant_impl (const char *file,
                          int         line,
                          const char *func,
                          const char *expr,
                          GVariant   *actual,
                          GVariant   *expected)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (expected);

  if (actual == NULL || !g_variant_equal (actual, owned))
    {
      g_autofree char *a = actual ? g_variant_print (actual, TRUE) : g_strdup ("NULL");
      g_autofree char *e = g_variant_print (owned, TRUE);
      g_autofree char *msg = g_strdup_printf ("assertion failed (%s == %s): (%s == %s)",
                                              expr, e, a, e);

      g_assertion_message (G_LOG_DOMAIN, file, line, func, msg);
    }
}

/* Asserts that an array of payloads holds exactly the int32 values
 * given, in order. */
static inline void
test_assert_int_array (GPtrArray    *payloads,
                       const gint32 *values,
                       guint         n_values)
{
  g_assert_nonnull (payloads);
  g_assert_cmpuint (payloads->len, ==, n_values);
  for (guint i = 0; i < n_values; i++)
    test_assert_variant (g_ptr_array_index (payloads, i), g_variant_new_int32 (values[i]));
}

/* Wraps @fd (a connected stream socket) into a messenger of @type.
 * @max_message_size of 0 keeps the default. */
static inline CoprocMessenger *
test_messenger_for_fd (GType  type,
                       int    fd,
                       guint  max_message_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  CoprocMessenger *messenger;

  socket = g_socket_new_from_fd (fd, &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (socket);

  if (max_message_size == 0)
    max_message_size = COPROC_DEFAULT_MAX_MESSAGE_SIZE;

  messenger = g_initable_new (type, NULL, &error,
                              "stream", connection,
                              "max-message-size", max_message_size,
                              NULL);
  g_assert_no_error (error);
  g_assert_true (COPROC_IS_MESSENGER (messenger));

  return messenger;
}

/* Writes all @size bytes of @data to @fd: a socket (never raising SIGPIPE)
 * or a pipe. */
static inline void
test_write_all (int         fd,
                const void *data,
                gsize       size)
{
  const guint8 *p = data;

  while (size > 0)
    {
      gssize n = send (fd, p, size, MSG_NOSIGNAL);

      if (n < 0 && errno == ENOTSOCK)
        n = write (fd, p, size);
      g_assert_cmpint (n, >, 0);
      p += n;
      size -= n;
    }
}

/* One sendmsg() of @data to the socket @sock, with @fd (or -1) attached
 * to its first byte (SCM_RIGHTS), never raising SIGPIPE. Returns what
 * sendmsg() returns; errno is kept. */
static inline gssize
test_send_with_fd (int         sock,
                   const void *data,
                   gsize       size,
                   int         fd,
                   int         flags)
{
  union {
    struct cmsghdr align;
    char           buf[CMSG_SPACE (sizeof (int))];
  } control;
  struct iovec iov = { (gpointer) data, size };
  struct msghdr msg = { 0 };
  gssize n;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
    }

  do
    n = sendmsg (sock, &msg, flags | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);

  return n;
}

/* The number of descriptors this process has open. */
static inline guint
test_count_open_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;

  return n;
}

/* A field of /proc/self/status given in kB ("VmRSS", say), as bytes. */
static inline guint64
test_proc_status_bytes (const char *field)
{
  g_autofree char *status = NULL;
  g_autofree char *key = g_strdup_printf ("\n%s:", field);
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, key);
  g_assert_nonnull (line);

  return g_ascii_strtoull (line + strlen (key), NULL, 10) * 1024;
}

/* Runs everything ready on @context (NULL: the global default one)
 * without blocking. */
static inline void
test_drain_context (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

/* A connected pair, named as coproc_messenger_new_pair() returns it: the
 * process (worker) end and the resource (host) end. The fixture's data is
 * the messenger type, as GSIZE_TO_POINTER (type). */
typedef struct
{
  CoprocMessenger *process;
  CoprocMessenger *resource;
} Pair;

static inline void
test_pair_setup (Pair          *pair,
                 gconstpointer  data)
{
  GType type = GPOINTER_TO_SIZE (data);
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_new_pair (type, &pair->process, &pair->resource, &error));
  g_assert_no_error (error);
  g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (pair->process, type));
  g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (pair->resource, type));
  g_assert_false (coproc_messenger_is_closed (pair->process));
  g_assert_false (coproc_messenger_is_closed (pair->resource));
}

/* Releases both ends and checks that nothing keeps them alive once the
 * default context has run what they left on it. */
static inline void
test_pair_teardown (Pair          *pair,
                    gconstpointer  data)
{
  gpointer process = pair->process;
  gpointer resource = pair->resource;

  if (process != NULL)
    g_object_add_weak_pointer (process, &process);
  if (resource != NULL)
    g_object_add_weak_pointer (resource, &resource);

  g_clear_object (&pair->process);
  g_clear_object (&pair->resource);
  test_drain_context (NULL);

  g_assert_null (process);
  g_assert_null (resource);
}

/* Iterates the thread-default context until *@flag becomes TRUE. */
static inline void
test_wait_for_flag (const gboolean *flag)
{
  GMainContext *context = g_main_context_get_thread_default ();

  while (!*flag)
    g_main_context_iteration (context, TRUE);
}

/* Iterates the thread-default context until *@counter reaches @value. */
static inline void
test_wait_for_count (const guint *counter,
                     guint        value)
{
  GMainContext *context = g_main_context_get_thread_default ();

  while (*counter < value)
    g_main_context_iteration (context, TRUE);
}

/* A one-shot event between threads: one side waits until the other sets it. */
typedef struct
{
  GMutex   lock;
  GCond    cond;
  gboolean set;
} TestEvent;

static inline void
test_event_init (TestEvent *event)
{
  g_mutex_init (&event->lock);
  g_cond_init (&event->cond);
  event->set = FALSE;
}

static inline void
test_event_clear (TestEvent *event)
{
  g_mutex_clear (&event->lock);
  g_cond_clear (&event->cond);
}

static inline void
test_event_set (TestEvent *event)
{
  g_mutex_lock (&event->lock);
  event->set = TRUE;
  g_cond_broadcast (&event->cond);
  g_mutex_unlock (&event->lock);
}

static inline void
test_event_wait (TestEvent *event)
{
  g_mutex_lock (&event->lock);
  while (!event->set)
    g_cond_wait (&event->cond, &event->lock);
  g_mutex_unlock (&event->lock);
}

/* Registers @func as the test /Coproc/@kind/@name on a Pair of @type. */
static inline void
test_add_pair (const char *kind,
               const char *name,
               GType       type,
               void      (*func) (Pair *, gconstpointer))
{
  g_autofree char *path = g_strdup_printf ("/Coproc/%s/%s", kind, name);

  g_test_add (path, Pair, GSIZE_TO_POINTER (type), test_pair_setup, func, test_pair_teardown);
}

/* Registers @func for both kinds of messenger. */
static inline void
test_add_both (const char *name,
               void      (*func) (Pair *, gconstpointer))
{
  test_add_pair ("PriorityMessenger", name, COPROC_TYPE_PRIORITY_MESSENGER, func);
  test_add_pair ("MultiMessenger", name, COPROC_TYPE_MULTI_MESSENGER, func);
}

/* Shorthands that assert success. */

static inline void
send_norequest (CoprocMessenger *messenger,
                GVariant        *payload,
                GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_norequest (messenger, payload, channel_id, &error));
  g_assert_no_error (error);
}

static inline void
send_request (CoprocMessenger *messenger,
              GVariant        *payload,
              GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_request (messenger, payload, channel_id, &error));
  g_assert_no_error (error);
}

static inline void
send_reply (CoprocMessenger *messenger,
            GVariant        *payload,
            GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (coproc_messenger_send_reply (messenger, payload, channel_id, &error));
  g_assert_no_error (error);
}

static inline GVariant *
receive_blocking (CoprocMessenger *messenger,
                  GVariant        *channel_id)
{
  g_autoptr(GError) error = NULL;
  GVariant *payload;

  payload = coproc_messenger_receive_blocking (messenger, channel_id, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (payload);
  return payload;
}

G_END_DECLS
