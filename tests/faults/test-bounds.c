/* test-bounds.c: bounds that hold against a hostile or stalled peer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A messenger is made over one end of a socket pair; the test is the peer
 * at the other end, writing raw handshakes, frames and sealed memfds by
 * hand (raw-peer.h), or reading nothing at all. Each test asserts a bound
 * the way a user would see it: the memory, mappings and descriptors of
 * the process, CPU time, or the error a call fails with. doc/security.md
 * lists the bounds and the tests that check them.
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <malloc.h>
#include <math.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <coproc.h>

#include "coproc-channels-private.h"
#include "coproc-messenger-state-private.h"
#include "coproc-payload-fd-private.h"
#include "coproc-transport-private.h"
#include "coproc-wire-private.h"

#include "coproc-test-util.h"
#include "raw-peer.h"

/* Fixture --------------------------------------------------------------------- */

typedef struct
{
  CoprocMessenger *messenger;
  int              peer;       /* the raw end */
  GByteArray      *out;        /* what the test writes next */
  int              out_fd;     /* borrowed, or -1: goes with the first byte of @out */
} Raw;

static void
raw_setup (Raw           *raw,
           gconstpointer  data)
{
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  raw->messenger = test_messenger_for_fd (COPROC_TYPE_PRIORITY_MESSENGER, fds[0], 0);
  raw->peer = fds[1];
  raw->out = g_byte_array_new ();
  raw->out_fd = -1;
  raw_append_handshake (raw->out);
}

static void
raw_teardown (Raw           *raw,
              gconstpointer  data)
{
  gpointer weak = raw->messenger;

  if (weak != NULL)
    g_object_add_weak_pointer (weak, &weak);
  g_clear_object (&raw->messenger);
  test_drain_context (NULL);
  g_assert_null (weak);

  if (raw->peer >= 0)
    close (raw->peer);
  g_byte_array_unref (raw->out);
}

/* Writes what was built, and empties the buffer. */
static void
raw_flush (Raw *raw)
{
  test_write_all (raw->peer, raw->out->data, raw->out->len);
  g_byte_array_set_size (raw->out, 0);
}

/* Writes what was built, @out_fd with its first byte, while the
 * messenger reads: whenever the socket is full, the messenger takes in
 * what it will. Returns FALSE once the messenger reads nothing more (it
 * holds as much as it may); @out then holds what is left to write, and
 * @out_fd is -1 once it went. */
static gboolean
raw_flush_pumping (Raw *raw)
{
  while (raw->out->len > 0)
    {
      gssize n = test_send_with_fd (raw->peer, raw->out->data, raw->out->len, raw->out_fd,
                                MSG_DONTWAIT);

      if (n < 0)
        {
          int before = 0;
          int after = 0;

          g_assert_cmpint (errno, ==, EAGAIN);
          g_assert_cmpint (ioctl (raw->peer, SIOCOUTQ, &before), ==, 0);
          coproc_messenger_available (raw->messenger, NULL, NULL);
          g_assert_cmpint (ioctl (raw->peer, SIOCOUTQ, &after), ==, 0);
          if (after >= before)
            return FALSE;
          continue;
        }

      raw->out_fd = -1;
      g_byte_array_remove_range (raw->out, 0, n);
    }

  return TRUE;
}

/* Resident memory, once freed memory went back to the system. */
static guint64
resident_bytes (void)
{
  malloc_trim (0);
  return test_proc_status_bytes ("VmRSS");
}

/* 2: small messages kept long ------------------------------------------------ */

#define PINNED_N_PAIRS   512
#define PINNED_BIG_SIZE  (64 * 1024)

/* One-byte messages left queued on a channel, while large ones on another
 * channel are taken: each small one once kept alive the whole read buffer
 * it came in, 128 KiB. Real memory must stay within a small factor of what
 * max-queued-bytes counts. */
static void
test_pinned_small_messages (Raw           *raw,
                            gconstpointer  data)
{
  g_autoptr(GVariant) small_channel = g_variant_ref_sink (g_variant_new_int32 (1));
  g_autoptr(GVariant) big_channel = g_variant_ref_sink (g_variant_new_int32 (2));
  g_autofree guint8 *big = g_malloc0 (PINNED_BIG_SIZE);
  guint64 baseline;
  guint64 grown;
  guint64 ceiling;
  guint n_big = 0;

  g_test_summary ("Small values are copied out of the read buffer: queued one-byte messages "
                  "do not keep 128 KiB buffers alive");

  raw_flush (raw);
  coproc_messenger_available (raw->messenger, NULL, NULL);
  baseline = resident_bytes ();

  for (guint i = 0; i < PINNED_N_PAIRS; i++)
    {
      g_autoptr(GPtrArray) taken = NULL;

      raw_append_frame (raw->out, COPROC_WIRE_KIND_NOREQUEST, small_channel,
                        g_variant_new_byte (i), FALSE);
      raw_append_frame (raw->out, COPROC_WIRE_KIND_NOREQUEST, big_channel,
                        g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, PINNED_BIG_SIZE, 1),
                        FALSE);
      g_assert_true (raw_flush_pumping (raw));

      taken = coproc_messenger_receive_available (raw->messenger, big_channel, NULL);
      n_big += taken->len;
    }
  coproc_messenger_available (raw->messenger, NULL, NULL);
  {
    g_autoptr(GPtrArray) taken = coproc_messenger_receive_available (raw->messenger, big_channel,
                                                                     NULL);

    n_big += taken->len;
  }
  g_assert_cmpuint (n_big, ==, PINNED_N_PAIRS);
  g_assert_cmpuint (coproc_messenger_queue_size (raw->messenger, small_channel), ==,
                    PINNED_N_PAIRS);

  /* What the accounting says, and what the process holds: the buffers the
   * small messages came in would be 64 MiB. Sanitizers keep freed memory
   * for a while (ASan in its quarantine, memcheck in its free list). */
  {
    guint64 now = resident_bytes ();

    /* Resident memory may also shrink meanwhile: read it once. */
    grown = now > baseline ? now - baseline : 0;
  }
  ceiling = 4 * coproc_messenger_queued_bytes (raw->messenger) + 4 * 1024 * 1024;
  if (UNDER_ASAN || RUNNING_ON_VALGRIND)
    ceiling += 2 * PINNED_N_PAIRS * PINNED_BIG_SIZE;
  g_test_message ("%u one-byte messages queued: %" G_GUINT64_FORMAT " bytes counted, resident "
                  "memory grew by %" G_GUINT64_FORMAT " bytes (ceiling %" G_GUINT64_FORMAT ")",
                  PINNED_N_PAIRS, coproc_messenger_queued_bytes (raw->messenger), grown, ceiling);
  g_assert_cmpuint (coproc_messenger_queued_bytes (raw->messenger), <, PINNED_N_PAIRS * 512);
  g_assert_cmpuint (grown, <, ceiling);

  /* And they are all there. */
  for (guint i = 0; i < PINNED_N_PAIRS; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (raw->messenger, small_channel,
                                                                       NULL, &error);

      g_assert_no_error (error);
      test_assert_variant (payload, g_variant_new_byte (i));
    }
}

