"""Post-LN Transformer layer with RoBERTa's parameter names, attending through torch SDPA with an additive bias.

fairseq's own encoder layer turns any `attn_mask` into a 0/-inf mask, so it cannot carry MAE-LM's relative-position
bias; this layer takes one additive float bias (padding and rel-pos folded together) and hands it to
`scaled_dot_product_attention`. Module names match fairseq's TransformerEncoderLayer / TransformerDecoderLayer, so
RoBERTa state dicts load unchanged.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from fairseq import utils
from fairseq.modules import LayerNorm

from .fast_dropout import FastDropout, attention_with_fast_dropout, use_fast_attention_dropout


class Attention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float, kv_dim: Optional[int] = None,
                 fast_dropout: bool = False):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embedding dim {embed_dim} is not divisible by {num_heads} attention heads")
        kv_dim = kv_dim or embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.fast_dropout = fast_dropout  # --fast-dropout: attention dropout on CPU without SDPA's math path
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(kv_dim, embed_dim)
        self.v_proj = nn.Linear(kv_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.num_heads, C // self.num_heads).transpose(1, 2)

    def forward(self, query, key_value, bias: Optional[torch.Tensor], q_pack: Optional["Packing"] = None,
                kv_pack: Optional["Packing"] = None):
        """query (B, T, C), key_value (B, S, C_kv), bias additive, broadcastable to (B, H, T, S) or None.

        Packed (unpadded) form, for either side: query (N, C) with `q_pack`, key_value (M, C_kv) with `kv_pack`;
        with packed keys `bias` holds only what is not padding (rel-pos, or None) and their padding comes from
        `kv_pack`."""
        q, k, v = self.q_proj(query), self.k_proj(key_value), self.v_proj(key_value)
        dropout = self.dropout if self.training else 0.0
        if q_pack is None and kv_pack is None:
            q, k, v = self._heads(q), self._heads(k), self._heads(v)
            out = self._attend(q, k, v, bias, dropout)
            return self.out_proj(out.transpose(1, 2).flatten(2))
        if q_pack is not None and kv_pack is not None and bias is None and dropout == 0.0 and use_varlen(q):
            h = self.num_heads
            out = varlen_attn(q.unflatten(-1, (h, -1)), k.unflatten(-1, (h, -1)), v.unflatten(-1, (h, -1)),
                              q_pack.cu_seqlens, kv_pack.cu_seqlens, q_pack.max_len, kv_pack.max_len)
            return self.out_proj(out.flatten(1))
        # Only the attention scores need the padded layout: projections and FFN stay on the real tokens.
        if kv_pack is not None:
            pad_bias = kv_pack.padding_bias(q.dtype)
            bias = pad_bias if bias is None else (bias if pad_bias is None else bias + pad_bias)
            k, v = kv_pack.unpack(k), kv_pack.unpack(v)
        q = q if q_pack is None else q_pack.unpack(q)
        out = self._attend(self._heads(q), self._heads(k), self._heads(v), bias, dropout).transpose(1, 2).flatten(2)
        return self.out_proj(out if q_pack is None else q_pack.pack(out))

    def _attend(self, q, k, v, bias, dropout):
        if use_fast_attention_dropout(self.fast_dropout, q, dropout):
            return attention_with_fast_dropout(q, k, v, bias, dropout)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=dropout)


class TransformerLayer(nn.Module):
    """Self-attention (+ optional cross-attention) + FFN, each followed by dropout, residual and LayerNorm."""

    def __init__(self, embed_dim, ffn_dim, num_heads, dropout, attention_dropout, activation_dropout,
                 activation_fn="gelu", cross_attention=False, memory_dim=None, fast_dropout=False):
        super().__init__()
        self.self_attn = Attention(embed_dim, num_heads, attention_dropout, fast_dropout=fast_dropout)
        self.self_attn_layer_norm = LayerNorm(embed_dim)
        if cross_attention:
            self.encoder_attn = Attention(embed_dim, num_heads, attention_dropout, kv_dim=memory_dim,
                                          fast_dropout=fast_dropout)
            self.encoder_attn_layer_norm = LayerNorm(embed_dim)
        else:
            self.encoder_attn = None
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)
        self.final_layer_norm = LayerNorm(embed_dim)
        self.activation_fn = utils.get_activation_fn(activation_fn)
        dropout_module = FastDropout if fast_dropout else nn.Dropout
        self.dropout = dropout_module(dropout)
        self.activation_dropout = dropout_module(activation_dropout)

    def forward(self, x, bias=None, memory=None, memory_bias=None, pack=None, memory_pack=None,
                subset: Optional["Subset"] = None):
        """x (B, T, C), or (N, C) packed real tokens with `pack` (then memory is (M, C) with `memory_pack`).

        With `subset` (the last layer, when only some positions are read): keys and values from every token of x,
        everything else (queries, output projection, residuals, LayerNorms, FFN) for the subset's rows only;
        returns those rows, (S, C) in row-major order."""
        queries, q_pack = x, pack
        if subset is not None:
            queries, q_pack, bias = subset.take(x), subset.packing, subset.query_rows(bias)
        x = self.self_attn_layer_norm(queries + self.dropout(self.self_attn(queries, x, bias, q_pack, pack)))
        if self.encoder_attn is not None:
            x = self.encoder_attn_layer_norm(
                x + self.dropout(self.encoder_attn(x, memory, memory_bias, q_pack, memory_pack)))
        h = self.fc2(self.activation_dropout(self.activation_fn(self.fc1(x))))
        return self.final_layer_norm(x + self.dropout(h))


def padding_bias(pad_mask: torch.Tensor, dtype: torch.dtype) -> Optional[torch.Tensor]:
    """(B, S) bool padding mask -> additive (B, 1, 1, S) bias in `dtype`, or None when nothing is padded.

    Half of the dtype's most negative value instead of -inf: a row with every key padded then stays finite, and
    adding a rel-pos bias cannot overflow to -inf.
    """
    if not pad_mask.any():
        return None
    bias = torch.zeros(pad_mask.shape, dtype=dtype, device=pad_mask.device)
    return bias.masked_fill_(pad_mask, torch.finfo(dtype).min / 2)[:, None, None, :]


class Packing:
    """The real tokens of a padded (B, T) batch as one packed (N,) sequence: index tensors, no Python loop.

    Rows are concatenated in order (row-major), so each row's tokens form one contiguous segment; `cu_seqlens`
    holds the segment starts, as FlashAttention's varlen kernels want them. Padding anywhere in a row is fine.
    """

    def __init__(self, pad_mask: torch.Tensor):
        self.pad_mask = pad_mask
        self.batch, self.length = pad_mask.shape
        real = ~pad_mask
        self.index = real.flatten().nonzero().squeeze(1)  # (N,) flat positions of the real tokens
        lengths = real.sum(1, dtype=torch.int32)
        self.cu_seqlens = F.pad(lengths.cumsum(0, dtype=torch.int32), (1, 0))
        self.max_len = self.length
        self._bias = {}

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) -> (N, ...)"""
        return x.flatten(0, 1).index_select(0, self.index)

    def unpack(self, x: torch.Tensor) -> torch.Tensor:
        """(N, ...) -> (B, T, ...), zeros at padding."""
        out = x.new_zeros((self.batch * self.length,) + x.shape[1:]).index_copy(0, self.index, x)
        return out.view((self.batch, self.length) + x.shape[1:])

    def padding_bias(self, dtype: torch.dtype) -> Optional[torch.Tensor]:
        if dtype not in self._bias:
            self._bias[dtype] = padding_bias(self.pad_mask, dtype)
        return self._bias[dtype]


