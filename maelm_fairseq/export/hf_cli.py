"""maelm-export-hf: our encoder (any maelm checkpoint, or a stock fairseq RoBERTa one) -> a Hugging Face transformers
RoBERTa directory (config.json + model.safetensors), loadable with `transformers.AutoModel.from_pretrained(DIR)`.

What is exported (--head auto):
  - MLM checkpoints without a decoder (maelm_mlm_*, --decoder-layers 0, fairseq `roberta`): RobertaForMaskedLM,
    the LM head included (its output projection is the tied input embedding, as in RoBERTa);
  - MAE-LM / 3ML checkpoints: RobertaModel, the encoder only. Their LM head reads the DECODER's output, so putting
    it on top of the encoder would give meaningless logits; the decoder is dropped, as for fine-tuning;
  - checkpoints fine-tuned with sentence_prediction (one classification head): RobertaForSequenceClassification
    (fairseq's and HF's classification heads have the same shape: dense -> tanh -> out_proj on <s>).
  --head mlm|model|classification forces one; --head mlm on a decoder checkpoint is refused.

Relative-position bias (MAE-LM's --rel-pos 1, e.g. maelm_base/maelm_large/maelm_tiny): NOT exportable. transformers'
RoBERTa has no per-head learned bucketed bias, and dropping it changes every hidden state. The command fails with
exit status 2 and says so. Train with --rel-pos 0 (all 3ML and MLM-baseline recipes) for an exportable encoder.

Token ids are fairseq dictionary ids (<s>=0, <pad>=1, </s>=2, <unk>=3, then dict.txt order, <mask> last), exactly as
our data-bins hold them; with --data DATA_BIN the dict.txt (and sentencepiece.model / tokenizer.json when present)
are copied to OUT/fairseq/ so the ids can be reproduced. No HF tokenizer is written.

After saving, the export is reloaded with transformers and its hidden states are compared with our encoder's on a
random padded batch (--no-verify to skip); the maximum absolute difference is printed and must be <= --tolerance.

    maelm-export-hf CHECKPOINT OUT_DIR [--data DATA_BIN] [--head auto|model|mlm|classification]
"""
import argparse
import json
import os
import shutil
import sys
from argparse import Namespace

import torch

USAGE_ERROR = 2
ENCODER = "encoder.sentence_encoder."
ACTIVATIONS = {"gelu": "gelu", "gelu_accurate": "gelu_new", "relu": "relu", "tanh": "tanh"}
LAYER_MAP = {
    "self_attn.q_proj": "attention.self.query",
    "self_attn.k_proj": "attention.self.key",
    "self_attn.v_proj": "attention.self.value",
    "self_attn.out_proj": "attention.output.dense",
    "self_attn_layer_norm": "attention.output.LayerNorm",
    "fc1": "intermediate.dense",
    "fc2": "output.dense",
    "final_layer_norm": "output.LayerNorm",
}


class ExportError(Exception):
    pass


def _get(cfg, key, default=None):
    value = cfg.get(key, default) if isinstance(cfg, dict) else getattr(cfg, key, default)
    return default if value is None else value


def load_checkpoint(path):
    """(state dict, model config) of a fairseq checkpoint, without building the task or the model."""
    if not os.path.isfile(path):
        raise ExportError(f"{path}: no such checkpoint file")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if "model" not in state:
        raise ExportError(f"{path}: not a fairseq checkpoint (no 'model' entry)")
    cfg = state.get("cfg")
    model_cfg = cfg["model"] if cfg is not None and cfg.get("model") is not None else state.get("args")
    if model_cfg is None:
        raise ExportError(f"{path}: the checkpoint stores no model configuration")
    weights = {k: v for k, v in state["model"].items() if not k.endswith(".version")}
    # older fairseq RoBERTa name of the embedding LayerNorm
    for suffix in ("weight", "bias"):
        old = f"{ENCODER}emb_layer_norm.{suffix}"
        if old in weights:
            weights[f"{ENCODER}layernorm_embedding.{suffix}"] = weights.pop(old)
    return weights, model_cfg


def has_decoder(weights):
    return any(k.startswith(("encoder.decoder.", "encoder.decoder_proj.", "encoder.mask_embedding")) for k in weights)


def classification_heads(weights):
    return sorted({k.split(".")[1] for k in weights if k.startswith("classification_heads.")})


def choose_head(weights, head):
    decoder, has_lm = has_decoder(weights), f"encoder.lm_head.dense.weight" in weights
    heads = classification_heads(weights)
    if head == "auto":
        if heads:
            head = "classification"
        elif has_lm and not decoder:
            head = "mlm"
        else:
            head = "model"
    if head == "mlm":
        if not has_lm:
            raise ExportError("--head mlm: the checkpoint has no LM head (a fine-tuning checkpoint?)")
        if decoder:
            raise ExportError("--head mlm: this checkpoint's LM head reads the output of its decoder (MAE-LM/3ML), "
                              "not the encoder's; export the encoder with --head model")
    if head == "classification" and len(heads) != 1:
        raise ExportError(f"--head classification needs exactly one classification head, found {heads or 'none'}")
    return head


