/* coproc-soak.c: millions of messages each way, accounted for exactly
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A host and a real worker process (a function worker of this program)
 * each send N data messages over 64 channels (the default channel and 63
 * others) with random priorities, about half of them requests, and each
 * replies to every request of the other as it takes it; everything is
 * interleaved. Payloads carry their channel and a per-channel sequence
 * number, and now and then padding of up to 4 KiB, or of 2 MiB (passed in a
 * sealed memfd). Each side checks that:
 *
 *  - nothing is lost: every channel gets exactly the messages the peer sent
 *    on it (each side replays the other's random choices to know them);
 *  - nothing is duplicated, and order is kept: within a channel and a
 *    priority, sequence numbers strictly increase, for data and replies;
 *    each batch a receive call returns comes in priority order;
 *  - payloads are intact, and the priority and kind of every message on the
 *    default channel are what was sent;
 *  - the counters are exact on every channel: remaining, requests_sent,
 *    replies_received, messages_sent, messages_received, queue_size.
 *
 * Usage: coproc-soak [--full] [--messages=N] [--seed=S] [--multi] [GTest options]
 *   --full        N = 10,000,000 (each way); the default is 100,000 (20,000
 *                 under valgrind)
 *   --messages=N  N data messages each way
 *   --seed=S      the seed of both sides' random choices (default 2)
 *   --multi       CoprocMultiMessenger (FIFO per channel) on both sides
 */

#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
# include <valgrind/valgrind.h>
#else
# define RUNNING_ON_VALGRIND 0
#endif

#include <coproc.h>

#include "coproc-test-util.h"

#define N_CHANNELS      64
#define N_PRIORITIES    4
#define SEND_BATCH      32
#define HUGE_PADDING    (2 * 1024 * 1024)
#define DEFAULT_MESSAGES 100000

static const gdouble priorities[N_PRIORITIES] = { -1.0, 0.0, 2.5, INFINITY };

typedef enum
{
  TAG_NOREQUEST,
  TAG_REQUEST,
  TAG_REPLY,
} Tag;

typedef enum
{
  SIDE_HOST,
  SIDE_WORKER,
} Side;

/* Options, shared by host and worker through the environment. */
static guint64  opt_messages = DEFAULT_MESSAGES;
static guint32  opt_seed = 2;
static gboolean opt_multi;

/* What a message is, from its sender, channel and sequence number. */
static guint64
mix (Side    side,
     guint   channel,
     guint64 seq)
{
  guint64 z = seq * 0x9e3779b97f4a7c15ull + ((guint64) channel << 40) + side + 1;

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static gboolean
hash_is_request (guint64 h)
{
  return (h & 1) != 0;
}

static guint
hash_priority (guint64 h)
{
  return (h >> 1) % N_PRIORITIES;
}

static gsize
hash_padding (guint64 h)
{
  guint64 r = (h >> 8) % 100000;

  if (r == 0)
    return HUGE_PADDING;
  if (r < 1000)
    return 65 + (h >> 32) % 4032;
  if (r < 10000)
    return 1 + (h >> 32) % 64;
  return 0;
}

static guint8
padding_byte (guint   channel,
              guint64 seq,
              gsize   j)
{
  return (guint8) (seq + j * 7 + channel);
}

typedef struct
{
  CoprocMessenger *messenger;
  Side             side;
  GVariant        *channels[N_CHANNELS];   /* owned; [0] is NULL, the default channel */

  /* What this side sends. */
  GRand           *rand;
  guint64          sent;
  guint64          next_seq[N_CHANNELS];
  guint64          data_sent[N_CHANNELS];
  guint64          requests_sent[N_CHANNELS];
  guint64          replies_sent[N_CHANNELS];

  /* What the peer sends. */
  guint64          peer_expected[N_CHANNELS];
  guint64          peer_received[N_CHANNELS];
  guint64          replies_received[N_CHANNELS];
  gint64           last_data[N_CHANNELS][N_PRIORITIES];
  gint64           last_reply[N_CHANNELS][N_PRIORITIES];
  gint64           last_any[N_CHANNELS];   /* for CoprocMultiMessenger: FIFO per channel */

  guint64          bytes_received;
  guint64          peak_queued;            /* queued_bytes seen before draining */
  guint64          messages_checked;       /* taken as CoprocMessage, kind and priority checked */
  guint64          huge_received;
} Peer;

static Side
other_side (Side side)
{
  return side == SIDE_HOST ? SIDE_WORKER : SIDE_HOST;
}

static void
peer_init (Peer            *peer,
           CoprocMessenger *messenger,
           Side             side)
{
  g_autoptr(GRand) replay = NULL;

  memset (peer, 0, sizeof *peer);
  peer->messenger = messenger;
  peer->side = side;
  peer->rand = g_rand_new_with_seed (opt_seed * 2 + side);

  for (guint c = 1; c < N_CHANNELS; c++)
    peer->channels[c] = g_variant_ref_sink (g_variant_new_int32 (c));

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      peer->last_any[c] = -1;
      for (guint p = 0; p < N_PRIORITIES; p++)
        peer->last_data[c][p] = peer->last_reply[c][p] = -1;
    }

  /* The peer's channel choices, replayed. */
  replay = g_rand_new_with_seed (opt_seed * 2 + other_side (side));
  for (guint64 i = 0; i < opt_messages; i++)
    peer->peer_expected[g_rand_int_range (replay, 0, N_CHANNELS)]++;
}

