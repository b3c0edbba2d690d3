"""The LM head's output projection and the summed cross-entropy in one step (criterion `maelm --fused-head-loss`).

The plain path builds five (N, V) tensors per step at the N predicted positions (the projection, + bias,
log-softmax, the NLL gradient, the log-softmax gradient) and a sixth pass for the accuracy's argmax. At 3ML's
p = 0.5 with V = 24,576 and 8 x 256 tokens that is 100 MB each, allocated and walked through memory (and, unless
freed blocks are kept in the process as the `maelm` task has glibc do, pretrain/cpu_allocator.py, page-faulted in
afresh every step). Here the logits are made once
(`addmm`), turned in place into the gradient softmax - onehot, and the input, weight and bias gradients are taken
from it right away, in the forward pass, so nothing (N, V) outlives it; the accuracy comes from the same row maximum
that stabilises the softmax (a row counts as right when its target's logit is that maximum: argmax's first maximum
differs only on an exact tie). Same loss and gradients as the plain path up to float rounding
(tests/test_linear_cross_entropy.py); the gradients are computed in forward even when only the loss is wanted, so it
is for training (validation runs under no_grad and skips them).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


class LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, target):
        """x (N, C) head features, weight (V, C), bias (V,) or None, target (N,) -> (summed loss, n_correct)."""
        logits = F.linear(x, weight, bias).float()  # softmax in fp32 whatever the model's precision, as fairseq's
        rowmax = logits.amax(dim=-1)  # values only: ~4x cheaper than max()'s (values, indices) on CPU
        target_shifted = logits.gather(1, target.unsqueeze(1)).squeeze(1) - rowmax
        n_correct = target_shifted.ge(0).sum()
        probs = logits.sub_(rowmax.unsqueeze(1)).exp_()
        total = probs.sum(dim=-1)
        loss = (total.log() - target_shifted).sum()
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        ctx.grads = None
        if needs_x or needs_weight or needs_bias:
            grad_logits = probs.div_(total.unsqueeze(1))
            rows = torch.arange(target.numel(), device=target.device)
            grad_logits[rows, target] -= 1  # d(sum of -log softmax[target]) / d logits = softmax - onehot
            grad_logits = grad_logits.to(x.dtype)
            ctx.grads = (grad_logits @ weight if needs_x else None,
                         grad_logits.t() @ x if needs_weight else None,
                         grad_logits.sum(0) if needs_bias else None)
        ctx.mark_non_differentiable(n_correct)
        return loss, n_correct

    @staticmethod
    def backward(ctx, grad_loss, grad_n_correct):
        grads, ctx.grads = ctx.grads, None  # used once: scaled in place
        return tuple(g.mul_(grad_loss.to(g.dtype)) if g is not None else None for g in grads) + (None,)


def linear_cross_entropy(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                         target: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """sum_i -log softmax(x_i weight^T + bias)[target_i], and the number of rows whose target's logit is the row
    maximum."""
    return LinearCrossEntropy.apply(x, weight, bias, target)
