/* test-parser.c: the frame parser, fed bytes and descriptors by hand
 *
 * No socket: frames are encoded with the library's own codec (the format
 * itself is checked byte by byte in test-hostile.c), written into the
 * space the parser hands out, a few bytes at a time or all at once, and
 * the test checks what comes out: frames, dropped frames, fatal errors.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coproc/coproc-error.h"
#include "coproc/coproc-payload-fd-private.h"
#include "coproc/coproc-frame-parser-private.h"

#define MAX_SIZE 4096

/* Building input ------------------------------------------------------------ */

static void
put_handshake (GByteArray *out,
               guint32     max_message_size)
{
  guint8 handshake[COPROC_WIRE_HANDSHAKE_SIZE];

  coproc_wire_write_handshake (handshake, 0, max_message_size);
  g_byte_array_append (out, handshake, sizeof handshake);
}

static void
put_value (GByteArray *out,
           GVariant   *value)
{
  gsize size = coproc_wire_variant_size (value);
  gsize at = out->len;

  g_byte_array_set_size (out, at + coproc_wire_pad8 (size));
  memset (out->data + at, 0, coproc_wire_pad8 (size));
  coproc_wire_store_variant (value, out->data + at);
}

/* A frame; @channel and @payload are sunk. With @flags carrying
 * COPROC_WIRE_FLAG_PAYLOAD_FD, @payload only gives the size. */
static void
put_frame_full (GByteArray *out,
                guint8      kind,
                guint8      flags,
                GVariant   *channel,
                GVariant   *payload,
                gdouble     priority,
                guint64     request_id)
{
  g_autoptr(GVariant) c = channel ? g_variant_ref_sink (channel) : NULL;
  g_autoptr(GVariant) p = payload ? g_variant_ref_sink (payload) : NULL;
  CoprocWireHeader header = {
    .payload_size = p ? coproc_wire_variant_size (p) : 0,
    .channel_size = c ? coproc_wire_variant_size (c) : 0,
    .kind = kind,
    .flags = flags,
    .n_fds = (flags & COPROC_WIRE_FLAG_PAYLOAD_FD) ? 1 : 0,
    .priority = priority,
    .request_id = request_id,
  };
  gsize at = out->len;

  g_byte_array_set_size (out, at + COPROC_WIRE_HEADER_SIZE);
  coproc_wire_write_header (out->data + at, &header);
  if (c != NULL)
    put_value (out, c);
  if (p != NULL && !(flags & COPROC_WIRE_FLAG_PAYLOAD_FD))
    put_value (out, p);
}

static void
put_frame (GByteArray *out,
           guint8      kind,
           GVariant   *channel,
           GVariant   *payload)
{
  put_frame_full (out, kind, 0, channel, payload, INFINITY, 0);
}

static void
put_marker (GByteArray *out,
            gint32      value)
{
  put_frame (out, COPROC_WIRE_KIND_NOREQUEST, NULL, g_variant_new_int32 (value));
}

/* Writes @len bytes into the parser's space, @step bytes at a time (0: as
 * much as it takes at once), without parsing. */
static void
feed (CoprocFrameParser *parser,
      const guint8      *data,
      gsize              len,
      gsize              step)
{
  while (len > 0)
    {
      gsize space;
      guint8 *to = coproc_frame_parser_get_space (parser, &space);
      gsize n = MIN (len, step > 0 ? MIN (step, space) : space);

      g_assert_cmpuint (space, >, 0);
      memcpy (to, data, n);
      coproc_frame_parser_commit (parser, n);
      data += n;
      len -= n;
    }
}

static void
feed_all (CoprocFrameParser *parser,
          GByteArray        *out)
{
  feed (parser, out->data, out->len, 0);
  g_byte_array_set_size (out, 0);
}

/* Checking output ----------------------------------------------------------- */

static void
assert_need_more (CoprocFrameParser *parser)
{
  g_autoptr(GError) error = NULL;
  CoprocFrame frame = { 0 };

  g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_NEED_MORE);
  g_assert_no_error (error);
  g_assert_null (frame.payload);
}

