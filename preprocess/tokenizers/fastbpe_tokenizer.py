"""Moses tokenization (sacremoses) followed by fastBPE codes, as XLM-style pipelines do; also learns the codes."""
import subprocess
import sys
from itertools import islice
from pathlib import Path

import fastBPE
from sacremoses import MosesTokenizer

from preprocess.errors import fail

# Codes are learned from at most this many lines of the training text, so learning cost is bounded.
CODES_TRAINING_LINE_CAP = 2_000_000


class MosesWords:
    """Moses word tokenization, optionally lowercased."""

    def __init__(self, lowercase):
        self.moses = MosesTokenizer(lang="en")
        self.lowercase = lowercase

    def tokenize(self, line):
        # escape=False keeps '&', '<', '"' as themselves so decoded text stays readable.
        tokens = self.moses.tokenize(line, escape=False, return_str=True)
        return tokens.lower() if self.lowercase else tokens


class FastBpeTokenizer:
    kind = "fastbpe"

    def __init__(self, codes_path, lowercase=False):
        self.words = MosesWords(lowercase)
        self.bpe = fastBPE.fastBPE(str(codes_path))

    def encode(self, line):
        tokens = self.words.tokenize(line)
        return self.bpe.apply([tokens])[0] if tokens else ""

    def decode(self, symbols):
        return " ".join(symbols).replace("@@ ", "")

    def vocabulary(self):
        return None


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
    from preprocess.parallel_encode import LINES_PER_BATCH, batched, ordered_parallel_map
    from preprocess.text_stream import iter_stripped_lines

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
