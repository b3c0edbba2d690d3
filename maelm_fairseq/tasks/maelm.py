"""Task `maelm`: fairseq's masked-LM task with MAE-LM's defaults and early, readable checks of its options.

Masks stay deterministic in (seed, epoch, index) through fairseq's MaskTokensDataset. With a decoder, the model
deletes the `<mask>` positions itself, so this task yields exactly what `masked_lm` yields.
"""
from dataclasses import dataclass, field

import os

from fairseq import utils
from fairseq.data import PrependTokenDataset, TokenBlockDataset, data_utils
from fairseq.data.shorten_dataset import maybe_shorten_dataset
from fairseq.tasks import register_task
from fairseq.tasks.language_modeling import SAMPLE_BREAK_MODE_CHOICES, SHORTEN_METHOD_CHOICES
from fairseq.tasks.masked_lm import MaskedLMConfig, MaskedLMTask


@dataclass
class MaelmConfig(MaskedLMConfig):
    sample_break_mode: SAMPLE_BREAK_MODE_CHOICES = field(
        default="complete_doc", metadata={"help": "how blocks are cut from the corpus (MAE-LM: complete_doc)"})
    tokens_per_sample: int = field(default=512, metadata={"help": "max tokens per sample, <s> included"})
    mask_prob: float = field(default=0.15, metadata={"help": "fraction of tokens selected for prediction "
                                                              "(MAE-LM 0.15, 3ML 0.5)"})
    leave_unmasked_prob: float = field(default=0.0, metadata={"help": "of the selected, fraction left unchanged"})
    random_token_prob: float = field(default=0.0, metadata={"help": "of the selected, fraction replaced at random"})
    shorten_method: SHORTEN_METHOD_CHOICES = field(
        default="random_crop", metadata={"help": "how lines longer than --tokens-per-sample are shortened"})


@register_task("maelm", dataclass=MaelmConfig)
class MaelmTask(MaskedLMTask):
    cfg: MaelmConfig

    def __init__(self, cfg: MaelmConfig, dictionary):
        check_masking_options(cfg)
        super().__init__(cfg, dictionary)

    def _load_dataset_split(self, split, epoch, combine):
        """As fairseq's, except lines are shortened to tokens_per_sample - 1: `complete_doc` emits an over-long line
        as one block, and with <s> prepended a line of tokens_per_sample tokens would overflow the positions."""
        paths = utils.split_paths(self.cfg.data)
        split_path = os.path.join(paths[(epoch - 1) % len(paths)], split)
        dataset = data_utils.load_indexed_dataset(split_path, self.source_dictionary, combine=combine)
        if dataset is None:
            raise FileNotFoundError(f"no {split} split in {os.path.dirname(split_path)} "
                                    f"(expected {split_path}.bin/.idx from fairseq-preprocess)")
        block = self.cfg.tokens_per_sample - 1  # one less for <s>
        dataset = maybe_shorten_dataset(dataset, split, self.cfg.shorten_data_split_list, self.cfg.shorten_method,
                                        block, self.cfg.seed)
        dataset = TokenBlockDataset(dataset, dataset.sizes, block, pad=self.source_dictionary.pad(),
                                    eos=self.source_dictionary.eos(), break_mode=self.cfg.sample_break_mode)
        return PrependTokenDataset(dataset, self.source_dictionary.bos())


def check_masking_options(cfg):
    if not 0.0 < cfg.mask_prob < 1.0:
        raise ValueError(f"--mask-prob must be in (0, 1), got {cfg.mask_prob}")
    for name in ("leave_unmasked_prob", "random_token_prob"):
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} must be in [0, 1], got {value}")
    if cfg.leave_unmasked_prob + cfg.random_token_prob > 1.0:
        raise ValueError("--leave-unmasked-prob + --random-token-prob must not exceed 1")
    if cfg.tokens_per_sample < 2:
        raise ValueError(f"--tokens-per-sample must be at least 2 (<s> and one token), got {cfg.tokens_per_sample}")
