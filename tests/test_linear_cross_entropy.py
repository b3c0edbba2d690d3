"""Criterion `maelm --fused-head-loss` (modules/linear_cross_entropy.py) against the plain path: fairseq's
log-softmax + NLL on the LM head's logits. Same loss, accuracy and gradients (fp32 tolerance), for the function alone
and for the criterion on MLM and MAE-LM/3ML models; the flag reaches the criterion from fairseq-train's command line
and changes what runs; a model that is not ours is refused in one line."""
import pytest
import torch
import torch.nn.functional as F
from fairseq import modules, options
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

import maelm_fairseq
import maelm_fairseq.pretrain.criterion as criterion_module
import maelm_fairseq.tasks  # noqa: F401  registers the plugin
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.modules.linear_cross_entropy import linear_cross_entropy
from maelm_fairseq.pretrain.criterion import MaelmCriterion
from model_factory import TINY, batch, build, pretraining_task


def plain(x, weight, bias, target):
    logits = F.linear(x, weight) + bias  # RobertaLMHead's projection
    loss = modules.cross_entropy(logits, target, reduction="sum")
    return loss, (logits.argmax(-1) == target).sum()


@pytest.mark.parametrize("rows", [0, 1, 37])
def test_function_equals_plain_path(rows):
    torch.manual_seed(rows)
    weight = torch.randn(50, 16, requires_grad=True)
    bias = torch.randn(50, requires_grad=True)
    x = torch.randn(rows, 16, requires_grad=True)
    target = torch.randint(0, 50, (rows,))
    target[:rows // 2] = (x[:rows // 2] @ weight.t() + bias).argmax(-1)  # some rows right, for the accuracy
    results = []
    for fn in (plain, linear_cross_entropy):
        loss, correct = fn(x, weight, bias, target)
        grads = torch.autograd.grad(3.0 * loss, (x, weight, bias))  # a loss scale reaches every gradient
        results.append((loss.detach(), correct, grads))
    (loss_a, correct_a, grads_a), (loss_b, correct_b, grads_b) = results
    torch.testing.assert_close(loss_b, loss_a, rtol=1e-5, atol=1e-5)
    assert int(correct_b) == int(correct_a) and (rows < 2 or int(correct_a) > 0)
    for a, b in zip(grads_a, grads_b):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6)


def test_without_gradients_only_the_loss_is_computed():
    x, weight, target = torch.randn(4, 8), torch.randn(10, 8), torch.randint(0, 10, (4,))
    with torch.no_grad():
        loss, correct = linear_cross_entropy(x, weight, None, target)
    torch.testing.assert_close(loss, F.cross_entropy(x @ weight.t(), target, reduction="sum"))


CONFIGS = {"mlm": dict(decoder_layers=0), "threeml_self": dict(decoder_layers=2, mask_embedding="learned")}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_criterion_equals_plain_path(name, monkeypatch):
    task = pretraining_task()
    src, target = batch(task, rows=4, length=24, mask_prob=0.4)
    sample = {"net_input": {"src_tokens": src}, "target": target, "ntokens": int(src.ne(1).sum()), "nsentences": 4}
    torch.manual_seed(0)
    model = build("maelm_tiny", task, **TINY, **CONFIGS[name]).train()
    plain_calls = []
    original = modules.cross_entropy
    monkeypatch.setattr(criterion_module.modules, "cross_entropy",
                        lambda *a, **k: plain_calls.append(1) or original(*a, **k))
    results = []
    for fused in (False, True):
        model.zero_grad()
        loss, size, log = MaelmCriterion(task, fused_head_loss=fused)(model, sample)
        loss.backward()
        results.append((loss.detach(), size, log, {n: p.grad.clone() for n, p in model.named_parameters()
                                                   if p.grad is not None}))
    assert len(plain_calls) == 1  # the fused criterion never built the log-softmax
    (loss_a, size_a, log_a, grads_a), (loss_b, size_b, log_b, grads_b) = results
    torch.testing.assert_close(loss_b, loss_a, rtol=1e-5, atol=1e-5)
    assert size_a == size_b and int(log_a["n_correct"]) == int(log_b["n_correct"])
    assert grads_a.keys() == grads_b.keys()
    for n in grads_a:
        torch.testing.assert_close(grads_b[n], grads_a[n], rtol=1e-4, atol=1e-6, msg=n)


def test_flag_reaches_the_criterion_from_the_command_line():
    argv = ["unused", "--user-dir", maelm_fairseq.__path__[0], "--task", "maelm", "--arch", "maelm_tiny",
            "--criterion", "maelm"]
    for flags, expected in (([], False), (["--fused-head-loss"], True)):
        args = options.parse_args_and_arch(options.get_training_parser(), argv + flags)
        cfg = convert_namespace_to_omegaconf(args)
        assert pretraining_task().build_criterion(cfg.criterion).fused_head_loss is expected


def test_fused_head_loss_refuses_another_model():
    import argparse

    from fairseq.models.roberta import RobertaModel
    from fairseq.models.roberta.model import base_architecture

    task = pretraining_task()
    args = argparse.Namespace(arch="roberta", **{k: v for k, v in TINY.items()}, max_positions=64)
    base_architecture(args)
    roberta = RobertaModel.build_model(args, task)
    src, target = batch(task)
    sample = {"net_input": {"src_tokens": src}, "target": target, "ntokens": 1, "nsentences": 1}
    with pytest.raises(UserInputError, match="--fused-head-loss: fuses the LM head of the maelm model"):
        MaelmCriterion(task, fused_head_loss=True)(roberta, sample)