/* 1: payloads passed in memfds ------------------------------------------------- */

/* Appends a data frame whose payload @payload (sunk) is passed in a sealed
 * memfd, and makes that the descriptor of the next flush. Returns the
 * descriptor, which the caller closes once it was sent. */
static int
raw_append_passed (Raw      *raw,
                   GVariant *channel_id,
                   GVariant *payload)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (payload);
  /* Both take a reference of their own to a value that is not floating. */
  int fd = raw_sealed_memfd (owned);

  g_assert_cmpuint (raw->out->len, ==, 0);
  raw_append_frame (raw->out, COPROC_WIRE_KIND_NOREQUEST, channel_id, owned, TRUE);
  raw->out_fd = fd;
  return fd;
}

/* A payload of @size bytes (encoded: @size - 3, an "ay"). */
static GVariant *
bytes_payload (gsize  size,
               guint8 fill)
{
  gsize n = size - 3;
  guint8 *data = g_malloc (n);

  memset (data, fill, n);
  return g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, n, TRUE, g_free, data);
}

/* A peer sends tens of thousands of tiny payloads, each in a memfd of its
 * own. Mapping each one used up the process's mappings (vm.max_map_count,
 * 65530) and brought the host down; they are copied out instead, and their
 * descriptors closed at once. */
static void
test_memfd_tiny_payloads (Raw           *raw,
                          gconstpointer  data)
{
  guint n = RUNNING_ON_VALGRIND ? 2000 : 20000;
  guint mappings_before;
  guint fds_before;
  guint mappings;
  guint fds;

  g_test_summary ("Payloads passed in memfds below 256 KiB are copied out, not mapped: "
                  "tiny ones cannot use up the mappings or descriptors of the process");

  raw_flush (raw);
  coproc_messenger_available (raw->messenger, NULL, NULL);
  mappings_before = count_mappings ();
  fds_before = test_count_open_fds ();

  for (guint i = 0; i < n; i++)
    {
      int fd = raw_append_passed (raw, NULL, g_variant_new_uint32 (i));

      g_assert_true (raw_flush_pumping (raw));
      close (fd);
    }
  /* Each read takes one frame with a descriptor. */
  while (coproc_messenger_available (raw->messenger, NULL, NULL) < n)
    ;

  mappings = count_mappings ();
  fds = test_count_open_fds ();
  g_test_message ("%u payloads in memfds queued: %d more mappings, %d more descriptors, %"
                  G_GUINT64_FORMAT " bytes counted", n, (int) (mappings - mappings_before),
                  (int) (fds - fds_before), coproc_messenger_queued_bytes (raw->messenger));
  /* Small payloads are copied out: none of them stays mapped. */
  g_assert_cmpuint (mappings, <=, mappings_before);
  g_assert_cmpuint (fds, <=, fds_before);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (raw->messenger, NULL, NULL,
                                                                       &error);

      g_assert_no_error (error);
      test_assert_variant (payload, g_variant_new_uint32 (i));
    }
}

/* A mapped payload counts against max-queued-bytes at the size of its
 * mapping, whole pages; one just under the floor is copied, counted at its
 * size, and maps nothing. */
static void
test_memfd_accounting (Raw           *raw,
                       gconstpointer  data)
{
  gsize mapped = COPROC_PAYLOAD_FD_MIN_MAP_SIZE + 3;   /* one byte into a new page */
  gsize page = sysconf (_SC_PAGESIZE);
  guint mappings_before;
  guint64 queued;
  int fd;

  raw_flush (raw);
  coproc_messenger_available (raw->messenger, NULL, NULL);
  mappings_before = count_mappings ();

  fd = raw_append_passed (raw, NULL, bytes_payload (COPROC_PAYLOAD_FD_MIN_MAP_SIZE - 1, 1));
  g_assert_true (raw_flush_pumping (raw));
  close (fd);
  g_assert_cmpuint (coproc_messenger_available (raw->messenger, NULL, NULL), ==, 1);
  queued = coproc_messenger_queued_bytes (raw->messenger);
  g_assert_cmpuint (queued, >=, COPROC_PAYLOAD_FD_MIN_MAP_SIZE - 1);
  g_assert_cmpuint (queued, <, COPROC_PAYLOAD_FD_MIN_MAP_SIZE + 1024);
  g_assert_cmpuint (count_mappings (), <=, mappings_before + 2);

  fd = raw_append_passed (raw, NULL, bytes_payload (mapped, 2));
  g_assert_true (raw_flush_pumping (raw));
  close (fd);
  g_assert_cmpuint (coproc_messenger_available (raw->messenger, NULL, NULL), ==, 2);
  queued = coproc_messenger_queued_bytes (raw->messenger) - queued;
  g_assert_cmpuint (queued, >=, (mapped + page - 1) / page * page);
  g_assert_cmpuint (queued, <, (mapped + page - 1) / page * page + 1024);

  for (guint i = 1; i <= 2; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (raw->messenger, NULL, NULL,
                                                                       &error);
      gsize size;
      const guint8 *bytes = g_variant_get_fixed_array (payload, &size, 1);

      g_assert_no_error (error);
      g_assert_cmpuint (size, ==, (i == 1 ? COPROC_PAYLOAD_FD_MIN_MAP_SIZE - 1 : mapped) - 3);
      g_assert_cmpuint (bytes[0], ==, i);
      g_assert_cmpuint (bytes[size - 1], ==, i);
    }
  g_assert_cmpuint (coproc_messenger_queued_bytes (raw->messenger), ==, 0);
}

