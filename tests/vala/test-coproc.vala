/* test-coproc.vala: the Vala bindings (coproc-1.0.vapi)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* A function worker: the test program runs itself again to get it. It
 * answers each request with the same payload on the same channel, and
 * exits on a close request. */
static int
echo_worker (Coproc.Messenger messenger)
{
  try
    {
      while (true)
        {
          var message = messenger.receive_message_blocking (null);
          messenger.send_reply (message.payload, message.channel_id);
        }
    }
  catch (Coproc.Error.CLOSE_REQUESTED e)
    {
      return 0;
    }
  catch (GLib.Error e)
    {
      printerr ("echo worker: %s\n", e.message);
      return 1;
    }
}

static void
new_pair (out Coproc.Messenger process,
          out Coproc.Messenger resource)
{
  try
    {
      Coproc.Messenger.new_pair (typeof (Coproc.PriorityMessenger), out process, out resource);
    }
  catch (GLib.Error e)
    {
      GLib.error ("new_pair: %s", e.message);
    }
}

static void
test_request_reply ()
{
  Coproc.Messenger pm, rm;

  new_pair (out pm, out rm);
  assert_true (pm is Coproc.PriorityMessenger);

  try
    {
      assert_cmpuint (rm.remaining (null), EQ, 0);
      rm.send_request (new Variant.string ("hello"), null);
      assert_cmpuint (rm.remaining (null), EQ, 1);
      assert_cmpuint (rm.requests_sent (null), EQ, 1);

      var request = pm.receive_message_blocking (null);
      assert_true (request.request_reply);
      assert_false (request.is_reply);
      assert_null (request.channel_id);
      assert_cmpstr (request.payload.get_string (), EQ, "hello");
      pm.send_reply (request.payload, null);

      var reply = rm.receive_message_blocking (null);
      assert_true (reply.is_reply);
      assert_cmpstr (reply.payload.get_string (), EQ, "hello");
      assert_cmpuint (rm.remaining (null), EQ, 0);
      assert_cmpuint (rm.replies_received (null), EQ, 1);

      /* Several requests on a channel, and all their replies. */
      var channel = new Variant.int32 (7);
      Variant[] payloads = { new Variant.int32 (0), new Variant.int32 (1), new Variant.int32 (2) };
      rm.send_request_multiple (payloads, channel);
      assert_cmpuint (rm.remaining (channel), EQ, 3);
      assert_cmpuint (rm.remaining (null), EQ, 0);

      var requests = pm.receive_available (channel);
      assert_cmpuint (requests.length, EQ, 3);
      for (uint i = 0; i < requests.length; i++)
        pm.send_reply (new Variant.int32 (requests[i].get_int32 () * 10), channel);

      var replies = rm.receive_remaining (channel);
      assert_cmpuint (replies.length, EQ, 3);
      for (uint i = 0; i < replies.length; i++)
        assert_cmpint (replies[i].get_int32 (), EQ, (int) i * 10);
      assert_cmpuint (rm.remaining (channel), EQ, 0);
      assert_cmpuint (rm.messages_sent (channel), EQ, 3);
      assert_cmpuint (pm.messages_received (channel), EQ, 3);
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }
}

static void
test_close_requested ()
{
  Coproc.Messenger pm, rm;
  bool caught = false;

  new_pair (out pm, out rm);

  try
    {
      rm.send_norequest (new Variant.string ("before"), null);
      rm.send_close_request ();
      pm.receive_blocking (null);
      assert_not_reached ();
    }
  catch (Coproc.Error.CLOSE_REQUESTED e)
    {
      caught = true;
      assert_true (e is Coproc.Error);
      assert_error (e, Coproc.Error.quark (), Coproc.Error.CLOSE_REQUESTED);
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }
  assert_true (caught);

  /* The close request went ahead of the data, which is still there. */
  try
    {
      assert_cmpstr (pm.receive_blocking (null).get_string (), EQ, "before");
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }
}

static void
test_remote_error ()
{
  Coproc.Messenger pm, rm;
  bool caught = false;

  new_pair (out pm, out rm);

  /* A remote error keeps its domain, code and message. */
  try
    {
      pm.send_error (new IOError.NOT_FOUND ("no such worker"));
      rm.available (null);
      assert_not_reached ();
    }
  catch (IOError.NOT_FOUND e)
    {
      caught = true;
      assert_cmpstr (e.message, EQ, "no such worker");
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }
  assert_true (caught);

  /* Coproc's own codes say what this side saw of its connection: from the
   * peer, they arrive as a message from the peer. */
  try
    {
      pm.send_error (new Coproc.Error.MESSAGE_TOO_LARGE ("too big"));
      rm.receive_available (null);
      assert_not_reached ();
    }
  catch (GLib.Error e)
    {
      assert_error (e, Coproc.Error.quark (), Coproc.Error.MESSAGE_NOT_RECOGNIZED);
      assert_true ("too big" in e.message);
    }

  /* After the hang-up, receives fail with CLOSED. */
  try
    {
      pm.close ();
      rm.receive_blocking (null);
      assert_not_reached ();
    }
  catch (GLib.Error e)
    {
      assert_error (e, Coproc.Error.quark (), Coproc.Error.CLOSED);
    }
}

