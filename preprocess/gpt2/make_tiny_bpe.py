#!/usr/bin/env python
"""Learn a small GPT-2-format byte-level BPE (encoder.json + vocab.bpe) from a text file.

The real GPT-2 files are a download; tests (and users without them) can learn a small pair in the same
format, which fairseq's `gpt2_bpe_utils.get_encoder` reads unchanged. It produced tests/fixtures/gpt2/ with
    python preprocess/gpt2/make_tiny_bpe.py --input tests/fixtures/corpus.txt --merges 400 --output tests/fixtures/gpt2
"""
import argparse
import collections
import json
import sys
from pathlib import Path

from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.text_stream import check_readable

END_OF_TEXT = "<|endoftext|>"


def count_words(paths):
    """Frequencies of GPT-2 pre-tokens, each spelled as a tuple of byte-level symbols."""
    from fairseq.data.encoders.gpt2_bpe_utils import Encoder, bytes_to_unicode  # loads torch: not for --help

    byte_symbol = bytes_to_unicode()
    pre_tokenizer = Encoder(encoder={}, bpe_merges=[]).pat  # GPT-2's own splitting regex
    words = collections.Counter()
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                for token in pre_tokenizer.findall(line):
                    words[tuple(byte_symbol[b] for b in token.encode("utf-8"))] += 1
    return words


def merge_pair(word, pair):
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(word[i] + word[i + 1])
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)


def learn_merges(words, n_merges):
    """Greedy BPE: repeatedly merge the most frequent adjacent pair (ties broken by the pair, so it is deterministic)."""
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for word, freq in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += freq
        if not pairs:
            break
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        merged_words = collections.Counter()
        for word, freq in words.items():
            merged_words[merge_pair(word, best) if best[0] in word else word] += freq
        words = merged_words
    return merges


def write_bpe(merges, output):
    from fairseq.data.encoders.gpt2_bpe_utils import bytes_to_unicode  # loads torch: not for --help

    byte_symbols = list(bytes_to_unicode().values())
    vocabulary = byte_symbols + [a + b for a, b in merges] + [END_OF_TEXT]
    encoder = {}
    for symbol in vocabulary:
        encoder.setdefault(symbol, len(encoder))
    output.mkdir(parents=True, exist_ok=True)
    (output / "encoder.json").write_text(json.dumps(encoder, ensure_ascii=False))
    # get_encoder skips the first line and needs a newline after the last merge.
    (output / "vocab.bpe").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")


@console_main
def main(argv=None):
    parser = argparse.ArgumentParser(description="Learn a GPT-2-format byte-level BPE from text files.")
    parser.add_argument("--input", nargs="+", required=True, help="text files to learn from")
    parser.add_argument("--merges", type=int, default=400, help="number of merges (vocabulary = 256 + merges + 1)")
    parser.add_argument("--output", required=True, help="directory for encoder.json and vocab.bpe")
    args = parser.parse_args(argv)
    check_readable(args.input)
    words = count_words(args.input)
    if not words:
        fail(" ".join(args.input), "no text to learn from", "give a non-empty text file")
    merges = learn_merges(words, args.merges)
    write_bpe(merges, Path(args.output))
    print(f"wrote {len(merges)} merges to {args.output}/vocab.bpe and encoder.json")


if __name__ == "__main__":
    sys.exit(main())
