"""maelm-rank: effective-rank math on hand-computed cases, streaming, [MASK] statistics, fairseq RoBERTa encoders, and
the CLI on a real checkpoint (CSV, JSON, PNG)."""
import argparse
import csv
import json
import math
import os
import subprocess
import sys

import pytest
import torch

from helpers import REPO, TINY_TRAIN, run_cli
from maelm_fairseq.analysis.effective_rank import (Gram, effective_rank, energy_count, mask_subspace_stats,
                                                   spectrum_stats)
from maelm_fairseq.analysis.rank_cli import choose_masks, hidden_states
from maelm_fairseq.analysis.rank_cli import main as rank_main
from model_factory import TINY, batch, build, pretraining_task


def test_identity_has_full_effective_rank():
    assert effective_rank(torch.linalg.svdvals(torch.eye(10))) == pytest.approx(10.0)
    # an orthogonal matrix scaled: the same
    q, _ = torch.linalg.qr(torch.randn(7, 7, dtype=torch.float64))
    assert effective_rank(torch.linalg.svdvals(3 * q)) == pytest.approx(7.0)


def test_rank_one_matrix_has_effective_rank_one():
    x = torch.outer(torch.randn(50, dtype=torch.float64), torch.randn(8, dtype=torch.float64))
    assert effective_rank(torch.linalg.svdvals(x)) == pytest.approx(1.0, abs=1e-6)
    assert energy_count(torch.linalg.svdvals(x), 0.99) == 1


def test_hand_computed_spectrum():
    s = torch.tensor([3.0, 1.0])  # p = (3/4, 1/4): H = -(3/4 ln 3/4 + 1/4 ln 1/4)
    h = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert effective_rank(s) == pytest.approx(math.exp(h))
    # energies 9, 4, 1, 1 of 15: 60 %, 86.7 %, 93.3 %, 100 %
    s = torch.tensor([3.0, 2.0, 1.0, 1.0])
    assert [energy_count(s, q) for q in (0.5, 0.9, 0.95, 0.99)] == [1, 3, 4, 4]
    assert spectrum_stats(torch.ones(10)) == {"effective_rank": pytest.approx(10.0), "rank90": 9, "rank95": 10,
                                              "rank99": 10}
    assert effective_rank(torch.zeros(4)) == 0.0 and energy_count(torch.zeros(4), 0.9) == 0


def test_streamed_gram_gives_the_svd_of_all_rows():
    x = torch.randn(300, 12) @ torch.diag(torch.linspace(0.1, 3, 12))
    gram = Gram(12)
    for part in x.split(37):
        gram.update(part)
    assert gram.count == 300
    torch.testing.assert_close(gram.singular_values(), torch.linalg.svdvals(x.double()), atol=1e-8, rtol=1e-8)


def test_mask_statistics_find_mask_only_directions():
    g = torch.Generator().manual_seed(0)
    real, mask = Gram(6), Gram(6)
    real_rows = torch.zeros(500, 6)
    real_rows[:, :3] = torch.randn(500, 3, generator=g)  # real tokens span e0..e2
    real.update(real_rows)
    outside = torch.zeros(80, 6)
    outside[:, 5] = 1 + 0.1 * torch.randn(80, generator=g)  # every [MASK] along e5
    mask.update(outside)
    stats = mask_subspace_stats(real, mask)
    assert stats["mask_energy_outside_real"] == pytest.approx(1.0)
    assert stats["mask_dominant_dims"] == 1 and stats["mask_dominant_energy"] == pytest.approx(1.0)
    inside = Gram(6)
    inside.update(real_rows[:80] * 0.5)  # masks inside the real span, with less energy than real tokens
    stats = mask_subspace_stats(real, inside)
    assert stats["mask_energy_outside_real"] == pytest.approx(0.0, abs=1e-9)
    assert stats["mask_dominant_dims"] == 0


def test_masks_are_exact_count_of_ordinary_tokens():
    task = pretraining_task()
    d = task.dictionary
    tokens = torch.full((3, 30), d.pad())
    for r, n in enumerate((30, 22, 9)):
        tokens[r, :n] = torch.randint(d.nspecial, 150, (n,))
        tokens[r, 0], tokens[r, n - 1] = d.bos(), d.eos()
    masked = choose_masks(tokens, d, 0.15, torch.Generator().manual_seed(1))
    assert masked.sum(1).tolist() == [round(28 * 0.15), round(20 * 0.15), round(7 * 0.15)]
    assert not (masked & (tokens.eq(d.pad()) | tokens.eq(d.bos()) | tokens.eq(d.eos()))).any()


