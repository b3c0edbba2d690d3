"""SQuAD span head: one linear map from each token's features to a start and an end logit (MAE-LM/COCO-LM).

No pooler and no answerability classifier: an unanswerable question points at `<s>` (position 0). Logits of
positions that cannot hold an answer (question, separators, padding: p_mask = 1) are -inf.

The head lives at `model.squad_head`, outside RoBERTa's `classification_heads` (whose upgrade code insists on a
`dense` pooler layer this head does not have). Its `upgrade_state_dict_named` lets a checkpoint without the head
(a pretraining checkpoint) load strictly: the missing weights are taken from the freshly initialised head.
"""
import logging

import torch
import torch.nn as nn

logger = logging.getLogger(__name__)

ATTRIBUTE = "squad_head"  # the model attribute (and state_dict prefix) holding the head


class SquadSpanHead(nn.Module):
    def __init__(self, embed_dim: int):
        super().__init__()
        self.out_proj = nn.Linear(embed_dim, 2)  # column 0: start, column 1: end
        nn.init.normal_(self.out_proj.weight, std=0.02)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, features: torch.Tensor, p_mask: torch.Tensor):
        """features (B, T, C), p_mask (B, T) nonzero where no answer may start or end -> start, end logits (B, T)."""
        logits = self.out_proj(features).float().masked_fill(p_mask.bool().unsqueeze(-1), float("-inf"))
        return logits[..., 0], logits[..., 1]

    def upgrade_state_dict_named(self, state_dict, name):
        prefix = name + "." if name else ""
        for key, value in self.state_dict().items():
            if prefix + key not in state_dict:
                logger.info("initialising %s%s (not in the checkpoint)", prefix, key)
                state_dict[prefix + key] = value


def attach_squad_head(model):
    """Give an encoder-only maelm/RoBERTa model its span head (idempotent)."""
    if getattr(model, ATTRIBUTE, None) is None:
        dim = model.encoder.sentence_encoder.embed_tokens.embedding_dim
        model.add_module(ATTRIBUTE, SquadSpanHead(dim))
    return model