/* A peer sends large payloads in memfds, and nobody takes them: the
 * messenger stops reading once it holds 128 mappings (and a few that were
 * read already), however little max-queued-bytes they use up; taking them
 * lets the rest in. */
static void
test_memfd_mapping_cap (Raw           *raw,
                        gconstpointer  data)
{
  guint n = 3 * COPROC_CHANNELS_MAX_MAPPINGS;
  guint mappings_before;
  guint sent = 0;
  guint received = 0;
  guint max_mappings = 0;
  guint max_queued = 0;
  guint holds = 0;
  int fd = -1;

  g_test_summary ("At most 128 queued payloads lie in mappings (and what was read with them): "
                  "past that, input is held, as for max-queued-bytes");

  raw_flush (raw);
  coproc_messenger_available (raw->messenger, NULL, NULL);
  mappings_before = count_mappings ();

  /* The kernel holds a few frames only, so that the messenger is what
   * holds the payloads back. */
  {
    int size = 4096;

    g_assert_cmpint (setsockopt (raw->peer, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), ==, 0);
  }

  while (received < n)
    {
      if (sent < n && raw->out->len == 0)
        {
          fd = raw_append_passed (raw, NULL, bytes_payload (COPROC_PAYLOAD_FD_MIN_MAP_SIZE,
                                                            (guint8) sent));
          sent++;
        }

      if (raw->out->len > 0 && !raw_flush_pumping (raw))
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GVariant) elsewhere = g_variant_ref_sink (g_variant_new_string ("elsewhere"));
          g_autoptr(GPtrArray) taken = NULL;
          guint queued = coproc_messenger_queue_size (raw->messenger, NULL);

          /* Held: the mappings are bounded, and a receive that would have
           * to read past the bound says why it cannot wait. */
          holds++;
          max_mappings = MAX (max_mappings, count_mappings () - mappings_before);
          max_queued = MAX (max_queued, queued);
          g_assert_cmpuint (queued, >=, COPROC_CHANNELS_MAX_MAPPINGS);
          g_assert_cmpuint (queued, <=, COPROC_CHANNELS_MAX_MAPPINGS + 64 + 8);
          g_assert_cmpuint (coproc_messenger_queued_bytes (raw->messenger), <,
                            coproc_messenger_get_max_queued_bytes (raw->messenger));
          g_assert_null (coproc_messenger_receive_blocking (raw->messenger, elsewhere, NULL,
                                                            &error));
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_QUEUE_FULL);
          g_assert_nonnull (strstr (error->message, "mapped"));

          taken = coproc_messenger_receive_available (raw->messenger, NULL, NULL);
          for (guint i = 0; i < taken->len; i++)
            {
              gsize size;
              const guint8 *bytes = g_variant_get_fixed_array (g_ptr_array_index (taken, i),
                                                               &size, 1);

              g_assert_cmpuint (bytes[size - 1], ==, (guint8) received);
              received++;
            }
        }

      /* Our copy of a descriptor that went. */
      if (fd >= 0 && raw->out_fd < 0)
        {
          close (fd);
          fd = -1;
        }
      if (sent == n && raw->out->len == 0)
        {
          g_autoptr(GPtrArray) taken = NULL;

          coproc_messenger_available (raw->messenger, NULL, NULL);
          taken = coproc_messenger_receive_available (raw->messenger, NULL, NULL);
          received += taken->len;
        }
    }

  g_test_message ("%u large payloads in memfds: input held %u times, at most %u queued and %u "
                  "more mappings", n, holds, max_queued, max_mappings);
  g_assert_cmpuint (holds, >=, 2);
  g_assert_cmpuint (max_mappings, <=, COPROC_CHANNELS_MAX_MAPPINGS + 64 + 8);
  g_assert_cmpuint (coproc_messenger_queued_bytes (raw->messenger), ==, 0);
}

/* 3: a send that waits while a special message is pending ------------------------ */

#define READ_AHEAD_BOUND (4 * 1024 * 1024)

typedef enum
{
  PENDING_CLOSE_REQUEST,
  PENDING_DROPPED_FRAME,
} PendingKind;

typedef struct
{
  int       peer;
  pid_t     host_tid;
  clockid_t host_clock;
  gsize     offered;       /* bytes the peer wrote after the special one */
  guint64   rss_grown;     /* the host's resident memory meanwhile */
  gboolean  host_slept;    /* after SHUT_WR, the host slept in poll() */
  gdouble   cpu_after_eof; /* host CPU seconds from SHUT_WR until then */
} Streamer;

static gdouble
clock_seconds (clockid_t clock)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (clock, &ts), ==, 0);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Whether the host, asleep in poll(), leaves what we wrote unread: it does
 * not poll for input. */
static gboolean
host_reads_nothing (Streamer *st)
{
  int before = 0;
  int after = 0;

  g_assert_cmpint (ioctl (st->peer, SIOCOUTQ, &before), ==, 0);
  if (before == 0 || !thread_sleeps_in_poll (st->host_tid))
    return FALSE;
  g_assert_cmpint (ioctl (st->peer, SIOCOUTQ, &after), ==, 0);

  return after == before && thread_sleeps_in_poll (st->host_tid);
}