static void
peer_clear (Peer *peer)
{
  for (guint c = 0; c < N_CHANNELS; c++)
    g_clear_pointer (&peer->channels[c], g_variant_unref);
  g_clear_pointer (&peer->rand, g_rand_free);
}

static GVariant *
make_payload (Tag      tag,
              guint    channel,
              guint64  seq,
              gsize    padding)
{
  GVariant *bytes;

  if (padding == 0)
    bytes = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, NULL, 0, 1);
  else
    {
      guint8 *data = g_malloc (padding);

      for (gsize j = 0; j < padding; j++)
        data[j] = padding_byte (channel, seq, j);
      bytes = g_variant_new_from_data (G_VARIANT_TYPE_BYTESTRING, data, padding, TRUE,
                                       g_free, data);
    }

  return g_variant_new ("(yqt@ay)", (guint8) tag, (guint16) channel, seq, bytes);
}

static void
send_one (Peer *peer)
{
  g_autoptr(GError) error = NULL;
  guint c = g_rand_int_range (peer->rand, 0, N_CHANNELS);
  guint64 seq = peer->next_seq[c]++;
  guint64 h = mix (peer->side, c, seq);
  gboolean request = hash_is_request (h);

  coproc_messenger_send_with_priority (peer->messenger,
                                       request ? COPROC_MESSAGE_KIND_REQUEST
                                               : COPROC_MESSAGE_KIND_NOREQUEST,
                                       make_payload (request ? TAG_REQUEST : TAG_NOREQUEST, c, seq,
                                                     hash_padding (h)),
                                       peer->channels[c], priorities[hash_priority (h)], &error);
  g_assert_no_error (error);

  peer->sent++;
  peer->data_sent[c]++;
  if (request)
    peer->requests_sent[c]++;
}

static void
check_padding (GVariant *bytes,
               guint     channel,
               guint64   seq,
               gsize     expected)
{
  gsize size;
  const guint8 *data = g_variant_get_fixed_array (bytes, &size, 1);
  gsize step = expected > 4096 ? 4093 : 1;

  g_assert_cmpuint (size, ==, expected);
  for (gsize j = 0; j < size; j += step)
    g_assert_cmpuint (data[j], ==, padding_byte (channel, seq, j));
  if (size > 0)
    g_assert_cmpuint (data[size - 1], ==, padding_byte (channel, seq, size - 1));
}

/* Checks one message taken from channel @c; @message is NULL when only the
 * payload was taken. Replies to requests as it goes. */
