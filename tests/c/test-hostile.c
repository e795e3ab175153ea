/* test-hostile.c: malformed and hostile input on the wire
 *
 * A messenger is made over one end of a socket pair; the test writes raw
 * bytes to the other end, built by hand from the description of protocol
 * version 1 (doc/protocol.md), and checks that every violation gives a
 * clear COPROC_ERROR with the right code: no crash, no hang, no huge
 * allocation. A valid hand-written stream, and the messenger's own output,
 * double as a check of the documented format.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <coproc.h>
#include <gio/gunixinputstream.h>
#include <gio/gunixoutputstream.h>
#include <glib-unix.h>

#include "coproc/coproc-messenger-private.h"

#include "coproc-test-util.h"

/* The format, written out here rather than taken from the library. */
#define HANDSHAKE_SIZE 16
#define HEADER_SIZE    32

enum
{
  KIND_NOREQUEST = 1,
  KIND_REQUEST   = 2,
  KIND_REPLY     = 3,
  KIND_ERROR     = 4,
  KIND_CLOSE     = 5,
};

#define FLAG_PAYLOAD_FD  0x01
#define FLAG_MESSAGE_FDS 0x02   /* protocol 1.2 */

/* Building bytes ------------------------------------------------------------ */

static void
put_u16 (GByteArray *out,
         guint16     v)
{
  v = GUINT16_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_u32 (GByteArray *out,
         guint32     v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_u64 (GByteArray *out,
         guint64     v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (out, (const guint8 *) &v, sizeof v);
}

static void
put_f64 (GByteArray *out,
         gdouble     v)
{
  guint64 bits;

  memcpy (&bits, &v, sizeof bits);
  put_u64 (out, bits);
}

static void
put_handshake (GByteArray *out,
               guint16     version,
               guint16     reserved,
               guint32     max_message_size)
{
  g_byte_array_append (out, (const guint8 *) "COPROC\r\n", 8);
  put_u16 (out, version);
  put_u16 (out, reserved);
  put_u32 (out, max_message_size);
}

typedef struct
{
  guint32 payload_size;
  guint32 channel_size;
  guint8  kind;
  guint8  flags;
  guint16 n_fds;
  guint32 reserved;
  gdouble priority;
  guint64 request_id;
} Header;

static void
put_header (GByteArray   *out,
            const Header *h)
{
  put_u32 (out, h->payload_size);
  put_u32 (out, h->channel_size);
  g_byte_array_append (out, &h->kind, 1);
  g_byte_array_append (out, &h->flags, 1);
  put_u16 (out, h->n_fds);
  put_u32 (out, h->reserved);
  put_f64 (out, h->priority);
  put_u64 (out, h->request_id);
}

/* Appends @size bytes of @data and pads to 8 with @pad. */
static void
put_padded (GByteArray   *out,
            const guint8 *data,
            gsize         size,
            guint8        pad)
{
  g_byte_array_append (out, data, size);
  while (out->len % 8 != 0)
    g_byte_array_append (out, &pad, 1);
}

/* The encoding of a value: its serialized data (little-endian, normal
 * form), a zero byte, its type string. @value is sunk. */
static GBytes *
encode (GVariant *value)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  g_autoptr(GVariant) normal = g_variant_get_normal_form (owned);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  const char *type = g_variant_get_type_string (normal);

#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    GVariant *swapped = g_variant_byteswap (normal);

    g_variant_unref (normal);
    normal = swapped;
  }
#endif

  g_byte_array_append (out, g_variant_get_data (normal), g_variant_get_size (normal));
  g_byte_array_append (out, (const guint8 *) "", 1);
  g_byte_array_append (out, (const guint8 *) type, strlen (type));

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Raw bytes as an encoding: @data, then a zero byte, then @type. */
static GBytes *
encode_raw (const void *data,
            gsize       size,
            const char *type)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();

  g_byte_array_append (out, data, size);
  if (type != NULL)
    {
      g_byte_array_append (out, (const guint8 *) "", 1);
      g_byte_array_append (out, (const guint8 *) type, strlen (type));
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* A whole frame, sizes taken from the encodings. */
static void
put_frame (GByteArray *out,
           guint8      kind,
           GBytes     *channel,
           GBytes     *payload,
           gdouble     priority)
{
  Header h = {
    .payload_size = payload ? g_bytes_get_size (payload) : 0,
    .channel_size = channel ? g_bytes_get_size (channel) : 0,
    .kind = kind,
    .priority = priority,
  };

  put_header (out, &h);
  if (channel != NULL)
    put_padded (out, g_bytes_get_data (channel, NULL), g_bytes_get_size (channel), 0);
  if (payload != NULL)
    put_padded (out, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), 0);
}

/* A plain message with an int32 payload on the default channel: the
 * marker frames the tests put around a bad one. */
static void
put_marker (GByteArray *out,
            gint32      value)
{
  g_autoptr(GBytes) payload = encode (g_variant_new_int32 (value));

  put_frame (out, KIND_NOREQUEST, NULL, payload, INFINITY);
}

static void
put_error_frame (GByteArray *out,
                 const char *domain,
                 gint32      code,
                 const char *message)
{
  g_autoptr(GBytes) body = encode (g_variant_new ("(sis)", domain, code, message));

  put_frame (out, KIND_ERROR, NULL, body, -INFINITY);
}

/* Fixture ----------------------------------------------------------------- */

typedef struct
{
  CoprocMessenger *messenger;
  int              peer;      /* the raw end */
  GByteArray      *out;       /* what the test will write */
} Hostile;

static void
hostile_setup (Hostile       *h,
               gconstpointer  data)
{
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  h->messenger = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[0], 0);
  h->peer = fds[1];
  h->out = g_byte_array_new ();
}

static void
hostile_teardown (Hostile       *h,
                  gconstpointer  data)
{
  gpointer weak = h->messenger;

  if (weak != NULL)
    g_object_add_weak_pointer (weak, &weak);
  g_clear_object (&h->messenger);
  test_drain_context (NULL);
  g_assert_null (weak);

  if (h->peer >= 0)
    close (h->peer);
  g_byte_array_unref (h->out);
}

/* Writes what was built into the socket, and empties the buffer. */
static void
hostile_flush (Hostile *h)
{
  test_write_all (h->peer, h->out->data, h->out->len);
  g_byte_array_set_size (h->out, 0);
}

/* Ends the raw side's output: the messenger reads EOF. */
static void
hostile_eof (Hostile *h)
{
  hostile_flush (h);
  g_assert_cmpint (shutdown (h->peer, SHUT_WR), ==, 0);
}

static void
hostile_start (Hostile *h)
{
  put_handshake (h->out, 1, 0, 0);
}

/* Receives the next payload and checks it is the marker @value. */
static void
assert_marker (Hostile *h,
               gint32   value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  test_assert_variant (payload, g_variant_new_int32 (value));
}

/* The next receive fails with @code.
 *
 * A frame that is dropped (too large, unknown, malformed) is reported like
 * a special message: by the receive call that reads it, before the data
 * already queued, which later calls deliver. So the tests below check a
 * dropped frame's error first, then the marker sent before it. */
