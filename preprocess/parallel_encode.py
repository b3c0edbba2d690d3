"""Encode lines with a pool of workers, in order, with bounded memory.

`multiprocessing.Pool.imap` pulls its whole input iterator into the task queue as fast as it can, so on a
large file memory grows with the file. Here at most `workers * BATCHES_IN_FLIGHT_PER_WORKER` batches are
submitted ahead of the one being consumed, which keeps memory flat while preserving line order.
"""
import collections
import multiprocessing
import time
from dataclasses import dataclass, field
from itertools import islice

from tqdm import tqdm

from preprocess.text_stream import collapse_blank_lines
from preprocess.tokenizers import load_tokenizer

LINES_PER_BATCH = 1024
BATCHES_IN_FLIGHT_PER_WORKER = 8

_worker_tokenizer = None
_worker_counts_symbols = False


def _load_worker_tokenizer(tokenizer_dir, count_symbols):
    global _worker_tokenizer, _worker_counts_symbols
    _worker_tokenizer = load_tokenizer(tokenizer_dir)
    _worker_counts_symbols = count_symbols


def _encode_batch(lines):
    """Encoded lines, their UTF-8 input size and, when asked, their symbol counts (work done here keeps the
    writing process light)."""
    encoded = [_worker_tokenizer.encode(line) if line else "" for line in lines]
    counts = collections.Counter()
    if _worker_counts_symbols:
        for line in encoded:
            if line:
                counts.update(line.split(" "))
    return encoded, counts, sum(len(line.encode("utf-8")) + 1 for line in lines)


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


def encode_batches(tokenizer_dir, lines, workers, desc="encode", total_bytes=None, meter=None, count_symbols=False):
    """Yield (encoded lines, symbol counts) per batch of `lines`, in order (an empty line stays empty).

    `meter`, when given, is called with the UTF-8 input size of each batch once it is encoded.
    """
    with tqdm(total=total_bytes, unit="B", unit_scale=True, desc=desc, mininterval=1.0, leave=False) as progress:
        results = ordered_parallel_map(
            _encode_batch, batched(lines, LINES_PER_BATCH), workers, _load_worker_tokenizer,
            (str(tokenizer_dir), count_symbols),
        )
        for encoded, counts, size in results:
            progress.update(size)
            if meter:
                meter(size)
            yield encoded, counts


def encode_stream(tokenizer_dir, lines, workers, desc="encode"):
    """Yield the encoding of each line of `lines`, in order, one output line per input line."""
    for encoded, _ in encode_batches(tokenizer_dir, lines, workers, desc):
        yield from encoded


@dataclass
class EncodeStats:
    documents: int = 0
    lines: int = 0
    tokens: int = 0
    input_bytes: int = 0
    seconds: float = 0.0
    symbol_counts: collections.Counter = field(default_factory=collections.Counter)


def encode_documents_to_file(tokenizer_dir, lines, out_path, workers, count_symbols=False, desc="encode", total_bytes=None):
    """Encode a document stream ('' = document break) into `out_path`, one output line per text line.

    Runs of blank lines are collapsed again after encoding because a line can encode to nothing.
    `symbol_counts` is filled only when `count_symbols` is set.
    """
    stats = EncodeStats()
    started = time.perf_counter()

    def add_bytes(size):
        stats.input_bytes += size

    def encoded_lines():
        for encoded, counts in encode_batches(tokenizer_dir, lines, workers, desc, total_bytes, add_bytes, count_symbols):
            stats.symbol_counts.update(counts)
            yield from encoded

    with open(out_path, "w", encoding="utf-8") as out:
        for line in collapse_blank_lines(encoded_lines()):
            out.write(line + "\n")
            if line:
                stats.lines += 1
                stats.tokens += line.count(" ") + 1
            else:
                stats.documents += 1
    if stats.lines:
        stats.documents += 1  # the last document has no blank line after it
    stats.seconds = time.perf_counter() - started
    return stats