def hf_config(weights, cfg, head):
    from transformers import RobertaConfig

    if int(_get(cfg, "rel_pos", 0)):
        raise ExportError(
            "the encoder uses MAE-LM's relative-position bias (--rel-pos 1); transformers' RoBERTa has no such "
            "bias, so no faithful export exists. Train with --rel-pos 0 for an HF-exportable encoder (see "
            "docs/analysis.md)")
    if _get(cfg, "encoder_normalize_before", False):
        raise ExportError("pre-LN encoders (--encoder-normalize-before) have no transformers RoBERTa equivalent")
    activation = _get(cfg, "activation_fn", "gelu")
    if activation not in ACTIVATIONS:
        raise ExportError(f"activation {activation} has no transformers equivalent")
    vocab, dim = weights[f"{ENCODER}embed_tokens.weight"].shape
    layers = 1 + max(int(k[len(ENCODER) + 7:].split(".")[0]) for k in weights if k.startswith(ENCODER + "layers."))
    config = RobertaConfig(
        vocab_size=vocab, hidden_size=dim, num_hidden_layers=layers,
        num_attention_heads=int(_get(cfg, "encoder_attention_heads")),
        intermediate_size=weights[f"{ENCODER}layers.0.fc1.weight"].shape[0],
        hidden_act=ACTIVATIONS[activation], hidden_dropout_prob=float(_get(cfg, "dropout", 0.1)),
        attention_probs_dropout_prob=float(_get(cfg, "attention_dropout", 0.1)),
        max_position_embeddings=weights[f"{ENCODER}embed_positions.weight"].shape[0], type_vocab_size=1,
        layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2, tie_word_embeddings=True,
    )
    if head == "classification":
        name = classification_heads(weights)[0]
        config.num_labels = weights[f"classification_heads.{name}.out_proj.weight"].shape[0]
        config.classifier_dropout = float(_get(cfg, "pooler_dropout", 0.0))
    return config


def hf_state_dict(weights, config, head):
    prefix = "roberta."
    out = {
        prefix + "embeddings.word_embeddings.weight": weights[f"{ENCODER}embed_tokens.weight"],
        prefix + "embeddings.position_embeddings.weight": weights[f"{ENCODER}embed_positions.weight"],
        prefix + "embeddings.token_type_embeddings.weight": torch.zeros(1, config.hidden_size),
        prefix + "embeddings.LayerNorm.weight": weights[f"{ENCODER}layernorm_embedding.weight"],
        prefix + "embeddings.LayerNorm.bias": weights[f"{ENCODER}layernorm_embedding.bias"],
    }
    for i in range(config.num_hidden_layers):
        for ours, theirs in LAYER_MAP.items():
            for p in ("weight", "bias"):
                out[f"{prefix}encoder.layer.{i}.{theirs}.{p}"] = weights[f"{ENCODER}layers.{i}.{ours}.{p}"]
    if head == "mlm":
        for ours, theirs in (("dense", "dense"), ("layer_norm", "layer_norm")):
            for p in ("weight", "bias"):
                out[f"lm_head.{theirs}.{p}"] = weights[f"encoder.lm_head.{ours}.{p}"]
        out["lm_head.bias"] = weights["encoder.lm_head.bias"]
        out["lm_head.decoder.bias"] = weights["encoder.lm_head.bias"]
        out["lm_head.decoder.weight"] = weights[f"{ENCODER}embed_tokens.weight"]
    elif head == "classification":
        name = classification_heads(weights)[0]
        for part in ("dense", "out_proj"):
            for p in ("weight", "bias"):
                out[f"classifier.{part}.{p}"] = weights[f"classification_heads.{name}.{part}.{p}"]
    else:  # RobertaModel: no "roberta." prefix, no pooler
        out = {k[len(prefix):]: v for k, v in out.items()}
    return {k: v.detach().float().clone().contiguous() for k, v in out.items()}


def hf_class(head):
    import transformers

    return {"model": transformers.RobertaModel, "mlm": transformers.RobertaForMaskedLM,
            "classification": transformers.RobertaForSequenceClassification}[head]


