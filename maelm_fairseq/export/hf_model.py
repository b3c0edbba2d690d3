"""Our encoder (and its head) as a transformers model: the configuration, the weight mapping, the classes.

Without the relative-position bias: transformers' own RoBERTa classes. With it (MAE-LM's `--rel-pos 1`): the same
classes with the bias added to the attention scores, from `hf_remote/modeling_maelm.py`, which is copied into the
export directory and named in the config's `auto_map` (loaded with `trust_remote_code=True`).
"""
import os
import shutil

import torch

from ..errors import UserInputError
from ..modules import relative_position
from .checkpoint import ENCODER, classification_heads, encoder_layers, has_rel_pos, option

REMOTE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hf_remote")
REMOTE_FILES = ("configuration_maelm.py", "modeling_maelm.py")
ROBERTA_CLASSES = {"model": "RobertaModel", "mlm": "RobertaForMaskedLM",
                   "classification": "RobertaForSequenceClassification"}
MAELM_CLASSES = {"model": "MaelmModel", "mlm": "MaelmForMaskedLM", "classification": "MaelmForSequenceClassification"}
AUTO_CLASSES = {"model": "AutoModel", "mlm": "AutoModelForMaskedLM",
                "classification": "AutoModelForSequenceClassification"}
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


def config_values(weights, cfg, head):
    """RobertaConfig fields (plus the bias table's shape with rel-pos) for this checkpoint and head."""
    if option(cfg, "encoder_normalize_before", False):
        raise UserInputError("--encoder-normalize-before: pre-LN encoders have no transformers RoBERTa equivalent; "
                             "export a post-LN (RoBERTa-style) checkpoint")
    activation = option(cfg, "activation_fn", "gelu")
    if activation not in ACTIVATIONS:
        raise UserInputError(f"--activation-fn {activation}: no transformers equivalent; use one of "
                             f"{', '.join(ACTIVATIONS)}")
    # transformers' LM and classification heads hard-code gelu and tanh; fairseq's follow these options
    if head == "mlm" and activation != "gelu":
        raise UserInputError(f"--activation-fn {activation}: transformers' RoBERTa LM head uses gelu; export the "
                             f"encoder alone with --head model")
    if head == "classification" and option(cfg, "pooler_activation_fn", "tanh") != "tanh":
        raise UserInputError("--pooler-activation-fn: transformers' classification head uses tanh; export the "
                             "encoder alone with --head model")
    if head == "classification" and option(cfg, "pooling", "first") != "first":
        raise UserInputError(f"--pooling {option(cfg, 'pooling')}: transformers' RoBERTa classification head reads "
                             f"<s>; export the encoder alone with --head model and pool its outputs yourself")
    vocab, dim = weights[f"{ENCODER}embed_tokens.weight"].shape
    values = dict(
        vocab_size=vocab, hidden_size=dim, num_hidden_layers=encoder_layers(weights),
        num_attention_heads=int(option(cfg, "encoder_attention_heads")),
        intermediate_size=weights[f"{ENCODER}layers.0.fc1.weight"].shape[0],
        hidden_act=ACTIVATIONS[activation], hidden_dropout_prob=float(option(cfg, "dropout", 0.1)),
        attention_probs_dropout_prob=float(option(cfg, "attention_dropout", 0.1)),
        max_position_embeddings=weights[f"{ENCODER}embed_positions.weight"].shape[0], type_vocab_size=1,
        layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2, tie_word_embeddings=True,
    )
    if has_rel_pos(weights):
        values.update(rel_pos_bins=weights[f"{ENCODER}rel_pos_bias.weight"].shape[0],
                      max_rel_pos=int(option(cfg, "max_rel_pos", 128)))
    if head == "classification":
        name = classification_heads(weights)[0]
        values.update(num_labels=weights[f"classification_heads.{name}.out_proj.weight"].shape[0],
                      classifier_dropout=float(option(cfg, "pooler_dropout", 0.0)))
    return values


