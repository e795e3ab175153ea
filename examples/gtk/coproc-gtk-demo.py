#!/usr/bin/python3
# coproc-gtk-demo.py: a GTK 4 application in Python that counts primes in workers
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The Python twin of coproc-gtk-demo.c. The window counts the primes below
# a limit (a billion by default). The work is split into blocks of a
# million numbers, and a few worker processes sieve them: each is a
# Coproc.WorkerResource running coproc_demo_primes.primes_worker.
#
# The host never blocks: it sends each worker a couple of blocks as
# requests, and the replies arrive through the messenger's
# "message-received" signal on the main loop, where they move the progress
# bar and get the worker its next block. Cancel terminates the workers.
#
# To show that the window stays responsive while the workers work, a
# timeout fires every 20 ms on the main loop and measures how late it
# runs; the window shows the average and the worst. Once a second, another
# reads each worker's CPU time and memory (WorkerResource.stats(), from
# /proc) into its row; with --auto, the last figures are printed.
#
# Options:
#   --auto             start at once, quit when done
#   --screenshot=FILE  save a PNG of the screen when done (needs ImageMagick)
#   --limit=N          count the primes below N
#   --workers=N        how many worker processes to use
#   --cancel-at=P      press Cancel once P percent of the work is done
#
# Run it with the library, its typelib and the overrides on the search paths:
#   GI_TYPELIB_PATH=… LD_LIBRARY_PATH=… PYTHONPATH=…/introspection \
#     /usr/bin/python3 coproc-gtk-demo.py

import enum
import subprocess
import sys

import gi
gi.require_version('Coproc', '1.0')
gi.require_version('Gdk', '4.0')
gi.require_version('Gtk', '4.0')
from gi.repository import Coproc, Gdk, Gio, GLib, Gtk  # noqa: E402

import coproc_demo_primes  # noqa: E402
from coproc_demo_primes import BLOCK_SIZE, MAX_LIMIT  # noqa: E402

DEFAULT_LIMIT = 10**9
MAX_WORKERS = 16
# Blocks each worker has in hand: while it sieves one, the next one is
# already waiting in its socket.
BLOCKS_IN_FLIGHT = 2
# How often the responsiveness probe runs, in milliseconds.
PROBE_INTERVAL_MS = 20
# How often the workers' CPU time and memory are read, in milliseconds.
STATS_INTERVAL_MS = 1000

CSS = b'''
.demo-box { padding: 24px; }
.result { font-size: 24pt; font-weight: 800; font-feature-settings: "tnum"; }
.result.success { color: @success_color; }
.result.warning { color: @warning_color; }
.result.error { color: @error_color; }
.workers { padding: 12px 16px; border-radius: 8px;
           background-color: alpha(currentColor, 0.06); }
.worker, .probe { font-feature-settings: "tnum"; }
progressbar > trough, progressbar > trough > progress { min-height: 14px; }
'''


class State(enum.Enum):
    IDLE = 'idle'
    WORKING = 'working'
    DONE = 'done'
    CANCELLED = 'cancelled'
    FAILED = 'failed'


def format_count(n):
    return '{:,}'.format(n)


class Probe:
    '''A timeout on the main loop that measures how late it runs: how long
    the main loop was kept from its other work.'''

    def __init__(self, on_tick):
        self.on_tick = on_tick
        self.source = 0
        self.reset()

    def reset(self):
        self.ticks = 0
        self.total_late = 0
        self.worst_late = 0
        self.last = None

    def start(self):
        self.stop()
        self.reset()
        self.last = GLib.get_monotonic_time()
        self.source = GLib.timeout_add(PROBE_INTERVAL_MS, self.tick)

    def stop(self):
        if self.source:
            GLib.source_remove(self.source)
            self.source = 0

    def tick(self):
        now = GLib.get_monotonic_time()
        # GLib schedules the next run one interval after this one started.
        late = max(0, now - self.last - PROBE_INTERVAL_MS * 1000)
        self.last = now
        self.ticks += 1
        self.total_late += late
        self.worst_late = max(self.worst_late, late)
        self.on_tick()
        return GLib.SOURCE_CONTINUE

    def describe(self):
        if not self.ticks:
            return 'Main loop: the timer has not run yet'
        return ('Main loop: a %d ms timer ran %d times, late by %.1f ms on average, '
                '%.1f ms at most' % (PROBE_INTERVAL_MS, self.ticks,
                                     self.total_late / self.ticks / 1000,
                                     self.worst_late / 1000))


