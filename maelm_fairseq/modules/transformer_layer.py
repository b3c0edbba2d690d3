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


class Attention(nn.Module):
    def __init__(self, embed_dim: int, num_heads: int, dropout: float, kv_dim: Optional[int] = None):
        super().__init__()
        if embed_dim % num_heads:
            raise ValueError(f"embedding dim {embed_dim} is not divisible by {num_heads} attention heads")
        kv_dim = kv_dim or embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(kv_dim, embed_dim)
        self.v_proj = nn.Linear(kv_dim, embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def _heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.num_heads, C // self.num_heads).transpose(1, 2)

    def forward(self, query, key_value, bias: Optional[torch.Tensor]):
        """query (B, T, C), key_value (B, S, C_kv), bias additive, broadcastable to (B, H, T, S) or None."""
        q, k, v = self._heads(self.q_proj(query)), self._heads(self.k_proj(key_value)), self._heads(self.v_proj(key_value))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(out.transpose(1, 2).flatten(2))


class TransformerLayer(nn.Module):
    """Self-attention (+ optional cross-attention) + FFN, each followed by dropout, residual and LayerNorm."""

    def __init__(self, embed_dim, ffn_dim, num_heads, dropout, attention_dropout, activation_dropout,
                 activation_fn="gelu", cross_attention=False, memory_dim=None):
        super().__init__()
        self.self_attn = Attention(embed_dim, num_heads, attention_dropout)
        self.self_attn_layer_norm = LayerNorm(embed_dim)
        if cross_attention:
            self.encoder_attn = Attention(embed_dim, num_heads, attention_dropout, kv_dim=memory_dim)
            self.encoder_attn_layer_norm = LayerNorm(embed_dim)
        else:
            self.encoder_attn = None
        self.fc1 = nn.Linear(embed_dim, ffn_dim)
        self.fc2 = nn.Linear(ffn_dim, embed_dim)
        self.final_layer_norm = LayerNorm(embed_dim)
        self.activation_fn = utils.get_activation_fn(activation_fn)
        self.dropout = nn.Dropout(dropout)
        self.activation_dropout = nn.Dropout(activation_dropout)

    def forward(self, x, bias=None, memory=None, memory_bias=None):
        x = self.self_attn_layer_norm(x + self.dropout(self.self_attn(x, x, bias)))
        if self.encoder_attn is not None:
            x = self.encoder_attn_layer_norm(x + self.dropout(self.encoder_attn(x, memory, memory_bias)))
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