static void
handle (Peer          *peer,
        guint          c,
        GVariant      *payload,
        CoprocMessage *message)
{
  g_autoptr(GVariant) bytes = NULL;
  guint8 tag;
  guint16 channel;
  guint64 seq;
  guint64 h;
  guint p;

  g_assert_true (g_variant_is_of_type (payload, G_VARIANT_TYPE ("(yqtay)")));
  g_variant_get (payload, "(yqt@ay)", &tag, &channel, &seq, &bytes);
  g_assert_cmpuint (channel, ==, c);
  peer->bytes_received += g_variant_get_size (payload);

  if (tag == TAG_REPLY)
    {
      /* A reply to one of ours: a request we sent, once, in order. */
      h = mix (peer->side, c, seq);
      p = hash_priority (h);
      g_assert_cmpuint (seq, <, peer->next_seq[c]);
      g_assert_true (hash_is_request (h));
      g_assert_cmpuint (g_variant_get_size (bytes), ==, 0);
      if (!opt_multi)
        g_assert_cmpint (peer->last_reply[c][p], <, (gint64) seq);
      peer->last_reply[c][p] = seq;
      peer->replies_received[c]++;

      if (message != NULL)
        {
          g_assert_true (coproc_message_get_is_reply (message));
          g_assert_false (coproc_message_get_request_reply (message));
        }
    }
  else
    {
      /* The peer's data: what it sent on this channel, once, in order. */
      h = mix (other_side (peer->side), c, seq);
      p = hash_priority (h);
      g_assert_cmpuint (tag, ==, hash_is_request (h) ? TAG_REQUEST : TAG_NOREQUEST);
      g_assert_cmpuint (seq, <, peer->peer_expected[c]);
      check_padding (bytes, c, seq, hash_padding (h));
      if (hash_padding (h) == HUGE_PADDING)
        peer->huge_received++;
      if (opt_multi)
        {
          g_assert_cmpint (peer->last_any[c], <, (gint64) seq);
          peer->last_any[c] = seq;
        }
      else
        g_assert_cmpint (peer->last_data[c][p], <, (gint64) seq);
      peer->last_data[c][p] = seq;
      peer->peer_received[c]++;

      if (message != NULL)
        {
          g_assert_cmpint (coproc_message_get_request_reply (message), ==, tag == TAG_REQUEST);
          g_assert_false (coproc_message_get_is_reply (message));
        }

      if (tag == TAG_REQUEST)
        {
          g_autoptr(GError) error = NULL;

          coproc_messenger_send_with_priority (peer->messenger, COPROC_MESSAGE_KIND_REPLY,
                                               make_payload (TAG_REPLY, c, seq, 0),
                                               peer->channels[c], priorities[p], &error);
          g_assert_no_error (error);
          peer->replies_sent[c]++;
        }
    }

  if (message != NULL)
    {
      g_assert_cmpfloat (coproc_message_get_priority (message), ==, priorities[p]);
      peer->messages_checked++;
    }
}

/* Takes everything queued on every channel; returns how many messages. */
static guint
drain (Peer *peer)
{
  g_autoptr(GError) error = NULL;
  guint taken = 0;

  /* Reads whatever has arrived into the queues. */
  coproc_messenger_available (peer->messenger, NULL, &error);
  g_assert_no_error (error);
  peer->peak_queued = MAX (peer->peak_queued, coproc_messenger_queued_bytes (peer->messenger));

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      if (coproc_messenger_queue_size (peer->messenger, peer->channels[c]) == 0)
        continue;

      if (c == 0)
        {
          /* The default channel one message at a time, as CoprocMessage. */
          while (coproc_messenger_queue_size (peer->messenger, NULL) > 0)
            {
              g_autoptr(CoprocMessage) message = NULL;

              message = coproc_messenger_receive_message_blocking (peer->messenger, NULL, NULL,
                                                                   &error);
              g_assert_no_error (error);
              handle (peer, 0, coproc_message_get_payload (message), message);
              taken++;
            }
        }
      else
        {
          g_autoptr(GPtrArray) payloads = NULL;
          gdouble last_priority = -INFINITY;

          payloads = coproc_messenger_receive_available (peer->messenger, peer->channels[c],
                                                         &error);
          g_assert_no_error (error);
          for (guint i = 0; i < payloads->len; i++)
            {
              GVariant *payload = g_ptr_array_index (payloads, i);
              guint8 tag;
              guint16 channel;
              guint64 seq;
              gdouble priority;

              /* A batch comes out of a priority queue in priority order. */
              g_variant_get (payload, "(yqt@ay)", &tag, &channel, &seq, NULL);
              priority = priorities[hash_priority (mix (tag == TAG_REPLY ? peer->side
                                                                         : other_side (peer->side),
                                                        channel, seq))];
              if (!opt_multi)
                g_assert_cmpfloat (priority, >=, last_priority);
              last_priority = priority;

              handle (peer, c, payload, NULL);
            }
          taken += payloads->len;
        }
    }

  return taken;
}