class Worker:
    '''One worker process and the handlers on it.'''

    def __init__(self, demo, index):
        self.demo = demo
        self.index = index
        self.blocks_done = 0
        self.handlers = []
        self.stats = None    # the last figures of resource.stats()
        self.resource = Coproc.WorkerResource(coproc_demo_primes.primes_worker)
        self.label = Gtk.Label(xalign=0.0)
        self.label.add_css_class('worker')

    def start(self):
        self.resource.start()
        messenger = self.resource.messenger
        self.handlers = [
            (messenger, messenger.connect('message-received', self.on_message)),
            (messenger, messenger.connect('error-received', self.on_error)),
            (self.resource, self.resource.connect('exited', self.on_exited)),
        ]
        self.update_label()

    def disconnect(self):
        for obj, handler in self.handlers:
            obj.disconnect(handler)
        self.handlers = []

    def update_label(self):
        text = 'Worker %d  ·  pid %d  ·  %d blocks' % (
            self.index + 1, self.stats['pid'] if self.stats else self.resource.pid,
            self.blocks_done)
        if self.stats:
            text += '  ·  CPU %.1f s  ·  %s' % (self.cpu_seconds(),
                                               GLib.format_size(self.stats['rss-bytes']))
        self.label.set_text(text)

    def cpu_seconds(self):
        return self.stats['user-seconds'] + self.stats['system-seconds']

    def read_stats(self):
        # From /proc, never waiting for the worker; None once it has ended,
        # when the row keeps its last figures.
        stats = self.resource.stats()
        if stats is not None:
            self.stats = stats
            self.update_label()

    def feed(self):
        '''Sends the worker the next block, if any is left.'''
        block = self.demo.next_block_range()
        if block is not None:
            self.resource.messenger.send_request(block)

    def on_message(self, messenger, message):
        # A reply, on the main loop. Returning True consumes it.
        payload = message.payload
        if message.is_reply and isinstance(payload, tuple) and len(payload) == 3:
            self.blocks_done += 1
            self.update_label()
            self.demo.block_done(self, payload[2])
        return True

    def on_error(self, messenger, error):
        # The worker sent an error; returning True consumes it.
        exception = Coproc.exception_from_error(error)
        self.demo.finish(State.FAILED, 'worker %d: %s' % (self.index + 1, exception))
        return True

    def on_exited(self, resource, status):
        if self.demo.state is State.WORKING:
            self.demo.finish(State.FAILED, 'worker %d stopped early' % (self.index + 1))


