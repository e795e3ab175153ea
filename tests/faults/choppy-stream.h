/* choppy-stream.h: a pollable GIOStream that reads and writes in short
 * pieces and often says it would block
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  CHOPPY_ONE_BYTE,   /* every read and write moves exactly one byte */
  CHOPPY_RANDOM,     /* 1 to 17 bytes at a time, and WOULD_BLOCK half the time */
} ChoppyMode;

#define CHOPPY_TYPE_STREAM (choppy_stream_get_type ())
G_DECLARE_FINAL_TYPE (ChoppyStream, choppy_stream, CHOPPY, STREAM, GIOStream)

/* Wraps @base, whose input and output streams must be pollable. The
 * choices of the random mode come from @seed, so a run can be repeated. */
GIOStream *choppy_stream_new        (GIOStream  *base,
                                     ChoppyMode  mode,
                                     guint32     seed);

/* How many calls moved bytes, and how many were refused as WOULD_BLOCK
 * although the base stream was ready. */
guint64    choppy_stream_get_moves  (ChoppyStream *self);
guint64    choppy_stream_get_refusals (ChoppyStream *self);

G_END_DECLS
