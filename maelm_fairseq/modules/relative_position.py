"""T5-style bucketed relative-position bias, one table shared by all encoder layers (MAE-LM's `--rel-pos`).

This file imports only torch and the standard library: maelm-export-hf copies it as is next to the exported HF
modeling code, which must load without this package (tests/test_citations.py checks the imports).

Buckets follow the MAE-LM code (github.com/yumeng5/MAE-LM): signed distance (key - query), half of the bins per
direction, exact buckets up to bins/4, log-spaced (rounded up) beyond, saturating at max_distance. They are computed from the positions the tokens
had in the ORIGINAL sequence, so deleting masked tokens does not change the distances between the kept ones.
"""
import math

import torch
import torch.nn as nn


def buckets_valid(num_buckets: int) -> bool:
    """Half of the buckets per direction, of which half are exact distances: a multiple of 4, and at least 8."""
    return num_buckets >= 8 and num_buckets % 4 == 0


def min_max_distance(num_buckets: int) -> int:
    """The smallest max_distance for `num_buckets`: the log-spaced buckets span distances from num_buckets/4 to
    max_distance - 1, a range that must not be empty (the log of its ratio divides)."""
    return num_buckets // 4 + 2


def relative_position_bucket(relative_position: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Bucket ids in [0, num_buckets - 2]; distance 0 maps to num_buckets/2 - 1."""
    half = num_buckets // 2
    max_exact = half // 2
    sign = torch.sign(relative_position)
    distance = relative_position.abs()
    log_ratio = torch.log(distance.clamp(min=1).float() / max_exact) / math.log((max_distance - 1) / max_exact)
    far = (max_exact + torch.ceil(log_ratio * (max_exact - 1))).long().clamp(max=half - 1)
    unsigned = torch.where(distance < max_exact, distance, far)
    return unsigned * sign + (half - 1)


class RelativePositionBias(nn.Module):
    def __init__(self, num_buckets: int, max_distance: int, num_heads: int, init: str = "normal"):
        super().__init__()
        # the plugin checks its flags first (models/checks.py); this guards other callers, such as the HF export
        if not buckets_valid(num_buckets):
            raise ValueError(f"num_buckets must be a multiple of 4 and >= 8, got {num_buckets}")
        if max_distance < min_max_distance(num_buckets):
            raise ValueError(f"max_distance must be >= {min_max_distance(num_buckets)} for {num_buckets} buckets, "
                             f"got {max_distance}")
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        if init == "local":
            self.weight = nn.Parameter(local_bias(num_buckets, max_distance, num_heads))
        else:  # MAE-LM's N(0, 0.02)
            self.weight = nn.Parameter(torch.empty(num_buckets, num_heads).normal_(std=0.02))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """positions (B, T) original positions -> bias (B, H, T, T) in the parameter's dtype."""
        relative = positions[:, None, :] - positions[:, :, None]  # key - query
        buckets = relative_position_bucket(relative, self.num_buckets, self.max_distance)
        # F.embedding, not self.weight[buckets]: the backward of advanced indexing (index_put_ with accumulate) sums
        # the many repeated bucket ids in a thread-dependent order on CPU, so training was not bitwise reproducible
        # (nor bit-exact after resume); embedding's backward is deterministic. Same values either way.
        return nn.functional.embedding(buckets, self.weight).permute(0, 3, 1, 2)


def local_bias(num_buckets: int, max_distance: int, num_heads: int) -> torch.Tensor:
    """A bias table under which every head starts out attending near itself (`--rel-pos-init local`): head h
    subtracts slope_h * distance (distance 0 counted as 1, so a token does not start out attending only to itself),
    slopes 1, 2^(-8/H), ..., 2^(-8(H-1)/H) as in ALiBi. With N(0, 0.02) a small model spends thousands of updates
    learning that neighbours matter (the unigram plateau); with this start it uses context within a few hundred."""
    distance = torch.arange(-max_distance, max_distance + 1)
    buckets = relative_position_bucket(distance, num_buckets, max_distance)
    nearest = torch.full((num_buckets,), float(max_distance)).scatter_reduce(
        0, buckets, distance.abs().float(), reduce="amin")  # smallest distance each bucket holds
    slopes = 2.0 ** (-8.0 * torch.arange(num_heads) / num_heads)
    return -nearest.clamp(min=1)[:, None] * slopes[None, :]
