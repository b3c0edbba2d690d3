"""Shared fixtures: the demo corpus as a word-level fairseq data-bin, and a helper to run the project's CLIs."""
import os
import re
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)  # the venv's console scripts (fairseq-train, maelm-train, ...)


def run_cli(args, cwd=REPO, check=True, timeout=600, env=None):
    """Run a console script of the venv; on failure show its output in the assertion message."""
    cmd = [os.path.join(BIN, args[0])] + [str(a) for a in args[1:]]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    output = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{output[-6000:]}")
    return proc.returncode, output


def logged_values(output, key, kind="train_inner"):
    """Floats of `key=` (train_inner) or `| key v` (valid) entries in fairseq's log lines."""
    if kind == "train_inner":
        return [float(v) for v in re.findall(rf"train_inner .*?\b{key}=([-\d.]+)", output)]
    return [float(v) for v in re.findall(rf"\| {kind} \|.*?\| {key} ([-\d.]+)", output)]


def tokenize_words(line):
    return " ".join(re.findall(r"\w+|[^\w\s]", line.lower()))


@pytest.fixture(scope="session")
def word_data_bin(tmp_path_factory):
    """The pydoc-topics corpus, lower-cased word tokens, binarized with fairseq-preprocess (vocab capped at 2000)."""
    from maelm_fairseq.data.demo_corpus import write_pretraining_corpus

    root = tmp_path_factory.mktemp("corpus")
    write_pretraining_corpus(str(root))
    for split in ("train", "valid"):
        with open(root / f"{split}.txt") as src, open(root / f"{split}.tok", "w") as out:
            for line in src:
                out.write(tokenize_words(line) + "\n")
    run_cli(["fairseq-preprocess", "--only-source", "--trainpref", root / "train.tok", "--validpref",
             root / "valid.tok", "--destdir", root / "bin", "--nwordssrc", 2000, "--workers", 2])
    return root / "bin"


TINY_TRAIN = ["--tokens-per-sample", 128, "--optimizer", "adam", "--lr", 1e-3, "--lr-scheduler", "inverse_sqrt",
              "--warmup-updates", 10, "--batch-size", 16, "--cpu", "--log-interval", 5, "--log-format", "simple",
              "--no-epoch-checkpoints", "--seed", 1, "--num-workers", 0]
