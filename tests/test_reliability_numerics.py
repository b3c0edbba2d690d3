"""Numerical safety: fp16 dynamic loss scaling through fairseq's trainer with injected overflows, minimum scale
-> stop with a message and crash.pt, NaN/inf loss -> FloatingPointError naming the sample ids, fp32 loss/softmax.

fairseq 0.12.2 runs --fp16 on CPU only with --fp16-no-flatten-grads, and its overflow branch calls
`torch.tensor(0.0).cuda()`; the CPU variant stands that one call in with an identity `.cuda` (test only). The
CUDA variant runs the same scenario unchanged when a GPU is present and is skipped otherwise."""
import re
import sys

import pytest
import torch

from helpers import TINY_TRAIN

DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(),
                       reason="needs a CUDA device: fairseq's --fp16 loss scaler on the GPU (flattened fp16 grads)")])]


def train_in_process(data, save_dir, *extra, device="cpu"):
    from maelm_fairseq.cli import run_train

    base = [a for a in TINY_TRAIN if not (device == "cuda" and a == "--cpu")]
    args = [data, "--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny", "--save-dir", save_dir,
            "--disable-validation", "--no-epoch-checkpoints"] + base + ["--log-interval", 1] + list(extra)
    argv = sys.argv
    try:
        return run_train([str(a) for a in args])
    finally:
        sys.argv = argv


@pytest.fixture
def inject(monkeypatch):
    """inject(calls, kind): on those training forward calls (1-based), make the gradients inf ("grad") or the loss
    nan ("loss"). Returns the list of sample-id tensors seen, one per call."""
    from maelm_fairseq.pretrain.criterion import MaelmCriterion

    original = MaelmCriterion.forward
    seen = []

    def setup(calls, kind):
        def forward(self, model, sample, reduce=True):
            if not self.training:
                return original(self, model, sample, reduce)
            seen.append(sample["id"].clone())
            if len(seen) in calls and kind == "loss":
                sample = {**sample, "net_input": dict(sample["net_input"])}
                loss, sample_size, log = original(self, _NanModel(model), sample, reduce)
                return loss, sample_size, log
            loss, sample_size, log = original(self, model, sample, reduce)
            if len(seen) in calls and kind == "grad":
                loss.register_hook(lambda g: g * float("inf"))  # finite loss, inf gradients: an fp16 overflow
            return loss, sample_size, log

        monkeypatch.setattr(MaelmCriterion, "forward", forward)
        return seen

    return setup


class _NanModel(torch.nn.Module):
    """Wraps a model so its logits become nan (a forward pass that diverged)."""

    def __init__(self, model):
        super().__init__()
        self.inner = model

    def forward(self, *args, **kwargs):
        logits, extra = self.inner(*args, **kwargs)
        return logits * float("nan"), extra


def fp16_flags(device, monkeypatch):
    if device == "cuda":
        return ["--fp16"]
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self)  # fairseq's overflow branch, see above
    return ["--fp16", "--fp16-no-flatten-grads"]


@pytest.mark.parametrize("device", DEVICES)
def test_loss_scaler_backs_off_on_overflow_and_recovers(word_data_bin, tmp_path, inject, monkeypatch, caplog,
                                                        device):
    inject({2}, "grad")
    flags = fp16_flags(device, monkeypatch) + ["--fp16-init-scale", 8, "--fp16-scale-window", 2]
    caplog.set_level("INFO")
    status = train_in_process(word_data_bin, tmp_path, "--max-update", 4, "--no-save", *flags, device=device)
    assert status == 0
    assert "gradient overflow detected, ignoring gradient, setting loss scale to: 4.0" in caplog.text
    scales = [float(v) for v in re.findall(r"\bloss_scale=([\d.]+)", caplog.text)]
    updates = [int(v) for v in re.findall(r"\bnum_updates=(\d+)", caplog.text)]
    assert updates == [1, 2, 3, 4]  # the overflowing batch made no update, training went on
    assert scales == [8, 4, 8, 8], scales  # halved on the overflow, doubled back after --fp16-scale-window 2


@pytest.mark.parametrize("device", DEVICES)
def test_minimum_loss_scale_stops_with_message_and_checkpoint(word_data_bin, tmp_path, inject, monkeypatch,
                                                              device):
    inject(set(range(2, 100)), "grad")
    flags = fp16_flags(device, monkeypatch) + ["--fp16-init-scale", 8, "--min-loss-scale", 2]
    with pytest.raises(FloatingPointError, match=r"Minimum loss scale reached \(2.0\)"):
        train_in_process(word_data_bin, tmp_path, "--max-update", 20, *flags, device=device)
    state = torch.load(tmp_path / "crash.pt", map_location="cpu", weights_only=False)  # saved before stopping
    assert state["optimizer_history"][-1]["num_updates"] >= 1


def test_nan_loss_stops_naming_the_sample_ids(word_data_bin, tmp_path, inject):
    seen = inject({3}, "loss")
    with pytest.raises(FloatingPointError, match=r"non-finite loss \(nan\) on the batch with sample ids \[") as e:
        train_in_process(word_data_bin, tmp_path, "--max-update", 10, "--no-save")
    ids = seen[2].tolist()
    assert f"[{', '.join(map(str, ids[:20]))}" in str(e.value) and "not a loss-scale overflow" in str(e.value)
    assert len(seen) == 3  # stopped on that batch: no silent divergence


def test_loss_and_softmax_stay_fp32_with_a_half_model():
    from model_factory import TINY, batch, build, pretraining_task

    from maelm_fairseq.pretrain.criterion import MaelmCriterion

    task = pretraining_task()
    model = build("maelm_tiny", task, **TINY).half()
    src, target = batch(task)
    sample = {"id": torch.arange(len(src)), "net_input": {"src_tokens": src}, "target": target,
              "ntokens": int(target.ne(1).sum()), "nsentences": len(src)}
    logits, _ = model(src, masked_tokens=target.ne(1))
    loss, _, _ = MaelmCriterion(task).forward(model, sample)
    assert logits.dtype == torch.float16 and loss.dtype == torch.float32 and torch.isfinite(loss)
    reference = torch.nn.functional.cross_entropy(logits.float(), target[target.ne(1)], reduction="sum")
    assert torch.allclose(loss, reference, rtol=1e-5)
