"""Task `maelm`: fairseq's masked-LM task with MAE-LM's defaults and early, readable checks of its options.

It yields exactly the batches `masked_lm` yields (with a decoder, the model deletes the `<mask>` positions
itself). By default (`--masking batched`) they come from a faster input pipeline with fairseq's distribution:
lines shortened only when too long and blocks read in one slice (data/token_blocks.py), masks chosen for the
whole batch in the collater (data/batch_masking.py). `--masking per-sample` is fairseq's own path
(RandomCropDataset, TokenBlockDataset, MaskTokensDataset), kept for comparison. Either way a sample's crop and
mask are a function of (seed, epoch, index).
"""
import os
from dataclasses import dataclass, field

import numpy as np
from fairseq import utils
from fairseq.data import PrependTokenDataset, SortDataset, TokenBlockDataset, data_utils
from fairseq.dataclass import ChoiceEnum
from fairseq.data.shorten_dataset import maybe_shorten_dataset
from fairseq.tasks import register_task
from fairseq.tasks.language_modeling import SAMPLE_BREAK_MODE_CHOICES, SHORTEN_METHOD_CHOICES
from fairseq.tasks.masked_lm import MaskedLMConfig, MaskedLMTask

from ..data.batch_masking import BatchMaskedLMDataset, BatchMasker
from ..data.dictionary import check_data_dirs, load_dictionary
from ..data.split_checks import check_split_files
from ..data.token_blocks import ShortenedTokenBlocks
from ..data.word_starts import word_start_table
from ..errors import UserInputError
from .cpu_allocator import keep_freed_memory

MASKING_CHOICES = ChoiceEnum(["batched", "per-sample"])


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
    masking: MASKING_CHOICES = field(
        default="batched", metadata={"help": "batched: masks for a whole batch at once in the collater, lines "
                                             "shortened only when too long (fast; fairseq's distribution); "
                                             "per-sample: fairseq's masked_lm data path (MaskTokensDataset), "
                                             "for comparison"})


