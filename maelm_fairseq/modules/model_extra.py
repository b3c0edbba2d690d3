"""What the maelm model returns beside its features or logits (fairseq's `extra`), read by the maelm criterion.

fairseq reads one field by key, `extra["inner_states"]` (RobertaHubInterface.extract_features), so the record
also answers item access by field name; everything of ours reads the attributes.
"""
from dataclasses import dataclass, fields
from typing import List, Optional

import torch


@dataclass(frozen=True)
class ModelExtra:
    inner_states: Optional[List[torch.Tensor]]  # with return_all_hiddens: after the embeddings and each encoder
    # layer, (T, B, C) as fairseq's RoBERTa gives them; else None
    encoder_tokens: torch.Tensor  # 0-dim: real tokens the encoder processed (with a decoder: the kept ones)
    # Masked-LM forward only (the criterion's collapse indicator):
    encoder_out: Optional[torch.Tensor] = None  # (B, S, C) last encoder layer; with a decoder S = kept width
    encoder_real: Optional[torch.Tensor] = None  # (B, S) bool: encoder_out rows of real tokens (not pad, not <mask>)

    def __getitem__(self, key: str):
        if key not in _FIELDS:
            raise KeyError(key)
        return getattr(self, key)


_FIELDS = {f.name for f in fields(ModelExtra)}