def hf_state_dict(weights, num_layers, head):
    prefix = "roberta."
    out = {
        prefix + "embeddings.word_embeddings.weight": weights[f"{ENCODER}embed_tokens.weight"],
        prefix + "embeddings.position_embeddings.weight": weights[f"{ENCODER}embed_positions.weight"],
        prefix + "embeddings.token_type_embeddings.weight": torch.zeros(
            1, weights[f"{ENCODER}embed_tokens.weight"].shape[1]),
        prefix + "embeddings.LayerNorm.weight": weights[f"{ENCODER}layernorm_embedding.weight"],
        prefix + "embeddings.LayerNorm.bias": weights[f"{ENCODER}layernorm_embedding.bias"],
    }
    if has_rel_pos(weights):
        out[prefix + "encoder.rel_pos_bias.weight"] = weights[f"{ENCODER}rel_pos_bias.weight"]
    for i in range(num_layers):
        for ours, theirs in LAYER_MAP.items():
            for p in ("weight", "bias"):
                out[f"{prefix}encoder.layer.{i}.{theirs}.{p}"] = weights[f"{ENCODER}layers.{i}.{ours}.{p}"]
    if head == "mlm":
        for part in ("dense", "layer_norm"):
            for p in ("weight", "bias"):
                out[f"lm_head.{part}.{p}"] = weights[f"encoder.lm_head.{part}.{p}"]
        out["lm_head.bias"] = weights["encoder.lm_head.bias"]
        out["lm_head.decoder.bias"] = weights["encoder.lm_head.bias"]
        out["lm_head.decoder.weight"] = weights[f"{ENCODER}embed_tokens.weight"]
    elif head == "classification":
        name = classification_heads(weights)[0]
        for part in ("dense", "out_proj"):
            for p in ("weight", "bias"):
                out[f"classifier.{part}.{p}"] = weights[f"classification_heads.{name}.{part}.{p}"]
    else:  # the bare encoder: no "roberta." prefix, no pooler
        out = {k[len(prefix):]: v for k, v in out.items()}
    return {k: v.detach().float().clone().contiguous() for k, v in out.items()}


def copy_remote_code(out_dir):
    for name in REMOTE_FILES:
        shutil.copy(os.path.join(REMOTE_DIR, name), os.path.join(out_dir, name))
    # the bias of our own encoder, file and all: modeling_maelm.py imports it as a sibling
    shutil.copy(relative_position.__file__, os.path.join(out_dir, "relative_position.py"))


def model_classes(rel_pos, head, out_dir):
    """(config class, model class) for the export; with rel-pos, the remote code in `out_dir` (copied there first)."""
    import transformers

    if not rel_pos:
        return transformers.RobertaConfig, getattr(transformers, ROBERTA_CLASSES[head])
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    copy_remote_code(out_dir)
    return (get_class_from_dynamic_module("configuration_maelm.MaelmConfig", out_dir),
            get_class_from_dynamic_module(f"modeling_maelm.{MAELM_CLASSES[head]}", out_dir))


def save_model(weights, cfg, head, out_dir):
    """Write the transformers model of `head` to `out_dir`; returns its class name."""
    values = config_values(weights, cfg, head)
    rel_pos = has_rel_pos(weights)
    config_cls, model_cls = model_classes(rel_pos, head, out_dir)
    config = config_cls(**values)
    if rel_pos:  # every head loads through the Auto classes, whichever one this export holds
        config.auto_map = {"AutoConfig": "configuration_maelm.MaelmConfig",
                           **{AUTO_CLASSES[h]: f"modeling_maelm.{name}" for h, name in MAELM_CLASSES.items()}}
    model = model_cls(config, add_pooling_layer=False) if head == "model" else model_cls(config)
    missing, unexpected = model.load_state_dict(hf_state_dict(weights, config.num_hidden_layers, head), strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise RuntimeError(f"weight mapping incomplete: missing {missing}, unexpected {unexpected}")
    model.eval().save_pretrained(out_dir)
    return type(model).__name__
