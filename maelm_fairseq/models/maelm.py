"""Model `maelm`: RoBERTa's encoder plus one knob, where [MASK] enters.

`--decoder-layers 0`: plain MLM, `<mask>` tokens go through the encoder and the LM head reads the encoder output.
`--decoder-layers N > 0` (MAE-LM, 3ML): positions holding `<mask>` are deleted from the encoder input (the kept tokens
keep their original positions), the encoder runs on the kept tokens only, its outputs are put back in their slots,
masked slots get the mask embedding, and an N-layer decoder plus the tied LM head predict the selected positions.
Models built for any other task than masked-LM pretraining (GLUE, SQuAD, analysis) are the encoder only.
"""
import logging
from dataclasses import replace

import torch
import torch.nn as nn
from fairseq.models import register_model, register_model_architecture
from fairseq.models.roberta.model import RobertaEncoder, RobertaModel
from fairseq.models.roberta.model import base_architecture as roberta_base_architecture
from fairseq.tasks.masked_lm import MaskedLMTask

from ..errors import CheckpointMismatch, UserInputError
from ..modules.masked_decoder import MaskedDecoder
from ..modules.model_extra import ModelExtra
from ..modules.sentence_encoder import SentenceEncoder
from ..modules.transformer_layer import true_first
from .checks import FINETUNING_CRITERIA, arch_name, check_architecture_options, check_checkpoint_matches

logger = logging.getLogger(__name__)

# Parameters that only exist for pretraining and are dropped when a pretraining checkpoint is fine-tuned.
DECODER_PREFIXES = ("encoder.decoder.", "encoder.decoder_proj.", "encoder.mask_embedding")
LM_HEAD_PREFIX = "encoder.lm_head."
# fairseq 0.12.2's encoder layers also store packed copies of their weights for its BetterTransformer path.
FAIRSEQ_BT_COPIES = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias", "fc1_weight", "fc1_bias",
                     "fc2_weight", "fc2_bias")