static void
assert_marker (CoprocFrameParser *parser,
               gint32             value)
{
  g_autoptr(GError) error = NULL;
  CoprocFrame frame = { 0 };

  g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
  g_assert_no_error (error);
  g_assert_cmpint (frame.kind, ==, COPROC_WIRE_KIND_NOREQUEST);
  g_assert_null (frame.channel_id);
  g_assert_true (g_variant_is_of_type (frame.payload, G_VARIANT_TYPE_INT32));
  g_assert_cmpint (g_variant_get_int32 (frame.payload), ==, value);
  coproc_frame_clear (&frame);
}

static void
assert_result (CoprocFrameParser *parser,
               CoprocParseResult  expected,
               CoprocError        code)
{
  g_autoptr(GError) error = NULL;
  CoprocFrame frame = { 0 };

  g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, expected);
  g_assert_error (error, COPROC_ERROR, (gint) code);
  g_assert_null (frame.channel_id);
  g_assert_null (frame.payload);
  g_test_message ("as expected: %s", error->message);
}

/* Tests ------------------------------------------------------------------- */

/* Every kind of frame, with its fields, whether the bytes come one at a
 * time or all at once. */
static void
test_frames (void)
{
  for (gsize step = 0; step <= 7; step += 7)
    {
      CoprocFrameParser *parser = coproc_frame_parser_new (MAX_SIZE);
      g_autoptr(GByteArray) out = g_byte_array_new ();
      g_autoptr(GError) error = NULL;
      CoprocFrame frame = { 0 };

      g_assert_false (coproc_frame_parser_in_frame (parser));
      g_assert_true (coproc_frame_parser_is_empty (parser));
      assert_need_more (parser);

      put_handshake (out, 1000);
      put_frame_full (out, COPROC_WIRE_KIND_REQUEST, 0, g_variant_new_string ("chan"),
                      g_variant_new ("(sd)", "payload", 2.5), -3.25, 77);
      put_frame (out, COPROC_WIRE_KIND_REPLY, g_variant_new ("(ii)", 1, 2), g_variant_new_byte (9));
      put_frame (out, COPROC_WIRE_KIND_ERROR, NULL, g_variant_new ("(sis)", "d", 3, "m"));
      put_frame (out, COPROC_WIRE_KIND_CLOSE, NULL, NULL);
      put_marker (out, 5);

      /* Up to the last byte, the last frame is not there yet. */
      feed (parser, out->data, out->len - 1, step);
      g_assert_cmpuint (coproc_frame_parser_get_peer_max_message_size (parser), ==, 0);

      g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
      g_assert_no_error (error);
      g_assert_cmpuint (coproc_frame_parser_get_peer_max_message_size (parser), ==, 1000);
      g_assert_cmpint (frame.kind, ==, COPROC_WIRE_KIND_REQUEST);
      g_assert_cmpfloat (frame.priority, ==, -3.25);
      g_assert_cmpuint (frame.request_id, ==, 77);
      g_assert_cmpstr (g_variant_get_string (frame.channel_id, NULL), ==, "chan");
      g_assert_true (g_variant_is_of_type (frame.payload, G_VARIANT_TYPE ("(sd)")));
      coproc_frame_clear (&frame);

      g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
      g_assert_cmpint (frame.kind, ==, COPROC_WIRE_KIND_REPLY);
      g_assert_true (g_variant_is_of_type (frame.channel_id, G_VARIANT_TYPE ("(ii)")));
      g_assert_cmpuint (g_variant_get_byte (frame.payload), ==, 9);
      coproc_frame_clear (&frame);

      g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
      g_assert_cmpint (frame.kind, ==, COPROC_WIRE_KIND_ERROR);
      g_assert_null (frame.channel_id);
      g_assert_true (g_variant_is_of_type (frame.payload, G_VARIANT_TYPE ("(sis)")));
      coproc_frame_clear (&frame);

      g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
      g_assert_cmpint (frame.kind, ==, COPROC_WIRE_KIND_CLOSE);
      g_assert_null (frame.channel_id);
      g_assert_null (frame.payload);
      g_assert_no_error (error);

      assert_need_more (parser);
      g_assert_true (coproc_frame_parser_in_frame (parser));
      g_assert_false (coproc_frame_parser_is_empty (parser));

      feed (parser, out->data + out->len - 1, 1, step);
      assert_marker (parser, 5);
      assert_need_more (parser);
      g_assert_false (coproc_frame_parser_in_frame (parser));
      g_assert_true (coproc_frame_parser_is_empty (parser));

      coproc_frame_parser_free (parser);
    }
}

