# coproc_demo_primes.py: the worker of coproc-gtk-demo.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A worker process of the Python GTK demo runs primes_worker(): it counts
# the primes in each block of numbers the host sends it. It lives in its
# own module so that a worker imports this and the overrides, never GTK.

import math
import os

BLOCK_SIZE = 1000000
MAX_LIMIT = 10**12


class SmallPrimes:
    '''The primes up to some bound, grown on demand.'''

    def __init__(self):
        self.bound = 1
        self.primes = []

    def up_to(self, bound):
        if bound > self.bound:
            # Sieve a little further than needed, so that this rarely runs
            # again.
            self.bound = max(2 * bound, 1024)
            composite = bytearray(self.bound + 1)
            self.primes = []
            for n in range(2, self.bound + 1):
                if not composite[n]:
                    self.primes.append(n)
                    composite[n * n::n] = bytes(len(range(n * n, self.bound + 1, n)))
        return self.primes


def count_primes(lo, hi, small_primes):
    '''The number of primes in [lo, hi), by a sieve of Eratosthenes over the
    block; small_primes holds every prime up to at least sqrt(hi).'''
    lo = max(lo, 2)
    if hi <= lo:
        return 0
    size = hi - lo
    is_prime = bytearray(b'\x01') * size
    for p in small_primes:
        if p * p >= hi:
            break
        first = max(p * p, (lo + p - 1) // p * p) - lo
        if first < size:
            is_prime[first::p] = bytes(len(range(first, size, p)))
    return is_prime.count(1)


def primes_worker(messenger):
    '''Answers each request (lo, hi) with (lo, hi, the number of primes in
    [lo, hi)). Ends when the host asks it to (ResourceRequestedClose) or
    goes away.'''
    # Background work: let the application's own process go first.
    os.nice(10)
    small = SmallPrimes()
    while True:
        block = messenger.receive_blocking()
        if not (isinstance(block, tuple) and len(block) == 2 and
                all(type(n) is int for n in block) and
                0 <= block[0] <= block[1] <= MAX_LIMIT and
                block[1] - block[0] <= BLOCK_SIZE):
            # Tell the host, which gets it as a ValueError, and carry on.
            messenger.send_error(ValueError('Cannot sieve %r' % (block,)))
            continue
        lo, hi = block
        primes = small.up_to(math.isqrt(hi) + 1)
        messenger.send_reply((lo, hi, count_primes(lo, hi, primes)))
