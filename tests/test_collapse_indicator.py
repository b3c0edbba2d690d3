"""The maelm criterion's encoder-collapse indicator (enc_erank, enc_cos): logged by fairseq-train for train and
valid, ~1 for collapsed representations and ~the width for isotropic ones, and invisible to training."""
import pytest
import torch
from fairseq import metrics

import maelm_fairseq.pretrain.criterion as criterion_module
from helpers import TINY_TRAIN, logged_values, run_cli
from maelm_fairseq.modules.model_extra import ModelExtra
from maelm_fairseq.pretrain.criterion import COLLAPSE_ROWS, MaelmCriterion, encoder_collapse_logs
from model_factory import batch, build, pretraining_task


def test_logged_by_fairseq_train_for_train_and_valid(word_data_bin, tmp_path):
    out = run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion",
                   "maelm", "--arch", "maelm_tiny", "--max-update", 10, "--save-dir", tmp_path, "--no-save"]
                  + TINY_TRAIN)[1]
    for kind in ("train_inner", "valid"):
        eranks, cosines = logged_values(out, "enc_erank", kind), logged_values(out, "enc_cos", kind)
        assert eranks and len(eranks) == len(cosines), out[-3000:]
        assert all(1.0 <= r <= 64.0 for r in eranks) and all(-1.0 <= c <= 1.0 for c in cosines)


def indicator(rows, real=None):
    """enc_erank / enc_cos of one batch whose encoder output is `rows` (B, T, C), through the criterion's path."""
    real = real if real is not None else torch.ones(rows.shape[:2], dtype=torch.bool)
    log = encoder_collapse_logs(ModelExtra(None, real.sum(), encoder_out=rows, encoder_real=real))
    return float(log["enc_erank_sum"]) / log["enc_stat_batches"], float(log["enc_cos_sum"])


def test_near_one_when_collapsed_and_near_the_width_when_isotropic():
    g = torch.Generator().manual_seed(0)
    width = 64
    direction = torch.randn(width, generator=g)
    collapsed = direction + 1e-3 * torch.randn(8, 128, width, generator=g)
    real = torch.rand(8, 128, generator=g) > 0.3
    noisy = torch.where(real.unsqueeze(-1), collapsed, 100 * torch.randn(8, 128, width, generator=g))
    erank, cos = indicator(noisy, real)  # pad / <mask> rows (huge noise here) are never sampled
    assert 1.0 <= erank < 1.1 and cos > 0.99
    isotropic = torch.randn(8, 128, width, generator=g)
    erank, cos = indicator(isotropic)
    assert erank > 0.9 * width and abs(cos) < 0.05
    # the same rows whatever the global RNG state, and the RNG stream untouched
    state = torch.get_rng_state()
    assert indicator(isotropic) == indicator(isotropic)
    assert torch.equal(state, torch.get_rng_state())
    # at most COLLAPSE_ROWS rows: 8 x 128 real tokens are sampled at a stride (rank bound min(rows, width))
    erank, _ = indicator(torch.randn(8, 128, 2 * COLLAPSE_ROWS, generator=g))
    assert 0.8 * COLLAPSE_ROWS < erank <= COLLAPSE_ROWS
    # fewer than two real rows: nothing counted
    nothing_real = torch.zeros(8, 128, dtype=torch.bool)
    log = encoder_collapse_logs(ModelExtra(None, nothing_real.sum(), encoder_out=isotropic, encoder_real=nothing_real))
    assert log["enc_stat_batches"] == 0


@pytest.mark.parametrize("decoder_layers", [1, 0])
def test_model_exposes_last_encoder_layer_at_real_tokens(decoder_layers):
    task = pretraining_task()
    model = build("maelm_tiny", task, decoder_layers=decoder_layers, dropout=0.0).eval()
    src, target = batch(task)
    _, extra = model(src, masked_tokens=target.ne(task.dictionary.pad()))
    real = src.ne(task.dictionary.pad()) & src.ne(task.mask_idx)
    assert int(extra["encoder_real"].sum()) == int(real.sum())
    features, _ = model(src, features_only=True)  # encoder on the full input (decoder path: <mask> included)
    if decoder_layers == 0:
        assert torch.equal(extra["encoder_out"][extra["encoder_real"]], features[real])
    assert extra["encoder_out"].shape[-1] == features.shape[-1]


def train_steps(monkeypatch, with_indicator, steps=3):
    if not with_indicator:
        monkeypatch.setattr(criterion_module, "encoder_collapse_logs", lambda extra: {})
    torch.manual_seed(1)
    task = pretraining_task()
    model = build("maelm_tiny", task).train()  # dropout 0.1: draws from the global RNG every step
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = MaelmCriterion(task)
    src, target = batch(task)
    sample = {"net_input": {"src_tokens": src}, "target": target, "ntokens": int(target.ne(1).sum()),
              "nsentences": src.size(0)}
    losses, logs = [], []
    for _ in range(steps):
        loss, _, log = crit(model, sample)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        logs.append(log)
    monkeypatch.undo()
    return losses, model.state_dict(), logs


def test_does_not_perturb_training(monkeypatch):
    losses, params, logs = train_steps(monkeypatch, True)
    assert all(log["enc_stat_batches"] == 1 for log in logs)
    again, params_again, _ = train_steps(monkeypatch, True)
    plain, plain_params, plain_logs = train_steps(monkeypatch, False)
    assert "enc_erank_sum" not in plain_logs[0]
    assert losses == again == plain
    assert all(torch.equal(params[k], plain_params[k]) and torch.equal(params[k], params_again[k]) for k in params)

    # the reduce: summed logging outputs (fairseq's fast path, all workers) give the mean over batches
    with metrics.aggregate() as agg:
        MaelmCriterion.reduce_metrics([{k: sum(log[k] for log in logs) for k in logs[0]}])
    eranks = [float(log["enc_erank_sum"]) for log in logs]
    assert agg.get_smoothed_value("enc_erank") == pytest.approx(sum(eranks) / len(eranks), abs=0.01)
