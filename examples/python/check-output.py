#!/usr/bin/python3
# check-output.py: checks that an example prints what the document prints
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Usage: check-output.py EXAMPLE.py
#
# Runs the example and compares what it prints on standard output with the
# output the original library's messenger document shows for it. The host
# and its worker write to the same standard output, so how their lines
# interleave depends on timing: the lines the worker prints are told apart,
# the host's lines must be exactly the document's, in order, and the
# worker's must match the part of the document's that does not depend on
# timing.

import os
import re
import subprocess
import sys


class Expected:
    def __init__(self, host=(), worker_lines=(), worker=''):
        # host: the host's lines, each a str or a compiled pattern;
        # worker_lines: every line the worker may print; worker: a pattern
        # that the worker's lines, each ending with '\n', must match.
        self.host = list(host)
        self.worker_lines = set(worker_lines)
        self.worker = re.compile(worker)


# The document's outputs. A messenger's repr differs from the original's
# (it showed a multiprocessing pipe); the class name starts it in both.
EXPECTED = {
    'choosing_a_messenger': Expected(
        host=[re.compile(r'process messenger: PriorityMessenger\(.*\)'),
              re.compile(r'resource messenger: PriorityMessenger\(.*\)')]),

    # The worker prints "some messages were found" once more when 'hi'
    # arrives after it took 'hello', and the host may stop it before it
    # prints its last "awaiting messages".
    'channels': Expected(
        host=['w.messenger.available()=0',
              'None',
              'None',
              'w.messenger.available()=0',
              "w.messenger.receive_blocking(CHANNEL_A)='hello'",
              "w.messenger.receive_blocking(CHANNEL_B)='hi'"],
        worker_lines=['awaiting messages', 'some messages were found'],
        worker=r'awaiting messages\nsome messages were found\n'
               r'(awaiting messages\nsome messages were found\n)*(awaiting messages\n)?'),

    'request_interface': Expected(
        host=['w.messenger.remaining()=0',
              'w.messenger.send_request("hello")=None',
              'w.messenger.remaining()=1',
              "w.messenger.receive_blocking()='hello'",
              'w.messenger.remaining()=0',
              'sending [None, None, None]',
              'w.messenger.remaining()=3',
              '0',
              '1',
              '2']),

    'priority_interface': Expected(
        worker_lines=["HighPriorityMessage(text='high %d', priority=0)" % i for i in range(3)] +
                     ["LowPriorityMessage(text='low %d', priority=1)" % i for i in range(3)],
        worker=r"HighPriorityMessage\(text='high 0', priority=0\)\n"
               r"HighPriorityMessage\(text='high 1', priority=0\)\n"
               r"HighPriorityMessage\(text='high 2', priority=0\)\n"
               r"LowPriorityMessage\(text='low 0', priority=1\)\n"
               r"LowPriorityMessage\(text='low 1', priority=1\)\n"
               r"LowPriorityMessage\(text='low 2', priority=1\)\n"),

    # The document shows the worker's traceback (on standard error) and no
    # 'message 1': the close request came in with it. Here the worker may
    # have taken 'message 1' before the close request arrived.
    'special_messages': Expected(
        host=['successfully caught value error sent from process'],
        worker_lines=['message 1'],
        worker=r'(message 1\n)?'),
}


def matches(expected, line):
    if isinstance(expected, str):
        return expected == line
    return expected.fullmatch(line) is not None


def check(name, output):
    # The reasons the output is not the document's; none when it is.
    expected = EXPECTED[name]
    lines = output.splitlines()
    host = [line for line in lines if line not in expected.worker_lines]
    worker = ''.join(line + '\n' for line in lines if line in expected.worker_lines)

    problems = []
    if len(host) != len(expected.host) or \
       not all(matches(e, line) for e, line in zip(expected.host, host)):
        problems.append('the host printed:\n%s\ninstead of:\n%s' % (
            '\n'.join(host), '\n'.join(e if isinstance(e, str) else e.pattern
                                       for e in expected.host)))
    if not expected.worker.fullmatch(worker):
        problems.append('the worker printed:\n%s\nwhich does not match:\n%s' % (
            worker, expected.worker.pattern))
    return problems


def main(argv):
    if len(argv) != 2:
        print('usage: check-output.py EXAMPLE.py', file=sys.stderr)
        return 2
    path = argv[1]
    name = os.path.splitext(os.path.basename(path))[0]
    if name not in EXPECTED:
        print('%s: no expected output for this example' % name, file=sys.stderr)
        return 2

    # Each process must write whole lines: the host's output is a pipe, so
    # it is written in blocks, and a worker's is line-buffered, unless
    # PYTHONUNBUFFERED makes print() write a line and its end apart.
    env = dict(os.environ)
    env.pop('PYTHONUNBUFFERED', None)
    result = subprocess.run([sys.executable, path], stdout=subprocess.PIPE, text=True,
                            env=env, timeout=120)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        print('%s: exit status %d' % (name, result.returncode), file=sys.stderr)
        return 1
    problems = check(name, result.stdout)
    for problem in problems:
        print('%s: %s' % (name, problem), file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