static gpointer
streamer_thread (gpointer data)
{
  Streamer *st = data;
  gsize limit = (RUNNING_ON_VALGRIND ? 4 : 16) * READ_AHEAD_BOUND;
  g_autofree guint8 *junk = g_malloc0 (64 * 1024);
  guint64 rss_before;
  gdouble cpu_at_eof;

  /* The host's send waits for us to read, which we never do. */
  while (!thread_sleeps_in_poll (st->host_tid))
    g_thread_yield ();

  /* Stream bytes it can only keep unparsed, until it reads no more. */
  rss_before = test_proc_status_bytes ("VmRSS");
  while (st->offered < limit)
    {
      gssize n = send (st->peer, junk, 64 * 1024, MSG_DONTWAIT | MSG_NOSIGNAL);

      if (n > 0)
        st->offered += n;
      else if (host_reads_nothing (st))
        break;
      else
        g_thread_yield ();
    }
  {
    guint64 rss_after = test_proc_status_bytes ("VmRSS");

    st->rss_grown = rss_after > rss_before ? rss_after - rss_before : 0;
  }

  /* Our output ends. The host must sleep again, not spin until it
   * gives up: a second of its CPU time is more than enough to fall
   * asleep. */
  g_assert_cmpint (shutdown (st->peer, SHUT_WR), ==, 0);
  cpu_at_eof = clock_seconds (st->host_clock);
  while (!(st->host_slept = thread_sleeps_in_poll (st->host_tid)) &&
         clock_seconds (st->host_clock) - cpu_at_eof < 1.0)
    g_thread_yield ();
  st->cpu_after_eof = clock_seconds (st->host_clock) - cpu_at_eof;

  /* Gone: the host's send fails. */
  close (st->peer);
  return NULL;
}

/* While a close request (or a dropped frame) waits to be surfaced, parsing
 * stops; a send that waits for the peer still reads, unparsed, so that two
 * peers sending to each other never deadlock. That read went on without
 * bound (the host's memory grew with all the peer streamed), and once the
 * peer shut its output down, the send spun at 100 % CPU. */
static void
test_pending_special_read_ahead (Raw           *raw,
                                 gconstpointer  data)
{
  PendingKind kind = GPOINTER_TO_INT (data);
  g_autofree guint8 *big = g_malloc0 (1024 * 1024);
  g_autoptr(GVariant) payload = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING,
                                                                             big, 1024 * 1024,
                                                                             TRUE, NULL, NULL));
  g_autoptr(GError) error = NULL;
  Streamer st = { 0 };
  GThread *thread;
  guint sent = 0;
  guint64 ceiling;

  g_test_summary ("A send that waits while a special message is pending reads ahead at most "
                  "max-queued-bytes, and sleeps once the peer shut its output down");

  coproc_messenger_set_max_queued_bytes (raw->messenger, READ_AHEAD_BOUND);
  coproc_messenger_set_large_message_threshold (raw->messenger, 0);
  if (kind == PENDING_CLOSE_REQUEST)
    raw_append_frame (raw->out, COPROC_WIRE_KIND_CLOSE, NULL, NULL, FALSE);
  else
    raw_append_frame (raw->out, 9, NULL, g_variant_new_int32 (9), FALSE);  /* unknown kind */
  raw_flush (raw);

  /* The watch reads it and keeps it pending (a receive call would surface
   * it at once). */
  for (;;)
    {
      int queued = 0;

      g_assert_cmpint (ioctl (raw->peer, SIOCOUTQ, &queued), ==, 0);
      if (queued == 0)
        break;
      g_main_context_iteration (NULL, TRUE);
    }

  st.peer = raw->peer;
  raw->peer = -1;
  st.host_tid = gettid ();
  g_assert_cmpint (pthread_getcpuclockid (pthread_self (), &st.host_clock), ==, 0);
  thread = g_thread_new ("streamer", streamer_thread, &st);

  while (coproc_messenger_send_norequest (raw->messenger, payload, NULL, &error))
    sent++;
  g_thread_join (thread);

  g_test_message ("the host sent %u MiB; the peer offered %" G_GSIZE_FORMAT " bytes, the host's "
                  "memory grew by %" G_GUINT64_FORMAT "; after SHUT_WR it slept after %.3f s of CPU",
                  sent, st.offered, st.rss_grown, st.cpu_after_eof);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSED);

  /* What the host took in: up to the bound, and what the kernel holds. */
  g_assert_cmpuint (st.offered, <, READ_AHEAD_BOUND + 4 * 1024 * 1024);
  ceiling = 2 * READ_AHEAD_BOUND + 8 * 1024 * 1024;
  if (UNDER_ASAN || RUNNING_ON_VALGRIND)
    ceiling += 64 * READ_AHEAD_BOUND;
  g_assert_cmpuint (st.rss_grown, <, ceiling);

  g_assert_true (st.host_slept);
  g_assert_cmpfloat (st.cpu_after_eof, <, 1.0);

  /* The special message is still the next thing a receive sees. */
  g_clear_error (&error);
  g_assert_null (coproc_messenger_receive_blocking (raw->messenger, NULL, NULL, &error));
  if (kind == PENDING_CLOSE_REQUEST)
    g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
  else
    g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
}

/* 5: nesting ------------------------------------------------------------------- */

/* @n levels of "av" around @leaf (sunk). */
static GVariant *
nest_av (guint     n,
         GVariant *leaf)
{
  GVariant *value = leaf;

  for (guint i = 0; i < n; i++)
    {
      GVariant *child = g_variant_new_variant (value);

      value = g_variant_new_array (NULL, &child, 1);
    }

  return value;
}

/* @n variants around @leaf. */
static GVariant *
nest_v (guint     n,
        GVariant *leaf)
{
  GVariant *value = leaf;

  for (guint i = 0; i < n; i++)
    value = g_variant_new_variant (value);

  return value;
}

/* @n arrays around @leaf, each holding one element; with @empty, the
 * innermost array is empty instead (@leaf only gives its type). */
