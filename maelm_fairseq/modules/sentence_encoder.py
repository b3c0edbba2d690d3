"""RoBERTa's encoder stack (same parameter names and position convention) that accepts explicit positions.

Explicit positions are what lets MAE-LM run the encoder on the kept tokens only while every token keeps the
absolute (and relative) position it had in the full sequence.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
from fairseq import utils
from fairseq.modules import LayerNorm

from .fast_dropout import FastDropout
from .relative_position import RelativePositionBias
from .transformer_layer import Layout, TransformerLayer, unpad_wanted


class SentenceEncoder(nn.Module):
    def __init__(self, args, embed_tokens: nn.Embedding):
        super().__init__()
        self.padding_idx = embed_tokens.padding_idx
        dim = args.encoder_embed_dim
        self.embed_tokens = embed_tokens
        # fairseq's learned positions: row padding_idx + 1 + i holds position i, padding rows stay at padding_idx.
        self.embed_positions = nn.Embedding(args.max_positions + self.padding_idx + 1, dim, self.padding_idx)
        self.layernorm_embedding = LayerNorm(dim)
        fast_dropout = bool(getattr(args, "fast_dropout", 0))  # --fast-dropout (modules/fast_dropout.py)
        self.dropout = FastDropout(args.dropout) if fast_dropout else nn.Dropout(args.dropout)
        self.layers = nn.ModuleList(
            TransformerLayer(dim, args.encoder_ffn_embed_dim, args.encoder_attention_heads, args.dropout,
                             args.attention_dropout, args.activation_dropout, args.activation_fn,
                             fast_dropout=fast_dropout)
            for _ in range(args.encoder_layers)
        )
        self.rel_pos_bias = (
            RelativePositionBias(args.rel_pos_bins, args.max_rel_pos, args.encoder_attention_heads, args.rel_pos_init)
            if args.rel_pos else None
        )
        self.unpad = getattr(args, "unpad", "auto")  # --unpad: run the layers on the real tokens only

    def make_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        return utils.make_positions(tokens, self.padding_idx)

    def forward(self, tokens: torch.Tensor, positions: Optional[torch.Tensor] = None,
                return_all_hiddens: bool = False) -> Tuple[torch.Tensor, List[torch.Tensor]]:
        """tokens (B, T) -> features (B, T, C) and, if asked, the hidden states after the embedding and each layer."""
        pad_mask = tokens.eq(self.padding_idx)
        if positions is None:
            positions = self.make_positions(tokens)
        rel = self.rel_pos_bias(positions) if self.rel_pos_bias is not None else None
        layout = Layout(pad_mask, unpad_wanted(self.unpad, pad_mask))
        # packed: the embeddings, layers and LayerNorms see the N real tokens, never the padding
        tokens, positions = layout.enter(tokens), layout.enter(positions)
        x = self.embed_tokens(tokens) + self.embed_positions(positions)
        x = layout.zero_padding(self.dropout(self.layernorm_embedding(x)))
        bias = layout.attention_bias(rel, x.dtype)

        states = [x] if return_all_hiddens else []
        for layer in self.layers:
            x = layer(x, bias, pack=layout.packing)
            if return_all_hiddens:
                states.append(x)
        return layout.leave(x), [layout.leave(s) for s in states]
