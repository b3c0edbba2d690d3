"""Learning fastBPE codes: Moses-tokenize the training text with a pool of workers, then run fastBPE's learner."""
import subprocess
import sys
from itertools import islice
from pathlib import Path

from preprocess.errors import fail
from preprocess.process_pool import LINES_PER_BATCH, batched, ordered_parallel_map
from preprocess.text_stream import iter_stripped_lines
from preprocess.tokenizers.fastbpe_tokenizer import MosesWords

# Codes are learned from at most this many lines of the training text, so learning cost is bounded.
CODES_TRAINING_LINE_CAP = 2_000_000


def fastbpe_cli():
    """The `fastbpe` learner installed next to the running Python (the venv's bin/)."""
    path = Path(sys.executable).parent / "fastbpe"
    if not path.is_file():
        fail(path, "fastBPE command-line learner not found", "run install.sh, which builds fastbpe into the venv")
    return path


_worker_words = None


def _load_worker_words(lowercase):
    global _worker_words
    _worker_words = MosesWords(lowercase)


def _tokenize_batch(lines):
    return [_worker_words.tokenize(line) for line in lines]


def learn_codes(text_path, n_codes, codes_path, lowercase, workers, scratch_dir):
    """Moses-tokenize (in parallel) the first lines of `text_path`, then learn `n_codes` fastBPE merges."""
    tokenized_path = Path(scratch_dir, "codes_training.tok")
    lines = (line for line in islice(iter_stripped_lines([text_path]), CODES_TRAINING_LINE_CAP) if line)
    batches = batched(lines, LINES_PER_BATCH)
    with open(tokenized_path, "w", encoding="utf-8") as out:
        for tokenized in ordered_parallel_map(_tokenize_batch, batches, workers, _load_worker_words, (lowercase,)):
            out.writelines(line + "\n" for line in tokenized)
    result = subprocess.run(
        [str(fastbpe_cli()), "learnbpe", str(n_codes), str(tokenized_path)], capture_output=True, text=True
    )
    if result.returncode != 0 or not result.stdout.strip():
        fail(text_path, f"fastbpe learnbpe failed: {result.stderr.strip()[-300:]}", "check the training text")
    Path(codes_path).write_text(result.stdout)
    tokenized_path.unlink()