static void
assert_receive_fails (Hostile     *h,
                      CoprocError  code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, (gint) code);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  g_test_message ("error, as expected: %s", error->message);
}

/* After a fatal violation: the connection is closed and stays failed. */
static void
assert_dead (Hostile     *h,
             CoprocError  code)
{
  g_autoptr(GError) error = NULL;

  assert_receive_fails (h, code);
  g_assert_true (coproc_messenger_is_closed (h->messenger));
  assert_receive_fails (h, code);
  g_assert_false (coproc_messenger_await_available (h->messenger, NULL, &error));
  g_assert_error (error, COPROC_ERROR, (gint) code);
}

/* The handshake ------------------------------------------------------------ */

static void
test_handshake_garbage (Hostile       *h,
                        gconstpointer  data)
{
  g_byte_array_append (h->out, (const guint8 *) "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
  hostile_flush (h);
  assert_dead (h, COPROC_ERROR_PROTOCOL);
}

static void
test_handshake_wrong_version (Hostile       *h,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  put_handshake (h->out, 2, 0, 0);
  put_marker (h->out, 1);
  hostile_flush (h);

  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
  /* The message names both versions. */
  g_assert_nonnull (strstr (error->message, "2"));
  g_assert_nonnull (strstr (error->message, "1"));
  assert_dead (h, COPROC_ERROR_PROTOCOL);
}

/* Protocol 1.2 made the reserved field of the handshake the minor
 * version: any value is a peer's, a later one than ours too. */
static void
test_handshake_reserved (Hostile       *h,
                         gconstpointer  data)
{
  put_handshake (h->out, 1, 0x8000, 0);
  put_marker (h->out, 1);
  hostile_flush (h);
  assert_marker (h, 1);
  g_assert_false (coproc_messenger_is_closed (h->messenger));
}

/* The stream ends before the handshake is whole. */
static void
test_handshake_truncated (Hostile       *h,
                          gconstpointer  data)
{
  g_byte_array_append (h->out, (const guint8 *) "COPROC\r\n\x01", 9);
  hostile_eof (h);
  assert_dead (h, COPROC_ERROR_CLOSED);
}

/* A peer that hangs up without a word is a clean hang-up. */
static void
test_handshake_none (Hostile       *h,
                     gconstpointer  data)
{
  hostile_eof (h);
  assert_dead (h, COPROC_ERROR_CLOSED);
}

/* The peer's announced limit binds what the messenger sends; 0 announces
 * nothing. */
static void
test_handshake_max_size (Hostile       *h,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  static const guint8 zeros[128] = { 0 };

  put_handshake (h->out, 1, 0, 100);
  hostile_flush (h);
  g_assert_cmpuint (coproc_messenger_available (h->messenger, NULL, &error), ==, 0);
  g_assert_no_error (error);

  /* 96 bytes of data, a zero byte and "ay": 99 bytes fit, 101 do not. */
  g_assert_true (coproc_messenger_send_norequest (h->messenger,
                                                  g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                             zeros, 96, 1),
                                                  NULL, &error));
  g_assert_no_error (error);
  g_assert_false (coproc_messenger_send_norequest (h->messenger,
                                                   g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE,
                                                                              zeros, 98, 1),
                                                   NULL, &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_false (coproc_messenger_is_closed (h->messenger));
}

static void
test_handshake_max_size_zero (Hostile       *h,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  put_handshake (h->out, 1, 0, 0);
  hostile_flush (h);
  g_assert_cmpuint (coproc_messenger_available (h->messenger, NULL, &error), ==, 0);
  g_assert_true (coproc_messenger_send_norequest (h->messenger, g_variant_new_string ("any size"),
                                                  NULL, &error));
  g_assert_no_error (error);
}

/* Valid input: an interoperability check ---------------------------------- */

/* Hand-written frames of every kind are received as documented. */
static void
test_valid_frames (Hostile       *h,
                   gconstpointer  data)
{
  g_autoptr(GBytes) hello = encode (g_variant_new_string ("hello"));
  g_autoptr(GBytes) chan_int = encode (g_variant_new_int32 (1));
  g_autoptr(GBytes) chan_tuple = encode (g_variant_new_parsed ("('jobs', [byte 1, 2])"));
  g_autoptr(GBytes) dict = encode (g_variant_new_parsed ("{'n': <42>, 'priority': <0>}"));
  g_autoptr(GError) error = NULL;
  g_autoptr(CoprocMessage) message = NULL;
  g_autoptr(GPtrArray) rest = NULL;
  Header h_padded = { .kind = KIND_REPLY, .priority = 3, .request_id = 0xdeadbeef };
  static const guint8 ones[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

  g_assert_cmpuint (g_bytes_get_size (chan_int), ==, 6);
  g_assert_cmpuint (g_bytes_get_size (hello), ==, 8);

  hostile_start (h);
  put_frame (h->out, KIND_REQUEST, chan_int, hello, 0.5);
  put_frame (h->out, KIND_NOREQUEST, chan_tuple, hello, -2);
  /* The dictionary's "priority" is the sender's business: the wire's
   * priority is what counts. */
  put_frame (h->out, KIND_NOREQUEST, chan_tuple, dict, NAN);
  put_frame (h->out, KIND_NOREQUEST, chan_tuple, hello, -INFINITY);

  /* Non-zero padding and request id are ignored. */
  h_padded.payload_size = g_bytes_get_size (chan_int);
  h_padded.channel_size = g_bytes_get_size (chan_int);
  put_header (h->out, &h_padded);
  g_byte_array_append (h->out, g_bytes_get_data (chan_int, NULL), 6);
  g_byte_array_append (h->out, ones, 2);
  g_byte_array_append (h->out, g_bytes_get_data (chan_int, NULL), 6);
  g_byte_array_append (h->out, ones, 2);
  hostile_flush (h);

  message = coproc_messenger_receive_message_blocking (h->messenger, g_variant_new_int32 (1), NULL, &error);
  g_assert_no_error (error);
  test_assert_variant (coproc_message_get_payload (message), g_variant_new_string ("hello"));
  test_assert_variant (coproc_message_get_channel_id (message), g_variant_new_int32 (1));
  g_assert_cmpfloat (coproc_message_get_priority (message), ==, 0.5);
  g_assert_true (coproc_message_get_request_reply (message));
  g_assert_false (coproc_message_get_is_reply (message));
  g_clear_object (&message);

  message = coproc_messenger_receive_message_blocking (h->messenger, g_variant_new_int32 (1), NULL, &error);
  g_assert_no_error (error);
  test_assert_variant (coproc_message_get_payload (message), g_variant_new_int32 (1));
  g_assert_cmpfloat (coproc_message_get_priority (message), ==, 3);
  g_assert_true (coproc_message_get_is_reply (message));
  g_clear_object (&message);

  /* On the tuple channel, by priority: -inf, -2, then NaN as +inf. */
  message = coproc_messenger_receive_message_blocking (h->messenger,
                                                       g_variant_new_parsed ("('jobs', [byte 1, 2])"),
                                                       NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isinf (coproc_message_get_priority (message)));
  g_assert_cmpfloat (coproc_message_get_priority (message), <, 0);
  g_clear_object (&message);
  rest = coproc_messenger_receive_available (h->messenger, g_variant_new_parsed ("('jobs', [byte 1, 2])"),
                                             &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rest->len, ==, 2);
  test_assert_variant (rest->pdata[0], g_variant_new_string ("hello"));
  test_assert_variant (rest->pdata[1], g_variant_new_parsed ("{'n': <42>, 'priority': <0>}"));

  /* Specials, then a clean hang-up. */
  put_error_frame (h->out, "g-io-error-quark", G_IO_ERROR_NOT_FOUND, "no such file");
  put_frame (h->out, KIND_CLOSE, NULL, NULL, -INFINITY);
  put_marker (h->out, 7);
  hostile_eof (h);

  {
    g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);

    g_assert_null (payload);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
    g_assert_cmpstr (error->message, ==, "no such file");
    g_clear_error (&error);
  }
  assert_receive_fails (h, COPROC_ERROR_CLOSE_REQUESTED);
  assert_marker (h, 7);
  assert_dead (h, COPROC_ERROR_CLOSED);
}

static void
read_exact (int     fd,
            guint8 *buf,
            gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = recv (fd, buf + done, size - done, 0);

      g_assert_cmpint (n, >, 0);
      done += n;
    }
}