def test_hidden_states_of_fairseq_roberta_match_ours():
    """The same weights in fairseq's RoBERTa (TransformerEncoder, T x B x C states) and in our encoder."""
    from fairseq.models.roberta import RobertaModel
    from fairseq.models.roberta.model import base_architecture

    task = pretraining_task()
    args = argparse.Namespace(arch="roberta", max_positions=64, **TINY)
    base_architecture(args)
    roberta = RobertaModel.build_model(args, task).eval()
    ours = build("maelm_mlm_base", task, **TINY, rel_pos=0, max_positions=64).eval()
    ours.load_state_dict(roberta.state_dict(), strict=True)
    src, _ = batch(task)
    with torch.no_grad():
        theirs, mine = hidden_states(roberta, src), hidden_states(ours, src)
    assert len(theirs) == len(mine) == TINY["encoder_layers"] + 1
    real = src.ne(task.dictionary.pad())
    for a, b in zip(theirs, mine):
        assert a.shape == b.shape
        torch.testing.assert_close(a[real], b[real], atol=1e-5, rtol=1e-5)


@pytest.fixture(scope="module")
def maelm_checkpoint(word_data_bin, tmp_path_factory):
    """maelm_tiny as shipped (rel-pos bias, 1-layer decoder), 3 updates on the real-text data-bin."""
    save = tmp_path_factory.mktemp("rank_ckpt")
    run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion",
             "maelm", "--arch", "maelm_tiny", "--max-update", 3, "--save-dir", save, "--disable-validation"]
            + TINY_TRAIN)
    return save / "checkpoint_last.pt"


def test_cli_writes_csv_json_png(maelm_checkpoint, word_data_bin, tmp_path):
    out = tmp_path / "rank"
    proc = subprocess.run([sys.executable, "-m", "maelm_fairseq.analysis.rank_cli", str(maelm_checkpoint),
                           str(maelm_checkpoint), "--name", "a", "--name", "b", "--data", str(word_data_bin),
                           "--max-tokens", "1500", "--out", str(out)], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "effective rank per layer, with mask" in proc.stdout
    result = json.loads((tmp_path / "rank.json").read_text())
    assert [m["name"] for m in result["models"]] == ["a", "b"]
    model = result["models"][0]
    assert 1500 <= model["ranked_tokens"] and model["hidden_dim"] == 64
    rows = list(csv.DictReader(open(tmp_path / "rank.csv")))
    layers = 2 + 1  # maelm_tiny: embeddings + 2 layers
    assert len(rows) == 2 * 3 * layers
    for row in rows:
        assert 1 <= float(row["effective_rank"]) <= 64
        assert int(row["rank90"]) <= int(row["rank95"]) <= int(row["rank99"]) <= 64
    without = [r for r in rows if r["model"] == "a" and r["condition"] == "without_mask"]
    with_mask = [r for r in rows if r["model"] == "a" and r["condition"] == "with_mask"]
    assert without[0]["effective_rank"] == with_mask[0]["effective_rank"]  # layer 0: [MASK]s not seen yet
    assert without[-1]["effective_rank"] != with_mask[-1]["effective_rank"]  # attention mixes them in
    assert without[0]["tokens"] == with_mask[0]["tokens"]  # the same ranked tokens in both conditions
    assert rows[0]["effective_rank"] == [r for r in rows if r["model"] == "b"][0]["effective_rank"]  # same masks
    masks = [r for r in rows if r["condition"] == "mask_tokens"]
    assert all(0 <= float(r["mask_energy_outside_real"]) <= 1 for r in masks)
    assert (tmp_path / "rank.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # merging earlier results into one plot
    proc = subprocess.run([sys.executable, "-m", "maelm_fairseq.analysis.rank_cli", "--plot", str(out) + ".json",
                           "--out", str(tmp_path / "merged")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and (tmp_path / "merged.png").is_file(), proc.stderr


def test_cli_usage_errors(word_data_bin, tmp_path, capsys):
    for args, message in ((["missing.pt", "--data", str(word_data_bin)], "no such checkpoint"),
                          ([], "give CHECKPOINT"), (["x.pt", "--data", "d", "--mask-prob", "1.5"], "--mask-prob")):
        assert rank_main(args + ["--out", str(tmp_path / "r")]) == 2
        assert message in capsys.readouterr().err


def test_blocks_longer_than_the_encoder_are_one_line(maelm_checkpoint, word_data_bin, tmp_path, capsys):
    assert rank_main([str(maelm_checkpoint), "--data", str(word_data_bin), "--tokens-per-sample", "600",
                      "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: --tokens-per-sample 600: the checkpoint's encoder has 512 positions — give "
                   "--tokens-per-sample 512 or less")


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        rank_main(["--help"])
    assert exit_info.value.code == 0 and "effective rank" in capsys.readouterr().out