class MaelmEncoder(RobertaEncoder):
    def __init__(self, args, dictionary, pretraining: bool):
        super().__init__(args, dictionary)
        self.decoder = self.decoder_proj = self.mask_embedding = None
        if not pretraining:
            self.lm_head = None
            return
        if args.decoder_layers > 0:
            if "<mask>" not in dictionary.indices:
                raise UserInputError("--decoder-layers > 0 needs a `<mask>` symbol in the dictionary; use --task "
                                     "maelm or --task masked_lm, which add it, or --decoder-layers 0")
            self.mask_idx = dictionary.index("<mask>")
            self.decoder = MaskedDecoder(args, dictionary.pad())
            if args.decoder_embed_dim != args.encoder_embed_dim:
                self.decoder_proj = nn.Linear(args.encoder_embed_dim, args.decoder_embed_dim)
                # the tied output embedding is encoder-wide: the head's dense layer maps decoder width back to it
                self.lm_head.dense = nn.Linear(args.decoder_embed_dim, args.encoder_embed_dim)
            if args.mask_embedding == "learned":
                self.mask_embedding = nn.Parameter(torch.empty(args.encoder_embed_dim).normal_(std=0.02))

    def build_encoder(self, args, dictionary, embed_tokens):
        return SentenceEncoder(args, embed_tokens)

    def forward(self, src_tokens, features_only=False, return_all_hiddens=False, masked_tokens=None,
                project_to_vocab=True, **unused):
        """features_only: encoder features of `src_tokens` as given (B, T, C), as RoBERTa.
        Otherwise: logits (N, V) at `masked_tokens` (all positions if None); with project_to_vocab=False the LM
        head's features (N, C) before its tied output projection, for a criterion that fuses that projection with
        its loss (criterion maelm --fused-head-loss)."""
        if not features_only and self.lm_head is None:
            raise UserInputError(f"--task: not a masked-LM task, so the maelm model was built without its LM head "
                                 f"(the encoder alone) and cannot predict tokens — pretrain with --task maelm (or "
                                 f"masked_lm), or fine-tune with the task's own criterion ({FINETUNING_CRITERIA})")
        if features_only or self.decoder is None:
            x, extra = self.extract_features(src_tokens, return_all_hiddens=return_all_hiddens)
            if not features_only:
                real = src_tokens.ne(self.dictionary.pad())
                if "<mask>" in self.dictionary.indices:
                    real = real & src_tokens.ne(self.dictionary.index("<mask>"))
                extra = replace(extra, encoder_out=x, encoder_real=real)  # for the criterion's collapse indicator
                x = self.output_layer(x, masked_tokens=masked_tokens, project_to_vocab=project_to_vocab)
            return x, extra
        return self.masked_forward(src_tokens, masked_tokens, return_all_hiddens, project_to_vocab)

    def extract_features(self, src_tokens, return_all_hiddens=False, **unused):
        x, states = self.sentence_encoder(src_tokens, return_all_hiddens=return_all_hiddens)
        encoder_tokens = src_tokens.ne(self.dictionary.pad()).sum()
        return x, ModelExtra(fairseq_inner_states(states, return_all_hiddens), encoder_tokens)

    def output_layer(self, features, masked_tokens=None, project_to_vocab=True, **unused):
        if project_to_vocab:
            return self.lm_head(features, masked_tokens)
        head = self.lm_head  # RobertaLMHead.forward up to its output projection
        if masked_tokens is not None:
            features = features[masked_tokens, :]
        return head.layer_norm(head.activation_fn(head.dense(features)))

    def masked_forward(self, src_tokens, masked_tokens, return_all_hiddens, project_to_vocab=True):
        pad = self.dictionary.pad()
        pad_mask = src_tokens.eq(pad)
        is_mask = src_tokens.eq(self.mask_idx)
        keep = ~(pad_mask | is_mask)
        positions = self.sentence_encoder.make_positions(src_tokens)  # original positions, <mask> slots included

        enc_pad, (enc_tokens, enc_positions) = delete_masked(keep, pad, src_tokens, positions)
        enc_out, states = self.sentence_encoder(enc_tokens, enc_positions, return_all_hiddens)
        mask_vector = (self.mask_embedding if self.mask_embedding is not None
                       else self.sentence_encoder.embed_tokens.weight[self.mask_idx])
        full = restore_masked(enc_out, keep, is_mask, mask_vector)

        memory = enc_out
        if self.decoder_proj is not None:
            full, memory = self.decoder_proj(full), self.decoder_proj(enc_out)
        # with masked_tokens the decoder gives those positions only (its last layer computes nothing else)
        x = self.decoder(full, positions, pad_mask, memory, enc_pad, predicted=masked_tokens)
        extra = ModelExtra(fairseq_inner_states(states, return_all_hiddens), encoder_tokens=keep.sum(),
                           encoder_out=enc_out, encoder_real=~enc_pad)
        return self.output_layer(x, project_to_vocab=project_to_vocab), extra


def fairseq_inner_states(states, return_all_hiddens):
    """Our encoder's hidden states (B, T, C) in the layout fairseq's RoBERTa gives `inner_states`: (T, B, C)."""
    return [s.transpose(0, 1) for s in states] if return_all_hiddens else None


def delete_masked(keep, pad, *tensors):
    """Kept tokens first, in original order (stable sort), cut to the longest row of kept tokens.
    keep (B, T) bool; each tensor (B, T) -> (B, width), `pad` where a row has fewer kept tokens.
    Returns (enc_pad (B, width) bool, [compacted tensors])."""
    order = true_first(keep, max(int(keep.sum(1).max()), 1))
    enc_pad = ~keep.gather(1, order)
    return enc_pad, [t.gather(1, order).masked_fill(enc_pad, pad) for t in tensors]


def restore_masked(enc_out, keep, is_mask, mask_vector):
    """Back to full length: slot i of a row takes the encoder output of the i-th kept token of that row;
    <mask> slots get `mask_vector`, padding slots zeros."""
    slot = (keep.cumsum(1) - 1).clamp(min=0)
    full = enc_out.gather(1, slot.unsqueeze(-1).expand(-1, -1, enc_out.size(-1)))
    return torch.where(keep.unsqueeze(-1), full, torch.where(is_mask.unsqueeze(-1), mask_vector.to(full.dtype), 0.0))