/* What the messenger writes is what doc/protocol.md's worked example
 * shows, byte for byte. */
static void
test_valid_output (Hostile       *h,
                   gconstpointer  data)
{
  static const guint8 expected[] = {
    0x43, 0x4f, 0x50, 0x52, 0x4f, 0x43, 0x0d, 0x0a,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
    0x08, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x3f,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   /* request id 1 */
    0x01, 0x00, 0x00, 0x00, 0x00, 0x69, 0x00, 0x00,
    0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x73,
    0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x67, 0x2d, 0x69, 0x6f, 0x2d, 0x65, 0x72, 0x72,
    0x6f, 0x72, 0x2d, 0x71, 0x75, 0x61, 0x72, 0x6b,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x6e, 0x6f, 0x20, 0x73, 0x75, 0x63, 0x68, 0x20,
    0x66, 0x69, 0x6c, 0x65, 0x00, 0x11, 0x00, 0x28,
    0x73, 0x69, 0x73, 0x29, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xff,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  g_autoptr(GError) remote = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no such file");
  g_autoptr(GError) error = NULL;
  guint8 got[sizeof expected];

  g_assert_true (coproc_messenger_send_with_priority (h->messenger, COPROC_MESSAGE_KIND_REQUEST,
                                                      g_variant_new_string ("hello"),
                                                      g_variant_new_int32 (1), 0.5, &error));
  g_assert_true (coproc_messenger_send_error (h->messenger, remote, &error));
  g_assert_true (coproc_messenger_send_close_request (h->messenger, &error));
  g_assert_no_error (error);

  read_exact (h->peer, got, sizeof got);
  for (gsize i = 0; i < sizeof expected; i++)
    {
      if (got[i] != expected[i])
        {
          g_test_message ("byte 0x%04" G_GSIZE_MODIFIER "x differs", i);
          g_assert_cmpmem (got, sizeof got, expected, sizeof expected);
        }
    }

  /* A message without a priority carries +inf. */
  g_assert_true (coproc_messenger_send_norequest (h->messenger, g_variant_new_int32 (1), NULL, &error));
  g_assert_no_error (error);
  read_exact (h->peer, got, HEADER_SIZE + 8);
  {
    guint64 bits;
    gdouble priority;

    memcpy (&bits, got + 16, sizeof bits);
    bits = GUINT64_FROM_LE (bits);
    memcpy (&priority, &bits, sizeof priority);
    g_assert_true (isinf (priority));
    g_assert_cmpfloat (priority, >, 0);
    g_assert_cmpint (got[8], ==, KIND_NOREQUEST);
  }
}

/* Broken frames ------------------------------------------------------------- */

/* The stream ends in the middle of a frame's header, or of its body:
 * what came before is delivered, then the hang-up is an error. */
static void
test_eof_mid_frame (void)
{
  for (guint where = 0; where < 3; where++)
    {
      g_autoptr(GBytes) payload = encode (g_variant_new_string ("a string long enough to cut"));
      g_autoptr(GByteArray) frame = g_byte_array_new ();
      gsize cut;
      Hostile local;
      Hostile *h = &local;

      hostile_setup (h, NULL);

      put_frame (frame, KIND_NOREQUEST, NULL, payload, 1);
      switch (where)
        {
        case 0: cut = 5; break;                       /* in the header */
        case 1: cut = HEADER_SIZE; break;             /* after the header */
        default: cut = HEADER_SIZE + 9; break;        /* in the body */
        }

      hostile_start (h);
      put_marker (h->out, 1);
      g_byte_array_append (h->out, frame->data, cut);
      hostile_eof (h);

      assert_marker (h, 1);
      assert_dead (h, COPROC_ERROR_CLOSED);

      hostile_teardown (h, NULL);
    }
}

/* Sizes that no frame may have are refused without allocating them: the
 * frame is skipped as it streams past. */
static void
test_huge_lengths (void)
{
  static const struct {
    guint32 payload_size;
    guint32 channel_size;
    guint8  kind;
  } claims[] = {
    { 0xffffffff, 0, KIND_NOREQUEST },
    { 2, 0xffffffff, KIND_REQUEST },
    { 0xffffffff, 0xffffffff, KIND_REPLY },
    { 0xffffffff, 0, 200 },                /* too large beats unknown kind */
  };

  for (guint i = 0; i < G_N_ELEMENTS (claims); i++)
    {
      Header header = {
        .payload_size = claims[i].payload_size,
        .channel_size = claims[i].channel_size,
        .kind = claims[i].kind,
      };
      Hostile local;
      Hostile *h = &local;

      hostile_setup (h, NULL);

      hostile_start (h);
      put_marker (h->out, 1);
      put_header (h->out, &header);
      /* A little of the claimed body, then the end. */
      for (guint j = 0; j < 1000; j++)
        put_u64 (h->out, 0x0123456789abcdef);
      hostile_eof (h);

      assert_receive_fails (h, COPROC_ERROR_MESSAGE_TOO_LARGE);
      assert_marker (h, 1);
      /* The stream ends inside the skipped frame. */
      assert_dead (h, COPROC_ERROR_CLOSED);

      hostile_teardown (h, NULL);
    }
}

static gpointer
flush_thread (gpointer user_data)
{
  hostile_flush (user_data);
  return NULL;
}

/* A frame over the limit that really is sent, larger than the socket
 * buffer, is skipped across many reads while it is still being written;
 * the frames around it are kept. */
static void
test_oversized_skipped (Hostile       *h,
                        gconstpointer  data)
{
  const gsize size = 4 * 1024 * 1024;
  g_autofree guint8 *big = g_malloc0 (size);
  g_autoptr(GBytes) payload = encode_raw (big, size, "ay");
  GThread *thread;

  coproc_messenger_set_max_message_size (h->messenger, 4096);

  hostile_start (h);
  put_marker (h->out, 1);
  hostile_flush (h);
  assert_marker (h, 1);

  put_frame (h->out, KIND_NOREQUEST, NULL, payload, 0);
  put_marker (h->out, 2);
  thread = g_thread_new ("writer", flush_thread, h);

  assert_receive_fails (h, COPROC_ERROR_MESSAGE_TOO_LARGE);
  assert_marker (h, 2);
  g_thread_join (thread);

  /* The connection goes on. */
  put_marker (h->out, 3);
  hostile_flush (h);
  assert_marker (h, 3);
  g_assert_false (coproc_messenger_is_closed (h->messenger));
}

/* Unknown kinds are skipped and reported, whatever their body. */
static void
test_unknown_kind (Hostile       *h,
                   gconstpointer  data)
{
  static const guint8 kinds[] = { 0, 7, 8, 99, 255 };
  g_autoptr(GBytes) payload = encode (g_variant_new_string ("from the future"));
  g_autoptr(GBytes) nonsense = encode_raw ("\x01\x02\x03", 3, NULL);

  hostile_start (h);
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      put_marker (h->out, i);
      put_frame (h->out, kinds[i], i % 2 ? payload : NULL, i % 2 ? nonsense : payload, 1);
      hostile_flush (h);

      assert_receive_fails (h, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
      assert_marker (h, i);
    }
  put_marker (h->out, 100);
  hostile_flush (h);
  assert_marker (h, 100);
  g_assert_false (coproc_messenger_is_closed (h->messenger));
}

/* Reserved bits and fields that must be zero lose the framing: fatal, after
 * what came before. */
static void
test_reserved_bits (void)
{
  g_autoptr(GBytes) payload = encode (g_variant_new_int32 (5));
  Header headers[] = {
    { .kind = KIND_NOREQUEST, .flags = 0x80 },
    { .kind = KIND_NOREQUEST, .flags = 0x02 },
    { .kind = KIND_REQUEST, .reserved = 1 },
    { .kind = KIND_REPLY, .reserved = 0x80000000 },
    { .kind = KIND_NOREQUEST, .n_fds = 1 },                            /* n_fds without the flag */
    { .kind = KIND_NOREQUEST, .flags = FLAG_PAYLOAD_FD, .n_fds = 2 },
    { .kind = KIND_NOREQUEST, .flags = FLAG_PAYLOAD_FD, .n_fds = 1 },  /* no descriptor came */
    { .kind = KIND_ERROR, .flags = FLAG_PAYLOAD_FD, .n_fds = 1 },      /* not on specials */
  };

  for (guint i = 0; i < G_N_ELEMENTS (headers); i++)
    {
      Hostile local;
      Hostile *h = &local;

      hostile_setup (h, NULL);

      g_test_message ("header %u", i);
      headers[i].payload_size = g_bytes_get_size (payload);
      headers[i].priority = 1;

      hostile_start (h);
      put_marker (h->out, 1);
      put_header (h->out, &headers[i]);
      if (!(headers[i].flags & FLAG_PAYLOAD_FD))
        put_padded (h->out, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), 0);
      put_marker (h->out, 2);
      hostile_flush (h);

      assert_marker (h, 1);
      assert_dead (h, COPROC_ERROR_PROTOCOL);

      hostile_teardown (h, NULL);
    }
}

