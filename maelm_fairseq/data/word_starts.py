"""Which dictionary symbols begin a word: the table `--mask-whole-words` needs, read from the data-bin itself.

fairseq builds this table from the `--bpe` settings, which a hydra-configured task never sees (`masked_lm` fails
on `self.args` there). The data-bin already says what it is: sentencepiece pieces carry the word-start mark `▁`
in dict.txt; GPT-2 BPE dict.txt symbols are ids whose byte-level strings are in the `encoder.json` that
preprocess/pretrain/prepare_corpus.py writes next to it, a word start being a string that begins with a space
(`Ġ`). Per symbol the rule is fairseq's `get_whole_word_mask`: specials and `madeupword` padding always start a
word, then the BPE's `is_beginning_of_word`.
"""
import json
import os

import torch

from ..errors import UserInputError

SENTENCEPIECE_WORD_START = "\u2581"
GPT2_SPACE = "\u0120"  # byte-level BPE's stand-in for the space byte


def word_start_table(data_dir, dictionary) -> torch.Tensor:
    """Bool per symbol of `dictionary`: does it begin a word."""
    symbols = dictionary.symbols
    ordinary = symbols[dictionary.nspecial:]
    if any(s.startswith(SENTENCEPIECE_WORD_START) for s in ordinary):
        starts = [s.startswith(SENTENCEPIECE_WORD_START) for s in symbols]
    elif os.path.isfile(os.path.join(data_dir, "encoder.json")):
        with open(os.path.join(data_dir, "encoder.json"), encoding="utf-8") as f:
            byte_strings = {str(i): s for s, i in json.load(f).items()}
        starts = [byte_strings[s].startswith(GPT2_SPACE) if s in byte_strings else True for s in symbols]
    else:
        raise UserInputError(
            f"--mask-whole-words: {os.path.join(data_dir, 'dict.txt')} has no sentencepiece pieces (`▁` marks) and "
            f"there is no GPT-2 encoder.json next to it, so word starts are unknown; use a data-bin made with "
            f"--tokenizer sentencepiece or gpt2 (preprocess/README.md), or drop --mask-whole-words")
    table = torch.tensor(starts, dtype=torch.bool)
    table[:dictionary.nspecial] = True
    table[[i for i, s in enumerate(symbols) if s.startswith("madeupword")]] = True
    return table