@register_model("maelm")
class MaelmModel(RobertaModel):
    @staticmethod
    def add_args(parser):
        RobertaModel.add_args(parser)
        parser.add_argument("--decoder-layers", type=int, metavar="N",
                            help="decoder depth; 0 = plain MLM with <mask> in the encoder input")
        parser.add_argument("--decoder-type", choices=["self", "cross"],
                            help="self: self-attention decoder (MAE-LM, 3ML_self); cross: self+cross (3ML_cross)")
        parser.add_argument("--decoder-embed-dim", type=int, metavar="D", help="decoder width (projected if != encoder)")
        parser.add_argument("--decoder-ffn-embed-dim", type=int, metavar="F", help="decoder FFN width")
        parser.add_argument("--decoder-attention-heads", type=int, metavar="H", help="decoder attention heads")
        parser.add_argument("--decoder-dropout", type=float, metavar="P",
                            help="dropout, attention and activation dropout inside the decoder (MAE-LM: 0)")
        parser.add_argument("--mask-embedding", choices=["tied", "learned"],
                            help="what fills masked slots before the decoder: the input embedding row of <mask> "
                                 "(tied, MAE-LM) or a separate learned vector (learned, 3ML)")
        parser.add_argument("--rel-pos", type=int, choices=[0, 1], help="1 = T5-style relative-position bias")
        parser.add_argument("--rel-pos-bins", type=int, metavar="N", help="relative-position buckets")
        parser.add_argument("--max-rel-pos", type=int, metavar="N", help="distance at which buckets saturate")
        parser.add_argument("--rel-pos-init", choices=["normal", "local"],
                            help="start of the relative-position bias: normal = N(0, 0.02) (MAE-LM); local = each "
                                 "head starts out penalising distance (ALiBi slopes), so small models use context "
                                 "within hundreds of updates instead of thousands")
        parser.add_argument("--decoder-rel-pos", type=int, choices=[0, 1],
                            help="1 = the decoder gets its own relative-position bias (MAE-LM: 0)")
        parser.add_argument("--unpad", choices=["auto", "always", "never"],
                            help="run encoder/decoder layers on the real tokens only, packed without padding "
                                 "(attention scores still padded on CPU; FlashAttention varlen on CUDA half "
                                 "precision without rel-pos); auto: when padding >= 1/16 of the batch. "
                                 "Same results as never (tests/test_fast_paths.py)")
        parser.add_argument("--fast-dropout", type=int, choices=[0, 1],
                            help="1 = on CPU, dropout masks from 15-bit random integers (4 per draw of torch's "
                                 "generator) and attention dropout without SDPA's math path: same rate (within "
                                 "2^-16) and expectation, ~2.5x cheaper masks, not torch's random stream "
                                 "(modules/fast_dropout.py). 0 = torch's dropout (the papers' runs)")
        parser.add_argument("--pooling", choices=["first", "mean"],
                            help="what a sentence classification head reads: the features of <s> (first, RoBERTa) "
                                 "or their mean over the real tokens (mean). A small pretrained encoder's <s> "
                                 "features barely vary between inputs (docs/labelled.md); the mean does not depend "
                                 "on one position having learned to summarise the sentence")

    @classmethod
    def build_model(cls, args, task):
        from omegaconf import OmegaConf

        if OmegaConf.is_config(args):
            OmegaConf.set_struct(args, False)
        maelm_defaults(args)
        tokens_per_sample = getattr(getattr(task, "cfg", None), "tokens_per_sample", None)
        pretraining = isinstance(task, MaskedLMTask)
        check_architecture_options(args, pretraining, tokens_per_sample)
        if not pretraining:
            args.decoder_layers = 0  # fine-tuning/analysis: encoder only
        else:
            arch = arch_name(args)
            if arch.startswith("threeml") and args.decoder_layers > 0 and task.cfg.mask_prob != 0.5:
                logger.warning("%s is the 3ML recipe with --mask-prob 0.5; training with --mask-prob %s",
                               arch, task.cfg.mask_prob)
        encoder = MaelmEncoder(args, task.source_dictionary, pretraining)
        if OmegaConf.is_config(args):
            OmegaConf.set_struct(args, True)
        return cls(args, encoder)

    def forward(self, src_tokens, features_only=False, return_all_hiddens=False, classification_head_name=None,
                **kwargs):
        if classification_head_name is None or self.args.pooling == "first":
            return super().forward(src_tokens, features_only, return_all_hiddens, classification_head_name, **kwargs)
        x, extra = self.encoder(src_tokens, features_only=True, return_all_hiddens=return_all_hiddens, **kwargs)
        real = src_tokens.ne(self.encoder.dictionary.pad()).unsqueeze(-1).to(x.dtype)
        pooled = (x * real).sum(1) / real.sum(1)
        # RoBERTa's head reads position 0 of what it is given
        return self.classification_heads[classification_head_name](pooled.unsqueeze(1)), extra

    def upgrade_state_dict_named(self, state_dict, name):
        prefix = name + "." if name else ""
        layers = prefix + "encoder.sentence_encoder.layers."
        drop = [prefix + "encoder.sentence_encoder.version"]  # fairseq RoBERTa's bookkeeping buffer
        drop += [k for k in state_dict if k.startswith(layers) and k.rsplit(".", 1)[-1] in FAIRSEQ_BT_COPIES]
        if self.encoder.decoder is None:
            drop += [k for k in state_dict if k.startswith(tuple(prefix + p for p in DECODER_PREFIXES))]
        if self.encoder.lm_head is None:
            drop += [k for k in state_dict if k.startswith(prefix + LM_HEAD_PREFIX)]
        if getattr(self, "squad_head", None) is None:  # a SQuAD fine-tuned checkpoint loaded for another task
            drop += [k for k in state_dict if k.startswith(prefix + "squad_head.")]
        for k in drop:
            state_dict.pop(k, None)
        super().upgrade_state_dict_named(state_dict, name)
        self.fit_position_table(state_dict, prefix)
        check_checkpoint_matches(self, state_dict, prefix)

    def fit_position_table(self, state_dict, prefix=""):
        """The checkpoint's position table has rows for its --max-positions M. An encoder-only model (fine-tuning,
        analysis) built with --max-positions N < M takes the first rows: positions from N on cannot occur in it.
        Anything else that differs (N > M: rows never trained; a pretraining run resumed with another N: its
        optimizer state has the checkpoint's shape) is refused in one line naming the checkpoint's M."""
        key = prefix + "encoder.sentence_encoder.embed_positions.weight"
        if key not in state_dict:
            return
        rows, ours = state_dict[key].size(0), self.encoder.sentence_encoder.embed_positions.num_embeddings
        if rows == ours:
            return
        if rows > ours and self.encoder.lm_head is None:
            state_dict[key] = state_dict[key][:ours]
            return
        theirs, n = rows - (ours - self.args.max_positions), self.args.max_positions
        fix = (f"give --max-positions {theirs}" if self.encoder.lm_head is not None
               else f"fine-tune with --max-positions {theirs} or less")
        raise CheckpointMismatch(lambda checkpoint, dictionary: f"--max-positions {n}: {checkpoint} has a position "
                                 f"table for --max-positions {theirs}; {fix}")