def build_hf(config, state, head):
    cls = hf_class(head)
    model = cls(config, add_pooling_layer=False) if head == "model" else cls(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise ExportError(f"weight mapping incomplete: missing {missing}, unexpected {unexpected}")
    return model.eval()


def our_encoder(weights, cfg):
    """Our SentenceEncoder with the checkpoint's encoder weights (works for fairseq RoBERTa weights too)."""
    from maelm_fairseq.modules.sentence_encoder import SentenceEncoder

    vocab, dim = weights[f"{ENCODER}embed_tokens.weight"].shape
    rows = weights[f"{ENCODER}embed_positions.weight"].shape[0]
    layers = 1 + max(int(k[len(ENCODER) + 7:].split(".")[0]) for k in weights if k.startswith(ENCODER + "layers."))
    args = Namespace(encoder_embed_dim=dim, max_positions=rows - 2, dropout=0.0, attention_dropout=0.0,
                     activation_dropout=0.0, encoder_layers=layers,
                     encoder_ffn_embed_dim=weights[f"{ENCODER}layers.0.fc1.weight"].shape[0],
                     encoder_attention_heads=int(_get(cfg, "encoder_attention_heads")),
                     activation_fn=_get(cfg, "activation_fn", "gelu"), rel_pos=int(_get(cfg, "rel_pos", 0)),
                     rel_pos_bins=int(_get(cfg, "rel_pos_bins", 64)), max_rel_pos=int(_get(cfg, "max_rel_pos", 128)),
                     unpad="never")
    encoder = SentenceEncoder(args, torch.nn.Embedding(vocab, dim, padding_idx=1))
    state = {k[len(ENCODER):]: v for k, v in weights.items() if k.startswith(ENCODER)}
    state = {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in (
        "in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias", "fc1_weight", "fc1_bias",
        "fc2_weight", "fc2_bias")}
    encoder.load_state_dict(state, strict=True)
    return encoder.eval()


def random_batch(vocab, rows=3, length=21, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(4, vocab, (rows, length), generator=g)
    tokens[:, 0] = 0
    for r in range(rows):
        n = length - 5 * r
        tokens[r, n - 1] = 2
        tokens[r, n:] = 1
    return tokens


@torch.no_grad()
def compare(weights, cfg, hf_model, tokens):
    """Max abs difference of all hidden states (embeddings + every layer) at real tokens."""
    ours = our_encoder(weights, cfg)
    _, our_states = ours(tokens, return_all_hiddens=True)
    out = hf_model(input_ids=tokens, attention_mask=tokens.ne(1).long(), output_hidden_states=True)
    real = tokens.ne(1)
    return max(float((a[real] - b[real]).abs().max()) for a, b in zip(our_states, out.hidden_states))


def export(checkpoint, out_dir, head="auto", data=None, verify=True, tolerance=1e-4):
    weights, cfg = load_checkpoint(checkpoint)
    if f"{ENCODER}embed_tokens.weight" not in weights:
        raise ExportError(f"{checkpoint}: no RoBERTa-style encoder ({ENCODER}*) in the checkpoint")
    head = choose_head(weights, head)
    config = hf_config(weights, cfg, head)
    model = build_hf(config, hf_state_dict(weights, config, head), head)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    info = {"source_checkpoint": os.path.abspath(checkpoint), "head": head, "class": type(model).__name__,
            "decoder_dropped": has_decoder(weights)}
    if data:
        dest = os.path.join(out_dir, "fairseq")
        os.makedirs(dest, exist_ok=True)
        for name in ("dict.txt", "sentencepiece.model", "tokenizer.json"):
            if os.path.isfile(os.path.join(data, name)):
                shutil.copy(os.path.join(data, name), dest)
    if verify:
        reloaded = hf_class(head).from_pretrained(out_dir).eval()
        diff = compare(weights, cfg, reloaded, random_batch(config.vocab_size))
        info["max_abs_diff_hidden_states"] = diff
        if not diff <= tolerance:
            raise ExportError(f"exported model differs from ours: max abs diff {diff:.3g} > {tolerance}")
    with open(os.path.join(out_dir, "maelm_export.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(prog="maelm-export-hf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("out_dir")
    parser.add_argument("--head", choices=["auto", "model", "mlm", "classification"], default="auto")
    parser.add_argument("--data", help="data-bin whose dict.txt / tokenizer files are copied to OUT_DIR/fairseq/")
    parser.add_argument("--no-verify", action="store_true", help="skip the reload-and-compare check")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs hidden-state difference allowed")
    args = parser.parse_args(argv)
    try:
        import transformers  # noqa: F401
    except ImportError:
        print("error: maelm-export-hf needs transformers: pip install 'maelm-fairseq[hf]'", file=sys.stderr)
        return USAGE_ERROR
    try:
        info = export(args.checkpoint, args.out_dir, args.head, args.data, not args.no_verify, args.tolerance)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    diff = info.get("max_abs_diff_hidden_states")
    print(f"wrote {args.out_dir} ({info['class']}" + (", decoder dropped" if info["decoder_dropped"] else "") + ")"
          + (f"; max abs hidden-state difference vs ours {diff:.2e}" if diff is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