/* Values keep the buffer they were loaded from: parsing on, and growing
 * the buffer, leaves them intact. */
static void
test_values_outlive_buffer (void)
{
  CoprocFrameParser *parser = coproc_frame_parser_new (1024 * 1024);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);

  put_handshake (out, 0);
  feed_all (parser, out);

  for (guint i = 0; i < 64; i++)
    {
      g_autofree char *text = g_strdup_printf ("%u:%0*u", i, (int) (i * 97 % 5000), 0);
      g_autoptr(GError) error = NULL;
      CoprocFrame frame = { 0 };

      put_frame (out, COPROC_WIRE_KIND_NOREQUEST, NULL, g_variant_new_string (text));
      feed_all (parser, out);
      g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
      g_assert_no_error (error);
      g_ptr_array_add (kept, g_steal_pointer (&frame.payload));
    }

  coproc_frame_parser_free (parser);

  for (guint i = 0; i < kept->len; i++)
    {
      g_autofree char *text = g_strdup_printf ("%u:%0*u", i, (int) (i * 97 % 5000), 0);

      g_assert_cmpstr (g_variant_get_string (g_ptr_array_index (kept, i), NULL), ==, text);
    }
}

static void
test_handshake_bad (void)
{
  static const char *garbage = "GET / HTTP/1.1\r\n";
  CoprocFrameParser *parser = coproc_frame_parser_new (MAX_SIZE);
  g_autoptr(GByteArray) out = g_byte_array_new ();

  feed (parser, (const guint8 *) garbage, strlen (garbage), 0);
  assert_result (parser, COPROC_PARSE_FATAL, COPROC_ERROR_PROTOCOL);
  coproc_frame_parser_free (parser);

  /* A truncated handshake is part of a message. */
  parser = coproc_frame_parser_new (MAX_SIZE);
  put_handshake (out, 0);
  feed (parser, out->data, 9, 0);
  assert_need_more (parser);
  g_assert_true (coproc_frame_parser_in_frame (parser));
  coproc_frame_parser_free (parser);
}

/* A frame over the limit is reported and skipped as its body streams past,
 * without being buffered; the frames around it are kept. */
static void
test_oversized (void)
{
  CoprocFrameParser *parser = coproc_frame_parser_new (MAX_SIZE);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autofree guint8 *big = g_malloc0 (64 * MAX_SIZE);
  gsize space;

  put_handshake (out, 0);
  put_marker (out, 1);
  put_frame (out, COPROC_WIRE_KIND_NOREQUEST, NULL,
             g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 64 * MAX_SIZE, 1));
  put_marker (out, 2);

  /* The header and a little of the body first. */
  feed (parser, out->data, COPROC_WIRE_HANDSHAKE_SIZE + 40 + COPROC_WIRE_HEADER_SIZE + 100, 0);
  assert_marker (parser, 1);
  assert_result (parser, COPROC_PARSE_DROPPED, COPROC_ERROR_MESSAGE_TOO_LARGE);
  assert_need_more (parser);
  g_assert_true (coproc_frame_parser_in_frame (parser));

  /* The rest of the body, in pieces: the buffer never holds it. */
  for (gsize at = COPROC_WIRE_HANDSHAKE_SIZE + 40 + COPROC_WIRE_HEADER_SIZE + 100;
       at < out->len; at += 1000)
    {
      feed (parser, out->data + at, MIN (1000, out->len - at), 0);
      if (out->len - at > 1000)
        assert_need_more (parser);
      coproc_frame_parser_get_space (parser, &space);
      g_assert_cmpuint (space, <=, 256 * 1024);
    }
  assert_marker (parser, 2);
  assert_need_more (parser);
  g_assert_false (coproc_frame_parser_in_frame (parser));

  coproc_frame_parser_free (parser);
}

