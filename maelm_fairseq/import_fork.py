"""maelm-import-fork CKPT OUT: a checkpoint of the MAE-LM repository's `ae` model -> a checkpoint of ours.

The repository's pretraining model (its fairseq/models/ae/model.py and forked
fairseq/modules/transformer_sentence_encoder.py, github.com/yumeng5/MAE-LM) and ours differ only in names and in
two position conventions:
  - its position tables (encoder `embed_positions`, decoder `gen_decoder...embed_positions`) have R rows indexed from
    0 (<s> at row 0); ours are fairseq's learned positions, R + 2 rows, position i at row i + 2 (rows 0-1 unused);
  - its relative-position bucket ids are shifted by the minimum of its R x R table, ours by rel_pos_bins/2 - 1; the
    two agree when the table reaches the last bucket (R = 512 with max_rel_pos 128 or 256), else the rows move.
Names: `emb_layer_norm` -> `layernorm_embedding`, `relative_attention_bias` -> `rel_pos_bias`, `gen_decoder.
sentence_encoder.*` -> `encoder.decoder.*`, `gen_decoder.lm_head.*` -> `encoder.lm_head.*`; the layers keep their
names. The decoder's `embed_tokens` and the LM head's `weight` are the encoder's embedding (tied), checked and
stored once.

Only the published run's forward pass converts (run_pretrain.sh: masked tokens deleted from the encoder with
--no-return-mask, original positions, the self-attention decoder): a run whose stored options change what the network
computes (FORWARD_OPTIONS, task options included) is refused, naming the option.

OUT is a checkpoint of our `maelm` model (cfg included, no optimizer state), loaded strictly into our model before
it is written; its stored task config has the run's --tokens-per-sample, so fairseq's loaders take it as it is. It
fine-tunes with the GLUE/SQuAD recipes (--restore-file OUT --reset-optimizer --reset-dataloader --reset-meters) and
continues pretraining (--finetune-from-model OUT), with the --arch and flags printed at the end.
"""
import argparse
import os
import re
import sys
import warnings
from argparse import Namespace
from typing import NamedTuple

import torch

from .errors import UserInputError, console_main
from .export.checkpoint import read_checkpoint

FORK_ENCODER, FORK_DECODER = "encoder.sentence_encoder.", "gen_decoder.sentence_encoder."
FORK_HEAD = "gen_decoder.lm_head."
ENCODER, DECODER, HEAD = "encoder.sentence_encoder.", "encoder.decoder.", "encoder.lm_head."
RENAMED = {"emb_layer_norm.": "layernorm_embedding.", "relative_attention_bias.": "rel_pos_bias."}
# Options in the repository's stored config that change what its network computes (model and task options alike:
# its criterion and model read the task's): (option, the repository's default, the published run's value, what
# another value does). Our model computes the published run's forward pass only, so any other value is refused.
FORWARD_OPTIONS = (
    ("no_return_mask", False, True, "the encoder saw [MASK] in place of the masked tokens instead of losing them"),
    ("no_pos_align", False, False, "the kept tokens took positions 0..K-1 in the encoder, not their own"),
    ("decoder_only_mask", False, False, "the decoder read its own token and position inputs, not the encoder's"),
    ("mask_subsets", 1, 1, "the decoder ran once per mask subset"),
    ("restore_encoder_mask", False, False, "[MASK] positions kept their input states through every encoder layer"),
    ("share_pos_emb", False, False, "the decoder reused the encoder's position table"),
    ("no_fill_mask", False, False, "masked slots entered the decoder as zeros, not the [MASK] embedding"),
    ("lm_linear_head", False, False, "the LM head had no dense/GELU/LayerNorm"),
    ("decoder_cross_attn", False, False, "the decoder was the cross-attention one"),
    ("bottleneck_embed_dim", 0, 0, "two Linear layers sat between encoder and decoder"),
    ("keep_encoder_dim", False, False, "a separate mask vector stood in for the [MASK] embedding"),
    ("decoder_sample_mode", "zero-dropout", "zero-dropout", "the decoder kept dropout"),
)
# Our options that the printed --arch/flags must reproduce (the rest are training options).
ARCH_OPTIONS = ("encoder_layers", "encoder_embed_dim", "encoder_ffn_embed_dim", "encoder_attention_heads",
                "decoder_layers", "decoder_embed_dim", "decoder_ffn_embed_dim", "decoder_attention_heads",
                "decoder_type", "decoder_dropout", "mask_embedding", "rel_pos", "rel_pos_bins", "max_rel_pos",
                "decoder_rel_pos", "max_positions", "activation_fn", "dropout", "attention_dropout",
                "activation_dropout")
