"""Binarize the demo's sentence-pair task (maelm_fairseq.data.demo_corpus) with the pretraining tokenizer and dict,
in the layout fairseq's sentence_prediction task reads: input0/, input1/, label/.

    python examples/tiny/prepare_pairs.py PAIRS_DIR TOKENIZER_DATA_BIN OUT_DIR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repo's preprocess/

from preprocess.binarize import run_fairseq_preprocess  # noqa: E402
from preprocess.tokenizers import load_tokenizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pairs_dir", help="folder with {train,valid}.{input0,input1,label}")
    parser.add_argument("tokenizer_data_bin", help="pretraining data-bin (dict.txt + tokenizer.json)")
    parser.add_argument("out_dir")
    args = parser.parse_args()
    tokenizer = load_tokenizer(args.tokenizer_data_bin)
    encoded = os.path.join(args.out_dir, "encoded")
    os.makedirs(encoded, exist_ok=True)
    for split in ("train", "valid"):
        for column in ("input0", "input1"):
            with open(os.path.join(args.pairs_dir, f"{split}.{column}")) as src, \
                    open(os.path.join(encoded, f"{split}.{column}"), "w") as out:
                out.writelines(tokenizer.encode(line.strip()) + "\n" for line in src)
    srcdict = os.path.join(args.tokenizer_data_bin, "dict.txt")
    for column in ("input0", "input1"):
        run_fairseq_preprocess(os.path.join(args.out_dir, column), os.path.join(encoded, f"train.{column}"),
                               [os.path.join(encoded, f"valid.{column}")], workers=1, srcdict=srcdict)
    run_fairseq_preprocess(os.path.join(args.out_dir, "label"), os.path.join(args.pairs_dir, "train.label"),
                           [os.path.join(args.pairs_dir, "valid.label")], workers=1)


if __name__ == "__main__":
    main()