static GVariant *
nest_a (guint     n,
        GVariant *leaf,
        gboolean  empty)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (leaf);
  GVariant *value;

  if (empty)
    value = g_variant_new_array (g_variant_get_type (owned), NULL, 0);
  else
    value = g_variant_new_array (NULL, &owned, 1);

  for (guint i = 1; i < n; i++)
    value = g_variant_new_array (NULL, &value, 1);

  return value;
}

/* An "ax" of 256 numbers: too large for its size alone to bound its
 * depth. */
static GVariant *
many_numbers (void)
{
  gint64 numbers[256];

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    numbers[i] = (gint64) i * i;
  return g_variant_new_fixed_array (G_VARIANT_TYPE_INT64, numbers, G_N_ELEMENTS (numbers),
                                    sizeof (gint64));
}

/* What GLib itself says of @value's bytes as untrusted data, as a receiver
 * loads them. */
static gboolean
glib_accepts (GVariant *value)
{
  const char *type_string = g_variant_get_type_string (value);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) loaded = NULL;

  if (!g_variant_type_string_is_valid (type_string))
    return FALSE;

  bytes = g_bytes_new (g_variant_get_data (value), g_variant_get_size (value));
  loaded = g_variant_ref_sink (g_variant_new_from_bytes (g_variant_get_type (value), bytes, FALSE));
  return g_variant_is_normal_form (loaded);
}

/* Sends @value (sunk) as a payload, and as a channel id, from @a to @b:
 * either it is refused with G_IO_ERROR_INVALID_ARGUMENT, or it arrives
 * equal. Returns whether it was sent. */
static gboolean
send_nested (CoprocMessenger *a,
             CoprocMessenger *b,
             GVariant        *value)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) channel_error = NULL;
  gboolean sent;
  gboolean sent_on_channel;

  sent = coproc_messenger_send_norequest (a, owned, NULL, &error);
  sent_on_channel = coproc_messenger_send_norequest (a, g_variant_new_int32 (1), owned,
                                                     &channel_error);
  g_assert_cmpint (sent, ==, sent_on_channel);

  if (!sent)
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_error (channel_error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "nests deeper"));
      return FALSE;
    }

  {
    g_autoptr(GVariant) payload = NULL;
    g_autoptr(GVariant) on_channel = NULL;

    payload = coproc_messenger_receive_blocking (b, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_variant_equal (payload, owned));
    on_channel = coproc_messenger_receive_blocking (b, owned, NULL, &error);
    g_assert_no_error (error);
    test_assert_variant (on_channel, g_variant_new_int32 (1));
  }

  return TRUE;
}

/* Checks that @value (sunk) is sent exactly when GLib accepts its bytes as
 * untrusted data, as built (in GLib's tree form) and as serialized data
 * GLib trusts (whose accessors GLib limits by their own depth). */
static void
check_nesting (Pair     *pair,
               GVariant *value,
               guint    *n_sent,
               guint    *n_refused)
{
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  gboolean expected = glib_accepts (owned);
  g_autoptr(GVariant) serialized = NULL;

  g_test_message ("%s of %" G_GSIZE_FORMAT " bytes: GLib %s", g_variant_get_type_string (owned),
                  g_variant_get_size (owned), expected ? "accepts" : "refuses");

  g_assert_cmpint (send_nested (pair->resource, pair->process, owned), ==, expected);

  serialized = g_variant_new_from_data (g_variant_get_type (owned), g_variant_get_data (owned),
                                        g_variant_get_size (owned), TRUE,
                                        (GDestroyNotify) g_variant_unref, g_variant_ref (owned));
  g_assert_cmpint (send_nested (pair->resource, pair->process, g_steal_pointer (&serialized)), ==,
                   expected);

  (*(expected ? n_sent : n_refused))++;
}

/* The sender refuses exactly what the receiver would reject by depth: the
 * values GLib builds around the limit, each checked against GLib's own
 * verdict on their bytes as untrusted data. */
static void
test_depth_sender_agrees (Pair          *pair,
                          gconstpointer  data)
{
  guint n_sent = 0;
  guint n_refused = 0;

  g_test_summary ("A value GLib refuses to load as untrusted data because of its depth is "
                  "refused by the sender, with G_IO_ERROR_INVALID_ARGUMENT; everything else "
                  "around the limit is sent and arrives");

  for (guint n = 60; n <= 66; n++)
    {
      check_nesting (pair, nest_av (n, g_variant_new_int32 (1)), &n_sent, &n_refused);
      check_nesting (pair, nest_av (n, g_variant_new_array (G_VARIANT_TYPE_VARIANT, NULL, 0)),
                     &n_sent, &n_refused);
      check_nesting (pair, nest_av (n, g_variant_new ("(i)", 1)), &n_sent, &n_refused);
      check_nesting (pair, nest_av (n, g_variant_new ("()")), &n_sent, &n_refused);
      check_nesting (pair, nest_av (n, g_variant_new ("a{sv}", NULL)), &n_sent, &n_refused);
    }

  /* Variants in variants, and dictionaries of variants. */
  for (guint n = 124; n <= 130; n++)
    {
      check_nesting (pair, nest_v (n, g_variant_new_int32 (1)), &n_sent, &n_refused);
      check_nesting (pair, nest_v (n, g_variant_new ("()")), &n_sent, &n_refused);
      check_nesting (pair, nest_v (n - 64, nest_av (32, g_variant_new ("a{sv}", NULL))),
                     &n_sent, &n_refused);
    }

  /* Arrays of numbers in variants, as a Python pool sends its chunks:
   * their depth is their type's, however many numbers they hold. */
  for (guint n = 60; n <= 66; n++)
    check_nesting (pair, nest_av (n, many_numbers ()), &n_sent, &n_refused);

  /* Types with no variant inside: only the deepest GLib can build reach
   * the limit, and an empty array holds nothing that lies too deep. */
  for (guint n = 126; n <= 130; n++)
    {
      check_nesting (pair, nest_a (n, g_variant_new_byte (1), FALSE), &n_sent, &n_refused);
      check_nesting (pair, nest_a (n, g_variant_new_byte (1), TRUE), &n_sent, &n_refused);
    }

  /* A value taken from deep inside another: GLib's accessors hide what
   * lies too deep for where it was taken from, but a receiver loads it at
   * the top. */
  {
    g_autoptr(GVariant) outer = g_variant_ref_sink (nest_v (100, nest_av (30, g_variant_new_int32 (1))));
    GVariant *inner = g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_VARIANT,
                                                                   g_variant_get_data (outer),
                                                                   g_variant_get_size (outer),
                                                                   TRUE, NULL, NULL));

    for (guint i = 0; i < 100; i++)
      {
        GVariant *child = g_variant_get_variant (inner);

        g_variant_unref (inner);
        inner = child;
      }
    g_assert_true (g_variant_is_of_type (inner, G_VARIANT_TYPE ("av")));
    check_nesting (pair, inner, &n_sent, &n_refused);
    g_variant_unref (inner);
  }

  /* The boundary of the issue: 63 levels of "av" arrive, 64 are refused. */
  g_assert_true (send_nested (pair->resource, pair->process, nest_av (63, g_variant_new_int32 (1))));
  g_assert_false (send_nested (pair->resource, pair->process, nest_av (64, g_variant_new_int32 (1))));

  /* Both verdicts were met often enough to mean something. */
  g_test_message ("%u shapes sent, %u refused", n_sent, n_refused);
  g_assert_cmpuint (n_sent, >=, 15);
  g_assert_cmpuint (n_refused, >=, 15);

  /* Nothing was sent for the refused ones. */
  g_assert_cmpuint (coproc_messenger_available (pair->process, NULL, NULL), ==, 0);
}

