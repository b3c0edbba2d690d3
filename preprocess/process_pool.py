"""Map a function over batches of lines with a pool of workers, in input order, with bounded memory.

`multiprocessing.Pool.imap` pulls its whole input iterator into the task queue as fast as it can, so on a
large file memory grows with the file. Here at most `workers * BATCHES_IN_FLIGHT_PER_WORKER` batches are
submitted ahead of the one being consumed, which keeps memory flat while preserving line order.
"""
import collections
import multiprocessing
from itertools import islice

LINES_PER_BATCH = 1024
BATCHES_IN_FLIGHT_PER_WORKER = 8


def ordered_parallel_map(function, items, workers, initializer, initargs):
    """Like Pool.imap (results in input order) but never more than a fixed number of items ahead."""
    if workers <= 1:
        initializer(*initargs)
        yield from map(function, items)
        return
    window = workers * BATCHES_IN_FLIGHT_PER_WORKER
    with multiprocessing.Pool(workers, initializer=initializer, initargs=initargs) as pool:
        pending = collections.deque()
        for item in items:
            pending.append(pool.apply_async(function, (item,)))
            if len(pending) >= window:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def batched(iterable, size):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch
