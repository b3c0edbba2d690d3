"""`--fast-dropout 1` (modules/fast_dropout.py): the same dropout as torch's, with cheaper masks on CPU.

Given the same mask, each piece gives the plain path's outputs and gradients (FastDropout = x * mask; attention = SDPA's
math path with that dropout mask); the masks drop at rate p' (within 2^-16 of p) and keep the expectation; the model
gives identical outputs and gradients to the plain one where no dropout acts (eval, p = 0); and the flag does
something: in training every dropout site draws its mask here and SDPA never sees a dropout probability.
"""
import pytest
import torch
import torch.nn.functional as F

from model_factory import TINY, batch, build, pretraining_task
from maelm_fairseq.modules import fast_dropout, transformer_layer
from maelm_fairseq.modules.fast_dropout import FastDropout, attention_with_fast_dropout, keep_threshold


def rate(p):
    return keep_threshold(p) / 2 ** 15


def test_masks_drop_at_the_rate_and_keep_the_expectation():
    torch.manual_seed(0)
    for p in (0.1, 0.5):
        mask = fast_dropout.scaled_keep_mask((1 << 20,), p, torch.float32, "cpu")
        dropped = mask.eq(0).double().mean().item()
        assert abs(rate(p) - p) <= 2 ** -16
        assert abs(dropped - rate(p)) < 5 * (p * (1 - p) / (1 << 20)) ** 0.5  # 5 standard deviations
        values = mask.unique().tolist()
        assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(1 / (1 - rate(p)))
        assert abs(mask.double().mean().item() - 1) < 0.01
    a = fast_dropout.scaled_keep_mask((1000,), 0.1, torch.float32, "cpu")
    b = fast_dropout.scaled_keep_mask((1000,), 0.1, torch.float32, "cpu")
    assert not torch.equal(a, b)  # fresh draws of torch's generator
    torch.manual_seed(3)
    a = fast_dropout.scaled_keep_mask((1000,), 0.1, torch.float32, "cpu")
    torch.manual_seed(3)
    assert torch.equal(a, fast_dropout.scaled_keep_mask((1000,), 0.1, torch.float32, "cpu"))  # seeded as training


def fixed_masks(monkeypatch, p):
    """Make scaled_keep_mask return masks drawn here (recorded), so the plain path can reuse them."""
    drawn = []

    def mask(shape, p_, dtype, device):
        keep = torch.rand(shape) >= p
        drawn.append(keep)
        return keep.to(dtype) / (1 - rate(p_))

    monkeypatch.setattr(fast_dropout, "scaled_keep_mask", mask)
    return drawn


def test_fast_dropout_is_x_times_the_mask(monkeypatch):
    drawn = fixed_masks(monkeypatch, 0.1)
    x = torch.randn(6, 5, requires_grad=True)
    y = FastDropout(0.1).train()(x)
    y.backward(torch.ones_like(y))
    keep = drawn[0].float() / (1 - rate(0.1))
    torch.testing.assert_close(y, x * keep, rtol=0, atol=0)
    torch.testing.assert_close(x.grad, keep, rtol=0, atol=0)
    assert torch.equal(FastDropout(0.1).eval()(x), x)


def test_attention_equals_sdpa_math_with_the_same_dropout_mask(monkeypatch):
    drawn = fixed_masks(monkeypatch, 0.1)
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 4, requires_grad=True) for _ in range(3))
    bias = torch.zeros(2, 1, 1, 7)
    bias[1, ..., 5:] = torch.finfo(torch.float32).min / 2  # padded keys, as Layout's bias
    out = attention_with_fast_dropout(q, k, v, bias, 0.1)
    grads = torch.autograd.grad(out.sum(), (q, k, v))
    ref, _ = torch.ops.aten._scaled_dot_product_attention_math(q, k, v, bias, rate(0.1), dropout_mask=drawn[0])
    ref_grads = torch.autograd.grad(ref.sum(), (q, k, v))
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r, atol=1e-6, rtol=1e-5)


CONFIGS = {"mlm": dict(decoder_layers=0), "threeml_cross": dict(decoder_layers=2, decoder_type="cross",
                                                                 mask_embedding="learned")}


def run(model, src, target, pad):
    model.zero_grad()
    predicted = target.ne(pad)
    logits, _ = model(src, masked_tokens=predicted)
    F.cross_entropy(logits, target[predicted]).backward()
    return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_model_equals_plain_path_where_no_dropout_acts(name):
    task = pretraining_task()
    pad = task.dictionary.pad()
    src, target = batch(task, rows=3, length=20, mask_prob=0.3)
    for dropout, train in ((0.1, False), (0.0, True)):
        overrides = dict(TINY, dropout=dropout, attention_dropout=dropout, decoder_dropout=dropout)
        torch.manual_seed(0)
        plain = build("maelm_tiny", task, **overrides, **CONFIGS[name], fast_dropout=0).train(train)
        fast = build("maelm_tiny", task, **overrides, **CONFIGS[name], fast_dropout=1).train(train)
        fast.load_state_dict(plain.state_dict())
        (logits_a, grads_a), (logits_b, grads_b) = run(plain, src, target, pad), run(fast, src, target, pad)
        assert torch.equal(logits_a, logits_b)
        assert grads_a.keys() == grads_b.keys() and all(torch.equal(grads_a[n], grads_b[n]) for n in grads_a)


@pytest.mark.parametrize("flag", [0, 1])
def test_flag_decides_who_draws_the_masks(monkeypatch, flag):
    task = pretraining_task()
    src, target = batch(task, rows=3, length=20, mask_prob=0.3)
    torch.manual_seed(0)
    model = build("maelm_tiny", task, **dict(TINY, dropout=0.1, attention_dropout=0.1, decoder_dropout=0.1),
                  **CONFIGS["threeml_cross"], fast_dropout=flag).train()
    ours, torch_dropout, sdpa_dropout = [], [], []
    original_mask, original_dropout = fast_dropout.scaled_keep_mask, F.dropout
    original_sdpa = F.scaled_dot_product_attention
    monkeypatch.setattr(fast_dropout, "scaled_keep_mask", lambda *a: ours.append(a) or original_mask(*a))
    monkeypatch.setattr(F, "dropout", lambda x, p=0.5, training=True, inplace=False: torch_dropout.append(p) or
                        original_dropout(x, p, training, inplace))
    monkeypatch.setattr(transformer_layer.F, "scaled_dot_product_attention",
                        lambda *a, dropout_p=0.0, **k: sdpa_dropout.append(dropout_p) or original_sdpa(
                            *a, dropout_p=dropout_p, **k))
    run(model, src, target, task.dictionary.pad())
    layers = TINY["encoder_layers"] + 2  # encoder + decoder layers
    if flag:
        # embedding dropout (encoder, decoder), two residual dropouts per layer, attention (self; cross in decoder)
        assert len(ours) >= 2 + 2 * layers + layers and not any(p > 0 for p in torch_dropout + sdpa_dropout)
    else:
        assert not ours and any(p > 0 for p in torch_dropout) and any(p > 0 for p in sdpa_dropout)