def maelm_defaults(args):
    roberta_base_architecture(args)
    # --max-positions: 512 rows whatever --tokens-per-sample is (fairseq's RoBERTa takes --tokens-per-sample). One
    # table size for every pretraining length lets a run continue on longer samples (BERT's 128 -> 512) and the
    # fine-tuning recipes (--max-positions 512) load every checkpoint; fine-tuning with a smaller --max-positions,
    # such as the --tokens-per-sample pretrained with, keeps the first rows (MaelmModel.fit_position_table).
    _set_default(args, max_positions=512, decoder_layers=0, decoder_type="self",
                 decoder_embed_dim=args.encoder_embed_dim, decoder_ffn_embed_dim=args.encoder_ffn_embed_dim,
                 decoder_attention_heads=args.encoder_attention_heads, decoder_dropout=0.0, mask_embedding="tied",
                 rel_pos=0, rel_pos_bins=64, max_rel_pos=128, rel_pos_init="normal", decoder_rel_pos=0,
                 unpad="auto", pooling="first", fast_dropout=0)


def _set_default(args, **values):
    """Fill architecture values the user did not give on the command line."""
    for key, value in values.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)


BASE = dict(encoder_layers=12, encoder_embed_dim=768, encoder_ffn_embed_dim=3072, encoder_attention_heads=12)
LARGE = dict(encoder_layers=24, encoder_embed_dim=1024, encoder_ffn_embed_dim=4096, encoder_attention_heads=16)