static gboolean
peer_done (Peer *peer)
{
  if (peer->sent < opt_messages)
    return FALSE;

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      if (peer->peer_received[c] < peer->peer_expected[c] ||
          peer->replies_received[c] < peer->requests_sent[c])
        return FALSE;
    }

  return TRUE;
}

static void
peer_run (Peer *peer)
{
  g_autoptr(GError) error = NULL;

  while (!peer_done (peer))
    {
      guint taken;

      for (guint i = 0; i < SEND_BATCH && peer->sent < opt_messages; i++)
        send_one (peer);

      taken = drain (peer);

      /* All sent, nothing arrived: wait for the peer. */
      if (taken == 0 && peer->sent == opt_messages && !peer_done (peer))
        {
          coproc_messenger_await_available (peer->messenger, NULL, &error);
          g_assert_no_error (error);
        }
    }

  /* The last replies must reach the peer before it can finish. A peer
   * that finished first and hung up needed nothing more: the worker's exit
   * status says whether everything arrived. */
  if (!coproc_messenger_flush (peer->messenger, NULL, &error))
    {
      CoprocError hangup = peer->side == SIDE_HOST ? COPROC_ERROR_WORKER_DIED
                                                   : COPROC_ERROR_CLOSED;

      g_assert_true (coproc_messenger_is_closed (peer->messenger));
      g_assert_error (error, COPROC_ERROR, (gint) hangup);
    }
}

/* The counters agree exactly with what was sent and taken. */
static void
peer_check (Peer *peer)
{
  CoprocMessenger *m = peer->messenger;
  guint64 data = 0;
  guint64 peer_data = 0;

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      GVariant *channel = peer->channels[c];

      g_assert_cmpuint (peer->peer_received[c], ==, peer->peer_expected[c]);
      g_assert_cmpuint (peer->replies_received[c], ==, peer->requests_sent[c]);
      g_assert_cmpuint (coproc_messenger_remaining (m, channel), ==, 0);
      g_assert_cmpuint (coproc_messenger_requests_sent (m, channel), ==, peer->requests_sent[c]);
      g_assert_cmpuint (coproc_messenger_replies_received (m, channel), ==,
                        peer->requests_sent[c]);
      g_assert_cmpuint (coproc_messenger_messages_sent (m, channel), ==,
                        peer->data_sent[c] + peer->replies_sent[c]);
      g_assert_cmpuint (coproc_messenger_messages_received (m, channel), ==,
                        peer->peer_received[c] + peer->replies_received[c]);
      g_assert_cmpuint (coproc_messenger_queue_size (m, channel), ==, 0);

      data += peer->data_sent[c];
      peer_data += peer->peer_received[c];
    }

  g_assert_cmpuint (data, ==, opt_messages);
  g_assert_cmpuint (peer_data, ==, opt_messages);
}

static guint64
sum (const guint64 *values)
{
  guint64 total = 0;

  for (guint c = 0; c < N_CHANNELS; c++)
    total += values[c];

  return total;
}

/* The worker --------------------------------------------------------------- */

static int
soak_worker (CoprocMessenger *messenger,
             gpointer         user_data)
{
  Peer peer;

  opt_messages = g_ascii_strtoull (g_getenv ("COPROC_SOAK_MESSAGES"), NULL, 10);
  opt_seed = g_ascii_strtoull (g_getenv ("COPROC_SOAK_SEED"), NULL, 10);
  opt_multi = g_getenv ("COPROC_SOAK_MULTI") != NULL;

  peer_init (&peer, messenger, SIDE_WORKER);
  peer_run (&peer);
  peer_check (&peer);
  peer_clear (&peer);

  return 0;
}