/* Sizes that cannot be right for the kind are fatal too. */
static void
test_bad_sizes (void)
{
  static const struct {
    guint8  kind;
    guint32 payload_size;
    guint32 channel_size;
  } frames[] = {
    { KIND_NOREQUEST, 0, 0 },     /* no payload */
    { KIND_REQUEST, 1, 0 },       /* shorter than any encoding */
    { KIND_NOREQUEST, 8, 1 },     /* a one-byte channel */
    { KIND_ERROR, 8, 6 },         /* an error on a channel */
    { KIND_ERROR, 0, 0 },         /* an error without a body */
    { KIND_CLOSE, 8, 0 },         /* a close request with a body */
    { KIND_CLOSE, 0, 6 },         /* a close request on a channel */
  };

  for (guint i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      Header header = {
        .kind = frames[i].kind,
        .payload_size = frames[i].payload_size,
        .channel_size = frames[i].channel_size,
      };
      static const guint8 zeros[16] = { 0 };
      Hostile local;
      Hostile *h = &local;

      hostile_setup (h, NULL);

      g_test_message ("frame %u", i);
      hostile_start (h);
      put_marker (h->out, 1);
      put_header (h->out, &header);
      put_padded (h->out, zeros, header.channel_size, 0);
      put_padded (h->out, zeros, header.payload_size, 0);
      put_marker (h->out, 2);
      hostile_flush (h);

      assert_marker (h, 1);
      assert_dead (h, COPROC_ERROR_PROTOCOL);

      hostile_teardown (h, NULL);
    }
}

/* Malformed values spoil their frame only: PROTOCOL on the next receive,
 * and the frames after it are delivered. */
static void
test_malformed_values (Hostile       *h,
                       gconstpointer  data)
{
  static const guint8 int32_one[4] = { 1, 0, 0, 0 };
  static const guint8 bool_two[1] = { 2 };
  static const char bad_utf8[] = "caf\xc3\x28";
  g_autofree char *long_type = g_strnfill (300, 'a');
  g_autofree char *long_type_i = g_strconcat (long_type, "i", NULL);
  GBytes *bodies[] = {
    encode_raw (int32_one, 4, "("),                   /* not a type */
    encode_raw (int32_one, 4, "*"),                   /* not definite */
    encode_raw (int32_one, 4, "r"),                   /* not definite */
    encode_raw (int32_one, 4, "ii"),                  /* two types */
    encode_raw (int32_one, 4, ""),                    /* empty type */
    encode_raw (int32_one, 4, long_type_i),           /* type of 256 bytes or more */
    encode_raw ("hello", 5, NULL),                    /* no zero byte at all */
    encode_raw ("abc", 3, "s"),                       /* string without its zero */
    encode_raw (bad_utf8, sizeof bad_utf8, "s"),      /* string not UTF-8 */
    encode_raw (bool_two, 1, "b"),                    /* boolean 2: not normal */
    encode_raw (int32_one, 3, "i"),                   /* short int32 */
    encode_raw (int32_one, 4, "(ii)"),                /* short tuple */
    encode_raw ("\x05\x00\x00\x00", 4, "ai"),         /* ok */
    encode_raw ("\x05\x00\x00", 3, "ai"),             /* ragged array */
    encode_raw ("x\x00y", 3, "as"),                   /* bad framing offsets */
    encode_raw ("\x07", 1, "mi"),                     /* a maybe of the wrong size */
    encode_raw ("", 0, "v"),                          /* an empty variant */
  };

  g_autoptr(GBytes) good = encode (g_variant_new_int32 (-1));

  hostile_start (h);
  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_test_message ("body %u", i);

      put_marker (h->out, i);
      /* As a payload, then as a channel. */
      put_frame (h->out, KIND_REQUEST, NULL, bodies[i], INFINITY);
      put_frame (h->out, KIND_NOREQUEST, bodies[i], good, INFINITY);
      hostile_flush (h);

      if (i == 12)
        {
          /* The one valid body, as a payload and as a channel. */
          g_autoptr(GError) error = NULL;
          g_autoptr(GVariant) payload = NULL;

          assert_marker (h, i);
          payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
          g_assert_no_error (error);
          test_assert_variant (payload, g_variant_new_parsed ("[5]"));
          g_clear_pointer (&payload, g_variant_unref);
          payload = coproc_messenger_receive_blocking (h->messenger, g_variant_new_parsed ("[5]"),
                                                       NULL, &error);
          g_assert_no_error (error);
          test_assert_variant (payload, g_variant_new_int32 (-1));
          continue;
        }

      assert_receive_fails (h, COPROC_ERROR_PROTOCOL);
      assert_receive_fails (h, COPROC_ERROR_PROTOCOL);
      assert_marker (h, i);
    }
  put_marker (h->out, 1000);
  hostile_flush (h);
  assert_marker (h, 1000);
  g_assert_false (coproc_messenger_is_closed (h->messenger));
  g_assert_cmpuint (coproc_messenger_messages_received (h->messenger, NULL), ==, G_N_ELEMENTS (bodies) + 2);

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    g_bytes_unref (bodies[i]);
}

