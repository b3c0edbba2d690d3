"""Fixtures of the fine-tuning tests, all session-scoped and built once:

- `sp_data_bin`: the demo corpus through preprocess/pretrain (sentencepiece, 1000 pieces);
- `pretrained_checkpoint`: maelm_tiny pretrained on it for 50 updates (one pretraining serves GLUE and SQuAD);
- `pair_data_bin`: a sentence-pair task from the demo corpus in fairseq's GLUE layout (input0/, input1/ binarized
  with the pretraining dict, label/), plus `regression/` with the same inputs and float labels (STS-B layout);
- `squad_data`: tests/fixtures/squad_v2_tiny.json through preprocess/squad as train and valid features;
- `squad_run`: SQuAD fine-tuning from `pretrained_checkpoint` on `squad_data` ((save dir, log)).

conftest.py registers them for the whole session: a test names them as arguments and imports nothing from
here but the constants (importing a fixture into a test module builds it again for that module). Under
pytest-xdist each is built once for all workers (`built_once`), not once per worker.
"""
import os
import shutil
import sys

import pytest
from filelock import FileLock

from helpers import CPU_ENV, REPO, TINY_TRAIN, run_cli
from maelm_fairseq.data.demo_corpus import topic_pairs

PRETRAIN_UPDATES = 50
SQUAD_JSON = os.path.join(REPO, "tests", "fixtures", "squad_v2_tiny.json")
SQUAD_TRAIN = ["--user-dir", "maelm_fairseq", "--task", "maelm_squad", "--criterion", "maelm_squad",
               "--arch", "maelm_tiny", "--optimizer", "adam", "--lr", 2e-3, "--batch-size", 16, "--cpu",
               "--num-workers", 0, "--log-format", "simple", "--seed", 1, "--no-epoch-checkpoints",
               "--no-save-optimizer-state", "--validate-interval", 1000]
SQUAD_UPDATES = 80


def pretrain(data_bin, save_dir):
    run_cli(["fairseq-train", data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion", "maelm",
             "--arch", "maelm_tiny", *TINY_TRAIN, "--max-update", PRETRAIN_UPDATES, "--save-dir", save_dir,
             "--no-save-optimizer-state"], env=CPU_ENV)
    return os.path.join(save_dir, "checkpoint_last.pt")


def built_once(tmp_path_factory, name, build):
    """The directory `name`, filled by `build(directory)` once per test run: pytest-xdist's workers share it (the
    first to ask builds it while the others wait on its lock), so a fixture two workers need costs one build. Tests
    only read what is in it."""
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent  # the workers' base directories are popen-gwN under one run directory
    out = root / f"built-{name}"
    with FileLock(f"{out}.lock"):
        if not (out / ".built").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            build(out)
            (out / ".built").touch()
    return out


# The metrics a SQuAD v2.0 evaluation reports (the official script's names).
SQUAD_V2_METRICS = ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "best_exact",
                    "best_exact_thresh", "best_f1", "best_f1_thresh")


@pytest.fixture(scope="session")
def sp_data_bin(tmp_path_factory):
    from maelm_fairseq.data.demo_corpus import write_pretraining_corpus

    def build(root):
        write_pretraining_corpus(str(root))
        run_cli([sys.executable, os.path.join(REPO, "preprocess", "pretrain", "prepare_corpus.py"), "--input",
                 root / "train.txt", "--valid-input", root / "valid.txt", "--output", root / "bin", "--vocab-size",
                 1000])

    return built_once(tmp_path_factory, "sp_corpus", build) / "bin"


@pytest.fixture(scope="session")
def pretrained_checkpoint(sp_data_bin, tmp_path_factory):
    return os.path.join(built_once(tmp_path_factory, "pretrain", lambda out: pretrain(sp_data_bin, out)),
                        "checkpoint_last.pt")


@pytest.fixture(scope="session")
def pair_data_bin(sp_data_bin, tmp_path_factory):
    from preprocess.tokenizers import load_tokenizer

    def build(root):
        tokenizer = load_tokenizer(sp_data_bin)
        rows = topic_pairs()
        n_valid = len(rows) // 5
        for split, split_rows in (("valid", rows[:n_valid]), ("train", rows[n_valid:])):
            for column, values in (("input0", [tokenizer.encode(r[0]) for r in split_rows]),
                                   ("input1", [tokenizer.encode(r[1]) for r in split_rows]),
                                   ("label", [str(r[2]) for r in split_rows])):
                (root / f"{split}.{column}").write_text("\n".join(values) + "\n")
        out = root / "bin"
        for column in ("input0", "input1", "label"):
            dictionary = [] if column == "label" else ["--srcdict", sp_data_bin / "dict.txt"]
            run_cli(["fairseq-preprocess", "--only-source", "--trainpref", root / f"train.{column}", "--validpref",
                     root / f"valid.{column}", "--destdir", out / column, *dictionary, "--workers", 1])
        regression = out / "regression"  # STS-B layout: label/{split}.label holds floats, no label dictionary
        (regression / "label").mkdir(parents=True)
        for column in ("input0", "input1"):
            os.symlink(out / column, regression / column)
        for split in ("train", "valid"):
            labels = (root / f"{split}.label").read_text().split()
            (regression / "label" / f"{split}.label").write_text("".join(f"{0.2 + 0.6 * int(v)}\n" for v in labels))

    return built_once(tmp_path_factory, "pairs", build) / "bin"


@pytest.fixture(scope="session")
def squad_data(sp_data_bin, tmp_path_factory):
    """9 questions (2 impossible), train = valid, so fine-tuning can be checked to reach the gold answers."""
    def build(root):
        run_cli([sys.executable, os.path.join(REPO, "preprocess", "squad", "prepare_squad.py"), "--train-json",
                 SQUAD_JSON, "--valid-json", SQUAD_JSON, "--tokenizer-dir", sp_data_bin, "--output",
                 root / "features", "--max-seq-length", 256, "--doc-stride", 128])

    return built_once(tmp_path_factory, "squad", build) / "features"


@pytest.fixture(scope="session")
def squad_run(squad_data, pretrained_checkpoint, tmp_path_factory):
    def build(save_dir):
        _, output = run_cli(["fairseq-train", squad_data, *SQUAD_TRAIN, "--restore-file", pretrained_checkpoint,
                             "--reset-optimizer", "--reset-dataloader", "--reset-meters", "--max-update",
                             SQUAD_UPDATES, "--save-dir", save_dir, "--best-checkpoint-metric", "f1",
                             "--maximize-best-checkpoint-metric"], env=CPU_ENV)
        (save_dir / "train.log").write_text(output)

    save_dir = built_once(tmp_path_factory, "squad_ft", build)
    return save_dir, (save_dir / "train.log").read_text()
