/* choppy-stream.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A GIOStream over another one whose pollable reads and writes move as few
 * bytes as the mode allows and, in the random mode, refuse half the calls
 * with G_IO_ERROR_WOULD_BLOCK although the base stream is ready: the worst
 * a legal pollable stream may do. A messenger over it takes the path for
 * streams that are not sockets.
 */

#include "choppy-stream.h"

/* Input ---------------------------------------------------------------------- */

#define CHOPPY_TYPE_INPUT_STREAM (choppy_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (ChoppyInputStream, choppy_input_stream, CHOPPY, INPUT_STREAM, GInputStream)

struct _ChoppyInputStream
{
  GInputStream  parent_instance;
  GInputStream *base;     /* borrowed: the ChoppyStream keeps its base alive */
  ChoppyMode    mode;
  GRand        *rand;
  guint64       moves;
  guint64       refusals;
};

static void choppy_input_pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ChoppyInputStream, choppy_input_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      choppy_input_pollable_iface_init))

static gsize
piece_size (ChoppyMode  mode,
            GRand      *rand,
            gsize       count)
{
  gsize n = mode == CHOPPY_ONE_BYTE ? 1 : (gsize) g_rand_int_range (rand, 1, 18);

  return MIN (n, count);
}

static gboolean
refuse (ChoppyMode   mode,
        GRand       *rand,
        guint64     *refusals,
        GError     **error)
{
  if (mode != CHOPPY_RANDOM || !g_rand_boolean (rand))
    return FALSE;

  (*refusals)++;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "Not now");
  return TRUE;
}

static gssize
choppy_input_read (GInputStream  *stream,
                   void          *buffer,
                   gsize          count,
                   GCancellable  *cancellable,
                   GError       **error)
{
  ChoppyInputStream *self = CHOPPY_INPUT_STREAM (stream);

  return g_input_stream_read (self->base, buffer, piece_size (self->mode, self->rand, count),
                              cancellable, error);
}

static gssize
choppy_input_read_nonblocking (GPollableInputStream  *stream,
                               void                  *buffer,
                               gsize                  count,
                               GError               **error)
{
  ChoppyInputStream *self = CHOPPY_INPUT_STREAM (stream);
  gssize n;

  if (refuse (self->mode, self->rand, &self->refusals, error))
    return -1;

  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->base), buffer,
                                                piece_size (self->mode, self->rand, count),
                                                NULL, error);
  if (n > 0)
    self->moves++;

  return n;
}

static gboolean
choppy_input_is_readable (GPollableInputStream *stream)
{
  ChoppyInputStream *self = CHOPPY_INPUT_STREAM (stream);

  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base));
}

static GSource *
choppy_input_create_source (GPollableInputStream *stream,
                            GCancellable         *cancellable)
{
  ChoppyInputStream *self = CHOPPY_INPUT_STREAM (stream);
  g_autoptr(GSource) base_source = NULL;

  base_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base),
                                                       NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gboolean
choppy_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static void
choppy_input_pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = choppy_can_poll;
  iface->is_readable = choppy_input_is_readable;
  iface->create_source = choppy_input_create_source;
  iface->read_nonblocking = choppy_input_read_nonblocking;
}

static gboolean
choppy_input_close (GInputStream  *stream,
                    GCancellable  *cancellable,
                    GError       **error)
{
  /* The ChoppyStream closes the base stream. */
  return TRUE;
}

static void
choppy_input_stream_finalize (GObject *object)
{
  ChoppyInputStream *self = CHOPPY_INPUT_STREAM (object);

  g_rand_free (self->rand);

  G_OBJECT_CLASS (choppy_input_stream_parent_class)->finalize (object);
}

static void
choppy_input_stream_class_init (ChoppyInputStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = choppy_input_stream_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = choppy_input_read;
  G_INPUT_STREAM_CLASS (klass)->close_fn = choppy_input_close;
}

static void
choppy_input_stream_init (ChoppyInputStream *self)
{
}

/* Output --------------------------------------------------------------------- */

#define CHOPPY_TYPE_OUTPUT_STREAM (choppy_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (ChoppyOutputStream, choppy_output_stream, CHOPPY, OUTPUT_STREAM,
                      GOutputStream)

struct _ChoppyOutputStream
{
  GOutputStream  parent_instance;
  GOutputStream *base;    /* borrowed, as for input */
  ChoppyMode     mode;
  GRand         *rand;
  guint64        moves;
  guint64        refusals;
};

static void choppy_output_pollable_iface_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (ChoppyOutputStream, choppy_output_stream, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      choppy_output_pollable_iface_init))

static gssize
choppy_output_write (GOutputStream  *stream,
                     const void     *buffer,
                     gsize           count,
                     GCancellable   *cancellable,
                     GError        **error)
{
  ChoppyOutputStream *self = CHOPPY_OUTPUT_STREAM (stream);

  return g_output_stream_write (self->base, buffer, piece_size (self->mode, self->rand, count),
                                cancellable, error);
}