/* Error frames --------------------------------------------------------------- */

/* Error bodies that cannot be trusted are delivered as PROTOCOL errors in
 * place of the error; the connection goes on. */
static void
test_bad_error_bodies (Hostile       *h,
                       gconstpointer  data)
{
  g_autofree char *long_domain = g_strnfill (10000, 'd');
  g_autofree char *just_too_long = g_strnfill (129, 'd');
  static const guint8 bad_utf8_sis[] = "caf\xc3\x28\x00\x00\x00\x01\x00\x00\x00m\x00\x06";
  GBytes *bodies[] = {
    encode (g_variant_new ("(sis)", long_domain, 1, "enormous domain")),
    encode (g_variant_new ("(sis)", just_too_long, 1, "129 characters")),
    encode (g_variant_new ("(sis)", "", 1, "empty domain")),
    encode (g_variant_new ("(sis)", "bad domain!", 1, "space and punctuation")),
    encode (g_variant_new ("(sis)", "dömäin", 1, "not ASCII")),
    encode (g_variant_new ("(sis)", "new\nline", 1, "control character")),
    encode (g_variant_new_string ("just a string")),
    encode (g_variant_new ("(si)", "g-io-error-quark", 1)),
    encode (g_variant_new ("(sisx)", "g-io-error-quark", 1, "x", (gint64) 1)),
    encode (g_variant_new ("(ssi)", "g-io-error-quark", "x", 1)),
    encode_raw (bad_utf8_sis, sizeof bad_utf8_sis - 1, "(sis)"),
  };

  hostile_start (h);
  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_test_message ("body %u", i);

      put_marker (h->out, i);
      put_frame (h->out, KIND_ERROR, NULL, bodies[i], -INFINITY);
      hostile_flush (h);

      assert_receive_fails (h, COPROC_ERROR_PROTOCOL);
      assert_marker (h, i);
    }
  g_assert_false (coproc_messenger_is_closed (h->messenger));

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    g_bytes_unref (bodies[i]);
}

/* Domains arrive by name, and errors in domains the process knows are
 * never limited (the bound on new ones, process-wide, is checked in
 * tests/faults/test-bounds.c); coproc's own codes, but a close request,
 * only this side raises. */
static void
test_error_domains (Hostile       *h,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;
  guint i;

  /* This process knows GIO's domain. */
  g_assert_cmpuint (G_IO_ERROR, !=, 0);

  hostile_start (h);
  for (i = 0; i < 100; i++)
    put_error_frame (h->out, "g-io-error-quark", G_IO_ERROR_FAILED, "known");
  hostile_flush (h);
  for (i = 0; i < 100; i++)
    {
      payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
      g_assert_null (payload);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
      g_clear_error (&error);
    }

  /* A new domain comes through as itself. */
  g_assert_cmpuint (g_quark_try_string ("coproc-test-hostile-new-quark"), ==, 0);
  put_error_frame (h->out, "coproc-test-hostile-new-quark", -3, "new domain");
  put_error_frame (h->out, "coproc-error-quark", COPROC_ERROR_WORKER_DIED, "fake death");
  put_error_frame (h->out, "coproc-error-quark", COPROC_ERROR_CLOSED, "fake hang-up");
  put_error_frame (h->out, "coproc-error-quark", COPROC_ERROR_CLOSE_REQUESTED, "as an error");
  put_marker (h->out, 1);
  hostile_flush (h);

  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_cmpstr (g_quark_to_string (error->domain), ==, "coproc-test-hostile-new-quark");
  g_assert_cmpint (error->code, ==, -3);
  g_assert_cmpstr (error->message, ==, "new domain");
  g_clear_error (&error);

  /* A worker that did not die cannot say it did, nor that the connection
   * ended: it arrives as what it is, a message from the peer. */
  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
  g_assert_nonnull (strstr (error->message, "fake death"));
  g_assert_nonnull (strstr (error->message, "coproc-error-quark (code 8)"));
  g_clear_error (&error);
  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
  g_assert_nonnull (strstr (error->message, "fake hang-up"));
  g_clear_error (&error);
  g_assert_false (coproc_messenger_is_closed (h->messenger));

  /* A close request it may send either way. */
  payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
  g_assert_cmpstr (error->message, ==, "as an error");
  g_clear_error (&error);
  assert_marker (h, 1);
}

/* Passed descriptors ----------------------------------------------------------- */

/* Sends @frame with @fd attached to its first byte. */
static void
send_with_fd (int         sock,
              GByteArray *frame,
              int         fd)
{
  g_assert_cmpint (test_send_with_fd (sock, frame->data, frame->len, fd, 0), ==, frame->len);
}

