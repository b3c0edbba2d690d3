"""What a fairseq checkpoint holds, read without building its task or model: weights, model options, which heads,
the data-bin it was trained on. `read_checkpoint` is the one reader of the file (maelm-import-fork's too)."""
import os

import torch
from fairseq.utils import split_paths

from ..errors import UserInputError
from ..models.maelm import DECODER_PREFIXES, LM_HEAD_PREFIX

ENCODER = "encoder.sentence_encoder."
HEADS = ("auto", "model", "mlm", "classification")


def option(cfg, key, default=None):
    """A model option from a hydra/dict config or a legacy Namespace; `default` when absent or None."""
    value = cfg.get(key, default) if isinstance(cfg, dict) else getattr(cfg, key, default)
    return default if value is None else value


def read_checkpoint(path, written_by="fairseq-train"):
    """The dict a fairseq checkpoint file holds. A missing file, one torch cannot load (truncated, or pickling a class
    this environment lacks) or one without a 'model' state dict is a one-line UserInputError; `written_by` names
    the program whose .pt the user should give."""
    fix = f"give the .pt written by {written_by}"
    if not os.path.isfile(path):
        raise UserInputError(f"{path}: no such checkpoint file — {fix}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises many types here (RuntimeError, EOFError, UnpicklingError, ...)
        reason = " ".join(f"{type(e).__name__}: {e}".split())[:160]  # one line, however torch words it
        raise UserInputError(f"{path}: cannot be read as a checkpoint ({reason}) — {fix}") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise UserInputError(f"{path}: not a checkpoint (no 'model' state dict) — {fix}")
    return state


def recorded_data_bin(state):
    """The first data-bin of the checkpoint's cfg.task.data (args.data in older checkpoints), or None."""
    cfg = state.get("cfg") or {}
    task = cfg.get("task") if isinstance(cfg, dict) else getattr(cfg, "task", None)
    data = option(task, "data") if task is not None else option(state.get("args"), "data")
    return split_paths(data)[0] if data else None  # fairseq reads dict.txt from the first


def load_checkpoint(path):
    """(state dict, model config) of a fairseq checkpoint."""
    state = read_checkpoint(path)
    cfg = state.get("cfg")
    model_cfg = cfg["model"] if cfg is not None and cfg.get("model") is not None else state.get("args")
    if model_cfg is None:
        raise UserInputError(f"{path}: the checkpoint stores no model configuration (cfg.model or args)")
    weights = {k: v for k, v in state["model"].items() if not k.endswith(".version")}
    # older fairseq RoBERTa name of the embedding LayerNorm
    for suffix in ("weight", "bias"):
        old = f"{ENCODER}emb_layer_norm.{suffix}"
        if old in weights:
            weights[f"{ENCODER}layernorm_embedding.{suffix}"] = weights.pop(old)
    if f"{ENCODER}embed_tokens.weight" not in weights:
        raise UserInputError(f"{path}: no RoBERTa-style encoder ({ENCODER}*) in the checkpoint")
    return weights, model_cfg


def encoder_layers(weights):
    start = len(ENCODER + "layers.")
    return 1 + max(int(k[start:].split(".")[0]) for k in weights if k.startswith(ENCODER + "layers."))


def vocab_size(weights):
    return weights[f"{ENCODER}embed_tokens.weight"].shape[0]


def has_rel_pos(weights):
    return f"{ENCODER}rel_pos_bias.weight" in weights


def has_decoder(weights):
    return any(k.startswith(DECODER_PREFIXES) for k in weights)


def classification_heads(weights):
    return sorted({k.split(".")[1] for k in weights if k.startswith("classification_heads.")})


def choose_head(weights, head):
    """The head to export: `head` as asked, or (auto) classification > masked LM (MLM checkpoints) > encoder."""
    decoder, has_lm = has_decoder(weights), LM_HEAD_PREFIX + "dense.weight" in weights
    heads = classification_heads(weights)
    if head == "auto":
        head = "classification" if heads else "mlm" if has_lm and not decoder else "model"
    if head == "mlm":
        if not has_lm:
            raise UserInputError("--head mlm: the checkpoint has no LM head (a fine-tuning checkpoint?) — "
                                 "use --head model or --head classification")
        if decoder:
            raise UserInputError("--head mlm: this checkpoint's LM head reads the output of its decoder (MAE-LM/3ML), "
                                 "not the encoder's — export the encoder with --head model")
    if head == "classification" and len(heads) != 1:
        raise UserInputError(f"--head classification needs exactly one classification head, found "
                             f"{heads or 'none'} — export a checkpoint fine-tuned with one sentence_prediction head")
    return head