CANDIDATE_ARCHS = ("maelm_base", "maelm_large")


class Imported(NamedTuple):
    """What the printed command lines need: our --arch, the flags that make it the repository's network, the
    block length it was trained with and the vocabulary size."""
    arch: str
    flags: list
    tokens_per_sample: int
    vocab: int


def fork_config(state, path):
    """get(key, default): an option of the repository's run. Its train.py parses model and task options into one
    Namespace, stored whole as cfg.model and cfg.task (fairseq >= 0.10) or as args (older); the first that has the
    key answers."""
    cfg = state.get("cfg") or {}
    sections = [cfg.get(name) if hasattr(cfg, "get") else getattr(cfg, name, None) for name in ("model", "task")]
    sections = [section for section in sections + [state.get("args")] if section is not None]
    if not sections:
        raise UserInputError(f"{path}: the checkpoint stores no configuration (cfg.model, cfg.task or args) — give a "
                             f"checkpoint written by the MAE-LM repository's train.py")

    def get(key, default):
        for section in sections:
            value = section.get(key) if hasattr(section, "get") else getattr(section, key, None)
            if value is not None:
                return value
        return default

    return get


def spelled(key, value):
    """How a run's command line says `value` for option `key`: with/without a switch, or the flag and its value."""
    flag = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        return ("with " if value else "without ") + flag
    return f"with {flag} {value}"


def check_forward_options(get, path):
    for key, default, run_value, effect in FORWARD_OPTIONS:
        value = get(key, default)
        if value != run_value:
            raise UserInputError(f"{path}: the checkpoint was trained {spelled(key, value)} ({effect}) — only the "
                                 f"published run's forward pass converts ({spelled(key, run_value)})")


def layer_count(weights, prefix):
    found = {int(m.group(1)) for k in weights for m in [re.match(re.escape(prefix) + r"layers\.(\d+)\.", k)] if m}
    return len(found)


def bucket_shift(rows, num_buckets, max_distance):
    """Rows our rel-pos table sits below the repository's: ours centres distance 0 at bins/2 - 1, the repository's
    at the largest bucket its R x R table reaches."""
    from .modules.relative_position import relative_position_bucket

    half = num_buckets // 2
    farthest = int(relative_position_bucket(torch.tensor(rows - 1), num_buckets, max_distance)) - (half - 1)
    return half - 1 - farthest


def shifted_rows(table, offset, rows):
    """`table` placed at rows offset.. of a zero table with `rows` rows (rows past the end are dropped)."""
    out = table.new_zeros((rows,) + tuple(table.shape[1:]))
    out[offset:] = table[:rows - offset]
    return out