/* A memory file holding @body, sealed with @seals (0: none). */
static int
make_memfd (GBytes *body,
            int     seals,
            gsize   extra)
{
  int fd = memfd_create ("coproc-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  gsize size = g_bytes_get_size (body);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, g_bytes_get_data (body, NULL), size), ==, size);
  if (extra > 0)
    g_assert_cmpint (ftruncate (fd, size + extra), ==, 0);
  if (seals != 0)
    g_assert_cmpint (fcntl (fd, F_ADD_SEALS, seals), ==, 0);

  return fd;
}

/* A payload in a file descriptor is accepted only from a sealed memory
 * file of the right size; every descriptor received is closed in the end. */
static void
test_passed_payloads (Hostile       *h,
                      gconstpointer  data)
{
  const int seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
  g_autoptr(GBytes) body = encode (g_variant_new_string ("passed by descriptor"));
  g_autoptr(GBytes) bad_body = encode_raw ("abc", 3, "s");
  guint fds_before = test_count_open_fds ();
  int pipe_fds[2];
  struct {
    int      fd;
    gboolean valid;
  } cases[5];

  g_assert_true (g_unix_open_pipe (pipe_fds, FD_CLOEXEC, NULL));
  close (pipe_fds[1]);

  cases[0].fd = make_memfd (body, seals, 0);
  cases[0].valid = TRUE;
  cases[1].fd = make_memfd (body, 0, 0);                       /* not sealed */
  cases[1].valid = FALSE;
  cases[2].fd = make_memfd (body, F_SEAL_SHRINK | F_SEAL_GROW, 0); /* writable */
  cases[2].valid = FALSE;
  cases[3].fd = pipe_fds[0];                                   /* not a file */
  cases[3].valid = FALSE;
  cases[4].fd = make_memfd (bad_body, seals, 4096);            /* sealed, malformed */
  cases[4].valid = FALSE;

  hostile_start (h);
  hostile_flush (h);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Header header = {
        .payload_size = g_bytes_get_size (i == 4 ? bad_body : body),
        .kind = KIND_NOREQUEST,
        .flags = FLAG_PAYLOAD_FD,
        .n_fds = 1,
        .priority = INFINITY,   /* after the marker */
      };

      g_test_message ("descriptor case %u", i);

      put_marker (h->out, i);
      hostile_flush (h);
      put_header (h->out, &header);
      send_with_fd (h->peer, h->out, cases[i].fd);
      g_byte_array_set_size (h->out, 0);
      close (cases[i].fd);

      if (cases[i].valid)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GVariant) payload = NULL;

          assert_marker (h, i);
          payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
          g_assert_no_error (error);
          test_assert_variant (payload, g_variant_new_string ("passed by descriptor"));
        }
      else
        {
          assert_receive_fails (h, COPROC_ERROR_PROTOCOL);
          assert_marker (h, i);
        }
    }

  /* A file shorter than the payload it claims. */
  {
    int fd = make_memfd (body, seals, 0);
    Header header = {
      .payload_size = g_bytes_get_size (body) + 100,
      .kind = KIND_NOREQUEST,
      .flags = FLAG_PAYLOAD_FD,
      .n_fds = 1,
    };

    put_marker (h->out, 10);
    hostile_flush (h);
    put_header (h->out, &header);
    send_with_fd (h->peer, h->out, fd);
    g_byte_array_set_size (h->out, 0);
    close (fd);

    assert_receive_fails (h, COPROC_ERROR_PROTOCOL);
    assert_marker (h, 10);
  }

  /* A payload over the limit: dropped, descriptor and all. */
  {
    g_autofree char *text = g_strnfill (1000, 'x');
    g_autoptr(GBytes) long_body = encode (g_variant_new_string (text));
    int fd = make_memfd (long_body, seals, 0);
    Header header = {
      .payload_size = g_bytes_get_size (long_body),
      .kind = KIND_NOREQUEST,
      .flags = FLAG_PAYLOAD_FD,
      .n_fds = 1,
    };

    coproc_messenger_set_max_message_size (h->messenger, 512);
    put_header (h->out, &header);
    send_with_fd (h->peer, h->out, fd);
    g_byte_array_set_size (h->out, 0);
    close (fd);

    assert_receive_fails (h, COPROC_ERROR_MESSAGE_TOO_LARGE);
    coproc_messenger_set_max_message_size (h->messenger, COPROC_DEFAULT_MAX_MESSAGE_SIZE);
  }

  /* A stray descriptor on an ordinary frame is held, then closed. */
  {
    int fd = make_memfd (body, seals, 0);

    put_marker (h->out, 11);
    send_with_fd (h->peer, h->out, fd);
    g_byte_array_set_size (h->out, 0);
    close (fd);
  }

  assert_marker (h, 11);

  /* Everything the messenger received is closed once it is gone, its own
   * socket too (the valid payload's mapping went with its variant). */
  g_clear_object (&h->messenger);
  test_drain_context (NULL);
  g_assert_cmpuint (test_count_open_fds (), <, fds_before);
}

/* One sendmsg() of @frame with @n_fds descriptors on its first byte. */
static void
send_with_fds (int         sock,
               GByteArray *frame,
               const int  *fds,
               guint       n_fds)
{
  union {
    struct cmsghdr align;
    char           buf[CMSG_SPACE (sizeof (int) * 32)];
  } control;
  struct iovec iov = { frame->data, frame->len };
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;

  g_assert_cmpuint (n_fds, <=, 32);
  memset (&control, 0, sizeof control);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
  memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);
  g_assert_cmpint (sendmsg (sock, &msg, MSG_NOSIGNAL), ==, frame->len);
}

/* A hand-written frame of protocol 1.2 with two descriptors of its own,
 * and a passed payload with one: they arrive in the message's list, the
 * payload's taken out first. */
static void
test_message_fds_valid (Hostile       *h,
                        gconstpointer  data)
{
  static const int seals = F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
  g_autoptr(GBytes) payload = encode (g_variant_new ("(hh)", 1, 0));
  g_autoptr(GBytes) passed = encode (g_variant_new_string ("in a memfd"));
  g_autoptr(GError) error = NULL;
  guint fds_before = test_count_open_fds ();
  int fds[3];

  hostile_start (h);
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(CoprocMessage) message = NULL;
      Header header = {
        .payload_size = g_bytes_get_size (round ? passed : payload),
        .kind = KIND_NOREQUEST,
        .flags = FLAG_MESSAGE_FDS | (round ? FLAG_PAYLOAD_FD : 0),
        .n_fds = round ? 3 : 2,
        .priority = INFINITY,
      };
      guint n = 0;
      GUnixFDList *list;

      if (round)
        fds[n++] = make_memfd (passed, seals, 0);
      fds[n++] = make_memfd (payload, 0, 0);            /* handle 0 */
      fds[n++] = make_memfd (passed, 0, 0);             /* handle 1 */
      put_header (h->out, &header);
      if (!round)
        put_padded (h->out, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), 0);
      send_with_fds (h->peer, h->out, fds, n);
      g_byte_array_set_size (h->out, 0);
      for (guint i = 0; i < n; i++)
        close (fds[i]);

      message = coproc_messenger_receive_message_blocking (h->messenger, NULL, NULL, &error);
      g_assert_no_error (error);
      test_assert_variant (coproc_message_get_payload (message),
                           round ? g_variant_new_string ("in a memfd")
                                 : g_variant_new ("(hh)", 1, 0));
      list = coproc_message_get_unix_fd_list (message);
      g_assert_nonnull (list);
      g_assert_cmpint (g_unix_fd_list_get_length (list), ==, 2);
      {
        const int *got = g_unix_fd_list_peek_fds (list, NULL);
        struct stat st0, st1;

        g_assert_cmpint (fstat (got[0], &st0), ==, 0);
        g_assert_cmpint (fstat (got[1], &st1), ==, 0);
        g_assert_cmpint (st0.st_size, ==, g_bytes_get_size (payload));
        g_assert_cmpint (st1.st_size, ==, g_bytes_get_size (passed));
      }
    }

  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* A frame that claims descriptors that did not come with it, or more
 * than a message carries, breaks the protocol: fatal, and every
 * descriptor received is closed. */
