"""What the maelm model refuses, in one line each: options that contradict each other or the architecture (before
any module is built), and checkpoints that do not fit the model (before torch's strict load)."""
from ..errors import CheckpointMismatch, UserInputError
from ..modules.relative_position import buckets_valid, min_max_distance


def arch_name(args):
    """--arch from a legacy Namespace (`arch`) or a hydra model config (`_name`)."""
    return getattr(args, "arch", None) or getattr(args, "_name", None) or "maelm"


# what a fine-tuning task trains with, for the messages about a criterion given the wrong task
FINETUNING_CRITERIA = ("sentence_prediction: --criterion sentence_prediction or maelm_sentence_prediction; "
                       "maelm_squad: --criterion maelm_squad")


def task_name(task):
    """The name `task` is registered under (what --task said), for messages."""
    from fairseq.tasks import TASK_REGISTRY

    return next((name for name, cls in TASK_REGISTRY.items() if type(task) is cls), type(task).__name__)


def check_architecture_options(args, pretraining, tokens_per_sample=None):
    arch = arch_name(args)
    if tokens_per_sample is not None and tokens_per_sample > args.max_positions:
        raise UserInputError(f"--tokens-per-sample {tokens_per_sample} exceeds the model's --max-positions "
                             f"{args.max_positions}; lower --tokens-per-sample or raise --max-positions")
    for side in ("encoder", "decoder"):
        dim, heads = getattr(args, f"{side}_embed_dim"), getattr(args, f"{side}_attention_heads")
        if heads < 1 or dim % heads:
            raise UserInputError(f"--{side}-attention-heads {heads} must divide --{side}-embed-dim {dim} "
                                 f"(--arch {arch})")
    decoder_rel_pos = pretraining and args.decoder_layers > 0 and args.decoder_rel_pos
    if args.rel_pos_init != "normal" and not (args.rel_pos or decoder_rel_pos):
        raise UserInputError(f"--rel-pos-init {args.rel_pos_init} starts a relative-position bias, but the model has "
                             f"none (--arch {arch}); add --rel-pos 1 (encoder) and/or --decoder-rel-pos 1")
    if args.rel_pos or decoder_rel_pos:
        check_relative_position_options(args.rel_pos_bins, args.max_rel_pos, arch)
    if not pretraining:
        return  # fine-tuning builds the encoder only; the checkpoint's decoder options are ignored
    if args.decoder_layers < 0:
        raise UserInputError(f"--decoder-layers must be >= 0, got {args.decoder_layers}")
    if args.decoder_layers == 0:
        inconsistent = [flag for flag, bad in [
            (f"--decoder-type {args.decoder_type}", args.decoder_type != "self"),
            (f"--mask-embedding {args.mask_embedding}", args.mask_embedding != "tied"),
            (f"--decoder-embed-dim {args.decoder_embed_dim}", args.decoder_embed_dim != args.encoder_embed_dim),
            (f"--decoder-rel-pos {args.decoder_rel_pos}", args.decoder_rel_pos != 0),
        ] if bad]
        if inconsistent:
            raise UserInputError(f"{inconsistent[0]} needs a decoder, but --decoder-layers is 0 (--arch {arch}); "
                                 f"give --decoder-layers N > 0, or drop the decoder options for the MLM baseline "
                                 f"(--arch maelm_mlm_base)")


def check_relative_position_options(bins, max_distance, arch):
    if not buckets_valid(bins):
        raise UserInputError(f"--rel-pos-bins {bins}: not a multiple of 4 of at least 8 (--arch {arch}) — use 32, 64 "
                             f"(maelm_base) or 128 (maelm_large)")
    if max_distance < min_max_distance(bins):
        raise UserInputError(f"--max-rel-pos {max_distance}: too small for --rel-pos-bins {bins} (--arch {arch}) — "
                             f"give at least {min_max_distance(bins)}; the archs use 2 x --rel-pos-bins")


def check_checkpoint_matches(model, state_dict, prefix=""):
    """A readable error, before torch's strict load, when a checkpoint does not fit this model: another
    vocabulary (the data's dict.txt differs from the checkpoint's) or another architecture/size."""
    ours = {prefix + k: v for k, v in model.state_dict().items()}
    embed = prefix + "encoder.sentence_encoder.embed_tokens.weight"
    if embed in state_dict and embed in ours and state_dict[embed].size(0) != ours[embed].size(0):
        symbols, rows = ours[embed].size(0), state_dict[embed].size(0)
        raise CheckpointMismatch(lambda checkpoint, dictionary: (
            f"{dictionary}: vocabulary size mismatch, {symbols} symbols with the task's additions but {rows} rows "
            f"in {checkpoint}; binarize the data with the checkpoint's dictionary (fairseq-preprocess --srcdict "
            f"<its dict.txt>), or train from scratch in a new --save-dir"))
    arch = arch_name(model.args)
    shapes = [k for k in ours if k in state_dict and state_dict[k].shape != ours[k].shape]
    missing = [k for k in ours if k not in state_dict]
    extra = [k for k in state_dict if k not in ours and k.startswith(prefix)]
    if shapes or missing or extra:
        detail = "; ".join(
            [f"{k}: {tuple(state_dict[k].shape)} in checkpoint, {tuple(ours[k].shape)} in model"
             for k in shapes[:3]]
            + ([f"missing {', '.join(missing[:3])}"] if missing else [])
            + ([f"unexpected {', '.join(extra[:3])}"] if extra else []))
        raise CheckpointMismatch(lambda checkpoint, dictionary: (
            f"--arch {arch}: {checkpoint} is from another architecture or size ({detail}); fine-tune with the "
            f"--arch and size flags the checkpoint was pretrained with (its cfg.model)"))
