"""The encoders someone pretraining today would pick instead of ours, as Hugging Face ships them, at our shape.

`modernbert`: `ModernBertForMaskedLM` (arXiv 2412.13663) with `sparse_prediction=True` (the LM head only at the
labelled positions, as ours), everything else ModernBERT's own: GLU FFN, bias-free linears, pre-LN, RoPE, local
(128-token window) attention in two of every three layers, no dropout. `intermediate_size` = our FFN width (its `Wi`
then has 2 x FFN outputs: 1.5x our FFN FLOPs, counted in the benchmark's FLOPs column).
`roberta-hf`: `RobertaForMaskedLM`, RoBERTa as in our stock row (dropout 0.1), but its head runs on every position
(transformers has no sparse prediction for it).

Attention runs through torch SDPA (`attn_implementation="sdpa"`: available on CPU and GPU; flash-attn is a separate
package and CUDA only). One step is the Hugging Face `Trainer`'s: forward with labels (-100 off the predicted
positions), backward, gradient clipping at its default `max_grad_norm` 1.0, AdamW fused (transformers 5's default
`optim`, "adamw_torch_fused", for torch >= 2.8, on CPU too), zero grads.
"""
from dataclasses import dataclass
from typing import Dict

import torch

IGNORE = -100  # transformers' ignore index for labels


@dataclass(frozen=True)
class Peer:
    label: str
    kind: str  # "modernbert" or "roberta"


PEERS = {
    "modernbert": Peer("HF ModernBERT (sparse pred.)", "modernbert"),
    "roberta-hf": Peer("HF RoBERTa", "roberta"),
}


def build_peer(name: str, layers: int, dim: int, ffn: int, heads: int, vocab: int, seq_len: int, pad: int, bos: int,
               eos: int):
    """An untrained HF masked-LM of the given shape, token ids taken from our fairseq dictionary."""
    peer = PEERS[name]
    ids = dict(pad_token_id=pad, bos_token_id=bos, eos_token_id=eos)
    if peer.kind == "modernbert":
        from transformers import ModernBertConfig, ModernBertForMaskedLM

        config = ModernBertConfig(vocab_size=vocab, hidden_size=dim, intermediate_size=ffn, num_hidden_layers=layers,
                                  num_attention_heads=heads, max_position_embeddings=max(seq_len, 512),
                                  cls_token_id=bos, sep_token_id=eos, sparse_prediction=True,
                                  sparse_pred_ignore_index=IGNORE, attn_implementation="sdpa", **ids)
        return ModernBertForMaskedLM(config)
    from transformers import RobertaConfig, RobertaForMaskedLM

    # RoBERTa's positions start after the padding index, as fairseq's
    config = RobertaConfig(vocab_size=vocab, hidden_size=dim, intermediate_size=ffn, num_hidden_layers=layers,
                           num_attention_heads=heads, max_position_embeddings=max(seq_len, 512) + pad + 1,
                           type_vocab_size=1, attn_implementation="sdpa", **ids)
    return RobertaForMaskedLM(config)


def hf_inputs(sample, pad: int) -> Dict[str, torch.Tensor]:
    """A fairseq masked-LM batch as HF masked-LM inputs: the same tokens, labels only at the predicted positions."""
    src, target = sample["net_input"]["src_tokens"], sample["target"]
    return dict(input_ids=src, attention_mask=src.ne(pad).long(), labels=target.masked_fill(target.eq(pad), IGNORE))


class HFTrainStep:
    """One HF masked-LM trained as transformers' Trainer does by default (see the module docstring)."""

    MAX_GRAD_NORM = 1.0  # TrainingArguments.max_grad_norm

    def __init__(self, model, device: str, dtype: str, pad: int):
        self.model = model.to(device).train()
        self.device, self.pad = device, pad
        self.amp = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, betas=(0.9, 0.98), eps=1e-6,
                                           weight_decay=0.01, fused=True)

    def step(self, sample) -> None:
        batch = {k: v.to(self.device, non_blocking=True) for k, v in hf_inputs(sample, self.pad).items()}
        with torch.autocast(device_type=self.device, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            loss = self.model(**batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.MAX_GRAD_NORM)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
