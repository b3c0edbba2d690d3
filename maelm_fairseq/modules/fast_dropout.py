"""`--fast-dropout 1`: dropout masks drawn from 15-bit random integers on the CPU, and attention dropout without
leaving SDPA's fused CPU kernel for its math path's Bernoulli draws.

Why: torch's CPU dropout draws one Bernoulli variate per element from its Mersenne-Twister generator (`bernoulli_`,
~13 ns per element on the project's Xeon, one thread), and SDPA has no fused CPU kernel with dropout, so attention
dropout also sends every layer through the math path (scores, a safe softmax, a (B, H, T, T) Bernoulli draw). At 6
layers, d 384, batch 8 x 256 that is ~0.4 s of a ~2.4 s MLM step (benchmarks/README.md, "Profile"). Here one 64-bit
draw of the same generator gives four 15-bit uniforms (bit 15 of each 16-bit lane is dropped: the generator's
int64 draws leave the top bit 0), an element is kept when its uniform is >= round(p * 2^15), and kept elements are
scaled by 1 / (1 - p'), with p' = that threshold / 2^15 the rate actually used (|p' - p| <= 2^-16), so the expected
output equals the input exactly. Attention applies that mask to the softmax probabilities of a plain
`q k^T` / softmax / `@ v` computation.

Same distribution up to p' and the same seeding as the rest of training (torch's generator), but not the same random
stream as torch's dropout, so it is opt-in: the papers' runs keep torch's dropout bit for bit. Tensors on other
devices keep torch's dropout and SDPA (CUDA's generator is already cheap and its fused attention kernels support
dropout).
"""
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

BITS = 15
LEVELS = 1 << BITS


def keep_threshold(p: float) -> int:
    """Uniforms in [0, 2^15) below this are dropped: the closest rate to p on a 2^-15 grid."""
    return round(p * LEVELS)


def scaled_keep_mask(shape, p: float, dtype: torch.dtype, device) -> torch.Tensor:
    """A (shape) tensor of 0 (dropped) and 1 / (1 - p') (kept), p' = keep_threshold(p) / 2^15."""
    n = math.prod(shape)
    draws = torch.empty((n + 3) // 4, dtype=torch.int64, device=device).random_()
    uniforms = draws.view(torch.int16)[:n].bitwise_and(LEVELS - 1)  # 4 lanes per draw, 15 bits each
    threshold = keep_threshold(p)
    keep = uniforms.ge(threshold).view(shape)
    return keep.to(dtype).mul_(LEVELS / (LEVELS - threshold))


def fast_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu":
        return F.dropout(x, p, True)
    return x * scaled_keep_mask(x.shape, p, x.dtype, x.device)


class FastDropout(nn.Module):
    """nn.Dropout's interface with the mask of `scaled_keep_mask` on CPU tensors."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def attention_with_fast_dropout(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Optional[torch.Tensor],
                                p: float) -> torch.Tensor:
    """softmax(q k^T / sqrt(d) + bias), dropped out by `scaled_keep_mask`, times v: (B, H, T, D) each; what SDPA
    computes with dropout_p = p, with the mask of this module."""
    scores = torch.matmul(q, k.transpose(-1, -2)).mul_(q.size(-1) ** -0.5)
    if bias is not None:
        scores = scores + bias
    probs = torch.softmax(scores, dim=-1)
    return torch.matmul(probs * scaled_keep_mask(probs.shape, p, probs.dtype, probs.device), v)


def use_fast_attention_dropout(enabled: bool, q: torch.Tensor, p: float) -> bool:
    """Whether an attention call takes `attention_with_fast_dropout`: flag on, dropout active, CPU tensors."""
    return enabled and p > 0.0 and q.device.type == "cpu"
