"""Fixtures and hooks only; the helpers the tests share are in helpers.py."""
import os

import pytest

from helpers import CPU_ENV, run_cli  # imports no torch

# `make test` runs two pytest-xdist workers, one per core: torch's default of one thread per core in each would
# put four busy threads on two cores. Set before anything imports torch (subprocesses inherit it).
if "PYTEST_XDIST_WORKER" in os.environ:
    for name, value in CPU_ENV.items():
        os.environ.setdefault(name, value)

# The fine-tuning fixtures, registered here so that each is built once per session: a test module that imports
# them itself gets its own copies, built again for that module.
from finetune_fixtures import (  # noqa: F401,E402
    built_once, pair_data_bin, pretrained_checkpoint, sp_data_bin, squad_data, squad_run)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cuda: needs a CUDA device (each test's skip says what else); `pytest -m cuda tests/` runs "
                   "exactly these, as benchmarks/gpu_check.sh does")


@pytest.fixture(scope="session")
def word_data_bin(tmp_path_factory):
    """The pydoc-topics corpus, lower-cased word tokens, binarized with fairseq-preprocess (vocab capped at 2000)."""
    from maelm_fairseq.data.demo_corpus import word_tokens, write_pretraining_corpus

    def build(root):
        write_pretraining_corpus(str(root))
        for split in ("train", "valid"):
            with open(root / f"{split}.txt") as src, open(root / f"{split}.tok", "w") as out:
                for line in src:
                    out.write(word_tokens(line) + "\n")
        run_cli(["fairseq-preprocess", "--only-source", "--trainpref", root / "train.tok", "--validpref",
                 root / "valid.tok", "--destdir", root / "bin", "--nwordssrc", 2000, "--workers", 2])

    return built_once(tmp_path_factory, "word_corpus", build) / "bin"
