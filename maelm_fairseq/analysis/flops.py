"""Theoretical FLOPs of one training step for every system in the family, counted from the layer shapes.

A multiply-add counts 2 FLOPs; only matrix products are counted (embedding lookups, LayerNorm, softmax, GELU,
dropout, the optimizer and the index operations are left out: < 1 % at these shapes). Training = forward +
backward = 3 x forward. Lengths are the REAL tokens of each row (padding is waste, not theory).

One self-attention layer over m tokens (width d, FFN f), q of them queried (q = m but in the last decoder layer
below):
    A(m, q) = 4 m d^2 (K, V) + 4 q d^2 (Q, O) + 4 q d f (FFN) + 4 q m d (QK^T and AV);  A(m) = A(m, m)
One cross-attention block (3ML_cross), n queries over m encoder outputs:
    X(n, m) = 4 n d^2 (Q, O) + 4 m d^2 (K, V) + 4 n m d
LM head at the t predicted positions only (dense d x d, tied output d x V):
    H(t) = t (2 d^2 + 2 d V)
Per sequence with n real tokens, t of them predicted, c of them <mask> (deleted from the encoder):
    RoBERTa / maelm_mlm : L A(n) + H(t)
    MAE-LM / 3ML_self   : L A(n - c) + D A(n) + H(t)
    3ML_cross           : L A(n - c) + D (A(n) + X(n, n - c)) + H(t)
as the papers count them (every decoder layer computes every position). `Shape.last_layer_predicted`: what our
model runs in training, where the decoder's last layer computes only the t predicted positions, whose outputs are
all that is read (modules/transformer_layer.Subset): its A(n) becomes A(n, t), its X(n, n - c) X(t, n - c).
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
    last_layer_predicted: bool = False  # the last decoder layer at the predicted positions only (our model)


def attention_layer(m: float, d: int, f: int, queries: float = None) -> float:
    q = m if queries is None else queries
    return 4 * m * d * d + 4 * q * d * d + 4 * q * d * f + 4 * q * m * d


def decoder_flops(shape: Shape, n: float, predicted: float, encoder_len: float) -> float:
    """Forward FLOPs of the decoder over n tokens (cross-attending to encoder_len encoder outputs)."""
    def layer(queries):
        per_layer = attention_layer(n, shape.dim, shape.ffn, queries)
        if shape.decoder_type == "cross":
            per_layer += cross_attention(queries, encoder_len, shape.dim)
        return per_layer

    last = predicted if shape.last_layer_predicted else n
    return (shape.decoder_layers - 1) * layer(n) + layer(last)


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
        total += decoder_flops(shape, n, predicted, n - deleted)
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
    per_row = shape.layers * attention_layer(enc_max, shape.dim, shape.ffn)
    if shape.decoder_layers:
        per_row += decoder_flops(shape, n_max, max(predicted), enc_max)
    return 3 * (len(lengths) * per_row + lm_head(sum(predicted), shape.dim, shape.vocab))


# Dense bf16/fp16 tensor-core peaks from NVIDIA's data sheets (SXM parts; the sheets also print twice these, with
# structured sparsity), FLOP/s. The H200 has the H100's compute.
PEAK_FLOPS = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12, "V100": 125e12}