class Demo:
    def __init__(self):
        self.app = Gtk.Application(application_id='org.gnome.Coproc.PythonGtkDemo',
                                   flags=Gio.ApplicationFlags.NON_UNIQUE)
        self.limit = DEFAULT_LIMIT
        self.n_workers = min(GLib.get_num_processors(), 4)
        self.auto = False
        self.screenshot = None
        self.cancel_at = 2.0
        self.state = State.IDLE
        self.window = None
        self.workers = []
        self.n_blocks = self.next_block = self.blocks_done = self.primes = 0
        self.start_time = self.elapsed = 0
        self.failure = None
        self.probe = Probe(self.update_probe)
        self.stats_source = 0
        self.n_stats_reads = 0

        self.app.add_main_option('auto', 0, GLib.OptionFlags.NONE, GLib.OptionArg.NONE,
                                 'Start at once and quit when done', None)
        self.app.add_main_option('screenshot', 0, GLib.OptionFlags.NONE,
                                 GLib.OptionArg.FILENAME, 'Save a PNG of the screen when done',
                                 'FILE')
        self.app.add_main_option('limit', 0, GLib.OptionFlags.NONE, GLib.OptionArg.INT64,
                                 'Count the primes below N', 'N')
        self.app.add_main_option('workers', 0, GLib.OptionFlags.NONE, GLib.OptionArg.INT,
                                 'How many worker processes to use', 'N')
        self.app.add_main_option('cancel-at', 0, GLib.OptionFlags.NONE, GLib.OptionArg.DOUBLE,
                                 'Press Cancel at P percent of the work', 'P')
        self.app.connect('handle-local-options', self.on_local_options)
        self.app.connect('activate', self.on_activate)

    # Options and start-up

    def on_local_options(self, app, options):
        options = options.end().unpack()
        if 'limit' in options:
            if not 2 <= options['limit'] <= MAX_LIMIT:
                print('--limit must be between 2 and %d' % MAX_LIMIT, file=sys.stderr)
                return 1
            self.limit = options['limit']
        if 'workers' in options:
            if not 1 <= options['workers'] <= MAX_WORKERS:
                print('--workers must be between 1 and %d' % MAX_WORKERS, file=sys.stderr)
                return 1
            self.n_workers = options['workers']
        if 'cancel-at' in options:
            self.cancel_at = min(max(options['cancel-at'], 0.0), 100.0) / 100.0
        self.auto = 'auto' in options
        if 'screenshot' in options:
            self.screenshot = bytes(options['screenshot']).rstrip(b'\0').decode()
        return -1

    def on_activate(self, app):
        if self.window is None:
            self.build_window()
        self.window.present()
        if self.auto and self.state is State.IDLE:
            self.start()

    def build_window(self):
        css = Gtk.CssProvider()
        css.load_from_data(CSS)
        Gtk.StyleContext.add_provider_for_display(Gdk.Display.get_default(), css,
                                                  Gtk.STYLE_PROVIDER_PRIORITY_APPLICATION)

        self.window = Gtk.ApplicationWindow(application=self.app,
                                            title='Prime Counter (Python)',
                                            default_width=560, resizable=False)
        self.window.connect('destroy', self.on_destroy)

        header = Gtk.HeaderBar()
        self.spinner = Gtk.Spinner()
        header.pack_end(self.spinner)
        self.window.set_titlebar(header)

        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=12)
        box.add_css_class('demo-box')
        self.window.set_child(box)

        heading = Gtk.Label(label='Primes below %s' % format_count(self.limit), xalign=0.0)
        heading.add_css_class('title-2')
        box.append(heading)

        subtitle = Gtk.Label(label='Sieving blocks of %s numbers in %d Python worker processes'
                             % (format_count(BLOCK_SIZE), self.n_workers),
                             xalign=0.0, wrap=True)
        subtitle.add_css_class('dim-label')
        box.append(subtitle)

        self.result = Gtk.Label(margin_top=12)
        self.result.add_css_class('result')
        box.append(self.result)

        self.progress = Gtk.ProgressBar(show_text=True)
        box.append(self.progress)

        self.status = Gtk.Label(xalign=0.0)
        self.status.add_css_class('caption')
        box.append(self.status)

        self.probe_label = Gtk.Label(xalign=0.0, wrap=True)
        self.probe_label.add_css_class('caption')
        self.probe_label.add_css_class('probe')
        box.append(self.probe_label)

        self.workers_box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self.workers_box.add_css_class('workers')
        placeholder = Gtk.Label(label='Workers appear here while they count.', xalign=0.0)
        placeholder.add_css_class('dim-label')
        self.workers_box.append(placeholder)
        box.append(self.workers_box)

        buttons = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12,
                          halign=Gtk.Align.END, margin_top=12)
        box.append(buttons)
        self.cancel_button = Gtk.Button.new_with_mnemonic('_Cancel')
        self.cancel_button.add_css_class('destructive-action')
        self.cancel_button.connect('clicked', lambda button: self.cancel())
        buttons.append(self.cancel_button)
        self.start_button = Gtk.Button.new_with_mnemonic('_Start')
        self.start_button.add_css_class('suggested-action')
        self.start_button.connect('clicked', lambda button: self.start())
        buttons.append(self.start_button)
        self.window.set_default_widget(self.start_button)

        self.update_ui()

    # The run

    def next_block_range(self):
        if self.next_block >= self.n_blocks:
            return None
        lo = self.next_block * BLOCK_SIZE
        self.next_block += 1
        return (lo, min(lo + BLOCK_SIZE, self.limit))

    def start(self):
        if self.state is State.WORKING:
            return
        # The previous run's workers have stopped or are stopping: let go.
        self.workers = []
        while (child := self.workers_box.get_first_child()) is not None:
            self.workers_box.remove(child)

        self.n_blocks = (self.limit + BLOCK_SIZE - 1) // BLOCK_SIZE
        self.next_block = self.blocks_done = self.primes = 0
        self.elapsed = 0
        self.start_time = GLib.get_monotonic_time()
        self.state = State.WORKING

        for index in range(self.n_workers):
            worker = Worker(self, index)
            self.workers.append(worker)
            self.workers_box.append(worker.label)
            try:
                worker.start()
                for _ in range(BLOCKS_IN_FLIGHT):
                    worker.feed()
            except GLib.Error as error:
                self.finish(State.FAILED, error.message)
                return
        self.update_ui()
        self.start_probe()
        self.n_stats_reads = 0
        self.stats_source = GLib.timeout_add(STATS_INTERVAL_MS, self.on_stats_timeout)

    def on_stats_timeout(self):
        self.n_stats_reads += 1
        for worker in self.workers:
            worker.read_stats()
        return GLib.SOURCE_CONTINUE

    def start_probe(self):
        # Measures the main loop while the workers work: from the next frame
        # on, once the window shows the run (its very first frame, at
        # start-up, takes a while to draw) and the workers have started.
        clock = self.window.get_frame_clock()
        handler = None

        def after_paint(clock):
            clock.disconnect(handler)
            if self.state is State.WORKING:
                self.probe.start()

        handler = clock.connect('after-paint', after_paint)
        self.window.queue_draw()

    def block_done(self, worker, count):
        if self.state is not State.WORKING:
            return
        self.primes += count
        self.blocks_done += 1
        if self.blocks_done == self.n_blocks:
            self.elapsed = GLib.get_monotonic_time() - self.start_time
            self.finish(State.DONE)
            return
        # --cancel-at: as if the user pressed Cancel now.
        if self.blocks_done / self.n_blocks >= self.cancel_at:
            self.cancel_button.emit('clicked')
            return
        try:
            worker.feed()
        except GLib.Error as error:
            self.finish(State.FAILED, error.message)
            return
        self.update_ui()

    def cancel(self):
        if self.state is State.WORKING:
            self.finish(State.CANCELLED)

    def finish(self, state, failure=None):
        if self.state is not State.WORKING:
            return
        self.state = state
        self.failure = failure
        self.probe.stop()
        if self.stats_source:
            GLib.source_remove(self.stats_source)
            self.stats_source = 0
        if self.window is not None:
            # The rows keep the figures of the workers' last moments.
            for worker in self.workers:
                worker.read_stats()

        for worker in self.workers:
            # Late replies, from blocks that are no longer wanted, are ignored.
            worker.disconnect()
            if not worker.resource.is_alive():
                continue
            if state is State.DONE:
                # The polite way: a close request, then wait for the exit.
                self.app.hold()
                worker.resource.join_async(None, self.on_joined)
            else:
                # Stop now: a close request, then SIGTERM.
                worker.resource.terminate(check_alive=False)

        # The window may be gone already: closing it cancels the run.
        if self.window is None:
            return
        self.update_ui()
        if self.auto:
            self.report_and_quit()

    def on_joined(self, resource, result):
        try:
            resource.join_finish(result)
        except GLib.Error as error:
            print('Could not join a worker: %s' % error.message, file=sys.stderr)
        self.app.release()

    def on_destroy(self, window):
        # Closing the window while the workers count cancels them.
        self.window = None
        if self.state is State.WORKING:
            self.finish(State.CANCELLED)

    # What the window shows

    def update_probe(self):
        if self.window is not None:
            self.probe_label.set_text(self.probe.describe())

    def update_ui(self):
        fraction = self.blocks_done / self.n_blocks if self.n_blocks else 0.0
        working = self.state is State.WORKING
        self.progress.set_fraction(fraction)
        self.progress.set_text('%d %%' % int(fraction * 100))
        self.spinner.set_spinning(working)
        self.start_button.set_sensitive(not working)
        self.cancel_button.set_sensitive(working)

        if self.state is State.IDLE:
            status = 'Press Start to count them in worker processes'
        elif self.state is State.WORKING:
            status = 'Working…  %d of %d blocks' % (self.blocks_done, self.n_blocks)
        elif self.state is State.DONE:
            status = 'Done in %.2f s with %d workers' % (self.elapsed / 1e6, self.n_workers)
        elif self.state is State.CANCELLED:
            status = 'Cancelled after %d of %d blocks' % (self.blocks_done, self.n_blocks)
        else:
            status = 'Failed: %s' % self.failure
        self.status.set_text(status)
        self.update_probe()

        if self.state is State.IDLE:
            self.result.set_text('—')
        elif self.state is State.DONE:
            self.result.set_text('%s primes' % format_count(self.primes))
        else:
            self.result.set_text('%s primes so far' % format_count(self.primes))
        for css_class in ('success', 'warning', 'error'):
            self.result.remove_css_class(css_class)
        css_class = {State.DONE: 'success', State.CANCELLED: 'warning',
                     State.FAILED: 'error'}.get(self.state)
        if css_class:
            self.result.add_css_class(css_class)

    # --auto

    def report_and_quit(self):
        # What the window shows, for whoever started us with --auto.
        if self.state is State.DONE:
            print('%d primes below %d' % (self.primes, self.limit))
        elif self.state is State.CANCELLED:
            print('Cancelled')
        else:
            print('Failed: %s' % self.failure)
        # The figures in the workers' rows.
        for worker in self.workers:
            if worker.stats:
                print('worker %d: pid %d, rss-bytes %d, processes %d, cpu-seconds %.2f'
                      % (worker.index + 1, worker.stats['pid'], worker.stats['rss-bytes'],
                         worker.stats['processes'], worker.cpu_seconds()))
            else:
                print('worker %d: no figures' % (worker.index + 1))
        print('figures read %d times while working' % self.n_stats_reads)
        print(self.probe.describe(), file=sys.stderr)
        sys.stdout.flush()

        # Quit (and take the screenshot) once the window shows the final state.
        clock = self.window.get_frame_clock()
        handler = None

        def after_paint(clock):
            clock.disconnect(handler)
            # Give the X server the frame before reading the screen back.
            GLib.timeout_add(300, self.shoot_and_close)

        handler = clock.connect('after-paint', after_paint)
        self.window.queue_draw()

    def shoot_and_close(self):
        if self.screenshot is not None:
            # PyGObject cannot render a widget to a texture (GTK 4.8): read
            # the screen back with ImageMagick.
            result = subprocess.run(['import', '-window', 'root', self.screenshot])
            if result.returncode != 0:
                print('Could not save %s' % self.screenshot, file=sys.stderr)
                self.state = State.FAILED
        # The application ends once its window is gone and every worker has
        # exited (each join holds the application).
        if self.window is not None:
            self.window.destroy()
        return GLib.SOURCE_REMOVE

    def run(self, argv):
        status = self.app.run(argv)
        if status == 0 and self.auto and self.state not in (State.DONE, State.CANCELLED):
            status = 1
        return status


if __name__ == '__main__':
    sys.exit(Demo().run(sys.argv))
