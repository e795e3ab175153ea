/* requests.vala: the request interface, from Vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The host sends requests to a worker, which answers each one with a reply;
 * the host's messenger counts the requests still waiting for their reply.
 * The host is an async main: each `yield` lets the main loop run until the
 * reply is there, as a GTK application would.
 *
 * The worker is a function of this program: coproc runs the program again
 * and coproc_worker_dispatch() calls the function in that process.
 *
 * It exits with a failure status when a reply is not what it should be.
 *
 *   valac --pkg coproc-1.0 --pkg gio-2.0 requests.vala && ./requests
 */

/* The worker: replies to every request with the same payload, until the
 * host asks it to close. It has nothing else to do, so it may block. */
static int
echo_worker (Coproc.Messenger messenger)
{
  try
    {
      while (true)
        {
          var data = messenger.receive_blocking (null);
          messenger.send_reply (data, null);
        }
    }
  catch (Coproc.Error.CLOSE_REQUESTED e)
    {
      /* The host's join () sends a close request. */
      return 0;
    }
  catch (GLib.Error e)
    {
      printerr ("worker: %s\n", e.message);
      return 1;
    }
}

static async int
run_host ()
{
  var worker = new Coproc.WorkerResource.for_function ("echo", typeof (Coproc.PriorityMessenger));

  try
    {
      worker.start ();
      var messenger = worker.messenger;

      print ("remaining() = %u\n", messenger.remaining (null));
      messenger.send_request (new Variant.string ("hello"), null);
      print ("send_request('hello')\n");
      print ("remaining() = %u\n", messenger.remaining (null));

      /* Completes when the reply arrives; the main loop runs meanwhile. */
      var reply = yield messenger.receive_async (null);
      print ("receive_async() = '%s'\n", reply.get_string ());
      print ("remaining() = %u\n", messenger.remaining (null));
      if (reply.get_string () != "hello" || messenger.remaining (null) != 0)
        return 1;

      for (int i = 0; i < 3; i++)
        messenger.send_request (new Variant.int32 (i), null);
      print ("sent requests 0, 1, 2\n");
      print ("remaining() = %u\n", messenger.remaining (null));

      /* Take replies until every request has its answer: the
       * non-blocking form of receive_remaining (). */
      int expected = 0;
      while (messenger.remaining (null) > 0)
        {
          var value = yield messenger.receive_async (null);
          print ("%d\n", value.get_int32 ());
          if (value.get_int32 () != expected++)
            return 1;
        }
      print ("remaining() = %u\n", messenger.remaining (null));

      /* Ask the worker to close and wait for it to exit. */
      yield worker.join_async ();
      print ("worker alive: %s\n", worker.is_alive ().to_string ());
      if (worker.is_alive ())
        return 1;
    }
  catch (GLib.Error e)
    {
      printerr ("%s\n", e.message);
      return 1;
    }

  return 0;
}

static int
main (string[] args)
{
  int status = 0;

  /* First thing in main (): when this process was started as a worker,
   * run the worker and leave. */
  Coproc.worker_register ("echo", echo_worker);
  if (Coproc.worker_dispatch (out status))
    return status;

  var loop = new MainLoop ();
  run_host.begin ((obj, res) => {
    status = run_host.end (res);
    loop.quit ();
  });
  loop.run ();

  return status;
}