class Layout:
    """How a layer stack sees a padded (B, T) batch, decided once per forward: packed (the real tokens only, a
    `Packing`) or padded (padding rows zeroed, padding keys masked by the additive attention bias). The encoder and
    the decoder both go through it, so each form is written once."""

    def __init__(self, pad_mask: torch.Tensor, packed: bool):
        self.pad_mask = pad_mask
        self.packing = Packing(pad_mask) if packed else None

    def enter(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) -> what the layers take: (N, ...) packed, unchanged padded."""
        return x if self.packing is None else self.packing.pack(x)

    def leave(self, x: torch.Tensor) -> torch.Tensor:
        """What the layers give -> (B, T, ...), zeros at padding when packed."""
        return x if self.packing is None else self.packing.unpack(x)

    def zero_padding(self, x: torch.Tensor) -> torch.Tensor:
        """Padded form: padding rows of x set to zero (the packed form has none)."""
        return x if self.packing is not None else x.masked_fill(self.pad_mask.unsqueeze(-1), 0.0)

    def attention_bias(self, rel: Optional[torch.Tensor], dtype: torch.dtype) -> Optional[torch.Tensor]:
        """Additive bias for attending to these keys: `rel` (relative positions, or None), plus the padding when
        padded; packed layers add the padding themselves, from the Packing."""
        rel = rel.to(dtype) if rel is not None else None
        if self.packing is not None:
            return rel
        bias = padding_bias(self.pad_mask, dtype)
        return rel if bias is None else (bias if rel is None else rel + bias)


class Subset:
    """The positions of a (B, T) batch that the caller reads from a layer stack's output (the predicted ones), so
    the last layer need compute only those (TransformerLayer's `subset`): which rows of the layers' input they are,
    and their own packed form for attention, row b's selected positions first, in order, padded to the longest row.
    The other positions of the last layer are never read: the same outputs and gradients (tests/test_fast_paths.py)
    for less work, e.g. a 2-layer decoder predicting half of the positions skips ~40 % of its last layer."""

    def __init__(self, wanted: torch.Tensor, layout: "Layout"):
        """wanted (B, T) bool, never at padding; `layout` the stack's, which says what form its layers' input has."""
        flat = wanted[~layout.pad_mask] if layout.packing is not None else wanted.flatten()
        self.rows = flat.nonzero().squeeze(1)  # rows of the layers' input, (N, C) or flattened (B * T, C)
        counts = wanted.sum(1)
        width = max(int(counts.max()), 1) if wanted.numel() else 1
        self.packing = Packing(torch.arange(width, device=wanted.device).unsqueeze(0) >= counts.unsqueeze(1))
        self.columns = true_first(wanted, width)  # for a per-query bias

    def take(self, x: torch.Tensor) -> torch.Tensor:
        """The layers' input, (N, C) packed or (B, T, C) padded -> the subset's rows, (S, C)."""
        return (x if x.dim() == 2 else x.flatten(0, 1)).index_select(0, self.rows)

    def query_rows(self, bias: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        """An additive bias (.., T or 1, S) over all queries -> over the subset's slots (B, H, width, S)."""
        if bias is None or bias.size(-2) == 1:
            return bias
        batch, width = self.columns.shape
        bias = bias.expand(batch, -1, -1, -1)
        index = self.columns[:, None, :, None].expand(-1, bias.size(1), -1, bias.size(-1))
        return bias.gather(2, index)


def true_first(mask: torch.Tensor, width: int) -> torch.Tensor:
    """(B, T) bool -> (B, width) column indices: row b's True positions first, in order (a stable sort), then the
    others."""
    return torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices[:, :width]


def unpad_wanted(mode: str, pad_mask: torch.Tensor) -> bool:
    """`--unpad`: never; always (whenever the batch has padding); auto (when padding is at least 1/16 of the
    batch: below that the index copies around each attention cost about what the padded rows would)."""
    if mode == "never" or not pad_mask.any():
        return False
    return mode == "always" or pad_mask.float().mean().item() >= 1 / 16


try:  # FlashAttention varlen (CUDA, fp16/bf16): attention over the packed tokens, no padded layout at all
    from torch.nn.attention.varlen import varlen_attn
except ImportError:  # older torch
    varlen_attn = None


def use_varlen(q: torch.Tensor) -> bool:
    return varlen_attn is not None and q.is_cuda and q.dtype in (torch.float16, torch.bfloat16)