/* The async test bodies: each runs in a main loop until it returns. */

static async void
receive_async_body (Coproc.Messenger pm,
                    Coproc.Messenger rm)
{
  try
    {
      var channel = new Variant.string ("jobs");

      /* Nothing queued yet: the call completes once the peer sends. */
      Idle.add (() => {
        try
          {
            rm.send_norequest (new Variant.string ("late"), channel);
          }
        catch (GLib.Error e)
          {
            GLib.error ("send: %s", e.message);
          }
        return Source.REMOVE;
      });
      var v = yield pm.receive_async (channel);
      assert_cmpstr (v.get_string (), EQ, "late");

      rm.send_with_priority (Coproc.MessageKind.REQUEST, new Variant.string ("urgent"), channel, -1.0);
      var message = yield pm.receive_message_async (channel);
      assert_cmpstr (message.payload.get_string (), EQ, "urgent");
      assert_cmpfloat (message.priority, EQ, -1.0);
      assert_true (message.request_reply);
      assert_true (message.channel_id.equal (channel));

      /* Cancelling fails the call; nothing is lost. */
      var cancellable = new Cancellable ();
      cancellable.cancel ();
      try
        {
          yield pm.receive_async (null, cancellable);
          assert_not_reached ();
        }
      catch (IOError.CANCELLED e)
        {
        }
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }
}

static async void
signals_body (Coproc.Messenger pm,
              Coproc.Messenger rm)
{
  uint calls = 0;
  string[] seen = {};

  /* A handler returning true consumes the message. */
  pm.message_received.connect ((message) => {
    calls++;
    seen += message.payload.get_string ();
    /* Resume the test once the handlers are done with the message. */
    if (!message.request_reply)
      Idle.add (signals_body.callback);
    return message.request_reply;
  });

  try
    {
      rm.send_request (new Variant.string ("consumed"), null);
      rm.send_norequest (new Variant.string ("queued"), null);
      yield;

      assert_cmpuint (calls, EQ, 2);
      assert_cmpstrv (seen, { "consumed", "queued" });
      assert_cmpuint (pm.messages_received (null), EQ, 1);
      assert_cmpuint (pm.available (null), EQ, 1);
      var v = yield pm.receive_async (null);
      assert_cmpstr (v.get_string (), EQ, "queued");
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }
}

static async void
worker_body ()
{
  var worker = new Coproc.WorkerResource.for_function ("echo", typeof (Coproc.MultiMessenger));
  int exit_status = -1;
  bool waiting = false;

  assert_null (worker.messenger);
  worker.exited.connect ((status) => {
    assert_cmpint (exit_status, EQ, -1);
    exit_status = status;
    if (waiting)
      Idle.add (worker_body.callback);
  });

  try
    {
      worker.start ();
      assert_true (worker.is_alive ());
      assert_true (worker.messenger is Coproc.MultiMessenger);

      var messenger = worker.messenger;
      messenger.send_request (new Variant ("(si)", "ping", 42), null);
      var reply = yield messenger.receive_message_async (null);
      assert_cmpstr (reply.payload.print (false), EQ, "('ping', 42)");
      assert_true (reply.is_reply);
      assert_cmpuint (messenger.remaining (null), EQ, 0);

      assert_true (yield worker.join_async ());
      assert_false (worker.is_alive ());
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }

  try
    {
      yield worker.join_async ();
      assert_not_reached ();
    }
  catch (Coproc.Error.WORKER_ALREADY_DEAD e)
    {
    }
  catch (GLib.Error e)
    {
      GLib.error ("unexpected error: %s", e.message);
    }

  /* ::exited comes from the main loop; wait for it. */
  if (exit_status == -1)
    {
      waiting = true;
      yield;
    }
  assert_cmpint (exit_status, EQ, 0);
}

static void
test_receive_async ()
{
  Coproc.Messenger pm, rm;
  var loop = new MainLoop ();

  new_pair (out pm, out rm);
  receive_async_body.begin (pm, rm, () => loop.quit ());
  loop.run ();
}

static void
test_signals ()
{
  Coproc.Messenger pm, rm;
  var loop = new MainLoop ();

  new_pair (out pm, out rm);
  signals_body.begin (pm, rm, () => loop.quit ());
  loop.run ();
}

static void
test_function_worker ()
{
  var loop = new MainLoop ();

  worker_body.begin (() => loop.quit ());
  loop.run ();
}

int
main (string[] args)
{
  int status;

  /* Function workers: when this process is one, run it and leave. */
  Coproc.worker_register ("echo", echo_worker);
  if (Coproc.worker_dispatch (out status))
    return status;

  Test.init (ref args, "isolate_dirs");

  Test.add_func ("/Coproc/Vala/request-reply", test_request_reply);
  Test.add_func ("/Coproc/Vala/close-requested", test_close_requested);
  Test.add_func ("/Coproc/Vala/remote-error", test_remote_error);
  Test.add_func ("/Coproc/Vala/receive-async", test_receive_async);
  Test.add_func ("/Coproc/Vala/signals", test_signals);
  Test.add_func ("/Coproc/Vala/function-worker", test_function_worker);

  return Test.run ();
}
