"""Our side of the export check: the checkpoint's encoder and head as we run them, and the comparison with HF.

Built from the checkpoint's weights alone (our SentenceEncoder, fairseq's RobertaLMHead / RobertaClassificationHead),
so it works for any maelm checkpoint and for stock fairseq RoBERTa ones, with or without their task's data.
"""
from argparse import Namespace

import torch
from fairseq.models.roberta.model import RobertaClassificationHead, RobertaLMHead

from maelm_fairseq.models.maelm import FAIRSEQ_BT_COPIES, LM_HEAD_PREFIX
from maelm_fairseq.modules.sentence_encoder import SentenceEncoder

from .checkpoint import ENCODER, classification_heads, encoder_layers, has_rel_pos, option


class Reference(torch.nn.Module):
    """forward(tokens) -> (hidden states after the embeddings and each layer, head output or None)."""

    def __init__(self, weights, cfg, head):
        super().__init__()
        vocab, dim = weights[f"{ENCODER}embed_tokens.weight"].shape
        rel_pos = has_rel_pos(weights)
        args = Namespace(
            encoder_embed_dim=dim, max_positions=weights[f"{ENCODER}embed_positions.weight"].shape[0] - 2,
            dropout=0.0, attention_dropout=0.0, activation_dropout=0.0, encoder_layers=encoder_layers(weights),
            encoder_ffn_embed_dim=weights[f"{ENCODER}layers.0.fc1.weight"].shape[0],
            encoder_attention_heads=int(option(cfg, "encoder_attention_heads")),
            activation_fn=option(cfg, "activation_fn", "gelu"), rel_pos=int(rel_pos),
            rel_pos_bins=weights[f"{ENCODER}rel_pos_bias.weight"].shape[0] if rel_pos else 0,
            max_rel_pos=int(option(cfg, "max_rel_pos", 128)), rel_pos_init="normal", unpad="never")
        self.encoder = SentenceEncoder(args, torch.nn.Embedding(vocab, dim, padding_idx=1))
        self.encoder.load_state_dict(_strip(weights, ENCODER, FAIRSEQ_BT_COPIES), strict=True)
        self.head = None
        if head == "mlm":
            self.head = RobertaLMHead(dim, vocab, args.activation_fn, weight=self.encoder.embed_tokens.weight)
            state = _strip(weights, LM_HEAD_PREFIX)
            state["weight"] = self.encoder.embed_tokens.weight  # tied, whether or not the checkpoint repeats it
            self.head.load_state_dict(state, strict=True)
        elif head == "classification":
            name = classification_heads(weights)[0]
            state = _strip(weights, f"classification_heads.{name}.")
            self.head = RobertaClassificationHead(dim, state["dense.weight"].shape[0], state["out_proj.weight"].shape[0],
                                                  option(cfg, "pooler_activation_fn", "tanh"), 0.0)
            self.head.load_state_dict(state, strict=True)
        self.eval()

    @torch.no_grad()
    def forward(self, tokens):
        features, states = self.encoder(tokens, return_all_hiddens=True)
        return states, (self.head(features) if self.head is not None else None)


def _strip(weights, prefix, drop=()):
    return {k[len(prefix):]: v for k, v in weights.items()
            if k.startswith(prefix) and k.rsplit(".", 1)[-1] not in drop}


def random_batch(vocab, rows=3, length=21, seed=0):
    """Right-padded rows of random ordinary tokens between <s> and </s>, rows of different lengths."""
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(4, vocab, (rows, length), generator=g)
    tokens[:, 0] = 0
    for r in range(rows):
        n = length - 5 * r
        tokens[r, n - 1] = 2
        tokens[r, n:] = 1
    return tokens


@torch.no_grad()
def max_difference(reference, hf_model, tokens):
    """Max abs difference of every hidden state (real tokens) and of the head's output (LM logits at real tokens,
    class logits), ours vs the transformers model's."""
    states, head_out = reference(tokens)
    out = hf_model(input_ids=tokens, attention_mask=tokens.ne(1).long(), output_hidden_states=True)
    real = tokens.ne(1)
    diffs = [float((a[real] - b[real]).abs().max()) for a, b in zip(states, out.hidden_states)]
    if len(out.hidden_states) != len(states):
        raise RuntimeError(f"{len(out.hidden_states)} hidden states exported, {len(states)} in the checkpoint")
    if head_out is not None:
        theirs = out.logits
        diffs.append(float((head_out[real] - theirs[real]).abs().max()) if head_out.dim() == 3
                     else float((head_out - theirs).abs().max()))
    return max(diffs)
