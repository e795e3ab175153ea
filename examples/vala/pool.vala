/* pool.vala: jobs on a worker pool, from Vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The host submits jobs to a pool of two function workers and waits for
 * each one's result with `yield`, so the main loop runs meanwhile, as a
 * GTK application's would. A job's error comes back as the job's own
 * GLib.Error, and the pool goes on. Then a correlated request on one
 * worker's messenger, also with `yield`.
 *
 * It exits with a failure status when a result is not what it should be.
 *
 *   valac --pkg coproc-1.0 --pkg gio-2.0 pool.vala && ./pool
 */

/* The worker: squares each request's number; answers a negative one with
 * an error, which fails that job alone. It serves until the pool closes
 * it. */
static int
square_worker (Coproc.Messenger messenger)
{
  try
    {
      while (true)
        {
          var message = messenger.receive_message_blocking (null);
          var n = message.get_payload ().get_int64 ();

          if (n < 0)
            messenger.reply_error (message, new IOError.INVALID_ARGUMENT ("%lld is negative", n));
          else
            messenger.reply_to (message, new Variant.int64 (n * n));
        }
    }
  catch (Coproc.Error.CLOSE_REQUESTED e)
    {
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
  var pool = new Coproc.WorkerPool.for_function ("square", 2, typeof (Coproc.PriorityMessenger));

  try
    {
      /* One job after another: each yield lets the main loop run until
       * the job has ended. */
      int64 total = 0;
      for (int64 i = 1; i <= 10; i++)
        {
          var reply = yield pool.submit_async (new Variant.int64 (i), null);
          total += reply.get_int64 ();
        }
      print ("sum of squares 1..10 = %lld\n", total);
      if (total != 385)
        return 1;

      try
        {
          yield pool.submit_async (new Variant.int64 (-3), null);
          return 1;
        }
      catch (IOError.INVALID_ARGUMENT e)
        {
          print ("job -3 failed: %s\n", e.message);
        }

      /* The pool still works, and so does one worker's messenger. */
      var messenger = pool.get_worker (0).messenger;
      var answer = yield messenger.request_async (new Variant.int64 (12), null, null);
      print ("request(12) = %lld\n", answer.get_int64 ());
      if (answer.get_int64 () != 144)
        return 1;

      pool.join (null);
      print ("pending after join = %u\n", pool.get_pending ());
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
  Coproc.worker_register ("square", square_worker);
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