@register_task("maelm", dataclass=MaelmConfig)
class MaelmTask(MaskedLMTask):
    cfg: MaelmConfig

    def __init__(self, cfg: MaelmConfig, dictionary):
        check_masking_options(cfg)
        super().__init__(cfg, dictionary)

    @classmethod
    def setup_task(cls, cfg: MaelmConfig, **kwargs):
        """As fairseq's, with the data directories and dict.txt checked first (one readable error each); large
        freed CPU blocks are kept for reuse from here on (cpu_allocator.py)."""
        paths = check_data_dirs(cfg.data)
        keep_freed_memory()
        return cls(cfg, load_dictionary(os.path.join(paths[0], "dict.txt"), mask=False))  # MaskedLMTask adds it

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        if self.cfg.masking == "per-sample":
            return super().load_dataset(split, epoch, combine, **kwargs)
        lines = self._load_lines(split, epoch, combine)
        cfg, dictionary = self.cfg, self.source_dictionary
        shortened_splits = cfg.shorten_data_split_list.split(",") if cfg.shorten_data_split_list else [split]
        shorten = cfg.shorten_method if split in shortened_splits else "none"  # maybe_shorten_dataset's rule
        block = cfg.tokens_per_sample - 1  # one less for <s>
        blocks = ShortenedTokenBlocks(lines, block, cfg.sample_break_mode, dictionary.pad(), dictionary.eos(),
                                      shorten=shorten, max_line=block, seed=cfg.seed)
        word_starts = (word_start_table(utils.split_paths(cfg.data)[0], dictionary)
                       if cfg.mask_whole_words else None)
        masker = BatchMasker(dictionary, self.mask_idx, cfg.seed, cfg.mask_prob, cfg.leave_unmasked_prob,
                             cfg.random_token_prob, cfg.freq_weighted_replacement, word_starts,
                             cfg.mask_multiple_length, cfg.mask_stdev)
        with data_utils.numpy_seed(cfg.seed):
            shuffle = np.random.permutation(len(blocks))
        # fairseq's order (shuffled, then sorted by size), so both --masking values batch the same samples
        dataset = BatchMaskedLMDataset(blocks, masker, dictionary.pad(), dictionary.bos())
        self.datasets[split] = SortDataset(dataset, sort_order=[shuffle, dataset.sizes])

    def _load_dataset_split(self, split, epoch, combine):
        """fairseq's (--masking per-sample), except lines are shortened to tokens_per_sample - 1: `complete_doc`
        emits an over-long line as one block, and with <s> prepended a line of tokens_per_sample tokens would
        overflow the positions."""
        dataset = self._load_lines(split, epoch, combine)
        block = self.cfg.tokens_per_sample - 1  # one less for <s>
        dataset = maybe_shorten_dataset(dataset, split, self.cfg.shorten_data_split_list, self.cfg.shorten_method,
                                        block, self.cfg.seed)
        dataset = TokenBlockDataset(dataset, dataset.sizes, block, pad=self.source_dictionary.pad(),
                                    eos=self.source_dictionary.eos(), break_mode=self.cfg.sample_break_mode)
        return PrependTokenDataset(dataset, self.source_dictionary.bos())

    def _load_lines(self, split, epoch, combine):
        """The split's lines (fairseq's indexed dataset), its files checked first."""
        paths = utils.split_paths(self.cfg.data)
        split_path = os.path.join(paths[(epoch - 1) % len(paths)], split)
        check_split_files(split_path, self.source_dictionary)
        dataset = data_utils.load_indexed_dataset(split_path, self.source_dictionary, combine=combine)
        if dataset is None:
            raise UserInputError(f"{split_path}.bin/.idx: no `{split}` split in {os.path.dirname(split_path)}; "
                                 f"binarize it with fairseq-preprocess (preprocess/README.md), or pick existing "
                                 f"splits with --train-subset/--valid-subset (or --disable-validation)")
        if len(dataset) == 0 or dataset.sizes.max() <= 1:  # lines of only </s> are blank lines
            raise UserInputError(f"{split_path}.bin: the `{split}` split has no samples (empty corpus, or only "
                                 f"blank lines); preprocess a corpus with text in it")
        return dataset


def check_masking_options(cfg):
    if not 0.0 < cfg.mask_prob < 1.0:
        raise UserInputError(f"--mask-prob must be in (0, 1), got {cfg.mask_prob}; "
                             f"use 0.15 (MAE-LM, RoBERTa) or 0.5 (3ML)")
    for name in ("leave_unmasked_prob", "random_token_prob"):
        value = getattr(cfg, name)
        if not 0.0 <= value <= 1.0:
            raise UserInputError(f"--{name.replace('_', '-')} must be in [0, 1], got {value}")
    if cfg.leave_unmasked_prob + cfg.random_token_prob > 1.0:
        raise UserInputError("--leave-unmasked-prob + --random-token-prob must not exceed 1 (BERT: 0.1 + 0.1)")
    if cfg.mask_multiple_length < 1:
        raise UserInputError(f"--mask-multiple-length must be at least 1 (span length in tokens, or words with "
                             f"--mask-whole-words), got {cfg.mask_multiple_length}")
    if cfg.mask_stdev < 0:
        raise UserInputError(f"--mask-stdev must be at least 0, got {cfg.mask_stdev}")
    if cfg.mask_whole_words and cfg.masking == "per-sample":
        raise UserInputError("--mask-whole-words needs --masking batched: fairseq's per-sample path reads word "
                             "starts from --bpe, which a task configured through hydra never sees")
    if cfg.include_target_tokens:
        raise UserInputError("--include-target-tokens (data2vec) is not read by the maelm models; drop it")
    if cfg.tokens_per_sample < 2:
        raise UserInputError(f"--tokens-per-sample must be at least 2 (<s> and one token), "
                             f"got {cfg.tokens_per_sample}")
