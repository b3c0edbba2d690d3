"""Fixtures of the fine-tuning tests, all session-scoped and built once:

- `sp_data_bin`: the demo corpus through preprocess/pretrain (sentencepiece, 1000 pieces);
- `pretrained_checkpoint`: maelm_tiny pretrained on it for 50 updates (one pretraining serves GLUE and SQuAD);
- `pair_data_bin`: a sentence-pair task from the demo corpus in fairseq's GLUE layout (input0/, input1/ binarized
  with the pretraining dict, label/), plus `regression/` with the same inputs and float labels (STS-B layout);
- `squad_data`: tests/fixtures/squad_v2_tiny.json through preprocess/squad as train and valid features;
- `squad_run`: SQuAD fine-tuning from `pretrained_checkpoint` on `squad_data` ((save dir, log)).

conftest.py registers them for the whole session: a test names them as arguments and imports nothing from
here but the constants (importing a fixture into a test module builds it again for that module).
"""
import os
import sys

import pytest

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


# The metrics a SQuAD v2.0 evaluation reports (the official script's names).
SQUAD_V2_METRICS = ("exact", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "best_exact",
                    "best_exact_thresh", "best_f1", "best_f1_thresh")


@pytest.fixture(scope="session")
def sp_data_bin(tmp_path_factory):
    from maelm_fairseq.data.demo_corpus import write_pretraining_corpus

    root = tmp_path_factory.mktemp("sp_corpus")
    write_pretraining_corpus(str(root))
    out = root / "bin"
    run_cli([sys.executable, os.path.join(REPO, "preprocess", "pretrain", "prepare_corpus.py"), "--input",
             root / "train.txt", "--valid-input", root / "valid.txt", "--output", out, "--vocab-size", 1000])
    return out


@pytest.fixture(scope="session")
def pretrained_checkpoint(sp_data_bin, tmp_path_factory):
    return pretrain(sp_data_bin, tmp_path_factory.mktemp("pretrain"))


@pytest.fixture(scope="session")
def pair_data_bin(sp_data_bin, tmp_path_factory):
    from preprocess.tokenizers import load_tokenizer

    tokenizer = load_tokenizer(sp_data_bin)
    root = tmp_path_factory.mktemp("pairs")
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
    return out


@pytest.fixture(scope="session")
def squad_data(sp_data_bin, tmp_path_factory):
    """9 questions (2 impossible), train = valid, so fine-tuning can be checked to reach the gold answers."""
    out = tmp_path_factory.mktemp("squad") / "features"
    run_cli([sys.executable, os.path.join(REPO, "preprocess", "squad", "prepare_squad.py"), "--train-json",
             SQUAD_JSON, "--valid-json", SQUAD_JSON, "--tokenizer-dir", sp_data_bin, "--output", out,
             "--max-seq-length", 256, "--doc-stride", 128])
    return out


@pytest.fixture(scope="session")
def squad_run(squad_data, pretrained_checkpoint, tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("squad_ft")
    _, output = run_cli(["fairseq-train", squad_data, *SQUAD_TRAIN, "--restore-file", pretrained_checkpoint,
                         "--reset-optimizer", "--reset-dataloader", "--reset-meters", "--max-update", SQUAD_UPDATES,
                         "--save-dir", save_dir, "--best-checkpoint-metric", "f1",
                         "--maximize-best-checkpoint-metric"], env=CPU_ENV)
    return save_dir, output
