/* fuzz-common.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the fuzz targets and the corpus generator agree on.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A fuzz-stream input is two option bytes, then the bytes the peer sends
 * (handshake included).
 *
 *   byte 0, bit 0     a CoprocMultiMessenger instead of a CoprocPriorityMessenger
 *                     (with FUZZ_DRIVE_AWAIT: FIFO ranks instead of priorities)
 *           bits 1-2  how messages are taken: a FuzzDrive
 *           bit 3     signal handlers consume what they are offered
 *           bit 4     max-message-size FUZZ_STREAM_SMALL_MAX_SIZE
 *           bit 5     a pollable in-memory GIOStream instead of a socket
 *           bit 6     pass file descriptors (see below)
 *           bit 7     max-queued-bytes FUZZ_STREAM_SMALL_QUEUE_SIZE
 *   byte 1            bytes per write into the socket (0: as many as fit)
 *
 * With bit 6 (and a socket), the option bytes are followed by a
 * little-endian guint32 file size F and a byte of FuzzFdFlags; the input
 * ends with the F bytes of the file (or what there is of them). Like a real
 * sender, the feeder passes a sealed memfd holding the file with the first
 * byte of every frame whose header says its payload was passed.
 */
#define FUZZ_STREAM_PREFIX_SIZE      2
#define FUZZ_STREAM_MULTI            (1u << 0)
#define FUZZ_STREAM_DRIVE_SHIFT      1
#define FUZZ_STREAM_DRIVE_MASK       (3u << FUZZ_STREAM_DRIVE_SHIFT)
#define FUZZ_STREAM_CONSUME          (1u << 3)
#define FUZZ_STREAM_SMALL_MAX        (1u << 4)
#define FUZZ_STREAM_MEMORY           (1u << 5)
#define FUZZ_STREAM_FDS              (1u << 6)
#define FUZZ_STREAM_SMALL_QUEUE      (1u << 7)
#define FUZZ_STREAM_SMALL_MAX_SIZE   128
#define FUZZ_STREAM_SMALL_QUEUE_SIZE 1024
#define FUZZ_STREAM_FD_HEADER_SIZE   5

typedef enum
{
  FUZZ_FD_UNSEALED    = 1 << 0,  /* the memfd is not sealed */
  FUZZ_FD_PIPE        = 1 << 1,  /* a pipe instead of a memfd */
  FUZZ_FD_EVERY_WRITE = 1 << 2,  /* a descriptor with every write, wanted or not */
} FuzzFdFlags;

typedef enum
{
  FUZZ_DRIVE_BLOCKING,  /* receive_message_blocking() on the default channel */
  FUZZ_DRIVE_POLL,      /* available() and receive_available() */
  FUZZ_DRIVE_AWAIT,     /* await_available(), then every channel, via a queue_message override */
  FUZZ_DRIVE_MAIN_LOOP, /* the watch source, signals and receive_message_async() */
} FuzzDrive;

#define FUZZ_STREAM_MODE(drive, flags) ((guint8) (((drive) << FUZZ_STREAM_DRIVE_SHIFT) | (flags)))

G_END_DECLS