static gssize
choppy_output_write_nonblocking (GPollableOutputStream  *stream,
                                 const void             *buffer,
                                 gsize                   count,
                                 GError                **error)
{
  ChoppyOutputStream *self = CHOPPY_OUTPUT_STREAM (stream);
  gssize n;

  if (refuse (self->mode, self->rand, &self->refusals, error))
    return -1;

  n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->base), buffer,
                                                  piece_size (self->mode, self->rand, count),
                                                  NULL, error);
  if (n > 0)
    self->moves++;

  return n;
}

static gboolean
choppy_output_is_writable (GPollableOutputStream *stream)
{
  ChoppyOutputStream *self = CHOPPY_OUTPUT_STREAM (stream);

  return g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (self->base));
}

static GSource *
choppy_output_create_source (GPollableOutputStream *stream,
                             GCancellable          *cancellable)
{
  ChoppyOutputStream *self = CHOPPY_OUTPUT_STREAM (stream);
  g_autoptr(GSource) base_source = NULL;

  base_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (self->base),
                                                        NULL);
  return g_pollable_source_new_full (stream, base_source, cancellable);
}

static gboolean
choppy_output_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static void
choppy_output_pollable_iface_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = choppy_output_can_poll;
  iface->is_writable = choppy_output_is_writable;
  iface->create_source = choppy_output_create_source;
  iface->write_nonblocking = choppy_output_write_nonblocking;
}

static gboolean
choppy_output_close (GOutputStream  *stream,
                     GCancellable   *cancellable,
                     GError        **error)
{
  return TRUE;
}

static void
choppy_output_stream_finalize (GObject *object)
{
  ChoppyOutputStream *self = CHOPPY_OUTPUT_STREAM (object);

  g_rand_free (self->rand);

  G_OBJECT_CLASS (choppy_output_stream_parent_class)->finalize (object);
}

static void
choppy_output_stream_class_init (ChoppyOutputStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = choppy_output_stream_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = choppy_output_write;
  G_OUTPUT_STREAM_CLASS (klass)->close_fn = choppy_output_close;
}

static void
choppy_output_stream_init (ChoppyOutputStream *self)
{
}

/* The stream ----------------------------------------------------------------- */

struct _ChoppyStream
{
  GIOStream           parent_instance;
  GIOStream          *base;
  ChoppyInputStream  *input;
  ChoppyOutputStream *output;
};

G_DEFINE_FINAL_TYPE (ChoppyStream, choppy_stream, G_TYPE_IO_STREAM)

static GInputStream *
choppy_stream_get_input_stream (GIOStream *stream)
{
  return G_INPUT_STREAM (CHOPPY_STREAM (stream)->input);
}

static GOutputStream *
choppy_stream_get_output_stream (GIOStream *stream)
{
  return G_OUTPUT_STREAM (CHOPPY_STREAM (stream)->output);
}

static gboolean
choppy_stream_close (GIOStream     *stream,
                     GCancellable  *cancellable,
                     GError       **error)
{
  return g_io_stream_close (CHOPPY_STREAM (stream)->base, cancellable, error);
}

static void
choppy_stream_finalize (GObject *object)
{
  ChoppyStream *self = CHOPPY_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->base);

  G_OBJECT_CLASS (choppy_stream_parent_class)->finalize (object);
}

static void
choppy_stream_class_init (ChoppyStreamClass *klass)
{
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = choppy_stream_finalize;
  stream_class->get_input_stream = choppy_stream_get_input_stream;
  stream_class->get_output_stream = choppy_stream_get_output_stream;
  stream_class->close_fn = choppy_stream_close;
}

static void
choppy_stream_init (ChoppyStream *self)
{
}

GIOStream *
choppy_stream_new (GIOStream  *base,
                   ChoppyMode  mode,
                   guint32     seed)
{
  ChoppyStream *self;

  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (base)), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (base)), NULL);

  self = g_object_new (CHOPPY_TYPE_STREAM, NULL);
  self->base = g_object_ref (base);

  self->input = g_object_new (CHOPPY_TYPE_INPUT_STREAM, NULL);
  self->input->base = g_io_stream_get_input_stream (base);
  self->input->mode = mode;
  self->input->rand = g_rand_new_with_seed (seed);

  self->output = g_object_new (CHOPPY_TYPE_OUTPUT_STREAM, NULL);
  self->output->base = g_io_stream_get_output_stream (base);
  self->output->mode = mode;
  self->output->rand = g_rand_new_with_seed (seed ^ 0x9e3779b9u);

  return G_IO_STREAM (self);
}

guint64
choppy_stream_get_moves (ChoppyStream *self)
{
  return self->input->moves + self->output->moves;
}

guint64
choppy_stream_get_refusals (ChoppyStream *self)
{
  return self->input->refusals + self->output->refusals;
}