def convert_weights(weights, max_rel_pos, path):
    """The repository's state dict with our names and position conventions."""
    ours, unknown = {}, []
    embed = weights[FORK_ENCODER + "embed_tokens.weight"]
    for key, value in weights.items():
        if key.startswith(FORK_ENCODER):
            new = ENCODER + key[len(FORK_ENCODER):]
        elif key.startswith(FORK_DECODER):
            new = DECODER + key[len(FORK_DECODER):]
        elif key.startswith(FORK_HEAD):
            new = HEAD + key[len(FORK_HEAD):]
        else:
            unknown.append(key)
            continue
        for old, renamed in RENAMED.items():
            new = new.replace("." + old, "." + renamed)
        ours[new] = value
    if unknown:
        raise UserInputError(f"{path}: keys outside the `ae` pretraining model ({', '.join(unknown[:4])}); "
                             f"maelm-import-fork converts pretraining checkpoints (encoder.*, gen_decoder.*)")
    for tied in (DECODER + "embed_tokens.weight", HEAD + "weight"):
        if tied in ours and not torch.equal(ours.pop(tied), embed):
            raise UserInputError(f"{path}: {tied} differs from the encoder's embed_tokens; the `ae` model ties them")
    ours[HEAD + "weight"] = embed
    for prefix in (ENCODER, DECODER):
        rows = ours[prefix + "embed_positions.weight"].shape[0]
        ours[prefix + "embed_positions.weight"] = shifted_rows(ours[prefix + "embed_positions.weight"], 2, rows + 2)
        if prefix + "rel_pos_bias.weight" in ours:
            table = ours[prefix + "rel_pos_bias.weight"]
            ours[prefix + "rel_pos_bias.weight"] = shifted_rows(
                table, bucket_shift(rows, table.shape[0], max_rel_pos), table.shape[0])
    return ours


def our_options(weights, get, path):
    """Our model options that build the repository's network, from the weights' shapes and its cfg."""
    check_forward_options(get, path)
    if layer_count(weights, FORK_DECODER) == 0:
        raise UserInputError(f"{path}: no gen_decoder in the checkpoint (a fine-tuned model?); maelm-import-fork "
                             f"converts pretraining checkpoints")
    vocab, dim = weights[FORK_ENCODER + "embed_tokens.weight"].shape
    decoder_dim = weights[FORK_DECODER + "layers.0.fc1.weight"].shape[1]
    if decoder_dim != dim:
        raise UserInputError(f"{path}: decoder width {decoder_dim} differs from the encoder's {dim}; only equal "
                             f"widths convert (the published configuration)")
    heads = get("encoder_attention_heads", 12)
    decoder_heads = get("decoder_attention_heads", 12) if get("decoder_dim_apply", "both") in ("both", "gen") \
        else heads
    rel_pos = FORK_ENCODER + "relative_attention_bias.weight" in weights
    bins = weights[FORK_ENCODER + "relative_attention_bias.weight"].shape[0] if rel_pos else get("rel_pos_bins", 32)
    options = dict(
        encoder_layers=layer_count(weights, FORK_ENCODER), encoder_embed_dim=dim,
        encoder_ffn_embed_dim=weights[FORK_ENCODER + "layers.0.fc1.weight"].shape[0], encoder_attention_heads=heads,
        decoder_layers=layer_count(weights, FORK_DECODER), decoder_embed_dim=dim,
        decoder_ffn_embed_dim=weights[FORK_DECODER + "layers.0.fc1.weight"].shape[0],
        decoder_attention_heads=decoder_heads, decoder_type="self", decoder_dropout=0.0, mask_embedding="tied",
        rel_pos=int(rel_pos), rel_pos_bins=bins, max_rel_pos=get("max_rel_pos", 128),
        decoder_rel_pos=int(FORK_DECODER + "relative_attention_bias.weight" in weights),
        max_positions=weights[FORK_ENCODER + "embed_positions.weight"].shape[0],
        activation_fn=get("activation_fn", "gelu"), dropout=get("dropout", 0.1),
        attention_dropout=get("attention_dropout", 0.1), activation_dropout=get("activation_dropout", 0.0))
    return options, vocab


def arch_and_flags(options):
    """The registered architecture closest to `options` and the flags that make it exactly `options`."""
    from fairseq.models import ARCH_CONFIG_REGISTRY

    best = None
    for arch in CANDIDATE_ARCHS:
        defaults = Namespace()
        ARCH_CONFIG_REGISTRY[arch](defaults)
        flags = []
        for key in ARCH_OPTIONS:
            if getattr(defaults, key) != options[key]:
                flags += [f"--{key.replace('_', '-')}", str(options[key])]
        if best is None or len(flags) < len(best[1]):
            best = (arch, flags)
    return best


