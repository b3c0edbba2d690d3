"""The context-free reference of the reproduction: bits per token of the validation split under the training unigram
distribution (dict.txt counts, add-one) - what a masked-LM that ignores the context would score. A model that learns
context ends clearly under it.

    python examples/repro/unigram.py DATA_BIN [--out WORK/unigram.json]      # prints one JSON line
"""
import argparse
import json
import math
import os


def unigram_bits(data_bin, split="valid"):
    """(bits per token, tokens scored) of DATA_BIN/SPLIT under the unigram of DATA_BIN/dict.txt."""
    from fairseq.data import Dictionary, data_utils

    dictionary = Dictionary.load(os.path.join(data_bin, "dict.txt"))
    counts = [c + 1 for c in dictionary.count]
    total = sum(counts[dictionary.nspecial:])
    dataset = data_utils.load_indexed_dataset(os.path.join(data_bin, split), dictionary)
    bits = n = 0
    for i in range(len(dataset)):
        for t in dataset[i].tolist():
            if t >= dictionary.nspecial:
                bits -= math.log2(counts[t] / total)
                n += 1
    return bits / n, n


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_bin")
    parser.add_argument("--out", help="also write the JSON line to this file")
    args = parser.parse_args()
    bits, tokens = unigram_bits(args.data_bin)
    line = json.dumps({"unigram_bits": bits, "valid_tokens": tokens, "data_bin": os.path.abspath(args.data_bin)})
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
