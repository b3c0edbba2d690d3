"""Theoretical FLOPs of one training step for every system in the family, counted from the layer shapes.

A multiply-add counts 2 FLOPs; only matrix products are counted (embedding lookups, LayerNorm, softmax, GELU,
dropout, the optimizer and the index operations are left out: < 1 % at these shapes). Training = forward +
backward = 3 x forward. Lengths are the REAL tokens of each row (padding is waste, not theory).

One self-attention layer over m tokens (width d, FFN f):
    A(m) = 8 m d^2 (Q, K, V, O) + 4 m d f (FFN) + 4 m^2 d (QK^T and AV)
One cross-attention block (3ML_cross), n queries over m encoder outputs:
    X(n, m) = 4 n d^2 (Q, O) + 4 m d^2 (K, V) + 4 n m d
LM head at the t predicted positions only (dense d x d, tied output d x V):
    H(t) = t (2 d^2 + 2 d V)
Per sequence with n real tokens, t of them predicted, c of them <mask> (deleted from the encoder):
    RoBERTa / maelm_mlm : L A(n) + H(t)
    MAE-LM / 3ML_self   : L A(n - c) + D A(n) + H(t)
    3ML_cross           : L A(n - c) + D (A(n) + X(n, n - c)) + H(t)
"""
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Shape:
    layers: int
    dim: int
    ffn: int
    vocab: int
    decoder_layers: int = 0
    decoder_type: str = "self"  # "self" or "cross"; ignored when decoder_layers == 0


def attention_layer(m: float, d: int, f: int) -> float:
    return 8 * m * d * d + 4 * m * d * f + 4 * m * m * d


def cross_attention(n: float, m: float, d: int) -> float:
    return 4 * n * d * d + 4 * m * d * d + 4 * n * m * d


def lm_head(t: float, d: int, vocab: int) -> float:
    return t * (2 * d * d + 2 * d * vocab)


def forward_flops(shape: Shape, n: float, predicted: float, deleted: float = 0.0) -> float:
    """Forward FLOPs of one sequence: n real tokens, `predicted` of them scored, `deleted` of them (<mask>)
    dropped from the encoder (0 for RoBERTa / maelm_mlm, whose encoder sees <mask>)."""
    d, f = shape.dim, shape.ffn
    total = shape.layers * attention_layer(n - deleted, d, f) + lm_head(predicted, d, shape.vocab)
    if shape.decoder_layers:
        per_layer = attention_layer(n, d, f)
        if shape.decoder_type == "cross":
            per_layer += cross_attention(n, n - deleted, d)
        total += shape.decoder_layers * per_layer
    return total


def train_flops(shape: Shape, n: float, predicted: float, deleted: float = 0.0) -> float:
    return 3 * forward_flops(shape, n, predicted, deleted)


def batch_train_flops(shape: Shape, lengths: Iterable[int], predicted: Iterable[int],
                      deleted: Sequence[int] = None) -> float:
    """Training FLOPs of a batch, row by row (no padding)."""
    lengths, predicted = list(lengths), list(predicted)
    deleted = list(deleted) if deleted is not None else [0] * len(lengths)
    return sum(train_flops(shape, n, t, c) for n, t, c in zip(lengths, predicted, deleted))


def padded_train_flops(shape: Shape, lengths: Sequence[int], predicted: Sequence[int],
                       deleted: Sequence[int] = None) -> float:
    """What a padded implementation computes: every row at the batch's longest length (encoder: the longest
    kept length; decoder: the longest full length)."""
    deleted = list(deleted) if deleted is not None else [0] * len(lengths)
    n_max = max(lengths)
    enc_max = max(n - c for n, c in zip(lengths, deleted))
    d, f = shape.dim, shape.ffn
    per_row = shape.layers * attention_layer(enc_max, d, f)
    if shape.decoder_layers:
        layer = attention_layer(n_max, d, f)
        if shape.decoder_type == "cross":
            layer += cross_attention(n_max, enc_max, d)
        per_row += shape.decoder_layers * layer
    return 3 * (len(lengths) * per_row + lm_head(sum(predicted), d, shape.vocab))


# Dense bf16/fp16 tensor-core peaks from NVIDIA's data sheets (SXM parts; the sheets also print twice these, with
# structured sparsity), FLOP/s. The H200 has the H100's compute.
PEAK_FLOPS = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12, "V100": 125e12}
