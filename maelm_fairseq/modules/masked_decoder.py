"""The shallow decoder that sees the full-length sequence after [MASK] re-enters (thrown away for fine-tuning).

`self`  (MAE-LM, 3ML_self): bidirectional self-attention over encoder outputs and [MASK] slots.
`cross` (3ML_cross): the same full-length input, and each layer also cross-attends to the encoder outputs of the
kept tokens only.
Input gets the decoder's own learned positions and embedding LayerNorm; padding rows are zeroed. With
`--decoder-rel-pos 1` the decoder also has its own relative-position bias (MAE-LM's decoder has none).
"""
import torch.nn as nn
from fairseq.modules import LayerNorm

from .fast_dropout import FastDropout
from .relative_position import RelativePositionBias
from .transformer_layer import Layout, Subset, TransformerLayer, unpad_wanted


class MaskedDecoder(nn.Module):
    def __init__(self, args, padding_idx: int):
        super().__init__()
        dim = args.decoder_embed_dim
        self.padding_idx = padding_idx
        self.cross = args.decoder_type == "cross"
        self.embed_positions = nn.Embedding(args.max_positions + padding_idx + 1, dim, padding_idx)
        self.layernorm_embedding = LayerNorm(dim)
        fast_dropout = bool(getattr(args, "fast_dropout", 0))
        self.dropout = FastDropout(args.decoder_dropout) if fast_dropout else nn.Dropout(args.decoder_dropout)
        self.layers = nn.ModuleList(
            TransformerLayer(dim, args.decoder_ffn_embed_dim, args.decoder_attention_heads, args.decoder_dropout,
                             args.decoder_dropout, args.decoder_dropout, args.activation_fn,
                             cross_attention=self.cross, memory_dim=dim, fast_dropout=fast_dropout)
            for _ in range(args.decoder_layers)
        )
        self.unpad = getattr(args, "unpad", "auto")
        self.rel_pos_bias = (
            RelativePositionBias(args.rel_pos_bins, args.max_rel_pos, args.decoder_attention_heads, args.rel_pos_init)
            if args.decoder_rel_pos else None
        )

    def forward(self, x, positions, pad_mask, memory=None, memory_pad_mask=None, predicted=None):
        """x (B, T, D) full-length input, positions/pad_mask (B, T); memory (B, S, D) kept-token encoder outputs.
        Returns (B, T, D); with `predicted` (B, T) bool only those positions' outputs, (N, D) in row-major order,
        as `out[predicted]` (the last layer then computes only them: transformer_layer.Subset)."""
        x = self.dropout(self.layernorm_embedding(x + self.embed_positions(positions)))
        rel = self.rel_pos_bias(positions) if self.rel_pos_bias is not None else None
        layout = Layout(pad_mask, unpad_wanted(self.unpad, pad_mask))
        x = layout.zero_padding(layout.enter(x))
        bias = layout.attention_bias(rel, x.dtype)
        memory_pack = memory_bias = None
        if self.cross:  # the memory takes the form the queries took
            memory_layout = Layout(memory_pad_mask, packed=layout.packing is not None)
            memory, memory_pack = memory_layout.enter(memory), memory_layout.packing
            memory_bias = memory_layout.attention_bias(None, x.dtype)
        subset = Subset(predicted, layout) if predicted is not None else None
        for i, layer in enumerate(self.layers):  # a self-attention layer never reads the memory
            x = layer(x, bias, memory, memory_bias, pack=layout.packing, memory_pack=memory_pack,
                      subset=subset if i == len(self.layers) - 1 else None)
        return x if subset is not None else layout.leave(x)
