"""Encode lines with a pool of workers (preprocess/process_pool.py), in order, with bounded memory."""
import collections
import time
from dataclasses import dataclass, field

from tqdm import tqdm

from preprocess.process_pool import LINES_PER_BATCH, batched, ordered_parallel_map
from preprocess.text_stream import collapse_blank_lines
from preprocess.tokenizers import load_tokenizer

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