def build_checkpoint(weights, vocab, arch, flags, tokens_per_sample, path):
    """Our model built by `arch` and `flags`, the converted weights loaded strictly, and the checkpoint dict to
    save."""
    from fairseq import options as fairseq_options
    from fairseq.data import Dictionary
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    from . import tasks  # noqa: F401  (registers task and criterion maelm, which the argv below names)
    from .models.maelm import MaelmModel
    from .pretrain.task import MaelmConfig, MaelmTask

    # the block length goes into the stored task config, which fairseq checks against the model's positions on load
    argv = ["DATA", "--task", "maelm", "--criterion", "maelm", "--arch", arch, *flags, "--tokens-per-sample",
            str(tokens_per_sample)]
    args = fairseq_options.parse_args_and_arch(fairseq_options.get_training_parser(), argv)
    dictionary = Dictionary()
    for i in range(vocab - len(dictionary) - 1):  # the task appends <mask>
        dictionary.add_symbol(f"madeupword{i:06d}")
    task = MaelmTask(MaelmConfig(data="DATA", tokens_per_sample=tokens_per_sample), dictionary)
    model = MaelmModel.build_model(args, task)
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise UserInputError(f"{path}: the converted weights do not fit our model (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
    with warnings.catch_warnings():  # hydra's deprecation notices about fairseq's own config files
        warnings.simplefilter("ignore")
        cfg = OmegaConf.to_container(convert_namespace_to_omegaconf(args), resolve=True, enum_to_str=True)
    cfg["task"]["data"] = ""  # the data-bin is given when training
    return {"args": None, "cfg": cfg, "model": model.state_dict(), "criterion": None,
            # fairseq's loader needs one history entry; no optimizer state is stored
            "optimizer_history": [{"criterion_name": "MaelmCriterion", "optimizer_name": "none",
                                   "lr_scheduler_state": {}, "num_updates": 0}],
            "task_state": {}, "extra_state": {"train_iterator": {"epoch": 1, "iterations_in_epoch": 0}}}


def import_checkpoint(path, out):
    """Convert the repository checkpoint at `path`, write ours to `out`; returns what the command lines need."""
    state = read_checkpoint(path, "the MAE-LM repository's train.py")
    if FORK_ENCODER + "embed_tokens.weight" not in state["model"]:
        raise UserInputError(f"{path}: not a checkpoint of the MAE-LM repository's `ae` model (no "
                             f"model.{FORK_ENCODER}embed_tokens.weight)")
    get = fork_config(state, path)
    options, vocab = our_options(state["model"], get, path)
    weights = convert_weights(state["model"], options["max_rel_pos"], path)
    arch, flags = arch_and_flags(options)
    # the block length its task trained with; its model's number of positions unless --max-positions said otherwise
    tokens_per_sample = get("tokens_per_sample", options["max_positions"])
    checkpoint = build_checkpoint(weights, vocab, arch, flags, tokens_per_sample, path)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    torch.save(checkpoint, out)
    return Imported(arch, flags, tokens_per_sample, vocab)


@console_main
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="maelm-import-fork", description="Convert a pretraining checkpoint of the MAE-LM repository's `ae` "
        "model into a checkpoint of the maelm model (fine-tuning, continued pretraining, export).")
    parser.add_argument("checkpoint", metavar="CKPT", help="the repository's checkpoint (.pt)")
    parser.add_argument("out", metavar="OUT", help="where to write our checkpoint (.pt)")
    args = parser.parse_args(argv)
    imported = import_checkpoint(args.checkpoint, args.out)
    arch_flags = " ".join(["--arch", imported.arch, *imported.flags])
    print(f"wrote {args.out}: {imported.vocab} symbols (train on the repository's data-bin, whose dict.txt gives "
          f"the same ids)\n  fine-tune: --restore-file {args.out} --reset-optimizer --reset-dataloader "
          f"--reset-meters {arch_flags}\n  continue pretraining: --task maelm --criterion maelm --finetune-from-model "
          f"{args.out} {arch_flags} --tokens-per-sample {imported.tokens_per_sample}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