static void
test_message_fds_hostile (void)
{
  g_autoptr(GBytes) payload = encode (g_variant_new_int32 (5));
  static const struct {
    guint8  flags;
    guint16 n_fds;
    guint   n_sent;
  } cases[] = {
    { FLAG_MESSAGE_FDS, 2, 1 },                     /* one did not arrive */
    { FLAG_MESSAGE_FDS, 3, 0 },                     /* none did */
    { FLAG_MESSAGE_FDS, 17, 17 },                   /* over the limit */
    { FLAG_MESSAGE_FDS | FLAG_PAYLOAD_FD, 18, 18 }, /* over it, with a payload's */
    { FLAG_MESSAGE_FDS, 0, 0 },                     /* the flag without any */
    { FLAG_MESSAGE_FDS | FLAG_PAYLOAD_FD, 1, 1 },   /* only the payload's */
  };
  guint fds_before = test_count_open_fds ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Hostile local;
      Hostile *h = &local;
      Header header = {
        .payload_size = g_bytes_get_size (payload),
        .kind = KIND_REQUEST,
        .flags = cases[i].flags,
        .n_fds = cases[i].n_fds,
        .priority = 1,
      };
      int fds[32];

      g_test_message ("case %u", i);
      hostile_setup (h, NULL);
      hostile_start (h);
      put_marker (h->out, 1);
      hostile_flush (h);

      put_header (h->out, &header);
      if (!(cases[i].flags & FLAG_PAYLOAD_FD))
        put_padded (h->out, g_bytes_get_data (payload, NULL), g_bytes_get_size (payload), 0);
      put_marker (h->out, 2);
      for (guint j = 0; j < cases[i].n_sent; j++)
        fds[j] = make_memfd (payload, 0, 0);
      if (cases[i].n_sent > 0)
        send_with_fds (h->peer, h->out, fds, cases[i].n_sent);
      else
        hostile_flush (h);
      g_byte_array_set_size (h->out, 0);
      for (guint j = 0; j < cases[i].n_sent; j++)
        close (fds[j]);

      assert_marker (h, 1);
      assert_dead (h, COPROC_ERROR_PROTOCOL);
      hostile_teardown (h, NULL);
    }

  g_assert_cmpuint (test_count_open_fds (), ==, fds_before);
}

/* Too many unclaimed descriptors are fatal, and all of them are closed. */
static void
test_descriptor_flood (Hostile       *h,
                       gconstpointer  data)
{
  g_autoptr(GBytes) body = encode (g_variant_new_string ("x"));
  guint fds_before = test_count_open_fds ();
  guint i;

  hostile_start (h);
  put_marker (h->out, 0);
  hostile_flush (h);
  /* 15 stray descriptors with each marker: 150 in all, past the 128 that
   * may wait for frames. */
  for (i = 0; i < 10; i++)
    {
      int fds[15];

      for (guint j = 0; j < G_N_ELEMENTS (fds); j++)
        fds[j] = make_memfd (body, 0, 0);
      put_marker (h->out, i + 1);
      send_with_fds (h->peer, h->out, fds, G_N_ELEMENTS (fds));
      g_byte_array_set_size (h->out, 0);
      for (guint j = 0; j < G_N_ELEMENTS (fds); j++)
        close (fds[j]);
    }

  /* Somewhere past the limit the connection fails. */
  for (i = 0; i <= 10; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);

      if (payload == NULL)
        {
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
          break;
        }
      test_assert_variant (payload, g_variant_new_int32 (i));
    }
  g_assert_cmpuint (i, <, 10);
  g_assert_true (coproc_messenger_is_closed (h->messenger));
  /* The received descriptors and the messenger's socket are closed. */
  g_assert_cmpuint (test_count_open_fds (), <, fds_before);
}

/* Last words at construction ----------------------------------------------- */

/* The peer writes its handshake and more, and hangs up, before this side
 * makes its messenger: writing this side's handshake then fails. That must
 * not fail the construction: what the peer said is delivered, then its
 * hang-up. */

typedef enum
{
  OVER_GSOCKET,        /* a GSocketConnection */
  OVER_UNIX_STREAMS,   /* Unix streams over one socket, as new_pair() makes them */
  OVER_PIPES,          /* two pipes: the pollable-stream backend */
  N_OVER
} Over;

/* Writes what @h->out holds and hangs up; then makes the messenger. */
static void
last_words_setup (Hostile *h,
                  Over     over)
{
  g_autoptr(GError) error = NULL;
  int fds[2];

  h->peer = -1;

  if (over == OVER_PIPES)
    {
      g_autoptr(GInputStream) input = NULL;
      g_autoptr(GOutputStream) output = NULL;
      g_autoptr(GIOStream) stream = NULL;
      int to_us[2];
      int from_us[2];

      g_assert_true (g_unix_open_pipe (to_us, FD_CLOEXEC, &error));
      g_assert_true (g_unix_open_pipe (from_us, FD_CLOEXEC, &error));
      g_assert_no_error (error);
      test_write_all (to_us[1], h->out->data, h->out->len);
      close (to_us[1]);
      close (from_us[0]);

      input = g_unix_input_stream_new (to_us[0], TRUE);
      output = g_unix_output_stream_new (from_us[1], TRUE);
      stream = g_simple_io_stream_new (input, output);
      h->messenger = coproc_messenger_new_for_stream (COPROC_TYPE_PRIORITY_MESSENGER, stream,
                                                      &error);
    }
  else
    {
      g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
      test_write_all (fds[1], h->out->data, h->out->len);
      close (fds[1]);

      if (over == OVER_GSOCKET)
        h->messenger = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[0], 0);
      else
        h->messenger = _coproc_messenger_new_for_socket_fd (COPROC_TYPE_PRIORITY_MESSENGER,
                                                            fds[0], &error);
    }

  g_assert_no_error (error);
  g_assert_nonnull (h->messenger);
  g_byte_array_set_size (h->out, 0);
}

/* Sends fail with the write error, not the hang-up (not read yet). */
static void
assert_send_fails (Hostile *h)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (coproc_messenger_send_norequest (h->messenger, g_variant_new_int32 (0), NULL,
                                                   &error));
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);
  g_test_message ("send failed, as expected: %s", error->message);
}

/* After everything was delivered: the hang-up, for good. */
static void
assert_hung_up (Hostile *h)
{
  assert_receive_fails (h, COPROC_ERROR_CLOSED);
  g_assert_true (coproc_messenger_is_closed (h->messenger));
  assert_receive_fails (h, COPROC_ERROR_CLOSED);
}

static void
test_last_words_data (void)
{
  for (Over over = 0; over < N_OVER; over++)
    {
      g_autoptr(GBytes) channel = encode (g_variant_new_string ("c"));
      g_autoptr(GBytes) payload = encode (g_variant_new_int32 (2));
      g_autoptr(GVariant) channel_id = g_variant_ref_sink (g_variant_new_string ("c"));
      g_autoptr(GVariant) received = NULL;
      g_autoptr(GError) error = NULL;
      Hostile local = { .out = g_byte_array_new () };
      Hostile *h = &local;

      hostile_start (h);
      put_marker (h->out, 1);
      put_frame (h->out, KIND_REQUEST, channel, payload, 0);
      last_words_setup (h, over);

      g_assert_false (coproc_messenger_is_closed (h->messenger));
      assert_send_fails (h);

      assert_marker (h, 1);
      received = coproc_messenger_receive_blocking (h->messenger, channel_id, NULL, &error);
      g_assert_no_error (error);
      test_assert_variant (received, g_variant_new_int32 (2));
      assert_hung_up (h);

      hostile_teardown (h, NULL);
    }
}