/* What the sender refuses is what a receiver drops: written by hand, the
 * 64 levels of "av" arrive as a malformed body. */
static void
test_depth_receiver_rule (Raw           *raw,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) payload = NULL;

  raw_append_frame (raw->out, COPROC_WIRE_KIND_NOREQUEST, NULL,
                    nest_av (64, g_variant_new_int32 (1)), FALSE);
  raw_append_frame (raw->out, COPROC_WIRE_KIND_NOREQUEST, NULL,
                    nest_av (63, g_variant_new_int32 (1)), FALSE);
  raw_flush (raw);

  payload = coproc_messenger_receive_blocking (raw->messenger, NULL, NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, COPROC_ERROR, COPROC_ERROR_PROTOCOL);
  g_clear_error (&error);

  payload = coproc_messenger_receive_blocking (raw->messenger, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (payload, G_VARIANT_TYPE ("av")));
}

/* 6: sends that wait for a peer that reads nothing -------------------------------- */

/* Reads everything the host writes until it hangs up, checking that the
 * stream is whole: the handshake, then frames, each complete. */
typedef struct
{
  int   peer;
  guint n_frames;        /* data frames read */
  gsize payload_size;    /* the encoded size each must have */
} Reader;

static gboolean
read_exactly (int     fd,
              guint8 *buf,
              gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = read (fd, buf + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          /* Only between frames may the stream end. */
          g_assert_cmpuint (done, ==, 0);
          return FALSE;
        }
      done += n;
    }

  return TRUE;
}

