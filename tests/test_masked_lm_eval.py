"""maelm_fairseq/evaluation/masked_lm.py and the demo's reporting scripts: the unigram reference is what a
frequency-only model scores, model and reference are scored on the same masked text tokens, <s> never counts."""
import json
import math
import os
import runpy
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from fairseq.data import data_utils

from helpers import REPO
from maelm_fairseq.evaluation.masked_lm import masked_lm_bits, unigram_log2_probs, unigram_reference_bits
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask


@pytest.fixture(scope="module")
def task(word_data_bin):
    task = MaelmTask.setup_task(MaelmConfig(data=str(word_data_bin), tokens_per_sample=64, seed=1))
    task.load_dataset("valid")
    return task


def test_unigram_reference_is_the_add_one_frequency_model(word_data_bin, task):
    d = task.source_dictionary
    train = data_utils.load_indexed_dataset(os.path.join(word_data_bin, "train"), d)
    counts = np.ones(len(d))
    for i in range(len(train)):
        for t in train[i].tolist():
            counts[t] += 1
    counts[[d.bos(), d.pad(), task.mask_idx]] = 0
    log2_probs = unigram_log2_probs(str(word_data_bin), d)
    assert float(log2_probs[d.eos()]) == pytest.approx(math.log2(counts[d.eos()] / counts.sum()))
    assert torch.isinf(log2_probs[[d.bos(), d.pad(), task.mask_idx]]).all()
    valid = data_utils.load_indexed_dataset(os.path.join(word_data_bin, "valid"), d)
    tokens = [t for i in range(len(valid)) for t in valid[i].tolist()]
    expected = -sum(math.log2(counts[t] / counts.sum()) for t in tokens) / len(tokens)
    assert unigram_reference_bits(str(word_data_bin), d) == pytest.approx(expected, rel=1e-9)


class FrequencyModel(torch.nn.Module):
    """A 'masked LM' whose logits are the unigram log-probabilities: it must score exactly the reference."""

    def __init__(self, log2_probs):
        super().__init__()
        self.logits = log2_probs.clamp(min=-1e4).float() * math.log(2)

    def forward(self, src_tokens, masked_tokens=None, **unused):
        return self.logits.expand(int(masked_tokens.sum()), -1), {}


def test_model_and_reference_are_scored_on_the_same_tokens_without_bos(word_data_bin, task):
    log2_probs = unigram_log2_probs(str(word_data_bin), task.source_dictionary)
    model_bits, reference_bits = masked_lm_bits(FrequencyModel(log2_probs), task, unigram=log2_probs)
    assert model_bits == pytest.approx(reference_bits, rel=1e-5)  # bos excluded: its -inf would show up here
    # and the masked tokens are a fair sample of the split: close to the mask-free expectation
    assert reference_bits == pytest.approx(unigram_reference_bits(str(word_data_bin), task.source_dictionary),
                                           abs=0.3)


def test_unigram_cli_prints_and_writes(word_data_bin, tmp_path):
    out = subprocess.run([sys.executable, "-m", "maelm_fairseq.evaluation.masked_lm", str(word_data_bin), "--out",
                          str(tmp_path / "u.json")], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert float(out.strip().splitlines()[-1]) == pytest.approx(json.load(open(tmp_path / "u.json"))["unigram_bits"],
                                                                abs=1e-3)


@pytest.mark.parametrize("missing", ["dict.txt", "valid"])
def test_unigram_cli_names_what_is_missing(word_data_bin, tmp_path, missing):
    data = shutil.copytree(word_data_bin, tmp_path / "bin")
    for name in ("dict.txt",) if missing == "dict.txt" else ("valid.bin", "valid.idx"):
        os.remove(data / name)
    run = subprocess.run([sys.executable, "-m", "maelm_fairseq.evaluation.masked_lm", str(data)],
                         capture_output=True, text=True, cwd=REPO)
    expected = {
        "dict.txt": f"error: {data / 'dict.txt'}: dictionary not found; the data directory must hold the dict.txt "
                    f"written by fairseq-preprocess: create it with fairseq-preprocess --only-source (see "
                    f"preprocess/README.md)",
        "valid": f"error: {data / 'valid'}.bin/.idx: no `valid` split in {data} — binarize it with "
                 f"fairseq-preprocess (preprocess/README.md)",
    }[missing]
    assert run.returncode == 2 and run.stderr.splitlines()[-1] == expected and "Traceback" not in run.stderr


def test_progress_condenses_fairseq_lines(monkeypatch, capsys):
    import io

    log = ("2026-01-01 | INFO | train_inner | epoch 001:     50 / 151 loss=9.5, accuracy=4, enc_tok_frac=0.85, "
           "enc_erank=80.2, enc_cos=0.1, ppl=5, wps=9000.5, ups=3, num_updates=50, lr=0.001\n"
           "2026-01-01 | INFO | valid | epoch 001 | valid on 'valid' subset | loss 8.9 | accuracy 8 | enc_erank 77 | "
           "wps 30000 | num_updates 100 | best_loss 8.9\n"
           "2026-01-01 | INFO | fairseq_cli.train | done training in 99.0 seconds\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(log))
    monkeypatch.setattr(sys, "argv", ["progress.py", "--unigram", "9.2"])
    runpy.run_path(os.path.join(REPO, "examples", "tiny", "progress.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "update    50  train loss  9.500  enc_erank   80.2" in out
    assert "update   100  VALID loss  8.900  = +0.300 bits under the unigram model" in out
    assert "done training in 99.0 seconds" in out


def write_finetune_log(path, accuracies):
    with open(path, "w") as fh:
        for epoch, acc in enumerate(accuracies, 1):
            fh.write(f"| valid | epoch {epoch:03d} | valid on 'valid' subset | loss 0.6 | accuracy {acc} | f1 1\n")


@pytest.mark.parametrize("pretrained, scratch, verdict", [
    ([[60, 70], [71], [69.5]], [[50, 51], [52], [50.5]], "pretraining helps: +19.0 points"),
    ([[50, 51], [52], [50.5]], [[51, 50], [52.5], [49]], "no gain from pretraining beyond the seed noise"),
    ([[60, 61], [62], [60.5]], [[61, 60], [62.5], [59]], "no gain from pretraining beyond the seed noise"),
])
def test_finetune_summary_verdict(tmp_path, monkeypatch, capsys, pretrained, scratch, verdict):
    for arm, runs in (("pretrained", pretrained), ("scratch", scratch)):
        for seed, accs in enumerate(runs, 1):
            write_finetune_log(tmp_path / f"finetune-{arm}-seed{seed}.log", accs)
    (tmp_path / "valid.tsv").write_text("sentence\tlabel\n" + "a\t1\n" * 3 + "b\t0\n" * 2)  # majority 60 %
    monkeypatch.setattr(sys, "argv", ["finetune_summary.py", str(tmp_path), "--seeds", "1", "2", "3",
                                      "--task", "Reviews", "--valid-tsv", str(tmp_path / "valid.tsv")])
    runpy.run_path(os.path.join(REPO, "examples", "tiny", "finetune_summary.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert verdict in out
    assert "Reviews, valid accuracy (best epoch per seed; majority class 60.0%)" in out
    assert "from the MAE-LM encoder" in out and "(seeds: " in out
    assert ("within 5 points of the majority class" in out) == (max(map(max, pretrained + scratch)) < 65)