static void
test_last_words_error (void)
{
  for (Over over = 0; over < N_OVER; over++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = NULL;
      Hostile local = { .out = g_byte_array_new () };
      Hostile *h = &local;

      hostile_start (h);
      put_marker (h->out, 1);
      put_error_frame (h->out, g_quark_to_string (TEST_ERROR), TEST_ERROR_BOOM, "last words");
      last_words_setup (h, over);

      assert_send_fails (h);

      /* The special message first (it bypasses the queues), then the data
       * before it, then the hang-up. */
      payload = coproc_messenger_receive_blocking (h->messenger, NULL, NULL, &error);
      g_assert_null (payload);
      g_assert_error (error, TEST_ERROR, TEST_ERROR_BOOM);
      g_assert_cmpstr (error->message, ==, "last words");
      assert_marker (h, 1);
      assert_hung_up (h);

      hostile_teardown (h, NULL);
    }
}

static void
test_last_words_close_request (void)
{
  for (Over over = 0; over < N_OVER; over++)
    {
      Hostile local = { .out = g_byte_array_new () };
      Hostile *h = &local;

      hostile_start (h);
      put_marker (h->out, 1);
      put_frame (h->out, KIND_CLOSE, NULL, NULL, -INFINITY);
      last_words_setup (h, over);

      assert_send_fails (h);

      assert_receive_fails (h, COPROC_ERROR_CLOSE_REQUESTED);
      assert_marker (h, 1);
      assert_hung_up (h);

      hostile_teardown (h, NULL);
    }
}

/* A peer that is not one still gets the protocol error, not a write
 * error. */
static void
test_last_words_garbage (void)
{
  for (Over over = 0; over < N_OVER; over++)
    {
      Hostile local = { .out = g_byte_array_new () };
      Hostile *h = &local;

      g_byte_array_append (h->out, (const guint8 *) "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
      last_words_setup (h, over);

      assert_dead (h, COPROC_ERROR_PROTOCOL);

      hostile_teardown (h, NULL);
    }
}

typedef struct
{
  GString   *seen;     /* what happened, in order */
  GMainLoop *loop;
} LastWordsLog;

static gboolean
last_words_message_cb (CoprocMessenger *messenger,
                       CoprocMessage   *message,
                       LastWordsLog    *log)
{
  g_string_append_printf (log->seen, "message %d, ",
                          g_variant_get_int32 (coproc_message_get_payload (message)));
  return TRUE;
}

static gboolean
last_words_error_cb (CoprocMessenger *messenger,
                     const GError    *error,
                     LastWordsLog    *log)
{
  g_string_append_printf (log->seen, "error %s, ", error->message);
  return TRUE;
}

static gboolean
last_words_close_cb (CoprocMessenger *messenger,
                     LastWordsLog    *log)
{
  g_string_append (log->seen, "close request, ");
  return TRUE;
}

static void
last_words_closed_cb (CoprocMessenger *messenger,
                      const GError    *error,
                      LastWordsLog    *log)
{
  g_string_append_printf (log->seen, "closed (%s)", error ? error->message : "clean");
  g_main_loop_quit (log->loop);
}

/* From the main loop: every signal, in the order the peer spoke, and then
 * ::closed for a clean hang-up. */
static void
test_last_words_signals (void)
{
  for (Over over = 0; over < N_OVER; over++)
    {
      g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      g_autoptr(GString) seen = g_string_new (NULL);
      LastWordsLog log = { seen, loop };
      Hostile local = { .out = g_byte_array_new () };
      Hostile *h = &local;

      hostile_start (h);
      put_marker (h->out, 1);
      put_error_frame (h->out, g_quark_to_string (TEST_ERROR), TEST_ERROR_FIRST, "first");
      put_marker (h->out, 2);
      put_frame (h->out, KIND_CLOSE, NULL, NULL, -INFINITY);
      put_marker (h->out, 3);
      last_words_setup (h, over);

      g_signal_connect (h->messenger, "message-received", G_CALLBACK (last_words_message_cb), &log);
      g_signal_connect (h->messenger, "error-received", G_CALLBACK (last_words_error_cb), &log);
      g_signal_connect (h->messenger, "close-requested", G_CALLBACK (last_words_close_cb), &log);
      g_signal_connect (h->messenger, "closed", G_CALLBACK (last_words_closed_cb), &log);
      g_main_loop_run (loop);

      g_assert_cmpstr (seen->str, ==,
                       "message 1, error first, message 2, close request, message 3, closed (clean)");
      g_assert_cmpuint (coproc_messenger_messages_received (h->messenger, NULL), ==, 3);

      g_signal_handlers_disconnect_by_data (h->messenger, &log);
      hostile_teardown (h, NULL);
    }
}

/* Registration ------------------------------------------------------------- */

static void
add_test (const char *name,
          void      (*func) (Hostile *, gconstpointer))
{
  g_autofree char *path = g_strdup_printf ("/Coproc/Messenger/hostile/%s", name);

  g_test_add (path, Hostile, NULL, hostile_setup, func, hostile_teardown);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  add_test ("handshake/garbage", test_handshake_garbage);
  add_test ("handshake/wrong-version", test_handshake_wrong_version);
  add_test ("handshake/reserved", test_handshake_reserved);
  add_test ("handshake/truncated", test_handshake_truncated);
  add_test ("handshake/none", test_handshake_none);
  add_test ("handshake/max-size", test_handshake_max_size);
  add_test ("handshake/max-size-zero", test_handshake_max_size_zero);
  add_test ("valid/frames", test_valid_frames);
  add_test ("valid/output", test_valid_output);
  g_test_add_func ("/Coproc/Messenger/hostile/frame/eof-mid-frame", test_eof_mid_frame);
  g_test_add_func ("/Coproc/Messenger/hostile/frame/huge-lengths", test_huge_lengths);
  add_test ("frame/oversized-skipped", test_oversized_skipped);
  add_test ("frame/unknown-kind", test_unknown_kind);
  g_test_add_func ("/Coproc/Messenger/hostile/frame/reserved-bits", test_reserved_bits);
  g_test_add_func ("/Coproc/Messenger/hostile/frame/bad-sizes", test_bad_sizes);
  add_test ("frame/malformed-values", test_malformed_values);
  add_test ("error/bad-bodies", test_bad_error_bodies);
  add_test ("error/domains", test_error_domains);
  add_test ("fd/passed-payloads", test_passed_payloads);
  add_test ("fd/flood", test_descriptor_flood);
  add_test ("fd/message-fds", test_message_fds_valid);
  g_test_add_func ("/Coproc/Messenger/hostile/fd/message-fds-hostile", test_message_fds_hostile);
  g_test_add_func ("/Coproc/Messenger/hostile/last-words/data", test_last_words_data);
  g_test_add_func ("/Coproc/Messenger/hostile/last-words/error", test_last_words_error);
  g_test_add_func ("/Coproc/Messenger/hostile/last-words/close-request",
                   test_last_words_close_request);
  g_test_add_func ("/Coproc/Messenger/hostile/last-words/garbage", test_last_words_garbage);
  g_test_add_func ("/Coproc/Messenger/hostile/last-words/signals", test_last_words_signals);

  return g_test_run ();
}
