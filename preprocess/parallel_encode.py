"""Encode a text file line by line with a pool of workers, in order, with bounded memory.

`multiprocessing.Pool.imap` pulls its whole input iterator into the task queue as fast as it can, so on a
large file memory grows with the file. Here at most `workers * BATCHES_IN_FLIGHT_PER_WORKER` batches are
submitted ahead of the one being written, which keeps memory flat while preserving line order.
"""
import collections
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from itertools import islice

from tqdm import tqdm

from preprocess.text_stream import collapse_blank_lines
from preprocess.tokenizers import load_tokenizer

LINES_PER_BATCH = 512
BATCHES_IN_FLIGHT_PER_WORKER = 8

_worker_tokenizer = None


def _load_worker_tokenizer(tokenizer_dir):
    global _worker_tokenizer
    _worker_tokenizer = load_tokenizer(tokenizer_dir)


def _encode_batch(lines):
    encoded = [_worker_tokenizer.encode(line) if line else "" for line in lines]
    return encoded, os.getpid()


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


@dataclass
class EncodeStats:
    lines: int = 0
    documents: int = 0
    tokens: int = 0
    input_bytes: int = 0
    seconds: float = 0.0
    worker_pids: set = field(default_factory=set)
    symbol_counts: collections.Counter = field(default_factory=collections.Counter)


def encode_lines_to_file(tokenizer_dir, lines, out_path, workers, count_symbols=False, desc="encode", total_bytes=None):
    """Encode `lines` (an iterator of stripped lines, '' = document break) and write one line per input line.

    Blank lines pass through unchanged; runs of them are collapsed again after encoding because a line can
    encode to nothing. Returns EncodeStats; `symbol_counts` is filled only when `count_symbols` is set.
    """
    stats = EncodeStats()
    started = time.perf_counter()
    batches = batched(lines, LINES_PER_BATCH)
    # Input bytes are counted as batches are handed out, so the progress bar follows the reader.
    def metered(batch_iter):
        for batch in batch_iter:
            size = sum(len(line.encode("utf-8")) + 1 for line in batch)
            stats.input_bytes += size
            progress.update(size)
            yield batch

    with open(out_path, "w", encoding="utf-8") as out, tqdm(
        total=total_bytes, unit="B", unit_scale=True, desc=desc, mininterval=1.0, leave=False
    ) as progress:
        results = ordered_parallel_map(_encode_batch, metered(batches), workers, _load_worker_tokenizer, (str(tokenizer_dir),))

        def encoded_lines():
            for encoded, pid in results:
                stats.worker_pids.add(pid)
                yield from encoded

        for line in collapse_blank_lines(encoded_lines()):
            out.write(line + "\n")
            if not line:
                stats.documents += 1
                continue
            stats.lines += 1
            symbols = line.split(" ")
            stats.tokens += len(symbols)
            if count_symbols:
                stats.symbol_counts.update(symbols)
    if stats.lines:
        stats.documents += 1  # the last document has no trailing blank line
    stats.seconds = time.perf_counter() - started
    return stats
