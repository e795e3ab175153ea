/* fuzz-header.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: the fixed-size parts of wire protocol version 1, the
 * 16-byte handshake and the 32-byte frame header (doc/protocol.md).
 *
 * An input of 48 bytes or more is a handshake followed by a header, as a
 * stream starts; a shorter one is a header (32 to 47 bytes) or a handshake
 * (16 to 31 bytes). What decodes must encode back to the very same bytes,
 * describe a frame that can be skipped, and obey the rules of its kind
 * (a payload passed in a file descriptor only for data messages, with
 * exactly one descriptor); what does not decode fails with a protocol
 * error, or "not recognized" for an unknown kind that can be skipped.
 */

#include <string.h>

#include "coproc-error.h"
#include "coproc-wire-private.h"

static void
check_handshake (const guint8 *in)
{
  g_autoptr(GError) error = NULL;
  CoprocWireHandshake handshake = { 0 };
  guint8 out[COPROC_WIRE_HANDSHAKE_SIZE];

  if (!coproc_wire_read_handshake (in, &handshake, &error))
    {
      g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
      return;
    }

  g_assert_no_error (error);
  g_assert_cmpuint (handshake.version, ==, COPROC_WIRE_VERSION);

  coproc_wire_write_handshake (out, handshake.minor, handshake.max_message_size);
  g_assert_cmpmem (out, sizeof out, in, COPROC_WIRE_HANDSHAKE_SIZE);
}

static void
check_header (const guint8 *in)
{
  g_autoptr(GError) error = NULL;
  CoprocWireHeader header = { 0 };
  guint8 out[COPROC_WIRE_HEADER_SIZE];
  guint64 frame_size;
  guint64 in_stream;

  if (!coproc_wire_read_header (in, &header, &error))
    {
      if (g_error_matches (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED))
        {
          /* Unknown kinds are skipped: only the kind may be unknown. */
          g_assert_true (header.kind < COPROC_WIRE_KIND_NOREQUEST ||
                         header.kind > COPROC_WIRE_KIND_LAST);
          g_assert_cmpuint (header.flags, ==, 0);
          g_assert_cmpuint (header.n_fds, ==, 0);
          g_assert_cmpuint (coproc_wire_frame_size (&header), >=, COPROC_WIRE_HEADER_SIZE);
        }
      else
        g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
      return;
    }

  g_assert_no_error (error);
  g_assert_cmpuint (header.kind, >=, COPROC_WIRE_KIND_NOREQUEST);
  g_assert_cmpuint (header.kind, <=, COPROC_WIRE_KIND_LAST);
  g_assert_cmpuint (header.flags & ~COPROC_WIRE_FLAGS, ==, 0);
  g_assert_cmpuint (header.n_fds, <=, COPROC_WIRE_MAX_FDS);

  /* Decoding is exact: every bit of an accepted header means something. */
  coproc_wire_write_header (out, &header);
  g_assert_cmpmem (out, sizeof out, in, COPROC_WIRE_HEADER_SIZE);

  /* The frame is 8-byte aligned and holds its channel and, unless it was
   * passed in a file descriptor, its payload. */
  frame_size = coproc_wire_frame_size (&header);
  in_stream = header.channel_size;
  if (header.flags & COPROC_WIRE_FLAG_PAYLOAD_FD)
    {
      /* One descriptor, first, for the payload of a data message. */
      g_assert_cmpuint (header.n_fds, >=, 1);
      g_assert_cmpuint (header.kind, <=, COPROC_WIRE_KIND_REPLY);
    }
  else
    in_stream += header.payload_size;

  /* The message's own descriptors (protocol 1.2) come with their flag,
   * one at least and a bounded number, on data messages only. */
  if (header.flags & COPROC_WIRE_FLAG_MESSAGE_FDS)
    {
      g_assert_cmpuint (coproc_wire_message_fds (&header), >=, 1);
      g_assert_cmpuint (coproc_wire_message_fds (&header), <=, COPROC_WIRE_MAX_MESSAGE_FDS);
      g_assert_cmpuint (header.kind, <=, COPROC_WIRE_KIND_REPLY);
    }
  else
    g_assert_cmpuint (coproc_wire_message_fds (&header), ==, 0);
  g_assert_cmpuint (frame_size % 8, ==, 0);
  g_assert_cmpuint (frame_size, >=, COPROC_WIRE_HEADER_SIZE + in_stream);
  g_assert_cmpuint (frame_size, <, COPROC_WIRE_HEADER_SIZE + in_stream + 16);

  switch (header.kind)
    {
    case COPROC_WIRE_KIND_CLOSE:
      g_assert_cmpuint (header.channel_size, ==, 0);
      g_assert_cmpuint (header.payload_size, ==, 0);
      break;

    case COPROC_WIRE_KIND_ERROR:
      g_assert_cmpuint (header.channel_size, ==, 0);
      g_assert_cmpuint (header.payload_size, >=, 2);
      break;

    default:
      g_assert_cmpuint (header.payload_size, >=, 2);
      g_assert_cmpuint (header.channel_size, !=, 1);
      break;
    }
}

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  if (size >= COPROC_WIRE_HANDSHAKE_SIZE + COPROC_WIRE_HEADER_SIZE)
    {
      check_handshake (data);
      check_header (data + COPROC_WIRE_HANDSHAKE_SIZE);
    }
  else if (size >= COPROC_WIRE_HEADER_SIZE)
    check_header (data);
  else if (size >= COPROC_WIRE_HANDSHAKE_SIZE)
    check_handshake (data);

  return 0;
}