/* The host ----------------------------------------------------------------- */

typedef struct
{
  gboolean done;
  gint     status;
} ExitState;

static void
exited_cb (CoprocWorkerResource *resource,
           gint                  status,
           ExitState            *state)
{
  state->done = TRUE;
  state->status = status;
}

static void
test_soak (void)
{
  g_autoptr(CoprocWorkerResource) resource = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *messages = g_strdup_printf ("%" G_GUINT64_FORMAT, opt_messages);
  g_autofree char *seed = g_strdup_printf ("%u", opt_seed);
  GType type = opt_multi ? COPROC_TYPE_MULTI_MESSENGER : COPROC_TYPE_PRIORITY_MESSENGER;
  ExitState state = { 0 };
  Peer peer;
  gint64 start;
  gdouble seconds;
  guint64 total;

  resource = coproc_worker_resource_new_for_function ("soak-peer", type);
  coproc_worker_resource_setenv (resource, "COPROC_SOAK_MESSAGES", messages);
  coproc_worker_resource_setenv (resource, "COPROC_SOAK_SEED", seed);
  if (opt_multi)
    coproc_worker_resource_setenv (resource, "COPROC_SOAK_MULTI", "1");
  g_signal_connect (resource, "exited", G_CALLBACK (exited_cb), &state);

  start = g_get_monotonic_time ();
  coproc_worker_resource_start (resource, &error);
  g_assert_no_error (error);

  peer_init (&peer, coproc_worker_resource_get_messenger (resource), SIDE_HOST);
  peer_run (&peer);

  /* The worker checks its own side, then exits: 0 when all was right. */
  while (!state.done)
    g_main_context_iteration (NULL, TRUE);
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_true (WIFEXITED (state.status));
  g_assert_cmpint (WEXITSTATUS (state.status), ==, 0);

  peer_check (&peer);

  total = 2 * opt_messages + sum (peer.replies_sent) + sum (peer.replies_received);
  g_test_message ("%s: %" G_GUINT64_FORMAT " data messages each way over %d channels; "
                  "host to worker %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                  " replies; worker to host %" G_GUINT64_FORMAT " requests, %" G_GUINT64_FORMAT
                  " replies; %" G_GUINT64_FORMAT " messages in all in %.1f s (%.0f messages/s); "
                  "%" G_GUINT64_FORMAT " MiB received by the host, %" G_GUINT64_FORMAT
                  " payloads of 2 MiB (passed in memfds), %" G_GUINT64_FORMAT
                  " messages checked as CoprocMessage; at most %" G_GUINT64_FORMAT
                  " MiB queued on the host; host peak RSS %" G_GUINT64_FORMAT " MiB",
                  g_type_name (type), opt_messages, N_CHANNELS,
                  sum (peer.requests_sent), sum (peer.replies_sent),
                  sum (peer.replies_sent), sum (peer.replies_received),
                  total, seconds, total / seconds, peer.bytes_received >> 20, peer.huge_received,
                  peer.messages_checked, peer.peak_queued >> 20, test_proc_status_bytes ("VmHWM") >> 20);

  peer_clear (&peer);
}

int
main (int    argc,
      char **argv)
{
  int status;
  int kept = 1;

  coproc_worker_register ("soak-peer", soak_worker, NULL);
  if (coproc_worker_dispatch (&status))
    return status;

  if (RUNNING_ON_VALGRIND)
    opt_messages = DEFAULT_MESSAGES / 5;

  /* Our options first; the rest is for GTest. */
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--full"))
        opt_messages = 10000000;
      else if (g_str_has_prefix (argv[i], "--messages="))
        opt_messages = g_ascii_strtoull (argv[i] + strlen ("--messages="), NULL, 10);
      else if (g_str_has_prefix (argv[i], "--seed="))
        opt_seed = g_ascii_strtoull (argv[i] + strlen ("--seed="), NULL, 10);
      else if (g_str_equal (argv[i], "--multi"))
        opt_multi = TRUE;
      else
        argv[kept++] = argv[i];
    }
  argv[kept] = NULL;
  argc = kept;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/Coproc/Soak/exact-accounting", test_soak);

  return g_test_run ();
}