@register_model_architecture("maelm", "maelm_tiny")
def maelm_tiny(args):
    _set_default(args, encoder_layers=2, encoder_embed_dim=64, encoder_ffn_embed_dim=256, encoder_attention_heads=2,
                 decoder_layers=1, rel_pos=1, rel_pos_bins=32, max_rel_pos=64)
    maelm_defaults(args)


@register_model_architecture("maelm", "maelm_base")
def maelm_base(args):
    _set_default(args, **BASE, decoder_layers=4, decoder_type="self", mask_embedding="tied",
                 rel_pos=1, rel_pos_bins=64, max_rel_pos=128)
    maelm_defaults(args)


@register_model_architecture("maelm", "maelm_large")
def maelm_large(args):
    _set_default(args, **LARGE, decoder_layers=4, decoder_type="self", mask_embedding="tied",
                 rel_pos=1, rel_pos_bins=128, max_rel_pos=256)
    maelm_defaults(args)


@register_model_architecture("maelm", "maelm_mlm_base")
def maelm_mlm_base(args):
    """The in-family MLM baseline of MAE-LM: same encoder (rel-pos included), <mask> in the input, no decoder."""
    _set_default(args, **BASE, decoder_layers=0, rel_pos=1, rel_pos_bins=64, max_rel_pos=128)
    maelm_defaults(args)


@register_model_architecture("maelm", "maelm_mlm_large")
def maelm_mlm_large(args):
    """maelm_mlm_base at large size: maelm_large's encoder and rel-pos, <mask> in the input, no decoder."""
    _set_default(args, **LARGE, decoder_layers=0, rel_pos=1, rel_pos_bins=128, max_rel_pos=256)
    maelm_defaults(args)


@register_model_architecture("maelm", "maelm_roberta_base")
def maelm_roberta_base(args):
    """RoBERTa in our model class (3ML's baseline): absolute positions only, <mask> in the input, no decoder."""
    _set_default(args, **BASE, decoder_layers=0, rel_pos=0)
    maelm_defaults(args)


@register_model_architecture("maelm", "maelm_roberta_large")
def maelm_roberta_large(args):
    _set_default(args, **LARGE, decoder_layers=0, rel_pos=0)
    maelm_defaults(args)


def _threeml(args, size, decoder_type):
    # The 3ML paper (arXiv 2211.04898) gives no decoder depth ("a few layers"); 2 comes closest to its abstract's
    # 78 % / 68 % of RoBERTa's compute under analysis/flops.py (80 % at base; large: 63 % with 2, 67 % with 3).
    # RoBERTa positions (no rel-pos), disentangled learned [MASK].
    _set_default(args, **size, decoder_layers=2, decoder_type=decoder_type, mask_embedding="learned", rel_pos=0)
    maelm_defaults(args)


@register_model_architecture("maelm", "threeml_self_base")
def threeml_self_base(args):
    _threeml(args, BASE, "self")


@register_model_architecture("maelm", "threeml_cross_base")
def threeml_cross_base(args):
    _threeml(args, BASE, "cross")


@register_model_architecture("maelm", "threeml_self_large")
def threeml_self_large(args):
    _threeml(args, LARGE, "self")


@register_model_architecture("maelm", "threeml_cross_large")
def threeml_cross_large(args):
    _threeml(args, LARGE, "cross")