static gpointer
reader_thread (gpointer data)
{
  Reader *r = data;
  guint8 handshake[COPROC_WIRE_HANDSHAKE_SIZE];
  guint8 raw_header[COPROC_WIRE_HEADER_SIZE];
  g_autofree guint8 *body = NULL;

  g_assert_true (read_exactly (r->peer, handshake, sizeof handshake));
  while (read_exactly (r->peer, raw_header, sizeof raw_header))
    {
      g_autoptr(GError) error = NULL;
      CoprocWireHeader header;
      gsize body_size;

      g_assert_true (coproc_wire_read_header (raw_header, &header, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (header.kind, ==, COPROC_WIRE_KIND_NOREQUEST);
      g_assert_cmpuint (header.payload_size, ==, r->payload_size);
      body_size = coproc_wire_frame_size (&header) - COPROC_WIRE_HEADER_SIZE;
      body = g_realloc (body, body_size);
      g_assert_true (read_exactly (r->peer, body, body_size));
      r->n_frames++;
    }

  return NULL;
}

typedef struct
{
  pid_t         host_tid;
  GCancellable *cancellable;
} Canceller;

static gpointer
canceller_thread (gpointer data)
{
  Canceller *c = data;

  /* Once the host's send sleeps, waiting for a peer that reads nothing. */
  while (!thread_sleeps_in_poll (c->host_tid))
    g_thread_yield ();
  g_cancellable_cancel (c->cancellable);
  return NULL;
}

typedef enum
{
  SEND_INLINE,      /* frames of 1 MiB, copied into the write buffer */
  SEND_DIRECT,      /* frames of 12 MiB, written from the payload's memory */
} SendWay;

static GVariant *
send_way_payload (SendWay way)
{
  gsize size = way == SEND_DIRECT ? 12 * 1024 * 1024 : 1024 * 1024;

  return g_variant_ref_sink (bytes_payload (size + 3, 7));
}

/* The peer reads at last; every message the host said it sent arrives
 * whole, and nothing else. */
static void
check_stream_whole (Raw      *raw,
                    Reader   *reader,
                    GVariant *payload,
                    guint     n_sent)
{
  g_autoptr(GError) error = NULL;
  GThread *thread;

  reader->peer = raw->peer;
  reader->payload_size = coproc_wire_variant_size (payload);
  thread = g_thread_new ("reader", reader_thread, reader);

  coproc_messenger_set_send_timeout (raw->messenger, 0);
  g_assert_true (coproc_messenger_flush (raw->messenger, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (coproc_messenger_close (raw->messenger, &error));
  g_thread_join (thread);

  g_assert_cmpuint (reader->n_frames, ==, n_sent);
}

/* A send to a peer that reads nothing can be cancelled from another thread:
 * it fails with G_IO_ERROR_CANCELLED, nothing of its message was sent (or,
 * when part of it had left, all of it goes), and the messenger goes on. */
static void
test_send_cancelled (Raw           *raw,
                     gconstpointer  data)
{
  SendWay way = GPOINTER_TO_INT (data);
  g_autoptr(GVariant) payload = send_way_payload (way);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Canceller canceller = { gettid (), cancellable };
  Reader reader = { 0 };
  GThread *thread;
  guint n_sent = 0;

  g_test_summary ("coproc_messenger_send_cancellable() stops waiting when cancelled, and "
                  "never sends half a message");

  coproc_messenger_set_large_message_threshold (raw->messenger, 0);
  raw_flush (raw);

  thread = g_thread_new ("canceller", canceller_thread, &canceller);
  while (coproc_messenger_send_cancellable (raw->messenger, COPROC_MESSAGE_KIND_NOREQUEST,
                                            payload, NULL, cancellable, &error))
    n_sent++;
  g_thread_join (thread);

  g_test_message ("%u messages sent before the cancelled one", n_sent);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (coproc_messenger_is_closed (raw->messenger));
  g_assert_cmpuint (coproc_messenger_messages_sent (raw->messenger, NULL), ==, n_sent);

  /* Still usable: once the peer reads, a send gets through. */
  check_stream_whole (raw, &reader, payload, n_sent);
}

/* With send-timeout, a send to a peer that reads nothing gives up in time;
 * so does a flush, which keeps its output. */
static void
test_send_timeout (Raw           *raw,
                   gconstpointer  data)
{
  SendWay way = GPOINTER_TO_INT (data);
  g_autoptr(GVariant) payload = send_way_payload (way);
  g_autoptr(GError) error = NULL;
  Reader reader = { 0 };
  gint64 started;
  guint n_sent = 0;

  g_test_summary ("send-timeout bounds the wait of a send and of a flush");

  coproc_messenger_set_large_message_threshold (raw->messenger, 0);
  coproc_messenger_set_send_timeout (raw->messenger, 100);
  g_assert_cmpuint (coproc_messenger_get_send_timeout (raw->messenger), ==, 100);
  raw_flush (raw);

  for (;;)
    {
      started = g_get_monotonic_time ();
      if (!coproc_messenger_send_norequest (raw->messenger, payload, NULL, &error))
        break;
      n_sent++;
    }

  g_test_message ("%u messages sent before the one that timed out", n_sent);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (error->message, "100 ms"));
  /* It did wait that long for the peer. */
  g_assert_cmpint (g_get_monotonic_time () - started, >=, 100 * 1000);
  g_clear_error (&error);

  /* A flush with output buffered waits as long, and keeps it. */
  if (coproc_transport_has_output (_coproc_messenger_get_private (raw->messenger)->transport))
    {
      g_assert_false (coproc_messenger_flush (raw->messenger, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
      g_clear_error (&error);
    }

  g_assert_false (coproc_messenger_is_closed (raw->messenger));
  check_stream_whole (raw, &reader, payload, n_sent);
}

/* 4: payloads in memfds count against what may be on its way ----------------------- */

/* The peer reads nothing; the host sends payloads that go in memfds. Each
 * send returned at once: thousands of descriptors and gigabytes of shared
 * memory held for a peer that never reads. They count against the
 * high-water mark at their payload's size, and at most 32 descriptors may
 * be on their way; past that, a send waits like one of bytes (here until
 * it is cancelled). */
static void
test_memfd_outgoing (Raw           *raw,
                     gconstpointer  data)
{
  gsize size = GPOINTER_TO_SIZE (data);
  g_autoptr(GVariant) payload = g_variant_ref_sink (bytes_payload (size, 5));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Canceller canceller = { gettid (), cancellable };
  Reader reader = { 0 };
  GThread *thread;
  guint fds_before;
  guint n_sent = 0;
  guint max_sent;

  g_test_summary ("Payloads passed in memfds count against the high-water mark at their size, "
                  "and at most 64 descriptors are on their way to the peer");

  /* Every payload of this size goes in a memfd. */
  coproc_messenger_set_large_message_threshold (raw->messenger, size - 1);
  raw_flush (raw);
  fds_before = test_count_open_fds ();

  thread = g_thread_new ("canceller", canceller_thread, &canceller);
  while (coproc_messenger_send_cancellable (raw->messenger, COPROC_MESSAGE_KIND_NOREQUEST,
                                            payload, NULL, cancellable, &error))
    n_sent++;
  g_thread_join (thread);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The first always goes; then what fits under both bounds. */
  max_sent = MAX (1, MIN (COPROC_TRANSPORT_SEND_HIGH_WATER / size,
                          COPROC_TRANSPORT_MAX_FDS_IN_FLIGHT));
  g_test_message ("payloads of %" G_GSIZE_FORMAT " bytes: %u sends returned before one had to "
                  "wait (at most %u); %d more descriptors open", size, n_sent, max_sent,
                  (int) (test_count_open_fds () - fds_before));
  g_assert_cmpuint (n_sent, >=, 1);
  g_assert_cmpuint (n_sent, <=, max_sent);
  g_assert_cmpuint (test_count_open_fds (), <=, fds_before);

  /* Once the peer reads, all of them arrive. */
  check_stream_whole (raw, &reader, payload, n_sent);
}

/* 7: errors from the peer ------------------------------------------------------- */

/* Receives the error the next receive call fails with. */
static GError *
receive_error (CoprocMessenger *messenger)
{
  GError *error = NULL;
  g_autoptr(GVariant) payload = coproc_messenger_receive_blocking (messenger, NULL, NULL, &error);

  g_assert_null (payload);
  g_assert_nonnull (error);
  return error;
}

static void
domain_budget_child (void)
{
  guint interned = 0;
  guint refused = 0;

  /* A domain this process knows. */
  g_assert_cmpuint (G_IO_ERROR, !=, 0);

  /* Connection after connection, each peer names 100 new domains: the
   * process interns COPROC_WIRE_MAX_REMOTE_DOMAINS in all, however often
   * the host reconnects. */
  for (guint connection = 0; connection < 5; connection++)
    {
      Raw raw;

      raw_setup (&raw, NULL);
      for (guint i = 0; i < 100; i++)
        {
          g_autofree char *domain = g_strdup_printf ("coproc-bounds-%u-%u-quark", connection, i);
          g_autoptr(GVariant) body = g_variant_ref_sink (g_variant_new ("(sis)", domain, 7, "new"));

          raw_append_frame (raw.out, COPROC_WIRE_KIND_ERROR, NULL, body, FALSE);
        }
      raw_append_frame (raw.out, COPROC_WIRE_KIND_ERROR, NULL,
                        g_variant_new ("(sis)", "g-io-error-quark", G_IO_ERROR_NOT_FOUND, "known"),
                        FALSE);
      raw_flush (&raw);

      for (guint i = 0; i < 100; i++)
        {
          g_autofree char *domain = g_strdup_printf ("coproc-bounds-%u-%u-quark", connection, i);
          g_autoptr(GError) error = receive_error (raw.messenger);

          if (error->domain == COPROC_ERROR)
            {
              g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
              g_assert_nonnull (strstr (error->message, domain));
              g_assert_cmpuint (g_quark_try_string (domain), ==, 0);
              refused++;
            }
          else
            {
              g_assert_cmpstr (g_quark_to_string (error->domain), ==, domain);
              g_assert_cmpint (error->code, ==, 7);
              interned++;
            }
        }

      /* Known domains are never limited. */
      {
        g_autoptr(GError) error = receive_error (raw.messenger);

        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      }
      raw_teardown (&raw, NULL);
    }

  g_assert_cmpuint (interned, ==, COPROC_WIRE_MAX_REMOTE_DOMAINS);
  g_assert_cmpuint (refused, ==, 500 - COPROC_WIRE_MAX_REMOTE_DOMAINS);
}

/* The bound on error domains interned for peers holds for the process, not
 * per connection (in a process of its own, to count from zero). */
static void
test_errors_domain_budget (void)
{
  if (g_test_subprocess ())
    {
      domain_budget_child ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* A peer cannot make this side believe its own connection or worker
 * failed: coproc's codes, but a close request, arrive as what they are. */
static void
test_errors_own_codes (Raw           *raw,
                       gconstpointer  data)
{
  for (gint code = COPROC_ERROR_CLOSE_REQUESTED; code <= COPROC_ERROR_QUEUE_FULL; code++)
    raw_append_frame (raw->out, COPROC_WIRE_KIND_ERROR, NULL,
                      g_variant_new ("(sis)", "coproc-error-quark", code, "from the peer"), FALSE);
  raw_flush (raw);

  for (gint code = COPROC_ERROR_CLOSE_REQUESTED; code <= COPROC_ERROR_QUEUE_FULL; code++)
    {
      g_autoptr(GError) error = receive_error (raw->messenger);

      if (code == COPROC_ERROR_CLOSE_REQUESTED)
        g_assert_error (error, COPROC_ERROR, COPROC_ERROR_CLOSE_REQUESTED);
      else
        {
          g_assert_error (error, COPROC_ERROR, COPROC_ERROR_MESSAGE_NOT_RECOGNIZED);
          g_assert_nonnull (strstr (error->message, "from the peer"));
        }
    }
  g_assert_false (coproc_messenger_is_closed (raw->messenger));
}

/* Registration ----------------------------------------------------------------- */

static void
add_raw (const char *name,
         void      (*func) (Raw *, gconstpointer))
{
  g_autofree char *path = g_strdup_printf ("/Coproc/Bounds/%s", name);

  g_test_add (path, Raw, NULL, raw_setup, func, raw_teardown);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  test_add_pair ("Bounds", "depth/sender-agrees", COPROC_TYPE_PRIORITY_MESSENGER,
                 test_depth_sender_agrees);
  add_raw ("depth/receiver-rule", test_depth_receiver_rule);
  for (SendWay way = SEND_INLINE; way <= SEND_DIRECT; way++)
    {
      const char *name = way == SEND_INLINE ? "inline" : "direct";
      g_autofree char *cancelled = g_strdup_printf ("/Coproc/Bounds/send-waits/cancelled/%s", name);
      g_autofree char *timeout = g_strdup_printf ("/Coproc/Bounds/send-waits/timeout/%s", name);

      g_test_add (cancelled, Raw, GINT_TO_POINTER (way), raw_setup, test_send_cancelled,
                  raw_teardown);
      g_test_add (timeout, Raw, GINT_TO_POINTER (way), raw_setup, test_send_timeout, raw_teardown);
    }
  add_raw ("memory/small-messages-kept", test_pinned_small_messages);
  add_raw ("memfd/tiny-payloads", test_memfd_tiny_payloads);
  add_raw ("memfd/accounting", test_memfd_accounting);
  add_raw ("memfd/mapping-cap", test_memfd_mapping_cap);
  g_test_add ("/Coproc/Bounds/memfd/outgoing-bytes", Raw, GSIZE_TO_POINTER (1024 * 1024),
              raw_setup, test_memfd_outgoing, raw_teardown);
  g_test_add ("/Coproc/Bounds/memfd/outgoing-descriptors", Raw, GSIZE_TO_POINTER (8 * 1024),
              raw_setup, test_memfd_outgoing, raw_teardown);
  g_test_add ("/Coproc/Bounds/send-waits/after-close-request", Raw,
              GINT_TO_POINTER (PENDING_CLOSE_REQUEST), raw_setup,
              test_pending_special_read_ahead, raw_teardown);
  g_test_add ("/Coproc/Bounds/send-waits/after-dropped-frame", Raw,
              GINT_TO_POINTER (PENDING_DROPPED_FRAME), raw_setup,
              test_pending_special_read_ahead, raw_teardown);
  g_test_add_func ("/Coproc/Bounds/errors/domain-budget", test_errors_domain_budget);
  add_raw ("errors/own-codes", test_errors_own_codes);

  return g_test_run ();
}