/* A header that claims a huge (but allowed) frame makes the parser wait
 * for it, without allocating for the claim. */
static void
test_claimed_length (void)
{
  CoprocFrameParser *parser = coproc_frame_parser_new (G_MAXUINT32 - 64);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  CoprocWireHeader header = {
    .payload_size = G_MAXUINT32 - 100,
    .kind = COPROC_WIRE_KIND_NOREQUEST,
  };
  gsize space;

  put_handshake (out, 0);
  g_byte_array_set_size (out, COPROC_WIRE_HANDSHAKE_SIZE + COPROC_WIRE_HEADER_SIZE);
  coproc_wire_write_header (out->data + COPROC_WIRE_HANDSHAKE_SIZE, &header);
  feed_all (parser, out);
  assert_need_more (parser);

  coproc_frame_parser_get_space (parser, &space);
  g_assert_cmpuint (space, <=, 256 * 1024);

  coproc_frame_parser_free (parser);
}

/* Frames that cannot be used are dropped one by one; bad framing is fatal. */
static void
test_dropped_and_fatal (void)
{
  CoprocFrameParser *parser = coproc_frame_parser_new (MAX_SIZE);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  static const guint8 no_type[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
  CoprocWireHeader header = { .payload_size = 8, .kind = COPROC_WIRE_KIND_NOREQUEST };
  gsize at;

  put_handshake (out, 0);
  /* An unknown kind. */
  put_frame (out, 9, NULL, g_variant_new_int32 (0));
  put_marker (out, 1);
  /* A payload with no type string. */
  at = out->len;
  g_byte_array_set_size (out, at + COPROC_WIRE_HEADER_SIZE);
  coproc_wire_write_header (out->data + at, &header);
  g_byte_array_append (out, no_type, sizeof no_type);
  put_marker (out, 2);
  /* A channel that is not normal: a boolean of 2. */
  put_frame (out, COPROC_WIRE_KIND_NOREQUEST, g_variant_new_boolean (TRUE), g_variant_new_int32 (0));
  out->data[out->len - 8 - 8] = 2;
  put_marker (out, 3);
  feed_all (parser, out);

  assert_result (parser, COPROC_PARSE_DROPPED, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
  assert_marker (parser, 1);
  assert_result (parser, COPROC_PARSE_DROPPED, COPROC_ERROR_PROTOCOL);
  assert_marker (parser, 2);
  assert_result (parser, COPROC_PARSE_DROPPED, COPROC_ERROR_PROTOCOL);
  assert_marker (parser, 3);
  assert_need_more (parser);

  /* Reserved bits: framing can no longer be trusted. */
  put_marker (out, 4);
  out->data[12] = 1;
  feed_all (parser, out);
  assert_result (parser, COPROC_PARSE_FATAL, COPROC_ERROR_PROTOCOL);

  coproc_frame_parser_free (parser);
}

static int
count_open_fds (void)
{
  int n = 0;

  for (int fd = 0; fd < 1024; fd++)
    if (fcntl (fd, F_GETFD) >= 0)
      n++;

  return n;
}

/* Payloads passed in sealed memfds; descriptors are claimed in order, one
 * per announcing frame, and every one is closed in the end. */
static void
test_passed_payloads (void)
{
  CoprocFrameParser *parser = coproc_frame_parser_new (MAX_SIZE);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GVariant) payload = g_variant_ref_sink (g_variant_new_string ("in a memfd"));
  g_autoptr(GError) error = NULL;
  CoprocFrame frame = { 0 };
  int fds_before = count_open_fds ();
  int fds[3];

  fds[0] = coproc_payload_fd_create (payload, coproc_wire_variant_size (payload));
  fds[1] = memfd_create ("unsealed", MFD_CLOEXEC);           /* refused */
  fds[2] = coproc_payload_fd_create (payload, coproc_wire_variant_size (payload));
  g_assert_cmpint (fds[0], >=, 0);
  g_assert_cmpint (fds[1], >=, 0);
  g_assert_cmpint (fds[2], >=, 0);
  g_assert_cmpint (ftruncate (fds[1], 64), ==, 0);

  put_handshake (out, 0);
  for (guint i = 0; i < 3; i++)
    {
      put_frame_full (out, COPROC_WIRE_KIND_NOREQUEST, COPROC_WIRE_FLAG_PAYLOAD_FD, NULL,
                      payload, 0, 0);
      put_marker (out, i);
    }
  g_assert_true (coproc_frame_parser_add_fds (parser, fds, 3, &error));
  g_assert_no_error (error);
  feed_all (parser, out);

  g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
  g_assert_no_error (error);
  g_assert_true (g_variant_equal (frame.payload, payload));
  coproc_frame_clear (&frame);
  assert_marker (parser, 0);
  assert_result (parser, COPROC_PARSE_DROPPED, COPROC_ERROR_PROTOCOL);
  assert_marker (parser, 1);
  g_assert_cmpint (coproc_frame_parser_next (parser, &frame, &error), ==, COPROC_PARSE_FRAME);
  g_assert_true (g_variant_equal (frame.payload, payload));
  coproc_frame_clear (&frame);
  assert_marker (parser, 2);
  g_assert_cmpint (count_open_fds (), ==, fds_before);

  /* A frame whose descriptor did not come ends the stream. */
  put_frame_full (out, COPROC_WIRE_KIND_NOREQUEST, COPROC_WIRE_FLAG_PAYLOAD_FD, NULL,
                  payload, 0, 0);
  feed_all (parser, out);
  assert_result (parser, COPROC_PARSE_FATAL, COPROC_ERROR_PROTOCOL);

  coproc_frame_parser_free (parser);
  g_assert_cmpint (count_open_fds (), ==, fds_before);
}

/* Descriptors that no frame claims are bounded, and closed with the
 * parser; a dropped frame's descriptor is closed with it. */
static void
test_descriptor_bound (void)
{
  CoprocFrameParser *parser = coproc_frame_parser_new (MAX_SIZE);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *big = g_malloc0 (2 * MAX_SIZE);
  int fds_before = count_open_fds ();
  guint i;

  for (i = 0; i < COPROC_FRAME_PARSER_MAX_FDS; i++)
    {
      int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

      g_assert_true (coproc_frame_parser_add_fds (parser, &fd, 1, &error));
      g_assert_no_error (error);
    }
  g_assert_cmpint (count_open_fds (), ==, fds_before + COPROC_FRAME_PARSER_MAX_FDS);

  {
    int fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

    g_assert_false (coproc_frame_parser_add_fds (parser, &fd, 1, &error));
    g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  /* An oversized frame takes its descriptor down with it. */
  put_handshake (out, 0);
  put_frame_full (out, COPROC_WIRE_KIND_NOREQUEST, COPROC_WIRE_FLAG_PAYLOAD_FD, NULL,
                  g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 2 * MAX_SIZE, 1), 0, 0);
  feed_all (parser, out);
  assert_result (parser, COPROC_PARSE_DROPPED, COPROC_ERROR_MESSAGE_TOO_LARGE);
  g_assert_cmpint (count_open_fds (), ==, fds_before + COPROC_FRAME_PARSER_MAX_FDS);

  coproc_frame_parser_close_fds (parser);
  g_assert_cmpint (count_open_fds (), ==, fds_before);
  coproc_frame_parser_free (parser);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/Coproc/FrameParser/frames", test_frames);
  g_test_add_func ("/Coproc/FrameParser/values-outlive-buffer", test_values_outlive_buffer);
  g_test_add_func ("/Coproc/FrameParser/handshake-bad", test_handshake_bad);
  g_test_add_func ("/Coproc/FrameParser/oversized", test_oversized);
  g_test_add_func ("/Coproc/FrameParser/claimed-length", test_claimed_length);
  g_test_add_func ("/Coproc/FrameParser/dropped-and-fatal", test_dropped_and_fatal);
  g_test_add_func ("/Coproc/FrameParser/passed-payloads", test_passed_payloads);
  g_test_add_func ("/Coproc/FrameParser/descriptor-bound", test_descriptor_bound);

  return g_test_run ();
}
